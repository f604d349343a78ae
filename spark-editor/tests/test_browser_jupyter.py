"""The notebook widgets' front ends in Chromium (issue 20, item 3): each widget's ES module (what anywidget loads in
Jupyter) rendered in a page with a model object that behaves as anywidget's (``get``, ``on``), as a notebook would.

The editor and viewer widgets show their server's pages in an iframe of another origin: the pages must load there,
with the session token they keep (no cookie), talk to their server, and draw the model / the run. The live raster
draws the spikes pushed from Python. Screenshots go to SPARK_EDITOR_ARTIFACTS when set.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("anywidget", reason="the notebook widgets need the jupyter extra: pip install 'spark-editor[jupyter]'")

from .test_browser import browser, sync_api  # noqa: E402,F401  (the Chromium fixture; skips without it)

import spark  # noqa: E402
import spark_editor  # noqa: E402
from spark_editor import jupyter  # noqa: E402

pytestmark = pytest.mark.browser

HOST_PAGE = """<!doctype html><html><body style="margin:0"><div id="out"></div>
<script type="module">
  const state = STATE;
  const handlers = {};
  const model = {
    get: (k) => state[k],
    on: (ev, fn) => { (handlers[ev] ||= []).push(fn); },
  };
  window.setTrait = (k, v) => { state[k] = v; (handlers["change:" + k] || []).forEach((f) => f()); };
  const mod = await import("data:text/javascript;base64,ESM");
  mod.default.render({ model, el: document.getElementById("out") });
  window.rendered = true;
</script></body></html>"""


def host(page, widget) -> None:
    """Render ``widget``'s ES module in ``page`` (about:blank: another origin than the widget's server)."""
    state = {k: v for k, v in widget.get_state().items() if isinstance(v, (str, int, float, bool))}  # as synced
    esm = base64.b64encode(widget._esm.encode()).decode()
    page.set_content(HOST_PAGE.replace("STATE", json.dumps(state)).replace("ESM", esm))
    page.wait_for_function("() => window.rendered === true")


@pytest.fixture
def page(browser):  # noqa: F811
    ctx = browser.new_context(viewport={"width": 1300, "height": 900})
    pg = ctx.new_page()
    pg.set_default_timeout(30_000)
    errors = []
    pg.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    yield pg
    ctx.close()
    jupyter._close_all()
    assert not errors, errors


def shot(page, name: str) -> None:
    folder = os.environ.get("SPARK_EDITOR_ARTIFACTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / name), full_page=True)


def test_the_editor_widget_shows_the_brain_in_an_iframe_and_its_saves_build(page, registry, make_model, tmp_path):
    brain = spark.Brain.from_dict(make_model(n=8), registry=registry)
    widget = spark_editor.show(brain, folder=tmp_path, registry=registry, height=700)
    host(page, widget)
    frame = page.frame_locator("iframe")
    frame.locator('[data-testid="palette-editor-test-pack:neuron"]').wait_for()  # the catalogue came with the token
    frame.locator('[data-testid="node-exc"]').wait_for()  # the model's file was opened
    frame.locator('[data-testid="node-enc"]').wait_for()
    assert page.locator("iframe").bounding_box()["height"] == pytest.approx(700, abs=2)
    assert not page.context.cookies()  # an embedded page keeps its token in memory, never in a cookie
    shot(page, "jupyter-editor-widget.png")
    assert widget.brain(registry=registry).to_dict()["nodes"] == brain.to_dict()["nodes"]


def test_the_viewer_widget_draws_a_run_made_in_the_notebook(page, registry, make_model):
    brain = spark.Brain.from_dict(make_model(n=16), registry=registry)
    rec = brain.run(steps=300, record=["exc.spikes", "enc.spikes", "exc.v[0:3]"])
    widget = spark_editor.view(brain, rec, registry=registry)
    host(page, widget)
    frame = page.frame_locator("iframe")
    frame.locator('[data-testid="badge-exc"]').wait_for()  # the graph with each population's rate
    frame.locator('[data-testid="node-exc"] .spark-node-header').click()
    frame.locator('[data-testid="raster-0"]').wait_for()
    inner = next(f for f in page.frames if f != page.main_frame)
    inner.wait_for_function("() => +document.querySelector('[data-testid=rate-0]').dataset.points > 0")
    # the raster canvas has dark pixels: spikes were drawn
    dark = inner.evaluate("""() => {
        const c = document.querySelector('[data-testid="raster-0"]');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && d[i] < 128) n++; return n; }""")
    assert dark > 0
    shot(page, "jupyter-viewer-widget.png")


def test_the_live_raster_draws_what_python_pushes(page):
    widget = jupyter.LiveRaster(4, dt=1.0)
    spikes = np.zeros((10, 4), bool)
    spikes[::2, 1] = True  # neuron 1 fires every other step
    widget.push(spikes, 0)
    host(page, widget)
    canvas = page.locator("canvas")
    canvas.wait_for()

    def row_dark(row: int) -> int:
        return page.evaluate(f"""() => {{
            const c = document.querySelector('canvas'), d = c.getContext('2d').getImageData(0, {row}, c.width, 1).data;
            let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] < 128) n++; return n; }}""")

    assert row_dark(1) == 5 and row_dark(0) == 0 and row_dark(2) == 0  # 5 spikes of neuron 1, nothing else
    assert "t = 10 ms" in page.locator("div", has_text="spikes:").last.inner_text()
    widget.push(np.ones((3, 4), bool))  # pushed from Python: the front end follows the traits
    page.evaluate(f"() => {{ setTrait('image', {json.dumps(widget.image)}); setTrait('label', {json.dumps(widget.label)}); }}")
    assert row_dark(0) == 3 and row_dark(1) == 5 + 3
    shot(page, "jupyter-live-raster.png")
