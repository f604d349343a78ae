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


__all__ = ["AXIS", "active", "cond", "lanes", "vmap"]
