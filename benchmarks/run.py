"""Spark against Brian2 (C++ standalone, Cython runtime) and BrainPy (event-driven CSR), on this machine, in one go.

    python benchmarks/run.py                       # CUBA and COBA at 4,000 / 40,000 / 400,000 neurons + STDP at 4,000
    python benchmarks/run.py --sizes 4000          # only 4,000 neurons
    python benchmarks/run.py --quick               # a smoke test: 1,000 neurons, 100 ms
    tox run -e bench [-- ARGS]                     # the same, in a fresh environment with Spark installed

Each peer gets its own virtualenv under ``benchmarks/.envs/`` (made on first use from ``peers/requirements-*.txt``,
remade when that file changes). Each peer runs its model in two styles (``--peer-style``): as its own examples write
it (the headline ratios) and computed step by step as Spark computes it (``*_same``). For each case Spark first draws
the network (``spark_case.py --export``) and every peer simulates that very connectivity (``--network``; the
same-arithmetic models also its initial potentials), so spike counts can be compared closely (``--own-networks``
lets each draw its own instead). Beside simulation time it reports the whole job: time to the first step (imports,
build, compilation) and the whole process, and times ``spark run`` of each case's model as a user runs it. Ctrl-C,
SIGTERM or SIGHUP stop the running case's whole process group. Every case runs in its own process with a time limit
and a memory watchdog, twice: the first process compiles from nothing (each framework's compilation cache for the
case is emptied first, Spark's native kernels included), the
second finds what the first left (JAX's persistent compilation cache for Spark, the kept build folder for Brian2 C++,
the Cython cache for Brian2 Cython; BrainPy keeps none). Results go to ``<out>/latest.md`` and ``<out>/latest.json``;
each process's output to ``<out>/logs/``. Standard library only: runs under any Python 3.11 that has Spark installed.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
ENVS = BENCH / ".envs"
CACHE = BENCH / ".cache"

FRAMEWORKS = {  # name -> (virtualenv or None for Spark's own interpreter, script, extra args, label)
    "spark": (None, BENCH / "spark_case.py", [], "Spark"),
    # the peers' models as their own examples write them (peers/*.py, build_idiomatic): the headline ratios
    "brian2_standalone": ("brian2", BENCH / "peers" / "brian2_models.py", ["--mode", "standalone"],
                          "Brian2 C++"),
    "brian2_cython": ("brian2", BENCH / "peers" / "brian2_models.py", ["--mode", "cython"], "Brian2 Cython"),
    "brainpy": ("brainpy", BENCH / "peers" / "brainpy_models.py", [], "BrainPy"),
    # the same networks computed step by step as Spark computes them (same spikes, to rounding)
    "brian2_standalone_same": ("brian2", BENCH / "peers" / "brian2_models.py",
                               ["--mode", "standalone", "--style", "same-arithmetic"], "Brian2 C++ (same arith.)"),
    "brian2_cython_same": ("brian2", BENCH / "peers" / "brian2_models.py",
                           ["--mode", "cython", "--style", "same-arithmetic"], "Brian2 Cython (same arith.)"),
    "brainpy_same": ("brainpy", BENCH / "peers" / "brainpy_models.py", ["--style", "same-arithmetic"],
                     "BrainPy (same arith.)"),
}
PEERS = [f for f in FRAMEWORKS if f != "spark"]
IDIOMATIC = [f for f in PEERS if not f.endswith("_same")]
SAME = [f for f in PEERS if f.endswith("_same")]
SPIKE_TOLERANCE = 0.10  # same arithmetic: spike counts within 10% of Spark's, else the comparison is void
RATE_TOLERANCE = 0.20  # idiomatic models (other integrators, thresholds, initial potentials): rates within 20%


# ----- environments ----------------------------------------------------------------------------------------------

def env_python(env: str) -> Path:
    return ENVS / env / "bin" / "python"


def ensure_env(env: str, log) -> Path:
    """The peer's virtualenv, made (or remade) from ``peers/requirements-<env>.txt`` when missing or out of date."""
    req = BENCH / "peers" / f"requirements-{env}.txt"
    digest = hashlib.sha256(req.read_bytes()).hexdigest()
    path = ENVS / env
    stamp = path / ".bench-requirements-sha256"
    py = env_python(env)
    if py.exists() and stamp.exists() and stamp.read_text().strip() == digest:
        return py
    log(f"[env] creating {path} from {req.name}")
    if path.exists():
        shutil.rmtree(path)
    ENVS.mkdir(parents=True, exist_ok=True)
    uv = shutil.which("uv")
    base = getattr(sys, "_base_executable", None) or sys.executable
    if uv:
        subprocess.run([uv, "venv", "-q", "--python", base, str(path)], check=True)
        subprocess.run([uv, "pip", "install", "-q", "--python", str(py), "-r", str(req)], check=True)
    else:
        subprocess.run([base, "-m", "venv", str(path)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "-r", str(req)], check=True)
    stamp.write_text(digest + "\n")
    return py


def check_spark(log) -> str | None:
    """Why Spark cannot run here, or None."""
    r = subprocess.run([sys.executable, "-c", "import spark, spark_components"], capture_output=True, text=True)
    if r.returncode:
        return f"`import spark, spark_components` fails under {sys.executable}: {r.stderr.strip().splitlines()[-1:]}"
    return None


# ----- machine ---------------------------------------------------------------------------------------------------

def machine_info() -> dict:
    info = {"platform": platform.platform(), "python": platform.python_version(), "cores": os.cpu_count()}
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        keep = ("Architecture", "Model name", "CPU family", "Model", "Stepping", "CPU(s)", "Thread(s) per core",
                "Core(s) per socket", "Socket(s)", "CPU max MHz", "BogoMIPS", "L1d cache", "L2 cache", "L3 cache",
                "Hypervisor vendor")
        for line in out.splitlines():
            k, _, v = line.partition(":")
            if k.strip() in keep:
                info[k.strip()] = v.strip()
        info["avx512"] = " avx512f " in f" {out} "
        info["avx2"] = " avx2 " in f" {out} "
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["memory_gib"] = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    gxx = shutil.which("g++")
    if gxx:
        info["g++"] = subprocess.run([gxx, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    try:
        info["git_commit"] = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                                            capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        info["git_dirty"] = bool(dirty)
    except OSError:
        pass
    return info


# ----- one process -----------------------------------------------------------------------------------------------

def _group_rss_mb(pgid: int) -> float:
    """Resident memory of every process in the process group (the case and, e.g., Brian2's `main`), MiB."""
    total = 0
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[2]) != pgid:  # field 5 of /proc/PID/stat: process group
                continue
            total += int(fields[21]) * os.sysconf("SC_PAGE_SIZE")  # field 24: rss in pages
        except (OSError, ValueError, IndexError):
            continue
    return total / 2**20


def _stop_group(proc: subprocess.Popen) -> None:
    """Kill the case's whole process group (the case and what it started, e.g. Brian2's `make` or `main`)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def _terminate_as_interrupt(signum, frame):  # SIGTERM / SIGHUP: unwind like Ctrl-C, so that children are stopped
    raise KeyboardInterrupt(f"signal {signum}")


def run_process(cmd: list[str], log_path: Path, timeout: float, mem_limit_mb: float, env: dict,
                result_line: bool = True) -> dict:
    """Run one case process; its ``BENCH-RESULT`` JSON, or ``{"status": "timeout" | "memory" | "error", ...}``.

    The case runs in a session of its own (so that its process group can be measured and stopped as a whole), which
    Ctrl-C in the terminal does not reach: when the runner is interrupted (Ctrl-C, SIGTERM, SIGHUP) the group is
    killed before the interrupt goes on."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    peak_group = 0.0
    with open(log_path, "w") as logf:
        logf.write("$ " + " ".join(cmd) + "\n")
        logf.flush()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=logf, text=True, cwd=REPO, env=env,
                                start_new_session=True)
        status = None
        out_chunks: list[str] = []
        import threading

        reader = threading.Thread(target=lambda: out_chunks.append(proc.stdout.read()), daemon=True)
        reader.start()
        try:
            while proc.poll() is None:
                time.sleep(0.5)
                rss = _group_rss_mb(proc.pid)
                peak_group = max(peak_group, rss)
                if time.perf_counter() - t0 > timeout:
                    status = "timeout"
                elif rss > mem_limit_mb:
                    status = "memory"
                if status:
                    _stop_group(proc)
                    break
        except BaseException:  # interrupted: leave nothing running
            _stop_group(proc)
            logf.write("\n[run.py] interrupted: the case's process group was killed\n")
            raise
        reader.join(timeout=10)
        stdout = "".join(out_chunks)
        logf.write(stdout)
    wall = time.perf_counter() - t0  # the whole process: interpreter start, imports, build, compile, run, exit
    if status == "timeout":
        return {"status": "timeout", "note": f"stopped after {timeout:.0f} s", "wall_s": wall}
    if status == "memory":
        return {"status": "memory", "note": f"stopped at {rss / 1024:.1f} GiB (limit {mem_limit_mb / 1024:.0f} GiB)",
                "wall_s": wall}
    if not result_line and proc.returncode == 0:  # a command that prints no BENCH-RESULT (`spark run`): its wall time
        return {"status": "ok", "wall_s": round(wall, 3), "group_peak_rss_mb": round(peak_group, 1)}
    for line in stdout.splitlines():
        if line.startswith("BENCH-RESULT "):
            res = json.loads(line[len("BENCH-RESULT "):])
            res.update(status="ok", wall_s=round(wall, 3), group_peak_rss_mb=round(peak_group, 1))
            return res
    tail = log_path.read_text().strip().splitlines()[-3:]
    return {"status": "error", "note": f"exit {proc.returncode}: {' | '.join(tail)[-300:]}", "wall_s": wall}


# ----- cases -----------------------------------------------------------------------------------------------------

def case_list(args) -> list[dict]:
    cases = []
    for n in args.sizes:
        for kind in args.models:
            cases.append({"kind": kind, "n": n, "stdp": False})
    for n in args.stdp_sizes:
        for kind in args.stdp_models:
            cases.append({"kind": kind, "n": n, "stdp": True})
    for c in cases:
        c["name"] = f"{c['kind']}{'_stdp' if c['stdp'] else ''}_{c['n']}"
    return sorted(cases, key=lambda c: (c["n"], c["stdp"]))  # small networks first: they predict the large ones


def predict_skip(case: dict, fw: str, done: list[dict], args) -> str | None:
    """A reason to skip ``fw`` on ``case`` from its run on the largest smaller network of the same kind, or None.

    The networks have a fixed in-degree, so synapses (and, for a sparse engine, time and memory) grow like N."""
    prev = [c for c in done if c["kind"] == case["kind"] and c["stdp"] == case["stdp"] and c["n"] < case["n"]
            and fw in c["runs"]]
    if not prev:
        return None
    prev.sort(key=lambda c: c["n"])
    p = prev[-1]
    r = p["runs"][fw]
    if r["status"] in ("timeout", "memory", "skipped"):
        return f"skipped: at N = {p['n']:,} it was {r['status']} ({r.get('note', '')})"
    if r["status"] != "ok":
        return None

    def extrapolate(key, fixed=0.0):  # through the two largest smaller sizes when there are two (a fixed cost
        q = prev[-2]["runs"][fw] if len(prev) > 1 else None  # stays fixed), else in proportion to N above `fixed`
        if q is None or q.get("status") != "ok" or p["n"] == prev[-2]["n"]:
            base = min(fixed, r[key])
            return base + (r[key] - base) * case["n"] / p["n"]
        slope = max(0.0, (r[key] - q[key]) / (p["n"] - prev[-2]["n"]))
        return r[key] + slope * (case["n"] - p["n"])

    sim = extrapolate("sim_s")
    mem_gib = extrapolate("peak_rss_mb", fixed=256.0) / 1024  # an interpreter with its libraries: ~256 MiB
    if sim > args.max_sim_s:
        return (f"skipped: predicted {sim:,.0f} s of simulation from {r['sim_s']:.1f} s at N = {p['n']:,} "
                f"(limit {args.max_sim_s:.0f} s)")
    if mem_gib > args.mem_limit_gb:
        return (f"skipped: predicted {mem_gib:.1f} GiB from {r['peak_rss_mb']:.0f} MiB at N = {p['n']:,} "
                f"(limit {args.mem_limit_gb:.0f} GiB)")
    return None


def case_args(case: dict, args) -> list[str]:
    return ["--kind", case["kind"], "--n", str(case["n"]), "--steps", str(args.steps), "--seed", str(args.seed)] + (
        ["--stdp"] if case["stdp"] else []) + (["--raster"] if args.raster else [])


def spark_run_cli(case: dict, args, log) -> list[float] | str:
    """Whole-process wall time of ``spark run`` on the case's model (the `.spark` document of ``models.py``), as a
    user runs it: ``spark run MODEL --steps N --no-plot`` (it records every spike and writes its run folder), the
    first process with JAX's and the native kernels' caches emptied, the others finding what it left. Seconds per
    process, or why it failed."""
    sys.path.insert(0, str(BENCH))
    import models

    work = CACHE / "spark_run" / f"{case['name']}_{args.steps}"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    doc = models.network(case["kind"], case["n"], stdp=case["stdp"], seed=args.seed)
    model = work / f"{doc['name']}.spark"
    model.write_text(json.dumps(doc))
    exe = Path(sys.executable).with_name("spark")
    cli = [str(exe)] if exe.exists() else [sys.executable, "-c", "from spark.cli import main; main()"]
    env = dict(os.environ, JAX_PLATFORMS="cpu", SPARK_CACHE_DIR=str(work / "jax"),
               SPARK_NATIVE_CACHE=str(work / "native"))
    walls = []
    for rep in range(1, args.processes + 1):
        res = run_process([*cli, "run", str(model), "--steps", str(args.steps), "--no-plot", "--no-progress",
                           "--out", str(work / "out")], args.out / "logs" / f"{case['name']}_{args.steps}-spark_run-"
                          f"{rep}.log", args.timeout, args.mem_limit_gb * 1024, env, result_line=False)
        log(f"    {'spark run':18s} process {rep}: {res['status']:7s} " + (
            f"whole process {res['wall_s']:6.1f} s" if res["status"] == "ok" else res.get("note", "")))
        if res["status"] != "ok":
            return res.get("note", res["status"])
        walls.append(res["wall_s"])
        shutil.rmtree(work / "out", ignore_errors=True)
    return walls


def export_network(case: dict, args, log) -> dict:
    """Spark draws the case's network once and writes it (connectivity, initial potentials) for the peers."""
    path = CACHE / "networks" / f"{case['name']}_seed{args.seed}.npz"
    cmd = [sys.executable, str(BENCH / "spark_case.py"), *case_args(case, args), "--workdir",
           str(CACHE / "networks"), "--export", str(path)]
    res = run_process(cmd, args.out / "logs" / f"{case['name']}-network.log", args.timeout,
                      args.mem_limit_gb * 1024, dict(os.environ, JAX_PLATFORMS="cpu"))
    if res["status"] == "ok":
        log(f"    network: {res['n_synapses']:,} synapses, {res['network_mb']:.0f} MB, written by Spark "
            f"in {res['wall_s']:.0f} s")
        return {"status": "ok", "file": str(path), "n_synapses": res["n_synapses"]}
    log(f"    network: Spark could not export it ({res.get('note', res['status'])}); each peer draws its own")
    return {"status": res["status"], "note": res.get("note", "")}


def run_case(case: dict, fw: str, py: Path, args, log, network: str | None = None) -> dict:
    _, script, extra, _ = FRAMEWORKS[fw]
    work = CACHE / fw / f"{case['name']}_{args.steps}"
    if work.exists():
        shutil.rmtree(work)  # the first process compiles from nothing
    cmd = [str(py), str(script), *case_args(case, args), "--workdir", str(work), *extra]
    if network and fw != "spark":  # Spark draws this very realization itself, from the same seed
        cmd += ["--network", network]
    env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONUNBUFFERED="1")
    if fw == "spark":  # native kernels: built in the first process (counted in its compilation), kept for the second
        env["SPARK_NATIVE_CACHE"] = str(work / "native")
    procs = []
    for rep in range(1, args.processes + 1):
        log_path = args.out / "logs" / f"{case['name']}_{args.steps}-{fw}-{rep}.log"
        res = run_process(cmd, log_path, args.timeout, args.mem_limit_gb * 1024, env)
        log(f"    {fw:18s} process {rep}: {res['status']:7s} " + (
            f"sim {res['sim_s']:8.3f} s  compile {res['compile_s']:7.2f} s  first step {first_step_s(res):7.2f} s  "
            f"spikes {res['spikes']:>9,}  peak {res['peak_rss_mb']:7.0f} MiB  (process {res['wall_s']:6.1f} s)"
            if res["status"] == "ok" else res.get("note", "")))
        procs.append(res)
        if res["status"] != "ok":
            break
    ok = [p for p in procs if p["status"] == "ok"]
    if not ok:
        return {"status": procs[0]["status"], "note": procs[0].get("note", ""), "processes": procs}
    first = ok[0]
    summary = {"status": "ok", "processes": procs,
               "sim_s": min(p["sim_s"] for p in ok),  # both processes run the whole simulation: the better one
               "compile_s": [p["compile_s"] for p in ok],
               "first_step_s": [first_step_s(p) for p in ok],  # import + build + compile, per process
               "wall_s": [p["wall_s"] for p in ok],  # the whole process, as the runner saw it, per process
               "peak_rss_mb": max(p["peak_rss_mb"] for p in ok),
               "setup_s": min(p.get("setup_s", 0.0) for p in ok),  # building the network (Spark: Brain.from_dict)
               "spikes": first["spikes"], "rate_hz": first["rate_hz"], "n_synapses": first.get("n_synapses"),
               "version": first.get("version")}
    if len({p["spikes"] for p in ok}) > 1:
        summary["note"] = "processes disagree on spikes: " + ", ".join(str(p["spikes"]) for p in ok)
    return summary


def first_step_s(res: dict) -> float:
    """Seconds from the case's start (its first import) to its first simulated step: imports, building the network,
    compilation (for Brian2 C++ also the part of ``main`` before its time loop: reading the network, building the
    synapses). The interpreter's own start is in the process's wall time only."""
    pre_loop = max(0.0, res.get("main_s", 0.0) - res["sim_s"]) if "main_s" in res else 0.0
    return round(res.get("import_s", 0.0) + res.get("setup_s", 0.0) + res["compile_s"] + pre_loop
                 + res.get("run_overhead_s", 0.0), 3)


def agreement(case: dict) -> dict:
    """Whether the frameworks fired alike. Peers computing Spark's arithmetic on Spark's realization must agree with
    Spark's spike count within :data:`SPIKE_TOLERANCE` (they differ only by rounding, amplified by chaos); the
    idiomatic models integrate differently (Euler, ``v > Vt``, their own initial potentials), so only their rates
    are compared, within :data:`RATE_TOLERANCE` of Spark's: a statistical check that they simulate the same regime,
    not the same spikes. ``ok`` is per peer; the case is ``ok`` when every peer is."""
    counts = {fw: r["spikes"] for fw, r in case["runs"].items() if r["status"] == "ok"}
    base = counts.get("spark")
    per_peer = {}
    for fw, c in counts.items():
        if fw == "spark" or base is None:
            continue
        dev = abs(c - base) / base if base else float("inf")
        tol = RATE_TOLERANCE if fw in IDIOMATIC else SPIKE_TOLERANCE
        per_peer[fw] = {"deviation": dev, "tolerance": tol, "ok": dev <= tol}
    if not per_peer:
        return {"ok": None, "spread": None, "counts": counts, "peers": {}}
    same = [v["deviation"] for f, v in per_peer.items() if f not in IDIOMATIC]
    idio = [v["deviation"] for f, v in per_peer.items() if f in IDIOMATIC]
    return {"ok": all(v["ok"] for v in per_peer.values()), "counts": counts, "peers": per_peer,
            "spread": max(v["deviation"] for v in per_peer.values()),
            "same_max": max(same) if same else None, "idiomatic_max": max(idio) if idio else None}


# ----- report ----------------------------------------------------------------------------------------------------

def _fmt_s(x) -> str:
    if x is None:
        return "-"
    return f"{x:.3f}" if x < 10 else f"{x:.1f}" if x < 100 else f"{x:.0f}"


def _cell(r: dict | None, key: str) -> str:
    if r is None:
        return "-"
    if r["status"] != "ok":
        return r["status"]
    return _fmt_s(r[key])


def _verdict(ag: dict) -> str:
    if ag.get("ok") is None:
        return "-"
    parts = []
    for name, key, tol in (("same arith.", "same_max", SPIKE_TOLERANCE), ("idiomatic", "idiomatic_max",
                                                                             RATE_TOLERANCE)):
        if ag.get(key) is not None:
            dev = ag[key]
            parts.append(f"{name} {'agree' if dev <= tol else '**VOID**'} ({dev:.1%})")
    return ", ".join(parts)


def _label(case: dict) -> str:
    return f"{case['kind'].upper()}{' + STDP' if case['stdp'] else ''}"


DOCS = REPO / "docs" / "performance.md"
DOCS_START, DOCS_END = "<!-- results:start (written by benchmarks/run.py --update-docs) -->", "<!-- results:end -->"


def write_report(results: dict, out: Path, update_docs: bool = False) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    md = markdown(results)
    (out / "latest.md").write_text(md)
    if update_docs and DOCS.exists():
        text = DOCS.read_text()
        a, b = text.find(DOCS_START), text.find(DOCS_END)
        if a >= 0 and b > a:
            body = "\n".join(("#" + line if line.startswith("#") else line) for line in md.splitlines())
            DOCS.write_text(text[:a + len(DOCS_START)] + "\n" + body + "\n" + text[b:])


def markdown(results: dict) -> str:
    meta, cases = results["meta"], results["cases"]
    fws = [fw for fw in FRAMEWORKS if fw in meta["frameworks"]]
    peers = [fw for fw in fws if fw != "spark"]
    lab = {fw: FRAMEWORKS[fw][3] for fw in fws}
    L = []
    L.append(f"# Benchmark results ({meta['started']})\n")
    if meta.get("label"):
        L.append(f"> **{meta['label']}**\n")
    m = meta["machine"]
    L.append(f"Machine: {m.get('Model name', '?')}, {m.get('cores')} CPUs "
             f"({m.get('Thread(s) per core', '?')} thread(s) "
             f"per core), {m.get('memory_gib', '?')} GiB, {m.get('platform')}. Load average at start "
             f"{meta['loadavg_start']}, at end {meta.get('loadavg_end', '?')}. Spark at commit "
             f"{m.get('git_commit', '?')}{' (+ uncommitted changes)' if m.get('git_dirty') else ''}.\n")
    L.append("Frameworks: Spark; Brian2 C++ = Brian2's C++ standalone device (time loop of its `main` binary); Brian2 "
             "Cython = Brian2's runtime device with Cython code generation; BrainPy = BrainPy with brainevent's "
             "event-driven CSR operators (`bp.dnn.EventCSRLinear`, Numba kernels on CPU). Each peer's model is "
             "written as its own examples write it (Brian2's `examples/CUBA.py` and the Euler COBA benchmark, "
             "BrainPy's `EICOBA_PostAlign`; docs/performance.md says what differs); \"(same arith.)\" is the same "
             "network computed step by step as Spark computes it. Headline ratios are against the idiomatic models; "
             "STDP cases have only same-arithmetic peers (the examples have no STDP).\n")
    L.append(f"Command: `{meta['command']}`. {meta['steps']:,} steps of 0.1 ms "
             f"({meta['steps'] / 10:,.0f} ms simulated), seed {meta['seed']}, {meta['processes']} process(es) per "
             "framework and case. "
             + ("Every framework records every spike (Spark and BrainPy a boolean raster, Brian2 a `SpikeMonitor`)."
                if meta.get("raster") else "Every framework counts spikes per step and population inside its loop "
                "(Spark: `exc.spikes:sum` monitors; Brian2: `SpikeMonitor(record=False)`; BrainPy: sums returned by "
                "the loop); `--raster` records every spike instead.") + "\n")
    versions = {fw: next((r.get("version") for c in cases for f, r in c["runs"].items()
                          if f == fw and r.get("version")), None) for fw in fws}
    L.append("Versions: " + ", ".join(f"{lab[fw]} {v}" for fw, v in versions.items() if v) + ".\n")

    # simulation time
    L.append("## Simulation time\n")
    L.append("Seconds of wall time for the whole simulation, compilation excluded (the better of the processes). "
             "Ratio = Spark's time / the peer's: below 1 means Spark is faster. A ratio is void when the peer's spike "
             f"count differs from Spark's by more than {SPIKE_TOLERANCE:.0%} (same arithmetic) or its rate by more "
             f"than {RATE_TOLERANCE:.0%} (idiomatic models).\n")
    head = ["network", "N", "synapses"] + [lab[f] for f in fws] + [f"Spark / {lab[p]}" for p in peers] + ["spikes"]
    L.append("| " + " | ".join(head) + " |")
    L.append("|" + "|".join(["---"] * 2 + ["--:"] * (len(head) - 2)) + "|")
    for c in cases:
        runs, ag = c["runs"], c.get("agreement", {})
        sp = runs.get("spark")
        row = [_label(c), f"{c['n']:,}", f"{c.get('n_synapses') or 0:,}"]
        row += [_cell(runs.get(fw), "sim_s") for fw in fws]
        for p in peers:
            r = runs.get(p)
            if not (sp and r and sp["status"] == "ok" and r["status"] == "ok"):
                row.append("-")
            elif ag.get("peers", {}).get(p, {}).get("ok") is False:
                row.append(f"void ({sp['sim_s'] / r['sim_s']:.2f})")
            else:
                row.append(f"{sp['sim_s'] / r['sim_s']:.2f}")
        row.append(_verdict(ag))
        L.append("| " + " | ".join(row) + " |")
    L.append("")

    # whole job
    L.append("## Whole job\n")
    L.append("Seconds, first process (every cache of the case emptied, Spark's native kernels included) / second "
             "process. **First step**: from the case's first import to its first simulated step (imports, building "
             "the network, compilation; Brian2 C++ also the part of `main` before its time loop). **Process**: the "
             "whole process as the runner saw it (interpreter start to exit: first step, simulation, counting, exit). "
             "**`spark run` process**: `spark run MODEL --steps N --no-plot` on the case's `.spark` document, as a "
             "user runs it (it also records every spike and writes its run folder), caches emptied for the first.\n")
    head = (["network", "N"] + [f"{lab[f]} first step" for f in fws] + [f"{lab[f]} process" for f in fws]
            + ["`spark run` process"])
    L.append("| " + " | ".join(head) + " |")
    L.append("|" + "|".join(["---"] * 2 + ["--:"] * (len(head) - 2)) + "|")
    for c in cases:
        row = [_label(c), f"{c['n']:,}"]
        for key in ("first_step_s", "wall_s"):
            for fw in fws:
                r = c["runs"].get(fw)
                row.append("-" if r is None or r["status"] != "ok" or key not in r else
                           " / ".join(_fmt_s(x) for x in r[key]))
        sr = c["runs"].get("spark", {}).get("spark_run_wall_s")
        row.append("-" if sr is None else sr if isinstance(sr, str) else " / ".join(_fmt_s(x) for x in sr))
        L.append("| " + " | ".join(row) + " |")
    L.append("")

    # compilation
    L.append("## Compilation\n")
    L.append("Seconds, first process (every cache of the case emptied) / second process (same case again). Spark: "
             "tracing, lowering and XLA compilation (`last_run_stats['compile_s']`), JAX's persistent cache in the "
             "second. Brian2 C++: code generation and `make`. Brian2 Cython: code generation and Cython "
             "compilation (cached on disk in the second). BrainPy: the warm-up run minus one timed run.\n")
    head = ["network", "N"] + [lab[f] for f in fws]
    L.append("| " + " | ".join(head) + " |")
    L.append("|" + "|".join(["---"] * 2 + ["--:"] * len(fws)) + "|")
    for c in cases:
        row = [_label(c), f"{c['n']:,}"]
        for fw in fws:
            r = c["runs"].get(fw)
            row.append("-" if r is None else r["status"] if r["status"] != "ok" else
                       " / ".join(_fmt_s(x) for x in r["compile_s"]))
        L.append("| " + " | ".join(row) + " |")
    L.append("")

    # construction
    L.append("## Network construction\n")
    drawn = ("The peers drew their own realization (`--own-networks`)." if meta.get("own_networks") else
             "The peers read the realization Spark drew from a file instead of drawing one, so theirs leaves the "
             "drawing out.")
    L.append("Seconds, the better of the processes: building the network before compilation. Spark: "
             f"`Brain.from_dict` (drawing the connectivity, the storage, the initial state). {drawn} Brian2 (both "
             "devices): creating the groups and `connect(i=, j=)` (the C++ device only records it: its synapses are "
             "built inside `main`, counted in its first step above), Cython compilation excluded; BrainPy: the "
             "model objects and their CSR matrices.\n")
    L.append("| " + " | ".join(head) + " |")
    L.append("|" + "|".join(["---"] * 2 + ["--:"] * len(fws)) + "|")
    for c in cases:
        L.append("| " + " | ".join([_label(c), f"{c['n']:,}"] + [
            "-" if (r := c["runs"].get(fw)) is None else r["status"] if r["status"] != "ok" else
            _fmt_s(r.get("setup_s", 0.0)) for fw in fws]) + " |")
    L.append("")

    # memory
    L.append("## Peak memory\n")
    L.append("MiB, `ru_maxrss` of the case's process (Brian2 C++: of its `main` binary, the compiler left out).\n")
    L.append("| " + " | ".join(head) + " |")
    L.append("|" + "|".join(["---"] * 2 + ["--:"] * len(fws)) + "|")
    for c in cases:
        L.append("| " + " | ".join([_label(c), f"{c['n']:,}"] + [
            "-" if (r := c["runs"].get(fw)) is None else r["status"] if r["status"] != "ok" else
            f"{r['peak_rss_mb']:,.0f}" for fw in fws]) + " |")
    L.append("")

    # spikes
    L.append("## Spikes\n")
    if meta.get("own_networks"):
        L.append("Total spikes and mean rate (Hz) over all neurons. Every framework drew its own connectivity and "
                 "initial potentials from the same distributions (`--own-networks`), so counts agree only "
                 "statistically: at 4,000 neurons two realizations differ by up to ~10% in rate.\n")
    else:
        L.append("Total spikes and mean rate (Hz) over all neurons. Every framework simulates the connectivity Spark "
                 "drew; the same-arithmetic models also its initial potentials, so their counts differ from Spark's "
                 "only where rounding differs (Brian2 computes in float64, the others in float32) and the network's "
                 "chaos amplifies it. The idiomatic models draw their initial potentials as their examples do.\n")
    L.append(f"Same arithmetic: the peer's count within {SPIKE_TOLERANCE:.0%} of Spark's (they differ by rounding "
             f"only). Idiomatic models: the rate within {RATE_TOLERANCE:.0%} of Spark's, a statistical check (other "
             "integrators, threshold `v > Vt`, their own initial potentials: the same regime, not the same spikes).\n")
    head = ["network", "N"] + [lab[f] for f in fws]
    L.append("| " + " | ".join([*head, "largest deviation from Spark", "verdict"]) + " |")
    L.append("|" + "|".join(["---"] * 2 + ["--:"] * len(fws) + ["--:", "---"]) + "|")
    for c in cases:
        ag = c.get("agreement", {})
        row = [_label(c), f"{c['n']:,}"]
        for fw in fws:
            r = c["runs"].get(fw)
            row.append("-" if r is None else r["status"] if r["status"] != "ok" else
                       f"{r['spikes']:,} ({r['rate_hz']:.2f} Hz)")
        row.append("-" if ag.get("spread") is None else f"{ag['spread']:.1%}")
        row.append(_verdict(ag))
        L.append("| " + " | ".join(row) + " |")
    L.append("")

    notes = []
    for c in cases:
        for fw, r in c["runs"].items():
            if r.get("note"):
                notes.append(f"- {_label(c)} {c['n']:,}, {lab.get(fw, fw)}: {r['note']}")
    if notes:
        L.append("## Skipped, stopped and other notes\n")
        L += notes
        L.append("")

    L.append("## Targets (issues 7 and 21; ratios against the idiomatic peers)\n")
    tg = targets(cases)
    L += tg if len(tg) > 2 else ["No case of this run is one the targets speak of (4,000 / 40,000 / 400,000 neurons)."]
    L.append("")
    return "\n".join(L)


def targets(cases: list[dict]) -> list[str]:
    def get(kind, n, fw, stdp=False):
        for c in cases:
            if c["kind"] == kind and c["n"] == n and c["stdp"] == stdp:
                r = c["runs"].get(fw)
                return (r if r and r["status"] == "ok" else None), c.get("agreement", {})
        return None, {}

    out = ["| target | measured | met |", "|---|---|---|"]
    for kind in ("cuba", "coba"):
        sp, ag = get(kind, 4000, "spark")
        for peer, factor in (("brian2_standalone", 1.0), ("brainpy", 0.2)):
            pr, _ = get(kind, 4000, peer)
            if sp and pr:
                ratio = sp["sim_s"] / pr["sim_s"]
                met = ("void" if ag.get("peers", {}).get(peer, {}).get("ok") is False else
                       "yes" if ratio <= factor else "no")
                out.append(f"| {kind.upper()} 4,000: Spark ≤ {factor:g} x {FRAMEWORKS[peer][3]} | "
                           f"{ratio:.2f} x | {met} |")
    for n in (4000, 40_000):  # issue 21: half of Brian2 C++ standalone's time (its idiomatic examples)
        for kind in ("cuba", "coba"):
            sp, ag = get(kind, n, "spark")
            pr, _ = get(kind, n, "brian2_standalone")
            if sp and pr:
                ratio = sp["sim_s"] / pr["sim_s"]
                met = ("void" if ag.get("peers", {}).get("brian2_standalone", {}).get("ok") is False else
                       "yes" if ratio <= 0.5 else "no")
                out.append(f"| {kind.upper()} {n:,}: Spark ≤ 0.5 x {FRAMEWORKS['brian2_standalone'][3]} (issue 21) | "
                           f"{ratio:.2f} x | {met} |")
    sp, _ = get("coba", 4000, "spark")
    if sp:
        c = sp["compile_s"]
        out.append(f"| COBA 4,000 compilation ≤ 3 s in a fresh process | {c[0]:.2f} s | "
                   f"{'yes' if c[0] <= 3 else 'no'} |")
        if len(c) > 1:
            out.append(f"| COBA 4,000 compilation ≤ 0.5 s in a second process | {c[1]:.2f} s | "
                       f"{'yes' if c[1] <= 0.5 else 'no'} |")
        cy, _ = get("coba", 4000, "brian2_cython")
        walls = sp.get("spark_run_wall_s")
        walls = walls if isinstance(walls, list) else sp.get("wall_s")  # `spark run`, else the case's process
        what = "`spark run`" if isinstance(sp.get("spark_run_wall_s"), list) else "Spark's process"
        if cy and walls and "wall_s" in cy:
            for i, which in enumerate(("first", "second")[:min(len(walls), len(cy["wall_s"]))]):
                a, b = walls[i], cy["wall_s"][i]
                out.append(f"| COBA 4,000 {what}, whole process ≤ Brian2 Cython's ({which} process) | {a:.1f} s "
                           f"against {b:.1f} s | {'yes' if a <= b else 'no'} |")
    for kind in ("cuba", "coba"):
        sp, _ = get(kind, 400_000, "spark")
        if sp and "setup_s" in sp:
            out.append(f"| {kind.upper()} 400,000: network construction ≤ 5 s | {sp['setup_s']:.1f} s | "
                       f"{'yes' if sp['setup_s'] <= 5 else 'no'} |")
    for kind in ("cuba", "coba"):
        base, _ = get(kind, 4000, "spark")
        for n in (40_000, 400_000):
            sp, ag = get(kind, n, "spark")
            if base and sp:
                growth = n / 4000
                t, mem = sp["sim_s"] / base["sim_s"], sp["peak_rss_mb"] / base["peak_rss_mb"]
                out.append(f"| {kind.upper()} {n:,}: time and memory grow ≤ synapses (x {growth:g}) | time x {t:.1f}, "
                           f"memory x {mem:.1f} | {'yes' if t <= growth and mem <= growth else 'no'} |")
            if sp:
                peers_ok = [p for p in IDIOMATIC if (pr := get(kind, n, p)[0])]
                ahead = all(sp["sim_s"] <= get(kind, n, p)[0]["sim_s"] for p in peers_ok)
                void = any(ag.get("peers", {}).get(p, {}).get("ok") is False for p in peers_ok)
                if peers_ok:
                    out.append(f"| {kind.upper()} {n:,}: Spark ahead of every peer that ran | "
                               + ", ".join(f"{FRAMEWORKS[p][3]} {sp['sim_s'] / get(kind, n, p)[0]['sim_s']:.2f} x"
                                           for p in peers_ok)
                               + f" | {'void' if void else 'yes' if ahead else 'no'} |")
                peers_mem = [p for p in peers_ok if get(kind, n, p)[0].get("peak_rss_mb")]
                if n == 400_000 and peers_mem and sp.get("peak_rss_mb"):
                    least = min(get(kind, n, p)[0]["peak_rss_mb"] for p in peers_mem)
                    out.append(f"| {kind.upper()} {n:,}: peak memory ≤ every peer's (issue 21) | "
                               f"{sp['peak_rss_mb']:,.0f} MiB, peers from {least:,.0f} MiB | "
                               f"{'yes' if sp['peak_rss_mb'] <= least else 'no'} |")
    return out


# ----- main ------------------------------------------------------------------------------------------------------

def _ints(s: str) -> list[int]:
    return [int(x.replace("_", "")) for x in s.split(",") if x.strip()]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--sizes", type=_ints, default=None, help="network sizes for CUBA and COBA "
                    "(default 4000,40000,400000; --quick: 1000)")
    ap.add_argument("--stdp-sizes", type=_ints, default=None, help="sizes of the STDP cases (default 4000; --quick: "
                    "1000; '' for none)")
    ap.add_argument("--models", default="cuba,coba", help="networks without plasticity (default cuba,coba)")
    ap.add_argument("--stdp-models", default="cuba,coba", help="networks run with pair STDP on exc -> exc "
                    "(default cuba,coba)")
    ap.add_argument("--frameworks", default=",".join(FRAMEWORKS), help=f"default {','.join(FRAMEWORKS)} (the peers "
                    "kept by --peer-style)")
    ap.add_argument("--peer-style", choices=("idiomatic", "same-arithmetic", "both"), default="both",
                    help="the peers' models as their own examples write them (the headline ratios), computed step by "
                    "step as Spark computes them (the *_same frameworks), or both (default)")
    ap.add_argument("--steps", type=int, default=None, help="steps of 0.1 ms (default 10000 = 1 s; --quick: 1000)")
    ap.add_argument("--quick", action="store_true", help="smoke test: 1,000 neurons, 100 ms")
    ap.add_argument("--processes", type=int, default=2, help="processes per case and framework (default 2: the "
                    "second shows the compilation caches at work)")
    ap.add_argument("--timeout", type=float, default=1200.0, help="seconds one process may take (default 1200)")
    ap.add_argument("--max-sim-s", type=float, default=600.0, help="skip a case whose simulation is predicted from "
                    "the next smaller size to take longer (default 600 s)")
    ap.add_argument("--mem-limit-gb", type=float, default=10.0, help="stop a process past this resident memory and "
                    "skip larger sizes predicted past it (default 10)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-spark-run", action="store_true", help="do not time whole `spark run` processes of each "
                    "case's model (the whole-job table's last column)")
    ap.add_argument("--raster", action="store_true", help="every framework records every spike (Spark and BrainPy "
                    "a boolean raster, Brian2 a SpikeMonitor) instead of counting spikes per step inside its loop")
    ap.add_argument("--own-networks", action="store_true", help="let every peer draw its own realization of each "
                    "network (same distributions) instead of simulating the one Spark draws")
    ap.add_argument("--out", type=Path, default=BENCH / "results")
    ap.add_argument("--update-docs", action="store_true", help="also put the tables into docs/performance.md "
                    "(between its results markers)")
    ap.add_argument("--label", default="", help="a line printed at the top of the report (e.g. the machine's state)")
    ap.add_argument("--from-json", type=Path, default=None, help="run nothing: write the report (and with "
                    "--update-docs the docs) again from a results JSON")
    args = ap.parse_args(argv)
    if args.from_json:
        write_report(json.loads(args.from_json.read_text()), args.out.resolve(), args.update_docs)
        print(f"wrote {args.out / 'latest.md'}")
        return 0
    args.sizes = args.sizes if args.sizes is not None else ([1000] if args.quick else [4000, 40_000, 400_000])
    args.stdp_sizes = args.stdp_sizes if args.stdp_sizes is not None else ([1000] if args.quick else [4000])
    args.steps = args.steps or (1000 if args.quick else 10_000)
    args.models = [m for m in args.models.split(",") if m]
    args.stdp_models = [m for m in args.stdp_models.split(",") if m]
    fws = [f for f in args.frameworks.split(",") if f]
    for f in fws:
        if f not in FRAMEWORKS:
            ap.error(f"unknown framework {f!r}; use some of {', '.join(FRAMEWORKS)}")
    drop = {"idiomatic": SAME, "same-arithmetic": IDIOMATIC, "both": []}[args.peer_style]
    fws = [f for f in fws if f not in drop]
    args.out = args.out.resolve()
    for sig in (signal.SIGTERM, signal.SIGHUP):  # stopped by a signal: unwind as for Ctrl-C, stopping the case
        signal.signal(sig, _terminate_as_interrupt)

    def log(msg: str) -> None:
        print(msg, flush=True)

    pythons: dict[str, Path] = {}
    notes: dict[str, str] = {}
    if "spark" in fws:
        why = check_spark(log)
        if why:
            log(f"Spark cannot run: {why}")
            return 2
        pythons["spark"] = Path(sys.executable)
    for fw in fws:
        env = FRAMEWORKS[fw][0]
        if env is None:
            continue
        if env == "brian2" and not shutil.which("g++"):
            notes[fw] = "skipped: Brian2's C++ standalone and Cython runtime need g++, which is not on PATH"
            continue
        try:
            pythons[fw] = ensure_env(env, log)
        except subprocess.CalledProcessError as e:
            notes[fw] = f"skipped: could not install its environment ({e})"
    results = {"meta": {"started": _dt.datetime.now().isoformat(timespec="seconds"),
                        "command": shlex.join(["python", "benchmarks/run.py",
                             *(argv if argv is not None else sys.argv[1:])]),
                        "label": args.label, "steps": args.steps, "seed": args.seed, "processes": args.processes,
                        "timeout_s": args.timeout, "mem_limit_gb": args.mem_limit_gb, "frameworks": fws,
                        "machine": machine_info(), "loadavg_start": [round(x, 2) for x in os.getloadavg()],
                        "spike_tolerance": SPIKE_TOLERANCE, "own_networks": args.own_networks,
                        "raster": args.raster},
               "cases": []}
    log(f"machine: {results['meta']['machine'].get('Model name')}, load {results['meta']['loadavg_start']}")
    try:
        for case in case_list(args):
            log(f"[{case['name']}] {args.steps:,} steps")
            entry = {**case, "steps": args.steps, "runs": {}}
            network = None
            if not args.own_networks and any(fw in PEERS and fw not in notes for fw in fws):
                entry["network"] = export_network(case, args, log)
                network = entry["network"].get("file")
            for fw in fws:
                if fw in notes:
                    entry["runs"][fw] = {"status": "skipped", "note": notes[fw]}
                    continue
                if case["stdp"] and fw in IDIOMATIC:
                    continue  # the peers' examples have no STDP: only the same-arithmetic models run it
                skip = predict_skip(case, fw, results["cases"], args)
                if skip:
                    log(f"    {fw:18s} {skip}")
                    entry["runs"][fw] = {"status": "skipped", "note": skip}
                    continue
                entry["runs"][fw] = run_case(case, fw, pythons[fw], args, log, network)
                if fw == "spark" and entry["runs"][fw]["status"] == "ok" and not args.no_spark_run:
                    entry["runs"][fw]["spark_run_wall_s"] = spark_run_cli(case, args, log)
            if network:
                Path(network).unlink(missing_ok=True)
            syn = [r.get("n_synapses") for r in entry["runs"].values() if r.get("n_synapses")]
            entry["n_synapses"] = entry["runs"].get("spark", {}).get("n_synapses") or (syn[0] if syn else None)
            entry["agreement"] = agreement(entry)
            ag = entry["agreement"]
            if ag["ok"] is not None:
                log(f"    spikes {'agree' if ag['ok'] else 'DIFFER'}: spread {ag['spread']:.1%} {ag['counts']}")
            results["cases"].append(entry)
            results["meta"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
            write_report(results, args.out, args.update_docs)
    except KeyboardInterrupt as exc:  # Ctrl-C or a signal: run_process has stopped the running case
        log(f"interrupted ({exc or 'Ctrl-C'}): the running case was stopped; partial results follow")
        results["meta"]["interrupted"] = True
        results["meta"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
        write_report(results, args.out, False)
        log(f"wrote {args.out / 'latest.md'} and {args.out / 'latest.json'} (partial)")
        return 130
    log(f"wrote {args.out / 'latest.md'} and {args.out / 'latest.json'}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt as exc:  # before or between cases: subprocess.run has stopped its child
        print(f"interrupted ({exc or 'Ctrl-C'})", file=sys.stderr)
        sys.exit(130)
