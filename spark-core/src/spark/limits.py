"""The plausible range of every number a model holds, checked before any JAX work (docs/spark-files.md, "Limits").

A `.spark` file is JSON, whose numbers have no size; Spark stores them in fixed-size types: parameters and input
values as float32, integer parameters, shapes, indices and step counts as int32, the seed as a 64-bit integer.
A value that does not fit would overflow silently (``1e39`` becomes ``inf`` in float32) or crash a build or a run
(``2**70`` has no int32). So validation refuses such values, each with its JSON path and the fix, using these
checks; nothing here imports JAX.

=========================  ==========================================================================
value                      accepted
=========================  ==========================================================================
float parameter, input     finite and representable in float32: ``0`` or ``1.2e-38 <= |x| <= 3.4e38``
int parameter, index       ``-2**31 .. 2**31 - 1`` (int32)
shape entry, shape size    ``1 .. 2**31 - 1`` (each entry and their product)
``seed``                   ``0 .. 2**63 - 1`` (int64; as ``jax.random.key`` takes it)
``dt``                     ``1e-6 .. 1000`` ms
a duration in ms           at most ``2**31 - 1`` steps of ``dt`` (step counters are int32)
an edge ``delay``          at most ``10**7`` steps of ``dt`` (its ring buffer holds one slot per step)
JSON nesting               at most 64 levels (a model needs 5)
=========================  ==========================================================================
"""

from __future__ import annotations

import math
from typing import Any

INT32_MIN = -(2 ** 31)
INT32_MAX = 2 ** 31 - 1
SEED_MAX = 2 ** 63 - 1
FLOAT32_MAX = 3.4028234663852886e38
FLOAT32_TINY = 1.1754943508222875e-38  # the smallest normal float32; below it a value loses precision or is 0
DT_MIN = 1e-6
DT_MAX = 1e3
STEPS_MAX = INT32_MAX
DELAY_STEPS_MAX = 10 ** 7
DEPTH_MAX = 64


def float32_problem(value: Any) -> str | None:
    """Why a number cannot be stored as float32 (``"= 1e+39 overflows float32 ..."``), or None if it can."""
    try:
        x = float(value)
    except OverflowError:
        return f"= {_short(value)} is too large: it overflows float32 (|x| <= 3.4e38); give a smaller number"
    if math.isnan(x):
        return "is NaN; give a finite number"
    if math.isinf(x):
        return f"= {x} is not finite; give a finite number"
    if abs(x) > FLOAT32_MAX:
        return f"= {_short(value)} overflows float32 (|x| <= 3.4e38), where Spark stores it; give a smaller number"
    if x != 0 and abs(x) < FLOAT32_TINY:
        return (f"= {_short(value)} underflows float32 (nonzero values need |x| >= 1.2e-38), where Spark stores it: "
                "it would be 0 or lose its precision; give 0 or a larger number")
    return None


def int_problem(value: int, lo: int = INT32_MIN, hi: int = INT32_MAX, what: str = "int32") -> str | None:
    """Why an integer is out of ``[lo, hi]`` (the range of ``what``), or None."""
    if lo <= value <= hi:
        return None
    return f"= {_short(value)} does not fit {what} ({lo} .. {hi}); give a value in that range"


def steps_problem(ms: float, dt: float, limit: int = STEPS_MAX, why: str = "step counters are int32") -> str | None:
    """Why a duration of ``ms`` ms is too many steps of ``dt`` ms (more than ``limit``), or None."""
    steps = ms / dt
    if not math.isfinite(steps) or abs(steps) > limit:
        return (f"= {_short(ms)} ms is {steps:.3g} steps of dt = {dt} ms, more than {limit:,} ({why}); "
                f"give at most {limit * dt:.6g} ms or a larger dt")
    return None


def depth_problem(doc: Any) -> tuple[list, int] | None:
    """``(path, depth)`` of the first value nested deeper than :data:`DEPTH_MAX`, or None (iterative: no
    recursion, whatever the depth)."""
    if not _deeper_than_max(doc):  # the usual answer, found without building a path per value
        return None
    stack = [(doc, [])]
    while stack:
        value, path = stack.pop()
        if len(path) > DEPTH_MAX:
            return path[:DEPTH_MAX + 1], len(path)
        if isinstance(value, dict):
            stack.extend((v, [*path, k]) for k, v in value.items())
        elif isinstance(value, list):
            if len(path) < DEPTH_MAX and not any(isinstance(v, (dict, list)) for v in value):
                continue  # numbers or strings one level down: not too deep (a list of 10**6 weights, quickly)
            stack.extend((v, [*path, i]) for i, v in enumerate(value))
    return None


def _deeper_than_max(doc: Any) -> bool:
    """Whether some value lies deeper than :data:`DEPTH_MAX` (a container at that depth holds anything), level by
    level over containers only: one look at each value, no paths (:func:`depth_problem` then finds the path)."""
    level, depth = [doc], 0
    while level:
        deeper = []
        for value in level:
            children = value.values() if isinstance(value, dict) else value
            if depth >= DEPTH_MAX:
                if len(children):
                    return True
                continue
            deeper += [c for c in children if isinstance(c, (dict, list))]
        level, depth = deeper, depth + 1
    return False


def _short(value: Any) -> str:
    """A number as a message shows it: ``2**70`` as ``1.18e+21``, not 22 digits (nor 5,000)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10 ** 12:
        digits = len(str(abs(value))) if value.bit_length() < 14000 else None
        try:
            return f"{float(value):.3g}"
        except OverflowError:
            return f"an integer of {digits or 'over 4,300'} digits"
    if isinstance(value, float) and math.isfinite(value) and abs(value) >= 1e12:
        return f"{value:.3g}"
    return repr(value)
