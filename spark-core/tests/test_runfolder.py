"""`spark.save_run`: a notebook's run written as the run folder `spark run` writes (issue 20: the viewer reads it)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from brain_parts import ALL

import spark
from spark.testing import isolated_registry


@pytest.fixture
def brain():
    reg = isolated_registry(*ALL)
    return (spark.Brain(dt=0.5, seed=1, name="tiny", registry=reg)
            .add("clk", "clock", shape=4, period=4).add("syn", "linear", weight=1.0).add("out", "threshold", shape=3)
            .connect("clk.spikes", "syn.pre").connect("syn.i", "out.x").output("spikes", "out.spikes").build())


def test_a_saved_run_holds_the_recording_the_model_the_weights_and_the_rates(brain, tmp_path):
    rec = brain.run(steps=40, record=["clk.spikes", "out.spikes", "syn.weight@10"])
    folder = spark.save_run(tmp_path / "run", brain, rec)
    assert sorted(p.name for p in folder.iterdir()) == ["model.spark", "recording.npz", "summary.json", "weights.npz"]
    again = spark.load_recording(folder / "recording.npz")
    for k in rec:
        np.testing.assert_array_equal(np.asarray(again[k]), np.asarray(rec[k]))
    assert spark.Brain.from_file(folder / "model.spark", registry=brain._registry).to_dict() == brain.to_dict()
    summary = json.loads((folder / "summary.json").read_text())
    # the clock fires every 4th step: 10 spikes per neuron in 40 steps of 0.5 ms = 20 ms -> 500 Hz
    assert summary["populations"]["clk.spikes"] == {"neurons": 4, "spikes": 40, "mean_rate_hz": 500.0}
    assert summary["dt_ms"] == 0.5 and summary["steps"] == 40 and summary["simulated_ms"] == 20.0
    assert summary["synapses"]["syn"] == {"pre": "clk", "post": "out", "shape": [4, 3], "pre_shape": [4],
                                          "plastic": False}
    with np.load(folder / "weights.npz") as w:
        np.testing.assert_array_equal(w["syn"], np.asarray(brain.nodes["syn"].weight[...]))


def test_a_batched_recording_is_refused(brain, tmp_path):
    batched = spark.Recording({"out.spikes": np.zeros((2, 8, 3), bool)}, dt=0.5, steps=8, batched=True)
    with pytest.raises(ValueError, match="a batched run .* save one trial per folder"):
        spark.save_run(tmp_path / "b", brain, batched)
    with pytest.raises(ValueError, match="takes the spark.Recording"):
        spark.save_run(tmp_path / "c", brain, {"out.spikes": np.zeros((8, 3))})
    assert not (tmp_path / "b").exists()
