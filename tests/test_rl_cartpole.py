"""The closed-loop CartPole example (spark-interfaces' rl, with spark-components' somas, synapses and reward_stdp):
the bundled agent is a valid, registered example; `spark rl cartpole` trains, prints progress and writes its curve;
the host (gymnasium) loop runs the same agent. A full training is a command (docs/reinforcement.md), not a test."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

import spark
from spark.cli import main as spark_main
from spark_interfaces.rl import agent


def test_the_bundled_agent_is_a_registered_example():
    from spark.registry import default_registry

    assert default_registry().examples["cartpole"] == str(agent.MODEL)
    brain = spark.Brain.from_file(agent.MODEL)
    assert brain.nodes["in_act"].shape == (40, 20)
    assert {"observation", "reward"} <= {name for name, *_ in brain._built().inputs}
    assert dict(brain._built().outputs) == {"actions": "act.spikes"}


def test_policy_picks_the_population_that_spiked_more():
    import jax.numpy as jnp

    assert int(agent.policy(jnp.array([1.0] * 10 + [2.0] * 10))) == 1
    assert int(agent.policy(jnp.array([2.0] * 10 + [1.0] * 10))) == 0
    assert int(agent.policy(jnp.zeros(20))) == 0  # a tie (silence) pushes left


def test_first_reaching_counts_full_windows_only():
    assert agent.first_reaching(np.array([500.0] * 99)) is None  # 99 episodes: no full window of 100
    assert agent.first_reaching(np.array([500] * 50 + [400] * 100 + [480] * 200)) == 151


def test_training_changes_only_the_plastic_weights():
    brain = agent.brains([0])[0]
    before = np.array(brain.nodes["in_act"].weight[...]), np.array(brain.nodes["lateral"].weight[...])
    out = brain.interact(agent.make_env(), agent.make_loop(), 2)
    assert out.lengths.shape == (2,) and (out.lengths >= 8).all() and (out.lengths <= 500).all()
    assert not np.array_equal(np.array(brain.nodes["in_act"].weight[...]), before[0])
    np.testing.assert_array_equal(np.array(brain.nodes["lateral"].weight[...]), before[1])
    # synaptic scaling: every action neuron's summed input weight stays at the target
    np.testing.assert_allclose(np.array(brain.nodes["in_act"].weight[...]).sum(0), 2800.0, rtol=1e-4)


def test_agents_side_by_side_learn_the_same_on_the_native_kernels_as_on_the_jax_path(monkeypatch):
    """The compiled loop with agents side by side (vmap: the kernels' batching rule, the scaling due for every agent
    together, an agent's episode ending before the others' and its brain reset) gives the same episodes, weights and
    eligibility with spark-components' native rule kernels as with the rules' pure-JAX step: bit for bit."""
    from spark_components import native, projection

    if not native.kernels():  # CI (SPARK_REQUIRE_NATIVE=1): tests/conftest.py fails the run instead
        pytest.skip("no native kernels here (a C++ compiler builds them)")
    seeds, got = (0, 1, 2), {}
    for path in ("jax", "native"):
        monkeypatch.setattr(projection, "USE_NATIVE", path == "native")
        brains = agent.brains(seeds)
        out = agent.train(seeds, episodes=6, agents=brains, chunk=6)
        got[path] = ([o.lengths for o in out], [np.array(b.nodes["in_act"].weight[...]) for b in brains],
                     [np.array(b.nodes["rstdp"].eligibility[...]) for b in brains])
    lengths = np.array(got["native"][0])
    # side by side, the agents' episodes differ in length: one's ended (and its brain was reset) while others ran on
    assert (lengths.min(axis=0) < lengths.max(axis=0)).all(), lengths
    for a, b in zip(got["jax"], got["native"], strict=True):
        for x, y in zip(a, b, strict=True):
            np.testing.assert_array_equal(x, y)


def test_a_window_written_out_learns_the_same_as_a_window_loop(monkeypatch):
    """The compiled loop writes a window's brain steps out one after another (``spark.loop._UNROLL``, for speed):
    the agents side by side end with the same episodes, weights and eligibility as with the steps in a loop (unroll
    1), bit for bit; and with blocks that leave a remainder (3 + 3 + 3 + 1), on the native kernels and on the rules'
    pure-JAX path."""
    from spark import loop as spark_loop
    from spark_components import projection

    seeds, got = (0, 1), {}
    for path, unroll in (("native", 1), ("native", spark_loop._UNROLL), ("native", 3), ("jax", spark_loop._UNROLL)):
        monkeypatch.setattr(spark_loop, "_UNROLL", unroll)
        monkeypatch.setattr(projection, "USE_NATIVE", path == "native")
        brains = agent.brains(seeds)
        out = agent.train(seeds, episodes=3, agents=brains, chunk=3)
        got[path, unroll] = ([o.lengths for o in out], [np.array(b.nodes["in_act"].weight[...]) for b in brains],
                             [np.array(b.nodes["rstdp"].eligibility[...]) for b in brains])
    first, *rest = got.values()
    for other in rest:
        for a, b in zip(first, other, strict=True):
            for x, y in zip(a, b, strict=True):
                np.testing.assert_array_equal(x, y)


def test_evaluation_uses_the_frozen_policy():
    """evaluate (learn=False): no rule runs, so the weights (and every other learned value) stay as training left
    them, and the policy tested is the one they hold."""
    brain = agent.brains([0])[0]
    before = {name: np.array(v[...]) for name, v in
              (("in_act", brain.nodes["in_act"].weight), ("lateral", brain.nodes["lateral"].weight))}
    (out,) = agent.evaluate([brain], 2)
    assert out.lengths.shape == (2,) and (out.lengths >= 8).all()
    for name, w in before.items():
        np.testing.assert_array_equal(np.array(brain.nodes[name].weight[...]), w)
    np.testing.assert_array_equal(np.array(brain.nodes["rstdp"].eligibility[...]), 0.0)  # the rule never ran


def test_cli_trains_prints_and_writes_the_curve(tmp_path):
    result = CliRunner().invoke(spark_main, ["rl", "cartpole", "--episodes", "3", "--seeds", "0,1", "--eval", "2",
                                             "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "episode    3  seed 0: length" in result.output and "avg100" in result.output
    assert "seed 1: learning off, 2 episodes: mean length" in result.output
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert set(summary["seeds"]) == {"0", "1"} and len(summary["seeds"]["1"]["lengths"]) == 3
    assert len(summary["seeds"]["0"]["frozen_lengths"]) == 2
    assert (tmp_path / "learning_curve.png").stat().st_size > 10_000
    # each trained agent's state, as training left it: loaded into new agents of their seeds, side by side as the
    # command ran them (agent i's episodes draw from key i), they are tested with learning off exactly as it did
    loaded = [agent.brains([seed])[0].load_state(tmp_path / f"agent-seed{seed}.npz") for seed in (0, 1)]
    for seed, out in zip((0, 1), agent.evaluate(loaded, 2), strict=True):
        assert out.lengths.tolist() == summary["seeds"][str(seed)]["frozen_lengths"]
    untrained = agent.brains([0])[0]
    assert not np.array_equal(np.array(untrained.nodes["in_act"].weight[...]),
                              np.array(agent.brains([0])[0].load_state(tmp_path / "agent-seed0.npz")
                                       .nodes["in_act"].weight[...]))


def test_cli_refuses_bad_seeds():
    result = CliRunner().invoke(spark_main, ["rl", "cartpole", "--seeds", "0,0"])
    assert result.exit_code != 0 and "a seed is given twice" in result.output


def test_host_loop_on_gymnasium():
    pytest.importorskip("gymnasium", reason="needs pip install 'spark-interfaces[rl]'")
    out = agent.train_host(0, 2)
    assert out.lengths.shape == (2,) and (out.lengths >= 8).all()


def test_the_agent_learns_the_same_on_gymnax_cartpole():
    """`--env gymnax`: gymnax's CartPole-v1 (through spark_interfaces.rl.gymnax.Gymnax, the reward shaped by
    ShapedJax) takes Spark's CartPole's steps bit for bit, so two agents side by side trained on it in the compiled
    loop end with the same episodes, weights and eligibility as on Spark's; and the CLI trains on it."""
    pytest.importorskip("gymnax", reason="needs pip install 'spark-interfaces[gymnax]'")
    seeds, got = (0, 1), {}
    for source in agent.ENVIRONMENTS:
        brains = agent.brains(seeds)
        out = agent.train(seeds, episodes=8, agents=brains, chunk=8, env=agent.make_env(source))
        got[source] = ([o.lengths for o in out], [np.array(b.nodes["in_act"].weight[...]) for b in brains],
                       [np.array(b.nodes["rstdp"].eligibility[...]) for b in brains])
    assert sum(int(ln.sum()) for ln in got["gymnax"][0]) > 100  # 16 episodes ran: the comparison means something
    for a, b in zip(got["spark"], got["gymnax"], strict=True):
        for x, y in zip(a, b, strict=True):
            np.testing.assert_array_equal(x, y)


def test_cli_trains_on_gymnax_and_refuses_it_with_host(tmp_path):
    pytest.importorskip("gymnax", reason="needs pip install 'spark-interfaces[gymnax]'")
    result = CliRunner().invoke(spark_main, ["rl", "cartpole", "--episodes", "2", "--env", "gymnax", "--eval", "1",
                                             "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["backend"] == "jax (gymnax CartPole-v1)" and len(summary["seeds"]["0"]["lengths"]) == 2
    result = CliRunner().invoke(spark_main, ["rl", "cartpole", "--host", "--env", "gymnax"])
    assert result.exit_code == 2 and "--env chooses a JAX CartPole: give one" in result.output
