"""{{ cookiecutter.class_name }}: exponential current synapse with dense weights."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import nnx

import spark


@spark.params
class {{ cookiecutter.class_name }}Params:
    tau_syn: float = spark.param(5.0, unit="ms", doc="decay time constant of the synaptic current", gt=0)
    weight: float = spark.param(20.0, unit="pA", doc="mean initial weight: the current one presynaptic spike adds")
    weight_std: float = spark.param(0.0, unit="pA", doc="standard deviation of the initial weights (normal)", ge=0)
    p_connect: float = spark.param(1.0, doc="probability that a pre/post pair is connected (1: all-to-all)", ge=0, le=1)


class {{ cookiecutter.class_name }}(spark.Synapse):
    """Exponential current synapse with dense weights.

    ``tau_syn di/dt = -i``, and a spike of presynaptic neuron ``j`` adds ``w[j, k]`` (pA) to ``i[k]``. The current
    decays exactly over a step, then this step's spikes are added:

        i(t) = i(t - dt) exp(-dt / tau_syn) + sum_j pre_j(t) w[j, k]

    so a single spike at ``t0`` gives ``i(t) = w exp(-(t - t0) / tau_syn)`` (Dayan & Abbott 2001, ch. 5.8).
    Each pre/post pair is connected with probability ``p_connect``; connected weights are drawn from
    ``N(weight, weight_std^2)``, all from ``rngs``. Absent synapses hold 0 and stay absent under learning:
    ``outer``, ``clip`` and ``sum_incoming`` mask them, so any learning rule can attach.

    Ports:
        pre (in, Spikes): presynaptic spikes, shape ``(n_pre,)``.
        i (out, Current, pA): synaptic current into the postsynaptic neurons, shape ``(n_post,)``.
    """

    name = "{{ cookiecutter.component_name }}"
    Params = {{ cookiecutter.class_name }}Params
    inputs = {"pre": spark.Port(spark.Spikes, "presynaptic spikes", optional=False)}
    outputs = {"i": spark.Port(spark.Current, "synaptic current into the postsynaptic neurons (pA)")}

    def __init__(self, shape, *, params=None, rngs=None, dt=None, **values):
        super().__init__(shape, params=params, rngs=rngs, dt=dt, **values)
        p = self.params
        key = (rngs if rngs is not None else nnx.Rngs(0)).params()
        k_weight, k_connect = jax.random.split(key)
        w = p.weight + p.weight_std * jax.random.normal(k_weight, self.shape, jnp.float32)
        connected = jax.random.bernoulli(k_connect, p.p_connect, self.shape)
        self.mask = spark.Const(connected)  # which synapses exist, fixed after construction
        self.weight = spark.Weight(jnp.where(connected, w, 0.0))  # (n_pre, n_post), pA; learning rules change it
        self.i = spark.State(jnp.zeros((self.shape[1],), jnp.float32))

    def __call__(self, *, dt, pre):
        i = self.i[...] * math.exp(-dt / self.params.tau_syn) + pre.astype(jnp.float32) @ self.weight[...]
        self.i[...] = i
        return {"i": i}

    # what learning rules use: arrays shaped like self.weight, zero where there is no synapse

    def outer(self, a_pre, b_post):
        return jnp.where(self.mask[...], a_pre[:, None] * b_post[None, :], 0.0)

    def clip(self, w, lo, hi):
        return jnp.where(self.mask[...], jnp.clip(w, lo, hi), 0.0)

    def sum_incoming(self, w):
        return jnp.where(self.mask[...], w, 0.0).sum(axis=0)
