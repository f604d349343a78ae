"""Small helpers shared by the learning rules (private)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

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


def outer_spike_update(synapse, pre, post, on_pre, on_post, w_min=-math.inf, w_max=math.inf, *, pre_gain=None,
                       post_gain=None):
    """The definition of a spike-triggered update with gains, on any storage through ``outer`` and ``clip`` (work ~
    synapses per step): a presynaptic spike of ``i`` changes each synapse ``(i, j)`` by ``pre_gain[i] on_pre[j]``, a
    postsynaptic spike of ``j`` each ``(i, j)`` by ``on_post[i] post_gain[j]``; the synapses so touched are clipped to
    ``[w_min, w_max]``, the others left as they are. Without gains it computes exactly what the core's default
    :meth:`spark.Synapse.spike_update` computes."""
    f32 = jnp.float32
    pre, post = pre.astype(f32), post.astype(f32)
    a = pre if pre_gain is None else pre * pre_gain.astype(f32)
    b = post if post_gain is None else post * post_gain.astype(f32)
    w = synapse.weight[...]
    dw = synapse.outer(a, on_pre.astype(f32)) + synapse.outer(on_post.astype(f32), b)
    touched = synapse.outer(pre, jnp.ones_like(post)) + synapse.outer(jnp.ones_like(pre), post) > 0
    return jnp.where(touched, synapse.clip(w + dw, w_min, w_max), w)


def spike_update(synapse, pre, post, on_pre, on_post, w_min=-math.inf, w_max=math.inf, *, pre_gain=None,
                 post_gain=None) -> jax.Array:
    """``synapse.spike_update`` with optional per-neuron gains (:func:`outer_spike_update` defines it).

    Without gains, the synapse's own :meth:`~spark.Synapse.spike_update` (event-driven where its storage has a fast
    path). With gains, that of a synapse whose class sets ``spike_update_takes_gains`` (the built-in projections: one
    in-place native call), else :func:`outer_spike_update`."""
    if pre_gain is None and post_gain is None:
        return synapse.spike_update(pre, post, on_pre, on_post, w_min, w_max)
    if getattr(type(synapse), "spike_update_takes_gains", False):
        return synapse.spike_update(pre, post, on_pre, on_post, w_min, w_max, pre_gain=pre_gain, post_gain=post_gain)
    return outer_spike_update(synapse, pre, post, on_pre, on_post, w_min, w_max, pre_gain=pre_gain,
                              post_gain=post_gain)
