"""Oja's rule on spike traces: Hebbian learning with a decay that keeps each neuron's weight vector normalised."""

from __future__ import annotations

import math

import jax.numpy as jnp

import spark

from ._learning import PRE_SPIKES, check_bounds


@spark.params
class OjaParams:
    eta: float = spark.param(1e-3, unit="pA/ms", doc="learning rate", ge=0)
    tau_pre: float = spark.param(20.0, unit="ms", doc="decay time constant of the presynaptic trace x", gt=0)
    tau_post: float = spark.param(20.0, unit="ms", doc="decay time constant of the postsynaptic trace (y = trace)",
                                  gt=0)
    w_scale: float = spark.param(1.0, unit="pA", doc="norm each postsynaptic neuron's incoming weight vector "
                                 "converges to", gt=0)
    y: str = spark.param("trace", choices=("trace", "linear"),
                         doc="postsynaptic activity: trace of the post spikes, or the linear neuron sum_i w_ij x_i "
                             "/ w_scale")
    w_min: float | None = spark.param(None, unit="pA", doc="lower weight bound (none by default)")
    w_max: float | None = spark.param(None, unit="pA", doc="upper weight bound (none by default)")


class Oja(spark.LearningRule):
    """Oja's rule (Oja 1982, J. Math. Biol. 15:267): ``dw/dt = eta y (x - y w / w_scale)``.

    ``x[i]`` is the presynaptic spike trace (decays with ``tau_pre``, +1 per spike). The postsynaptic activity
    ``y[j]`` is either the postsynaptic spike trace (``y = "trace"``, ``tau_post``) or Oja's linear neuron on the
    presynaptic traces, ``y[j] = sum_i w[i, j] x[i] / w_scale`` over existing synapses (``y = "linear"``; the
    ``post`` port is then not read). Each step, after the traces take this step's spikes::

        dw[i, j] = eta dt y[j] (x[i] - y[j] w[i, j] / w_scale)

    For the linear neuron the weight vector of each postsynaptic neuron converges to ``w_scale`` times the
    unit-norm principal eigenvector of the input correlation ``C = <x x^T>`` (for ``eta`` small enough), up to
    sign. ``w_min`` / ``w_max``, when set, clip the weights after each step.

    Ports:
        pre (in, Spikes): the synapse's presynaptic spikes, shape ``(n_pre,)``.
        post (in, Spikes): the postsynaptic population's spikes, shape ``(n_post,)``; read only when
            ``y = "trace"`` (unconnected, it reads zeros and nothing is learned).
    """

    name = "oja"
    partitionable = True  # per postsynaptic neuron (weight column): splits across devices (docs/scaling.md)
    Params = OjaParams
    inputs = {
        "pre": PRE_SPIKES,
        "post": spark.Port(spark.Spikes, "postsynaptic spikes (read when y = trace)"),
    }
    outputs = {}

    def __init__(self, shape, *, params=None, rngs=None, dt=None, **values):
        super().__init__(shape, params=params, rngs=rngs, dt=dt, **values)
        p = self.params
        if p.w_min is not None and p.w_max is not None:
            check_bounds(self.name, p.w_min, p.w_max, strict=False)
        n_pre, n_post = self.shape
        self.x_pre = spark.State(jnp.zeros((n_pre,), jnp.float32))
        self.x_post = spark.State(jnp.zeros((n_post,), jnp.float32))

    def __call__(self, synapse, *, dt, pre, post):
        p = self.params
        n_pre, n_post = self.shape
        x = self.x_pre[...] * math.exp(-dt / p.tau_pre) + pre.astype(jnp.float32)
        self.x_pre[...] = x
        w = synapse.weight[...]
        if p.y == "trace":
            y = self.x_post[...] * math.exp(-dt / p.tau_post) + post.astype(jnp.float32)
            self.x_post[...] = y
        else:
            y = synapse.sum_incoming(synapse.outer(x, jnp.ones((n_post,), jnp.float32)) * w) * (1.0 / p.w_scale)
        k = p.eta * dt
        w = w + synapse.outer(x, k * y) - synapse.outer(jnp.ones((n_pre,), jnp.float32), (k / p.w_scale) * y * y) * w
        if p.w_min is not None or p.w_max is not None:
            w = synapse.clip(w, -jnp.inf if p.w_min is None else p.w_min, jnp.inf if p.w_max is None else p.w_max)
        return w
