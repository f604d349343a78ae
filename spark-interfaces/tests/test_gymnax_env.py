"""spark_interfaces.rl.gymnax.Gymnax: a gymnax environment as a spark.JaxEnvironment. Checked against gymnax's own
public ``step`` (which starts the next episode by itself, so only up to an episode's end) and against Spark's CartPole
(both are gymnasium's CartPole-v1: the same steps bit for bit); and ShapedJax, the CartPole agent's shaped reward over
any JAX CartPole, against CartPole's own. The agent trained on it in the compiled loop: tests/test_rl_cartpole.py."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import spark
from spark_interfaces.rl import CartPole
from spark_interfaces.rl.cartpole import SURFACE, ShapedJax

gymnax = pytest.importorskip("gymnax", reason="needs gymnax: pip install 'spark-interfaces[gymnax]'")
from spark_interfaces.rl.gymnax import Gymnax  # noqa: E402


def _balancing(obs):
    """Push toward the sign of SURFACE . obs: balances CartPole-v1 for its 500 steps."""
    return (jnp.dot(jnp.asarray(SURFACE, jnp.float32), obs) > 0).astype(jnp.int32)


def _actions(policy: str, seed: int):
    rng = np.random.default_rng(seed)
    return lambda obs: jnp.int32(rng.integers(0, 2)) if policy == "random" else _balancing(obs)


def test_make_gives_a_jax_environment_with_gymnax_shapes():
    env = Gymnax.make("CartPole-v1")
    assert isinstance(env, spark.JaxEnvironment)
    assert env.observation_shape == (4,)
    assert env.params.max_steps_in_episode == 500
    assert repr(env) == "Gymnax(CartPole-v1)"


@pytest.mark.parametrize(("policy", "seed"), [("random", 0), ("random", 1), ("balancing", 2)])
def test_steps_are_gymnax_own_until_the_episode_ends(policy, seed):
    """From the adapter's state at every step, gymnax's public step(key, state, action) gives the same observation
    (to float32 rounding: it is another program, which XLA compiles with other fused multiply-adds), reward and flags
    as the adapter's step while the episode runs, and the episode ends (terminated, or truncated at 500) where the
    adapter says."""
    raw, params = gymnax.make("CartPole-v1")
    env = Gymnax(raw, params)
    key = jax.random.PRNGKey(seed)
    obs, state = env.reset(key)
    step = jax.jit(env.step)  # compiled, as gymnax's step is (and as the loop compiles it)
    ref_obs, _ = raw.reset(key, params)
    np.testing.assert_array_equal(np.asarray(obs), np.asarray(ref_obs))
    close = {"rtol": 1e-6, "atol": 1e-7}
    act = _actions(policy, seed)
    for n in range(1, 501):
        k = jax.random.fold_in(key, n)
        a = act(obs)
        ref = raw.step(k, state, a, params)  # (obs, state, reward, terminated, truncated, info)
        obs, state, r, term, trunc = step(k, state, a)
        ref_obs = ref[0]
        assert (float(r), bool(term), bool(trunc)) == (float(ref[2]), bool(ref[3]), bool(ref[4])), f"step {n}"
        assert r.dtype == jnp.float32 and term.dtype == jnp.bool_ and trunc.dtype == jnp.bool_
        if term or trunc:  # gymnax's step has already reset; its observation is the new episode's
            np.testing.assert_allclose(np.asarray(obs), np.asarray(ref[5]["final_observation"]), **close)
            break
        np.testing.assert_allclose(np.asarray(obs), np.asarray(ref_obs), **close, err_msg=f"step {n}")
    if policy == "balancing":
        assert n == 500 and bool(trunc) and not bool(term)
    else:
        assert n < 100 and bool(term) and not bool(trunc)


@pytest.mark.parametrize(("policy", "seed"), [("random", 3), ("random", 4), ("balancing", 5)])
def test_gymnax_cartpole_is_sparks_cartpole_bit_for_bit(policy, seed):
    """Both are gymnasium's CartPole-v1 in float32 (Spark's is checked against gymnasium in test_cartpole_env.py):
    from the same key they start in the same state and take the same steps, to the last bit."""
    g, c = Gymnax.make("CartPole-v1"), CartPole()
    key = jax.random.PRNGKey(seed)
    (og, sg), (oc, sc) = g.reset(key), c.reset(key)
    g_step, c_step = jax.jit(g.step), jax.jit(c.step)  # both compiled, as in the loop
    act = _actions(policy, seed)
    steps = 0
    while True:
        np.testing.assert_array_equal(np.asarray(og, np.float32), np.asarray(oc), err_msg=f"step {steps}")
        a = act(oc)
        og, sg, rg, tg, trg = g_step(key, sg, a)
        oc, sc, rc, tc, trc = c_step(key, sc, a)
        steps += 1
        assert (float(rg), bool(tg), bool(trg)) == (float(rc), bool(tc), bool(trc)), f"step {steps}"
        if bool(tc) or bool(trc):
            break
    assert steps == 500 if policy == "balancing" else steps < 100


def test_shaped_jax_gives_cartpoles_shaped_reward():
    """ShapedJax over gymnax's CartPole: the rewards of CartPole(shaping=...) on the same steps (binary and
    proportional, and the failure reward at the end)."""
    for binary in (True, False):
        shaped = ShapedJax(Gymnax.make("CartPole-v1"), shaping=SURFACE, scale=4.0, failure=-1.0, binary=binary)
        own = CartPole(shaping=SURFACE, scale=4.0, failure=-1.0, binary=binary)
        key = jax.random.PRNGKey(7)
        (_, s1), (_, s2) = shaped.reset(key), own.reset(key)
        step1, step2 = jax.jit(shaped.step), jax.jit(own.step)
        rng = np.random.default_rng(7)
        for n in range(200):
            a = jnp.int32(rng.integers(0, 2))
            _, s1, r1, t1, _ = step1(key, s1, a)
            _, s2, r2, t2, _ = step2(key, s2, a)
            assert float(r1) == float(r2), f"binary={binary} step {n}"
            if bool(t2):
                assert bool(t1) and float(r1) == -1.0
                break
        assert bool(t2), "a random policy ends the episode within 200 steps"


def test_refusals_say_what_to_do():
    with pytest.raises(TypeError, match=r"not a gymnax \(>= 1.0\) environment: it has no reset_env"):
        Gymnax(object())
    with pytest.raises(ValueError, match="CartPole's 4 observations"):
        ShapedJax(CartPole.__new__(type("Three", (spark.JaxEnvironment,), {
            "observation_shape": (3,), "reset": lambda s, k: None, "step": lambda s, k, st, a: None})))
    with pytest.raises(ValueError, match="give 4 weights"):
        ShapedJax(Gymnax.make("CartPole-v1"), shaping=(1.0, 2.0))
    with pytest.raises(ValueError, match=r"has no environment 'NoSuchEnv-v0'; give one of: .*CartPole-v1"):
        Gymnax.make("NoSuchEnv-v0")


def test_make_without_gymnax_says_what_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "gymnax", None)  # import gymnax now raises ImportError
    with pytest.raises(ImportError, match=r"pip install 'spark-interfaces\[gymnax\]'"):
        Gymnax.make("CartPole-v1")
