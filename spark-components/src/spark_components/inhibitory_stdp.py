"""Inhibitory STDP (Vogels et al. 2011): a symmetric rule that holds the postsynaptic rate at a target."""

from __future__ import annotations

import math

import jax.numpy as jnp

import spark

from ._learning import POST_SPIKES, PRE_SPIKES, check_bounds


@spark.params
class InhibitorySTDPParams:
    tau: float = spark.param(20.0, unit="ms", doc="decay time constant of both spike traces", gt=0)
    eta: float = spark.param(0.1, unit="pA", doc="learning rate: change per coincident pre/post pair", ge=0)
    rho0: float = spark.param(5.0, unit="Hz", doc="target postsynaptic firing rate", ge=0)
    sign: int = spark.param(1, choices=(1, -1), doc="+1: inhibition grows with w (conductances, positive "
                            "weights); -1: inhibition grows as w gets more negative (current synapses)")
    w_min: float = spark.param(0.0, unit="pA", doc="lower weight bound")
    w_max: float = spark.param(100.0, unit="pA", doc="upper weight bound")


class InhibitorySTDP(spark.LearningRule):
    """Inhibitory STDP of Vogels, Sprekeler, Zenke, Clopath & Gerstner (2011), Science 334:1569.

    Traces ``x_pre`` and ``x_post`` decay with ``tau`` and jump by 1 per spike. With the depression factor
    ``alpha = 2 rho0 tau`` (``rho0`` in Hz, ``tau`` in ms, so ``alpha = 2 rho0 tau / 1000``), each step::

        on a presynaptic spike:   w += sign eta (x_post - alpha)
        on a postsynaptic spike:  w += sign eta x_pre

    then the changed weights are clipped to ``[w_min, w_max]``. One pre/post pair at lag ``s`` (either order)
    changes ``w`` by ``sign eta (exp(-|s| / tau) - alpha)``. For uncorrelated firing the mean drift is
    ``dw/dt = 2 sign eta rho_pre tau (rho_post - rho0)``: inhibition grows while the postsynaptic neuron fires
    above ``rho0`` and shrinks below it, so the rate settles at ``rho0``. ``sign = -1`` is for current synapses
    whose inhibitory weights are negative (set ``w_min < 0``, ``w_max = 0``). Same-step pre and post spikes count
    as one pair at lag 0.

    Ports:
        pre (in, Spikes): the synapse's (inhibitory) presynaptic spikes, shape ``(n_pre,)``.
        post (in, Spikes): the postsynaptic population's spikes, shape ``(n_post,)``.
    """

    name = "inhibitory_stdp"
    partitionable = True  # per postsynaptic neuron (weight column): splits across devices (docs/scaling.md)
    Params = InhibitorySTDPParams
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

    @property
    def alpha(self) -> float:
        """The depression factor ``2 rho0 tau`` (unitless)."""
        return 2.0 * self.params.rho0 * self.params.tau / 1000.0

    def bind(self, synapse):
        synapse.prepare_spike_update()

    def __call__(self, synapse, *, dt, pre, post):
        p = self.params
        pre = pre.astype(jnp.float32)
        post = post.astype(jnp.float32)
        decay = math.exp(-dt / p.tau)
        x_pre = self.x_pre[...] * decay + pre
        x_post_old = self.x_post[...] * decay
        k = p.sign * p.eta
        self.x_pre[...] = x_pre
        self.x_post[...] = x_post_old + post
        return synapse.spike_update(pre, post, on_pre=k * (x_post_old - self.alpha), on_post=k * x_pre,
                                    w_min=p.w_min, w_max=p.w_max)
