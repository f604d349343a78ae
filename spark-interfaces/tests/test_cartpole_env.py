"""spark_interfaces.rl.CartPole: step for step gymnasium's CartPole-v1 (same equations, termination, 500-step limit),
jit- and vmap-able; its shaped reward equals the host wrapper's."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import spark
from spark_interfaces.rl import CartPole
from spark_interfaces.rl.cartpole import SURFACE, surface_potential

gymnasium = pytest.importorskip("gymnasium", reason="needs gymnasium: pip install 'spark-interfaces[gym]'")


def test_is_a_jax_environment():
    assert isinstance(CartPole(), spark.JaxEnvironment)
    assert CartPole.observation_shape == (4,)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_equals_gymnasium_step_for_step(seed):
    env = gymnasium.make("CartPole-v1")
    obs, _ = env.reset(seed=seed)
    ours = CartPole()
    state = (jnp.asarray(obs, jnp.float32), jnp.int32(0))
    step = jax.jit(ours.step)
    actions = np.random.default_rng(seed).integers(0, 2, 200)
    for n, a in enumerate(actions):
        obs, r, term, trunc, _ = env.step(int(a))
        o, state, r2, term2, trunc2 = step(jax.random.PRNGKey(0), state, jnp.int32(a))
        np.testing.assert_allclose(np.asarray(o), obs, rtol=1e-4, atol=1e-5, err_msg=f"step {n}")
        assert (float(r2), bool(term2), bool(trunc2)) == (r, term, trunc)
        if term:
            break
    assert term, "a random policy ends the episode within 200 steps"


def test_truncated_at_500_steps():
    ours = CartPole()
    s = jnp.zeros(4, jnp.float32)
    _, (_, n), _, term, trunc = ours.step(None, (s, jnp.int32(498)), jnp.int32(1))
    assert int(n) == 499 and not bool(trunc)
    _, _, _, term, trunc = ours.step(None, (s, jnp.int32(499)), jnp.int32(1))
    assert bool(trunc) and not bool(term)


def test_reset_is_uniform_in_the_documented_box_and_vmaps():
    obs, _ = jax.vmap(CartPole().reset)(jax.random.split(jax.random.PRNGKey(3), 256))
    assert obs.shape == (256, 4)
    assert float(jnp.abs(obs).max()) <= 0.05


@pytest.mark.parametrize("binary", [False, True])
def test_shaped_reward_matches_the_host_wrapper(binary):
    from spark_interfaces.rl.cartpole import shaped_gymnasium

    env = shaped_gymnasium(gymnasium.make("CartPole-v1"), shaping=SURFACE, scale=10.0, failure=-1.0, binary=binary)
    obs, _ = env.reset(seed=5)
    ours = CartPole(shaping=SURFACE, scale=10.0, failure=-1.0, binary=binary)
    state = (jnp.asarray(obs, jnp.float32), jnp.int32(0))
    for a in [1, 1, 0, 1, 0, 0, 0, 1]:
        prev = np.asarray(state[0])
        obs, r, term, _, _ = env.step(a)
        _, state, r2, _, _ = ours.step(None, state, jnp.int32(a))
        change = surface_potential(np.asarray(obs, np.float32)) - surface_potential(prev)
        expected = -1.0 if term else 10.0 * (np.sign(change) if binary else change)
        assert r == pytest.approx(expected, abs=1e-4)
        assert float(r2) == pytest.approx(r, abs=1e-3)
    # the potential: minus |0.02 x + 0.1 x_dot + theta + 0.3 theta_dot|, in units of the failure angle (12 degrees)
    assert surface_potential(np.array([1.0, -0.5, 0.1, -0.2])) == pytest.approx(-0.01 / (12 * np.pi / 180))
    with pytest.raises(ValueError, match="give 4 weights"):
        CartPole(shaping=0.3)
