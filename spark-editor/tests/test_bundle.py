"""The built frontend committed in spark_editor/static must be what `npm ci && npm run build` makes now.

Rebuilds from spark-editor/frontend (package-lock.json pins every version) into a temporary folder and compares
byte for byte. Needs Node.js and npm (and the npm registry, or npm's cache); skipped without npm unless
SPARK_EDITOR_REQUIRE_NPM=1, which CI sets so a stale bundle can never pass unnoticed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
FRONTEND = HERE.parent / "frontend"
STATIC = HERE.parent / "src" / "spark_editor" / "static"


def _npm() -> str | None:
    npm = shutil.which("npm")
    if npm is None and os.environ.get("SPARK_EDITOR_REQUIRE_NPM") == "1":
        pytest.fail("SPARK_EDITOR_REQUIRE_NPM=1 but npm is not on PATH; install Node.js 20+")
    return npm


@pytest.mark.slow
def test_committed_bundle_is_fresh(tmp_path):
    if not FRONTEND.is_dir():
        pytest.skip("frontend sources are not here (installed from a wheel)")
    npm = _npm()
    if npm is None:
        pytest.skip("needs npm to rebuild the frontend (set SPARK_EDITOR_REQUIRE_NPM=1 to make this a failure)")
    src = tmp_path / "frontend"
    shutil.copytree(FRONTEND, src, ignore=shutil.ignore_patterns("node_modules"))
    out = tmp_path / "static"
    env = {**os.environ, "npm_config_audit": "false", "npm_config_fund": "false", "npm_config_update_notifier": "false"}
    for cmd in ([npm, "ci", "--no-audit", "--no-fund"], [npm, "run", "build", "--", "--outdir", str(out)]):
        proc = subprocess.run(cmd, cwd=src, env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}"
    built = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    committed = sorted(p.relative_to(STATIC).as_posix() for p in STATIC.rglob("*") if p.is_file())
    assert built == committed, "the files of the committed bundle differ from a fresh build"
    stale = [name for name in built if (out / name).read_bytes() != (STATIC / name).read_bytes()]
    assert not stale, (f"spark_editor/static is stale ({', '.join(stale)} differ from a fresh build): run "
                       "`cd spark-editor/frontend && npm ci && npm run build` and commit the result")


def test_bundle_is_in_the_package_and_node_modules_is_not_committed():
    assert {"index.html", "editor.js", "editor.css"} <= {p.name for p in STATIC.iterdir()}
    if not (HERE.parent.parent / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git checkout")
    tracked = subprocess.run(["git", "ls-files", "--full-name", "."], capture_output=True, text=True,
                             cwd=HERE.parent).stdout.splitlines()
    assert "spark-editor/frontend/package-lock.json" in tracked
    assert not [t for t in tracked if "node_modules" in t]
