"""The run viewer's HTTP API (GET only, JSON): recorded runs sliced for the browser (see :mod:`.runs`).

=================================  ==========================================================================
``GET /view``                      the viewer page (the same bundle as the editor; it reads the path)
``GET /api/runs``                  ``{runs: [{id, name}]}``: the runs this server may show
``GET /api/runs/info?run=``        the model graph, monitors, each node's mean rate (Hz), time span, weights
``GET /api/runs/raster?run=&key=`` spikes ``{t, i}`` in a window, or a density image past ``max_events``
``GET /api/runs/rate?run=&key=``   population rate (Hz) over time (``smooth``: a box of that many ms), at most
                                   ``width`` points
``GET /api/runs/trace?run=&key=``  recorded values of some neurons (``columns=0,1,2``), at most ``width`` points
``GET /api/runs/isi?run=&key=``    histogram of inter-spike intervals (ms)
``GET /api/runs/weights?run=&synapse=``  the final weight matrix (block means) and receptive fields
=================================  ==========================================================================

Common query parameters: ``t0``, ``t1`` (ms; the window, both ends included; default: the whole run), ``width``
(points / time columns wanted), ``trial`` (a batched run's trial). A run is named by ``run``:

- in a viewer started by ``spark view RUN_DIR [RUN_DIR2]``, by the id the server gave it (``/api/runs``); no other
  folder can be named;
- in the editor (``spark editor``), by its path relative to the editor's folder, confined to it as every file the
  editor opens (:func:`spark_editor.security.confine`).

Every file of a run is read only if it resolves inside the run's folder. Errors: ``{"error": message}`` with 400
(a malformed parameter), 403 (a path outside), 404 (no such run / monitor), 413 or 422 (not a readable run).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from aiohttp import web

from .runs import (
    DEFAULT_EVENTS,
    MAX_BINS,
    MAX_CELLS,
    MAX_COLS,
    MAX_EVENTS,
    MAX_FIELDS,
    MAX_ROWS,
    MAX_TRACES,
    RunCache,
    ViewError,
    is_run_folder,
)
from .security import PathError, confine, relative

VIEW_RUNS = web.AppKey("view_runs", object)  # id -> folder, in a viewer started on given runs; None in the editor
RUN_CACHE = web.AppKey("run_cache", RunCache)
MAX_LISTED = 500
MAX_SMOOTH_MS = 10_000.0  # the widest box a rate may be smoothed with
MAX_WALK = 50_000
SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv", ".tox", ".mypy_cache"}


def run_ids(folders: list[Path]) -> dict[str, Path]:
    """Ids for the runs a viewer is started on: each folder's name, made unique (``balanced``, ``balanced-2``)."""
    out: dict[str, Path] = {}
    for f in folders:
        real = Path(os.path.realpath(f))
        base = real.name or "run"
        name, k = base, 2
        while name in out:
            name, k = f"{base}-{k}", k + 1
        out[name] = real
    return out


def add_routes(app: web.Application, runs: dict[str, Path] | None) -> None:
    app[VIEW_RUNS] = runs
    app[RUN_CACHE] = RunCache()
    app.router.add_get("/api/runs", list_runs)
    app.router.add_get("/api/runs/info", run_info)
    app.router.add_get("/api/runs/raster", run_raster)
    app.router.add_get("/api/runs/rate", run_rate)
    app.router.add_get("/api/runs/trace", run_trace)
    app.router.add_get("/api/runs/isi", run_isi)
    app.router.add_get("/api/runs/weights", run_weights)


def _error(message: str, status: int) -> web.HTTPException:
    from .server import _bad

    return _bad(message, status=status)


def _folder(request: web.Request) -> tuple[str, Path]:
    from .server import ROOT

    rid = request.query.get("run")
    if not rid:
        raise _error("give the run: ?run=ID (GET /api/runs lists them)", 400)
    given = request.app[VIEW_RUNS]
    if given is not None:
        if rid not in given:
            raise _error(f"refused: {rid[:200]!r} is not a run of this viewer; it shows only the runs it was started "
                         f"with: {', '.join(given)}", 403)
        return rid, given[rid]
    try:
        path = confine(request.app[ROOT], rid, suffix=None)
    except PathError as exc:
        raise _error(str(exc), exc.status) from None
    return relative(request.app[ROOT], path), path


async def _run(request: web.Request):
    from .server import _registry, offload

    rid, folder = _folder(request)
    try:
        return rid, await offload(request, request.app[RUN_CACHE].get, folder, _registry(request))
    except ViewError as exc:
        raise _error(f"run {rid!r}: {exc}", exc.status) from None


async def _answer(request: web.Request, fn, *args, **kwargs) -> web.Response:
    from .server import _json, offload

    try:
        return _json(await offload(request, lambda: fn(*args, **kwargs)))
    except ViewError as exc:
        raise _error(str(exc), exc.status) from None


def _float(request: web.Request, name: str) -> float | None:
    text = request.query.get(name)
    if text is None or text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise _error(f"{name} must be a finite number of ms, got {text[:40]!r}", 400)
    return value


def _int(request: web.Request, name: str, default: int, lo: int, hi: int) -> int:
    text = request.query.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise _error(f"{name} must be a whole number in {lo}..{hi}, got {text[:40]!r}", 400) from None
    if not lo <= value <= hi:
        raise _error(f"{name} must be in {lo}..{hi}, got {value}", 400)
    return value


def _window(request: web.Request) -> tuple[float | None, float | None]:
    t0, t1 = _float(request, "t0"), _float(request, "t1")
    if t0 is not None and t1 is not None and t1 < t0:
        raise _error(f"the window ends before it starts: t0 = {t0:g} ms, t1 = {t1:g} ms", 400)
    return t0, t1


def _key(request: web.Request, name: str = "key") -> str:
    key = request.query.get(name)
    if not key:
        raise _error(f"give the monitor: ?{name}=NODE.PORT (e.g. exc.spikes; /api/runs/info lists them)", 400)
    return key


def _columns(request: web.Request) -> list[int] | None:
    text = request.query.get("columns")
    if text is None or text == "":
        return None
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        try:
            if ":" in part:
                a, b = (int(x) for x in part.split(":"))
                if b - a > MAX_TRACES:
                    raise ValueError
                out.extend(range(a, b))
            else:
                out.append(int(part))
        except ValueError:
            raise _error(f"columns must be numbers or ranges a:b (at most {MAX_TRACES} in all), e.g. 0,1,2 or 0:5; "
                         f"got {text[:60]!r}", 400) from None
        if len(out) > MAX_TRACES:
            raise _error(f"at most {MAX_TRACES} neurons per trace request, got more in {text[:60]!r}", 400)
    return out


def _neurons(request: web.Request) -> tuple[int, int] | None:
    text = request.query.get("neurons")
    if not text:
        return None
    try:
        a, b = (int(x) for x in text.split(":"))
    except ValueError:
        raise _error(f"neurons must be a range a:b of neuron indices, e.g. 0:100; got {text[:40]!r}", 400) from None
    return a, b


# ----- handlers -------------------------------------------------------------------------------------------------


async def list_runs(request: web.Request) -> web.Response:
    from .server import ROOT, _json, offload

    given = request.app[VIEW_RUNS]
    if given is not None:
        return _json({"mode": "view", "runs": [{"id": k, "name": k, "folder": str(v)} for k, v in given.items()]})
    root = request.app[ROOT]
    found = await offload(request, find_runs, root)
    return _json({"mode": "edit", "runs": [{"id": r, "name": r, "folder": str(root / r)} for r in found]})


def find_runs(root: Path, max_entries: int = MAX_WALK) -> list[str]:
    """Run folders under ``root`` (those with a ``summary.json``; at most :data:`MAX_LISTED`, 6 levels deep)."""
    found: list[str] = []
    seen = 0
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        seen += len(dirnames) + len(filenames)
        if seen > max_entries:
            break
        depth = len(Path(dirpath).relative_to(root).parts)
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith(".") and depth < 6
                             and d != "recording")
        if "summary.json" in filenames and Path(dirpath) != root and is_run_folder(Path(dirpath)):
            try:
                found.append(relative(root, confine(root, str(dirpath), suffix=None)))
            except PathError:
                continue
        if len(found) >= MAX_LISTED:
            break
    return found


async def run_info(request: web.Request) -> web.Response:
    rid, run = await _run(request)
    return await _answer(request, lambda: {"run": rid, **run.describe()})


async def run_raster(request: web.Request) -> web.Response:
    key = _key(request)
    t0, t1 = _window(request)
    _, run = await _run(request)
    return await _answer(request, run.raster, key, t0, t1,
                         max_events=_int(request, "max_events", DEFAULT_EVENTS, 0, MAX_EVENTS),
                         cols=_int(request, "width", 800, 1, MAX_COLS), rows=_int(request, "height", 400, 1, MAX_ROWS),
                         neurons=_neurons(request), trial=_int(request, "trial", 0, 0, 1 << 30))


async def run_rate(request: web.Request) -> web.Response:
    key = _key(request)
    t0, t1 = _window(request)
    _, run = await _run(request)
    smooth = _float(request, "smooth")
    if smooth is not None and not 0 <= smooth <= MAX_SMOOTH_MS:
        raise _error(f"smooth must be a duration in 0..{MAX_SMOOTH_MS:g} ms, got {smooth:g}", 400)
    return await _answer(request, run.rate, key, t0, t1, width=_int(request, "width", 800, 1, MAX_COLS),
                         smooth=smooth, trial=_int(request, "trial", 0, 0, 1 << 30))


async def run_trace(request: web.Request) -> web.Response:
    key = _key(request)
    t0, t1 = _window(request)
    columns = _columns(request)
    _, run = await _run(request)
    return await _answer(request, run.trace, key, t0, t1, columns=columns,
                         width=_int(request, "width", 800, 1, MAX_COLS), trial=_int(request, "trial", 0, 0, 1 << 30))


async def run_isi(request: web.Request) -> web.Response:
    key = _key(request)
    t0, t1 = _window(request)
    _, run = await _run(request)
    return await _answer(request, run.isi, key, t0, t1, bins=_int(request, "bins", 50, 1, MAX_BINS),
                         trial=_int(request, "trial", 0, 0, 1 << 30))


async def run_weights(request: web.Request) -> web.Response:
    synapse = _key(request, "synapse")
    _, run = await _run(request)
    return await _answer(request, run.weight_view, synapse, cells=_int(request, "cells", MAX_CELLS, 1, MAX_CELLS),
                         fields=_int(request, "fields", 16, 0, MAX_FIELDS))


