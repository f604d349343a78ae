"""Encoders place their spikes by the one rule of time (docs/time.md): a spike meant for time T is emitted in the
step that ends at T, so ``Recording.times`` stamps it T. Right values from the codes' definitions alone."""

from __future__ import annotations

import numpy as np
import pytest

import spark


def spike_times(rec, key, i=0):
    """Stamps (ms) of neuron i's spikes in a recording."""
    s = np.asarray(rec[key]).reshape(len(rec[key]), -1)[:, i]
    return rec.times(key)[np.flatnonzero(s)]


def test_regular_at_100_hz_fires_after_each_full_period(registry):
    """100 Hz at dt = 1 ms: one full period is 10 ms, so the spikes are at 10, 20, ... ms (not 9, 19, ...)."""
    brain = (spark.Brain(dt=1.0, registry=registry).add("enc", "regular", shape=1, max_rate=100.0)
             .input("x", "enc.data").build())
    rec = brain.run({"x": np.ones((100, 1), np.float32)}, record=["enc.spikes"])
    np.testing.assert_allclose(spike_times(rec, "enc.spikes"), np.arange(10.0, 101.0, 10.0))


@pytest.mark.parametrize("dt, rate, phase, first, period", [
    (0.5, 50.0, 0.0, 20.0, 20.0),   # 50 Hz: every 20 ms from 20 ms
    (0.1, 200.0, 0.5, 2.5, 5.0),    # half a period in: first at 2.5 ms, then every 5 ms
])
def test_regular_period_and_phase(registry, dt, rate, phase, first, period):
    brain = (spark.Brain(dt=dt, registry=registry).add("enc", "regular", shape=1, max_rate=rate, phase=phase)
             .input("x", "enc.data").build())
    steps = round(60.0 / dt)
    rec = brain.run({"x": np.ones((steps, 1), np.float32)}, record=["enc.spikes"])
    t = spike_times(rec, "enc.spikes")
    want = np.arange(first, 60.0 + 1e-9, period)
    assert len(t) == len(want)
    np.testing.assert_allclose(t, want, atol=1e-6)


@pytest.mark.parametrize("dt", [1.0, 0.5, 0.1])
def test_latency_stamps_its_spike_at_the_latency(registry, dt):
    """t(x) = t_max (1 - x): x = 0.5, t_max = 20 ms spikes at 10 ms; x = 0.8 at 4 ms; x = 1 in the first step (dt)."""
    x = np.array([0.5, 0.8, 1.0], np.float32)
    brain = (spark.Brain(dt=dt, registry=registry).add("enc", "latency", shape=3, t_max=20.0)
             .input("x", "enc.data").build())
    rec = brain.run({"x": np.broadcast_to(x, (round(30.0 / dt), 3))}, record=["enc.spikes"])
    for i, want in enumerate([10.0, 4.0, dt]):
        np.testing.assert_allclose(spike_times(rec, "enc.spikes", i), [want], atol=1e-6)
    # the step index it fires in: the step ending at 10 ms
    assert np.flatnonzero(rec["enc.spikes"][:, 0]).tolist() == [round(10.0 / dt) - 1]


def test_latency_windows_stamp_each_spike_latency_after_the_window_start(registry):
    brain = (spark.Brain(dt=1.0, registry=registry).add("enc", "latency", shape=1, t_max=8.0, period=10.0)
             .input("x", "enc.data").build())
    rec = brain.run({"x": np.full((40, 1), 0.75, np.float32)}, record=["enc.spikes"])
    np.testing.assert_allclose(spike_times(rec, "enc.spikes"), [2.0, 12.0, 22.0, 32.0])  # 2 ms into each window


def test_first_spike_reports_the_stamp_the_recording_gives(registry):
    """The decoder's time is the spike's own stamp: regular's first spike at 10 ms reads 10 ms, and a delay of
    d ms on the edge reads d later."""
    for delay, want in ((0.0, 10.0), (3.0, 13.0)):
        brain = (spark.Brain(dt=1.0, registry=registry).add("enc", "regular", shape=1, max_rate=100.0)
                 .add("fs", "first_spike").connect("enc.spikes", "fs.spikes", delay=delay)
                 .input("x", "enc.data").build())
        rec = brain.run({"x": np.ones((30, 1), np.float32)}, record=["enc.spikes", "fs.time"])
        assert spike_times(rec, "enc.spikes")[0] == 10.0
        assert rec["fs.time"][-1, 0] == pytest.approx(want)
