"""Dense and sparse storage deliver the same input; event-driven paths never drop spikes; per-synapse delays."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import spark
from spark_components import DeltaSynapse, ExpSynapse, native, projection


@pytest.fixture(params=["native", "jax"], autouse=True)
def delivery_path(request, monkeypatch):
    """Every test runs on the C++ delivery kernel and on the pure-JAX event-driven path."""
    if request.param == "native" and not native.kernels():
        pytest.skip("no C++ compiler: the native kernel is unavailable (the JAX path is tested)")
    monkeypatch.setattr(projection, "USE_NATIVE", request.param == "native")
    return request.param


def run_steps(syn, spikes, dt=0.1, port="i"):
    graph, state = nnx.split(syn)

    @jax.jit
    def scan(state, spikes):
        def body(state, s):
            m = nnx.merge(graph, state)
            out = m(dt=dt, pre=s)
            return nnx.split(m)[1], out[port]
        return jax.lax.scan(body, state, spikes)

    return np.asarray(scan(state, jnp.asarray(spikes))[1])


def raster(steps, n, rates, seed=0):
    """Spike raster whose per-step spike count sweeps through ``rates`` (fractions of the population)."""
    r = np.random.default_rng(seed)
    p = np.repeat(np.asarray(rates), steps // len(rates))[:, None]
    return r.random((len(p), n)) < p


@pytest.mark.parametrize("rule, kw", [
    ("fixed_probability", {"p_connect": 0.1}),
    ("fixed_indegree", {"degree": 7}),
    ("fixed_outdegree", {"degree": 5, "autapses": False}),
])
def test_sparse_equals_dense(rule, kw):
    shape = (300, 300)
    common = dict(connectivity=rule, weight_init="normal", weight=5.0, weight_std=2.0, tau_syn=3.0, **kw)
    dense = ExpSynapse(shape, storage="dense", rngs=nnx.Rngs(7), **common)
    sparse = ExpSynapse(shape, storage="sparse", rngs=nnx.Rngs(7), event_capacity=4, **common)
    assert not dense.sparse and sparse.sparse and dense.n_synapses == sparse.n_synapses
    np.testing.assert_allclose(np.asarray(sparse.dense_weights()), np.asarray(dense.dense_weights()), rtol=0)
    # 0 spikes, few (event path), tens (larger event path), most of the population (full pass)
    spikes = raster(200, 300, [0.0, 0.005, 0.05, 0.8])
    np.testing.assert_allclose(run_steps(sparse, spikes), run_steps(dense, spikes), rtol=2e-5, atol=2e-4)


def test_no_spike_is_dropped_whatever_the_burst():
    syn = DeltaSynapse((500, 20), storage="sparse", connectivity="all_to_all", weight=1.0, event_capacity=3)
    assert syn.capacities == (3, 24)
    counts = [0, 1, 3, 4, 24, 25, 400, 500]
    spikes = np.zeros((len(counts), 500), bool)
    for k, c in enumerate(counts):
        spikes[k, np.random.default_rng(k).permutation(500)[:c]] = True
    out = run_steps(syn, spikes)
    np.testing.assert_allclose(out, np.repeat(np.asarray(counts, np.float32)[:, None], 20, axis=1))


def test_storage_choice():
    assert not ExpSynapse((100, 100), p_connect=0.1).sparse  # small: dense
    assert ExpSynapse((1000, 1000), p_connect=0.02).sparse  # large and sparse
    assert not ExpSynapse((1000, 1000), p_connect=0.5).sparse  # large but dense
    assert ExpSynapse((10, 10), delay=1.0, dt=0.1).sparse  # per-synapse delays need sparse storage
    with pytest.raises(ValueError, match="dense storage cannot hold per-synapse delays"):
        ExpSynapse((10, 10), delay=1.0, dt=0.1, storage="dense")
    with pytest.raises(ValueError, match="build it with dt="):
        ExpSynapse((10, 10), delay=1.0)


def test_heterogeneous_delays_arrive_when_due():
    dt = 0.1
    syn = DeltaSynapse((6, 4), connectivity="all_to_all", weight=1.0, delay=0.2, delay_jitter=0.9, dt=dt,
                       rngs=nnx.Rngs(2))
    d = np.asarray(syn.delay_steps[...])
    idx = np.asarray(syn.post_index[...])
    assert d.min() >= 2 and d.max() <= 11 and len(np.unique(d)) > 3
    spikes = np.zeros((20, 6), bool)
    spikes[0] = True  # every presynaptic neuron once, at step 0
    spikes[5, 2] = True  # neuron 2 again at step 5
    out = run_steps(syn, spikes, dt)
    expected = np.zeros((20, 4), np.float32)
    for step in np.unique(np.nonzero(spikes)[0]):
        for pre in np.nonzero(spikes[step])[0]:
            for k in range(idx.shape[1]):
                expected[step + d[pre, k], idx[pre, k]] += 1.0
    np.testing.assert_allclose(out, expected)


def test_delays_in_a_brain_add_to_the_edge_delay():
    b = spark.Brain(dt=0.1)
    b.add("src", "delta_synapse", shape=[1, 1], weight=1.0, delay=0.5)
    b.input("kick", "src.pre").output("i", "src.i").build()
    kick = np.zeros((12, 1), bool)
    kick[2] = True
    r = b.run({"kick": kick}, record=["src.i"])
    np.testing.assert_array_equal(np.nonzero(r["src.i"][:, 0])[0], [7])  # external input: no edge delay, +5 steps


def test_rules_see_the_same_synapses_on_both_storages():
    common = dict(p_connect=0.2, weight=1.0, rngs=nnx.Rngs(0))
    dense = ExpSynapse((40, 30), storage="dense", **common)
    common["rngs"] = nnx.Rngs(0)
    sparse = ExpSynapse((40, 30), storage="sparse", **common)
    a, b = np.linspace(0, 1, 40, dtype=np.float32), np.linspace(1, 2, 30, dtype=np.float32)

    def as_dense(syn, w):
        if not syn.sparse:
            return np.asarray(w)
        out = np.zeros(syn.shape, np.float32)
        rows = np.broadcast_to(np.arange(40)[:, None], syn.post_index[...].shape)
        np.add.at(out, (rows, np.asarray(syn.post_index[...])), np.asarray(jnp.where(syn.mask[...], w, 0)))
        return out

    np.testing.assert_allclose(as_dense(sparse, sparse.outer(a, b)), as_dense(dense, dense.outer(a, b)), rtol=1e-6)
    np.testing.assert_allclose(sparse.sum_incoming(sparse.weight[...]), dense.sum_incoming(dense.weight[...]))
    np.testing.assert_allclose(as_dense(sparse, sparse.clip(sparse.weight[...] * 3, 0.5, 2.0)),
                               as_dense(dense, dense.clip(dense.weight[...] * 3, 0.5, 2.0)))

