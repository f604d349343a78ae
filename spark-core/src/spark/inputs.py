"""The one check of values given to a Brain's external inputs.

Every entry point that feeds data into a brain goes through :func:`check_values`: the single-step call
``brain(**inputs)``, :meth:`spark.Brain.run` and :meth:`~spark.Brain.run_iter`, the samples and held inputs of
:meth:`~spark.Brain.present`, and the ``value`` of a `.spark` file's inputs (so also ``spark run`` and the editor,
which run through these). A NaN or an infinity fed to a neuron stays in its state for ever, so it is refused
before any step, with the input's name, the index of the first bad value and the fix.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import GraphError


def check_values(name: str, value: Any, *, what: str = "input", device: bool = False) -> np.ndarray:
    """``value`` as a numpy array if it is numbers, all finite; else GraphError naming ``what`` ``name``.

    Args:
        name: the input's name (as in ``brain.input(name, ...)`` or the file's ``inputs[].name``).
        value: anything ``np.asarray`` takes.
        what: how the message calls it: ``"input"``, ``"samples"``, ``"inputs"``...
        device: a ``jax.Array`` is checked where it is (one boolean comes to the host, not the data) and returned
            as it is, so a run's inputs already on a device, or sharded over several, stay there.

    Returns:
        ``np.asarray(value)`` (no copy when it already is an array); with ``device``, a ``jax.Array`` unchanged.

    Raises:
        spark.GraphError: a dtype that is not numbers (bool, int, float), or a NaN / infinity; the message names
            the first bad value's index (``[step, neuron]`` for a time series) and what to do about it.
    """
    import jax

    if device and isinstance(value, jax.Array) and not isinstance(value, jax.core.Tracer):
        if value.dtype.kind not in "biuf":
            raise GraphError(f"{what} {name!r} has dtype {value.dtype}; give numbers (bool, int or float)")
        if value.dtype.kind != "f" or bool(jax.numpy.isfinite(value).all()):
            return value
        if value.is_fully_addressable:  # raises, naming the first bad value
            return check_values(name, np.asarray(value), what=what)
        raise GraphError(f"{what} {name!r} contains NaN or infinity; a NaN fed to a neuron stays in its state for "
                         "ever. Clean the data first (e.g. jnp.nan_to_num(x, nan=0.0))")
    x = np.asarray(value)
    if x.dtype.kind not in "biuf":
        raise GraphError(f"{what} {name!r} has dtype {x.dtype}; give numbers (bool, int or float)")
    if x.dtype.kind == "f":
        finite = np.isfinite(x)
        if not finite.all():
            bad = np.argwhere(~finite)[0].tolist()
            kind = "NaN" if np.isnan(x[tuple(bad)]) else "an infinity"
            at = f" at index {bad}" if bad else ""
            raise GraphError(
                f"{what} {name!r} contains {kind}{at} ({int((~finite).sum())} non-finite value(s) in all); a NaN "
                "fed to a neuron stays in its state for ever. Clean the data first: drop or fill the missing values "
                "(e.g. np.nan_to_num(x, nan=0.0)), or find where they come from")
    return x


def is_concrete(value: Any) -> bool:
    """Whether ``value`` can be inspected now (not a tracer inside ``jax.jit`` / ``vmap``)."""
    import jax

    return not isinstance(value, jax.core.Tracer)


def step_values(inputs, ext) -> dict:
    """The external inputs of one step, each broadcast to its port's shape: ``ext[name]`` where given, else the
    input's default (a `.spark` file's ``value``), else nothing.

    Args:
        inputs: the schedule's ``(name, ref, shape, dtype, default)`` per external input.
        ext: name -> a value of the port's shape or one scalar (already checked by :func:`check_values`).

    Raises:
        GraphError: a value whose size is neither the port's nor 1, naming the input and both shapes.
    """
    import jax.numpy as jnp

    values = {}
    for name, ref, shape, _dtype, default in inputs:
        if name in ext:
            x = jnp.asarray(ext[name])
            if x.size != int(np.prod(shape)) and x.size != 1:
                raise GraphError(f"input {name!r} has shape {list(x.shape)} but {ref} expects {list(shape)}")
            values[name] = jnp.broadcast_to(x.reshape(shape) if x.size != 1 else x.reshape(()), shape)
        elif default is not None:
            values[name] = jnp.full(shape, default)
    return values
