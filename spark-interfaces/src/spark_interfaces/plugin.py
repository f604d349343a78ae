"""Entry point of spark-interfaces."""

import spark

from .poisson import PoissonEncoder
from .spike_count import SpikeCount


@spark.hookimpl
def spark_components():
    return [PoissonEncoder, SpikeCount]
