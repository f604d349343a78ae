"""Current-based synapse with an exponentially decaying current."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import nnx

import spark


@spark.params
class ExpSynapseParams:
    tau_syn: float = spark.param(5.0, unit="ms", doc="decay time constant of the synaptic current", gt=0)
    weight: float = spark.param(10.0, unit="pA", doc="initial weight of every existing synapse (current jump per spike)")
    p_connect: float = spark.param(1.0, doc="probability that a pre/post pair is connected (1 = all-to-all)", ge=0, le=1)
    autapses: bool = spark.param(True, doc="allow i -> i synapses (matters when pre and post are one population)")


class ExpSynapse(spark.Synapse):
    """Exponential current synapse, dense storage.

    ``tau_syn di/dt = -i``; a spike of presynaptic neuron ``j`` adds ``w[j, k]`` (pA) to ``i[k]``. The current
    decays exactly over a step, then this step's arriving spikes are added:
    ``i(t) = i(t - dt) exp(-dt / tau_syn) + pre(t) @ w``.

    Shape ``(n_pre, n_post)``; absent synapses hold weight 0 and stay 0 under learning (``mask``).

    Ports:
        pre (in, Spikes): presynaptic spikes, shape ``(n_pre,)``.
        i (out, Current, pA): synaptic current into the postsynaptic population, shape ``(n_post,)``.
    """

    name = "exp_synapse"
    Params = ExpSynapseParams
    inputs = {"pre": spark.Port(spark.Spikes, "presynaptic spikes", optional=False)}
    outputs = {"i": spark.Port(spark.Current, "postsynaptic current (pA)")}

    def __init__(self, shape, *, params=None, rngs=None, **values):
        super().__init__(shape, params=params, rngs=rngs, **values)
        p = self.params
        n_pre, n_post = self.shape
        rngs = rngs if rngs is not None else nnx.Rngs(0)
        mask = jax.random.uniform(rngs.params(), (n_pre, n_post)) < p.p_connect
        if not p.autapses and n_pre == n_post:
            mask = mask & ~jnp.eye(n_pre, dtype=bool)
        self.mask = spark.Const(mask)
        self.weight = spark.Weight(jnp.where(mask, jnp.float32(p.weight), 0.0))
        self.i = spark.State(jnp.zeros((n_post,), jnp.float32))

    def __call__(self, *, dt, pre):
        decay = math.exp(-dt / self.params.tau_syn)
        i = self.i[...] * decay + pre.astype(jnp.float32) @ self.weight[...]
        self.i[...] = i
        return {"i": i}

    def outer(self, a_pre, b_post):
        return jnp.where(self.mask[...], a_pre[:, None] * b_post[None, :], 0.0)

    def clip(self, w, lo, hi):
        return jnp.where(self.mask[...], jnp.clip(w, lo, hi), 0.0)
