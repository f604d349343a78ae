"""Reward-modulated STDP: pair STDP fills an eligibility trace, a neuromodulator turns it into weight change."""

from __future__ import annotations

import math

import jax.numpy as jnp

import spark

from ._learning import POST_SPIKES, PRE_SPIKES, check_bounds


@spark.params
class RewardSTDPParams:
    tau_plus: float = spark.param(20.0, unit="ms", doc="decay time constant of the presynaptic trace", gt=0)
    tau_minus: float = spark.param(20.0, unit="ms", doc="decay time constant of the postsynaptic trace", gt=0)
    a_plus: float = spark.param(1.0, doc="eligibility per pre-before-post pair at zero lag", ge=0)
    a_minus: float = spark.param(1.0, doc="eligibility removed per post-before-pre pair at zero lag", ge=0)
    tau_e: float = spark.param(1000.0, unit="ms", doc="decay time constant of the eligibility trace", gt=0)
    eta: float = spark.param(1e-3, unit="pA/ms", doc="weight change per ms per unit of modulator x eligibility",
                             ge=0)
    w_min: float = spark.param(0.0, unit="pA", doc="lower weight bound")
    w_max: float = spark.param(100.0, unit="pA", doc="upper weight bound")


class RewardSTDP(spark.LearningRule):
    """Three-factor, reward-modulated STDP with an eligibility trace (Izhikevich 2007; Frémaux & Gerstner 2016).

    Pair STDP (all-to-all traces ``x_pre`` / ``x_post`` with ``tau_plus`` / ``tau_minus``, as ``pair_stdp``) does
    not change the weight: it adds to a per-synapse eligibility trace ``e`` (unitless) that decays with ``tau_e``.
    The weight changes only while the modulator ``m`` (reward, dopamine, a TD error; a scalar ``Signal``) is
    non-zero. Each step, in this order::

        e  = e exp(-dt / tau_e) + a_plus x_pre[i] post[j] - a_minus pre[i] x_post[j]
        dw = eta dt m e

    and ``w`` is clipped to ``[w_min, w_max]``. So ``m = 0`` leaves the weights exactly unchanged, and the change is
    proportional to ``m`` times the eligibility left when ``m`` arrives: a pre-before-post pair with lag ``s`` and a
    reward pulse ``delay`` ms after the pair's second spike give ``eta dt m a_plus exp(-s / tau_plus)
    exp(-delay / tau_e)``. Same-step pre and post spikes count as pre-before-post.

    ``e`` is per synapse and lives in the synapse's storage layout: :meth:`bind` allocates it shaped like
    ``synapse.weight`` (a Brain calls it when it builds); record it as ``"<rule>.eligibility"``.

    Ports:
        pre (in, Spikes): the synapse's presynaptic spikes, shape ``(n_pre,)``.
        post (in, Spikes): the postsynaptic population's spikes, shape ``(n_post,)``.
        modulator (in, Signal): the neuromodulator ``m`` this step, shape ``(1,)``; unconnected reads 0 (no learning).
    """

    name = "reward_stdp"
    partitionable = True  # per postsynaptic neuron (weight column): splits across devices (docs/scaling.md)
    Params = RewardSTDPParams
    scalar_ports = ("modulator",)
    inputs = {
        "pre": PRE_SPIKES,
        "post": POST_SPIKES,
        "modulator": spark.Port(spark.Signal, "neuromodulator (reward, dopamine, TD error), one value per step"),
    }
    outputs = {}

    def __init__(self, shape, *, params=None, rngs=None, dt=None, **values):
        super().__init__(shape, params=params, rngs=rngs, dt=dt, **values)
        check_bounds(self.name, self.params.w_min, self.params.w_max, strict=False)
        n_pre, n_post = self.shape
        self.x_pre = spark.State(jnp.zeros((n_pre,), jnp.float32))
        self.x_post = spark.State(jnp.zeros((n_post,), jnp.float32))
        self.eligibility = spark.State(jnp.zeros((0,), jnp.float32))  # shaped by bind()

    @classmethod
    def memory_estimate(cls, params, shape, *, dt=None, synapses=None):
        """The traces, plus the eligibility trace made in :meth:`bind`: one float32 per stored weight."""
        base = super().memory_estimate(params, shape, dt=dt)
        n = synapses if synapses is not None else shape[0] * shape[1]
        return spark.Footprint(state=base.state + 4 * n, scratch=base.scratch)

    def bind(self, synapse):
        """Allocate the eligibility trace like ``synapse.weight`` (dense or sparse), zero."""
        self.eligibility = spark.State(jnp.zeros(synapse.weight[...].shape, jnp.float32))

    def __call__(self, synapse, *, dt, pre, post, modulator):
        p = self.params
        w = synapse.weight[...]
        if self.eligibility[...].shape != w.shape:
            raise ValueError(f"{self.name}: the eligibility trace has shape {list(self.eligibility[...].shape)} but "
                             f"the synapse's weights {list(w.shape)}; call rule.bind(synapse) once both are built "
                             "(a Brain does this when it builds)")
        pre = pre.astype(jnp.float32)
        post = post.astype(jnp.float32)
        x_pre = self.x_pre[...] * math.exp(-dt / p.tau_plus) + pre
        x_post_old = self.x_post[...] * math.exp(-dt / p.tau_minus)
        e = self.eligibility[...] * math.exp(-dt / p.tau_e) + p.a_plus * synapse.outer(x_pre, post)
        if p.a_minus:  # a static parameter: LTP-only eligibility (a_minus = 0) skips the second outer product
            e = e - p.a_minus * synapse.outer(pre, x_post_old)
        self.x_pre[...] = x_pre
        self.x_post[...] = x_post_old + post
        self.eligibility[...] = e
        m = jnp.reshape(modulator, (-1,))[0].astype(jnp.float32)
        return synapse.clip(w + (p.eta * dt) * m * e, p.w_min, p.w_max)
