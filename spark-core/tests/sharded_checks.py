"""Run in a fresh process with 8 host devices by test_sharding.py (the test process's JAX has one device already):
data-parallel batched runs on meshes of 8, 4 and 2 devices against the unsharded batched run, and the compiled
programs' collectives. Prints one JSON line of results."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import jax
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from brain_parts import ALL, noisy_net

import spark
from spark import brain as _brain
from spark.sharding import trial_mesh
from spark.testing import isolated_registry

COLLECTIVES = ("all-gather", "all-reduce", "all-to-all", "collective-permute", "reduce-scatter")
RECORD = ["noise.spikes", "out.y", "syn.weight", "rule.updates", "post.spikes"]


def inputs(trials: int = 16, steps: int = 30) -> np.ndarray:
    return np.random.default_rng(0).uniform(0.2, 0.8, size=(trials, steps, 4)).astype(np.float32)


def same(a, b) -> bool:
    return set(a) == set(b) and all(np.array_equal(np.asarray(a[k]), np.asarray(b[k])) for k in a)


def ulps(a, b) -> int:
    """The largest distance between two float32 arrays in units in the last place (0: equal bit for bit)."""
    ia, ib = (np.asarray(v, np.float32).view(np.int32).astype(np.int64) for v in (a, b))
    ia, ib = (np.where(i < 0, np.int64(-(2**31)) - i, i) for i in (ia, ib))  # ordered like the floats they encode
    return int(np.abs(ia - ib).max(initial=0))


def collectives(brain) -> dict:
    texts = [fn.as_text() for fn in _brain._run_cache[brain].values() if hasattr(fn, "as_text")]
    return {c: sum(t.count(c) for t in texts) for c in COLLECTIVES} | {"programs": len(texts)}


def main() -> dict:
    reg = isolated_registry(*ALL)
    x = inputs()
    out: dict = {"devices": jax.device_count()}
    ref = noisy_net(reg).run({"p": x}, record=RECORD, batched=True)
    out["plastic"] = bool(not np.array_equal(ref["syn.weight"][:, 0], ref["syn.weight"][:, -1]))
    out["trials_differ"] = bool(not np.array_equal(ref["noise.spikes"][0], ref["noise.spikes"][1]))
    # one brain for the runs on 8 devices: a batched run leaves the brain unchanged, so its programs are reused
    b, mesh = noisy_net(reg), trial_mesh()
    for chunk in (None, 10):  # one program (state shared by the trials), chunks (per-trial state carried)
        out[f"equal_8_{chunk}"] = same(b.run({"p": x}, record=RECORD, batched=True, mesh=mesh, chunk=chunk), ref)
    parts = list(b.run_iter({"p": x}, record=RECORD, batched=True, mesh=mesh, chunk=10))  # the chunks' program again
    out["equal_run_iter"] = same({k: np.concatenate([p[k] for p in parts], axis=1) for k in RECORD}, ref)
    out["equal_2_None"] = same(noisy_net(reg).run({"p": x}, record=RECORD, batched=True, mesh=trial_mesh(2)), ref)
    # inputs already on the devices, sharded as the run needs them: used where they are
    xd = jax.device_put(x, jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("trials")))
    job = b._job({"p": xd}, None, RECORD, True, None, False, chunked=False, mesh=mesh)
    out["device_input_kept"] = job.series["p"] is xd
    out["equal_device_input"] = same(b.run({"p": xd}, record=RECORD, batched=True, mesh=mesh), ref)
    with tempfile.TemporaryDirectory() as tmp:
        streamed = b.run({"p": x}, record=RECORD, batched=True, mesh=mesh, chunk=10, out=Path(tmp) / "rec")
        out["equal_streamed"] = same(spark.load_recording(Path(tmp) / "rec", mmap=False), ref) and same(streamed, ref)
        # across a save/restore: a brain trained a while, saved, restored in another brain, then run data-parallel
        a = noisy_net(reg)
        a.run({"p": x[0]})
        a.save_state(Path(tmp) / "s.npz")
        restored = noisy_net(reg).load_state(Path(tmp) / "s.npz")
        out["equal_after_restore"] = same(restored.run({"p": x}, record=RECORD, batched=True, mesh=mesh),
                                          a.run({"p": x}, record=RECORD, batched=True))
    # constants per trial (not a time series), learning off: the weights are shared by the trials, replicated. The
    # currents are then one matrix product over a device's trials (2 here, 16 unsharded), whose summation order XLA
    # picks by its size: they may differ in the last bit (seen on an AVX-512 CPU), the spikes and weights may not
    c = x[:, 0]
    kw = dict(steps=20, record=RECORD, batched=True, learn=False)
    split, whole = b.run({"p": c}, mesh=mesh, **kw), noisy_net(reg).run({"p": c}, **kw)
    out["equal_consts_learn_off"] = same({k: split[k] for k in RECORD if k != "out.y"},
                                         {k: whole[k] for k in RECORD if k != "out.y"})
    out["ulps_consts_learn_off"] = ulps(split["out.y"], whole["out.y"])
    out["collectives"] = collectives(b)
    try:
        noisy_net(reg).run({"p": x[:6]}, record=RECORD, batched=True, mesh=mesh)
        out["indivisible"] = "no error"
    except spark.GraphError as exc:
        out["indivisible"] = str(exc)
    return out


if __name__ == "__main__":
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"  # read when JAX first uses a device
    print(json.dumps(main()))
