"""The one rule of time (docs/time.md) end to end: what step k produces is stamped (k + 1) dt.

A sub-threshold LIF under a constant current has a closed form, v(t) = E_L + R I (1 - exp(-t / tau_m)), and the
soma integrates it exactly; so a recorded sample equals the closed form at its stamped time only if the stamp and
the value agree. Stamped one step early (t = k dt), the first sample would be 0.1 mV off at dt = 0.1.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import spark

I_IN, TAU_M, C_M, E_L, DT = 250.0, 10.0, 250.0, -65.0, 0.1  # pA, ms, pF, mV (lif's v_rest), ms
R_I = TAU_M / C_M * I_IN  # 10 mV: v_inf = -55 mV, below lif's threshold of -50 mV
STEPS = 300


def closed_form(t_ms):
    return E_L + R_I * (1.0 - np.exp(-np.asarray(t_ms, np.float64) / TAU_M))


@pytest.fixture(scope="module")
def lif_run():
    brain = (spark.Brain(dt=DT, seed=0).add("n", "lif", shape=1, tau_m=TAU_M, c_m=C_M, v_rest=E_L)
             .input("i", "n.i_syn").build())
    return brain.run({"i": np.full((STEPS, 1), I_IN, np.float32)}, record=["n.v", "n.v@10", "n.spikes"])


def test_first_sample_is_stamped_dt_and_equals_the_closed_form_there(lif_run):
    t = lif_run.times("n.v")
    assert t[0] == pytest.approx(DT) and t[-1] == pytest.approx(STEPS * DT)
    np.testing.assert_allclose(t, DT * np.arange(1, STEPS + 1), rtol=1e-12)
    v = lif_run["n.v"][:, 0]
    assert v[0] == pytest.approx(E_L + R_I * (1 - math.exp(-DT / TAU_M)), abs=1e-4)  # -64.9005 mV, not -65
    np.testing.assert_allclose(v, closed_form(t), atol=2e-4)
    assert not lif_run["n.spikes"].any()


def test_every_tenth_sample_is_stamped_at_whole_ms(lif_run):
    t = lif_run.times("n.v@10")
    np.testing.assert_allclose(t, np.arange(1, STEPS // 10 + 1) * 1.0, rtol=1e-12)  # 1.0, 2.0, ... (not 0.9, 1.9)
    np.testing.assert_allclose(lif_run["n.v@10"][:, 0], closed_form(t), atol=2e-4)
    np.testing.assert_array_equal(lif_run["n.v@10"], lif_run["n.v"][9::10])


def test_viz_traces_draw_samples_at_recording_times(lif_run):
    """The integration environment installs spark-core[plot]: no matplotlib is a failure here, not a skip."""
    from spark import viz

    ax = viz.traces(lif_run["n.v"], lif_run.dt, t0=lif_run.t_start)
    np.testing.assert_allclose(ax.lines[0].get_xdata(), lif_run.times("n.v"))
    ax = viz.traces(lif_run["n.v@10"], lif_run.dt, t0=lif_run.t_start, every=10)
    np.testing.assert_allclose(ax.lines[0].get_xdata(), lif_run.times("n.v@10"))
    # the voltage figure of `spark run --plot voltage` draws each trace at its recording's times
    from spark.viz._recording import _voltage_figure

    fig = _voltage_figure(lif_run, ["n.v", "n.v@10"])
    np.testing.assert_allclose(fig.axes[0].lines[0].get_xdata(), lif_run.times("n.v"))
    np.testing.assert_allclose(fig.axes[1].lines[0].get_xdata(), lif_run.times("n.v@10"))


def test_a_second_run_continues_the_clock(lif_run):
    """A run on a brain that has already stepped n times stamps its first sample (n + 1) dt."""
    brain = (spark.Brain(dt=DT, seed=0).add("n", "lif", shape=1, tau_m=TAU_M, c_m=C_M, v_rest=E_L)
             .input("i", "n.i_syn").build())
    brain.run({"i": np.full((100, 1), I_IN, np.float32)})
    rec = brain.run({"i": np.full((50, 1), I_IN, np.float32)}, record=["n.v"])
    np.testing.assert_allclose(rec.times("n.v"), DT * np.arange(101, 151), rtol=1e-12)
    assert rec.t_start == pytest.approx(100 * DT)
    np.testing.assert_allclose(rec["n.v"][:, 0], closed_form(rec.times("n.v")), atol=2e-4)
