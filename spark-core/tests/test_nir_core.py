"""spark.nir's graph machinery with a tiny pack made here (spark-core is tested alone): the spark_nir_converters
hook, export and import of inputs, outputs, edges and delays, the errors, and that ``import spark`` needs no nir.

The tiny pack's ``leaky`` component is NIR's LI with r = 1 and v_leak = 0 (``tau dv/dt = -v + x``, exact with the
input held over a step); the references are that equation's closed form, never Spark's code.
"""

from __future__ import annotations

import math
import subprocess
import sys

import jax.numpy as jnp
import numpy as np
import pytest

import spark
from spark.errors import NIRError, PluginError, UnsupportedNIRError

nir = pytest.importorskip("nir")

from spark.nir import Converter, ImportNode, NIRPart, SparkPart  # noqa: E402


@spark.params
class LeakyParams:
    tau: float = spark.param(10.0, unit="ms", doc="time constant", gt=0)


class Leaky(spark.Soma):
    """``tau dv/dt = -v + x``, exact with ``x`` held over the step; ``v`` starts at 0."""

    name = "leaky"
    Params = LeakyParams
    inputs = {"i_syn": spark.Port(spark.Current, "input (pA)")}
    outputs = {"y": spark.Port(spark.Current, "the filtered input after the step (pA), v of LI")}

    def __init__(self, shape, *, params=None, rngs=None, **values):
        super().__init__(shape, params=params, rngs=rngs, **values)
        self.v = spark.State(jnp.zeros(self.shape, jnp.float32))

    def __call__(self, *, dt, i_syn):
        a = math.exp(-dt / self.params.tau)
        v = a * self.v[...] + (1 - a) * i_syn
        self.v[...] = v
        return {"y": v}


@spark.params
class NoNIRParams:
    k: float = spark.param(1.0, doc="a number")


class NoNIR(spark.Soma):
    """Has a converter that only says why it cannot be exported."""

    name = "no_nir"
    Params = NoNIRParams
    inputs = {"i_syn": spark.Port(spark.Current, "input (pA)")}
    outputs = {"v": spark.Port(spark.Voltage, "v (mV)")}

    def __call__(self, *, dt, i_syn):
        return {"v": i_syn * self.params.k}


class Unmapped(NoNIR):
    """No converter at all."""

    name = "unmapped"


def _to_nir(node):
    tau = np.full(node.shape, node.params.tau * 1e-3)  # seconds
    return NIRPart({"": nir.LI(tau=tau, r=np.ones(node.shape), v_leak=np.zeros(node.shape))},
                   inputs={"i_syn": ""}, outputs={"y": ""})


def _from_nir(node: ImportNode):
    if np.any(node.array("r") != 1) or np.any(node.array("v_leak") != 0):
        return None
    (tau,) = set(node.time_constant("tau").ravel().tolist())
    return SparkPart("test:leaky", {"tau": tau}, tuple(node.node.tau.shape) or None, "i_syn", "y")


CONVERTERS = [Converter(Leaky, ("LI",), to_nir=_to_nir, from_nir=_from_nir),
              Converter("no_nir", why="its k has no NIR counterpart")]


@pytest.fixture
def registry(make_plugin):
    reg = spark.Registry()
    info = reg.load_plugin(make_plugin("tiny_pack", spark_components=lambda: [Leaky, NoNIR, Unmapped],
                                       spark_nir_converters=lambda: CONVERTERS),
                           distribution="test", version="1.0", entry_point="x = tiny_pack")
    assert info.status == "ok", info.error
    return reg


def _brain(registry, tau=4.0, delay=None):
    b = spark.Brain(dt=0.1, seed=2, name="tiny", registry=registry)
    b.add("a", "leaky", shape=3, tau=tau)
    b.add("b", "leaky", shape=3, tau=2 * tau)
    b.connect("a.y", "b.i_syn", delay=delay)
    b.input("x", "a.i_syn")
    b.output("out", "b.y")
    return b.build()


def _closed_form(x, tau_a, tau_b, dt=0.1, lag=0):
    """Two leaky integrators in a row, each exact with its input held: v <- a v + (1 - a) x."""
    va, vb, out = np.zeros(x.shape[1]), np.zeros(x.shape[1]), []
    hist = []
    for t in range(len(x)):
        va = math.exp(-dt / tau_a) * va + (1 - math.exp(-dt / tau_a)) * x[t]
        hist.append(va)
        xb = hist[t - lag] if t >= lag else np.zeros_like(va)
        vb = math.exp(-dt / tau_b) * vb + (1 - math.exp(-dt / tau_b)) * xb
        out.append(vb)
    return np.asarray(out)


def test_export_and_import_through_a_packs_converters(registry, tmp_path):
    brain = _brain(registry)
    graph = brain.to_nir()
    assert {n: type(v).__name__ for n, v in graph.nodes.items()} == {"a": "LI", "b": "LI", "x": "Input",
                                                                      "out": "Output"}
    assert sorted(graph.edges) == [("a", "b"), ("b", "out"), ("x", "a")]
    np.testing.assert_allclose(graph.nodes["a"].tau, 4e-3)  # seconds in NIR
    path = tmp_path / "tiny.nir"
    nir.write(str(path), graph)
    back = spark.Brain.from_nir(path, registry=registry)
    assert back.dt == 0.1 and back.name == "tiny"
    x = np.random.default_rng(0).normal(1.0, 0.5, (1000, 3))
    got = np.asarray(back.run({"x": x}, steps=1000)["out"])
    np.testing.assert_array_equal(got, np.asarray(brain.run({"x": x}, steps=1000)["out"]))
    np.testing.assert_allclose(got, _closed_form(x, 4.0, 8.0), rtol=1e-4, atol=1e-5)


def test_an_edge_delay_becomes_a_nir_delay_node_and_back(registry):
    brain = _brain(registry, delay=0.5)
    graph = brain.to_nir()
    (name,) = [n for n, v in graph.nodes.items() if isinstance(v, nir.Delay)]
    np.testing.assert_allclose(graph.nodes[name].delay, 0.5e-3)
    back = spark.Brain.from_nir(graph, registry=registry)
    assert back.to_dict()["edges"] == [{"from": "a.y", "to": "b.i_syn", "delay": 0.5}]
    x = np.random.default_rng(1).normal(1.0, 0.5, (300, 3))
    np.testing.assert_allclose(np.asarray(back.run({"x": x}, steps=300)["out"]), _closed_form(x, 4.0, 8.0, lag=5),
                               rtol=1e-4, atol=1e-5)


def test_a_graph_from_nir_with_scalar_parameters_takes_its_size_from_its_neighbours(registry):
    graph = nir.NIRGraph(nodes={"in": nir.Input(input_type={"input": np.array([4])}),
                                "li": nir.LI(tau=np.array(5e-3), r=np.array(1.0), v_leak=np.array(0.0)),
                                "out": nir.Output(output_type={"output": np.array([4])})},
                         edges=[("in", "li"), ("li", "out")], type_check=False)
    brain = spark.Brain.from_nir(graph, registry=registry, dt=0.5)
    assert brain.to_dict()["nodes"][0]["shape"] == [4] and brain.dt == 0.5
    x = np.ones((50, 4))
    t = np.arange(1, 51) * 0.5
    np.testing.assert_allclose(np.asarray(brain.run({"in": x}, steps=50)["out"])[:, 0], 1 - np.exp(-t / 5.0),
                               rtol=1e-5)


def test_time_constants_exact_and_euler():
    node = nir.LI(tau=np.array([1e-3, 2e-3]), r=np.ones(2), v_leak=np.zeros(2))
    np.testing.assert_allclose(ImportNode("li", node, 0.1).time_constant("tau"), [1.0, 2.0])
    tau = ImportNode("li", node, 0.1, "euler").time_constant("tau")
    np.testing.assert_allclose(np.exp(-0.1 / tau), [0.9, 0.95], rtol=1e-12)  # = 1 - dt / tau
    with pytest.raises(NIRError, match=r"NIR node 'li' \(LI\): discretization='euler' needs tau > dt = 1.5 ms"):
        ImportNode("li", node, 1.5, "euler").time_constant("tau")
    bad = nir.LI(tau=np.array([0.0]), r=np.ones(1), v_leak=np.zeros(1))
    with pytest.raises(NIRError, match=r"NIR node 'li' \(LI\): tau must be positive"):
        ImportNode("li", bad, 0.1).time_constant("tau")


def test_an_unsupported_primitive_names_node_and_primitive(registry):
    graph = nir.NIRGraph(nodes={"in": nir.Input(input_type={"input": np.array([2])}),
                                "spiky": nir.LIF(tau=np.ones(2), r=np.ones(2), v_leak=np.zeros(2),
                                                 v_threshold=np.ones(2)),
                                "out": nir.Output(output_type={"output": np.array([2])})},
                         edges=[("in", "spiky"), ("spiky", "out")])
    with pytest.raises(UnsupportedNIRError, match=r"NIR node 'spiky' is a LIF, which Spark cannot import: no "
                                                  r"installed pack imports LIF; supported primitives: .*LI"):
        spark.Brain.from_nir(graph, registry=registry)


@pytest.mark.parametrize(("component", "why"), [("no_nir", "its k has no NIR counterpart"),
                                                ("unmapped", "no installed pack maps it to NIR")])
def test_a_component_that_cannot_be_exported_names_node_and_why(registry, component, why):
    b = spark.Brain(dt=0.1, registry=registry)
    b.add("odd", component, shape=2)
    b.input("x", "odd.i_syn")
    b.output("out", "odd.v")
    b.build()
    with pytest.raises(UnsupportedNIRError, match=rf"node 'odd': component test:{component} cannot be exported to "
                                                  rf"NIR: {why}"):
        b.to_nir()


def test_a_pack_whose_hook_returns_something_else_is_named(make_plugin):
    reg = spark.Registry()
    reg.load_plugin(make_plugin("odd_pack", spark_components=lambda: [Leaky],
                                spark_nir_converters=lambda: ["LI"]),
                    distribution="test", version="1.0", entry_point="x = odd_pack")
    b = spark.Brain(dt=0.1, registry=reg)
    b.add("a", "leaky", shape=2).input("x", "a.i_syn").output("out", "a.y").build()
    with pytest.raises(PluginError, match=r"pack test: spark_nir_converters returned 'LI', not a "
                                          r"spark.nir.Converter"):
        b.to_nir()


def test_without_the_nir_package_the_error_names_the_extra(registry, monkeypatch):
    monkeypatch.setitem(sys.modules, "nir", None)  # `import nir` now raises ImportError
    with pytest.raises(NIRError, match=r"pip install 'spark-core\[nir\]'"):
        _brain(registry).to_nir()
    with pytest.raises(NIRError, match=r"spark-core\[nir\]"):
        spark.Brain.from_nir("model.nir", registry=registry)


def test_import_spark_and_its_cli_do_not_import_nir():
    code = ("import sys, spark, spark.cli; spark.nir.to_nir, spark.NIRError, spark.UnsupportedNIRError; "
            "assert 'nir' not in sys.modules, 'nir imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_converter_that_crashes_is_named_with_its_node_and_pack(make_plugin):
    def broken(node):
        raise KeyError("tau")

    reg = spark.Registry()
    reg.load_plugin(make_plugin("crash_pack", spark_components=lambda: [Leaky],
                                spark_nir_converters=lambda: [Converter(Leaky, ("LI",), to_nir=broken,
                                                                        from_nir=broken)]),
                    distribution="test", version="1.0", entry_point="x = crash_pack")
    b = spark.Brain(dt=0.1, registry=reg)
    b.add("a", "leaky", shape=2).input("x", "a.i_syn").output("out", "a.y").build()
    with pytest.raises(PluginError, match=r"node 'a' \(test:leaky\): the NIR converter of pack test for .*Leaky.* "
                                          r"raised KeyError: 'tau'"):
        b.to_nir()
    graph = nir.NIRGraph(nodes={"in": nir.Input(input_type={"input": np.array([2])}),
                                "li": nir.LI(tau=np.ones(2), r=np.ones(2), v_leak=np.zeros(2)),
                                "out": nir.Output(output_type={"output": np.array([2])})},
                         edges=[("in", "li"), ("li", "out")])
    with pytest.raises(PluginError, match=r"NIR node 'li' \(LI\): the NIR converter of pack test"):
        spark.Brain.from_nir(graph, registry=reg)


def test_a_composite_is_exported_as_its_inner_nodes(registry):
    """A composite node is flattened (docs/composites.md): its inner nodes become NIR nodes ("pair.a" -> "pair_a":
    no dots in NIR names, which tools use for paths into sub-graphs), and the graph reads back as the flat model."""
    registry.register_composite({
        "format": "spark", "version": 1, "name": "pair", "dt": 0.1,
        "component": {"name": "pair", "kind": "composite", "params": {"tau": {"type": "number", "default": 4.0}},
                      "inputs": {"x": {"to": "a.i_syn"}}, "outputs": {"y": {"from": "b.y"}}},
        "nodes": [{"id": "a", "component": "test:leaky", "shape": [3], "params": {"tau": {"param": "tau"}}},
                  {"id": "b", "component": "test:leaky", "shape": [3], "params": {"tau": 8.0}}],
        "edges": [{"from": "a.y", "to": "b.i_syn"}],
    }, distribution="test")
    brain = spark.Brain(dt=0.1, registry=registry).add("pair", "pair").input("x", "pair.x").output("out", "pair.y")
    brain.build()
    graph = brain.to_nir()
    assert {n: type(v).__name__ for n, v in graph.nodes.items()} == {"pair_a": "LI", "pair_b": "LI", "x": "Input",
                                                                      "out": "Output"}
    back = spark.Brain.from_nir(graph, registry=registry)
    x = np.random.default_rng(3).normal(1.0, 0.5, (200, 3))
    got = np.asarray(back.run({"x": x}, steps=200)["out"])
    np.testing.assert_array_equal(got, np.asarray(brain.run({"x": x}, steps=200)["out"]))
    np.testing.assert_allclose(got, _closed_form(x, 4.0, 8.0), rtol=1e-4, atol=1e-5)


@spark.params
class GainParams:
    k: float = spark.param(2.0, doc="gain")


class Gain(spark.Soma):
    """``y = k x`` in the step: a stand-in for an encoder or a decoder (no converter)."""

    name = "gain"
    Params = GainParams
    inputs = {"i_syn": spark.Port(spark.Current, "input (pA)")}
    outputs = {"y": spark.Port(spark.Current, "k times the input (pA)")}

    def __call__(self, *, dt, i_syn):
        return {"y": self.params.k * i_syn}


def test_left_out_nodes_become_inputs_and_outputs(make_plugin):
    reg = spark.Registry()
    reg.load_plugin(make_plugin("gain_pack", spark_components=lambda: [Leaky, Gain],
                                spark_nir_converters=lambda: CONVERTERS[:1]),
                    distribution="test", version="1.0", entry_point="x = gain_pack")
    b = spark.Brain(dt=0.1, registry=reg)
    b.add("enc", "gain", shape=3).add("a", "leaky", shape=3, tau=4.0).add("dec", "gain", shape=3)
    b.connect("enc.y", "a.i_syn").connect("a.y", "dec.i_syn").input("x", "enc.i_syn").output("out", "dec.y")
    b.build()
    with pytest.raises(UnsupportedNIRError, match=r"node 'enc': component test:gain cannot be exported"):
        b.to_nir()
    with pytest.raises(NIRError, match=r"leave_out: no node \['nope'\] in this model"):
        b.to_nir(leave_out=["nope"])
    graph = b.to_nir(leave_out=["enc", "dec"])
    assert {n: type(v).__name__ for n, v in graph.nodes.items()} == {"a": "LI", "enc_y": "Input",
                                                                      "dec_i_syn": "Output"}
    back = spark.Brain.from_nir(graph, registry=reg)
    x = np.random.default_rng(4).normal(1.0, 0.5, (100, 3))
    got = np.asarray(back.run({"enc_y": 2.0 * x}, steps=100)["dec_i_syn"])  # fed what enc gave: 2 x
    np.testing.assert_allclose(got, np.asarray(b.run({"x": x}, steps=100)["out"]) / 2.0, rtol=1e-6)
