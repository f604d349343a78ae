"""Conductance-based leaky integrate-and-fire soma."""

from __future__ import annotations

import jax.numpy as jnp

import spark
import spark.surrogate

from ._ode import conductance_v, fire, ref_steps
from .lif import initial_v

#: the input ports of conductance-based somas (shared with adaptive_lif_cond)
CONDUCTANCE_INPUTS = {
    "g_exc": spark.Port(spark.Conductance, "excitatory conductance (nS), reversal e_exc"),
    "g_inh": spark.Port(spark.Conductance, "inhibitory conductance (nS), reversal e_inh"),
    "i_syn": spark.Port(spark.Current, "summed input current (pA)"),
}


@spark.params
class LIFCondParams:
    __spark_order__ = (("v_reset", "<", "v_thresh"),)
    tau_m: float = spark.param(20.0, unit="ms", doc="membrane time constant (c_m / g_leak)", gt=0)
    c_m: float = spark.param(200.0, unit="pF", doc="membrane capacitance", gt=0)
    v_rest: float = spark.param(-60.0, unit="mV", doc="leak reversal potential")
    v_reset: float = spark.param(-60.0, unit="mV", doc="potential after a spike")
    v_thresh: float = spark.param(-50.0, unit="mV", doc="spike threshold")
    t_ref: float = spark.param(5.0, unit="ms", doc="absolute refractory period (rounded half-up to steps)", ge=0)
    e_exc: float = spark.param(0.0, unit="mV", doc="reversal potential of excitatory conductances")
    e_inh: float = spark.param(-80.0, unit="mV", doc="reversal potential of inhibitory conductances")
    v_init: float | None = spark.param(None, unit="mV", doc="initial potential (default: v_rest)")
    v_init_jitter: float = spark.param(0.0, unit="mV", ge=0,
                                       doc="initial potentials drawn uniformly from [v_init, v_init + v_init_jitter]")
    i_bias: float = spark.param(0.0, unit="pA", doc="constant bias current")
    surrogate: str = spark.surrogate.param()
    surrogate_slope: float = spark.surrogate.slope_param()


class LIFCond(spark.Soma):
    """Conductance-based LIF neurons (as in Vogels & Abbott 2005 and NEST's ``iaf_cond_exp``).

    ``c_m dv/dt = g_L (v_rest - v) + g_exc (e_exc - v) + g_inh (e_inh - v) + i_syn + i_bias`` with ``g_L = c_m / tau_m``.
    With the conductances held over a step this is linear in ``v`` and is integrated exactly:
    ``v <- v_inf + (v - v_inf) exp(-dt g_tot / c_m)``, ``g_tot = g_L + g_exc + g_inh``,
    ``v_inf = (g_L v_rest + g_exc e_exc + g_inh e_inh + i) / g_tot``. Spikes and refractoriness as in ``lif``.

    Ports:
        g_exc (in, Conductance, nS), g_inh (in, Conductance, nS): summed synaptic conductances.
        i_syn (in, Current, pA): summed current input.
        spikes (out, Spikes), v (out, Voltage, mV).
    """

    name = "lif_cond"
    partitionable = True  # per neuron: splits across devices (docs/scaling.md)
    Params = LIFCondParams
    inputs = CONDUCTANCE_INPUTS
    outputs = {
        "spikes": spark.Port(spark.Spikes, "spikes emitted this step"),
        "v": spark.Port(spark.Voltage, "membrane potential after the step (mV)"),
    }

    def __init__(self, shape, *, params=None, rngs=None, dt=None, **values):
        super().__init__(shape, params=params, rngs=rngs, dt=dt, **values)
        p = self.params
        self.v = spark.State(initial_v(self.shape, p, rngs))
        self.refractory = spark.State(jnp.zeros(self.shape, jnp.int32))

    def __call__(self, *, dt, g_exc, g_inh, i_syn):
        p = self.params
        active = self.refractory[...] == 0
        v = jnp.where(active, conductance_v(self.v[...], g_exc, g_inh, i_syn + p.i_bias, p, dt), p.v_reset)
        spikes, v, self.refractory[...] = fire(v, p.v_thresh, p.v_reset, self.refractory[...], ref_steps(p.t_ref, dt), **spark.surrogate.options(p))
        self.v[...] = v
        return {"spikes": spikes, "v": v}
