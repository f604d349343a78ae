"""Graphs of many nodes: validation is linear (order, shape inference, schema, params) and gives the results the
simple quadratic algorithms gave; a step traces without walking the trace per variable write, bit-identically.

Timings are in ``benchmarks/graph_scale.py``; these tests check results only.
"""

from __future__ import annotations

import random

import jax
import jsonschema
import numpy as np
import pytest
from brain_parts import ALL
from flax import nnx

import spark
from spark import graph, sparkfile
from spark import variables as _variables
from spark.testing import isolated_registry


@pytest.fixture
def reg():
    return isolated_registry(*ALL)


def _doc(nodes, edges=(), outputs=()):
    return {"format": "spark", "version": 1, "dt": 0.1, "nodes": list(nodes), "edges": list(edges),
            "outputs": list(outputs)}


def _relay_chain(n, shape_first=True):
    """Relays r0 -> r1 -> ... (zero-delay Current edges), listed last to first; only r0 has a shape."""
    nodes = [{"id": f"r{i}", "component": "relay", **({"shape": [3]} if i == 0 and shape_first else {})}
             for i in range(n)]
    edges = [{"from": f"r{i}.y", "to": f"r{i + 1}.x"} for i in range(n - 1)]
    return _doc(nodes[::-1], edges)


def test_a_long_chain_listed_backwards_is_ordered_and_its_shapes_inferred(reg):
    n = 20_000
    plan, problems = graph.plan(_relay_chain(n), reg)
    assert problems == []
    assert plan.order == [f"r{i}" for i in range(n)]
    assert all(node.shape == (3,) for node in plan.nodes.values())


def test_a_hundred_thousand_unconnected_nodes_validate_in_file_order(reg):
    n = 100_000
    doc = _doc([{"id": f"c{i}", "component": "clock", "shape": [1], "params": {"period": 3}} for i in range(n)])
    plan, problems = graph.plan(doc, reg)
    assert problems == []
    assert plan.order == [f"c{i}" for i in range(n)]
    assert len({id(node.params) for node in plan.nodes.values()}) == 1  # one params instance, checked once


def test_nodes_sharing_bad_params_are_each_reported(reg):
    doc = _doc([{"id": f"c{i}", "component": "clock", "shape": [1], "params": {"period": 0}} for i in range(3)])
    problems = sparkfile.validate(doc, reg)
    assert [p.path for p in problems] == [f"$.nodes[{i}].params.period" for i in range(3)]


def _reference_order(nodes, edges):
    """The former quadratic Kahn's algorithm: repeatedly take the first ready node in file order."""
    steppers = [n.id for n in sorted(nodes.values(), key=lambda n: n.index) if not n.is_rule]
    deps = {nid: set() for nid in steppers}
    for e in edges:
        if e.delay_steps == 0 and e.dst in deps and e.src in deps:
            deps[e.dst].add(e.src)
    order, done = [], set()
    while len(order) < len(steppers):
        ready = [nid for nid in steppers if nid not in done and deps[nid] <= done]
        if not ready:
            return None
        order.append(ready[0])
        done.add(ready[0])
    return order


@pytest.mark.parametrize("seed", range(20))
def test_the_order_is_the_one_the_quadratic_algorithm_gave(reg, seed):
    rng = random.Random(seed)
    n = rng.randint(2, 40)
    rank = list(range(n))
    rng.shuffle(rank)  # a random DAG: edges go from lower to higher rank, files list nodes in another order
    nodes = [{"id": f"r{i}", "component": "relay", "shape": [2]} for i in range(n)]
    nodes += [{"id": f"k{i}", "component": "clock", "shape": [2]} for i in range(rng.randint(0, 5))]
    rng.shuffle(nodes)
    edges = []
    for a in range(n):
        for b in range(n):
            if rank[a] < rank[b] and rng.random() < 0.1:
                edges.append({"from": f"r{a}.y", "to": f"r{b}.x"})
    plan, problems = graph.plan(_doc(nodes, edges), reg)
    assert problems == []
    assert plan.order == _reference_order(plan.nodes, plan.edges)


def test_a_zero_delay_cycle_in_a_long_chain_is_named(reg):
    doc = _relay_chain(5_000)
    doc["edges"].append({"from": "r4999.y", "to": "r4990.x"})
    problems = sparkfile.validate(doc, reg)
    assert len(problems) == 1 and problems[0].path == "$.edges"
    cycle = problems[0].message.split(": ", 1)[1].split(";")[0].split(" -> ")
    assert sorted(set(cycle)) == sorted(f"r{i}" for i in range(4990, 5000))


def test_the_schema_fast_path_reports_what_jsonschema_reports(monkeypatch):
    nodes = [{"id": "a", "component": "lif", "shape": [2]}, {"id": "1bad", "component": "lif"},
             {"id": "b", "component": "", "shape": [0]}, {"id": "c", "component": "x", "shape": [1.0]},
             {"id": "d", "component": "x", "shape": [True]}, {"id": "e", "component": "x", "extra": 1},
             {"id": "f"}, {"id": "g", "component": "x", "params": []}, {"id": "h\n", "component": "x"}, 5,
             {"id": "i", "component": "x", "shape": []}, {"id": "j", "component": "x", "attach": 3}]
    edges = [{"from": "a.spikes", "to": "b.i_syn"}, {"from": "a", "to": "b.i_syn"},
             {"from": "a.x", "to": "b.y", "delay": -1}, {"from": "a.x", "to": "b.y", "delay": True},
             {"from": "a.x", "to": "b.y", "delay": float("nan")}, {"from": "a.x", "to": "b.y", "delay": 2},
             {"from": "a.x", "to": "b.y", "weight": 2}, [], {"to": "b.y"}]
    doc = _doc(nodes, edges)
    fast = sparkfile.check_schema(doc)
    monkeypatch.setattr(sparkfile, "_Validator", jsonschema.Draft202012Validator)
    plain = sparkfile.check_schema(doc)
    assert fast == plain
    assert len(plain) > 10


def _step_brain(reg, n=30):
    b = spark.Brain(registry=reg, dt=0.1, seed=3)
    b.add("clk", "clock", shape=2, period=3)
    for i in range(n):
        b.add(f"s{i}", "linear", weight=0.5 + i).add(f"r{i}", "relay", shape=2, gain=1.0 + 0.1 * i)
        b.connect("clk.spikes", f"s{i}.pre").connect(f"s{i}.i", f"r{i}.x")
    return b.output("y", f"r{n - 1}.y").build()


def test_tracing_a_step_does_not_walk_the_trace_per_variable_write(reg, monkeypatch):
    from jax._src.interpreters import partial_eval

    b = _step_brain(reg)
    graphdef, state = nnx.split(b)
    calls = []
    frame = partial_eval.JaxprStackFrame
    original = frame.find_progenitors
    monkeypatch.setattr(frame, "find_progenitors", lambda self, t: calls.append(1) or original(self, t))

    def step(state):
        brain = nnx.merge(graphdef, state)
        out = brain()
        return nnx.split(brain)[1], out

    jax.make_jaxpr(step)(state)
    assert calls == []


def test_the_fast_variable_write_is_bit_identical_to_flax(reg, monkeypatch):
    record = ["r0.y", "r29.y", "s3.i", "clk.spikes"]
    fast = _step_brain(reg).run(steps=40, record=record)
    monkeypatch.setattr(_variables._Variable, "set_value", nnx.Variable.set_value)
    slow = _step_brain(reg).run(steps=40, record=record)
    for key in record:
        np.testing.assert_array_equal(np.asarray(fast[key]), np.asarray(slow[key]))
    assert np.asarray(fast["r29.y"]).any()


def test_a_long_chain_builds_and_passes_its_input_through_within_one_step(reg):
    n = 300
    doc = _relay_chain(n)
    doc["inputs"] = [{"name": "x", "to": "r0.x"}]
    doc["outputs"] = [{"name": "y", "from": f"r{n - 1}.y"}]
    b = spark.Brain.from_dict(doc, registry=reg)
    np.testing.assert_array_equal(np.asarray(b(x=np.array([1.0, 2.0, 3.0]))["y"]), [1.0, 2.0, 3.0])
