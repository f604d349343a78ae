"""What every learning rule promises: the same result on dense and sparse storage, registration with documented
params and ports, composition of several rules on one synapse through a Brain (in attach order), and bad params
refused with the component, field, value, bound and unit."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import spark
from spark.testing import isolated_registry
from spark_components import (
    BCM,
    ExpSynapse,
    Hebbian,
    InhibitorySTDP,
    Oja,
    RewardSTDP,
    SoftBoundSTDP,
    TripletSTDP,
    WeightBounds,
    WeightNormalization,
)

RULES = {  # rule -> params that make it change weights visibly within a few hundred steps
    SoftBoundSTDP: dict(a_plus=0.5, a_minus=0.5, w_min=0.0, w_max=10.0, mu=0.5),
    TripletSTDP: dict(a2_plus=0.1, a3_plus=0.1, a2_minus=0.1, a3_minus=0.05, w_min=-10.0, w_max=10.0),
    RewardSTDP: dict(tau_e=50.0, eta=0.05, w_min=-10.0, w_max=10.0),
    InhibitorySTDP: dict(eta=0.2, rho0=20.0, w_min=0.0, w_max=10.0),
    Hebbian: dict(eta=0.01, w_min=0.0, w_max=10.0),
    Oja: dict(eta=0.01, w_scale=3.0),
    BCM: dict(eta=0.005, tau_theta=100.0, w_min=-10.0, w_max=10.0),
    WeightNormalization: dict(target=4.0, every=3, mode="subtractive"),
    WeightBounds: dict(w_min=1.0, w_max=2.5),
}
RULES_LINEAR_OJA = dict(eta=0.01, w_scale=3.0, y="linear")


class Plastic(nnx.Module):
    def __init__(self, synapse, rule):
        self.synapse = synapse
        self.rule = rule
        rule.bind(synapse)

    def __call__(self, *, dt, pre, **rule_inputs):
        self.synapse(dt=dt, pre=pre)
        ins = {"pre": pre, **rule_inputs}
        self.synapse.weight[...] = self.rule(self.synapse, dt=dt, **{k: ins[k] for k in type(self.rule).inputs})
        return self.synapse.dense_weights()


def simulate(module, dt, xs):
    graph, state = nnx.split(module)

    @jax.jit
    def run(state, xs):
        def body(state, x):
            m = nnx.merge(graph, state)
            return nnx.split(m)[1], m(dt=dt, **x)

        return jax.lax.scan(body, state, xs)

    return np.asarray(run(state, {k: jnp.asarray(v) for k, v in xs.items()})[1])


def drive(steps, n_pre, n_post, seed=0):
    rng = np.random.default_rng(seed)
    return {"pre": rng.random((steps, n_pre)) < 0.08, "post": rng.random((steps, n_post)) < 0.08,
            "modulator": rng.normal(0.0, 1.0, (steps, 1)).astype(np.float32)}


# ----- dense and sparse storage give the same learning ----------------------------------------------------------


@pytest.mark.parametrize("rule_cls, params", [*RULES.items(), (Oja, RULES_LINEAR_OJA)],
                         ids=[*(c.name for c in RULES), "oja_linear"])
def test_dense_and_sparse_storage_learn_the_same(rule_cls, params):
    shape, steps = (10, 6), 200
    runs = []
    for storage in ("dense", "sparse"):
        syn = ExpSynapse(shape, storage=storage, p_connect=0.4, weight_init="normal", weight=2.0, weight_std=1.0,
                         rngs=nnx.Rngs(5))
        assert syn.sparse == (storage == "sparse")
        w0 = np.asarray(syn.dense_weights())
        runs.append(simulate(Plastic(syn, rule_cls(shape, **params)), 1.0, drive(steps, *shape)))
    dense, sparse = runs
    mask = w0 != 0
    assert 0 < mask.sum() < mask.size
    np.testing.assert_allclose(sparse, dense, rtol=1e-5, atol=1e-6)
    assert np.abs(dense[-1] - w0).max() > 0.05, "the rule changed the weights"
    np.testing.assert_array_equal(dense[:, ~mask], 0.0)  # absent synapses stay absent


# ----- registration -------------------------------------------------------------------------------------------


def test_every_rule_is_registered_as_a_documented_learning_rule():
    reg = isolated_registry(installed=["spark-components"])
    (pack,) = reg.packs
    assert pack.status == "ok", pack.error
    for cls in [*RULES]:
        entry = reg.resolve(cls.name)
        assert entry.cls is cls and entry.kind == "learning_rule" and entry.id == f"spark-components:{cls.name}"
        info = cls.describe()
        assert len(info["doc"]) > 200
        for name, field in info["params_schema"]["properties"].items():
            assert field["description"], (cls.name, name)
        for port in info["inputs"]:
            assert port["doc"] and f"{port['name']} (in, {port['payload']}" in info["doc"], (cls.name, port)
    assert RewardSTDP.port_shapes(RewardSTDP.Params(), (7, 3)) == {"pre": (7,), "post": (3,), "modulator": (1,)}


def test_every_rule_with_weight_bounds_refuses_w_min_above_w_max():
    """Issue 14: ``pair_stdp(w_min=10, w_max=5)`` was accepted. Every registered learning rule with ``w_min`` and
    ``w_max`` (found through the registry, so a new rule is covered too) refuses ``w_min > w_max`` with a
    ParamError naming the rule, the field and both values."""
    reg = isolated_registry(installed=["spark-components"])
    bounded = [e.cls for e in reg.entries() if e.kind == "learning_rule"
               and {"w_min", "w_max"} <= set(e.cls.describe()["params_schema"]["properties"])]
    assert "pair_stdp" in {cls.name for cls in bounded} and len(bounded) >= 8
    for cls in bounded:
        with pytest.raises(spark.ParamError) as info:
            cls((2, 2), w_min=10.0, w_max=5.0)
        for needle in (cls.name, "'w_min'", "10.0", "'w_max' = 5.0"):
            assert needle in str(info.value), (cls.name, needle, str(info.value))

# ----- several rules on one synapse, through a Brain ---------------------------------------------------------


def rules_brain(order, storage):
    """syn (8 -> 4) with hebbian and weight_normalization attached in ``order``; spikes come from inputs."""
    reg = isolated_registry(ExpSynapse, Hebbian, WeightNormalization, WeightBounds, RewardSTDP)
    b = spark.Brain(dt=1.0, seed=2, registry=reg)
    b.add("syn", "exp_synapse", shape=[8, 4], p_connect=0.6, storage=storage, weight_init="uniform", weight=1.0,
          weight_std=0.5)
    rules = {"hebb": ("hebbian", dict(eta=0.02, w_min=0.0, w_max=100.0)),
             "norm": ("weight_normalization", dict(target=3.0)),
             "bound": ("weight_bounds", dict(w_min=0.0, w_max=0.9))}
    for rid in order:
        b.add(rid, rules[rid][0], attach="syn", **rules[rid][1])
    b.input("pre", "syn.pre")
    if "hebb" in order:
        b.input("pre_rule", "hebb.pre").input("post", "hebb.post")
    return b.build()


def reference(brain, order, pre, post):
    """The same rules applied by hand, one after the other, to a copy of the synapse and fresh rules."""
    syn = brain.nodes["syn"]
    p = {rid: brain.nodes[rid].params for rid in order}
    fresh = {rid: type(brain.nodes[rid])((8, 4), params=p[rid]) for rid in order}

    class Both(nnx.Module):
        def __init__(self):
            self.syn = nnx.clone(syn)  # same connectivity, weights and storage
            self.rules = nnx.Dict(fresh)

        def __call__(self, *, dt, pre, post):
            self.syn(dt=dt, pre=pre)
            ins = {"pre": pre, "post": post}
            for rid in order:
                rule = self.rules[rid]
                self.syn.weight[...] = rule(self.syn, dt=dt, **{k: ins[k] for k in type(rule).inputs})
            return self.syn.weight[...]

    return simulate(Both(), 1.0, {"pre": pre, "post": post})


@pytest.mark.parametrize("storage", ["dense", "sparse"])
def test_two_rules_compose_in_attach_order(storage):
    rng = np.random.default_rng(0)
    pre, post = rng.random((60, 8)) < 0.2, rng.random((60, 4)) < 0.2
    sums = {}
    for order in (("hebb", "norm"), ("norm", "hebb")):
        brain = rules_brain(order, storage)
        expected = reference(brain, order, pre, post)
        syn = brain.nodes["syn"]
        w = brain.run({"pre": pre, "pre_rule": pre, "post": post}, record=["syn.weight"])["syn.weight"]
        np.testing.assert_allclose(w, expected, rtol=1e-5, atol=1e-6)
        sums[order] = np.stack([np.asarray(syn.sum_incoming(jnp.asarray(x))) for x in w])
        assert [n["id"] for n in brain.to_dict()["nodes"]] == ["syn", *order]
        again = spark.Brain.from_dict(brain.to_dict(), registry=brain._registry)  # the file keeps the order
        w2 = again.run({"pre": pre, "pre_rule": pre, "post": post}, record=["syn.weight"])["syn.weight"]
        np.testing.assert_array_equal(w2, w)
    np.testing.assert_allclose(sums["hebb", "norm"], 3.0, rtol=1e-5)  # normalisation last: sums exact every step
    off = np.abs(sums["norm", "hebb"] - 3.0)
    assert off.max() > 0.1 and (off >= 0).all()  # Hebbian last: sums drift above the target between steps


def test_bounds_after_normalisation_win():
    rng = np.random.default_rng(1)
    pre, post = rng.random((40, 8)) < 0.3, rng.random((40, 4)) < 0.3
    brain = rules_brain(("hebb", "norm", "bound"), "sparse")
    expected = reference(brain, ("hebb", "norm", "bound"), pre, post)
    w = brain.run({"pre": pre, "pre_rule": pre, "post": post}, record=["syn.weight"])["syn.weight"]
    mask = np.asarray(brain.nodes["syn"].mask[...])
    assert w[:, mask].max() == 0.9 and w[:, mask].min() >= 0.0
    np.testing.assert_allclose(w, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("storage", ["dense", "sparse"])
def test_reward_stdp_in_a_brain_binds_its_eligibility_to_the_synapse_storage(storage):
    reg = isolated_registry(ExpSynapse, RewardSTDP)
    b = (spark.Brain(dt=1.0, seed=0, registry=reg)
         .add("syn", "exp_synapse", shape=[6, 3], p_connect=0.5, storage=storage, weight=5.0)
         .add("rstdp", "reward_stdp", attach="syn", eta=0.1, tau_e=30.0, w_min=0.0, w_max=10.0)
         .input("pre", "syn.pre").input("pre_rule", "rstdp.pre").input("post", "rstdp.post")
         .input("reward", "rstdp.modulator")
         .build())
    syn, rule = b.nodes["syn"], b.nodes["rstdp"]
    assert rule.eligibility[...].shape == syn.weight[...].shape
    x = drive(100, 6, 3, seed=3)
    quiet = b.run({"pre": x["pre"], "pre_rule": x["pre"], "post": x["post"], "reward": np.zeros((100, 1))},
                  record=["syn.weight", "rstdp.eligibility"])
    np.testing.assert_array_equal(quiet["syn.weight"], np.broadcast_to(syn.weight[...], quiet["syn.weight"].shape))
    assert np.abs(quiet["rstdp.eligibility"][-1]).max() > 0.1
    e = np.asarray(rule.eligibility[...])
    w0 = np.asarray(syn.weight[...])
    r = b.run({"pre": np.zeros((1, 6)), "pre_rule": np.zeros((1, 6)), "post": np.zeros((1, 3)),
               "reward": np.full((1, 1), 2.0)}, record=["syn.weight"])
    expected = np.clip(w0 + 0.1 * 1.0 * 2.0 * e * np.exp(-1.0 / 30.0), 0.0, 10.0) * np.asarray(syn.mask[...])
    np.testing.assert_allclose(r["syn.weight"][0], expected, rtol=1e-5)


# ----- invalid parameters -------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls, values, needles", [
    (SoftBoundSTDP, dict(mu=1.5), ["soft_bound_stdp", "'mu'", "1.5", "<= 1"]),
    (SoftBoundSTDP, dict(w_min=5.0, w_max=5.0), ["soft_bound_stdp", "'w_min'", "5.0 pA", "< 'w_max'", "pA"]),
    (TripletSTDP, dict(tau_y=0.0), ["triplet_stdp", "'tau_y'", "0.0 ms", "> 0", "ms"]),
    (TripletSTDP, dict(a3_plus=-1e-3), ["triplet_stdp", "'a3_plus'", "-0.001 pA", ">= 0"]),
    (TripletSTDP, dict(interaction="nearest_spike"), ["triplet_stdp", "'interaction'", "nearest_spike",
                                                      "all_to_all"]),
    (RewardSTDP, dict(tau_e=-5.0), ["reward_stdp", "'tau_e'", "-5.0 ms", "> 0", "ms"]),
    (RewardSTDP, dict(eta=-1.0), ["reward_stdp", "'eta'", "-1.0 pA/ms", ">= 0", "pA/ms"]),
    (InhibitorySTDP, dict(rho0=-3.0), ["inhibitory_stdp", "'rho0'", "-3.0 Hz", ">= 0", "Hz"]),
    (InhibitorySTDP, dict(sign=2), ["inhibitory_stdp", "'sign'", "2", "[1, -1]"]),
    (Hebbian, dict(tau_post=float("nan")), ["hebbian", "'tau_post'", "NaN", "ms"]),
    (Oja, dict(w_scale=0.0), ["oja", "'w_scale'", "0.0 pA", "> 0", "pA"]),
    (Oja, dict(y="rate"), ["oja", "'y'", "'rate'", "linear"]),
    (BCM, dict(tau_theta=0.0), ["bcm", "'tau_theta'", "0.0 ms", "> 0", "ms"]),
    (BCM, dict(w_min=3.0, w_max=1.0), ["bcm", "'w_min'", "3.0 pA", "<= 'w_max' = 1.0 pA"]),
    (WeightNormalization, dict(every=0), ["weight_normalization", "'every'", "0 steps", ">= 1 steps"]),
    (WeightBounds, dict(w_min=2.0, w_max=1.0), ["weight_bounds", "'w_min'", "2.0 pA", "<= 'w_max' = 1.0 pA"]),
])
def test_bad_params(cls, values, needles):
    with pytest.raises(spark.ParamError) as info:
        cls((2, 2), **values)
    for needle in needles:
        assert needle in str(info.value), (needle, str(info.value))
