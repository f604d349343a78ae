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
    a warning per finding on stderr.
    """
    from .. import sparkfile
    from ..errors import SparkFileError

    warnings = []
    path = resolve_model(file)
    try:
        doc = sparkfile.read(path)
        problems, warnings = sparkfile.check(doc)
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
