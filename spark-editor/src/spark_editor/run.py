"""Running a model from the editor and streaming what it does over a websocket.

Protocol (JSON text messages):

browser -> server
    ``{"type": "start", "doc": {...}, "steps": N, "chunk": C, "voltage": {"node": [i, ...]}, "raster_max": M}``
    ``{"type": "stop"}``
server -> browser
    ``{"type": "problems", "problems": [...]}``   the model is invalid (same problems as ``/api/validate``)
    ``{"type": "started", "steps", "dt", "populations": [{"key", "node", "port", "size", "shown"}],
    "voltages": [{"key", "node", "port", "neurons": [...]}]}``
    ``{"type": "chunk", "t0", "n", "spikes": {key: {"t": [...], "i": [...]}}, "rates": {key: [Hz, ...]},
    "v": {key: [[mV per chosen neuron] per step]}}``   after each chunk of ``C`` steps
    ``{"type": "done" | "stopped", "steps": steps_run, "elapsed_s"}``  or ``{"type": "error", "message"}``

The brain is built once (``spark.Brain.from_dict``) and advanced chunk by chunk with ``brain.run``, which keeps
its state between calls, so what streams is one continuous run. JAX work runs in the server's worker pool.

Limits: at most :data:`spark_editor.server.MAX_RUNS` runs at once per server (a further ``start`` gets an
``error`` saying so); a chunk is at most :data:`MAX_CHUNK` steps, and a run stops after the chunk in progress when
its websocket closes (or on ``stop``), so a closed tab never leaves a run going.
Recorded: every output port carrying ``Spikes`` (raster, rates) and every ``Voltage`` port (traces).
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

import numpy as np
from aiohttp import WSMsgType, web

MAX_STEPS = 10_000_000
MAX_CHUNK = 10_000  # steps per chunk at most (a larger request is clamped): stop is seen at least this often
DEFAULT_CHUNK = 100
DEFAULT_RASTER_MAX = 200  # neurons per population drawn in the raster
MAX_TRACES = 16  # voltage traces per population


def plan_recording(doc: dict, registry: Any, voltage: dict | None, raster_max: int) -> tuple[list, list]:
    """Which ports to record: ``(populations, voltages)`` as sent in the ``started`` message (without sizes)."""
    voltage = voltage if isinstance(voltage, dict) else {}
    pops, volts = [], []
    for node in doc.get("nodes", []):
        try:
            entry = registry.resolve(node.get("component"))
        except Exception:
            continue
        for name, spec in entry.cls.outputs.items():
            key = f"{node['id']}.{name}"
            if spec.payload.name == "Spikes":
                pops.append({"key": key, "node": node["id"], "port": name, "shown": raster_max})
            elif spec.payload.name == "Voltage":
                chosen = voltage.get(node["id"], [0, 1, 2])
                if not isinstance(chosen, list):
                    chosen = [0, 1, 2]
                neurons = sorted({int(i) for i in chosen if isinstance(i, (int, float)) and i >= 0})[:MAX_TRACES]
                volts.append({"key": key, "node": node["id"], "port": name, "neurons": neurons})
    return pops, volts


def summarise(t0: int, dt: float, out: dict, pops: list, volts: list) -> dict:
    """One ``chunk`` message from the arrays ``brain.run`` recorded (shape ``(steps, *port_shape)``)."""
    msg: dict[str, Any] = {"type": "chunk", "t0": t0, "n": 0, "spikes": {}, "rates": {}, "v": {}}
    for pop in pops:
        arr = np.asarray(out[pop["key"]])
        steps = arr.shape[0]
        flat = arr.reshape(steps, -1).astype(bool)
        msg["n"] = steps
        t, i = np.nonzero(flat[:, : pop["shown"]])
        msg["spikes"][pop["key"]] = {"t": (t + t0).tolist(), "i": i.tolist()}
        rate = flat.mean(axis=1) / (dt * 1e-3) if flat.shape[1] else np.zeros(steps)
        msg["rates"][pop["key"]] = [round(float(r), 3) for r in rate]
    for vol in volts:
        arr = np.asarray(out[vol["key"]], dtype=np.float64)
        steps = arr.shape[0]
        flat = arr.reshape(steps, -1)
        msg["n"] = steps
        cols = flat[:, vol["neurons"]] if vol["neurons"] else np.zeros((steps, 0))
        msg["v"][vol["key"]] = [[round(float(x), 4) if math.isfinite(x) else None for x in row] for row in cols]
    return msg


class _Run:
    def __init__(self, ws: web.WebSocketResponse, registry: Any, pool: Any = None):
        self.ws = ws
        self.registry = registry
        self.pool = pool
        self.stop = asyncio.Event()

    async def go(self, req: dict) -> None:
        import spark

        from .server import validate_doc

        loop = asyncio.get_running_loop()
        pool = self.pool
        doc = req.get("doc")
        steps, chunk = req.get("steps", 1000), req.get("chunk", DEFAULT_CHUNK)
        if not all(isinstance(x, int) and not isinstance(x, bool) and 0 < x <= MAX_STEPS for x in (steps, chunk)):
            await self.ws.send_json({"type": "error", "message": f"steps and chunk must be whole numbers in "
                                                                   f"1..{MAX_STEPS}, got {steps!r} and {chunk!r}"})
            return
        chunk = min(chunk, MAX_CHUNK)
        problems = await loop.run_in_executor(pool, validate_doc, doc, self.registry)
        if problems:
            await self.ws.send_json({"type": "problems", "problems": problems})
            return
        raster_max = req.get("raster_max", DEFAULT_RASTER_MAX)
        raster_max = raster_max if isinstance(raster_max, int) and 0 < raster_max <= 10_000 else DEFAULT_RASTER_MAX
        pops, volts = plan_recording(doc, self.registry, req.get("voltage"), raster_max)
        record = [p["key"] for p in pops] + [v["key"] for v in volts]
        started = time.perf_counter()
        try:
            brain = await loop.run_in_executor(pool, lambda: spark.Brain.from_dict(doc, registry=self.registry))
        except Exception as exc:
            await self.ws.send_json({"type": "error", "message": f"cannot build the model: {exc}"})
            return
        dt = float(doc.get("dt", 0.1))
        done = 0
        first = True
        while done < steps and not self.stop.is_set() and not self.ws.closed:
            n = min(chunk, steps - done)
            try:
                out = await loop.run_in_executor(pool, lambda n=n: brain.run(steps=n, record=record))
                if first:
                    for pop in pops:
                        size = int(np.prod(np.asarray(out[pop["key"]]).shape[1:]))
                        pop["size"], pop["shown"] = size, min(size, pop["shown"])
                    for vol in volts:
                        size = int(np.prod(np.asarray(out[vol["key"]]).shape[1:]))
                        vol["neurons"] = [i for i in vol["neurons"] if i < size]
                    await self.ws.send_json({"type": "started", "steps": steps, "dt": dt,
                                             "populations": pops, "voltages": volts})
                    first = False
                msg = summarise(done, dt, out, pops, volts)
            except Exception as exc:
                await self.ws.send_json({"type": "error", "message": f"the run failed at step {done}: "
                                                                       f"{type(exc).__name__}: {exc}"})
                return
            await self.ws.send_json(msg)
            done += n
        kind = "done" if done >= steps else "stopped"
        await self.ws.send_json({"type": kind, "steps": done, "elapsed_s": round(time.perf_counter() - started, 3)})


async def run_socket(request: web.Request) -> web.WebSocketResponse:
    """The ``/api/run`` websocket; one run at a time per connection, at most ``MAX_RUNS`` per server."""
    from .server import LIMITS, MAX_RUNS, POOL, RUNS, _registry, parse_json

    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=32 * 1024 * 1024)
    await ws.prepare(request)
    request.app[RUNS].add(ws)
    task: asyncio.Task | None = None
    current: _Run | None = None
    try:
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            try:  # up to 32 MB: parsed in the worker pool, not on the event loop
                req = await asyncio.get_running_loop().run_in_executor(request.app[POOL], parse_json, msg.data)
            except ValueError as exc:
                await ws.send_json({"type": "error", "message": f"message is not valid JSON: {exc}"})
                continue
            kind = req.get("type") if isinstance(req, dict) else None
            if kind == "stop":
                if current is not None:
                    current.stop.set()
            elif kind == "start":
                if task is not None and not task.done():
                    await ws.send_json({"type": "error", "message": "a run is already in progress; stop it first"})
                    continue
                limits = request.app[LIMITS]
                if limits.runs >= MAX_RUNS:
                    await ws.send_json({"type": "error", "message": f"the editor is already running {limits.runs} "
                                        f"models, the most it runs at once; stop one (or wait for it to finish) "
                                        f"and start again"})
                    continue
                limits.runs += 1
                current = _Run(ws, _registry(request), request.app[POOL])
                task = asyncio.create_task(_guarded(current, req))
                task.add_done_callback(lambda _t, limits=limits: setattr(limits, "runs", limits.runs - 1))
            else:
                await ws.send_json({"type": "error", "message": f"unknown message type {kind!r}; "
                                                                "send 'start' or 'stop'"})
    finally:
        if current is not None:
            current.stop.set()
        if task is not None:
            try:
                await asyncio.wait_for(task, timeout=30)
            except Exception:  # includes TimeoutError
                pass
        request.app[RUNS].discard(ws)
    return ws


async def _guarded(run: _Run, req: dict) -> None:
    try:
        await run.go(req)
    except ConnectionResetError:
        pass
    except Exception as exc:  # never let a run take the server down
        if not run.ws.closed:
            await run.ws.send_json({"type": "error", "message": f"internal error: {type(exc).__name__}: {exc}"})
