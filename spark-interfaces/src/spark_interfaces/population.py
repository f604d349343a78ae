"""Population coding with Gaussian receptive fields."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import spark

from ._common import expect_shape, range_problem

# neurons per data point in joint coding (n ** D): a guard against typos, not a limit of the maths
MAX_NEURONS = 1 << 22


@spark.params
class PopulationEncoderParams:
    n: int = spark.param(10, ge=1, doc="neurons per dimension (their preferred values tile [low, high])")
    low: tuple[float, ...] = spark.param((0.0,), doc="lower end of each dimension's range (one value: every "
                                         "dimension)")
    high: tuple[float, ...] = spark.param((1.0,), doc="upper end of each dimension's range (one value: every "
                                          "dimension)")
    circular: tuple[bool, ...] = spark.param((False,), doc="whether each dimension wraps around (angles, phases): "
                                             "its period is high - low (one value: every dimension)")
    width: float = spark.param(1.0, gt=0, doc="standard deviation of a receptive field, in units of the spacing "
                               "between neighbouring preferred values")
    joint: bool = spark.param(False, doc="False: each value has its own population of n neurons; True: the last "
                              "data axis holds the D coordinates of one point, tiled by a grid of n**D neurons")
    max_rate: float = spark.param(100.0, unit="Hz", ge=0, doc="Poisson rate of a neuron whose preferred value is "
                                  "the data (activation 1)")


class PopulationEncoder(spark.Encoder):
    """Population code with Gaussian receptive fields: each neuron responds most to its preferred value.

    As in Pouget, Dayan & Zemel (2000) and Bohte, Kok & La Poutré (2002); each neuron fires Poisson spikes at a rate
    proportional to its response.

    The last data axis indexes ``D`` dimensions; ``low``, ``high`` and ``circular`` give one value per dimension, or
    one for all. Dimension ``d`` has ``n`` preferred values ``c_d[j]``: ``linspace(low, high, n)`` (spacing
    ``s_d = (high - low) / (n - 1)``; the midpoint when ``n = 1``), or on a circular dimension of period
    ``P = high - low`` the ``n`` points ``low + j P / n`` (spacing ``P / n``, no duplicate at the ends). With
    ``sigma_d = width * s_d`` and ``delta = x - c_d[j]`` (wrapped into ``[-P/2, P/2)`` on a circular dimension)::

        a_d[j] = exp(-delta^2 / (2 sigma_d^2))

    so the neuron whose preferred value is ``x`` responds with exactly 1. Separate coding (``joint = False``):
    every value ``x[..., d]`` drives its own ``n`` neurons, activation shape ``(*shape, n)``. Joint coding: the
    ``D`` coordinates of a point drive a grid of ``n**D`` neurons with ``a[j1, ..., jD] = prod_d a_d[j_d]`` (a
    radial Gaussian in units of each dimension's spacing), shape ``(*shape[:-1], n, ..., n)``. Each step, neuron
    ``k`` spikes with probability ``min(a[k] max_rate dt, 1)`` (``dt`` in s). ``activation`` can also feed any other
    encoder's ``data`` (e.g. ``latency`` or ``regular``) for a deterministic code.

    Declared range: ``[low, high]`` on a non-circular dimension (inside a step values are clipped to it; ``check_input``
    refuses them on the host); any finite value on a circular one (it wraps).

    Ports:
        data (in, Signal): values, shape ``shape`` (last axis: the dimensions).
        activation (out, Signal): receptive-field responses in (0, 1], shape as above.
        spikes (out, Spikes): Poisson spikes of the population, shape as ``activation``.
    """

    name = "population"
    Params = PopulationEncoderParams
    inputs = {"data": spark.Port(spark.Signal, "values to encode; the last axis indexes the dimensions",
                                 warn_unconnected=True)}
    outputs = {
        "activation": spark.Port(spark.Signal, "receptive-field responses in (0, 1]"),
        "spikes": spark.Port(spark.Spikes, "Poisson spikes at max_rate * activation"),
    }
    stochastic = True

    @classmethod
    def _out_shape(cls, params, shape):
        if params.joint:
            return (*shape[:-1], *(params.n,) * shape[-1])
        return (*shape, params.n)

    @classmethod
    def check_shape(cls, params, shape):
        d = shape[-1]
        for name in ("low", "high", "circular"):
            k = len(getattr(params, name))
            if k not in (1, d):
                return (f"{name} has {k} values but the data's last axis has {d} dimensions (shape {list(shape)}); "
                        f"give one value, or {d}")
        lo, hi = (np.broadcast_to(np.asarray(getattr(params, k), float), (d,)) for k in ("low", "high"))
        bad = np.flatnonzero(hi <= lo)
        if bad.size:
            j = int(bad[0])
            return f"dimension {j}: high = {hi[j]:g} must exceed low = {lo[j]:g}"
        if params.joint and params.n ** d > MAX_NEURONS:
            return (f"joint coding of {d} dimensions with n = {params.n} needs {params.n}**{d} neurons per point; "
                    f"use fewer neurons per dimension or joint = false")
        return None

    @classmethod
    def port_shapes(cls, params, shape):
        out = cls._out_shape(params, shape)
        return {"data": shape, "activation": out, "spikes": out}

    @classmethod
    def infer_shape(cls, params, connected):
        return tuple(connected["data"]) if "data" in connected else None

    def __init__(self, shape, *, params=None, rngs=None, dt=None, **values):
        super().__init__(shape, params=params, rngs=rngs, dt=dt, **values)
        p = self.params
        d = self.shape[-1]
        # per-dimension constants as tuples (static, like params), broadcast to D values
        self.low, self.high = (tuple(float(a) for a in np.broadcast_to(np.asarray(v, float), (d,)))
                               for v in (p.low, p.high))
        self.wrap = tuple(bool(c) for c in np.broadcast_to(np.asarray(p.circular, bool), (d,)))
        centers, sigma = [], []
        for lo, hi, circ in zip(self.low, self.high, self.wrap, strict=True):
            if circ:
                c, s = lo + (hi - lo) * np.arange(p.n) / p.n, (hi - lo) / p.n
            elif p.n == 1:
                c, s = np.array([(lo + hi) / 2]), hi - lo
            else:
                c, s = np.linspace(lo, hi, p.n), (hi - lo) / (p.n - 1)
            centers.append(c)
            sigma.append(p.width * s)
        self.centers = spark.Const(jnp.asarray(np.stack(centers), jnp.float32))  # (D, n)
        self.sigma = tuple(float(s) for s in sigma)
        self.out_shape = self._out_shape(p, self.shape)

    def preferred(self) -> np.ndarray:
        """Preferred values, shape ``(D, n)``: ``preferred()[d, j]`` is neuron ``j``'s value on dimension ``d``."""
        return np.asarray(self.centers[...])

    def check_input(self, port, value):
        """The problem with host data ``value`` (any leading step / trial axes) for ``port``, or None."""
        x = np.asarray(value)
        problem = range_problem(self.name, port, x)
        if problem or x.ndim == 0:
            return problem
        for d in range(len(self.low)):
            if not self.wrap[d] and x.shape[-1] == len(self.low):
                problem = range_problem(f"{self.name} (dimension {d})", port, x[..., d], self.low[d], self.high[d],
                                        "set low/high to the data's range, or circular for a periodic dimension")
                if problem:
                    return problem
        return None

    def activation(self, data: jax.Array) -> jax.Array:
        """Receptive-field responses to ``data`` (shape ``shape``), shaped like the ``activation`` port."""
        x = data.astype(jnp.float32)
        lo, hi = jnp.asarray(self.low, jnp.float32), jnp.asarray(self.high, jnp.float32)
        period = hi - lo
        wrap = jnp.asarray(self.wrap)
        x = jnp.where(wrap, x, jnp.clip(x, lo, hi))
        delta = x[..., None] - self.centers[...]  # (..., D, n)
        wrapped = jnp.mod(delta + period[:, None] / 2, period[:, None]) - period[:, None] / 2
        delta = jnp.where(wrap[:, None], wrapped, delta)
        a = jnp.exp(-0.5 * (delta / jnp.asarray(self.sigma, jnp.float32)[:, None]) ** 2)
        if not self.params.joint:
            return a
        lead = a.shape[:-2]
        out = a[..., 0, :]
        for d in range(1, a.shape[-2]):
            out = out[..., None] * a[..., d, :].reshape(*lead, *(1,) * d, self.params.n)
        return out

    def __call__(self, *, dt, data, key):
        expect_shape(self.name, "data", data, self.shape)
        a = self.activation(data)
        p = jnp.minimum(a * (self.params.max_rate * dt * 1e-3), 1.0)
        return {"activation": a, "spikes": jax.random.uniform(key, self.out_shape) < p}
