"""Current-based synapse with a difference-of-exponentials (rise and decay) current."""

from __future__ import annotations

import math

import jax.numpy as jnp

import spark

from .projection import Projection, ProjectionParams, decay


@spark.params
class DualExpSynapseParams(ProjectionParams):
    tau_rise: float = spark.param(1.0, unit="ms", doc="rise time constant", gt=0)
    tau_decay: float = spark.param(5.0, unit="ms", doc="decay time constant (must differ from tau_rise)", gt=0)


class DualExpSynapse(Projection):
    """Dual-exponential current synapse, normalised so that one spike's current peaks at ``w``.

    ``i(t) = w N (e^(-(t - t_s)/tau_decay) - e^(-(t - t_s)/tau_rise))`` with
    ``N = 1 / (e^(-t_p/tau_decay) - e^(-t_p/tau_rise))`` and peak time
    ``t_p = tau_decay tau_rise ln(tau_decay / tau_rise) / (tau_decay - tau_rise)``.
    Two exactly decaying states ``a`` (tau_decay) and ``b`` (tau_rise) both jump by ``w N``; ``i = a - b``.

    Ports:
        pre (in, Spikes): presynaptic spikes, shape ``(n_pre,)``.
        i (out, Current, pA): synaptic current, shape ``(n_post,)``.
    """

    name = "dual_exp_synapse"
    Params = DualExpSynapseParams
    inputs = {"pre": spark.Port(spark.Spikes, "presynaptic spikes", optional=False)}
    outputs = {"i": spark.Port(spark.Current, "postsynaptic current (pA)")}

    def __init__(self, shape, *, params=None, rngs=None, dt=None, **values):
        super().__init__(shape, params=params, rngs=rngs, dt=dt, **values)
        p = self.params
        if math.isclose(p.tau_rise, p.tau_decay, rel_tol=1e-6):
            raise spark.ParamError(f"{self.name}: tau_rise = tau_decay = {p.tau_decay} ms; make them differ "
                                   "(for equal time constants use alpha_synapse)")
        td, tr = p.tau_decay, p.tau_rise
        t_peak = td * tr * math.log(td / tr) / (td - tr)
        self.norm = 1.0 / (math.exp(-t_peak / td) - math.exp(-t_peak / tr))
        n_post = self.shape[1]
        self.a = spark.State(jnp.zeros((n_post,), jnp.float32))
        self.b = spark.State(jnp.zeros((n_post,), jnp.float32))

    def __call__(self, *, dt, pre):
        p = self.params
        jump = self.norm * self.deliver(pre)
        a = self.a[...] * decay(dt, p.tau_decay) + jump
        b = self.b[...] * decay(dt, p.tau_rise) + jump
        self.a[...], self.b[...] = a, b
        return {"i": a - b}
