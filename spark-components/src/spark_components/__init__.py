"""Spark's built-in somas, synapses and learning rules."""

from ._version import __version__ as __version__
from .exp_synapse import ExpSynapse as ExpSynapse
from .lif import LIF as LIF
from .pair_stdp import PairSTDP as PairSTDP
