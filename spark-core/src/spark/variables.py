"""Kinds of state a component holds, as Flax NNX Variables.

Filtering by kind separates them, e.g. ``nnx.state(brain, spark.Learned)`` gives every learned value.
"""

from __future__ import annotations

from flax import nnx


class State(nnx.Variable):
    """Dynamic state advanced every step (membrane potential, refractory count, traces, delay buffers)."""


class Learned(nnx.Variable):
    """State changed by learning rules (adaptive thresholds, ...)."""


class Weight(Learned):
    """Synaptic weights, owned by a synapse and changed by its learning rules."""


class Const(nnx.Variable):
    """Arrays fixed after construction (connectivity indices, per-synapse delays)."""
