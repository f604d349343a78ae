"""Classification from labelled responses: neurons take the class they respond to most and vote (Diehl & Cook
2015), every neuron votes in proportion to its response to each class (Hazan et al. 2018), or the class under which
the counts are most likely (independent Poisson counts; Dayan & Abbott 2001)."""

from __future__ import annotations

import math
from typing import Any

import jax.numpy as jnp
import numpy as np

import spark

from ._common import expect_shape


def _flat_activity(activity: Any, neuron_shape: tuple[int, ...] | None = None) -> np.ndarray:
    a = np.asarray(activity, np.float64)
    if a.ndim < 2:
        raise ValueError(f"activity has shape {list(a.shape)}; give one row per sample: (samples, *neuron_shape)")
    if neuron_shape is not None and tuple(a.shape[1:]) != tuple(neuron_shape):
        raise ValueError(f"activity has shape {list(a.shape)} but the assignment has neuron shape "
                         f"{list(neuron_shape)}; give (samples, {', '.join(map(str, neuron_shape))})")
    return a.reshape(len(a), -1)


def _class_totals(activity: Any, labels: Any, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Checked ``activity`` and ``labels``: each neuron's summed response per class ``(n_classes, neurons)`` and the
    number of samples of each class ``(n_classes, 1)``."""
    a = _flat_activity(activity)
    y = np.asarray(labels)
    if y.shape != (len(a),):
        raise ValueError(f"labels has shape {list(y.shape)} but activity has {len(a)} samples; give ({len(a)},)")
    if y.size and (y.min() < 0 or y.max() >= n_classes or not np.issubdtype(y.dtype, np.integer)):
        raise ValueError(f"labels must be integers in [0, {n_classes}); got values from {y.min()} to {y.max()}")
    sums = np.zeros((n_classes, a.shape[1]))
    counts = np.zeros((n_classes, 1))
    for c in range(n_classes):
        rows = a[y == c]
        if len(rows):
            sums[c], counts[c] = rows.sum(axis=0), len(rows)
    return sums, counts


def assign_labels(activity: Any, labels: Any, n_classes: int) -> np.ndarray:
    """Label each neuron with the class it responds to most (Diehl & Cook 2015).

    Args:
        activity: ``(samples, *neuron_shape)`` response of every neuron to every sample (spike counts or rates).
        labels: ``(samples,)`` integer class of each sample, in ``[0, n_classes)``.
        n_classes: number of classes.

    Returns:
        ``neuron_shape`` int array: for each neuron the class ``c`` whose samples give it the highest mean response
        (classes without samples are skipped; ties go to the smaller class), or ``-1`` for a neuron that never
        responded to any sample.
    """
    sums, counts = _class_totals(activity, labels, n_classes)
    means = np.full_like(sums, -np.inf)
    np.divide(sums, counts, out=means, where=counts > 0)
    best = np.argmax(means, axis=0)
    silent = ~(np.max(means, axis=0) > 0)
    return np.where(silent, -1, best).reshape(np.asarray(activity).shape[1:]).astype(np.int32)


def _one_hot(assignment, n_classes: int, xp):
    return (assignment.reshape(-1)[:, None] == xp.arange(n_classes)[None, :]).astype(xp.float32)


def vote_scores(activity: Any, assignment: Any, n_classes: int) -> np.ndarray:
    """Mean response of the neurons assigned to each class: ``(samples, n_classes)``; 0 for a class with no neuron.

    Args:
        activity: ``(samples, *neuron_shape)`` responses.
        assignment: ``neuron_shape`` class of each neuron (``-1`` = none), e.g. from :func:`assign_labels`.
        n_classes: number of classes.
    """
    assignment = np.asarray(assignment)
    a = _flat_activity(activity, assignment.shape)
    onehot = _one_hot(assignment, n_classes, np).astype(np.float64)
    return a @ onehot / np.maximum(onehot.sum(axis=0), 1.0)


def class_proportions(activity: Any, labels: Any, n_classes: int) -> np.ndarray:
    """How each neuron's response divides among the classes: ``(n_classes, *neuron_shape)``.

    ``p[c, j] = m[c, j] / sum_c' m[c', j]`` with ``m[c, j]`` neuron ``j``'s mean response to the samples of class
    ``c`` (0 for a class without samples); a neuron that never responded has ``p = 0`` for every class. The
    proportions of Hazan et al. (2018, *Front. Neuroinform.* 12:89; BindsNET's ``proportion_weighting``), used by
    :func:`proportion_scores`. Same arguments and errors as :func:`assign_labels`.
    """
    sums, counts = _class_totals(activity, labels, n_classes)
    means = np.zeros_like(sums)
    np.divide(sums, counts, out=means, where=counts > 0)
    total = means.sum(axis=0)
    p = np.where(total > 0, means / np.where(total > 0, total, 1.0), 0.0)
    return p.reshape(n_classes, *np.asarray(activity).shape[1:])


def proportion_scores(activity: Any, proportions: Any) -> np.ndarray:
    """Every neuron votes for every class in proportion to its share of that class (:func:`class_proportions`):
    ``scores[s, c] = sum_j activity[s, j] p[c, j]``, shape ``(samples, n_classes)``.

    Diehl & Cook's vote (:func:`vote_scores`) counts each neuron for its one best class only; BindsNET's proportion
    weighting (Hazan et al. 2018) weights the neurons assigned to a class by their proportion of it. Here no neuron's
    response is dropped: a neuron that answers to both 4 and 9 counts for both, as much as it answered to each.
    """
    p = np.asarray(proportions, np.float64)
    a = _flat_activity(activity, p.shape[1:])
    return a @ p.reshape(len(p), -1).T


def class_rates(activity: Any, labels: Any, n_classes: int) -> np.ndarray:
    """Each neuron's expected spike count per class: ``(n_classes, *neuron_shape)``, for :func:`likelihood_scores`.

    ``r[c, j] = (S[c, j] + 1/2) / n_c`` with ``S[c, j]`` neuron ``j``'s total count over the ``n_c`` samples of class
    ``c``: the posterior mean of a Poisson rate under Jeffreys' prior, so that a neuron never seen to answer a class
    gets a small rate (half a spike over the class's samples) instead of 0, and one spike does not rule the class
    out. A class without samples gets ``nan`` (never predicted). ``activity`` holds spike counts of one presentation
    per sample, as the samples to classify will. Same arguments and errors as :func:`assign_labels`.
    """
    sums, counts = _class_totals(activity, labels, n_classes)
    rates = np.full_like(sums, np.nan)
    np.divide(sums + 0.5, counts, out=rates, where=counts > 0)
    return rates.reshape(n_classes, *np.asarray(activity).shape[1:])


def likelihood_scores(activity: Any, rates: Any) -> np.ndarray:
    """Log-likelihood of each sample's counts under each class: ``(samples, n_classes)``.

    With the neurons' counts independent and Poisson with means ``rates[c]`` (:func:`class_rates`) given class
    ``c``: ``scores[s, c] = sum_j (a[s, j] log r[c, j] - r[c, j])``, the log-likelihood up to a term that does not
    depend on the class; the class of highest score is the maximum-likelihood decoder of a population of independent
    Poisson neurons (Dayan & Abbott 2001, *Theoretical Neuroscience*, section 3.3). Unlike :func:`vote_scores` and
    :func:`proportion_scores` a neuron's silence counts too: a neuron that answers a class strongly and stays silent
    is evidence against that class. A class without samples (``nan`` rates) scores ``-inf``.

    Raises:
        ValueError: a rate <= 0, or ``activity`` not ``(samples, *neuron_shape)`` of the rates.
    """
    r = np.asarray(rates, np.float64)
    a = _flat_activity(activity, r.shape[1:])
    r = r.reshape(len(r), -1)
    known = np.all(np.isfinite(r), axis=1)
    safe = np.where(known[:, None], r, 1.0)
    if np.any(safe <= 0):
        raise ValueError("rates must be > 0 for every neuron of a class with samples (a rate of 0 makes one spike "
                         "rule the class out); class_rates gives every rate half a spike over the class's samples")
    scores = a @ np.log(safe).T - safe.sum(axis=1)[None, :]
    return np.where(known[None, :], scores, -np.inf)


def predict(activity: Any, assignment: Any, n_classes: int, *, proportions: Any = None,
            rates: Any = None) -> np.ndarray:
    """Predicted class of each sample: the class with the highest :func:`vote_scores` (ties: the smaller class),
    or ``-1`` when no assigned neuron responded (a silent network never gets a free guess). Shape ``(samples,)``.
    With ``proportions`` (from :func:`class_proportions`), the highest :func:`proportion_scores` instead; with
    ``rates`` (from :func:`class_rates`), the highest :func:`likelihood_scores` (``-1`` for a sample without any
    spike, and for every sample when no class has rates)."""
    if rates is not None:
        scores = likelihood_scores(activity, rates)
        silent = ~np.any(_flat_activity(activity) > 0, axis=1) | ~np.isfinite(scores.max(axis=1))
        return np.where(silent, -1, scores.argmax(axis=1)).astype(np.int32)
    if proportions is not None:
        scores = proportion_scores(activity, proportions)
    else:
        scores = vote_scores(activity, assignment, n_classes)
    return np.where(scores.max(axis=1) > 0, scores.argmax(axis=1), -1).astype(np.int32)


def accuracy(predictions: Any, labels: Any) -> float:
    """Fraction of ``predictions`` equal to ``labels`` (both ``(samples,)``); ``-1`` predictions count as wrong."""
    p, y = np.asarray(predictions), np.asarray(labels)
    if p.shape != y.shape:
        raise ValueError(f"predictions have shape {list(p.shape)} but labels {list(y.shape)}; "
                         "give one of each per sample")
    return float(np.mean(p == y)) if p.size else math.nan


@spark.params
class VoteDecoderParams:
    n_classes: int = spark.param(10, ge=1, doc="number of classes")
    labels: tuple[int, ...] = spark.param((), ge=-1, doc="class of each neuron (-1 = none), in the neurons' flat "
                                          "order; empty = every neuron unassigned until assign() is called")


class VoteDecoder(spark.Decoder):
    """Classification by vote (Diehl & Cook 2015, *Front. Comput. Neurosci.* 9:99).

    Each neuron has a class (``assignment``, ``-1`` = none), usually from :func:`assign_labels` on the responses to
    labelled samples: the class it responds to most. Each step, with ``a`` the activity read (e.g. spike counts from
    ``spike_count``, or rates from ``rate``)::

        scores[c] = mean of a over the neurons of class c        (0 for a class with no neuron)
        label     = argmax_c scores[c]  (ties: the smaller class), or -1 when every score is 0

    The offline counterparts :func:`vote_scores` and :func:`predict` compute the same from recorded arrays. Set the
    assignment with ``assign(...)`` (it is :class:`spark.Learned` state, saved by ``Brain.save_state``) or the
    ``labels`` parameter.

    State: ``assignment`` (int32, the node's shape).

    Ports:
        activity (in, Signal): response of each neuron, shape ``shape``.
        scores (out, Signal): mean response per class, shape ``(n_classes,)``.
        label (out, Signal): the predicted class (``-1``: no vote), shape ``(1,)``.
    """

    name = "vote"
    Params = VoteDecoderParams
    inputs = {"activity": spark.Port(spark.Signal, "response of each neuron (spike counts or rates)",
                                     optional=False)}
    outputs = {
        "scores": spark.Port(spark.Signal, "mean response of the neurons of each class"),
        "label": spark.Port(spark.Signal, "predicted class, or -1 when no assigned neuron responded"),
    }

    @classmethod
    def check_shape(cls, params, shape):
        n = math.prod(shape)
        if params.labels and len(params.labels) != n:
            return f"labels has {len(params.labels)} values for {n} neurons; give one per neuron or none"
        if params.labels and max(params.labels) >= params.n_classes:
            return f"labels has class {max(params.labels)} but n_classes = {params.n_classes}; raise n_classes"
        return None

    @classmethod
    def port_shapes(cls, params, shape):
        return {"activity": shape, "scores": (params.n_classes,), "label": (1,)}

    @classmethod
    def infer_shape(cls, params, connected):
        return tuple(connected["activity"]) if "activity" in connected else None

    def __init__(self, shape, *, params=None, rngs=None, dt=None, **values):
        super().__init__(shape, params=params, rngs=rngs, dt=dt, **values)
        init = np.asarray(self.params.labels or [-1] * math.prod(self.shape), np.int32).reshape(self.shape)
        self.assignment = spark.Learned(jnp.asarray(init))

    def assign(self, assignment: Any) -> None:
        """Set every neuron's class (``-1`` = none): an int array of the node's shape, e.g. from
        :func:`assign_labels`."""
        a = np.asarray(assignment)
        if a.shape != self.shape:
            raise ValueError(f"{self.name}: assignment has shape {list(a.shape)} but the node has {list(self.shape)}")
        if a.size and (a.min() < -1 or a.max() >= self.params.n_classes):
            raise ValueError(f"{self.name}: classes must be -1 or in [0, {self.params.n_classes}); "
                             f"got {a.min()} to {a.max()}")
        self.assignment[...] = jnp.asarray(a, jnp.int32)

    def __call__(self, *, dt, activity):
        expect_shape(self.name, "activity", activity, self.shape)
        onehot = _one_hot(self.assignment[...], self.params.n_classes, jnp)
        scores = activity.reshape(-1).astype(jnp.float32) @ onehot / jnp.maximum(onehot.sum(axis=0), 1.0)
        label = jnp.where(scores.max() > 0, jnp.argmax(scores), -1).astype(jnp.float32)
        return {"scores": scores, "label": label.reshape(1)}
