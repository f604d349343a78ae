"""Weights: a synapse's matrix, receptive fields of input images, and how weights change over a run."""

from __future__ import annotations

import math

import numpy as np

from ._style import WIDTH, new_axes, plt, styled, time_axis


def _cmap_and_limits(w: np.ndarray, cmap: str | None, vmin, vmax):
    finite = w[np.isfinite(w)]
    lo = float(finite.min()) if finite.size else 0.0
    hi = float(finite.max()) if finite.size else 1.0
    if cmap is None and lo < 0:  # signed (or inhibitory) weights: a diverging map centred on 0
        m = max(-lo, hi)
        return "RdBu_r", (-m if vmin is None else vmin), (m if vmax is None else vmax)
    return cmap or "viridis", (lo if vmin is None else vmin), (hi if vmax is None else vmax)


@styled
def weight_matrix(w, *, ax=None, title: str | None = None, unit: str = "pA", cmap: str | None = None,
                  vmin: float | None = None, vmax: float | None = None, colorbar: bool = True):
    """The weights of a synapse as an image: presynaptic neurons down, postsynaptic across.

    Args:
        w: array ``(n_pre, n_post)`` (0 where there is no synapse; a sparse synapse's ``dense_weights()``).
        unit: unit of the weights, for the colour bar.
        cmap: colour map (default: viridis, or a diverging map centred on 0 for signed weights).

    Returns:
        the Axes; ``ax.images[0].get_array()`` is ``w``.
    """
    w = np.asarray(w, dtype=float)
    if w.ndim != 2:
        raise ValueError(f"weight_matrix needs a 2-D (n_pre, n_post) array, got shape {list(w.shape)}")
    n_pre, n_post = w.shape
    aspect = n_pre / max(n_post, 1)
    ax = new_axes(ax, (WIDTH / 2 + 0.8, min(6.0, max(2.2, WIDTH / 2 * aspect))))
    cmap, lo, hi = _cmap_and_limits(w, cmap, vmin, vmax)
    im = ax.imshow(w, aspect="auto", interpolation="nearest", cmap=cmap, vmin=lo, vmax=hi)
    ax.set_xlabel("postsynaptic neuron")
    ax.set_ylabel("presynaptic neuron")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if colorbar:
        ax.figure.colorbar(im, ax=ax, label=f"weight ({unit})" if unit else "weight")
    if title:
        ax.set_title(title)
    return ax


def mosaic(fields: np.ndarray, ncols: int, gap: int = 1) -> np.ndarray:
    """Tile images ``(n, h, w)`` into one array, row by row, ``gap`` NaN pixels between tiles."""
    n, h, w = fields.shape
    nrows = math.ceil(n / ncols)
    out = np.full((nrows * (h + gap) - gap, ncols * (w + gap) - gap), np.nan)
    for k in range(n):
        r, c = divmod(k, ncols)
        out[r * (h + gap): r * (h + gap) + h, c * (w + gap): c * (w + gap) + w] = fields[k]
    return out


@styled
def receptive_fields(weights, image_shape: tuple[int, ...], *, neurons=None, ncols: int | None = None, ax=None,
                     title: str | None = None, cmap: str = "hot_r", unit: str = "pA", normalize: bool = False,
                     max_fields: int = 400, colorbar: bool = True):
    """The incoming weights of each neuron drawn as an image of the input (e.g. 28 x 28 digits), in a grid.

    Args:
        weights: array ``(n_in, n_neurons)`` with ``n_in = prod(image_shape)`` (input pixels in C order), e.g. the
            ``(n_pre, n_post)`` weights of the synapse from an image encoder.
        image_shape: ``(height, width)`` of the input image.
        neurons: which neurons to show (default: the first ``max_fields``).
        ncols: tiles per row (default: a square grid).
        normalize: scale each field to its own maximum (shapes comparable across neurons) instead of one
            colour scale for all (strengths comparable).

    Returns:
        the Axes, with one image (``ax.images[0]``): the fields tiled row by row, one NaN pixel (drawn light grey)
        between them. ``spark.viz.mosaic`` builds the same array.
    """
    w = np.asarray(weights, dtype=float)
    image_shape = tuple(int(s) for s in image_shape)
    if len(image_shape) != 2:
        raise ValueError(f"image_shape must be (height, width), got {image_shape}")
    n_in = math.prod(image_shape)
    if w.ndim != 2 or w.shape[0] != n_in:
        raise ValueError(f"receptive_fields needs weights (n_in, n_neurons) with n_in = {n_in} "
                         f"(= {image_shape[0]} x {image_shape[1]}), got shape {list(w.shape)}; "
                         "transpose (n_neurons, n_in) weights with .T")
    ids = list(range(min(w.shape[1], max_fields))) if neurons is None else list(neurons)
    fields = w[:, ids].T.reshape(len(ids), *image_shape)
    if normalize:
        peak = np.abs(fields).reshape(len(ids), -1).max(axis=1)
        fields = fields / np.where(peak > 0, peak, 1.0)[:, None, None]
    ncols = ncols or math.ceil(math.sqrt(len(ids)))
    nrows = math.ceil(len(ids) / ncols)
    tiles = mosaic(fields, ncols)
    side = min(7.0, max(2.5, 0.45 * max(ncols, nrows)))
    ax = new_axes(ax, (side + (0.9 if colorbar else 0), side * nrows / ncols))
    im = ax.imshow(tiles, cmap=plt().get_cmap(cmap).with_extremes(bad="0.85"), interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    if colorbar:
        label = "weight / max" if normalize else (f"weight ({unit})" if unit else "weight")
        ax.figure.colorbar(im, ax=ax, label=label, shrink=0.8)
    ax.set_title(title or f"receptive fields of {len(ids)} neurons ({image_shape[0]} x {image_shape[1]})")
    return ax


@styled
def weight_evolution(w, dt: float, *, every: int = 1, t0: float = 0.0, synapses=None, max_lines: int = 20,
                     ax=None, title: str | None = None, unit: str = "pA", mean: bool = True):
    """Chosen synapses' weights over time, and the mean ± standard deviation of all of them.

    Args:
        w: samples of weights ``(samples, *weight_shape)``, e.g. a ``"syn.weight@100"`` recording.
        dt: time step (ms). every: steps between samples. t0: time (ms) at which the recording began (sample ``i``
            is drawn at ``t0 + ((i + 1) every) dt``, as ``Recording.times``).
        synapses: flat indices of the synapses to draw (default: up to ``max_lines`` evenly spread among the
            synapses that are non-zero in some sample).
        mean: draw the mean and a ± 1 standard deviation band over those non-zero synapses.

    Returns:
        the Axes: one thin line per chosen synapse (y data: its weight per sample), then the mean line.
    """
    w = np.asarray(w, dtype=float)
    flat = w.reshape(len(w), -1)
    t = time_axis(len(flat), dt, t0, every)
    live = np.flatnonzero(np.any(flat != 0, axis=0))
    if synapses is None:
        synapses = live[np.linspace(0, len(live) - 1, min(max_lines, len(live))).astype(int)] if len(live) else []
    ax = new_axes(ax)
    for j in synapses:
        ax.plot(t, flat[:, j], color="0.55", linewidth=0.6, alpha=0.8)
    if mean and len(live):
        m, sd = flat[:, live].mean(axis=1), flat[:, live].std(axis=1)
        ax.fill_between(t, m - sd, m + sd, color="C0", alpha=0.2, linewidth=0)
        ax.plot(t, m, color="C0", linewidth=1.6, label=f"mean ± s.d. of {len(live):,} synapses")
        ax.legend(loc="best")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel(f"weight ({unit})" if unit else "weight")
    if title:
        ax.set_title(title)
    return ax


__all__ = ["mosaic", "receptive_fields", "weight_evolution", "weight_matrix"]
