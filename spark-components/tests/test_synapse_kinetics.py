"""Synaptic kinetics against their closed forms (a single spike, regular trains), and the conductance LIF."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import spark
from spark_components import (AlphaSynapse, DeltaSynapse, DualExpSynapse, ExpConductance, LIFCond,
                              TsodyksMarkram)


def scan(module, dt, **series):
    graph, state = nnx.split(module)

    @jax.jit
    def run(state, series):
        def body(state, x):
            m = nnx.merge(graph, state)
            return nnx.split(m)[1], m(dt=dt, **x)
        return jax.lax.scan(body, state, series)

    return jax.tree.map(np.asarray, run(state, {k: jnp.asarray(v) for k, v in series.items()})[1])


def single_spike(steps, at, n=1):
    s = np.zeros((steps, n), bool)
    s[at] = True
    return s


@pytest.mark.parametrize("dt", [0.1, 0.25])
def test_delta_synapse_is_a_one_step_pulse(dt):
    out = scan(DeltaSynapse((1, 2), weight=7.0), dt, pre=single_spike(10, 3))["i"]
    expected = np.zeros((10, 2), np.float32)
    expected[3] = 7.0
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("dt, tau", [(0.1, 2.0), (0.05, 0.7), (0.5, 5.0)])
def test_alpha_synapse_closed_form(dt, tau):
    w, at, steps = 3.0, 4, int(8 * tau / dt)
    out = scan(AlphaSynapse((1, 1), weight=w, tau_syn=tau), dt, pre=single_spike(steps, at))["i"][:, 0]
    t = (np.arange(steps) - at) * dt
    expected = np.where(t >= 0, w * (t / tau) * np.exp(1 - t / tau), 0.0)
    np.testing.assert_allclose(out, expected, rtol=2e-5, atol=1e-6)
    if abs(round(tau / dt) * dt - tau) < 1e-9:  # the peak is on the grid: it equals w
        assert out.max() == pytest.approx(w, rel=1e-5)


@pytest.mark.parametrize("tau_rise, tau_decay", [(0.5, 5.0), (2.0, 3.0), (4.0, 1.0)])
def test_dual_exponential_closed_form_and_peak(tau_rise, tau_decay):
    dt, w, at, steps = 0.01, 2.0, 3, 3000
    syn = DualExpSynapse((1, 1), weight=w, tau_rise=tau_rise, tau_decay=tau_decay)
    out = scan(syn, dt, pre=single_spike(steps, at))["i"][:, 0]
    t = (np.arange(steps) - at) * dt
    t_peak = tau_decay * tau_rise * math.log(tau_decay / tau_rise) / (tau_decay - tau_rise)
    norm = 1 / (math.exp(-t_peak / tau_decay) - math.exp(-t_peak / tau_rise))
    expected = np.where(t >= 0, w * norm * (np.exp(-t / tau_decay) - np.exp(-t / tau_rise)), 0.0)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)
    assert out.max() == pytest.approx(w, rel=1e-3)
    assert abs(t[np.argmax(out)] - t_peak) <= dt


def test_dual_exponential_refuses_equal_time_constants():
    with pytest.raises(spark.ParamError, match="use alpha_synapse"):
        DualExpSynapse((1, 1), tau_rise=3.0, tau_decay=3.0)


def test_conductance_synapse_decays_and_sums():
    dt, tau = 0.1, 5.0
    spikes = np.zeros((60, 2), bool)
    spikes[2, 0] = spikes[12, 1] = True
    g = scan(ExpConductance((2, 1), connectivity="all_to_all", weight=1.5, tau_syn=tau), dt, pre=spikes)["g"][:, 0]
    t = np.arange(60) * dt
    expected = 1.5 * (np.where(t >= 0.2, np.exp(-(t - 0.2) / tau), 0) + np.where(t >= 1.2, np.exp(-(t - 1.2) / tau), 0))
    np.testing.assert_allclose(g, expected, rtol=1e-5, atol=1e-7)
    with pytest.raises(spark.ParamError, match=">= 0 nS"):
        ExpConductance((2, 1), weight=-1.0)


@pytest.mark.parametrize("g_exc, g_inh", [(5.0, 0.0), (0.0, 8.0), (3.0, 4.0)])
def test_conductance_lif_exact_under_constant_conductance(g_exc, g_inh):
    dt, steps = 0.1, 400
    p = dict(tau_m=20.0, c_m=200.0, v_rest=-60.0, e_exc=0.0, e_inh=-80.0, v_thresh=100.0)
    lif = LIFCond((3,), **p)
    ones = np.ones((steps, 3), np.float32)
    v = scan(lif, dt, g_exc=g_exc * ones, g_inh=g_inh * ones, i_syn=0 * ones)["v"][:, 0]
    g_leak = 200.0 / 20.0
    g_tot = g_leak + g_exc + g_inh
    v_inf = (g_leak * -60.0 + g_exc * 0.0 + g_inh * -80.0) / g_tot
    t = (np.arange(steps) + 1) * dt
    np.testing.assert_allclose(v, v_inf + (-60.0 - v_inf) * np.exp(-t * g_tot / 200.0), atol=2e-4)


def test_conductance_lif_fires_and_resets():
    lif = LIFCond((1,), v_thresh=-50.0, v_reset=-65.0, t_ref=1.0)
    out = scan(lif, 0.1, g_exc=np.full((300, 1), 20.0, np.float32), g_inh=np.zeros((300, 1), np.float32),
               i_syn=np.zeros((300, 1), np.float32))
    fired = np.nonzero(out["spikes"][:, 0])[0]
    assert len(fired) >= 3
    np.testing.assert_array_equal(out["v"][fired, 0], -65.0)
    np.testing.assert_array_equal(out["v"][fired[0] + 1: fired[0] + 11, 0], -65.0)  # 10 refractory steps


def tm_reference(n_spikes, interval, U, tau_rec, tau_facil):
    """Release u x at each spike of a regular train, from the event-based Tsodyks–Markram equations."""
    u_minus, u_plus, x, out = U, U, 1.0, []
    for k in range(n_spikes):
        if k:
            x = 1 - (1 - x) * math.exp(-interval / tau_rec)
            if tau_facil:
                u_minus = U + (u_plus - U) * math.exp(-interval / tau_facil)
        u_plus = u_minus + U * (1 - u_minus) if tau_facil else U
        out.append(u_plus * x)
        x = x - u_plus * x
    return np.asarray(out)


@pytest.mark.parametrize("U, tau_rec, tau_facil", [(0.5, 800.0, 0.0), (0.2, 100.0, 0.0), (0.1, 50.0, 600.0)])
def test_tsodyks_markram_release_follows_the_event_equations(U, tau_rec, tau_facil):
    dt, period, n = 0.1, 200, 12  # 20 ms between spikes (50 Hz)
    steps = period * n
    spikes = np.zeros((steps, 1), bool)
    spikes[::period] = True
    syn = TsodyksMarkram((1, 1), weight=10.0, u0=U, tau_rec=tau_rec, tau_facil=tau_facil, tau_syn=2.0)
    i = scan(syn, dt, pre=spikes)["i"][:, 0]
    jumps = i[::period] - np.concatenate([[0.0], i[period - 1::period][:-1] * math.exp(-dt / 2.0)])
    np.testing.assert_allclose(jumps, 10.0 * tm_reference(n, period * dt, U, tau_rec, tau_facil), rtol=2e-4, atol=1e-5)
    if tau_facil:
        assert jumps[1] > jumps[0]  # facilitation dominates early
    else:
        assert np.all(np.diff(jumps) < 0)  # depression
