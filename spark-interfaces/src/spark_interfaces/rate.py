"""Exponentially filtered firing rate."""

from __future__ import annotations

import math

import jax.numpy as jnp

import spark

from ._common import expect_shape


@spark.params
class RateDecoderParams:
    tau: float = spark.param(20.0, unit="ms", gt=0, doc="time constant of the exponential filter")
    initial: float = spark.param(0.0, unit="Hz", ge=0, doc="rate estimate before any spike")


class RateDecoder(spark.Decoder):
    """Firing rate of each neuron, estimated by an exponential filter of its spike train (Dayan & Abbott 2001, 1.2).

    With ``a = exp(-dt / tau)`` and ``s`` the spikes received this step (0 or 1)::

        r <- a r + (1 - a) s / dt                  (Hz, dt in s)

    the exponential moving average of the instantaneous rate ``s / dt``: a spike adds ``(1 - a) / dt``
    (``~ 1 / tau``) and then decays with ``tau``. The filter's gain is exactly 1, so for any spike train of
    steady rate ``f`` the mean of ``r`` is ``f`` (a Poisson or regular train in steady state). A spike is counted in
    the step the decoder receives it (one step after the soma emitted it, see docs/time.md).

    State: ``r`` (Hz).

    Ports:
        spikes (in, Spikes): spikes of the population read, shape ``shape``.
        rate (out, Signal, Hz): the filtered rate, shape ``shape``.
    """

    name = "rate"
    Params = RateDecoderParams
    inputs = {"spikes": spark.Port(spark.Spikes, "spikes to filter", optional=False)}
    outputs = {"rate": spark.Port(spark.Signal, "exponentially filtered firing rate (Hz)")}

    def __init__(self, shape, *, params=None, rngs=None, dt=None, **values):
        super().__init__(shape, params=params, rngs=rngs, dt=dt, **values)
        self.r = spark.State(jnp.full(self.shape, self.params.initial, jnp.float32))

    def __call__(self, *, dt, spikes):
        expect_shape(self.name, "spikes", spikes, self.shape)
        a = math.exp(-dt / self.params.tau)
        r = a * self.r[...] + ((1.0 - a) * 1000.0 / dt) * spikes.astype(jnp.float32)
        self.r[...] = r
        return {"rate": r}
