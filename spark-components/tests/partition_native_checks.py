"""Run in a fresh process with 8 host devices by test_partition_native.py: one E/I network of LIF neurons with
plastic dense synapses (pair STDP, weight normalisation) split by neuron over 8 devices
(spark.sharding.neuron_mesh) against the unsplit run, on the native and the JAX paths; the compiled program's
collectives and kernels; a save/restore onto another number of devices; the same with sparse storage, per-synapse
delays and a rule with per-synapse state.
Prints one JSON line of results."""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

import jax
import numpy as np

import spark
from spark import brain as _brain
from spark.sharding import neuron_mesh
from spark_components import native, projection

RECORD = ["exc.spikes", "exc.v", "inh.spikes", "ee.weight", "stdp.x_pre", "stdp.x_post", "ei.i", "ie.weight"]
COLLECTIVES = ("all-reduce", "all-to-all", "collective-permute", "reduce-scatter")


def net(storage: str = "dense", *, surrogate: bool = False, delays: bool = False) -> spark.Brain:
    b = spark.Brain(dt=0.5, seed=1)
    b.add("exc", "lif", shape=64, v_init_jitter=10.0).add("inh", "lif", shape=16)
    b.add("ee", "exp_synapse", p_connect=0.3, weight=150.0, storage=storage,
          **({"delay": 1.5, "delay_jitter": 2.0} if delays else {}))
    b.add("ei", "exp_synapse", p_connect=0.5, weight=200.0, storage=storage)
    b.add("ie", "exp_synapse", p_connect=0.5, weight=-100.0, storage=storage)
    b.add("stdp", "pair_stdp", attach="ee", a_plus=5.0, a_minus=5.0, w_max=1000.0)
    b.add("norm", "weight_normalization", attach="ee", target=2000.0)
    b.add("istdp", "hebbian", attach="ie")
    b.connect("exc.spikes", "ee.pre", delay=1.0).connect("ee.i", "exc.i_syn")
    b.connect("exc.spikes", "ei.pre").connect("ei.i", "inh.i_syn")
    b.connect("inh.spikes", "ie.pre").connect("ie.i", "exc.i_syn")
    b.connect("exc.spikes", "stdp.pre").connect("exc.spikes", "stdp.post")
    b.connect("inh.spikes", "istdp.pre").connect("exc.spikes", "istdp.post")
    b.input("drive", "exc.i_syn").output("spikes", "exc.spikes")
    return (b.use_surrogate() if surrogate else b).build()


def programs(brain) -> list[str]:
    return [fn.as_text() for fn in _brain._run_cache[brain].values() if hasattr(fn, "as_text")]


def same(a, b) -> bool:
    return set(a) == set(b) and all(np.array_equal(np.asarray(a[k]), np.asarray(b[k])) for k in a)


def main() -> dict:
    out: dict = {"devices": jax.device_count(), "native_usable": bool(native.usable())}
    x = np.random.default_rng(0).uniform(0, 1200, size=(40, 64)).astype(np.float32)
    for path in ("native", "jax"):
        projection.USE_NATIVE = path == "native"
        ref = net().run({"drive": x}, record=RECORD)
        b = net()
        got = b.run({"drive": x}, record=RECORD, mesh=neuron_mesh())
        texts = programs(b)
        out[path] = {
            "equal": same(got, ref),
            "active": bool(ref["exc.spikes"].any() and ref["inh.spikes"].any()),
            "plastic": bool(not np.array_equal(ref["ee.weight"][0], ref["ee.weight"][-1])
                            and not np.array_equal(ref["ie.weight"][0], ref["ie.weight"][-1])),
            "gathers": [g for t in texts for g in re.findall(r"= (\S+) all-gather(?:-start)?\(", t)],
            "other_collectives": sum(t.count(f" {c}(") + t.count(f" {c}-start(") for t in texts for c in COLLECTIVES),
            "kernels": sorted({k for t in texts for k in re.findall(r'custom_call_target="(spark_\w+)"', t)}),
        }
        with tempfile.TemporaryDirectory() as tmp:  # saved from 8 devices, restored and run on 4 and on 1
            b.save_state(Path(tmp) / "s.npz")
            on4 = net().load_state(Path(tmp) / "s.npz").run({"drive": x}, record=RECORD, mesh=neuron_mesh(4))
            on1 = net().load_state(Path(tmp) / "s.npz").run({"drive": x}, record=RECORD)
            plain = net()
            plain.run({"drive": x})
            out[path]["equal_after_restore"] = same(on4, on1) and same(on1, plain.run({"drive": x}, record=RECORD))
    projection.USE_NATIVE = True
    # a surrogate gradient's float32 0/1 spikes cross devices as bits too
    ref = net(surrogate=True).run({"drive": x}, record=RECORD)
    b = net(surrogate=True)
    got = b.run({"drive": x}, record=RECORD, mesh=neuron_mesh())
    out["surrogate"] = {"equal": same(got, ref), "float_spikes": str(ref["exc.spikes"].dtype),
                        "gathers": [g for t in programs(b) for g in re.findall(r"= (\S+) all-gather(?:-start)?\(", t)]}
    out["sparse"] = sparse_checks(x)
    return out


def sparse_checks(x) -> dict:
    """Sparse storage (rows of postsynaptic indices), per-synapse delays, pair STDP through the column index, weight
    normalisation, a Hebbian rule and a reward-modulated rule with an eligibility trace per synapse: split over 8
    devices and run in two chunks, then run again from the state the split run left, against the unsplit runs."""
    out = {}
    rec = [*RECORD, "elig.eligibility"]
    for path in ("native", "jax"):
        projection.USE_NATIVE = path == "native"

        def sparse_net():
            b = net("sparse", delays=True).to_dict()
            b["nodes"].append({"id": "elig", "component": "spark-components:reward_stdp", "attach": "ei",
                               "params": {"eta": 0.5, "w_max": 1000.0}})
            b["edges"] += [{"from": "exc.spikes", "to": "elig.pre"}, {"from": "inh.spikes", "to": "elig.post"}]
            b["inputs"].append({"name": "reward", "to": "elig.modulator"})
            return spark.Brain.from_dict(b)

        reward = np.sin(np.arange(40, dtype=np.float32) / 3.0)[:, None]
        inputs = {"drive": x, "reward": reward}
        plain = sparse_net()
        ref = [plain.run(inputs, record=rec, chunk=25), plain.run(inputs, record=rec)]
        b = sparse_net()
        got = [b.run(inputs, record=rec, chunk=25, mesh=neuron_mesh()), b.run(inputs, record=rec, mesh=neuron_mesh())]
        texts = programs(b)
        with tempfile.TemporaryDirectory() as tmp:  # saved after the split runs, restored and run on 4 devices
            b.save_state(Path(tmp) / "s.npz")
            on4 = sparse_net().load_state(Path(tmp) / "s.npz").run(inputs, record=rec, mesh=neuron_mesh(4))
        after = plain.run(inputs, record=rec)
        out[path] = {
            "sparse": all(b.nodes[k].sparse for k in ("ee", "ei", "ie")) and b.nodes["ee"].depth > 1,
            "equal": same(got[0], ref[0]) and same(got[1], ref[1]),
            "equal_after_restore": same(on4, after),
            "plastic": all(not np.array_equal(ref[0][k][0], ref[1][k][-1]) for k in ("ee.weight", "ie.weight"))
            and bool(np.abs(ref[0]["elig.eligibility"]).max() > 0),
            "gathers": [g for t in texts for g in re.findall(r"= (\S+) all-gather(?:-start)?\(", t)],
            "other_collectives": sum(t.count(f" {c}(") + t.count(f" {c}-start(") for t in texts for c in COLLECTIVES),
            "kernels": sorted({k for t in texts for k in re.findall(r'custom_call_target="(spark_\w+)"', t)}),
        }
    projection.USE_NATIVE = True
    return out


if __name__ == "__main__":
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"  # read when JAX first uses a device
    print(json.dumps(main()))
