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
    # held during [t*, t* + 1 ms): the spike step and the 9 after it; integrating again 10 steps after the spike
    np.testing.assert_array_equal(out["v"][fired[0]: fired[0] + 10, 0], -65.0)
    assert out["v"][fired[0] + 10, 0] > -65.0


def tm_reference(intervals, U, tau_rec, tau_facil):
    """Release ``u_n x_n`` at each spike of a train, from spike to spike (plain floats).

    Tsodyks, Pawelzik & Markram (1998) as NEST's ``tsodyks2_synapse`` writes them: a rested synapse has
    ``u_1 = U``, ``x_1 = 1``; after an interval ``D``, ``u_{n+1} = U + u_n (1 - U) exp(-D / tau_facil)`` (``u_{n+1} = U``
    without facilitation) and ``x_{n+1} = 1 + (x_n - u_n x_n - 1) exp(-D / tau_rec)``. ``intervals`` are the ``n - 1``
    intervals (ms) between ``n`` spikes.
    """
    u, x = U, 1.0
    out = [u * x]
    for interval in intervals:
        x = 1.0 + (x - u * x - 1.0) * math.exp(-interval / tau_rec)
        u = U + u * (1.0 - U) * (math.exp(-interval / tau_facil) if tau_facil else 0.0)
        out.append(u * x)
    return np.asarray(out)


def tm_jumps(steps_of_spikes, dt, **params):
    """Jumps of a one-synapse ``TsodyksMarkram`` current at the given spike steps (pA, per spike)."""
    tau_syn = 2.0
    n = steps_of_spikes[-1] + 1
    spikes = np.zeros((n, 1), bool)
    spikes[steps_of_spikes] = True
    i = scan(TsodyksMarkram((1, 1), tau_syn=tau_syn, **params), dt, pre=spikes)["i"][:, 0].astype(np.float64)
    before = np.concatenate([[0.0], i[:-1]]) * math.exp(-dt / tau_syn)
    return (i - before)[steps_of_spikes]


def test_tsodyks_markram_reference_values():
    """The issue's numbers, by hand: w 100 pA, U 0.5, no depression (tau_rec tiny), tau_facil 1000 ms, 20 ms apart:
    50 pA, then 100 (0.5 e^(-20/1000) + 0.5 (1 - 0.5 e^(-20/1000))) = 74.505 pA."""
    np.testing.assert_allclose(100 * tm_reference([20.0], 0.5, 1e-9, 1000.0), [50.0, 74.50496680], rtol=1e-8)


@pytest.mark.parametrize("tau_facil", [1000.0, 0.001])
def test_tsodyks_markram_rested_synapse_releases_w_u(tau_facil):
    """A rested synapse's first jump is w U = 50 pA whatever tau_facil (it was 75 pA: u jumped from U, not 0)."""
    np.testing.assert_allclose(tm_jumps([5], 0.1, weight=100.0, u0=0.5, tau_facil=tau_facil), [50.0], rtol=1e-6)


def test_tsodyks_markram_two_spikes_facilitate_to_74_505_pa():
    """tau_facil 1000 ms, no depression (tau_rec 1e-6 ms: x back to 1 within a step), spikes 20 ms apart."""
    jumps = tm_jumps([5, 205], 0.1, weight=100.0, u0=0.5, tau_facil=1000.0, tau_rec=1e-6)
    np.testing.assert_allclose(jumps, [50.0, 74.50497], rtol=1e-5)


def test_tsodyks_markram_tau_facil_to_zero_is_no_facilitation():
    """tau_facil -> 0 approaches tau_facil = 0 (u decays fully between spikes: every spike uses U)."""
    train = [5, 205, 255, 265, 600]
    none = tm_jumps(train, 0.1, weight=100.0, u0=0.3, tau_rec=100.0, tau_facil=0.0)
    tiny = tm_jumps(train, 0.1, weight=100.0, u0=0.3, tau_rec=100.0, tau_facil=0.001)
    np.testing.assert_allclose(tiny, none, rtol=1e-6)
    np.testing.assert_allclose(none, 100.0 * tm_reference(np.diff(train) * 0.1, 0.3, 100.0, 0.0), rtol=1e-5)


@pytest.mark.parametrize("U, tau_rec, tau_facil", [(0.5, 800.0, 0.0), (0.2, 100.0, 0.0), (0.1, 50.0, 600.0),
                                                   (0.5, 200.0, 1000.0)])
def test_tsodyks_markram_release_follows_the_event_equations(U, tau_rec, tau_facil):
    """Spike by spike against :func:`tm_reference`, on a regular 50 Hz train and on an irregular one."""
    dt = 0.1
    for train in (np.arange(12) * 200 + 3, np.cumsum([3, 50, 10, 300, 7, 120, 1, 40, 900, 25])):
        jumps = tm_jumps(train, dt, weight=10.0, u0=U, tau_rec=tau_rec, tau_facil=tau_facil)
        expected = 10.0 * tm_reference(np.diff(train) * dt, U, tau_rec, tau_facil)
        np.testing.assert_allclose(jumps, expected, rtol=2e-4, atol=1e-5)
        assert jumps[0] == pytest.approx(10.0 * U, rel=1e-6)
    regular = tm_jumps(np.arange(12) * 200 + 3, dt, weight=10.0, u0=U, tau_rec=tau_rec, tau_facil=tau_facil)
    if tau_facil and U < 0.3:
        assert regular[1] > regular[0]  # facilitation dominates early
    elif not tau_facil:
        assert np.all(np.diff(regular) < 0)  # depression
