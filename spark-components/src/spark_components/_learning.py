"""Small helpers shared by the learning rules (private)."""

from __future__ import annotations

import math

import jax

import spark

#: the input ports most rules share: the synapse's presynaptic spikes and the postsynaptic population's
PRE_SPIKES = spark.Port(spark.Spikes, "presynaptic spikes (same source as the synapse)", optional=False)
POST_SPIKES = spark.Port(spark.Spikes, "postsynaptic spikes", optional=False)


def check_bounds(component: str, w_min: float, w_max: float, *, strict: bool = True, unit: str = "pA") -> None:
    """Raise :class:`spark.ParamError` unless ``w_min < w_max`` (``<=`` when not ``strict``)."""
    if w_min < w_max or (not strict and w_min == w_max):
        return
    sym = "<" if strict else "<="
    msg = (f"{component} parameter 'w_min' = {w_min!r} {unit} is out of bounds: it must be {sym} "
           f"'w_max' = {w_max!r} {unit}; lower w_min or raise w_max")
    err = spark.ParamError(msg)
    err.problems = [("w_min", msg)]
    raise err


def spike_update(synapse, pre, post, on_pre, on_post, w_min=-math.inf, w_max=math.inf, *, pre_gain=None,
                 post_gain=None) -> jax.Array:
    """``synapse.spike_update`` with optional per-neuron gains (the core's :meth:`spark.Synapse.spike_update` defines
    it).

    Without gains, the synapse's own ``spike_update`` (event-driven where its storage has a fast path). With gains,
    the synapse's own too where it takes them (the core's default, or a class that sets ``spike_update_takes_gains``,
    such as the built-in projections: one in-place native call); a synapse that overrides ``spike_update`` without
    gains (written for spark-core < 0.1.2) gets the core's definition instead."""
    if pre_gain is None and post_gain is None:
        return synapse.spike_update(pre, post, on_pre, on_post, w_min, w_max)
    own = type(synapse).spike_update
    update = own if own is spark.Synapse.spike_update or getattr(type(synapse), "spike_update_takes_gains", False) \
        else spark.Synapse.spike_update
    return update(synapse, pre, post, on_pre, on_post, w_min, w_max, pre_gain=pre_gain, post_gain=post_gain)


class DenseStorage:
    """``outer``, ``clip`` and ``sum_incoming`` of a dense projection with connectivity ``mask`` (shape
    ``(n_pre, n_post)``, or one element: every synapse exists), as plain JAX: what a native rule kernel's
    differentiation rule runs the rule's JAX step on."""

    def __init__(self, mask: jax.Array):
        self.mask = mask

    def outer(self, a_pre: jax.Array, b_post: jax.Array) -> jax.Array:
        return jax.numpy.where(self.mask, a_pre[:, None] * b_post[None, :], 0.0)

    def clip(self, w: jax.Array, lo: float, hi: float) -> jax.Array:
        return jax.numpy.where(self.mask, jax.numpy.clip(w, lo, hi), 0.0)

    def sum_incoming(self, w: jax.Array) -> jax.Array:
        from .projection import column_sum

        return column_sum(jax.numpy.where(self.mask, w, 0.0))
