"""Izhikevich's simple spiking model (2003)."""

from __future__ import annotations

import jax.numpy as jnp

import spark

from ._ode import rk4


@spark.params
class IzhikevichParams:
    __spark_order__ = (("c", "<", "v_peak"),)
    a: float = spark.param(0.02, unit="1/ms", doc="recovery rate of u", gt=0)
    b: float = spark.param(0.2, unit="1/ms", doc="sensitivity of u to v (u in mV/ms, v in mV)")
    c: float = spark.param(-65.0, unit="mV", doc="potential after a spike")
    d: float = spark.param(8.0, unit="mV/ms", doc="increase of u per spike")
    v_peak: float = spark.param(30.0, unit="mV", doc="a spike is emitted when v reaches v_peak")
    c_m: float = spark.param(1.0, unit="pF", doc="input scale: the paper's input I (mV/ms) is i_syn / c_m", gt=0)
    v_init: float = spark.param(-65.0, unit="mV", doc="initial potential")
    u_init: float | None = spark.param(None, unit="mV/ms", doc="initial recovery variable (default: b * v_init)")
    i_bias: float = spark.param(0.0, unit="pA", doc="constant bias current")


class Izhikevich(spark.Soma):
    """Izhikevich neurons (Izhikevich 2003, *IEEE Trans. Neural Netw.* 14:1569), in mV and ms.

    ``dv/dt = 0.04 v^2 + 5 v + 140 - u + I`` and ``du/dt = a (b v - u)``, with ``v`` in mV, ``t`` in ms and ``u``
    and ``I`` in mV/ms (the numbers 0.04, 5, 140 carry units 1/(mV ms), 1/ms, mV/ms). When ``v >= v_peak`` (30 mV)
    the neuron spikes, ``v <- c`` and ``u <- u + d``. The classic parameter sets apply unchanged: regular spiking
    ``a, b, c, d = 0.02, 0.2, -65, 8``; fast spiking ``0.1, 0.2, -65, 2``; chattering ``0.02, 0.2, -50, 2``.

    Input: the paper's ``I`` is a rate of change of ``v``; Spark's ports carry currents, so ``I = (i_syn + i_bias) /
    c_m``. With the default ``c_m = 1 pF``, 1 pA of input is the paper's ``I = 1`` (the paper's ``I = 10`` is
    10 pA), the same convention as NEST's ``izhikevich`` model; Brian2's examples add ``I`` (in mV/ms) directly.

    Integration: one classical Runge-Kutta (RK4) step per ``dt``, input held constant over the step (as Brian2's
    ``method='rk4'``), with the right-hand side evaluated at ``min(v, v_peak)``, which changes nothing below
    ``v_peak`` and bounds the step that crosses it. (The paper itself used two Euler half-steps of 0.5 ms for ``v``.)
    Checked against Brian2 at ``dt = 0.1`` ms (``spark-components/tests/reference``).

    State: ``v`` (mV) and ``u`` (mV/ms; record it as ``node.u``).

    Ports:
        i_syn (in, Current, pA): summed synaptic / injected current, shape ``shape``.
        spikes (out, Spikes): spikes emitted this step.
        v (out, Voltage, mV): membrane potential after the step (``c`` right after a spike).
    """

    name = "izhikevich"
    partitionable = True  # per neuron: splits across devices (docs/scaling.md)
    Params = IzhikevichParams
    inputs = {"i_syn": spark.Port(spark.Current, "summed input current (pA); the paper's I is i_syn / c_m")}
    outputs = {
        "spikes": spark.Port(spark.Spikes, "spikes emitted this step"),
        "v": spark.Port(spark.Voltage, "membrane potential after the step (mV)"),
    }

    def __init__(self, shape, *, params=None, rngs=None, dt=None, **values):
        super().__init__(shape, params=params, rngs=rngs, dt=dt, **values)
        p = self.params
        u0 = p.b * p.v_init if p.u_init is None else p.u_init
        self.v = spark.State(jnp.full(self.shape, p.v_init, jnp.float32))
        self.u = spark.State(jnp.full(self.shape, u0, jnp.float32))

    def __call__(self, *, dt, i_syn):
        p = self.params
        i_ext = (i_syn + p.i_bias) / p.c_m

        def rhs(y):
            v, u = y
            v = jnp.minimum(v, p.v_peak)
            return (0.04 * v + 5.0) * v + 140.0 - u + i_ext, p.a * (p.b * v - u)

        v, u = rk4(rhs, (self.v[...], self.u[...]), dt)
        spikes = v >= p.v_peak
        v = jnp.where(spikes, p.c, v)
        u = jnp.where(spikes, u + p.d, u)
        self.v[...] = v
        self.u[...] = u
        return {"spikes": spikes, "v": v}
