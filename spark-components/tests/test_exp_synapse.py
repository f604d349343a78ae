"""Numerical tests of ExpSynapse: the exponential kernel, superposition, and random connectivity.

``tau_syn di/dt = -i`` with a jump of ``w[j, k]`` on ``i[k]`` per spike of presynaptic neuron ``j``, integrated
exactly: ``i(t) = sum over spikes s of w[j_s, k] exp(-(t - t_s) / tau_syn)``. A spike arriving at step ``s``
(0-based output index) is in the current of that same step.
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

RTOL = 2e-5  # float32: ~1e-7 per step, a few hundred steps of decay and sums of a few terms


def kernel_response(raster, w, dt, tau_syn):
    """float64 reference: ``i[t] = sum_{u <= t} (raster[u] @ w) exp(-(t - u) dt / tau_syn)``."""
    steps = raster.shape[0]
    jumps = raster.astype(np.float64) @ w.astype(np.float64)
    lag = np.arange(steps)[:, None] - np.arange(steps)[None, :]
    k = np.where(lag >= 0, np.exp(-np.maximum(lag, 0) * dt / tau_syn), 0.0)
    return k @ jumps


def set_weights(syn, seed):
    w = np.random.default_rng(seed).uniform(-20.0, 40.0, size=syn.shape).astype(np.float32)
    syn.weight[...] = jnp.asarray(w)
    return w


# ----- the kernel -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dt, tau_syn", [(0.1, 5.0), (0.5, 2.0), (1.0, 10.0)])
def test_single_spike_gives_exponential_current(dt, tau_syn):
    syn = ExpSynapse((2, 3), tau_syn=tau_syn)
    w = set_weights(syn, 0)
    steps, t_s = 200, 17
    pre = np.zeros((steps, 2), bool)
    pre[t_s, 1] = True
    i = simulate(syn, dt, {"pre": jnp.asarray(pre)})["i"]

    np.testing.assert_array_equal(i[:t_s], 0.0)
    t = dt * (np.arange(steps) - t_s)
    expected = np.where(t[:, None] >= 0, w[1][None, :] * np.exp(-np.maximum(t, 0) / tau_syn)[:, None], 0.0)
    np.testing.assert_allclose(i, expected, rtol=RTOL, atol=1e-6 * np.abs(w).max())
    np.testing.assert_array_equal(i[t_s], w[1])  # the jump is exactly the weight
    # one time constant after the spike the current is w / e
    k = round(tau_syn / dt)
    np.testing.assert_allclose(i[t_s + k], w[1] / math.e, rtol=RTOL)


def test_default_weight_and_decay():
    syn = ExpSynapse((1, 1))  # weight 10 pA, tau_syn 5 ms
    pre = jnp.zeros((50, 1), bool).at[0, 0].set(True)
    i = simulate(syn, 0.1, {"pre": pre})["i"][:, 0]
    np.testing.assert_allclose(i, 10.0 * np.exp(-0.1 * np.arange(50) / 5.0), rtol=RTOL)


def test_superposition_of_two_spikes():
    dt, tau_syn = 0.25, 4.0
    syn = ExpSynapse((3, 2), tau_syn=tau_syn)
    w = set_weights(syn, 1)
    steps = 150
    spikes = [(10, 0), (31, 2), (31, 0)]  # (step, pre neuron): also two coincident spikes of different neurons
    pre = np.zeros((steps, 3), bool)
    for s, j in spikes:
        pre[s, j] = True
    i = simulate(syn, dt, {"pre": jnp.asarray(pre)})["i"]

    expected = np.zeros((steps, 2))
    for s, j in spikes:
        t = dt * (np.arange(steps) - s)
        expected += np.where(t[:, None] >= 0, w[j] * np.exp(-np.maximum(t, 0) / tau_syn)[:, None], 0.0)
    np.testing.assert_allclose(i, expected, rtol=RTOL, atol=1e-6 * np.abs(w).max())


def test_random_raster_is_the_kernel_convolution():
    """Linearity over many spikes: the current is the spike raster convolved with w exp(-t / tau_syn)."""
    dt, tau_syn = 0.1, 3.0
    syn = ExpSynapse((20, 7), tau_syn=tau_syn)
    w = set_weights(syn, 2)
    raster = np.random.default_rng(3).random((400, 20)) < 0.05
    i = simulate(syn, dt, {"pre": jnp.asarray(raster)})["i"]
    expected = kernel_response(raster, w, dt, tau_syn)
    np.testing.assert_allclose(i, expected, rtol=RTOL, atol=1e-5 * np.abs(expected).max())
    np.testing.assert_allclose(np.asarray(syn.i[...]), expected[-1], rtol=RTOL, atol=1e-5 * np.abs(expected).max())


def test_no_spikes_no_current_and_state_shape():
    syn = ExpSynapse((4, 6))
    assert syn.i[...].shape == (6,) and syn.weight[...].shape == (4, 6)
    i = simulate(syn, 0.1, {"pre": jnp.zeros((20, 4), bool)})["i"]
    np.testing.assert_array_equal(i, 0.0)


# ----- connectivity ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_p_connect_fraction_within_binomial_bounds(seed):
    n, p = 200, 0.2
    syn = ExpSynapse((n, n), p_connect=p, weight=3.0, rngs=nnx.Rngs(seed))
    w = np.asarray(syn.weight[...])
    mask = np.asarray(syn.mask[...])
    np.testing.assert_array_equal(mask, w != 0)
    np.testing.assert_array_equal(w[mask], np.float32(3.0))
    trials = n * n
    mean, sigma = trials * p, math.sqrt(trials * p * (1 - p))
    assert abs(mask.sum() - mean) < 4 * sigma, (mask.sum(), mean, sigma)
    # rows and columns are independent draws, not one repeated pattern
    for counts, m in ((mask.sum(1), n), (mask.sum(0), n)):
        assert abs(counts.mean() - m * p) < 4 * math.sqrt(m * p * (1 - p) / n)
        assert counts.std() > 0.5 * math.sqrt(m * p * (1 - p))
    assert len({row.tobytes() for row in mask}) == n


def test_connectivity_is_seeded():
    a = ExpSynapse((200, 200), p_connect=0.2, rngs=nnx.Rngs(42))
    b = ExpSynapse((200, 200), p_connect=0.2, rngs=nnx.Rngs(42))
    c = ExpSynapse((200, 200), p_connect=0.2, rngs=nnx.Rngs(43))
    np.testing.assert_array_equal(np.asarray(a.mask[...]), np.asarray(b.mask[...]))
    np.testing.assert_array_equal(np.asarray(a.weight[...]), np.asarray(b.weight[...]))
    differ = np.asarray(a.mask[...]) != np.asarray(c.mask[...])
    # two independent masks with p = 0.2 differ on 2 p (1 - p) = 32% of the pairs
    assert abs(differ.mean() - 0.32) < 4 * math.sqrt(0.32 * 0.68 / differ.size)


@pytest.mark.parametrize("p", [0.0, 1.0])
def test_p_connect_extremes(p):
    syn = ExpSynapse((30, 40), p_connect=p, weight=2.0)
    np.testing.assert_array_equal(np.asarray(syn.mask[...]), np.full((30, 40), bool(p)))
    np.testing.assert_array_equal(np.asarray(syn.weight[...]), np.full((30, 40), 2.0 * p, np.float32))


@pytest.mark.parametrize("p", [1.0, 0.5])
def test_no_autapses_gives_zero_diagonal(p):
    syn = ExpSynapse((50, 50), p_connect=p, autapses=False, rngs=nnx.Rngs(0))
    mask, w = np.asarray(syn.mask[...]), np.asarray(syn.weight[...])
    np.testing.assert_array_equal(np.diag(mask), False)
    np.testing.assert_array_equal(np.diag(w), 0.0)
    off = ~np.eye(50, dtype=bool)
    if p == 1.0:
        assert mask[off].all()
    else:  # the diagonal is removed, the rest is the same draw as with autapses
        with_autapses = np.asarray(ExpSynapse((50, 50), p_connect=p, rngs=nnx.Rngs(0)).mask[...])
        np.testing.assert_array_equal(mask[off], with_autapses[off])
    # and a spike of neuron k never reaches neuron k
    pre = jnp.zeros((1, 50), bool).at[0, 7].set(True)
    i = simulate(syn, 0.1, {"pre": pre})["i"][0]
    assert i[7] == 0.0
    np.testing.assert_array_equal(i, w[7])


def test_outer_and_clip_keep_absent_synapses_at_zero():
    syn = ExpSynapse((6, 5), p_connect=0.5, weight=2.0, rngs=nnx.Rngs(5))
    mask = np.asarray(syn.mask[...])
    assert 0 < mask.sum() < mask.size
    rng = np.random.default_rng(0)
    a, b = rng.uniform(0.5, 2.0, 6).astype(np.float32), rng.uniform(0.5, 2.0, 5).astype(np.float32)
    o = np.asarray(syn.outer(jnp.asarray(a), jnp.asarray(b)))
    np.testing.assert_allclose(o, np.where(mask, np.outer(a, b), 0.0), rtol=1e-6)

    w = rng.uniform(-10.0, 10.0, (6, 5)).astype(np.float32)
    c = np.asarray(syn.clip(jnp.asarray(w), 1.0, 4.0))  # lo > 0: a naive clip would make absent synapses 1.0
    np.testing.assert_array_equal(c, np.where(mask, np.clip(w, 1.0, 4.0), 0.0))


# ----- invalid parameters ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values, needles",
    [
        (dict(tau_syn=0.0), ["exp_synapse", "tau_syn", "> 0", "ms"]),
        (dict(p_connect=1.5), ["exp_synapse", "p_connect", "1.5", "<= 1"]),
        (dict(p_connect=-0.1), ["exp_synapse", "p_connect", "-0.1", ">= 0"]),
        (dict(autapses=1), ["exp_synapse", "autapses", "not a boolean"]),
    ],
)
def test_bad_params(values, needles):
    with pytest.raises(spark.ParamError) as info:
        ExpSynapse((3, 3), **values)
    for needle in needles:
        assert needle in str(info.value), (needle, str(info.value))


def test_shape_must_be_pre_by_post():
    with pytest.raises(ValueError, match=r"exp_synapse.*n_pre, n_post"):
        ExpSynapse((3,))
