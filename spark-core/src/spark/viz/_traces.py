"""Membrane potential (or any state) traces with spikes marked."""

from __future__ import annotations

import numpy as np

from ._style import new_axes, spike_times, styled, time_axis


@styled
def traces(v, dt: float, *, spikes=None, neurons=None, ax=None, t0: float = 0.0, every: int = 1,
           unit: str = "mV", label: str = "membrane potential", title: str | None = None, max_traces: int = 10):
    """One line per neuron of a recorded variable, with that neuron's spikes marked above its trace.

    Args:
        v: array ``(samples, n)`` (or ``(samples,)`` for one neuron), e.g. a ``"exc.v[0:5]"`` recording.
        dt: time step (ms).
        spikes: boolean array of the same shape as ``v``: spikes of the same neurons, in the same order.
        neurons: the neurons' ids for the legend (default: 0, 1, ...).
        t0: time (ms) at which the recording began (the start of its first step). every: steps between samples
            of ``v`` (spikes are per step). Times follow docs/time.md: the sample or spike of step ``k`` is drawn
            at ``t0 + (k + 1) dt``, so the x data equal ``Recording.times``.
        unit: unit of ``v`` (for the y label). label: what ``v`` is.
        max_traces: plot at most this many neurons (the first ones).

    Returns:
        the Axes: one line per neuron (its y data is ``v[:, i]``) and, with ``spikes``, one scatter collection
        per neuron with one marker per spike, drawn at the top of the traces.
    """
    v = np.asarray(v, dtype=float)
    if v.ndim == 1:
        v = v[:, None]
    v = v.reshape(len(v), -1)[:, :max_traces]
    ids = list(range(v.shape[1])) if neurons is None else list(neurons)[: v.shape[1]]
    ax = new_axes(ax)
    t = time_axis(len(v), dt, t0, every)
    finite = v[np.isfinite(v)]
    lo, hi = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    top = hi + 0.06 * (hi - lo or 1.0)
    s = None
    if spikes is not None:
        s = np.asarray(spikes).astype(bool)
        s = (s[:, None] if s.ndim == 1 else s.reshape(len(s), -1))[:, : v.shape[1]]
    for i in range(v.shape[1]):
        ax.plot(t, v[:, i], color=f"C{i}", label=f"neuron {ids[i]}")
        if s is not None:
            ts = spike_times(np.flatnonzero(s[:, i]), dt, t0)
            ax.scatter(ts, np.full(len(ts), top), marker="v", s=12, color=f"C{i}", linewidths=0, zorder=3)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel(f"{label} ({unit})" if unit else label)
    if len(t):
        ax.set_xlim(t0, t[-1])  # the samples cover (t0, t[-1]]: the last one is stamped at its step's end
    if v.shape[1] > 1:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    if title:
        ax.set_title(title)
    return ax


__all__ = ["traces"]
