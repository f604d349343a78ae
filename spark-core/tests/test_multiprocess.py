"""Two processes on loopback (``jax.distributed``, 2 x 2 host CPU devices) run the trials of one batched run split over
all four devices; each saves its own trials; merged in process order they equal a single-process batched run, bit for
bit, started from the same checkpoint (written by process 0, read by both). The recipe is docs/scaling.md."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from brain_parts import ALL
from sharded_checks import RECORD, inputs, noisy_net

import spark
from spark.sharding import merge_recordings
from spark.testing import isolated_registry

HERE = Path(__file__).parent
TIMEOUT = 300  # s: two JAX processes compiling on a busy 2-core machine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("two_processes")
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "JAX_PLATFORMS")}
    port = free_port()
    procs = [subprocess.Popen([sys.executable, str(HERE / "multiprocess_run.py"), str(i), str(port), str(out)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env) for i in (0, 1)]
    logs = []
    try:
        for p in procs:
            logs.append(p.communicate(timeout=TIMEOUT)[0])
    except subprocess.TimeoutExpired:
        for p in procs:
            p.kill()
        pytest.fail(f"the two processes did not finish in {TIMEOUT} s")
    for i, (p, log) in enumerate(zip(procs, logs, strict=True)):
        assert p.returncode == 0, f"process {i} failed:\n{log[-4000:]}"
    return out


@pytest.fixture(scope="module")
def reference(two_processes):
    """The same trials in this process (one device), from the checkpoint the two processes started from."""
    brain = noisy_net(isolated_registry(*ALL)).load_state(two_processes / "state.npz")
    return brain.run({"p": inputs(8, 20)}, record=RECORD, batched=True)


def test_each_process_holds_a_contiguous_half_of_the_trials(two_processes):
    np.testing.assert_array_equal(np.load(two_processes / "trials-0.npy"), np.arange(4))
    np.testing.assert_array_equal(np.load(two_processes / "trials-1.npy"), np.arange(4, 8))
    part = spark.load_recording(two_processes / "rec-0.npz")
    assert part["noise.spikes"].shape[0] == 4


@pytest.mark.parametrize("parts", ["rec-{}.npz", "run-{}"], ids=["saved", "streamed"])
def test_merged_trials_equal_a_single_process_run(two_processes, reference, parts):
    ref = reference
    merged = merge_recordings([two_processes / parts.format(i) for i in (0, 1)])
    assert set(merged) == set(ref)
    for k in ref:
        np.testing.assert_array_equal(merged[k], ref[k], err_msg=k)
    assert not np.array_equal(ref["noise.spikes"][0], ref["noise.spikes"][5]), "the trials differ"


def test_merging_refuses_parts_of_different_runs():
    part = spark.Recording({"a": np.zeros((2, 5, 3))}, dt=0.5, steps=5, batched=True)
    other = spark.Recording({"b": np.zeros((2, 5, 3))}, dt=0.5, steps=5, batched=True)
    np.testing.assert_array_equal(merge_recordings([part, part])["a"], np.zeros((4, 5, 3)))
    with pytest.raises(spark.GraphError, match="part 1 is not a batched recording of the same run"):
        merge_recordings([part, other])
