"""The native kernels as citizens of JAX's sharding (issue 16; docs/scaling.md): used only on the backend they were
built for (elsewhere the pure-JAX path runs), per-device types kept under ``jax.shard_map``'s default checks, and a
data-parallel Brain run where every device runs the batched kernel on its own trials, with nothing exchanged.

The multi-device checks run in a fresh process with 8 host devices (this process's JAX has started with one)."""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import spark
from spark.testing import run_on_host_devices
from spark_components import ExpSynapse, native, projection

HERE = Path(__file__).parent
pytestmark = pytest.mark.skipif(not native.kernels(), reason="native kernels unavailable")
CASES = ["dense", "sparse-delays"]


@pytest.fixture(scope="module")
def results() -> dict:
    out = run_on_host_devices(HERE / "sharded_native_checks.py", 8, timeout=900)
    assert out["devices"] == 8 and out["native"]
    return out


def test_a_users_shard_map_with_default_checks_keeps_the_kernels_types(results):
    assert results["user_shard_map"] is True, results["user_shard_map"]
    assert results["user_shard_map_collectives"] == 0


@pytest.mark.parametrize("path", ["native", "jax"])
@pytest.mark.parametrize("case", CASES)
def test_data_parallel_brain_equals_unsharded_bit_for_bit(results, case, path):
    r = results[f"{case}-{path}"]
    assert r["active"] and r["plastic"], "the network must spike and learn"
    assert r["equal"]
    assert r["collectives"] == 0, "nothing exchanged between devices"
    if path == "native":  # each device runs the batched kernels on its own trials (no per-trial loop)
        assert r["kernels"] and all(k.endswith("_batch") for k in r["kernels"]), r["kernels"]
    else:
        assert r["kernels"] == []


def step_program(syn, spikes):
    graph, state = nnx.split(syn)

    def step(state, s):
        m = nnx.merge(graph, state)
        i = m(dt=0.5, pre=s)["i"]
        m.weight[...] = m.spike_update(s, i > 1.0, jnp.full(m.shape[1], 0.01), jnp.full(m.shape[0], -0.01), 0.0, 5.0)
        return nnx.split(m)[1], i

    run = jax.jit(lambda state, xs: jax.lax.scan(step, state, xs))
    return run.lower(state, spikes).as_text(), run(state, spikes)


@pytest.mark.parametrize("storage", ["dense", "sparse"])
def test_the_kernels_run_only_on_the_backend_they_were_built_for(storage, monkeypatch):
    spikes = jnp.asarray(np.random.default_rng(0).random((20, 30)) < 0.2)

    def make():
        syn = ExpSynapse((30, 12), rngs=nnx.Rngs(2), p_connect=0.3, weight=2.0, storage=storage, dt=0.5)
        syn.prepare_spike_update()
        return syn

    monkeypatch.setattr(projection, "USE_NATIVE", True)
    text_cpu, on_cpu = step_program(make(), spikes)
    assert "spark_deliver" in text_cpu and "spark_spike_update" in text_cpu
    monkeypatch.setattr(native, "platform", lambda: "gpu")  # as on a GPU backend: the kernels are not built for it
    assert not native.usable()
    text_gpu, elsewhere = step_program(make(), spikes)
    assert "spark_" not in text_gpu, "a kernel registered for the CPU only must not be called elsewhere"
    for a, b in zip(jax.tree.leaves(on_cpu), jax.tree.leaves(elsewhere), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-5)


def test_a_brain_on_another_backend_takes_the_jax_path(monkeypatch):
    monkeypatch.setattr(native, "platform", lambda: "tpu")
    b = spark.Brain(dt=0.5, seed=1).add("inp", "lif", shape=10).add("ee", "exp_synapse", p_connect=0.5, weight=300.0)
    b.add("out", "lif", shape=4).connect("inp.spikes", "ee.pre").connect("ee.i", "out.i_syn")
    b.input("drive", "inp.i_syn").output("spikes", "out.spikes").build()
    b.run({"drive": np.full((5, 10), 900.0, np.float32)})
    texts = [fn.as_text() for fn in spark.brain._run_cache[b].values() if hasattr(fn, "as_text")]
    assert texts and not any("spark_deliver" in t for t in texts)
