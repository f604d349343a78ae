"""Entry point of spark-components: registers its components through the same hooks a third-party pack uses."""

from pathlib import Path

import spark

from . import (
    BCM,
    LIF,
    QIF,
    AdaptiveLIF,
    AdaptiveLIFCond,
    AdEx,
    AlphaSynapse,
    DeltaSynapse,
    DualExpSynapse,
    ExpConductance,
    ExpIF,
    ExpSynapse,
    Hebbian,
    HodgkinHuxley,
    InhibitorySTDP,
    Izhikevich,
    LIFCond,
    Oja,
    PairSTDP,
    RewardSTDP,
    SoftBoundSTDP,
    TripletSTDP,
    TsodyksMarkram,
    TwoCompartmentLIF,
    WeightBounds,
    WeightNormalization,
)

from .nir_neurons import NEURONS as NIR_NEURONS

_EXAMPLES = Path(__file__).parent / "examples"

# somas
SOMAS = [
    LIF,
    LIFCond,
    AdaptiveLIF,
    AdaptiveLIFCond,
    AdEx,
    ExpIF,
    QIF,
    Izhikevich,
    HodgkinHuxley,
    TwoCompartmentLIF,
]
# synapses
SYNAPSES = [
    DeltaSynapse,
    ExpSynapse,
    AlphaSynapse,
    DualExpSynapse,
    ExpConductance,
    TsodyksMarkram,
]
# learning rules
LEARNING_RULES = [
    PairSTDP,
    SoftBoundSTDP,
    TripletSTDP,
    RewardSTDP,
    InhibitorySTDP,
    Hebbian,
    Oja,
    BCM,
    WeightNormalization,
    WeightBounds,
]


@spark.hookimpl
def spark_components():
    return [*SOMAS, *NIR_NEURONS, *SYNAPSES, *LEARNING_RULES]


@spark.hookimpl
def spark_examples():
    return {"balanced": str(_EXAMPLES / "balanced.spark"), "dendritic": str(_EXAMPLES / "dendritic.spark"),
            "dendritic_100": str(_EXAMPLES / "dendritic_100.spark")}


@spark.hookimpl
def spark_composites():
    # composite components shipped as data (docs/composites.md): dendritic_neuron
    return [str(Path(__file__).parent / "composites")]


@spark.hookimpl
def spark_nir_converters():
    from . import nir_converters

    return nir_converters.converters()
