"""Poisson rate encoder."""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp

import spark

from ._common import UNIT_RANGE_HINT, expect_shape, range_problem


@spark.params
class PoissonEncoderParams:
    max_rate: float = spark.param(100.0, unit="Hz", doc="firing rate for an input value of 1", ge=0)


class PoissonEncoder(spark.Encoder):
    """Poisson spike trains whose rate follows the data.

    Each step, element ``k`` spikes with probability ``data[k] * max_rate * dt`` (``dt`` in s; negative data read
    as 0 and the probability is capped at 1), independently of every other element and step.
    At most one spike fits in a step, so rates above ``1 / dt`` (10 kHz at ``dt = 0.1`` ms) cannot be represented:
    a ``max_rate`` above ``1 / dt`` saturates every value above ``1 / (max_rate dt)``. The encoder says so with a
    :class:`spark.ModelWarning` (see :func:`rate_cap_problem`) when it is built for such a ``dt`` (a Brain build), or
    when a step is traced with one if it was built without ``dt``.
    The data may be anything of the node's shape (a vector, an image) and may change every step (a time series);
    many trials at once are ``Brain.run(..., batched=True)``.

    The uniform numbers are ``jax.random.uniform(key, shape)`` (float32 with 23 random mantissa bits, so ``p`` has a
    resolution of 2^-23). Spark's workloads compile the Threefry hash behind them unrolled into one fused loop on CPU
    (:mod:`spark.fastrng`; 784 numbers: about 14 -> 4 us per step).

    Declared range: ``[0, 1]``: on the host, ``check_input`` (and :func:`spark_interfaces.check_inputs`) refuses
    data outside it with the offending index, and ``Brain.run`` refuses NaN and infinity. Inside a step values below
    0 and NaN read as 0, and values above 1 fire faster than ``max_rate`` in proportion (up to one spike per step):
    a presentation's gain (:class:`spark.Presentation`'s ``gain_step``, Diehl & Cook's re-presentation with the
    input rates raised) scales the data past 1, and a white pixel's rate must rise with it.

    Ports:
        data (in, Signal): intensities in [0, 1], shape ``shape``.
        spikes (out, Spikes): the spike trains, shape ``shape``.
    """

    name = "poisson"
    Params = PoissonEncoderParams
    inputs = {"data": spark.Port(spark.Signal, "intensity in [0, 1] (1 = max_rate; a gain may scale it past 1)",
                                 warn_unconnected=True)}
    outputs = {"spikes": spark.Port(spark.Spikes, "Poisson spikes")}
    stochastic = True

    def __init__(self, shape, *, params=None, rngs=None, dt=None, **values):
        super().__init__(shape, params=params, rngs=rngs, dt=dt, **values)
        if self.dt is not None:
            _warn_rate_cap(self.params.max_rate, self.dt)

    def check_input(self, port, value):
        """The problem with host data ``value`` (any leading step / trial axes) for ``port``, or None."""
        return range_problem(self.name, port, value, 0.0, 1.0, UNIT_RANGE_HINT)

    def __call__(self, *, dt, data, key):
        expect_shape(self.name, "data", data, self.shape)
        if self.dt is None:  # built without dt: say it once per trace, where the step's dt is known
            _warn_rate_cap(self.params.max_rate, dt)
        x = jnp.nan_to_num(jnp.maximum(data, 0.0), nan=0.0)  # above 1: faster (a presentation's gain)
        p = jnp.minimum(x * (self.params.max_rate * dt * 1e-3), 1.0)
        return {"spikes": jax.random.uniform(key, self.shape) < p}


def rate_cap_problem(max_rate: float, dt: float) -> str | None:
    """Why ``max_rate`` (Hz) cannot be encoded at ``dt`` (ms), or None: one spike per step at most, so the spike
    probability ``x max_rate dt`` is capped at 1 and rates above ``1 / dt`` are lost."""
    p = max_rate * dt * 1e-3
    if p <= 1.0 + 1e-9:
        return None
    limit = 1e3 / dt
    return (f"poisson: max_rate = {max_rate:g} Hz is more than one spike per step at dt = {dt:g} ms "
            f"(max_rate * dt = {p:g}): the spike probability is capped at 1, so the encoder fires at most "
            f"{limit:g} Hz (1 / dt) and every input above {1.0 / p:.4g} gives that same rate; lower max_rate to "
            f"<= {limit:g} Hz or run with dt <= {1e3 / max_rate:g} ms")


def _warn_rate_cap(max_rate: float, dt: float) -> None:
    problem = rate_cap_problem(max_rate, dt)
    if problem:
        warnings.warn(problem, spark.ModelWarning, stacklevel=3)
