"""Run in a fresh process with 8 host devices by test_sharded_native.py: the native kernels under ``shard_map``.

- a Brain (LIF -> exp_synapse with pair STDP -> LIF, dense / sparse with delays) run data-parallel over 8
  devices equals the unsharded batched run bit for bit, native and JAX paths, and its compiled program calls the
  batched kernels on each device's own trials with no collective;
- a user's own ``jax.shard_map`` (default checks) of ``vmap`` of a scan over a native synapse's steps runs (the
  kernels' outputs keep their per-device type) and equals the unsharded ``vmap``.

Prints one JSON line of results."""

from __future__ import annotations

import json
import os
import re

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jax.sharding import PartitionSpec as P

import spark
from spark import brain as _brain
from spark.sharding import trial_mesh
from spark_components import ExpSynapse, native, projection

RECORD = ["inp.spikes", "out.spikes", "out.v", "ee.weight"]
COLLECTIVES = ("all-gather", "all-reduce", "all-to-all", "collective-permute", "reduce-scatter")
CASES = [("dense", False), ("sparse", True)]  # sparse without delays: the same kernels as with them


def net(storage: str, delays: bool) -> spark.Brain:
    b = spark.Brain(dt=0.5, seed=1)
    b.add("inp", "lif", shape=40, v_init_jitter=5.0)
    b.add("ee", "exp_synapse", p_connect=0.3, weight=300.0, storage=storage,
          **(dict(delay=1.0, delay_jitter=1.0) if delays else {}))
    b.add("out", "lif", shape=20).add("stdp", "pair_stdp", attach="ee", a_plus=5.0, a_minus=5.0, w_max=1000.0)
    b.connect("inp.spikes", "ee.pre").connect("ee.i", "out.i_syn")
    b.connect("inp.spikes", "stdp.pre").connect("out.spikes", "stdp.post")
    return b.input("drive", "inp.i_syn").output("spikes", "out.spikes").build()


def programs(brain) -> list[str]:
    return [fn.as_text() for fn in _brain._run_cache[brain].values() if hasattr(fn, "as_text")]


def brain_checks(out: dict) -> None:
    x = np.random.default_rng(0).uniform(0, 1200, size=(16, 30, 40)).astype(np.float32)
    mesh = trial_mesh()
    for storage, delays in CASES:
        for path in ("native", "jax"):
            projection.USE_NATIVE = path == "native"
            name = f"{storage}{'-delays' if delays else ''}-{path}"
            ref = net(storage, delays).run({"drive": x}, record=RECORD, batched=True)
            b = net(storage, delays)
            got = b.run({"drive": x}, record=RECORD, batched=True, mesh=mesh)
            out[name] = {
                "equal": all(np.array_equal(got[k], ref[k]) for k in RECORD),
                "active": bool(ref["out.spikes"].any()) and bool(ref["inp.spikes"].any()),
                "plastic": bool(not np.array_equal(ref["ee.weight"][:, 0], ref["ee.weight"][:, -1])),
                "collectives": sum(t.count(c) for t in programs(b) for c in COLLECTIVES),
                "kernels": sorted({k for t in programs(b) for k in re.findall(r'custom_call_target="(spark_\w+)"', t)}),
            }
    projection.USE_NATIVE = True


def user_shard_map(out: dict) -> None:
    """A synapse stepped by a user's own shard_map(vmap(scan)) with the default checks (check_vma=True)."""
    B, T = 8, 30
    syn = ExpSynapse((30, 12), rngs=nnx.Rngs(2), p_connect=0.3, weight=2.0, storage="sparse", delay=0.5,
                     delay_jitter=1.0, dt=0.5)
    syn.prepare_spike_update()
    graph, fixed, state = nnx.split(syn, nnx.Any(spark.Weight, spark.Const), ...)
    per_trial = jax.tree.map(lambda a: jnp.broadcast_to(a, (B, *a.shape)), (fixed, state))
    spikes = jnp.asarray(np.random.default_rng(1).random((B, T, 30)) < 0.2)

    def trial(carry, spikes):
        def body(carry, s):
            m = nnx.merge(graph, *carry)
            i = m(dt=0.5, pre=s)["i"]
            m.weight[...] = m.spike_update(s, i > 1.0, jnp.full(12, 0.01), jnp.full(30, -0.01), 0.0, 5.0)
            return nnx.split(m, nnx.Any(spark.Weight, spark.Const), ...)[1:], i
        return jax.lax.scan(body, carry, spikes)

    ref = jax.jit(jax.vmap(trial))(per_trial, spikes)
    mesh = trial_mesh()
    sharded = jax.jit(jax.shard_map(jax.vmap(trial), mesh=mesh, in_specs=P("trials"), out_specs=P("trials")))
    try:
        got = sharded(per_trial, spikes)
        pairs = zip(jax.tree.leaves(got), jax.tree.leaves(ref), strict=True)
        out["user_shard_map"] = all(np.array_equal(a, b) for a, b in pairs)
        text = sharded.lower(per_trial, spikes).compile().as_text()
        out["user_shard_map_collectives"] = sum(text.count(c) for c in COLLECTIVES)
    except Exception as exc:
        out["user_shard_map"] = f"{type(exc).__name__}: {exc}"[:2000]


def main() -> dict:
    out: dict = {"devices": jax.device_count(), "native": native.usable()}
    user_shard_map(out)
    brain_checks(out)
    return out


if __name__ == "__main__":
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"  # read when JAX first uses a device
    print(json.dumps(main()))
