"""Brain.run misuse gets a message, not a crash or a silent surprise (issue 15)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

import spark
from brain_parts import ALL
from spark.testing import isolated_registry


@pytest.fixture
def reg():
    return isolated_registry(*ALL)


def net(reg, **syn):
    b = spark.Brain(dt=0.5, registry=reg)
    b.add("clk", "clock", shape=4, period=2).add("syn", "linear", **syn).add("out", "relay", shape=3)
    b.connect("clk.spikes", "syn.pre").connect("syn.i", "out.x").output("y", "out.y")
    return b.build()


def test_a_sampled_monitor_with_every_beyond_steps_is_refused(reg):
    b = net(reg)
    with pytest.raises(spark.GraphError, match=r"'syn.weight@100'.*every 100 steps.*50 step\(s\).*at least 100"):
        b.run(steps=50, record=["syn.weight@100"])
    assert int(b.t[...]) == 0, "nothing ran"
    assert b.run(steps=100, record=["syn.weight@100"])["syn.weight@100"].shape == (1, 4, 3)


@pytest.mark.parametrize("steps", [True, False, 10.0, "10"])
def test_steps_must_be_an_integer_not_a_bool(reg, steps):
    with pytest.raises(spark.GraphError, match="must be a positive integer"):
        net(reg).run(steps=steps)


def test_numpy_integer_steps_are_accepted(reg):
    assert net(reg).run(steps=np.int64(3))["y"].shape == (3, 3)


@pytest.mark.parametrize("value", [np.float32(0.25), np.float64(0.25), jnp.float32(0.25), np.array(0.25)])
def test_numpy_and_jax_scalars_are_accepted_as_parameters(reg, value):
    b = net(reg, weight=value)
    assert b.to_dict()["nodes"][1]["params"] == {"weight": 0.25}
    assert type(b.to_dict()["nodes"][1]["params"]["weight"]) is float
    assert float(np.asarray(b.nodes["syn"].weight[...]).mean()) == pytest.approx(0.25, abs=1e-2)


def test_numpy_integer_shape_and_params_are_accepted(reg):
    b = spark.Brain(dt=0.5, registry=reg).add("clk", "clock", shape=np.int64(4), period=np.int32(2)).build()
    node = b.to_dict()["nodes"][0]
    assert node["shape"] == [4] and node["params"] == {"period": 2} and type(node["params"]["period"]) is int


def test_a_numpy_array_parameter_is_still_refused_with_a_message(reg):
    with pytest.raises(spark.SparkError, match=r"'weight' = \[1.0, 1.0, 1.0\] is not a number"):
        net(reg, weight=np.ones(3))


def test_record_none_without_declared_outputs_records_nothing(reg):
    b = spark.Brain(dt=0.5, registry=reg).add("clk", "clock", shape=4).build()
    assert dict(b.run(steps=5, record=None)) == {}
    assert int(b.t[...]) == 5


class _Broken(spark.Soma):
    """Raises in its step: KeyError, or ValueError when ``mode`` says so."""

    name = "broken"
    Params = ALL[0].Params
    outputs = {"spikes": spark.Port(spark.Spikes)}
    mode = "key"

    def __call__(self, *, dt):
        if type(self).mode == "value":
            raise ValueError("input too large")
        raise KeyError("missing")


@pytest.mark.parametrize("mode, cls, words", [
    ("key", spark.ComponentStepError, ["node 'bad'", "test:broken", "failed in its step", "KeyError: 'missing'"]),
    ("value", spark.ComponentValueError, ["node 'bad'", "test:broken", "refused its step: input too large"]),
])
def test_a_step_that_raises_names_the_node_and_component(monkeypatch, mode, cls, words):
    reg = isolated_registry(_Broken)
    monkeypatch.setattr(_Broken, "mode", mode)
    b = spark.Brain(dt=0.5, registry=reg).add("bad", "broken", shape=2).output("s", "bad.spikes").build()
    for call in (lambda: b.run(steps=3), lambda: b()):
        with pytest.raises(cls) as info:
            call()
        for w in words:
            assert w in str(info.value), (w, str(info.value))
    assert issubclass(spark.ComponentValueError, ValueError)


def test_an_unknown_node_in_record_lists_a_few_nodes_and_the_close_ones(reg):
    """A model of hundreds of nodes (composites make them common) gets a readable message: 20 names, a count, and
    the names close to the typo (issue 15)."""
    b = spark.Brain(dt=1.0, registry=reg)
    for k in range(60):
        b.add(f"clk{k:02d}", "clock", shape=1)
    b.build()
    with pytest.raises(spark.GraphError) as err:
        b.run(steps=2, record=["clk4.spikes"])
    msg = str(err.value)
    assert "'clk00'" in msg and "'clk19'" in msg and "'clk20'" not in msg.split(";")[0] and "... 40 more" in msg
    assert "; did you mean 'clk" in msg  # difflib's closest names
