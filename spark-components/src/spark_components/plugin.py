"""Entry point of spark-components: registers its components through the same hooks a third-party pack uses."""

import spark

from .exp_synapse import ExpSynapse
from .lif import LIF
from .pair_stdp import PairSTDP


@spark.hookimpl
def spark_components():
    return [LIF, ExpSynapse, PairSTDP]
