"""Latency (time-to-first-spike) encoder."""

from __future__ import annotations

import jax.numpy as jnp

import spark
from spark.timing import step_at

from ._common import UNIT_RANGE_HINT, expect_shape, range_problem, steps_of


@spark.params
class LatencyEncoderParams:
    t_max: float = spark.param(50.0, unit="ms", gt=0, doc="latest spike time in a window: the time of the weakest "
                               "input that spikes")
    code: str = spark.param("linear", choices=("linear", "log"), doc="linear: t = t_max (1 - x); log: "
                            "t = tau ln(x / (x - threshold)), capped at t_max")
    tau: float = spark.param(10.0, unit="ms", gt=0, doc="time constant of the log code")
    threshold: float = spark.param(0.0, ge=0, lt=1, doc="inputs <= threshold never spike (the log code needs > 0)")
    period: float = spark.param(0.0, unit="ms", ge=0, doc="the code restarts every `period` ms (0 = one window "
                                "for the whole run: each element spikes at most once)")


class LatencyEncoder(spark.Encoder):
    """Time-to-first-spike code: the stronger the input, the earlier its one spike.

    Time is counted in windows of ``period`` ms (one window for the whole run when ``period = 0``), from 0 at the
    start of the window's first step. In each window, element ``k`` with ``x = clip(data[k], 0, 1) > threshold``
    spikes exactly once, at time ``t(x)`` rounded to the step grid: in the first step ``n`` of the window
    (``n = 0, 1, ...``) that ends at or after it, ``n + 1 >= to_steps(t(x), dt)`` (rounded half-up), so the spike is
    stamped ``t(x)`` (docs/time.md: step ``n`` is stamped ``(n + 1) dt``). A time below one step (``x = 1``) spikes
    in the first step, stamped ``dt``. Where::

        linear:  t(x) = t_max (1 - x)                              (x = 1 spikes at once, x -> 0+ at t_max)
        log:     t(x) = min(tau ln(x / (x - threshold)), t_max)    (an RC membrane charged by x reaching threshold)

    So a larger ``x`` never spikes later (strictly earlier when their stamps, ``t(x)`` on the grid and at least ``dt``,
    differ), and inputs ``<= threshold`` stay silent. ``t(x)`` is evaluated with the data of the current step, so a
    time series works (an element fires the first time the elapsed time reaches the latency of its current value).
    Data: any shape; trials through ``Brain.run(..., batched=True)``.

    Declared range: ``[0, 1]``. Inside a step values outside are clipped and NaN reads as 0; ``check_input``
    refuses them on the host.

    State: ``n`` (steps since the window began), ``fired`` (whether each element spiked in this window).

    Ports:
        data (in, Signal): intensities in [0, 1], shape ``shape``.
        spikes (out, Spikes): one spike per element and window, shape ``shape``.
    """

    name = "latency"
    Params = LatencyEncoderParams
    inputs = {"data": spark.Port(spark.Signal, "intensity in [0, 1] (1 = earliest spike)", warn_unconnected=True)}
    outputs = {"spikes": spark.Port(spark.Spikes, "one spike per element and window")}

    def __init__(self, shape, *, params=None, rngs=None, dt=None, **values):
        super().__init__(shape, params=params, rngs=rngs, dt=dt, **values)
        p = self.params
        if p.code == "log" and p.threshold <= 0:
            raise spark.ParamError(f"{self.name}: the log code needs threshold > 0 (got {p.threshold}); "
                                   "set e.g. threshold=0.2, or use code='linear'")
        if p.period and p.period <= p.t_max:
            raise spark.ParamError(f"{self.name}: period = {p.period} ms must exceed t_max = {p.t_max} ms so that "
                                   "every latency fits in a window; raise period or lower t_max")
        self.n = spark.State(jnp.zeros((), jnp.int32))
        self.fired = spark.State(jnp.zeros(self.shape, bool))

    def check_input(self, port, value):
        """The problem with host data ``value`` (any leading step / trial axes) for ``port``, or None."""
        return range_problem(self.name, port, value, 0.0, 1.0, UNIT_RANGE_HINT)

    def latency(self, x: jnp.ndarray) -> jnp.ndarray:
        """Spike time ``t(x)`` (ms) of intensities ``x`` (already in [0, 1]); ``inf`` where ``x <= threshold``."""
        p = self.params
        above = x > p.threshold
        if p.code == "linear":
            t = p.t_max * (1.0 - x)
        else:
            safe = jnp.where(above, x, 1.0)
            t = jnp.minimum(p.tau * jnp.log(safe / jnp.maximum(safe - p.threshold, 1e-30)), p.t_max)
        return jnp.where(above, t, jnp.inf)

    def __call__(self, *, dt, data):
        expect_shape(self.name, "data", data, self.shape)
        p = self.params
        x = jnp.nan_to_num(jnp.clip(data, 0.0, 1.0), nan=0.0)
        n = self.n[...]
        fired = self.fired[...]
        if p.period:
            n_in = n % steps_of(p.period, dt)
            fired = fired & (n_in != 0)  # a new window begins
        else:
            n_in = n
        # fire in the step that ends at the latency (rounded half-up), or in the first step for latencies below dt
        due = step_at(self.latency(x), dt) <= n_in
        spikes = due & ~fired
        self.fired[...] = fired | spikes
        self.n[...] = n + 1
        return {"spikes": spikes}

