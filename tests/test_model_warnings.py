"""A valid model that would run silently is reported as a warning, everywhere a model is checked.

An encoder whose ``data`` is fed by nothing reads zeros and never spikes; a model without outputs makes
``brain(**inputs)`` return ``{}``. Both validate (the model runs) but ``spark validate``, Brain build
(:class:`spark.ModelWarning`) and ``spark.sparkfile.check`` (what the editor reports) name the node or port and
the fix.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from click.testing import CliRunner

import spark
from spark.cli import main
from spark.testing import isolated_registry


@pytest.fixture(scope="module")
def registry():
    return isolated_registry(installed=["spark-components", "spark-interfaces"])


def poisson_lif(registry, *, fed: bool, output: bool) -> spark.Brain:
    brain = (spark.Brain(dt=1.0, registry=registry).add("enc", "poisson", shape=4, max_rate=200.0)
             .add("syn", "exp_synapse", weight=500.0).add("n", "lif", shape=4)
             .connect("enc.spikes", "syn.pre").connect("syn.i", "n.i_syn"))
    if fed:
        brain.input("x", "enc.data")
    if output:
        brain.output("spikes", "n.spikes")
    return brain


def test_an_unfed_encoder_is_a_warning_naming_the_port_and_the_fix(registry):
    doc = poisson_lif(registry, fed=False, output=True).to_dict()
    problems, found = spark.sparkfile.check(doc, registry)
    assert problems == []  # valid: it runs
    assert [(w.path, w.node, w.severity) for w in found] == [("$.nodes[0]", "enc", "warning")]
    for needle in ["enc.data", "poisson", "fed by nothing", "silent", 'brain.input("data", "enc.data")',
                   '"inputs": [{"name": "data", "to": "enc.data"}]']:
        assert needle in found[0].message, (needle, found[0].message)
    assert spark.sparkfile.validate(doc, registry) == []  # errors only, as before
    # fed through an input (even one given only at run time) or an edge: no warning
    assert spark.sparkfile.check(poisson_lif(registry, fed=True, output=True).to_dict(), registry) == ([], [])


def test_missing_outputs_are_a_warning_that_suggests_a_spike_port(registry):
    problems, found = spark.sparkfile.check(poisson_lif(registry, fed=True, output=False).to_dict(), registry)
    assert problems == []
    assert [(w.path, w.severity) for w in found] == [("$.outputs", "warning")]
    assert "returns {}" in found[0].message and 'brain.output("n", "n.spikes")' in found[0].message


def test_brain_build_warns_with_spark_model_warning(registry):
    with pytest.warns(spark.ModelWarning) as got:
        brain = poisson_lif(registry, fed=False, output=False).build()
    messages = sorted(str(w.message) for w in got)
    assert len(messages) == 2
    assert "$.nodes[0]: enc.data (spark-interfaces:poisson, Signal) is fed by nothing" in messages[0]
    assert "$.outputs: the model declares no outputs" in messages[1]
    assert not brain.run(steps=50, record=["enc.spikes"])["enc.spikes"].any()  # what the warning warns of
    with warnings.catch_warnings():
        warnings.simplefilter("error", spark.ModelWarning)
        brain = poisson_lif(registry, fed=True, output=True).build()  # no warning at all
    assert brain.run({"x": np.ones(4)}, steps=50, record=["enc.spikes"])["enc.spikes"].any()


def test_spark_validate_prints_warnings_and_exits_0(tmp_path, registry):
    path = tmp_path / "silent.spark"
    spark.sparkfile.write(path, poisson_lif(registry, fed=False, output=False).to_dict())
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert "valid (3 nodes, 2 edges, 2 warning(s))" in result.stdout
    assert "warning: $.nodes[0]: enc.data" in result.stderr and "warning: $.outputs:" in result.stderr
