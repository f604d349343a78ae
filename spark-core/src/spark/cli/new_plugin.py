"""``spark new-plugin``: create a component pack from the cookiecutter template shipped inside spark-core.

The pack it writes is complete: pyproject.toml with the ``spark`` entry point and the spark-core version range it
supports (computed from the running spark-core), a working sample component of the chosen kind with documented
params, tests (``spark.testing.check_component`` plus a closed-form numerical test), an example model, tox.ini,
README and LICENSE. Names are checked before anything is written. See docs/plugins.md.
"""

from __future__ import annotations

import datetime
import importlib.util
import keyword
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import click

from . import main

KINDS = ("soma", "synapse", "learning_rule", "encoder", "decoder")
LICENSES = ("MIT", "Apache-2.0", "BSD-3-Clause")
DEFAULT_COMPONENT = {
    "soma": "resonate_fire",  # resonate-and-fire neuron (Izhikevich 2001), exact integration
    "synapse": "exp_current",  # exponential current synapse, dense weights from params + rngs
    "learning_rule": "trace_hebb",  # Hebbian potentiation through a presynaptic trace, hard bounds
    "encoder": "linear_latency",  # time-to-first-spike encoder, latency linear in the value
    "decoder": "rate_trace",  # exponential moving average of the spike train, in Hz
}
TEMPLATE = Path(__file__).resolve().parent.parent / "template"
# distributions of Spark itself: a pack must not take their names
RESERVED_DISTRIBUTIONS = ("spark-core", "spark-components", "spark-interfaces", "spark-editor")

_PEP508_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
_COMPONENT_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


# ----- names ------------------------------------------------------------------------------------------------------


def canonical_name(distribution: str) -> str:
    """PEP 503 normalised distribution name, as in component ids: ``My_Pack`` -> ``my-pack``."""
    return re.sub(r"[-_.]+", "-", distribution).lower()


def default_module(distribution: str) -> str:
    """The import name a distribution name suggests: ``spark-resonate`` -> ``spark_resonate``."""
    return re.sub(r"[-_.]+", "_", distribution).lower()


def class_name(component: str) -> str:
    """``resonate_fire`` -> ``ResonateFire``."""
    return "".join(part[:1].upper() + part[1:] for part in component.split("_") if part)


def compatible_range(version: str) -> str:
    """The spark-core versions a pack built against ``version`` supports: the same minor series before 1.0
    (``0.1.3`` -> ``>=0.1,<0.2``), the same major series from 1.0 on (``1.4.0`` -> ``>=1.4,<2``). A pre-release of
    a series' first version is kept in range (``0.2.0.dev1`` -> ``>=0.2.0.dev0,<0.3``)."""
    from packaging.version import Version

    v = Version(version)
    lower = f"{v.major}.{v.minor}"
    if v.is_prerelease and v.micro == 0:  # 0.2.0.dev1 / 2.0.0rc1 come before 0.2 / 2.0: keep them in range
        lower += ".0.dev0"
    upper = f"0.{v.minor + 1}" if v.major == 0 else f"{v.major + 1}"
    return f">={lower},<{upper}"


def distribution_problem(name: str) -> str | None:
    if not _PEP508_NAME.match(name or ""):
        return (f"distribution name {name!r} is not a valid package name (PEP 508): use letters, digits, '-', '_' "
                "and '.', starting and ending with a letter or digit, e.g. 'spark-resonate'")
    if canonical_name(name) in RESERVED_DISTRIBUTIONS:
        return f"distribution name {name!r} is Spark's own; choose another, e.g. 'spark-{canonical_name(name)}-extra'"
    return None


def module_problem(name: str, *, derived_from: str | None = None) -> str | None:
    """Why ``name`` cannot be the pack's import name, or None. ``derived_from``: the distribution name it was made
    from (no ``--module`` given), named in the message with how to choose another."""
    what = f"module name {name!r}" + (f" (from --name {derived_from!r})" if derived_from is not None else "")
    fix = "; or give --module NAME" if derived_from is not None else ""
    if not name.isidentifier() or not name.isascii():
        suggestion = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "my_pack"
        suggestion = suggestion if suggestion[0].isalpha() else "pack_" + suggestion
        return (f"{what} is not an importable Python name: use ASCII letters, digits and '_', not "
                f"starting with a digit, e.g. {suggestion!r}{fix}")
    if keyword.iskeyword(name):
        return f"{what} is a Python keyword; choose another, e.g. '{name}_pack'{fix}"
    if name == "spark" or name in sys.stdlib_module_names:
        shadowed = "spark-core" if name == "spark" else "a standard-library module"
        return f"{what} would shadow {shadowed}; choose another, e.g. 'spark_{name}'{fix}"
    spec = importlib.util.find_spec(name)
    if spec is not None:
        where = spec.origin or (list(spec.submodule_search_locations or []) or ["?"])[0]
        return (f"{what} is already importable here (from {where}); choose another so neither hides "
                f"the other{fix}")
    return None


def component_problem(name: str) -> str | None:
    if not _COMPONENT_NAME.match(name or "") or keyword.iskeyword(name):
        suggestion = re.sub(r"[^a-z0-9_]+", "_", (name or "").lower()).strip("_")
        suggestion = suggestion if suggestion and suggestion[0].isalpha() else "my_" + (suggestion or "component")
        return (f"component name {name!r} must be lower case letters, digits and '_', starting with a letter "
                f"(it is the id's short name and the module file name), e.g. {suggestion!r}")
    if name in ("plugin", "examples"):
        return f"component name {name!r} is taken by the pack's own {name} module; choose another"
    return None


def check_names(distribution: str, module: str, component: str, *, module_derived: bool = False) -> list[str]:
    """Every problem with the names of a new pack (empty when they are fine). ``module_derived``: ``module`` was
    made from ``distribution`` (no ``--module`` given), which the message then says."""
    mod = module_problem(module, derived_from=distribution if module_derived else None)
    return [p for p in (distribution_problem(distribution), mod, component_problem(component)) if p]


def _plain(text: str) -> str:
    return " ".join(text.replace('"', "'").replace("\\", "/").split())


def _git_config(key: str) -> str | None:
    try:
        out = subprocess.run(["git", "config", "--get", key], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


# ----- the command ------------------------------------------------------------------------------------------------


def _checked(problem_of):
    def proc(value: str) -> str:
        value = value.strip()
        problem = problem_of(value)
        if problem:
            raise click.BadParameter(problem)
        return value

    return proc


@main.command("new-plugin")
@click.option("--kind", type=click.Choice(KINDS), default=None, help="Kind of the sample component [default: soma].")
@click.option("--name", "distribution", default=None, metavar="DIST",
              help="Distribution name, what `pip install` takes [default: spark-<component>].")
@click.option("--module", default=None, help="Import name of the package [default: from --name].")
@click.option("--component", default=None, help="Registered name of the sample component [default: per kind].")
@click.option("--description", default=None, help="One-line description of the pack.")
@click.option("--author", default=None, help="Author [default: git config user.name].")
@click.option("--email", default=None, help="Author's e-mail [default: git config user.email].")
@click.option("--license", "license_", type=click.Choice(LICENSES), default=None, help="License [default: MIT].")
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True,
              help="Folder to create the pack's folder in.")
@click.option("--no-input", is_flag=True, help="Ask nothing: what is not given takes its default.")
def new_plugin(kind, distribution, module, component, description, author, email, license_, output_dir, no_input):
    """Create a new component pack (a pip-installable distribution) from Spark's template.

    \b
    spark new-plugin --kind soma --name spark-resonate --no-input
    creates spark-resonate/ with a resonate-and-fire soma, its tests, an example model, tox.ini and a README.
    Kinds and their sample components: soma (resonate_fire), synapse (exp_current), learning_rule (trace_hebb),
    encoder (linear_latency), decoder (rate_trace).
    """
    from .._version import __version__

    ask = not no_input

    def value(given, default, prompt, problem_of=None, choices=None):
        if given is not None:
            return given
        if not ask:
            return default
        kind_ = click.Choice(choices) if choices else None
        return click.prompt(prompt, default=default, type=kind_,
                            value_proc=_checked(problem_of) if problem_of and not choices else None)

    kind = value(kind, "soma", "Kind of the sample component", choices=KINDS)
    component = value(component, DEFAULT_COMPONENT[kind], "Registered name of the component", component_problem)
    distribution = value(distribution, "spark-" + component.replace("_", "-"), "Distribution name (pip install ...)",
                         distribution_problem)
    module_given = module
    module = value(module, default_module(distribution), "Import name of the package", module_problem)
    # every name is checked here, before anything is written (given on the command line or with --no-input)
    problems = check_names(distribution, module, component,
                           module_derived=module_given is None and module == default_module(distribution))
    target = Path(output_dir) / distribution
    if target.exists():
        problems.append(f"{target} already exists; choose another --output-dir or --name, or remove it")
    if problems:
        raise click.UsageError("cannot create the pack:\n  - " + "\n  - ".join(problems))
    description = value(description, f"A Spark pack with the {kind.replace('_', ' ')} {component}",
                        "One-line description")
    author = value(author, _git_config("user.name") or "Your Name", "Author")
    email = value(email, _git_config("user.email") or "you@example.org", "Author's e-mail")
    license_ = value(license_, "MIT", "License", choices=LICENSES)

    context = {
        "distribution": distribution,
        "kind": kind,
        "module_name": module,
        "component_name": component,
        "class_name": class_name(component),
        # written into TOML strings and docstrings: no double quotes or backslashes, no final period (added)
        "description": _plain(description).rstrip("."),
        "author": _plain(author),
        "email": _plain(email),
        "license": license_,
        "version": "0.1.0",
        "spark_core_range": compatible_range(__version__),
        "year": str(datetime.date.today().year),
        "__dist_id": canonical_name(distribution),
    }
    path = render(context, Path(output_dir))
    dist_id = context["__dist_id"]
    click.echo(f"Created {path} : {kind} {dist_id}:{component} (class {context['class_name']}), "
               f"requires spark-core{context['spark_core_range']}, {license_} license.")
    click.echo("Next steps (see its README.md):")
    click.echo(f"  cd {path}")
    click.echo("  pip install -e '.[test]'        # Spark finds the pack through its entry point")
    click.echo("  pytest                          # contract checks and a closed-form test")
    click.echo(f"  spark list-components --kind {kind}")
    click.echo(f"  spark run {dist_id}:{component} --steps 2000")


def render(context: dict, output_dir: Path) -> Path:
    """Render the template with a complete ``context`` (no prompts) into ``output_dir``; returns the pack's folder."""
    try:
        from cookiecutter.main import cookiecutter
    except ImportError:  # pragma: no cover - a dependency of spark-core
        raise click.ClickException("cookiecutter is not installed: pip install cookiecutter") from None
    output_dir.mkdir(parents=True, exist_ok=True)
    target = output_dir / context["distribution"]
    with tempfile.TemporaryDirectory(prefix="spark-new-plugin-") as tmp:
        # a private cookiecutter config: no replay files in the home folder, no user defaults changing the result
        config = {"cookiecutters_dir": str(Path(tmp) / "cookiecutters"), "replay_dir": str(Path(tmp) / "replay")}
        try:
            out = cookiecutter(str(TEMPLATE), no_input=True, extra_context=context, output_dir=str(output_dir),
                               default_config=config, accept_hooks=True)
        except Exception as exc:  # cookiecutter's own errors (a failed hook, a template problem)
            if target.exists():  # it did not exist before (checked by the caller): leave nothing half-written
                shutil.rmtree(target)
            raise click.ClickException(f"the template could not be rendered: {type(exc).__name__}: {exc}") from None
    return Path(out)
