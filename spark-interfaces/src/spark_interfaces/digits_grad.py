"""A spiking digit classifier trained by gradient (surrogate gradients, BPTT, optax): ``spark digits-grad``.

The network (a :class:`spark.Brain`, built from registered components only)::

    image (784 currents, pA) -> inp: lif (784, one per pixel, no refractoriness)
        -> w1: delta_synapse (784 x hidden, dense) -> hid: lif (hidden, surrogate spikes)
        -> w2: delta_synapse (hidden x 10, dense)  -> out: lif (10, threshold out of reach: a leaky readout)

Encoding: each pixel's intensity (0..1) times ``gain`` pA is held on its input neuron for the whole presentation,
which fires regularly at a rate that grows with the intensity (deterministic rate code; a black pixel never fires).
Readout: the class scores are the output neurons' potentials above rest, averaged over the presentation and scaled by
``logit_scale`` (1/mV); the loss is softmax cross-entropy. Training: ``jax.grad`` through ``brain``'s run
(:func:`spark.training.simulator`, checkpointed BPTT) with the hidden neurons' fast-sigmoid surrogate, Adam with a
cosine-decayed step (optax), and random shifts of up to ``shift`` pixels as augmentation. docs/gradients.md has the
measured result.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

N_PIXELS, N_CLASSES = 784, 10


def build_brain(hidden: int = 512, *, seed: int = 0, w1_std: float = 400.0, w2_std: float = 100.0,
                slope: float = 0.5, surrogate: str = "fast_sigmoid"):
    """The classifier's Brain (dt 1 ms), its hidden somas with the surrogate ``surrogate`` (``slope`` 1/mV)."""
    import spark

    brain = spark.Brain(dt=1.0, seed=seed, name="digits-grad")
    brain.add("inp", "lif", shape=N_PIXELS, t_ref=0.0)
    brain.add("w1", "delta_synapse", shape=(N_PIXELS, hidden), storage="dense", weight_init="normal", weight=0.0,
              weight_std=w1_std)
    brain.add("hid", "lif", shape=hidden, t_ref=0.0)
    brain.add("w2", "delta_synapse", shape=(hidden, N_CLASSES), storage="dense", weight_init="normal", weight=0.0,
              weight_std=w2_std)
    brain.add("out", "lif", shape=N_CLASSES, tau_m=20.0, t_ref=0.0, v_thresh=1.0e6)
    brain.connect("inp.spikes", "w1.pre").connect("w1.i", "hid.i_syn")
    brain.connect("hid.spikes", "w2.pre").connect("w2.i", "out.i_syn")
    brain.input("image", "inp.i_syn").output("hidden", "hid.spikes")
    return brain.use_surrogate(surrogate, slope=slope)


class Classifier:
    """The brain, its pure run (:func:`spark.training.simulator`) and the maps from images to scores and loss."""

    def __init__(self, brain, *, steps: int = 20, gain: float = 3000.0, logit_scale: float = 0.2):
        import spark.training as training

        self.brain, self.steps, self.gain, self.logit_scale = brain, steps, gain, logit_scale
        self.run = training.simulator(brain, record=["out.v", "hid.spikes"], steps=steps)

    def scores(self, params, images):
        """``(batch, 10)`` class scores and the hidden neurons' mean spike probability per step."""
        import jax

        rec = jax.vmap(self.run, (None, 0))(params, {"image": images.reshape(len(images), -1) * self.gain})
        v_rest = self.brain.nodes["out"].params.v_rest
        return (rec["out.v"] - v_rest).mean(axis=1) * self.logit_scale, rec["hid.spikes"].mean()

    def loss(self, params, images, labels):
        import optax

        scores, rate = self.scores(params, images)
        return optax.softmax_cross_entropy_with_integer_labels(scores, labels).mean(), rate


def shift_images(images: np.ndarray, rng: np.random.Generator, shift: int) -> np.ndarray:
    """Each ``(28, 28)`` image moved by a random whole number of pixels in ``[-shift, shift]`` on each axis."""
    if shift <= 0:
        return images
    n = len(images)
    padded = np.pad(images.reshape(n, 28, 28), ((0, 0), (shift, shift), (shift, shift)))
    dy, dx = rng.integers(0, 2 * shift + 1, size=(2, n))
    return np.stack([p[a:a + 28, b:b + 28] for p, a, b in zip(padded, dy, dx, strict=True)])


def train(data, *, hidden: int = 512, steps: int = 20, epochs: int = 40, batch: int = 100, lr: float = 5.0,
          shift: int = 2, seed: int = 0, n_train: int | None = None, n_test: int | None = None,
          time_limit: float | None = None, log: Callable[[str], Any] | None = print) -> dict:
    """Train the classifier on ``data`` (a :class:`spark_interfaces.digits.Digits`) and test it.

    ``lr`` is Adam's step in pA (the weights' unit), cosine-decayed to 2% over the run. ``time_limit`` (s) stops
    after the first epoch that ends past it. Returns the summary (accuracies, seconds, settings) and, under
    ``"brain"``, the trained Brain (its weights written back by :func:`spark.training.assign`).
    """
    import jax
    import optax

    import spark.training as training

    x_train, y_train = data.x_train[:n_train], data.y_train[:n_train]
    x_test, y_test = data.x_test[:n_test], data.y_test[:n_test]
    brain = build_brain(hidden, seed=seed)
    model = Classifier(brain, steps=steps)
    params = training.params(brain)
    per_epoch = max(1, len(x_train) // batch)
    opt = optax.adam(optax.cosine_decay_schedule(lr, epochs * per_epoch, alpha=0.02))
    opt_state = opt.init(params)

    @jax.jit
    def update(params, opt_state, images, labels):
        (loss, rate), grads = jax.value_and_grad(model.loss, has_aux=True)(params, images, labels)
        grads = training.mask_gradients(brain, grads)
        updates, opt_state = opt.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss, rate

    predict = jax.jit(lambda params, images: model.scores(params, images)[0].argmax(-1))

    def accuracy(params, x, y, chunk=500):
        got = np.concatenate([np.asarray(predict(params, x[i:i + chunk])) for i in range(0, len(x), chunk)])
        return float(np.mean(got == y))

    rng = np.random.default_rng(seed)
    history = []
    t0, cpu0 = time.perf_counter(), time.process_time()
    train_s = 0.0
    for epoch in range(epochs):
        t_epoch = time.perf_counter()
        order = rng.permutation(len(x_train))
        for i in range(0, per_epoch * batch, batch):
            idx = order[i:i + batch]
            params, opt_state, loss, rate = update(params, opt_state, shift_images(x_train[idx], rng, shift),
                                                   y_train[idx])
        loss = float(loss)
        train_s += time.perf_counter() - t_epoch
        test_acc = accuracy(params, x_test, y_test)
        history.append({"epoch": epoch + 1, "loss": loss, "hidden_rate": float(rate), "train_s": round(train_s, 1),
                        "test_accuracy": test_acc})
        if log:
            log(f"epoch {epoch + 1:3d}  loss {loss:.3f}  hidden spikes/step {float(rate):.3f}  "
                f"training {train_s:6.1f} s  test accuracy {test_acc:.4f}")
        if time_limit is not None and train_s > time_limit:
            break
    training.assign(brain, params)
    return {
        "test_accuracy": history[-1]["test_accuracy"],
        "train_accuracy": accuracy(params, x_train, y_train),
        "train_seconds": round(train_s, 1),
        "wall_seconds": round(time.perf_counter() - t0, 1),
        "cpu_seconds": round(time.process_time() - cpu0, 1),
        "epochs": len(history),
        "history": history,
        "settings": {"hidden": hidden, "steps": steps, "epochs": epochs, "batch": batch, "lr": lr, "shift": shift,
                     "seed": seed, "n_train": len(x_train), "n_test": len(x_test)},
        "brain": brain,
        "classifier": model,
    }


def nir_round_trip(brain, model: Classifier, images: np.ndarray, path) -> dict:
    """Export the trained ``brain`` to the NIR file ``path`` (:mod:`spark.nir`), read it with ``nir.read`` and with
    :meth:`spark.Brain.from_nir`, and compare the readout potentials of the two Brains on ``images`` (every step,
    every image; batched :meth:`spark.Brain.run`). Needs ``spark-core[nir]``; ImportError without it."""
    import nir

    import spark
    import spark.nir as snir

    snir.write(brain, path)
    graph = nir.read(str(path))
    back = spark.Brain.from_nir(path, dt=brain.dt)
    currents = images.reshape(len(images), -1).astype(np.float32) * model.gain
    (name,) = [i["name"] for i in back.to_dict()["inputs"]]
    runs = [b.run({n: currents}, steps=model.steps, record=["out.v"], batched=True)["out.v"]
            for b, n in ((brain, "image"), (back, name))]
    same = bool(np.array_equal(runs[0], runs[1]))
    predictions = [r.mean(axis=1).argmax(-1) for r in runs]
    return {"file": str(path), "nir_nodes": sorted(graph.nodes), "identical_outputs": same,
            "max_abs_difference_mV": float(np.abs(runs[0] - runs[1]).max()),
            "same_predictions": bool(np.array_equal(*predictions)), "images": len(images)}
