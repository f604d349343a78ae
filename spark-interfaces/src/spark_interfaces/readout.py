"""Linear readout: weights fitted offline by ridge regression on recorded activity, applied by a decoder."""

from __future__ import annotations

import math
from typing import Any

import attrs
import jax.numpy as jnp
import numpy as np

import spark

from ._common import expect_shape


@attrs.frozen
class RidgeFit:
    """A fitted linear map ``y = x @ weight + bias``.

    ``weight``: ``(n_features, n_outputs)``; ``bias``: ``(n_outputs,)``; ``alpha``: the penalty it was fitted with.
    """

    weight: np.ndarray
    bias: np.ndarray
    alpha: float

    def predict(self, features: Any) -> np.ndarray:
        """``features @ weight + bias`` for ``(..., n_features)`` features (float64)."""
        x = np.asarray(features, np.float64)
        if x.shape[-1:] != self.weight.shape[:1]:
            raise ValueError(f"features have shape {list(x.shape)} but the fit has {self.weight.shape[0]} features; "
                             f"give (..., {self.weight.shape[0]})")
        return x @ self.weight + self.bias


def fit_ridge(features: Any, targets: Any, alpha: float = 1e-3, *, bias: bool = True) -> RidgeFit:
    """Least squares with an L2 penalty (ridge regression; reservoir computing's readout, Jaeger 2001).

    Minimises ``||X W + b - Y||^2 + alpha ||W||^2`` (the bias is not penalised): with ``X`` and ``Y`` centred
    (when ``bias``), ``W = (X^T X + alpha I)^-1 X^T Y`` and ``b = mean(Y) - mean(X) W``. Solved in float64.

    Args:
        features: ``(..., n_features)`` recorded activity, e.g. ``rate`` decoder output recorded as
            ``(trials, steps, n)``; every leading index is one sample.
        targets: ``(..., n_outputs)`` (or ``(...)`` for one output) with the same leading axes.
        alpha: the penalty (>= 0; 0 = ordinary least squares, solved by ``lstsq``).
        bias: fit an intercept.

    Returns:
        a :class:`RidgeFit`; load it into a ``linear_readout`` node with ``set_weights(fit)``.
    """
    if not (alpha >= 0 and math.isfinite(alpha)):
        raise ValueError(f"alpha = {alpha!r} must be a finite number >= 0")
    x = np.asarray(features, np.float64)
    y = np.asarray(targets, np.float64)
    if y.shape == x.shape[:-1]:
        y = y[..., None]
    if x.ndim < 2 or y.shape[:-1] != x.shape[:-1]:
        raise ValueError(f"features have shape {list(x.shape)} and targets {list(y.shape)}: give (..., n_features) "
                         f"and (..., n_outputs) with the same leading axes (one row per sample)")
    for name, a in (("features", x), ("targets", y)):
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} contain NaN or infinity (first at {np.argwhere(~np.isfinite(a))[0].tolist()})")
    x, y = x.reshape(-1, x.shape[-1]), y.reshape(-1, y.shape[-1])
    x_mean = x.mean(axis=0) if bias else np.zeros(x.shape[1])
    y_mean = y.mean(axis=0) if bias else np.zeros(y.shape[1])
    xc, yc = x - x_mean, y - y_mean
    if alpha > 0:
        w = np.linalg.solve(xc.T @ xc + alpha * np.eye(x.shape[1]), xc.T @ yc)
    else:
        w = np.linalg.lstsq(xc, yc, rcond=None)[0]
    return RidgeFit(weight=w, bias=y_mean - x_mean @ w, alpha=float(alpha))


@spark.params
class LinearReadoutParams:
    n_out: int = spark.param(1, ge=1, doc="number of outputs")


class LinearReadout(spark.Decoder):
    """A linear map of the activity: ``y = x @ weight + bias``, with weights fitted offline (:func:`fit_ridge`).

    Record the features (e.g. the ``rate`` decoder's output) and the targets, fit on the host, then load the fit::

        rec = brain.run(inputs, record=["rate.rate"], batched=True)
        fit = fit_ridge(rec["rate.rate"], targets, alpha=1e-2)
        brain.nodes["readout"].set_weights(fit)

    ``x`` is flattened in C order, so a node of shape ``(a, b)`` has ``a * b`` features. Before ``set_weights`` every
    weight is 0.

    State: ``weight`` ``(n_in, n_out)`` and ``bias`` ``(n_out,)`` (:class:`spark.Learned`, saved with the state).

    Ports:
        x (in, Signal): features, shape ``shape``.
        y (out, Signal): the readout, shape ``(n_out,)``.
    """

    name = "linear_readout"
    Params = LinearReadoutParams
    inputs = {"x": spark.Port(spark.Signal, "features (e.g. filtered rates)", optional=False)}
    outputs = {"y": spark.Port(spark.Signal, "x @ weight + bias")}

    @classmethod
    def port_shapes(cls, params, shape):
        return {"x": shape, "y": (params.n_out,)}

    @classmethod
    def infer_shape(cls, params, connected):
        return tuple(connected["x"]) if "x" in connected else None

    def __init__(self, shape, *, params=None, rngs=None, dt=None, **values):
        super().__init__(shape, params=params, rngs=rngs, dt=dt, **values)
        n_in, n_out = math.prod(self.shape), self.params.n_out
        self.weight = spark.Learned(jnp.zeros((n_in, n_out), jnp.float32))
        self.bias = spark.Learned(jnp.zeros((n_out,), jnp.float32))

    def set_weights(self, weight: Any, bias: Any = None) -> None:
        """Load ``weight`` ``(n_in, n_out)`` and ``bias`` ``(n_out,)`` (default 0), or a :class:`RidgeFit`."""
        if isinstance(weight, RidgeFit):
            weight, bias = weight.weight, weight.bias if bias is None else bias
        w = np.asarray(weight, np.float32)
        b = np.zeros(self.params.n_out, np.float32) if bias is None else np.asarray(bias, np.float32)
        want_w, want_b = tuple(self.weight[...].shape), (self.params.n_out,)
        if w.shape != want_w or b.shape != want_b:
            raise ValueError(f"{self.name}: weight {list(w.shape)} and bias {list(b.shape)} do not fit a node with "
                             f"{want_w[0]} features (shape {list(self.shape)}) and n_out = {want_b[0]}; "
                             f"give weight {list(want_w)} and bias {list(want_b)}")
        if not (np.all(np.isfinite(w)) and np.all(np.isfinite(b))):
            raise ValueError(f"{self.name}: weight or bias contains NaN or infinity")
        self.weight[...] = jnp.asarray(w)
        self.bias[...] = jnp.asarray(b)

    def __call__(self, *, dt, x):
        expect_shape(self.name, "x", x, self.shape)
        return {"y": x.reshape(-1).astype(jnp.float32) @ self.weight[...] + self.bias[...]}
