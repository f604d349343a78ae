"""Numerical tests of the rate-like rules on spike traces: Hebbian, Oja (1982) and BCM (Bienenstock, Cooper & Munro
1982), against closed forms and against float64 references built from the spike times.

A trace jumps by 1 per spike and decays exactly: ``x(k) = sum over spikes s <= k of exp(-(k - s) dt / tau)``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from flax import nnx
from rule_harness import Plastic, make, raster, simulate

from spark_components.bcm import BCM
from spark_components.exp_synapse import ExpSynapse
from spark_components.hebbian import Hebbian
from spark_components.oja import Oja

RTOL = 2e-5


def traces(r, dt, tau):
    """float64 traces of a raster ``(steps, n)`` from the spike times (after each step's spikes)."""
    out, x, a = np.empty(r.shape), np.zeros(r.shape[1]), math.exp(-dt / tau)
    for k, s in enumerate(r):  # x(k) = a x(k - 1) + s(k): the sum above, accumulated in float64
        x = a * x + s
        out[k] = x
    return out


# ===== Hebbian ===================================================================================================


@pytest.mark.parametrize("k_pre, k_post", [(5, 5), (5, 17), (17, 5)])
def test_hebbian_single_pair_closed_form(k_pre, k_post):
    """dw = eta dt sum_k x_pre(k) x_post(k): a geometric series from the later spike on, the same in either order."""
    dt, steps, p = 0.5, 80, dict(eta=0.3, tau_pre=8.0, tau_post=12.0, w_min=-10.0, w_max=10.0)
    w = simulate(make(Hebbian, w0=1.0, **p), dt, {"pre": raster(steps, 1, [(k_pre, 0)]),
                                                     "post": raster(steps, 1, [(k_post, 0)])})["w"][:, 0, 0]
    m = max(k_pre, k_post)
    q = math.exp(-dt * (1 / p["tau_pre"] + 1 / p["tau_post"]))
    first = math.exp(-(m - k_pre) * dt / p["tau_pre"] - (m - k_post) * dt / p["tau_post"])
    expected = 1.0 + p["eta"] * dt * first * (1 - q ** (steps - m)) / (1 - q)
    np.testing.assert_allclose(w[-1], expected, rtol=RTOL)
    np.testing.assert_array_equal(w[:m], 1.0)


@pytest.mark.parametrize("eta", [0.02, -0.02])
def test_hebbian_random_trains_match_the_trace_product(eta):
    dt, steps = 1.0, 300
    rng = np.random.default_rng(1)
    pre, post = rng.random((steps, 3)) < 0.05, rng.random((steps, 2)) < 0.08
    p = dict(eta=eta, tau_pre=10.0, tau_post=25.0, w_min=-50.0, w_max=50.0)
    w = simulate(make(Hebbian, (3, 2), w0=2.0, **p), dt, {"pre": pre, "post": post})["w"][-1]
    xp, xq = traces(pre, dt, p["tau_pre"]), traces(post, dt, p["tau_post"])
    np.testing.assert_allclose(w, 2.0 + eta * dt * xp.T @ xq, rtol=1e-4)
    assert np.sign(w - 2.0).tolist() == np.full((3, 2), np.sign(eta)).tolist()


def test_hebbian_is_bounded():
    rng = np.random.default_rng(2)
    pre, post = rng.random((300, 3)) < 0.3, rng.random((300, 2)) < 0.3
    w = simulate(make(Hebbian, (3, 2), w0=1.0, eta=1.0, w_min=0.5, w_max=4.0), 1.0, {"pre": pre, "post": post})["w"]
    assert w.max() == 4.0 and w.min() >= 0.5


# ===== Oja =======================================================================================================


def test_oja_trace_mode_matches_the_float64_recursion():
    dt, steps, c = 1.0, 300, 2.0
    rng = np.random.default_rng(3)
    pre, post = rng.random((steps, 3)) < 0.1, rng.random((steps, 2)) < 0.1
    p = dict(eta=0.05, tau_pre=10.0, tau_post=15.0, w_scale=c)
    w = simulate(make(Oja, (3, 2), w0=0.5, **p), dt, {"pre": pre, "post": post})["w"]
    x, y = traces(pre, dt, p["tau_pre"]), traces(post, dt, p["tau_post"])
    ref = np.full((3, 2), 0.5)
    for k in range(steps):
        ref = ref + p["eta"] * dt * y[k][None, :] * (x[k][:, None] - y[k][None, :] * ref / c)
    np.testing.assert_allclose(w[-1], ref, rtol=1e-4)


def test_oja_linear_neuron_finds_the_principal_eigenvector_with_norm_w_scale():
    """A periodic input pattern; each post neuron's weight vector converges to +-w_scale times the unit principal
    eigenvector of C = <x x^T> (x: presynaptic traces), from different starting weights."""
    dt, period, c = 1.0, 12, 2.0
    pattern = np.zeros((period, 4), bool)
    pattern[[0, 4, 8], 0] = pattern[[0, 4], 1] = True  # inputs 0 and 1 fire together
    pattern[[2, 6], 1] = pattern[[2, 10], 2] = True
    pattern[[3, 9], 3] = True
    steps = 100 * period
    pre = np.tile(pattern, (steps // period, 1))
    syn = ExpSynapse((4, 3), weight_init="normal", weight=0.0, weight_std=1.0, storage="dense", rngs=nnx.Rngs(4))
    model = Plastic(syn, Oja((4, 3), eta=0.02, tau_pre=3.0, w_scale=c, y="linear"))
    w = simulate(model, dt, {"pre": pre, "post": np.zeros((steps, 3), bool)})["w"]

    x = traces(pre, dt, 3.0)[-10 * period:]  # steady state
    evals, evecs = np.linalg.eigh(x.T @ x / len(x))
    v = evecs[:, -1]
    assert evals[-1] > 1.5 * evals[-2], "a clear principal component"
    for j in range(3):
        wj = w[-1, :, j]
        np.testing.assert_allclose(np.linalg.norm(wj), c, rtol=0.02)
        np.testing.assert_allclose(abs(wj @ v) / np.linalg.norm(wj), 1.0, atol=1e-3)
    assert np.linalg.norm(w[0] - w[-1]) > 1.0, "it learned"


# ===== BCM =======================================================================================================


def test_bcm_threshold_is_the_running_mean_of_y_squared():
    """theta follows tau_theta dtheta/dt = y^2 - theta exactly (for y held over a step) and, once settled, equals
    <y^2> up to a ripple of order period / tau_theta."""
    dt, steps, tau_theta = 1.0, 1500, 200.0
    post = np.zeros((steps, 2), bool)
    post[::10, 0] = True  # 100 Hz
    post[::25, 1] = True  # 40 Hz
    post[:500, 1] = False  # silent at first: theta relaxes from theta_init towards 0
    p = dict(tau_post=20.0, tau_theta=tau_theta, theta_init=3.0, eta=0.0)
    out = simulate(make(BCM, (1, 2), record=("theta",), **p), dt,
                   {"pre": np.zeros((steps, 1), bool), "post": post})
    y = traces(post, dt, p["tau_post"])
    a = math.exp(-dt / tau_theta)
    ref, theta = np.empty_like(y), np.full(2, 3.0)
    for k in range(steps):
        theta = y[k] ** 2 + (theta - y[k] ** 2) * a
        ref[k] = theta
    np.testing.assert_allclose(out["theta"], ref, rtol=1e-4)
    np.testing.assert_allclose(out["theta"][499, 1], 3.0 * a ** 500, rtol=1e-4)
    np.testing.assert_allclose(out["theta"][-1], (y[-100:] ** 2).mean(0), rtol=0.05)


def test_bcm_sign_of_dw_flips_at_theta():
    """With theta held (tau_theta huge), dw = eta dt x y (y - theta): potentiation exactly where y > theta,
    depression where 0 < y < theta, for post neurons firing at four rates."""
    dt, steps, theta0 = 1.0, 400, 2.0
    pre = np.zeros((steps, 2), bool)
    pre[::7, 0] = pre[3::11, 1] = True
    post = np.zeros((steps, 4), bool)
    for j, every in enumerate((5, 12, 20, 40)):  # trace means 20 ms / every ms: 4, 1.7, 1, 0.5
        post[::every, j] = True
    p = dict(eta=1e-3, tau_pre=10.0, tau_post=20.0, tau_theta=1e12, theta_init=theta0, w_min=-100.0, w_max=100.0)
    out = simulate(make(BCM, (2, 4), w0=0.0, record=("theta",), **p), dt, {"pre": pre, "post": post})
    np.testing.assert_allclose(out["theta"], theta0)
    x, y = traces(pre, dt, p["tau_pre"]), traces(post, dt, p["tau_post"])
    dw_ref = p["eta"] * dt * x[:, :, None] * (y * (y - theta0))[:, None, :]
    dw = np.diff(np.concatenate([np.zeros((1, 2, 4)), out["w"]]), axis=0)
    np.testing.assert_allclose(dw, dw_ref, rtol=1e-3, atol=1e-9)
    active = x[:, :, None] * y[:, None, :] > 1e-3
    sign = np.broadcast_to(np.sign(y - theta0)[:, None, :], dw.shape)
    assert (np.sign(dw[active]) == sign[active]).all()
    total = out["w"][-1]
    assert (total[:, 0] > 0).all() and (total[:, 2:] < 0).all()
