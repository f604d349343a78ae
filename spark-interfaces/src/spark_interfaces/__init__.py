"""Spark's encoders (data -> spikes) and decoders (spikes -> data).

Encoders: ``poisson``, ``bernoulli``, ``regular``, ``latency``, ``delta``, ``population``, ``current``.
Decoders: ``spike_count``, ``rate``, ``first_spike``, ``membrane``, ``vote``, ``linear_readout``.
Host-side helpers: :func:`check_inputs` (data against each encoder's declared range), :func:`assign_labels`,
:func:`class_proportions`, :func:`class_rates`, :func:`predict`, :func:`accuracy` (classification by vote) and
:func:`fit_ridge` (linear readout).
"""

from ._common import DataError as DataError
from ._common import check_inputs as check_inputs
from ._version import __version__ as __version__
from .bernoulli import BernoulliEncoder as BernoulliEncoder
from .current import CurrentEncoder as CurrentEncoder
from .delta import DeltaEncoder as DeltaEncoder
from .first_spike import FirstSpikeDecoder as FirstSpikeDecoder
from .latency import LatencyEncoder as LatencyEncoder
from .membrane import MembraneDecoder as MembraneDecoder
from .poisson import PoissonEncoder as PoissonEncoder
from .population import PopulationEncoder as PopulationEncoder
from .rate import RateDecoder as RateDecoder
from .readout import LinearReadout as LinearReadout
from .readout import RidgeFit as RidgeFit
from .readout import fit_ridge as fit_ridge
from .regular import RegularEncoder as RegularEncoder
from .spike_count import SpikeCount as SpikeCount
from .vote import VoteDecoder as VoteDecoder
from .vote import accuracy as accuracy
from .vote import assign_labels as assign_labels
from .vote import class_proportions as class_proportions
from .vote import class_rates as class_rates
from .vote import likelihood_scores as likelihood_scores
from .vote import predict as predict
from .vote import proportion_scores as proportion_scores
from .vote import vote_scores as vote_scores
