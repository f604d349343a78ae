"""Conductance-based synapse with an exponentially decaying conductance."""

from __future__ import annotations

import jax.numpy as jnp

import spark

from .projection import Projection, ProjectionParams, decay


@spark.params
class ExpConductanceParams(ProjectionParams):
    tau_syn: float = spark.param(5.0, unit="ms", doc="decay time constant of the conductance", gt=0)
    weight: float = spark.param(1.0, unit="nS", doc="initial weight (conductance jump per spike) or mean", ge=0)
    weight_std: float = spark.param(0.0, unit="nS", ge=0, doc="standard deviation of initial weights")
    weights: tuple[float, ...] = spark.param((), unit="nS", doc="explicit connectivity: weight of each synapse", ge=0)


class ExpConductance(Projection):
    """Exponential conductance synapse: ``tau_syn dg/dt = -g``, each spike adds ``w`` (nS).

    The driving force lives in the soma: connect ``g`` to a conductance input such as ``lif_cond.g_exc`` (reversal
    potential ``e_exc``) or ``lif_cond.g_inh`` (``e_inh``), as NEST's ``iaf_cond_exp`` and Brian2's COBA example do;
    the soma integrates ``g (E - v)`` exactly over the step with ``g`` held constant.

    Ports:
        pre (in, Spikes): presynaptic spikes, shape ``(n_pre,)``.
        g (out, Conductance, nS): synaptic conductance, shape ``(n_post,)``.
    """

    name = "exp_conductance"
    Params = ExpConductanceParams
    inputs = {"pre": spark.Port(spark.Spikes, "presynaptic spikes", optional=False)}
    outputs = {"g": spark.Port(spark.Conductance, "postsynaptic conductance (nS)")}

    def __init__(self, shape, *, params=None, rngs=None, dt=None, **values):
        super().__init__(shape, params=params, rngs=rngs, dt=dt, **values)
        self.g = spark.State(jnp.zeros((self.shape[1],), jnp.float32))

    def __call__(self, *, dt, pre):
        g = self.deliver(pre, onto=self.g[...], factor=decay(dt, self.params.tau_syn))
        self.g[...] = g
        return {"g": g}
