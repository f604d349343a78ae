"""Additive pair-based STDP with all-to-all trace interaction."""

from __future__ import annotations

import math

import jax.numpy as jnp

import spark

from ._learning import POST_SPIKES, PRE_SPIKES, check_bounds


@spark.params
class PairSTDPParams:
    tau_plus: float = spark.param(20.0, unit="ms", doc="decay time constant of the presynaptic trace", gt=0)
    tau_minus: float = spark.param(20.0, unit="ms", doc="decay time constant of the postsynaptic trace", gt=0)
    a_plus: float = spark.param(0.01, unit="pA", doc="potentiation per pre-before-post pair at zero lag", ge=0)
    a_minus: float = spark.param(0.0105, unit="pA", doc="depression per post-before-pre pair at zero lag", ge=0)
    w_min: float = spark.param(0.0, unit="pA", doc="lower weight bound")
    w_max: float = spark.param(100.0, unit="pA", doc="upper weight bound (>= w_min)")


class PairSTDP(spark.LearningRule):
    """Additive pair STDP (Song, Miller & Abbott 2000; Bi & Poo 1998).

    Traces ``x_pre`` and ``x_post`` decay with ``tau_plus`` / ``tau_minus`` and jump by 1 per spike. Each step,
    a presynaptic spike depresses by ``a_minus * x_post`` and a postsynaptic spike potentiates by
    ``a_plus * x_pre``; the changed weights are clipped to ``[w_min, w_max]``. For one pair with lag
    ``dt_s = t_post - t_pre``: ``dw = a_plus exp(-dt_s / tau_plus)`` if ``dt_s >= 0`` else
    ``-a_minus exp(dt_s / tau_minus)``. Simultaneous spikes potentiate (as Brian2's ``on_pre`` before ``on_post``).

    Ports:
        pre (in, Spikes): the synapse's presynaptic spikes, shape ``(n_pre,)``.
        post (in, Spikes): the postsynaptic population's spikes, shape ``(n_post,)``.
    """

    name = "pair_stdp"
    partitionable = True  # per postsynaptic neuron (weight column): splits across devices (docs/scaling.md)
    Params = PairSTDPParams
    inputs = {
        "pre": PRE_SPIKES,
        "post": POST_SPIKES,
    }
    outputs = {}

    def __init__(self, shape, *, params=None, rngs=None, **values):
        super().__init__(shape, params=params, rngs=rngs, **values)
        check_bounds(self.name, self.params.w_min, self.params.w_max, strict=False)
        n_pre, n_post = self.shape
        self.x_pre = spark.State(jnp.zeros((n_pre,), jnp.float32))
        self.x_post = spark.State(jnp.zeros((n_post,), jnp.float32))

    def bind(self, synapse):
        synapse.prepare_spike_update()

    def __call__(self, synapse, *, dt, pre, post):
        p = self.params
        pre = pre.astype(jnp.float32)
        post = post.astype(jnp.float32)
        x_pre = self.x_pre[...] * math.exp(-dt / p.tau_plus) + pre
        x_post_old = self.x_post[...] * math.exp(-dt / p.tau_minus)
        self.x_pre[...] = x_pre
        self.x_post[...] = x_post_old + post
        return synapse.spike_update(pre, post, on_pre=-p.a_minus * x_post_old, on_post=p.a_plus * x_pre,
                                    w_min=p.w_min, w_max=p.w_max)
