"""Composites in the editor, in Chromium (issue 18, part 3): select two nodes, make a component, see one node with
the exposed ports and a valid model, open it (the inner nodes, a breadcrumb), go back, save; the saved model runs in
Python with the spikes of the model before. Same harness as test_browser.py (skipped without Chromium/Playwright)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

import spark
from spark_editor.components import with_folder_library

from .conftest import DIST, chain_model
from .test_browser import browser, open_editor, sync_api  # noqa: F401  (fixtures)

expect = sync_api.expect

pytestmark = pytest.mark.browser


def _spikes(doc: dict, registry) -> np.ndarray:
    brain = spark.Brain.from_dict(doc, registry=registry)
    out = doc["outputs"][0]["from"]
    return np.asarray(brain.run(steps=60, record=[out])[out])


def test_make_open_and_go_back(open_editor, tmp_path, registry):  # noqa: F811
    before = chain_model()
    before["editor"]["positions"] = {"enc": {"x": 0, "y": 0}, "syn": {"x": 260, "y": 0}, "exc": {"x": 520, "y": 0}}
    before["editor"]["inputs"] = {"stim": {"x": -220, "y": 0, "payload": "Signal"}}
    before["editor"]["outputs"] = {"out": {"x": 800, "y": 0, "payload": "Spikes"}}
    (tmp_path / "chain.spark").write_text(json.dumps(before))
    page = open_editor(initial_file="chain.spark")
    page.wait_for_selector('[data-testid="node-syn"]')
    assert page.get_by_test_id("make-component").is_disabled()

    # select syn and exc, make a component of them
    page.get_by_test_id("node-syn").locator(".spark-node-header").click()
    page.get_by_test_id("node-exc").locator(".spark-node-header").click(modifiers=["Control"])
    page.get_by_test_id("make-component").click()
    dialog = page.get_by_test_id("make-dialog")
    dialog.wait_for()
    crossing = page.get_by_test_id("make-port-syn-in-pre")
    assert crossing.is_checked() and crossing.is_disabled()  # fed from outside: exposed, must be
    assert page.get_by_test_id("make-port-exc-out-spikes").is_checked()  # read by the model's output
    loose = page.get_by_test_id("make-port-exc-out-v")
    assert not loose.is_checked() and not loose.is_disabled()  # unconnected: offered, unticked
    loose.check()
    page.get_by_test_id("make-port-name-exc-out-v").fill("voltage")
    page.get_by_test_id("make-name").fill("mycell")
    page.get_by_test_id("make-kind").select_option("soma")
    page.get_by_test_id("make-ok").click()
    dialog.wait_for(state="detached")

    # one node with the exposed ports; the model is valid; the palette has the component
    node = page.get_by_test_id("node-mycell")
    node.wait_for()
    assert page.get_by_test_id("node-syn").count() == 0 and page.get_by_test_id("node-exc").count() == 0
    for handle in ("handle-mycell-in-pre", "handle-mycell-out-spikes", "handle-mycell-out-voltage"):
        assert page.get_by_test_id(handle).count() == 1, handle
    assert page.locator(".react-flow__edge").count() == 3  # stim -> enc, enc -> mycell.pre, mycell.spikes -> out
    expect(page.get_by_test_id("validity")).to_have_text("valid", timeout=20_000)
    item = page.get_by_test_id("palette-library:mycell")
    assert item.get_attribute("data-composite") == "true" and "composite" in item.inner_text()
    assert page.get_by_test_id("kind-soma").get_by_test_id("palette-library:mycell").count() == 1
    assert (tmp_path / "components" / "mycell.spark").is_file()
    assert page.get_by_test_id("file-name").get_attribute("data-dirty") == "true"  # the model changed, unsaved
    node.locator(".spark-node-header").click()
    assert page.get_by_test_id("param-n").input_value() == "20"  # the common size became param n
    shots = Path(os.environ.get("SPARK_EDITOR_ARTIFACTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "editor-composite.png"), full_page=True)

    # open it: the inner nodes, a breadcrumb "chain.spark > mycell"
    page.get_by_test_id("open-mycell").click()
    crumb = page.get_by_test_id("breadcrumb")
    crumb.wait_for()
    assert "chain.spark" in crumb.inner_text() and "mycell" in crumb.inner_text()
    page.get_by_test_id("node-syn").wait_for()
    assert page.get_by_test_id("node-exc").is_visible() and page.get_by_test_id("node-enc").count() == 0
    assert page.get_by_test_id("node-exc").locator(".node-shape").inner_text() == "shape [n]"
    assert page.get_by_test_id("file-name").inner_text() == "components/mycell.spark"
    assert "voltage" in page.get_by_test_id("component-section").inner_text()
    # the synapse's shape comes from outside (inferred where the component is used): a warning, not a problem
    expect(page.get_by_test_id("validity")).to_have_text("valid", timeout=20_000)
    page.screenshot(path=str(shots / "editor-composite-inside.png"), full_page=True)

    # back up: the model as it was (still unsaved), then save it
    page.get_by_test_id("back").click()
    page.get_by_test_id("node-mycell").wait_for()
    assert page.get_by_test_id("breadcrumb").count() == 0
    assert page.get_by_test_id("file-name").get_attribute("data-dirty") == "true"
    page.keyboard.press("Control+s")
    expect(page.get_by_test_id("file-name")).to_have_attribute("data-dirty", "false")
    saved = json.loads((tmp_path / "chain.spark").read_text())
    assert [n["component"] for n in saved["nodes"]] == [f"{DIST}:spiker", "library:mycell"]
    assert "library" not in saved.get("requires", {})
    reg = with_folder_library(registry, tmp_path)
    np.testing.assert_array_equal(_spikes(before, registry), _spikes(saved, reg))


RELAY = {
        "format": "spark", "version": 1, "name": "relay", "dt": 1.0,
        "component": {"name": "relay", "inputs": {"pre": {"to": "syn.pre"}},
                      "outputs": {"spikes": {"from": "cell.spikes"}},
                      "params": {"n": {"type": "integer", "default": 5, "minimum": 1}}},
        "nodes": [{"id": "syn", "component": f"{DIST}:wire"},
                  {"id": "cell", "component": f"{DIST}:neuron", "shape": [{"param": "n"}]}],
        "edges": [{"from": "syn.i", "to": "cell.i_syn"}],
        "editor": {"positions": {"syn": {"x": 0, "y": 0}, "cell": {"x": 260, "y": 0}}},
    }


def test_double_click_opens_and_back_asks_before_discarding(open_editor, tmp_path):  # noqa: F811
    relay = RELAY
    (tmp_path / "components").mkdir()
    (tmp_path / "components" / "relay.spark").write_text(json.dumps(relay))
    page = open_editor()
    page.get_by_test_id("palette-library:relay").get_by_role("button", name="add relay").click()
    node = page.get_by_test_id("node-relay")
    node.wait_for()
    assert node.locator(".node-shape").count() == 0  # a composite takes no shape: its params set it
    node.locator(".spark-node-header").dblclick()
    page.get_by_test_id("breadcrumb").wait_for()
    page.get_by_test_id("node-cell").wait_for()
    page.get_by_test_id("node-cell").locator(".spark-node-header").click()
    page.keyboard.press("Delete")
    expect(page.get_by_test_id("file-name")).to_have_attribute("data-dirty", "true")
    page.get_by_test_id("back").click()
    page.get_by_test_id("dialog-cancel").click()  # keep editing
    assert page.get_by_test_id("breadcrumb").is_visible()
    page.get_by_test_id("back").click()
    page.get_by_test_id("dialog-ok").click()  # discard
    page.get_by_test_id("node-relay").wait_for()
    assert page.get_by_test_id("breadcrumb").count() == 0
    assert json.loads((tmp_path / "components" / "relay.spark").read_text()) == relay  # nothing written


def test_refs_by_inner_path_and_dotted_ids_survive_a_save(open_editor, tmp_path):  # noqa: F811
    """An output reading an inner port of a composite node by path (``r.cell.v``) and a node id with a dot are kept."""
    (tmp_path / "components").mkdir()
    (tmp_path / "components" / "relay.spark").write_text(json.dumps(RELAY))
    doc = chain_model(n=5)
    doc["nodes"][1:] = [{"id": "r", "component": "library:relay", "params": {"n": 5}},
                        {"id": "x.syn", "component": f"{DIST}:wire"},
                        {"id": "x.cell", "component": f"{DIST}:neuron", "shape": [5]}]
    doc["edges"] = [{"from": "enc.spikes", "to": "r.pre"}, {"from": "r.spikes", "to": "x.syn.pre"},
                    {"from": "x.syn.i", "to": "x.cell.i_syn"}]
    doc["outputs"] = [{"name": "out", "from": "x.cell.spikes"}, {"name": "v", "from": "r.cell.v"}]
    (tmp_path / "m.spark").write_text(json.dumps(doc))
    page = open_editor(initial_file="m.spark")
    page.get_by_test_id("node-x.cell").wait_for()
    expect(page.get_by_test_id("validity")).to_have_text("valid", timeout=20_000)
    page.get_by_test_id("node-x.cell").locator(".spark-node-header").click()
    page.keyboard.press("Control+s")
    expect(page.get_by_test_id("toast")).to_contain_text("Saved m.spark")
    saved = json.loads((tmp_path / "m.spark").read_text())
    assert "editor" in saved
    assert saved["edges"] == doc["edges"] and saved["outputs"] == doc["outputs"]


def test_a_pack_composite_opens_read_only(open_editor, tmp_path_factory, registry):  # noqa: F811
    pack = tmp_path_factory.mktemp("pack")
    (pack / "relay.spark").write_text(json.dumps(RELAY))
    registry.register_composite(pack / "relay.spark", distribution=DIST, version="1.0")
    page = open_editor()
    item = page.get_by_test_id(f"palette-{DIST}:relay")
    assert item.get_attribute("data-composite") == "true"
    item.get_by_role("button", name="add relay").click()
    page.get_by_test_id("node-relay").locator(".spark-node-header").click()
    page.get_by_test_id("open-composite").click()  # the inspector's button
    crumb = page.get_by_test_id("breadcrumb")
    crumb.wait_for()
    assert "read-only" in crumb.inner_text()
    page.get_by_test_id("node-cell").wait_for()
    page.get_by_test_id("save").click()  # a pack's file is never written: Save becomes Save as (a copy)
    assert page.get_by_test_id("path-input").input_value() == "relay.spark"
    page.keyboard.press("Escape")
    page.get_by_test_id("back").click()
    page.get_by_test_id("node-relay").wait_for()
    assert json.loads((pack / "relay.spark").read_text()) == RELAY
