"""{{ cookiecutter.class_name }}: resonate-and-fire soma (Izhikevich 2001), integrated exactly."""

from __future__ import annotations

import math

import jax.numpy as jnp

import spark


@spark.params
class {{ cookiecutter.class_name }}Params:
    tau: float = spark.param(20.0, unit="ms", doc="damping time constant of the subthreshold oscillation", gt=0)
    freq: float = spark.param(8.0, unit="Hz", ge=0,
                              doc="frequency of the subthreshold oscillation (0: leaky integrate-and-fire)")
    c_m: float = spark.param(250.0, unit="pF", doc="membrane capacitance", gt=0)
    v_rest: float = spark.param(-65.0, unit="mV", doc="resting potential")
    v_reset: float = spark.param(-65.0, unit="mV", doc="potential after a spike (the oscillation restarts from there)")
    v_thresh: float = spark.param(-50.0, unit="mV", doc="spike threshold")
    v_init: float | None = spark.param(None, unit="mV", doc="initial potential (default: v_rest)")
    i_bias: float = spark.param(0.0, unit="pA", doc="constant bias current")


class {{ cookiecutter.class_name }}(spark.Soma):
    """Resonate-and-fire neurons: a damped oscillator that spikes (Izhikevich, Neural Networks 14:883, 2001).

    Each neuron's state is one complex number ``z = (v - v_rest) + i u`` (mV) with

        dz/dt = lambda z + (i_syn + i_bias) / c_m,    lambda = -1 / tau + i omega,    omega = 2 pi freq / 1000 (rad/ms)

    so the membrane potential ``v = v_rest + Re z`` returns to rest through damped oscillations at ``freq`` and
    responds most to input that repeats at that frequency (a resonator, unlike an integrator). For input held constant
    over a step the update is exact: ``z(t + dt) = z_inf + (z(t) - z_inf) exp(lambda dt)`` with
    ``z_inf = -(i_syn + i_bias) / (c_m lambda)``. When ``v >= v_thresh`` the neuron spikes and ``z`` is reset to
    ``v_reset - v_rest`` (``u = 0``). With ``freq = 0`` it is a leaky integrate-and-fire soma (time constant ``tau``,
    no refractory period).

    Ports:
        i_syn (in, Current, pA): summed input current, shape ``shape``.
        spikes (out, Spikes): spikes emitted this step, shape ``shape``.
        v (out, Voltage, mV): membrane potential after the step (``v_reset`` right after a spike), shape ``shape``.
    """

    name = "{{ cookiecutter.component_name }}"
    Params = {{ cookiecutter.class_name }}Params
    inputs = {"i_syn": spark.Port(spark.Current, "summed input current (pA)")}
    outputs = {
        "spikes": spark.Port(spark.Spikes, "spikes emitted this step"),
        "v": spark.Port(spark.Voltage, "membrane potential after the step (mV)"),
    }

    def __init__(self, shape, *, params=None, rngs=None, dt=None, **values):
        super().__init__(shape, params=params, rngs=rngs, dt=dt, **values)
        p = self.params
        x0 = 0.0 if p.v_init is None else p.v_init - p.v_rest
        self.x = spark.State(jnp.full(self.shape, x0, jnp.float32))  # Re z = v - v_rest (mV)
        self.u = spark.State(jnp.zeros(self.shape, jnp.float32))  # Im z (mV)

    def __call__(self, *, dt, i_syn):
        p = self.params
        a, omega = -1.0 / p.tau, 2.0 * math.pi * p.freq / 1000.0
        # exp(lambda dt) = exp(a dt) (cos(omega dt) + i sin(omega dt)); constants, computed once at trace time
        c, s = math.exp(a * dt) * math.cos(omega * dt), math.exp(a * dt) * math.sin(omega * dt)
        # z_inf = -(I / c_m) / (a + i omega) = (I / c_m) (-a + i omega) / (a^2 + omega^2)
        drive = (i_syn + p.i_bias) / p.c_m
        norm = a * a + omega * omega
        x_inf, u_inf = drive * (-a / norm), drive * (omega / norm)
        dx, du = self.x[...] - x_inf, self.u[...] - u_inf
        x = x_inf + c * dx - s * du
        u = u_inf + s * dx + c * du
        spikes = x >= p.v_thresh - p.v_rest
        x = jnp.where(spikes, p.v_reset - p.v_rest, x)
        u = jnp.where(spikes, 0.0, u)
        self.x[...] = x
        self.u[...] = u
        return {"spikes": spikes, "v": p.v_rest + x}
