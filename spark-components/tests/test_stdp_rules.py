"""Numerical tests of the STDP family against closed forms: soft-bound pair STDP (Gütig et al. 2003), triplet STDP
(Pfister & Gerstner 2006), reward-modulated STDP with an eligibility trace, inhibitory STDP (Vogels et al. 2011).

Spike times are whole steps; expected values are computed in float64 from the spike times (sums of exponentials),
never by re-running the rule's own recursion. Traces decay by repeated float32 multiplication, hence RTOL.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from rule_harness import make, raster, simulate

from spark_components.exp_synapse import ExpSynapse
from spark_components.inhibitory_stdp import InhibitorySTDP
from spark_components.lif import LIF
from spark_components.pair_stdp import PairSTDP
from spark_components.reward_stdp import RewardSTDP
from spark_components.soft_bound_stdp import SoftBoundSTDP
from spark_components.triplet_stdp import TripletSTDP

RTOL = 2e-5


# ===== soft-bound pair STDP ======================================================================================


SOFT = dict(tau_plus=10.0, tau_minus=20.0, a_plus=2.0, a_minus=3.0, w_min=1.0, w_max=11.0)


@pytest.mark.parametrize("mu", [1.0, 0.5])
@pytest.mark.parametrize("w0", [2.0, 8.5])
@pytest.mark.parametrize("lag_steps", [-12, -1, 0, 4, 30])
def test_soft_bound_single_pair(mu, w0, lag_steps):
    dt = 0.5
    k_pre = 5 if lag_steps >= 0 else 5 - lag_steps
    k_post = k_pre + lag_steps
    steps = max(k_pre, k_post) + 5
    model = make(SoftBoundSTDP, w0=w0, mu=mu, **SOFT)
    w = simulate(model, dt, {"pre": raster(steps, 1, [(k_pre, 0)]), "post": raster(steps, 1, [(k_post, 0)])})["w"]
    lag, rng = lag_steps * dt, SOFT["w_max"] - SOFT["w_min"]
    if lag_steps >= 0:
        expected = w0 + SOFT["a_plus"] * ((SOFT["w_max"] - w0) / rng) ** mu * math.exp(-lag / SOFT["tau_plus"])
    else:
        expected = w0 - SOFT["a_minus"] * ((w0 - SOFT["w_min"]) / rng) ** mu * math.exp(lag / SOFT["tau_minus"])
    np.testing.assert_allclose(w[-1, 0, 0], expected, rtol=RTOL)
    np.testing.assert_array_equal(w[: max(k_pre, k_post), 0, 0], w0)


def test_soft_bound_repeated_potentiation_approaches_w_max_geometrically():
    """Widely spaced pre->post pairs: w_max - w shrinks by (1 - c) per pair, c = a_plus e^(-lag/tau) / range."""
    dt, period, lag, n = 1.0, 400, 5, 6
    p = dict(SOFT, w_min=0.0, w_max=10.0, a_plus=4.0)
    pre = raster(n * period, 1, [(k * period, 0) for k in range(n)])
    post = raster(n * period, 1, [(k * period + lag, 0) for k in range(n)])
    w = simulate(make(SoftBoundSTDP, w0=1.0, **p), dt, {"pre": pre, "post": post})["w"][:, 0, 0]
    c = p["a_plus"] * math.exp(-lag * dt / p["tau_plus"]) / 10.0
    # the next pair's presynaptic spike sees x_post ~ exp(-395 / 20) ~ 3e-9 of depression: negligible
    expected = 10.0 - 9.0 * (1 - c) ** np.arange(1, n + 1)
    np.testing.assert_allclose(w[[k * period + lag for k in range(n)]], expected, rtol=RTOL)
    assert (w < 10.0).all()


def test_soft_bound_never_leaves_the_range_even_with_huge_steps():
    rng = np.random.default_rng(2)
    pre, post = rng.random((400, 4)) < 0.2, rng.random((400, 3)) < 0.2
    model = make(SoftBoundSTDP, (4, 3), w0=5.0, **dict(SOFT, a_plus=50.0, a_minus=50.0))
    w = simulate(model, 1.0, {"pre": pre, "post": post})["w"]
    assert (w >= SOFT["w_min"]).all() and (w <= SOFT["w_max"]).all()


def test_soft_bound_with_mu_zero_is_additive_pair_stdp():
    rng = np.random.default_rng(3)
    pre, post = rng.random((300, 3)) < 0.05, rng.random((300, 2)) < 0.05
    p = dict(tau_plus=16.8, tau_minus=33.7, a_plus=0.4, a_minus=0.5, w_min=-50.0, w_max=50.0)
    soft = simulate(make(SoftBoundSTDP, (3, 2), w0=2.0, mu=0.0, **p), 0.5, {"pre": pre, "post": post})["w"]
    pair = simulate(make(PairSTDP, (3, 2), w0=2.0, **p), 0.5, {"pre": pre, "post": post})["w"]
    assert np.abs(soft[-1] - 2.0).max() > 0.1
    np.testing.assert_allclose(soft, pair, rtol=1e-6, atol=1e-6)


# ===== triplet STDP ==============================================================================================

FULL = dict(tau_plus=16.8, tau_x=101.0, tau_minus=33.7, tau_y=125.0,
            a2_plus=5e-3, a3_plus=6.2e-3, a2_minus=7e-3, a3_minus=2.3e-3, w_min=-10.0, w_max=10.0)
MINIMAL = dict(FULL, a2_plus=0.0, a3_plus=6.5e-3, a2_minus=7.1e-3, a3_minus=0.0)  # the paper's minimal model


def triplet_reference(pre_steps, post_steps, dt, p, interaction="all_to_all"):
    """The paper's rule, evaluated spike by spike from the spike times in float64 (not a recursion)."""
    tp, to = np.asarray(pre_steps) * dt, np.asarray(post_steps) * dt

    def trace(times, t, tau, inclusive):
        s = times[times <= t + 1e-9] if inclusive else times[times < t - 1e-9]
        if not len(s):
            return 0.0
        return math.exp(-(t - s.max()) / tau) if interaction == "nearest" else float(np.exp(-(t - s) / tau).sum())

    dw = 0.0
    for t in to:  # post spike: r1(t) includes a same-step pre spike; o2(t - eps) excludes this post spike
        dw += trace(tp, t, p["tau_plus"], True) * (p["a2_plus"] + p["a3_plus"] * trace(to, t, p["tau_y"], False))
    for t in tp:  # pre spike: o1(t) excludes a same-step post spike; r2(t - eps) excludes this pre spike
        dw -= trace(to, t, p["tau_minus"], False) * (p["a2_minus"] + p["a3_minus"] * trace(tp, t, p["tau_x"], False))
    return dw


def pairing_closed_form(n, period, delta, p):
    """Total dw of n pairings repeated every ``period`` ms, post at ``delta`` ms after pre (all-to-all).

    Pre-post (delta >= 0), pairing k (pre at kT, post at kT + delta):
        post: r1 = e^(-delta/tau+) (1 - q+^(k+1)) / (1 - q+),  o2 = q_y (1 - q_y^k) / (1 - q_y)
        pre:  o1 = e^(delta/tau-) q- (1 - q-^k) / (1 - q-),     r2 = q_x (1 - q_x^k) / (1 - q_x)
    Post-pre (d = -delta > 0, post at kT, pre at kT + d):
        pre:  o1 = e^(-d/tau-) (1 - q-^(k+1)) / (1 - q-),      r2 as above
        post: r1 = e^(d/tau+) q+ (1 - q+^k) / (1 - q+),         o2 as above
    with q = e^(-T/tau). Each post spike adds r1 (A2+ + A3+ o2), each pre spike subtracts o1 (A2- + A3- r2).
    """
    q = {k: math.exp(-period / p[k]) for k in ("tau_plus", "tau_minus", "tau_x", "tau_y")}
    geo = lambda name, m: (1 - q[name] ** m) / (1 - q[name])
    dw = 0.0
    for k in range(n):
        o2 = q["tau_y"] * geo("tau_y", k)
        r2 = q["tau_x"] * geo("tau_x", k)
        if delta >= 0:
            r1 = math.exp(-delta / p["tau_plus"]) * geo("tau_plus", k + 1)
            o1 = math.exp(delta / p["tau_minus"]) * q["tau_minus"] * geo("tau_minus", k)
        else:
            r1 = math.exp(-delta / p["tau_plus"]) * q["tau_plus"] * geo("tau_plus", k)
            o1 = math.exp(delta / p["tau_minus"]) * geo("tau_minus", k + 1)
        dw += r1 * (p["a2_plus"] + p["a3_plus"] * o2) - o1 * (p["a2_minus"] + p["a3_minus"] * r2)
    return dw


def pairing_protocol(freqs_hz, delta_steps, n, dt):
    """Pre neuron i and post neuron i pair n times at freqs_hz[i] (post delta_steps after pre)."""
    periods = [round(1000.0 / f / dt) for f in freqs_hz]
    start = max(0, -delta_steps)
    steps = start + max(periods) * n + abs(delta_steps) + 2
    pre = raster(steps, len(freqs_hz), [(start + k * T, i) for i, T in enumerate(periods) for k in range(n)])
    post = raster(steps, len(freqs_hz), [(start + k * T + delta_steps, i) for i, T in enumerate(periods)
                                         for k in range(n)])
    return pre, post, periods


@pytest.mark.parametrize("delta_steps", [10, -10, 0])
def test_triplet_pairing_protocol_matches_the_closed_form_at_every_frequency(delta_steps):
    dt, n, freqs = 1.0, 5, [5.0, 10.0, 20.0, 40.0, 50.0]
    pre, post, periods = pairing_protocol(freqs, delta_steps, n, dt)
    w = simulate(make(TripletSTDP, (len(freqs), len(freqs)), **FULL), dt, {"pre": pre, "post": post})["w"][-1]
    closed = [pairing_closed_form(n, T * dt, delta_steps * dt, FULL) for T in periods]
    np.testing.assert_allclose(np.diag(w), closed, rtol=1e-4)
    # every pair of neurons (different frequencies) against the spike-by-spike reference
    expected = np.array([[triplet_reference(np.flatnonzero(pre[:, i]), np.flatnonzero(post[:, j]), dt, FULL)
                          for j in range(len(freqs))] for i in range(len(freqs))])
    np.testing.assert_allclose(w, expected, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(np.diag(expected), closed, rtol=1e-10)  # the two references agree


def test_triplet_minimal_model_turns_post_pre_depression_into_potentiation_at_high_frequency():
    """Sjöström et al. (2001), reproduced by the paper's minimal model: post-pre pairing (-10 ms) depresses at low
    frequency and potentiates at high frequency, because the triplet term A3+ o2 grows with the rate."""
    dt, n, freqs = 1.0, 15, [2.0, 10.0, 20.0, 40.0, 50.0]
    pre, post, periods = pairing_protocol(freqs, -10, n, dt)
    dw = np.diag(simulate(make(TripletSTDP, (5, 5), **MINIMAL), dt, {"pre": pre, "post": post})["w"][-1])
    closed = np.array([pairing_closed_form(n, T * dt, -10.0, MINIMAL) for T in periods])
    np.testing.assert_allclose(dw, closed, rtol=1e-4)
    assert (dw[:3] < 0).all() and (dw[3:] > 0).all(), dw
    assert dw[2] < dw[3] < dw[4], "above 20 Hz, potentiation grows with the pairing frequency"


def _e(t, tau):
    return math.exp(-t / tau)


@pytest.mark.parametrize("interaction", ["all_to_all", "nearest"])
@pytest.mark.parametrize("order, expected", [
    ("pre-post-post", lambda p: (_e(5, p["tau_plus"]) * p["a2_plus"]
                                 + _e(15, p["tau_plus"]) * (p["a2_plus"] + p["a3_plus"] * _e(10, p["tau_y"])))),
    ("post-pre-post", lambda p: (-_e(5, p["tau_minus"]) * p["a2_minus"]
                                 + _e(10, p["tau_plus"]) * (p["a2_plus"] + p["a3_plus"] * _e(15, p["tau_y"])))),
    ("pre-post-pre", lambda p: (_e(5, p["tau_plus"]) * p["a2_plus"]
                                - _e(10, p["tau_minus"]) * (p["a2_minus"] + p["a3_minus"] * _e(15, p["tau_x"])))),
])
def test_triplet_single_triplets(interaction, order, expected):
    """Spikes at 0, 5 and 15 ms; each triplet worked out by hand from the paper's update equations."""
    who = order.split("-")
    times = {"pre": [], "post": []}
    for t, w in zip((0, 5, 15), who, strict=True):
        times[w].append((t + 2, 0))
    model = make(TripletSTDP, interaction=interaction, **FULL)
    w = simulate(model, 1.0, {"pre": raster(25, 1, times["pre"]), "post": raster(25, 1, times["post"])})["w"]
    np.testing.assert_allclose(w[-1, 0, 0], expected(FULL), rtol=RTOL)


@pytest.mark.parametrize("interaction", ["all_to_all", "nearest"])
def test_triplet_random_trains_match_the_reference(interaction):
    dt, steps = 0.5, 400
    rng = np.random.default_rng(11)
    pre, post = rng.random((steps, 3)) < 0.06, rng.random((steps, 3)) < 0.06
    pre[20, 0] = post[20, 0] = True
    w = simulate(make(TripletSTDP, (3, 3), interaction=interaction, **FULL), dt, {"pre": pre, "post": post})["w"][-1]
    expected = np.array([[triplet_reference(np.flatnonzero(pre[:, i]), np.flatnonzero(post[:, j]), dt, FULL,
                                            interaction) for j in range(3)] for i in range(3)])
    # float32 sums of ~50 updates of ~0.03 each: an absolute error of a few 1e-6 where they nearly cancel
    np.testing.assert_allclose(w, expected, rtol=1e-4, atol=2e-5)


def test_triplet_without_triplet_terms_is_pair_stdp():
    rng = np.random.default_rng(5)
    pre, post = rng.random((300, 3)) < 0.05, rng.random((300, 2)) < 0.05
    trip = dict(FULL, a3_plus=0.0, a3_minus=0.0, a2_plus=0.3, a2_minus=0.4)
    pair = dict(tau_plus=trip["tau_plus"], tau_minus=trip["tau_minus"], a_plus=0.3, a_minus=0.4, w_min=-10.0,
                w_max=10.0)
    a = simulate(make(TripletSTDP, (3, 2), **trip), 0.5, {"pre": pre, "post": post})["w"]
    b = simulate(make(PairSTDP, (3, 2), **pair), 0.5, {"pre": pre, "post": post})["w"]
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


# ===== reward-modulated STDP =====================================================================================

RSTDP = dict(tau_plus=10.0, tau_minus=10.0, a_plus=1.0, a_minus=1.2, tau_e=50.0, eta=0.2, w_min=-100.0, w_max=100.0)


def rstdp_run(modulator, pre_times, post_times, steps, dt=1.0, **kw):
    model = make(RewardSTDP, w0=5.0, record=("eligibility",), **dict(RSTDP, **kw))
    m = np.zeros((steps, 1), np.float32)
    for k, v in modulator.items():
        m[k, 0] = v
    return simulate(model, dt, {"pre": raster(steps, 1, pre_times), "post": raster(steps, 1, post_times),
                                "modulator": m})


def test_reward_stdp_zero_modulator_changes_nothing_but_eligibility_builds_and_decays():
    out = rstdp_run({}, [(5, 0)], [(9, 0)], 120)
    np.testing.assert_array_equal(out["w"][:, 0, 0], 5.0)
    e = out["eligibility"][:, 0, 0]
    np.testing.assert_array_equal(e[:9], 0.0)
    k = np.arange(9, 120)
    expected = RSTDP["a_plus"] * math.exp(-4.0 / RSTDP["tau_plus"]) * np.exp(-(k - 9) / RSTDP["tau_e"])
    np.testing.assert_allclose(e[9:], expected, rtol=RTOL)


@pytest.mark.parametrize("m", [0.5, 2.0, -1.0])
@pytest.mark.parametrize("order", ["pre-post", "post-pre"])
def test_reward_stdp_change_is_modulator_times_eligibility(m, order):
    """dw = eta dt m e, with e = a_pm exp(-lag / tau_pm) exp(-delay / tau_e) when the reward arrives."""
    first, second, reward, dt = 5, 12, 40, 1.0
    pre, post = ([(first, 0)], [(second, 0)]) if order == "pre-post" else ([(second, 0)], [(first, 0)])
    out = rstdp_run({reward: m}, pre, post, 60, dt)
    lag, delay = (second - first) * dt, (reward - second) * dt
    e = (RSTDP["a_plus"] * math.exp(-lag / RSTDP["tau_plus"]) if order == "pre-post"
         else -RSTDP["a_minus"] * math.exp(-lag / RSTDP["tau_minus"])) * math.exp(-delay / RSTDP["tau_e"])
    w = out["w"][:, 0, 0]
    np.testing.assert_array_equal(w[:reward], 5.0)
    np.testing.assert_allclose(w[reward:] - 5.0, RSTDP["eta"] * dt * m * e, rtol=RTOL)


def test_reward_stdp_needs_binding_to_its_synapse():
    syn = ExpSynapse((4, 3), storage="sparse", p_connect=0.5, rngs=nnx.Rngs(0))
    rule = RewardSTDP((4, 3))
    with pytest.raises(ValueError, match="bind"):
        rule(syn, dt=1.0, pre=jnp.zeros(4, bool), post=jnp.zeros(3, bool), modulator=jnp.zeros(1))
    rule.bind(syn)
    assert rule.eligibility[...].shape == syn.weight[...].shape


# ===== inhibitory STDP ===========================================================================================


@pytest.mark.parametrize("sign", [1, -1])
@pytest.mark.parametrize("lag_steps", [-25, -3, 0, 3, 25])
def test_inhibitory_stdp_pair_is_symmetric_minus_alpha(sign, lag_steps):
    dt, p = 0.5, dict(tau=20.0, eta=0.7, rho0=8.0, w_min=-100.0, w_max=100.0)
    k_pre = 5 if lag_steps >= 0 else 5 - lag_steps
    k_post = k_pre + lag_steps
    steps = max(k_pre, k_post) + 5
    model = make(InhibitorySTDP, w0=3.0, sign=sign, **p)
    w = simulate(model, dt, {"pre": raster(steps, 1, [(k_pre, 0)]), "post": raster(steps, 1, [(k_post, 0)])})["w"]
    alpha = 2 * p["rho0"] * p["tau"] / 1000.0
    np.testing.assert_allclose(model.rule.alpha, 0.32)
    np.testing.assert_allclose(w[-1, 0, 0] - 3.0, sign * p["eta"] * (math.exp(-abs(lag_steps) * dt / p["tau"]) - alpha),
                               rtol=RTOL, atol=1e-6)


class InhibitedNeurons(nnx.Module):
    """LIF neurons with a constant drive (alone: ~60 Hz), each inhibited by its own ``n_inh`` Poisson inputs through a
    plastic current synapse (inhibitory weights are negative: ``sign = -1``)."""

    def __init__(self, n_inh, w0, rho0, eta):
        n_post = len(w0)
        post = np.repeat(np.arange(n_post), n_inh)
        self.syn = ExpSynapse((n_inh * n_post, n_post), connectivity="explicit",
                              pre=tuple(range(n_inh * n_post)), post=tuple(post.tolist()),
                              weights=tuple(float(w0[j]) for j in post), tau_syn=5.0, storage="dense")
        self.soma = LIF(n_post, i_bias=500.0)
        self.rule = InhibitorySTDP((n_inh * n_post, n_post), tau=20.0, eta=eta, rho0=rho0, sign=-1, w_min=-1000.0,
                                   w_max=0.0)

    def __call__(self, *, dt, pre):
        i = self.syn(dt=dt, pre=pre)["i"]
        spikes = self.soma(dt=dt, i_syn=i)["spikes"]
        self.syn.weight[...] = self.rule(self.syn, dt=dt, pre=pre, post=spikes)
        return {"spikes": spikes}


def test_inhibitory_stdp_drives_the_postsynaptic_rate_to_rho0():
    """Two neurons start uninhibited (~46 Hz), two strongly inhibited (nearly silent); all end near rho0.

    Mean drift for uncorrelated firing: dw/dt = 2 sign eta rho_pre tau (rho_post - rho0), zero only at rho0. Each
    inhibitory spike delays the next postsynaptic one, so pre and post are anti-correlated and the pair term is
    a little smaller than for independent trains: the rate settles slightly above rho0 (about 11-13 Hz here).
    """
    dt, seconds, n_inh, rho0 = 0.5, 10.0, 20, 10.0
    steps = int(seconds * 1000 / dt)
    model = InhibitedNeurons(n_inh, np.array([0.0, 0.0, -450.0, -450.0]), rho0, eta=15.0)
    pre = np.random.default_rng(0).random((steps, 4 * n_inh)) < 10.0 * dt / 1000.0  # 10 Hz Poisson
    spikes = simulate(model, dt, {"pre": pre})["spikes"]
    per_s = int(1000 / dt)
    first = spikes[: per_s // 2].sum(0) / 0.5
    last = spikes[-4 * per_s:].sum(0) / 4.0
    assert (first[:2] > 4 * rho0).all() and (first[2:] <= 0.4 * rho0).all(), first
    assert ((last > 0.6 * rho0) & (last < 1.6 * rho0)).all(), last
    np.testing.assert_allclose(last.mean(), rho0, rtol=0.3)
