"""The conductance-based adaptive-threshold LIF (Diehl & Cook's excitatory neuron) against closed forms.

With conductances held over a step the membrane equation is linear with constant coefficients, so

    v(t) = v_inf + (v(t0) - v_inf) exp(-(t - t0) g_tot / c_m),  g_tot = c_m / tau_m + g_exc + g_inh,
    v_inf = (g_L v_rest + g_exc e_exc + g_inh e_inh + i) / g_tot,

and theta(t) = sum over spikes s <= t of theta_plus exp(-(t - t_s) / tau_theta). Expected values are computed in
float64 with numpy from these formulas, not from Spark's code. Output ``k`` is the state after step ``k``.
"""

from __future__ import annotations

import numpy as np
import pytest

from spark.testing import simulate
from spark_components import AdaptiveLIFCond, LIFCond


def drive(steps, n, g_exc=0.0, g_inh=0.0, i=0.0):
    full = lambda v: np.full((steps, n), v, np.float32)
    return {"g_exc": full(g_exc), "g_inh": full(g_inh), "i_syn": full(i)}


@pytest.mark.parametrize("g_exc, g_inh", [(0.05, 0.0), (0.0, 0.8), (0.1, 0.3)])
def test_subthreshold_trace_is_the_closed_form(g_exc, g_inh):
    dt, steps = 0.5, 400
    soma = AdaptiveLIFCond((1,), v_init=-60.0)
    out = simulate(soma, dt, drive(steps, 1, g_exc, g_inh), dtype=np.float64)
    g_l = 100.0 / 100.0
    g_tot = g_l + g_exc + g_inh
    v_inf = (g_l * -65.0 + g_exc * 0.0 + g_inh * -100.0) / g_tot
    t = dt * (np.arange(steps) + 1)
    want = v_inf + (-60.0 - v_inf) * np.exp(-t * g_tot / 100.0)
    assert not out["spikes"].any()
    np.testing.assert_allclose(out["v"][:, 0], want, rtol=0, atol=2e-4)


def test_threshold_adapts_by_theta_plus_per_spike_and_decays():
    dt, steps = 0.5, 2000
    soma = AdaptiveLIFCond((1,), theta_plus=2.0, tau_theta=50.0)
    out = simulate(soma, dt, drive(steps, 1, g_exc=0.5), dtype=np.float64)
    spikes = np.flatnonzero(out["spikes"][:, 0])
    assert len(spikes) > 5
    k = np.arange(steps)[:, None]
    want = (2.0 * np.exp(-(k - spikes[None, :]) * dt / 50.0) * (k >= spikes[None, :])).sum(axis=1)
    np.testing.assert_allclose(out["theta"][:, 0], want, rtol=1e-5, atol=1e-5)
    isi = np.diff(spikes)
    assert isi[-1] > isi[0]  # adaptation lengthens the intervals
    # each spike happens where v crosses v_thresh + theta (the decayed theta of that step, before its jump)
    theta_before = want[spikes] - 2.0
    before = out["v"][spikes - 1, 0]
    assert np.all(before < -52.0 + theta_before + 1e-3)


def test_refractory_clamp_and_reset():
    dt = 0.5
    soma = AdaptiveLIFCond((1,), t_ref=5.0, theta_plus=0.0)
    out = simulate(soma, dt, drive(300, 1, g_exc=2.0), dtype=np.float64)
    s = np.flatnonzero(out["spikes"][:, 0])
    n_ref = 10  # 5 ms at dt 0.5: held during [t*, t* + 5 ms), the spike step and the 9 after it
    assert np.all(np.diff(s) >= n_ref)
    for k in s[:3]:
        np.testing.assert_array_equal(out["v"][k:k + n_ref, 0], -65.0)  # reset, then held
        assert out["v"][k + n_ref, 0] > -65.0  # integrates again 5 ms after the spike


def test_without_adaptation_it_is_lif_cond():
    dt, steps, n = 0.5, 600, 3
    rng = np.random.default_rng(1)
    inputs = {"g_exc": rng.uniform(0.3, 1.5, (steps, n)).astype(np.float32),
              "g_inh": rng.uniform(0, 0.4, (steps, n)).astype(np.float32),
              "i_syn": rng.uniform(-5, 5, (steps, n)).astype(np.float32)}
    common = dict(tau_m=100.0, c_m=100.0, v_rest=-65.0, v_reset=-65.0, v_thresh=-52.0, t_ref=5.0, e_exc=0.0,
                  e_inh=-100.0)
    a = simulate(AdaptiveLIFCond((n,), theta_plus=0.0, **common), dt, inputs)
    b = simulate(LIFCond((n,), **common), dt, inputs)
    assert a["spikes"].any()
    np.testing.assert_array_equal(a["spikes"], b["spikes"])
    np.testing.assert_array_equal(a["v"], b["v"])
