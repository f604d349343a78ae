"""Exponential current synapse with Tsodyks–Markram short-term plasticity."""

from __future__ import annotations

import jax.numpy as jnp

import spark

from .projection import Projection, ProjectionParams, decay


@spark.params
class TsodyksMarkramParams(ProjectionParams):
    tau_syn: float = spark.param(3.0, unit="ms", doc="decay time constant of the synaptic current", gt=0)
    u0: float = spark.param(0.5, doc="baseline release probability U", gt=0, le=1)
    tau_rec: float = spark.param(800.0, unit="ms", doc="recovery time constant of resources x (depression)", gt=0)
    tau_facil: float = spark.param(0.0, unit="ms", doc="decay time constant of the facilitation u towards 0 "
                                   "between spikes (0 = no facilitation: every spike releases U x)", ge=0)


class TsodyksMarkram(Projection):
    """Tsodyks–Markram short-term plasticity (Tsodyks, Pawelzik & Markram 1998; Markram et al. 1998) on an
    exponential current synapse. Each presynaptic neuron has resources ``x`` and utilisation ``u``. Between its spikes
    ``x -> 1`` with ``tau_rec`` and ``u -> 0`` with ``tau_facil`` (exactly); at a spike ``u <- u + U (1 - u)``, the
    efficacy is ``u x`` (``u`` after its jump), then ``x <- x - u x``. The synapse adds ``w u x`` to its current,
    which decays with ``tau_syn``. A rested synapse (``x = 1``, ``u = 0``) therefore releases ``w U``.

    These are Brian2's STP example equations (``u_S``, ``x_S``) and, written from spike to spike, NEST's
    ``tsodyks2_synapse``: ``u_{n+1} = U + u_n (1 - U) exp(-dt_n / tau_facil)``, ``u_1 = U``. With
    ``tau_facil = 0`` (the limit ``tau_facil -> 0``) ``u`` is back at 0 before every spike, so every spike uses
    ``u = U``: depression only.

    Ports:
        pre (in, Spikes): presynaptic spikes, shape ``(n_pre,)``.
        i (out, Current, pA): synaptic current, shape ``(n_post,)``.
    """

    name = "tsodyks_markram"
    Params = TsodyksMarkramParams
    inputs = {"pre": spark.Port(spark.Spikes, "presynaptic spikes", optional=False)}
    outputs = {"i": spark.Port(spark.Current, "postsynaptic current (pA)")}

    def __init__(self, shape, *, params=None, rngs=None, dt=None, **values):
        super().__init__(shape, params=params, rngs=rngs, dt=dt, **values)
        n_pre, n_post = self.shape
        self.i = spark.State(jnp.zeros((n_post,), jnp.float32))
        self.x = spark.State(jnp.ones((n_pre,), jnp.float32))
        self.u = spark.State(jnp.zeros((n_pre,), jnp.float32))  # rested: u decays to 0 between spikes

    def __call__(self, *, dt, pre):
        p = self.params
        x = 1.0 - (1.0 - self.x[...]) * decay(dt, p.tau_rec)
        u = self.u[...] * (decay(dt, p.tau_facil) if p.tau_facil > 0 else 0.0)
        u = jnp.where(pre, u + p.u0 * (1.0 - u), u)
        release = u * x
        self.x[...] = jnp.where(pre, x - release, x)
        self.u[...] = u
        i = self.deliver(pre, efficacy=release, onto=self.i[...], factor=decay(dt, p.tau_syn))
        self.i[...] = i
        return {"i": i}
