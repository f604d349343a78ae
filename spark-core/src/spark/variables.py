"""Kinds of state a component holds, as Flax NNX Variables.

Filtering by kind separates them, e.g. ``nnx.state(brain, spark.Learned)`` gives every learned value.
"""

from __future__ import annotations

import contextlib
import contextvars

import jax
from flax import nnx
from flax.nnx import variablelib


class _Variable(nnx.Variable):
    """An NNX Variable whose whole-array write under tracing (``v[...] = x``, what every step does) is linear.

    Flax's ``set_value`` compares ``getattr(x, "sharding", None)`` to decide whether ``x`` replaces the array; on a
    tracer that attribute raises an AttributeError whose message JAX builds by walking the whole trace so far
    (``find_progenitors``), so tracing a step of ``n`` nodes took time ``n**2`` (1,000 one-neuron nodes: minutes).
    Between tracers of the same shape and dtype both shardings read ``None`` and Flax replaces the array: the same
    is done here directly; every other write goes through Flax unchanged.
    """

    def set_value(self, value, *, index=variablelib.MISSING):
        raw = self._raw_value
        if (index is Ellipsis and "on_set_value" not in self._var_metadata
                and isinstance(value, jax.core.Tracer) and isinstance(raw, jax.core.Tracer)
                and isinstance(value.aval, jax.core.ShapedArray) and isinstance(raw.aval, jax.core.ShapedArray)
                and value.shape == raw.shape and value.dtype == raw.dtype):
            self._raw_value = value
            return
        super().set_value(value, index=index)


class State(_Variable):
    """Dynamic state advanced every step (membrane potential, refractory count, traces, delay buffers)."""


class Learned(_Variable):
    """State changed by learning rules (adaptive thresholds, ...)."""


class Weight(Learned):
    """Synaptic weights, owned by a synapse and changed by its learning rules."""


class Const(_Variable):
    """Arrays fixed after construction (connectivity indices, per-synapse delays)."""


_weights_fixed = contextvars.ContextVar("spark_weights_fixed", default=False)


def weights_fixed() -> bool:
    """True while a :class:`spark.Brain` step is traced with learning off (``learn=False``): no rule runs, so no
    :class:`Weight` changes in this step, and the program may keep the weights outside its loops (shared by the
    samples of a batched stream). A synapse must then read its weights and not write them back, even unchanged: a
    kernel that passes them through in place would make XLA copy them every step."""
    return _weights_fixed.get()


@contextlib.contextmanager
def _fixing_weights(on: bool):
    token = _weights_fixed.set(bool(on))
    try:
        yield
    finally:
        _weights_fixed.reset(token)
