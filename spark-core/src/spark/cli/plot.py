"""``spark plot RUN_DIR``: redraw the figures of a ``spark run`` folder without running again."""

from __future__ import annotations

import json
from pathlib import Path

import click

from . import main


@main.command("plot")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--plot", "plots", multiple=True, metavar="KIND",
              help="Draw KIND (repeatable or comma-separated): raster, rate, voltage, isi, rate-hist, weights, "
                   "weight-evolution, receptive-fields, or all. Default: the plots the run drew.")
@click.option("--format", "fmt", type=click.Choice(["png", "svg", "pdf"]), default="png", show_default=True,
              help="Figure file format.")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Folder for the figures (default: RUN_DIR).")
@click.option("--image-shape", metavar="HxW", default=None,
              help="Input image shape for receptive-fields when the input node is flat (e.g. 28x28).")
def plot(run_dir, plots, fmt, out, image_shape):
    """Redraw the figures of RUN_DIR, a folder written by spark run (recording + summary.json)."""
    import numpy as np

    from ..errors import SparkError
    from ..recording import load_recording
    from .run import image_shapes, parse_image_shape, plot_kinds, write_plots

    run_dir = Path(run_dir)
    summary_path = run_dir / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    try:
        rec = load_recording(run_dir)
    except (SparkError, OSError, ValueError, KeyError) as exc:
        raise click.ClickException(f"{run_dir}: cannot read the recording: {exc}") from None
    if plots:
        kinds, explicit = plot_kinds(plots, default=())
    else:
        kinds, explicit = summary.get("plots") or ["raster"], set()
    shape = parse_image_shape(image_shape) or (tuple(summary["image_shape"]) if summary.get("image_shape") else None)
    layout = {"synapses": summary.get("synapses", {})}
    weights = {}
    wfile = run_dir / summary.get("files", {}).get("weights", "weights.npz")
    if wfile.exists():
        with np.load(wfile, allow_pickle=False) as data:
            weights = {k: data[k] for k in data.files}
    out_dir = Path(out) if out else run_dir
    written = write_plots(rec, kinds, out_dir, fmt=fmt, title=summary.get("model"), weights=weights,
                          shapes=image_shapes(layout, shape), explicit=explicit)
    if not written:
        raise click.ClickException(f"{run_dir}: nothing could be plotted")
    click.echo(f"wrote {out_dir}/" + ", ".join(p.name for v in written.values() for p in v))
