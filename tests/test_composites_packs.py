"""Composites across packs (docs/composites.md): the one spark-components ships through its ``spark_composites`` hook,
its example model, a composite shipped as data by a real installed third-party pack (built as a wheel and installed),
and a user library found through SPARK_COMPONENT_PATH by the real ``spark`` command.
"""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import numpy as np
import pytest

import spark
from spark import composite

MOTIF = {
    "format": "spark", "version": 1, "dt": 0.1, "name": "ei_motif",
    "component": {
        "name": "ei_motif", "doc": "An excitatory population and the inhibitory one it drives, which inhibits it.",
        "params": {"n_exc": {"type": "integer", "default": 8, "minimum": 1, "doc": "excitatory neurons"},
                   "n_inh": {"type": "integer", "default": 2, "minimum": 1, "doc": "inhibitory neurons"},
                   "w_ie": {"type": "number", "default": -40.0, "unit": "pA", "doc": "inhibitory weight"}},
        "inputs": {"i_exc": {"to": "exc.i_syn", "doc": "current into the excitatory neurons"}},
        "outputs": {"spikes": {"from": "exc.spikes"}, "inh_spikes": {"from": "inh.spikes"}},
    },
    "nodes": [
        {"id": "exc", "component": "spark-components:lif", "shape": [{"param": "n_exc"}]},
        {"id": "inh", "component": "spark-components:lif", "shape": [{"param": "n_inh"}]},
        {"id": "ei", "component": "spark-components:exp_synapse", "params": {"weight": 60.0}},
        {"id": "ie", "component": "spark-components:exp_synapse", "params": {"weight": {"param": "w_ie"}}},
    ],
    "edges": [{"from": "exc.spikes", "to": "ei.pre"}, {"from": "ei.i", "to": "inh.i_syn"},
              {"from": "inh.spikes", "to": "ie.pre"}, {"from": "ie.i", "to": "exc.i_syn"}],
}

BROKEN = {**MOTIF, "component": {**MOTIF["component"], "name": "broken_motif",
                                 "outputs": {"spikes": {"from": "exc.spikez"}}}}

PLUGIN = """
from pathlib import Path
import spark

@spark.hookimpl
def spark_composites():
    return [str(Path(__file__).parent / "composites")]
"""


def test_the_bundled_composite_is_listed_with_kind_ports_and_params():
    reg = spark.Registry.discover(only=["spark-components"])
    entry = reg.resolve("spark-components:dendritic_neuron")
    doc = entry.to_json()
    assert doc["kind"] == "soma" and doc["class"] == "spark.composite.Composite"
    assert [(p["name"], p["payload"]) for p in doc["inputs"]] == [("pre", "Spikes"), ("i_soma", "Current")]
    assert [(p["name"], p["payload"]) for p in doc["outputs"]] == [("spikes", "Spikes"), ("v", "Voltage"),
                                                                   ("v_dend", "Voltage")]
    assert doc["params_schema"]["properties"]["n"]["default"] == 10
    assert "spark-components:dendritic_neuron" in {p.distribution: p for p in reg.packs}["spark-components"].components
    schema = json.loads(resources.files("spark").joinpath("schemas/component-list.schema.json").read_text())
    jsonschema.validate(reg.to_json(), schema)
    alone = spark.sparkfile.read(entry.cls.source)  # the composite file is also a model, with its defaults
    assert spark.sparkfile.validate(alone, reg) == []


def test_the_dendritic_example_spikes_like_its_flat_form_with_stdp_on():
    reg = spark.Registry.discover(only=["spark-components", "spark-interfaces"])
    doc = spark.sparkfile.read(reg.examples["dendritic"])
    a = spark.Brain.from_dict(doc, reg)
    b = spark.Brain.from_dict(composite.flatten(doc, reg), reg)
    rec = ["layer1.spikes", "layer2.cell.spikes", "layer1.dsyn.weight@500", "layer2.cell.v_dend[0:3]"]
    ra = a.run(steps=2000, record=rec)
    rb = b.run(steps=2000, record=["layer1.cell.spikes", "layer2.cell.spikes", "layer1.dsyn.weight@500",
                                   "layer2.cell.v_dend[0:3]"])
    assert ra["layer1.spikes"].sum() > 100 and ra["layer2.cell.spikes"].sum() > 10, "a test of nothing"
    assert not np.array_equal(ra["layer1.dsyn.weight@500"][0], ra["layer1.dsyn.weight@500"][-1]), "no learning"
    np.testing.assert_array_equal(ra["layer1.spikes"], rb["layer1.cell.spikes"])
    for key in rec[1:]:
        np.testing.assert_array_equal(ra[key], rb[key], err_msg=key)


@pytest.fixture(scope="module")
def site(make_site, pack):
    files = (("composites/ei_motif.spark", json.dumps(MOTIF)), ("composites/broken_motif.spark", json.dumps(BROKEN)))
    return make_site("composites", [pack("spark-tmp-motifs", "2.0.0", PLUGIN, files=files)])


def test_a_pack_ships_a_composite_as_data_and_spark_lists_it(site, spark_cli):
    out = spark_cli("list-components", "--format", "json", site=site)
    assert out.code == 0, out.err
    cat = out.json()
    listed = {c["id"]: c for c in cat["components"]}
    motif = listed["spark-tmp-motifs:ei_motif"]
    assert motif["kind"] == "composite" and motif["version"] == "2.0.0"
    assert [p["name"] for p in motif["inputs"]] == ["i_exc"] and motif["inputs"][0]["payload"] == "Current"
    assert [p["name"] for p in motif["outputs"]] == ["spikes", "inh_spikes"]
    assert motif["params_schema"]["properties"]["w_ie"]["x-unit"] == "pA"
    assert motif["composite"]["source"].endswith("composites/ei_motif.spark")
    pack = {p["distribution"]: p for p in cat["packs"]}["spark-tmp-motifs"]
    assert pack["components"] == ["spark-tmp-motifs:ei_motif"]
    assert pack["status"] == "ok" and pack["error"] is None  # the catalogue's contract; the problem is on stderr
    assert "spark-tmp-motifs:broken_motif" not in listed
    (line,) = [x for x in out.err.splitlines() if "broken_motif" in x]
    assert line.startswith("spark: pack spark-tmp-motifs 2.0.0: composite spark-tmp-motifs:broken_motif")
    assert "$.component.outputs.spikes.from" in line and "has no output port 'spikez'" in line
    strict = spark_cli("list-components", "--strict", site=site)
    assert strict.code == 1
    jsonschema.validate(cat, json.loads(resources.files("spark").joinpath(
        "schemas/component-list.schema.json").read_text()))


def test_a_model_using_the_pack_composite_validates_and_runs(site, spark_cli, tmp_path):
    model = {"format": "spark", "version": 1, "dt": 0.1, "seed": 1,
             "nodes": [{"id": "m", "component": "ei_motif", "params": {"n_exc": 5}}],
             "inputs": [{"name": "drive", "to": "m.i_exc", "value": 500.0}],
             "outputs": [{"name": "exc", "from": "m.spikes"}, {"name": "inh", "from": "m.inh_spikes"}]}
    path = tmp_path / "uses_motif.spark"
    path.write_text(json.dumps(model))
    out = spark_cli("validate", str(path), site=site)
    assert out.code == 0, out.out + out.err
    out = spark_cli("run", str(path), "--steps", "500", "--no-plot", site=site)
    assert out.code == 0, out.out + out.err
    model["nodes"][0]["params"] = {"n_exc": "five"}
    path.write_text(json.dumps(model))
    out = spark_cli("validate", str(path), site=site)
    assert out.code != 0 and "$.nodes[0].params.n_exc" in out.out + out.err


def test_a_user_library_is_found_through_spark_component_path(tmp_path, spark_cli, monkeypatch):
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "ei_motif.spark").write_text(json.dumps(MOTIF))
    (lib / "broken.spark").write_text(json.dumps(BROKEN))
    monkeypatch.setenv(composite.ENV, str(lib))
    out = spark_cli("list-components", "--format", "json")
    cat = out.json()
    assert "library:ei_motif" in {c["id"] for c in cat["components"]}
    broken = [p for p in cat["packs"] if p["distribution"] == "library" and p["status"] == "broken"]
    assert [p["entry_point"] for p in broken] == [str(lib / "broken.spark")]
    assert "spark: pack library 0 is broken" in out.err


def test_the_diehl_cook_pair_composite_validates_alone_and_steps_like_its_flat_form():
    reg = spark.Registry.discover(only=["spark-components", "spark-interfaces"])
    entry = reg.resolve("spark-components:diehl_cook_pair")
    assert entry.kind == "composite" and [p["name"] for p in entry.to_json()["outputs"]] == ["spikes", "inh_spikes"]
    assert spark.sparkfile.validate(spark.sparkfile.read(entry.cls.source), reg) == []
    doc = {"format": "spark", "version": 1, "dt": 0.5, "seed": 2,
           "nodes": [{"id": "pixels", "component": "spark-interfaces:poisson", "shape": [16],
                      "params": {"max_rate": 63.75}},
                     {"id": "dc", "component": "diehl_cook_pair", "params": {"n": 10, "n_in": 16, "norm_every": 100}}],
           "edges": [{"from": "pixels.spikes", "to": "dc.pre"}],
           "inputs": [{"name": "image", "to": "pixels.data", "value": 1.0}],
           "outputs": [{"name": "exc", "from": "dc.spikes"}]}
    a = spark.Brain.from_dict(doc, reg)
    b = spark.Brain.from_dict(composite.flatten(doc, reg), reg)
    ra = a.run(steps=2000, record=["dc.spikes", "dc.inh_spikes", "dc.input_exc.weight@1000", "dc.exc.theta@1000"])
    rb = b.run(steps=2000, record=["dc.exc.spikes", "dc.inh.spikes", "dc.input_exc.weight@1000", "dc.exc.theta@1000"])
    assert ra["dc.spikes"].sum() > 50 and ra["dc.inh_spikes"].sum() > 50, "a test of nothing"
    np.testing.assert_array_equal(ra["dc.spikes"], rb["dc.exc.spikes"])
    np.testing.assert_array_equal(ra["dc.inh_spikes"], rb["dc.inh.spikes"])
    for key in ("dc.input_exc.weight@1000", "dc.exc.theta@1000"):
        np.testing.assert_array_equal(ra[key], rb[key], err_msg=key)


def test_use_surrogate_names_composite_somas_that_expose_no_surrogate_param():
    """A composite that presents as a soma has no Python params class: use_surrogate sets the param only where the
    composite exposes one, and names the others (it once crashed on them)."""
    import warnings

    brain = spark.Brain.from_file(spark.example("dendritic"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        brain.use_surrogate("fast_sigmoid")
    messages = [str(w.message) for w in caught if issubclass(w.category, spark.ModelWarning)]
    assert any("['layer1', 'layer2'] have no surrogate param" in m for m in messages), messages


def test_the_dendritic_neuron_used_a_hundred_times_steps_like_its_flat_form():
    """Issue 18's example: one composite used 100 times in one network (300 nodes after flattening) runs with spikes
    and learned weights identical to the hand-flattened graph."""
    from spark import composite

    brain = spark.Brain.from_file(spark.example("dendritic_100"))
    assert sum(1 for n in brain.to_dict()["nodes"] if n["component"].endswith(":dendritic_neuron")) == 100
    flat = spark.Brain.from_dict(composite.flatten(brain.to_dict()))
    assert len(flat.to_dict()["nodes"]) == 1 + 3 * 100
    cells = [f"cell{k:03d}" for k in (0, 37, 99)]
    a = brain.run(steps=3000, record=[*(f"{c}.spikes" for c in cells), "cell037.dsyn.weight@1000"])
    b = flat.run(steps=3000, record=[*(f"{c}.cell.spikes" for c in cells), "cell037.dsyn.weight@1000"])
    for c in cells:
        np.testing.assert_array_equal(np.asarray(a[f"{c}.spikes"]), np.asarray(b[f"{c}.cell.spikes"]))
    np.testing.assert_array_equal(np.asarray(a["cell037.dsyn.weight@1000"]), np.asarray(b["cell037.dsyn.weight@1000"]))
    # the cells fire: the comparison means something
    assert sum(int(np.asarray(a[f"{c}.spikes"]).sum()) for c in cells) > 0
