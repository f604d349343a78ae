"""The NIR neuron primitives as Spark somas: I, IF, LI, LIF, CubaLI, CubaLIF and Threshold.

One family in one module (as Equinox keeps a family in one small module): each soma is the equation NIR states for
its primitive (https://neuroir.org), with every parameter either one value for all neurons or one per neuron (a
list of 1 or ``n`` values, ``n`` the node's size), so that a NIR graph imports without loss
(:mod:`spark.nir`, docs/nir.md). Time in ms, potentials in mV, currents in pA, resistances in GOhm (mV/pA).

Each step integrates exactly with the input held constant over the step (``x`` below is this step's summed
input on ``i_syn``, plus ``i_bias``); a cuba (current-based) model first advances its synaptic current ``i`` with
``x`` held, then ``v`` with the new ``i`` held. A neuron spikes when ``v > v_threshold`` (NIR's strict Heaviside),
and ``v`` is then set to ``v_reset`` in the same step; there is no refractory period (NIR has none).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

import spark


def _values(unit: str, doc: str, default: float, **bounds):
    return spark.param((default,), unit=unit, doc=f"{doc}: one value for all neurons, or one per neuron", **bounds)


def _per_neuron(values: tuple, shape: tuple) -> np.ndarray:
    """``values`` (1 or ``prod(shape)`` numbers) as a float64 array broadcastable to ``shape``."""
    a = np.asarray(values, np.float64)
    return a.reshape(()) if a.size == 1 else a.reshape(shape)


class _NIRSoma(spark.Soma):
    """Shared parts: per-neuron parameters, their shape check and the exact decay of a step."""

    inputs = {"i_syn": spark.Port(spark.Current, "summed input (pA)")}

    @classmethod
    def check_shape(cls, params, shape):
        n = math.prod(shape)
        for field in params.__attrs_attrs__:
            value = getattr(params, field.name)
            if isinstance(value, tuple) and len(value) not in (1, n):
                return (f"parameter {field.name!r} has {len(value)} values for {n} neurons; give one value for all "
                        f"or {n} (one per neuron)")
        return None

    def _p(self, name: str) -> np.ndarray:
        return _per_neuron(getattr(self.params, name), self.shape)

    def _decay(self, name: str, dt: float) -> jax.Array:
        return jnp.asarray(np.exp(-dt / self._p(name)), jnp.float32)

    def _f32(self, name: str) -> jax.Array:
        return jnp.asarray(self._p(name), jnp.float32)

    def _spike(self, v: jax.Array) -> tuple:
        spikes = v > self._f32("v_threshold")
        return spikes, jnp.where(spikes, self._f32("v_reset"), v)


# ----- parameters -------------------------------------------------------------------------------------------------

@spark.params
class NIRLIFParams:
    tau_mem: tuple[float, ...] = _values("ms", "membrane time constant", 10.0, gt=0)
    r: tuple[float, ...] = _values("GOhm", "resistance (mV per pA)", 1.0)
    v_leak: tuple[float, ...] = _values("mV", "leak (resting) potential, also the initial one", 0.0)
    v_threshold: tuple[float, ...] = _values("mV", "spike when v > v_threshold", 1.0)
    v_reset: tuple[float, ...] = _values("mV", "potential after a spike", 0.0)
    i_bias: tuple[float, ...] = _values("pA", "constant input (an Affine's bias)", 0.0)


@spark.params
class NIRCubaLIFParams:
    tau_syn: tuple[float, ...] = _values("ms", "synaptic current time constant", 5.0, gt=0)
    tau_mem: tuple[float, ...] = _values("ms", "membrane time constant", 10.0, gt=0)
    r: tuple[float, ...] = _values("GOhm", "resistance (mV per pA)", 1.0)
    v_leak: tuple[float, ...] = _values("mV", "leak (resting) potential, also the initial one", 0.0)
    v_threshold: tuple[float, ...] = _values("mV", "spike when v > v_threshold", 1.0)
    v_reset: tuple[float, ...] = _values("mV", "potential after a spike", 0.0)
    w_in: tuple[float, ...] = _values("", "input weight (NIR's w_in)", 1.0)
    i_bias: tuple[float, ...] = _values("pA", "constant input, before w_in (an Affine's bias)", 0.0)


@spark.params
class NIRLIParams:
    tau: tuple[float, ...] = _values("ms", "time constant", 10.0, gt=0)
    r: tuple[float, ...] = _values("GOhm", "resistance (mV per pA)", 1.0)
    v_leak: tuple[float, ...] = _values("mV", "leak (resting) potential, also the initial one", 0.0)
    i_bias: tuple[float, ...] = _values("pA", "constant input (an Affine's bias)", 0.0)


@spark.params
class NIRCubaLIParams:
    tau_syn: tuple[float, ...] = _values("ms", "synaptic current time constant", 5.0, gt=0)
    tau_mem: tuple[float, ...] = _values("ms", "membrane time constant", 10.0, gt=0)
    r: tuple[float, ...] = _values("GOhm", "resistance (mV per pA)", 1.0)
    v_leak: tuple[float, ...] = _values("mV", "leak (resting) potential, also the initial one", 0.0)
    w_in: tuple[float, ...] = _values("", "input weight (NIR's w_in)", 1.0)
    i_bias: tuple[float, ...] = _values("pA", "constant input, before w_in (an Affine's bias)", 0.0)


@spark.params
class NIRIFParams:
    r: tuple[float, ...] = _values("mV/(pA ms)", "gain: dv/dt = r x (NIR's R, per ms instead of per s)", 1.0)
    v_threshold: tuple[float, ...] = _values("mV", "spike when v > v_threshold", 1.0)
    v_reset: tuple[float, ...] = _values("mV", "potential after a spike (also the initial one)", 0.0)
    i_bias: tuple[float, ...] = _values("pA", "constant input (an Affine's bias)", 0.0)


@spark.params
class NIRIParams:
    r: tuple[float, ...] = _values("mV/(pA ms)", "gain: dv/dt = r x (NIR's R, per ms instead of per s)", 1.0)
    i_bias: tuple[float, ...] = _values("pA", "constant input (an Affine's bias)", 0.0)


@spark.params
class NIRThresholdParams:
    threshold: tuple[float, ...] = _values("pA", "spike when the input > threshold", 0.0)


# ----- somas ------------------------------------------------------------------------------------------------------

_SPIKES = {"spikes": spark.Port(spark.Spikes, "spikes emitted this step"),
           "v": spark.Port(spark.Voltage, "membrane potential after the step (mV)")}
_V = {"v": spark.Port(spark.Voltage, "the integrated value after the step (mV)")}


class NIRLIF(_NIRSoma):
    """NIR's leaky integrate-and-fire neuron (nir.LIF), per-neuron parameters.

    ``tau_mem dv/dt = (v_leak - v) + r x``; spike when ``v > v_threshold``, then ``v = v_reset``. Exact over a step
    with ``x`` held: ``v(t) = v_inf + (v(t - dt) - v_inf) exp(-dt / tau_mem)``, ``v_inf = v_leak + r x``.
    Starts at ``v_leak``.

    Ports:
        i_syn (in, Current, pA): summed input, shape ``shape``.
        spikes (out, Spikes), v (out, Voltage, mV).
    """

    name = "nir_lif"
    Params = NIRLIFParams
    outputs = _SPIKES

    def __init__(self, shape, *, params=None, rngs=None, **values):
        super().__init__(shape, params=params, rngs=rngs, **values)
        self.v = spark.State(jnp.broadcast_to(self._f32("v_leak"), self.shape))

    def __call__(self, *, dt, i_syn):
        v_inf = self._f32("v_leak") + self._f32("r") * (i_syn + self._f32("i_bias"))
        spikes, v = self._spike(v_inf + (self.v[...] - v_inf) * self._decay("tau_mem", dt))
        self.v[...] = v
        return {"spikes": spikes, "v": v}


class NIRCubaLIF(_NIRSoma):
    """NIR's current-based leaky integrate-and-fire neuron (nir.CubaLIF), per-neuron parameters.

    ``tau_syn di/dt = -i + w_in x``, ``tau_mem dv/dt = (v_leak - v) + r i``; spike when ``v > v_threshold``, then
    ``v = v_reset``. Each step advances ``i`` exactly with ``x`` held, then ``v`` exactly with the new ``i`` held
    (snnTorch's ``Synaptic`` order). Starts at ``i = 0``, ``v = v_leak``.

    Ports:
        i_syn (in, Current, pA): summed input ``x``, shape ``shape``.
        spikes (out, Spikes), v (out, Voltage, mV).
    """

    name = "nir_cuba_lif"
    Params = NIRCubaLIFParams
    outputs = _SPIKES

    def __init__(self, shape, *, params=None, rngs=None, **values):
        super().__init__(shape, params=params, rngs=rngs, **values)
        self.i = spark.State(jnp.zeros(self.shape, jnp.float32))
        self.v = spark.State(jnp.broadcast_to(self._f32("v_leak"), self.shape))

    def __call__(self, *, dt, i_syn):
        i_inf = self._f32("w_in") * (i_syn + self._f32("i_bias"))
        i = i_inf + (self.i[...] - i_inf) * self._decay("tau_syn", dt)
        v_inf = self._f32("v_leak") + self._f32("r") * i
        spikes, v = self._spike(v_inf + (self.v[...] - v_inf) * self._decay("tau_mem", dt))
        self.i[...], self.v[...] = i, v
        return {"spikes": spikes, "v": v}


class NIRLI(_NIRSoma):
    """NIR's leaky integrator (nir.LI): ``tau dv/dt = (v_leak - v) + r x``, no spikes; exact with ``x`` held.
    Starts at ``v_leak``.

    Ports:
        i_syn (in, Current, pA): summed input, shape ``shape``.
        v (out, Voltage, mV).
    """

    name = "nir_li"
    Params = NIRLIParams
    outputs = _V

    def __init__(self, shape, *, params=None, rngs=None, **values):
        super().__init__(shape, params=params, rngs=rngs, **values)
        self.v = spark.State(jnp.broadcast_to(self._f32("v_leak"), self.shape))

    def __call__(self, *, dt, i_syn):
        v_inf = self._f32("v_leak") + self._f32("r") * (i_syn + self._f32("i_bias"))
        v = v_inf + (self.v[...] - v_inf) * self._decay("tau", dt)
        self.v[...] = v
        return {"v": v}


class NIRCubaLI(_NIRSoma):
    """NIR's current-based leaky integrator (nir.CubaLI): ``tau_syn di/dt = -i + w_in x``,
    ``tau_mem dv/dt = (v_leak - v) + r i``, no spikes; ``i`` then ``v`` exactly, as :class:`NIRCubaLIF`.
    Starts at ``i = 0``, ``v = v_leak``.

    Ports:
        i_syn (in, Current, pA): summed input ``x``, shape ``shape``.
        v (out, Voltage, mV).
    """

    name = "nir_cuba_li"
    Params = NIRCubaLIParams
    outputs = _V

    def __init__(self, shape, *, params=None, rngs=None, **values):
        super().__init__(shape, params=params, rngs=rngs, **values)
        self.i = spark.State(jnp.zeros(self.shape, jnp.float32))
        self.v = spark.State(jnp.broadcast_to(self._f32("v_leak"), self.shape))

    def __call__(self, *, dt, i_syn):
        i_inf = self._f32("w_in") * (i_syn + self._f32("i_bias"))
        i = i_inf + (self.i[...] - i_inf) * self._decay("tau_syn", dt)
        v_inf = self._f32("v_leak") + self._f32("r") * i
        v = v_inf + (self.v[...] - v_inf) * self._decay("tau_mem", dt)
        self.i[...], self.v[...] = i, v
        return {"v": v}


class NIRIF(_NIRSoma):
    """NIR's integrate-and-fire neuron (nir.IF): ``dv/dt = r x``; spike when ``v > v_threshold``, then
    ``v = v_reset``. A step adds ``r x dt`` (exact with ``x`` held). Starts at ``v_reset``.

    Ports:
        i_syn (in, Current, pA): summed input, shape ``shape``.
        spikes (out, Spikes), v (out, Voltage, mV).
    """

    name = "nir_if"
    Params = NIRIFParams
    outputs = _SPIKES

    def __init__(self, shape, *, params=None, rngs=None, **values):
        super().__init__(shape, params=params, rngs=rngs, **values)
        self.v = spark.State(jnp.broadcast_to(self._f32("v_reset"), self.shape))

    def __call__(self, *, dt, i_syn):
        gain = jnp.asarray(self._p("r") * dt, jnp.float32)
        spikes, v = self._spike(self.v[...] + gain * (i_syn + self._f32("i_bias")))
        self.v[...] = v
        return {"spikes": spikes, "v": v}


class NIRI(_NIRSoma):
    """NIR's integrator (nir.I): ``dv/dt = r x``, no spikes; a step adds ``r x dt``. Starts at 0.

    Ports:
        i_syn (in, Current, pA): summed input, shape ``shape``.
        v (out, Voltage, mV).
    """

    name = "nir_i"
    Params = NIRIParams
    outputs = _V

    def __init__(self, shape, *, params=None, rngs=None, **values):
        super().__init__(shape, params=params, rngs=rngs, **values)
        self.v = spark.State(jnp.zeros(self.shape, jnp.float32))

    def __call__(self, *, dt, i_syn):
        gain = jnp.asarray(self._p("r") * dt, jnp.float32)
        v = self.v[...] + gain * (i_syn + self._f32("i_bias"))
        self.v[...] = v
        return {"v": v}


class NIRThreshold(_NIRSoma):
    """NIR's threshold (nir.Threshold): a spike wherever this step's input exceeds ``threshold``; no state.

    Ports:
        i_syn (in, Current, pA): summed input, shape ``shape``.
        spikes (out, Spikes).
    """

    name = "nir_threshold"
    Params = NIRThresholdParams
    outputs = {"spikes": spark.Port(spark.Spikes, "input > threshold this step")}

    def __call__(self, *, dt, i_syn):
        return {"spikes": i_syn > self._f32("threshold")}


NEURONS = [NIRLIF, NIRCubaLIF, NIRLI, NIRCubaLI, NIRIF, NIRI, NIRThreshold]
