"""Helpers shared by the encoders and decoders: host-side data checks, step counts, shape checks in a step."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

import spark
from spark.timing import to_steps


class DataError(spark.SparkError, ValueError):
    """Data given to an encoder lies outside the range it declares (or is NaN / infinite, or not numbers).

    ``problems`` holds one message per offending input.
    """

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


def steps_of(ms: float, dt: float) -> int:
    """A duration in ms as whole steps of ``dt``, rounded half-up like delays (``0.35 ms`` at ``dt = 0.1`` is 4):
    :func:`spark.timing.to_steps`, at least 1 (a window or period is at least one step)."""
    return max(1, to_steps(ms, dt))


def expect_shape(who: str, port: str, value: Any, shape: tuple[int, ...]) -> None:
    """Raise ValueError naming both shapes when ``value`` (one step's array, traced or not) is not ``shape``."""
    got = tuple(getattr(value, "shape", ()))
    if got != tuple(shape):
        raise ValueError(f"{who}: input {port!r} has shape {list(got)} but this node expects {list(shape)}; "
                         f"give one step's data of shape {list(shape)} (Brain.run adds the step and trial axes)")


def _first(mask: np.ndarray) -> list[int]:
    return [int(i) for i in np.argwhere(mask)[0]]


def range_problem(who: str, port: str, value: Any, lo: float | None = None, hi: float | None = None,
                  hint: str = "") -> str | None:
    """The problem with ``value`` for a port that takes finite numbers in ``[lo, hi]`` (either may be None), or None.

    ``value`` may carry leading step and trial axes; the index of the first offending element is reported.
    """
    x = np.asarray(value)
    if x.dtype.kind not in "biuf":
        return f"{who}: input {port!r} has dtype {x.dtype}; give numbers"
    if x.dtype.kind == "f":
        bad = ~np.isfinite(x)
        if bad.any():
            idx = _first(bad)
            return (f"{who}: input {port!r} is {x[tuple(idx)]} at index {idx}; give finite numbers "
                    "(replace or drop missing values before encoding)")
    span = f"[{'-inf' if lo is None else f'{lo:g}'}, {'inf' if hi is None else f'{hi:g}'}]"
    for bound, bad in ((lo, None if lo is None else x < lo), (hi, None if hi is None else x > hi)):
        if bad is not None and bad.any():
            idx = _first(bad)
            side = "below" if bound is lo else "above"
            return (f"{who}: input {port!r} = {x[tuple(idx)]:g} at index {idx} is {side} {bound:g}; it takes values "
                    f"in {span} (values outside are clipped inside a step)" + (f"; {hint}" if hint else ""))
    return None


def check_inputs(brain: spark.Brain, inputs: Mapping[str, Any]) -> None:
    """Check data on the host against the range each encoder it feeds declares, before any JAX work.

    For every named input of ``brain`` present in ``inputs`` whose node has a ``check_input(port, value)`` method
    (every encoder of spark-interfaces does), call it; raise :class:`DataError` listing every problem. Values may
    carry step and trial axes. Names, shapes and NaN are also checked by ``Brain.run`` itself.

    Raises:
        DataError: data outside an encoder's declared range, NaN or infinity, or not numbers.
    """
    problems = []
    for spec in brain.to_dict().get("inputs", []):
        if spec["name"] not in inputs:
            continue
        node, port = spec["to"].split(".", 1)
        module = brain.nodes[node] if node in brain.nodes else None
        check = getattr(module, "check_input", None)
        if check is None:
            continue
        problem = check(port, inputs[spec["name"]])
        if problem:
            problems.append(f"input {spec['name']!r} -> {node}: {problem}")
    if problems:
        raise DataError(problems)


UNIT_RANGE_HINT = "scale the data to [0, 1] first (e.g. pixels / 255)"
