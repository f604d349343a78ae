"""{{ cookiecutter.class_name }} against closed-form solutions of its linear subthreshold dynamics.

Below threshold ``z = (v - v_rest) + i u`` obeys ``dz/dt = lambda z + I / c_m`` with ``lambda = -1/tau + i omega``, so
for constant input ``z(t) = z_inf + (z(0) - z_inf) exp(lambda t)``, ``z_inf = -I / (c_m lambda)``. The soma integrates
exactly, so its trace must equal this at every step up to float32 rounding (computed here in float64).
Step convention: output ``k`` (0-based) is the state after step ``k + 1``, at ``t = (k + 1) dt``.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from {{ cookiecutter.module_name }} import {{ cookiecutter.class_name }}

ATOL = 1e-3  # mV: float32 rounding accumulated over the run (a forward-Euler step would be off by ~0.1 mV)


def simulate(neuron, dt, i_syn):
    """Run ``len(i_syn)`` steps as one jitted ``lax.scan`` through nnx.split/merge; returns (spikes, v), time first."""
    graph, state = nnx.split(neuron)

    @jax.jit
    def run(state, xs):
        def body(state, x):
            m = nnx.merge(graph, state)
            out = m(dt=dt, i_syn=x)
            return nnx.split(m)[1], out

        return jax.lax.scan(body, state, xs)

    state, out = run(state, jnp.asarray(i_syn, jnp.float32))
    nnx.update(neuron, state)
    return np.asarray(out["spikes"]), np.asarray(out["v"])


def closed_form(t, z0, current, tau, freq, c_m):
    """z(t) of the subthreshold dynamics from z(0) = z0 with constant current (pA); complex, mV."""
    lam = -1.0 / tau + 1j * 2.0 * math.pi * freq / 1000.0
    z_inf = -(current / c_m) / lam
    return z_inf + (z0 - z_inf) * np.exp(lam * t)


@pytest.mark.parametrize("dt", [0.1, 0.5])
def test_free_oscillation_from_a_displaced_potential_is_exact(dt):
    tau, freq = 20.0, 8.0
    neuron = {{ cookiecutter.class_name }}((3,), tau=tau, freq=freq, v_init=-60.0)
    steps = round(300.0 / dt)
    spikes, v = simulate(neuron, dt, np.zeros((steps, 3)))
    t = dt * np.arange(1, steps + 1)
    expected = -65.0 + 5.0 * np.exp(-t / tau) * np.cos(2 * math.pi * freq / 1000.0 * t)  # v_init - v_rest = 5 mV
    assert not spikes.any()
    np.testing.assert_allclose(v, np.broadcast_to(expected[:, None], v.shape), rtol=0, atol=ATOL)
    assert (np.diff(np.sign(expected - (-65.0))) != 0).sum() >= 3  # it really oscillates around rest


@pytest.mark.parametrize(("freq", "current"), [(8.0, 300.0), (25.0, 900.0), (0.0, 150.0)])
def test_response_to_a_current_step_is_exact(freq, current):
    dt, tau, c_m = 0.1, 20.0, 250.0
    neuron = {{ cookiecutter.class_name }}((2,), tau=tau, freq=freq, c_m=c_m, v_thresh=0.0)  # threshold out of reach
    steps = 2000
    spikes, v = simulate(neuron, dt, np.full((steps, 2), current))
    t = dt * np.arange(1, steps + 1)
    expected = -65.0 + closed_form(t, 0.0, current, tau, freq, c_m).real
    assert not spikes.any()
    np.testing.assert_allclose(v[:, 0], expected, rtol=0, atol=ATOL)
    if freq == 0.0:  # a leaky integrator: v_inf = v_rest + I tau / c_m, reached monotonically
        np.testing.assert_allclose(expected, -65.0 + current * tau / c_m * (1 - np.exp(-t / tau)), atol=1e-9)


def test_spikes_at_the_closed_form_crossings_and_resets():
    dt, tau, freq, c_m, current = 0.1, 20.0, 8.0, 250.0, 1000.0
    v_reset, v_thresh = -70.0, -50.0
    neuron = {{ cookiecutter.class_name }}((1,), tau=tau, freq=freq, c_m=c_m, v_reset=v_reset, v_thresh=v_thresh)
    steps = 3000
    spikes, v = simulate(neuron, dt, np.full((steps, 1), current))

    # the spike times predicted by the closed form: first crossing from rest, then from the reset state
    expected, k0, z0 = [], 0, 0.0
    t = dt * np.arange(1, steps + 1)
    while True:
        x = closed_form(t[: steps - k0], z0, current, tau, freq, c_m).real
        above = np.nonzero(x >= v_thresh + 65.0)[0]
        if not len(above):
            break
        k = above[0]
        assert abs(x[k] - (v_thresh + 65.0)) > 1e-2 and abs(x[k - 1] - (v_thresh + 65.0)) > 1e-2  # a clear crossing
        expected.append(k0 + k)
        k0, z0 = k0 + k + 1, v_reset + 65.0
    assert len(expected) >= 5
    np.testing.assert_array_equal(np.nonzero(spikes[:, 0])[0], expected)
    np.testing.assert_array_equal(v[expected, 0], v_reset)


def test_a_pulse_pair_one_period_apart_resonates():
    """Two identical current pulses add up when the second comes one oscillation period after the first, and
    cancel half a period after: the response depends on the input's timing, the mark of a resonator."""
    dt, freq = 0.1, 25.0
    period = round(1000.0 / freq / dt)  # steps

    def peak_after_second_pulse(gap):
        i_syn = np.zeros((gap + 2 * period, 1))
        i_syn[:10] = i_syn[gap : gap + 10] = 2000.0  # two 1-ms pulses
        neuron = {{ cookiecutter.class_name }}((1,), freq=freq, tau=100.0, v_thresh=0.0)
        _, v = simulate(neuron, dt, i_syn)
        return v[gap:, 0].max() + 65.0

    in_phase, anti_phase = peak_after_second_pulse(period), peak_after_second_pulse(period // 2)
    assert in_phase > 3 * anti_phase
