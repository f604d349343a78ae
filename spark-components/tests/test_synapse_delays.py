"""Per-synapse delays follow from the parameters alone: ``delay + U[0, delay_jitter]`` ms, rounded half-up to steps.

The expected values here come from the parameters, never from the synapse under test."""

from __future__ import annotations

import numpy as np
import pytest
from flax import nnx

from spark_components import DeltaSynapse, ExpSynapse


def drawn_steps(syn) -> np.ndarray:
    return np.asarray(syn.delay_steps[...])[np.asarray(syn.mask[...])]


@pytest.mark.parametrize("delay, jitter, dt", [(0.2, 0.9, 0.1), (1.0, 3.0, 0.5), (0.0, 2.0, 0.25)])
def test_jittered_delays_are_uniform_on_delay_plus_jitter_rounded_half_up(delay, jitter, dt):
    """Uniform on [delay, delay + jitter] ms, then rounded half-up to steps: step k (strictly inside) takes the
    ms in [(k - 1/2) dt, (k + 1/2) dt), the two ends take half a step each."""
    n = 200
    syn = DeltaSynapse((n, n), connectivity="all_to_all", weight=1.0, delay=delay, delay_jitter=jitter, dt=dt,
                       rngs=nnx.Rngs(7))
    d = drawn_steps(syn)
    assert d.size == n * n
    lo, hi = round(delay / dt), round((delay + jitter) / dt)  # both ends are whole steps in these cases
    assert d.min() == lo and d.max() == hi, (d.min(), d.max())
    steps = np.arange(lo, hi + 1)
    width = np.clip(np.minimum((steps + 0.5) * dt, delay + jitter) - np.maximum((steps - 0.5) * dt, delay), 0, None)
    expected = width / jitter
    got = np.bincount(d - lo, minlength=len(steps)) / d.size
    sd = np.sqrt(expected * (1 - expected) / d.size)
    assert np.all(np.abs(got - expected) < 5 * sd + 1e-12), np.c_[steps, expected, got]
    assert abs(d.mean() - (delay + jitter / 2) / dt) < 0.02 * (hi - lo + 1)
    # the ring buffer holds the longest delay
    assert syn.depth == hi + 1


@pytest.mark.parametrize("delay, dt, steps", [(0.25, 0.1, 3), (0.45, 0.1, 5), (0.05, 0.1, 1), (0.04, 0.1, 0),
                                              (1.0, 0.1, 10), (0.3, 0.2, 2), (0.7, 0.2, 4)])
def test_a_fixed_delay_is_rounded_half_up(delay, dt, steps):
    """Half a step rounds up (0.25 ms at dt 0.1 is 3 steps, where Python's round gives 2); below half, down."""
    syn = ExpSynapse((20, 10), p_connect=0.5, delay=delay, dt=dt, rngs=nnx.Rngs(0))
    d = drawn_steps(syn)
    assert d.size == syn.n_synapses > 0 and set(d.tolist()) == {steps}


def test_different_seeds_draw_different_delays_from_the_same_interval():
    kw = dict(connectivity="all_to_all", weight=1.0, delay=0.5, delay_jitter=1.0, dt=0.1)
    a = drawn_steps(DeltaSynapse((50, 50), rngs=nnx.Rngs(1), **kw))
    b = drawn_steps(DeltaSynapse((50, 50), rngs=nnx.Rngs(2), **kw))
    same = drawn_steps(DeltaSynapse((50, 50), rngs=nnx.Rngs(1), **kw))
    np.testing.assert_array_equal(a, same)
    assert (a != b).mean() > 0.5
    for x in (a, b):
        assert x.min() == 5 and x.max() == 15
