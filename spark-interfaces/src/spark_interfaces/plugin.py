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
    return {"digits": str(_EXAMPLES / "digits.spark"), "cartpole": str(_EXAMPLES / "cartpole.spark")}


@spark.hookimpl
def spark_cli_commands():
    from .cli import digits, digits_grad
    from .rl.cli import rl

    return [digits, digits_grad, rl]


@spark.hookimpl
def spark_nir_converters():
    """Encoders and decoders have no NIR primitive: say why, so that exporting a model with one says it
    (docs/nir.md)."""
    from spark.nir import Converter

    enc = ("an encoder turns data into spikes inside the model; a NIR graph takes its input as given: export the "
           "network after the encoder and feed the encoded spikes to its Input")
    dec = ("a decoder turns spikes into numbers (counts, rates, votes) outside NIR's primitives: export the network "
           "before the decoder and decode the spikes its Output gives")
    return [Converter(cls, why=enc) for cls in ENCODERS] + [Converter(cls, why=dec) for cls in DECODERS]
