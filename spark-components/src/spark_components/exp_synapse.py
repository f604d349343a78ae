"""Current-based synapse with an exponentially decaying current."""

from __future__ import annotations

import jax.numpy as jnp

import spark

from .projection import Projection, ProjectionParams, decay


@spark.params
class ExpSynapseParams(ProjectionParams):
    tau_syn: float = spark.param(5.0, unit="ms", doc="decay time constant of the synaptic current", gt=0)


class ExpSynapse(Projection):
    """Exponential current synapse.

    ``tau_syn di/dt = -i``; a spike of presynaptic neuron ``j`` adds ``w[j, k]`` (pA) to ``i[k]``. The current
    decays exactly over a step, then this step's arriving spikes are added:
    ``i(t) = i(t - dt) exp(-dt / tau_syn) + sum_j pre_j(t) w[j, k]``.
    Connectivity, weights, storage and per-synapse delays: see :class:`~spark_components.projection.Projection`.

    Ports:
        pre (in, Spikes): presynaptic spikes, shape ``(n_pre,)``.
        i (out, Current, pA): synaptic current into the postsynaptic population, shape ``(n_post,)``.
    """

    name = "exp_synapse"
    Params = ExpSynapseParams
    inputs = {"pre": spark.Port(spark.Spikes, "presynaptic spikes", optional=False)}
    outputs = {"i": spark.Port(spark.Current, "postsynaptic current (pA)")}

    def __init__(self, shape, *, params=None, rngs=None, dt=None, **values):
        super().__init__(shape, params=params, rngs=rngs, dt=dt, **values)
        self.i = spark.State(jnp.zeros((self.shape[1],), jnp.float32))

    def __call__(self, *, dt, pre):
        i = self.deliver(pre, onto=self.i[...], factor=decay(dt, self.params.tau_syn))
        self.i[...] = i
        return {"i": i}
