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

    from ..recording import load_recording
    from .run import image_shapes, parse_image_shape, plot_kinds, write_plots

    run_dir = Path(run_dir)
    summary_path = run_dir / "summary.json"
    summary: dict = {}
    if summary_path.exists():
        try:
            summary = json.loads(summary_path.read_text())
            if not isinstance(summary, dict):
                raise ValueError(f"it holds a {type(summary).__name__}, not an object")
        except (OSError, ValueError) as exc:  # a damaged summary only costs its hints (plot kinds, shapes)
            click.echo(f"spark: {summary_path} is damaged ({exc}); drawing without it", err=True)
            summary = {}
    try:
        rec = load_recording(run_dir)
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # truncated or foreign files: a message, not a traceback
        raise click.ClickException(f"{run_dir}: cannot read the recording ({type(exc).__name__}: {exc}); the run "
                                   "folder is damaged or incomplete: run the model again with spark run") from None
    bad = [k for k, ok in (("plots", lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v)),
                           ("image_shape", lambda v: v is None or (isinstance(v, list) and len(v) == 2 and all(
                               isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in v))),
                           ("synapses", lambda v: isinstance(v, dict)), ("files", lambda v: isinstance(v, dict)),
                           ("model", lambda v: v is None or isinstance(v, str)))
           if k in summary and not ok(summary[k])]
    if bad:
        click.echo(f"spark: {summary_path}: ignoring malformed {', '.join(bad)}", err=True)
        summary = {k: v for k, v in summary.items() if k not in bad}
    if plots:
        kinds, explicit = plot_kinds(plots, default=())
    else:
        kinds, explicit = summary.get("plots") or ["raster"], set()
    shape = parse_image_shape(image_shape) or (tuple(summary["image_shape"]) if summary.get("image_shape") else None)
    layout = {"synapses": summary.get("synapses", {})}
    wfile = run_dir / str(summary.get("files", {}).get("weights", "weights.npz"))
    weights = {}
    if wfile.is_file():
        try:
            with np.load(wfile, allow_pickle=False) as data:
                weights = {k: data[k] for k in data.files}
        except KeyboardInterrupt:
            raise
        except Exception as exc:
            click.echo(f"spark: {wfile} is damaged ({type(exc).__name__}: {exc}); no weight plots", err=True)
            weights = {}
    out_dir = Path(out) if out else run_dir
    try:
        written = write_plots(rec, kinds, out_dir, fmt=fmt, title=summary.get("model"), weights=weights,
                              shapes=image_shapes(layout, shape), explicit=explicit)
    except click.ClickException:
        raise
    except KeyboardInterrupt:
        raise
    except OSError as exc:
        raise click.ClickException(f"cannot write the figures to {out_dir}: {exc.strerror or exc}") from None
    except Exception as exc:
        raise click.ClickException(f"{run_dir}: cannot draw the figures ({type(exc).__name__}: {exc}); the run "
                                   "folder is damaged or incomplete: run the model again with spark run") from None
    if not written:
        raise click.ClickException(f"{run_dir}: nothing could be plotted")
    click.echo(f"wrote {out_dir}/" + ", ".join(p.name for v in written.values() for p in v))
