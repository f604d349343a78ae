"""Data-parallel trials across devices (docs/scaling.md): a batched run split over a mesh equals the unsharded batched
run bit for bit (learning on, one program or chunks, after a save/restore), its compiled programs exchange nothing
between devices, inputs already on the devices stay there, and a mesh that cannot split the trials is refused.

The multi-device checks run in a fresh process with 8 host devices (this process's JAX has started with one)."""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np
import pytest
from brain_parts import ALL

import spark
from spark.sharding import check_mesh, match_varying, trial_mesh, varying_axes
from spark.testing import isolated_registry, run_on_host_devices

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def results() -> dict:
    return run_on_host_devices(HERE / "sharded_checks.py", 8, timeout=600)


def test_the_checks_see_eight_devices_and_a_network_worth_checking(results):
    assert results["devices"] == 8
    assert results["plastic"], "the rule must change the weights"
    assert results["trials_differ"], "each trial draws its own random numbers"


@pytest.mark.parametrize("size, chunk", [(8, None), (8, 10), (2, None)], ids=["8-one_program", "8-chunks", "2"])
def test_sharded_equals_unsharded_bit_for_bit(results, size, chunk):
    assert results[f"equal_{size}_{chunk}"]


def test_run_iter_on_a_mesh_yields_the_same_chunks(results):
    assert results["equal_run_iter"]


def test_a_data_parallel_program_exchanges_nothing_between_devices(results):
    found = dict(results["collectives"])  # the programs of one program per run, of chunks, of a stream to disk
    assert found.pop("programs") >= 2
    assert found == {c: 0 for c in found}, f"collectives in the compiled run: {found}"


def test_constant_inputs_with_learning_off(results):
    """Spikes and weights bit for bit; the currents of the weights shared by the trials within one rounding (one
    matrix product over a device's trials, summed in an order XLA picks by its size; docs/scaling.md)."""
    assert results["equal_consts_learn_off"]
    assert results["ulps_consts_learn_off"] <= 1, f"{results['ulps_consts_learn_off']} ulps apart"


def test_inputs_on_the_devices_stay_there(results):
    assert results["device_input_kept"], "a sharded input was copied (through the host)"
    assert results["equal_device_input"]


def test_after_save_and_restore_and_streamed_to_disk(results):
    assert results["equal_after_restore"]
    assert results["equal_streamed"]


def test_a_mesh_that_cannot_split_the_trials_is_refused(results):
    msg = results["indivisible"]
    assert "8 devices" in msg and "6 trials" in msg and "Fix" in msg and "trial_mesh(" in msg, msg


def test_a_device_array_input_is_not_pulled_to_the_host():
    reg = isolated_registry(*ALL)
    b = spark.Brain(dt=0.5, registry=reg).add("out", "relay", shape=3).input("x", "out.x").build()
    x = jax.numpy.ones((5, 3), jax.numpy.float32)
    job = b._job({"x": x}, None, ["out.y"], False, None, False, chunked=False)
    assert isinstance(job.series["x"], jax.Array)
    assert spark.inputs.check_values("x", x, device=True) is x
    with pytest.raises(spark.GraphError, match=r"NaN at index \[1, 2\]"):
        spark.inputs.check_values("x", x.at[1, 2].set(np.nan), device=True)
    np.testing.assert_array_equal(b.run({"x": x}, record=["out.y"])["out.y"], np.ones((5, 3)))


def test_mesh_misuse_is_explained():
    reg = isolated_registry(*ALL)
    b = spark.Brain(dt=0.5, registry=reg).add("out", "relay", shape=3).input("x", "out.x").build()
    with pytest.raises(spark.GraphError, match="batched=True"):
        b.run({"x": np.ones(3)}, steps=2, mesh=trial_mesh())
    with pytest.raises(spark.GraphError, match=r"jax\.sharding\.Mesh"):
        check_mesh("cpu", 4)
    with pytest.raises(spark.GraphError, match="there are 1 devices"):
        trial_mesh(3)


def test_kernel_type_helpers_are_no_ops_outside_shard_map():
    x = jax.numpy.ones(3)
    assert varying_axes(x) == ()
    assert match_varying((x,), x)[0] is x
