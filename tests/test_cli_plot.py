"""`spark run --plot ...` and `spark plot RUN_DIR` as a user runs them: real processes, real installed packs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

MODEL = Path(__file__).parent / "data" / "two_inputs.spark"


def spark_cli(*args, cwd, check=True):
    exe = shutil.which("spark", path=os.path.dirname(sys.executable)) or shutil.which("spark")
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "SPARK_CACHE_DIR": str(Path(cwd) / ".cache")}
    proc = subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"spark {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.mark.slow
def test_spark_run_plots_what_is_asked_and_spark_plot_redraws_without_running(tmp_path):
    proc = spark_cli("run", str(MODEL), "--steps", "400", "--plot", "rate,voltage", "--plot", "weights",
                     "--record", "neurons.spikes:rate@10", "--stream", "--out", "run", cwd=tmp_path)
    run = tmp_path / "run"
    summary = json.loads((run / "summary.json").read_text())
    assert summary["plots"] == ["raster", "rate", "voltage", "weights"]
    assert summary["files"]["recording"] == "recording" and (run / "recording" / "recording.json").exists()
    assert summary["nodes"]["neurons"]["shape"] == [15] and summary["synapses"]["syn_a"]["pre"] == "in_a"
    assert summary["recording"]["neurons.v[0:5]"]["neurons"] == [0, 1, 2, 3, 4]
    v = np.load(run / "recording" / "neurons__v_0_5_.npy")
    assert v.shape == (400, 5) and np.all(v < 0)
    assert np.load(run / "recording" / "neurons__spikes_rate_10.npy").shape == (40,)
    for name in ("raster.png", "rate.png", "voltage.png", "weights-syn_a.png", "weights-syn_b.png"):
        assert (run / name).stat().st_size > 5_000, name
    with np.load(run / "weights.npz") as w:
        assert w["syn_a"].shape == (20, 15)
    assert "wrote" in proc.stdout and "Traceback" not in proc.stderr
    assert "steps |" not in proc.stderr, "no progress bar when stderr is not a terminal"

    for name in ("raster.png", "voltage.png"):
        (run / name).unlink()
    again = spark_cli("plot", "run", cwd=tmp_path)  # what the run drew, from the saved files
    assert (run / "raster.png").exists() and (run / "voltage.png").exists() and "wrote" in again.stdout
    other = spark_cli("plot", "run", "--plot", "isi,rate-hist", "--plot", "weight-evolution", "--format", "svg",
                      "--out", "figs", cwd=tmp_path)
    assert "inter-spike interval (ms)" in (tmp_path / "figs" / "isi.svg").read_text()
    assert (tmp_path / "figs" / "rate-hist.svg").exists() and not (tmp_path / "figs" / "raster.svg").exists()
    assert "no weight-evolution plot: no weight samples were recorded" in other.stderr
