"""The somas beyond LIF: the component contract, parameter errors, and closed-form properties.

Traces against Brian2 are in test_soma_reference.py; the adaptive LIF's closed forms in test_adaptive_lif.py.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
from flax import nnx

import spark
from spark.testing import check_component
from spark_components import QIF, AdaptiveLIF, AdEx, ExpIF, HodgkinHuxley, Izhikevich, TwoCompartmentLIF

SOMAS = [AdaptiveLIF, AdEx, ExpIF, QIF, Izhikevich, HodgkinHuxley, TwoCompartmentLIF]


def simulate(module, dt, xs, states=()):
    """Run ``module`` over ``xs`` (port -> (steps, *shape)) in one jitted ``lax.scan`` (split/merge)."""
    graph, state = nnx.split(module)

    @jax.jit
    def run(state, xs):
        def body(state, x):
            m = nnx.merge(graph, state)
            out = dict(m(dt=dt, **x))
            out.update({name: getattr(m, name)[...] for name in states})
            return nnx.split(m)[1], out

        return jax.lax.scan(body, state, xs)

    xs = {k: jnp.asarray(v, jnp.float32) for k, v in xs.items()}
    return jax.tree.map(np.asarray, run(state, xs)[1])


# ----- the contract every component keeps -------------------------------------------------------------------------


@pytest.mark.parametrize("cls", SOMAS, ids=lambda c: c.name)
def test_component_contract(cls):
    check_component(cls, shape=(3,), steps=3)


def test_hodgkin_huxley_contract_with_substeps():
    check_component(HodgkinHuxley, shape=(2,), steps=2, substeps=5, only=["jit", "determinism"])


def test_registered_by_the_pack():
    from spark_components import plugin

    names = {cls.name for cls in plugin.spark_components()}
    assert {cls.name for cls in SOMAS} <= names
    assert all(cls.kind == "soma" for cls in SOMAS)


# ----- parameter errors name the component, field, value, bound and unit ------------------------------------------


@pytest.mark.parametrize(
    "cls, values, needles",
    [
        (AdaptiveLIF, dict(tau_theta=0.0), ["adaptive_lif", "tau_theta", "0.0", "> 0", "ms"]),
        (AdaptiveLIF, dict(theta_plus=-1.0), ["adaptive_lif", "theta_plus", "-1.0", ">= 0", "mV"]),
        (AdaptiveLIF, dict(tau_thetta=5.0), ["adaptive_lif", "'tau_thetta'", "did you mean 'tau_theta'"]),
        (AdEx, dict(c_m=0.0), ["adex", "c_m", "0.0", "> 0", "pF"]),
        (AdEx, dict(tau_w=-1.0), ["adex", "tau_w", "-1.0", "> 0", "ms"]),
        (AdEx, dict(delta_t=0.0), ["adex", "delta_t", "0.0", "> 0", "mV"]),
        (AdEx, dict(v_reset=5.0), ["adex", "v_reset", "5.0", "< v_peak", "0.0", "mV"]),
        (AdEx, dict(g_l=float("inf")), ["adex", "g_l", "inf", "finite", "nS"]),
        (ExpIF, dict(g_l=-3.0), ["exp_if", "g_l", "-3.0", "> 0", "nS"]),
        (ExpIF, dict(t_ref=-1.0), ["exp_if", "t_ref", "-1.0", ">= 0", "ms"]),
        (QIF, dict(a0=0.0), ["qif", "a0", "0.0", "> 0", "1/mV"]),
        (QIF, dict(v_c=-70.0), ["qif", "v_rest", "-65.0", "< v_c", "-70.0", "mV"]),
        (Izhikevich, dict(a=0.0), ["izhikevich", "'a'", "0.0", "> 0", "1/ms"]),
        (Izhikevich, dict(c=40.0), ["izhikevich", "'c'", "40.0", "< v_peak", "30.0", "mV"]),
        (Izhikevich, dict(c_m=-1.0), ["izhikevich", "c_m", "-1.0", "> 0", "pF"]),
        (HodgkinHuxley, dict(substeps=0), ["hodgkin_huxley", "substeps", "0", ">= 1"]),
        (HodgkinHuxley, dict(substeps=2.5), ["hodgkin_huxley", "substeps", "2.5", "not an integer"]),
        (HodgkinHuxley, dict(g_na=-1.0), ["hodgkin_huxley", "g_na", "-1.0", ">= 0", "nS"]),
        (HodgkinHuxley, dict(g_l=0.0), ["hodgkin_huxley", "g_l", "0.0", "> 0", "nS"]),
        (TwoCompartmentLIF, dict(g_c=-1.0), ["two_compartment_lif", "g_c", "-1.0", ">= 0", "nS"]),
        (TwoCompartmentLIF, dict(c_dend=0.0), ["two_compartment_lif", "c_dend", "0.0", "> 0", "pF"]),
    ],
)
def test_bad_params_raise_param_error_that_names_the_mistake(cls, values, needles):
    with pytest.raises(spark.ParamError) as info:
        cls((3,), **values)
    message = str(info.value)
    for needle in needles:
        assert needle in message, f"{needle!r} missing from {message!r}"


def test_every_bad_param_is_reported_at_once():
    with pytest.raises(spark.ParamError) as info:
        AdEx((3,), c_m=0.0, tau_w=0.0, delta_t=-1.0)
    assert all(name in str(info.value) for name in ("c_m", "tau_w", "delta_t"))


# ----- closed forms ---------------------------------------------------------------------------------------------


def test_adex_without_adaptation_is_exp_if():
    """a = b = 0: w stays 0 and AdEx is the exponential IF (same spikes; v up to float32 rounding, as the two
    right-hand sides are evaluated in a different order)."""
    rng = np.random.default_rng(3)
    i = rng.uniform(0.0, 1500.0, size=(2000, 4))
    kw = dict(t_ref=1.5, v_peak=-20.0, v_reset=-60.0)
    adex = simulate(AdEx((4,), a=0.0, b=0.0, **kw), 0.1, {"i_syn": i})
    eif = simulate(ExpIF((4,), **kw), 0.1, {"i_syn": i})
    assert eif["spikes"].sum() > 20
    np.testing.assert_array_equal(adex["spikes"], eif["spikes"])
    np.testing.assert_allclose(adex["v"], eif["v"], rtol=0, atol=0.01)
    np.testing.assert_array_equal(adex["w"], 0.0)


@pytest.mark.parametrize("current", [120.0, 200.0, 400.0])
@pytest.mark.parametrize("t_ref", [0.0, 2.0])
def test_qif_firing_period_matches_closed_form(current, t_ref):
    """From ``v_reset``, v reaches ``v_peak`` after ``T = tau_m / (a0 sqrt(q)) [atan((v_peak - m) / sqrt(q)) -
    atan((v_reset - m) / sqrt(q))]`` (``m = (v_rest + v_c) / 2``, ``q = R I / a0 - ((v_c - v_rest) / 2)^2``);
    on the step grid the interval is ``max(n_ref - 1, 0) + ceil(T / dt)`` steps (held during ``[t*, t* + t_ref)``:
    the spike step and the ``n_ref - 1`` after it)."""
    dt, p = 0.1, dict(tau_m=10.0, c_m=250.0, a0=0.05, v_rest=-65.0, v_c=-50.0, v_peak=30.0, v_reset=-70.0)
    out = simulate(QIF((1,), t_ref=t_ref, **p), dt, {"i_syn": np.full((4000, 1), current)})
    m = (p["v_rest"] + p["v_c"]) / 2
    q = p["tau_m"] * current / (p["c_m"] * p["a0"]) - ((p["v_c"] - p["v_rest"]) / 2) ** 2
    T = p["tau_m"] / (p["a0"] * math.sqrt(q)) * (
        math.atan((p["v_peak"] - m) / math.sqrt(q)) - math.atan((p["v_reset"] - m) / math.sqrt(q)))
    assert 0.05 < T / dt % 1 < 0.95, "choose another current: T / dt too close to a whole number"
    isi = np.diff(np.flatnonzero(out["spikes"][:, 0]))
    assert len(isi) >= 3
    n_ref = math.floor(t_ref / dt + 0.5)  # 0 or 20: no half-way case here
    np.testing.assert_array_equal(isi, max(n_ref - 1, 0) + math.ceil(T / dt))


def test_qif_rheobase():
    """Below ``c_m a0 (v_c - v_rest)^2 / (4 tau_m)`` (70.3 pA) v settles at the stable root; above it, it fires."""
    qif = QIF((2,))
    out = simulate(qif, 0.1, {"i_syn": np.broadcast_to([60.0, 75.0], (6000, 2))})
    assert not out["spikes"][:, 0].any() and out["spikes"][:, 1].any()
    # stable fixed point: a0 (v - v_rest)(v - v_c) + R I = 0, lower root
    r_i = 10.0 / 250.0 * 60.0
    v_star = -57.5 - math.sqrt(7.5**2 - r_i / 0.05)
    np.testing.assert_allclose(out["v"][-1, 0], v_star, atol=1e-3)


def test_izhikevich_regular_spiking_rests_at_the_stable_fixed_point():
    """I = 0: v* solves 0.04 v^2 + (5 - b) v + 140 = 0 (lower root, -70 mV for b = 0.2) and u* = b v*."""
    izh = Izhikevich((1,))
    out = simulate(izh, 0.1, {"i_syn": np.zeros((20000, 1))}, states=["u"])
    b = 0.2
    v_star = (-(5 - b) - math.sqrt((5 - b) ** 2 - 4 * 0.04 * 140)) / (2 * 0.04)
    assert not out["spikes"].any()
    np.testing.assert_allclose(out["v"][-1, 0], v_star, atol=1e-3)
    np.testing.assert_allclose(out["u"][-1, 0], b * v_star, atol=1e-3)


def test_izhikevich_input_scale_is_c_m():
    """The paper's I is i_syn / c_m: 10 pA at c_m = 1 pF is 40 pA at c_m = 4 pF."""
    a = simulate(Izhikevich((1,)), 0.1, {"i_syn": np.full((3000, 1), 10.0)})
    b = simulate(Izhikevich((1,), c_m=4.0), 0.1, {"i_syn": np.full((3000, 1), 40.0)})
    assert a["spikes"].sum() > 5
    np.testing.assert_array_equal(a["spikes"], b["spikes"])
    np.testing.assert_allclose(a["v"], b["v"], atol=1e-4)


def test_hodgkin_huxley_rests_at_minus_65_mv():
    """The leak reversal -54.387 mV makes -65 mV the resting potential (V = 0 of the 1952 paper)."""
    hh = HodgkinHuxley((1,), substeps=10)
    out = simulate(hh, 0.1, {"i_syn": np.zeros((1000, 1))}, states=["m", "h", "n"])
    assert not out["spikes"].any()
    np.testing.assert_allclose(out["v"][:, 0], -65.0, atol=0.01)


def test_hodgkin_huxley_rheobase_for_repetitive_firing():
    """Classic HH fires repetitively above ~6.3 uA/cm^2 (1.26 nA on 20,000 um^2), not at 5 uA/cm^2 (1 nA)."""
    hh = HodgkinHuxley((2,), substeps=10)
    out = simulate(hh, 0.1, {"i_syn": np.broadcast_to([1000.0, 1600.0], (3000, 2))})
    counts = out["spikes"].sum(0)
    assert counts[0] <= 1 and counts[1] >= 15  # (1 nA: one onset spike at most; 1.6 nA: ~70 Hz)


def two_compartment_matrix(p):
    return np.array([[-(p.g_l + p.g_c) / p.c_m, p.g_c / p.c_m], [p.g_c / p.c_dend, -(p.g_dend + p.g_c) / p.c_dend]])


@pytest.mark.parametrize("g_c", [0.0, 20.0, 200.0])
def test_two_compartment_step_response_is_the_matrix_exponential(g_c):
    """Subthreshold: x(t) = x* + expm(M t) (x0 - x*), x* = -M^-1 c, evaluated in float64 with scipy.

    Tolerance: as for LIF, float32 stalls within ``ulp / (1 - d)`` of the fixed point, ``d = exp(lambda_slow dt)``
    the slowest eigen-decay per step (an increment below half an ulp of ``v`` rounds away).
    """
    dt, steps = 0.1, 3000
    tc = TwoCompartmentLIF((3,), g_c=g_c, v_thresh=0.0)
    p = tc.params
    i_soma = np.array([200.0, 0.0, -150.0])
    i_dend = np.array([0.0, 400.0, 500.0])
    xs = {"i_soma": np.broadcast_to(i_soma, (steps, 3)), "i_dend": np.broadcast_to(i_dend, (steps, 3))}
    out = simulate(tc, dt, xs)
    M = two_compartment_matrix(p)
    ulp = float(np.spacing(np.float32(100.0)))
    atol = ulp / (1 - math.exp(np.linalg.eigvals(M).real.max() * dt)) + 4 * ulp
    x0 = np.array([p.e_l, p.e_dend])
    for k in range(3):
        c = np.array([(p.g_l * p.e_l + i_soma[k]) / p.c_m, (p.g_dend * p.e_dend + i_dend[k]) / p.c_dend])
        x_star = -np.linalg.solve(M, c)
        for n in (1, 10, 100, 1000, steps):
            x = x_star + scipy.linalg.expm(M * n * dt) @ (x0 - x_star)
            np.testing.assert_allclose([out["v"][n - 1, k], out["v_dend"][n - 1, k]], x, rtol=0, atol=atol)
    assert not out["spikes"].any()
    if g_c == 0.0:  # uncoupled: the soma never sees the dendrite's input
        np.testing.assert_allclose(out["v"][:, 1], p.e_l, atol=1e-5)


def test_two_compartment_dendritic_input_drives_the_soma_only_through_the_coupling():
    i_dend = np.full((5000, 2), 3000.0)
    weak = simulate(TwoCompartmentLIF((2,), g_c=2.0), 0.1, {"i_soma": np.zeros((5000, 2)), "i_dend": i_dend})
    strong = simulate(TwoCompartmentLIF((2,), g_c=100.0), 0.1, {"i_soma": np.zeros((5000, 2)), "i_dend": i_dend})
    assert not weak["spikes"].any() and strong["spikes"].sum() > 10
    # somatic spikes do not reset the dendrite: it moves by less than 1 mV per step, also across spikes
    assert np.abs(np.diff(strong["v_dend"], axis=0)).max() < 1.0
    assert (strong["v_dend"][1000:] > -45.0).all()
