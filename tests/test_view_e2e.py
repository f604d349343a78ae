"""`spark run` then `spark view` on its output, as a user runs them: real processes, every pack installed.

The viewer's API (through the URL `spark view` prints, with its session token) must give the model `spark run`
saved, each population's mean rate as the summary has it, and every spike at its stamp (k + 1) dt.
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
    return {**os.environ, "JAX_PLATFORMS": "cpu", "SPARK_CACHE_DIR": str(cwd / ".cache"), "SPARK_EDITOR_NO_BROWSER": "1"}


def _get(url: str, token: str, **params):
    req = urllib.request.Request(f"{url}?{urllib.parse.urlencode(params)}", headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.slow
def test_spark_view_serves_what_spark_run_wrote(tmp_path):
    run = subprocess.run([_exe(), "run", "balanced", "--duration", "100", "--plot", "weights", "--record",
                          "exc.v[0:3]", "--out", "run", "--no-progress"], cwd=tmp_path, env=_env(tmp_path),
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    assert "model.spark" in run.stdout
    folder = tmp_path / "run"
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["files"]["model"] == "model.spark"
    model = json.loads((folder / "model.spark").read_text())
    assert {n["id"] for n in model["nodes"]} == set(summary["nodes"])

    viewer = subprocess.Popen([_exe(), "view", "run", "--no-browser"], cwd=tmp_path, env=_env(tmp_path),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = viewer.stdout.readline()
        m = re.search(r"(http://127\.0\.0\.1:\d+)/view\?token=(\S+)", line)
        assert m, f"spark view printed {line!r}; stderr: {viewer.stderr.read() if viewer.poll() is not None else ''}"
        base, token = m.group(1), m.group(2)

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

        import spark

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
    finally:
        viewer.terminate()
        viewer.wait(30)
