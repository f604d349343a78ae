"""The native kernels' differentiation rule: ``jax.grad`` through native delivery and the native ``spike_update``
equals the pure-JAX path's gradient, also under ``vmap`` (both orders), and through a Brain run with surrogate
spikes (spark.training). Without the rule, JAX refuses: "The FFI call to `spark_deliver` cannot be differentiated"."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import spark
import spark.training as training
from spark_components import ExpSynapse, TsodyksMarkram, native, projection

pytestmark = pytest.mark.skipif(not native.kernels(), reason="no C++ compiler: the native kernels cannot be built")

DT = 0.1
STEPS = 12
SPIKES = jnp.asarray(np.random.default_rng(0).random((STEPS, 60)) < 0.2, jnp.float32)
STORAGES = [("dense", {}), ("sparse", {}), ("sparse", dict(delay=0.2, delay_jitter=0.6))]
IDS = ["dense", "sparse", "sparse-delayed"]


def synapse(cls, storage, extra):
    return cls((60, 40), storage=storage, p_connect=0.2, weight_init="uniform", weight=2.0, weight_std=1.0, dt=DT,
               rngs=nnx.Rngs(1), **extra)


def loss(graph, weights, rest, spikes):
    def step(rest, s):
        syn = nnx.merge(graph, jax.tree.map(lambda a: a, weights), rest)
        out = next(iter(syn(dt=DT, pre=s).values()))
        return nnx.split(syn, spark.Weight, ...)[2], jnp.sum(out * jnp.arange(out.shape[0]))

    return jax.lax.scan(step, jax.tree.map(lambda a: a, rest), spikes)[1].sum()


def gradients(path, cls, storage, extra, monkeypatch):
    """w.r.t. the weights and the (float 0/1) spikes; vmap of grad and grad of vmap over two spike trains."""
    monkeypatch.setattr(projection, "USE_NATIVE", path == "native")
    graph, weights, rest = nnx.split(synapse(cls, storage, extra), spark.Weight, ...)
    g_w, g_s = jax.jit(jax.grad(loss, argnums=(1, 3)), static_argnums=0)(graph, weights, rest, SPIKES)
    two = jnp.stack([SPIKES, SPIKES[::-1]])
    vmap_grad = jax.jit(jax.vmap(lambda s: jax.grad(loss, argnums=1)(graph, weights, rest, s)))(two)
    grad_vmap = jax.jit(jax.grad(lambda w: jax.vmap(lambda s: loss(graph, w, rest, s))(two).sum()))(weights)
    leaf = lambda tree: np.asarray(jax.tree.leaves(tree)[0])
    return {"weight": leaf(g_w), "spikes": np.asarray(g_s), "vmap(grad)": leaf(vmap_grad),
            "grad(vmap)": leaf(grad_vmap)}


CASES = [(ExpSynapse, *s) for s in STORAGES] + [(TsodyksMarkram, "sparse", {})]


@pytest.mark.parametrize(("cls", "storage", "extra"), CASES, ids=[*IDS, "tsodyks_markram-sparse"])
def test_native_delivery_has_the_gradient_of_the_jax_path(cls, storage, extra, monkeypatch):
    """Delivery is linear in weights, spikes, efficacy (Tsodyks-Markram's) and the synapse's decaying state: the
    native kernel's rule (plain-JAX tangent) gives the JAX path's gradient, including d/d spike of silent neurons
    (exp_synapse; Tsodyks-Markram's own state update reads spikes as booleans)."""
    ref = gradients("jax", cls, storage, extra, monkeypatch)
    got = gradients("native", cls, storage, extra, monkeypatch)
    assert np.abs(ref["weight"]).max() > 1.0
    if cls is ExpSynapse:
        assert np.abs(ref["spikes"][np.asarray(SPIKES) == 0]).max() > 1.0
    for key in ref:
        np.testing.assert_allclose(got[key], ref[key], rtol=1e-5, atol=1e-3, err_msg=key)


@pytest.mark.parametrize("storage", ["dense", "sparse"])
def test_native_spike_update_has_the_gradient_of_the_jax_path(storage, monkeypatch):
    """The in-place STDP kernel: d new weights / d (weights, on_pre, on_post, gains), clipped where the bounds bind."""
    rng = np.random.default_rng(2)
    pre, post = rng.random(60) < 0.3, rng.random(40) < 0.3
    on_pre, on_post = rng.normal(0, 1, 40).astype(np.float32), rng.normal(0, 1, 60).astype(np.float32)
    gain = rng.uniform(0.5, 1.5, 60).astype(np.float32)
    cot = jnp.asarray(rng.normal(size=(60, 40) if storage == "dense" else (60, 1)), jnp.float32)
    out = {}
    for path in ("jax", "native"):
        monkeypatch.setattr(projection, "USE_NATIVE", path == "native")
        syn = synapse(ExpSynapse, storage, {})
        syn.prepare_spike_update()
        graph, weights, rest = nnx.split(syn, spark.Weight, ...)

        def f(w, a, b, g, graph=graph, rest=rest):
            s = nnx.merge(graph, w, jax.tree.map(lambda x: x, rest))
            new = s.spike_update(jnp.asarray(pre), jnp.asarray(post), a, b, 0.0, 3.0, pre_gain=g)
            return jnp.sum(new * cot)

        out[path] = jax.jit(jax.grad(f, argnums=(0, 1, 2, 3)))(weights, jnp.asarray(on_pre), jnp.asarray(on_post),
                                                               jnp.asarray(gain))
    for a, b in zip(jax.tree.leaves(out["jax"]), jax.tree.leaves(out["native"]), strict=True):
        assert np.abs(np.asarray(a)).max() > 0.1
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-5, atol=1e-5)


def test_grad_through_a_brain_run_on_sparse_native_delivery_equals_the_jax_path(monkeypatch):
    """BPTT (spark.training) through LIF somas with a surrogate and sparse exp synapses, batched by vmap."""
    def build():
        brain = spark.Brain(dt=0.5, seed=2)
        brain.add("inp", "lif", shape=80, t_ref=0.0, v_init_jitter=10.0)
        brain.add("w1", "exp_synapse", shape=(80, 50), storage="sparse", p_connect=0.1, weight_init="normal",
                  weight=400.0, weight_std=200.0)
        brain.add("hid", "lif", shape=50, t_ref=1.0)
        brain.add("w2", "exp_synapse", shape=(50, 5), storage="sparse", p_connect=0.5, weight=100.0)
        brain.add("out", "lif", shape=5, v_thresh=1e6)
        brain.connect("inp.spikes", "w1.pre").connect("w1.i", "hid.i_syn").connect("hid.spikes", "w2.pre")
        brain.connect("w2.i", "out.i_syn").input("drive", "inp.i_syn").output("v", "out.v")
        return brain.use_surrogate("triangle", slope=0.5)

    drive = np.random.default_rng(3).uniform(300, 700, (3, 80)).astype(np.float32)
    grads = {}
    for path in ("jax", "native"):
        monkeypatch.setattr(projection, "USE_NATIVE", path == "native")
        brain = build()
        run = training.simulator(brain, record=["out.v"], steps=20)
        params = training.params(brain)

        def loss(params, run=run):
            v = jax.vmap(run, (None, 0))(params, {"drive": drive})["out.v"]
            return jnp.mean((v + 65.0) * jnp.arange(1.0, 6.0))

        text = str(jax.make_jaxpr(loss)(params))
        assert ("spark_deliver" in text) == (path == "native")
        grads[path] = training.mask_gradients(brain, jax.jit(jax.grad(loss))(params))
    for node in ("w1", "w2"):
        ref = np.asarray(grads["jax"]["nodes"][node]["weight"].get_value())
        got = np.asarray(grads["native"]["nodes"][node]["weight"].get_value())
        assert np.abs(ref).max() > 0, node
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max(), err_msg=node)
