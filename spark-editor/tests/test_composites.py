"""Composites in the editor's server (issue 18, part 3): the folder's component library, the params check of a
composite, "make component" (the model before and after give identical spikes) and opening a composite by id."""

from __future__ import annotations

import json

import numpy as np
import pytest
import pytest_asyncio

import spark
from spark_editor.components import with_folder_library
from spark_editor.server import create_app

from .conftest import DIST, chain_model

pytestmark = pytest.mark.asyncio

JSON = {"Content-Type": "application/json"}


@pytest_asyncio.fixture
async def client(aiohttp_client, tmp_path, provider):
    return await aiohttp_client(create_app(tmp_path, registry=provider))


async def post(client, path, body):
    return await client.post(path, data=json.dumps(body), headers=JSON)


def plastic_model() -> dict:
    """chain_model plus a Hebbian rule on the synapse, fed by the encoder and the neurons."""
    doc = chain_model()
    doc["nodes"].append({"id": "rule", "component": f"{DIST}:hebb", "attach": "syn", "params": {"rate": 0.5}})
    doc["edges"] += [{"from": "enc.spikes", "to": "rule.pre"}, {"from": "exc.spikes", "to": "rule.post"}]
    doc["editor"]["positions"].update({"syn": {"x": 200, "y": 0}, "exc": {"x": 400, "y": 0}})
    return doc


def spikes(doc: dict, registry, steps: int = 60, enc: str = "enc.spikes") -> dict:
    brain = spark.Brain.from_dict(doc, registry=registry)
    out = doc["outputs"][0]["from"]
    rec = brain.run(steps=steps, record=[enc, out])
    return {"enc.spikes": np.asarray(rec[enc]), "out": np.asarray(rec[out])}


COMPOSITE_FILE = {
    "format": "spark", "version": 1, "name": "relay", "dt": 1.0,
    "component": {"name": "relay", "kind": "soma", "doc": "A wire into neurons.",
                  "params": {"n": {"type": "integer", "default": 5, "minimum": 1, "doc": "neurons"}},
                  "inputs": {"pre": {"to": "syn.pre"}}, "outputs": {"spikes": {"from": "cell.spikes"}}},
    "nodes": [{"id": "syn", "component": f"{DIST}:wire", "params": {"weight": 500.0}},
              {"id": "cell", "component": f"{DIST}:neuron", "shape": [{"param": "n"}]}],
    "edges": [{"from": "syn.i", "to": "cell.i_syn"}],
}


# ----- the folder's library -------------------------------------------------------------------------------------


async def test_folder_components_are_library_composites(client, tmp_path, registry):
    resp = await client.get("/api/catalogue")
    assert not [c for c in (await resp.json())["components"] if c["id"].startswith("library:")]
    (tmp_path / "components").mkdir()
    (tmp_path / "components" / "relay.spark").write_text(json.dumps(COMPOSITE_FILE))
    (tmp_path / "components" / "model.spark").write_text(json.dumps(chain_model()))  # a model: ignored
    cat = await (await client.get("/api/catalogue")).json()
    relay = next(c for c in cat["components"] if c["id"] == "library:relay")
    assert relay["kind"] == "soma" and relay["distribution"] == "library"
    assert [p["name"] for p in relay["inputs"]] == ["pre"] and [p["name"] for p in relay["outputs"]] == ["spikes"]
    assert relay["params_schema"]["properties"]["n"]["default"] == 5
    assert relay["composite"]["source"] == str(tmp_path / "components" / "relay.spark")
    assert "library:relay" not in {e.id for e in registry.entries()}  # the app's registry is left as it was
    # a model using it validates and runs
    doc = chain_model(n=5)
    doc["nodes"][1:] = [{"id": "r", "component": "library:relay", "params": {"n": 5}}]
    doc["edges"] = [{"from": "enc.spikes", "to": "r.pre"}]
    doc["outputs"] = [{"name": "out", "from": "r.spikes"}]
    resp = await post(client, "/api/validate", {"doc": doc})
    assert (await resp.json())["problems"] == []
    # the params check knows composites: a value of the wrong type, an unknown param
    ok = await (await post(client, "/api/params/check", {"component": "library:relay", "params": {"n": 7}})).json()
    assert ok == {"ok": True, "params": {"n": 7}}
    bad = await (await post(client, "/api/params/check", {"component": "library:relay", "params": {"n": "x"}})).json()
    assert not bad["ok"] and bad["problems"][0]["param"] == "n" and "integer" in bad["problems"][0]["message"]
    bad = await (await post(client, "/api/params/check", {"component": "library:relay", "params": {"m": 1}})).json()
    assert not bad["ok"] and "has no param 'm'" in bad["message"]
    # a broken library file is reported like a broken pack and hides nothing
    (tmp_path / "components" / "broken.spark").write_text(json.dumps({**COMPOSITE_FILE, "component": {
        **COMPOSITE_FILE["component"], "name": "broken", "outputs": {"spikes": {"from": "cell.spikez"}}}}))
    cat = await (await client.get("/api/catalogue")).json()
    assert "library:relay" in {c["id"] for c in cat["components"]}
    broken = [p for p in cat["packs"] if p["distribution"] == "library" and p["status"] == "broken"]
    assert broken and "spikez" in broken[0]["error"]


def test_library_layer_is_cached_until_the_folder_changes(tmp_path, registry):
    assert with_folder_library(registry, tmp_path) is registry
    (tmp_path / "components").mkdir()
    (tmp_path / "components" / "relay.spark").write_text(json.dumps(COMPOSITE_FILE))
    a = with_folder_library(registry, tmp_path)
    assert a is not registry and a is with_folder_library(registry, tmp_path)
    assert a.resolve("library:relay").cls.name == "relay"
    (tmp_path / "components" / "relay2.spark").write_text(json.dumps(
        {**COMPOSITE_FILE, "component": {**COMPOSITE_FILE["component"], "name": "relay2"}}))
    b = with_folder_library(registry, tmp_path)
    assert b is not a and b.resolve("library:relay2")


# ----- make component -------------------------------------------------------------------------------------------


async def test_propose_offers_crossing_ports_ticked(client):
    resp = await post(client, "/api/component/propose", {"doc": plastic_model(), "nodes": ["syn", "exc", "rule"]})
    assert resp.status == 200, await resp.text()
    offer = await resp.json()
    ports = {(p["node"], p["port"], p["direction"]): p for p in offer["ports"]}
    assert ports[("syn", "pre", "in")]["crossing"] and ports[("syn", "pre", "in")]["expose"]
    assert ports[("rule", "pre", "in")]["crossing"] and ports[("rule", "pre", "in")]["name"] == "rule_pre"
    assert ports[("exc", "spikes", "out")]["crossing"]  # the model's output reads it
    assert not ports[("exc", "v", "out")]["expose"] and not ports[("exc", "v", "out")]["crossing"]
    assert ports[("exc", "i_syn", "in")]["inside"] and not ports[("exc", "i_syn", "in")]["expose"]
    assert offer["n"] == 20
    assert {(p["node"], p["param"]) for p in offer["params"]} == {("syn", "weight"), ("rule", "rate")}
    # a rule without its synapse
    resp = await post(client, "/api/component/propose", {"doc": plastic_model(), "nodes": ["exc", "rule"]})
    assert resp.status == 422 and "select both or neither" in (await resp.json())["error"]


@pytest.mark.parametrize("selection", [["syn", "exc"], ["syn", "exc", "rule"]])
async def test_make_component_keeps_the_spikes(client, tmp_path, registry, selection):
    before = plastic_model() if "rule" in selection else chain_model()
    before["editor"]["positions"].update({"syn": {"x": 200, "y": 0}, "exc": {"x": 400, "y": 0}})
    resp = await post(client, "/api/component/make", {
        "doc": before, "nodes": selection, "name": "mycell", "kind": "soma",
        "ports": [{"node": "exc", "port": "v", "direction": "out", "expose": True, "name": "voltage"}],
        "params": [{"node": "syn", "param": "weight", "name": "w"}]})
    assert resp.status == 200, await resp.text()
    made = await resp.json()
    assert made["path"] == "components/mycell.spark" and made["id"] == "library:mycell"
    assert made["problems"] == []
    written = json.loads((tmp_path / "components" / "mycell.spark").read_text())
    assert written == made["component"]
    head = written["component"]
    assert head["kind"] == "soma"
    assert head["outputs"] == {"spikes": {"from": "exc.spikes"}, "voltage": {"from": "exc.v"}}
    assert head["params"]["n"]["default"] == 20 and head["params"]["w"] == {"type": "number", "default": 500.0,
                                                                            "unit": "pA",
                                                                            "doc": "current per presynaptic spike"}
    assert [n["id"] for n in written["nodes"]] == selection
    cell = next(n for n in written["nodes"] if n["id"] == "exc")
    assert cell["shape"] == [{"param": "n"}]
    after = made["doc"]
    assert [n["id"] for n in after["nodes"]] == ["enc", "mycell"]
    assert after["nodes"][1] == {"id": "mycell", "component": "library:mycell", "params": {"n": 20, "w": 500.0}}
    assert after["outputs"] == [{"name": "out", "from": "mycell.spikes"}]
    assert "syn" not in after["editor"]["positions"] and after["editor"]["positions"]["mycell"] == {"x": 300.0,
                                                                                                  "y": 0.0}
    # the catalogue has it at once; the server validates the new model
    cat = await (await client.get("/api/catalogue")).json()
    mine = next(c for c in cat["components"] if c["id"] == "library:mycell")
    assert {p["name"] for p in mine["outputs"]} == {"spikes", "voltage"}
    assert (await (await post(client, "/api/validate", {"doc": after})).json())["problems"] == []
    # identical spikes before and after (the encoder is stochastic: it keeps its place and its key)
    reg = with_folder_library(registry, tmp_path)
    a, b = spikes(before, registry), spikes(after, reg)
    assert a["out"].sum() > 0
    np.testing.assert_array_equal(a["enc.spikes"], b["enc.spikes"])
    np.testing.assert_array_equal(a["out"], b["out"])
    # a second make of the same name asks before overwriting
    resp = await post(client, "/api/component/make", {"doc": before, "nodes": selection, "name": "mycell"})
    assert resp.status == 409 and (await resp.json())["exists"] is True


async def test_make_component_refusals(client):
    doc = chain_model()
    cases = [
        ({"nodes": ["syn"], "name": "bad name"}, "not a plain name"),
        ({"nodes": ["nope"], "name": "x"}, "no node 'nope'"),
        ({"nodes": ["syn"], "name": "x", "kind": "planet"}, "kind 'planet'"),
        ({"nodes": ["syn"], "name": "x", "ports": [{"node": "syn", "port": "pre", "direction": "in",
                                                   "expose": False}]}, "must be exposed"),
        ({"nodes": ["syn", "exc"], "name": "x", "ports": [{"node": "exc", "port": "v", "direction": "out",
                                                          "expose": True, "name": "pre"}]}, "used twice"),
    ]
    for extra, words in cases:
        resp = await post(client, "/api/component/make", {"doc": doc, **extra})
        assert resp.status == 422, extra
        assert words in (await resp.json())["error"], extra


# ----- opening a composite --------------------------------------------------------------------------------------


async def test_open_component_by_id(client, tmp_path):
    (tmp_path / "components").mkdir()
    (tmp_path / "components" / "relay.spark").write_text(json.dumps(COMPOSITE_FILE))
    resp = await client.get("/api/component?id=library:relay")
    assert resp.status == 200, await resp.text()
    info = await resp.json()
    assert info["editable"] is True and info["path"] == "components/relay.spark"
    assert info["doc"]["component"]["name"] == "relay"
    # and the file opens as any model of the folder
    opened = await (await client.get("/api/open?path=components/relay.spark")).json()
    assert opened["doc"] == COMPOSITE_FILE
    # alone, its synapse's shape would come from outside (docs/composites.md): a warning, not a problem
    assert opened["problems"] == []
    assert [(w["node"], w["severity"]) for w in opened["warnings"]] == [("syn", "warning")]
    assert "exposed input 'pre'" in opened["warnings"][0]["message"]
    resp = await client.get(f"/api/component?id={DIST}:wire")
    assert resp.status == 404 and "not a composite" in (await resp.json())["error"]
    resp = await client.get("/api/component?id=library:nothing")
    assert resp.status == 404


async def test_pack_composite_opens_read_only(aiohttp_client, tmp_path, registry):
    elsewhere = tmp_path / "pack"
    elsewhere.mkdir()
    (elsewhere / "relay.spark").write_text(json.dumps(COMPOSITE_FILE))
    registry.register_composite(elsewhere / "relay.spark", distribution=DIST, version="1.0")
    root = tmp_path / "models"
    root.mkdir()
    client = await aiohttp_client(create_app(root, registry=lambda refresh=False: registry))
    info = await (await client.get(f"/api/component?id={DIST}:relay")).json()
    assert info["editable"] is False and info["path"] is None and info["doc"]["nodes"][0]["id"] == "syn"


async def test_make_component_nests(client, tmp_path, registry):
    """A component made of a node of another component made in the editor: valid, the same spikes."""
    before = chain_model()
    first = await (await post(client, "/api/component/make", {"doc": before, "nodes": ["syn", "exc"],
                                                              "name": "inner"})).json()
    resp = await post(client, "/api/component/make", {"doc": first["doc"], "nodes": ["enc", "inner"],
                                                      "name": "outer"})
    assert resp.status == 200, await resp.text()
    made = await resp.json()
    assert made["problems"] == []
    assert [n["component"] for n in made["component"]["nodes"]] == [f"{DIST}:spiker", "library:inner"]
    assert made["doc"]["inputs"] == [{"name": "stim", "to": "outer.data", "value": 1.0}]
    reg = with_folder_library(registry, tmp_path)
    flat = spark.composite.flatten(made["doc"], reg)
    assert [n["id"] for n in flat["nodes"]] == ["outer.enc", "outer.inner.syn", "outer.inner.exc"]
    a, b = spikes(before, registry), spikes(made["doc"], reg, enc="outer.enc.spikes")
    assert a["out"].sum() > 0
    np.testing.assert_array_equal(a["enc.spikes"], b["enc.spikes"])
    np.testing.assert_array_equal(a["out"], b["out"])


async def test_make_component_where_components_is_a_file(client, tmp_path):
    (tmp_path / "components").write_text("not a folder")
    resp = await post(client, "/api/component/make", {"doc": chain_model(), "nodes": ["syn", "exc"], "name": "c"})
    assert resp.status == 422 and "is a file" in (await resp.json())["error"]
