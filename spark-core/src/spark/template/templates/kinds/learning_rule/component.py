"""{{ cookiecutter.class_name }}: Hebbian potentiation through a presynaptic trace, with hard bounds."""

from __future__ import annotations

import math

import jax.numpy as jnp

import spark


@spark.params
class {{ cookiecutter.class_name }}Params:
    tau_pre: float = spark.param(20.0, unit="ms", doc="decay time constant of the presynaptic trace", gt=0)
    eta: float = spark.param(1.0, unit="pA", doc="weight change per postsynaptic spike for a presynaptic trace of 1",
                             ge=0)
    w_min: float = spark.param(0.0, unit="pA", doc="lower weight bound")
    w_max: float = spark.param(100.0, unit="pA", doc="upper weight bound")


class {{ cookiecutter.class_name }}(spark.LearningRule):
    """Hebbian learning through a presynaptic trace: a synapse grows when its input precedes the output.

    Each presynaptic neuron keeps a trace ``x_pre`` that decays with ``tau_pre`` (exactly, ``x <- x exp(-dt/tau_pre)``)
    and jumps by 1 at each of its spikes, before it is read, so a simultaneous pair counts fully. Each postsynaptic
    spike potentiates every synapse onto it by ``eta`` times its presynaptic trace:

        dw[j, k] = eta * x_pre[j] * post[k],    w <- clip(w + dw, w_min, w_max)

    so one presynaptic spike at ``t_pre`` and one postsynaptic spike at ``t_post >= t_pre`` change the weight by
    ``eta exp(-(t_post - t_pre) / tau_pre)``; a postsynaptic spike before the presynaptic one changes nothing. This is
    the potentiating half of pair-based STDP (Gerstner & Kistler 2002, ch. 10; Morrison, Diesmann & Gerstner 2008,
    Biol. Cybern. 98:459); the hard bound ``w_max`` keeps it from growing without limit.
    It changes weights only through ``synapse.outer`` and ``synapse.clip``, so it works on any synapse, whatever
    its storage, and never creates a synapse that does not exist.

    Ports:
        pre (in, Spikes): the synapse's presynaptic spikes (same source as the synapse), shape ``(n_pre,)``.
        post (in, Spikes): the postsynaptic population's spikes, shape ``(n_post,)``.
    """

    name = "{{ cookiecutter.component_name }}"
    Params = {{ cookiecutter.class_name }}Params
    inputs = {
        "pre": spark.Port(spark.Spikes, "presynaptic spikes (same source as the synapse's)", optional=False),
        "post": spark.Port(spark.Spikes, "postsynaptic spikes", optional=False),
    }
    outputs = {}

    def __init__(self, shape, *, params=None, rngs=None, dt=None, **values):
        super().__init__(shape, params=params, rngs=rngs, dt=dt, **values)
        self.x_pre = spark.State(jnp.zeros((self.shape[0],), jnp.float32))

    def __call__(self, synapse, *, dt, pre, post):
        p = self.params
        x_pre = self.x_pre[...] * math.exp(-dt / p.tau_pre) + pre.astype(jnp.float32)
        self.x_pre[...] = x_pre
        dw = p.eta * synapse.outer(x_pre, post.astype(jnp.float32))
        return synapse.clip(synapse.weight[...] + dw, p.w_min, p.w_max)
