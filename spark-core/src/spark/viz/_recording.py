"""Every plot of a recorded run at once: what ``spark run --plot`` and ``spark plot`` write."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from ._spikes import isi_histogram, raster, rate, rate_histogram
from ._style import HEIGHT, WIDTH, plt, save, styled
from ._traces import traces
from ._weights import receptive_fields, weight_evolution, weight_matrix

PLOTS = {
    "raster": "spike raster of every spiking population",
    "rate": "population firing rate over time (5 ms window)",
    "voltage": "membrane potential traces of recorded neurons, spikes marked",
    "isi": "inter-spike-interval histogram per population, with CV",
    "rate-hist": "histogram of the neurons' firing rates",
    "weights": "weight matrix of each synapse at the end of the run",
    "weight-evolution": "weights of sampled synapses over the run",
    "receptive-fields": "incoming weights of each neuron as an image of a 2-D input",
}


class PlotUnavailable(ValueError):
    """The recording lacks what a plot needs; the message says what to record."""


def _voltage_keys(rec) -> list[str]:
    return [k for k, i in rec.info.items() if i.get("payload") == "Voltage" and not i.get("reduce")]


def _spikes_for(rec, vkey: str):
    """The spikes of the neurons whose voltage ``vkey`` holds, column for column, or None."""
    node = rec.info[vkey]["node"]
    ids = rec.info[vkey].get("neurons")
    for k, s in rec.spikes().items():
        if rec.info[k]["node"] != node:
            continue
        flat = np.asarray(s).reshape(len(s), -1)
        have = rec.info[k].get("neurons")
        if have is None:
            cols = ids if ids is not None else list(range(flat.shape[1]))
            if max(cols, default=-1) < flat.shape[1]:
                return flat[:, cols]
        elif ids is not None and all(i in have for i in ids):
            return flat[:, [have.index(i) for i in ids]]
    return None


@styled
def _voltage_figure(rec, keys):
    fig, axes = plt().subplots(len(keys), 1, figsize=(WIDTH, HEIGHT * (0.6 + 0.5 * len(keys))), sharex=True,
                               squeeze=False, layout="constrained")
    for ax, k in zip(axes[:, 0], keys, strict=True):
        info = rec.info[k]
        v = np.asarray(rec[k])
        traces(v.reshape(len(v), -1), rec.dt, spikes=_spikes_for(rec, k), neurons=info.get("neurons"), ax=ax,
               t0=rec.t_start, every=rec.every(k), unit=info.get("unit") or "mV",
               label=f"{info['node']}.{info['attr']}")
        if ax is not axes[-1, 0]:
            ax.set_xlabel("")
    return fig


def _weight_sources(rec, weights: Mapping[str, np.ndarray] | None) -> dict[str, np.ndarray]:
    """Synapse id -> final (n_pre, n_post) weights: given ones, else the last sample of a 2-D weight recording."""
    out = dict(weights or {})
    for k, info in rec.info.items():
        if info.get("attr") in ("weight", "dense_weights") and not info.get("reduce") and info.get("neurons") is None \
                and not info.get("index") and len(info.get("shape", [])) == 2 and info["node"] not in out:
            v = np.asarray(rec[k])
            if len(v) and (info["attr"] == "dense_weights" or info.get("value_shape") == info.get("dense_shape",
                                                                                                  info["shape"])):
                out[info["node"]] = v[-1]
    return out


def plot_recording(rec, kinds: Iterable[str], folder: str | os.PathLike, *, fmt: str = "png",
                   title: str | None = None, weights: Mapping[str, np.ndarray] | None = None,
                   image_shapes: Mapping[str, tuple] | None = None, strict: bool = True
                   ) -> tuple[dict[str, list[Path]], dict[str, str]]:
    """Write the figures ``kinds`` (names in :data:`PLOTS`, or ``"all"``) of a :class:`spark.Recording`.

    Args:
        folder: where the files go, named ``<kind>.<fmt>`` (``<kind>-<synapse>.<fmt>`` for weight plots).
        fmt: ``"png"``, ``"svg"`` or ``"pdf"``.
        title: prefix of every title (e.g. the model's name).
        weights: synapse id -> final ``(n_pre, n_post)`` weights (default: the last sample of 2-D weight
            recordings).
        image_shapes: synapse id -> ``(height, width)`` of its presynaptic input, for receptive fields.
        strict: raise :class:`PlotUnavailable` when a requested plot lacks its data (else skip it).

    Returns:
        ``(written, skipped)``: kind -> files written; kind -> why it was skipped.
    """
    kinds = list(dict.fromkeys(kinds))
    if "all" in kinds:
        kinds = list(PLOTS)
    unknown = [k for k in kinds if k not in PLOTS]
    if unknown:
        raise PlotUnavailable(f"unknown plot(s) {unknown}; choose from {', '.join(PLOTS)} or all")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    head = f"{title}: " if title else ""
    span = f"{rec.steps * rec.dt:g} ms"
    written: dict[str, list[Path]] = {}
    skipped: dict[str, str] = {}
    spikes = rec.spikes()
    wsrc = _weight_sources(rec, weights)

    def out(kind, obj, suffix=""):
        path = save(obj, folder / f"{kind}{suffix}.{fmt}", close=True)
        written.setdefault(kind, []).append(path)

    for kind in kinds:
        why = None
        if kind in ("raster", "isi", "rate-hist") and not spikes:
            why = "no spikes were recorded (record a spike port such as exc.spikes)"
        elif kind == "rate" and not spikes and not any(i.get("reduce") == "rate" for i in rec.info.values()):
            why = "no spikes or rates were recorded (record exc.spikes or exc.spikes:rate)"
        elif kind == "voltage" and not _voltage_keys(rec):
            why = "no voltage was recorded (record e.g. exc.v[0:5]; spark run --plot voltage does)"
        elif kind in ("weights", "receptive-fields") and not wsrc:
            why = "no weights were recorded (spark run --plot weights saves them; or record syn.weight@1000)"
        elif kind == "weight-evolution" and not any(i.get("attr") in ("weight", "dense_weights")
                                                      and i.get("every", 1) >= 1 and not i.get("reduce")
                                                      for i in rec.info.values()):
            why = "no weight samples were recorded (record e.g. syn.weight@100; spark run --plot weight-evolution does)"
        elif kind == "receptive-fields" and not any(s in wsrc for s in (image_shapes or {})):
            why = "no synapse comes from a 2-D input (receptive fields need the input's image shape)"
        if why:
            if strict:
                raise PlotUnavailable(f"cannot plot {kind}: {why}")
            skipped[kind] = why
            continue
        if kind == "raster":
            out(kind, raster(rec, title=f"{head}{span}"))
        elif kind == "rate":
            out(kind, rate(rec, title=f"{head}population rate"))
        elif kind == "isi":
            out(kind, isi_histogram(rec, title=f"{head}inter-spike intervals"))
        elif kind == "rate-hist":
            out(kind, rate_histogram(rec, title=f"{head}firing rates"))
        elif kind == "voltage":
            fig = _voltage_figure(rec, _voltage_keys(rec))
            fig.suptitle(f"{head}membrane potential", fontsize=10)
            out(kind, fig)
        elif kind == "weights":
            for syn, w in wsrc.items():
                out(kind, weight_matrix(w, title=f"{head}{syn} weights at {span}"), f"-{syn}")
        elif kind == "weight-evolution":
            for k, info in rec.info.items():
                if info.get("attr") in ("weight", "dense_weights") and not info.get("reduce"):
                    ax = weight_evolution(rec[k], rec.dt, every=rec.every(k), t0=rec.t_start,
                                          title=f"{head}{k}")
                    out(kind, ax, f"-{info['node']}")
        elif kind == "receptive-fields":
            for syn, shape in (image_shapes or {}).items():
                if syn in wsrc:
                    out(kind, receptive_fields(wsrc[syn], tuple(shape), title=f"{head}{syn}: receptive fields"),
                        f"-{syn}")
    return written, skipped
