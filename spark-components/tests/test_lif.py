"""Numerical tests of the LIF soma against closed-form solutions (in the style of Brian2's test_neurongroup.py).

The membrane equation ``tau_m dv/dt = -(v - v_rest) + tau_m (i_syn + i_bias) / c_m`` is linear with constant
coefficients, so for input held constant over a step the exact solution is

    v(t + dt) = v_inf + (v(t) - v_inf) exp(-dt / tau_m),   v_inf = v_rest + (i_syn + i_bias) tau_m / c_m.

Spark integrates it exactly, so the simulated trace must equal the analytic one at every step, for any ``dt``,
up to float32 rounding. Expected values are computed in float64 with numpy.

Step convention: output ``k`` of a run (0-based) is the state after step ``k + 1``, i.e. at ``t = (k + 1) dt``.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

import jax.numpy as jnp
import numpy as np
import pytest

import spark
from spark.testing import simulate
from spark_components.lif import LIF


def v_tol(dt, tau_m):
    """Absolute float32 tolerance (mV) of a trace integrated with ``v <- v_inf + (v - v_inf) * exp(-dt / tau_m)``.

    Each step rounds ``v`` (|v| < 128 mV: ulp = 7.6e-6 mV) and the update contracts past errors by
    ``d = exp(-dt / tau_m)``, so the error stays below ~``ulp / (1 - d)``. This is also the band around ``v_inf``
    where float32 stalls: once ``(1 - d) |v - v_inf| < ulp / 2`` the increment rounds away (1.9e-4 mV at
    dt = 0.1, tau_m = 5). An Euler step instead of the exact one is off by 1e-2..1e-1 mV here: >10x this.
    """
    ulp = float(np.spacing(np.float32(100.0)))
    return ulp / (1.0 - math.exp(-dt / tau_m)) + 4 * ulp


def constant(value, steps, shape):
    return jnp.broadcast_to(jnp.asarray(value, jnp.float32), (steps, *shape))


def period_steps(t_ref, dt):
    """Steps of the refractory period ``[t*, t* + t_ref)``: ``t_ref / dt`` rounded half-up, in exact decimal
    arithmetic (independent of the code under test; Python's ``round`` would round 2.5 down to 2)."""
    return int((Decimal(str(t_ref)) / Decimal(str(dt))).quantize(Decimal(1), rounding=ROUND_HALF_UP))


# ----- (a) subthreshold response to a current step ------------------------------------------------------------


@pytest.mark.parametrize("dt", [0.1, 0.5, 1.0])
def test_subthreshold_current_step_is_exact(dt):
    tau_m, c_m, v_rest, v_init = 10.0, 250.0, -65.0, -70.0
    lif = LIF((2, 3), tau_m=tau_m, c_m=c_m, v_rest=v_rest, v_thresh=-50.0, v_init=v_init)
    currents = np.array([[0.0, 50.0, 100.0], [200.0, 300.0, 370.0]])  # v_inf up to -50.2 mV: never spikes
    steps_off, steps_on = 7, round(60.0 / dt)
    i_syn = np.concatenate([np.zeros((steps_off, 2, 3)), np.broadcast_to(currents, (steps_on, 2, 3))])

    out = simulate(lif, dt, {"i_syn": jnp.asarray(i_syn, jnp.float32)})

    # off: free relaxation from v_init to v_rest; on: relaxation from v(t_on) to v_inf
    t_off = dt * np.arange(1, steps_off + 1)
    v_off = v_rest + (v_init - v_rest) * np.exp(-t_off / tau_m)
    v_on0 = v_off[-1]
    v_inf = v_rest + currents * tau_m / c_m
    t_on = dt * np.arange(1, steps_on + 1)
    v_on = v_inf + (v_on0 - v_inf) * np.exp(-t_on / tau_m)[:, None, None]
    expected = np.concatenate([np.broadcast_to(v_off[:, None, None], (steps_off, 2, 3)), v_on])

    assert not out["spikes"].any()
    assert out["v"].dtype == np.float32
    np.testing.assert_allclose(out["v"], expected, rtol=0, atol=v_tol(dt, tau_m))
    np.testing.assert_allclose(np.asarray(lif.v[...]), expected[-1], rtol=0, atol=v_tol(dt, tau_m))


def test_bias_current_adds_to_input_current():
    kw = dict(tau_m=20.0, c_m=100.0, v_thresh=0.0)
    with_bias = LIF((1,), i_bias=150.0, **kw)
    with_input = LIF((1,), **kw)
    a = simulate(with_bias, 0.25, {"i_syn": constant(50.0, 200, (1,))})["v"]
    b = simulate(with_input, 0.25, {"i_syn": constant(200.0, 200, (1,))})["v"]
    np.testing.assert_allclose(a, b, rtol=0, atol=v_tol(0.25, 20.0))
    t = 0.25 * np.arange(1, 201)
    np.testing.assert_allclose(a[:, 0], -65.0 + 200.0 * 20.0 / 100.0 * (1 - np.exp(-t / 20.0)), rtol=0,
                               atol=v_tol(0.25, 20.0))


def test_time_varying_input_matches_piecewise_exact_solution():
    """Random input, constant within each step: v follows the exact propagator step by step (Brian2 'exact')."""
    dt, tau_m, c_m = 0.2, 15.0, 200.0
    rng = np.random.default_rng(0)
    i_syn = rng.uniform(-300.0, 300.0, size=(400, 4))  # v_inf within -65 +- 22.5 mV < v_thresh = -40
    lif = LIF((4,), tau_m=tau_m, c_m=c_m, v_thresh=-40.0)
    out = simulate(lif, dt, {"i_syn": jnp.asarray(i_syn, jnp.float32)})

    d = math.exp(-dt / tau_m)
    v = np.full(4, -65.0)
    expected = np.empty_like(i_syn)
    for k in range(len(i_syn)):
        v_inf = -65.0 + i_syn[k] * tau_m / c_m
        v = v_inf + (v - v_inf) * d
        expected[k] = v
    assert not out["spikes"].any()
    np.testing.assert_allclose(out["v"], expected, rtol=0, atol=v_tol(dt, tau_m))


# ----- (b) free decay -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("v_init", [-80.0, -55.0, -65.0])
@pytest.mark.parametrize("tau_m", [5.0, 20.0])
def test_free_decay_to_rest(v_init, tau_m):
    dt, v_rest = 0.1, -65.0
    lif = LIF((3,), tau_m=tau_m, v_rest=v_rest, v_init=v_init)
    np.testing.assert_array_equal(np.asarray(lif.v[...]), np.full(3, v_init, np.float32))
    out = simulate(lif, dt, {"i_syn": constant(0.0, 1000, (3,))})
    t = dt * np.arange(1, 1001)
    expected = v_rest + (v_init - v_rest) * np.exp(-t / tau_m)
    assert not out["spikes"].any()
    np.testing.assert_allclose(out["v"], np.broadcast_to(expected[:, None], (1000, 3)), rtol=0, atol=v_tol(dt, tau_m))
    # v relaxes monotonically towards v_rest, never across it
    dist = (out["v"] - np.float32(v_rest)) * np.sign(v_init - v_rest)
    assert (dist >= 0).all() and (np.diff(dist, axis=0) <= 0).all()


def test_v_init_defaults_to_v_rest():
    lif = LIF((5,), v_rest=-72.5)
    np.testing.assert_array_equal(np.asarray(lif.v[...]), np.full(5, -72.5, np.float32))


# ----- (c) firing period under constant suprathreshold current --------------------------------------------------


def first_crossing(v0, v_inf, v_thresh, tau_m, dt):
    """Number of exact-integration steps from ``v0`` until ``v >= v_thresh`` (v_inf > v_thresh > v0).

    Solving ``v_inf + (v0 - v_inf) exp(-m dt / tau_m) >= v_thresh`` for the smallest integer ``m``.
    Also asserts that no step lands within twice the float32 error bound of the threshold, so rounding cannot move
    the crossing.
    """
    m = math.ceil(tau_m / dt * math.log((v_inf - v0) / (v_inf - v_thresh)))

    def v(n):
        return v_inf + (v0 - v_inf) * math.exp(-n * dt / tau_m)

    assert v(m) >= v_thresh > v(m - 1)
    margin = 2 * v_tol(dt, tau_m)
    assert v(m) - v_thresh > margin and v_thresh - v(m - 1) > margin, "choose another current: crossing too close"
    return m


@pytest.mark.parametrize("dt, t_ref", [(0.1, 2.0), (0.1, 0.0), (0.25, 1.0), (0.05, 3.0),
                                       (0.1, 0.25), (0.1, 0.45)])
def test_firing_period_matches_closed_form(dt, t_ref):
    tau_m, c_m, v_rest, v_reset, v_thresh = 10.0, 250.0, -65.0, -70.0, -50.0
    currents = np.array([440.0, 520.0, 620.0, 800.0, 1500.0, 4050.0])  # v_inf from -47.4 to +97 mV
    lif = LIF((len(currents),), tau_m=tau_m, c_m=c_m, v_rest=v_rest, v_reset=v_reset, v_thresh=v_thresh,
              t_ref=t_ref)
    steps = round(300.0 / dt)
    out = simulate(lif, dt, {"i_syn": constant(currents, steps, currents.shape)})
    n_ref = period_steps(t_ref, dt)

    for k, current in enumerate(currents):
        v_inf = v_rest + current * tau_m / c_m
        # the continuous-time closed form (e.g. Gerstner et al. 2014, eq. 1.11, plus the refractory period)
        period_ms = t_ref + tau_m * math.log((v_inf - v_reset) / (v_inf - v_thresh))
        # the discrete expectation: first from v_rest; then v is held at v_reset during [t*, t* + t_ref), i.e. the
        # spike step and the n_ref - 1 steps after it, and integrates from v_reset again (NEST, Brian2)
        m0 = first_crossing(v_rest, v_inf, v_thresh, tau_m, dt)
        m1 = first_crossing(v_reset, v_inf, v_thresh, tau_m, dt)
        period = max(n_ref - 1, 0) + m1
        expected = np.arange(m0 - 1, steps, period)
        got = np.flatnonzero(out["spikes"][:, k])
        assert len(got) >= 3, f"{current} pA: too few spikes to test the period"
        np.testing.assert_array_equal(got, expected, err_msg=f"spike steps for i_syn = {current} pA")
        # the grid period is within one step of the continuous one
        assert abs(period * dt - period_ms) < dt + 1e-9
        # the voltage after each spike is v_reset
        np.testing.assert_array_equal(out["v"][got, k], np.float32(v_reset))


def test_rheobase_current_never_fires():
    """At v_inf = v_thresh exactly, v approaches the threshold from below and never reaches it."""
    lif = LIF((1,), tau_m=10.0, c_m=250.0, v_rest=-65.0, v_thresh=-50.0)
    out = simulate(lif, 0.5, {"i_syn": constant(375.0 * (1 - 1e-4), 2000, (1,))})  # just under rheobase
    assert not out["spikes"].any()
    assert out["v"].max() < -50.0


# ----- (d) refractory clamp -------------------------------------------------------------------------------------


@pytest.mark.parametrize("dt, t_ref", [(0.1, 0.0), (0.1, 0.1), (0.1, 0.5), (0.1, 1.0), (0.1, 2.0), (0.1, 3.14),
                                       (0.25, 2.0), (0.1, 0.25), (0.1, 0.35), (0.1, 0.45), (0.5, 1.25), (1.0, 2.5)])
def test_refractory_period_is_t_ref_from_the_spike_step(dt, t_ref):
    """NEST's and Brian2's definition: a neuron that spikes at t* is held during [t*, t* + t_ref), so a neuron that
    fires as soon as it may fires every round-half-up(t_ref / dt) steps (1 ms at dt 0.1: every 10 steps; 0.25 ms:
    every 3, where flooring or banker's rounding give 2), every step when t_ref < dt / 2."""
    v_reset = -70.0
    n_ref = period_steps(t_ref, dt)
    isi = max(n_ref, 1)
    # a current so large that one integration step from v_reset always crosses threshold: the neuron fires as
    # soon as it is allowed to
    lif = LIF((1,), tau_m=10.0, c_m=250.0, v_reset=v_reset, t_ref=t_ref)
    steps = 25 * isi
    out = simulate(lif, dt, {"i_syn": constant(1e6, steps, (1,))})
    spikes, v = out["spikes"][:, 0], out["v"][:, 0]

    np.testing.assert_array_equal(np.flatnonzero(spikes), np.arange(0, steps, isi))
    np.testing.assert_array_equal(v, np.float32(v_reset))  # held, or reset by the next spike


@pytest.mark.parametrize("t_ref", [0.0, 0.1, 1.0, 2.0, 0.25])
def test_refractory_clamp_then_exact_relaxation(t_ref):
    """After the clamp, v restarts from v_reset and follows the exact solution (input during the clamp is ignored)."""
    dt, tau_m, c_m, v_rest, v_reset = 0.1, 10.0, 250.0, -65.0, -75.0
    k0 = max(period_steps(t_ref, dt), 1)  # the first step that integrates again after the spike of step 0
    lif = LIF((1,), tau_m=tau_m, c_m=c_m, v_rest=v_rest, v_reset=v_reset, v_init=-49.0, t_ref=t_ref)
    # step 0 spikes (v_init is above threshold and the input pushes up); then a huge current during the clamp
    # (ignored), then a subthreshold current
    i = np.zeros(300)
    i[:k0] = 1e6
    i[k0:] = 200.0
    out = simulate(lif, dt, {"i_syn": jnp.asarray(i[:, None], jnp.float32)})
    spikes, v = out["spikes"][:, 0], out["v"][:, 0]
    assert np.flatnonzero(spikes).tolist() == [0]
    np.testing.assert_array_equal(v[:k0], np.float32(v_reset))
    v_inf = v_rest + 200.0 * tau_m / c_m
    t = dt * np.arange(1, 300 - k0 + 1)
    np.testing.assert_allclose(v[k0:], v_inf + (v_reset - v_inf) * np.exp(-t / tau_m), rtol=0,
                               atol=v_tol(dt, tau_m))


# ----- (e) invariance -------------------------------------------------------------------------------------------


def test_refractoriness_and_reset_do_not_matter_without_spikes():
    """Brian2's invariance test: with no spike, t_ref and v_reset must not change the trace at all."""
    rng = np.random.default_rng(1)
    i_syn = jnp.asarray(rng.uniform(0.0, 350.0, size=(2000, 8)), jnp.float32)  # v_inf <= -51 mV < v_thresh
    traces = []
    for t_ref, v_reset in [(0.0, -65.0), (2.0, -65.0), (2.0, -80.0), (50.0, -60.0)]:
        lif = LIF((8,), t_ref=t_ref, v_reset=v_reset)
        out = simulate(lif, 0.1, {"i_syn": i_syn})
        assert not out["spikes"].any()
        traces.append(out["v"])
    for trace in traces[1:]:
        np.testing.assert_array_equal(trace, traces[0])


def test_python_loop_equals_jitted_scan():
    """Eager step-by-step calls and the jitted split/merge scan give the same trace."""
    rng = np.random.default_rng(2)
    i_syn = jnp.asarray(rng.uniform(0.0, 1200.0, size=(300, 5)), jnp.float32)
    eager = LIF((5,), t_ref=1.0)
    v_eager, s_eager = [], []
    for k in range(300):
        out = eager(dt=0.1, i_syn=i_syn[k])
        v_eager.append(np.asarray(out["v"]))
        s_eager.append(np.asarray(out["spikes"]))
    scanned = simulate(LIF((5,), t_ref=1.0), 0.1, {"i_syn": i_syn})
    assert np.asarray(s_eager).any()
    np.testing.assert_array_equal(np.asarray(s_eager), scanned["spikes"])
    np.testing.assert_allclose(np.asarray(v_eager), scanned["v"], rtol=0, atol=v_tol(0.1, 10.0))


# ----- (f) invalid parameters -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values, needles",
    [
        (dict(tau_m=0.0), ["lif", "tau_m", "0.0", "> 0", "ms"]),
        (dict(tau_m=-5.0), ["lif", "tau_m", "-5.0", "> 0", "ms"]),
        (dict(c_m=0.0), ["lif", "c_m", "0.0", "> 0", "pF"]),
        (dict(t_ref=-1.0), ["lif", "t_ref", "-1.0", ">= 0", "ms"]),
        # NaN fails every bound; the message names the field, the value and the unit
        (dict(tau_m=float("nan")), ["lif", "tau_m", "NaN", "ms"]),
        (dict(tau_m="10"), ["lif", "tau_m", "'10'", "not a number", "ms"]),
        (dict(tau=10.0), ["lif", "'tau'", "did you mean 'tau_m'"]),
    ],
)
def test_bad_params_raise_param_error_that_names_the_mistake(values, needles):
    with pytest.raises(spark.ParamError) as info:
        LIF((3,), **values)
    message = str(info.value)
    for needle in needles:
        assert needle in message, f"{needle!r} missing from {message!r}"


def test_every_bad_param_is_reported_at_once():
    with pytest.raises(spark.ParamError) as info:
        LIF((3,), tau_m=0.0, c_m=-1.0)
    assert "tau_m" in str(info.value) and "c_m" in str(info.value)


@pytest.mark.parametrize("field", ["tau_m", "c_m"])
def test_infinite_params_are_rejected(field):
    with pytest.raises(spark.ParamError, match=f"'{field}' = inf is not finite"):
        LIF((3,), **{field: float("inf")})
