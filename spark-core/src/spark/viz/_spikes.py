"""Spike plots: raster, population rate, inter-spike-interval and firing-rate histograms."""

from __future__ import annotations

import numpy as np

from ..timing import to_ms
from ._style import HEIGHT, WIDTH, new_axes, spike_times, spikes_of, styled, time_axis


def _flat(s) -> np.ndarray:
    s = np.asarray(s)
    return s.reshape(len(s), -1) if s.ndim != 1 else s[:, None]


@styled
def raster(spikes, dt: float | None = None, *, ax=None, title: str | None = None, max_points: int = 200_000,
           t0: float | None = None, marker_size: float = 2.0):
    """Spike raster, one colour per population, populations stacked bottom to top.

    Args:
        spikes: population name -> boolean array ``(steps, *neuron_shape)``; or one such array; or a
            :class:`spark.Recording` (its spike recordings, labelled by node).
        dt: time step (ms); taken from a Recording when not given.
        max_points: draw at most this many spikes per population (evenly thinned; the count is in the label).
        t0: time (ms) at which the recording began (default: 0, or the Recording's start); a spike emitted in
            step ``k`` of it is drawn at ``t0 + (k + 1) dt`` (docs/time.md).

    Returns:
        the matplotlib Axes (one scatter collection per population, one point per spike drawn).
    """
    pops, dt, start = spikes_of(spikes, dt)
    t0 = start if t0 is None else t0
    ax = new_axes(ax)
    offset = 0
    steps = 0
    for i, (name, s) in enumerate(pops.items()):
        s = _flat(s)
        steps = max(steps, len(s))
        t, n = np.nonzero(s)
        total = len(t)
        if total > max_points:
            keep = np.linspace(0, total - 1, max_points).astype(int)
            t, n = t[keep], n[keep]
        label = f"{name} ({total:,} spikes)" if name else f"{total:,} spikes"
        ax.scatter(spike_times(t, dt, t0), n + offset, s=marker_size, marker="|", linewidths=0.6, color=f"C{i}",
                   label=label, rasterized=True)
        offset += s.shape[1]
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("neuron")
    ax.set_ylim(-0.5, max(offset, 1) - 0.5)
    if pops:
        ax.set_xlim(t0, t0 + to_ms(steps, dt))
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, markerscale=4)
    if title:
        ax.set_title(title)
    return ax


def population_rate(spikes, dt: float, window: float | None = None) -> np.ndarray:
    """Population firing rate (Hz) per step: spikes per neuron per step / dt, smoothed by a box of ``window`` ms.

    Args:
        spikes: boolean array ``(steps, *neuron_shape)``.
        dt: time step (ms).
        window: width (ms) of the moving average (``None`` or shorter than ``dt``: no smoothing).
    """
    s = _flat(spikes)
    rate = s.mean(axis=1) * (1000.0 / dt) if s.shape[1] else np.zeros(len(s))
    return smooth(rate, window / dt if window else 1)


def smooth(x: np.ndarray, width: float) -> np.ndarray:
    """Moving average over ``round(width)`` samples (centred; the edges average what exists)."""
    w = round(width)
    if w <= 1 or len(x) == 0:
        return x
    ones = np.ones(w)
    return np.convolve(x, ones, mode="same") / np.convolve(np.ones(len(x)), ones, mode="same")


@styled
def rate(spikes, dt: float | None = None, *, window: float | None = 5.0, ax=None, title: str | None = None,
         t0: float | None = None, every: int = 1):
    """Population firing rate (Hz) over time, one line per population.

    Args:
        spikes: population name -> spikes ``(steps, *shape)`` or an already computed rate ``(samples,)`` (Hz,
            e.g. from a ``"exc.spikes:rate"`` monitor); or one such array; or a :class:`spark.Recording`.
        dt: time step (ms).
        window: smoothing window (ms) for rates computed from spikes (``None``: none).
        every: steps between samples of a given rate.

    Returns:
        the Axes; each line's y data is the rate (Hz) plotted.
    """
    pops, dt, start = spikes_of(spikes, dt)
    if hasattr(spikes, "info"):  # a Recording: add its rate monitors of populations whose spikes it lacks
        have = {spikes.info[k].get("node") for k in spikes.spikes()}
        for k, v in spikes.items():
            if spikes.info[k].get("reduce") == "rate" and spikes.info[k].get("node") not in have:
                pops[k] = v
    t0 = start if t0 is None else t0
    ax = new_axes(ax)
    for i, (name, s) in enumerate(pops.items()):
        s = np.asarray(s)
        if s.ndim == 1 and s.dtype != bool:  # a rate already (Hz), one sample every k steps
            k = spikes.every(name) if hasattr(spikes, "every") else every
            r = smooth(s.astype(float), window / (dt * k) if window else 1)
            t = time_axis(len(s), dt, t0, k)
        else:
            r = population_rate(s, dt, window)
            t = time_axis(len(r), dt, t0)
        ax.plot(t, r, color=f"C{i}", label=f"{name} (mean {r.mean():.1f} Hz)" if name else None)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("population rate (Hz)")
    ax.set_ylim(bottom=0)
    if any(pops):
        ax.legend(loc="upper right")
    if title:
        ax.set_title(title)
    return ax


def isis(spikes, dt: float) -> np.ndarray:
    """Every inter-spike interval (ms) of every neuron, pooled: array ``(n_intervals,)``."""
    s = _flat(spikes)
    t, n = np.nonzero(s)
    order = np.lexsort((t, n))
    t, n = t[order], n[order]
    same = n[1:] == n[:-1]
    return np.asarray(to_ms(np.diff(t)[same], dt), dtype=float)


@styled
def isi_histogram(spikes, dt: float | None = None, *, bins: int = 50, ax=None, title: str | None = None,
                  log: bool = False):
    """Histogram of inter-spike intervals (ms), pooled over neurons, one per population, with each one's CV.

    Returns:
        the Axes; the bar heights of a population sum to its number of intervals.
    """
    pops, dt, _ = spikes_of(spikes, dt)
    ax = new_axes(ax, (WIDTH / 2, HEIGHT))
    data = {name: isis(s, dt) for name, s in pops.items()}
    top = max((d.max() for d in data.values() if len(d)), default=dt)
    edges = np.geomspace(dt, top * 1.001, bins + 1) if log else np.linspace(0, top * 1.001, bins + 1)
    for i, (name, d) in enumerate(data.items()):
        cv = f"{d.std() / d.mean():.2f}" if len(d) > 1 and d.mean() > 0 else "n/a"
        label = f"{name + ' ' if name else ''}(CV {cv}, n = {len(d):,})"
        ax.hist(d, bins=edges, color=f"C{i}", alpha=0.6 if len(data) > 1 else 0.9, label=label)
    if log:
        ax.set_xscale("log")
    ax.set_xlabel("inter-spike interval (ms)")
    ax.set_ylabel("count")
    ax.legend(loc="upper right")
    if title:
        ax.set_title(title)
    return ax


def firing_rates(spikes, dt: float) -> np.ndarray:
    """Mean firing rate (Hz) of each neuron over the recording: array ``(n_neurons,)``."""
    s = _flat(spikes)
    return s.sum(axis=0) / (len(s) * dt / 1000.0) if len(s) else np.zeros(s.shape[1])


@styled
def rate_histogram(spikes, dt: float | None = None, *, bins: int = 30, ax=None, title: str | None = None):
    """Histogram of the neurons' mean firing rates (Hz), one per population.

    Returns:
        the Axes; the bar heights of a population sum to its number of neurons.
    """
    pops, dt, _ = spikes_of(spikes, dt)
    ax = new_axes(ax, (WIDTH / 2, HEIGHT))
    data = {name: firing_rates(s, dt) for name, s in pops.items()}
    top = max((d.max() for d in data.values() if len(d)), default=1.0) or 1.0
    edges = np.linspace(0, top * 1.001, bins + 1)
    for i, (name, d) in enumerate(data.items()):
        label = f"{name + ' ' if name else ''}(mean {d.mean():.1f} Hz, {len(d):,} neurons)"
        ax.hist(d, bins=edges, color=f"C{i}", alpha=0.6 if len(data) > 1 else 0.9, label=label)
    ax.set_xlabel("firing rate (Hz)")
    ax.set_ylabel("neurons")
    ax.legend(loc="upper right")
    if title:
        ax.set_title(title)
    return ax


__all__ = ["firing_rates", "isi_histogram", "isis", "population_rate", "raster", "rate", "rate_histogram"]
