"""The one rule of time (docs/time.md): step k runs from k dt to (k + 1) dt and what it produces is stamped (k + 1) dt;
every conversion between steps and ms goes through spark.timing."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from brain_parts import ALL

import spark
from spark.testing import isolated_registry
from spark.timing import step_at, step_time, to_ms, to_steps


@pytest.fixture(scope="module")
def reg():
    return isolated_registry(*ALL)


# ----- the conversions --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("ms, dt, steps", [
    (0.3, 0.1, 3), (0.35, 0.1, 4), (0.25, 0.1, 3), (0.24, 0.1, 2), (1.0, 0.1, 10), (10.0, 1.0, 10), (0.0, 0.1, 0),
    (2.5, 0.5, 5), (0.05, 0.1, 1), (0.0499, 0.1, 0),
])
def test_to_steps_rounds_half_up_for_numbers_numpy_and_jax(ms, dt, steps):
    assert to_steps(ms, dt) == steps and isinstance(to_steps(ms, dt), int)
    assert to_steps(np.array([ms]), dt).tolist() == [steps]
    assert float(jax.jit(lambda x: to_steps(x, dt))(jnp.float32(ms))) == steps
    assert step_at(ms, dt) == steps - 1


def test_step_time_is_the_end_of_the_step():
    assert step_time(0, 0.1) == pytest.approx(0.1) and step_time(9, 1.0) == 10.0
    np.testing.assert_allclose(step_time(np.arange(4), 0.5), [0.5, 1.0, 1.5, 2.0])
    np.testing.assert_allclose(jax.jit(lambda k: step_time(k, 0.5))(jnp.arange(4)), [0.5, 1.0, 1.5, 2.0])
    # step_at inverts step_time on the grid; to_ms is a duration (the start of step n)
    assert [step_at(step_time(k, 0.1), 0.1) for k in range(50)] == list(range(50))
    assert to_ms(10, 0.1) == pytest.approx(1.0) and to_ms(0, 0.1) == 0.0
    np.testing.assert_allclose(to_ms(np.array([0, 3]), 0.5), [0.0, 1.5])


def test_never_stays_never():
    """A time of inf (e.g. a latency that never comes) stays inf: no step is due."""
    got = step_at(jnp.array([jnp.inf, 2.0]), 1.0)
    assert math.isinf(float(got[0])) and float(got[1]) == 1.0
    assert math.isinf(to_steps(np.array([np.inf]), 0.1)[0])


# ----- Recording.times --------------------------------------------------------------------------------------------

def test_recording_times_are_the_stamps_of_the_steps_sampled():
    rec = spark.Recording({"a": np.zeros((4, 2)), "b@5": np.zeros(3)}, dt=0.5, t0=10, start=2, steps=15,
                          info={"a": {"every": 1}, "b@5": {"every": 5}})
    # step s = t0 + start + (i + 1) every - 1 is stamped (s + 1) dt
    np.testing.assert_allclose(rec.times("a"), [(12 + 1) * 0.5, (12 + 2) * 0.5, (12 + 3) * 0.5, (12 + 4) * 0.5])
    np.testing.assert_allclose(rec.times("b@5"), [(12 + 5) * 0.5, (12 + 10) * 0.5, (12 + 15) * 0.5])
    assert rec.t_start == 12 * 0.5


def clock_brain(reg, dt):
    return spark.Brain(dt=dt, registry=reg).add("c", "clock", shape=2, period=5).build()


def test_each_sample_is_stamped_with_the_time_elapsed_when_it_was_taken(reg):
    """The clock's ``step`` counts the steps done: after step k it holds k + 1, so a sample's stamp must be
    ``step dt`` (the time elapsed), whatever the sampling interval or how many runs came before."""
    dt = 0.1
    brain = clock_brain(reg, dt)
    rec = brain.run({}, steps=100, record=["c.step", "c.step@10", "c.spikes"])
    assert rec.times("c.step")[0] == pytest.approx(dt)  # the first sample is taken after the first step
    np.testing.assert_allclose(rec.times("c.step"), rec["c.step"] * dt, rtol=1e-9)
    np.testing.assert_allclose(rec.times("c.step@10"), np.arange(1, 11) * 1.0, rtol=1e-9)  # 1.0, 2.0, ... ms
    np.testing.assert_allclose(rec.times("c.step@10"), rec["c.step@10"] * dt, rtol=1e-9)
    # a spike emitted in step k (here k = 0, 5, 10, ...) is stamped (k + 1) dt
    spike_times = rec.times("c.spikes")[np.flatnonzero(rec["c.spikes"][:, 0])]
    np.testing.assert_allclose(spike_times, (np.arange(0, 100, 5) + 1) * dt, rtol=1e-9)
    again = brain.run({}, steps=30, record=["c.step@10"])  # the clock runs on
    np.testing.assert_allclose(again.times("c.step@10"), again["c.step@10"] * dt, rtol=1e-9)
    np.testing.assert_allclose(again.times("c.step@10"), [11.0, 12.0, 13.0], rtol=1e-9)
    assert again.t_start == pytest.approx(10.0)


def test_chunks_and_batches_share_the_stamps(reg):
    dt = 0.5
    chunks = list(clock_brain(reg, dt).run_iter({}, steps=40, record=["c.step@4"], chunk=12))
    times = np.concatenate([c.times("c.step@4") for c in chunks])
    values = np.concatenate([c["c.step@4"] for c in chunks])
    np.testing.assert_allclose(times, values * dt, rtol=1e-9)
    np.testing.assert_allclose(times, np.arange(1, 11) * 4 * dt, rtol=1e-9)


@pytest.mark.parametrize("delay, dt, d", [(0.0, 0.1, 0), (1.0, 0.1, 10), (0.35, 0.1, 4), (2.0, 0.5, 4)])
def test_a_spike_over_a_delayed_edge_first_shows_at_its_stamp_plus_dt_plus_the_delay(reg, delay, dt, d):
    """A spike stamped t* over an edge of ``delay`` d is read by the target in the step that ends at t* + dt + d
    (d on the step grid, half-up): one step of axonal delay, then the edge's own."""
    brain = (spark.Brain(dt=dt, registry=reg).add("clk", "clock", shape=1, period=1000, phase=3)
             .add("syn", "linear", weight=1.0).add("out", "relay", shape=1)
             .connect("clk.spikes", "syn.pre", delay=delay).connect("syn.i", "out.x").build())
    rec = brain.run({}, steps=60, record=["clk.spikes", "out.y"])
    t_spike = rec.times("clk.spikes")[np.flatnonzero(rec["clk.spikes"][:, 0])]
    t_seen = rec.times("out.y")[np.flatnonzero(rec["out.y"][:, 0])]
    np.testing.assert_allclose(t_spike, [4 * dt])  # phase 3: step 3, stamped 4 dt
    np.testing.assert_allclose(t_seen, [t_spike[0] + dt + d * dt])  # d: the delay in steps, half-up (0.35 ms: 4)
