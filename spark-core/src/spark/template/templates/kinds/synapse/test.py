"""{{ cookiecutter.class_name }} against the closed form of its kinetics, and its connectivity statistics.

Between spikes ``tau_syn di/dt = -i`` has the solution ``i(t) = i(t0) exp(-(t - t0) / tau_syn)``; the synapse
integrates it exactly, so a spike's current must equal ``w exp(-k dt / tau_syn)`` k steps later, and the kinetics
are linear, so the currents of several spikes add up. Step convention: output ``k`` is the current after step ``k``
(0-based), including the spikes that arrived in that step.

Tolerance: float32 holds ``exp(-dt / tau_syn)`` to half an ulp (6e-8 relative) and each step rounds once more, so
after ``k`` steps of decay the relative error is below ``k * 1.2e-7`` (an Euler step would be off by ~1e-2).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from {{ cookiecutter.module_name }} import {{ cookiecutter.class_name }}


def assert_close_after_steps(actual, expected, steps):
    """``actual`` within float32 rounding of ``expected`` after ``steps`` (an array) steps of exact decay."""
    bound = (np.asarray(steps) + 2) * 1.2e-7 * np.abs(expected) + 1e-6
    assert np.all(np.abs(actual - expected) <= bound), np.max(np.abs(actual - expected) / bound)


def simulate(synapse, dt, pre):
    """Run ``len(pre)`` steps as one jitted ``lax.scan`` through nnx.split/merge; returns the current, time first."""
    graph, state = nnx.split(synapse)

    @jax.jit
    def run(state, xs):
        def body(state, x):
            m = nnx.merge(graph, state)
            out = m(dt=dt, pre=x)
            return nnx.split(m)[1], out["i"]

        return jax.lax.scan(body, state, xs)

    state, i = run(state, jnp.asarray(pre, bool))
    nnx.update(synapse, state)
    return np.asarray(i)


@pytest.mark.parametrize(("dt", "tau_syn"), [(0.1, 5.0), (0.5, 2.0)])
def test_a_single_spike_decays_exactly(dt, tau_syn):
    synapse = {{ cookiecutter.class_name }}((1, 3), tau_syn=tau_syn, weight=40.0)
    steps = round(50.0 / dt)
    pre = np.zeros((steps, 1), bool)
    pre[3] = True
    i = simulate(synapse, dt, pre)
    k = np.arange(steps) - 3
    expected = np.where(k >= 0, 40.0 * np.exp(-np.maximum(k, 0) * dt / tau_syn), 0.0)
    assert_close_after_steps(i, expected[:, None], np.maximum(k, 0)[:, None])


def test_currents_of_several_spikes_add_up():
    dt, tau_syn = 0.1, 5.0
    synapse = {{ cookiecutter.class_name }}((2, 1), tau_syn=tau_syn, weight=10.0)
    pre = np.zeros((400, 2), bool)
    spike_times = {0: [5, 60, 61], 1: [30]}
    for j, ks in spike_times.items():
        pre[ks, j] = True
    i = simulate(synapse, dt, pre)[:, 0]
    t = np.arange(400)
    expected = sum(10.0 * np.where(t >= k, np.exp(-(t - k) * dt / tau_syn), 0.0) for ks in spike_times.values()
                   for k in ks)
    assert_close_after_steps(i, expected, t)


def test_connectivity_and_weights_follow_their_params():
    synapse = {{ cookiecutter.class_name }}((200, 300), p_connect=0.3, weight=20.0, weight_std=4.0, rngs=nnx.Rngs(7))
    mask, w = np.asarray(synapse.mask[...]), np.asarray(synapse.weight[...])
    n = mask.size
    assert abs(mask.mean() - 0.3) < 4 * np.sqrt(0.3 * 0.7 / n)  # binomial: within 4 standard errors
    assert np.all(w[~mask] == 0.0)
    assert abs(w[mask].mean() - 20.0) < 4 * 4.0 / np.sqrt(mask.sum())
    assert abs(w[mask].std() - 4.0) < 0.1
    same = {{ cookiecutter.class_name }}((200, 300), p_connect=0.3, weight=20.0, weight_std=4.0, rngs=nnx.Rngs(7))
    np.testing.assert_array_equal(np.asarray(same.weight[...]), w)  # same seed, same synapses


def test_learning_never_creates_absent_synapses():
    synapse = {{ cookiecutter.class_name }}((20, 30), p_connect=0.5, rngs=nnx.Rngs(1))
    mask = np.asarray(synapse.mask[...])
    dw = np.asarray(synapse.outer(jnp.ones(20), jnp.ones(30)))
    np.testing.assert_array_equal(dw, mask.astype(np.float32))
    w = np.asarray(synapse.clip(synapse.weight[...] + 1000.0, 0.0, 50.0))
    np.testing.assert_array_equal(w, np.where(mask, 50.0, 0.0))
    np.testing.assert_array_equal(np.asarray(synapse.sum_incoming(jnp.ones((20, 30)))), mask.sum(axis=0))
