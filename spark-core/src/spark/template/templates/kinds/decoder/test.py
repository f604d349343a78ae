"""{{ cookiecutter.class_name }} against closed forms: a single spike's response decays as ``(1 - d) / dt * d^k``, and
the average over a period of a regular train of rate ``f`` is exactly ``f`` (unit gain).

Tolerance: float32 holds ``d = exp(-dt / tau)`` to half an ulp (6e-8 relative) and each step rounds once more, so
after ``k`` steps the relative error is below ``k * 1.2e-7``.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from {{ cookiecutter.module_name }} import {{ cookiecutter.class_name }}


def simulate(decoder, dt, spikes):
    """Run ``len(spikes)`` steps as one jitted ``lax.scan`` through nnx.split/merge; returns the rate, time first."""
    graph, state = nnx.split(decoder)

    @jax.jit
    def run(state, xs):
        def body(state, x):
            m = nnx.merge(graph, state)
            out = m(dt=dt, spikes=x)
            return nnx.split(m)[1], out["rate"]

        return jax.lax.scan(body, state, xs)

    state, rate = run(state, jnp.asarray(spikes, bool))
    nnx.update(decoder, state)
    return np.asarray(rate)


@pytest.mark.parametrize(("dt", "tau"), [(0.1, 100.0), (1.0, 20.0)])
def test_the_response_to_one_spike_is_exact(dt, tau):
    spikes = np.zeros((round(300.0 / dt), 1), bool)
    spikes[4] = True
    rate = simulate({{ cookiecutter.class_name }}((1,), tau=tau), dt, spikes)[:, 0]
    d = math.exp(-dt / tau)
    k = np.arange(len(spikes)) - 4
    expected = np.where(k >= 0, (1 - d) * 1000.0 / dt * d ** np.maximum(k, 0), 0.0)
    bound = (np.maximum(k, 0) + 2) * 1.2e-7 * expected + 1e-6
    assert np.all(np.abs(rate - expected) <= bound)


@pytest.mark.parametrize("period", [7, 25, 100])
def test_a_regular_train_reads_its_rate_exactly(period):
    dt, tau = 0.1, 50.0
    n = 40 * round(tau / dt)  # long enough for the transient to vanish: exp(-40) ~ 4e-18
    spikes = np.zeros((n, 1), bool)
    spikes[::period] = True
    rate = simulate({{ cookiecutter.class_name }}((1,), tau=tau), dt, spikes)[:, 0]
    f = 1000.0 / (period * dt)  # Hz
    last = rate[-period:]  # one full period in the steady state
    np.testing.assert_allclose(last.mean(), f, rtol=1e-4)
    d = math.exp(-dt / tau)  # the steady-state peak, right after a spike: (1 - d) / dt / (1 - d^period)
    last_spike = np.nonzero(spikes[:, 0])[0][-1]
    np.testing.assert_allclose(rate[last_spike], (1 - d) * 1000.0 / dt / (1 - d**period), rtol=1e-4)
