"""Recordings: the arrays a run recorded, what they mean, how they are saved, streamed and sized.

A :class:`Recording` is a ``dict`` (monitor key -> numpy array) that also knows ``dt``, the first step ``t0`` and,
per key, what was recorded (:attr:`Recording.info`). It saves to one ``.npz`` (:meth:`Recording.save`);
a run given ``out=folder`` streams into ``folder/<key>.npy`` files instead (:class:`DiskWriter`), which
:func:`load_recording` opens memory-mapped, so a recording larger than memory can still be read in pieces.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .errors import SparkError
from .timing import step_time, to_ms

FORMAT = "spark-recording"
VERSION = 1
META_MEMBER = "__spark_recording__"
META_FILE = "recording.json"


class RecordingMemoryError(SparkError, MemoryError):
    """A recording would not fit in the memory (or on the disk) available; the message has the estimate."""


# ----- memory -----------------------------------------------------------------------------------------------------

def available_memory() -> int | None:
    """Bytes of host memory available to a new allocation (``MemAvailable``), or None when unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def device_memory_free() -> int | None:
    """Free bytes on the default accelerator, or None on CPU (where host memory is the limit) or when unknown."""
    try:
        import jax

        dev = jax.devices()[0]
        if dev.platform == "cpu":
            return None
        stats = dev.memory_stats() or {}
        return int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0))
    except Exception:
        return None


def fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


# ----- the recording ----------------------------------------------------------------------------------------------

def member_names(keys) -> dict[str, str]:
    """Monitor key -> a file-safe name: ``"exc.spikes"`` -> ``"exc__spikes"``; other symbols -> ``_``."""
    out: dict[str, str] = {}
    for k in keys:
        base = re.sub(r"[^A-Za-z0-9_\-]", "_", k.replace(".", "__")) or "value"
        name, i = base, 2
        while name in out.values():
            name, i = f"{base}_{i}", i + 1
        out[k] = name
    return out


class Recording(dict):
    """What a run recorded: monitor key -> numpy array, plus what each array means.

    Arrays have the time (sample) axis first, after the trial axis of a batched run: ``(samples, *sample_shape)``
    or ``(trials, samples, *sample_shape)``.

    Attributes:
        dt: time step (ms).
        t0: the brain's step count when the recording began (0 for a fresh brain).
        steps: number of steps covered.
        start: for a chunk of a longer run (``Brain.run_iter``, ``on_chunk``), its first step counted from the
            run's start; 0 otherwise.
        batched: whether arrays have a leading trial axis.
        info: key -> dict with ``target``, ``node``, ``attr``, ``source`` (port/variable/method), ``every``,
            ``reduce``, ``neurons`` (the flat indices recorded, or None for all), ``value_shape``, ``shape``
            (one sample), ``dtype``, ``payload`` (e.g. ``"Spikes"``; None for variables) and ``unit``.
    """

    def __init__(self, arrays: Mapping[str, Any] = (), *, dt: float, t0: int = 0, steps: int = 0,
                 info: Mapping[str, dict] | None = None, batched: bool = False, start: int = 0):
        super().__init__(arrays)
        self.dt = float(dt)
        self.t0 = int(t0)
        self.steps = int(steps)
        self.start = int(start)
        self.batched = bool(batched)
        self.info = {k: dict(v) for k, v in (info or {}).items()}

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k!r}: {tuple(np.shape(v))} {np.asarray(v).dtype if not hasattr(v, 'dtype') else v.dtype}"
                           for k, v in self.items())
        return f"Recording(dt={self.dt}, t0={self.t0}, steps={self.steps}, {{{shapes}}})"

    def _repr_html_(self) -> str:
        """Jupyter: a table of what was recorded (key, shape, dtype, sampling, time span in ms)."""
        import html

        rows = "".join(
            f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(tuple(np.shape(v))))}</td>"
            f"<td>{html.escape(str(getattr(v, 'dtype', np.asarray(v).dtype)))}</td>"
            f"<td>every {self.every(k)} step(s)</td></tr>" for k, v in self.items())
        from .timing import to_ms

        span = f"{float(to_ms(self.t0, self.dt)):g} - {float(to_ms(self.t0 + self.steps, self.dt)):g} ms"
        return (f"<div class='spark-recording'><b>Recording</b>: {self.steps} steps of {self.dt:g} ms ({span})"
                f"<table><thead><tr><th>key</th><th>shape</th><th>dtype</th><th>sampled</th></tr></thead>"
                f"<tbody>{rows}</tbody></table></div>")

    def every(self, key: str) -> int:
        return int(self.info.get(key, {}).get("every", 1))

    def times(self, key: str) -> np.ndarray:
        """Time (ms) of each sample of ``key``: the time stamp of the step it was taken after (docs/time.md).

        Sample ``i`` of a monitor sampled every ``k`` steps is taken after step ``s = t0 + start + (i + 1) k - 1``
        (counted from the brain's first step) and stamped ``(s + 1) dt``: the first sample of a fresh brain's run is
        at ``dt``; with ``@10`` at ``dt = 0.1`` the times read 1.0, 2.0, ... ms.
        """
        k = self.every(key)
        axis = 1 if self.batched else 0
        n = np.shape(self[key])[axis]
        return step_time(self.t0 + self.start + (np.arange(n) + 1) * k - 1, self.dt)

    @property
    def t_start(self) -> float:
        """Time (ms) at which the recording began: the start of its first step, ``(t0 + start) dt``."""
        return float(to_ms(self.t0 + self.start, self.dt))

    def spikes(self) -> dict[str, np.ndarray]:
        """The recordings of spike ports (not reduced): key -> boolean array."""
        return {k: v for k, v in self.items() if self.info.get(k, {}).get("payload") == "Spikes"
                and not self.info[k].get("reduce") and self.every(k) == 1}

    def metadata(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "dt": self.dt, "t0": self.t0, "steps": self.steps,
                "start": self.start, "batched": self.batched, "monitors": self.info}

    def save(self, path: str | os.PathLike, *, compress: bool = True) -> None:
        """Write every array and the metadata to one ``.npz`` (atomically); :func:`load_recording` reads it."""
        from .sparkfile import atomic_write_bytes

        names = member_names(self)
        meta = self.metadata()
        meta["members"] = names
        buf = io.BytesIO()
        arrays = {names[k]: np.asarray(v) for k, v in self.items()}
        arrays[META_MEMBER] = np.array(json.dumps(meta))
        (np.savez_compressed if compress else np.savez)(buf, **arrays)
        atomic_write_bytes(path, buf.getvalue())


def load_recording(path: str | os.PathLike, *, mmap: bool = True) -> Recording:
    """Read a recording: an ``.npz`` written by :meth:`Recording.save`, a folder a run streamed into
    (``out=``, with ``recording.json``) or a ``spark run`` folder (with ``summary.json``)."""
    path = Path(path)
    if path.is_dir():
        if (path / META_FILE).exists():
            meta = json.loads((path / META_FILE).read_text())
            arrays = {k: np.load(path / f, mmap_mode="r" if mmap else None, allow_pickle=False)
                      for k, f in meta["files"].items()}
            done = int(meta.get("steps_done", meta["steps"]))
            if done < meta["steps"]:  # an interrupted run: only what was written
                arrays = {k: _take_steps(v, meta["monitors"][k]["every"], done, meta["batched"])
                          for k, v in arrays.items()}
            return _from_meta(arrays, meta, steps=done)
        summary = path / "summary.json"
        if summary.exists():
            try:
                meta = json.loads(summary.read_text())
                name = meta.get("files", {}).get("recording", "recording.npz")
            except (OSError, ValueError, AttributeError):  # a damaged summary: find the recording without it
                meta, name = None, None
            if isinstance(name, str):
                rec = load_recording(path / name, mmap=mmap)
                if not rec.info:  # written before recordings carried their metadata: rebuild it from the summary
                    rec = _from_summary(rec, meta)
                return rec
            if (path / "recording" / META_FILE).exists():
                return load_recording(path / "recording", mmap=mmap)
        if (path / "recording.npz").exists():
            return load_recording(path / "recording.npz", mmap=mmap)
        raise SparkError(f"{path}: no recording here (looked for {META_FILE}, summary.json, recording.npz)")
    with np.load(path, allow_pickle=False) as data:
        if META_MEMBER not in data.files:  # a bare npz: arrays only
            return Recording({k: data[k] for k in data.files}, dt=1.0)
        meta = json.loads(str(data[META_MEMBER]))
        arrays = {k: data[m] for k, m in meta["members"].items()}
    return _from_meta(arrays, meta)


def _from_summary(rec: Recording, summary: dict) -> Recording:
    arrays = {k.replace("__", "."): v for k, v in rec.items()}
    spikes = set(summary.get("populations", {}))
    info = {k: {"target": k, "node": k.split(".")[0], "attr": k.split(".")[-1], "every": 1,
                "payload": "Spikes" if k in spikes else None} for k in arrays}
    return Recording(arrays, dt=summary.get("dt_ms", 1.0), steps=summary.get("steps", 0), info=info)


def _take_steps(arr, every: int, steps: int, batched: bool):
    n = steps // every
    return arr[:, :n] if batched else arr[:n]


def _from_meta(arrays: dict, meta: dict, steps: int | None = None) -> Recording:
    if meta.get("format") != FORMAT or int(meta.get("version", 0)) > VERSION:
        raise SparkError(f"not a recording this Spark can read (format {meta.get('format')!r}, version "
                         f"{meta.get('version')!r}; this Spark reads {FORMAT!r} up to version {VERSION})")
    return Recording(arrays, dt=meta["dt"], t0=meta.get("t0", 0), steps=meta["steps"] if steps is None else steps,
                     info=meta.get("monitors", {}), batched=meta.get("batched", False), start=meta.get("start", 0))


# ----- streaming to disk ------------------------------------------------------------------------------------------

class DiskWriter:
    """Streams a run's chunks into ``folder/<key>.npy`` (one preallocated, memory-mapped ``.npy`` per monitor).

    ``folder/recording.json`` holds the metadata and ``steps_done``, rewritten after each chunk, so an interrupted
    run leaves a readable prefix. Refuses to start when the disk has too little room.
    """

    def __init__(self, folder: str | os.PathLike, bounds, *, steps: int, n_batch: int | None, dt: float, t0: int):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.batched = n_batch is not None
        total = sum(b.sample_bytes * (steps // b.every) for b in bounds) * (n_batch or 1)
        free = shutil.disk_usage(self.folder).free
        if total > free:
            raise RecordingMemoryError(f"streaming this recording to {self.folder} needs {fmt_bytes(total)} but the "
                                       f"disk has {fmt_bytes(free)} free; record less (neurons=, reduce=, every=) "
                                       "or choose a folder on a larger disk")
        self.names = member_names([b.key for b in bounds])
        self.every = {b.key: b.every for b in bounds}
        self.arrays = {}
        for b in bounds:
            shape = ((n_batch,) if self.batched else ()) + (steps // b.every, *b.shape)
            self.arrays[b.key] = np.lib.format.open_memmap(self.folder / f"{self.names[b.key]}.npy", mode="w+",
                                                           dtype=np.dtype(b.dtype), shape=shape)
        self.meta = {"format": FORMAT, "version": VERSION, "dt": dt, "t0": t0, "steps": steps, "start": 0,
                     "steps_done": 0, "batched": self.batched, "monitors": {b.key: b.info() for b in bounds},
                     "files": {k: f"{n}.npy" for k, n in self.names.items()}}
        self._write_meta()

    def _write_meta(self) -> None:
        from .sparkfile import atomic_write_text

        atomic_write_text(self.folder / META_FILE, json.dumps(self.meta, indent=1) + "\n")

    def write(self, start: int, n: int, chunk: Mapping[str, np.ndarray]) -> None:
        for k, arr in chunk.items():
            s0 = start // self.every[k]
            if self.batched:
                self.arrays[k][:, s0:s0 + arr.shape[1]] = arr
            else:
                self.arrays[k][s0:s0 + arr.shape[0]] = arr
        for mm in self.arrays.values():
            mm.flush()
        self.meta["steps_done"] = start + n
        self._write_meta()

    def close(self) -> Recording:
        for mm in self.arrays.values():
            mm.flush()
        self.arrays.clear()
        return load_recording(self.folder)


# ----- estimates --------------------------------------------------------------------------------------------------

class RecordingEstimate:
    """The memory a recording will take: ``bytes`` in all, per key ``(shape, dtype, bytes)``, and what is free."""

    def __init__(self, arrays: dict[str, tuple[tuple, str, int]], available: int | None):
        self.arrays = arrays
        self.bytes = sum(b for _, _, b in arrays.values())
        self.available = available

    def __str__(self) -> str:
        parts = ", ".join(f"{k}: {fmt_bytes(b)} ({' x '.join(map(str, s)) or 'scalar'} {d})"
                          for k, (s, d, b) in sorted(self.arrays.items(), key=lambda kv: -kv[1][2]))
        avail = "unknown" if self.available is None else fmt_bytes(self.available)
        return f"{fmt_bytes(self.bytes)} ({parts or 'nothing recorded'}); available: {avail}"

    def __repr__(self) -> str:
        return f"RecordingEstimate({self})"


def estimate(bounds, steps: int, n_batch: int | None) -> RecordingEstimate:
    arrays = {}
    for b in bounds:
        shape = ((n_batch,) if n_batch is not None else ()) + (steps // b.every, *b.shape)
        arrays[b.key] = (shape, b.dtype, math.prod(shape) * np.dtype(b.dtype).itemsize)
    return RecordingEstimate(arrays, available_memory())
