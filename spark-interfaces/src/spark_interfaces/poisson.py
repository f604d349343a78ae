"""Poisson rate encoder."""

from __future__ import annotations

import jax
import jax.numpy as jnp

import spark

from ._common import UNIT_RANGE_HINT, expect_shape, range_problem


@spark.params
class PoissonEncoderParams:
    max_rate: float = spark.param(100.0, unit="Hz", doc="firing rate for an input value of 1", ge=0)


class PoissonEncoder(spark.Encoder):
    """Poisson spike trains whose rate follows the data.

    Each step, element ``k`` spikes with probability ``clip(data[k], 0, 1) * max_rate * dt``
    (``dt`` in s; the probability is capped at 1), independently of every other element and step.
    The data may be anything of the node's shape (a vector, an image) and may change every step (a time series);
    many trials at once are ``Brain.run(..., batched=True)``.

    Declared range: ``[0, 1]``. Inside a step values below 0 or above 1 are clipped and NaN reads as 0;
    on the host, ``check_input`` (and :func:`spark_interfaces.check_inputs`) refuses them with the offending index,
    and ``Brain.run`` refuses NaN and infinity.

    Ports:
        data (in, Signal): intensities in [0, 1], shape ``shape``.
        spikes (out, Spikes): the spike trains, shape ``shape``.
    """

    name = "poisson"
    Params = PoissonEncoderParams
    inputs = {"data": spark.Port(spark.Signal, "intensity in [0, 1] (1 = max_rate)")}
    outputs = {"spikes": spark.Port(spark.Spikes, "Poisson spikes")}
    stochastic = True

    def check_input(self, port, value):
        """The problem with host data ``value`` (any leading step / trial axes) for ``port``, or None."""
        return range_problem(self.name, port, value, 0.0, 1.0, UNIT_RANGE_HINT)

    def __call__(self, *, dt, data, key):
        expect_shape(self.name, "data", data, self.shape)
        x = jnp.nan_to_num(jnp.clip(data, 0.0, 1.0), nan=0.0)
        p = jnp.minimum(x * (self.params.max_rate * dt * 1e-3), 1.0)
        return {"spikes": jax.random.uniform(key, self.shape) < p}
