"""Every Python block of the docs runs as written (issue 20: "a broken example can't land again").

The blocks of one page run in order, in one namespace, like the cells of a notebook, in a fresh process whose working
directory is an empty temporary folder (so a page's examples make every file they read: a model written by an earlier
block, or a bundled example through ``spark.example(...)``). A page fails on the first block that raises, naming the
page, the block and its first line.

A block that is part of a bigger program (a module inside a pack, with its relative imports; a fragment of a server's
event loop) cannot run alone: it is marked by an HTML comment on the line before its fence,
``<!-- docs-test: compile-only: WHY -->``, and is compiled (a syntax error fails) but not run. The reason is
required, and so is that the mark stays rare.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGES = sorted([REPO / "README.md", *(REPO / "docs").rglob("*.md")])
FENCE = re.compile(r"^(?P<indent>[ \t]*)```python[^\n]*\n(?P<body>.*?)^(?P=indent)```", re.S | re.M)
MARK = re.compile(r"<!--\s*docs-test:\s*compile-only:\s*(?P<why>[^>]*?)\s*-->\s*$")
MAX_COMPILE_ONLY = 8  # across all pages: a mark is for a fragment, not a way out of running examples


def blocks(page: Path) -> list[dict]:
    """The Python blocks of ``page``: ``{"line", "code", "run", "why"}`` (``line``: 1-based line of the fence)."""
    text = page.read_text("utf-8")
    found = []
    for m in FENCE.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        before = text[:m.start()].rstrip("\n ").rsplit("\n", 1)[-1]
        mark = MARK.search(before)
        found.append({"line": line, "code": textwrap.dedent(m.group("body")), "run": mark is None,
                      "why": mark.group("why") if mark else ""})
    return found


RUNNER = r"""
import json, sys, traceback
blocks = json.load(open(sys.argv[1]))
ns = {"__name__": "__main__", "__file__": sys.argv[2]}
for b in blocks:
    code = compile(b["code"], f"{sys.argv[3]}:{b['line']}", "exec")
    if not b["run"]:
        continue
    try:
        exec(code, ns)
    except BaseException:
        print(f"BLOCK FAILED at {sys.argv[3]}:{b['line']}", file=sys.stderr)
        traceback.print_exc()
        sys.exit(1)
"""

WITH_CODE = [p for p in PAGES if blocks(p)]


def test_pages_with_examples_are_found():
    names = {p.relative_to(REPO).as_posix() for p in WITH_CODE}
    assert {"docs/brain.md", "docs/recording.md", "docs/plugins.md"} <= names, names


def test_compile_only_marks_are_few_and_say_why():
    marked = [(p.name, b["line"], b["why"]) for p in PAGES for b in blocks(p) if not b["run"]]
    assert len(marked) <= MAX_COMPILE_ONLY, marked
    for name, line, why in marked:
        assert len(why) >= 10, (f"{name}:{line}: a compile-only mark needs a reason "
                                "(<!-- docs-test: compile-only: WHY -->)")


@pytest.mark.parametrize("page", WITH_CODE, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_python_block_runs(page, tmp_path):
    rel = page.relative_to(REPO).as_posix()
    (tmp_path / "blocks.json").write_text(json.dumps(blocks(page)))
    (tmp_path / "runner.py").write_text(RUNNER)
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run([sys.executable, str(tmp_path / "runner.py"), str(tmp_path / "blocks.json"),
                           str(work / "example.py"), rel], cwd=work, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, f"an example of {rel} fails as written:\n{proc.stderr[-4000:]}"
