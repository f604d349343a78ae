"""``spark validate``."""

from __future__ import annotations

import click

from . import main
from ._resolve import resolve_model


@main.command("validate")
@click.argument("file")
def validate(file: str) -> None:
    """Check a .spark FILE (or a bundled example, e.g. balanced); print every problem with its JSON path and exit 1
    if there is any.

    A valid model that would run silently (an encoder fed by nothing, no declared outputs) is valid (exit 0), with
    a warning per finding on stderr. A valid model's memory estimate is printed, with a warning when it would not
    fit in the memory available here (building it is then refused; docs/brain.md).
    """
    from .. import sparkfile
    from ..brain import estimate_model
    from ..errors import SparkFileError
    from ..graph import plan as make_plan

    warnings, plan = [], None
    path = resolve_model(file)
    try:
        doc = sparkfile.read(path)
        plan, problems = make_plan(doc)  # what sparkfile.check does, keeping the plan for the memory estimate
        warnings = list(plan.warnings) if plan is not None else []
    except SparkFileError as exc:
        problems = exc.problems
    if problems:
        click.echo(f"{file}: {len(problems)} problem(s):", err=True)
        for p in problems:
            click.echo(f"  {p.path}: {p.message}", err=True)
        raise SystemExit(1)
    for w in warnings:
        click.echo(f"{file}: warning: {w.path}: {w.message}", err=True)
    extra = f", {len(warnings)} warning(s)" if warnings else ""
    click.echo(f"{file}: valid ({len(doc.get('nodes', []))} nodes, {len(doc.get('edges', []))} edges{extra})")
    try:  # what Brain.build will check (docs/brain.md); on another machine the memory available differs
        est = estimate_model(plan)
    except Exception:  # a pack's estimate must not make validation fail
        return
    click.echo(f"{file}: memory: {est}")
    if not est.fits():
        click.echo(f"{file}: warning: this model would not fit here, so building it will be refused; fix: "
                   f"{est.advice()}", err=True)
