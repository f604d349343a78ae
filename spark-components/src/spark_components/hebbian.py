"""Hebbian learning on spike traces: dw/dt = eta x_pre x_post."""

from __future__ import annotations

import math

import jax.numpy as jnp

import spark

from ._learning import POST_SPIKES, PRE_SPIKES, check_bounds


@spark.params
class HebbianParams:
    eta: float = spark.param(1e-3, unit="pA/ms", doc="learning rate: weight change per ms per unit trace product")
    tau_pre: float = spark.param(20.0, unit="ms", doc="decay time constant of the presynaptic trace", gt=0)
    tau_post: float = spark.param(20.0, unit="ms", doc="decay time constant of the postsynaptic trace", gt=0)
    w_min: float = spark.param(0.0, unit="pA", doc="lower weight bound")
    w_max: float = spark.param(100.0, unit="pA", doc="upper weight bound")


class Hebbian(spark.LearningRule):
    """Plain Hebbian learning: the weight grows with the product of pre- and postsynaptic activity.

    Activity is a spike trace: ``x`` decays with ``tau_pre`` / ``tau_post`` and jumps by 1 per spike, so for
    steady firing at rate ``r`` its mean is ``r tau`` (a rate estimate in units of spikes per ``tau``). Each step,
    after the traces take this step's spikes::

        dw = eta dt x_pre[i] x_post[j]

    then ``w`` is clipped to ``[w_min, w_max]``. A negative ``eta`` gives anti-Hebbian learning. There is no
    normalisation: pair it with ``weight_normalization`` or use ``oja`` / ``bcm`` for stable learning.

    Ports:
        pre (in, Spikes): the synapse's presynaptic spikes, shape ``(n_pre,)``.
        post (in, Spikes): the postsynaptic population's spikes, shape ``(n_post,)``.
    """

    name = "hebbian"
    partitionable = True  # per postsynaptic neuron (weight column): splits across devices (docs/scaling.md)
    Params = HebbianParams
    inputs = {
        "pre": PRE_SPIKES,
        "post": POST_SPIKES,
    }
    outputs = {}

    def __init__(self, shape, *, params=None, rngs=None, dt=None, **values):
        super().__init__(shape, params=params, rngs=rngs, dt=dt, **values)
        check_bounds(self.name, self.params.w_min, self.params.w_max, strict=False)
        n_pre, n_post = self.shape
        self.x_pre = spark.State(jnp.zeros((n_pre,), jnp.float32))
        self.x_post = spark.State(jnp.zeros((n_post,), jnp.float32))

    def __call__(self, synapse, *, dt, pre, post):
        p = self.params
        x_pre = self.x_pre[...] * math.exp(-dt / p.tau_pre) + pre.astype(jnp.float32)
        x_post = self.x_post[...] * math.exp(-dt / p.tau_post) + post.astype(jnp.float32)
        self.x_pre[...] = x_pre
        self.x_post[...] = x_post
        dw = synapse.outer(x_pre, (p.eta * dt) * x_post)
        return synapse.clip(synapse.weight[...] + dw, p.w_min, p.w_max)
