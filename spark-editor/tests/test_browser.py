"""The editor in a real browser: Playwright (Python) driving the system Chromium (Debian package `chromium`).

The server runs in a thread of this process with the test pack of conftest.py in an isolated registry.
Skipped, with the reason, when /usr/bin/chromium or Playwright is missing; no browser is ever downloaded.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

import spark
from spark import sparkfile

CHROMIUM = os.environ.get("SPARK_EDITOR_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
    if os.environ.get("SPARK_EDITOR_REQUIRE_CHROMIUM") == "1":  # CI sets it: the browser tests must run there
        raise RuntimeError(f"SPARK_EDITOR_REQUIRE_CHROMIUM=1 but there is no Chromium at {CHROMIUM}; "
                           "apt-get install -y chromium")
    pytest.skip(f"browser tests need Chromium at {CHROMIUM} (Debian: apt-get install -y chromium); "
                "set SPARK_EDITOR_CHROMIUM to use another", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright: pip install playwright")

pytestmark = pytest.mark.browser

# what Chromium logs for a refused request (a test provokes some); any other console error fails the test
EXPECTED_HTTP_ERROR = "Failed to load resource: the server responded with a status of 4"


class EditorServer:
    """The editor app served from a background thread on a free port of 127.0.0.1 (``create_app`` keywords:
    ``initial_file``, ``token``, ``runs``, ...); ``url`` holds the token when there is one."""

    def __init__(self, root: Path, registry, initial_file: str | None = None, token: str | None = None, **app_kw):
        from spark_editor.background import BackgroundServer
        from spark_editor.server import create_app

        self.app = create_app(root, registry=lambda refresh=False: registry, initial_file=initial_file, token=token,
                              **app_kw)
        self.server = BackgroundServer(self.app)
        self.port = self.server.port
        self.url = self.server.url("/", **({"token": token} if token else {}))

    def close(self):
        self.server.close()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def open_editor(browser, tmp_path, registry):
    """``open_editor(initial_file=None, token=None) -> page`` with the editor loaded (through the URL with the
    session token when one is given, as ``spark editor`` prints it); console errors fail the test."""
    servers, contexts, errors = [], [], []

    def start(initial_file: str | None = None, token: str | None = None):
        server = EditorServer(tmp_path, registry, initial_file, token)
        servers.append(server)
        ctx = browser.new_context(viewport={"width": 1500, "height": 950})
        contexts.append(ctx)
        page = ctx.new_page()
        page.set_default_timeout(20_000)
        page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
        page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}")
                if m.type == "error" and EXPECTED_HTTP_ERROR not in m.text else None)
        page.goto(server.url)
        page.wait_for_selector('[data-testid="palette-editor-test-pack:neuron"]')
        return page

    yield start
    for ctx in contexts:
        ctx.close()
    for server in servers:
        server.close()
    assert not errors, errors


def drop(page, component: str, x: int, y: int):
    page.drag_and_drop(f'[data-testid="palette-{component}"]', '[data-testid="canvas"]',
                       target_position={"x": x, "y": y})


def connect(page, source: str, target: str):
    page.drag_and_drop(f'[data-testid="handle-{source}"]', f'[data-testid="handle-{target}"]')


def edges(page) -> int:
    return page.locator(".react-flow__edge").count()


def set_field(page, testid: str, text: str):
    field = page.get_by_test_id(testid)
    field.fill(text)
    field.press("Enter")


def select_node(page, name: str):
    page.get_by_test_id(f"node-{name}").locator(".spark-node-header").click()


def test_palette_lists_every_installed_component(open_editor, registry):
    page = open_editor()
    catalogue = registry.to_json()
    for comp in catalogue["components"]:
        item = page.get_by_test_id(f"palette-{comp['id']}")
        assert item.is_visible()
        assert comp["doc"].splitlines()[0] in item.inner_text()
        # grouped by kind, then by pack
        section = page.get_by_test_id(f"kind-{comp['kind']}")
        assert section.get_by_test_id(f"palette-{comp['id']}").count() == 1
        assert comp["distribution"] in section.inner_text()
    assert page.locator(".palette-item[data-component]").count() == len(catalogue["components"]) + 2  # + input/output
    page.get_by_test_id("palette-search").fill("dense synapse")
    visible = page.locator(".palette-item[data-component]")
    assert [visible.nth(i).get_attribute("data-component") for i in range(visible.count())] == ["editor-test-pack:wire"]
    page.get_by_role("button", name="show documentation of wire").click()
    assert "i = pre @ w" in page.locator(".palette-doc").inner_text()
    page.get_by_test_id("palette-search").fill("")
    # validation runs after each change (debounced): wait for its answer rather than read the badge mid-check
    sync_api.expect(page.get_by_test_id("validity")).to_have_text("valid")  # an empty model is valid


def test_build_connect_edit_save_and_load_with_spark(open_editor, tmp_path, registry):
    page = open_editor()
    drop(page, "editor-test-pack:spiker", 120, 120)
    drop(page, "editor-test-pack:neuron", 700, 120)
    assert page.locator(".react-flow__node").count() == 2
    # an incompatible connection (Spikes into a Current input) is refused, with the reason
    connect(page, "spiker-out-spikes", "neuron-in-i_syn")
    assert edges(page) == 0
    toast = page.get_by_test_id("toast")
    assert "cannot connect spiker.spikes (Spikes) to neuron.i_syn (Current)" in toast.inner_text()
    toast.click()
    # spiker -> wire -> neuron, fed by a model input
    drop(page, "editor-test-pack:wire", 420, 260)
    drop(page, "@input", 60, 360)
    connect(page, "spiker-out-spikes", "wire-in-pre")
    connect(page, "wire-out-i", "neuron-in-i_syn")
    connect(page, "input-input", "spiker-in-data")
    assert edges(page) == 3
    expect = sync_api.expect
    expect(page.get_by_test_id("validity")).to_have_text("valid")

    # params: an invalid value is refused with the core's message and the model keeps the old one
    select_node(page, "neuron")
    with pytest.raises(spark.ParamError) as err:
        spark.parameters.from_dict(registry.resolve("neuron").cls.Params, {"tau_m": -5.0})
    set_field(page, "param-tau_m", "-5")
    expect(page.get_by_test_id("param-error-tau_m")).to_have_text(str(err.value))
    set_field(page, "param-tau_m", "abc")
    expect(page.get_by_test_id("param-error-tau_m")).to_contain_text("'abc' is not a number")
    set_field(page, "param-tau_m", "12.5")
    expect(page.get_by_test_id("param-error-tau_m")).to_have_count(0)
    page.get_by_test_id("param-mode").select_option("euler")
    set_field(page, "node-name", "exc")
    expect(page.get_by_test_id("node-exc")).to_be_visible()
    set_field(page, "node-name", "spiker")  # taken
    expect(page.get_by_test_id("node-name-error")).to_contain_text("already named")
    page.keyboard.press("Escape")

    # save as, through the dialog
    expect(page.get_by_test_id("file-name")).to_have_attribute("data-dirty", "true")
    page.get_by_test_id("save-as").click()
    page.get_by_test_id("path-input").fill("models/net.spark")
    page.get_by_test_id("dialog-ok").click()
    expect(page.get_by_test_id("toast")).to_contain_text("Cannot save")  # no such folder yet
    (tmp_path / "models").mkdir()
    page.get_by_test_id("save-as").click()
    page.get_by_test_id("path-input").fill("models/net.spark")
    page.get_by_test_id("dialog-ok").click()
    expect(page.get_by_test_id("file-name")).to_have_attribute("data-dirty", "false")
    expect(page.get_by_test_id("file-name")).to_have_text("models/net.spark")

    saved = tmp_path / "models" / "net.spark"
    doc = sparkfile.read(saved)
    assert sparkfile.validate(doc, registry=registry) == []
    brain = spark.Brain.from_file(saved, registry=registry)
    nodes = {n["id"]: n for n in brain.to_dict()["nodes"]}
    assert set(nodes) == {"spiker", "exc", "wire"}
    assert nodes["exc"]["params"] == {"tau_m": 12.5, "mode": "euler"}
    assert nodes["exc"]["component"] == "editor-test-pack:neuron"
    assert sorted((e["from"], e["to"]) for e in doc["edges"]) == [("spiker.spikes", "wire.pre"),
                                                                    ("wire.i", "exc.i_syn")]
    assert doc["inputs"] == [{"name": "input", "to": "spiker.data", "value": 1}]
    assert set(doc["editor"]["positions"]) == {"spiker", "exc", "wire"}
    out = brain.run(steps=20, record=["spiker.spikes"])
    assert out["spiker.spikes"].shape == (20, 100)

    # Ctrl+S saves again in place
    select_node(page, "wire")
    set_field(page, "param-weight", "250")
    expect(page.get_by_test_id("file-name")).to_have_attribute("data-dirty", "true")
    page.get_by_test_id("canvas").click(position={"x": 5, "y": 5})
    page.keyboard.press("Control+s")
    expect(page.get_by_test_id("file-name")).to_have_attribute("data-dirty", "false")
    assert {n["id"]: n for n in sparkfile.read(saved)["nodes"]}["wire"]["params"] == {"weight": 250.0}


def test_run_streams_spikes_into_the_raster(open_editor, tmp_path, make_model):
    (tmp_path / "chain.spark").write_text(json.dumps(make_model(n=30, rate=300.0)))
    page = open_editor(initial_file="chain.spark")
    expect = sync_api.expect
    expect(page.get_by_test_id("file-name")).to_have_text("chain.spark")
    expect(page.get_by_test_id("node-exc")).to_be_visible()
    page.get_by_test_id("tab-run").click()
    page.get_by_test_id("run-steps").fill("300")
    page.get_by_test_id("run-start").click()
    expect(page.get_by_test_id("run-status")).to_have_attribute("data-state", "done", timeout=90_000)
    raster = page.get_by_test_id("raster")
    assert int(raster.get_attribute("data-chunks")) == 3  # 300 steps streamed in chunks of 100
    assert int(raster.get_attribute("data-spikes")) > 100  # 30 neurons at 300 Hz for 300 ms
    assert "enc.spikes" in page.get_by_test_id("run-panel").inner_text()
    # something was drawn
    assert page.evaluate(
        "() => { const c = document.querySelector('[data-testid=raster]');"
        " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] > 200 && d[i + 1] < 120) n++; return n; }"
    ) > 50
    # keep a screenshot of the editor with the model open and its run drawn, as a test artefact
    shots = Path(os.environ.get("SPARK_EDITOR_ARTIFACTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "editor-run.png"), full_page=True)
    assert (shots / "editor-run.png").stat().st_size > 10_000


def test_with_a_session_token_the_page_opens_and_runs(open_editor, tmp_path, make_model):
    """The printed URL (``/?token=...``) sets the cookie; the page's fetches and its run websocket then carry it."""
    (tmp_path / "chain.spark").write_text(json.dumps(make_model(n=10, rate=300.0)))
    page = open_editor(initial_file="chain.spark", token="browser-token")
    expect = sync_api.expect
    assert page.url.endswith("/") and "token" not in page.url  # redirected: the token left the address bar
    expect(page.get_by_test_id("node-exc")).to_be_visible()
    page.get_by_test_id("tab-run").click()
    page.get_by_test_id("run-steps").fill("100")
    page.get_by_test_id("run-start").click()
    expect(page.get_by_test_id("run-status")).to_have_attribute("data-state", "done", timeout=90_000)
    # a browser without the cookie (another local user's) gets nothing
    other = page.context.browser.new_context()
    try:
        resp = other.new_page().goto(page.url + "api/session")
        assert resp.status == 403 and "session token" in resp.text()
    finally:
        other.close()


def test_undo_redo_copy_paste_delete_and_layout(open_editor):
    page = open_editor()
    expect = sync_api.expect
    nodes = page.locator(".react-flow__node")
    page.get_by_role("button", name="add neuron").click()
    expect(nodes).to_have_count(1)
    page.get_by_test_id("canvas").click(position={"x": 5, "y": 5})
    select_node(page, "neuron")
    page.keyboard.press("Control+c")
    page.keyboard.press("Control+v")
    expect(nodes).to_have_count(2)
    expect(page.get_by_test_id("node-neuron_2")).to_be_visible()
    page.keyboard.press("Control+z")
    expect(nodes).to_have_count(1)
    page.keyboard.press("Control+Shift+z")
    expect(nodes).to_have_count(2)
    # multi-select (Ctrl+A), delete, undo
    page.keyboard.press("Control+a")
    expect(page.get_by_test_id("inspector-multi")).to_contain_text("2 nodes")
    page.keyboard.press("Delete")
    expect(nodes).to_have_count(0)
    page.get_by_test_id("undo").click()
    expect(nodes).to_have_count(2)
    # wire them up and lay them out in layers
    page.get_by_role("button", name="add wire").click()
    expect(nodes).to_have_count(3)
    before = page.get_by_test_id("node-wire").bounding_box()
    page.get_by_test_id("layout").click()
    page.wait_for_timeout(500)
    assert page.get_by_test_id("node-wire").bounding_box() != before
    page.get_by_test_id("undo").click()
    expect(nodes).to_have_count(3)


def test_problem_click_selects_the_node(open_editor, tmp_path, make_model):
    model = make_model()
    model["nodes"][2]["params"] = {"tau_m": -1}
    (tmp_path / "bad.spark").write_text(json.dumps(model))
    page = open_editor(initial_file="bad.spark")
    expect = sync_api.expect
    problem = page.get_by_test_id("problem")
    expect(problem).to_have_count(1)
    expect(problem).to_contain_text("$.nodes[2].params.tau_m")
    assert "selected" not in page.get_by_test_id("node-exc").get_attribute("class")
    problem.click()
    expect(page.get_by_test_id("inspector-node")).to_be_visible()
    expect(page.get_by_test_id("node-name")).to_have_value("exc")
    assert "selected" in page.get_by_test_id("node-exc").get_attribute("class")
    # fix it from the inspector: the problem goes away
    set_field(page, "param-tau_m", "")
    expect(page.get_by_test_id("problems-none")).to_be_visible()


def test_a_silent_model_is_valid_with_a_warning(open_editor, tmp_path, make_model):
    """A model without outputs is valid (it runs) but the Problems tab warns that it returns nothing."""
    model = make_model()
    model["outputs"] = []
    (tmp_path / "silent.spark").write_text(json.dumps(model))
    page = open_editor(initial_file="silent.spark")
    expect = sync_api.expect
    warning = page.get_by_test_id("warning")
    expect(warning).to_have_count(1)
    expect(warning).to_contain_text("$.outputs")
    expect(warning).to_contain_text("declares no outputs")
    expect(page.get_by_test_id("problems-none")).to_be_visible()
    expect(page.get_by_test_id("validity")).to_have_text("valid")


def test_open_dialog_and_unsaved_changes_warning(open_editor, tmp_path, make_model):
    (tmp_path / "a.spark").write_text(json.dumps(make_model()))
    page = open_editor()
    expect = sync_api.expect
    page.get_by_role("button", name="add neuron").click()
    expect(page.get_by_test_id("file-name")).to_have_attribute("data-dirty", "true")
    page.get_by_test_id("open").click()
    expect(page.get_by_role("dialog")).to_contain_text("Discard")  # unsaved changes
    page.get_by_test_id("dialog-cancel").click()
    expect(page.locator(".react-flow__node")).to_have_count(1)
    page.get_by_test_id("open").click()
    page.get_by_test_id("dialog-ok").click()
    page.get_by_test_id("file-a.spark").click()
    expect(page.get_by_test_id("file-name")).to_have_text("a.spark")
    expect(page.get_by_test_id("node-exc")).to_be_visible()
    expect(page.get_by_test_id("file-name")).to_have_attribute("data-dirty", "false")
    # the browser's own warning when leaving with unsaved changes
    page.get_by_role("button", name="add wire").click()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.type), d.dismiss()))
    page.close(run_before_unload=True)
    page.wait_for_timeout(500)
    assert dialogs == ["beforeunload"]


def test_learning_rule_attaches_to_a_synapse(open_editor, tmp_path, make_model, registry):
    (tmp_path / "chain.spark").write_text(json.dumps(make_model()))
    page = open_editor(initial_file="chain.spark")
    expect = sync_api.expect
    expect(page.get_by_test_id("node-exc")).to_be_visible()
    page.get_by_test_id("layout").click()
    n_edges = edges(page)
    page.get_by_role("button", name="add hebb").click()
    expect(page.get_by_test_id("node-hebb")).to_be_visible()
    page.get_by_test_id("node-hebb").drag_to(page.get_by_test_id("canvas"), target_position={"x": 600, "y": 520})
    connect(page, "hebb-attach", "exc-in-i_syn")  # a rule attaches to a synapse only
    assert edges(page) == n_edges
    expect(page.get_by_test_id("toast")).to_contain_text("attach")
    connect(page, "hebb-attach", "syn-rules")
    connect(page, "enc-out-spikes", "hebb-in-pre")
    connect(page, "exc-out-spikes", "hebb-in-post")
    assert edges(page) == n_edges + 3
    expect(page.get_by_test_id("validity")).to_have_text("valid")
    page.keyboard.press("Control+s")
    expect(page.get_by_test_id("file-name")).to_have_attribute("data-dirty", "false")
    doc = sparkfile.read(tmp_path / "chain.spark")
    rule = next(n for n in doc["nodes"] if n["id"] == "hebb")
    assert rule["attach"] == "syn" and "shape" not in rule
    assert {"from": "exc.spikes", "to": "hebb.post"} in doc["edges"]
    brain = spark.Brain.from_dict(doc, registry=registry)
    before = brain.nodes["syn"].weight[...].sum()
    brain.run(steps=50)
    assert brain.nodes["syn"].weight[...].sum() > before  # the rule learned
    # reopened, the attachment is drawn again (dashed edge from the rule to the synapse)
    page2 = open_editor(initial_file="chain.spark")
    expect(page2.locator(".react-flow__edge")).to_have_count(n_edges + 3)


def test_open_save_round_trip_keeps_unknown_things(open_editor, tmp_path, make_model):
    model = make_model()
    model["nodes"][2]["component"] = "not-installed:thing"
    model["edges"][1]["delay"] = 2.0
    model["description"] = "kept"
    model["editor"] = {"positions": {}, "theme": "dark"}
    (tmp_path / "m.spark").write_text(json.dumps(model))
    page = open_editor(initial_file="m.spark")
    expect = sync_api.expect
    expect(page.get_by_test_id("node-exc")).to_contain_text("unknown component not-installed:thing")
    expect(page.locator(".react-flow__edge")).to_have_count(4)  # its edges are still drawn
    expect(page.get_by_test_id("problem")).to_have_count(1)
    # change something and change it back, then save: the document is the same (plus what the editor adds)
    select_node(page, "syn")
    set_field(page, "param-weight", "1")
    page.get_by_test_id("undo").click()
    expect(page.get_by_test_id("file-name")).to_have_attribute("data-dirty", "false")
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("toast")).to_contain_text("Saved m.spark")
    saved = json.loads((tmp_path / "m.spark").read_text())
    for key in ("format", "version", "name", "dt", "seed", "description", "nodes", "edges", "inputs", "outputs"):
        assert saved[key] == model[key], key
    assert saved["editor"]["theme"] == "dark" and set(saved["editor"]["positions"]) == {"enc", "syn", "exc"}


def test_a_newer_edit_stops_the_validation_in_flight(open_editor, monkeypatch):
    """The page aborts the validation of a model it has since changed; the server sees the connection close and
    stops that validation at its next checkpoint (spark.cancel) instead of checking a stale model to the end."""
    from validation_helpers import StoppableCheck

    from spark_editor import server

    # the model with one node: a validation that would take 30 s
    check = StoppableCheck(server, monkeypatch, lambda doc: isinstance(doc, dict) and len(doc.get("nodes") or []) == 1)
    page = open_editor()
    drop(page, "editor-test-pack:neuron", 200, 150)
    assert check.started.wait(20), "the one-node model was not validated"
    drop(page, "editor-test-pack:neuron", 600, 150)  # a newer model: the page aborts the first validation
    assert check.ended.wait(20), "the stale validation was not stopped"
    assert check.outcome == ["cancelled"]
    sync_api.expect(page.get_by_test_id("validity")).to_have_text("valid")  # the newer model's answer
