"""Malformed `.spark` files: each problem is reported with its JSON path and specific advice, all at once."""

from __future__ import annotations

import copy
import json

import pytest
from brain_parts import ALL, set_at

import spark
from spark import sparkfile
from spark.testing import isolated_registry

GOOD = {
    "format": "spark", "version": 1, "name": "chain", "dt": 0.1, "seed": 1,
    "nodes": [
        {"id": "clk", "component": "test:clock", "shape": [3], "params": {"period": 4}},
        {"id": "syn", "component": "test:linear", "params": {"weight": 2.0}},
        {"id": "a", "component": "test:relay", "shape": [4]},
        {"id": "b", "component": "test:relay", "shape": [4]},
    ],
    "edges": [
        {"from": "clk.spikes", "to": "syn.pre"},
        {"from": "syn.i", "to": "a.x"},
        {"from": "a.y", "to": "b.x"},
    ],
    "inputs": [{"name": "drive", "to": "a.x"}],
    "outputs": [{"name": "out", "from": "b.y"}],
}


@pytest.fixture
def reg():
    return isolated_registry(*ALL)


def mutate(fn):
    doc = copy.deepcopy(GOOD)
    fn(doc)
    return doc


def test_the_good_file_is_valid(reg):
    assert sparkfile.validate(GOOD, reg) == []
    spark.Brain.from_dict(GOOD, reg)




CASES = {
    "top level is not an object": (lambda d: None, "$", "must be a JSON object"),
    "dt is a string": (set_at(["dt"], "0.1"), "$.dt", "wrong type: expected number"),
    "dt is zero": (set_at(["dt"], 0), "$.dt", "must be > 0"),
    "dt is negative": (set_at(["dt"], -0.1), "$.dt", "must be > 0"),
    "negative size": (set_at(["nodes", 2, "shape"], [-4]), "$.nodes[2].shape[0]", "must be >= 1"),
    "unknown component": (set_at(["nodes", 2, "component"], "test:relais"), "$.nodes[2].component",
                          "unknown component 'test:relais'"),
    "component of a pack not installed": (set_at(["nodes", 2, "component"], "brainpack:relay"), "$.nodes[2].component",
                                          "a component named 'relay' is provided as test:relay"),
    "unknown short name": (set_at(["nodes", 2, "component"], "gizmo"), "$.nodes[2].component",
                           "run `spark list-components`"),
    "NaN param": (set_at(["nodes", 1, "params", "weight"], float("nan")), "$.nodes[1].params.weight", "is NaN"),
    "param out of bounds": (set_at(["nodes", 0, "params", "period"], 0), "$.nodes[0].params.period",
                            "out of bounds: it must be >= 1 steps"),
    "param of the wrong type": (set_at(["nodes", 0, "params", "period"], "four"), "$.nodes[0].params.period",
                                "is not an integer"),
    "unknown param": (set_at(["nodes", 0, "params", "perod"], 4), "$.nodes[0].params.perod", "did you mean 'period'"),
    "duplicate node id": (set_at(["nodes", 3, "id"], "a"), "$.nodes[3].id", "duplicate node id 'a'"),
    "edge to a missing node": (set_at(["edges", 2, "to"], "bb.x"), "$.edges[2].to",
                               "there is no node 'bb'; did you mean 'b'"),
    "missing port": (set_at(["edges", 2, "to"], "b.input"), "$.edges[2].to",
                     "has no input port 'input'; its inputs are: x"),
    "edge from an input": (set_at(["edges", 2, "from"], "a.x"), "$.edges[2].from", "is an input port"),
    "payload mismatch": (set_at(["edges", 1, "from"], "clk.spikes"), "$.edges[1]",
                         "cannot connect clk.spikes (Spikes) to a.x (Current)"),
    "shape mismatch": (set_at(["nodes", 3, "shape"], [5]), "$.edges[2]",
                       "a.y (Current, shape [4]) cannot feed b.x (Current, shape [5])"),
    "zero-delay cycle": (lambda d: d["edges"].append({"from": "b.y", "to": "a.x"}), "$.edges",
                         "zero-delay cycle: a -> b -> a"),
    "not a port reference": (set_at(["edges", 0, "from"], "clk"), "$.edges[0].from", "write it as \"node.port\""),
    "unknown top-level key": (set_at(["nodez"], []), "$", "'nodez' was unexpected"),
    "missing nodes": (lambda d: d.pop("nodes"), "$", "'nodes' is a required property"),
    "required input unconnected": (lambda d: d["edges"].pop(0), "$.nodes[1]",
                                   "required input syn.pre (Spikes) is not connected"),
    "two spike sources": (lambda d: d["nodes"].append({"id": "clk2", "component": "test:clock", "shape": [3]})
                          or d["edges"].append({"from": "clk2.spikes", "to": "syn.pre"}), "$.nodes[1]",
                          "syn.pre (Spikes) has 2 sources"),
    "rule not attached": (lambda d: d["nodes"].append({"id": "r", "component": "test:hebb"}), "$.nodes[4]",
                          "is not attached"),
    "attach to a soma": (lambda d: d["nodes"].append({"id": "r", "component": "test:hebb", "attach": "a"}),
                         "$.nodes[4].attach", "attach it to a synapse node"),
    "shape not inferable": (lambda d: d["nodes"].append({"id": "lonely", "component": "test:linear"}), "$.nodes[4]",
                            "cannot be inferred"),
    "wrong synapse shape": (set_at(["nodes", 1, "shape"], [3]), "$.nodes[1].shape", "must be [n_pre, n_post]"),
    "requires a pack not installed": (set_at(["requires"], {"spark-nowhere-pack": ">=1"}),
                                      "$.requires.spark-nowhere-pack", "pip install 'spark-nowhere-pack>=1'"),
    "bad version range": (set_at(["requires"], {"spark-core": "at least one"}), "$.requires.spark-core",
                          "is not a version range"),
    "duplicate input name": (lambda d: d["inputs"].append({"name": "drive", "to": "b.x"}), "$.inputs[1].name",
                             "duplicate input name 'drive'"),
    "output from an input port": (set_at(["outputs", 0, "from"], "b.x"), "$.outputs[0].from", "is an input port"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_malformed_model_gets_its_own_message(reg, case):
    fn, path, text = CASES[case]
    doc = [1, 2] if case == "top level is not an object" else mutate(fn)
    problems = sparkfile.validate(doc, reg)
    assert problems, f"{case}: no problem reported"
    hits = [p for p in problems if p.path == path and text in p.message]
    assert hits, f"{case}: expected {path}: ...{text}...; got:\n" + "\n".join(map(str, problems))
    with pytest.raises(spark.SparkFileError) as info:
        spark.Brain.from_dict(doc, reg, source="model.spark")
    assert "model.spark" in str(info.value) and text in str(info.value)


def test_every_problem_is_reported_at_once(reg):
    def many(d):
        d["dt"] = -1
        d["nodes"][0]["params"]["period"] = 0
        d["edges"][2]["to"] = "nowhere.x"
        d["nodes"][3]["id"] = "a"
    problems = sparkfile.validate(mutate(many), reg)
    paths = {p.path for p in problems}
    assert {"$.dt", "$.nodes[0].params.period", "$.edges[2].to", "$.nodes[3].id"} <= paths


def test_problems_name_their_node_and_edge(reg):
    problems = sparkfile.validate(mutate(set_at(["edges", 2, "to"], "b.input")), reg)
    assert problems[0].node == "b" and problems[0].edge == 2
    assert problems[0].to_json()["path"] == "$.edges[2].to"


def test_bad_json_is_reported_with_its_line(tmp_path):
    f = tmp_path / "broken.spark"
    f.write_text('{"format": "spark",\n "version": 1,\n "dt": 0.1,,\n}')
    with pytest.raises(spark.SparkFileError) as info:
        sparkfile.read(f)
    assert "not valid JSON" in str(info.value) and "line 3" in str(info.value)
    assert str(f) in str(info.value)


def test_missing_file_is_reported(tmp_path):
    with pytest.raises(spark.SparkFileError, match="file not found"):
        sparkfile.read(tmp_path / "nope.spark")


def test_a_newer_format_version_is_refused_with_advice(tmp_path):
    f = tmp_path / "future.spark"
    f.write_text(json.dumps({**GOOD, "version": 99}))
    with pytest.raises(spark.SparkFileError, match="newer than this Spark reads.*upgrade spark-core"):
        sparkfile.read(f)


def test_a_file_never_imports_code(reg):
    doc = mutate(set_at(["nodes", 2, "component"], "os:system"))
    problems = sparkfile.validate(doc, reg)
    assert any("unknown component 'os:system'" in p.message for p in problems)
    doc = mutate(set_at(["nodes", 2, "component"], "spark.brain:Brain"))
    assert any("unknown component" in p.message for p in sparkfile.validate(doc, reg))


def test_validation_does_no_jax_work(reg, monkeypatch):
    import jax

    def boom(*a, **k):
        raise AssertionError("validation must not touch JAX")

    monkeypatch.setattr(jax.random, "PRNGKey", boom)
    monkeypatch.setattr(jax, "jit", boom)
    assert sparkfile.validate(GOOD, reg) == []
    assert sparkfile.validate(mutate(set_at(["dt"], 0)), reg)
