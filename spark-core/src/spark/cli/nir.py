"""``spark nir export`` / ``spark nir import``: NIR files (needs ``spark-core[nir]``; docs/nir.md)."""

from __future__ import annotations

import warnings

import click

from . import main
from ._resolve import resolve_model


@main.group("nir")
def nir_group() -> None:
    """Convert between .spark models and NIR files (Neuromorphic Intermediate Representation; docs/nir.md)."""


def _fail(exc: Exception) -> None:
    click.echo(f"spark nir: {exc}", err=True)
    raise SystemExit(1)


@nir_group.command("export")
@click.argument("model")
@click.argument("out", type=click.Path(dir_okay=False))
@click.option("--strict", is_flag=True, help="Fail instead of warning when NIR cannot hold part of the model "
              "(a learning rule, a refractory period).")
@click.option("--state", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Learned state to export (weights saved by Brain.save_state) instead of the initial one.")
@click.option("--leave-out", "leave_out", multiple=True, metavar="NODE",
              help="Leave node NODE out (an encoder, a decoder): its edges become NIR Inputs / Outputs. Repeatable.")
def export(model: str, out: str, strict: bool, state: str | None, leave_out: tuple[str, ...]) -> None:
    """Write MODEL (a .spark file or a bundled example) as the NIR file OUT (HDF5), with its initial weights or
    those of --state."""
    from .. import nir
    from ..brain import Brain
    from ..errors import SparkError

    try:
        brain = Brain.from_file(resolve_model(model))
        if state is not None:
            brain.load_state(state)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", nir.NIRWarning)
            graph = nir.to_nir(brain, strict=strict, leave_out=leave_out)
        for w in caught:
            click.echo(f"spark nir: warning: {w.message}", err=True)
        nir.load_nir().write(out, graph)
    except SparkError as exc:
        _fail(exc)
    click.echo(f"{out}: {len(graph.nodes)} NIR nodes, {len(graph.edges)} edges")


@nir_group.command("import")
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.argument("out", type=click.Path(dir_okay=False))
@click.option("--dt", type=float, default=None, help="Time step in ms (default: the one Spark wrote into the file, "
              "else 0.1 ms = 1e-4 s).")
@click.option("--discretization", type=click.Choice(["exact", "euler"]), default="exact", show_default=True,
              help="exact: each equation integrated exactly over a step; euler: the forward-Euler step of snnTorch, "
              "Norse and Spyx.")
def import_(source: str, out: str, dt: float | None, discretization: str) -> None:
    """Read the NIR file SOURCE and write it as the .spark model OUT."""
    from .. import nir
    from ..errors import SparkError

    try:
        brain = nir.from_nir(source, dt=dt, discretization=discretization)
        brain.to_file(out)
    except SparkError as exc:
        _fail(exc)
    doc = brain.to_dict()
    click.echo(f"{out}: {len(doc['nodes'])} nodes, {len(doc['edges'])} edges, dt = {doc['dt']} ms")
