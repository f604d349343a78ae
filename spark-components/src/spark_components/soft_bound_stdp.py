"""Pair STDP with weight-dependent (soft-bound) updates (Gütig et al. 2003; van Rossum et al. 2000)."""

from __future__ import annotations

import math

import jax.numpy as jnp

import spark

from ._learning import POST_SPIKES, PRE_SPIKES, check_bounds


@spark.params
class SoftBoundSTDPParams:
    tau_plus: float = spark.param(20.0, unit="ms", doc="decay time constant of the presynaptic trace", gt=0)
    tau_minus: float = spark.param(20.0, unit="ms", doc="decay time constant of the postsynaptic trace", gt=0)
    a_plus: float = spark.param(0.01, unit="pA", doc="potentiation per pre-before-post pair at zero lag, "
                                "scaled by ((w_max - w) / (w_max - w_min))^mu", ge=0)
    a_minus: float = spark.param(0.0105, unit="pA", doc="depression per post-before-pre pair at zero lag, "
                                 "scaled by ((w - w_min) / (w_max - w_min))^mu", ge=0)
    mu: float = spark.param(1.0, doc="weight dependence: 0 = additive (as pair_stdp), 1 = multiplicative "
                            "(soft bounds); values between interpolate", ge=0, le=1)
    w_min: float = spark.param(0.0, unit="pA", doc="lower weight bound")
    w_max: float = spark.param(100.0, unit="pA", doc="upper weight bound (must exceed w_min)")


class SoftBoundSTDP(spark.LearningRule):
    """Pair STDP whose updates shrink near the weight bounds (Gütig, Aharonov, Rotter & Sompolinsky 2003).

    Traces ``x_pre`` and ``x_post`` decay with ``tau_plus`` / ``tau_minus`` and jump by 1 per spike
    (all-to-all pairing). With ``u = (w - w_min) / (w_max - w_min)`` the weight's place between its bounds,
    each step::

        dw = a_plus  (1 - u)^mu  x_pre   on a postsynaptic spike
           - a_minus u^mu        x_post  on a presynaptic spike

    using ``w`` from the start of the step. ``mu = 1`` is the multiplicative (soft-bound) rule
    ``dw+ = a_plus (w_max - w) / (w_max - w_min) x_pre``, ``dw- = -a_minus (w - w_min) / (w_max - w_min) x_post``:
    a weight approaches a bound geometrically and never crosses it while ``a_plus x_pre`` and ``a_minus x_post``
    stay below ``w_max - w_min``. ``mu = 0`` is additive pair STDP, identical to ``pair_stdp``. The result is
    clipped to ``[w_min, w_max]`` (a safeguard: soft bounds alone are exceeded only by steps larger than the
    whole range). The amplitudes are in the weight's unit, so they mean the same for every ``mu``.
    Same-step pre and post spikes count as pre-before-post, as in ``pair_stdp``.

    Ports:
        pre (in, Spikes): the synapse's presynaptic spikes, shape ``(n_pre,)``.
        post (in, Spikes): the postsynaptic population's spikes, shape ``(n_post,)``.
    """

    name = "soft_bound_stdp"
    partitionable = True  # per postsynaptic neuron (weight column): splits across devices (docs/scaling.md)
    Params = SoftBoundSTDPParams
    inputs = {
        "pre": PRE_SPIKES,
        "post": POST_SPIKES,
    }
    outputs = {}

    def __init__(self, shape, *, params=None, rngs=None, dt=None, **values):
        super().__init__(shape, params=params, rngs=rngs, dt=dt, **values)
        check_bounds(self.name, self.params.w_min, self.params.w_max)
        n_pre, n_post = self.shape
        self.x_pre = spark.State(jnp.zeros((n_pre,), jnp.float32))
        self.x_post = spark.State(jnp.zeros((n_post,), jnp.float32))

    def __call__(self, synapse, *, dt, pre, post):
        p = self.params
        pre = pre.astype(jnp.float32)
        post = post.astype(jnp.float32)
        x_pre = self.x_pre[...] * math.exp(-dt / p.tau_plus) + pre
        x_post_old = self.x_post[...] * math.exp(-dt / p.tau_minus)
        w = synapse.clip(synapse.weight[...], p.w_min, p.w_max)
        u = (w - p.w_min) * (1.0 / (p.w_max - p.w_min))
        up, down = 1.0 - u, u
        if p.mu != 1.0:
            up, down = jnp.power(jnp.maximum(up, 0.0), p.mu), jnp.power(jnp.maximum(down, 0.0), p.mu)
        dw = p.a_plus * up * synapse.outer(x_pre, post) - p.a_minus * down * synapse.outer(pre, x_post_old)
        self.x_pre[...] = x_pre
        self.x_post[...] = x_post_old + post
        return synapse.clip(synapse.weight[...] + dw, p.w_min, p.w_max)
