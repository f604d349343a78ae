"""Shared fixtures of spark-core's tests: tiny components and plugin modules made on the spot.

Nothing here depends on an installed pack: spark-core is tested alone.
"""

from __future__ import annotations

import importlib
import itertools
import sys
import textwrap
import types

import pytest

import spark
from spark.testing.require import require_for_ci

_counter = itertools.count()


def pytest_sessionstart(session):
    require_for_ci("SPARK_REQUIRE_PLOT", {"matplotlib": "spark-core[plot]"})  # test_viz.py
    require_for_ci("SPARK_REQUIRE_NIR", {"nir": "spark-core[nir]"})  # test_nir_core.py


@pytest.fixture
def make_component():
    """``make_component(name, kind="soma")`` -> a new, valid component class with one parameter ``tau``."""

    def make(name: str, kind: str = "soma", doc: str = "A tiny test component.\n\nMore text.") -> type:
        base = spark.component.KIND_BASES.get(kind, spark.Component)

        @spark.params
        class Params:
            tau: float = spark.param(10.0, unit="ms", doc="time constant", gt=0)

        attrs = {
            "__doc__": doc,
            "name": name,
            "kind": kind,
            "Params": Params,
            "inputs": {"i_in": spark.Port(spark.Current, "input current (pA)")},
            "outputs": {"spikes": spark.Port(spark.Spikes, "spikes emitted this step")},
        }
        return type(f"Tiny{next(_counter)}", (base,), attrs)

    return make


@pytest.fixture
def make_plugin():
    """``make_plugin(name, spark_components=fn, ...)`` -> a module whose given functions are spark hook impls."""

    def make(name: str, **hooks) -> types.ModuleType:
        module = types.ModuleType(name)
        for hook_name, fn in hooks.items():
            fn.__name__ = hook_name
            setattr(module, hook_name, spark.hookimpl(fn))
        return module

    return make


@pytest.fixture
def site(tmp_path, monkeypatch):
    """``site(dist, version, module, source, requires=(), target=None)`` installs a distribution for this test.

    Writes ``<dist>-<version>.dist-info`` (METADATA with ``requires`` as Requires-Dist, an entry point in group
    ``spark`` naming ``target or module``) and ``<module>.py`` holding ``source`` into a folder put on sys.path.
    """
    monkeypatch.syspath_prepend(str(tmp_path))
    modules: list[str] = []

    def install(dist: str, version: str, module: str | None, source: str | None, requires=(), target=None):
        info = tmp_path / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        meta = ["Metadata-Version: 2.1", f"Name: {dist}", f"Version: {version}"]
        meta += [f"Requires-Dist: {r}" for r in requires]
        (info / "METADATA").write_text("\n".join(meta) + "\n")
        (info / "entry_points.txt").write_text(f"[spark]\nplugin = {target or module}\n")
        if source is not None:
            (tmp_path / f"{module}.py").write_text(textwrap.dedent(source))
        if module:
            modules.append(module)
        importlib.invalidate_caches()

    yield install
    for name in modules:
        sys.modules.pop(name, None)
