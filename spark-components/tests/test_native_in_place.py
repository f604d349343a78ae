"""The native rule kernels update one network's weights in place: the compiled run of a dense synapse with
``reward_stdp`` and ``weight_normalization`` on it holds no copy of its weight matrix. (A ``(1, n_pre, n_post)`` view
of the weights handed to the kernels made XLA copy them before and after every call: digits training ran 5x slower,
docs/digits.md.)"""

from __future__ import annotations

import re

import numpy as np
import pytest

import spark
from spark import brain as _brain
from spark.testing import isolated_registry
from spark_components import native, projection
from spark_components.exp_synapse import ExpSynapse
from spark_components.reward_stdp import RewardSTDP
from spark_components.weight_normalization import WeightNormalization

N_PRE, N_POST = 37, 23  # a shape no other array of the network has


def weight_copies(use_native: bool, monkeypatch) -> tuple[int, str]:
    monkeypatch.setattr(projection, "USE_NATIVE", use_native)
    reg = isolated_registry(ExpSynapse, RewardSTDP, WeightNormalization)
    b = (spark.Brain(dt=1.0, seed=2, registry=reg)
         .add("syn", "exp_synapse", shape=[N_PRE, N_POST], storage="dense", weight_init="uniform", weight=2.0)
         .add("rule", "reward_stdp", attach="syn", a_minus=0.5, w_max=5.0)
         .add("norm", "weight_normalization", attach="syn", target=20.0, every=7)
         .input("pre", "syn.pre").input("pre_rule", "rule.pre").input("post", "rule.post")
         .input("reward", "rule.modulator").output("i", "syn.i")
         .build())
    rng = np.random.default_rng(0)
    pre = rng.random((40, N_PRE)) < 0.3
    b.run({"pre": pre, "pre_rule": pre, "post": rng.random((40, N_POST)) < 0.3, "reward": np.ones((40, 1))})
    texts = "\n".join(fn.as_text() for fn in _brain._run_cache[b].values() if hasattr(fn, "as_text"))
    shape = rf"f32\[(1,)?{N_PRE},{N_POST}\]"  # the weights and the eligibility, or a (1, ...) view of them
    copies, entry = [], False
    for line in texts.splitlines():
        if line and not line.startswith(" "):  # a computation's header: the run's entry copies its inputs once
            entry = line.startswith("ENTRY")
        elif not entry and (re.search(rf"= {shape}\S* copy\(", line) or re.search(rf"%\w*copy\w* = {shape}", line)):
            copies.append(line.strip()[:200])  # a copy inside the loop over steps: one per step
    return len(copies), "\n".join(copies[:3])


def test_the_native_rules_update_one_networks_weights_in_place(monkeypatch):
    if not native.kernels():
        pytest.skip("no native kernels here (CI requires them: SPARK_REQUIRE_NATIVE=1)")
    n, example = weight_copies(True, monkeypatch)
    assert n == 0, f"{n} copies of the weights in the compiled run, e.g.\n{example}"
