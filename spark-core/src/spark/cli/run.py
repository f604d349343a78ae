"""``spark run``: run a model, write recordings, a summary and a raster plot."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click
import numpy as np

from . import main

CHUNK = 2000  # steps per compiled chunk when the run is long enough to show progress


def _resolve_model(model: str | None) -> Path:
    from ..registry import default_registry

    reg = default_registry()
    name = model or "balanced"
    path = Path(name)
    if path.suffix == ".spark" or path.exists():
        if not path.exists():
            raise click.ClickException(f"{path}: file not found")
        return path
    if name in reg.examples:
        return Path(reg.examples[name])
    known = ", ".join(sorted(reg.examples)) or "none (install spark-components for the bundled examples)"
    raise click.ClickException(f"{name!r} is neither a .spark file nor a bundled example; examples: {known}")


@main.command("run")
@click.argument("model", required=False)
@click.option("--steps", type=click.IntRange(min=1), default=None, help="Steps to run (default: --duration / dt).")
@click.option("--duration", type=click.FloatRange(min=0, min_open=True), default=1000.0, show_default=True,
              help="Simulated time (ms) when --steps is not given.")
@click.option("--record", "records", multiple=True, metavar="NODE.PORT",
              help="Also record this output port or state variable (repeatable). Spikes are always recorded.")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Output folder (default: spark-runs/<model name>).")
@click.option("--plot/--no-plot", default=True, show_default=True, help="Write raster.png.")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: only on a terminal).")
def run(model, steps, duration, records, out, plot, progress):
    """Run MODEL (a .spark file or a bundled example's name; default: balanced)."""
    from ..brain import Brain
    from ..errors import SparkError, SparkFileError
    from ..jaxcache import enable_compilation_cache
    from ..payloads import Spikes
    from ..sparkfile import atomic_write_bytes, atomic_write_text

    path = _resolve_model(model)
    enable_compilation_cache()
    t_load = time.perf_counter()
    try:
        brain = Brain.from_file(path)
    except SparkFileError as exc:
        raise click.ClickException(str(exc)) from None
    load_s = time.perf_counter() - t_load
    dt = brain.dt
    steps = steps or max(1, int(round(duration / dt)))
    spike_refs = [f"{nid}.{port}" for nid, node in brain.nodes.items()
                  for port, spec in type(node).outputs.items() if spec.payload.name == Spikes.name]
    record = list(dict.fromkeys(spike_refs + list(records)))
    try:
        for r in record:
            brain._check_record(r)
    except SparkError as exc:
        raise click.ClickException(str(exc)) from None

    chunks = [CHUNK] * (steps // CHUNK) + ([steps % CHUNK] if steps % CHUNK else []) if steps > CHUNK else [steps]
    show = sys.stderr.isatty() if progress is None else progress
    parts: dict[str, list[np.ndarray]] = {r: [] for r in record}
    compile_s = run_s = 0.0
    t0 = time.perf_counter()
    with click.progressbar(length=steps, label=f"{brain.name or path.stem}: {steps} steps of {dt} ms",
                           file=sys.stderr if show else _Null(), show_eta=True, show_pos=True) as bar:
        for n in chunks:
            rec = brain.run(steps=n, record=record)
            stats = brain.last_run_stats
            compile_s += stats["compile_s"]
            run_s += stats["run_s"]
            for r, v in rec.items():
                parts[r].append(v)
            bar.update(n)
    wall_s = time.perf_counter() - t0
    data = {r: np.concatenate(v) for r, v in parts.items()}

    out_dir = Path(out or Path("spark-runs") / (brain.name or path.stem))
    out_dir.mkdir(parents=True, exist_ok=True)
    import io

    buf = io.BytesIO()
    np.savez_compressed(buf, **{r.replace(".", "__"): v for r, v in data.items()})
    atomic_write_bytes(out_dir / "recording.npz", buf.getvalue())
    seconds = steps * dt / 1000.0
    populations = {}
    for r in spike_refs:
        s = data[r]
        n_neurons = int(np.prod(s.shape[1:]))
        total = int(s.sum())
        populations[r] = {"neurons": n_neurons, "spikes": total,
                          "mean_rate_hz": total / n_neurons / seconds if n_neurons else 0.0}
    summary = {
        "model": brain.name or path.stem, "file": str(path), "dt_ms": dt, "steps": steps,
        "simulated_ms": steps * dt, "populations": populations,
        "load_s": round(load_s, 4), "compile_s": round(compile_s, 4), "run_s": round(run_s, 4),
        "wall_s": round(wall_s, 4), "recorded": sorted(data), "files": {"recording": "recording.npz"},
    }
    if plot:
        try:
            from ..viz import raster

            ax = raster({r.split(".")[0]: data[r] for r in spike_refs}, dt,
                        title=f"{brain.name or path.stem}: {steps * dt:g} ms")
            ax.figure.savefig(out_dir / "raster.png")
            summary["files"]["raster"] = "raster.png"
        except ImportError as exc:
            click.echo(f"spark: no raster plot: {exc}", err=True)
    atomic_write_text(out_dir / "summary.json", json.dumps(summary, indent=2) + "\n")

    click.echo(f"{summary['model']}: {steps} steps of {dt} ms ({steps * dt:g} ms simulated) in {wall_s:.2f} s "
               f"(compile {compile_s:.2f} s, run {run_s:.2f} s)")
    for r, p in populations.items():
        click.echo(f"  {r:<24} {p['neurons']:>7} neurons {p['spikes']:>9} spikes {p['mean_rate_hz']:8.2f} Hz")
    click.echo(f"wrote {out_dir}/summary.json, recording.npz" + (", raster.png" if "raster" in summary["files"] else ""))


class _Null:
    def write(self, *_):
        pass

    def flush(self):
        pass
