"""Exponentials of state variables stay finite in float32 (issue 14, fault 5).

float32 overflows above ``exp(88.7)``. Hodgkin-Huxley's ``beta_m = 4 exp(-(v + 65) / 18)`` and
``alpha_h = 0.07 exp(-(v + 65) / 20)`` overflow below about -1840 mV, which a constant -110 nA reaches: the gates
became ``inf / inf = NaN`` from step 121. AdEx / ExpIF evaluate their spike term at ``min(v, v_peak)``, which is
finite only while ``(v_peak - v_t) / delta_t < 88`` (not for ``delta_t = 0.2`` mV). Every such exponential now goes
through ``spark_components._ode.exp`` (argument clipped at +-80).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from spark_components import AdEx, ExpIF, HodgkinHuxley
from spark_components._ode import exp, exprel


def simulate(module, dt, i_syn, states=()):
    graph, state = nnx.split(module)

    @jax.jit
    def run(state, xs):
        def body(state, x):
            m = nnx.merge(graph, state)
            out = dict(m(dt=dt, i_syn=x))
            out.update({name: getattr(m, name)[...] for name in states})
            return nnx.split(m)[1], out

        return jax.lax.scan(body, state, xs)

    return jax.tree.map(np.asarray, run(state, jnp.asarray(i_syn, jnp.float32))[1])


# ----- Hodgkin-Huxley under a large hyperpolarising current --------------------------------------------------------


def hh_ionic_current(v, p):
    """Total ionic current (pA) at ``v`` (mV) with every gate at its steady state: float64, no clipping.

    The rates are Hodgkin & Huxley (1952) in the modern convention, written out here again (not imported).
    """
    am = 0.1 * (v + 40.0) / -math.expm1(-(v + 40.0) / 10.0)
    bm = 4.0 * math.exp(-(v + 65.0) / 18.0)
    ah = 0.07 * math.exp(-(v + 65.0) / 20.0)
    bh = 1.0 / (1.0 + math.exp(-(v + 35.0) / 10.0))
    an = 0.01 * (v + 55.0) / -math.expm1(-(v + 55.0) / 10.0)
    bn = 0.125 * math.exp(-(v + 65.0) / 80.0)
    m, h, n = am / (am + bm), ah / (ah + bh), an / (an + bn)
    return (p.g_na * m**3 * h * (p.e_na - v) + p.g_k * n**4 * (p.e_k - v) + p.g_l * (p.e_l - v)), (m, h, n)


def hh_rest_under(i_ext, p, lo=-5000.0, hi=-66.0):
    """The potential where the ionic current balances ``i_ext`` (bisection in float64, to 1e-9 mV)."""
    f = lambda v: hh_ionic_current(v, p)[0] + i_ext  # noqa: E731 (decreasing in v on [lo, hi])
    assert f(lo) > 0 > f(hi)
    while hi - lo > 1e-9:
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if f(mid) > 0 else (lo, mid)
    return 0.5 * (lo + hi)


@pytest.mark.parametrize("substeps", [10, None], ids=["substeps=10", "default"])
def test_hodgkin_huxley_stays_finite_under_minus_110_na(substeps):
    """-110 nA, dt 0.1: v settles at the balance point of the ionic currents, about -1887.7 mV (it was NaN from
    step 121). Tolerance: float32 stalls within ``ulp(1888) / (1 - exp(-h g_l / c_m))`` = 1.2e-4 / 3e-3 = 0.04 mV of
    its fixed point (0.1 mV allowed)."""
    hh = HodgkinHuxley((1,), **({} if substeps is None else {"substeps": substeps}))
    out = simulate(hh, 0.1, np.full((1500, 1), -110_000.0), states=["m", "h", "n"])
    for name in ("v", "m", "h", "n"):
        assert np.isfinite(out[name]).all(), f"{name} is not finite from step {np.argmin(np.isfinite(out[name]))}"
    v_star = hh_rest_under(-110_000.0, hh.params)
    _, (m_star, h_star, n_star) = hh_ionic_current(v_star, hh.params)
    assert v_star == pytest.approx(-1887.7, abs=0.05)  # the value, independently
    np.testing.assert_allclose(out["v"][-1, 0], v_star, atol=0.1)
    assert out["m"][-1, 0] <= max(m_star, 1e-30) + 1e-7 and out["n"][-1, 0] <= max(n_star, 1e-30) + 1e-7
    np.testing.assert_allclose(out["h"][-1, 0], h_star, atol=1e-6)
    assert not out["spikes"].any()


def hh_at(v):
    """A Hodgkin-Huxley neuron at ``v`` (mV) with its gates at the far-hyperpolarised limits ``m, h, n = 0, 1, 0``."""
    hh = HodgkinHuxley((1,))
    hh.v[...] = jnp.full((1,), v, jnp.float32)
    hh.m[...], hh.h[...], hh.n[...] = (jnp.full((1,), x, jnp.float32) for x in (0.0, 1.0, 0.0))
    return hh


# ----- no operation overflows: JAX raises FloatingPointError at the first inf/NaN (eager, op by op) ----------------


def step_eagerly(module, dt, i_syn, steps=3):
    """A few un-jitted steps with ``jax_debug_infs`` / ``jax_debug_nans``: every primitive's result is checked."""
    with jax.debug_infs(True), jax.debug_nans(True):
        for _ in range(steps):
            out = module(dt=dt, i_syn=jnp.full(module.shape, i_syn, jnp.float32))
    for name, value in out.items():
        assert np.isfinite(np.asarray(value, np.float32)).all(), name
    return out


@pytest.mark.parametrize("v", [-1887.7, -5000.0, -1e6, 500.0, 1e5])
@pytest.mark.parametrize("i_syn", [-110_000.0, 0.0, 1e7])
def test_hodgkin_huxley_rates_never_overflow(v, i_syn):
    """From potentials far beyond the physiological range, no rate (nor ``exprel``) overflows (dt 0.01: one
    sub-step, so every operation runs eagerly)."""
    step_eagerly(hh_at(v), 0.01, i_syn)


@pytest.mark.parametrize("cls", [AdEx, ExpIF], ids=lambda c: c.name)
@pytest.mark.parametrize(("params", "v0", "i_syn"), [
    ({"delta_t": 0.2}, -1.0, 0.0),  # (v_peak - v_t) / delta_t = 252: exp overflowed below v_peak
    ({"delta_t": 0.2}, -60.0, 1e6),  # crossing v_peak within the step
    ({}, -1e5, -1e7),  # far below rest: the exponential underflows, clipped at exp(-80)
    ({"v_peak": 500.0}, 400.0, 0.0),  # a high cut-off: (v_peak - v_t) / delta_t = 275
])
def test_exponential_if_never_overflows(cls, params, v0, i_syn):
    module = cls((1,), **params)
    module.v[...] = jnp.full((1,), v0, jnp.float32)
    step_eagerly(module, 0.1, i_syn)


@pytest.mark.parametrize("cls", [AdEx, ExpIF], ids=lambda c: c.name)
@pytest.mark.parametrize("i_syn", [-1e7, 1e7])
def test_exponential_if_stays_finite_under_extreme_input(cls, i_syn):
    """+-10 uA for 2 s, small delta_t: finite at every step; below rest ``v`` settles where the leak balances the
    input, ``e_l + i / g_l`` (the spike term is negligible there; AdEx: ``w -> a (v - e_l)`` adds
    ``-a (v - e_l) / g_l`` in units of the leak, so ``v = e_l + i / (g_l + a)``)."""
    module = cls((1,), delta_t=0.2)
    out = simulate(module, 0.1, np.full((20_000, 1), i_syn))  # 2 s: 14 tau_w
    for name, value in out.items():
        assert np.isfinite(value).all(), name
    p = module.params
    if i_syn < 0:
        g = p.g_l + (p.a if cls is AdEx else 0.0)
        np.testing.assert_allclose(out["v"][-1, 0], p.e_l + i_syn / g, rtol=1e-3)
    else:
        assert out["spikes"].sum() >= 500  # one per step, or one per refractory period


# ----- the helpers --------------------------------------------------------------------------------------------------


def test_exp_is_exact_within_the_clip_and_finite_beyond():
    x = jnp.asarray([-1e30, -200.0, -80.0, -1.0, 0.0, 1.0, 80.0, 200.0, 1e30], jnp.float32)
    y = np.asarray(exp(x))
    assert np.isfinite(y).all() and (y > 0).all()
    np.testing.assert_allclose(y[2:7], np.exp(np.asarray(x[2:7], np.float64)), rtol=1e-6)
    assert y[0] == y[1] == y[2] and y[-1] == y[-2] == y[-3]
    r = np.asarray(exprel(jnp.asarray([-1e30, -50.0, 0.0, 1e-4, 10.0, 1e30], jnp.float32)))
    assert np.isfinite(r).all() and (r > 0).all()
    np.testing.assert_allclose(r[1:5], np.expm1([-50.0, 1e-30, 1e-4, 10.0]) / [-50.0, 1e-30, 1e-4, 10.0], rtol=1e-6)

