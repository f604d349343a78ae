"""``spark.lanes.cond``: a ``lax.cond`` that, under Spark's side-by-side ``vmap`` (a declared axis), runs one branch
when every lane agrees on the predicate, and both with a per-lane select only when they disagree."""

from __future__ import annotations

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
