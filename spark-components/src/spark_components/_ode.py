"""Numerical helpers shared by the somas: one Runge-Kutta step, ``exprel``, and checks between parameters."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp

import spark
import spark.surrogate
from spark.timing import to_steps


def rk4(f: Callable[[tuple], tuple], y: Sequence[jax.Array], h: float) -> tuple:
    """One classical Runge-Kutta (RK4) step of ``y' = f(y)`` with step ``h`` (ms).

    ``y`` is a tuple of state arrays; ``f`` returns their derivatives (per ms) as a tuple of the same length.
    The same stages as Brian2's ``method='rk4'``: ``k1 = f(y)``, ``k2 = f(y + h k1 / 2)``, ``k3 = f(y + h k2 / 2)``,
    ``k4 = f(y + h k3)``, ``y + h (k1 + 2 k2 + 2 k3 + k4) / 6``.
    """
    y = tuple(y)
    k1 = f(y)
    k2 = f(tuple(a + (0.5 * h) * k for a, k in zip(y, k1, strict=True)))
    k3 = f(tuple(a + (0.5 * h) * k for a, k in zip(y, k2, strict=True)))
    k4 = f(tuple(a + h * k for a, k in zip(y, k3, strict=True)))
    return tuple(a + (h / 6.0) * (p + 2.0 * q + 2.0 * r + s) for a, p, q, r, s in zip(y, k1, k2, k3, k4, strict=True))


EXP_MAX = 80.0
"""Largest argument :func:`exp` passes on: ``exp(80) = 5.5e34``, finite in float32 (largest 3.4e38) with room for
the products and sums it enters; ``exp(-80) = 1.8e-35`` is still a normal float32 (no denormals)."""


def exp(x: jax.Array) -> jax.Array:
    """``exp(x)`` with ``x`` clipped to ``[-EXP_MAX, EXP_MAX]``: every exponential of a state variable goes through it.

    float32 overflows above ``exp(88.7)``: a potential of -1840 mV makes Hodgkin-Huxley's ``beta_m`` infinite (and
    ``alpha / (alpha + beta)`` NaN), an AdEx with a small ``delta_t`` overflows its spike term below ``v_peak``. The
    clip changes nothing where the value is representable and meaningful (``|x| <= 80``); beyond, the terms are
    either negligible next to the others or dominate them anyway.
    """
    return jnp.exp(jnp.clip(x, -EXP_MAX, EXP_MAX))


def exprel(x: jax.Array) -> jax.Array:
    """``(exp(x) - 1) / x``, equal to 1 at ``x = 0`` and accurate near it (float32: series for ``|x| < 1e-3``).

    Finite for every finite ``x``: ``x`` is clipped at ``EXP_MAX`` (where the result exceeds 1e32) as in :func:`exp`.
    """
    small = jnp.abs(x) < 1e-3
    safe = jnp.where(small, 1.0, jnp.minimum(x, EXP_MAX))
    return jnp.where(small, 1.0 + x * (0.5 + x / 6.0), jnp.expm1(safe) / safe)


def ref_steps(t_ref: float, dt: float) -> int:
    """Whole steps of a refractory period, the spike's own step included: ``t_ref / dt`` rounded half-up
    (:func:`spark.timing.to_steps`, as edge delays round), so 0.25 ms at ``dt = 0.1`` is 3 steps, 0.35 ms is 4."""
    return to_steps(t_ref, dt)


def conductance_v(v: jax.Array, g_exc: jax.Array, g_inh: jax.Array, i: jax.Array, p, dt: float) -> jax.Array:
    """One exact step of ``c_m dv/dt = g_L (v_rest - v) + g_exc (e_exc - v) + g_inh (e_inh - v) + i`` with the
    conductances (nS) and current (pA) held over the step, ``g_L = c_m / tau_m``: ``v_inf + (v - v_inf)
    exp(-dt g_tot / c_m)``. ``p`` has ``c_m``, ``tau_m``, ``v_rest``, ``e_exc``, ``e_inh`` (pF, ms, mV)."""
    g_leak = p.c_m / p.tau_m
    g_tot = g_leak + g_exc + g_inh
    v_inf = (g_leak * p.v_rest + g_exc * p.e_exc + g_inh * p.e_inh + i) / g_tot
    return v_inf + (v - v_inf) * exp(-dt * g_tot / p.c_m)


def fire(v: jax.Array, threshold, v_reset: float, refractory: jax.Array, n_ref: int, *,
         surrogate=None, slope: float = 1.0) -> tuple:
    """Threshold, reset and refractoriness, shared by every soma with a refractory period.

    A neuron with no refractory steps left whose ``v`` reaches ``threshold`` (mV, ``v >= threshold``, as NEST's
    ``V_m >= theta`` and Brian2's ``v >= v_th``) spikes: its ``v`` goes to ``v_reset``. The refractory period is
    NEST's and Brian2's ``[t*, t* + t_ref)``: ``n_ref`` (:func:`ref_steps`) steps counted from the spike's own step,
    so ``v`` is held at ``v_reset`` for the ``n_ref - 1`` steps after it and the neuron can spike again ``n_ref``
    steps after the spike at the earliest (every step when ``n_ref`` is 0 or 1). ``refractory`` is the number of
    steps still to be held; the others count theirs down. Returns ``(spikes, v, refractory)``.

    With ``surrogate`` (a name or function, :mod:`spark.surrogate`; ``**spark.surrogate.options(params)``) the
    returned spikes are float32 0/1, equal to the boolean ones, with the surrogate derivative in ``v`` and
    ``threshold``; ``v`` and ``refractory`` are computed from the same boolean spikes either way, so the forward pass
    is bit-identical. The reset is not differentiated through the spike (``v`` after a spike is ``v_reset``, a
    constant: the "detached reset" of Zenke & Vogels 2021).
    """
    spikes = (refractory == 0) & (v >= threshold)
    held = max(int(n_ref) - 1, 0)
    out = spikes if surrogate is None else spark.surrogate.spike(v, threshold, surrogate, slope, gate=refractory == 0)
    return out, jnp.where(spikes, v_reset, v), jnp.where(spikes, held, jnp.maximum(refractory - 1, 0))
