"""XLA's CPU threads against network size: Spark's simulation time with one intra-op thread and with XLA's default.

Each measurement runs in a fresh process (XLA sizes its thread pool once, when JAX starts, from ``PJRT_NPROC``): the
network of ``models.py`` (CUBA or COBA, seed 1) is built and run for ``--steps`` steps ``--repeat`` times (the first
compiles), and the best simulation time (``last_run_stats['run_s']``) is kept. Both settings of one size alternate,
and the table gives the ratio. docs/performance.md ("Threads") shows a run of it; ``spark.threads.ONE_THREAD_BELOW``
is the crossover it measured on the development machine.

    python benchmarks/threads.py --sizes 4000,40000,120000,200000,400000 [--kind cuba] [--steps 3000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def one(kind: str, n: int, steps: int, repeat: int) -> dict:
    """In this process: build and run the network ``repeat`` times; the best simulation time and the spikes."""
    sys.path.insert(0, str(HERE))
    import models
    import numpy as np

    import spark

    doc = models.network(kind, n, stdp=False, seed=1)
    sims, spikes = [], set()
    for _ in range(repeat):
        brain = spark.Brain.from_dict(doc)
        rec = brain.run(steps=steps, record=["exc.spikes:sum"])
        sims.append(brain.last_run_stats["run_s"])
        spikes.add(int(np.sum(rec["exc.spikes:sum"])))
    return {"best_s": min(sims), "runs_s": sims, "spikes": sorted(spikes)}


def measure(kind: str, n: int, steps: int, repeat: int, threads: int | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PJRT_NPROC"}
    if threads is not None:
        env["PJRT_NPROC"] = str(threads)
    proc = subprocess.run([sys.executable, __file__, "--one", kind, str(n), str(steps), str(repeat)],
                          capture_output=True, text=True, env=env, timeout=3600)
    if proc.returncode != 0:
        raise SystemExit(f"{kind} {n} (PJRT_NPROC={threads}) failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="4000,40000,120000,200000,400000")
    ap.add_argument("--kind", default="cuba", choices=("cuba", "coba"))
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=None, help="also write the results as JSON here")
    ap.add_argument("--one", nargs=4, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.one:
        kind, n, steps, repeat = a.one
        print(json.dumps(one(kind, int(n), int(steps), int(repeat))))
        return
    rows = []
    print(f"| neurons ({a.kind.upper()}, {a.steps:,} steps) | XLA's default | 1 thread | 1 thread is |")
    print("|--:|--:|--:|---|")
    for n in (int(s) for s in a.sizes.split(",") if s):
        default = measure(a.kind, n, a.steps, a.repeat, None)
        single = measure(a.kind, n, a.steps, a.repeat, 1)
        if default["spikes"] != single["spikes"]:
            raise SystemExit(f"{n}: the two settings counted different spikes ({default['spikes']} against "
                             f"{single['spikes']})")
        r = default["best_s"] / single["best_s"]
        verdict = f"{r:.2f}x faster" if r >= 1.02 else f"{1 / r:.2f}x slower" if r <= 0.98 else "equal"
        print(f"| {n:,} | {default['best_s']:.3f} s | {single['best_s']:.3f} s | {verdict} |", flush=True)
        rows.append({"n": n, "kind": a.kind, "steps": a.steps, "default": default, "one_thread": single})
    if a.out:
        a.out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
