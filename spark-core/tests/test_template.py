"""`spark new-plugin` and the pack template shipped in spark-core: every kind renders into a complete pack whose
sample component keeps the contract, and bad names are refused before anything is written.

Installing rendered packs and using them through Spark is tested end to end in tests/test_plugin_e2e.py.
"""

from __future__ import annotations

import configparser
import importlib
import json
import os
import subprocess
import sys
import tomllib
from importlib import resources
from pathlib import Path

import pytest
from click.testing import CliRunner
from packaging.specifiers import SpecifierSet

import spark
from spark.cli import main
from spark.cli.new_plugin import DEFAULT_COMPONENT, KINDS, LICENSES, TEMPLATE, class_name, compatible_range
from spark.registry import Registry
from spark.testing import check_component

LICENSE_FIRST_LINE = {"MIT": "MIT License", "Apache-2.0": "Apache License", "BSD-3-Clause": "BSD 3-Clause License"}
NEEDS = {"soma": [], "encoder": [], "synapse": ["spark-components", "spark-interfaces"],
         "learning_rule": ["spark-components", "spark-interfaces"], "decoder": ["spark-interfaces"]}


def new_plugin(*args: str, input: str | None = None):
    return CliRunner().invoke(main, ["new-plugin", *args], input=input, catch_exceptions=False)


def render(tmp: Path, kind: str, license_: str = "MIT") -> Path:
    result = new_plugin("--kind", kind, "--name", f"spark-t-{kind.replace('_', '-')}", "--no-input",
                        "--output-dir", str(tmp), "--license", license_, "--author", "Ada Lovelace",
                        "--email", "ada@example.org")
    assert result.exit_code == 0, result.output
    return tmp / f"spark-t-{kind.replace('_', '-')}"


@pytest.fixture(scope="module")
def packs(tmp_path_factory) -> dict[str, Path]:
    """Every kind rendered once, the licenses taking turns."""
    tmp = tmp_path_factory.mktemp("packs")
    return {kind: render(tmp, kind, LICENSES[i % len(LICENSES)]) for i, kind in enumerate(KINDS)}


# ----- what is rendered --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("version", "expected"), [("0.1.0", ">=0.1,<0.2"), ("0.1.7.dev3", ">=0.1,<0.2"),
                                                   ("0.12.1", ">=0.12,<0.13"), ("1.4.2", ">=1.4,<2"),
                                                   ("2.0.0rc1", ">=2.0.0.dev0,<3"),
                                                   ("0.2.0.dev1", ">=0.2.0.dev0,<0.3")])
def test_the_spark_core_range_is_the_running_minor_series_before_1_and_major_series_after(version, expected):
    assert compatible_range(version) == expected
    assert SpecifierSet(expected).contains(version, prereleases=True)


def test_the_template_is_package_data_of_spark():
    files = resources.files("spark").joinpath("template")
    assert files.joinpath("cookiecutter.json").is_file()
    assert Path(str(files)) == TEMPLATE


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_a_complete_pack(packs, kind):
    root = packs[kind]
    dist, module, component = root.name, root.name.replace("-", "_"), DEFAULT_COMPONENT[kind]
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert files == sorted([
        ".gitignore", "LICENSE", "README.md", "pyproject.toml", "tox.ini",
        f"src/{module}/__init__.py", f"src/{module}/plugin.py", f"src/{module}/{component}.py",
        f"src/{module}/examples/{component}.spark",
        "tests/test_contract.py", f"tests/test_{component}.py",
    ])
    for path in root.rglob("*"):
        if path.is_file():
            text = path.read_text("utf-8")
            assert "{{" not in text and "{%" not in text and "cookiecutter" not in text, path
            assert text.endswith("\n") and not text.endswith("\n\n"), path
            if path.suffix == ".py":
                compile(text, str(path), "exec")

    meta = tomllib.loads((root / "pyproject.toml").read_text("utf-8"))
    project = meta["project"]
    assert project["name"] == dist and project["version"] == "0.1.0"
    core_range = compatible_range(spark.__version__)
    assert project["dependencies"] == [f"spark-core{core_range}"]
    assert SpecifierSet(core_range).contains(spark.__version__, prereleases=True)
    assert project["entry-points"]["spark"] == {module: f"{module}.plugin"}
    assert project["optional-dependencies"]["test"] == ["pytest>=8"]
    assert project["optional-dependencies"].get("examples", []) == [d + core_range for d in NEEDS[kind]]
    assert project["authors"] == [{"name": "Ada Lovelace", "email": "ada@example.org"}]
    assert meta["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == [f"src/{module}"]

    tox = configparser.ConfigParser(interpolation=None)
    tox.read(root / "tox.ini")
    assert "pytest" in tox["testenv"]["commands"] and "JAX_PLATFORMS = cpu" in tox["testenv"]["set_env"]

    readme = (root / "README.md").read_text("utf-8")
    for words in ("pip install", "pytest", f"{dist}:{component}", "spark list-components", "python -m build",
                  "twine upload", project["license"]):
        assert words in readme, words

    example = json.loads((root / f"src/{module}/examples/{component}.spark").read_text("utf-8"))
    assert spark.sparkfile.check_schema(example) == []
    assert f"{dist}:{component}" in [n["component"] for n in example["nodes"]]
    assert sorted(example["requires"]) == sorted([dist, *NEEDS[kind]])


def test_the_chosen_license_is_written_in_full(packs):
    for i, kind in enumerate(KINDS):
        license_ = LICENSES[i % len(LICENSES)]
        text = (packs[kind] / "LICENSE").read_text("utf-8")
        assert text.strip().splitlines()[0].strip() == LICENSE_FIRST_LINE[license_]
        assert tomllib.loads((packs[kind] / "pyproject.toml").read_text("utf-8"))["project"]["license"] == license_
        if license_ != "Apache-2.0":  # the Apache text is used verbatim; the others carry the copyright line
            assert "Ada Lovelace" in text
        else:
            assert "END OF TERMS AND CONDITIONS" in text


# ----- the rendered code works (imported from the rendered source, nothing installed) ----------------------------


@pytest.fixture
def imported(packs):
    """``imported(kind)`` -> the rendered package's module, importable from its src/ folder for this test only."""
    added: list[str] = []
    before = set(sys.modules)

    def load(kind: str):
        src = str(packs[kind] / "src")
        sys.path.insert(0, src)
        added.append(src)
        return importlib.import_module(packs[kind].name.replace("-", "_"))

    yield load
    for src in added:
        sys.path.remove(src)
    for name in set(sys.modules) - before:
        if name.startswith("spark_t_"):
            del sys.modules[name]


@pytest.mark.parametrize("kind", KINDS)
def test_the_sample_component_keeps_the_contract_and_its_plugin_registers_it(packs, imported, kind):
    package = imported(kind)
    cls = getattr(package, class_name(DEFAULT_COMPONENT[kind]))
    assert cls.kind == kind and cls.name == DEFAULT_COMPONENT[kind]
    check_component(cls)

    plugin = importlib.import_module(package.__name__ + ".plugin")
    reg = Registry()
    info = reg.load_plugin(plugin, distribution=packs[kind].name, version="0.1.0")
    assert info.status == "ok", info.error
    assert info.components == [f"{packs[kind].name}:{cls.name}"]
    (path,) = reg.examples.values()
    assert Path(path).is_file()
    if not NEEDS[kind]:  # the example uses this pack alone: it validates against it
        doc = spark.sparkfile.read(path)
        del doc["requires"]  # the pack is not installed here, only imported
        assert spark.sparkfile.validate(doc, reg) == []


@pytest.mark.slow
def test_the_rendered_test_suites_pass(packs):
    """Every kind's own tests (contract and closed-form), in one fresh interpreter, from the rendered source.

    The two tests that need the pack installed (entry point, bundled example) run in tests/test_plugin_e2e.py.
    """
    env = dict(os.environ, JAX_PLATFORMS="cpu",
               PYTHONPATH=os.pathsep.join([str(p / "src") for p in packs.values()]
                                          + [os.environ.get("PYTHONPATH", "")]))
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--import-mode=importlib",
           "-c", os.devnull, "--rootdir", str(next(iter(packs.values())).parent),
           "-k", "not installed_pack and not bundled_example", *[str(p / "tests") for p in packs.values()]]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert " passed" in proc.stdout and "failed" not in proc.stdout


# ----- names are checked before anything is written ------------------------------------------------------------


@pytest.mark.parametrize(("args", "words"), [
    (["--name", "my pack!"], "distribution name 'my pack!' is not a valid package name (PEP 508)"),
    (["--name", "-spark-x"], "is not a valid package name (PEP 508)"),
    (["--name", "Spark_Core"], "distribution name 'Spark_Core' is Spark's own"),
    (["--name", "spark-ok", "--module", "2fast"], "module name '2fast' is not an importable Python name"),
    (["--name", "spark-ok", "--module", "class"], "module name 'class' is a Python keyword"),
    (["--name", "spark-ok", "--module", "json"], "would shadow a standard-library module"),
    (["--name", "spark-ok", "--module", "spark"], "would shadow spark-core"),
    (["--name", "spark-ok", "--module", "pytest"], "module name 'pytest' is already importable here"),
    # the module name derived from the pack name (no --module) is checked the same way
    (["--name", "2fast"], "module name '2fast' (from --name '2fast') is not an importable Python name"),
    (["--name", "9-lives"], "module name '9_lives' (from --name '9-lives') is not an importable Python name"),
    (["--name", "class"], "module name 'class' (from --name 'class') is a Python keyword"),
    (["--name", "For"], "module name 'for' (from --name 'For') is a Python keyword"),
    (["--name", "spark-ok", "--module", "None"], "module name 'None' is a Python keyword"),
    (["--name", "spark-ok", "--module", "_2fast.x"], "module name '_2fast.x' is not an importable Python name"),
    (["--name", "spark-ok", "--component", "2fast"], "component name '2fast' must be lower case letters"),
    (["--name", "spark-ok", "--component", "for"], "component name 'for' must be lower case letters"),
    (["--name", "spark-ok", "--component", "Resonate-Fire"], "e.g. 'resonate_fire'"),
    (["--name", "spark-ok", "--component", "plugin"], "component name 'plugin' is taken"),
])
def test_an_invalid_name_is_refused_before_anything_is_written(tmp_path, args, words):
    result = new_plugin("--no-input", "--output-dir", str(tmp_path), *args)
    assert result.exit_code == 2, result.output
    assert "cannot create the pack" in result.output and words in result.output, result.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["2fast", "class", "spark-ok"])
def test_a_refused_derived_module_name_says_how_to_choose_another(tmp_path, name):
    result = new_plugin("--no-input", "--output-dir", str(tmp_path), "--name", name, "--module", "def")
    assert result.exit_code == 2 and "module name 'def' is a Python keyword" in result.output, result.output
    assert "(from --name" not in result.output, "an explicit --module is reported as given"
    if name != "spark-ok":
        result = new_plugin("--no-input", "--output-dir", str(tmp_path), "--name", name)
        assert result.exit_code == 2 and "give --module" in result.output, result.output
        ok = new_plugin("--no-input", "--output-dir", str(tmp_path), "--name", name, "--module", "spark_fine_x")
        assert ok.exit_code == 0, ok.output
        assert (tmp_path / name / "src" / "spark_fine_x" / "plugin.py").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ([] if name == "spark-ok" else [name])


def test_every_problem_is_listed_at_once(tmp_path):
    result = new_plugin("--no-input", "--output-dir", str(tmp_path), "--name", "bad name", "--module", "for",
                        "--component", "X")
    assert result.exit_code == 2
    assert result.output.count("\n  - ") == 3, result.output


def test_an_existing_folder_is_never_overwritten(tmp_path):
    (tmp_path / "spark-taken").mkdir()
    (tmp_path / "spark-taken" / "keep.txt").write_text("mine")
    result = new_plugin("--no-input", "--output-dir", str(tmp_path), "--name", "spark-taken")
    assert result.exit_code == 2 and "already exists" in result.output
    assert [p.name for p in (tmp_path / "spark-taken").iterdir()] == ["keep.txt"]


def test_prompts_ask_again_after_an_invalid_answer(tmp_path):
    # kind, component, distribution (invalid, then valid), module, description, author, e-mail, license
    answers = "encoder\n\nnot valid!\nspark-asked\n\n\nAda\nada@example.org\nBSD-3-Clause\n"
    result = new_plugin("--output-dir", str(tmp_path), input=answers)
    assert result.exit_code == 0, result.output
    assert "is not a valid package name (PEP 508)" in result.output
    meta = tomllib.loads((tmp_path / "spark-asked" / "pyproject.toml").read_text("utf-8"))
    assert meta["project"]["license"] == "BSD-3-Clause"
    assert (tmp_path / "spark-asked" / "src" / "spark_asked" / f"{DEFAULT_COMPONENT['encoder']}.py").is_file()


def test_plain_cookiecutter_runs_the_same_name_checks(tmp_path):
    from cookiecutter.exceptions import FailedHookException
    from cookiecutter.main import cookiecutter

    config = {"cookiecutters_dir": str(tmp_path / "cc"), "replay_dir": str(tmp_path / "replay")}
    for bad in ({"module_name": "class"}, {"module_name": "2fast"}, {"module_name": "json"},
                {"component_name": "for"}, {"component_name": "2fast"}):
        with pytest.raises(FailedHookException):
            cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(tmp_path / "out"), default_config=config,
                         extra_context={"distribution": "spark-ok", **bad})
    assert not (tmp_path / "out" / "spark-ok").exists()
    out = cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(tmp_path / "out"), default_config=config,
                       extra_context={"distribution": "spark-plain", "kind": "decoder"})
    assert (Path(out) / "src" / "spark_plain" / "rate_trace.py").is_file()


def test_free_text_cannot_break_the_generated_files(tmp_path):
    result = new_plugin("--no-input", "--output-dir", str(tmp_path), "--name", "spark-quoted", "--description",
                        'A "quoted" pack\\ with """triple""" quotes.', "--author", 'O"Brien \\ Co')
    assert result.exit_code == 0, result.output
    root = tmp_path / "spark-quoted"
    project = tomllib.loads((root / "pyproject.toml").read_text("utf-8"))["project"]
    assert project["description"] == "A 'quoted' pack/ with '''triple''' quotes"
    assert project["authors"][0]["name"] == "O'Brien / Co"
    for path in root.rglob("*.py"):
        compile(path.read_text("utf-8"), str(path), "exec")
