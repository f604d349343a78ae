"""Surrogate gradients: a spike whose forward pass is the threshold and whose derivative is a smooth bump.

A spike is ``H(v - theta)`` (Heaviside), whose derivative is 0 almost everywhere, so ``jax.grad`` through a spiking
network is 0. Surrogate-gradient training keeps ``H`` in the forward pass and replaces ``H'`` in the backward pass
by a smooth, peaked function ``g`` of the distance to threshold (Neftci, Mostafa & Zenke 2019, "Surrogate gradient
learning in spiking neural networks", IEEE Signal Processing Magazine 36(6); Zenke & Ganguli 2018, "SuperSpike",
Neural Computation 30(6), which introduced the fast-sigmoid form).

Here ``d spike / d v = slope * g(slope * (v - theta))`` with ``g(0) = 1``: ``slope`` (1/mV) sets the width of the
bump, its peak is ``slope``. Built in (:data:`REGISTRY`):

- ``fast_sigmoid``: ``g(x) = 1 / (1 + |x|)^2`` (SuperSpike; snnTorch's ``fast_sigmoid``),
- ``arctan``: ``g(x) = 1 / (1 + (pi x / 2)^2)`` (the derivative of ``arctan(pi x / 2) / pi``, Fang et al. 2021),
- ``triangle``: ``g(x) = max(0, 1 - |x|)`` (Esser et al. 2016; Bellec et al. 2018).

Pluggable: :func:`register` a name for any ``g`` (a JAX function of an array), or pass the callable itself to
:func:`spike`. A soma opts in with two params (:func:`param`, :func:`slope_param`); ``surrogate = "none"`` (the
default) keeps its spikes boolean and not differentiable. With a surrogate the soma emits float32 spikes (0.0 / 1.0,
exactly where the boolean ones are true), so the forward pass is unchanged; ``spark.Brain.use_surrogate`` sets it
for every soma of a model. docs/gradients.md has the whole recipe.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp

from .parameters import param as _param

Surrogate = Callable[[jax.Array], jax.Array]
"""``g(x)``: the surrogate derivative at ``x = slope * (v - theta)``, peaked at ``g(0) = 1``."""

NONE = "none"


def fast_sigmoid(x: jax.Array) -> jax.Array:
    """``1 / (1 + |x|)^2``: the derivative of the fast sigmoid ``x / (1 + |x|)`` (Zenke & Ganguli 2018)."""
    return 1.0 / (1.0 + jnp.abs(x)) ** 2


def arctan(x: jax.Array) -> jax.Array:
    """``1 / (1 + (pi x / 2)^2)``: the derivative of ``arctan(pi x / 2) / pi + 1 / 2``, scaled to peak 1."""
    return 1.0 / (1.0 + (0.5 * math.pi * x) ** 2)


def triangle(x: jax.Array) -> jax.Array:
    """``max(0, 1 - |x|)``: the piecewise-linear pseudo-derivative (Esser et al. 2016, Bellec et al. 2018)."""
    return jnp.maximum(0.0, 1.0 - jnp.abs(x))


REGISTRY: dict[str, Surrogate] = {"fast_sigmoid": fast_sigmoid, "arctan": arctan, "triangle": triangle}


def register(name: str, fn: Surrogate) -> None:
    """Make ``fn`` selectable by ``name`` (a soma's ``surrogate`` param). A taken name is an error, not replaced."""
    if not isinstance(name, str) or not name or name == NONE:
        raise ValueError(f"surrogate name {name!r} must be a non-empty string other than {NONE!r}")
    if not callable(fn):
        raise TypeError(f"surrogate {name!r}: {fn!r} is not callable; give a function g(x) of an array")
    if name in REGISTRY and REGISTRY[name] is not fn:
        raise ValueError(f"surrogate {name!r} is already registered ({REGISTRY[name]!r}); pick another name")
    REGISTRY[name] = fn


def get(surrogate: str | Surrogate) -> Surrogate:
    """The function ``g`` of a registered name (or ``surrogate`` itself if it is callable)."""
    if callable(surrogate):
        return surrogate
    try:
        return REGISTRY[surrogate]
    except (KeyError, TypeError):
        raise ValueError(f"unknown surrogate {surrogate!r}; registered: {', '.join(sorted(REGISTRY))} (or "
                         f"{NONE!r} for no surrogate); add one with spark.surrogate.register(name, g)") from None


def check(surrogate: str) -> str | None:
    """A problem with a ``surrogate`` param value, or None."""
    if surrogate == NONE:
        return None
    try:
        get(surrogate)
    except ValueError as exc:
        return str(exc)
    return None


def is_on(params) -> bool:
    """Whether a soma's params select a surrogate (``surrogate`` is present and not ``"none"``)."""
    return getattr(params, "surrogate", NONE) not in (NONE, None, "")


@functools.partial(jax.custom_jvp, nondiff_argnums=(2, 3))
def _spike(v, threshold, g, slope):
    return (v >= threshold).astype(jnp.float32)


@_spike.defjvp
def _spike_jvp(g, slope, primals, tangents):
    v, threshold = primals
    dv, dthreshold = tangents
    out = _spike(v, threshold, g, slope)
    bump = slope * g(slope * (v - threshold))
    return out, (bump * (dv - dthreshold)).astype(jnp.float32)


def spike(v: jax.Array, threshold: jax.Array | float, surrogate: str | Surrogate = "fast_sigmoid", slope: float = 1.0,
          gate: jax.Array | None = None) -> jax.Array:
    """``1.0`` where ``v >= threshold`` (and ``gate``), else ``0.0`` (float32), with the surrogate derivative.

    Args:
        v: membrane potential (mV), any shape.
        threshold: the threshold (mV), broadcastable to ``v``; differentiable too (an adaptive threshold).
        surrogate: a registered name (:data:`REGISTRY`) or a function ``g(x)`` with ``g(0) = 1``.
        slope: 1/mV; ``d spike / d v = slope * g(slope * (v - threshold))``.
        gate: optional boolean of ``v``'s shape: where false, no spike and no gradient (refractory neurons).

    The forward value is exactly ``(v >= threshold) & gate`` as 0/1, computed by the same comparison a soma
    without a surrogate makes.
    """
    v = jnp.asarray(v, jnp.float32)
    threshold = jnp.broadcast_to(jnp.asarray(threshold, jnp.float32), v.shape)
    s = _spike(v, threshold, get(surrogate), float(slope))
    return s if gate is None else jnp.where(gate, s, 0.0)


def param():
    """The ``surrogate`` field of a soma's params (default ``"none"``: no surrogate, boolean spikes)."""
    return _param(NONE, doc="surrogate derivative of the spike for gradient training: none (default: boolean spikes, "
                            "no gradient), fast_sigmoid, arctan, triangle or a name given to "
                            "spark.surrogate.register; the forward pass is the same (docs/gradients.md)")


def slope_param(default: float = 1.0):
    """The ``surrogate_slope`` field of a soma's params (1/mV; the peak of ``d spike / d v``)."""
    return _param(default, unit="1/mV", gt=0,
                  doc="width of the surrogate derivative: d spike / d v = slope g(slope (v - threshold)), peak slope")


def options(params) -> dict:
    """``{"surrogate": ..., "slope": ...}`` of a soma's params, for :func:`spike` (surrogate None when off)."""
    if not is_on(params):
        return {"surrogate": None, "slope": 1.0}
    return {"surrogate": params.surrogate, "slope": float(getattr(params, "surrogate_slope", 1.0))}
