"""Composite components (docs/composites.md): a subgraph with exposed ports and params, used as one node.

Made of the tiny parts of brain_parts (no pack needed). What is checked: the flat graph a composite becomes (ids
``cell.syn``, edges rewired, params substituted) and that a model using it steps bit for bit like that graph written
out by hand, with plasticity on and a stochastic source; nesting; params passing and defaults; recording by path
(an inner port, an inner variable, an exposed port); learn switches and save/load_state inside composites; the
catalogue entry; the user library; and each kind of bad composite, with the path inside it and the fix.
"""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

import spark
from spark import composite
from spark.testing import isolated_registry

import brain_parts as bp

CELL = {
    "format": "spark", "version": 1, "dt": 1.0, "name": "cell",
    "component": {
        "name": "cell", "kind": "soma", "doc": "A threshold cell behind its own plastic synapse.",
        "params": {"n": {"type": "integer", "default": 3, "minimum": 1, "doc": "neurons"},
                   "w": {"type": "number", "default": 0.3, "unit": "pA", "doc": "initial weight"},
                   "th": {"type": "number", "default": 0.5, "unit": "pA", "doc": "threshold"}},
        "inputs": {"pre": {"to": ["syn.pre", "rule.pre"], "doc": "input spikes"}},
        "outputs": {"spikes": {"from": "soma.spikes"}},
    },
    "nodes": [
        {"id": "syn", "component": "linear", "params": {"weight": {"param": "w"}}},
        {"id": "soma", "component": "threshold", "shape": [{"param": "n"}], "params": {"v_thresh": {"param": "th"}}},
        {"id": "rule", "component": "hebb", "attach": "syn", "params": {"rate": 0.01}},
    ],
    "edges": [{"from": "syn.i", "to": "soma.x"}, {"from": "soma.spikes", "to": "rule.post"}],
}

# two cells in a chain, the second driven by the first: a composite of composites
PAIR = {
    "format": "spark", "version": 1, "dt": 1.0,
    "component": {
        "name": "pair", "doc": "Two cells in a chain.",
        "params": {"n": {"type": "integer", "default": 2}, "th2": {"type": "number", "default": 0.1}},
        "inputs": {"pre": {"to": "a.pre"}},
        "outputs": {"first": {"from": "a.spikes"}, "second": {"from": "b.spikes"}},
    },
    "nodes": [
        {"id": "a", "component": "test:cell", "params": {"n": {"param": "n"}}},
        {"id": "b", "component": "test:cell", "params": {"n": {"param": "n"}, "th": {"param": "th2"}, "w": 0.6}},
    ],
    "edges": [{"from": "a.spikes", "to": "b.pre", "delay": 1.0}],
}

MODEL = {
    "format": "spark", "version": 1, "dt": 1.0, "seed": 3, "name": "uses_cell",
    "nodes": [{"id": "src", "component": "noise", "shape": [4]},
              {"id": "cell", "component": "test:cell", "params": {"n": 5, "th": 0.2}}],
    "edges": [{"from": "src.spikes", "to": "cell.pre"}],
    "inputs": [{"name": "rate", "to": "src.data", "value": 0.5}],
    "outputs": [{"name": "out", "from": "cell.spikes"}],
}

# MODEL written out by hand: the composite's nodes in its place, its edges before the model's own
HAND = {
    "format": "spark", "version": 1, "dt": 1.0, "seed": 3, "name": "uses_cell",
    "nodes": [{"id": "src", "component": "noise", "shape": [4]},
              {"id": "cell.syn", "component": "linear", "params": {"weight": 0.3}},
              {"id": "cell.soma", "component": "threshold", "shape": [5], "params": {"v_thresh": 0.2}},
              {"id": "cell.rule", "component": "hebb", "attach": "cell.syn", "params": {"rate": 0.01}}],
    "edges": [{"from": "cell.syn.i", "to": "cell.soma.x"},
              {"from": "cell.soma.spikes", "to": "cell.rule.post"},
              {"from": "src.spikes", "to": "cell.syn.pre"},
              {"from": "src.spikes", "to": "cell.rule.pre"}],
    "inputs": [{"name": "rate", "to": "src.data", "value": 0.5}],
    "outputs": [{"name": "out", "from": "cell.soma.spikes"}],
}


@pytest.fixture
def reg():
    r = isolated_registry(*bp.ALL)
    r.register_composite(CELL, distribution="test")
    r.register_composite(PAIR, distribution="test")
    return r


def problems_of(doc, reg):
    return [str(p) for p in spark.sparkfile.validate(doc, reg)]


# ----- flattening ---------------------------------------------------------------------------------------------------


def test_flatten_gives_the_graph_written_by_hand(reg):
    flat = composite.flatten(MODEL, reg)
    for key in ("nodes", "edges", "inputs", "outputs"):
        assert flat[key] == HAND[key], key


def test_composite_and_hand_flattened_models_spike_bit_for_bit_with_plasticity_on(reg):
    a, b = spark.Brain.from_dict(MODEL, reg), spark.Brain.from_dict(HAND, reg)
    ra = a.run(steps=200, record=["cell.soma.spikes", "cell.syn.weight", "src.spikes"])
    rb = b.run(steps=200, record=["cell.soma.spikes", "cell.syn.weight", "src.spikes"])
    assert ra["cell.soma.spikes"].any() and not ra["cell.soma.spikes"].all(), "a test of nothing"
    assert not np.array_equal(ra["cell.syn.weight"][0], ra["cell.syn.weight"][-1]), "plasticity did nothing"
    for key in ra:
        np.testing.assert_array_equal(ra[key], rb[key], err_msg=key)
    assert sorted(a.nodes) == sorted(b.nodes) == ["cell.rule", "cell.soma", "cell.syn", "src"]
    # the same compiled program: one step's jaxpr is the same text
    import jax
    from flax import nnx

    def step_jaxpr(brain):
        graphdef, state = nnx.split(brain)
        return str(jax.make_jaxpr(lambda s: nnx.merge(graphdef, s)._step({}))(state))

    assert step_jaxpr(a) == step_jaxpr(b)


def test_the_model_document_keeps_the_composite_node(reg, tmp_path):
    brain = spark.Brain.from_dict(MODEL, reg)
    assert [n["id"] for n in brain.to_dict()["nodes"]] == ["src", "cell"]
    brain.to_file(tmp_path / "m.spark")
    assert json.loads((tmp_path / "m.spark").read_text())["nodes"][1]["component"] == "test:cell"


def test_params_pass_and_defaults_fill_in(reg):
    doc = copy.deepcopy(MODEL)
    doc["nodes"][1]["params"] = {"w": 0.7}
    flat = composite.flatten(doc, reg)
    nodes = {n["id"]: n for n in flat["nodes"]}
    assert nodes["cell.soma"]["shape"] == [3]  # default n
    assert nodes["cell.soma"]["params"] == {"v_thresh": 0.5}  # default th
    assert nodes["cell.syn"]["params"] == {"weight": 0.7}  # given
    doc["nodes"][1]["params"] = {"n": 7.0}  # an integral float is an integer
    assert {n["id"]: n for n in composite.flatten(doc, reg)["nodes"]}["cell.soma"]["shape"] == [7]


def test_nested_composites_flatten_to_dotted_paths_and_run(reg):
    doc = copy.deepcopy(MODEL)
    doc["nodes"][1] = {"id": "p", "component": "test:pair", "params": {"n": 4}}
    doc["edges"] = [{"from": "src.spikes", "to": "p.pre"}]
    doc["outputs"] = [{"name": "first", "from": "p.first"}, {"name": "second", "from": "p.second"}]
    flat = composite.flatten(doc, reg)
    ids = [n["id"] for n in flat["nodes"]]
    assert ids == ["src", "p.a.syn", "p.a.soma", "p.a.rule", "p.b.syn", "p.b.soma", "p.b.rule"]
    nodes = {n["id"]: n for n in flat["nodes"]}
    assert nodes["p.b.soma"]["params"] == {"v_thresh": 0.1} and nodes["p.b.soma"]["shape"] == [4]
    assert nodes["p.b.syn"]["params"] == {"weight": 0.6} and nodes["p.a.syn"]["params"] == {"weight": 0.3}
    assert {"from": "p.a.soma.spikes", "to": "p.b.syn.pre", "delay": 1.0} in flat["edges"]
    assert {"from": "p.a.soma.spikes", "to": "p.b.rule.pre", "delay": 1.0} in flat["edges"]
    assert flat["outputs"] == [{"name": "first", "from": "p.a.soma.spikes"},
                               {"name": "second", "from": "p.b.soma.spikes"}]
    a, b = spark.Brain.from_dict(doc, reg), spark.Brain.from_dict(flat, reg)
    ra = a.run(steps=100, record=["p.second", "p.b.syn.weight"])
    rb = b.run(steps=100, record=["p.b.soma.spikes", "p.b.syn.weight"])
    assert ra["p.second"].any()
    np.testing.assert_array_equal(ra["p.second"], rb["p.b.soma.spikes"])
    np.testing.assert_array_equal(ra["p.b.syn.weight"], rb["p.b.syn.weight"])


# ----- recording, learning and state --------------------------------------------------------------------------------


def test_record_inner_ports_and_variables_by_path_and_exposed_ports_by_name(reg):
    brain = spark.Brain.from_dict(MODEL, reg)
    rec = brain.run(steps=30, record=["cell.spikes", "cell.soma.spikes", "cell.syn.i[0:2]", "cell.syn.weight@10",
                                      "cell.rule.updates"])
    assert rec["cell.spikes"].shape == (30, 5) and rec["cell.syn.i[0:2]"].shape == (30, 2)
    assert rec["cell.syn.weight@10"].shape == (3, 4, 5) and rec["cell.rule.updates"][-1] == 30
    np.testing.assert_array_equal(rec["cell.spikes"], rec["cell.soma.spikes"])
    assert list(brain.run(steps=3, record=None)) == ["out"]
    with pytest.raises(spark.GraphError, match="no output port or state variable 'vv'"):
        brain.run(steps=3, record=["cell.soma.vv"])


def test_learning_switches_reach_inside_composites(reg):
    brain = spark.Brain.from_dict(MODEL, reg)
    assert brain.learned_variables() == ["cell.syn.weight"]
    w0 = np.asarray(brain.nodes["cell.syn"].weight[...])
    brain.run(steps=50, learn={"cell.rule": False})
    np.testing.assert_array_equal(brain.nodes["cell.syn"].weight[...], w0)
    assert int(brain.nodes["cell.rule"].updates[...]) == 0
    brain.run(steps=50, learn={"cell.syn.weight": False})
    np.testing.assert_array_equal(brain.nodes["cell.syn"].weight[...], w0)
    assert int(brain.nodes["cell.rule"].updates[...]) == 50
    brain.run(steps=50)
    assert not np.array_equal(brain.nodes["cell.syn"].weight[...], w0)


def test_save_and_load_state_inside_composites_resume_exactly(reg, tmp_path):
    whole = spark.Brain.from_dict(MODEL, reg)
    full = whole.run(steps=80, record=["cell.spikes", "cell.syn.weight"])
    first = spark.Brain.from_dict(MODEL, reg)
    first.run(steps=40)
    first.save_state(tmp_path / "s.npz")
    second = spark.Brain.from_dict(MODEL, reg).load_state(tmp_path / "s.npz")
    rest = second.run(steps=40, record=["cell.spikes", "cell.syn.weight"])
    np.testing.assert_array_equal(rest["cell.spikes"], full["cell.spikes"][40:])
    np.testing.assert_array_equal(rest["cell.syn.weight"], full["cell.syn.weight"][40:])


def test_brain_add_takes_a_composite_like_any_component(reg):
    brain = (spark.Brain(dt=1.0, seed=3, name="uses_cell", registry=reg)
             .add("src", "noise", shape=4).add("cell", "test:cell", n=5, th=0.2)
             .connect("src.spikes", "cell.pre").input("rate", "src.data", value=0.5).output("out", "cell.spikes")
             .build())
    ref = spark.Brain.from_dict(MODEL, reg)
    np.testing.assert_array_equal(brain.run(steps=60)["out"], ref.run(steps=60)["out"])


# ----- the catalogue ------------------------------------------------------------------------------------------------


def test_a_composite_is_listed_with_kind_ports_and_params(reg):
    import jsonschema
    from importlib import resources

    cat = reg.to_json()
    schema = json.loads(resources.files("spark").joinpath("schemas/component-list.schema.json").read_text())
    jsonschema.validate(cat, schema)
    entry = {c["id"]: c for c in cat["components"]}["test:cell"]
    assert entry["kind"] == "soma" and entry["doc"].startswith("A threshold cell")
    assert [(p["name"], p["payload"]) for p in entry["inputs"]] == [("pre", "Spikes")]
    assert [(p["name"], p["payload"]) for p in entry["outputs"]] == [("spikes", "Spikes")]
    props = entry["params_schema"]["properties"]
    assert props["n"] == {"type": "integer", "description": "neurons", "default": 3, "x-unit": "", "minimum": 1}
    assert props["w"]["x-unit"] == "pA"
    assert entry["composite"]["inputs"] == {"pre": ["syn.pre", "rule.pre"]}
    assert {c["id"]: c for c in cat["components"]}["test:pair"]["kind"] == "composite"
    assert reg.resolve("cell").kind == "soma"  # short names work as for any component


def test_a_component_file_is_also_a_model_run_with_its_defaults(reg):
    doc = copy.deepcopy(CELL)  # run alone, the synapse's presynaptic size must be given (here by a param)
    doc["component"]["params"]["n_in"] = {"type": "integer", "default": 3}
    doc["nodes"][0]["shape"] = [{"param": "n_in"}, {"param": "n"}]
    brain = spark.Brain.from_dict(doc, reg)  # its exposed input becomes an external input named after the port
    assert sorted(brain.nodes) == ["rule", "soma", "syn"]
    spikes = brain.run({"pre": np.ones(3, bool), "pre_2": np.ones(3, bool)}, steps=5)["spikes"]  # its exposed output
    np.testing.assert_array_equal(spikes, np.ones((5, 3), bool))  # 0.3 pA x 3 inputs > 0.5 pA, from the first step


# ----- the user library ---------------------------------------------------------------------------------------------


def write(folder, name, doc):
    (folder / name).write_text(json.dumps(doc))


def test_library_folders_are_discovered_as_library_ids(tmp_path, monkeypatch):
    lib = tmp_path / "lib"
    lib.mkdir()
    write(lib, "cell.spark", CELL)
    pair = copy.deepcopy(PAIR)
    for n in pair["nodes"]:
        n["component"] = "library:cell"
    write(lib, "pair.spark", pair)
    write(lib, "a_model.spark", MODEL)  # a plain model beside them: not a composite, not an error
    monkeypatch.setenv(composite.ENV, f"{lib}{__import__('os').pathsep}")
    assert composite.library_paths() == [lib]
    reg = isolated_registry(*bp.ALL, library=composite.library_paths())
    assert {"library:cell", "library:pair"} <= {e.id for e in reg}
    packs = {p.distribution: p for p in reg.packs}
    assert packs["library"].status == "ok" and sorted(packs["library"].components) == ["library:cell", "library:pair"]
    doc = copy.deepcopy(MODEL)
    doc["nodes"][1]["component"] = "library:cell"
    brain = spark.Brain.from_dict(doc, reg)
    assert brain.to_dict()["requires"] == {}  # a library is not a pip distribution
    monkeypatch.setenv(composite.ENV, "")
    assert composite.library_paths() == []


def test_a_broken_library_file_is_reported_and_hides_nothing(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    write(lib, "cell.spark", CELL)
    bad = copy.deepcopy(CELL)
    bad["component"]["name"] = "bad"
    bad["component"]["outputs"]["spikes"]["from"] = "soma.spikez"
    write(lib, "bad.spark", bad)
    (lib / "junk.spark").write_text("{not json")
    dup = copy.deepcopy(CELL)
    write(lib, "zz_again.spark", dup)
    reg = isolated_registry(*bp.ALL, library=[lib])
    assert "library:cell" in reg and "library:bad" not in reg
    broken = {p.entry_point: p for p in reg.packs if p.status == "broken"}
    assert set(broken) == {str(lib / "bad.spark"), str(lib / "junk.spark"), str(lib / "zz_again.spark")}
    assert "$.component.outputs.spikes.from" in broken[str(lib / "bad.spark")].error
    assert "has no output port 'spikez'; its outputs are: spikes" in broken[str(lib / "bad.spark")].error
    assert "not valid JSON" in broken[str(lib / "junk.spark")].error
    assert "already used by" in broken[str(lib / "zz_again.spark")].error


def test_a_missing_library_folder_is_a_problem_not_a_crash(tmp_path):
    reg = isolated_registry(*bp.ALL, library=[tmp_path / "nowhere"])
    assert any("nowhere does not exist" in p for p in reg.problems)


# ----- bad composites -----------------------------------------------------------------------------------------------


def bad(edit):
    doc = copy.deepcopy(CELL)
    edit(doc)
    return doc


@pytest.mark.parametrize("case, edit, path, words", [
    ("exposed port of a missing inner node",
     lambda d: d["component"]["outputs"]["spikes"].update({"from": "som.spikes"}),
     "$.component.outputs.spikes.from", ["there is no inner node 'som'", "did you mean 'soma'?"]),
    ("exposed port that the inner node lacks",
     lambda d: d["component"]["inputs"]["pre"].update({"to": ["syn.pre", "rule.pree"]}),
     "$.component.inputs.pre.to[1]", ["test:hebb has no input port 'pree'", "its inputs are: pre, post"]),
    ("a port exposed twice", lambda d: d["component"]["inputs"].update({"again": {"to": "syn.pre"}}),
     "$.component.inputs.again.to", ["inner port syn.pre is exposed twice"]),
    ("one name as input and output", lambda d: d["component"]["inputs"].update({"spikes": {"to": "soma.x"}}),
     "$.component.inputs.spikes", ["exposed twice, as an input and as an output"]),
    ("an undeclared param", lambda d: d["nodes"][1]["params"].update({"v_thresh": {"param": "thr"}}),
     "$.nodes[1].params.v_thresh", ["refers to param 'thr'", "did you mean 'th'?"]),
    ("a default of the wrong type", lambda d: d["component"]["params"]["n"].update({"default": "three"}),
     "$.component.params.n.default", ["is not a finite integer"]),
    ("a default below its minimum", lambda d: d["component"]["params"]["n"].update({"default": 0}),
     "$.component.params.n.default", ["below its minimum 1"]),
    ("an unknown param type", lambda d: d["component"]["params"]["n"].update({"type": "int"}),
     "$.component.params.n.type", ["is not one of"]),
    ("a dotted inner id", lambda d: d["nodes"][0].update({"id": "s.yn"}),
     "$.nodes[0].id", ["ids are plain names"]),
    ("an unknown inner component", lambda d: d["nodes"][0].update({"component": "linearr"}),
     "$.nodes[0].component", ["unknown component 'linearr'", "did you mean 'linear'"]),
])
def test_each_bad_composite_is_refused_with_the_path_inside_it_and_the_fix(case, edit, path, words):
    reg = isolated_registry(*bp.ALL)
    with pytest.raises(spark.SparkFileError) as info:
        reg.register_composite(bad(edit), distribution="test")
    hits = [p for p in info.value.problems if p.path == path]
    assert hits, f"{case}: expected {path}; got {[str(p) for p in info.value.problems]}"
    for w in words:
        assert any(w in p.message for p in hits), f"{case}: {w!r} not in {[p.message for p in hits]}"
    assert "test:cell" not in reg


def test_a_cycle_of_composites_is_named(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    a, b = copy.deepcopy(PAIR), copy.deepcopy(PAIR)
    a["component"]["name"], b["component"]["name"] = "ping", "pong"
    a["nodes"][1]["component"] = "library:pong"
    b["nodes"][1]["component"] = "library:ping"
    for d in (a, b):
        d["nodes"][0]["component"] = "library:cell"
        d["nodes"][1]["params"] = {"n": {"param": "n"}}
    write(lib, "cell.spark", CELL)
    write(lib, "ping.spark", a)
    write(lib, "pong.spark", b)
    reg = isolated_registry(*bp.ALL, library=[lib])
    assert "library:ping" not in reg and "library:pong" not in reg and "library:cell" in reg
    errors = " ".join(p.error for p in reg.packs if p.status == "broken")
    assert "composite cycle: library:ping -> library:pong -> library:ping" in errors
    assert "cannot contain itself" in errors


def test_a_composite_that_contains_itself_is_refused():
    reg = isolated_registry(*bp.ALL)
    me = copy.deepcopy(PAIR)
    me["nodes"][1]["component"] = "test:pair"
    me["nodes"][0]["component"] = "threshold"
    me["nodes"][0]["params"] = {}
    me["component"]["inputs"] = {"pre": {"to": "a.x"}}
    me["component"]["outputs"] = {"first": {"from": "a.spikes"}}
    me["edges"] = []
    for cid in ("test:pair", "pair"):
        me["nodes"][1]["component"] = cid
        with pytest.raises(spark.SparkFileError, match=r"\$.nodes\[1\].component: composite cycle: test:pair -> "
                                                       r"test:pair; a composite cannot contain itself"):
            reg.register_composite(me, distribution="test")
        assert "test:pair" not in reg


@pytest.mark.parametrize("case, edit, path, words", [
    ("a param of the wrong type", lambda d: d["nodes"][1].update({"params": {"n": "five"}}),
     "$.nodes[1].params.n", ["composite test:cell param 'n'", "is not a finite integer", "neurons"]),
    ("an unknown param", lambda d: d["nodes"][1].update({"params": {"tau": 5.0}}),
     "$.nodes[1].params.tau", ["composite test:cell has no param 'tau'", "n, w, th"]),
    ("a param out of bounds", lambda d: d["nodes"][1].update({"params": {"n": 0}}),
     "$.nodes[1].params.n", ["below its minimum 1"]),
    ("a shape on a composite node", lambda d: d["nodes"][1].update({"shape": [5]}),
     "$.nodes[1].shape", ["takes no \"shape\""]),
    ("an edge to a port it does not expose", lambda d: d["edges"][0].update({"to": "cell.input"}),
     "$.edges[0].to", ["composite test:cell, which exposes no input port 'input'", "inputs are: pre"]),
    ("an edge from an input", lambda d: d["outputs"][0].update({"from": "cell.pre"}),
     "$.outputs[0].from", ["exposes no output port 'pre'", "'pre' is an input of it"]),
    ("an inner param the composite passes badly", lambda d: d["nodes"][1].update({"params": {"w": 1e39}}),
     "$.nodes[1] (cell) -> composite test:cell $.nodes[0].params.weight", ["overflows float32"]),
    ("an external input to a port with several inner ports", lambda d: d["inputs"].append({"name": "x", "to": "cell.pre"}),
     "$.inputs[1].to", ["maps to 2 inner ports", "feed the composite through an edge"]),
])
def test_each_bad_use_of_a_composite_names_the_path_and_the_fix(reg, case, edit, path, words):
    doc = copy.deepcopy(MODEL)
    edit(doc)
    problems = spark.sparkfile.validate(doc, reg)
    hits = [p for p in problems if p.path == path]
    assert hits, f"{case}: expected {path}; got {[str(p) for p in problems]}"
    for w in words:
        assert any(w in p.message for p in hits), f"{case}: {w!r} not in {[p.message for p in hits]}"
    assert all(p.node in (None, "cell", "src") for p in problems)
    with pytest.raises(spark.SparkFileError):
        spark.Brain.from_dict(doc, reg)


def test_a_problem_deep_inside_nested_composites_has_the_whole_path(reg):
    doc = copy.deepcopy(MODEL)
    doc["nodes"][1] = {"id": "p", "component": "test:pair", "params": {"th2": 1e39}}
    doc["edges"] = [{"from": "src.spikes", "to": "p.pre"}]
    doc["outputs"] = [{"name": "o", "from": "p.second"}]
    problems = spark.sparkfile.validate(doc, reg)
    assert [p.path for p in problems] == [
        "$.nodes[1] (p) -> composite test:pair $.nodes[1] (b) -> composite test:cell $.nodes[1].params.v_thresh"]
    assert problems[0].node == "p" and "overflows float32" in problems[0].message


def test_a_param_reference_in_a_plain_model_is_explained(reg):
    doc = copy.deepcopy(HAND)
    doc["nodes"][2]["shape"] = [{"param": "n"}]
    assert any(p.startswith("$.nodes[2].shape[0]: ") and "this model is not a composite" in p
               for p in problems_of(doc, reg)), problems_of(doc, reg)


def test_models_without_composites_plan_unchanged(reg):
    from spark import graph

    plan, problems = graph.plan(HAND, reg)
    assert not problems and plan.aliases == {}
    assert composite.expand(HAND, reg) is None


def test_a_composite_never_makes_spark_import_code():
    import sys

    reg = isolated_registry(*bp.ALL)
    doc = copy.deepcopy(CELL)
    doc["nodes"][0]["component"] = "spark_tmp_never_imported:linear"
    with pytest.raises(spark.SparkFileError, match="unknown component 'spark_tmp_never_imported:linear'"):
        reg.register_composite(doc, distribution="test")
    assert "spark_tmp_never_imported" not in sys.modules


def test_check_params_answers_a_params_form_without_a_model(reg):
    comp = reg.resolve("test:cell").cls
    assert comp.check_params({"n": 4}) == ({"n": 4, "w": 0.3, "th": 0.5}, [])
    values, problems = comp.check_params({"n": -1, "thr": 1})
    assert [name for name, _ in problems] == ["n", "thr"]
    assert "below its minimum 1" in problems[0][1] and "did you mean 'th'?" in problems[1][1]


def test_a_stream_counts_an_exposed_port_and_records_inner_state(reg):
    brain = spark.Brain.from_dict(MODEL, reg)
    res = brain.present({"rate": np.linspace(0.2, 0.8, 6)[:, None] * np.ones(4)},
                        spark.Presentation(t_present=10.0, reset=False), count=["cell.spikes"],
                        record=["cell.syn.weight:mean"])
    assert res["cell.spikes"].shape == (6, 5) and res["cell.spikes"].sum() > 0
    np.testing.assert_array_equal(res["cell.spikes"], res.counts["cell.soma.spikes"])
    assert res["cell.syn.weight:mean"].shape == (6,) and res["cell.syn.weight:mean"][-1] > res["cell.syn.weight:mean"][0]
