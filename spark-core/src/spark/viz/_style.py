"""Shared look of Spark's figures: sizes in inches for papers, small clean fonts, units on every axis."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

from ..timing import step_time

WIDTH = 6.5  # inches: a two-column figure; histograms use half
HEIGHT = 2.8

RC = {
    "font.size": 9, "axes.labelsize": 9, "axes.titlesize": 10, "xtick.labelsize": 8, "ytick.labelsize": 8,
    "legend.fontsize": 8, "legend.frameon": False, "axes.spines.top": False, "axes.spines.right": False,
    "axes.linewidth": 0.8, "lines.linewidth": 1.0, "xtick.major.width": 0.8, "ytick.major.width": 0.8,
    "figure.dpi": 100, "image.interpolation": "nearest",
}


def plt():
    """matplotlib.pyplot, on a non-interactive backend unless one was chosen; a clear error when not installed."""
    try:
        import matplotlib

        if "matplotlib.pyplot" not in __import__("sys").modules:
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as pyplot
    except ImportError:
        raise ImportError("plots need matplotlib: pip install 'spark-core[plot]'") from None
    return pyplot


def styled(fn):
    """Run a plot function under Spark's rcParams (fonts and spines are fixed when artists are made)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with plt().rc_context(RC):
            return fn(*args, **kwargs)

    return wrapper


def new_axes(ax=None, size: tuple[float, float] = (WIDTH, HEIGHT)):
    if ax is not None:
        return ax
    fig = plt().figure(figsize=size, layout="constrained")
    return fig.add_subplot()


def figure_of(obj: Any):
    return obj if hasattr(obj, "savefig") else obj.figure


def save(obj: Any, path: str | os.PathLike, *, dpi: int = 300, close: bool = False) -> Path:
    """Save a figure (or the figure of an Axes) as PNG, SVG or PDF, by the file's extension.

    SVG keeps text as text (editable, searchable); PNG is written at ``dpi`` (300: print quality).
    """
    path = Path(path)
    fig = figure_of(obj)
    fmt = path.suffix.lstrip(".").lower() or "png"
    with plt().rc_context({"svg.fonttype": "none", "svg.hashsalt": "spark", "pdf.fonttype": 42}):
        fig.savefig(path, format=fmt, dpi=dpi, metadata={"Date": None} if fmt == "svg" else None)
    if close:
        plt().close(fig)
    return path


def time_axis(n: int, dt: float, t0: float = 0.0, every: int = 1):
    """Times (ms) of ``n`` samples taken after steps ``every - 1, 2 * every - 1, ...`` of a recording that began at
    ``t0`` ms: ``t0 + step_time(k, dt)``, so the first sample of every step is at ``t0 + dt`` (docs/time.md)."""
    import numpy as np

    return t0 + step_time((np.arange(n) + 1) * every - 1, dt)


def spike_times(steps, dt: float, t0: float = 0.0):
    """Times (ms) of spikes emitted in steps ``steps`` (indices into a recording that began at ``t0`` ms)."""
    import numpy as np

    return t0 + step_time(np.asarray(steps), dt)


def spikes_of(data, dt):
    """``(populations, dt)`` from a Recording, a mapping name -> spikes, or one spike array."""
    import numpy as np

    if hasattr(data, "spikes") and hasattr(data, "info"):  # a spark.Recording
        pops = {data.info[k].get("node", k) if _unique_nodes(data) else k: v for k, v in data.spikes().items()}
        return pops, data.dt if dt is None else dt, data.t_start
    if dt is None:
        raise TypeError("give dt (ms), the time step the spikes were recorded with")
    if hasattr(data, "items"):
        return dict(data), dt, 0.0
    return {"": np.asarray(data)}, dt, 0.0


def _unique_nodes(rec) -> bool:
    nodes = [rec.info[k].get("node") for k in rec.spikes()]
    return len(set(nodes)) == len(nodes)
