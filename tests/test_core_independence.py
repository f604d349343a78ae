"""Dependencies point one way: spark-core never imports a pack (spark_components, spark_interfaces, spark_editor).

Packs reach spark-core only through entry points, which the registry loads; a direct import would make the
built-in packs privileged. Checked twice: by reading spark-core's source, and by importing every spark module
in a fresh interpreter where every pack is installed.
"""

from __future__ import annotations

import ast
import importlib.metadata as md
import json
import re
from pathlib import Path

from packaging.requirements import Requirement

import spark

REPO = Path(__file__).resolve().parents[1]
PACKS = ("spark_components", "spark_interfaces", "spark_editor")
IMPORT_FUNCTIONS = {"import_module", "__import__", "find_spec"}


def pack_imports(source: str, filename: str = "<string>") -> list[str]:
    """Every place in ``source`` that imports a pack: ``file:line: what``."""
    try:
        tree = ast.parse(source, filename)
    except SyntaxError:  # e.g. a file of the plugin template with placeholders: read it line by line
        pattern = re.compile(rf"^\s*(?:import|from)\s+((?:{'|'.join(PACKS)})[\w.]*)", re.M)
        return [f"{filename}:{source.count(chr(10), 0, m.start()) + 1}: {m.group(1)}" for m in pattern.finditer(source)]
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            fn = node.func
            called = fn.attr if isinstance(fn, ast.Attribute) else getattr(fn, "id", None)
            if called in IMPORT_FUNCTIONS and isinstance(node.args[0].value, str):
                names = [node.args[0].value]
        found += [f"{filename}:{node.lineno}: {n}" for n in names if n.split(".")[0] in PACKS]
    return found


def core_sources() -> list[Path]:
    """spark-core's source in this checkout, and the installed spark package where that is elsewhere."""
    folders = {(REPO / "spark-core" / "src" / "spark").resolve(), Path(spark.__file__).parent.resolve()}
    return sorted(p for folder in folders for p in folder.rglob("*.py"))


def test_the_scanner_finds_every_form_of_import():
    source = (
        "import os, spark_components.lif\n"
        "from spark_editor import server\n"
        "import importlib\n"
        "importlib.import_module('spark_interfaces.poisson')\n"
        "__import__('spark_editor')\n"
        "from spark import registry\n"
        "from .spark_components import x\n"  # relative: inside spark, not the pack
    )
    assert pack_imports("import {{ name }}\nfrom spark_components.lif import LIF\n") == [
        "<string>:2: spark_components.lif"]  # not Python: scanned line by line
    assert pack_imports(source) == [
        "<string>:1: spark_components.lif", "<string>:2: spark_editor",
        "<string>:4: spark_interfaces.poisson", "<string>:5: spark_editor",
    ]


def test_spark_core_source_imports_no_pack():
    files = core_sources()
    assert len(files) >= 10, f"expected spark-core's source, found only {files}"
    found = [hit for f in files for hit in pack_imports(f.read_text("utf-8"), str(f))]
    assert not found, (
        "spark-core imports a pack; packs must reach spark-core only through entry points and hooks:\n"
        + "\n".join(found)
    )


def test_importing_every_spark_module_imports_no_pack(python):
    for dist in ("spark-components", "spark-interfaces", "spark-editor"):
        md.version(dist)  # the check only means something where the packs are installed
    requirements = [Requirement(r) for r in md.requires("spark-core") or []]
    optional = {r.name.lower().replace("-", "_") for r in requirements if r.marker and "extra" in str(r.marker)}
    result = python("""
        import importlib, json, pkgutil, sys
        import spark

        imported, missing = [], {}
        for info in pkgutil.walk_packages(spark.__path__, "spark."):
            try:
                importlib.import_module(info.name)
                imported.append(info.name)
            except ModuleNotFoundError as exc:
                missing[info.name] = exc.name
        packs = sorted(name for name in sys.modules if name.split(".")[0] in %r)
        print(json.dumps({"imported": imported, "missing": missing, "packs": packs}))
    """ % (PACKS,))
    assert result.code == 0, result.err
    out = json.loads(result.out)
    assert not out["packs"], f"importing spark's modules imported packs: {out['packs']}"
    for module in ("spark.registry", "spark.cli", "spark.cli.list_components", "spark.testing", "spark.hookspecs"):
        assert module in out["imported"], f"{module} was not imported; imported: {out['imported']}"
    unexpected = {m: dep for m, dep in out["missing"].items() if dep.split(".")[0] not in optional}
    assert not unexpected, f"spark modules that fail to import (missing module), not an optional extra: {unexpected}"
