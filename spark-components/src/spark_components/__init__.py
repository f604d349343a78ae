"""Spark's built-in somas, synapses and learning rules."""

from ._version import __version__ as __version__
from .alpha_synapse import AlphaSynapse as AlphaSynapse
from .delta_synapse import DeltaSynapse as DeltaSynapse
from .dual_exp_synapse import DualExpSynapse as DualExpSynapse
from .exp_conductance import ExpConductance as ExpConductance
from .exp_synapse import ExpSynapse as ExpSynapse
from .lif import LIF as LIF
from .lif_cond import LIFCond as LIFCond
from .pair_stdp import PairSTDP as PairSTDP
from .projection import Projection as Projection
from .tsodyks_markram import TsodyksMarkram as TsodyksMarkram
