"""Plots of recorded activity (matplotlib, an optional dependency: pip install 'spark-core[plot]')."""

from __future__ import annotations

from typing import Mapping

import numpy as np


def _plt():
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("plots need matplotlib: pip install 'spark-core[plot]'") from None
    return plt


def raster(spikes: Mapping[str, np.ndarray], dt: float, *, ax=None, title: str | None = None, max_points: int = 200_000):
    """Spike raster, one colour per population, populations stacked bottom to top.

    Args:
        spikes: population name -> boolean array ``(steps, *neuron_shape)``.
        dt: time step (ms).
        max_points: draw at most this many spikes per population (evenly thinned; the count is in the label).

    Returns:
        the matplotlib Axes (one scatter collection per population).
    """
    plt = _plt()
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
    offset = 0
    for i, (name, s) in enumerate(spikes.items()):
        s = np.asarray(s).reshape(len(s), -1)
        t, n = np.nonzero(s)
        total = len(t)
        if total > max_points:
            keep = np.linspace(0, total - 1, max_points).astype(int)
            t, n = t[keep], n[keep]
        ax.scatter(t * dt, n + offset, s=1.0, marker="|", linewidths=0.6, color=f"C{i}",
                   label=f"{name} ({total} spikes)", rasterized=True)
        offset += s.shape[1]
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("neuron")
    ax.set_ylim(-0.5, max(offset, 1) - 0.5)
    if spikes:
        steps = len(next(iter(spikes.values())))
        ax.set_xlim(0, steps * dt)
        ax.legend(loc="upper right", fontsize=8, markerscale=6, frameon=True)
    if title:
        ax.set_title(title)
    ax.figure.tight_layout()
    return ax
