"""`spark run` and `spark validate` as a user runs them: real processes, real installed packs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

MODEL = Path(__file__).parent / "data" / "two_inputs.spark"


def spark_cli(*args, cwd, check=True):
    exe = shutil.which("spark", path=os.path.dirname(sys.executable)) or shutil.which("spark")
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "SPARK_CACHE_DIR": str(Path(cwd) / ".cache")}
    proc = subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"spark {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.mark.slow
def test_spark_run_with_no_arguments_runs_the_bundled_example(tmp_path):
    proc = spark_cli("run", cwd=tmp_path)
    out = tmp_path / "spark-runs" / "balanced"
    summary = json.loads((out / "summary.json").read_text())
    assert (out / "raster.png").stat().st_size > 10_000
    rec = np.load(out / "recording.npz")
    assert summary["steps"] == 10_000 and summary["simulated_ms"] == pytest.approx(1000.0)
    for ref, pop in summary["populations"].items():
        spikes = rec[ref.replace(".", "__")]
        assert spikes.shape == (10_000, pop["neurons"])
        assert pop["spikes"] == int(spikes.sum())
        assert pop["mean_rate_hz"] == pytest.approx(spikes.sum() / pop["neurons"] / 1.0)
    rates = {ref: pop["mean_rate_hz"] for ref, pop in summary["populations"].items()}
    assert 1.0 < rates["exc.spikes"] < 50.0 and 15.0 < rates["noise.spikes"] < 25.0
    assert "exc.spikes" in proc.stdout and "summary.json" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_spark_run_gives_xla_one_thread_for_a_small_network_and_keeps_the_users_choice(tmp_path):
    """docs/performance.md "Threads": below spark.threads.ONE_THREAD_BELOW neurons, one intra-op thread."""
    spark_cli("run", str(MODEL), "--steps", "20", "--no-plot", "--out", str(tmp_path / "a"), cwd=tmp_path)
    assert json.loads((tmp_path / "a" / "summary.json").read_text())["xla_cpu_threads"] == 1
    os.environ["PJRT_NPROC"] = "2"
    try:
        spark_cli("run", str(MODEL), "--steps", "20", "--no-plot", "--out", str(tmp_path / "b"), cwd=tmp_path)
    finally:
        del os.environ["PJRT_NPROC"]
    assert json.loads((tmp_path / "b" / "summary.json").read_text())["xla_cpu_threads"] == 2


def test_spark_run_a_file_with_extra_records(tmp_path):
    spark_cli("run", str(MODEL), "--steps", "300", "--record", "neurons.v", "--record", "syn_a.weight",
              "--out", "out", "--no-plot", cwd=tmp_path)
    rec = np.load(tmp_path / "out" / "recording.npz")
    assert rec["neurons__v"].shape == (300, 15)
    assert rec["syn_a__weight"].shape == (300, 20, 15)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert set(summary["populations"]) == {"in_a.spikes", "in_b.spikes", "neurons.spikes"}
    assert summary["compile_s"] > 0 and summary["run_s"] > 0


def test_spark_run_refuses_unknown_records_and_models(tmp_path):
    proc = spark_cli("run", str(MODEL), "--steps", "5", "--record", "neurons.nope", cwd=tmp_path, check=False)
    assert proc.returncode != 0 and "neurons.nope" in proc.stderr and "Traceback" not in proc.stderr
    proc = spark_cli("run", "no_such_example", cwd=tmp_path, check=False)
    assert proc.returncode != 0 and "balanced" in proc.stderr


def test_spark_validate(tmp_path):
    ok = spark_cli("validate", str(MODEL), cwd=tmp_path)
    assert "valid" in ok.stdout
    bad = json.loads(MODEL.read_text())
    bad["dt"] = 0
    bad["nodes"][2]["params"]["tau_m"] = -1
    bad["edges"][0]["to"] = "syn_x.pre"
    (tmp_path / "bad.spark").write_text(json.dumps(bad))
    proc = spark_cli("validate", "bad.spark", cwd=tmp_path, check=False)
    assert proc.returncode == 1
    assert "$.dt" in proc.stderr and "$.nodes[2].params.tau_m" in proc.stderr and "$.edges[0].to" in proc.stderr
    assert "must be > 0 ms" in proc.stderr and "did you mean 'syn_" in proc.stderr
    assert "Traceback" not in proc.stderr
    (tmp_path / "broken.spark").write_text("{not json")
    proc = spark_cli("validate", "broken.spark", cwd=tmp_path, check=False)
    assert proc.returncode == 1 and "not valid JSON" in proc.stderr and "Traceback" not in proc.stderr
