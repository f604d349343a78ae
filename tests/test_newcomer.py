"""Newcomer friction (issue 14, fault 8): what a first session with Spark runs into, one test per item."""

from __future__ import annotations

import os
import stat
import tomllib
import warnings
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import spark
from spark.cli import main
from spark.testing import isolated_registry
from spark.timing import to_steps

REPO = Path(__file__).resolve().parents[1]
MODEL = Path(__file__).parent / "data" / "two_inputs.spark"


@pytest.fixture(scope="module")
def registry():
    return isolated_registry(installed=["spark-components", "spark-interfaces"])


def cli(*args: str):
    return CliRunner().invoke(main, list(args))


# ----- spark validate / run share the model resolver --------------------------------------------------------------


def test_spark_validate_accepts_a_bundled_example_name_like_spark_run():
    result = cli("validate", "balanced")
    assert result.exit_code == 0, result.output
    assert "balanced: valid (9 nodes, 12 edges)" in result.stdout
    missing = cli("validate", "no_such_file.spark")
    assert missing.exit_code == 1 and "no_such_file.spark: file not found" in missing.output
    unknown = cli("validate", "no_such_example")
    assert unknown.exit_code == 1
    assert "neither a .spark file nor a bundled example" in unknown.output and "balanced" in unknown.output


# ----- messages that say what to do ------------------------------------------------------------------------------


def test_an_unknown_component_suggests_the_name_in_other_case_first(registry):
    with pytest.raises(spark.UnknownComponentError, match=r"unknown component 'LIF' \(did you mean 'lif'\?\)"):
        spark.Brain(registry=registry).add("n", "LIF")
    with pytest.raises(spark.UnknownComponentError, match=r"did you mean 'lif'"):
        spark.Brain(registry=registry).add("n", "lfi")
    with pytest.raises(spark.UnknownComponentError) as exc:
        spark.Brain(registry=registry).add("n", "zzzzzz")
    assert "did you mean" not in str(exc.value) and "spark list-components" in str(exc.value)


def test_connecting_nodes_without_ports_lists_the_ports_of_both(registry):
    brain = (spark.Brain(registry=registry).add("inp", "poisson", shape=3).add("syn", "exp_synapse")
             .add("n", "lif", shape=3).connect("inp", "syn").connect("syn.i", "n.i_syn").input("x", "inp.data"))
    with pytest.raises(spark.SparkFileError) as exc:
        brain.build()
    by_path = {p.path: p.message for p in exc.value.problems}
    assert "'inp' is a node, not a port" in by_path["$.edges[0].from"]
    assert "has outputs: spikes (Spikes)" in by_path["$.edges[0].from"]
    assert "'syn' is a node, not a port" in by_path["$.edges[0].to"]
    assert "has inputs: pre (Spikes)" in by_path["$.edges[0].to"]
    for message in (by_path["$.edges[0].from"], by_path["$.edges[0].to"]):
        assert '"inp.spikes" -> "syn.pre"' in message


def test_an_unknown_parameter_does_not_hide_an_out_of_bounds_value(registry):
    brain = spark.Brain(registry=registry).add("n", "lif", shape=3, tau_mm=3.0, tau_m=-1.0)
    with pytest.raises(spark.SparkFileError) as exc:
        brain.build()
    by_path = {p.path: p.message for p in exc.value.problems}
    assert "did you mean 'tau_m'" in by_path["$.nodes[0].params.tau_mm"]
    assert "'tau_m' = -1.0 ms is out of bounds" in by_path["$.nodes[0].params.tau_m"]


# ----- Brain.run: duration= and the declared outputs by default ---------------------------------------------------


def current_lif(registry) -> spark.Brain:
    return (spark.Brain(dt=0.1, registry=registry)
            .add("enc", "current", shape=3, gain=100.0).add("n", "lif", shape=3)
            .connect("enc.i", "n.i_syn").input("x", "enc.data")
            .output("spikes", "n.spikes").output("v", "n.v").build())


def test_run_takes_a_duration_in_ms(registry):
    brain = current_lif(registry)
    rec = brain.run({"x": np.full(3, 5.0)}, duration=2.35, record=["n.v"])
    assert rec["n.v"].shape == (to_steps(2.35, 0.1), 3) == (24, 3)  # half-up, as every duration
    assert int(brain.t[...]) == 24
    chunks = list(brain.run_iter({"x": np.full(3, 5.0)}, duration=1.0, record=["n.v"], chunk=5))
    assert sum(c.steps for c in chunks) == 10
    with pytest.raises(spark.GraphError, match="not both"):
        brain.run(steps=10, duration=1.0)
    for bad in (0.0, -1.0, float("nan"), "1"):
        with pytest.raises(spark.GraphError, match="must be a finite number of ms > 0"):
            brain.run(duration=bad)
    with pytest.raises(spark.GraphError, match="less than half a step"):
        brain.run(duration=0.01)


def test_a_run_without_record_records_the_declared_outputs(registry):
    x = np.array([3.0, 4.0, 5.0])
    rec = current_lif(registry).run({"x": x}, steps=300)
    assert sorted(rec) == ["spikes", "v"]  # under the output names, as brain(**inputs) returns them
    stepped = current_lif(registry)
    outs = [stepped(x=x) for _ in range(300)]
    np.testing.assert_array_equal(rec["spikes"], np.stack([np.asarray(o["spikes"]) for o in outs]))
    np.testing.assert_allclose(rec["v"], np.stack([np.asarray(o["v"]) for o in outs]), rtol=1e-6, atol=1e-4)
    assert rec["spikes"].any()
    assert dict(current_lif(registry).run({"x": x}, steps=10, record=[])) == {}  # asked for nothing: nothing


# ----- the command line ------------------------------------------------------------------------------------------


def test_bare_spark_prints_help_and_succeeds():
    result = cli()
    assert result.exit_code == 0
    assert "Usage:" in result.output and "list-components" in result.output and "validate" in result.output


def test_list_components_refuses_an_unknown_kind_listing_the_kinds():
    result = cli("list-components", "--kind", "foo")
    assert result.exit_code == 2
    assert "no installed component is of kind 'foo'" in result.output
    for kind in ("soma", "synapse", "learning_rule", "encoder", "decoder"):
        assert kind in result.output
    assert cli("list-components", "--kind", "soma").exit_code == 0


def test_spark_editor_without_the_editor_says_what_to_install(monkeypatch):
    monkeypatch.setattr(type(main), "_plugins_loaded", True)  # as if discovery had found no editor
    monkeypatch.setattr(main, "_plugins_loaded", True, raising=False)
    monkeypatch.delitem(main.commands, "editor", raising=False)
    result = cli("editor")
    assert result.exit_code == 2
    assert "spark-editor, which is not installed" in result.output and "pip install spark-editor" in result.output


def test_run_outputs_are_readable_by_others_like_the_plots(tmp_path, monkeypatch):
    old = os.umask(0o022)
    try:
        monkeypatch.chdir(tmp_path)
        result = cli("run", str(MODEL), "--steps", "20", "--out", "out", "--no-plot")
        assert result.exit_code == 0, result.output
        for name in ("summary.json", "recording.npz"):
            assert stat.S_IMODE((tmp_path / "out" / name).stat().st_mode) == 0o644, name
        os.umask(0o027)  # the umask is respected, not overridden
        spark.sparkfile.atomic_write_text(tmp_path / "private.txt", "x")
        assert stat.S_IMODE((tmp_path / "private.txt").stat().st_mode) == 0o640
        (tmp_path / "kept.txt").write_text("old")
        os.chmod(tmp_path / "kept.txt", 0o600)  # an existing file keeps its mode
        spark.sparkfile.atomic_write_text(tmp_path / "kept.txt", "new")
        assert stat.S_IMODE((tmp_path / "kept.txt").stat().st_mode) == 0o600
    finally:
        os.umask(old)


# ----- packaging ------------------------------------------------------------------------------------------------


def test_the_plugin_template_can_install_spark_from_a_local_wheel_folder(tmp_path):
    result = cli("new-plugin", "--kind", "soma", "--name", "spark-t-local", "--no-input", "--output-dir",
                 str(tmp_path), "--license", "MIT", "--author", "Ada", "--email", "ada@example.org")
    assert result.exit_code == 0, result.output
    root = tmp_path / "spark-t-local"
    tox = (root / "tox.ini").read_text()
    assert "PIP_FIND_LINKS = {env:SPARK_FIND_LINKS:}" in tox and "UV_FIND_LINKS = {env:SPARK_FIND_LINKS:}" in tox
    readme = (root / "README.md").read_text()
    assert "SPARK_FIND_LINKS=" in readme and "pip wheel --no-deps" in readme and "--find-links" in readme


def test_progress_needs_no_extra_dependency():
    """The bar is spark's own (spark/progress.py): no `[progress]` extra declaring a library it does not use."""
    meta = tomllib.loads((REPO / "spark-core" / "pyproject.toml").read_text())
    assert "progress" not in meta["project"].get("optional-dependencies", {})
    assert "tqdm" not in (REPO / "spark-core" / "src" / "spark" / "progress.py").read_text().replace(
        "Why not tqdm", "")


# ----- the bundled example ----------------------------------------------------------------------------------------


def test_the_balanced_example_keeps_potentials_physiological():
    with warnings.catch_warnings():
        warnings.simplefilter("error", spark.ModelWarning)  # and it is not a silent model
        brain = spark.Brain.from_file(spark.default_registry().examples["balanced"])
    rec = brain.run(duration=300.0, record=["exc.v", "inh.v", "exc.spikes"])
    for key in ("exc.v", "inh.v"):
        v = rec[key]
        assert -90.0 <= v.min() and v.max() <= -40.0, (key, v.min(), v.max())
    rate = rec["exc.spikes"].sum() / 800 / 0.3
    assert 3.0 < rate < 40.0, rate  # it still fires: asynchronous irregular, about 13 Hz


def test_the_bundled_balanced_network_is_estimated_within_a_factor_2(monkeypatch):
    """Brain.estimate_memory of the bundled example (it needs spark-interfaces' poisson: an integration test)."""
    import jax
    from flax import nnx

    from spark.cli._resolve import resolve_model

    monkeypatch.setenv("SPARK_MEMORY_LIMIT", "off")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        brain = spark.Brain.from_file(resolve_model("balanced"))
    est = brain.estimate_memory()
    actual = sum(x.nbytes for x in jax.tree.leaves(nnx.state(brain)))
    assert actual / 2 <= est.state <= 2 * actual, (est.state, actual)  # measured: 1.91 MiB for 1.76 MiB (1.09x)
    assert est.fits()
