"""Spark's encoders (data -> spikes) and decoders (spikes -> data)."""

from ._version import __version__ as __version__
from .poisson import PoissonEncoder as PoissonEncoder
from .spike_count import SpikeCount as SpikeCount
