"""{{ cookiecutter.class_name }} against the closed form of its weight change.

One presynaptic spike at step ``a`` and postsynaptic spikes at steps ``b >= a`` change the weight by
``eta * exp(-(b - a) dt / tau_pre)`` each; several presynaptic spikes add their traces. The rule acts on
spark.testing.HostSynapse, a dense synapse shipped with spark-core, so these tests need no other pack.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from spark.testing import HostSynapse
from {{ cookiecutter.module_name }} import {{ cookiecutter.class_name }}


class Pair(nnx.Module):
    """A synapse and the rule attached to it, stepped as the Brain does: the rule returns the new weights."""

    def __init__(self, n_pre, n_post, **params):
        self.synapse = HostSynapse((n_pre, n_post), weight=50.0, weight_std=0.0)
        self.rule = {{ cookiecutter.class_name }}((n_pre, n_post), **params)
        self.rule.bind(self.synapse)


def simulate(pair, dt, pre, post):
    """Run the steps as one jitted ``lax.scan`` through nnx.split/merge; returns the weights after each step."""
    graph, state = nnx.split(pair)

    @jax.jit
    def run(state, xs):
        def body(state, x):
            m = nnx.merge(graph, state)
            w = m.rule(m.synapse, dt=dt, pre=x[0], post=x[1])
            m.synapse.weight[...] = w
            return nnx.split(m)[1], w

        return jax.lax.scan(body, state, xs)

    state, w = run(state, (jnp.asarray(pre, bool), jnp.asarray(post, bool)))
    nnx.update(pair, state)
    return np.asarray(w)


@pytest.mark.parametrize("lag", [0, 1, 7, 50, 200])
def test_one_pair_changes_the_weight_by_eta_exp_minus_lag_over_tau(lag):
    dt, tau, eta = 0.1, 20.0, 2.0
    pair = Pair(1, 1, tau_pre=tau, eta=eta)
    steps = lag + 20
    pre, post = np.zeros((steps, 1), bool), np.zeros((steps, 1), bool)
    pre[5, 0], post[5 + lag, 0] = True, True
    w = simulate(pair, dt, pre, post)[:, 0, 0]
    np.testing.assert_allclose(w[-1] - 50.0, eta * np.exp(-lag * dt / tau), rtol=1e-5, atol=2e-6)
    np.testing.assert_array_equal(w[: 5 + lag], 50.0)  # nothing changes before the postsynaptic spike


def test_post_before_pre_changes_nothing():
    pair = Pair(1, 1)
    pre, post = np.zeros((50, 1), bool), np.zeros((50, 1), bool)
    post[10, 0], pre[11, 0] = True, True
    np.testing.assert_array_equal(simulate(pair, 0.1, pre, post), 50.0)


def test_traces_of_several_presynaptic_spikes_add_up_and_only_paired_synapses_change():
    dt, tau, eta = 0.5, 10.0, 1.0
    pair = Pair(2, 2, tau_pre=tau, eta=eta)
    pre, post = np.zeros((60, 2), bool), np.zeros((60, 2), bool)
    pre[[3, 10, 17], 0] = True  # neuron 0 spikes three times, neuron 1 never
    post[[20, 40], 1] = True  # only postsynaptic neuron 1 spikes
    w = simulate(pair, dt, pre, post)[-1]
    expected = eta * sum(np.exp(-(b - a) * dt / tau) for a in (3, 10, 17) for b in (20, 40))
    np.testing.assert_allclose(w[0, 1] - 50.0, expected, rtol=1e-5)
    np.testing.assert_array_equal(w[:, 0], 50.0)  # no postsynaptic spike: no change
    np.testing.assert_array_equal(w[1, :], 50.0)  # no presynaptic spike: no change


def test_weights_stop_at_w_max():
    pair = Pair(1, 1, eta=4.0, w_max=60.0)
    both = np.ones((100, 1), bool)  # a pair in every step: the trace is 1, then 1 + exp(-dt / tau_pre), ...
    w = simulate(pair, 0.1, both, both)[:, 0, 0]
    assert w[0] == 54.0  # 50 + eta * 1
    np.testing.assert_array_equal(w[1:], 60.0)  # 54 + eta * (1 + 0.995) > w_max
