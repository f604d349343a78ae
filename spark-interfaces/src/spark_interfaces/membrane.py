"""Membrane-potential readout."""

from __future__ import annotations

import jax.numpy as jnp

import spark

from ._common import expect_shape, steps_of


@spark.params
class MembraneDecoderParams:
    mode: str = spark.param("last", choices=("last", "mean", "max", "min"),
                            doc="read the potential now, or its mean / maximum / minimum over the window")
    period: float = spark.param(0.0, unit="ms", ge=0, doc="restart the mean / max / min every `period` ms "
                                "(0 = one window for the whole run)")
    v_ref: float = spark.param(0.0, unit="mV", doc="subtracted from the reading (e.g. the resting potential)")


class MembraneDecoder(spark.Decoder):
    """Reads the membrane potential of a population: the output of non-spiking (or rarely spiking) readout neurons.

    A classic readout layer is a soma that integrates synaptic input and is read by its potential, not its spikes
    (e.g. a ``lif`` with a threshold it never reaches, a leaky integrator). With ``v`` the potential received this
    step and ``n`` the steps of the window so far (including this one)::

        last:  y = v - v_ref
        mean:  y = (1/n) sum v - v_ref       (running mean over the window)
        max:   y = max v - v_ref             min: y = min v - v_ref

    Windows are ``period`` ms long (one for the whole run when ``period = 0``). Voltage edges deliver in the same
    step, so ``last`` is the potential after this step's update. ``argmax`` of ``max`` or ``mean`` classifies.

    State: ``n`` (steps since the window began), ``acc`` (running sum, max or min, mV).

    Ports:
        v (in, Voltage, mV): membrane potential of the population read, shape ``shape``.
        value (out, Signal, mV): the reading, shape ``shape``.
    """

    name = "membrane"
    Params = MembraneDecoderParams
    inputs = {"v": spark.Port(spark.Voltage, "membrane potential (mV)", optional=False)}
    outputs = {"value": spark.Port(spark.Signal, "the potential read (mV, minus v_ref)")}

    def __init__(self, shape, *, params=None, rngs=None, dt=None, **values):
        super().__init__(shape, params=params, rngs=rngs, dt=dt, **values)
        self.n = spark.State(jnp.zeros((), jnp.int32))
        self.acc = spark.State(jnp.zeros(self.shape, jnp.float32))

    def __call__(self, *, dt, v):
        expect_shape(self.name, "v", v, self.shape)
        p = self.params
        v = v.astype(jnp.float32)
        n = self.n[...]
        n_in = n % steps_of(p.period, dt) if p.period else n
        start = n_in == 0
        acc = self.acc[...]
        if p.mode == "last":
            acc, y = v, v
        elif p.mode == "mean":
            acc = jnp.where(start, v, acc + v)
            y = acc / (n_in + 1).astype(jnp.float32)
        elif p.mode == "max":
            acc = jnp.where(start, v, jnp.maximum(acc, v))
            y = acc
        else:
            acc = jnp.where(start, v, jnp.minimum(acc, v))
            y = acc
        self.acc[...] = acc
        self.n[...] = n + 1
        return {"value": y - p.v_ref}
