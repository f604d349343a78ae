"""The run viewer in a real browser (Playwright driving the system Chromium; never a downloaded browser): runs made
by actually running the test pack's model, opened from the editor's Runs dialog and by `spark view`'s app.

What is drawn is checked against the recordings: the spikes a raster holds equal the spikes the recording has in the
window (stamps (k + 1) dt, computed here), and the canvases hold pixels of the run's colour.
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest

import spark

HERE = Path(__file__).parent


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"_viewer_{name}", HERE / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


harness = _load("test_browser")  # skips this module, with the reason, where Chromium or Playwright is missing
data = _load("test_viewer")

pytestmark = pytest.mark.browser
BLUE, ORANGE = (0x2D, 0x6C, 0xDF), (0xE4, 0x57, 0x2E)  # the colours of the first and second column
COUNT_PIXELS = """([id, rgb]) => {
  const c = document.querySelector(`[data-testid="${id}"]`);
  const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) {
    if (d[i + 3] > 0 && Math.abs(d[i] - rgb[0]) < 40 && Math.abs(d[i + 1] - rgb[1]) < 40
        && Math.abs(d[i + 2] - rgb[2]) < 40) n++;
  }
  return n;
}"""


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("viewer-browser")
    data.write_run(root / "runs" / "a", seed=3)
    data.write_run(root / "runs" / "b", seed=4)
    return root


browser = harness.browser  # the module-scoped Chromium of test_browser.py


class ViewerServer(harness.EditorServer):
    """The harness's server started with the viewer's arguments (``runs``: `spark view`); ``url`` without a token."""

    def __init__(self, root: Path, registry, runs=None, token=None):
        super().__init__(root, registry, token=token, runs=runs)
        self.url = self.server.url("/")


@pytest.fixture
def serve(browser, registry):
    """``serve(root, runs=None, token=None) -> (server, page)``; console errors fail the test."""
    servers, contexts, errors = [], [], []

    def start(root: Path, runs=None, token=None):
        server = ViewerServer(root, registry, runs, token)
        servers.append(server)
        ctx = browser.new_context(viewport={"width": 1500, "height": 1250})
        contexts.append(ctx)
        page = ctx.new_page()
        page.set_default_timeout(30_000)
        page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
        page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}")
                if m.type == "error" and harness.EXPECTED_HTTP_ERROR not in m.text else None)
        return server, page

    yield start
    for ctx in contexts:
        ctx.close()
    for server in servers:
        server.close()
    assert not errors, errors


def samples_in(t0: float, t1: float) -> int:
    stamps = (np.arange(data.STEPS) + 1) * data.DT
    return int(((stamps >= t0 - 1e-9) & (stamps <= t1 + 1e-9)).sum())


def spikes_in(root: Path, run: str, key: str, t0: float, t1: float) -> int:
    """Spikes of ``key`` stamped inside [t0, t1], from the recording's arrays and dt alone."""
    rec = spark.load_recording(root / "runs" / run)
    s = np.asarray(rec[key])
    stamps = (np.arange(len(s)) + 1) * rec.dt
    keep = (stamps >= t0 - 1e-9) & (stamps <= t1 + 1e-9)
    return int(s[keep].sum())


def events(page, testid: str) -> int:
    return int(page.get_by_test_id(testid).get_attribute("data-events"))


def wait_events(page, testid: str, expected: int):
    page.wait_for_function(f"""() => document.querySelector('[data-testid="{testid}"]')?.dataset.events
        === '{expected}'""")


def url_window(page) -> tuple[float, float]:
    q = parse_qs(urlparse(page.url).query)
    return float(q["t0"][0]), float(q["t1"][0])


def test_view_a_run_from_the_editor_zoom_cursor_and_compare(serve, root, tmp_path):
    server, page = serve(root)
    page.goto(server.url)
    page.get_by_test_id("runs").click()
    link = page.get_by_test_id("run-runs/a")
    assert link.get_attribute("href") == "/view?run=runs%2Fa"
    assert page.get_by_test_id("run-runs/b").is_visible()
    page.goto(server.url.rstrip("/") + link.get_attribute("href"))

    # the graph, with each population's mean rate
    rec = spark.load_recording(root / "runs" / "a")
    seconds = data.STEPS * data.DT / 1000
    exc = np.asarray(rec["exc.spikes"])
    hz = exc.sum() / exc.shape[1] / seconds
    badge = page.get_by_test_id("badge-exc")
    badge.wait_for()
    assert badge.inner_text() == f"{hz:.1f} Hz"
    assert page.get_by_test_id("node-syn").is_visible()

    # a node picked in the graph: its raster holds every spike, drawn in the run's colour
    page.get_by_test_id("node-enc").locator(".spark-node-header").click()
    total_enc = spikes_in(root, "a", "enc.spikes", 0, 1e9)
    wait_events(page, "raster-0", total_enc)
    page.get_by_test_id("node-exc").locator(".spark-node-header").click()
    wait_events(page, "raster-0", int(exc.sum()))
    assert "node=exc" in page.url
    assert page.evaluate(COUNT_PIXELS, ["raster-0", BLUE]) > 50
    page.wait_for_function("() => +document.querySelector('[data-testid=rate-0]').dataset.points > 0")
    assert page.evaluate(COUNT_PIXELS, ["rate-0", BLUE]) > 50
    assert page.get_by_test_id("node-rate-0").inner_text().startswith(f"exc: {hz:.2f} Hz")
    page.wait_for_function("() => +document.querySelector('[data-testid=isi-0]').dataset.n > 0")
    page.wait_for_function("() => +document.querySelector('[data-testid=trace-0]').dataset.points > 0")

    # zoom: drag across the raster; every time plot follows the window
    box = page.get_by_test_id("raster-0-overlay").bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.3, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.6, y, steps=5)
    page.mouse.up()
    page.wait_for_function("() => location.search.includes('t0=')")
    t0, t1 = url_window(page)
    assert 0 < t0 < t1 < data.STEPS * data.DT
    assert float(page.get_by_test_id("window-t0").input_value()) == pytest.approx(t0, abs=0.01)
    wait_events(page, "raster-0", spikes_in(root, "a", "exc.spikes", t0, t1))
    assert events(page, "raster-0") < int(exc.sum())
    # the rate plot too: one point per step in the window (fewer steps than pixels)
    page.wait_for_function(f"() => +document.querySelector('[data-testid=rate-0]').dataset.points"
                           f" === {samples_in(t0, t1)}")

    # rates smoothed over 2 ms (a centred box of 4 steps), in both columns later on too
    page.get_by_test_id("smooth").select_option("2")
    page.wait_for_function("() => document.querySelector('[data-testid=rate-0]').dataset.smooth === '2'")
    assert "smooth=2" in page.url

    # the cursor: move over the rate plot; the label reads the time under the mouse, every plot draws the line
    rbox = page.get_by_test_id("rate-0-overlay").bounding_box()
    page.mouse.move(rbox["x"] + rbox["width"] / 2, rbox["y"] + rbox["height"] / 2)
    label = page.get_by_test_id("cursor-label").inner_text()
    m = re.fullmatch(r"cursor ([\d.]+) ms", label)
    assert m and t0 < float(m.group(1)) < t1
    assert page.evaluate(COUNT_PIXELS, ["raster-0-overlay", (0xD7, 0x26, 0x3D)]) > 20

    # a second run beside the first: same node, same window
    page.get_by_test_id("run-b").select_option("runs/b")
    page.get_by_test_id("column-1").wait_for()
    wait_events(page, "raster-1", spikes_in(root, "b", "exc.spikes", t0, t1))
    assert page.evaluate(COUNT_PIXELS, ["raster-1", ORANGE]) > 20
    page.wait_for_function("() => document.querySelector('[data-testid=rate-1]').dataset.smooth === '2'")
    assert url_window(page) == (t0, t1)
    assert parse_qs(urlparse(page.url).query)["run"] == ["runs/a", "runs/b"]
    assert page.get_by_test_id("badge-exc").inner_text().startswith(f"A {hz:.1f} Hz")

    # back to the whole run with a double-click
    page.get_by_test_id("rate-1-overlay").dblclick()
    wait_events(page, "raster-0", int(exc.sum()))

    shots = Path(os.environ.get("SPARK_EDITOR_ARTIFACTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    page.mouse.move(rbox["x"] + rbox["width"] * 0.4, rbox["y"] + 20)
    page.screenshot(path=str(shots / "viewer.png"), full_page=True)


def test_spark_view_app_opens_its_two_runs_side_by_side(serve, root):
    server, page = serve(root, runs=[root / "runs" / "a", root / "runs" / "b"], token="t0ken")
    page.goto(f"http://127.0.0.1:{server.port}/view?token=t0ken")
    assert urlparse(page.url).path == "/view" and "token" not in page.url
    wait_events(page, "raster-0", spikes_in(root, "a", "exc.spikes", 0, 1e9))
    wait_events(page, "raster-1", spikes_in(root, "b", "exc.spikes", 0, 1e9))
    assert page.get_by_test_id("run-name-0").inner_text() == "a"
    assert page.get_by_test_id("run-name-1").inner_text() == "b"
    # the weights saved with the run: the synapse into exc
    page.get_by_test_id("weights-0").wait_for()
    page.wait_for_function("""() => {
      const c = document.querySelector('[data-testid=weights-0]');
      const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      let blue = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && d[i + 2] > d[i] + 60) blue++;
      return blue > 500;
    }""")
