"""Tests of the weight-only rules: normalisation of the incoming weight sum (multiplicative and subtractive) and
hard bounds, on dense and sparse storage."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from rule_harness import Plastic, simulate

import spark
from spark.testing import isolated_registry
from spark_components.exp_synapse import ExpSynapse
from spark_components.hebbian import Hebbian
from spark_components.weight_bounds import WeightBounds
from spark_components.weight_normalization import WeightNormalization


def synapse(storage, shape=(12, 5), **kw):
    kw = dict(dict(connectivity="fixed_probability", p_connect=0.5, weight_init="normal", weight=3.0,
                   weight_std=1.0), **kw)
    return ExpSynapse(shape, storage=storage, rngs=nnx.Rngs(9), **kw)


def steps_of(n, n_pre=12):
    return {"pre": np.zeros((n, n_pre), bool)}


@pytest.mark.parametrize("storage", ["dense", "sparse"])
@pytest.mark.parametrize("mode", ["multiplicative", "subtractive"])
def test_normalisation_sets_every_column_sum_to_target(storage, mode):
    syn = synapse(storage)
    mask = np.asarray(syn.dense_weights()) != 0
    w0 = np.asarray(syn.dense_weights(), np.float64)
    assert (mask.sum(0) > 0).all() and not np.allclose(w0.sum(0), 7.5)
    model = Plastic(syn, WeightNormalization((12, 5), target=7.5, mode=mode))
    w = simulate(model, 1.0, steps_of(3))["w"]
    np.testing.assert_allclose(w[0].sum(0), 7.5, rtol=1e-5)
    np.testing.assert_allclose(w[-1], w[0], rtol=1e-5)  # applying it again changes nothing
    np.testing.assert_array_equal(w[0][~mask], 0.0)  # no synapse is created
    if mode == "multiplicative":  # ratios within a column are kept
        np.testing.assert_allclose(w[0][mask], (w0 * 7.5 / w0.sum(0))[mask], rtol=1e-5)
    else:  # differences within a column are kept
        shift = (7.5 - w0.sum(0)) / mask.sum(0)
        np.testing.assert_allclose(w[0][mask], (w0 + shift)[mask], rtol=1e-5)


@pytest.mark.parametrize("storage", ["dense", "sparse"])
def test_normalisation_every_k_steps_only_at_the_end_of_every_kth_step(storage):
    syn = synapse(storage)
    w0 = np.asarray(syn.dense_weights(), np.float64)

    class Growing(nnx.Module):  # weights grow by 1% a step; normalisation (every 4) pulls the sums back
        def __init__(self):
            self.syn = syn
            self.norm = WeightNormalization((12, 5), target=7.5, every=4)

        def __call__(self, *, dt, pre):
            self.syn.weight[...] = self.syn.weight[...] * 1.01
            self.syn.weight[...] = self.norm(self.syn, dt=dt)
            return {"w": self.syn.dense_weights()}

    w = simulate(Growing(), 1.0, steps_of(9))["w"]
    sums = w.sum(1)
    for k in range(9):
        if k % 4 == 3:
            np.testing.assert_allclose(sums[k], 7.5, rtol=1e-5)
        else:
            since = k + 1 if k < 3 else k - 3 if k < 7 else k - 7
            base = w0.sum(0) if k < 3 else 7.5
            np.testing.assert_allclose(sums[k], base * 1.01 ** since, rtol=1e-5)


def test_normalisation_leaves_neurons_without_input_alone():
    syn = ExpSynapse((3, 3), connectivity="explicit", pre=(0, 1, 2), post=(0, 0, 1), weights=(1.0, 3.0, 0.0),
                     storage="sparse")
    w = simulate(Plastic(syn, WeightNormalization((3, 3), target=2.0)), 1.0, steps_of(1, 3))["w"][-1]
    np.testing.assert_allclose(w, [[0.5, 0, 0], [1.5, 0, 0], [0, 0, 0]], rtol=1e-6)  # column 1 (sum 0): untouched
    w = simulate(Plastic(syn, WeightNormalization((3, 3), target=2.0, mode="subtractive")), 1.0,
                 steps_of(1, 3))["w"][-1]
    np.testing.assert_allclose(w, [[0.5, 0, 0], [1.5, 0, 0], [0, 2.0, 0]], rtol=1e-6)  # the synapse 2 -> 1 gets 2


@pytest.mark.parametrize("storage", ["dense", "sparse"])
def test_bounds_are_never_exceeded(storage):
    syn = synapse(storage, weight=0.0, weight_std=5.0)
    w0 = np.asarray(syn.dense_weights(), np.float64)
    mask = w0 != 0
    assert (w0 > 2.0).any() and (w0[mask] < -1.0).any()

    class Noisy(nnx.Module):  # random kicks every step, then the bounds
        def __init__(self):
            self.syn = syn
            self.bounds = WeightBounds((12, 5), w_min=-1.0, w_max=2.0)

        def __call__(self, *, dt, pre, kick):
            self.syn.weight[...] = self.syn.weight[...] + self.syn.outer(kick[:12], kick[12:17])
            self.syn.weight[...] = self.bounds(self.syn, dt=dt)
            return {"w": self.syn.dense_weights()}

    kicks = np.random.default_rng(0).normal(0, 2.0, (50, 17)).astype(np.float32)
    w = simulate(Noisy(), 1.0, {"pre": np.zeros((50, 12), bool), "kick": kicks})["w"]
    assert w.max() == 2.0 and w.min() == -1.0
    assert (w[:, mask] <= 2.0).all() and (w[:, mask] >= -1.0).all()
    np.testing.assert_array_equal(w[:, ~mask], 0.0)
    np.testing.assert_allclose(w[0][mask], np.clip(w0 + np.outer(kicks[0, :12], kicks[0, 12:]), -1, 2)[mask],
                               rtol=1e-5)


@pytest.mark.parametrize("storage", ["dense", "sparse"])
def test_normalisation_every_k_steps_in_a_batched_brain_matches_single_trials(storage):
    """With ``every > 1`` the normalisation is a ``lax.cond`` on due steps, and the synapse passes its weights through
    delivery (``pass_weights_through``); batched (vmap), the same results."""

    def brain():
        reg = isolated_registry(ExpSynapse, Hebbian, WeightNormalization)
        return (spark.Brain(dt=1.0, seed=3, registry=reg)
                .add("syn", "exp_synapse", shape=[8, 4], storage=storage, weight_init="uniform", weight=1.0,
                     weight_std=0.5)
                .add("hebb", "hebbian", attach="syn", eta=0.05, w_min=0.0, w_max=100.0)
                .add("norm", "weight_normalization", attach="syn", target=3.0, every=3)
                .input("pre", "syn.pre").input("pre_rule", "hebb.pre").input("post", "hebb.post")
                .build())

    rng = np.random.default_rng(4)
    trials, n = 2, 10
    pre, post = rng.random((trials, n, 8)) < 0.4, rng.random((trials, n, 4)) < 0.4
    single = [brain().run({"pre": pre[k], "pre_rule": pre[k], "post": post[k]}, record=["syn.weight"])["syn.weight"]
              for k in range(trials)]
    batched = brain().run({"pre": pre, "pre_rule": pre, "post": post}, record=["syn.weight"],
                          batched=True)["syn.weight"]
    syn = brain().nodes["syn"]
    assert syn.updated_in_place
    for k in range(trials):
        np.testing.assert_allclose(batched[k], single[k], rtol=1e-6, atol=1e-6)
        sums = np.stack([np.asarray(syn.sum_incoming(jnp.asarray(w))) for w in single[k]])
        np.testing.assert_allclose(sums[2::3], 3.0, rtol=1e-5)  # due steps: 2, 5, 8
        assert not np.allclose(sums[3::3], 3.0), "between due steps the sums drift"
