"""Spark's built-in somas, synapses and learning rules."""

from ._version import __version__ as __version__
from .alpha_synapse import AlphaSynapse as AlphaSynapse
from .bcm import BCM as BCM
from .delta_synapse import DeltaSynapse as DeltaSynapse
from .dual_exp_synapse import DualExpSynapse as DualExpSynapse
from .exp_conductance import ExpConductance as ExpConductance
from .exp_synapse import ExpSynapse as ExpSynapse
from .hebbian import Hebbian as Hebbian
from .inhibitory_stdp import InhibitorySTDP as InhibitorySTDP
from .lif import LIF as LIF
from .lif_cond import LIFCond as LIFCond
from .oja import Oja as Oja
from .pair_stdp import PairSTDP as PairSTDP
from .projection import Projection as Projection
from .reward_stdp import RewardSTDP as RewardSTDP
from .soft_bound_stdp import SoftBoundSTDP as SoftBoundSTDP
from .triplet_stdp import TripletSTDP as TripletSTDP
from .tsodyks_markram import TsodyksMarkram as TsodyksMarkram
from .weight_bounds import WeightBounds as WeightBounds
from .weight_normalization import WeightNormalization as WeightNormalization
