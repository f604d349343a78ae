"""``spark.lanes.cond``: a ``lax.cond`` that, under Spark's side-by-side ``vmap`` (a declared axis), runs one branch
when every lane agrees on the predicate, and both with a per-lane select only when they disagree;
``spark.lanes.select``: a per-lane ``where`` that writes only the rows of the lanes where its predicate holds."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from spark import lanes


def counting_branches(ran: dict):
    """true_fn (x + 10) and false_fn (x - 1), each counting its executions in ``ran`` (a host callback: it runs only
    where the compiled program runs that branch)."""
    def mark(name):
        def cb(*_):
            ran[name] += 1
        return cb

    def true_fn(x):
        jax.debug.callback(mark("true"), x)
        return x + 10.0

    def false_fn(x):
        jax.debug.callback(mark("false"), x)
        return x - 1.0

    return true_fn, false_fn


def side_by_side(pred, x, declared: bool, cond=lanes.cond):
    ran = {"true": 0, "false": 0}
    true_fn, false_fn = counting_branches(ran)

    def lane(p, v):
        if declared:
            with lanes.lanes():
                return cond(p, true_fn, false_fn, v)
        return cond(p, true_fn, false_fn, v)

    out = jax.jit(jax.vmap(lane, axis_name=lanes.AXIS))(pred, x)
    jax.block_until_ready(out)
    jax.effects_barrier()
    return np.asarray(out), ran


X = np.arange(4, dtype=np.float32)


@pytest.mark.parametrize("pred", [[True] * 4, [False] * 4, [True, False, False, True]], ids=["all", "none", "mixed"])
def test_results_are_the_per_lane_branches(pred):
    pred = np.asarray(pred)
    out, _ = side_by_side(pred, X, declared=True)
    np.testing.assert_array_equal(out, np.where(pred, X + 10, X - 1))


def test_lanes_that_agree_run_one_branch():
    _, ran = side_by_side(np.ones(4, bool), X, declared=True)
    assert ran["true"] > 0 and ran["false"] == 0, ran
    _, ran = side_by_side(np.zeros(4, bool), X, declared=True)
    assert ran["false"] > 0 and ran["true"] == 0, ran


def test_lanes_that_disagree_run_both_and_select():
    out, ran = side_by_side(np.array([True, False, True, False]), X, declared=True)
    assert ran["true"] > 0 and ran["false"] > 0, ran
    np.testing.assert_array_equal(out, [10, 0, 12, 2])


def test_without_the_declared_axis_it_is_lax_cond_which_vmap_turns_into_a_select():
    """The control: ``lax.cond`` under ``vmap`` computes both branches even when every lane agrees."""
    _, ran = side_by_side(np.ones(4, bool), X, declared=False)
    assert ran["true"] > 0 and ran["false"] > 0, ran
    _, ran = side_by_side(np.ones(4, bool), X, declared=True, cond=jax.lax.cond)
    assert ran["true"] > 0 and ran["false"] > 0, ran


def test_outside_vmap_it_is_lax_cond():
    assert lanes.active() == ()
    f = jax.jit(lambda p, x: lanes.cond(p, lambda v: v * 2, lambda v: -v, x))
    assert float(f(True, jnp.float32(3))) == 6.0 and float(f(False, jnp.float32(3))) == -3.0
    with lanes.lanes():
        with lanes.lanes():  # nested declarations of one axis reduce over it once
            assert lanes.active() == (lanes.AXIS,)
    assert lanes.active() == ()


# ----- lanes.select: a per-lane where that writes only the rows of the lanes where its predicate holds -----------

PREDS = [[False] * 5, [True] * 5, [False, True, False, False, True]]


def lane_select(fn, *args, in_axes=0):
    return jax.jit(lanes.vmap(fn, in_axes=in_axes))(*args)


# per lane: a few elements, and many
SIZES = [(3, 2), (30, 20)]


@pytest.mark.parametrize("size", SIZES, ids=["small", "large"])
@pytest.mark.parametrize("pred", PREDS, ids=["none", "all", "some"])
def test_select_is_a_per_lane_where(pred, size):
    pred = np.asarray(pred)
    a = np.arange(5 * math.prod(size), dtype=np.float32).reshape(5, *size)
    b = -a - 1.0
    ints = np.arange(5, dtype=np.int32)
    out = lane_select(lambda p, x, y, i: lanes.select(p, {"x": x, "i": i * 7}, {"x": y, "i": i}), pred, a, b, ints)
    np.testing.assert_array_equal(out["x"], np.where(pred[:, None, None], a, b))
    np.testing.assert_array_equal(out["i"], np.where(pred, ints * 7, ints))
    # outside vmap it is jnp.where
    one = lanes.select(jnp.bool_(True), {"x": a[0], "i": ints[0] * 7}, {"x": b[0], "i": ints[0]})
    np.testing.assert_array_equal(one["x"], a[0])


def test_select_takes_the_false_trees_dtypes_and_passes_shared_leaves_through():
    pred = np.asarray(PREDS[2])
    w = np.full((5, 4), 3.0, np.float32)
    out = lane_select(lambda p, v: lanes.select(p, (jnp.ones(4, jnp.int32), v), (jnp.zeros(4), v)), pred, w)
    assert out[0].dtype == jnp.float32
    np.testing.assert_array_equal(out[0], np.where(pred[:, None], np.ones((5, 4)), 0.0))
    np.testing.assert_array_equal(out[1], w)


@pytest.mark.parametrize("size", SIZES, ids=["small", "large"])
@pytest.mark.parametrize("batched", [True, False], ids=["lanes", "one"])
def test_selects_made_together_apply_in_order(batched, size):
    """``select((p, q), (c, a), (a, b))``: the second reads ``a`` as the first left it (an agent's reset, then the
    saved state of agents whose episodes are over, as spark.loop uses it), in every lane where both hold too."""
    p = np.asarray([True, False, True, False, True])
    q = np.asarray([True, True, False, False, True])
    a = np.arange(5 * math.prod(size), dtype=np.float32).reshape(5, *size)
    b = np.full(a.shape, -1.0, np.float32)
    c = np.full(a.shape, 100.0, np.float32)

    def both(p, q, a, b, c):
        return lanes.select((p, q), (c, a), (a, b))

    if batched:
        reset, saved = lane_select(both, p, q, a, b, c)
    else:
        got = [both(*(jnp.asarray(x[i]) for x in (p, q, a, b, c))) for i in range(5)]
        reset, saved = (np.stack([np.asarray(g[k]) for g in got]) for k in (0, 1))
    lane = (slice(None),) + (None,) * len(size)
    a2 = np.where(p[lane], c, a)
    np.testing.assert_array_equal(reset, a2)
    np.testing.assert_array_equal(saved, np.where(q[lane], a2, b))


@pytest.mark.parametrize("size", SIZES, ids=["small", "large"])
def test_select_with_unbatched_operands_and_one_predicate_for_all(size):
    """An operand shared by every lane (unbatched) is broadcast; a predicate shared by every lane is a plain where."""
    pred = np.asarray(PREDS[2])
    a = np.arange(math.prod(size), dtype=np.float32).reshape(size)
    b = np.zeros((5, *size), np.float32)
    out = lane_select(lambda p, x, y: lanes.select(p, x, y), pred, a, b, in_axes=(0, None, 0))
    np.testing.assert_array_equal(out, np.where(pred[:, None, None], a[None], b))
    out = lane_select(lambda x, y: lanes.select(jnp.bool_(True), x, y), a, b, in_axes=(None, 0))
    np.testing.assert_array_equal(out, np.broadcast_to(a, b.shape))


def test_select_in_more_lanes_than_one_step_of_its_loop_takes():
    """20 lanes, 13 of them holding: two steps of the loop (lanes._ROW_GROUP lanes each), the last one partial."""
    rng = np.random.default_rng(0)
    pred = np.zeros(20, bool)
    pred[rng.choice(20, 13, replace=False)] = True
    a = rng.normal(size=(20, 7, 3)).astype(np.float32)
    b = rng.normal(size=(20, 7, 3)).astype(np.float32)
    assert 13 > lanes._ROW_GROUP
    out = lane_select(lambda p, x, y: lanes.select(p, x, y), pred, a, b)
    np.testing.assert_array_equal(out, np.where(pred[:, None, None], a, b))


def test_selects_in_order_see_earlier_writes_of_numpy_arrays_and_cast_to_the_false_dtype():
    a, b, c = np.zeros(3, np.float32), np.full(3, -1.0, np.float32), np.arange(3, dtype=np.int32)
    reset, saved = lanes.select((True, True), (c, a), (a, b))
    np.testing.assert_array_equal(reset, [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(saved, [0.0, 1.0, 2.0])  # a as the first select left it
    assert reset.dtype == saved.dtype == jnp.float32


def test_select_refuses_mismatched_tuples():
    with pytest.raises(ValueError, match="2 predicates for 1 and 1 pytrees"):
        lanes.select((True, False), (jnp.ones(2),), (jnp.zeros(2),))
