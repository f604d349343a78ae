"""Shared harness of the learning-rule tests: a synapse with one rule attached, stepped in a jitted scan."""

from __future__ import annotations

import functools

import numpy as np
from flax import nnx

from spark.testing import simulate as _simulate
from spark_components.exp_synapse import ExpSynapse

simulate = functools.partial(_simulate, dtype=np.float64)
"""Run a module over a leading step axis in one jitted scan, in place; outputs as float64 NumPy arrays."""


class Plastic(nnx.Module):
    """A synapse with one rule attached (bound like a Brain binds it); a step feeds the synapse its spikes, then
    stores the rule's new weights. Returns the weights as an (n_pre, n_post) matrix and any ``record``ed rule state."""

    def __init__(self, synapse, rule, record=()):
        self.synapse = synapse
        self.rule = rule
        self.record = tuple(record)
        rule.bind(synapse)

    def __call__(self, *, dt, pre, **rule_inputs):
        self.synapse(dt=dt, pre=pre)
        ins = {"pre": pre, **rule_inputs}
        self.synapse.weight[...] = self.rule(self.synapse, dt=dt, **{k: ins[k] for k in type(self.rule).inputs})
        return {"w": self.synapse.dense_weights(), **{k: getattr(self.rule, k)[...] for k in self.record}}


def make(rule_cls, shape=(1, 1), *, w0=0.0, storage="dense", p_connect=1.0, seed=0, record=(), **rule):
    syn = ExpSynapse(shape, weight=w0, p_connect=p_connect, storage=storage, rngs=nnx.Rngs(seed))
    return Plastic(syn, rule_cls(shape, **rule), record)


def raster(steps, n, times):
    r = np.zeros((steps, n), bool)
    for k, j in times:
        r[k, j] = True
    return r
