"""Reward-modulated STDP: pair STDP fills an eligibility trace, a neuromodulator turns it into weight change."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

import spark

from . import projection
from ._learning import POST_SPIKES, PRE_SPIKES, DenseStorage, check_bounds


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

    and ``w`` is clipped to ``[w_min, w_max]`` (every step). So ``m = 0`` leaves weights within the bounds exactly
    unchanged, and the change is proportional to ``m`` times the eligibility left when ``m`` arrives: a
    pre-before-post pair with lag ``s`` and a reward pulse ``delay`` ms after the pair's second spike give
    ``eta dt m a_plus exp(-s / tau_plus) exp(-delay / tau_e)``. Same-step pre and post spikes count as
    pre-before-post.

    ``e`` is per synapse and lives in the synapse's storage layout: :meth:`bind` allocates it shaped like
    ``synapse.weight`` (a Brain calls it when it builds); record it as ``"<rule>.eligibility"``. On a built-in dense
    projection with the native kernels (CPU), a step is one in-place C++ pass over the synapses
    (``native/reward_stdp.cc``; under ``vmap`` one call for every network side by side) that gives this step's numbers
    bit for bit; elsewhere (sparse storage, a GPU, ``SPARK_NATIVE=0``) the step is plain JAX.

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
        pass_through = getattr(synapse, "pass_weights_through", None)  # see weight_normalization.bind
        if pass_through is not None:
            pass_through()

    def __call__(self, synapse, *, dt, pre, post, modulator):
        p = self.params
        w = synapse.weight[...]
        if self.eligibility[...].shape != w.shape:
            raise ValueError(f"{self.name}: the eligibility trace has shape {list(self.eligibility[...].shape)} but "
                             f"the synapse's weights {list(w.shape)}; call rule.bind(synapse) once both are built "
                             "(a Brain does this when it builds)")
        m = jnp.reshape(modulator, (-1,))[:1].astype(jnp.float32)
        consts = dict(decay_plus=math.exp(-dt / p.tau_plus), decay_minus=math.exp(-dt / p.tau_minus),
                      decay_e=math.exp(-dt / p.tau_e), a_plus=p.a_plus, a_minus=p.a_minus, k=p.eta * dt,
                      w_min=p.w_min, w_max=p.w_max)
        state = (self.x_pre[...], self.x_post[...], self.eligibility[...], w)
        mask = synapse.native_mask() if hasattr(synapse, "native_mask") else None
        if mask is not None:  # dense storage: one in-place C++ pass (native/reward_stdp.cc), the JAX step's numbers
            x_pre, x_post, e, w = _native_dense(consts)(pre.astype(bool), post.astype(bool), mask, m, *state)
        else:
            x_pre, x_post, e, w = _step(synapse, consts, pre, post, m, *state)
        self.x_pre[...] = x_pre
        self.x_post[...] = x_post
        self.eligibility[...] = e
        return w


def _step(synapse, c, pre, post, m, x_pre, x_post, e, w):
    """One step of the rule in plain JAX on any storage: ``(x_pre, x_post, eligibility, weight)`` after it."""
    pre = pre.astype(jnp.float32)
    post = post.astype(jnp.float32)
    x_pre = x_pre * c["decay_plus"] + pre
    x_post_old = x_post * c["decay_minus"]
    e = e * c["decay_e"] + c["a_plus"] * synapse.outer(x_pre, post)
    if c["a_minus"]:  # a static parameter: LTP-only eligibility (a_minus = 0) skips the second outer product
        e = e - c["a_minus"] * synapse.outer(pre, x_post_old)
    return x_pre, x_post_old + post, e, synapse.clip(w + c["k"] * m[0] * e, c["w_min"], c["w_max"])


def _native_dense(c):
    """``(pre, post, mask, m, x_pre, x_post, e, w) -> (x_pre, x_post, e, w)``: the native step (in place), with a
    batching rule (under ``vmap`` one call steps every lane: agents or trials side by side; the mask may be shared)
    and a differentiation rule (tangents of the plain-JAX step)."""
    attrs = {name: np.float32(value) for name, value in c.items()}

    def kernel(pre, post, mask, m, *state):  # lanes first: (B, n_pre), (B, n_post), (B,), (B, ...); or one network's
        types = tuple(jax.ShapeDtypeStruct(a.shape, jnp.float32) for a in state)
        call = jax.ffi.ffi_call("spark_reward_stdp_dense", types, vmap_method="sequential",
                                input_output_aliases={4: 0, 5: 1, 6: 2, 7: 3})
        return projection.match_varying(tuple(call(pre, post, mask, m, *state, **attrs)), (pre, *state))

    @jax.custom_batching.custom_vmap
    def call(pre, post, mask, m, *state):  # one network: its arrays as they are (not [None] views: XLA copied them)
        return kernel(pre, post, mask, m, *state)

    @call.def_vmap
    def _(axis_size, in_batched, pre, post, mask, m, *state):
        args = [a if b else jnp.broadcast_to(a, (axis_size, *a.shape))
                for a, b in zip((pre, post, mask, m, *state), in_batched, strict=True)]
        args[2] = mask  # shared or per lane, as it is
        return kernel(*args), (True,) * 4

    def reference(pre, post, mask, m, *state):
        return _step(DenseStorage(mask), c, pre, post, m, *state)

    return projection._linear(call, reference)
