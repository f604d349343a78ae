"""Quadratic integrate-and-fire soma (Latham et al. 2000; Gerstner et al. 2014, ch. 5.3)."""

from __future__ import annotations

import jax.numpy as jnp

import spark

from ._ode import fire, ref_steps, rk4


@spark.params
class QIFParams:
    __spark_order__ = (("v_rest", "<", "v_c"), ("v_reset", "<", "v_peak"),)
    tau_m: float = spark.param(10.0, unit="ms", doc="membrane time constant", gt=0)
    c_m: float = spark.param(250.0, unit="pF", doc="membrane capacitance (input resistance R = tau_m / c_m)", gt=0)
    a0: float = spark.param(0.05, unit="1/mV", doc="sharpness of the quadratic nonlinearity", gt=0)
    v_rest: float = spark.param(-65.0, unit="mV", doc="resting potential (stable fixed point without input)")
    v_c: float = spark.param(-50.0, unit="mV", doc="critical potential (unstable fixed point without input)")
    v_peak: float = spark.param(30.0, unit="mV", doc="a spike is emitted when v reaches v_peak")
    v_reset: float = spark.param(-70.0, unit="mV", doc="potential after a spike")
    t_ref: float = spark.param(2.0, unit="ms", ge=0, doc="absolute refractory period (rounded half-up to whole steps)")
    v_init: float | None = spark.param(None, unit="mV", doc="initial potential (default: v_rest)")
    i_bias: float = spark.param(0.0, unit="pA", doc="constant bias current")


class QIF(spark.Soma):
    """Quadratic integrate-and-fire neurons.

    ``tau_m dv/dt = a0 (v - v_rest) (v - v_c) + tau_m (i_syn + i_bias) / c_m`` (Gerstner et al., *Neuronal
    Dynamics* (2014), eq. 5.16; Latham et al. 2000, *J. Neurophysiol.* 83:808). Without input ``v_rest`` is stable
    and ``v_c`` the threshold; the rheobase current is ``c_m a0 (v_c - v_rest)^2 / (4 tau_m)``. When ``v >= v_peak``
    the neuron spikes, ``v`` is set to ``v_reset`` and held there
    during ``[t*, t* + t_ref)`` (``t_ref / dt`` steps rounded half-up, the spike's step included).

    Integration: one classical Runge-Kutta (RK4) step per ``dt``, input held constant over the step (as Brian2's
    ``method='rk4'``), with the right-hand side evaluated at ``min(v, v_peak)``, which changes nothing below
    ``v_peak`` and bounds the step that crosses it. Checked against Brian2 at ``dt = 0.1`` ms and against the
    closed-form firing period ``tau_m / (a0 sqrt(q)) [atan((v_peak - m) / sqrt(q)) - atan((v_reset - m) / sqrt(q))]``
    (``m = (v_rest + v_c) / 2``, ``q = tau_m I / (c_m a0) - ((v_c - v_rest) / 2)^2 > 0``) plus ``t_ref``.

    Ports:
        i_syn (in, Current, pA): summed synaptic / injected current, shape ``shape``.
        spikes (out, Spikes): spikes emitted this step.
        v (out, Voltage, mV): membrane potential after the step (``v_reset`` right after a spike).
    """

    name = "qif"
    partitionable = True  # per neuron: splits across devices (docs/scaling.md)
    Params = QIFParams
    inputs = {"i_syn": spark.Port(spark.Current, "summed input current (pA)")}
    outputs = {
        "spikes": spark.Port(spark.Spikes, "spikes emitted this step"),
        "v": spark.Port(spark.Voltage, "membrane potential after the step (mV)"),
    }

    def __init__(self, shape, *, params=None, rngs=None, dt=None, **values):
        super().__init__(shape, params=params, rngs=rngs, dt=dt, **values)
        p = self.params
        v0 = p.v_rest if p.v_init is None else p.v_init
        self.v = spark.State(jnp.full(self.shape, v0, jnp.float32))
        self.refractory = spark.State(jnp.zeros(self.shape, jnp.int32))  # steps left

    def __call__(self, *, dt, i_syn):
        p = self.params
        drive = (i_syn + p.i_bias) / p.c_m  # mV/ms

        def rhs(y):
            (v,) = y
            v = jnp.minimum(v, p.v_peak)
            return ((p.a0 / p.tau_m) * (v - p.v_rest) * (v - p.v_c) + drive,)

        active = self.refractory[...] == 0
        (v,) = rk4(rhs, (self.v[...],), dt)
        v = jnp.where(active, v, p.v_reset)
        spikes, v, self.refractory[...] = fire(v, p.v_peak, p.v_reset, self.refractory[...], ref_steps(p.t_ref, dt))
        self.v[...] = v
        return {"spikes": spikes, "v": v}
