"""``spark validate``."""

from __future__ import annotations

import click

from . import main


@main.command("validate")
@click.argument("file", type=click.Path(dir_okay=False))
def validate(file: str) -> None:
    """Check a .spark FILE; print every problem with its JSON path and exit 1 if there is any.

    A valid model that would run silently (an encoder fed by nothing, no declared outputs) is valid (exit 0), with
    a warning per finding on stderr.
    """
    from .. import sparkfile
    from ..errors import SparkFileError

    warnings = []
    try:
        doc = sparkfile.read(file)
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
