"""Hodgkin-Huxley soma: the classic squid giant axon model (1952)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

import spark

from ._ode import exp, exprel


@spark.params
class HodgkinHuxleyParams:
    c_m: float = spark.param(200.0, unit="pF", doc="membrane capacitance (1 uF/cm^2 on 20,000 um^2)", gt=0)
    g_na: float = spark.param(24000.0, unit="nS", doc="peak sodium conductance (120 mS/cm^2)", ge=0)
    g_k: float = spark.param(7200.0, unit="nS", doc="peak potassium conductance (36 mS/cm^2)", ge=0)
    g_l: float = spark.param(60.0, unit="nS", doc="leak conductance (0.3 mS/cm^2)", gt=0)
    e_na: float = spark.param(50.0, unit="mV", doc="sodium reversal potential")
    e_k: float = spark.param(-77.0, unit="mV", doc="potassium reversal potential")
    e_l: float = spark.param(-54.387, unit="mV", doc="leak reversal potential")
    v_spike: float = spark.param(0.0, unit="mV", doc="a spike is emitted when v rises through v_spike")
    substeps: int | None = spark.param(None, doc="exponential-Euler sub-steps per time step dt (default: the "
                                       "fewest that make each at most 0.01 ms: 10 at dt = 0.1 ms, 1 at 0.01 ms)",
                                       ge=1, le=1000)
    v_init: float = spark.param(-65.0, unit="mV", doc="initial potential (m, h, n start at their steady state)")
    i_bias: float = spark.param(0.0, unit="pA", doc="constant bias current")


def rates(v):
    """Opening and closing rates (1/ms) of the gates m, h, n at potential ``v`` (mV), Hodgkin & Huxley (1952).

    In the modern convention (rest near -65 mV), i.e. the 1952 formulas with ``V = -(v + 65)``. Every exponential
    goes through :func:`~spark_components._ode.exp` (argument clipped at +-80), so the rates stay finite in float32
    at any potential (``beta_m`` and ``alpha_h`` overflow below about -1840 mV otherwise): beyond the clip the
    gates are at their limits anyway (``m, n -> 0``, ``h -> 1`` far below rest).
    """
    am = 1.0 / exprel(-(v + 40.0) / 10.0)  # = 0.1 (v + 40) / (1 - exp(-(v + 40) / 10))
    bm = 4.0 * exp(-(v + 65.0) / 18.0)
    ah = 0.07 * exp(-(v + 65.0) / 20.0)
    bh = 1.0 / (1.0 + exp(-(v + 35.0) / 10.0))
    an = 0.1 / exprel(-(v + 55.0) / 10.0)  # = 0.01 (v + 55) / (1 - exp(-(v + 55) / 10))
    bn = 0.125 * exp(-(v + 65.0) / 80.0)
    return am, bm, ah, bh, an, bn


H_MAX = 0.01
"""Longest exponential-Euler sub-step (ms) of the default ``substeps``: the step at which the spike times match
Brian2's reference (``spark-components/tests/reference``) within 0.1 ms."""


def default_substeps(dt: float) -> int:
    """The default ``substeps`` at ``dt`` (ms): the fewest sub-steps of at most :data:`H_MAX` (10 at 0.1 ms)."""
    return max(1, math.ceil(round(dt / H_MAX, 6)))


def _steady_state(v: float) -> tuple[float, float, float]:
    """``m, h, n`` at rest at ``v`` (float64; potentials clipped to +-1000 mV, where the gates are at their limits)."""
    v = min(max(v, -1000.0), 1000.0)
    am = 0.1 * (v + 40.0) / -math.expm1(-(v + 40.0) / 10.0) if v != -40.0 else 1.0
    bm = 4.0 * math.exp(-(v + 65.0) / 18.0)
    ah = 0.07 * math.exp(-(v + 65.0) / 20.0)
    bh = 1.0 / (1.0 + math.exp(-(v + 35.0) / 10.0))
    an = 0.01 * (v + 55.0) / -math.expm1(-(v + 55.0) / 10.0) if v != -55.0 else 0.1
    bn = 0.125 * math.exp(-(v + 65.0) / 80.0)
    return am / (am + bm), ah / (ah + bh), an / (an + bn)


class HodgkinHuxley(spark.Soma):
    """Hodgkin-Huxley neurons with the squid giant axon's sodium, potassium and leak currents.

    ``c_m dv/dt = g_na m^3 h (e_na - v) + g_k n^4 (e_k - v) + g_l (e_l - v) + i_syn + i_bias`` and, for each gate
    ``x`` in ``m, h, n``, ``dx/dt = alpha_x(v) (1 - x) - beta_x(v) x`` with the rates of Hodgkin & Huxley (1952),
    *J. Physiol.* 117:500, at 6.3 degC, written for a resting potential near -65 mV (as in Brian2's
    ``examples/compartmental/hh_with_spikes.py``, shifted by -65 mV; see :func:`rates`). Default conductances are
    those of 20,000 um^2 of membrane (so 1 uA/cm^2 is 200 pA; repetitive firing starts near 1.3 nA).

    Integration: exponential Euler, as Brian2's ``method='exponential_euler'``. Each equation is linear in its own
    variable when the others are held at their values at the start of the (sub-)step, so each is advanced exactly:
    ``x <- x_inf + (x - x_inf) exp(-h / tau_x)``. The scheme is stable for any step (every factor is a decaying
    exponential, which float32 handles well), but the spike shape needs small steps: each ``dt`` is split into
    ``substeps`` sub-steps of ``h = dt / substeps`` with the input held constant. The default (``substeps=None``) is
    the fewest sub-steps with ``h <= 0.01`` ms (:data:`H_MAX`; 10 at ``dt = 0.1``, 1 at ``dt = 0.01``), the
    accuracy of Brian2's reference at ``h = 0.01`` ms (``spark-components/tests/reference``: spikes within 0.1 ms).
    An explicit ``substeps`` overrides it; ``dt = 0.1, substeps = 1`` moves spikes by up to 10 ms and changes spike
    counts.

    There is no reset: a spike is emitted when ``v`` rises through ``v_spike`` (checked after every sub-step); the
    neuron can spike again only after ``v`` has fallen back below it (Brian2: ``threshold='v > v_spike',
    refractory='v > v_spike'``).

    State: ``v`` (mV), gates ``m``, ``h``, ``n`` (record them as ``node.m``...) and ``above`` (v >= v_spike).

    Ports:
        i_syn (in, Current, pA): summed synaptic / injected current, shape ``shape``.
        spikes (out, Spikes): spikes emitted this step.
        v (out, Voltage, mV): membrane potential after the step.
    """

    name = "hodgkin_huxley"
    partitionable = True  # per neuron: splits across devices (docs/scaling.md)
    Params = HodgkinHuxleyParams
    inputs = {"i_syn": spark.Port(spark.Current, "summed input current (pA)")}
    outputs = {
        "spikes": spark.Port(spark.Spikes, "spikes emitted this step"),
        "v": spark.Port(spark.Voltage, "membrane potential after the step (mV)"),
    }

    def __init__(self, shape, *, params=None, rngs=None, dt=None, **values):
        super().__init__(shape, params=params, rngs=rngs, dt=dt, **values)
        p = self.params
        m0, h0, n0 = _steady_state(p.v_init)
        self.v = spark.State(jnp.full(self.shape, p.v_init, jnp.float32))
        self.m = spark.State(jnp.full(self.shape, m0, jnp.float32))
        self.h = spark.State(jnp.full(self.shape, h0, jnp.float32))
        self.n = spark.State(jnp.full(self.shape, n0, jnp.float32))
        self.above = spark.State(jnp.full(self.shape, p.v_init >= p.v_spike))

    def __call__(self, *, dt, i_syn):
        p = self.params
        substeps = default_substeps(dt) if p.substeps is None else p.substeps
        h_step = dt / substeps
        i_ext = i_syn + p.i_bias

        def substep(_, y):
            v, m, h, n, above, spikes = y
            am, bm, ah, bh, an, bn = rates(v)
            gates = []
            for x, a, b in ((m, am, bm), (h, ah, bh), (n, an, bn)):
                rate = a + b
                gates.append(a / rate + (x - a / rate) * jnp.exp(-h_step * rate))
            g_na = p.g_na * m * m * m * h
            g_k = p.g_k * (n * n) * (n * n)
            g_tot = g_na + g_k + p.g_l
            v_inf = (g_na * p.e_na + g_k * p.e_k + p.g_l * p.e_l + i_ext) / g_tot
            v = v_inf + (v - v_inf) * jnp.exp(-h_step / p.c_m * g_tot)
            now_above = v >= p.v_spike
            return (v, *gates, now_above, spikes | (now_above & ~above))

        above = self.above[...]
        y = (self.v[...], self.m[...], self.h[...], self.n[...], above, jnp.zeros_like(above))
        y = substep(0, y) if substeps == 1 else jax.lax.fori_loop(0, substeps, substep, y)
        v, m, h, n, above, spikes = y
        self.v[...], self.m[...], self.h[...], self.n[...] = v, m, h, n
        self.above[...] = above
        return {"spikes": spikes, "v": v}
