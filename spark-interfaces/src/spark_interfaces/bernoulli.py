"""Bernoulli encoder: the data is the spike probability per step."""

from __future__ import annotations

import jax
import jax.numpy as jnp

import spark

from ._common import UNIT_RANGE_HINT, expect_shape, range_problem


@spark.params
class BernoulliEncoderParams:
    max_prob: float = spark.param(1.0, ge=0, le=1, doc="spike probability per step for an input value of 1")


class BernoulliEncoder(spark.Encoder):
    """Independent Bernoulli spikes whose probability per step is the data.

    Each step, element ``k`` spikes with probability ``max_prob * clip(data[k], 0, 1)``, independently of every
    other element and step. Unlike :class:`~spark_interfaces.PoissonEncoder` the probability does not depend on
    ``dt``: the rate is ``max_prob * x / dt``. Data: any shape (vector, image), constant or one value per step;
    trials through ``Brain.run(..., batched=True)``.

    Declared range: ``[0, 1]``. Inside a step values outside are clipped and NaN reads as 0; ``check_input``
    refuses them on the host.

    Ports:
        data (in, Signal): probabilities in [0, 1] (times ``max_prob``), shape ``shape``.
        spikes (out, Spikes): the spikes, shape ``shape``.
    """

    name = "bernoulli"
    Params = BernoulliEncoderParams
    inputs = {"data": spark.Port(spark.Signal, "spike probability per step in [0, 1] (times max_prob)",
                                 warn_unconnected=True)}
    outputs = {"spikes": spark.Port(spark.Spikes, "Bernoulli spikes")}
    stochastic = True

    def check_input(self, port, value):
        """The problem with host data ``value`` (any leading step / trial axes) for ``port``, or None."""
        return range_problem(self.name, port, value, 0.0, 1.0, UNIT_RANGE_HINT)

    def __call__(self, *, dt, data, key):
        expect_shape(self.name, "data", data, self.shape)
        p = self.params.max_prob * jnp.nan_to_num(jnp.clip(data, 0.0, 1.0), nan=0.0)
        return {"spikes": jax.random.uniform(key, self.shape) < p}
