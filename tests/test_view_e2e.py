"""`spark run` then `spark view` on its output, as a user runs them: real processes, every pack installed.

The viewer's API (through the URL `spark view` prints, with its session token) must give the model `spark run`
saved, each population's mean rate as the summary has it, and every spike at its stamp (k + 1) dt; and the page,
in the system Chromium, shows the graph and a raster (screenshot `spark-view.png` in SPARK_EDITOR_ARTIFACTS).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("spark_editor")


def _exe() -> str:
    return shutil.which("spark", path=os.path.dirname(sys.executable)) or shutil.which("spark")


def _env(cwd: Path) -> dict:
    return {**os.environ, "JAX_PLATFORMS": "cpu", "SPARK_CACHE_DIR": str(cwd / ".cache"),
            "SPARK_EDITOR_NO_BROWSER": "1"}


def _get(url: str, token: str, **params):
    req = urllib.request.Request(f"{url}?{urllib.parse.urlencode(params)}", headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("view-e2e")
    run = subprocess.run([_exe(), "run", "balanced", "--duration", "100", "--plot", "weights", "--record",
                          "exc.v[0:3]", "--out", "run", "--no-progress"], cwd=root, env=_env(root),
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    assert "model.spark" in run.stdout
    return root


@pytest.fixture(scope="module")
def viewer(run_folder):
    """``(base_url, token)`` of a real `spark view run` process (ended after the module's tests)."""
    proc = subprocess.Popen([_exe(), "view", "run", "--no-browser"], cwd=run_folder, env=_env(run_folder),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        m = re.search(r"(http://127\.0\.0\.1:\d+)/view\?token=(\S+)", line)
        assert m, f"spark view printed {line!r}; stderr: {proc.stderr.read() if proc.poll() is not None else ''}"
        yield m.group(1), m.group(2)
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.mark.slow
def test_spark_view_serves_what_spark_run_wrote(run_folder, viewer):
    import spark

    folder = run_folder / "run"
    base, token = viewer
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["files"]["model"] == "model.spark"
    model = json.loads((folder / "model.spark").read_text())
    assert {n["id"] for n in model["nodes"]} == set(summary["nodes"])

    status, runs = _get(f"{base}/api/runs", token)
    assert status == 200 and [r["id"] for r in runs["runs"]] == ["run"]
    status, info = _get(f"{base}/api/runs/info", token, run="run")
    assert status == 200, info
    assert info["graph_source"] == "model.spark" and info["doc"] == model
    assert info["dt"] == summary["dt_ms"] and info["steps"] == summary["steps"]
    for ref, pop in summary["populations"].items():
        node = ref.split(".")[0]
        assert info["rates"][node]["spikes"] == pop["spikes"]
        assert info["rates"][node]["hz"] == pytest.approx(pop["mean_rate_hz"])
    assert set(info["weights"]) >= {"noise_exc", "exc_exc"}

    rec = spark.load_recording(folder)
    exc = np.asarray(rec["exc.spikes"])
    k, i = np.nonzero(exc)
    status, raster = _get(f"{base}/api/runs/raster", token, run="run", key="exc.spikes")
    assert status == 200 and raster["mode"] == "events"
    assert raster["t"] == pytest.approx(((k + 1) * rec.dt).tolist()) and raster["i"] == i.tolist()
    status, trace = _get(f"{base}/api/runs/trace", token, run="run", key="exc.v[0:3]", columns="0:3", width=2000)
    assert status == 200 and trace["neurons"] == [0, 1, 2]
    assert np.allclose(trace["values"], np.asarray(rec["exc.v[0:3]"], dtype=float).T)

    # only the folder it was given, and only with the token
    assert _get(f"{base}/api/runs/info", token, run="../run")[0] == 403
    assert _get(f"{base}/api/runs/info", "wrong", run="run")[0] == 403


CHROMIUM = os.environ.get("SPARK_EDITOR_CHROMIUM", "/usr/bin/chromium")


@pytest.mark.slow
def test_spark_view_shows_the_graph_and_a_raster_in_chromium(run_folder, viewer, tmp_path):
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        if os.environ.get("SPARK_EDITOR_REQUIRE_CHROMIUM") == "1":
            pytest.fail(f"SPARK_EDITOR_REQUIRE_CHROMIUM=1 but there is no Chromium at {CHROMIUM}")
        pytest.skip(f"needs Chromium at {CHROMIUM} (Debian: apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if os.environ.get("SPARK_EDITOR_REQUIRE_CHROMIUM") == "1":
            pytest.fail("SPARK_EDITOR_REQUIRE_CHROMIUM=1 but Playwright is not installed (spark-editor[test])")
        pytest.skip("needs Playwright (pip install 'spark-editor[test]'); no browser is ever downloaded")
    import spark

    base, token = viewer
    spikes = int(np.asarray(spark.load_recording(run_folder / "run")["exc.spikes"]).sum())
    errors = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 1200})
        page.set_default_timeout(60_000)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{base}/view?token={token}")
        for node in ("noise", "exc", "inh", "exc_exc"):  # the graph, drawn by the editor's node components
            page.get_by_test_id(f"node-{node}").wait_for()
        assert page.get_by_test_id("badge-exc").inner_text().endswith("Hz")
        page.wait_for_function(f"() => document.querySelector('[data-testid=raster-0]')?.dataset.events"
                               f" === '{spikes}'")
        drawn = page.evaluate("""() => {
          const c = document.querySelector('[data-testid=raster-0]');
          const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
          let n = 0;
          for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && d[i + 2] > 150 && d[i] < 120) n++;
          return n;
        }""")
        assert drawn > 100, "the raster shows spikes"
        shots = Path(os.environ.get("SPARK_EDITOR_ARTIFACTS") or tmp_path)
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / "spark-view.png"), full_page=True)
        browser.close()
    assert not errors, errors
