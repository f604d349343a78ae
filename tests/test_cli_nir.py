"""`spark nir export` / `spark nir import` as a user runs them: real processes, the installed packs (docs/nir.md)."""

from __future__ import annotations

import numpy as np
import pytest

import spark

nir = pytest.importorskip("nir")

from test_cli_run import spark_cli  # noqa: E402

T = 1000


def _model(path):
    rng = np.random.default_rng(0)
    w1, w2 = rng.normal(3.0, 1.0, (5, 6)), rng.normal(4.0, 1.0, (6, 3))
    b = spark.Brain(dt=0.1, seed=4, name="two_layers")
    for name, w in (("fc1", w1), ("fc2", w2)):
        pre, post = np.nonzero(w)
        b.add(name, "delta_synapse", shape=list(w.shape), connectivity="explicit", pre=pre.tolist(),
              post=post.tolist(), weights=w[pre, post].tolist())
    b.add("hidden", "lif", shape=6, tau_m=5.0, c_m=2.0, v_rest=0.0, v_reset=0.0, v_thresh=1.0, t_ref=0.0)
    b.add("out", "nir_cuba_lif", shape=3, tau_syn=[2.0], tau_mem=[4.0], v_threshold=[1.0])
    b.connect("fc1.i", "hidden.i_syn").connect("hidden.spikes", "fc2.pre").connect("fc2.i", "out.i_syn")
    b.input("x", "fc1.pre")
    b.output("spikes", "out.spikes")
    b.to_file(path)
    return b.build()


def test_export_then_import_gives_the_same_spikes(tmp_path):
    brain = _model(tmp_path / "model.spark")
    proc = spark_cli("nir", "export", "model.spark", "model.nir", cwd=tmp_path)
    assert "model.nir: 6 NIR nodes, 5 edges" in proc.stdout
    graph = nir.read(str(tmp_path / "model.nir"))  # nir itself reads what Spark wrote
    assert {n: type(v).__name__ for n, v in graph.nodes.items()} == {
        "x": "Input", "fc1": "Linear", "hidden": "LIF", "fc2": "Linear", "out": "CubaLIF", "spikes": "Output"}

    proc = spark_cli("nir", "import", "model.nir", "back.spark", cwd=tmp_path)
    assert "back.spark: 4 nodes, 3 edges, dt = 0.1 ms" in proc.stdout
    spark_cli("validate", "back.spark", cwd=tmp_path)
    back = spark.Brain.from_file(tmp_path / "back.spark")
    x = np.random.default_rng(1).random((T, 5)) < 0.3
    want = np.asarray(brain.run({"x": x}, steps=T)["spikes"])
    assert want.sum() > 50
    np.testing.assert_array_equal(np.asarray(back.run({"x": x}, steps=T)["spikes"]), want)


def test_import_of_a_snntorch_style_file_with_euler(tmp_path):
    rng = np.random.default_rng(2)
    beta, dt_s = 0.9, 1e-4
    w = rng.normal(0.5, 0.3, (4, 6))
    tau = np.full(4, dt_s / (1 - beta))
    graph = nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([6])}),
                                "fc": nir.Linear(weight=w),
                                "lif": nir.LIF(tau=tau, r=tau / dt_s, v_leak=np.zeros(4), v_threshold=np.ones(4)),
                                "output": nir.Output(output_type={"output": np.array([4])})},
                         edges=[("input", "fc"), ("fc", "lif"), ("lif", "output")])
    nir.write(str(tmp_path / "snn.nir"), graph)
    spark_cli("nir", "import", "snn.nir", "snn.spark", "--dt", "0.1", "--discretization", "euler", cwd=tmp_path)
    brain = spark.Brain.from_file(tmp_path / "snn.spark")
    x = rng.random((T, 6)) < 0.3
    v, ref = np.zeros(4), []
    for t in range(T):  # snnTorch's Leaky: v = beta v + W s, reset to 0
        v = beta * v + w @ x[t]
        ref.append(v > 1.0)
        v = np.where(ref[-1], 0.0, v)
    np.testing.assert_array_equal(np.asarray(brain.run({"input": x}, steps=T)["output"]), np.asarray(ref))


def test_errors_name_the_node_and_exit_1_without_a_traceback(tmp_path):
    graph = nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([1, 4, 4])}),
                                "pool": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]),
                                                      padding=np.array([0, 0])),
                                "output": nir.Output(output_type={"output": np.array([1, 2, 2])})},
                         edges=[("input", "pool"), ("pool", "output")], type_check=False)
    nir.write(str(tmp_path / "pool.nir"), graph)
    proc = spark_cli("nir", "import", "pool.nir", "pool.spark", cwd=tmp_path, check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "NIR node 'pool' is a SumPool2d, which Spark cannot import" in proc.stderr
    assert not (tmp_path / "pool.spark").exists()

    b = spark.Brain(dt=0.1, name="stp")
    b.add("src", "lif", shape=2).add("syn", "tsodyks_markram", shape=[2, 2]).add("dst", "lif", shape=2)
    b.connect("src.spikes", "syn.pre").connect("syn.i", "dst.i_syn").input("x", "src.i_syn")
    b.output("out", "dst.spikes").to_file(tmp_path / "stp.spark")
    proc = spark_cli("nir", "export", "stp.spark", "stp.nir", cwd=tmp_path, check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "node 'syn': component spark-components:tsodyks_markram cannot be exported to NIR: short-term " \
           "plasticity" in proc.stderr


def test_export_with_learned_state(tmp_path):
    brain = _model(tmp_path / "model.spark")
    w = np.asarray(brain.nodes["fc2"].weight[...])
    brain.nodes["fc2"].weight[...] = w * 2.0  # as if learned
    brain.save_state(tmp_path / "learned.npz")
    spark_cli("nir", "export", "model.spark", "learned.nir", "--state", "learned.npz", cwd=tmp_path)
    graph = nir.read(str(tmp_path / "learned.nir"))
    np.testing.assert_array_equal(graph.nodes["fc2"].weight, (w * 2.0).T)


def test_export_leaving_out_the_encoder(tmp_path):
    b = spark.Brain(dt=0.1, name="encoded")
    b.add("enc", "poisson", shape=5).add("fc", "delta_synapse", shape=[5, 3], weight=2.0)
    b.add("cells", "lif", shape=3, t_ref=0.0)
    b.connect("enc.spikes", "fc.pre").connect("fc.i", "cells.i_syn").input("pixels", "enc.data")
    b.output("spikes", "cells.spikes").to_file(tmp_path / "encoded.spark")
    proc = spark_cli("nir", "export", "encoded.spark", "encoded.nir", cwd=tmp_path, check=False)
    assert proc.returncode == 1 and "node 'enc': component spark-interfaces:poisson cannot be exported" in proc.stderr
    spark_cli("nir", "export", "encoded.spark", "encoded.nir", "--leave-out", "enc", cwd=tmp_path)
    graph = nir.read(str(tmp_path / "encoded.nir"))
    assert {n: type(v).__name__ for n, v in graph.nodes.items()} == {
        "fc": "Linear", "cells": "LIF", "enc_spikes": "Input", "spikes": "Output"}
