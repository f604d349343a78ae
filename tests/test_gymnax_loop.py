"""gymnax environments other than CartPole in the compiled closed loop (spark_interfaces.rl.gymnax.Gymnax), agents
side by side: more than two actions, an observation that is an image, a continuous action through the loop's
policy. Episodes end as gymnax's environments define them (lengths and returns known from their definitions)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

import spark

pytest.importorskip("gymnax", reason="needs pip install 'spark-interfaces[gymnax]'")
from spark_interfaces.rl.gymnax import Gymnax


def _agents(n_obs: int, n_act: int) -> list[spark.Brain]:
    agents = []
    for seed in (0, 1):
        b = spark.Brain(dt=1.0, seed=seed)
        b.add("obs", "population", shape=n_obs, n=4, low=[-1.0] * n_obs, high=[1.0] * n_obs, max_rate=200.0)
        b.add("act", "lif", shape=n_act, v_init_jitter=5.0)
        b.add("syn", "exp_synapse", connectivity="all_to_all", weight=60.0)
        b.connect("obs.spikes", "syn.pre").connect("syn.i", "act.i_syn")
        b.input("observation", "obs.data").output("actions", "act.spikes")
        agents.append(b)
    return agents


def _run(name: str, n_act: int, **loop) -> list[spark.Episodes]:
    env = Gymnax.make(name)
    agents = _agents(int(np.prod(env.observation_shape)), n_act)
    return spark.loop.interact(agents, env, spark.Loop("observation", "actions", every=5, **loop), episodes=2,
                               learn=False)


def test_acrobot_three_actions_minus_one_per_step():
    """Acrobot-v1: reward -1 per step until the tip swings up; a network this small does not swing it up in 100
    steps, so the loop's max_steps truncates every episode there, with return -100."""
    for ep in _run("Acrobot-v1", 3, max_steps=100):
        np.testing.assert_array_equal(ep.lengths, 100)
        np.testing.assert_array_equal(ep.returns, -100.0)


def test_catch_an_image_observation():
    """Catch-bsuite: a 10 x 5 board as the observation; the ball falls for 9 steps, then the reward is +1 (caught) or
    -1 (missed)."""
    assert Gymnax.make("Catch-bsuite").observation_shape == (10, 5)
    for ep in _run("Catch-bsuite", 3):
        np.testing.assert_array_equal(ep.lengths, 9)
        assert set(ep.returns.tolist()) <= {-1.0, 1.0}


def test_pendulum_a_continuous_action_from_the_policy():
    """Pendulum-v1: the policy turns the two neurons' spike counts into a torque (shape (1,)); gymnax truncates the
    episode after 200 steps; the reward (minus a cost) is negative."""
    out = _run("Pendulum-v1", 2, policy=lambda total: jnp.reshape((total[1] - total[0]) * 0.5, (1,)))
    for ep in out:
        np.testing.assert_array_equal(ep.lengths, 200)
        assert (ep.returns < 0).all()
