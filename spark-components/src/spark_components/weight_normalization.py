"""Synaptic scaling: hold the sum of each postsynaptic neuron's incoming weights at a target."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import spark

from . import projection
from ._learning import DenseStorage

# spark-core >= 0.1.3: a cond that stays one branch when the lanes (agents side by side) agree
_cond = spark.lanes.cond if hasattr(spark, "lanes") else jax.lax.cond


@spark.params
class WeightNormalizationParams:
    target: float = spark.param(1.0, unit="pA", doc="sum of the incoming weights of every postsynaptic neuron")
    every: int = spark.param(1, unit="steps", doc="apply at the end of every `every`-th step (1 = every step)",
                             ge=1)
    mode: str = spark.param("multiplicative", choices=("multiplicative", "subtractive"),
                            doc="scale the weights (keeps their ratios) or shift them by one amount (keeps "
                                "their differences)")


class WeightNormalization(spark.LearningRule):
    """Normalise the summed incoming weight of each postsynaptic neuron to ``target`` (von der Malsburg 1973;
    Miller & MacKay 1994; the normalisation of Diehl & Cook 2015).

    ``s[j] = sum_i w[i, j]`` over the existing synapses of neuron ``j``; with ``n[j]`` that neuron's number of
    synapses, at the end of steps ``every - 1``, ``2 every - 1``, ... (counted from 0, so ``every = 1`` is every
    step)::

        multiplicative:  w[i, j] <- w[i, j] target / s[j]           (neurons with s[j] = 0 are left alone)
        subtractive:     w[i, j] <- w[i, j] + (target - s[j]) / n[j]

    Afterwards every postsynaptic neuron with synapses has ``sum_i w[i, j] = target`` (multiplicative: unless its
    weights are all zero). Multiplicative scaling is meant for weights of one sign. Attach it after the rules whose
    changes it should normalise (rules apply in attach order); to also bound the weights, attach
    ``weight_bounds`` after it (the sum may then differ from ``target``). Between applications nothing happens, and
    nothing is computed: on dense storage with the native kernels (CPU) one in-place C++ call per step normalises the
    networks that are due and returns at once otherwise (``native/weight_normalization.cc``, the same numbers as the
    JAX path bit for bit); elsewhere, with ``every > 1``, the normalisation runs inside a :func:`spark.lanes.cond`
    taken only on due steps, which stays one branch under Spark's side-by-side ``vmap`` (agents, batched trials)
    whenever the networks are due together (a plain ``lax.cond`` would become a select computing both sides).

    Ports: none (it reads only the synapse's weights).
    """

    name = "weight_normalization"
    partitionable = True  # per postsynaptic neuron (weight column): splits across devices (docs/scaling.md)
    Params = WeightNormalizationParams
    inputs = {}
    outputs = {}

    def __init__(self, shape, *, params=None, rngs=None, dt=None, **values):
        super().__init__(shape, params=params, rngs=rngs, dt=dt, **values)
        self.step = spark.State(jnp.zeros((), jnp.int32))  # steps seen so far

    def bind(self, synapse):
        # the built-in projections then hand their weights from delivery to the rules by data, so the weights that
        # the cond passes through on most steps are not copied every step (about 2 x 313 KB for 784 x 100)
        pass_through = getattr(synapse, "pass_weights_through", None)
        if pass_through is not None:
            pass_through()

    def __call__(self, synapse, *, dt):
        p = self.params
        step = self.step[...] + 1
        self.step[...] = step
        mask = synapse.native_mask() if hasattr(synapse, "native_mask") else None
        if mask is not None:
            # dense storage: one in-place C++ call that normalises where due and otherwise touches nothing (no
            # conditional, which XLA would run with a copy of the weights), the same numbers as below
            return _native_dense(self)(step % p.every == 0, mask, synapse.weight[...])
        if p.every == 1:
            return self._normalised(synapse, synapse.weight[...])
        return _cond(step % p.every == 0, lambda w: self._normalised(synapse, w), lambda w: w, synapse.weight[...])

    def _normalised(self, synapse, w):
        p = self.params
        n_pre, n_post = self.shape
        ones_pre = jnp.ones((n_pre,), jnp.float32)
        s = synapse.sum_incoming(w)
        if p.mode == "multiplicative":
            factor = jnp.where(s != 0, p.target / jnp.where(s != 0, s, 1.0), 1.0)
            return synapse.outer(ones_pre, factor) * w
        n = synapse.sum_incoming(synapse.outer(ones_pre, jnp.ones((n_post,), jnp.float32)))
        return w + synapse.outer(ones_pre, jnp.where(n > 0, (p.target - s) / jnp.maximum(n, 1.0), 0.0))


def _native_dense(rule: WeightNormalization):
    """``(due, mask, w) -> w``: ``rule``'s native normalisation (in place where ``due``), with a batching rule (under
    ``vmap`` one call for every lane, each normalised where it is due; the mask may be shared) and a differentiation
    rule (tangents of the rule's JAX normalisation where due)."""
    p = rule.params
    attrs = dict(target=np.float32(p.target), subtractive=p.mode == "subtractive")

    def kernel(due, mask, w):  # lanes first: (B,), (B, n_pre, n_post); or one network's (1,), (n_pre, n_post)
        call = jax.ffi.ffi_call("spark_weight_normalization_dense", jax.ShapeDtypeStruct(w.shape, jnp.float32),
                                vmap_method="sequential", input_output_aliases={2: 0})
        return projection.match_varying(call(due, mask, w, **attrs), (w,))

    @jax.custom_batching.custom_vmap
    def call(due, mask, w):
        return kernel(jnp.reshape(due, (1,)), mask, w)  # not w[None]: XLA copied that view every step

    @call.def_vmap
    def _(axis_size, in_batched, due, mask, w):
        due = due if in_batched[0] else jnp.broadcast_to(due, (axis_size,))
        w = w if in_batched[2] else jnp.broadcast_to(w, (axis_size, *w.shape))
        return kernel(due, mask, w), True

    def reference(due, mask, w):
        return jnp.where(due, rule._normalised(DenseStorage(mask), w), w)

    return projection._linear(call, reference)
