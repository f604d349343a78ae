"""Entry point of spark-components: registers its components through the same hooks a third-party pack uses."""

from pathlib import Path

import spark

from .exp_synapse import ExpSynapse
from .lif import LIF
from .pair_stdp import PairSTDP

_EXAMPLES = Path(__file__).parent / "examples"


@spark.hookimpl
def spark_components():
    return [LIF, ExpSynapse, PairSTDP]


@spark.hookimpl
def spark_examples():
    return {"balanced": str(_EXAMPLES / "balanced.spark")}
