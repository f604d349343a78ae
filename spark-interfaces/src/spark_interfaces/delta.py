"""Delta (temporal-contrast) encoder with ON and OFF channels."""

from __future__ import annotations

import jax.numpy as jnp

import spark

from ._common import expect_shape, range_problem


@spark.params
class DeltaEncoderParams:
    threshold: float = spark.param(0.1, gt=0, doc="change of the data (in its own units) that triggers a spike")
    reference: str = spark.param("step", choices=("step", "reset", "previous"),
                                 doc="what a change is measured from: step = a reference that moves by one "
                                     "threshold per spike (sigma-delta); reset = the value at the last spike "
                                     "(event camera); previous = the previous step's value")
    initial: float | None = spark.param(None, doc="initial reference (default: the first step's data, so the "
                                        "first step never spikes)")


class DeltaEncoder(spark.Encoder):
    """Temporal-contrast code for time series: an ON spike when the data rises by ``threshold``, OFF when it falls.

    Each element keeps a reference ``r`` (initially ``initial``, or the first step's data). Each step, with ``x`` the
    data, ``on = x - r >= threshold`` and ``off = r - x >= threshold`` (at most one of the two), then::

        step:      r <- r + threshold (on - off)    (sigma-delta: r tracks x to within one threshold, one spike per
                                                     step, so threshold * (#on - #off) = r - r0 reconstructs x)
        reset:     r <- x where on or off           (an event-camera pixel: the reference jumps to the new level)
        previous:  r <- x                           (every step: spikes mark step-to-step changes >= threshold)

    Data: any shape, one value per step (a constant input gives no spike after the first step); trials through
    ``Brain.run(..., batched=True)``. Declared range: any finite number (``check_input`` refuses NaN and infinity,
    as ``Brain.run`` does); for log-intensity contrast as in event cameras, feed ``log(x)``.

    State: ``ref`` (the reference), ``primed`` (whether the reference has been set).

    Ports:
        data (in, Signal): the signal, shape ``shape``.
        on (out, Spikes): rises, shape ``shape``.
        off (out, Spikes): falls, shape ``shape``.
        spikes (out, Spikes): both channels stacked, ``[0]`` = on and ``[1]`` = off: shape ``(2, *shape)``.
    """

    name = "delta"
    Params = DeltaEncoderParams
    inputs = {"data": spark.Port(spark.Signal, "the signal (any finite numbers)", warn_unconnected=True)}
    outputs = {
        "on": spark.Port(spark.Spikes, "ON spikes: the data rose by threshold"),
        "off": spark.Port(spark.Spikes, "OFF spikes: the data fell by threshold"),
        "spikes": spark.Port(spark.Spikes, "ON and OFF stacked, shape (2, *shape): [0] = ON, [1] = OFF"),
    }

    @classmethod
    def port_shapes(cls, params, shape):
        return {"data": shape, "on": shape, "off": shape, "spikes": (2, *shape)}

    @classmethod
    def infer_shape(cls, params, connected):
        for port, shape in connected.items():
            if port == "spikes":
                return tuple(shape[1:]) if len(shape) > 1 and shape[0] == 2 else None
            return tuple(shape)
        return None

    def __init__(self, shape, *, params=None, rngs=None, dt=None, **values):
        super().__init__(shape, params=params, rngs=rngs, dt=dt, **values)
        init = self.params.initial
        self.ref = spark.State(jnp.full(self.shape, 0.0 if init is None else init, jnp.float32))
        self.primed = spark.State(jnp.asarray(init is not None))

    def check_input(self, port, value):
        """The problem with host data ``value`` (any leading step / trial axes) for ``port``, or None."""
        return range_problem(self.name, port, value)

    def __call__(self, *, dt, data):
        expect_shape(self.name, "data", data, self.shape)
        p = self.params
        x = data.astype(jnp.float32)
        primed = self.primed[...]
        r = jnp.where(primed, self.ref[...], x)
        on = primed & (x - r >= p.threshold)
        off = primed & (r - x >= p.threshold)
        if p.reference == "step":
            r = r + p.threshold * (on.astype(jnp.float32) - off.astype(jnp.float32))
        elif p.reference == "reset":
            r = jnp.where(on | off, x, r)
        else:
            r = x
        self.ref[...] = r
        self.primed[...] = jnp.asarray(True)
        return {"on": on, "off": off, "spikes": jnp.stack([on, off])}
