"""BindsNET's stock ``DiehlAndCook2015`` on Spark's digit split: the peer of the digits benchmark.

Runs in its own virtualenv (``benchmarks/.envs/bindsnet``, from ``requirements-bindsnet.txt``; no Spark there).
``benchmarks/digits.py`` makes that virtualenv, writes the split and runs this; by hand::

    benchmarks/.envs/bindsnet/bin/python benchmarks/peers/bindsnet_digits.py --data split.npz \\
        [--n-train 4000] [--checkpoints 1000,2000,3000,4000] [--neurons 100] [--seed 0] [--threads N] [--out r.json]

``split.npz`` holds ``x_train, y_train, x_test, y_test`` (images ``(n, 28, 28)`` in ``[0, 1]``), the fixed split of
``spark_interfaces.digits.load_digits()``.

Written the way BindsNET's ``examples/mnist/eth_mnist.py`` writes it: ``DiehlAndCook2015(n_inpt=784, ...,
inpt_shape=(1, 28, 28))``, ``PoissonEncoder(time=250, dt=1.0)`` on pixel intensities scaled to at most 128 Hz
(their ``ToTensor()`` then ``x * intensity`` with ``--intensity 128``; here ``pixel/255 * 128``), ``network.run(
inputs={"X": ...}, time=250)`` and ``network.reset_state_variables()`` after each image, one spike monitor on the
excitatory layer ``Ae``, ``network.train(mode=False)`` for labelling and testing, and ``assign_labels`` /
``all_activity`` from ``bindsnet.evaluation``. Like their example, each image is presented once: there is no Diehl &
Cook re-presentation of images that evoke fewer than 5 spikes (the count of such images is reported).
Differences from their script, for the protocol: ``inh=17.5`` (the class default; eth_mnist's own command line says
``--inh 120``; ``--inh`` sets it), no voltage monitors or plots, and the labels come from a frozen pass over the
first ``--n-assign`` training images at each checkpoint instead of eth_mnist's running estimate over the last 250
training images.

Protocol: train one pass over the first ``--n-train`` training images, in order, learning on. At each checkpoint (a
number of images trained) the network is frozen (``network.train(mode=False)``: no STDP, and ``DiehlAndCookNodes``
stop adapting ``theta``; ``network.run`` still re-normalises the input weights after every presentation, which moves
already-normalised weights by float32 rounding only; checked at every checkpoint: thresholds unchanged bit for bit,
weights within ``FROZEN_ATOL``, and the largest changes are reported), the first ``--n-assign`` training images
label each excitatory neuron with the class of its highest mean spike count, all ``--n-test`` test images are
classified by ``all_activity`` vote (``-1`` = no assigned neuron fired, counted wrong), and training resumes.
Times: ``train_images_per_s`` counts only the training presentations (Poisson encoding + ``network.run`` + reset;
evaluation excluded); ``eval_images_per_s`` counts the labelling and test presentations, frozen.
The result is printed as one ``BENCH-RESULT {json}`` line and, with ``--out``, written.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import time
from importlib import metadata

import numpy as np
import torch

# PyPI's torchvision wheel is built against CUDA torch; beside the CPU build its C++ ops do not load, and its import
# then fails registering fake kernels for two ops that do not exist ("operator torchvision::nms does not exist").
# `import bindsnet` imports torchvision (datasets, plotting), which this script never uses: declaring the two op
# schemas lets the import go through. Nothing calls them.
for _op in ("nms", "qnms"):
    torch.library.define(f"torchvision::{_op}", "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")

from bindsnet.encoding import PoissonEncoder  # noqa: E402
from bindsnet.evaluation import all_activity, assign_labels  # noqa: E402
from bindsnet.models import DiehlAndCook2015  # noqa: E402
from bindsnet.network.monitors import Monitor  # noqa: E402

N_CLASSES = 10
FROZEN_ATOL = 1e-5  # weights are in [0, 1] (mean 0.1); re-normalising a normalised column moves them by ~1e-7


def data_digest(data: dict) -> str:
    """sha256 of the split as used (x float32, y int64, in this key order): the runner computes the same."""
    h = hashlib.sha256()
    for k in ("x_train", "y_train", "x_test", "y_test"):
        h.update(np.ascontiguousarray(data[k], np.float32 if k[0] == "x" else np.int64).tobytes())
    return h.hexdigest()


def build(args) -> tuple[DiehlAndCook2015, Monitor]:
    network = DiehlAndCook2015(n_inpt=784, n_neurons=args.neurons, exc=args.exc, inh=args.inh, dt=args.dt,
                               norm=78.4, nu=(1e-4, 1e-2), theta_plus=args.theta_plus, inpt_shape=(1, 28, 28))
    monitor = Monitor(network.layers["Ae"], state_vars=["s"], time=int(args.time / args.dt))
    network.add_monitor(monitor, name="Ae_spikes")
    return network, monitor


def present(network, monitor, encoder, image: np.ndarray, intensity: float, steps: int) -> torch.Tensor:
    """One image, ``time`` ms: Poisson spikes at ``pixel * intensity`` Hz; the excitatory spike counts ``(n,)``."""
    rates = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)).view(1, 28, 28) * intensity
    spikes = encoder(rates)  # (steps, 1, 28, 28)
    network.run(inputs={"X": spikes.view(steps, 1, 1, 28, 28)}, time=steps * network.dt)
    counts = monitor.get("s").view(steps, -1).sum(0)
    network.reset_state_variables()
    return counts


def learned_state(network) -> dict[str, torch.Tensor]:
    """Copies of what learning changes: the input -> excitatory weights and the adaptive thresholds."""
    return {"w": network.connections[("X", "Ae")].pipeline[0].value.detach().clone(),
            "theta": network.layers["Ae"].theta.detach().clone()}


def evaluate(network, monitor, encoder, data, args, steps: int) -> dict:
    """Freeze, label the neurons on the first ``n_assign`` training images, classify the test images, unfreeze."""
    before = learned_state(network)
    network.train(mode=False)
    t0 = time.perf_counter()
    x_a, y_a = data["x_train"][:args.n_assign], data["y_train"][:args.n_assign]
    x_t, y_t = data["x_test"][:args.n_test], data["y_test"][:args.n_test]
    counts_a = torch.stack([present(network, monitor, encoder, im, args.intensity, steps) for im in x_a])
    counts_t = torch.stack([present(network, monitor, encoder, im, args.intensity, steps) for im in x_t])
    seconds = time.perf_counter() - t0
    network.train(mode=True)
    after = learned_state(network)
    # assign_labels / all_activity take (n_samples, time, n_neurons) and sum over time: pass counts as one step
    assignments, _, _ = assign_labels(counts_a.unsqueeze(1), torch.from_numpy(y_a).long(), N_CLASSES)
    pred = all_activity(counts_t.unsqueeze(1), assignments, N_CLASSES).numpy()
    pred_a = all_activity(counts_a.unsqueeze(1), assignments, N_CLASSES).numpy()
    return {
        "test_accuracy": float(np.mean(pred == y_t)),
        "assign_set_accuracy": float(np.mean(pred_a == y_a)),
        "no_vote_fraction": float(np.mean(pred == -1)),
        "neurons_per_class": np.bincount(assignments[assignments >= 0].numpy(), minlength=N_CLASSES).tolist(),
        "unlabelled_neurons": int((assignments < 0).sum()),
        "test_spikes_per_image": float(counts_t.sum(1).float().mean()),
        "eval_images": len(x_a) + len(x_t), "eval_seconds": round(seconds, 3),
        "eval_images_per_s": (len(x_a) + len(x_t)) / seconds,
        # network.run re-normalises the weights after every presentation, learning or not: float32 rounding only
        "frozen": bool(torch.equal(before["theta"], after["theta"])
                       and torch.allclose(before["w"], after["w"], rtol=0.0, atol=FROZEN_ATOL)),
        "max_weight_change_while_frozen": float((before["w"] - after["w"]).abs().max()),
        "max_theta_change_while_frozen": float((before["theta"] - after["theta"]).abs().max()),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--data", required=True, help=".npz with x_train, y_train, x_test, y_test (pixels in [0, 1])")
    ap.add_argument("--n-train", type=int, default=4000)
    ap.add_argument("--checkpoints", default="1000,2000,3000,4000", help="images trained at which to evaluate")
    ap.add_argument("--n-assign", type=int, default=1000, help="training images that label the neurons")
    ap.add_argument("--n-test", type=int, default=1000)
    ap.add_argument("--neurons", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's own)")
    ap.add_argument("--time", type=int, default=250, help="ms per image")
    ap.add_argument("--dt", type=float, default=1.0)
    ap.add_argument("--intensity", type=float, default=128.0, help="Hz of a pixel of 1 (255)")
    ap.add_argument("--exc", type=float, default=22.5)
    ap.add_argument("--inh", type=float, default=17.5)
    ap.add_argument("--theta-plus", type=float, default=0.05)
    ap.add_argument("--out", default=None, help="also write the result JSON here")
    args = ap.parse_args(argv)
    checkpoints = sorted({int(c) for c in args.checkpoints.split(",") if c.strip()} | {args.n_train})
    checkpoints = [c for c in checkpoints if 0 < c <= args.n_train]

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    with np.load(args.data) as f:
        data = {k: f[k] for k in ("x_train", "y_train", "x_test", "y_test")}
    data["y_train"], data["y_test"] = data["y_train"].astype(np.int64), data["y_test"].astype(np.int64)
    if len(data["x_train"]) < args.n_train:
        ap.error(f"--n-train {args.n_train} but the split has {len(data['x_train'])} training images")

    network, monitor = build(args)
    encoder = PoissonEncoder(time=args.time, dt=args.dt)
    steps = int(args.time / args.dt)
    log = lambda msg: print(msg, file=sys.stderr, flush=True)
    log(f"bindsnet {metadata.version('bindsnet')}, torch {torch.__version__} ({torch.get_num_threads()} threads): "
        f"{args.neurons} neurons, {args.time} ms/image, train {args.n_train}, checkpoints {checkpoints}")

    loadavg_start = [round(x, 2) for x in os.getloadavg()]
    train_seconds, train_spikes, quiet, done = 0.0, 0, 0, 0
    results = []
    t_start = time.perf_counter()
    for ckpt in checkpoints:
        t0 = time.perf_counter()
        for image in data["x_train"][done:ckpt]:
            n = int(present(network, monitor, encoder, image, args.intensity, steps).sum())
            train_spikes += n
            quiet += n < 5
        train_seconds += time.perf_counter() - t0
        done = ckpt
        ev = evaluate(network, monitor, encoder, data, args, steps)
        ev.update(images_trained=ckpt, train_seconds=round(train_seconds, 3), train_images_per_s=ckpt / train_seconds)
        results.append(ev)
        log(f"  {ckpt:5d} trained ({ckpt / train_seconds:.2f} img/s): test accuracy {ev['test_accuracy']:.1%}, "
            f"labelling+test {ev['eval_images_per_s']:.2f} img/s, frozen: {ev['frozen']}")

    eval_images = sum(r["eval_images"] for r in results)
    eval_seconds = sum(r["eval_seconds"] for r in results)
    summary = {
        "framework": "bindsnet", "model": "DiehlAndCook2015", "neurons": args.neurons, "seed": args.seed,
        "time_ms": args.time, "dt_ms": args.dt, "intensity_hz": args.intensity, "exc": args.exc, "inh": args.inh,
        "theta_plus": args.theta_plus, "nu": [1e-4, 1e-2], "norm": 78.4, "re_presentation": "none (as eth_mnist.py)",
        "data_sha256": data_digest(data), "n_train": args.n_train, "n_assign": args.n_assign, "n_test": args.n_test,
        "checkpoints": results,
        "accuracy": {str(r["images_trained"]): r["test_accuracy"] for r in results},
        "train_images_per_s": args.n_train / train_seconds, "train_seconds": round(train_seconds, 3),
        "spikes_per_training_image": train_spikes / args.n_train,
        "training_images_under_5_spikes": quiet,
        "eval_images_per_s": eval_images / eval_seconds, "eval_seconds": round(eval_seconds, 3),
        "frozen_during_eval": all(r["frozen"] for r in results),
        "wall_seconds": round(time.perf_counter() - t_start, 3),
        "torch_threads": torch.get_num_threads(), "torch_interop_threads": torch.get_num_interop_threads(),
        "versions": {p: metadata.version(p) for p in ("bindsnet", "torch", "numpy")},
        "python": platform.python_version(), "pid_nice": os.nice(0),
        "loadavg_start": loadavg_start, "loadavg_end": [round(x, 2) for x in os.getloadavg()],
    }
    line = json.dumps(summary)
    if args.out:
        with open(args.out, "w") as f:
            f.write(json.dumps(summary, indent=2) + "\n")
    print("BENCH-RESULT " + line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
