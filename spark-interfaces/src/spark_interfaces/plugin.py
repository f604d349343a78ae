"""Entry point of spark-interfaces: registers its components through the same hooks a third-party pack uses."""

from pathlib import Path

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

_EXAMPLES = Path(__file__).parent / "examples"

ENCODERS = [PoissonEncoder, BernoulliEncoder, RegularEncoder, LatencyEncoder, DeltaEncoder, PopulationEncoder,
            CurrentEncoder]
DECODERS = [SpikeCount, RateDecoder, FirstSpikeDecoder, MembraneDecoder, VoteDecoder, LinearReadout]


@spark.hookimpl
def spark_components():
    return [*ENCODERS, *DECODERS]


@spark.hookimpl
def spark_examples():
    return {"digits": str(_EXAMPLES / "digits.spark")}


@spark.hookimpl
def spark_cli_commands():
    from .cli import digits

    return [digits]
