"""Triplet STDP (Pfister & Gerstner 2006), all-to-all or nearest-spike interaction."""

from __future__ import annotations

import math

import jax.numpy as jnp

import spark

from ._learning import POST_SPIKES, PRE_SPIKES, check_bounds, spike_update


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

    The update is event-driven (``synapse.spike_update`` with per-neuron gains, ``_learning.spike_update``): only the
    synapses of this step's spiking neurons change, and only they are clipped to ``[w_min, w_max]`` (once, after both
    changes), as in ``pair_stdp`` and in Brian2 / NEST, where the bound is part of the spike's update. On the built-in
    projections, dense or sparse, that is one in-place native call whose work is spikes x fan-out/fan-in. (Up to
    spark-components 0.1.1 every weight was clipped every step: the same whenever the weights are within the bounds
    at the start of a step; a weight that something else, e.g. ``weight_normalization``, moved outside them now
    stays there until its next pre- or postsynaptic spike.) When both neurons of a synapse spike in one step, the
    depression is added before the potentiation (rounding may differ from adding their sum in the last bit).

    Ports:
        pre (in, Spikes): the synapse's presynaptic spikes, shape ``(n_pre,)``.
        post (in, Spikes): the postsynaptic population's spikes, shape ``(n_post,)``.
    """

    name = "triplet_stdp"
    partitionable = True  # per postsynaptic neuron (weight column): splits across devices (docs/scaling.md)
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

    def bind(self, synapse):
        synapse.prepare_spike_update()

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
        # pre spike of i: w[i, j] -= (a2_minus + a3_minus r2[i]) o1[j]; post spike of j: w[i, j] += r1[i] (a2_plus +
        # a3_plus o2[j]). A factor that does not depend on the neuron is folded into the other, so that the pair
        # model needs no gains (and any synapse's own spike_update serves).
        if p.a3_minus == 0:
            on_pre, pre_gain = -p.a2_minus * o1, None
        else:
            on_pre, pre_gain = -o1, p.a2_minus + p.a3_minus * r2
        if p.a3_plus == 0:
            on_post, post_gain = p.a2_plus * r1, None
        else:
            on_post, post_gain = r1, p.a2_plus + p.a3_plus * o2
        self.r1[...] = r1
        self.r2[...] = bump(r2, pre)
        self.o1[...] = bump(o1, post)
        self.o2[...] = bump(o2, post)
        return spike_update(synapse, pre, post, on_pre, on_post, p.w_min, p.w_max, pre_gain=pre_gain,
                            post_gain=post_gain)
