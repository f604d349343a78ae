"""Leaky integrate-and-fire soma with an absolute refractory period."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import nnx

import spark
import spark.surrogate

from ._ode import fire, ref_steps


@spark.params
class LIFParams:
    __spark_order__ = (("v_reset", "<", "v_thresh"),)
    tau_m: float = spark.param(10.0, unit="ms", doc="membrane time constant", gt=0)
    c_m: float = spark.param(250.0, unit="pF", doc="membrane capacitance", gt=0)
    v_rest: float = spark.param(-65.0, unit="mV", doc="resting (leak reversal) potential")
    v_reset: float = spark.param(-65.0, unit="mV", doc="potential after a spike")
    v_thresh: float = spark.param(-50.0, unit="mV", doc="spike threshold")
    t_ref: float = spark.param(2.0, unit="ms", doc="absolute refractory period (rounded half-up to whole steps)", ge=0)
    v_init: float | None = spark.param(None, unit="mV", doc="initial potential (default: v_rest)")
    v_init_jitter: float = spark.param(0.0, unit="mV", ge=0,
                                       doc="initial potentials drawn uniformly from [v_init, v_init + v_init_jitter]")
    i_bias: float = spark.param(0.0, unit="pA", doc="constant bias current")
    surrogate: str = spark.surrogate.param()
    surrogate_slope: float = spark.surrogate.slope_param()


def initial_v(shape, p, rngs) -> jax.Array:
    """``v_init`` (default ``v_rest``), plus a uniform jitter in ``[0, v_init_jitter]`` drawn from ``rngs``."""
    v0 = jnp.full(shape, p.v_rest if p.v_init is None else p.v_init, jnp.float32)
    if p.v_init_jitter:
        key = (rngs if rngs is not None else nnx.Rngs(0)).params()
        v0 = v0 + p.v_init_jitter * jax.random.uniform(key, shape, jnp.float32)
    return v0


class LIF(spark.Soma):
    """Leaky integrate-and-fire neurons.

    ``tau_m dv/dt = -(v - v_rest) + tau_m (i_syn + i_bias) / c_m``, integrated exactly for input held constant
    over a step. When ``v >= v_thresh`` the neuron spikes, ``v`` is set to ``v_reset`` and held there
    during ``[t*, t* + t_ref)`` (``t_ref / dt`` steps rounded half-up, the spike's step included). Reference:
    Gerstner et al., *Neuronal Dynamics* (2014), ch. 1.3.

    Ports:
        i_syn (in, Current, pA): summed synaptic / injected current, shape ``shape``.
        spikes (out, Spikes): spikes emitted this step.
        v (out, Voltage, mV): membrane potential after the step (``v_reset`` right after a spike).
    """

    name = "lif"
    partitionable = True  # per neuron: splits across devices (docs/scaling.md)
    Params = LIFParams
    inputs = {"i_syn": spark.Port(spark.Current, "summed input current (pA)")}
    outputs = {
        "spikes": spark.Port(spark.Spikes, "spikes emitted this step"),
        "v": spark.Port(spark.Voltage, "membrane potential after the step (mV)"),
    }

    def __init__(self, shape, *, params=None, rngs=None, **values):
        super().__init__(shape, params=params, rngs=rngs, **values)
        p = self.params
        self.v = spark.State(initial_v(self.shape, p, rngs))
        self.refractory = spark.State(jnp.zeros(self.shape, jnp.int32))  # steps left

    def __call__(self, *, dt, i_syn):
        p = self.params
        decay = math.exp(-dt / p.tau_m)
        v_inf = p.v_rest + (i_syn + p.i_bias) * (p.tau_m / p.c_m)
        active = self.refractory[...] == 0
        v = jnp.where(active, v_inf + (self.v[...] - v_inf) * decay, p.v_reset)
        spikes, v, self.refractory[...] = fire(v, p.v_thresh, p.v_reset, self.refractory[...], ref_steps(p.t_ref, dt), **spark.surrogate.options(p))
        self.v[...] = v
        return {"spikes": spikes, "v": v}
