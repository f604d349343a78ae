"""The native kernels of ``reward_stdp`` and ``weight_normalization`` (dense storage, in place) give the numbers of
the rules' pure-JAX step bit for bit: one network, several side by side (``batched=True``: the kernels' batching
rule), with and without a connectivity mask, with the depression term, and with the modulator 0 on most steps (the
kernel's clip-only pass; without mask and depression term, its decay pass that only reads the weights and clips them
when some are out of bounds: below w_min at the start, above w_max after subtractive scaling)."""

from __future__ import annotations

import numpy as np
import pytest

import spark
from spark.testing import isolated_registry
from spark_components import native, projection, reward_stdp, weight_normalization
from spark_components.exp_synapse import ExpSynapse
from spark_components.reward_stdp import RewardSTDP
from spark_components.weight_normalization import WeightNormalization

N_PRE, N_POST, STEPS = 24, 9, 60


def brain(connectivity, a_minus, mode):
    reg = isolated_registry(ExpSynapse, RewardSTDP, WeightNormalization)
    conn = dict(connectivity="fixed_probability", p_connect=0.6) if connectivity == "masked" else \
        dict(connectivity="all_to_all")
    return (spark.Brain(dt=1.0, seed=5, registry=reg)
            .add("syn", "exp_synapse", shape=[N_PRE, N_POST], storage="dense", weight_init="normal", weight=4.0,
                 weight_std=3.0, **conn)  # some initial weights below w_min: the first step clips them
            .add("rule", "reward_stdp", attach="syn", tau_e=15.0, a_plus=0.8, a_minus=a_minus, eta=0.05, w_min=0.0,
                 w_max=9.0)
            .add("norm", "weight_normalization", attach="syn", target=40.0, every=4, mode=mode)
            .input("pre", "syn.pre").input("pre_rule", "rule.pre").input("post", "rule.post")
            .input("reward", "rule.modulator")
            .build())


def inputs(seed, trials=None):
    rng = np.random.default_rng(seed)
    lead = () if trials is None else (trials,)
    pre = rng.random((*lead, STEPS, N_PRE)) < 0.25
    reward = rng.choice([-1.5, 0.0, 0.0, 0.0, 2.0], size=(*lead, STEPS, 1)).astype(np.float32)
    return {"pre": pre, "pre_rule": pre, "post": rng.random((*lead, STEPS, N_POST)) < 0.3, "reward": reward}


RECORD = ["syn.weight", "rule.eligibility", "rule.x_post"]


def run(path, monkeypatch, connectivity, a_minus, mode, batched):
    """The recording of the run on ``path``, and which native rule calls were made. Batched on the JAX path: each
    trial run alone, stacked (under ``vmap`` XLA turns the subtractive mode's division by the shared synapse counts
    into a multiplication by their reciprocals, one rounding apart; the kernel divides, as one network does)."""
    monkeypatch.setattr(projection, "USE_NATIVE", path == "native")
    calls = []
    for module, name in ((reward_stdp, "_native_dense"), (weight_normalization, "_native_dense")):
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, real=real, name=module.__name__: calls.append(name) or real(*a))
    data = inputs(7, trials=3 if batched else None)
    if batched and path == "jax":
        alone = [brain(connectivity, a_minus, mode).run({k: v[t] for k, v in data.items()}, record=RECORD)
                 for t in range(3)]
        return {k: np.stack([np.asarray(r[k]) for r in alone]) for k in RECORD}, sorted(set(calls))
    rec = brain(connectivity, a_minus, mode).run(data, record=RECORD, batched=batched)
    return rec, sorted(set(calls))


@pytest.mark.parametrize("batched", [False, True], ids=["one", "batched"])
@pytest.mark.parametrize("connectivity,a_minus,mode", [("all", 0.0, "multiplicative"),
                                                       ("masked", 0.6, "multiplicative"),
                                                       ("all", 0.6, "subtractive"),
                                                       ("masked", 0.0, "subtractive"),
                                                       ("all", 0.0, "subtractive")])
def test_native_rules_equal_the_jax_step_bit_for_bit(connectivity, a_minus, mode, batched, monkeypatch):
    if not native.kernels():
        pytest.skip("no native kernels here (CI requires them: SPARK_REQUIRE_NATIVE=1)")
    ref, ref_calls = run("jax", monkeypatch, connectivity, a_minus, mode, batched)
    got, got_calls = run("native", monkeypatch, connectivity, a_minus, mode, batched)
    assert ref_calls == [] and got_calls == ["spark_components.reward_stdp", "spark_components.weight_normalization"]
    w = np.asarray(ref["syn.weight"])
    assert np.ptp(w[..., -1, :, :]) > 1.0, "the weights learned"
    assert mode == "subtractive" or (w >= 0).all(), "clipped, and scaled (subtractive scaling may leave the bounds)"
    changed = [not np.array_equal(w[..., t, :, :], w[..., t + 1, :, :]) for t in range(STEPS - 1)]
    assert 10 < sum(changed) < STEPS - 1, "the modulator and normalisation change them, on some steps only"
    for key in ref:
        np.testing.assert_array_equal(np.asarray(got[key]), np.asarray(ref[key]), err_msg=key)
