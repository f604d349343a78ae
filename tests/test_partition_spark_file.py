"""The same `.spark` model on 1 device and split by neuron over several (docs/scaling.md, "One network across
devices"): the shipped dendritic example (a Poisson encoder from spark-interfaces, which runs whole on every device,
and two composite layers of two-compartment neurons with dense plastic synapses from spark-components) gives the same
spikes and learned weights, bit for bit, with the one documented change ``mesh=spark.sharding.neuron_mesh(k)``; a
state saved from a split run restores onto another number of devices; a mesh that cannot split the populations is
refused with their sizes and the fix.

The multi-device run is a fresh process with 8 host devices (this process's JAX has started with one)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(r'''
    import json, re, sys, tempfile
    from pathlib import Path
    import importlib.resources as resources
    import jax
    import numpy as np
    from flax import nnx
    import spark
    from spark import brain as _brain
    from spark.sharding import neuron_mesh

    MODEL = resources.files("spark_components") / "examples" / "dendritic.spark"
    STEPS = 2000

    def state(brain):
        return {"/".join(map(str, p)): np.asarray(v.get_value()) for p, v in nnx.to_flat_state(nnx.state(brain))}

    def same(a, b):
        return set(a) == set(b) and all(np.array_equal(a[k], b[k]) for k in a)

    out = {"devices": jax.device_count()}
    plain = spark.Brain.from_file(MODEL)
    start = state(plain)
    ref = plain.run(steps=STEPS)
    out["spikes"] = {k: int(v.sum()) for k, v in ref.items()}
    learned = state(plain)
    out["plastic"] = any(not np.array_equal(start[k], v) for k, v in learned.items() if k.endswith("weight"))
    split = {}
    for k in (4, 2, 5):
        b = split[k] = spark.Brain.from_file(MODEL)
        got = b.run(steps=STEPS, mesh=neuron_mesh(k))
        out[f"equal_{k}"] = same(got, ref) and same(state(b), learned)
    texts = [fn.as_text() for fn in _brain._run_cache[split[4]].values() if hasattr(fn, "as_text")]
    out["gathers"] = [g for t in texts for g in re.findall(r"= (\S+) all-gather(?:-start)?\(", t)]
    with tempfile.TemporaryDirectory() as tmp:  # saved from 4 devices, restored and run on 2
        split[4].save_state(Path(tmp) / "s.npz")
        on2 = spark.Brain.from_file(MODEL).load_state(Path(tmp) / "s.npz").run(steps=500, mesh=neuron_mesh(2))
        out["equal_restored"] = same(on2, plain.run(steps=500))
    try:
        spark.Brain.from_file(MODEL).run(steps=10, mesh=neuron_mesh())
        out["indivisible"] = "no error"
    except spark.SparkError as exc:
        out["indivisible"] = str(exc)
    print(json.dumps(out))
''')


@pytest.fixture(scope="module")
def results() -> dict:
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=8"}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=900, env=env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["devices"] == 8
    return out


def test_the_model_spikes_and_learns(results):
    assert all(n > 0 for n in results["spikes"].values()), results["spikes"]
    assert results["plastic"]


@pytest.mark.parametrize("devices", [4, 2, 5])
def test_the_same_spikes_and_weights_split_over_devices(results, devices):
    assert results[f"equal_{devices}"]


def test_only_the_first_layers_spikes_cross_devices_bit_packed(results):
    # layer 1's 100 neurons, 25 a device, are read whole by layer 2's synapse and rule: 4 bytes a device
    assert results["gathers"] == ["u8[4,4]{1,0}"], results["gathers"]


def test_a_state_saved_split_restores_onto_another_number_of_devices(results):
    assert results["equal_restored"]


def test_eight_devices_cannot_split_100_neurons_and_say_so(results):
    msg = results["indivisible"]
    assert "'layer1.cell'" in msg and "100 neurons" in msg and "8 devices" in msg, msg
    assert "e.g. 96 or 104" in msg and "spark.sharding.neuron_mesh(5)" in msg, msg
