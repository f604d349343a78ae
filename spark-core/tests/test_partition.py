"""One network's neurons split across devices (docs/scaling.md, spark.partition): an unbatched run on a neuron mesh
equals the unsplit run bit for bit (learning on, random numbers, delays, a 2-D population, one program or chunks,
continued, after a save/restore on another number of devices, streamed to disk), its compiled program exchanges
only bit-packed spikes, and what cannot split is refused with the sizes and the fix.

The multi-device checks run in a fresh process with 8 host devices (this process's JAX has started with one)."""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from brain_parts import ALL

import spark
from spark.partition import column_sum, is_neuron_mesh
from spark.sharding import neuron_mesh, trial_mesh
from spark.testing import isolated_registry, run_on_host_devices

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def results() -> dict:
    return run_on_host_devices(HERE / "partition_checks.py", 8, timeout=900)


def test_the_checks_see_eight_devices_and_a_network_worth_checking(results):
    assert results["devices"] == 8
    assert results["active"], "the split population must spike, and not on every step"
    assert results["plastic"], "both rules must change their weights"


@pytest.mark.parametrize("size, chunk", [(8, None), (8, 10), (4, None), (2, None), (1, None)],
                         ids=["8-one_program", "8-chunks", "4", "2", "1"])
def test_split_equals_unsplit_bit_for_bit(results, size, chunk):
    assert results[f"equal_{size}_{chunk}"]


def test_the_state_after_a_split_run_is_the_unsplit_state(results):
    assert results["state_after_8"]


def test_run_iter_constants_and_learning_off(results):
    assert results["equal_run_iter"]
    assert results["equal_consts_learn_off"]


def test_a_split_run_continues_split_or_unsplit(results):
    assert results["equal_continued_split"]
    assert results["equal_continued_unsplit"]


def test_after_save_and_restore_on_another_number_of_devices_and_streamed(results):
    assert results["equal_after_restore"], "saved from 8 devices, run on 4, 8 and 1: the same"
    assert results["equal_after_restore_vs_plain"]
    assert results["equal_streamed"]


def test_populations_an_unsplit_run_steps_stacked_split_node_by_node(results):
    assert results["equal_twins"]


def test_a_population_that_does_not_declare_it_splits_runs_whole(results):
    assert results["equal_whole_population"]


def test_a_split_step_exchanges_only_bit_packed_spikes(results):
    found = results["collectives"]
    assert found.pop("all-gather") >= 1
    assert found == {c: 0 for c in found}, f"other collectives in the compiled run: {found}"
    # 16 neurons on 8 devices: 2 spikes a device, packed into one byte; never weights, currents or state (f32)
    assert results["gathers"] == ["u8[8,1]{1,0}"], results["gathers"]
    # post.spikes is read whole now (two rules, a synapse) and one step later (a delayed synapse): gathered once
    assert results["gathers_per_program"] == [1]


def test_a_population_that_does_not_split_evenly_is_refused(results):
    msg = results["indivisible"]
    assert "'post'" in msg and "12 neurons" in msg and "8 devices" in msg and "Fix" in msg, msg
    assert "multiple of 8 neurons (e.g. 8 or 16)" in msg, msg
    assert "spark.sharding.neuron_mesh(4)" in msg, msg  # 4 divides every split population (12, 12, 8, 8)


def test_what_cannot_split_is_refused_naming_the_node_and_the_fix(results):
    assert "'s'" in results["undeclared_synapse"] and "partitionable = True" in results["undeclared_synapse"]
    assert "batched=False" in results["batched"] and "trial_mesh" in results["batched"]
    msg = results["reduced_record"]
    assert "post.spikes:rate" in msg and "record 'post.spikes' whole" in msg, msg


def test_neuron_mesh_and_trial_mesh_are_told_apart():
    assert is_neuron_mesh(neuron_mesh()) and not is_neuron_mesh(trial_mesh())
    assert neuron_mesh().axis_names == ("neurons",)


def test_a_split_run_on_one_device_equals_the_unsplit_run():
    reg = isolated_registry(*ALL)

    def net():
        b = spark.Brain(dt=0.5, seed=2, registry=reg)
        b.add("noise", "noise", shape=4).add("syn", "linear", weight=0.3).add("post", "threshold", shape=6)
        b.add("rule", "hebb", attach="syn", rate=0.02)
        b.connect("noise.spikes", "syn.pre").connect("syn.i", "post.x")
        b.connect("noise.spikes", "rule.pre").connect("post.spikes", "rule.post")
        return b.input("p", "noise.data").output("s", "post.spikes").build()

    x = np.random.default_rng(1).uniform(0.2, 0.8, size=(20, 4)).astype(np.float32)
    rec = ["post.spikes", "syn.weight"]
    got, ref = net().run({"p": x}, record=rec, mesh=neuron_mesh(1)), net().run({"p": x}, record=rec)
    assert all(np.array_equal(got[k], ref[k]) for k in rec)


@pytest.mark.parametrize("rows", [1, 3, 8, 40, 100])
def test_column_sum_bits_do_not_depend_on_the_number_of_columns(rows):
    w = jnp.asarray(np.random.default_rng(rows).uniform(0, 100, (rows, 64)).astype(np.float32))
    whole = jax.jit(column_sum)(w)
    for k in (8, 16, 32):
        assert np.array_equal(whole[:k], jax.jit(column_sum)(w[:, :k]))
    np.testing.assert_allclose(whole, np.asarray(w, np.float64).sum(0), rtol=1e-5)

