"""Gradient training of a Brain: the run as a pure function of its weights, for ``jax.grad`` and optax.

:meth:`spark.Brain.run` is the host-facing run (inputs checked and copied, chunks, a numpy :class:`spark.Recording`,
the brain's state advanced). :func:`simulator` gives the same steps (``Brain._step`` in one ``lax.scan``) as a pure
function ``run(params, inputs) -> records`` that ``jax.grad``, ``jax.vmap`` and ``jax.jit`` compose with:
backpropagation through time, with the scan cut into blocks that are recomputed on the backward pass
(``jax.checkpoint``), so the memory held for the gradient grows with ``steps / block + block`` states, not ``steps``.

Spikes carry a gradient only from somas with a surrogate (:mod:`spark.surrogate`; ``brain.use_surrogate(...)``).
The optimiser is optax's (the ``train`` extra: ``pip install spark-core[train]``); this module has no optimiser of its
own. The recipe (docs/gradients.md)::

    brain.use_surrogate("fast_sigmoid", slope=0.5)
    run = spark.training.simulator(brain, record=["out.v"], steps=20)
    params = spark.training.params(brain)            # every spark.Weight
    opt = optax.adam(1e-3); opt_state = opt.init(params)

    def loss(params, x, y):
        v = jax.vmap(run, (None, 0))(params, {"image": x})["out.v"]   # (batch, steps, 10)
        return optax.softmax_cross_entropy_with_integer_labels(v.mean(1), y).mean()

    @jax.jit
    def update(params, opt_state, x, y):
        grads = spark.training.mask_gradients(brain, jax.grad(loss)(params, x, y))
        updates, opt_state = opt.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    spark.training.assign(brain, params)              # the trained weights back into the brain
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from . import monitors as _mon
from .errors import GraphError
from .monitors import as_monitors
from .variables import Weight

if TYPE_CHECKING:
    from .brain import Brain


def params(brain: Brain, trainable: Any = Weight) -> nnx.State:
    """The trainable state of ``brain``: every :class:`spark.Weight` (or the NNX filter ``trainable``), as an
    ``nnx.State`` (a pytree: give it to optax, ``jax.grad``, :func:`assign`)."""
    brain._built()
    return nnx.state(brain, trainable)


def assign(brain: Brain, values: nnx.State) -> None:
    """Write trained ``values`` (from :func:`params`) into ``brain``, which then runs, saves and exports them."""
    nnx.update(brain, values)


def mask_gradients(brain: Brain, grads: nnx.State) -> nnx.State:
    """``grads`` with 0 wherever a synapse does not exist: a node whose trainable array has a ``mask`` of the same
    shape (the built-in projections' padding and unconnected pairs) keeps its absent synapses at their value (0).
    Delivery is linear in every stored weight, so without this an optimiser would grow synapses that the
    connectivity does not have."""
    flat = []
    for path, var in nnx.to_flat_state(grads):
        g = var.get_value()
        node = brain.nodes[path[1]] if len(path) > 2 and path[0] == "nodes" else None
        mask = getattr(node, "mask", None) if node is not None else None
        if mask is not None and tuple(np.shape(mask.get_value())) == tuple(np.shape(g)):
            g = jnp.where(mask.get_value(), g, jnp.zeros_like(g))
        flat.append((path, var.replace(g)))
    return nnx.from_flat_state(flat)


def simulator(brain: Brain, record: Iterable[Any], steps: int, *, learn: bool | Mapping[str, bool] = False,
              block: int | None = None, trainable: Any = Weight) -> Callable[..., dict[str, jax.Array]]:
    """``run(params, inputs) -> records``: ``steps`` steps of ``brain`` from its present state, as a pure function.

    Args:
        brain: a built :class:`spark.Brain`; its dynamic state now is where every run starts (it is not changed).
        record: what to return, each every step: ``"node.port"``, ``"node.variable"`` or :class:`spark.Monitor`
            (with ``neurons`` and ``reduce`` as in :meth:`spark.Brain.run`; ``every`` must be 1).
        steps: number of steps.
        learn: the local learning rules during the run (default off: only the gradient changes the weights); as
            ``learn`` of :meth:`spark.Brain.run`.
        block: steps per checkpointed block of the scan (default ``ceil(sqrt(steps))``); ``1`` saves every step's
            state, ``steps`` recomputes the whole run on the backward pass.
        trainable: the NNX filter of what ``params`` holds (default: every :class:`spark.Weight`).

    Returns:
        ``run(params, inputs)``: ``params`` as :func:`params` returns; ``inputs`` maps input names to one value for
        every step (the input's shape or a scalar) or to a time series ``(steps, *shape)``. It returns record key ->
        ``(steps, *sample_shape)`` arrays (JAX). Batch with ``jax.vmap(run, (None, 0))``.
    """
    sched = brain._built()
    frozen = brain.frozen(learn)
    bounds = brain._bind(as_monitors(record))
    for b in bounds:
        if b.every != 1:
            raise GraphError(f"training.simulator records every step; monitor {b.key!r} has every={b.every}")
    steps = int(steps)
    if steps < 1:
        raise GraphError(f"steps = {steps} must be >= 1")
    block = max(1, min(int(block or math.ceil(math.sqrt(steps))), steps))
    graphdef, _, rest = nnx.split(brain, trainable, ...)
    specs = {name: shape for name, _, shape, _, _ in sched.inputs}
    dt = sched.dt

    def run(params: nnx.State, inputs: Mapping[str, Any] | None = None) -> dict[str, jax.Array]:
        series, consts = {}, {}
        for name, value in (inputs or {}).items():
            if name not in specs:
                raise GraphError(f"unknown input {name!r}; this brain's inputs are: {sorted(specs) or 'none'}")
            x = jnp.asarray(value)
            if x.ndim == len(specs[name]) + 1 and x.shape[1:] == tuple(specs[name]):
                if x.shape[0] != steps:
                    raise GraphError(f"input {name!r} has {x.shape[0]} steps but the simulator runs {steps}")
                series[name] = x
            else:
                consts[name] = x

        def step(state, x_t):
            # fresh Variables in this trace (merge would otherwise reuse the caller's and refuse their update)
            brain_t = nnx.merge(graphdef, jax.tree.map(lambda a: a, params), state)
            now = brain_t._step({**consts, **x_t}, frozen)
            values = {b.key: _mon.sample(b, _mon.raw_value(brain_t, now, b.monitor, b.source), dt) for b in bounds}
            return nnx.split(brain_t, trainable, ...)[2], values

        @jax.checkpoint  # on the backward pass a block is recomputed from its first state: memory ~ steps / block
        def run_block(state, xs):
            return jax.lax.scan(step, state, xs, length=block)

        q, r = divmod(steps, block)
        state = jax.tree.map(lambda a: a, rest)
        outs = []
        if q:
            main = jax.tree.map(lambda x: x[: q * block].reshape(q, block, *x.shape[1:]), series)
            state, rec = jax.lax.scan(run_block, state, main, length=q)
            outs.append(jax.tree.map(lambda x: x.reshape(q * block, *x.shape[2:]), rec))
        if r:  # the last, shorter block
            tail = jax.tree.map(lambda x: x[q * block:], series)
            state, rec = jax.checkpoint(lambda s, xs: jax.lax.scan(step, s, xs, length=r))(state, tail)
            outs.append(rec)
        return {k: jnp.concatenate([o[k] for o in outs]) if len(outs) > 1 else outs[0][k] for k in outs[0]}

    return run
