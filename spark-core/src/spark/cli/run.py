"""``spark run``: run a model; write its recording, a summary and the plots asked for (a raster by default).

The run folder holds everything ``spark plot`` needs to redraw without rerunning: ``recording.npz`` (or, for a
recording streamed to disk, ``recording/`` with one ``.npy`` per monitor), ``weights.npz`` (final weights, when
a weight plot was asked for) and ``summary.json`` (dt, steps, nodes with shapes, synapses with their inputs); and
``model.spark``, the model as it ran (``spark view`` draws its graph).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import numpy as np

from .. import threads
from ..runfolder import final_weights, model_layout, populations, spike_ports
from ..timing import to_ms, to_steps
from . import main
from ._resolve import resolve_model

TRACE_NEURONS = 5  # neurons per population whose voltage `--plot voltage` records
EVOLUTION_SAMPLES = 200  # samples of weights over a run for `--plot weight-evolution`
EVOLUTION_SYNAPSES = 200  # synapses per plastic synapse node it follows


def _resolve_model(model: str | None) -> Path:
    return resolve_model(model or "balanced")


def choose_threads(path: Path) -> None:
    """XLA's CPU threads for the model at ``path``, before JAX starts (:mod:`spark.threads`); a file that cannot be
    read is left to the loading that follows, which reports it."""
    from ..threads import choose_for_model

    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return
    choose_for_model(doc)


def plot_kinds(plots, default=("raster",)) -> tuple[list[str], set[str]]:
    """``--plot`` values -> (every kind to draw, the kinds named explicitly); checks the names."""
    from ..viz import PLOTS

    kinds = list(default)
    explicit = set()
    for p in plots:
        for k in p.split(","):
            k = k.strip()
            if k == "all":
                kinds += list(PLOTS)
            elif k not in PLOTS:
                raise click.BadParameter(f"{k!r}; choose from {', '.join(PLOTS)} or all", param_hint="--plot")
            else:
                kinds.append(k)
                explicit.add(k)
    return list(dict.fromkeys(kinds)), explicit


def parse_image_shape(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    try:
        h, w = (int(x) for x in text.lower().replace("*", "x").split("x"))
        if h < 1 or w < 1:
            raise ValueError
    except ValueError:
        raise click.BadParameter(f"{text!r}; write HEIGHTxWIDTH, e.g. 28x28", param_hint="--image-shape") from None
    return h, w


def image_shapes(layout: dict, image_shape: tuple[int, int] | None) -> dict[str, tuple]:
    """Synapse id -> image shape of its input: a 2-D presynaptic node's shape, or ``image_shape`` when it fits."""
    out = {}
    for syn, s in layout["synapses"].items():
        n_pre = s["shape"][0]
        if image_shape and image_shape[0] * image_shape[1] == n_pre:
            out[syn] = image_shape
        elif s.get("pre_shape") and len(s["pre_shape"]) == 2:
            out[syn] = tuple(s["pre_shape"])
    return out


@main.command("run")
@click.argument("model", required=False)
@click.option("--steps", type=click.IntRange(min=1), default=None, help="Steps to run (default: --duration / dt).")
@click.option("--duration", type=click.FloatRange(min=0, min_open=True), default=1000.0, show_default=True,
              help="Simulated time (ms) when --steps is not given.")
@click.option("--record", "records", multiple=True, metavar="MONITOR",
              help="Also record this (repeatable): NODE.PORT or NODE.VARIABLE, optionally with [a:b] (neurons), "
                   ":rate / :mean / :sum and @K (every K steps), e.g. exc.v[0:10], exc.spikes:rate, "
                   "syn.weight@100. Spikes are always recorded.")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Output folder (default: spark-runs/<model name>).")
@click.option("--plot", "plots", multiple=True, metavar="KIND",
              help="Also draw KIND (repeatable or comma-separated): raster, rate, voltage, isi, rate-hist, weights, "
                   "weight-evolution, receptive-fields, or all. A raster is always drawn.")
@click.option("--no-plot", is_flag=True, help="Draw no figures.")
@click.option("--format", "fmt", type=click.Choice(["png", "svg", "pdf"]), default="png", show_default=True,
              help="Figure file format.")
@click.option("--image-shape", metavar="HxW", default=None,
              help="Input image shape for --plot receptive-fields when the input node is flat (e.g. 28x28).")
@click.option("--stream/--no-stream", default=None,
              help="Stream the recording to disk chunk by chunk (OUT/recording/). Default: only when it would not "
                   "fit in memory.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar (default: on a terminal, for runs of more than 2,000 steps).")
def run(model, steps, duration, records, out, plots, no_plot, fmt, image_shape, stream, progress):
    """Run MODEL (a .spark file or a bundled example's name; default: balanced)."""
    from ..brain import Brain
    from ..errors import SparkError
    from ..jaxcache import enable_compilation_cache
    from ..monitors import Monitor
    from ..payloads import Voltage
    from ..recording import RecordingMemoryError, available_memory
    from ..sparkfile import atomic_write_bytes, atomic_write_text

    kinds, explicit = plot_kinds(plots) if not no_plot else ([], set())
    shape_opt = parse_image_shape(image_shape)
    path = _resolve_model(model)
    choose_threads(path)
    enable_compilation_cache()
    t_load = time.perf_counter()
    try:
        brain = Brain.from_file(path)
    except SparkError as exc:  # a file error, or a model too large to build (ModelMemoryError)
        raise click.ClickException(str(exc)) from None
    load_s = time.perf_counter() - t_load
    name = brain.name or path.stem
    dt = brain.dt
    steps = steps or max(1, to_steps(duration, dt))  # half-up, as every duration (docs/time.md)
    layout = model_layout(brain)
    spike_refs = spike_ports(brain)
    monitors: list = list(spike_refs)
    try:
        monitors += [Monitor.parse(r) for r in records]
        if "voltage" in kinds:
            for nid, node in brain.nodes.items():
                for port, spec in type(node).outputs.items():
                    if spec.payload.name == Voltage.name:
                        k = min(TRACE_NEURONS, math.prod(node.shape))
                        monitors.append(Monitor(f"{nid}.{port}", slice(0, k)))
        if "weight-evolution" in kinds:
            every = max(1, steps // EVOLUTION_SAMPLES)
            for syn, s in layout["synapses"].items():
                w0 = np.asarray(brain.nodes[syn].weight[...]).reshape(-1) if s["plastic"] else np.zeros(0)
                live = np.flatnonzero(w0)
                if len(live):
                    pick = live[np.linspace(0, len(live) - 1, min(EVOLUTION_SYNAPSES, len(live))).astype(int)]
                    monitors.append(Monitor(f"{syn}.weight", pick, every=every, name=f"{syn}.weight@{every}"))
        est = brain.estimate_recording(monitors, steps)
    except SparkError as exc:
        raise click.ClickException(str(exc)) from None

    out_dir = Path(out or Path("spark-runs") / name)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise click.ClickException(f"cannot create the run folder {out_dir}: {exc.strerror or exc}; give --out "
                                   "a folder you can write to") from None
    avail = available_memory()
    if stream is None:
        stream = avail is not None and est.bytes > avail / 2
    t0 = time.perf_counter()
    try:
        rec = brain.run(steps=steps, record=monitors, progress=progress,  # nothing else holds the state: donate it
                        out=out_dir / "recording" if stream else None, donate=True)
    except RecordingMemoryError as exc:
        raise click.ClickException(f"{exc}; with spark run: fewer --record, or --stream") from None
    except SparkError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:  # streaming the recording: a full disk or a file-size limit
        where = exc.filename or (out_dir / "recording")
        kept = ((f"the steps done before were kept in {out_dir / 'recording'} (spark.load_recording reads them)")
                if (out_dir / "recording" / "recording.json").exists() else "nothing was recorded")
        raise click.ClickException(
            f"cannot write the recording: {where}: {exc.strerror or exc}; {kept}; free disk space or give --out "
            "on another disk, then run again") from None
    wall_s = time.perf_counter() - t0
    stats = brain.last_run_stats

    files: dict = {}
    failed: list[str] = []  # files that could not be written (full disk, file-size limit): the rest is kept

    def keep(target: Path, write: Callable[[], Any]) -> bool:
        try:
            write()
            return True
        except OSError as exc:
            failed.append(f"{target}: {exc.strerror or exc}")
            return False

    if stream:
        files["recording"] = "recording"
    elif keep(out_dir / "recording.npz", lambda: rec.save(out_dir / "recording.npz")):
        files["recording"] = "recording.npz"
    model_text = json.dumps(brain.to_dict(), indent=2, ensure_ascii=False) + "\n"
    if keep(out_dir / "model.spark", lambda: atomic_write_text(out_dir / "model.spark", model_text)):
        files["model"] = "model.spark"
    weights, notes = ({}, [])
    if {"weights", "receptive-fields"} & set(kinds):
        weights, notes = final_weights(brain, layout)
        if weights:
            import io

            buf = io.BytesIO()
            np.savez_compressed(buf, **weights)
            if keep(out_dir / "weights.npz", lambda: atomic_write_bytes(out_dir / "weights.npz", buf.getvalue())):
                files["weights"] = "weights.npz"
    simulated_ms = to_ms(steps, dt)
    pops = populations(rec, spike_refs)
    summary = {
        "model": name, "file": str(path), "dt_ms": dt, "steps": steps, "t0": rec.t0,
        "simulated_ms": simulated_ms, "populations": pops,
        "load_s": round(load_s, 4), "compile_s": round(stats.get("compile_s", 0.0), 4),
        "run_s": round(stats.get("run_s", 0.0), 4), "wall_s": round(wall_s, 4), "chunks": stats.get("chunks", 1),
        "xla_cpu_threads": threads.current(),
        "recorded": sorted(rec), "recording": rec.info, **layout,
        "image_shape": list(shape_opt) if shape_opt else None, "plots": kinds, "files": files,
    }
    written: dict = {}
    keep(out_dir / f"*.{fmt} (figures)", lambda: written.update(write_plots(
        rec, kinds, out_dir, fmt=fmt, title=name, weights=weights, shapes=image_shapes(layout, shape_opt),
        notes=notes, explicit=explicit)))
    files["plots"] = {k: [p.name for p in v] for k, v in written.items()}
    if "raster" in written:
        files["raster"] = written["raster"][0].name
    wrote_summary = keep(out_dir / "summary.json",
                         lambda: atomic_write_text(out_dir / "summary.json", json.dumps(summary, indent=2) + "\n"))

    click.echo(f"{name}: {steps} steps of {dt} ms ({simulated_ms:g} ms simulated) in {wall_s:.2f} s "
               f"(compile {summary['compile_s']:.2f} s, run {summary['run_s']:.2f} s)")
    for r, p in pops.items():
        click.echo(f"  {r:<24} {p['neurons']:>7} neurons {p['spikes']:>9} spikes {p['mean_rate_hz']:8.2f} Hz")
    names = (["summary.json"] if wrote_summary else []) + (["model.spark"] if "model" in files else []) + (
        [files["recording"] + ("/" if stream else "")] if "recording" in files else []) + (
        ["weights.npz"] if "weights" in files else [])
    names += [p.name for v in written.values() for p in v]
    click.echo(f"wrote {out_dir}/" + (", ".join(names) or "nothing"))
    if failed:
        for f in failed:
            click.echo(f"spark: cannot write {f}", err=True)
        raise click.ClickException(
            f"the simulation ran ({steps} steps) but {len(failed)} file(s) could not be written (full disk or a "
            f"file-size limit?): {'; '.join(failed)}; kept: {', '.join(names) or 'nothing'} in {out_dir}; free "
            "disk space or give --out on another disk, then run again")


def write_plots(rec, kinds, out_dir, *, fmt, title, weights, shapes, notes=(), explicit=()) -> dict:
    """Draw ``kinds``; report on stderr what could not be drawn (matplotlib missing, data missing)."""
    if not kinds:
        return {}
    try:
        from ..viz import plot_recording

        written, skipped = plot_recording(rec, kinds, out_dir, fmt=fmt, title=title, weights=weights,
                                          image_shapes=shapes, strict=False)
    except ImportError as exc:
        click.echo(f"spark: no plots: {exc}", err=True)
        return {}
    for kind, why in skipped.items():
        if kind in explicit or kind == "raster":
            click.echo(f"spark: no {kind} plot: {why}", err=True)
    for note in notes:
        click.echo(f"spark: {note}", err=True)
    return written

