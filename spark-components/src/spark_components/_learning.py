"""Small helpers shared by the learning rules (private)."""

from __future__ import annotations

import spark

#: the input ports most rules share: the synapse's presynaptic spikes and the postsynaptic population's
PRE_SPIKES = spark.Port(spark.Spikes, "presynaptic spikes (same source as the synapse)", optional=False)
POST_SPIKES = spark.Port(spark.Spikes, "postsynaptic spikes", optional=False)


def check_bounds(component: str, w_min: float, w_max: float, *, strict: bool = True, unit: str = "pA") -> None:
    """Raise :class:`spark.ParamError` unless ``w_min < w_max`` (``<=`` when not ``strict``)."""
    if w_min < w_max or (not strict and w_min == w_max):
        return
    sym = "<" if strict else "<="
    msg = (f"{component} parameter 'w_min' = {w_min!r} {unit} is out of bounds: it must be {sym} "
           f"'w_max' = {w_max!r} {unit}; lower w_min or raise w_max")
    err = spark.ParamError(msg)
    err.problems = [("w_min", msg)]
    raise err
