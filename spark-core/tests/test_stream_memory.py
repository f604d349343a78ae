"""Streams check memory before they compile (issue 15): `present_together` holds a copy of the whole state per
network, a batched stream (`batch=B`) a copy of the dynamic state per lane; too many for the memory budget are
refused with the numbers and the fix, and nothing runs."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from brain_parts import ALL
from flax import nnx

import spark
from spark import memory
from spark.testing import isolated_registry

PRES = spark.Presentation(t_present=2.0, reset=True)


def net(reg, seed=0):
    b = spark.Brain(dt=0.5, seed=seed, registry=reg)
    b.add("noise", "noise", shape=40).add("syn", "linear", weight=0.2).add("post", "threshold", shape=30)
    b.add("rule", "hebb", attach="syn", rate=0.01)
    b.connect("noise.spikes", "syn.pre").connect("syn.i", "post.x")
    b.connect("noise.spikes", "rule.pre").connect("post.spikes", "rule.post")
    b.input("p", "noise.data").output("post", "post.spikes")
    return b.build()


def nbytes(tree):
    return sum(int(x.size) * x.dtype.itemsize for x in jax.tree.leaves(tree) if hasattr(x, "dtype"))


def limit_for(monkeypatch, usable_bytes):
    """Set SPARK_MEMORY_LIMIT so that exactly ``usable_bytes`` may be planned (MEMORY_FRACTION of the limit)."""
    monkeypatch.setenv("SPARK_MEMORY_LIMIT", str(int(usable_bytes / memory.MEMORY_FRACTION) + 1))


def test_present_together_is_refused_when_the_stacked_states_do_not_fit(monkeypatch):
    reg = isolated_registry(*ALL)
    brains = [net(reg, s) for s in range(3)]
    full = nbytes(nnx.state(brains[0]))
    before = [np.asarray(b.nodes["syn"].weight[...]).copy() for b in brains]
    x = np.full((4, 40), 0.2, np.float32)
    limit_for(monkeypatch, full * 2 * memory.RUN_FACTOR)  # two networks fit, three do not
    with pytest.raises(spark.ModelMemoryError, match=r"present_together of 3 networks .* batches of at most 2 "
                                                     r"networks .*SPARK_MEMORY_LIMIT"):
        spark.present_together(brains, {"p": x}, PRES)
    assert all(np.array_equal(np.asarray(b.nodes["syn"].weight[...]), w) for b, w in zip(brains, before))
    spark.present_together(brains[:2], {"p": x}, PRES)  # two fit: they run


def test_a_batched_stream_counts_only_the_dynamic_state_per_lane(monkeypatch):
    reg = isolated_registry(*ALL)
    brain = net(reg)
    full, dyn = nbytes(nnx.state(brain)), nbytes(brain.dynamic_state())
    assert dyn < full  # the weights (40 x 30) are shared by the lanes, not copied
    x = np.full((8, 40), 0.2, np.float32)
    limit_for(monkeypatch, (full + 4 * dyn) * memory.RUN_FACTOR)  # 4 lanes fit
    with pytest.raises(spark.ModelMemoryError, match=r"a batched stream \(batch=8\) of 8 samples holds the dynamic "
                                                     r"state .* batches of at most 4 samples"):
        brain.present({"p": x}, PRES, learn=False, batch=8)
    out = brain.present({"p": x}, PRES, learn=False, batch=4, count=["post.spikes"])
    assert out.counts["post.spikes"].shape == (8, 30)
