"""The one rule of time (docs/time.md): every conversion between steps and milliseconds in Spark goes through here.

Step ``k`` (``k = 0, 1, ...``) advances the state from ``t_k = k dt`` to ``t_{k+1} = (k + 1) dt``; everything it
produces (state samples, output values, spikes) is stamped ``(k + 1) dt``, the time the step ends (NEST's rule).

- :func:`to_steps`: a duration (ms) as whole steps, rounded half-up (delays, refractory periods, periods, windows).
- :func:`to_ms`: the duration of ``n`` steps (ms); also the time at which step ``n`` begins.
- :func:`step_time`: the time stamp of step ``k``: ``(k + 1) dt``.
- :func:`step_at`: the step whose events are stamped ``ms``: ``to_steps(ms, dt) - 1``.

Each takes Python numbers (and returns a Python number) or arrays, numpy or JAX (traced inside a step too), and
returns an array of the same kind. For arrays :func:`to_steps` and :func:`step_at` return whole numbers in a float
array (``inf`` stays ``inf``, e.g. a latency that never comes); cast with ``astype`` to index with them.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np


def _is_number(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, np.ndarray)


def _xp(x: Any):
    """The array module of ``x``: jax.numpy for JAX arrays (also traced ones), numpy otherwise."""
    if isinstance(x, (np.ndarray, np.generic, list, tuple)):
        return np
    import jax.numpy as jnp

    return jnp


def to_steps(ms: Any, dt: float) -> Any:
    """Whole steps of ``dt`` ms in a duration of ``ms`` ms, rounded half-up: ``floor(round(ms / dt, 6) + 0.5)``.

    The rounding to 6 decimals first absorbs floating-point noise (``0.3 / 0.1`` is 2.9999999999999996: 3 steps);
    half-up then makes ``0.35 ms`` at ``dt = 0.1`` four steps, as edge delays and refractory periods round.

    Args:
        ms: a duration (ms): a number, or an array (numpy or JAX).
        dt: the time step (ms).

    Returns:
        an ``int`` for a number; for an array, an array of whole numbers (float dtype; ``inf`` stays ``inf``).
    """
    if _is_number(ms):
        return math.floor(round(ms / dt, 6) + 0.5)
    xp = _xp(ms)
    return xp.floor(xp.round(xp.asarray(ms) / dt, 6) + 0.5)


def to_ms(n: Any, dt: float) -> Any:
    """The duration (ms) of ``n`` steps of ``dt`` ms: ``n dt``; also the time at which step ``n`` begins.

    Used for durations (a run's simulated time, an interval between two steps) and for the time a recording
    began (its first step's start); not for the time of an event, which is :func:`step_time`.
    """
    if _is_number(n):
        return n * dt
    xp = _xp(n)
    return xp.asarray(n) * dt


def step_time(k: Any, dt: float) -> Any:
    """The time stamp (ms) of step ``k`` (``k = 0, 1, ...``): ``(k + 1) dt``, the time at which the step ends.

    Everything step ``k`` produces is stamped so: a state sample taken after it, its output values, a spike it
    emits. So the first sample of a run is at ``dt``, and a sample taken every 10 steps at ``dt = 0.1`` reads
    1.0, 2.0, ... ms.
    """
    if _is_number(k):
        return (k + 1) * dt
    xp = _xp(k)
    return (xp.asarray(k) + 1) * dt


def step_at(ms: Any, dt: float) -> Any:
    """The step whose events are stamped ``ms`` (the step ending at ``ms``): ``to_steps(ms, dt) - 1``.

    An encoder that places a spike at time ``T`` emits it in step ``step_at(T, dt)``, so the spike is stamped
    ``T`` (to the nearest step, half-up). A time below ``dt / 2`` gives step -1: no step ends there, and an encoder
    emits such a spike in the first step (stamped ``dt``), the earliest time a step can produce.
    """
    return to_steps(ms, dt) - 1


__all__ = ["step_at", "step_time", "to_ms", "to_steps"]
