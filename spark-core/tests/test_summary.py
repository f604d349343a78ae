"""`Brain.summary()`, the concise reprs and the Jupyter HTML (issue 20): what they say is read off the model."""

from __future__ import annotations

import numpy as np
import pytest
from brain_parts import ALL

import spark
from spark.testing import isolated_registry


@pytest.fixture
def brain():
    reg = isolated_registry(*ALL)
    return (spark.Brain(dt=0.5, seed=3, name="tiny", registry=reg)
            .add("clk", "clock", shape=4, period=3)
            .add("syn", "linear", weight=2.5)
            .add("out", "threshold", shape=6)
            .add("hebb", "hebb", attach="syn")
            .connect("clk.spikes", "syn.pre", delay=1.0).connect("syn.i", "out.x")
            .connect("clk.spikes", "hebb.pre").connect("out.spikes", "hebb.post")
            .output("spikes", "out.spikes")
            .build())


def test_summary_lists_nodes_changed_params_edges_and_counts(brain):
    s = brain.summary()
    rows = {n.id: n for n in s.nodes}
    assert [n.id for n in s.nodes] == ["clk", "syn", "out", "hebb"]
    assert rows["clk"].changed == {"period": (3, "steps")}  # phase kept its default: not listed
    assert rows["syn"].changed == {"weight": (2.5, "pA")}
    assert rows["out"].changed == {}
    assert rows["syn"].shape == (4, 6) and rows["syn"].synapses == 24 and rows["hebb"].attach == "syn"
    assert s.neurons == 4 + 6 and s.synapses == 24
    # spikes arrive one step later (0.5 ms) plus the edge's own delay of 1 ms (docs/time.md)
    assert ("clk.spikes", "syn.pre", 1.5) in s.edges and ("syn.i", "out.x", 0.0) in s.edges
    assert s.outputs == (("spikes", "out.spikes"),)
    assert s.memory is not None and s.memory.bytes > 0
    text = str(s)
    assert text.splitlines()[0] == "Brain('tiny', dt=0.5 ms, 4 nodes, 4 edges, 10 neurons, 24 synapses)"
    assert "period=3 steps" in text and "weight=2.5 pA" in text and "1.5 ms" in text and "on syn" in text
    assert s.to_dict()["nodes"][1]["changed"] == {"weight": {"value": 2.5, "unit": "pA"}}


def test_reprs_are_one_line_and_html_escapes(brain):
    assert repr(brain) == "Brain('tiny', dt=0.5 ms, 4 nodes, 4 edges, 10 neurons, 24 synapses)"
    assert repr(brain.nodes["clk"]) == "Clock([4], period=3 steps)"
    assert str(brain.nodes["out"]) == "Threshold([6])"
    html = brain._repr_html_()
    assert html.startswith("<div class='spark-summary'>") and "Brain(&#x27;tiny&#x27;" in html
    assert html.count("<tr>") == 1 + 4 + 1 + 4 + 1 + 1  # header + nodes, header + edges, header + the output


def test_an_invalid_model_still_has_a_repr():
    reg = isolated_registry(*ALL)
    b = spark.Brain(dt=0.1, registry=reg).add("syn", "linear")  # a synapse whose shape nothing gives
    assert repr(b).endswith("invalid)")
    with pytest.raises(spark.SparkFileError):
        b.summary()


def test_recording_html_lists_keys_shapes_and_span(brain):
    rec = brain.run(steps=8, record=["out.spikes", "clk.spikes"])
    html = rec._repr_html_()
    assert "8 steps of 0.5 ms (0 - 4 ms)" in html and "out.spikes" in html and "(8, 6)" in html
    assert np.asarray(rec["clk.spikes"]).shape == (8, 4)
