"""Run folders: what ``spark run`` writes and ``spark plot`` / ``spark view`` read, also from Python.

A run folder holds ``summary.json`` (dt, steps, the nodes with their shapes and kinds, the synapses with their pre-
and postsynaptic nodes, each population's spike count and mean rate, what was recorded), ``recording.npz`` (or a
streamed ``recording/`` folder), ``model.spark`` (the model as it ran) and, when asked, ``weights.npz`` (final
weights as ``(n_pre, n_post)`` matrices). :func:`save_run` writes one from a Brain and its Recording, so a notebook
run can be looked at in the run viewer (``spark view FOLDER``, ``spark_editor.view(FOLDER)``) like a ``spark run``.
Every file is written atomically.
"""

from __future__ import annotations

import io
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from .payloads import Spikes
from .sparkfile import atomic_write_bytes, atomic_write_text
from .timing import to_ms

MAX_DENSE_WEIGHTS = 25_000_000  # larger synapses get no final weight matrix (it would be > 100 MB)


def model_layout(brain: Any) -> dict:
    """``nodes`` and ``synapses`` of summary.json: what plots and the viewer need to know about the model (its flat
    graph: the inner nodes of composites, ``cell.soma``, as the Brain steps them; docs/composites.md)."""
    from .composite import flatten

    doc = flatten(brain.to_dict(), brain._registry_or_default())
    nodes, synapses = {}, {}
    for n in doc["nodes"]:
        mod = brain.nodes[n["id"]]
        nodes[n["id"]] = {"component": n["component"], "kind": type(mod).kind, "shape": list(mod.shape)}
        if n.get("attach"):
            nodes[n["id"]]["attach"] = n["attach"]
    for nid, info in nodes.items():
        if info["kind"] != "synapse":
            continue
        pre = post = None
        for e in doc.get("edges", []):
            if e["to"] == f"{nid}.pre":
                pre = e["from"].rsplit(".", 1)[0]
            if e["from"].startswith(f"{nid}."):
                post = e["to"].rsplit(".", 1)[0]
        synapses[nid] = {"pre": pre, "post": post, "shape": info["shape"],
                         "pre_shape": nodes[pre]["shape"] if pre in nodes else None,
                         "plastic": any(i.get("attach") == nid for i in nodes.values())}
    return {"nodes": nodes, "synapses": synapses}


def final_weights(brain: Any, layout: dict) -> tuple[dict[str, np.ndarray], list[str]]:
    """Synapse id -> its weights now as an ``(n_pre, n_post)`` matrix (``dense_weights()`` where there is one),
    and notes on the synapses left out (too large for a matrix)."""
    out, notes = {}, []
    for syn, s in layout["synapses"].items():
        node = brain.nodes[syn]
        if math.prod(s["shape"]) > MAX_DENSE_WEIGHTS:
            notes.append(f"{syn}: {s['shape'][0]} x {s['shape'][1]} weights are too many for a matrix plot")
        elif callable(getattr(node, "dense_weights", None)):
            out[syn] = np.asarray(node.dense_weights())
        elif hasattr(node, "weight") and tuple(np.shape(node.weight[...])) == tuple(s["shape"]):
            out[syn] = np.asarray(node.weight[...])
    return out, notes


def spike_ports(brain: Any) -> list[str]:
    """Every ``node.port`` of the brain that carries spikes."""
    return [f"{nid}.{port}" for nid, node in brain.nodes.items()
            for port, spec in type(node).outputs.items() if spec.payload.name == Spikes.name]


def populations(rec: Any, refs: list[str]) -> dict:
    """Per recorded spike port: neurons, spikes and mean rate (Hz) over the recording's steps."""
    seconds = to_ms(rec.steps, rec.dt) / 1000.0
    out = {}
    for r in refs:
        if r not in rec:
            continue
        s = rec[r]
        n = int(np.prod(s.shape[1:]))
        total = int(np.count_nonzero(s))
        out[r] = {"neurons": n, "spikes": total, "mean_rate_hz": total / n / seconds if n and seconds else 0.0}
    return out


def save_run(folder: str | os.PathLike, brain: Any, recording: Any, *, weights: bool = True,
             name: str | None = None) -> Path:
    """Write ``recording`` (a :class:`spark.Recording` of an unbatched run of ``brain``) and ``brain`` as a run
    folder, as ``spark run`` does: ``summary.json``, ``recording.npz``, ``model.spark`` and (``weights=True``)
    ``weights.npz`` with the brain's weights now. The folder is created if needed; existing files are replaced.

    Returns:
        The folder's path.

    Raises:
        ValueError: the recording is of a batched run (one run folder holds one run), or not a Recording.
        OSError: a file cannot be written (it names the file).
    """
    from .recording import Recording

    if not isinstance(recording, Recording):
        raise ValueError(f"save_run takes the spark.Recording of a run, got {type(recording).__name__}")
    if recording.batched:
        raise ValueError("this recording is of a batched run (a leading trial axis); a run folder holds one run: "
                         "save one trial per folder (run it unbatched, or one Recording per trial)")
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    layout = model_layout(brain)
    files = {"recording": "recording.npz", "model": "model.spark"}
    recording.save(out / "recording.npz")
    atomic_write_text(out / "model.spark", json.dumps(brain.to_dict(), indent=2, ensure_ascii=False) + "\n")
    if weights:
        w, _notes = final_weights(brain, layout)
        if w:
            buf = io.BytesIO()
            np.savez_compressed(buf, **w)
            atomic_write_bytes(out / "weights.npz", buf.getvalue())
            files["weights"] = "weights.npz"
    summary = {
        "model": name or brain.name or out.name, "file": None, "dt_ms": recording.dt, "steps": recording.steps,
        "t0": recording.t0, "simulated_ms": to_ms(recording.steps, recording.dt),
        "populations": populations(recording, spike_ports(brain)), "recorded": sorted(recording),
        "recording": recording.info, **layout, "image_shape": None, "plots": [], "files": files,
    }
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    return out
