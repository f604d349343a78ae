"""Numerical tests of PairSTDP against the pair-STDP window (Song, Miller & Abbott 2000; Bi & Poo 1998).

With all-to-all trace interaction and additive updates, the total weight change of a synapse is the sum over every
pre/post spike pair of the STDP window ``W(lag)``, ``lag = t_post - t_pre``::

    W(lag) = a_plus exp(-lag / tau_plus)      for lag >= 0 (simultaneous spikes potentiate)
    W(lag) = -a_minus exp(lag / tau_minus)    for lag < 0

as long as no bound is hit. Lags are whole steps: ``lag = (k_post - k_pre) dt``. Expected values are float64.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import spark
from spark.testing import simulate
from spark_components.exp_synapse import ExpSynapse
from spark_components.pair_stdp import PairSTDP

RTOL = 2e-5  # traces decay by repeated float32 multiplication: ~1e-7 relative per step


class Plastic(nnx.Module):
    """A synapse with one rule attached; a step feeds both the same spikes and stores the rule's new weights."""

    def __init__(self, synapse, rule):
        self.synapse = synapse
        self.rule = rule

    def __call__(self, *, dt, pre, post):
        out = self.synapse(dt=dt, pre=pre)
        self.synapse.weight[...] = self.rule(self.synapse, dt=dt, pre=pre, post=post)
        return {"w": self.synapse.weight[...], **out}


def make(shape=(1, 1), w0=0.0, p_connect=1.0, rngs=None, **rule):
    rule = {"tau_plus": 20.0, "tau_minus": 30.0, "a_plus": 0.5, "a_minus": 0.6, "w_min": -100.0, "w_max": 100.0,
            **rule}
    syn = ExpSynapse(shape, weight=w0, p_connect=p_connect, rngs=rngs)
    return Plastic(syn, PairSTDP(shape, **rule))


def window(lag_ms, p):
    return np.where(lag_ms >= 0, p["a_plus"] * np.exp(-np.abs(lag_ms) / p["tau_plus"]),
                    -p["a_minus"] * np.exp(-np.abs(lag_ms) / p["tau_minus"]))


def raster(steps, n, times):
    r = np.zeros((steps, n), bool)
    for k, j in times:
        r[k, j] = True
    return jnp.asarray(r)


# ----- one pair -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dt", [0.1, 0.5, 1.0])
@pytest.mark.parametrize("lag_steps", [-60, -7, -1, 0, 1, 9, 150])
def test_single_pair_follows_the_stdp_window(dt, lag_steps):
    p = dict(tau_plus=20.0, tau_minus=30.0, a_plus=0.5, a_minus=0.6)
    model = make(**p)
    k_pre = 5 if lag_steps >= 0 else 5 - lag_steps
    k_post = k_pre + lag_steps
    steps = max(k_pre, k_post) + 10
    w = simulate(model, dt, {"pre": raster(steps, 1, [(k_pre, 0)]), "post": raster(steps, 1, [(k_post, 0)])})["w"]

    lag_ms = lag_steps * dt
    if lag_steps >= 0:
        expected = p["a_plus"] * math.exp(-lag_ms / p["tau_plus"])
    else:
        expected = -p["a_minus"] * math.exp(lag_ms / p["tau_minus"])
    np.testing.assert_allclose(w[-1, 0, 0], expected, rtol=RTOL)
    # the change happens at the second spike of the pair, not before, and nothing happens after
    second = max(k_pre, k_post)
    np.testing.assert_array_equal(w[:second, 0, 0], 0.0)
    np.testing.assert_array_equal(w[second:, 0, 0], w[-1, 0, 0])


def test_simultaneous_spikes_potentiate_by_a_plus():
    model = make(a_plus=0.25, a_minus=0.75)
    w = simulate(model, 0.1, {"pre": raster(10, 1, [(3, 0)]), "post": raster(10, 1, [(3, 0)])})["w"]
    np.testing.assert_allclose(w[-1, 0, 0], 0.25, rtol=1e-7)


def test_tau_plus_and_tau_minus_are_not_swapped():
    p = dict(tau_plus=5.0, tau_minus=50.0, a_plus=1.0, a_minus=1.0)
    ltp = simulate(make(**p), 1.0, {"pre": raster(30, 1, [(2, 0)]), "post": raster(30, 1, [(12, 0)])})["w"][-1, 0, 0]
    ltd = simulate(make(**p), 1.0, {"pre": raster(30, 1, [(12, 0)]), "post": raster(30, 1, [(2, 0)])})["w"][-1, 0, 0]
    np.testing.assert_allclose(ltp, math.exp(-10.0 / 5.0), rtol=RTOL)
    np.testing.assert_allclose(ltd, -math.exp(-10.0 / 50.0), rtol=RTOL)


# ----- many spikes: all-to-all pairing sums the window ----------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1])
def test_all_to_all_pairing_sums_every_pair(seed):
    dt, steps, n_pre, n_post = 0.5, 300, 4, 3
    p = dict(tau_plus=16.8, tau_minus=33.7, a_plus=0.01, a_minus=0.0105)
    rng = np.random.default_rng(seed)
    pre = rng.random((steps, n_pre)) < 0.04
    post = rng.random((steps, n_post)) < 0.04
    pre[10, 0] = post[10, 0] = True  # at least one coincident pair
    model = make((n_pre, n_post), **p)
    w = simulate(model, dt, {"pre": jnp.asarray(pre), "post": jnp.asarray(post)})["w"][-1]

    expected = np.zeros((n_pre, n_post))
    for i in range(n_pre):
        for j in range(n_post):
            t_pre, t_post = np.flatnonzero(pre[:, i]) * dt, np.flatnonzero(post[:, j]) * dt
            expected[i, j] = window(t_post[None, :] - t_pre[:, None], p).sum()
    n_pairs = pre.sum(0)[:, None] * post.sum(0)[None, :]
    assert n_pairs.min() >= 9, "too few pairs for a linearity test"
    np.testing.assert_allclose(w, expected, rtol=1e-4, atol=1e-6 * n_pairs.max())


def test_weight_change_is_independent_of_the_starting_weight():
    """Additive STDP: the change does not depend on w (away from the bounds)."""
    pre = raster(100, 2, [(5, 0), (40, 1), (70, 0)])
    post = raster(100, 2, [(20, 1), (41, 0), (60, 0)])
    dws = []
    for w0 in (-3.0, 0.0, 7.0):
        w = simulate(make((2, 2), w0=w0), 0.5, {"pre": pre, "post": post})["w"][-1]
        dws.append(w - w0)
    np.testing.assert_allclose(dws[1], dws[0], atol=1e-5)
    np.testing.assert_allclose(dws[2], dws[0], atol=1e-5)


# ----- bounds and absent synapses -------------------------------------------------------------------------------


def test_weights_stay_within_bounds():
    w_min, w_max = 1.0, 3.0
    rng = np.random.default_rng(4)
    pre, post = rng.random((2000, 5)) < 0.1, rng.random((2000, 5)) < 0.1
    # neurons 0-1 fire pre-then-post (LTP), 2-3 post-then-pre (LTD), 4 random
    pre[:, :4] = post[:, :4] = False
    pre[::40, 0:2] = True
    post[2::40, 0:2] = True
    post[::40, 2:4] = True
    pre[2::40, 2:4] = True
    model = make((5, 5), w0=2.0, w_min=w_min, w_max=w_max, a_plus=0.05, a_minus=0.05, tau_plus=10.0, tau_minus=10.0)
    w = simulate(model, 1.0, {"pre": jnp.asarray(pre), "post": jnp.asarray(post)})["w"]
    assert (w >= w_min).all() and (w <= w_max).all()
    np.testing.assert_array_equal(w[-1, 0:2, 0:2], w_max)  # driven into the upper bound, and held there exactly
    np.testing.assert_array_equal(w[-1, 2:4, 2:4], w_min)


def test_absent_synapses_stay_absent_under_learning():
    model = make((8, 8), w0=5.0, p_connect=0.5, rngs=nnx.Rngs(3), w_min=0.5, w_max=10.0, a_plus=0.1, a_minus=0.1)
    mask = np.asarray(model.synapse.mask[...])
    assert 0 < mask.sum() < mask.size
    rng = np.random.default_rng(5)
    pre, post = rng.random((500, 8)) < 0.1, rng.random((500, 8)) < 0.1
    w = simulate(model, 1.0, {"pre": jnp.asarray(pre), "post": jnp.asarray(post)})["w"]
    np.testing.assert_array_equal(w[:, ~mask], 0.0)
    assert (w[:, mask] >= 0.5).all() and (w[-1, mask] != 5.0).any()


# ----- invalid parameters ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values, needles",
    [
        (dict(tau_plus=0.0), ["pair_stdp", "tau_plus", "> 0", "ms"]),
        (dict(tau_minus=-1.0), ["pair_stdp", "tau_minus", "-1.0", "> 0", "ms"]),
        (dict(a_plus=-0.1), ["pair_stdp", "a_plus", "-0.1", ">= 0", "pA"]),
        (dict(a_minus=float("nan")), ["pair_stdp", "a_minus", "NaN", "pA"]),
    ],
)
def test_bad_params(values, needles):
    with pytest.raises(spark.ParamError) as info:
        PairSTDP((2, 2), **values)
    for needle in needles:
        assert needle in str(info.value), (needle, str(info.value))
