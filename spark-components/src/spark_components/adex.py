"""Adaptive exponential integrate-and-fire soma (Brette & Gerstner 2005)."""

from __future__ import annotations

import jax.numpy as jnp

import spark

from ._ode import exp, fire, ref_steps, rk4


@spark.params
class AdExParams:
    __spark_order__ = (("v_reset", "<", "v_peak"),)
    c_m: float = spark.param(281.0, unit="pF", doc="membrane capacitance", gt=0)
    g_l: float = spark.param(30.0, unit="nS", doc="leak conductance", gt=0)
    e_l: float = spark.param(-70.6, unit="mV", doc="leak reversal potential")
    v_t: float = spark.param(-50.4, unit="mV", doc="threshold of the exponential (rheobase) potential V_T")
    delta_t: float = spark.param(2.0, unit="mV", doc="slope factor of the exponential", gt=0)
    v_peak: float = spark.param(0.0, unit="mV", doc="a spike is emitted when v reaches v_peak")
    v_reset: float = spark.param(-70.6, unit="mV", doc="potential after a spike")
    a: float = spark.param(4.0, unit="nS", doc="subthreshold adaptation conductance")
    b: float = spark.param(80.5, unit="pA", doc="increase of the adaptation current w per spike")
    tau_w: float = spark.param(144.0, unit="ms", doc="adaptation time constant", gt=0)
    t_ref: float = spark.param(0.0, unit="ms", ge=0, doc="absolute refractory period (rounded half-up to whole steps)")
    v_init: float | None = spark.param(None, unit="mV", doc="initial potential (default: e_l)")
    w_init: float = spark.param(0.0, unit="pA", doc="initial adaptation current")
    i_bias: float = spark.param(0.0, unit="pA", doc="constant bias current")


class AdEx(spark.Soma):
    """Adaptive exponential integrate-and-fire neurons (Brette & Gerstner 2005, *J. Neurophysiol.* 94:3637).

    ``c_m dv/dt = -g_l (v - e_l) + g_l delta_t exp((v - v_t) / delta_t) - w + i_syn + i_bias`` and
    ``tau_w dw/dt = a (v - e_l) - w``. When ``v >= v_peak`` the neuron spikes, ``v`` is set to ``v_reset`` and
    ``w`` increases by ``b``; ``v`` stays at ``v_reset``
    during ``[t*, t* + t_ref)`` (``t_ref / dt`` steps rounded half-up, the spike's step included) while ``w`` keeps
    evolving.

    Integration: one classical Runge-Kutta (RK4) step per ``dt``, input held constant over the step (as Brian2's
    ``method='rk4'``). The right-hand side is evaluated at ``min(v, v_peak)`` (as NEST's ``aeif`` models do): this
    changes nothing below ``v_peak`` and keeps the exponential finite in float32 during the step that crosses it.
    Checked against Brian2 at ``dt = 0.1`` ms (``spark-components/tests/reference``).

    Ports:
        i_syn (in, Current, pA): summed synaptic / injected current, shape ``shape``.
        spikes (out, Spikes): spikes emitted this step.
        v (out, Voltage, mV): membrane potential after the step (``v_reset`` right after a spike).
        w (out, Current, pA): adaptation current after the step (including this step's jump ``b``).
    """

    name = "adex"
    partitionable = True  # per neuron: splits across devices (docs/scaling.md)
    Params = AdExParams
    inputs = {"i_syn": spark.Port(spark.Current, "summed input current (pA)")}
    outputs = {
        "spikes": spark.Port(spark.Spikes, "spikes emitted this step"),
        "v": spark.Port(spark.Voltage, "membrane potential after the step (mV)"),
        "w": spark.Port(spark.Current, "adaptation current after the step (pA)"),
    }

    def __init__(self, shape, *, params=None, rngs=None, dt=None, **values):
        super().__init__(shape, params=params, rngs=rngs, dt=dt, **values)
        p = self.params
        v0 = p.e_l if p.v_init is None else p.v_init
        self.v = spark.State(jnp.full(self.shape, v0, jnp.float32))
        self.w = spark.State(jnp.full(self.shape, p.w_init, jnp.float32))
        self.refractory = spark.State(jnp.zeros(self.shape, jnp.int32))  # steps left

    def __call__(self, *, dt, i_syn):
        p = self.params
        i_ext = i_syn + p.i_bias
        active = self.refractory[...] == 0

        def rhs(y):
            v, w = y
            v = jnp.minimum(v, p.v_peak)
            dv = (-p.g_l * (v - p.e_l) + p.g_l * p.delta_t * exp((v - p.v_t) / p.delta_t) - w + i_ext) / p.c_m
            dw = (p.a * (v - p.e_l) - w) / p.tau_w
            return jnp.where(active, dv, 0.0), dw

        v, w = rk4(rhs, (self.v[...], self.w[...]), dt)
        v = jnp.where(active, v, p.v_reset)
        spikes, v, self.refractory[...] = fire(v, p.v_peak, p.v_reset, self.refractory[...], ref_steps(p.t_ref, dt))
        w = jnp.where(spikes, w + p.b, w)
        self.v[...] = v
        self.w[...] = w
        return {"spikes": spikes, "v": v, "w": w}
