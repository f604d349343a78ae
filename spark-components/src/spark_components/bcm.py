"""BCM rule on spike traces with a sliding threshold (Bienenstock, Cooper & Munro 1982)."""

from __future__ import annotations

import math

import jax.numpy as jnp

import spark

from ._learning import POST_SPIKES, PRE_SPIKES, check_bounds


@spark.params
class BCMParams:
    eta: float = spark.param(1e-4, unit="pA/ms", doc="learning rate", ge=0)
    tau_pre: float = spark.param(20.0, unit="ms", doc="decay time constant of the presynaptic trace x", gt=0)
    tau_post: float = spark.param(20.0, unit="ms", doc="decay time constant of the postsynaptic trace y", gt=0)
    tau_theta: float = spark.param(1000.0, unit="ms", doc="time constant of the sliding threshold theta = <y^2>",
                                   gt=0)
    theta_init: float = spark.param(0.0, doc="initial threshold (units of y^2)", ge=0)
    w_min: float = spark.param(0.0, unit="pA", doc="lower weight bound")
    w_max: float = spark.param(100.0, unit="pA", doc="upper weight bound")


class BCM(spark.LearningRule):
    """BCM plasticity (Bienenstock, Cooper & Munro 1982; Intrator & Cooper 1992) on spike traces.

    ``x[i]`` and ``y[j]`` are the pre- and postsynaptic spike traces (decay with ``tau_pre`` / ``tau_post``, +1 per
    spike). The threshold of each postsynaptic neuron slides with the mean of ``y^2``:
    ``tau_theta dtheta/dt = y^2 - theta``, integrated exactly for ``y`` held over the step. Each step, after the
    traces and the threshold take this step's spikes::

        theta[j] = y[j]^2 + (theta[j] - y[j]^2) exp(-dt / tau_theta)
        dw[i, j] = eta dt x[i] y[j] (y[j] - theta[j])

    so a synapse is potentiated while ``y > theta`` and depressed while ``0 < y < theta``; because ``theta``
    grows with ``<y^2>``, sustained high activity raises the threshold and stabilises learning. Weights are
    clipped to ``[w_min, w_max]``. The threshold is the state variable ``theta`` (record ``"<rule>.theta"``).

    Ports:
        pre (in, Spikes): the synapse's presynaptic spikes, shape ``(n_pre,)``.
        post (in, Spikes): the postsynaptic population's spikes, shape ``(n_post,)``.
    """

    name = "bcm"
    partitionable = True  # per postsynaptic neuron (weight column): splits across devices (docs/scaling.md)
    Params = BCMParams
    inputs = {
        "pre": PRE_SPIKES,
        "post": POST_SPIKES,
    }
    outputs = {}

    def __init__(self, shape, *, params=None, rngs=None, dt=None, **values):
        super().__init__(shape, params=params, rngs=rngs, dt=dt, **values)
        p = self.params
        check_bounds(self.name, p.w_min, p.w_max, strict=False)
        n_pre, n_post = self.shape
        self.x_pre = spark.State(jnp.zeros((n_pre,), jnp.float32))
        self.x_post = spark.State(jnp.zeros((n_post,), jnp.float32))
        self.theta = spark.Learned(jnp.full((n_post,), p.theta_init, jnp.float32))

    def __call__(self, synapse, *, dt, pre, post):
        p = self.params
        x = self.x_pre[...] * math.exp(-dt / p.tau_pre) + pre.astype(jnp.float32)
        y = self.x_post[...] * math.exp(-dt / p.tau_post) + post.astype(jnp.float32)
        y2 = y * y
        theta = y2 + (self.theta[...] - y2) * math.exp(-dt / p.tau_theta)
        self.x_pre[...] = x
        self.x_post[...] = y
        self.theta[...] = theta
        dw = synapse.outer(x, (p.eta * dt) * y * (y - theta))
        return synapse.clip(synapse.weight[...] + dw, p.w_min, p.w_max)
