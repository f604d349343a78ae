"""`spark run` over a file-size limit and `spark plot` on a damaged run folder: a message that says where, never a
traceback, and what could be kept is kept (issue 15). Real processes of the installed `spark`."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

MODEL = Path(__file__).parent / "data" / "two_inputs.spark"


def spark(*args, cwd, fsize=None):
    exe = shutil.which("spark", path=os.path.dirname(sys.executable)) or shutil.which("spark")
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "SPARK_CACHE_DIR": str(Path(cwd) / ".cache")}
    if fsize:  # under the limit Python would write truncated .pyc files of modules first imported here into the
        # shared environment (its atomic write does not check for a short write), breaking every later import
        env["PYTHONDONTWRITEBYTECODE"] = "1"

    def limit():  # RLIMIT_FSIZE: a write past it fails with EFBIG (Python ignores SIGXFSZ), like a full disk
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    return subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=600,
                          preexec_fn=limit if fsize else None)


def test_spark_run_over_a_file_size_limit_says_where_and_keeps_the_rest(tmp_path):
    (tmp_path / ".cache").mkdir()
    proc = spark("run", str(MODEL), "--steps", "20000", "--no-plot", "--out", "run", cwd=tmp_path, fsize=5000)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "spark: cannot write run/recording.npz: " in proc.stderr  # the target, not a temporary file
    assert "spark-tmp" not in proc.stderr
    assert "the simulation ran (20000 steps)" in proc.stderr and "kept: summary.json" in proc.stderr
    assert "neurons.spikes" in proc.stdout, "the results are printed even though a file failed"
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["steps"] == 20000 and "recording" not in summary["files"]
    # the small files fit under the limit (model.spark: the model as it ran); no temporary file is left
    assert sorted(os.listdir(tmp_path / "run")) == ["model.spark", "summary.json"]


def test_spark_run_streaming_over_a_file_size_limit_says_where(tmp_path):
    (tmp_path / ".cache").mkdir()
    proc = spark("run", str(MODEL), "--steps", "20000", "--no-plot", "--stream", "--out", "run", cwd=tmp_path,
                 fsize=5000)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "cannot write the recording: run/recording: File too large; nothing was recorded" in proc.stderr


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    pytest.importorskip("matplotlib")
    root = tmp_path_factory.mktemp("plotted")
    proc = spark("run", str(MODEL), "--steps", "300", "--plot", "raster,weights", "--out", "run", cwd=root)
    assert proc.returncode == 0, proc.stderr
    return root / "run"


def damage(folder: Path, name: str, how: str) -> None:
    p = folder / name
    if how == "truncate":
        p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    elif how == "random":
        p.write_bytes(os.urandom(2000))
    else:
        p.write_text(how)


@pytest.mark.parametrize("name, how, code, words", [
    ("recording.npz", "truncate", 1, ["cannot read the recording", "run the model again"]),
    ("recording.npz", "random", 1, ["cannot read the recording"]),
    ("summary.json", "random", 0, ["summary.json is damaged", "drawing without it"]),
    ("summary.json", "[1, 2]", 0, ["summary.json is damaged", "list"]),
    ("summary.json", '{"plots": 5, "image_shape": "x", "files": []}', 0,
     ["ignoring malformed plots, image_shape, files"]),
    ("weights.npz", "truncate", 0, ["weights.npz is damaged", "no weight plots"]),
])
def test_spark_plot_on_a_damaged_run_folder_gives_a_message(run_folder, tmp_path, name, how, code, words):
    folder = tmp_path / "run"
    shutil.copytree(run_folder, folder)
    damage(folder, name, how)
    proc = spark("plot", "run", cwd=tmp_path)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == code, (proc.stdout, proc.stderr)
    for w in words:
        assert w in proc.stderr, (w, proc.stderr)
