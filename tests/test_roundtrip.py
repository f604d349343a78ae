"""file -> Brain -> file is lossless; a Brain built in Python saves to a file that rebuilds the same network."""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

import numpy as np

import spark
from spark import sparkfile

MODEL = Path(__file__).parent / "data" / "two_inputs.spark"


def test_file_brain_file_is_lossless(tmp_path):
    original = json.loads(MODEL.read_text())
    brain = spark.Brain.from_file(MODEL)
    assert brain.to_dict() == original  # every key, the editor section included
    out = tmp_path / "copy.spark"
    brain.to_file(out)
    assert json.loads(out.read_text()) == original
    assert spark.Brain.from_file(out).to_dict() == original


def test_optional_keys_are_filled_in_canonically(tmp_path):
    minimal = {"format": "spark", "version": 1, "dt": 0.1,
               "nodes": [{"id": "n", "component": "spark-components:lif", "shape": [3]}]}
    brain = spark.Brain.from_dict(minimal)
    assert brain.to_dict() == sparkfile.canonical(minimal)
    brain.to_file(tmp_path / "m.spark")
    assert spark.Brain.from_file(tmp_path / "m.spark").to_dict() == brain.to_dict()


def test_python_built_brain_round_trips_through_a_file(tmp_path):
    b = spark.Brain(dt=0.1, seed=5, name="py")
    b.add("inp", "poisson", shape=30, max_rate=150.0).add("exc", "lif", shape=12, tau_m=12.0)
    b.add("syn", "exp_synapse", weight=180.0, p_connect=0.4).add("stdp", "pair_stdp", attach="syn")
    b.connect("inp.spikes", "syn.pre").connect("syn.i", "exc.i_syn")
    b.connect("inp.spikes", "stdp.pre").connect("exc.spikes", "stdp.post")
    b.input("rate", "inp.data", value=0.9).output("spikes", "exc.spikes")
    b.build()
    doc = b.to_dict()
    versions = {d: importlib.metadata.version(d) for d in ("spark-interfaces", "spark-components")}
    assert doc["requires"] == {d: f">={v}" for d, v in versions.items()}
    assert [n["component"] for n in doc["nodes"]] == [
        "spark-interfaces:poisson", "spark-components:lif", "spark-components:exp_synapse",
        "spark-components:pair_stdp"]
    b.to_file(tmp_path / "py.spark")
    c = spark.Brain.from_file(tmp_path / "py.spark")
    r1 = b.run(steps=400, record=["exc.spikes", "syn.weight"])
    r2 = c.run(steps=400, record=["exc.spikes", "syn.weight"])
    assert r1["exc.spikes"].sum() > 0
    np.testing.assert_array_equal(r1["exc.spikes"], r2["exc.spikes"])
    np.testing.assert_array_equal(r1["syn.weight"], r2["syn.weight"])
