"""Regular (deterministic) rate encoder."""

from __future__ import annotations

import jax.numpy as jnp

import spark

from ._common import UNIT_RANGE_HINT, expect_shape, range_problem

PHASE_TOL = 1e-6  # periods: a crossing this close to a step's end counts as in that step (float32 rounding)


@spark.params
class RegularEncoderParams:
    max_rate: float = spark.param(100.0, unit="Hz", ge=0, doc="firing rate for an input value of 1")
    phase: float = spark.param(0.0, ge=0, lt=1, doc="initial phase, in periods: 0 = the first spike comes after "
                               "one full period, 0.5 = after half of one")


class RegularEncoder(spark.Encoder):
    """Deterministic, evenly spaced spikes whose rate follows the data (a phase accumulator; no randomness).

    Each element keeps a phase ``phi`` (in periods). Each step ``phi += clip(x, 0, 1) * max_rate * dt`` (``dt`` in s);
    when ``phi >= 1`` the element spikes and ``phi -= 1``. For constant ``x`` the number of spikes in the first
    ``n`` steps (up to time ``n dt``) is exactly ``floor(phase + n x max_rate dt)``: with ``phase = 0`` the ``j``-th
    spike is stamped ``j / (x max_rate)``, rounded up to the step grid (docs/time.md: step ``k`` is stamped
    ``(k + 1) dt``), so at 100 Hz and ``dt = 1`` ms the spikes are at 10, 20, 30, ... ms. The interval between
    spikes is ``1 / (x max_rate)`` to within one step. The sum is compensated (Kahan) and a phase within ``1e-6`` of
    1 counts as 1, so float32 rounding does not move a spike that is due exactly at a step's end.
    At most one spike per step: rates above ``1 / dt`` saturate (a spike every step; the phase left after a spike is
    capped at 1). Data: any shape, constant or one value per step; trials through ``Brain.run(..., batched=True)``.

    Declared range: ``[0, 1]``. Inside a step values outside are clipped and NaN reads as 0; ``check_input``
    refuses them on the host.

    State: ``phi`` (periods), ``phi_err`` (the compensated sum's running error, periods).

    Ports:
        data (in, Signal): intensities in [0, 1] (1 = max_rate), shape ``shape``.
        spikes (out, Spikes): the spikes, shape ``shape``.
    """

    name = "regular"
    Params = RegularEncoderParams
    inputs = {"data": spark.Port(spark.Signal, "intensity in [0, 1] (1 = max_rate)", warn_unconnected=True)}
    outputs = {"spikes": spark.Port(spark.Spikes, "evenly spaced spikes")}

    def __init__(self, shape, *, params=None, rngs=None, dt=None, **values):
        super().__init__(shape, params=params, rngs=rngs, dt=dt, **values)
        self.phi = spark.State(jnp.full(self.shape, self.params.phase, jnp.float32))
        self.phi_err = spark.State(jnp.zeros(self.shape, jnp.float32))  # compensated-sum error of phi (periods)

    def check_input(self, port, value):
        """The problem with host data ``value`` (any leading step / trial axes) for ``port``, or None."""
        return range_problem(self.name, port, value, 0.0, 1.0, UNIT_RANGE_HINT)

    def __call__(self, *, dt, data):
        expect_shape(self.name, "data", data, self.shape)
        x = jnp.nan_to_num(jnp.clip(data, 0.0, 1.0), nan=0.0)
        # compensated (Kahan) sum: phi stays within ~1e-7 periods of the exact sum over any number of steps, so a
        # period that is a whole number of steps (100 Hz at dt 1, 50 Hz at dt 0.5) ends exactly on its step
        y = x * (self.params.max_rate * dt * 1e-3) - self.phi_err[...]
        phi = self.phi[...] + y
        self.phi_err[...] = (phi - self.phi[...]) - y
        spikes = phi >= 1.0 - PHASE_TOL
        self.phi[...] = jnp.minimum(jnp.where(spikes, phi - 1.0, phi), 1.0)
        return {"spikes": spikes}
