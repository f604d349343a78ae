"""The run viewer's data: a ``spark run`` folder read once, then sliced into small JSON answers.

A run folder is what ``spark run`` writes: ``summary.json``, ``recording.npz`` or a streamed ``recording/`` folder,
optionally ``weights.npz`` and ``model.spark`` (the model as it ran). :class:`RunFolder` opens one, confined to the
folder: every file it reads must resolve (symbolic links included) inside it, whatever ``summary.json`` says.

Every time in an answer is in ms and comes from the recording's own stamps (:meth:`spark.Recording.times`, i.e.
``spark.timing.step_time``) or from ``spark.timing.to_ms`` for durations (docs/time.md): a spike of step ``k`` is at
``(k + 1) dt``. A time window ``[t0, t1]`` selects the samples stamped inside it (both ends included).

Every answer is bounded, whatever the run's size:

- **raster**: at most ``max_events`` spikes (:data:`MAX_EVENTS` at most) as ``{t, i}``; a window holding more is sent
  as a density image instead (spike counts per time column and neuron row, at most :data:`MAX_COLS` x
  :data:`MAX_ROWS`, uint16 little-endian, base64);
- **rate** and **trace**: at most ``width`` points (:data:`MAX_COLS` at most): consecutive samples are pooled into
  bins (a rate's mean over the bin; a trace's min and max envelope, so no spike of a potential is lost);
  traces of at most :data:`MAX_TRACES` neurons;
- **isi**: a histogram of at most :data:`MAX_BINS` bins;
- **weights**: a matrix of at most :data:`MAX_CELLS` x :data:`MAX_CELLS` blocks (block means) and at most
  :data:`MAX_FIELDS` receptive fields of at most :data:`MAX_FIELD_PIXELS` pixels each.

A ``recording.npz`` is loaded whole (at most :data:`MAX_NPZ_BYTES` on disk and :data:`MAX_UNPACKED_BYTES`, or half
the free memory, unpacked); a streamed recording is memory-mapped and read in pieces of :data:`CHUNK` samples.
Spike counts per sample and per neuron are computed once per run and cached.

Errors are :class:`ViewError` with an HTTP status and a message that names what is wrong.
"""

from __future__ import annotations

import base64
import json
import math
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from .security import PathError, confine

MAX_EVENTS = 200_000  # spikes one raster answer may list
DEFAULT_EVENTS = 50_000
MAX_COLS = 2048  # time columns (pixels) of a density raster, points of a rate or trace
MAX_ROWS = 1024  # neuron rows of a density raster
MAX_TRACES = 32  # neurons per trace answer
MAX_BINS = 200  # bins of an ISI histogram
MAX_CELLS = 256  # rows and columns of a weight matrix answer
MAX_FIELDS = 64  # receptive fields per answer
MAX_FIELD_PIXELS = 4096  # pixels of one receptive field (64 x 64)
MAX_NPZ_BYTES = 2 * 1024**3  # a recording.npz larger than this is not loaded into memory (record with --stream)
MAX_UNPACKED_BYTES = 8 * 1024**3  # nor one whose arrays unpack to more (or to more than half the free memory)
MAX_JSON_BYTES = 64 * 1024 * 1024  # summary.json, model.spark
CHUNK = 4096  # samples summed at a time (a memory-mapped recording is read in pieces)
CACHED_RUNS = 4


class ViewError(Exception):
    """A request the viewer cannot answer; ``status`` is the HTTP status, the message says what is wrong."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def is_run_folder(path: Path) -> bool:
    """Whether ``path`` looks like a run folder (``spark run``'s output, or a streamed recording folder)."""
    return path.is_dir() and any((path / name).exists() for name in
                                 ("summary.json", "recording.npz", "recording", "recording.json"))


def check_run_folder(path: Path) -> None:
    """Raise :class:`ViewError` (404 / 422) saying why ``path`` is not a run folder."""
    if not path.exists():
        raise ViewError(f"{path} does not exist; give a folder written by `spark run` (e.g. spark-runs/balanced)", 404)
    if not path.is_dir():
        raise ViewError(f"{path} is a file, not a run folder; give the folder `spark run` wrote (it holds "
                        "summary.json and recording.npz)", 422)
    if not is_run_folder(path):
        raise ViewError(f"{path} is not a run folder: it has no summary.json, recording.npz or recording/ "
                        "(`spark run MODEL --out FOLDER` writes them)", 422)


def _inside(folder: Path, name: Any, what: str, *, required: bool = True) -> Path | None:
    """``folder/name`` resolved, refused unless it stays inside ``folder``."""
    try:
        return confine(folder, name, suffix=None)
    except PathError as exc:
        if not required:
            return None
        raise ViewError(f"the run folder's {what} {name!r} is refused: {exc}", 403) from None


def _read_json(path: Path, what: str) -> Any:
    try:
        if path.stat().st_size > MAX_JSON_BYTES:
            raise ViewError(f"{path.name} is larger than {MAX_JSON_BYTES} bytes; this is not a file `spark run` "
                            "wrote", 422)
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ViewError(f"{path.name} ({what}) is not valid JSON: {exc}", 422) from None
    except OSError as exc:
        raise ViewError(f"{path.name} ({what}) cannot be read: {exc.strerror or exc}", 422) from None


class RunFolder:
    """One run folder, read once: summary, model, recording (memory-mapped when streamed), weights."""

    def __init__(self, folder: Path, registry: Any = None):
        from spark import SparkError
        from spark.recording import load_recording

        check_run_folder(folder)
        self.folder = Path(os.path.realpath(folder))
        self.summary: dict = {}
        summary = _inside(self.folder, "summary.json", "summary", required=False)
        if summary is not None and summary.is_file():
            data = _read_json(summary, "the run's summary")
            self.summary = data if isinstance(data, dict) else {}
        files = self.summary.get("files") if isinstance(self.summary.get("files"), dict) else {}
        if (self.folder / "recording.json").is_file():  # a streamed recording's own folder
            rec_path = self.folder
        else:
            name = files.get("recording")
            if name is None:
                name = "recording.npz" if (self.folder / "recording.npz").exists() else "recording"
            rec_path = _inside(self.folder, name, "recording")
            if not rec_path.exists():
                raise ViewError(f"{self.folder.name}: the recording {name!r} named by summary.json is missing; "
                                "run the model again (`spark run`)", 422)
        if rec_path.is_file() and rec_path.stat().st_size > MAX_NPZ_BYTES:
            raise ViewError(f"{rec_path.name} is {rec_path.stat().st_size} bytes, more than the viewer loads "
                            f"({MAX_NPZ_BYTES}); run with `spark run --stream` (a streamed recording is read in "
                            "pieces)", 413)
        if rec_path.is_file():
            _check_unpacked_size(rec_path)
        if rec_path.is_dir():  # every .npy the streamed recording names must stay inside its folder too
            meta = _inside(rec_path, "recording.json", "recording metadata")
            if not meta.is_file():
                raise ViewError(f"{self.folder.name}: the recording folder {rec_path.name}/ has no recording.json; "
                                "it is not a recording `spark run --stream` wrote", 422)
            rmeta = _read_json(meta, "the recording's metadata")
            names = rmeta.get("files") if isinstance(rmeta, dict) else None
            if not isinstance(names, dict):
                raise ViewError(f"{self.folder.name}: {rec_path.name}/recording.json names no files", 422)
            for f in names.values():
                _inside(rec_path, f, "recording file")
        try:
            self.rec = load_recording(rec_path)
        except (SparkError, OSError, ValueError, KeyError, TypeError) as exc:
            raise ViewError(f"{self.folder.name}: the recording cannot be read: {type(exc).__name__}: {exc}",
                            422) from None
        self.dt = float(self.rec.dt)
        self.doc, self.graph_source = self._model(registry)
        self._weights: dict[str, np.ndarray] | None = None
        self._counts: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        self._lock = threading.Lock()

    # ----- model graph ----------------------------------------------------------------------------------------

    def _model(self, registry: Any) -> tuple[dict | None, str | None]:
        path = _inside(self.folder, "model.spark", "model", required=False)
        if path is not None and path.is_file():
            doc = _read_json(path, "the model")
            if isinstance(doc, dict):
                return doc, "model.spark"
        nodes = self.summary.get("nodes")
        if isinstance(nodes, dict) and nodes:
            return graph_from_summary(self.summary, self.rec, registry), "summary.json"
        return None, None

    # ----- keys -----------------------------------------------------------------------------------------------

    def info_of(self, key: str) -> dict:
        return self.rec.info.get(key, {})

    def kind_of(self, key: str) -> str:
        """``spikes`` (boolean per neuron and step), ``rate`` (a population rate in Hz) or ``trace``."""
        self._known(key)
        i = self.info_of(key)
        arr = self.rec[key]
        if i.get("payload") == "Spikes" and i.get("reduce") == "rate":
            return "rate"
        if arr.dtype == bool and not i.get("reduce"):
            return "spikes"
        return "trace"

    def _known(self, key: str) -> None:
        if key not in self.rec:
            raise ViewError(f"no monitor {key[:200]!r} in this run; it recorded: {', '.join(sorted(self.rec))}", 404)

    def array(self, key: str, trial: int = 0) -> np.ndarray:
        """The samples of ``key`` as ``(samples, columns)`` (one trial of a batched run)."""
        self._known(key)
        arr = self.rec[key]
        if self.rec.batched:
            if not 0 <= trial < arr.shape[0]:
                raise ViewError(f"trial must be in 0..{arr.shape[0] - 1}, got {trial}")
            arr = arr[trial]
        return arr.reshape(arr.shape[0], -1) if arr.ndim != 1 else arr[:, None]

    def times(self, key: str) -> np.ndarray:
        return np.asarray(self.rec.times(key), dtype=float)

    def window(self, key: str, t0: float | None, t1: float | None) -> tuple[int, int, np.ndarray]:
        """``(lo, hi, times)``: samples ``lo..hi-1`` of ``key`` are stamped inside ``[t0, t1]``."""
        times = self.times(key)
        lo = 0 if t0 is None else int(np.searchsorted(times, t0 - 1e-9 * max(1.0, abs(t0)), "left"))
        hi = len(times) if t1 is None else int(np.searchsorted(times, t1 + 1e-9 * max(1.0, abs(t1)), "right"))
        return lo, max(lo, hi), times

    def _scan(self, key: str, trial: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """``(per_neuron, per_sample)``: spikes of ``key`` per neuron over the whole recording and per sample over
        all neurons; read once, in pieces (a memory-mapped recording never has to fit in memory), then cached, so a
        zoom or a rate over any window costs a slice."""
        with self._lock:
            if (key, trial) not in self._counts:
                arr = self.array(key, trial)
                per_neuron = np.zeros(arr.shape[1], dtype=np.int64)
                per_sample = np.zeros(arr.shape[0], dtype=np.int32)
                for s in range(0, arr.shape[0], CHUNK):
                    block = np.asarray(arr[s:s + CHUNK])
                    per_neuron += np.count_nonzero(block, axis=0)
                    per_sample[s:s + len(block)] = np.count_nonzero(block, axis=1)
                self._counts[(key, trial)] = (per_neuron, per_sample)
            return self._counts[(key, trial)]

    def counts(self, key: str) -> np.ndarray:
        """Spikes per neuron over the whole recording of ``key``."""
        return self._scan(key)[0]

    def span(self) -> tuple[float, float]:
        """The recording's time span (ms): from the start of its first step to the stamp of its last."""
        from spark.timing import to_ms

        start = self.rec.t_start
        return start, float(start + to_ms(self.rec.steps, self.dt))

    def weights(self) -> dict[str, np.ndarray]:
        with self._lock:
            if self._weights is None:
                self._weights = {}
                files = self.summary.get("files") if isinstance(self.summary.get("files"), dict) else {}
                path = _inside(self.folder, files.get("weights", "weights.npz"), "weights", required=False)
                if path is not None and path.is_file():
                    try:
                        with np.load(path, allow_pickle=False) as data:
                            self._weights = {k: np.asarray(data[k]) for k in data.files}
                    except (OSError, ValueError) as exc:
                        raise ViewError(f"{path.name} cannot be read: {exc}", 422) from None
            return self._weights

    # ----- answers --------------------------------------------------------------------------------------------

    def describe(self) -> dict:
        """What the viewer shows first: the model graph, the monitors, each node's mean rate, the weights."""
        from spark.timing import to_ms

        start, end = self.span()
        monitors, rates = [], {}
        for key in sorted(self.rec):
            i = self.info_of(key)
            arr = self.rec[key]
            kind = self.kind_of(key)
            n_samples = int(arr.shape[1 if self.rec.batched else 0]) if arr.ndim else 0
            monitors.append({
                "key": key, "node": i.get("node", key.split(".")[0]), "attr": i.get("attr", key.split(".")[-1]),
                "kind": kind, "payload": i.get("payload"), "unit": i.get("unit") or ("Hz" if kind == "rate" else None),
                "every": self.rec.every(key), "samples": n_samples,
                "columns": int(math.prod(arr.shape[2 if self.rec.batched else 1:])),
                "neurons": i.get("neurons"),
            })
            node = i.get("node", key.split(".")[0])
            seconds = float(to_ms(n_samples * self.rec.every(key), self.dt)) / 1000.0
            if kind == "spikes" and self.rec.every(key) == 1 and node not in rates and seconds > 0:
                counts = self.counts(key)
                rates[node] = {"key": key, "hz": float(counts.sum() / max(len(counts), 1) / seconds),
                               "spikes": int(counts.sum()), "neurons": len(counts)}
        for m in monitors:  # a node whose spikes were reduced to a rate only
            if m["kind"] == "rate" and m["node"] not in rates:
                vals = self.array(m["key"])
                rates[m["node"]] = {"key": m["key"], "hz": float(np.mean(vals)) if vals.size else 0.0,
                                    "spikes": None, "neurons": None}
        synapses = self.summary.get("synapses") if isinstance(self.summary.get("synapses"), dict) else {}
        weights = {k: {"shape": list(v.shape), "pre": (synapses.get(k) or {}).get("pre"),
                       "post": (synapses.get(k) or {}).get("post"), "image_shape": self.image_shape(k, v)}
                   for k, v in self.weights().items()}
        return {
            "name": self.summary.get("model") or (self.doc or {}).get("name") or self.folder.name,
            "dt": self.dt, "steps": self.rec.steps, "t_start": start, "t_end": end, "batched": self.rec.batched,
            "trials": int(next(iter(self.rec.values())).shape[0]) if self.rec.batched and self.rec else None,
            "doc": self.doc, "graph_source": self.graph_source, "monitors": monitors, "rates": rates,
            "weights": weights,
        }

    def image_shape(self, synapse: str, w: np.ndarray) -> list[int] | None:
        """The image shape of a synapse's input (as ``spark run --plot receptive-fields`` finds it), or None."""
        syn = (self.summary.get("synapses") or {}).get(synapse) if isinstance(self.summary.get("synapses"),
                                                                              dict) else None
        n_pre = int(w.shape[0]) if w.ndim == 2 else 0
        given = self.summary.get("image_shape")
        if isinstance(given, list) and len(given) == 2 and given[0] * given[1] == n_pre:
            return [int(given[0]), int(given[1])]
        pre_shape = (syn or {}).get("pre_shape")
        if isinstance(pre_shape, list) and len(pre_shape) == 2 and pre_shape[0] * pre_shape[1] == n_pre:
            return [int(pre_shape[0]), int(pre_shape[1])]
        return None

    def raster(self, key: str, t0: float | None, t1: float | None, *, max_events: int = DEFAULT_EVENTS,
               cols: int = 800, rows: int = 400, neurons: tuple[int, int] | None = None, trial: int = 0) -> dict:
        if self.kind_of(key) != "spikes":
            raise ViewError(f"{key!r} is not a spike recording (it is a {self.kind_of(key)}); a raster needs "
                            "the spikes of a population, e.g. exc.spikes", 422)
        arr = self.array(key, trial)
        lo, hi, times = self.window(key, t0, t1)
        n = arr.shape[1]
        a, b = _neuron_range(neurons, n)
        ks, idx = [], []
        for s in range(lo, hi, CHUNK):
            e = min(hi, s + CHUNK)
            k, i = np.nonzero(np.asarray(arr[s:e, a:b]))
            ks.append(k + s)
            idx.append(i + a)
        k = np.concatenate(ks) if ks else np.zeros(0, dtype=np.int64)
        i = np.concatenate(idx) if idx else np.zeros(0, dtype=np.int64)
        base = {"key": key, "t0": float(times[lo] - self._sample_ms(key)) if hi > lo else t0, "t1": float(
            times[hi - 1]) if hi > lo else t1, "neurons": [a, b], "n_neurons": int(n), "total": len(k)}
        if len(k) <= max_events:
            order = np.lexsort((i, k))
            return {**base, "mode": "events", "t": times[k[order]].tolist(), "i": i[order].tolist()}
        cols = max(1, min(cols, MAX_COLS, hi - lo))
        rows = max(1, min(rows, MAX_ROWS, b - a))
        col = ((k - lo) * cols) // (hi - lo)
        row = ((i - a) * rows) // (b - a)
        grid = np.bincount(row * cols + col, minlength=rows * cols).astype(np.int64)
        return {**base, "mode": "density", "cols": cols, "rows": rows, "max": int(grid.max(initial=0)),
                "counts": base64.b64encode(np.minimum(grid, 65535).astype("<u2").tobytes()).decode("ascii")}

    def _sample_ms(self, key: str) -> float:
        from spark.timing import to_ms

        return float(to_ms(self.rec.every(key), self.dt))

    def rate(self, key: str, t0: float | None, t1: float | None, *, width: int = 800, smooth: float | None = None,
             trial: int = 0) -> dict:
        """Population rate (Hz): spikes per neuron per second of each sample, optionally smoothed by a centred box
        of ``smooth`` ms (as ``spark.viz.smooth``; samples outside the window count too), then pooled into at most
        ``width`` bins."""
        from spark.timing import to_ms, to_steps

        kind = self.kind_of(key)
        if kind == "trace":
            raise ViewError(f"{key!r} is not a spike or rate recording; a population rate needs spikes", 422)
        arr = self.array(key, trial)
        lo, hi, times = self.window(key, t0, t1)
        every = self.rec.every(key)
        box = max(1, round(to_steps(smooth, self.dt) / every)) if smooth else 1
        a, b = max(0, lo - box // 2), min(arr.shape[0], hi + box - box // 2)
        if kind == "spikes":
            n = max(arr.shape[1], 1)
            sample_s = float(to_ms(every, self.dt)) / 1000.0
            hz = self._scan(key, trial)[1][a:b] / n / sample_s
        else:
            hz = np.asarray(arr[a:b, 0], dtype=float)
        if box > 1 and len(hz):
            ones = np.ones(box)
            hz = np.convolve(hz, ones, mode="same") / np.convolve(np.ones(len(hz)), ones, mode="same")
        hz = hz[lo - a:hi - a]
        return {"key": key, "unit": "Hz", "smooth": float(to_ms(box * every, self.dt)) if box > 1 else None,
                **_pool(hz[:, None], times[lo:hi], self._sample_ms(key), width, "mean")}

    def trace(self, key: str, t0: float | None, t1: float | None, *, columns: list[int] | None = None,
              width: int = 800, trial: int = 0) -> dict:
        """Recorded values of ``columns`` (positions in the monitor's recorded neurons), at most ``width`` points
        (min / max of each bin when pooled)."""
        arr = self.array(key, trial)
        info = self.info_of(key)
        cols = list(range(min(arr.shape[1], 5))) if columns is None else columns
        if len(cols) > MAX_TRACES:
            raise ViewError(f"at most {MAX_TRACES} neurons per trace request, got {len(cols)}; ask for fewer")
        bad = [c for c in cols if not 0 <= c < arr.shape[1]]
        if bad:
            raise ViewError(f"{key!r} recorded {arr.shape[1]} value(s) per sample (columns 0..{arr.shape[1] - 1}); "
                            f"there is no column {bad[0]}", 422)
        lo, hi, times = self.window(key, t0, t1)
        values = np.asarray(arr[lo:hi][:, cols], dtype=float) if cols else np.zeros((hi - lo, 0))
        recorded = info.get("neurons")
        labels = [int(recorded[c]) if isinstance(recorded, list) and c < len(recorded) else c for c in cols]
        pooled = _pool(values, times[lo:hi], self._sample_ms(key), width, "envelope")
        return {"key": key, "unit": info.get("unit"), "columns": cols, "neurons": labels, **pooled}

    def isi(self, key: str, t0: float | None, t1: float | None, *, bins: int = 50, trial: int = 0) -> dict:
        """Histogram of inter-spike intervals (ms) of spikes inside the window, pooled over neurons."""
        from spark.timing import to_ms

        if self.kind_of(key) != "spikes":
            raise ViewError(f"{key!r} is not a spike recording; an ISI histogram needs spikes, e.g. exc.spikes", 422)
        arr = self.array(key, trial)
        lo, hi, _ = self.window(key, t0, t1)
        parts = [np.nonzero(np.asarray(arr[s:min(hi, s + CHUNK)])) for s in range(lo, hi, CHUNK)]
        starts = range(lo, hi, CHUNK)
        k = np.concatenate([p[0] + s for p, s in zip(parts, starts, strict=True)]) if parts else np.zeros(0, int)
        n = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, int)
        order = np.lexsort((k, n))
        k, n = k[order], n[order]
        same = n[1:] == n[:-1]
        isi = np.asarray(to_ms(np.diff(k)[same] * self.rec.every(key), self.dt), dtype=float)
        top = float(isi.max()) if len(isi) else float(to_ms(1, self.dt))
        counts, edges = np.histogram(isi, bins=bins, range=(0.0, top * 1.0001))
        return {"key": key, "n": len(isi), "edges": edges.tolist(), "counts": counts.tolist(),
                "mean": float(isi.mean()) if len(isi) else None,
                "cv": float(isi.std() / isi.mean()) if len(isi) > 1 and isi.mean() > 0 else None}

    def weight_view(self, synapse: str, *, cells: int = MAX_CELLS, fields: int = 16) -> dict:
        ws = self.weights()
        if synapse not in ws:
            have = ", ".join(sorted(ws)) or "none (run with `spark run --plot weights` to save them)"
            raise ViewError(f"no weights of {synapse!r} in this run; saved: {have}", 404)
        w = np.asarray(ws[synapse], dtype=float)
        if w.ndim != 2:
            w = w.reshape(w.shape[0], -1) if w.ndim > 2 else w.reshape(-1, 1)
        br, bc = math.ceil(w.shape[0] / cells), math.ceil(w.shape[1] / cells)
        matrix = _block_mean(w, br, bc)
        out = {"synapse": synapse, "shape": list(w.shape), "block": [br, bc], "min": float(w.min(initial=0)),
               "max": float(w.max(initial=0)), "matrix": matrix.tolist()}
        shape = self.image_shape(synapse, w)
        if shape and shape[0] * shape[1] <= MAX_FIELD_PIXELS:
            k = min(fields, MAX_FIELDS, w.shape[1])
            out["image_shape"] = shape
            out["fields"] = [w[:, j].reshape(shape).tolist() for j in range(k)]
        return out


def _check_unpacked_size(path: Path) -> None:
    """Refuse an ``.npz`` whose arrays would take more than half the memory available once unpacked (a compressed
    recording can be far larger than its file)."""
    import zipfile

    from spark.recording import available_memory, fmt_bytes

    try:
        with zipfile.ZipFile(path) as z:
            unpacked = sum(i.file_size for i in z.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise ViewError(f"{path.name} is not a recording (.npz) this viewer can read: {exc}", 422) from None
    avail = available_memory()
    limit = min(MAX_UNPACKED_BYTES, avail // 2) if avail else MAX_UNPACKED_BYTES
    if unpacked > limit:
        raise ViewError(f"{path.name} unpacks to {fmt_bytes(unpacked)}, more than the viewer loads into memory "
                        f"({fmt_bytes(limit)}); record with `spark run --stream` (a streamed recording is read in "
                        "pieces)", 413)


def _neuron_range(neurons: tuple[int, int] | None, n: int) -> tuple[int, int]:
    if neurons is None:
        return 0, n
    a, b = neurons
    b = min(b, n)
    if not 0 <= a < b:
        raise ViewError(f"neurons {a}:{b} select nothing; this population has {n} neuron(s) (0:{n})", 422)
    return a, b


def _pool(values: np.ndarray, times: np.ndarray, sample_ms: float, width: int, how: str) -> dict:
    """``values`` (samples, columns) at ``times``, as at most ``width`` points.

    Not pooled: ``{t, values}`` with ``values[c]`` one list per column. Pooled into bins of ``g`` samples:
    ``{t, t_start, pooled: g, ...}`` where ``t`` is the stamp of each bin's last sample and ``t_start`` the start of
    its first step; ``mean`` gives ``values`` (bin means), ``envelope`` gives ``min`` and ``max``.
    """
    n = len(times)
    width = max(1, min(width, MAX_COLS))
    if n <= width:
        return {"t": times.tolist(), "pooled": 1, "values": values.T.tolist()}
    g = math.ceil(n / width)
    starts = np.arange(0, n, g)
    ends = np.minimum(starts + g, n) - 1
    out = {"t": times[ends].tolist(), "t_start": (times[starts] - sample_ms).tolist(), "pooled": g}
    if how == "mean":
        sums = np.add.reduceat(values, starts, axis=0)
        out["values"] = (sums / (ends - starts + 1)[:, None]).T.tolist()
    else:
        out["min"] = np.minimum.reduceat(values, starts, axis=0).T.tolist()
        out["max"] = np.maximum.reduceat(values, starts, axis=0).T.tolist()
    return out


def _block_mean(w: np.ndarray, br: int, bc: int) -> np.ndarray:
    if br == 1 and bc == 1:
        return w
    rows = np.add.reduceat(w, np.arange(0, w.shape[0], br), axis=0) / np.diff(
        np.append(np.arange(0, w.shape[0], br), w.shape[0]))[:, None]
    return np.add.reduceat(rows, np.arange(0, w.shape[1], bc), axis=1) / np.diff(
        np.append(np.arange(0, w.shape[1], bc), w.shape[1]))[None, :]


def graph_from_summary(summary: dict, rec: Any, registry: Any = None) -> dict:
    """A model document good enough to draw, from summary.json's ``nodes`` and ``synapses`` (runs written before
    ``spark run`` saved ``model.spark``). Edges are guessed: the presynaptic node's recorded spike port to the
    synapse's ``pre``, and the synapse's first output to the first input of the postsynaptic node that takes its
    payload (when the registry knows both components)."""
    nodes = []
    for nid, n in summary.get("nodes", {}).items():
        if not isinstance(n, dict):
            continue
        node = {"id": nid, "component": n.get("component", "")}
        if n.get("kind") in ("soma", "encoder") and isinstance(n.get("shape"), list):
            node["shape"] = n["shape"]
        if n.get("attach"):
            node["attach"] = n["attach"]
        nodes.append(node)
    spike_ports = {}
    for i in getattr(rec, "info", {}).values():
        if i.get("payload") == "Spikes" and i.get("node") and i.get("attr"):
            spike_ports.setdefault(i["node"], i["attr"])

    def spec(nid):
        try:
            return registry.resolve(summary["nodes"][nid]["component"]).cls if registry is not None else None
        except Exception:
            return None

    edges = []
    for syn, s in (summary.get("synapses") or {}).items():
        if not isinstance(s, dict):
            continue
        if s.get("pre") in spike_ports:
            edges.append({"from": f"{s['pre']}.{spike_ports[s['pre']]}", "to": f"{syn}.pre"})
        post, cls, post_cls = s.get("post"), spec(syn), spec(s.get("post")) if s.get("post") else None
        if post and cls is not None and post_cls is not None and cls.outputs:
            port, out = next(iter(cls.outputs.items()))
            target = next((name for name, p in post_cls.inputs.items() if p.payload.name == out.payload.name), None)
            if target:
                edges.append({"from": f"{syn}.{port}", "to": f"{post}.{target}"})
    return {"format": "spark", "version": 1, "name": summary.get("model", ""), "dt": summary.get("dt_ms", 1.0),
            "nodes": nodes, "edges": edges}


class RunCache:
    """The last :data:`CACHED_RUNS` run folders opened, keyed by path and the files' modification times."""

    def __init__(self, size: int = CACHED_RUNS):
        self.size = size
        self.runs: OrderedDict[tuple, RunFolder] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, folder: Path, registry: Any = None) -> RunFolder:
        key = (str(folder), _stamp(folder))
        with self.lock:
            if key in self.runs:
                self.runs.move_to_end(key)
                return self.runs[key]
        run = RunFolder(folder, registry)
        with self.lock:
            self.runs[key] = run
            while len(self.runs) > self.size:
                self.runs.popitem(last=False)
        return run


def _stamp(folder: Path) -> tuple:
    out = []
    for name in ("summary.json", "recording.npz", "recording", "recording.json", "weights.npz", "model.spark"):
        try:
            st = (folder / name).stat()
            out.append((name, st.st_mtime_ns, st.st_size))
        except OSError:
            pass
    try:
        st = (folder / "recording" / "recording.json").stat()
        out.append(("recording/recording.json", st.st_mtime_ns))
    except OSError:
        pass
    return tuple(out)
