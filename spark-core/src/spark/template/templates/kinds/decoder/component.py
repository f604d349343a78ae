"""{{ cookiecutter.class_name }}: firing rate from an exponential moving average of the spike train."""

from __future__ import annotations

import math

import jax.numpy as jnp

import spark


@spark.params
class {{ cookiecutter.class_name }}Params:
    tau: float = spark.param(100.0, unit="ms", doc="time constant of the moving average (longer: smoother, slower)",
                             gt=0)


class {{ cookiecutter.class_name }}(spark.Decoder):
    """Firing rate of each neuron (Hz), an exponential moving average of its spike train.

    With ``s(t)`` in {0, 1} the spikes of a step and ``d = exp(-dt / tau)``,

        r(t) = d r(t - dt) + (1 - d) s(t) / dt        (dt in s, r in Hz)

    the exact solution of ``tau dr/dt = -r + s(t) / dt`` for ``s`` held over the step. Its gain is exactly 1: for a
    regular spike train of rate ``f`` the average of ``r`` over a period is ``f``; a single spike decays as
    ``(1 - d) / dt * d^k`` (Dayan & Abbott 2001, ch. 1.2, causal exponential window).

    Ports:
        spikes (in, Spikes): spikes of the population read, shape ``shape``.
        rate (out, Signal, Hz): estimated firing rate, shape ``shape``.
    """

    name = "{{ cookiecutter.component_name }}"
    Params = {{ cookiecutter.class_name }}Params
    inputs = {"spikes": spark.Port(spark.Spikes, "spikes to read", optional=False)}
    outputs = {"rate": spark.Port(spark.Signal, "estimated firing rate (Hz)")}

    def __init__(self, shape, *, params=None, rngs=None, dt=None, **values):
        super().__init__(shape, params=params, rngs=rngs, dt=dt, **values)
        self.rate = spark.State(jnp.zeros(self.shape, jnp.float32))

    def __call__(self, *, dt, spikes):
        d = math.exp(-dt / self.params.tau)
        rate = d * self.rate[...] + (1.0 - d) * (1000.0 / dt) * spikes.astype(jnp.float32)
        self.rate[...] = rate
        return {"rate": rate}
