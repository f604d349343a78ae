"""Spike-triggered weight updates (``Synapse.spike_update``): every storage and path against the definition,
in place inside a Brain, batched."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import spark
from spark.testing import isolated_registry
from spark_components import ExpSynapse, PairSTDP, native, projection

PATHS = ["dense", "sparse-native", "sparse-jax"]


@pytest.fixture(params=PATHS)
def path(request, monkeypatch):
    if request.param == "sparse-native" and not native.kernels():
        pytest.skip("no C++ compiler: the native kernel is unavailable (the JAX path is tested)")
    monkeypatch.setattr(projection, "USE_NATIVE", request.param != "sparse-jax")
    return request.param


def synapse(path, shape=(40, 30), **kw):
    syn = ExpSynapse(shape, p_connect=0.3, storage=path.split("-")[0], weight_init="uniform", weight=1.0,
                     weight_std=0.5, rngs=nnx.Rngs(2), **kw)
    syn.prepare_spike_update()
    return syn


def expected(w, mask, pre, post, on_pre, on_post, lo, hi):
    """The definition, on the dense matrix: add both changes, clip what a spike touched, leave the rest."""
    touched = (pre[:, None] | post[None, :]) & mask
    new = w + pre[:, None] * on_pre[None, :] + on_post[:, None] * post[None, :]
    return np.where(touched, np.clip(new, lo, hi), w)


def steps(syn, pres, posts, on_pres, on_posts, lo, hi):
    """Apply one update per row of the inputs in a jitted scan, in place; the dense weights after each."""
    graph, state = nnx.split(syn)

    @jax.jit
    def run(state, xs):
        def body(state, x):
            m = nnx.merge(graph, state)
            m.weight[...] = m.spike_update(*x, w_min=lo, w_max=hi)
            return nnx.split(m)[1], m.dense_weights()
        return jax.lax.scan(body, state, xs)

    xs = tuple(jnp.asarray(a) for a in (pres, posts, on_pres, on_posts))
    return np.asarray(run(state, xs)[1])


def test_spike_update_follows_its_definition(path):
    syn = synapse(path)
    assert syn.sparse == path.startswith("sparse")
    n_pre, n_post = syn.shape
    rng = np.random.default_rng(0)
    n = 60
    rates = np.r_[np.full(20, 0.03), np.full(10, 0.5), np.ones(2), np.zeros(28)]  # sparse, bursts, all, none
    pres = rng.random((n, n_pre)) < rates[:, None]
    posts = rng.random((n, n_post)) < rates[:, None]
    on_pres = rng.normal(0.0, 0.3, (n, n_post)).astype(np.float32)
    on_posts = rng.normal(0.0, 0.3, (n, n_pre)).astype(np.float32)
    lo, hi = 0.6, 1.4
    got = steps(syn, pres, posts, on_pres, on_posts, lo, hi)
    w = np.asarray(synapse(path).dense_weights())
    mask = w != 0
    assert ((w < lo) | (w > hi))[mask].any(), "some synapses start outside the bounds"
    for t in range(n):
        w = expected(w, mask, pres[t], posts[t], on_pres[t], on_posts[t], lo, hi)
        np.testing.assert_allclose(got[t], w, rtol=1e-6, atol=1e-6, err_msg=f"step {t}")
    assert (got[-1][mask] == lo).any() and (got[-1][mask] == hi).any(), "the bounds were reached"
    np.testing.assert_array_equal(got[:, ~mask], 0.0)  # absent synapses stay absent


def test_untouched_synapses_keep_their_weights_even_outside_the_bounds(path):
    syn = synapse(path)
    w0 = np.asarray(syn.dense_weights())
    n_pre, n_post = syn.shape
    pre, post = np.zeros((1, n_pre), bool), np.zeros((1, n_post), bool)
    pre[0, 3] = post[0, 5] = True
    got = steps(syn, pre, post, np.zeros((1, n_post), np.float32), np.zeros((1, n_pre), np.float32), 0.9, 1.1)[0]
    touched = np.zeros_like(w0, bool)
    touched[3, :] = touched[:, 5] = True
    touched &= w0 != 0
    np.testing.assert_array_equal(got[~touched], w0[~touched])
    np.testing.assert_array_equal(got[touched], np.clip(w0[touched], 0.9, 1.1))


def stdp_brain(storage):
    reg = isolated_registry(ExpSynapse, PairSTDP)
    return (spark.Brain(dt=1.0, seed=0, registry=reg)
            .add("syn", "exp_synapse", shape=[50, 20], p_connect=0.4, storage=storage, weight=5.0)
            .add("stdp", "pair_stdp", attach="syn", a_plus=0.5, a_minus=0.55, w_min=0.0, w_max=8.0)
            .input("pre", "syn.pre").input("pre_rule", "stdp.pre").input("post", "stdp.post")
            .output("i", "syn.i")
            .build())


def test_pair_stdp_in_a_brain_learns_the_same_on_every_path_and_batched(path):
    storage = path.split("-")[0]
    rng = np.random.default_rng(7)
    trials, n = 3, 120
    pre = rng.random((trials, n, 50)) < 0.1
    post = rng.random((trials, n, 20)) < 0.1
    record = ["syn.weight", "syn.i"]
    single = [stdp_brain(storage).run({"pre": pre[k], "pre_rule": pre[k], "post": post[k]}, record=record)
              for k in range(trials)]
    batched = stdp_brain(storage).run({"pre": pre, "pre_rule": pre, "post": post}, record=record, batched=True)
    reference = stdp_brain("dense")
    ref = reference.run({"pre": pre[0], "pre_rule": pre[0], "post": post[0]}, record=["syn.weight", "syn.i"])
    for k in range(trials):
        for key in record:
            np.testing.assert_allclose(batched[key][k], single[k][key], rtol=1e-6, atol=1e-6, err_msg=key)
    w_end = single[0]["syn.weight"][-1]
    if storage == "sparse":  # as a matrix, to compare with dense storage
        brain = stdp_brain(storage)
        brain.nodes["syn"].weight[...] = jnp.asarray(w_end)
        w_end = np.asarray(brain.nodes["syn"].dense_weights())
    np.testing.assert_allclose(w_end, ref["syn.weight"][-1], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(single[0]["syn.i"], ref["syn.i"], rtol=1e-5, atol=1e-4)
    assert np.abs(ref["syn.weight"][-1] - ref["syn.weight"][0]).max() > 1.0, "the rule changed the weights"
