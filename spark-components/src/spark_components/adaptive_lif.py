"""Leaky integrate-and-fire soma with a spike-triggered adaptive threshold."""

from __future__ import annotations

import math

import jax.numpy as jnp

import spark
import spark.surrogate

from ._ode import fire, ref_steps


@spark.params
class AdaptiveLIFParams:
    tau_m: float = spark.param(10.0, unit="ms", doc="membrane time constant", gt=0)
    c_m: float = spark.param(250.0, unit="pF", doc="membrane capacitance", gt=0)
    v_rest: float = spark.param(-65.0, unit="mV", doc="resting (leak reversal) potential")
    v_reset: float = spark.param(-65.0, unit="mV", doc="potential after a spike")
    v_thresh: float = spark.param(-50.0, unit="mV", doc="spike threshold without adaptation (theta = 0)")
    theta_plus: float = spark.param(1.0, unit="mV", doc="threshold increase per spike", ge=0)
    tau_theta: float = spark.param(100.0, unit="ms", doc="decay time constant of the threshold increase", gt=0)
    t_ref: float = spark.param(2.0, unit="ms", ge=0, doc="absolute refractory period (rounded half-up to whole steps)")
    v_init: float | None = spark.param(None, unit="mV", doc="initial potential (default: v_rest)")
    theta_init: float = spark.param(0.0, unit="mV", doc="initial threshold increase", ge=0)
    i_bias: float = spark.param(0.0, unit="pA", doc="constant bias current")
    surrogate: str = spark.surrogate.param()
    surrogate_slope: float = spark.surrogate.slope_param()


#: the outputs of the adaptive-threshold somas (shared with adaptive_lif_cond)
ADAPTIVE_OUTPUTS = {
    "spikes": spark.Port(spark.Spikes, "spikes emitted this step"),
    "v": spark.Port(spark.Voltage, "membrane potential after the step (mV)"),
    "theta": spark.Port(spark.Voltage, "threshold increase after the step (mV); threshold = v_thresh + theta"),
}


def adaptive_fire(soma, v: jnp.ndarray, dt: float) -> dict:
    """The adaptive threshold's step, shared by adaptive_lif and adaptive_lif_cond: ``theta`` decays over the step,
    neurons with ``v >= v_thresh + theta`` spike (reset, refractoriness), then ``theta`` jumps by ``theta_plus``
    where they did; writes ``v``, ``refractory`` and ``theta`` of ``soma`` and returns its outputs."""
    p = soma.params
    theta = soma.theta[...] * math.exp(-dt / p.tau_theta)
    spikes, v, soma.refractory[...] = fire(v, p.v_thresh + theta, p.v_reset, soma.refractory[...],
                                           ref_steps(p.t_ref, dt), **spark.surrogate.options(p))
    theta = jnp.where(spikes, theta + p.theta_plus, theta)
    soma.v[...] = v
    soma.theta[...] = theta
    return {"spikes": spikes, "v": v, "theta": theta}


class AdaptiveLIF(spark.Soma):
    """Leaky integrate-and-fire neurons whose threshold jumps at each spike and relaxes back.

    ``tau_m dv/dt = -(v - v_rest) + tau_m (i_syn + i_bias) / c_m`` and ``tau_theta dtheta/dt = -theta``. The neuron
    spikes when ``v >= v_thresh + theta``; then ``v`` is set to ``v_reset`` and held there
    during ``[t*, t* + t_ref)`` (``t_ref / dt`` steps rounded half-up, the spike's step included), and ``theta``
    increases by ``theta_plus``. Both equations are linear and are integrated exactly for input held constant over a
    step: ``v <- v_inf + (v - v_inf) exp(-dt / tau_m)``, ``theta <- theta exp(-dt / tau_theta)``; the threshold a
    step is compared with is the decayed ``theta`` of that step, before this step's jump.
    With ``theta_plus = 0`` this is :class:`~spark_components.LIF`. References: Gerstner et al., *Neuronal Dynamics*
    (2014), ch. 6.1 (adaptation); Diehl & Cook (2015), *Front. Comput. Neurosci.* 9:99 (adaptive threshold theta).

    State: ``v`` (mV), ``refractory`` (steps left), ``theta`` (mV, a :class:`spark.Learned` variable: an adaptive
    threshold is kept with the weights when dynamic state is reset).

    Ports:
        i_syn (in, Current, pA): summed synaptic / injected current, shape ``shape``.
        spikes (out, Spikes): spikes emitted this step.
        v (out, Voltage, mV): membrane potential after the step (``v_reset`` right after a spike).
        theta (out, Voltage, mV): threshold increase after the step (the threshold is ``v_thresh + theta``).
    """

    name = "adaptive_lif"
    partitionable = True  # per neuron: splits across devices (docs/scaling.md)
    Params = AdaptiveLIFParams
    inputs = {"i_syn": spark.Port(spark.Current, "summed input current (pA)")}
    outputs = ADAPTIVE_OUTPUTS

    def __init__(self, shape, *, params=None, rngs=None, dt=None, **values):
        super().__init__(shape, params=params, rngs=rngs, dt=dt, **values)
        p = self.params
        v0 = p.v_rest if p.v_init is None else p.v_init
        self.v = spark.State(jnp.full(self.shape, v0, jnp.float32))
        self.refractory = spark.State(jnp.zeros(self.shape, jnp.int32))  # steps left
        self.theta = spark.Learned(jnp.full(self.shape, p.theta_init, jnp.float32))

    def __call__(self, *, dt, i_syn):
        p = self.params
        v_inf = p.v_rest + (i_syn + p.i_bias) * (p.tau_m / p.c_m)
        active = self.refractory[...] == 0
        v = jnp.where(active, v_inf + (self.v[...] - v_inf) * math.exp(-dt / p.tau_m), p.v_reset)
        return adaptive_fire(self, v, dt)
