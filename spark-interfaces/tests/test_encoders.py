"""Each encoder against its definition: spike statistics, exact spike steps, receptive-field shapes.

Statistical bounds are 4 standard deviations of a binomial count (a false failure about once in 16,000 runs; the
keys are fixed, so in practice never).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import spark
from spark_interfaces import (
    BernoulliEncoder,
    CurrentEncoder,
    DeltaEncoder,
    LatencyEncoder,
    PopulationEncoder,
    RegularEncoder,
)


def within_binomial(count, n, p, sigmas=4.0):
    mean, sd = n * p, math.sqrt(n * p * (1 - p))
    assert abs(count - mean) <= sigmas * sd, f"count {count} vs {mean:.1f} +- {sigmas} x {sd:.1f} (n={n}, p={p})"


def const(x, steps):
    return {"data": np.broadcast_to(np.asarray(x, np.float32), (steps, *np.shape(x))).copy()}


# ----- bernoulli ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dt", [0.1, 1.0])
def test_bernoulli_probability_is_max_prob_times_data_whatever_dt(simulate, dt):
    x = np.repeat(np.array([0.0, 0.2, 1.0], np.float32), 200)
    steps = 1000
    spikes = simulate(BernoulliEncoder(x.shape, max_prob=0.5), dt, const(x, steps), jax.random.key(1))["spikes"]
    assert spikes.dtype == np.bool_ and spikes.shape == (steps, x.size)
    assert not spikes[:, :200].any()
    within_binomial(int(spikes[:, 200:400].sum()), steps * 200, 0.1)
    within_binomial(int(spikes[:, 400:].sum()), steps * 200, 0.5)
    # independent steps: P(spike at t and t + 1) = p^2
    within_binomial(int((spikes[1:, 400:] & spikes[:-1, 400:]).sum()), (steps - 1) * 200, 0.25)


# ----- regular --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("phase", [0.0, 0.5])
def test_regular_count_is_floor_of_phase_plus_rate_times_time(simulate, phase):
    # increments x * max_rate * dt = x * 0.5 per step: binary fractions, so float32 accumulation is exact
    x = np.array([0.0, 0.125, 0.25, 0.5, 1.0], np.float32)
    steps = 64
    spikes = simulate(RegularEncoder(x.shape, max_rate=500.0, phase=phase), 1.0, const(x, steps))["spikes"]
    n = np.arange(1, steps + 1)[:, None]
    np.testing.assert_array_equal(spikes.cumsum(0), np.floor(phase + n * x * 0.5))


def test_regular_spikes_are_evenly_spaced(simulate):
    x = np.array([0.3, 0.77], np.float32)  # periods of 1 / (x * 40 Hz) = 83.3 ms and 32.5 ms at dt = 0.1 ms
    spikes = simulate(RegularEncoder(x.shape, max_rate=40.0), 0.1, const(x, 6000))["spikes"]
    for k in range(2):
        t = np.flatnonzero(spikes[:, k]) * 0.1
        period = 1000.0 / (x[k] * 40.0)
        assert len(t) == math.floor(600.0 / period + 1e-6)
        assert np.all(np.abs(np.diff(t) - period) <= 0.1 + 1e-6)  # within one step
        assert abs(t[0] + 0.1 - period) <= 0.1 + 1e-6  # step n (0-based) ends at (n + 1) dt


def test_regular_saturates_at_one_spike_per_step_and_is_deterministic(simulate):
    x = np.array([1.0, 0.0], np.float32)
    enc = RegularEncoder(x.shape, max_rate=3000.0)  # 3 spikes per 1 ms step wanted: one per step given
    spikes = simulate(enc, 1.0, const(x, 50))["spikes"]
    assert spikes[:, 0].all() and not spikes[:, 1].any()
    assert float(enc.phi[...][0]) <= 1.0 + 3.0  # capped, not growing without bound
    again = simulate(RegularEncoder(x.shape, max_rate=3000.0), 1.0, const(x, 50))["spikes"]
    np.testing.assert_array_equal(spikes, again)


# ----- latency --------------------------------------------------------------------------------------------------


def test_latency_linear_spike_step_and_ordering(simulate):
    x = np.array([1.0, 0.9, 0.5, 0.26, 0.01, 0.0], np.float32)
    spikes = simulate(LatencyEncoder(x.shape, t_max=40.0), 0.5, const(x, 120))["spikes"]
    assert (spikes.sum(0) == [1, 1, 1, 1, 1, 0]).all()  # exactly once; x = 0 never
    steps = [int(np.flatnonzero(spikes[:, k])[0]) for k in range(5)]
    # a spike at t is emitted in the step that ends at t (rounded half-up to the grid), so it is stamped t
    # (docs/time.md: step k is stamped (k + 1) dt); t = 0 comes in the first step, stamped dt
    want = [max(math.floor(round(40.0 * (1 - v) / 0.5, 6) + 0.5), 1) - 1 for v in x[:5].astype(float)]
    assert steps == want == sorted(want) == [0, 7, 39, 58, 78]  # stronger inputs first
    np.testing.assert_allclose((np.array(steps) + 1) * 0.5, [0.5, 4.0, 20.0, 29.5, 39.5])  # 29.6 and 39.6 ms


def test_latency_log_code_and_threshold(simulate):
    x = np.array([1.0, 0.6, 0.35, 0.2, 0.1], np.float32)
    enc = LatencyEncoder(x.shape, code="log", tau=10.0, threshold=0.2, t_max=30.0)
    spikes = simulate(enc, 0.1, const(x, 400))["spikes"]
    t = [np.flatnonzero(spikes[:, k]) for k in range(5)]
    for k, v in enumerate([1.0, 0.6, 0.35]):
        want = min(10.0 * math.log(v / (v - 0.2)), 30.0)
        assert t[k].tolist() == [max(math.floor(round(want / 0.1, 6) + 0.5), 1) - 1], (v, t[k], want)
    assert t[0][0] < t[1][0] < t[2][0]
    assert len(t[3]) == len(t[4]) == 0  # at or below threshold


def test_latency_period_restarts_the_code(simulate):
    x = np.array([0.75, 0.25], np.float32)
    spikes = simulate(LatencyEncoder(x.shape, t_max=8.0, period=10.0), 1.0, const(x, 35))["spikes"]
    # 2 ms and 6 ms into each 10 ms window: the steps ending then, stamped 2, 12, 22, 32 and 6, 16, 26 ms
    assert np.flatnonzero(spikes[:, 0]).tolist() == [1, 11, 21, 31]
    assert np.flatnonzero(spikes[:, 1]).tolist() == [5, 15, 25]


def test_latency_time_series_fires_when_elapsed_time_reaches_current_latency(simulate):
    data = np.zeros((30, 1), np.float32)
    data[:10] = 0.1  # latency 18 ms, not reached
    data[10:] = 0.9  # latency 2 ms, already passed at step 10 (stamped 11 ms): fires then, once
    spikes = simulate(LatencyEncoder((1,), t_max=20.0), 1.0, {"data": data})["spikes"]
    assert np.flatnonzero(spikes[:, 0]).tolist() == [10]


@pytest.mark.parametrize("values, needle", [
    (dict(code="log"), "threshold > 0"),
    (dict(t_max=20.0, period=15.0), "must exceed t_max"),
])
def test_latency_refuses_inconsistent_params(values, needle):
    with pytest.raises(spark.ParamError, match=needle):
        LatencyEncoder((2,), **values)


# ----- delta ----------------------------------------------------------------------------------------------------


def test_delta_ramp_gives_on_spikes_only_and_step_mode_tracks_the_signal(simulate):
    theta = 0.25
    x = (0.0625 * np.arange(100, dtype=np.float32))[:, None]  # rises 0.0625 per step: one ON every 4 steps
    enc = DeltaEncoder((1,), threshold=theta)
    out = simulate(enc, 1.0, {"data": x})
    assert not out["off"].any()
    assert out["on"].sum() == math.floor((x[-1, 0] - x[0, 0]) / theta) == 24
    assert np.flatnonzero(out["on"][:, 0]).tolist() == list(range(4, 100, 4))
    recon = x[0, 0] + theta * np.cumsum(out["on"][:, 0].astype(int) - out["off"][:, 0].astype(int))
    assert np.all(np.abs(recon - x[:, 0]) < theta)  # sigma-delta: within one threshold


def test_delta_sine_on_when_rising_off_when_falling(simulate):
    t = np.arange(400, dtype=np.float32)
    x = np.sin(2 * np.pi * t / 200)[:, None].astype(np.float32)  # two periods
    out = simulate(DeltaEncoder((1,), threshold=0.1), 1.0, {"data": x})
    on, off = out["on"][:, 0], out["off"][:, 0]
    rising = np.gradient(x[:, 0]) > 0
    assert on.sum() > 0 and off.sum() > 0 and not (on & off).any()
    assert rising[on].all() and not rising[off].any()
    # the reference stays within one threshold of the signal, on the lattice 0.1 k: rising from 0 to 1, then
    # 1 -> -1 -> 1 -> -1 -> 0, with the peaks reached to within a threshold: 8-9 + 17-19 + 8-9 ON spikes
    recon = x[0, 0] + 0.1 * np.cumsum(on.astype(int) - off.astype(int))
    assert np.all(np.abs(recon - x[:, 0]) < 0.1 + 1e-5)
    assert 33 <= on.sum() <= 37 and 33 <= off.sum() <= 37
    np.testing.assert_array_equal(out["spikes"], np.stack([out["on"], out["off"]], axis=1))


def test_delta_reference_modes_on_a_step_signal(simulate):
    x = np.array([0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0], np.float32)[:, None]
    got = {}
    for mode in ("step", "reset", "previous"):
        out = simulate(DeltaEncoder((1,), threshold=0.3, reference=mode), 1.0, {"data": x})
        got[mode] = (np.flatnonzero(out["on"][:, 0]).tolist(), np.flatnonzero(out["off"][:, 0]).tolist())
    # step: the reference climbs 0.3 per step (0.3, 0.6, 0.9) then falls back the same way
    assert got["step"] == ([2, 3, 4], [6, 7])  # 0.9 -> 0.6 -> 0.3 at steps 6, 7 (0.3 - 0 = 0.3 >= 0.3 needs step 8)
    assert got["reset"] == ([2], [6])  # the reference jumps to the new level
    assert got["previous"] == ([2], [6])


def test_delta_initial_reference_and_first_step(simulate):
    x = np.full((3, 2), 0.5, np.float32)
    assert not simulate(DeltaEncoder((2,), threshold=0.1), 1.0, {"data": x})["on"].any()  # first step sets r
    on = simulate(DeltaEncoder((2,), threshold=0.1, initial=0.0, reference="reset"), 1.0, {"data": x})["on"]
    assert on[0].all() and not on[1:].any()


# ----- population -----------------------------------------------------------------------------------------------


def test_population_peaks_at_the_preferred_value_with_gaussian_tuning():
    enc = PopulationEncoder((1,), n=5, low=[0.0], high=[4.0], width=0.5)
    np.testing.assert_allclose(enc.preferred()[0], [0, 1, 2, 3, 4])
    for j, c in enumerate(enc.preferred()[0]):
        a = np.asarray(enc.activation(jnp.array([c], jnp.float32)))[0]
        assert a.argmax() == j and a[j] == pytest.approx(1.0)
        sigma = 0.5 * 1.0
        want = np.exp(-((np.arange(5) - j) ** 2) / (2 * sigma**2))
        np.testing.assert_allclose(a, want, rtol=1e-5, atol=1e-7)
    a = np.asarray(enc.activation(jnp.array([2.3], jnp.float32)))[0]
    assert a.argmax() == 2 and a[3] > a[1]  # between 2 and 3, nearer 2


def test_population_circular_dimension_wraps():
    enc = PopulationEncoder((1,), n=8, low=[-np.pi], high=[np.pi], circular=[True])
    c = enc.preferred()[0]
    np.testing.assert_allclose(np.diff(c), 2 * np.pi / 8, rtol=1e-5)  # no duplicate at -pi and pi
    act = lambda v: np.asarray(enc.activation(jnp.array([v], jnp.float32)))[0]
    np.testing.assert_allclose(act(0.3), act(0.3 + 2 * np.pi), atol=1e-5)
    np.testing.assert_allclose(act(0.3), act(0.3 - 4 * np.pi), atol=1e-5)
    near_end = act(np.pi - 0.05)  # just below pi is just below -pi: neuron 0 (at -pi) is the preferred one
    assert near_end.argmax() == 0
    s = 2 * np.pi / 8  # spacing = sigma (width 1); wrapped distances to neurons 0, 7 and 1: 0.05, s - 0.05, s + 0.05
    for j, dist in ((0, 0.05), (7, s - 0.05), (1, s + 0.05)):
        assert near_end[j] == pytest.approx(math.exp(-dist**2 / (2 * s**2)), rel=1e-4), j


def test_population_several_dimensions_separate_and_joint():
    sep = PopulationEncoder((2,), n=3, low=[0.0, 10.0], high=[1.0, 30.0])
    a = np.asarray(sep.activation(jnp.array([0.5, 30.0], jnp.float32)))
    assert a.shape == (2, 3) and a[0].argmax() == 1 and a[1].argmax() == 2
    joint = PopulationEncoder((2,), n=3, low=[0.0, 10.0], high=[1.0, 30.0], joint=True)
    j = np.asarray(joint.activation(jnp.array([0.5, 30.0], jnp.float32)))
    assert j.shape == (3, 3)
    np.testing.assert_allclose(j, np.outer(a[0], a[1]), rtol=1e-6)
    assert np.unravel_index(j.argmax(), j.shape) == (1, 2) and j[1, 2] == pytest.approx(1.0)
    assert PopulationEncoder.port_shapes(joint.params, (4, 2))["spikes"] == (4, 3, 3)
    assert PopulationEncoder.port_shapes(sep.params, (28, 28))["spikes"] == (28, 28, 3)


def test_population_spikes_are_poisson_at_max_rate_times_activation(simulate):
    enc = PopulationEncoder((1,), n=3, low=[0.0], high=[2.0], width=1.0, max_rate=200.0)
    spikes = simulate(enc, 1.0, const(np.array([1.0], np.float32), 3000), jax.random.key(5))["spikes"]
    assert spikes.shape == (3000, 1, 3)
    within_binomial(int(spikes[:, 0, 1].sum()), 3000, 0.2)
    within_binomial(int(spikes[:, 0, 0].sum()), 3000, 0.2 * math.exp(-0.5))


def test_population_clips_non_circular_values():
    enc = PopulationEncoder((1,), n=4)
    np.testing.assert_array_equal(np.asarray(enc.activation(jnp.array([7.0]))), np.asarray(enc.activation(
        jnp.array([1.0]))))


@pytest.mark.parametrize("values, shape, needle", [
    (dict(low=[0.0, 1.0, 2.0]), (2,), "low has 3 values but the data's last axis has 2"),
    (dict(low=[1.0], high=[1.0]), (2,), "high = 1 must exceed low = 1"),
    (dict(n=100, joint=True), (4,), "100\\*\\*4 neurons"),
])
def test_population_refuses_inconsistent_params(values, shape, needle):
    with pytest.raises(ValueError, match=needle):
        PopulationEncoder(shape, **values)


# ----- current --------------------------------------------------------------------------------------------------


def test_current_is_gain_times_data_plus_offset_clipped(simulate):
    x = np.array([[-1.0, 0.0, 0.5, 3.0]], np.float32)
    assert simulate(CurrentEncoder((4,), gain=200.0, offset=10.0), 0.1, {"data": x})["i"].tolist() == \
        [[-190.0, 10.0, 110.0, 610.0]]
    clipped = simulate(CurrentEncoder((4,), gain=200.0, i_min=0.0, i_max=300.0), 0.1, {"data": x})["i"]
    assert clipped.tolist() == [[0.0, 0.0, 100.0, 300.0]]
    with pytest.raises(spark.ParamError, match=r"i_min = 5\.0 pA exceeds i_max = 1\.0 pA"):
        CurrentEncoder((4,), i_min=5.0, i_max=1.0)
