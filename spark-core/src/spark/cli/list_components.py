"""``spark list-components``."""

from __future__ import annotations

import json

import click

from . import main


@main.command("list-components")
@click.option("--kind", default=None, help="Only components of this kind (soma, synapse, learning_rule, ...).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--strict", is_flag=True, help="Exit with status 1 if any installed pack is broken or incompatible.")
def list_components(kind: str | None, fmt: str, strict: bool) -> None:
    """List the components of every installed pack.

    The JSON format is documented in docs/catalogue.md; broken packs are reported on stderr.
    """
    from ..registry import default_registry

    reg = default_registry()
    if kind is not None:
        from ..component import Decoder, Encoder, LearningRule, Soma, Synapse

        core = (Soma, Synapse, LearningRule, Encoder, Decoder)
        kinds = sorted({e.kind for e in reg.entries()} | {c.kind for c in core})
        if kind not in kinds:
            raise click.BadParameter(f"no installed component is of kind {kind!r}; kinds: {', '.join(kinds)} (packs "
                                     "may add kinds of their own: see `spark list-components`)", param_hint="--kind")
    if fmt == "json":
        click.echo(json.dumps(reg.to_json(kind), indent=2, sort_keys=False))
    else:
        rows = [(e.id, e.kind, e.version, (e.cls.__doc__ or "").strip().splitlines()[0] if e.cls.__doc__ else "")
                for e in reg.entries(kind)]
        header = ("id", "kind", "version", "description")
        widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(3)]
        click.echo("  ".join(h.ljust(w) for h, w in zip(header, widths)) + "  " + header[3])
        for r in rows:
            click.echo("  ".join(str(c).ljust(w) for c, w in zip(r, widths)) + "  " + r[3])
        if not rows:
            click.echo("(no components" + (f" of kind {kind!r}" if kind else "") + " installed)")
    bad = [p for p in reg.packs if p.status != "ok"]
    for p in bad:
        click.echo(f"spark: pack {p.distribution} {p.version} is {p.status}: {p.error}", err=True)
    for problem in reg.problems:  # a broken component of a pack that otherwise works
        click.echo(f"spark: {problem}", err=True)
    if strict and (bad or reg.problems):
        raise SystemExit(1)
