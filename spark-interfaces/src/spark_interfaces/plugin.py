"""Entry point of spark-interfaces: registers its components through the same hooks a third-party pack uses."""

import spark

from . import (
    BernoulliEncoder,
    CurrentEncoder,
    DeltaEncoder,
    FirstSpikeDecoder,
    LatencyEncoder,
    LinearReadout,
    MembraneDecoder,
    PoissonEncoder,
    PopulationEncoder,
    RateDecoder,
    RegularEncoder,
    SpikeCount,
    VoteDecoder,
)

ENCODERS = [PoissonEncoder, BernoulliEncoder, RegularEncoder, LatencyEncoder, DeltaEncoder, PopulationEncoder,
            CurrentEncoder]
DECODERS = [SpikeCount, RateDecoder, FirstSpikeDecoder, MembraneDecoder, VoteDecoder, LinearReadout]


@spark.hookimpl
def spark_components():
    return [*ENCODERS, *DECODERS]
