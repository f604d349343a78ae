"""Current-based synapse with an alpha-function current."""

from __future__ import annotations

import math

import jax.numpy as jnp

import spark

from .projection import Projection, ProjectionParams, decay


@spark.params
class AlphaSynapseParams(ProjectionParams):
    tau_syn: float = spark.param(2.0, unit="ms", doc="time to peak of the alpha current", gt=0)


class AlphaSynapse(Projection):
    """Alpha current synapse: a spike at ``t_s`` gives ``i(t) = w (t - t_s)/tau e^(1 - (t - t_s)/tau)``, peak ``w`` at ``tau``.

    Two exactly integrated states: ``h' = -h/tau`` (jumps by ``w`` per spike) and ``i' = -i/tau + (e/tau) h``, so over a
    step ``i <- (i + (e/tau) h dt) e^(-dt/tau)`` and ``h <- h e^(-dt/tau)`` before this step's spikes add to ``h``.

    Ports:
        pre (in, Spikes): presynaptic spikes, shape ``(n_pre,)``.
        i (out, Current, pA): synaptic current, shape ``(n_post,)``.
    """

    name = "alpha_synapse"
    Params = AlphaSynapseParams
    inputs = {"pre": spark.Port(spark.Spikes, "presynaptic spikes", optional=False)}
    outputs = {"i": spark.Port(spark.Current, "postsynaptic current (pA)")}

    def __init__(self, shape, *, params=None, rngs=None, dt=None, **values):
        super().__init__(shape, params=params, rngs=rngs, dt=dt, **values)
        self.i = spark.State(jnp.zeros((self.shape[1],), jnp.float32))
        self.h = spark.State(jnp.zeros((self.shape[1],), jnp.float32))

    def __call__(self, *, dt, pre):
        tau = self.params.tau_syn
        k = decay(dt, tau)
        i = (self.i[...] + (math.e / tau) * dt * self.h[...]) * k
        self.h[...] = self.deliver(pre, onto=self.h[...], factor=k)
        self.i[...] = i
        return {"i": i}
