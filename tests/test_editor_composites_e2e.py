"""Issue 18's "done when", end to end with every pack installed: a component made in a real `spark editor` process
(through the API its page uses; the page itself is tested in spark-editor/tests/test_composites_browser.py) is saved
to the folder's library, is in the editor's catalogue and in `spark list-components` (with SPARK_COMPONENT_PATH
naming that library), the model it came from keeps its spikes, and a second model using it twice runs in Python with
spikes identical to its flattened form.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("spark_editor")
pytest.importorskip("spark_components")
pytest.importorskip("spark_interfaces")

import spark
from spark import composite


def _exe() -> str:
    return shutil.which("spark", path=os.path.dirname(sys.executable)) or shutil.which("spark")


def _env(cwd: Path, **extra) -> dict:
    return {**os.environ, "JAX_PLATFORMS": "cpu", "SPARK_CACHE_DIR": str(cwd / ".cache"),
            "SPARK_EDITOR_NO_BROWSER": "1", "SPARK_COMPONENT_PATH": "", **extra}


def _call(base: str, token: str, path: str, body: dict | None = None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method="GET" if body is None else "POST",
                                 headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=300) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def plastic_model() -> dict:
    return {
        "format": "spark", "version": 1, "name": "plastic", "dt": 0.1, "seed": 5,
        "nodes": [
            {"id": "enc", "component": "spark-interfaces:poisson", "shape": [40], "params": {"max_rate": 80.0}},
            {"id": "syn", "component": "spark-components:exp_synapse", "params": {"weight": 400.0}},
            {"id": "exc", "component": "spark-components:lif", "shape": [20]},
            {"id": "stdp", "component": "spark-components:pair_stdp", "attach": "syn", "params": {"a_plus": 0.5}},
        ],
        "edges": [{"from": "enc.spikes", "to": "syn.pre"}, {"from": "syn.i", "to": "exc.i_syn"},
                  {"from": "enc.spikes", "to": "stdp.pre"}, {"from": "exc.spikes", "to": "stdp.post"}],
        "inputs": [{"name": "stim", "to": "enc.data", "value": 1.0}],
        "outputs": [{"name": "out", "from": "exc.spikes"}],
    }


def _run(doc: dict, registry, record: list[str], steps: int = 400) -> dict:
    brain = spark.Brain.from_dict(doc, registry=registry)
    rec = brain.run(steps=steps, record=record)
    return {k: np.asarray(rec[k]) for k in record}


@pytest.mark.slow
def test_a_component_made_in_the_editor_is_a_library_component(tmp_path, monkeypatch):
    (tmp_path / "plastic.spark").write_text(json.dumps(plastic_model()))
    proc = subprocess.Popen([_exe(), "editor", "plastic.spark", "--no-browser"], cwd=tmp_path, env=_env(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        m = re.search(r"(http://127\.0\.0\.1:\d+)/\?token=(\S+)", line)
        assert m, f"spark editor printed {line!r}"
        base, token = m.group(1), m.group(2)
        status, opened = _call(base, token, "/api/open?path=plastic.spark")
        assert status == 200 and opened["problems"] == [], opened
        status, offer = _call(base, token, "/api/component/propose", {"doc": opened["doc"],
                                                                       "nodes": ["syn", "exc", "stdp"]})
        assert status == 200, offer
        assert {p["name"] for p in offer["ports"] if p["crossing"]} == {"syn_pre", "stdp_pre", "spikes"}
        status, made = _call(base, token, "/api/component/make", {
            "doc": opened["doc"], "nodes": ["syn", "exc", "stdp"], "name": "plastic_cell", "kind": "soma",
            "description": "LIF neurons with their own plastic input synapses.",
            "params": [{"node": "syn", "param": "weight", "name": "weight"}]})
        assert status == 200, made
        assert made["problems"] == [] and made["path"] == "components/plastic_cell.spark"
        status, cat = _call(base, token, "/api/catalogue")
        entry = next(c for c in cat["components"] if c["id"] == "library:plastic_cell")
        assert entry["kind"] == "soma" and set(entry["params_schema"]["properties"]) == {"n", "weight"}
    finally:
        proc.terminate()
        proc.wait(30)

    # `spark list-components` lists it when the folder's components/ is the user library
    listed = subprocess.run([_exe(), "list-components", "--format", "json"], cwd=tmp_path, capture_output=True,
                            text=True, env=_env(tmp_path, SPARK_COMPONENT_PATH=str(tmp_path / "components")),
                            timeout=300)
    assert listed.returncode == 0, listed.stderr
    ids = {c["id"] for c in json.loads(listed.stdout)["components"]}
    assert "library:plastic_cell" in ids

    monkeypatch.setenv("SPARK_COMPONENT_PATH", str(tmp_path / "components"))
    reg = spark.Registry.discover()
    assert reg.resolve("library:plastic_cell").cls.kind == "soma"
    # the model it was made from keeps its spikes (constant initial weights; the encoder keeps its place)
    before = _run(plastic_model(), reg, ["enc.spikes", "exc.spikes", "syn.weight"])
    after = _run(made["doc"], reg, ["enc.spikes", "plastic_cell.spikes", "plastic_cell.syn.weight"])
    assert before["exc.spikes"].sum() > 0
    np.testing.assert_array_equal(before["enc.spikes"], after["enc.spikes"])
    np.testing.assert_array_equal(before["exc.spikes"], after["plastic_cell.spikes"])
    np.testing.assert_array_equal(before["syn.weight"], after["plastic_cell.syn.weight"])
    assert not np.array_equal(before["syn.weight"][0], before["syn.weight"][-1])  # STDP did learn

    # a second model uses it twice, with different sizes and weights: identical to its flattened form
    second = {
        "format": "spark", "version": 1, "name": "second", "dt": 0.1, "seed": 9,
        "nodes": [{"id": "enc", "component": "spark-interfaces:poisson", "shape": [30]},
                  {"id": "a", "component": "library:plastic_cell", "params": {"n": 10, "weight": 500.0}},
                  {"id": "b", "component": "library:plastic_cell", "params": {"n": 15}}],
        "edges": [{"from": "enc.spikes", "to": "a.syn_pre"}, {"from": "enc.spikes", "to": "a.stdp_pre"},
                  {"from": "a.spikes", "to": "b.syn_pre"}, {"from": "a.spikes", "to": "b.stdp_pre"}],
        "inputs": [{"name": "stim", "to": "enc.data", "value": 1.0}],
        "outputs": [{"name": "out", "from": "b.spikes"}],
    }
    assert spark.sparkfile.check(second, registry=reg)[0] == []
    flat = composite.flatten(second, reg)
    assert "library" not in json.dumps(flat["nodes"])
    nested = _run(second, reg, ["a.spikes", "b.spikes"])
    flat_run = _run(flat, reg, ["a.exc.spikes", "b.exc.spikes"])
    assert nested["a.spikes"].shape == (400, 10) and nested["b.spikes"].shape == (400, 15)
    assert nested["a.spikes"].sum() > 0
    np.testing.assert_array_equal(nested["a.spikes"], flat_run["a.exc.spikes"])
    np.testing.assert_array_equal(nested["b.spikes"], flat_run["b.exc.spikes"])
