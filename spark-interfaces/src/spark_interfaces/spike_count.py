"""Spike-count decoder."""

from __future__ import annotations

import jax.numpy as jnp

import spark


@spark.params
class SpikeCountParams:
    window: int = spark.param(0, unit="steps", doc="count over the last `window` steps; 0 counts since the start", ge=0)


class SpikeCount(spark.Decoder):
    """Number of spikes each neuron has emitted: since the start (``window = 0``) or over the last ``window`` steps.

    Ports:
        spikes (in, Spikes): spikes of the population read, shape ``shape``.
        count (out, Signal): spike counts (float32), shape ``shape``.
    """

    name = "spike_count"
    Params = SpikeCountParams
    inputs = {"spikes": spark.Port(spark.Spikes, "spikes to count", optional=False)}
    outputs = {"count": spark.Port(spark.Signal, "spike count per neuron")}

    def __init__(self, shape, *, params=None, rngs=None, **values):
        super().__init__(shape, params=params, rngs=rngs, **values)
        self.count = spark.State(jnp.zeros(self.shape, jnp.float32))
        w = self.params.window
        if w:
            self.history = spark.State(jnp.zeros((w, *self.shape), jnp.float32))
            self.cursor = spark.State(jnp.zeros((), jnp.int32))

    def __call__(self, *, dt, spikes):
        s = spikes.astype(jnp.float32)
        if not self.params.window:
            count = self.count[...] + s
        else:
            k = self.cursor[...]
            count = self.count[...] + s - self.history[k]
            self.history[k] = s
            self.cursor[...] = (k + 1) % self.params.window
        self.count[...] = count
        return {"count": count}
