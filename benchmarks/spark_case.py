"""One benchmark case in Spark, in its own process: build the network of ``models.py``, run it, print the result.

    python benchmarks/spark_case.py --kind coba --n 4000 --workdir benchmarks/.cache/spark/coba_4000

``--workdir`` holds JAX's persistent compilation cache (``spark.jaxcache.enable_compilation_cache``): a second
process of the same case finds its program there. Times come from ``Brain.last_run_stats``: ``sim_s`` is the sum
of ``run_s`` (compiled runs only), ``compile_s`` the sum of ``compile_s`` plus the build of the native kernels when
their cache (``$SPARK_NATIVE_CACHE``; the runner empties it with the case's folder) is cold, and ``run_overhead_s``
what else ``Brain.run`` spends outside its loop. Spikes are counted per step and
population inside the run (``exc.spikes:sum``, ``inh.spikes:sum``). With ``--raster`` they are recorded as rasters
(``exc.spikes``, ``inh.spikes``), and a run whose raster would pass ``harness.RASTER_CELLS`` goes in equal chunks of
one compiled program (the chunks continue one another: ``run(A); run(B)`` equals one run of ``A`` then ``B``).

With ``--export FILE`` it only builds the network and writes the realization it drew (connectivity, initial
potentials) for the peers (``--network FILE``), so every framework simulates the very same network.
"""

from __future__ import annotations

import inspect
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "peers"))
sys.path.insert(0, str(HERE))

import harness  # noqa: E402  (T_PROCESS starts here)
import models  # noqa: E402


def export(doc: dict, path: Path) -> dict:
    """Build the network and write its realization (every projection's pairs, the initial potentials) to ``path``.

    The pairs are taken where Spark draws them (``spark_components.connectivity.connect``, wrapped for this process),
    whatever layout the projection then stores them in; projections are told apart by their shapes."""
    import numpy as np

    import spark
    import spark_components.connectivity as connectivity

    drawn = []
    connect = connectivity.connect

    def capture(rule, n_pre, n_post, rng, **kw):
        pre, post = connect(rule, n_pre, n_post, rng, **kw)
        drawn.append(((n_pre, n_post), np.asarray(pre, np.int32), np.asarray(post, np.int32)))
        return pre, post

    connectivity.connect = capture
    try:
        brain = spark.Brain.from_dict(doc)
    finally:
        connectivity.connect = connect
    sizes = {nd["id"]: nd["shape"][0] for nd in doc["nodes"][:2]}
    out = {"v_exc": np.asarray(brain.nodes["exc"].v[...], np.float32),
           "v_inh": np.asarray(brain.nodes["inh"].v[...], np.float32)}
    for pid in ("exc_exc", "exc_inh", "inh_exc", "inh_inh"):
        a, b = pid.split("_")
        found = [(pre, post) for shape, pre, post in drawn if shape == (sizes[a], sizes[b])]
        if len(found) != 1:
            raise RuntimeError(f"could not tell which drawn connectivity is {pid}: {len(found)} candidates")
        pre, post = found[0]
        n_syn = getattr(brain.nodes[pid], "n_synapses", None)
        if n_syn is not None and n_syn != len(pre):
            raise RuntimeError(f"{pid}: Spark stores {n_syn} synapses but drew {len(pre)}")
        if len(pre) and not np.all(np.diff(pre.astype(np.int64) * sizes[b] + post) > 0):
            raise RuntimeError(f"{pid}: connect() gave pairs not sorted by (pre, post)")
        out[f"{pid}_pre"], out[f"{pid}_post"] = pre, post
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **out)
    tmp.replace(path)
    return {"n_synapses": int(sum(len(out[f"{p}_pre"]) for p in ("exc_exc", "exc_inh", "inh_exc", "inh_inh"))),
            "network_file": str(path), "network_mb": round(path.stat().st_size / 2**20, 1)}


def main(argv=None) -> None:
    ap = harness.parser(__doc__.splitlines()[0])
    ap.add_argument("--export", type=Path, default=None, help="only build the network and write its realization "
                    "(connectivity, initial potentials) to this .npz, for the peers to simulate the same one")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    import jax
    import numpy as np

    import spark
    from spark.jaxcache import enable_compilation_cache

    cache = enable_compilation_cache(Path(args.workdir) / "jax")
    t_import = time.perf_counter() - t0
    native_s = [0.0]  # building the native kernels with the C++ compiler (the first process of a case, cold cache)
    try:
        from spark_components import native

        build = native._build

        def timed_build():
            t = time.perf_counter()
            try:
                return build()
            finally:
                native_s[0] += time.perf_counter() - t

        native._build = timed_build
    except (ImportError, AttributeError):
        pass
    doc = models.network(args.kind, args.n, stdp=args.stdp, seed=args.seed)
    n_e, n_i = (nd["shape"][0] for nd in doc["nodes"][:2])
    try:  # XLA's CPU threads as `spark run` chooses them for this network (spark.threads), before JAX starts
        from spark.threads import choose_for_model
    except ImportError:  # a Spark from before the choice: XLA's default
        threads = None
    else:
        threads = choose_for_model(doc)
    if args.export:
        t0 = time.perf_counter()
        result = export(doc, args.export)
        harness.emit({"framework": "spark-export", "case": doc["name"], "n": args.n,
                      "setup_s": round(time.perf_counter() - t0, 3), **result})
        return
    t0 = time.perf_counter()
    brain = spark.Brain.from_dict(doc)
    setup_s = time.perf_counter() - t0
    chunk = harness.chunk_steps(args.n, args.steps) if args.raster else args.steps
    record = ["exc.spikes", "inh.spikes"] if args.raster else ["exc.spikes:sum", "inh.spikes:sum"]
    sim_s = compile_s = 0.0
    s_e = s_i = 0
    t_calls = 0.0
    # as `spark run` does: the state's buffers are given to the run, which writes its new state into them instead of
    # beside it (one copy of the state less; Brain.run(donate=True), docs/performance.md "Memory")
    donate = {"donate": True} if "donate" in inspect.signature(brain.run).parameters else {}
    for _ in range(args.steps // chunk):
        t = time.perf_counter()
        rec = brain.run(steps=chunk, record=record, **donate)
        t_calls += time.perf_counter() - t
        st = brain.last_run_stats
        sim_s += st["run_s"]
        compile_s += st["compile_s"]
        s_e += int(np.count_nonzero(rec[record[0]]) if args.raster else np.sum(rec[record[0]]))
        s_i += int(np.count_nonzero(rec[record[1]]) if args.raster else np.sum(rec[record[1]]))
        del rec
    n_syn = sum(int(getattr(node, "n_synapses", 0) or 0) for node in brain.nodes.values())
    # the native kernels are built (cold cache) while Brain.run prepares the job, before its compile window opens:
    # counted as compilation here. What else run() spends outside its loop and compilation (planning, tracing for
    # the memory estimate, handing out the counts) is run_overhead_s, part of the time to the first step.
    compile_s += native_s[0]
    overhead = max(0.0, t_calls - sim_s - compile_s)
    result = {"framework": "spark", "version": getattr(spark, "__version__", "?"), "jax": jax.__version__,
              "jax_backend": jax.default_backend(), "case": doc["name"], "kind": args.kind, "n": args.n,
              "steps": args.steps, "stdp": args.stdp, "import_s": round(t_import, 3), "setup_s": round(setup_s, 3),
              "sim_s": sim_s, "compile_s": round(compile_s, 3), "chunk_steps": chunk, "n_synapses": n_syn,
              "native_build_s": round(native_s[0], 3),  # included in compile_s
              "xla_cpu_threads": threads or "default",
              "run_overhead_s": round(overhead, 3), "donate": bool(donate),
              "jax_cache": str(cache)}
    result.update(harness.spikes_summary(s_e, s_i, n_e, n_i, args.steps, doc["dt"]))
    harness.emit(result)


if __name__ == "__main__":
    main()
