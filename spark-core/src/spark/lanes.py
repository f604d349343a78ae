"""Branches that stay branches when networks run side by side.

Spark runs several networks of one model at once on a leading axis (``vmap``): agents of a closed loop
(:func:`spark.loop.interact`), trials of a batched run. Under ``vmap`` a ``lax.cond`` whose predicate differs per
network becomes a ``select``: both branches are computed every time. A rule that works only every ``k`` steps (synaptic
scaling every 10 steps) then costs every step what it costs on its due steps.

Often the predicate is the same in every lane (every agent's scaling is due on the same steps), but ``vmap`` cannot
know. Spark's own ``vmap`` over networks names its axis and declares it here while it traces (:func:`lanes`);
:func:`cond` then counts, at run time, in how many lanes the predicate holds (a ``psum`` over the declared axes, one
value for all lanes) and takes a real branch: the false branch if in none, the true branch if in all, and both with a
per-lane select only when the lanes disagree. Outside a declared axis (one network, or a ``vmap`` of the user's own)
it is ``lax.cond``.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from typing import Any

import jax
import jax.numpy as jnp

_axes: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("spark_lanes", default=())

#: the axis name of Spark's ``vmap`` over agents / trials
AXIS = "spark_lanes"


@contextlib.contextmanager
def lanes(axis: str = AXIS) -> Iterator[None]:
    """Declare, while a function is traced inside ``jax.vmap(..., axis_name=axis)``, that ``axis`` is bound: calls of
    :func:`cond` traced in the block reduce their predicate over it. Use it inside the vmapped function (where the
    axis is bound), around everything that is traced there."""
    now = _axes.get()
    token = _axes.set(now if axis in now else (*now, axis))
    try:
        yield
    finally:
        _axes.reset(token)


def vmap(fn: Callable, **kwargs: Any) -> Callable:
    """``jax.vmap(fn, axis_name=AXIS, **kwargs)`` with the axis declared (:func:`lanes`) while ``fn`` is traced: how
    Spark runs networks side by side (agents, trials, networks trained at once)."""
    def declared(*args, **kw):
        with lanes():
            return fn(*args, **kw)

    return jax.vmap(declared, axis_name=AXIS, **kwargs)


def active() -> tuple[str, ...]:
    """The declared axes that :func:`cond` reduces over now (empty outside :func:`lanes`)."""
    return _axes.get()


def cond(pred: jax.Array | bool, true_fn: Callable, false_fn: Callable, *operands: Any) -> Any:
    """``lax.cond(pred, true_fn, false_fn, *operands)``, which under Spark's side-by-side ``vmap`` still runs one
    branch when every lane agrees on ``pred``.

    Args:
        pred: a scalar boolean (per lane under ``vmap``).
        true_fn, false_fn: functions of ``operands`` with outputs of the same structure, shapes and dtypes (as for
            ``lax.cond``).
        operands: their arguments.

    Returns:
        ``true_fn(*operands)`` where ``pred`` holds, else ``false_fn(*operands)``; per lane under ``vmap``.

    Cost: outside a declared axis, that of ``lax.cond``. Inside one: a ``psum`` of one integer over the lanes, then
    one branch when the lanes agree, both branches and a select when they do not.
    """
    axes = _axes.get()
    if not axes:
        return jax.lax.cond(pred, true_fn, false_fn, *operands)
    pred = jnp.asarray(pred, bool)
    held = jax.lax.psum(pred.astype(jnp.int32), axes)
    size = jax.lax.psum(jnp.int32(1), axes)

    def mixed(*ops):
        yes, no = true_fn(*ops), false_fn(*ops)
        return jax.tree.map(lambda a, b: jnp.where(pred, a, b), yes, no)

    which = jnp.where(held == 0, 0, jnp.where(held == size, 1, 2))
    return jax.lax.switch(which, (false_fn, true_fn, mixed), *operands)


def select(pred: Any, on_true: Any, on_false: Any) -> Any:
    """``where(pred, on_true, on_false)`` leaf by leaf over two pytrees of one structure (each result leaf in
    ``on_false``'s dtype), which under Spark's side-by-side ``vmap`` writes only the rows of the lanes where ``pred``
    holds, in place, instead of selecting between two whole arrays.

    For values that change in a few lanes on few steps (an agent whose episode ends gets its state reset): a
    ``select`` reads both arrays and writes a third every time, and keeping the old array alive for it makes XLA copy
    a loop's state; here the cost is a loop over the lanes where ``pred`` holds (none, most steps). A leaf that is
    the same object in both trees is passed through.

    Several selects made at once: ``pred``, ``on_true`` and ``on_false`` tuples of one length; all are evaluated on
    the values before any is applied (``select((p, q), (a, c), (b, a))`` gives ``where(p, a, b), where(q, c, a)``)
    in one loop over the lanes, so an array may be read by one and written by another without a copy.

    Args:
        pred: a scalar boolean (per lane under ``vmap``), or a tuple of them.
        on_true, on_false: pytrees of arrays of one structure (tuples of them, with a tuple ``pred``); per lane,
            leaves of one shape.

    Returns:
        The pytree of ``on_false``'s structure and dtypes, with ``on_true``'s values where ``pred`` holds (a tuple of
        them, with a tuple ``pred``).
    """
    many = isinstance(pred, tuple)
    preds, trues, falses = (pred, on_true, on_false) if many else ((pred,), (on_true,), (on_false,))
    if not (len(preds) == len(trues) == len(falses)):
        raise ValueError(f"lanes.select: {len(preds)} predicates for {len(trues)} and {len(falses)} pytrees; "
                         "give one of each per select")
    # the distinct arrays read or written, and for each select its (true, false) leaf indices into them
    arrays: list = []

    def index(x):
        for i, a in enumerate(arrays):
            if a is x:
                return i
        arrays.append(x)
        return len(arrays) - 1

    outs, plans = [], []
    for t, f in zip(trues, falses, strict=True):
        leaves_f, treedef = jax.tree.flatten(f)
        leaves_t = treedef.flatten_up_to(t)
        pairs = []
        for lt, lf in zip(leaves_t, leaves_f, strict=True):
            if lt is lf:
                pairs.append(None)  # passed through
                continue
            lf = jnp.asarray(lf)
            pairs.append((index(jnp.asarray(lt).astype(lf.dtype) if jnp.asarray(lt).dtype != lf.dtype else lt),
                          index(lf)))
        plans.append(pairs)
        outs.append((treedef, leaves_f))
    written = sorted({p[1] for pairs in plans for p in pairs if p is not None})
    if written:
        moves = tuple((g, t, f) for g, pairs in enumerate(plans) for t, f in (p for p in pairs if p is not None))
        result = _rows(moves, tuple(written))(jnp.stack([jnp.asarray(p, bool) for p in preds]),
                                              [jnp.asarray(a) for a in arrays])
    trees = []
    for (treedef, leaves_f), pairs in zip(outs, plans, strict=True):
        leaves = [lf if p is None else result[written.index(p[1])] for lf, p in zip(leaves_f, pairs, strict=True)]
        trees.append(treedef.unflatten(leaves))
    return tuple(trees) if many else trees[0]


def _rows(moves: tuple, written: tuple) -> Callable:
    """``fn(preds, arrays) -> [arrays[w] for w in written]`` after every move ``(g, t, f)``: ``arrays[f] <-
    where(preds[g], arrays[t], arrays[f])``, all reading the values before any is written (so one select's input may
    be another's output); batched over Spark's lanes as a loop over the lanes where some ``preds[g]`` holds."""

    def apply(preds, arrays):
        return [jnp.where(preds[g], arrays[t], arrays[f]) for g, t, f in moves]

    @jax.custom_batching.custom_vmap
    def fn(preds, arrays):
        new = dict(zip((f for _, _, f in moves), apply(preds, arrays), strict=True))
        return [new[w] for w in written]

    @fn.def_vmap
    def rule(axis_size, in_batched, preds, arrays):
        preds_b, arrays_b = in_batched
        if not preds_b:  # one value for every lane: a plain select is as cheap
            out = fn(preds, arrays)
            return out, [any(arrays_b[t] or arrays_b[f] for _, t, f in moves if f == w) for w in written]
        full = [a if b else jnp.broadcast_to(a, (axis_size, *jnp.shape(a))) for a, b in zip(arrays, arrays_b,
                                                                                              strict=True)]
        hit = jnp.any(preds, axis=1)  # preds: (lanes, selects), the batch axis first
        order = jnp.argsort(~hit, stable=True)  # the lanes where some select holds first
        slot = {w: i for i, w in enumerate(written)}

        def put(k, carry):
            lane = order[k]

            def row(i):  # the lane's row of array i as it was before this lane's writes
                return jax.lax.dynamic_index_in_dim(carry[slot[i]] if i in slot else full[i], lane, 0, keepdims=False)

            rows = {f: jnp.where(preds[lane, g], row(t), row(f)) for g, t, f in moves}
            return [jax.lax.dynamic_update_index_in_dim(carry[i], rows[w], lane, 0) for i, w in enumerate(written)]

        out = jax.lax.fori_loop(0, jnp.sum(hit.astype(jnp.int32)), put, [full[w] for w in written])
        return out, [True] * len(out)

    return fn


__all__ = ["AXIS", "active", "cond", "lanes", "select", "vmap"]
