"""End to end: packs made by `spark new-plugin` work everywhere once installed, with no change anywhere else.

In a fresh virtual environment holding spark-core (and the built-in packs and the editor) built from this
repository as wheels:

1. the `spark` of that environment renders two packs (a soma and a learning rule) from the template inside its
   installed spark-core wheel;
2. the packs are installed like any third-party distribution;
3. `spark list-components --format json` lists their components (found through their entry points);
4. each pack's example model (`.spark` files using the new components) passes `spark validate` and
   `spark run --steps 50 --no-plot`, run by the name its `spark_examples` hook gives it;
5. each pack's own test suite (spark.testing's contract checks and closed-form tests) passes in that environment;
6. the editor's catalogue endpoint (`GET /api/catalogue` of `spark editor`) lists the new components.

The environment is made with uv when it is available (`uv venv` + `uv pip install`, from uv's cache when possible),
else with venv + pip.
"""

from __future__ import annotations

import importlib.util
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
import venv
from pathlib import Path

import attrs
import pytest
from packaging.specifiers import SpecifierSet

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
KINDS = {"soma": "resonate_fire", "learning_rule": "trace_hebb"}  # kind -> the template's sample component
TIMEOUT = 600


def dist(kind: str) -> str:
    return f"spark-e2e-{kind.replace('_', '-')}"


@attrs.frozen
class Env:
    root: Path
    bin: Path
    packs: dict  # kind -> rendered source folder

    def run(self, *cmd: str, cwd: Path | None = None, timeout: int = TIMEOUT) -> subprocess.CompletedProcess:
        exe = cmd[0] if os.sep in cmd[0] else str(self.bin / cmd[0])
        return subprocess.run([exe, *cmd[1:]], capture_output=True, text=True, env=_clean_env(), cwd=cwd or self.root,
                              timeout=timeout)

    def ok(self, *cmd: str, cwd: Path | None = None) -> str:
        proc = self.run(*cmd, cwd=cwd)
        assert proc.returncode == 0, (f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n"
                                      f"{proc.stderr[-4000:]}")
        return proc.stdout


def _clean_env() -> dict:
    """This process's environment without what would let the new environment see another one's packages."""
    hidden = ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "PYTHONSTARTUP")
    env = {k: v for k, v in os.environ.items() if k not in hidden}
    env["JAX_PLATFORMS"] = "cpu"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _uv() -> str | None:
    if importlib.util.find_spec("uv") is not None:
        from uv import find_uv_bin

        return find_uv_bin()
    return shutil.which("uv")


def _install(python: Path, uv: str | None, args: list[str], root: Path) -> None:
    if uv is not None:
        # --no-sources: build spark-core from the folder given, as a wheel; the repository's workspace sources
        # would make uv install it editable as a dependency of the packs
        base = [uv, "pip", "install", "--quiet", "--no-sources", "--python", str(python)]
        attempts = [[*base, "--offline", *args], [*base, *args]]  # uv's cache first; the index only when needed
    else:
        attempts = [[str(python), "-m", "pip", "install", "--quiet", *args]]
    errors = []
    for cmd in attempts:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=_clean_env(), cwd=root, timeout=TIMEOUT)
        if proc.returncode == 0:
            return
        errors.append(f"$ {' '.join(cmd)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    pytest.fail("installing into the fresh environment failed:\n" + "\n".join(errors))


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Env:
    root = tmp_path_factory.mktemp("e2e")
    uv = _uv()
    home = root / "venv"
    if uv is not None:
        subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(home)], check=True, env=_clean_env(),
                       timeout=TIMEOUT)
    else:
        venv.create(home, with_pip=True)
    bin_dir = home / ("Scripts" if os.name == "nt" else "bin")
    python = bin_dir / ("python.exe" if os.name == "nt" else "python")
    # spark-core and the built-in packs from this repository, built into wheels by the installer
    _install(python, uv, [str(REPO / p) for p in ("spark-core", "spark-components", "spark-interfaces",
                                                    "spark-editor")] + ["pytest>=8"], root)
    e = Env(root, bin_dir, {})
    for kind in KINDS:  # rendered by the new environment's spark: the template comes from its installed wheel
        e.ok("spark", "new-plugin", "--kind", kind, "--name", dist(kind), "--no-input", "--output-dir",
             str(root / "packs"), "--author", "E2E", "--email", "e2e@example.org")
        e.packs[kind] = root / "packs" / dist(kind)
    _install(python, uv, [str(p) for p in e.packs.values()], root)
    return e


@pytest.fixture(scope="module")
def catalogue(env) -> dict:
    return json.loads(env.ok("spark", "list-components", "--format", "json"))


def test_the_template_was_read_from_the_installed_wheel(env):
    code = "import spark, pathlib; print(pathlib.Path(spark.__file__).parent)"
    installed = Path(env.ok("python", "-c", code).strip())
    assert (installed / "template" / "cookiecutter.json").is_file()
    assert REPO not in installed.parents, "spark-core must be installed from a wheel, not from the source tree"


def test_list_components_shows_the_new_packs(env, catalogue):
    from spark.cli.new_plugin import compatible_range

    packs = {p["distribution"]: p for p in catalogue["packs"]}
    components = {c["id"]: c for c in catalogue["components"]}
    for kind, name in KINDS.items():
        pack = packs[dist(kind)]
        assert pack["status"] == "ok", pack["error"]
        assert pack["version"] == "0.1.0"
        assert pack["components"] == [f"{dist(kind)}:{name}"]
        assert SpecifierSet(pack["requires_spark_core"]) == SpecifierSet(compatible_range(catalogue["spark_core"]))
        entry = components[f"{dist(kind)}:{name}"]
        assert entry["kind"] == kind and entry["params_schema"]["properties"]
    for builtin in ("spark-components:lif", "spark-interfaces:poisson"):
        assert builtin in components
    table = env.ok("spark", "list-components", "--kind", "soma")
    assert f"{dist('soma')}:resonate_fire" in table


@pytest.mark.parametrize("kind", KINDS)
def test_a_model_using_the_new_component_validates_and_runs(env, kind, tmp_path):
    name = KINDS[kind]
    example = env.packs[kind] / "src" / dist(kind).replace("-", "_") / "examples" / f"{name}.spark"
    doc = json.loads(example.read_text("utf-8"))
    assert f"{dist(kind)}:{name}" in [n["component"] for n in doc["nodes"]]
    assert "valid" in env.ok("spark", "validate", str(example))
    out = tmp_path / "run"
    # by the name the pack's spark_examples hook registers: the installed copy of the same file
    env.ok("spark", "run", f"{dist(kind)}:{name}", "--steps", "50", "--no-plot", "--out", str(out))
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    assert summary["steps"] == 50 and summary["model"] == doc["name"]


@pytest.mark.parametrize("kind", KINDS)
def test_the_generated_test_suite_passes(env, kind):
    proc = env.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=env.packs[kind])
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and "skipped" not in proc.stdout, proc.stdout[-2000:]


def test_the_editor_catalogue_lists_the_new_components(env, catalogue):
    proc = subprocess.Popen([str(env.bin / "spark"), "editor", "--no-browser", "--port", "0"], cwd=env.root,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**_clean_env(), "PYTHONUNBUFFERED": "1"})
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    try:
        url, seen = None, []
        while url is None:
            try:
                line = lines.get(timeout=120)
            except queue.Empty:
                pytest.fail("spark editor printed no URL within 120 s:\n" + "".join(seen))
            seen.append(line)
            if "http://127.0.0.1:" in line:
                url = line[line.index("http://"):].split()[0]
        parts = urllib.parse.urlsplit(url)  # http://127.0.0.1:PORT/?token=...: the session token (docs/editor.md)
        token = urllib.parse.parse_qs(parts.query)["token"][0]
        request = urllib.request.Request(f"{parts.scheme}://{parts.netloc}/api/catalogue",
                                         headers={"Authorization": f"token {token}"})
        with urllib.request.urlopen(request, timeout=60) as response:
            served = json.loads(response.read())
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    ids = {c["id"] for c in served["components"]}
    for kind, name in KINDS.items():
        assert f"{dist(kind)}:{name}" in ids
    assert served["components"] == catalogue["components"]  # the same JSON as `spark list-components`
