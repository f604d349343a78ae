"""Direct current injection: data in, current out, no spikes."""

from __future__ import annotations

import jax.numpy as jnp

import spark

from ._common import expect_shape, range_problem


@spark.params
class CurrentEncoderParams:
    gain: float = spark.param(100.0, unit="pA", doc="current per unit of data")
    offset: float = spark.param(0.0, unit="pA", doc="current added to every element")
    i_min: float | None = spark.param(None, unit="pA", doc="lowest current (default: no bound)")
    i_max: float | None = spark.param(None, unit="pA", doc="highest current (default: no bound)")


class CurrentEncoder(spark.Encoder):
    """Feeds the data into neurons as a current: ``i = clip(gain * data + offset, i_min, i_max)`` (pA).

    The first layer of neurons then does the encoding (the "direct" or "analog" input of deep SNNs, or a stimulus
    current). Connect ``i`` to a soma's ``i_syn``. Data: any shape, constant or one value per step; trials through
    ``Brain.run(..., batched=True)``. Declared range: any finite number (``check_input`` refuses NaN and infinity,
    as ``Brain.run`` does); ``i_min`` / ``i_max`` bound the current, not the data.

    Ports:
        data (in, Signal): the values, shape ``shape``.
        i (out, Current, pA): the injected current, shape ``shape``.
    """

    name = "current"
    Params = CurrentEncoderParams
    inputs = {"data": spark.Port(spark.Signal, "values to inject (times gain, plus offset)", warn_unconnected=True)}
    outputs = {"i": spark.Port(spark.Current, "injected current (pA)")}

    def __init__(self, shape, *, params=None, rngs=None, dt=None, **values):
        super().__init__(shape, params=params, rngs=rngs, dt=dt, **values)
        p = self.params
        if p.i_min is not None and p.i_max is not None and p.i_min > p.i_max:
            raise spark.ParamError(f"{self.name}: i_min = {p.i_min} pA exceeds i_max = {p.i_max} pA; swap them")

    def check_input(self, port, value):
        """The problem with host data ``value`` (any leading step / trial axes) for ``port``, or None."""
        return range_problem(self.name, port, value)

    def __call__(self, *, dt, data):
        expect_shape(self.name, "data", data, self.shape)
        p = self.params
        i = p.gain * data.astype(jnp.float32) + p.offset
        if p.i_min is not None or p.i_max is not None:
            i = jnp.clip(i, p.i_min, p.i_max)
        return {"i": i}
