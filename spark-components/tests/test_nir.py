"""NIR import/export of spark-components' components (spark.nir, docs/nir.md).

The references here are the NIR equations integrated in numpy in this file, from the numbers in the NIR graph (read
back with ``nir.read``), never Spark's code: exact over a step with the input held (``"exact"``), or forward Euler
(``"euler"``, what snnTorch, Norse and Spyx step). A spike is 1 during its step; Spark delivers a spike one step
after it is emitted (docs/time.md), which the references model where a spike crosses an edge between two nodes.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

nir = pytest.importorskip("nir")

import spark  # noqa: E402
from spark.errors import NIRError, UnsupportedNIRError  # noqa: E402
from spark.nir import NIRWarning  # noqa: E402

T = 1000
DT = 0.1  # ms
N_IN, N = 8, 6


def _weights(seed=0, n_in=N_IN, n=N, mean=0.4):
    rng = np.random.default_rng(seed)
    w = rng.normal(mean, 0.3, (n_in, n)).astype(np.float32)
    w[rng.random((n_in, n)) < 0.2] = 0.0  # some absent synapses
    return w


def _spikes(seed=1, n_in=N_IN, p=0.3):
    return np.random.default_rng(seed).random((T, n_in)) < p


def _brain_into(component, out_port, **params):
    """input x (spikes) -> delta synapse (explicit weights) -> ``component``; output ``out``."""
    w = _weights()
    pre, post = np.nonzero(w)
    b = spark.Brain(dt=DT, seed=3, name="rt")
    b.add("syn", "delta_synapse", shape=[N_IN, N], connectivity="explicit", pre=pre.tolist(), post=post.tolist(),
          weights=[float(x) for x in w[pre, post]])
    b.add("cell", component, shape=N, **params)
    b.connect("syn.i", "cell.i_syn")
    b.input("x", "syn.pre")
    b.output("out", f"cell.{out_port}")
    return b.build()


def _run(brain, x):
    return np.asarray(brain.run({"x": x}, steps=len(x))["out"])


def _roundtrip(brain, tmp_path, **kw):
    path = tmp_path / "model.nir"
    nir.write(str(path), brain.to_nir())
    return spark.Brain.from_nir(path, **kw), nir.read(str(path))


# ----- the NIR equations, in numpy -----------------------------------------------------------------------------------


def _decay(tau_s, dt_ms, how="exact"):
    """Per-step factor of ``tau dv/dt = -v`` (tau in seconds as NIR writes it, dt in ms)."""
    dt_s = dt_ms * 1e-3
    return np.exp(-dt_s / tau_s) if how == "exact" else 1.0 - dt_s / tau_s


def simulate(node, x, dt_ms=DT, how="exact"):
    """The NIR node's equations over the input ``x`` (``(T, n)``, held over each step); returns its output."""
    kind = type(node).__name__
    n = x.shape[1]
    f = {k: np.broadcast_to(np.asarray(getattr(node, k), np.float64), (n,))
         for k in ("tau", "tau_mem", "tau_syn", "r", "v_leak", "v_threshold", "v_reset", "w_in", "threshold")
         if hasattr(node, k)}
    out, i = [], np.zeros(n)
    v = f["v_leak"].copy() if "v_leak" in f else (f["v_reset"].copy() if kind == "IF" else np.zeros(n))
    for t in range(len(x)):
        if kind in ("LIF", "LI"):
            a = _decay(f["tau"], dt_ms, how)
            v = a * v + (1 - a) * (f["v_leak"] + f["r"] * x[t])
        elif kind in ("CubaLIF", "CubaLI"):
            a, b = _decay(f["tau_syn"], dt_ms, how), _decay(f["tau_mem"], dt_ms, how)
            i = a * i + (1 - a) * f["w_in"] * x[t]
            v = b * v + (1 - b) * (f["v_leak"] + f["r"] * i)
        elif kind in ("IF", "I"):
            v = v + f["r"] * (dt_ms * 1e-3) * x[t]  # dv/dt = R I, R per second
        elif kind == "Threshold":
            out.append(x[t] > f["threshold"])
            continue
        if kind in ("LIF", "CubaLIF", "IF"):
            z = v > f["v_threshold"]
            v = np.where(z, f["v_reset"], v)
            out.append(z)
        else:
            out.append(v.copy())
    return np.asarray(out)


def _linear(node, s):
    """A Linear / Affine / Scale node applied to the inputs ``s`` (``(T, n_in)``)."""
    s = np.asarray(s, np.float64)
    if isinstance(node, nir.Scale):
        return s * np.asarray(node.scale, np.float64)
    y = s @ np.asarray(node.weight, np.float64).T
    return y + np.asarray(node.bias, np.float64) if isinstance(node, nir.Affine) else y


# ----- Spark -> NIR -> Spark, per primitive --------------------------------------------------------------------------

NEURONS = [  # component, output port, params (scalar and per-neuron values both), NIR primitive
    ("lif", "spikes", dict(tau_m=8.0, c_m=4.0, v_rest=0.0, v_reset=-0.2, v_thresh=1.0, t_ref=0.0), "LIF"),
    ("nir_lif", "spikes", dict(tau_mem=[4.0, 5, 6, 7, 8, 9], r=[1.5], v_leak=[0.1], v_threshold=[1.0]), "LIF"),
    ("nir_cuba_lif", "spikes", dict(tau_syn=[2.0], tau_mem=[5.0, 6, 7, 8, 9, 10], r=[2.0], w_in=[1.5],
                                    v_threshold=[0.8], v_reset=[-0.1]), "CubaLIF"),
    ("nir_li", "v", dict(tau=[6.0], r=[0.5, 1, 1.5, 2, 2.5, 3], v_leak=[-0.3]), "LI"),
    ("nir_cuba_li", "v", dict(tau_syn=[3.0], tau_mem=[7.0], r=[1.0], w_in=[0.5, 1, 1.5, 2, 2.5, 3]), "CubaLI"),
    ("nir_if", "spikes", dict(r=[0.3], v_threshold=[1.0, 1.2, 1.4, 1.6, 1.8, 2.0], v_reset=[0.0]), "IF"),
    ("nir_i", "v", dict(r=[0.05, 0.06, 0.07, 0.08, 0.09, 0.1]), "I"),
    ("nir_threshold", "spikes", dict(threshold=[0.3]), "Threshold"),
]


@pytest.mark.parametrize(("component", "port", "params", "primitive"), NEURONS, ids=[c[0] for c in NEURONS])
def test_round_trip_is_identical_and_follows_the_nir_equations(tmp_path, component, port, params, primitive):
    brain = _brain_into(component, port, **params)
    x = _spikes()
    before = _run(brain, x)
    back, graph = _roundtrip(brain, tmp_path)
    after = _run(back, x)
    np.testing.assert_array_equal(after, before)  # identical over 1,000 steps
    if port == "spikes":
        assert before.sum() >= 30 and before.mean() < 0.9, "the test needs neurons that spike, and not every step"
    assert sorted(type(n).__name__ for n in graph.nodes.values()) == sorted(["Input", "Linear", primitive, "Output"])

    # what the file says, integrated here: the input spikes (no edge delay: an external input arrives in its step)
    ref = simulate(graph.nodes["cell"], _linear(graph.nodes["syn"], x))
    if port == "spikes":
        np.testing.assert_array_equal(before, ref)
    else:
        np.testing.assert_allclose(before, ref, rtol=2e-5, atol=2e-5)


def test_lif_refractory_period_and_initial_potential_come_back_from_the_metadata(tmp_path):
    params = dict(tau_m=8.0, c_m=4.0, v_rest=0.0, v_reset=-0.2, v_thresh=1.0, t_ref=1.0, v_init=0.5, i_bias=0.1)
    brain = _brain_into("lif", "spikes", **params)
    with pytest.warns(NIRWarning) as caught:
        back, graph = _roundtrip(brain, tmp_path)
    said = [str(w.message).split(": ", 1)[1] for w in caught]
    assert [m[:22] for m in said] == ["t_ref = 1.0 ms (10 ste", "the initial potential "]
    x = _spikes()
    np.testing.assert_array_equal(_run(back, x), _run(_brain_into("lif", "spikes", **params), x))
    assert next(n for n in back.to_dict()["nodes"] if n["id"] == "cell")["params"]["t_ref"] == 1.0
    lif = graph.nodes["cell"]
    np.testing.assert_allclose(lif.v_leak, 0.1 * 8.0 / 4.0)  # v_rest + r i_bias, r = tau_m / c_m
    np.testing.assert_allclose(lif.tau, 8e-3)  # seconds
    with pytest.raises(UnsupportedNIRError, match=r"node 'cell' \(spark-components:lif\): t_ref"):
        brain.to_nir(strict=True)


def test_numbers_changed_outside_spark_win_over_the_metadata(tmp_path):
    """A graph edited after export (here: a threshold) is read as its numbers say, not as the metadata says."""
    brain = _brain_into("lif", "spikes", tau_m=8.0, c_m=4.0, v_rest=0.0, v_reset=0.0, v_thresh=1.0, t_ref=0.0)
    graph = brain.to_nir()
    graph.nodes["cell"].v_threshold = np.full(N, 1.3)
    back = spark.Brain.from_nir(graph)
    node = next(n for n in back.to_dict()["nodes"] if n["id"] == "cell")
    assert node["component"] == "spark-components:nir_lif" and node["params"]["v_threshold"] == [1.3]
    x = _spikes()
    np.testing.assert_array_equal(_run(back, x), simulate(graph.nodes["cell"], _linear(graph.nodes["syn"], x)))


def test_a_synapse_delay_is_a_nir_delay_and_comes_back(tmp_path):
    w = _weights()
    b = spark.Brain(dt=DT, seed=3)
    b.add("a", "nir_lif", shape=N_IN, r=[3.0], tau_mem=[5.0])
    b.add("syn", "delta_synapse", shape=[N_IN, N], weight=0.7, delay=0.5)
    b.add("cell", "nir_lif", shape=N, r=[2.0])
    b.connect("a.spikes", "syn.pre").connect("syn.i", "cell.i_syn", delay=0.3)
    b.input("x", "a.i_syn")
    b.output("out", "cell.spikes")
    b.build()
    x = _spikes() * 1.0
    graph = b.to_nir()
    delays = sorted(float(n.delay[0]) for n in graph.nodes.values() if isinstance(n, nir.Delay))
    assert delays == pytest.approx([0.3e-3, 0.5e-3])  # seconds
    back, _ = _roundtrip(b, tmp_path)
    np.testing.assert_array_equal(_run(back, x), _run(b, x))
    del w


# ----- graphs written with nir itself ---------------------------------------------------------------------------------


def test_a_two_layer_graph_made_with_nir_imports_and_spikes_as_its_equations_say(tmp_path):
    """Input -> Affine (bias) -> LIF (per-neuron tau) -> Linear -> CubaLIF -> Output, written and read by nir."""
    rng = np.random.default_rng(7)
    n_in, n1, n2 = 10, 7, 4
    w1, b1 = rng.normal(0.3, 0.4, (n1, n_in)), rng.normal(0.2, 0.1, n1)
    w2 = rng.normal(3.0, 1.0, (n2, n1))
    tau1 = rng.uniform(2e-3, 9e-3, n1)  # seconds
    nodes = {
        "input": nir.Input(input_type={"input": np.array([n_in])}),
        "fc1": nir.Affine(weight=w1, bias=b1),
        "lif1": nir.LIF(tau=tau1, r=np.full(n1, 3.0), v_leak=np.zeros(n1), v_threshold=np.ones(n1),
                        v_reset=np.zeros(n1)),
        "fc2": nir.Linear(weight=w2),
        "lif2": nir.CubaLIF(tau_syn=np.full(n2, 2e-3), tau_mem=np.full(n2, 5e-3), r=np.full(n2, 2.0),
                            v_leak=np.zeros(n2), v_threshold=np.full(n2, 0.5), w_in=np.full(n2, 1.0)),
        "output": nir.Output(output_type={"output": np.array([n2])}),
    }
    edges = [("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"), ("lif2", "output")]
    path = tmp_path / "two.nir"
    nir.write(str(path), nir.NIRGraph(nodes=nodes, edges=edges))
    brain = spark.Brain.from_nir(path, dt=DT)
    x = _spikes(seed=11, n_in=n_in, p=0.4)
    out = np.asarray(brain.run({"input": x}, steps=T)["output"])

    z1 = simulate(nodes["lif1"], _linear(nodes["fc1"], x))
    z1_arrived = np.vstack([np.zeros((1, n1)), z1[:-1]])  # Spark: a spike reaches fc2 one step after it is emitted
    z2 = simulate(nodes["lif2"], _linear(nodes["fc2"], z1_arrived))
    assert 0.01 < z1.mean() < 0.9 and 0.01 < z2.mean() < 0.9
    np.testing.assert_array_equal(out, z2)


def test_snntorch_style_graph_with_euler_gives_snntorchs_spikes():
    """snnTorch exports Leaky as tau = dt / (1 - beta), r = tau / dt, v_leak = 0 with dt = 1e-4 s; read with
    discretization='euler' and dt = 0.1 ms it steps ``v = beta v + W s`` (reset to 0 as NIR says)."""
    rng = np.random.default_rng(5)
    beta = rng.uniform(0.8, 0.95, N).astype(np.float32)
    dt_s = 1e-4
    tau = dt_s / (1 - beta)
    w = rng.normal(0.5, 0.3, (N, N_IN)).astype(np.float32)
    graph = nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([N_IN])}),
        "fc": nir.Linear(weight=w),
        "lif": nir.LIF(tau=tau, r=tau / dt_s, v_leak=np.zeros(N, np.float32), v_threshold=np.ones(N, np.float32)),
        "output": nir.Output(output_type={"output": np.array([N])}),
    }, edges=[("input", "fc"), ("fc", "lif"), ("lif", "output")])
    brain = spark.Brain.from_nir(graph, dt=0.1, discretization="euler")
    x = _spikes()
    out = np.asarray(brain.run({"input": x}, steps=T)["output"])
    v, ref = np.zeros(N), []
    for t in range(T):  # snnTorch's Leaky with reset to zero
        v = beta.astype(np.float64) * v + w.astype(np.float64) @ x[t]
        z = v > 1.0
        v = np.where(z, 0.0, v)
        ref.append(z)
    assert 0.02 < np.mean(ref) < 0.9
    np.testing.assert_array_equal(out, np.asarray(ref))
    # the same graph read "exact" decays by exp(-dt / tau) instead of 1 - dt / tau: other spikes
    exact = spark.Brain.from_nir(graph, dt=0.1)
    assert not np.array_equal(np.asarray(exact.run({"input": x}, steps=T)["output"]), out)


def test_norse_style_scalar_parameters_and_spyx_style_time_constants():
    """Norse writes 0-d arrays (one value for all neurons; nir.write rejects them, so the graph stays in memory);
    Spyx's beta = 1 - dt / tau. The node's size comes from its neighbours."""
    dt_s, beta, alpha = 1e-4, 0.9, 0.8
    w = _weights(seed=4).T.astype(np.float64)  # (N, N_IN)
    graph = nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([N_IN])}),
        "fc": nir.Linear(weight=w),
        "cell": nir.CubaLIF(tau_syn=np.array(dt_s / (1 - alpha)), tau_mem=np.array(dt_s / (1 - beta)),
                            r=np.array(1.0), v_leak=np.array(0.0), v_threshold=np.array(0.3), v_reset=np.array(0.0),
                            w_in=np.array(1.0)),
        "output": nir.Output(output_type={"output": np.array([N])}),
    }, edges=[("input", "fc"), ("fc", "cell"), ("cell", "output")], type_check=False)
    brain = spark.Brain.from_nir(graph, dt=0.1, discretization="euler")
    assert next(n for n in brain.to_dict()["nodes"] if n["id"] == "cell")["shape"] == [N]
    x = _spikes(seed=9)
    out = np.asarray(brain.run({"input": x}, steps=T)["output"])
    i, v, ref = np.zeros(N), np.zeros(N), []
    for t in range(T):  # forward Euler of the NIR equations: i first, then v with the new i
        i = alpha * i + (1 - alpha) * (w @ x[t])
        v = beta * v + (1 - beta) * i
        z = v > 0.3
        v = np.where(z, 0.0, v)
        ref.append(z)
    assert 0.02 < np.mean(ref) < 0.9
    np.testing.assert_array_equal(out, np.asarray(ref))


def test_scale_flatten_and_delay_import():
    """Input (2 x 4) -> Flatten -> Scale -> Delay (0.3 ms) -> IF -> Output."""
    scale = np.linspace(0.5, 2.0, 8)
    graph = nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([2, 4])}),
        "flat": nir.Flatten(input_type={"input": np.array([2, 4])}, start_dim=0),
        "scale": nir.Scale(scale=scale),
        "delay": nir.Delay(delay=np.full(8, 0.3e-3)),
        "if": nir.IF(r=np.full(8, 1500.0), v_threshold=np.ones(8)),
        "output": nir.Output(output_type={"output": np.array([8])}),
    }, edges=[("input", "flat"), ("flat", "scale"), ("scale", "delay"), ("delay", "if"), ("if", "output")],
        type_check=False)
    brain = spark.Brain.from_nir(graph, dt=DT)
    x = _spikes(n_in=8)
    out = np.asarray(brain.run({"input": x}, steps=T)["output"])
    current = np.vstack([np.zeros((3, 8)), (x * scale)[:-3]])  # 0.3 ms = 3 steps later
    ref = simulate(graph.nodes["if"], current)
    assert 0.02 < ref.mean() < 0.9
    np.testing.assert_array_equal(out, ref)


# ----- what cannot be converted ------------------------------------------------------------------------------------


def test_an_unsupported_primitive_names_the_node_and_the_primitive():
    graph = nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([1, 8, 8])}),
        "conv": nir.Conv2d(input_shape=(8, 8), weight=np.ones((2, 1, 3, 3)), stride=1, padding=0, dilation=1,
                           groups=1, bias=np.zeros(2)),
        "output": nir.Output(output_type={"output": np.array([2, 6, 6])}),
    }, edges=[("input", "conv"), ("conv", "output")], type_check=False)
    with pytest.raises(UnsupportedNIRError, match=r"NIR node 'conv' is a Conv2d, which Spark cannot import.*"
                                                  r"supported primitives: .*CubaLIF"):
        spark.Brain.from_nir(graph)


def test_a_component_without_a_nir_primitive_names_the_node_and_why():
    b = spark.Brain(dt=DT)
    b.add("cells", "adex", shape=3)
    b.input("x", "cells.i_syn")
    b.output("out", "cells.spikes")
    b.build()
    with pytest.raises(UnsupportedNIRError, match=r"node 'cells': component spark-components:adex cannot be "
                                                  r"exported to NIR: .*exponential spike term"):
        b.to_nir()


def test_a_bias_into_an_output_is_refused():
    graph = nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([3])}),
        "fc": nir.Affine(weight=np.ones((2, 3)), bias=np.ones(2)),
        "lif": nir.LIF(tau=np.full(2, 1e-3), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.ones(2)),
        "output": nir.Output(output_type={"output": np.array([2])}),
    }, edges=[("input", "fc"), ("fc", "lif"), ("fc", "output"), ("lif", "output")], type_check=False)
    with pytest.raises(UnsupportedNIRError, match=r"NIR node 'fc' \(Affine\) has a bias"):
        spark.Brain.from_nir(graph)


def test_euler_needs_time_constants_above_dt():
    graph = nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([2])}),
        "li": nir.LI(tau=np.array([1e-3, 5e-5]), r=np.ones(2), v_leak=np.zeros(2)),
        "output": nir.Output(output_type={"output": np.array([2])}),
    }, edges=[("input", "li"), ("li", "output")])
    with pytest.raises(NIRError, match=r"NIR node 'li' \(LI\): discretization='euler' needs tau > dt = 0.1 ms"):
        spark.Brain.from_nir(graph, discretization="euler")
    spark.Brain.from_nir(graph)  # exact: any positive tau


def test_every_registered_component_has_a_converter_or_a_reason():
    from spark_components import nir_converters
    from spark_components.plugin import spark_components

    covered = {c.component for c in nir_converters.converters()}
    missing = [cls.name for cls in spark_components() if cls not in covered]
    assert missing == []
    assert all(c.to_nir is not None or c.why for c in nir_converters.converters())


def test_math_of_euler_time_constants():
    """An imported tau' reproduces the Euler factor exactly: exp(-dt / tau') = 1 - dt / tau."""
    graph = nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([1])}),
        "li": nir.LI(tau=np.array([1e-3]), r=np.ones(1), v_leak=np.zeros(1)),
        "output": nir.Output(output_type={"output": np.array([1])}),
    }, edges=[("input", "li"), ("li", "output")])
    brain = spark.Brain.from_nir(graph, discretization="euler", dt=0.1)
    (tau,) = next(n for n in brain.to_dict()["nodes"] if n["id"] == "li")["params"]["tau"]
    assert math.exp(-0.1 / tau) == pytest.approx(0.9, rel=1e-12)


def _exp_brain(target="lif"):
    b = spark.Brain(dt=DT, seed=1)
    b.add("src", "nir_lif", shape=N_IN, r=[2.0], tau_mem=[5.0])
    b.add("ee", "exp_synapse", shape=[N_IN, N], weight=0.5, weight_std=0.2, weight_init="normal", tau_syn=3.0)
    b.add("ie", "exp_synapse", shape=[N_IN, N], weight=-0.2, tau_syn=3.0, p_connect=0.5)
    if target == "lif":
        b.add("dst", "lif", shape=N, tau_m=10.0, c_m=2.0, v_rest=0.0, v_reset=0.0, v_thresh=1.0, t_ref=0.0)
    else:
        b.add("dst", target, shape=N)
    b.connect("src.spikes", "ee.pre").connect("src.spikes", "ie.pre")
    b.connect("ee.i", "dst.i_syn").connect("ie.i", "dst.i_syn")
    b.input("x", "src.i_syn")
    b.output("out", "dst.spikes")
    return b.build()


def test_exp_synapses_into_a_lif_are_linear_and_cubalif(tmp_path):
    """exp_synapse -> lif is NIR's Linear -> CubaLIF with w_in = 1 / (1 - exp(-dt / tau_syn)): a spike adds W to
    the current, as in Spark. Read back with the metadata it is the same Spark model; without, NIR's equations."""
    brain = _exp_brain()
    graph = brain.to_nir()
    assert {n: type(v).__name__ for n, v in graph.nodes.items() if n in ("ee", "ie", "dst")} == {
        "ee": "Linear", "ie": "Linear", "dst": "CubaLIF"}
    cuba = graph.nodes["dst"]
    np.testing.assert_allclose(cuba.tau_syn, 3e-3)
    np.testing.assert_allclose(cuba.w_in, 1 / (1 - math.exp(-DT / 3.0)), rtol=1e-12)
    x = np.random.default_rng(2).normal(1.0, 0.5, (T, N_IN))
    want = _run(brain, x)
    assert 30 <= want.sum() and want.mean() < 0.5
    back, _ = _roundtrip(brain, tmp_path)
    assert {n["id"]: n["component"].split(":")[1] for n in back.to_dict()["nodes"]} == {
        "src": "nir_lif", "ee": "exp_synapse", "ie": "exp_synapse", "dst": "lif"}
    np.testing.assert_array_equal(_run(back, x), want)

    for node in graph.nodes.values():  # as another tool would write it: no Spark metadata
        node.metadata = {}
    plain = spark.Brain.from_nir(graph)
    assert {n["id"]: n["component"].split(":")[1] for n in plain.to_dict()["nodes"]} == {
        "src": "nir_lif", "ee": "delta_synapse", "ie": "delta_synapse", "dst": "nir_cuba_lif"}
    z = simulate(graph.nodes["src"], x)
    arrived = np.vstack([np.zeros((1, N_IN)), z[:-1]])  # one step to cross the edge
    ref = simulate(cuba, _linear(graph.nodes["ee"], arrived) + _linear(graph.nodes["ie"], arrived))
    np.testing.assert_array_equal(_run(plain, x), ref)
    np.testing.assert_array_equal(ref, want)


def test_an_exp_synapse_into_another_soma_cannot_be_exported():
    with pytest.raises(UnsupportedNIRError, match=r"node 'ee' \(spark-components:exp_synapse\): its current goes to "
                                                  r"dst.i_syn; NIR has the current of an exponential synapse only as "
                                                  r"part of a CubaLIF"):
        _exp_brain("nir_lif").to_nir()


def test_a_recurrent_graph_uses_last_steps_spikes():
    """Input -> Linear -> LIF, LIF -> Linear (recurrent) -> LIF: the recurrent current is W_rec times the spikes of
    the previous step (as snnTorch's RLeaky steps it), and the input's current is this step's."""
    rng = np.random.default_rng(8)
    w_in, w_rec = rng.normal(0.6, 0.3, (N, N_IN)), rng.normal(-0.3, 0.4, (N, N))
    tau = np.full(N, 4e-3)
    lif = nir.LIF(tau=tau, r=np.full(N, 2.0), v_leak=np.zeros(N), v_threshold=np.ones(N))
    graph = nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([N_IN])}),
                                "fc": nir.Linear(weight=w_in), "lif": lif, "rec": nir.Linear(weight=w_rec),
                                "output": nir.Output(output_type={"output": np.array([N])})},
                         edges=[("input", "fc"), ("fc", "lif"), ("lif", "rec"), ("rec", "lif"), ("lif", "output")])
    brain = spark.Brain.from_nir(graph)
    x = _spikes(seed=3)
    out = np.asarray(brain.run({"input": x}, steps=T)["output"])
    v, z, ref = np.zeros(N), np.zeros(N), []
    a = np.exp(-DT / 4.0)
    for t in range(T):
        v = a * v + (1 - a) * 2.0 * (w_in @ x[t] + w_rec @ z)
        z = v > 1.0
        v = np.where(z, 0.0, v)
        ref.append(z)
    assert 30 <= np.sum(ref) and np.mean(ref) < 0.5
    np.testing.assert_array_equal(out, np.asarray(ref))


def test_what_spark_cannot_wire_is_said_in_nirs_terms():
    li = nir.LI(tau=np.full(3, 1e-3), r=np.ones(3), v_leak=np.zeros(3))
    graph = nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([3])}), "li": li,
                                "fc": nir.Linear(weight=np.ones((2, 3))),
                                "lif": nir.LIF(tau=np.full(2, 1e-3), r=np.ones(2), v_leak=np.zeros(2),
                                               v_threshold=np.ones(2)),
                                "output": nir.Output(output_type={"output": np.array([2])})},
                         edges=[("input", "li"), ("li", "fc"), ("fc", "lif"), ("lif", "output")])
    with pytest.raises(UnsupportedNIRError, match=r"NIR edge 'li' \(LI\) -> 'fc' \(Linear\): in Spark 'li' gives "
                                                  r"Voltage .* but 'fc' takes Spikes"):
        spark.Brain.from_nir(graph)


def test_a_nested_graph_as_snntorch_writes_rleaky_is_inlined():
    """snnTorch exports RLeaky as a sub-graph (Input -> LIF -> Linear (recurrent) -> LIF, LIF -> Output): Spark reads
    its nodes as part of the graph; the result is the recurrent reference of the flat graph."""
    rng = np.random.default_rng(9)
    w_in, w_rec = rng.normal(0.6, 0.3, (N, N_IN)), rng.normal(-0.3, 0.4, (N, N))
    dt_s, beta = 1e-4, 0.9
    tau = np.full(N, dt_s / (1 - beta))
    rleaky = nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([N])}),
        "lif": nir.LIF(tau=tau, r=tau / dt_s, v_leak=np.zeros(N), v_threshold=np.ones(N)),
        "w_rec": nir.Linear(weight=w_rec),
        "output": nir.Output(output_type={"output": np.array([N])}),
    }, edges=[("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")], type_check=False)
    graph = nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([N_IN])}),
                                "fc": nir.Linear(weight=w_in), "rleaky": rleaky,
                                "output": nir.Output(output_type={"output": np.array([N])})},
                         edges=[("input", "fc"), ("fc", "rleaky"), ("rleaky", "output")], type_check=False)
    brain = spark.Brain.from_nir(graph, dt=0.1, discretization="euler")
    assert sorted(n["id"] for n in brain.to_dict()["nodes"]) == ["fc", "rleaky_lif", "rleaky_w_rec"]
    x = _spikes(seed=5)
    out = np.asarray(brain.run({"input": x}, steps=T)["output"])
    v, z, ref = np.zeros(N), np.zeros(N), []
    for t in range(T):  # snnTorch's RLeaky: v = beta v + W x + V z(t - 1), reset to 0
        v = beta * v + w_in @ x[t] + w_rec @ z
        z = v > 1.0
        v = np.where(z, 0.0, v)
        ref.append(z)
    assert 30 <= np.sum(ref) and np.mean(ref) < 0.5
    np.testing.assert_array_equal(out, np.asarray(ref))


def test_snntorch_synaptic_style_graph_with_euler():
    """snnTorch exports Synaptic as CubaLIF with tau_syn = dt / (1 - alpha), tau_mem = dt / (1 - beta),
    r = tau_mem / dt, w_in = tau_syn / dt (dt = 1e-4 s): read with 'euler' it steps syn = alpha syn + W s,
    mem = beta mem + syn."""
    rng = np.random.default_rng(12)
    dt_s, alpha, beta = 1e-4, 0.8, 0.9
    w = rng.normal(0.012, 0.01, (N, N_IN))  # the current sums 1 / (1 - alpha) spikes, v 1 / (1 - beta) currents
    tau_syn, tau_mem = np.full(N, dt_s / (1 - alpha)), np.full(N, dt_s / (1 - beta))
    graph = nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([N_IN])}), "fc": nir.Linear(weight=w),
        "syn": nir.CubaLIF(tau_syn=tau_syn, tau_mem=tau_mem, r=tau_mem / dt_s, v_leak=np.zeros(N),
                           v_threshold=np.ones(N), v_reset=np.zeros(N), w_in=tau_syn / dt_s),
        "output": nir.Output(output_type={"output": np.array([N])}),
    }, edges=[("input", "fc"), ("fc", "syn"), ("syn", "output")])
    brain = spark.Brain.from_nir(graph, dt=0.1, discretization="euler")
    x = _spikes(seed=13)
    out = np.asarray(brain.run({"input": x}, steps=T)["output"])
    syn, mem, ref = np.zeros(N), np.zeros(N), []
    for t in range(T):
        syn = alpha * syn + w @ x[t]
        mem = beta * mem + syn
        z = mem > 1.0
        mem = np.where(z, 0.0, mem)
        ref.append(z)
    assert 30 <= np.sum(ref) and np.mean(ref) < 0.5
    np.testing.assert_array_equal(out, np.asarray(ref))
