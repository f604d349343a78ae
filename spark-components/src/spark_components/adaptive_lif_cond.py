"""Conductance-based leaky integrate-and-fire soma with a spike-triggered adaptive threshold (Diehl & Cook 2015)."""

from __future__ import annotations

import jax.numpy as jnp

import spark
import spark.surrogate

from ._ode import conductance_v
from .adaptive_lif import ADAPTIVE_OUTPUTS, adaptive_fire
from .lif import initial_v
from .lif_cond import CONDUCTANCE_INPUTS


@spark.params
class AdaptiveLIFCondParams:
    """Defaults: the excitatory neurons of Diehl & Cook (2015), with ``c_m / tau_m`` = 1 nS, so that conductances in
    nS are the paper's dimensionless ``ge``, ``gi``."""

    __spark_order__ = (("v_reset", "<", "v_thresh"),)
    tau_m: float = spark.param(100.0, unit="ms", doc="membrane time constant (c_m / g_leak)", gt=0)
    c_m: float = spark.param(100.0, unit="pF", doc="membrane capacitance", gt=0)
    v_rest: float = spark.param(-65.0, unit="mV", doc="leak reversal potential")
    v_reset: float = spark.param(-65.0, unit="mV", doc="potential after a spike")
    v_thresh: float = spark.param(-52.0, unit="mV", doc="spike threshold without adaptation (theta = 0)")
    t_ref: float = spark.param(5.0, unit="ms", doc="absolute refractory period (rounded half-up to steps)", ge=0)
    e_exc: float = spark.param(0.0, unit="mV", doc="reversal potential of excitatory conductances")
    e_inh: float = spark.param(-100.0, unit="mV", doc="reversal potential of inhibitory conductances")
    theta_plus: float = spark.param(0.05, unit="mV", doc="threshold increase per spike", ge=0)
    tau_theta: float = spark.param(1e7, unit="ms", doc="decay time constant of the threshold increase", gt=0)
    theta_init: float = spark.param(0.0, unit="mV", doc="initial threshold increase", ge=0)
    v_init: float | None = spark.param(None, unit="mV", doc="initial potential (default: v_rest)")
    v_init_jitter: float = spark.param(0.0, unit="mV", ge=0,
                                       doc="initial potentials drawn uniformly from [v_init, v_init + v_init_jitter]")
    i_bias: float = spark.param(0.0, unit="pA", doc="constant bias current")
    surrogate: str = spark.surrogate.param()
    surrogate_slope: float = spark.surrogate.slope_param()


class AdaptiveLIFCond(spark.Soma):
    """Conductance-based LIF neurons whose threshold jumps at each spike and relaxes back: the excitatory neurons of
    Diehl & Cook (2015), *Front. Comput. Neurosci.* 9:99.

    ``c_m dv/dt = g_L (v_rest - v) + g_exc (e_exc - v) + g_inh (e_inh - v) + i_syn + i_bias``, ``g_L = c_m / tau_m``,
    and ``tau_theta dtheta/dt = -theta``. With the conductances held over a step both are linear and are integrated
    exactly (as ``lif_cond`` and ``adaptive_lif``). The neuron spikes when ``v >= v_thresh + theta``; then ``v`` is
    set to ``v_reset`` and held there
    during ``[t*, t* + t_ref)`` (``t_ref / dt`` steps rounded half-up, the spike's step included), and ``theta``
    increases by ``theta_plus``. The threshold a step is compared with is the decayed ``theta`` of that step, before
    this step's jump. With ``theta_plus = 0`` this is ``lif_cond``.

    State: ``v`` (mV), ``refractory`` (steps left), ``theta`` (mV, a :class:`spark.Learned` variable: kept with the
    weights when dynamic state is reset, held when learning is off).

    Ports:
        g_exc (in, Conductance, nS), g_inh (in, Conductance, nS): summed synaptic conductances, shape ``shape``.
        i_syn (in, Current, pA): summed current input.
        spikes (out, Spikes), v (out, Voltage, mV), theta (out, Voltage, mV): threshold increase after the step.
    """

    name = "adaptive_lif_cond"
    partitionable = True  # per neuron: splits across devices (docs/scaling.md)
    Params = AdaptiveLIFCondParams
    inputs = CONDUCTANCE_INPUTS
    outputs = ADAPTIVE_OUTPUTS

    def __init__(self, shape, *, params=None, rngs=None, dt=None, **values):
        super().__init__(shape, params=params, rngs=rngs, dt=dt, **values)
        p = self.params
        self.v = spark.State(initial_v(self.shape, p, rngs))
        self.refractory = spark.State(jnp.zeros(self.shape, jnp.int32))
        self.theta = spark.Learned(jnp.full(self.shape, p.theta_init, jnp.float32))

    def __call__(self, *, dt, g_exc, g_inh, i_syn):
        p = self.params
        active = self.refractory[...] == 0
        v = jnp.where(active, conductance_v(self.v[...], g_exc, g_inh, i_syn + p.i_bias, p, dt), p.v_reset)
        return adaptive_fire(self, v, dt)
