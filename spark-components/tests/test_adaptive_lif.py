"""Numerical tests of the adaptive-threshold LIF soma against closed-form solutions.

Both equations are linear with constant coefficients between spikes, so with input held constant over a step

    v(t) = v_inf + (v(t0) - v_inf) exp(-(t - t0) / tau_m),   v_inf = v_rest + (i_syn + i_bias) tau_m / c_m,
    theta(t) = theta_init exp(-t / tau_theta) + sum over spikes s <= t of theta_plus exp(-(t - t_s) / tau_theta).

Spark integrates them exactly, so the simulated traces must equal these formulas at every step up to float32
rounding (expected values in float64 with numpy).

Step convention: output ``k`` of a run is the state after step ``k``, i.e. at ``t = (k + 1) dt``; a spike in step
``s`` adds ``theta_plus`` after that step's decay, so it has decayed ``k - s`` times at output ``k``.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import spark
from spark_components import AdaptiveLIF

ULP = float(np.spacing(np.float32(100.0)))  # float32 spacing of potentials with |v| < 128 mV


def v_tol(dt, tau_m):
    """float32 error bound of ``v <- v_inf + (v - v_inf) exp(-dt / tau_m)`` (see test_lif.py): ~ulp / (1 - d)."""
    return ULP / (1.0 - math.exp(-dt / tau_m)) + 4 * ULP


def theta_tol(theta, steps):
    """float32 error of ``theta <- theta * d`` (+ theta_plus) after ``steps`` steps: each multiply rounds (relative
    6e-8) and ``d`` itself is rounded to float32 (relative 3e-8, compounding to ``steps * 3e-8``)."""
    return np.abs(theta) * (steps * 1.2e-7 + 1e-6) + 1e-6


def simulate(module, dt, i_syn):
    """Run ``module`` over ``i_syn`` (steps, *shape) in one jitted ``lax.scan`` (split/merge)."""
    graph, state = nnx.split(module)

    @jax.jit
    def run(state, xs):
        def body(state, x):
            m = nnx.merge(graph, state)
            out = m(dt=dt, i_syn=x)
            return nnx.split(m)[1], out

        return jax.lax.scan(body, state, xs)

    state, outs = run(state, jnp.asarray(i_syn, jnp.float32))
    nnx.update(module, state)
    return jax.tree.map(np.asarray, outs)


def theta_closed_form(spike_steps, steps, dt, theta_plus, tau_theta, theta_init=0.0):
    """theta (mV) at outputs 0..steps-1 from the spike steps (float64)."""
    k = np.arange(steps)
    theta = theta_init * np.exp(-(k + 1) * dt / tau_theta)
    for s in spike_steps:
        theta = theta + np.where(k >= s, theta_plus * np.exp(-(k - s) * dt / tau_theta), 0.0)
    return theta


def expected_spikes(i_syn, steps, dt, p, margin):
    """Spike steps under constant ``i_syn`` from the closed forms alone (no recursion over ``v``).

    A spike in step ``s`` holds ``v`` at ``v_reset`` during ``[t*, t* + t_ref)``: the spike step and the
    ``n_ref - 1`` steps after it (``n_ref`` = ``t_ref / dt`` rounded half-up), so ``v`` restarts from ``v_reset`` at the
    end of step ``e - 1 = s + max(n_ref - 1, 0)``: ``v(k) = v_inf + (v_reset - v_inf) exp(-(k - e + 1) dt / tau_m)``
    for ``k >= e``. The next
    spike is the first ``k >= e`` with ``v(k) >= v_thresh + theta(k)``, theta from the earlier spikes. Asserts that
    no step comes within ``margin`` of the threshold, so float32 rounding cannot move a spike.
    """
    n_ref = math.floor(round(p["t_ref"] / dt, 6) + 0.5)
    v_inf = p["v_rest"] + i_syn * p["tau_m"] / p["c_m"]
    spikes, e, v_start = [], 0, p["v_rest"]
    while e < steps:
        k = np.arange(e, steps)
        v = v_inf + (v_start - v_inf) * np.exp(-(k - e + 1) * dt / p["tau_m"])
        theta = theta_closed_form(spikes, steps, dt, p["theta_plus"], p["tau_theta"])[e:]
        gap = v - (p["v_thresh"] + theta)
        above = np.flatnonzero(gap >= 0)
        until = above[0] + 1 if len(above) else len(gap)  # the steps that decide the next spike
        assert np.abs(gap[:until]).min() > margin, "a step lands too close to the threshold: choose another current"
        if not len(above):
            return spikes
        spikes.append(int(k[above[0]]))
        e, v_start = spikes[-1] + max(n_ref - 1, 0) + 1, p["reset"]
    return spikes


# ----- subthreshold: v is the LIF solution, theta decays exponentially --------------------------------------------


@pytest.mark.parametrize("dt", [0.1, 0.25, 1.0])
def test_subthreshold_v_and_theta_decay_are_exact(dt):
    tau_m, c_m, v_rest, v_init, tau_theta, theta_init = 10.0, 250.0, -65.0, -72.0, 40.0, 6.0
    currents = np.array([0.0, 150.0, 300.0, 350.0])  # v_inf <= -51 mV < v_thresh = -50 mV
    alif = AdaptiveLIF((4,), tau_m=tau_m, c_m=c_m, v_rest=v_rest, v_init=v_init, v_thresh=-50.0,
                       tau_theta=tau_theta, theta_init=theta_init, theta_plus=3.0)
    steps = round(150.0 / dt)
    out = simulate(alif, dt, np.broadcast_to(currents, (steps, 4)))

    t = dt * np.arange(1, steps + 1)[:, None]
    v_inf = v_rest + currents * tau_m / c_m
    assert not out["spikes"].any()
    assert out["v"].dtype == np.float32 and out["theta"].dtype == np.float32
    np.testing.assert_allclose(out["v"], v_inf + (v_init - v_inf) * np.exp(-t / tau_m), rtol=0,
                               atol=v_tol(dt, tau_m))
    theta = theta_init * np.exp(-t / tau_theta)
    np.testing.assert_allclose(out["theta"], np.broadcast_to(theta, (steps, 4)), rtol=0,
                               atol=theta_tol(theta_init, steps))


def test_theta_is_learned_state():
    """The adaptive threshold is a spark.Learned variable: kept with the weights, apart from dynamic state."""
    alif = AdaptiveLIF((3,), theta_init=2.0)
    learned = nnx.state(alif, spark.Learned)
    assert [str(path[-1]) for path, _ in nnx.to_flat_state(learned)] == ["theta"]
    np.testing.assert_array_equal(np.asarray(alif.theta[...]), np.full(3, 2.0, np.float32))


# ----- theta: a jump of theta_plus per spike, then exp(-t / tau_theta) ----------------------------------------------


@pytest.mark.parametrize("theta_plus, tau_theta", [(2.0, 50.0), (0.5, 500.0), (5.0, 10.0)])
def test_theta_jumps_at_each_spike_then_decays_exponentially(theta_plus, tau_theta):
    dt = 0.1
    alif = AdaptiveLIF((1,), theta_plus=theta_plus, tau_theta=tau_theta, t_ref=1.0)
    # 30 ms of strong drive (several spikes), then 200 ms of silence: theta relaxes from its last jump
    i = np.zeros((2300, 1))
    i[:300] = 1500.0
    out = simulate(alif, dt, i)
    spikes = np.flatnonzero(out["spikes"][:, 0])
    assert len(spikes) >= 5 and spikes.max() < 300
    expected = theta_closed_form(spikes, len(i), dt, theta_plus, tau_theta)
    np.testing.assert_allclose(out["theta"][:, 0], expected, rtol=0, atol=theta_tol(expected, len(i)).max())
    # after the last spike: pure exponential decay from the value right after the jump
    last = spikes[-1]
    t = dt * np.arange(len(i) - last)
    np.testing.assert_allclose(out["theta"][last:, 0], out["theta"][last, 0] * np.exp(-t / tau_theta),
                               rtol=0, atol=theta_tol(expected.max(), len(i)))
    # each spike raises theta by theta_plus on top of the decayed value
    before = out["theta"][spikes - 1, 0] * math.exp(-dt / tau_theta)
    np.testing.assert_allclose(out["theta"][spikes, 0] - before, theta_plus, rtol=0, atol=1e-5)


# ----- firing: spikes where the closed-form v meets the closed-form threshold ---------------------------------------


@pytest.mark.parametrize("current", [600.0, 800.0, 1500.0, 2500.0])
@pytest.mark.parametrize("t_ref", [0.0, 2.0])
def test_spike_times_follow_the_closed_forms(current, t_ref):
    dt, steps = 0.1, 1500
    p = dict(tau_m=10.0, c_m=250.0, v_rest=-65.0, reset=-68.0, v_thresh=-50.0, theta_plus=2.0, tau_theta=80.0,
             t_ref=t_ref)
    alif = AdaptiveLIF((1,), tau_m=p["tau_m"], c_m=p["c_m"], v_rest=p["v_rest"], v_reset=p["reset"],
                       v_thresh=p["v_thresh"], theta_plus=p["theta_plus"], tau_theta=p["tau_theta"], t_ref=t_ref)
    out = simulate(alif, dt, np.full((steps, 1), current))
    # once without a margin to bound theta, then with the float32 margin of v and theta
    theta_max = theta_closed_form(expected_spikes(current, steps, dt, p, margin=0.0), steps, dt, 2.0, 80.0).max()
    expected = expected_spikes(current, steps, dt, p, margin=2 * v_tol(dt, 10.0) + theta_tol(theta_max, steps))
    got = np.flatnonzero(out["spikes"][:, 0])
    assert len(expected) >= 4
    np.testing.assert_array_equal(got, expected)
    # adaptation: the inter-spike intervals never shrink
    assert (np.diff(np.diff(got)) >= 0).all()
    # v is v_reset during [t*, t* + t_ref): the spike step and the n_ref - 1 steps after it
    n_ref = math.floor(t_ref / dt + 0.5)  # 0 or 20: no half-way case here
    for s in got:
        np.testing.assert_array_equal(out["v"][s : s + max(n_ref, 1), 0], np.float32(p["reset"]))


def test_without_adaptation_the_period_is_the_lif_one():
    """theta_plus = 0: the period is t_ref (held from the spike step on) + the steps from v_reset to v_thresh,
    ``(t_ref / dt - 1) + ceil(tau_m ln((v_inf - v_reset) / (v_inf - v_thresh)) / dt)`` steps: within one step below
    the continuous ``t_ref + tau_m ln(...)``."""
    dt, tau_m, c_m, current, t_ref = 0.1, 10.0, 250.0, 800.0, 2.0
    alif = AdaptiveLIF((1,), tau_m=tau_m, c_m=c_m, theta_plus=0.0, t_ref=t_ref, v_reset=-70.0)
    out = simulate(alif, dt, np.full((3000, 1), current))
    v_inf = -65.0 + current * tau_m / c_m
    period_ms = t_ref + tau_m * math.log((v_inf + 70.0) / (v_inf + 50.0))
    isi = np.diff(np.flatnonzero(out["spikes"][:, 0]))
    assert len(isi) >= 10 and (isi == isi[0]).all()
    assert -dt - 1e-9 <= isi[0] * dt - period_ms < 1e-9
    np.testing.assert_array_equal(out["theta"], 0.0)
