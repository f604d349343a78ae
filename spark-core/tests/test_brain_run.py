"""Brain.run: equals stepping, batches by vmap, is deterministic, and resumes exactly (also across save/load)."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from brain_parts import ALL, noisy_net
from flax import nnx

import spark
from spark.testing import isolated_registry


@pytest.fixture
def reg():
    return isolated_registry(*ALL)


RECORD = ["noise.spikes", "out.y", "syn.weight", "rule.updates"]


def drive(steps, seed=0):
    return np.random.default_rng(seed).uniform(0.2, 0.8, size=(steps, 4)).astype(np.float32)


def test_run_equals_stepping_one_by_one(reg):
    x = drive(40)
    stepped = noisy_net(reg)
    rows = {"out.y": [], "syn.weight": [], "rule.updates": []}
    for t in range(len(x)):
        out = stepped(p=x[t])
        rows["out.y"].append(np.asarray(out["y"]))
        rows["syn.weight"].append(np.asarray(stepped.nodes["syn"].weight[...]))
        rows["rule.updates"].append(np.asarray(stepped.nodes["rule"].updates[...]))
    ran = noisy_net(reg).run({"p": x}, record=["out.y", "syn.weight", "rule.updates"])
    for k, v in rows.items():
        np.testing.assert_allclose(ran[k], np.stack(v), rtol=1e-6, err_msg=k)
    assert ran["out.y"].any(), "the test network must carry activity"
    assert not np.allclose(ran["syn.weight"][0], ran["syn.weight"][-1]), "the rule must have changed weights"


def test_run_a_then_b_equals_a_plus_b(reg):
    x = drive(60)
    whole = noisy_net(reg).run({"p": x}, record=RECORD)
    b = noisy_net(reg)
    first = b.run({"p": x[:25]}, record=RECORD)
    second = b.run({"p": x[25:]}, record=RECORD)
    for k in RECORD:
        np.testing.assert_array_equal(np.concatenate([first[k], second[k]]), whole[k], err_msg=k)


def test_save_and_load_state_resumes_exactly(reg, tmp_path):
    x = drive(50)
    whole = noisy_net(reg).run({"p": x}, record=RECORD)
    a = noisy_net(reg)
    a.run({"p": x[:20]})
    a.save_state(tmp_path / "state.npz")
    b = noisy_net(reg).load_state(tmp_path / "state.npz")
    rest = b.run({"p": x[20:]}, record=RECORD)
    for k in RECORD:
        np.testing.assert_array_equal(rest[k], whole[k][20:], err_msg=k)


def test_load_state_refuses_a_state_of_another_model(reg, tmp_path):
    a = noisy_net(reg)
    a.save_state(tmp_path / "s.npz")
    other = spark.Brain(dt=0.5, registry=reg).add("only", "relay", shape=2).build()
    with pytest.raises(spark.SparkError, match="does not fit this brain"):
        other.load_state(tmp_path / "s.npz")


def test_same_seed_same_run_other_seed_other_run(reg):
    x = drive(30)
    r1 = noisy_net(reg, seed=3).run({"p": x}, record=["noise.spikes", "syn.weight"])
    r2 = noisy_net(reg, seed=3).run({"p": x}, record=["noise.spikes", "syn.weight"])
    r3 = noisy_net(reg, seed=4).run({"p": x}, record=["noise.spikes", "syn.weight"])
    np.testing.assert_array_equal(r1["noise.spikes"], r2["noise.spikes"])
    np.testing.assert_array_equal(r1["syn.weight"], r2["syn.weight"])
    assert not np.array_equal(r1["noise.spikes"], r3["noise.spikes"])
    assert not np.array_equal(r1["syn.weight"][0], r3["syn.weight"][0])  # initial weights depend on the seed


def test_batched_run_equals_separate_trials(reg):
    rng = np.random.default_rng(1)
    xs = rng.uniform(0.2, 0.8, size=(3, 25, 4)).astype(np.float32)
    batched = noisy_net(reg).run({"p": xs}, record=RECORD, batched=True)
    assert batched["out.y"].shape == (3, 25, 3)
    for trial in range(3):
        b = noisy_net(reg)
        b.trial[...] = trial  # trial k of a batch draws the random numbers of trial index k
        single = b.run({"p": xs[trial]}, record=RECORD)
        for k in RECORD:
            np.testing.assert_allclose(batched[k][trial], single[k], rtol=1e-6, err_msg=f"{k}, trial {trial}")
    # trials are independent draws, even for identical data
    same = noisy_net(reg).run({"p": np.repeat(xs[:1], 2, axis=0)}, record=["noise.spikes"], batched=True)
    assert not np.array_equal(same["noise.spikes"][0], same["noise.spikes"][1])


def test_batched_run_leaves_the_brain_unchanged(reg):
    b = noisy_net(reg)
    before = jax.tree.map(np.asarray, nnx.to_pure_dict(nnx.state(b)))
    b.run({"p": drive(10)[None]}, batched=True)
    after = jax.tree.map(np.asarray, nnx.to_pure_dict(nnx.state(b)))
    jax.tree.map(np.testing.assert_array_equal, before, after)


def test_constant_inputs_and_steps(reg):
    b = noisy_net(reg)
    r = b.run({"p": np.full(4, 0.5, np.float32)}, steps=12, record=["out.y"])
    assert r["out.y"].shape == (12, 3)
    assert int(b.t[...]) == 12


@pytest.mark.parametrize("inputs, steps, message", [
    ({"q": np.zeros(4)}, 3, "unknown input"),
    ({"p": np.zeros(5)}, 3, r"has shape \[5\] but noise.data expects"),
    ({"p": np.zeros((3, 5))}, None, "expects"),
    ({"p": np.full(4, np.nan)}, 3, "NaN"),
    ({"p": np.zeros((6, 4))}, 3, "has 6 steps but steps=3"),
    ({}, None, "give steps=N"),
])
def test_bad_run_inputs_are_refused_before_running(reg, inputs, steps, message):
    b = noisy_net(reg)
    with pytest.raises(spark.GraphError, match=message):
        b.run(inputs, steps=steps)
    assert int(b.t[...]) == 0


def test_record_of_unknown_port_lists_what_exists(reg):
    b = noisy_net(reg)
    with pytest.raises(spark.GraphError, match="outputs: y; variables: last"):
        b.run(steps=2, record=["out.nothing"])
