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

A value that changes in a few lanes on few steps (an agent's state reset when its episode ends) is the converse case:
:func:`select` is a per-lane ``where`` that, under ``vmap``, writes only the rows of the lanes where it holds.
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

#: :func:`select` under Spark's ``vmap``: how many lanes where the predicate holds one step of its loop gathers and
#: scatters
_ROW_GROUP = 8


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

    Several selects in one loop over the lanes: ``pred``, ``on_true`` and ``on_false`` tuples of one length, applied in
    order, each seeing the arrays as the ones before it left them, like successive assignments: ``select((p, q),
    (c, a), (a, b))`` gives ``a2 = where(p, c, a)`` and ``where(q, a2, b)``. (An array read by one select and written by
    an earlier one then needs no copy of its old value; XLA would copy it for a read of the old value.)

    Args:
        pred: a scalar boolean (per lane under ``vmap``), or a tuple of them.
        on_true, on_false: pytrees of arrays of one structure (tuples of them, with a tuple ``pred``); per lane,
            leaves of one shape.

    Returns:
        The pytree of ``on_false``'s structure and dtypes, with ``on_true``'s values where ``pred`` holds (a tuple of
        them, with a tuple ``pred``). A leaf of ``on_true`` that is the same object as a leaf of an earlier select's
        ``on_false`` reads that select's result.
    """
    many = isinstance(pred, tuple)
    preds, trues, falses = (pred, on_true, on_false) if many else ((pred,), (on_true,), (on_false,))
    if not (len(preds) == len(trues) == len(falses)):
        raise ValueError(f"lanes.select: {len(preds)} predicates for {len(trues)} and {len(falses)} pytrees; "
                         "give one of each per select")
    # the distinct arrays read or written (told apart by object), and for each select its (true, false) leaf
    # indices into them
    arrays: list = []
    known: dict[int, int] = {}

    def index(x):
        if id(x) not in known:  # arrays holds x, so its id stays its own
            known[id(x)] = len(arrays)
            arrays.append(x)
        return known[id(x)]

    outs, plans = [], []
    for t, f in zip(trues, falses, strict=True):  # arrays are identified by object, so a later read sees a write
        leaves_f, treedef = jax.tree.flatten(f)
        leaves_t = treedef.flatten_up_to(t)
        pairs = [None if lt is lf else (index(lt), index(lf)) for lt, lf in zip(leaves_t, leaves_f, strict=True)]
        plans.append(pairs)  # None: the same object in both trees, passed through
        outs.append((treedef, leaves_f))
    written = sorted({p[1] for pairs in plans for p in pairs if p is not None})
    if written:
        moves = tuple((g, t, f) for g, pairs in enumerate(plans) for t, f in (p for p in pairs if p is not None))
        result = _rows(moves, tuple(written))(jnp.stack([jnp.asarray(p, bool) for p in preds]),
                                              [jnp.asarray(a) for a in arrays])
        result = dict(zip(written, result, strict=True))
    trees = []
    for (treedef, leaves_f), pairs in zip(outs, plans, strict=True):
        leaves = [lf if p is None else result[p[1]] for lf, p in zip(leaves_f, pairs, strict=True)]
        # a leaf passed through keeps its object; the others are on_false's dtype (cast in _rows)
        trees.append(treedef.unflatten(leaves))
    return tuple(trees) if many else trees[0]


def _rows(moves: tuple, written: tuple) -> Callable:
    """``fn(preds, arrays) -> [arrays[w] for w in written]`` after the moves ``(g, t, f)`` in order: ``arrays[f] <-
    where(preds[g], arrays[t], arrays[f])`` (in ``arrays[f]``'s dtype), each reading what the moves before it wrote;
    batched over Spark's lanes as one loop per select over the lanes where it holds."""

    @jax.custom_batching.custom_vmap
    def fn(preds, arrays):
        now = list(arrays)
        for g, t, f in moves:
            now[f] = jnp.where(preds[g], now[t].astype(now[f].dtype), now[f])
        return [now[w] for w in written]

    @fn.def_vmap
    def rule(axis_size, in_batched, preds, arrays):
        preds_b, arrays_b = in_batched
        now = [a if b else jnp.broadcast_to(a, (axis_size, *jnp.shape(a))) for a, b in zip(arrays, arrays_b,
                                                                                             strict=True)]
        if not preds_b:  # one value for every lane
            preds = jnp.broadcast_to(preds, (axis_size, *jnp.shape(preds)))
        for sel in range(preds.shape[1]):  # each select in turn: a loop over the lanes where it holds
            moves_s = [(t, f) for g, t, f in moves if g == sel]
            if not moves_s:
                continue
            held = preds[:, sel]
            count = jnp.sum(held.astype(jnp.int32))
            group = min(axis_size, _ROW_GROUP)
            slot = {f: i for i, f in enumerate(dict.fromkeys(f for _, f in moves_s))}

            def put(k, carry, moves_s=moves_s, held=held, group=group, slot=slot):
                # the k-th group of lanes where the select holds (found here: most steps have none, and the loop
                # does not run), their rows gathered, then scattered in place; past the last: out of bounds, dropped
                where = jnp.nonzero(held, size=axis_size + group, fill_value=axis_size)[0]
                lanes_k = jax.lax.dynamic_slice_in_dim(where, k * group, group)
                carry = list(carry)
                for t, f in moves_s:
                    src = (carry[slot[t]] if t in slot else now[t]).at[lanes_k].get(mode="clip")
                    carry[slot[f]] = carry[slot[f]].at[lanes_k].set(src.astype(carry[slot[f]].dtype), mode="drop")
                return carry

            out = jax.lax.fori_loop(0, (count + group - 1) // group, put, [now[f] for f in slot])
            for f, value in zip(slot, out, strict=True):  # what the next selects read
                now[f] = value
        return [now[w] for w in written], [True] * len(written)

    return fn


__all__ = ["AXIS", "active", "cond", "lanes", "select", "vmap"]
