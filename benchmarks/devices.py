"""Data-parallel trials vs devices: trials/s of one batched run split over 1, 2, 4 and 8 host CPU devices, and over
2 processes on loopback (``jax.distributed``; docs/scaling.md). With ``--split``, model-parallel instead: steps/s of
one network split by neuron (``mesh=spark.sharding.neuron_mesh()``, dense synapses) over the same device counts.

    python benchmarks/devices.py                          # CUBA, 1,000 neurons, 16 trials x 500 ms, 1/2/4/8 devices
    python benchmarks/devices.py --neurons 4000 --trials 32 --steps 2000 --devices 1 2 4 8 --processes 2
    python benchmarks/devices.py --out benchmarks/results/devices.md
    python benchmarks/devices.py --split --neurons 4000   # one network of 4,000 neurons split over 1/2/4/8 devices

Every configuration runs in its own process (a host-device count is fixed when JAX starts: XLA_FLAGS
``--xla_force_host_platform_device_count``): one run compiles, then the best of ``--repeats`` runs counts
(``Brain.last_run_stats["run_s"]``). The trials are a parameter sweep: trial ``k`` drives the excitatory population
with its own constant current. Every configuration must count the very same spikes (checked): sharding changes where
trials run, not what they compute. Host devices share the machine's cores: on a 2-core machine 8 host devices cannot be
faster than 2 (docs/performance.md).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def model(neurons: int, *, dense: bool = False) -> dict:
    sys.path.insert(0, str(BENCH))
    from models import network

    doc = network("cuba", neurons)
    doc["inputs"] = [{"name": "drive", "to": "exc.i_syn"}]  # a per-trial constant current (pA), added to the synapses'
    if dense:  # a neuron mesh splits dense storage (sparse storage is refused)
        for node in doc["nodes"]:
            if node["component"].endswith("_synapse"):
                node["params"]["storage"] = "dense"
    return doc


def split_worker(args) -> dict:
    """One network split by neuron over every host device (none: unsplit)."""
    import jax
    import numpy as np

    import spark
    from spark.sharding import neuron_mesh

    brain = spark.Brain.from_dict(model(args.neurons, dense=True))
    mesh = neuron_mesh() if jax.device_count() > 1 else None
    runs = []
    for _ in range(1 + args.repeats):  # the first compiles; each run starts from the built state
        brain.reset()
        t0 = time.perf_counter()
        rec = brain.run({"drive": 1.0}, steps=args.steps, record=["exc.spikes", "inh.spikes"], mesh=mesh,
                        progress=False)
        runs.append((brain.last_run_stats, time.perf_counter() - t0))
    stats, wall = min(runs[1:], key=lambda r: r[0]["run_s"])
    spikes = int(sum(np.asarray(v, np.int64).sum() for v in rec.values()))
    return {"devices": jax.device_count(), "processes": 1, "trials": 1, "steps": args.steps,
            "neurons": args.neurons, "run_s": stats["run_s"], "wall_s": wall, "compile_s": runs[0][0]["compile_s"],
            "spikes": spikes}


def worker(args) -> dict:
    """One configuration (in its own process): ``--devices`` host devices, or one process of ``--processes``."""
    import jax

    if args.process is not None:
        jax.distributed.initialize(coordinator_address=f"127.0.0.1:{args.port}", num_processes=args.processes,
                                   process_id=args.process, initialization_timeout=120)
    import numpy as np

    import spark
    from spark.sharding import trial_mesh

    brain = spark.Brain.from_dict(model(args.neurons))
    drive = np.linspace(0.0, 2.0, args.trials, dtype=np.float32)  # pA: the sweep
    mesh = trial_mesh() if (jax.device_count() > 1 or args.mesh) else None
    record = ["exc.spikes:sum", "inh.spikes:sum"]
    runs = []
    for _ in range(1 + args.repeats):  # the first compiles
        t0 = time.perf_counter()
        rec = brain.run({"drive": drive}, steps=args.steps, record=record, batched=True, mesh=mesh, progress=False)
        wall = time.perf_counter() - t0
        runs.append((brain.last_run_stats, wall))
    stats, wall = min(runs[1:], key=lambda r: r[0]["run_s"])  # the best: the least disturbed by other processes
    spikes = int(sum(np.asarray(v, np.int64).sum() for v in rec.values()))
    if args.process is not None:  # this process's trials only: the sum over processes is added up by the launcher
        jax.distributed.shutdown()
    return {"devices": jax.device_count(), "processes": jax.process_count(), "trials": args.trials,
            "steps": args.steps, "neurons": args.neurons, "run_s": stats["run_s"], "wall_s": wall,
            "compile_s": runs[0][0]["compile_s"], "spikes": spikes}


def launch(argv: list[str], devices: int, timeout: float) -> list[dict]:
    env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}", "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run([sys.executable, __file__, "--worker", *argv], capture_output=True, text=True, env=env,
                          timeout=timeout)
    if proc.returncode:
        raise SystemExit(f"worker {argv} failed:\n{proc.stderr[-3000:]}")
    return [json.loads(proc.stdout.strip().splitlines()[-1])]


def launch_processes(argv: list[str], processes: int, devices_each: int, timeout: float) -> list[dict]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices_each}", "JAX_PLATFORMS": "cpu"}
    procs = [subprocess.Popen([sys.executable, __file__, "--worker", *argv, "--processes", str(processes),
                               "--process", str(i), "--port", str(port)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for i in range(processes)]
    out = []
    try:
        for p in procs:
            stdout, stderr = p.communicate(timeout=timeout)
            if p.returncode:
                raise SystemExit(f"a process failed:\n{stderr[-3000:]}")
            out.append(json.loads(stdout.strip().splitlines()[-1]))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--neurons", type=int, default=1000)
    ap.add_argument("--trials", type=int, default=16)
    ap.add_argument("--steps", type=int, default=5000, help="steps of dt = 0.1 ms per trial")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per configuration (the best counts)")
    ap.add_argument("--devices", type=int, nargs="+", default=[1, 2, 4, 8], help="host device counts to measure")
    ap.add_argument("--processes", type=int, default=2, help="also run on this many processes (0: skip)")
    ap.add_argument("--devices-per-process", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--out", type=Path, help="also write the table (Markdown) here")
    ap.add_argument("--split", action="store_true", help="model-parallel: one network split by neuron, no trials")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--mesh", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--process", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(split_worker(args) if args.split else worker(args)))
        return
    common = ["--neurons", str(args.neurons), "--trials", str(args.trials), "--steps", str(args.steps),
              "--repeats", str(args.repeats), *(["--split"] if args.split else [])]
    if args.split:
        args.processes = 0  # a neuron mesh spans the devices of one process
    rows = []
    for d in args.devices:
        label = f"1 process x {d} device{'s' if d > 1 else ''}" + ("" if d > 1 else " (no mesh)")
        rows.append((label, launch(common, d, args.timeout)))
        print(f"{label}: {rows[-1][1][0]['run_s']:.2f} s", file=sys.stderr)
    if args.processes > 1:
        label = f"{args.processes} processes x {args.devices_per_process} device(s)"
        rows.append((label, launch_processes(common, args.processes, args.devices_per_process, args.timeout)))
        print(f"{label}: {max(r['run_s'] for r in rows[-1][1]):.2f} s", file=sys.stderr)
    spikes = {label: sum(r["spikes"] for r in res) for label, res in rows}
    base = max(r["run_s"] for r in rows[0][1])
    what = "one network split by neuron (dense synapses)" if args.split else f"{args.trials} trials"
    rate, per = (args.steps, "steps/s") if args.split else (args.trials, "trials/s")
    lines = [f"CUBA, {args.neurons:,} neurons, {what} x {args.steps} steps (dt 0.1 ms), on "
             f"{os.cpu_count()} cores; the best of {args.repeats} runs of each configuration after one that compiles",
             "",
             f"| configuration | run (s) | {per} | speed-up | compile (s) | spikes |", "|---|---|---|---|---|---|"]
    for label, res in rows:
        run_s = max(r["run_s"] for r in res)  # the slowest process ends the run
        lines.append(f"| {label} | {run_s:.2f} | {rate / run_s:.1f} | {base / run_s:.2f} | "
                     f"{max(r['compile_s'] for r in res):.1f} | {spikes[label]:,} |")
    same = len(set(spikes.values())) == 1
    lines += ["", "every configuration counted the same spikes" if same else f"SPIKE COUNTS DIFFER: {spikes}"]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
