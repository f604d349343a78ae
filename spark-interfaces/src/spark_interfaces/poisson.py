"""Poisson rate encoder."""

from __future__ import annotations

import jax
import jax.numpy as jnp

import spark


@spark.params
class PoissonEncoderParams:
    max_rate: float = spark.param(100.0, unit="Hz", doc="firing rate for an input value of 1", ge=0)


class PoissonEncoder(spark.Encoder):
    """Poisson spike trains whose rate follows the data.

    Each step, element ``k`` spikes with probability ``clip(data[k], 0, 1) * max_rate * dt``
    (``dt`` in s; the probability is capped at 1). Values below 0 or above 1 are clipped, NaN reads as 0:
    check data on the way in (``Brain.run`` does).

    Ports:
        data (in, Signal): intensities in [0, 1], shape ``shape``.
        spikes (out, Spikes): the spike trains, shape ``shape``.
    """

    name = "poisson"
    Params = PoissonEncoderParams
    inputs = {"data": spark.Port(spark.Signal, "intensity in [0, 1] (1 = max_rate)")}
    outputs = {"spikes": spark.Port(spark.Spikes, "Poisson spikes")}
    stochastic = True

    def __call__(self, *, dt, data, key):
        x = jnp.nan_to_num(jnp.clip(data, 0.0, 1.0), nan=0.0)
        p = jnp.minimum(x * (self.params.max_rate * dt * 1e-3), 1.0)
        return {"spikes": jax.random.uniform(key, self.shape) < p}
