"""{{ cookiecutter.class_name }} against the closed form of the latency code: value ``x`` spikes once per period, at
``(1 - x) t_max`` after the period's start: in step ``round((1 - x) t_max / dt) - 1`` of the period (at least 0),
which Spark stamps ``(step + 1) dt`` (docs/time.md), and never when ``x <= threshold``."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from {{ cookiecutter.module_name }} import {{ cookiecutter.class_name }}


def simulate(encoder, dt, data):
    """Run ``len(data)`` steps as one jitted ``lax.scan`` through nnx.split/merge; returns the spikes, time first."""
    graph, state = nnx.split(encoder)

    @jax.jit
    def run(state, xs):
        def body(state, x):
            m = nnx.merge(graph, state)
            out = m(dt=dt, data=x)
            return nnx.split(m)[1], out["spikes"]

        return jax.lax.scan(body, state, xs)

    state, spikes = run(state, jnp.asarray(data, jnp.float32))
    nnx.update(encoder, state)
    return np.asarray(spikes)


@pytest.mark.parametrize("dt", [1.0, 0.5, 0.1])
def test_each_value_spikes_once_per_period_at_its_latency(dt):
    t_max, period = 20.0, 50.0
    x = np.array([1.0, 0.83, 0.5, 0.26, 0.02, 0.0, 1.7, -0.4])  # the last two are clipped to 1 and 0
    encoder = {{ cookiecutter.class_name }}((len(x),), t_max=t_max, period=period)
    n_period = round(period / dt)
    spikes = simulate(encoder, dt, np.broadcast_to(x, (3 * n_period, len(x))))

    xc = np.clip(x, 0.0, 1.0)
    due = np.maximum(np.floor((1.0 - xc) * t_max / dt + 0.5).astype(int) - 1, 0)
    for k in range(len(x)):
        times = np.nonzero(spikes[:, k])[0]
        if xc[k] <= 0.0:
            assert len(times) == 0
        else:
            np.testing.assert_array_equal(times, due[k] + n_period * np.arange(3))
    assert math.isclose((due[1] + 1) * dt, (1 - 0.83) * t_max, abs_tol=dt / 2)  # stamped (1 - x) t_max, to the step


def test_larger_values_spike_earlier_and_the_threshold_silences():
    encoder = {{ cookiecutter.class_name }}((4,), threshold=0.3)
    spikes = simulate(encoder, 0.1, np.broadcast_to([0.9, 0.6, 0.31, 0.3], (500, 4)))
    first = [np.nonzero(spikes[:, k])[0] for k in range(4)]
    assert first[0][0] < first[1][0] < first[2][0]
    assert len(first[3]) == 0
