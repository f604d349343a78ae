"""The conversion between milliseconds and whole steps that every duration in Spark goes through (docs/time.md)."""

from __future__ import annotations

import math


def to_steps(ms: float, dt: float) -> int:
    """Whole steps of ``dt`` ms in a duration of ``ms`` ms, rounded half-up: ``floor(round(ms / dt, 6) + 0.5)``.

    The rounding to 6 decimals first absorbs floating-point noise (``0.3 / 0.1`` is 2.9999999999999996: 3 steps);
    half-up then makes ``0.35 ms`` at ``dt = 0.1`` four steps, as edge delays and refractory periods round.
    """
    return math.floor(round(ms / dt, 6) + 0.5)
