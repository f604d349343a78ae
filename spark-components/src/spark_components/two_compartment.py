"""Two-compartment leaky integrate-and-fire soma: a spiking soma coupled to a passive dendrite."""

from __future__ import annotations

import math

import jax.numpy as jnp

import spark

from ._ode import fire, ref_steps


@spark.params
class TwoCompartmentLIFParams:
    c_m: float = spark.param(250.0, unit="pF", doc="capacitance of the soma", gt=0)
    g_l: float = spark.param(25.0, unit="nS", doc="leak conductance of the soma", gt=0)
    e_l: float = spark.param(-65.0, unit="mV", doc="leak reversal potential of the soma")
    c_dend: float = spark.param(500.0, unit="pF", doc="capacitance of the dendrite", gt=0)
    g_dend: float = spark.param(25.0, unit="nS", doc="leak conductance of the dendrite", gt=0)
    e_dend: float = spark.param(-65.0, unit="mV", doc="leak reversal potential of the dendrite")
    g_c: float = spark.param(20.0, unit="nS", doc="coupling conductance between soma and dendrite", ge=0)
    v_thresh: float = spark.param(-50.0, unit="mV", doc="spike threshold of the soma")
    v_reset: float = spark.param(-65.0, unit="mV", doc="somatic potential after a spike")
    t_ref: float = spark.param(
        2.0, unit="ms", ge=0, doc="absolute refractory period of the soma (rounded half-up to whole steps)"
    )
    v_init: float | None = spark.param(None, unit="mV", doc="initial somatic potential (default: e_l)")
    v_dend_init: float | None = spark.param(None, unit="mV", doc="initial dendritic potential (default: e_dend)")


def propagator(p: TwoCompartmentLIFParams, dt: float) -> tuple[list[list[float]], list[list[float]]]:
    """``P, A`` (float64, 2 x 2) such that one exact step is ``x <- x* + P (x - x*)`` with ``x* = A c``.

    ``x = (v, v_dend)`` follows ``dx/dt = M x + c`` with ``M = [[-(g_l + g_c) / c_m, g_c / c_m],
    [g_c / c_dend, -(g_dend + g_c) / c_dend]]`` and ``c = ((g_l e_l + i_soma) / c_m, (g_dend e_dend + i_dend) /
    c_dend)``: ``P = expm(M dt)`` and the fixed point ``x* = -M^-1 c``, so ``A = -M^-1``. ``M`` is ``C^-1 G`` with
    ``G`` symmetric and ``C`` diagonal positive, so its eigenvalues are real (and negative: ``det M > 0``,
    ``tr M < 0``). Stepping around the fixed point (rather than ``x <- P x + (P - I) M^-1 c``) keeps float32
    rounding of ``P`` from shifting the steady state (the same reason LIF steps around ``v_inf``).
    """
    a, b = -(p.g_l + p.g_c) / p.c_m, p.g_c / p.c_m
    c, d = p.g_c / p.c_dend, -(p.g_dend + p.g_c) / p.c_dend
    s, det = (a + d) / 2, a * d - b * c
    q = math.sqrt(max(s * s - det, 0.0))
    e = math.exp(s * dt)
    ch, sh = e * math.cosh(q * dt), e * (math.sinh(q * dt) / q if q * dt > 1e-12 else dt)
    P = [[ch + sh * (a - s), sh * b], [sh * c, ch + sh * (d - s)]]
    A = [[-d / det, b / det], [c / det, -a / det]]
    return P, A


class TwoCompartmentLIF(spark.Soma):
    """Neurons made of a leaky integrate-and-fire soma and a passive dendrite, each with its own input.

    ``c_m dv/dt = -g_l (v - e_l) + g_c (v_dend - v) + i_soma`` and
    ``c_dend dv_dend/dt = -g_dend (v_dend - e_dend) + g_c (v - v_dend) + i_dend``. When ``v >= v_thresh`` the neuron
    spikes, ``v`` is set to ``v_reset`` and held there
    during ``[t*, t* + t_ref)`` (``t_ref / dt`` steps rounded half-up, the spike's step included), while the
    dendrite keeps integrating (against the clamped soma); the dendrite is not reset. Synapses onto the dendrite
    reach the soma only through the coupling ``g_c``, attenuated and low-pass filtered. References: Rall (1967);
    Pinsky & Rinzel (1994), *J. Comput. Neurosci.* 1:39 (two-compartment reduction); Gerstner et al., *Neuronal
    Dynamics* (2014), ch. 3.2.

    Integration: exact for input held constant over a step. The system is linear, ``dx/dt = M x + c``, so
    ``x <- x* + P (x - x*)`` with ``P = expm(M dt)`` and the fixed point ``x* = -M^-1 c``, coefficients computed once
    in float64 (:func:`propagator`);
    during the refractory clamp the dendrite follows its own exact one-dimensional solution. Checked against
    Brian2's ``method='exact'`` at ``dt = 0.1`` ms (``spark-components/tests/reference``).

    Ports:
        i_soma (in, Current, pA): summed current into the soma, shape ``shape``.
        i_dend (in, Current, pA): summed current into the dendrite, shape ``shape``.
        spikes (out, Spikes): spikes emitted this step.
        v (out, Voltage, mV): somatic potential after the step (``v_reset`` right after a spike).
        v_dend (out, Voltage, mV): dendritic potential after the step.
    """

    name = "two_compartment_lif"
    partitionable = True  # per neuron: splits across devices (docs/scaling.md)
    Params = TwoCompartmentLIFParams
    inputs = {
        "i_soma": spark.Port(spark.Current, "summed current into the soma (pA)"),
        "i_dend": spark.Port(spark.Current, "summed current into the dendrite (pA)"),
    }
    outputs = {
        "spikes": spark.Port(spark.Spikes, "spikes emitted this step"),
        "v": spark.Port(spark.Voltage, "somatic membrane potential after the step (mV)"),
        "v_dend": spark.Port(spark.Voltage, "dendritic membrane potential after the step (mV)"),
    }

    def __init__(self, shape, *, params=None, rngs=None, dt=None, **values):
        super().__init__(shape, params=params, rngs=rngs, dt=dt, **values)
        p = self.params
        v0 = p.e_l if p.v_init is None else p.v_init
        vd0 = p.e_dend if p.v_dend_init is None else p.v_dend_init
        self.v = spark.State(jnp.full(self.shape, v0, jnp.float32))
        self.v_dend = spark.State(jnp.full(self.shape, vd0, jnp.float32))
        self.refractory = spark.State(jnp.zeros(self.shape, jnp.int32))  # steps left

    def __call__(self, *, dt, i_soma, i_dend):
        p = self.params
        ((p00, p01), (p10, p11)), ((a00, a01), (a10, a11)) = propagator(p, dt)
        v, vd = self.v[...], self.v_dend[...]
        c_s = (p.g_l * p.e_l + i_soma) / p.c_m
        c_d = (p.g_dend * p.e_dend + i_dend) / p.c_dend
        v_star, vd_star = a00 * c_s + a01 * c_d, a10 * c_s + a11 * c_d
        v_free = v_star + p00 * (v - v_star) + p01 * (vd - vd_star)
        vd_free = vd_star + p10 * (v - v_star) + p11 * (vd - vd_star)
        # refractory: v held at v_reset, the dendrite relaxes against it
        g_d = p.g_dend + p.g_c
        vd_inf = (p.g_dend * p.e_dend + p.g_c * p.v_reset + i_dend) / g_d
        vd_clamped = vd_inf + (vd - vd_inf) * math.exp(-dt * g_d / p.c_dend)
        active = self.refractory[...] == 0
        v = jnp.where(active, v_free, p.v_reset)
        vd = jnp.where(active, vd_free, vd_clamped)
        spikes, v, self.refractory[...] = fire(v, p.v_thresh, p.v_reset, self.refractory[...], ref_steps(p.t_ref, dt))
        self.v[...] = v
        self.v_dend[...] = vd
        return {"spikes": spikes, "v": v, "v_dend": vd}
