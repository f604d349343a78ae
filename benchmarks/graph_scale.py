"""How validation and compilation grow with the number of nodes of a model (issue 15, "Scale of graphs").

    python benchmarks/graph_scale.py                                   # validate 1k/10k/100k, compile 125..1000
    python benchmarks/graph_scale.py --validate 1000 10000 --compile 125 250
    python benchmarks/graph_scale.py --out benchmarks/results/graph_scale

Two generated models, both valid:

- ``populations``: ``n`` unconnected one-neuron ``lif`` nodes driven by a bias current (the worst case for a step
  unrolled per node: nothing to share);
- ``chain``: ``n`` nodes alternating ``lif`` (2 neurons) and ``exp_synapse`` (shape left to inference), each
  synapse fed by the soma before it and feeding the one after, listed in reverse file order (so the topological
  order and the shape inference must walk the whole chain).

Validation is :func:`spark.sparkfile.validate` on the document (no JAX). Compilation is the first
``Brain.run(steps=10)`` of a freshly built brain, less the second (the same run, compiled): tracing, lowering and
XLA together; ``xla_s`` is what the run itself counted as compiling (``last_run_stats["compile_s"]``: lowering and
XLA), and ``build + first run`` is what a user waits for. Nodes of one component, shape and params are stepped
together (:mod:`spark.stacking`); ``--per-node`` switches that off, to compare with the step unrolled node by node.
``groups`` is the number of stacked groups and the nodes they hold. JAX's persistent compilation cache is not
enabled here, so every process compiles from nothing.
Results go to ``<out>/latest.md`` and ``<out>/latest.json``. Timings only: correctness is in the tests
(``spark-core/tests/test_graph_scale.py``).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def populations(n: int) -> dict:
    """``n`` unconnected one-neuron LIF nodes, each with a bias current that makes it fire."""
    return {"format": "spark", "version": 1, "name": f"populations_{n}", "dt": 0.1, "seed": 0,
            "nodes": [{"id": f"n{i}", "component": "lif", "shape": [1], "params": {"i_bias": 400.0}}
                      for i in range(n)],
            "edges": [], "outputs": [{"name": "out", "from": "n0.spikes"}]}


def chain(n: int) -> dict:
    """A chain of ``n`` nodes (``n`` rounded up to odd): lif -> exp_synapse -> lif -> ..., in reverse file order."""
    n += 1 - n % 2
    nodes, edges = [], []
    for i in range(n):
        if i % 2 == 0:
            nodes.append({"id": f"n{i}", "component": "lif", "shape": [2],
                          "params": {"i_bias": 400.0 if i == 0 else 0.0}})
        else:
            nodes.append({"id": f"n{i}", "component": "exp_synapse", "params": {"weight": 50.0}})
            edges += [{"from": f"n{i - 1}.spikes", "to": f"n{i}.pre"}, {"from": f"n{i}.i", "to": f"n{i + 1}.i_syn"}]
    return {"format": "spark", "version": 1, "name": f"chain_{n}", "dt": 0.1, "seed": 0, "nodes": nodes[::-1],
            "edges": edges, "outputs": [{"name": "out", "from": f"n{n - 1}.spikes"}]}


MODELS = {"populations": populations, "chain": chain}


def time_validation(kind: str, n: int) -> dict:
    from spark import sparkfile

    doc = MODELS[kind](n)
    t, c = time.perf_counter(), time.process_time()
    problems = sparkfile.validate(doc)
    seconds, cpu = time.perf_counter() - t, time.process_time() - c
    if problems:
        raise SystemExit(f"{kind} {n}: the generated model is invalid: {problems[:3]}")
    return {"model": kind, "nodes": len(doc["nodes"]), "edges": len(doc["edges"]), "validate_s": round(seconds, 3),
            "validate_cpu_s": round(cpu, 3)}


def time_compile(kind: str, n: int, steps: int = 10, per_node: bool = False) -> dict:
    import jax

    import spark
    from spark import stacking

    stacking.ENABLED = not per_node
    doc = MODELS[kind](n)
    t0, c0 = time.perf_counter(), time.process_time()
    brain = spark.Brain.from_dict(doc)
    t1, c1 = time.perf_counter(), time.process_time()
    jax.block_until_ready(dict(brain.run(steps=steps, progress=False)))
    t2, c2 = time.perf_counter(), time.process_time()
    xla = brain.last_run_stats["compile_s"]
    jax.block_until_ready(dict(brain.run(steps=steps, progress=False)))
    t3, c3 = time.perf_counter(), time.process_time()
    stacker = stacking.for_brain(brain)
    groups = stacker.groups if stacker is not None else []
    return {"model": kind, "nodes": len(doc["nodes"]), "stacked": not per_node, "groups": len(groups),
            "grouped_nodes": sum(map(len, groups)), "build_s": round(t1 - t0, 3),
            "first_run_s": round(t2 - t1, 3), "second_run_s": round(t3 - t2, 3),
            "build_and_first_run_s": round(t2 - t0, 3), "build_and_first_run_cpu_s": round(c2 - c0, 3),
            "xla_s": round(xla, 3),
            "compile_s": round((t2 - t1) - (t3 - t2), 3), "compile_cpu_s": round((c2 - c1) - (c3 - c2), 3)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--validate", type=int, nargs="*", default=[1000, 10_000, 100_000], metavar="N")
    ap.add_argument("--compile", type=int, nargs="*", default=[125, 250, 500, 1000], metavar="N")
    ap.add_argument("--models", nargs="*", default=list(MODELS), choices=list(MODELS))
    ap.add_argument("--per-node", type=int, nargs="*", default=[], metavar="N",
                    help="also compile these sizes stepped node by node (stacking off), to compare")
    ap.add_argument("--out", type=Path, default=BENCH / "results" / "graph_scale")
    args = ap.parse_args(argv)

    rows_v, rows_c = [], []
    for kind in args.models:
        for n in args.validate:
            rows_v.append(time_validation(kind, n))
            print(json.dumps(rows_v[-1]), flush=True)
    if args.compile or args.per_node:
        time_compile("populations", 2)  # JAX's start-up (backend, first compilations) is not counted in any row
    for kind in args.models:
        for n in args.compile:
            rows_c.append(time_compile(kind, n))
            print(json.dumps(rows_c[-1]), flush=True)
        for n in args.per_node:
            rows_c.append(time_compile(kind, n, per_node=True))
            print(json.dumps(rows_c[-1]), flush=True)

    import jax

    meta = {"date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"), "python": sys.version.split()[0],
            "jax": jax.__version__, "backend": jax.default_backend(), "machine": platform.machine(),
            "cpus": os.cpu_count(), "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
            "argv": sys.argv[1:]}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.json").write_text(json.dumps({"meta": meta, "validation": rows_v, "compile": rows_c},
                                                     indent=2) + "\n")
    lines = ["# Graph scale", "", f"{meta['date']}, JAX {meta['jax']} ({meta['backend']}), {meta['cpus']} CPUs, "
             f"load average {meta['load_average']}", "", "## Validation (`spark.sparkfile.validate`, no JAX)", "",
             "| model | nodes | edges | seconds | CPU seconds |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {r['model']} | {r['nodes']:,} | {r['edges']:,} | {r['validate_s']:.2f} | {r['validate_cpu_s']:.2f} |"
              for r in rows_v]
    lines += ["", "## Compilation (first `run(steps=10)` less the second)", "",
              "| model | nodes | stepping | groups (nodes) | build s | first run s | build + first run s "
              "(CPU s) | second run s | compile s | XLA s | compile CPU s |",
              "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['model']} | {r['nodes']:,} | {'stacked' if r['stacked'] else 'node by node'} | "
              f"{r['groups']} ({r['grouped_nodes']:,}) | {r['build_s']:.2f} | {r['first_run_s']:.2f} | "
              f"{r['build_and_first_run_s']:.2f} ({r['build_and_first_run_cpu_s']:.2f}) | {r['second_run_s']:.2f} | "
              f"{r['compile_s']:.2f} | {r['xla_s']:.2f} | "
              f"{r['compile_cpu_s']:.2f} |" for r in rows_c]
    lines += ["", "Seconds are wall-clock; CPU seconds are this process's CPU time (all threads), which a machine "
              "shared with other work inflates less. Compile CPU can exceed wall time: XLA compiles on several "
              "threads."]
    (args.out / "latest.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out / 'latest.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
