"""One process of a 2-process data-parallel run on loopback (test_multiprocess.py starts two; docs/scaling.md).

    python multiprocess_run.py PROCESS_ID PORT OUT_DIR

Each process has 2 host CPU devices; ``jax.distributed`` joins them into one run over 4 devices (gloo collectives
on CPU). The brain is built the same way on every process (same seed, same state); process 0 writes the checkpoint
of a short training run, every process restores it, then runs 8 trials split over all 4 devices and saves the
recording of its own trials (``rec-<process>.npz``, and streamed to ``run-<process>/``)."""

from __future__ import annotations

import os
import sys

os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"

from pathlib import Path

import jax

process, port, out = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
jax.distributed.initialize(coordinator_address=f"127.0.0.1:{port}", num_processes=2, process_id=process,
                           initialization_timeout=120)

import numpy as np  # noqa: E402
from jax.experimental import multihost_utils  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from brain_parts import ALL  # noqa: E402
from sharded_checks import RECORD, inputs, noisy_net  # noqa: E402

from spark.sharding import process_trials, trial_mesh  # noqa: E402
from spark.testing import isolated_registry  # noqa: E402


def main() -> None:
    reg = isolated_registry(*ALL)
    brain = noisy_net(reg)
    x = inputs(8, 20)
    brain.run({"p": x[0]})  # the same unbatched training on every process: the same state everywhere
    if jax.process_index() == 0:  # one writer for what every process holds
        brain.save_state(out / "state.npz")
    multihost_utils.sync_global_devices("checkpoint written")
    brain = noisy_net(reg).load_state(out / "state.npz")
    mesh = trial_mesh()  # every device of every process
    assert mesh.size == 4 and jax.process_count() == 2, (mesh.size, jax.process_count())
    rec = brain.run({"p": x}, record=RECORD, batched=True, mesh=mesh)
    rec.save(out / f"rec-{process}.npz")
    brain.run({"p": x}, record=RECORD, batched=True, mesh=mesh, chunk=10, out=out / f"run-{process}")
    np.save(out / f"trials-{process}.npy", process_trials(mesh, len(x)))
    multihost_utils.sync_global_devices("done")


if __name__ == "__main__":
    main()
    jax.distributed.shutdown()
