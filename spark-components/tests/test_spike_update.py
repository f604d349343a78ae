"""Spike-triggered weight updates (``Synapse.spike_update``, with or without per-neuron gains): every storage and path
(native in-place kernels for dense and sparse storage, the pure-JAX ``outer`` path) against the definition, in place
inside a Brain, batched; triplet STDP through it."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from rule_harness import Plastic, simulate

import spark
from spark.testing import isolated_registry
from spark_components import ExpSynapse, PairSTDP, native, projection
from spark_components._learning import spike_update as gained_spike_update
from spark_components.triplet_stdp import TripletSTDP

PATHS = ["dense-native", "dense-jax", "sparse-native", "sparse-jax"]


@pytest.fixture(params=PATHS)
def path(request, monkeypatch):
    if request.param.endswith("native") and not native.kernels():
        pytest.skip("no C++ compiler: the native kernel is unavailable (the JAX path is tested)")
    monkeypatch.setattr(projection, "USE_NATIVE", request.param.endswith("native"))
    return request.param


def synapse(path, shape=(40, 30), **kw):
    kw = dict(dict(p_connect=0.3), **kw)
    syn = ExpSynapse(shape, storage=path.split("-")[0], weight_init="uniform", weight=1.0, weight_std=0.5,
                     rngs=nnx.Rngs(2), **kw)
    syn.prepare_spike_update()
    return syn


def expected(w, mask, pre, post, on_pre, on_post, lo, hi, pre_gain=None, post_gain=None):
    """The definition, on the dense matrix: add both changes, clip what a spike touched, leave the rest."""
    touched = (pre[:, None] | post[None, :]) & mask
    a = pre if pre_gain is None else pre * pre_gain
    b = post if post_gain is None else post * post_gain
    new = w + a[:, None] * on_pre[None, :] + on_post[:, None] * b[None, :]
    return np.where(touched, np.clip(new, lo, hi), w)


def steps(syn, pres, posts, on_pres, on_posts, lo, hi, pre_gains=None, post_gains=None, update=None):
    """Apply one update per row of the inputs in a jitted scan, in place; the dense weights after each."""
    graph, state = nnx.split(syn)
    gains = {k: jnp.asarray(v) for k, v in (("pre_gain", pre_gains), ("post_gain", post_gains)) if v is not None}
    update = update or (lambda m, *x, **kw: m.spike_update(*x, **kw))

    @jax.jit
    def run(state, xs, gains):
        def body(state, x):
            x, g = x
            m = nnx.merge(graph, state)
            m.weight[...] = update(m, *x, w_min=lo, w_max=hi, **g)
            return nnx.split(m)[1], m.dense_weights()
        return jax.lax.scan(body, state, (xs, gains))

    xs = tuple(jnp.asarray(a) for a in (pres, posts, on_pres, on_posts))
    return np.asarray(run(state, xs, gains)[1])


def random_updates(syn, n=60, seed=0):
    n_pre, n_post = syn.shape
    rng = np.random.default_rng(seed)
    rates = np.r_[np.full(20, 0.03), np.full(10, 0.5), np.ones(2), np.zeros(28)][:n]  # sparse, bursts, all, none
    pres = rng.random((n, n_pre)) < rates[:, None]
    posts = rng.random((n, n_post)) < rates[:, None]
    on_pres = rng.normal(0.0, 0.3, (n, n_post)).astype(np.float32)
    on_posts = rng.normal(0.0, 0.3, (n, n_pre)).astype(np.float32)
    pre_gains = rng.uniform(0.5, 2.0, (n, n_pre)).astype(np.float32)
    post_gains = rng.uniform(0.5, 2.0, (n, n_post)).astype(np.float32)
    return pres, posts, on_pres, on_posts, pre_gains, post_gains


@pytest.mark.parametrize("p_connect", [0.3, 1.0], ids=["some", "all_to_all"])  # all: dense passes no mask
@pytest.mark.parametrize("gains", ["none", "pre", "post", "both"])
def test_spike_update_follows_its_definition(path, gains, p_connect):
    syn = synapse(path, p_connect=p_connect)
    assert syn.sparse == path.startswith("sparse")
    pres, posts, on_pres, on_posts, pre_gains, post_gains = random_updates(syn)
    pre_gains = pre_gains if gains in ("pre", "both") else None
    post_gains = post_gains if gains in ("post", "both") else None
    lo, hi = 0.6, 1.4
    got = steps(syn, pres, posts, on_pres, on_posts, lo, hi, pre_gains, post_gains)
    w = np.asarray(synapse(path, p_connect=p_connect).dense_weights())
    mask = w != 0
    assert mask.all() == (p_connect == 1.0)
    assert ((w < lo) | (w > hi))[mask].any(), "some synapses start outside the bounds"
    for t in range(len(pres)):
        w = expected(w, mask, pres[t], posts[t], on_pres[t], on_posts[t], lo, hi,
                     None if pre_gains is None else pre_gains[t], None if post_gains is None else post_gains[t])
        np.testing.assert_allclose(got[t], w, rtol=1e-6, atol=1e-6, err_msg=f"step {t}")
    assert (got[:, mask] == lo).any() and (got[:, mask] == hi).any(), "the bounds were reached"
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


def test_synapses_without_gains_get_the_core_definition(monkeypatch):
    """``_learning.spike_update`` with gains on a synapse class whose own ``spike_update`` does not take them (a pack
    written for an older spark-core) falls back to the core's ``Synapse.spike_update``, which defines the gains."""
    syn = synapse("dense-jax")
    pres, posts, on_pres, on_posts, pre_gains, post_gains = random_updates(syn, n=32, seed=1)
    monkeypatch.setattr(ExpSynapse, "spike_update_takes_gains", False)
    calls = []
    monkeypatch.setattr(ExpSynapse, "spike_update", lambda *a, **kw: calls.append(1))
    fallback = steps(syn, pres, posts, on_pres, on_posts, 0.6, 1.4, pre_gains, post_gains,
                     update=gained_spike_update)
    assert not calls, "a synapse that does not take gains is never asked to"
    w = np.asarray(syn.dense_weights())
    mask = w != 0
    for t in range(len(pres)):
        w = expected(w, mask, pres[t], posts[t], on_pres[t], on_posts[t], 0.6, 1.4, pre_gains[t], post_gains[t])
        np.testing.assert_allclose(fallback[t], w, rtol=1e-6, atol=1e-6, err_msg=f"step {t}")


# ----- triplet STDP: event-driven on every path -----------------------------------------------------------------

TRIPLET = dict(tau_plus=16.8, tau_x=101.0, tau_minus=33.7, tau_y=125.0, a2_plus=0.05, a3_plus=0.06, a2_minus=0.07,
               a3_minus=0.02, w_min=0.2, w_max=1.8)


def triplet_steps(w, mask, pre, post, dt, p, clip_all=False):
    """Triplet STDP step by step in float32 NumPy, as the rule was written before it went event-driven: the whole
    ``dw`` from outer products, then ``clip`` of the touched synapses (``clip_all``: of every synapse)."""
    f32 = np.float32
    decay = {k: f32(np.exp(-dt / p[k])) for k in ("tau_plus", "tau_x", "tau_minus", "tau_y")}
    bump = (lambda x, s: x + s) if p.get("interaction", "all_to_all") == "all_to_all" else (
        lambda x, s: np.where(s, f32(1.0), x))
    r1, r2 = np.zeros(w.shape[0], f32), np.zeros(w.shape[0], f32)
    o1, o2 = np.zeros(w.shape[1], f32), np.zeros(w.shape[1], f32)
    out = []
    for s_pre, s_post in zip(pre, post, strict=True):
        r1 = bump(r1 * decay["tau_plus"], s_pre).astype(f32)
        r2, o1, o2 = r2 * decay["tau_x"], o1 * decay["tau_minus"], o2 * decay["tau_y"]
        ltp = np.where(s_post, f32(p["a2_plus"]) + f32(p["a3_plus"]) * o2, f32(0))
        ltd = np.where(s_pre, f32(p["a2_minus"]) + f32(p["a3_minus"]) * r2, f32(0))
        new = w + (np.outer(r1, ltp) - np.outer(ltd, o1))
        touched = (s_pre[:, None] | s_post[None, :]) | clip_all
        w = np.where(mask & touched, np.clip(new, f32(p["w_min"]), f32(p["w_max"])), w).astype(f32)
        r2, o1, o2 = bump(r2, s_pre).astype(f32), bump(o1, s_post).astype(f32), bump(o2, s_post).astype(f32)
        out.append(w)
    return np.stack(out)


@pytest.mark.parametrize("interaction", ["all_to_all", "nearest"])
@pytest.mark.parametrize("terms", ["full", "minimal"])
def test_triplet_stdp_is_the_same_rule_on_every_path(path, interaction, terms):
    """Several pre and post spikes per step (so potentiation needs a per-post gain); weights start within the
    bounds, so clipping only the touched synapses equals clipping all of them every step."""
    p = dict(TRIPLET, interaction=interaction)
    if terms == "minimal":
        p.update(a2_plus=0.0, a3_minus=0.0)
    syn = ExpSynapse((30, 20), p_connect=0.5, storage=path.split("-")[0], weight_init="uniform", weight=1.0,
                     weight_std=0.4, rngs=nnx.Rngs(3))
    w0 = np.asarray(syn.dense_weights())
    mask = w0 != 0
    assert (w0[mask] >= p["w_min"]).all() and (w0[mask] <= p["w_max"]).all()
    rng = np.random.default_rng(9)
    steps_, dt = 300, 1.0
    rate = np.where(np.arange(steps_) % 50 < 10, 0.3, 0.05)[:, None]
    pre, post = rng.random((steps_, 30)) < rate, rng.random((steps_, 20)) < rate
    model = Plastic(syn, TripletSTDP((30, 20), **p))
    got = simulate(model, dt, {"pre": pre, "post": post})["w"]
    want = triplet_steps(w0, mask, pre, post, dt, p)
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5)
    np.testing.assert_array_equal(want, triplet_steps(w0, mask, pre, post, dt, p, clip_all=True))
    lo, hi = np.float32(p["w_min"]), np.float32(p["w_max"])
    assert (got[:, mask] == lo).any() and (got[:, mask] == hi).any(), "the bounds were reached"
    np.testing.assert_array_equal(got[:, ~mask], 0.0)


TRIPLET_BRAIN = dict(interaction="nearest", a2_plus=0.0, a3_plus=1.0, a2_minus=0.3, a3_minus=0.0, w_min=0.0,
                     w_max=8.0)  # the taus: triplet_stdp's defaults


def triplet_brain(storage):
    reg = isolated_registry(ExpSynapse, TripletSTDP)
    return (spark.Brain(dt=1.0, seed=0, registry=reg)
            .add("syn", "exp_synapse", shape=[50, 20], p_connect=0.4, storage=storage, weight=5.0)
            .add("stdp", "triplet_stdp", attach="syn", **TRIPLET_BRAIN)
            .input("pre", "syn.pre").input("pre_rule", "stdp.pre").input("post", "stdp.post")
            .output("i", "syn.i")
            .build())


def test_triplet_stdp_in_a_brain_learns_the_same_on_every_path_and_batched(path):
    """In place inside a Brain (delivery passes the weights through, the rule updates them), single and batched."""
    storage = path.split("-")[0]
    rng = np.random.default_rng(8)
    trials, n = 2, 120
    pre = rng.random((trials, n, 50)) < 0.1
    post = rng.random((trials, n, 20)) < 0.15
    record = ["syn.weight", "syn.i"]
    single = [triplet_brain(storage).run({"pre": pre[k], "pre_rule": pre[k], "post": post[k]}, record=record)
              for k in range(trials)]
    batched = triplet_brain(storage).run({"pre": pre, "pre_rule": pre, "post": post}, record=record, batched=True)
    for k in range(trials):
        for key in record:
            np.testing.assert_allclose(batched[key][k], single[k][key], rtol=1e-6, atol=1e-6, err_msg=key)
    brain = triplet_brain(storage)
    w_end = single[0]["syn.weight"][-1]
    if storage == "sparse":  # as a matrix
        brain.nodes["syn"].weight[...] = jnp.asarray(w_end)
        w_end = np.asarray(brain.nodes["syn"].dense_weights())
    w0 = np.asarray(triplet_brain("dense").nodes["syn"].dense_weights())
    taus = {k: getattr(TripletSTDP.Params(), k) for k in ("tau_plus", "tau_x", "tau_minus", "tau_y")}
    want = triplet_steps(w0, w0 != 0, pre[0], post[0], 1.0, dict(TRIPLET_BRAIN, **taus))[-1]
    np.testing.assert_allclose(w_end, want, rtol=1e-5, atol=1e-5)
    assert np.abs(w_end - w0).max() > 1.0, "the rule changed the weights"


@pytest.mark.parametrize("rule", ["pair", "triplet"])
def test_batched_run_with_learning_off_shares_the_weights_and_equals_single_runs(path, rule):
    """With a rule attached the synapse passes its weights through delivery; under ``vmap`` with learning off the
    weights are shared by the trials, and the batching rule of the pass-through keeps them shared (no per-trial
    copy) while every trial gets what it gets alone."""
    storage = path.split("-")[0]
    make_brain = stdp_brain if rule == "pair" else triplet_brain
    rng = np.random.default_rng(5)
    trials, n = 3, 60
    pre = rng.random((trials, n, 50)) < 0.1
    post = rng.random((trials, n, 20)) < 0.15
    inputs = {"pre": pre, "pre_rule": pre, "post": post}
    brain = make_brain(storage)
    w0 = np.asarray(brain.nodes["syn"].weight[...])
    batched = brain.run(inputs, record=["syn.i", "syn.weight"], batched=True, learn=False)
    for k in range(trials):
        single = make_brain(storage).run({key: v[k] for key, v in inputs.items()}, record=["syn.i"], learn=False)
        np.testing.assert_allclose(batched["syn.i"][k], single["syn.i"], rtol=1e-6, atol=1e-6)
        np.testing.assert_array_equal(batched["syn.weight"][k], np.broadcast_to(w0, batched["syn.weight"][k].shape))
    assert np.abs(batched["syn.i"]).max() > 0.5, "something was delivered"


@pytest.mark.parametrize("delays", [False, True], ids=["no_delays", "delays"])
def test_weights_passed_through_delivery_stay_shared_under_vmap(path, delays):
    """``out_axes=None`` for the weights: vmap refuses if the delivery's pass-through made them per-trial."""
    storage = path.split("-")[0]
    kw = dict(delay=0.3, delay_jitter=0.5, dt=0.1) if delays else {}
    if delays and storage == "dense":  # no such synapse: it is refused, and there is nothing to pass through
        with pytest.raises(ValueError, match="dense storage cannot hold per-synapse delays"):
            synapse(path, shape=(30, 20), **kw)
        return
    syn = synapse(path, shape=(30, 20), **kw)
    syn.pass_weights_through()
    graph, state = nnx.split(syn)
    spikes = jnp.asarray(np.random.default_rng(0).random((4, 30)) < 0.3)

    def step(state, s):
        m = nnx.merge(graph, state)
        return m(dt=0.1, pre=s)["i"], m.weight[...]

    i, w = jax.jit(jax.vmap(step, in_axes=(None, 0), out_axes=(0, None)))(state, spikes)
    np.testing.assert_array_equal(np.asarray(w), np.asarray(syn.weight[...]))
    for k in range(4):
        np.testing.assert_allclose(np.asarray(i[k]), np.asarray(jax.jit(step)(state, spikes[k])[0]), rtol=1e-6)
