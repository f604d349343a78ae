"""Triplet STDP (Pfister & Gerstner 2006), all-to-all or nearest-spike interaction."""

from __future__ import annotations

import math

import jax.numpy as jnp

import spark

from ._learning import POST_SPIKES, PRE_SPIKES, check_bounds


@spark.params
class TripletSTDPParams:
    """Defaults: those of NESTML's ``stdp_triplet_synapse`` (the visual-cortex, all-to-all fit of Pfister & Gerstner
    2006); the minimal model has ``a2_plus = a3_minus = 0``."""

    tau_plus: float = spark.param(16.8, unit="ms", doc="decay time constant of the fast presynaptic trace r1", gt=0)
    tau_x: float = spark.param(101.0, unit="ms", doc="decay time constant of the slow presynaptic trace r2", gt=0)
    tau_minus: float = spark.param(33.7, unit="ms", doc="decay time constant of the fast postsynaptic trace o1",
                                   gt=0)
    tau_y: float = spark.param(125.0, unit="ms", doc="decay time constant of the slow postsynaptic trace o2", gt=0)
    a2_plus: float = spark.param(7.5e-10, unit="pA", doc="pair potentiation A2+ (per pre-post pair at zero lag)",
                                 ge=0)
    a3_plus: float = spark.param(9.3e-3, unit="pA", doc="triplet potentiation A3+ (times o2: more LTP if the post "
                                 "neuron fired recently)", ge=0)
    a2_minus: float = spark.param(7e-3, unit="pA", doc="pair depression A2- (per post-pre pair at zero lag)", ge=0)
    a3_minus: float = spark.param(2.3e-4, unit="pA", doc="triplet depression A3- (times r2: more LTD if the pre "
                                  "neuron fired recently)", ge=0)
    interaction: str = spark.param("all_to_all", choices=("all_to_all", "nearest"),
                                   doc="trace update on a spike: all_to_all adds 1, nearest resets to 1")
    w_min: float = spark.param(0.0, unit="pA", doc="lower weight bound")
    w_max: float = spark.param(100.0, unit="pA", doc="upper weight bound")


class TripletSTDP(spark.LearningRule):
    """Triplet STDP (Pfister & Gerstner 2006, J. Neurosci. 26:9673), additive, with traces.

    Presynaptic traces ``r1`` (``tau_plus``) and ``r2`` (``tau_x``), postsynaptic traces ``o1`` (``tau_minus``)
    and ``o2`` (``tau_y``) decay exponentially and, on a spike of their neuron, jump by 1 (``interaction =
    "all_to_all"``) or are reset to 1 (``"nearest"``, the paper's nearest-spike model). At a spike::

        pre spike at t:   w -= o1(t) [a2_minus + a3_minus r2(t - eps)]
        post spike at t:  w += r1(t) [a2_plus  + a3_plus  o2(t - eps)]

    where ``r2(t - eps)`` / ``o2(t - eps)`` exclude the spike itself. The minimal model of the paper is
    ``a2_plus = a3_minus = 0``. Pre and post spikes in the same step count as pre-before-post (``r1`` already
    includes this step's presynaptic spike; ``o1`` does not include this step's postsynaptic spike), as in
    ``pair_stdp``. With ``a3_plus = a3_minus = 0`` the rule is pair STDP (with ``tau_plus`` / ``tau_minus``).
    Weights are clipped to ``[w_min, w_max]``.

    Ports:
        pre (in, Spikes): the synapse's presynaptic spikes, shape ``(n_pre,)``.
        post (in, Spikes): the postsynaptic population's spikes, shape ``(n_post,)``.
    """

    name = "triplet_stdp"
    Params = TripletSTDPParams
    inputs = {
        "pre": PRE_SPIKES,
        "post": POST_SPIKES,
    }
    outputs = {}

    def __init__(self, shape, *, params=None, rngs=None, dt=None, **values):
        super().__init__(shape, params=params, rngs=rngs, dt=dt, **values)
        check_bounds(self.name, self.params.w_min, self.params.w_max, strict=False)
        n_pre, n_post = self.shape
        self.r1 = spark.State(jnp.zeros((n_pre,), jnp.float32))
        self.r2 = spark.State(jnp.zeros((n_pre,), jnp.float32))
        self.o1 = spark.State(jnp.zeros((n_post,), jnp.float32))
        self.o2 = spark.State(jnp.zeros((n_post,), jnp.float32))

    def __call__(self, synapse, *, dt, pre, post):
        p = self.params
        if p.interaction == "all_to_all":
            bump = lambda x, s: x + s.astype(jnp.float32)
        else:
            bump = lambda x, s: jnp.where(s, 1.0, x)
        r1 = bump(self.r1[...] * math.exp(-dt / p.tau_plus), pre)
        r2 = self.r2[...] * math.exp(-dt / p.tau_x)
        o1 = self.o1[...] * math.exp(-dt / p.tau_minus)
        o2 = self.o2[...] * math.exp(-dt / p.tau_y)
        ltp = jnp.where(post, p.a2_plus + p.a3_plus * o2, 0.0)
        ltd = jnp.where(pre, p.a2_minus + p.a3_minus * r2, 0.0)
        dw = synapse.outer(r1, ltp) - synapse.outer(ltd, o1)
        self.r1[...] = r1
        self.r2[...] = bump(r2, pre)
        self.o1[...] = bump(o1, post)
        self.o2[...] = bump(o2, post)
        return synapse.clip(synapse.weight[...] + dw, p.w_min, p.w_max)
