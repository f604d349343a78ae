"""Brain's time semantics: spikes arrive one step later (plus delays), other edges within the step."""

from __future__ import annotations

import numpy as np
import pytest

import spark
import brain_parts
from brain_parts import ALL
from spark.testing import isolated_registry


@pytest.fixture
def reg():
    return isolated_registry(*ALL)


def brain(reg, **kw):
    return spark.Brain(registry=reg, **kw)


def test_spikes_arrive_one_step_later(reg):
    b = brain(reg, dt=0.1)
    b.add("clk", "clock", shape=1, period=7, phase=2).add("syn", "linear", weight=3.0).add("out", "relay", shape=1)
    b.connect("clk.spikes", "syn.pre").connect("syn.i", "out.x").build()
    r = b.run(steps=30, record=["clk.spikes", "out.y"])
    sent = np.nonzero(r["clk.spikes"][:, 0])[0]
    got = np.nonzero(r["out.y"][:, 0])[0]
    np.testing.assert_array_equal(sent, [2, 9, 16, 23])
    np.testing.assert_array_equal(got, sent + 1)
    assert r["out.y"][3, 0] == pytest.approx(3.0, abs=2e-3)


@pytest.mark.parametrize("delay, extra", [(0.1, 1), (0.34, 3), (0.35, 4), (1.0, 10)])
def test_delay_is_rounded_half_up_to_steps(reg, delay, extra):
    b = brain(reg, dt=0.1)
    b.add("clk", "clock", shape=1, period=50, phase=0).add("syn", "linear").add("out", "relay", shape=1)
    b.connect("clk.spikes", "syn.pre", delay=delay).connect("syn.i", "out.x").build()
    r = b.run(steps=40, record=["out.y"])
    np.testing.assert_array_equal(np.nonzero(r["out.y"][:, 0])[0], [1 + extra])


def test_non_spike_edges_deliver_within_the_step_in_any_file_order(reg):
    b = brain(reg, dt=0.1)
    # declared downstream-first: the step order must come from the edges, not the file
    b.add("c", "relay", shape=3, gain=5.0).add("b", "relay", shape=3, gain=3.0).add("a", "relay", shape=3, gain=2.0)
    b.connect("a.y", "b.x").connect("b.y", "c.x").input("drive", "a.x").output("out", "c.y").build()
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    r = b.run({"drive": x}, record=["c.y"])
    np.testing.assert_allclose(r["c.y"], 30.0 * x)


def test_several_current_edges_into_one_port_are_summed(reg):
    b = brain(reg, dt=0.1)
    b.add("a", "relay", shape=2).add("b", "relay", shape=2).add("sum", "relay", shape=2)
    b.connect("a.y", "sum.x").connect("b.y", "sum.x").input("xa", "a.x").input("xb", "b.x").build()
    r = b.run({"xa": np.array([1.0, 2.0]), "xb": np.array([10.0, 20.0])}, steps=2, record=["sum.y"])
    np.testing.assert_allclose(r["sum.y"], [[11.0, 22.0]] * 2)


def test_zero_delay_cycle_is_an_error_naming_the_cycle(reg):
    b = brain(reg, dt=0.1)
    b.add("a", "relay", shape=1).add("b", "relay", shape=1).add("c", "relay", shape=1)
    b.connect("a.y", "b.x").connect("b.y", "c.x").connect("c.y", "a.x")
    with pytest.raises(spark.SparkFileError) as info:
        b.build()
    msg = str(info.value)
    assert "zero-delay cycle" in msg
    assert any(cyc in msg for cyc in ("a -> b -> c -> a", "b -> c -> a -> b", "c -> a -> b -> c"))


def test_cycle_with_a_delayed_edge_runs(reg):
    b = brain(reg, dt=0.1)
    b.add("a", "relay", shape=1, gain=0.5).add("b", "relay", shape=1)
    b.connect("a.y", "b.x").connect("b.y", "a.x", delay=0.1).input("kick", "a.x").build()
    kick = np.zeros((6, 1), np.float32)
    kick[0] = 8.0
    r = b.run({"kick": kick}, record=["a.y"])
    # a(t) = 0.5 * (kick(t) + a(t-1)): a geometric echo of the kick
    np.testing.assert_allclose(r["a.y"][:, 0], [4.0, 2.0, 1.0, 0.5, 0.25, 0.125])


def test_learning_rules_run_after_every_node(reg):
    b = brain(reg, dt=0.1)
    b.add("clk", "clock", shape=2, period=3).add("syn", "linear", shape=[2, 2], weight=0.0)
    b.add("post", "clock", shape=2, period=3).add("rule", "hebb", attach="syn", rate=0.5)
    b.add("sink", "relay", shape=2)
    b.connect("clk.spikes", "syn.pre").connect("syn.i", "sink.x")
    b.connect("clk.spikes", "rule.pre").connect("post.spikes", "rule.post").build()
    w0 = np.asarray(b.nodes["syn"].weight[...])
    r = b.run(steps=7, record=["syn.weight", "sink.y"])
    # both clocks fire at steps 0, 3, 6; the rule sees them one step later (steps 1, 4) -> two updates by step 6
    np.testing.assert_allclose(r["syn.weight"][-1], w0 + 2 * 0.5, atol=1e-6)
    # the synapse at step 4 used the weights from before that step's update
    np.testing.assert_allclose(r["sink.y"][4], (w0 + 0.5).sum(axis=0), atol=1e-5)


def test_unconnected_optional_input_reads_zeros_and_default_inputs_apply(reg):
    b = brain(reg, dt=0.1)
    b.add("a", "relay", shape=2).add("z", "relay", shape=2)
    b.input("drive", "a.x", value=2.5).build()
    r = b.run(steps=3, record=["a.y", "z.y"])
    np.testing.assert_allclose(r["a.y"], 2.5)
    np.testing.assert_allclose(r["z.y"], 0.0)


class FixedSignatureSynapse(spark.Synapse):
    """A pack's synapse written before the Brain told synapses whether pre and post are one population: its
    ``__init__`` takes no ``**values``."""

    name = "fixed_signature"
    Params = brain_parts.LinearParams
    inputs = {"pre": spark.Port(spark.Spikes, optional=False)}
    outputs = {"i": spark.Port(spark.Current)}

    def __init__(self, shape, *, params=None, rngs=None, dt=None):
        super().__init__(shape, params=params, rngs=rngs, dt=dt)
        self.weight = spark.Weight(np.full(self.shape, self.params.weight, np.float32))

    def __call__(self, *, dt, pre):
        return {"i": pre.astype(np.float32) @ self.weight[...]}


def test_synapses_learn_whether_pre_and_post_are_one_population():
    reg = isolated_registry(*ALL, FixedSignatureSynapse)
    b = spark.Brain(dt=0.5, registry=reg)
    b.add("a", "threshold", shape=3).add("b", "threshold", shape=3)
    b.add("rec", "linear").add("ff", "linear").add("old", "fixed_signature")
    b.connect("a.spikes", "rec.pre").connect("rec.i", "a.x")  # a -> a: recurrent
    b.connect("a.spikes", "ff.pre").connect("ff.i", "b.x")  # a -> b: two populations
    b.connect("b.spikes", "old.pre").connect("old.i", "b.x")
    b.build()
    assert b.nodes["rec"].same_population is True and b.nodes["ff"].same_population is False
    assert b.nodes["old"].same_population is None  # not told (it cannot take the keyword), and it still builds
