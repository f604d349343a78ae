"""Kinds of state a component holds, as Flax NNX Variables.

Filtering by kind separates them, e.g. ``nnx.state(brain, spark.Learned)`` gives every learned value.
"""

from __future__ import annotations

import contextlib
import contextvars

from flax import nnx


class State(nnx.Variable):
    """Dynamic state advanced every step (membrane potential, refractory count, traces, delay buffers)."""


class Learned(nnx.Variable):
    """State changed by learning rules (adaptive thresholds, ...)."""


class Weight(Learned):
    """Synaptic weights, owned by a synapse and changed by its learning rules."""


class Const(nnx.Variable):
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
