"""Time of each neuron's first spike."""

from __future__ import annotations

import jax.numpy as jnp

import spark
from spark.timing import step_time

from ._common import expect_shape, steps_of


@spark.params
class FirstSpikeDecoderParams:
    period: float = spark.param(0.0, unit="ms", ge=0, doc="restart every `period` ms, e.g. the period of a "
                                "latency encoder (0 = one window for the whole run)")
    no_spike: float = spark.param(-1.0, unit="ms", doc="value reported for a neuron that has not spiked in the window")


class FirstSpikeDecoder(spark.Decoder):
    """Time of the first spike of each neuron in a window: the read-out of a time-to-first-spike code.

    Time is counted in windows of ``period`` ms (one window for the whole run when ``period = 0``), from 0 at the
    start of the window's first step. The time reported is the spike's own time stamp (docs/time.md): a spike edge
    delivers a spike one step after the step that emitted it, so a spike received in step ``n`` of the window
    (``n = 0, 1, ...``) was emitted in step ``n - 1``, stamped ``n dt``, and is reported as ``n dt`` from then until
    the window ends. So a ``latency`` encoder's spike at ``t`` reads ``t``, and a soma's spike reads the time
    ``Recording`` gives it (over an edge with a ``delay`` of ``d`` ms, ``d`` later). A neuron that has not spiked
    reads ``no_spike``.
    Earlier spikes mean stronger inputs: ``argmin`` over the neurons that spiked picks the winner.

    State: ``n`` (steps since the window began), ``time`` (ms; ``no_spike`` until the first spike).

    Ports:
        spikes (in, Spikes): spikes of the population read, shape ``shape``.
        time (out, Signal, ms): first-spike time in the window, or ``no_spike``, shape ``shape``.
    """

    name = "first_spike"
    Params = FirstSpikeDecoderParams
    inputs = {"spikes": spark.Port(spark.Spikes, "spikes to time", optional=False)}
    outputs = {"time": spark.Port(spark.Signal, "time of the first spike in the window (ms), or no_spike")}

    def __init__(self, shape, *, params=None, rngs=None, dt=None, **values):
        super().__init__(shape, params=params, rngs=rngs, dt=dt, **values)
        self.n = spark.State(jnp.zeros((), jnp.int32))
        self.fired = spark.State(jnp.zeros(self.shape, bool))
        self.time = spark.State(jnp.full(self.shape, self.params.no_spike, jnp.float32))

    def __call__(self, *, dt, spikes):
        expect_shape(self.name, "spikes", spikes, self.shape)
        p = self.params
        n = self.n[...]
        fired, time = self.fired[...], self.time[...]
        n_in = n % steps_of(p.period, dt) if p.period else n
        if p.period:
            start = n_in == 0  # a new window begins
            fired = fired & ~start
            time = jnp.where(start, p.no_spike, time)
        first = spikes & ~fired
        time = jnp.where(first, step_time(n_in - 1, dt).astype(jnp.float32), time)  # the emitting step's stamp
        self.fired[...] = fired | spikes
        self.time[...] = time
        self.n[...] = n + 1
        return {"time": time}
