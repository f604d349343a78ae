"""One input check at every entry point: a NaN never reaches a neuron, whichever way the data comes in.

A ``current`` encoder feeding a LIF: a NaN in the data would make that neuron's potential NaN for ever. The
single-step call, ``run``, ``run_iter``, ``present`` (samples and held inputs) and a `.spark` file's input values
all refuse it through ``spark.inputs.check_values``, with the input's name, the first bad index and the fix.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest
from flax import nnx

import spark
from spark.testing import isolated_registry

BAD = np.array([3.0, np.nan, 3.0], np.float32)


@pytest.fixture(scope="module")
def registry():
    return isolated_registry(installed=["spark-components", "spark-interfaces"])


def current_lif(registry) -> spark.Brain:
    return (spark.Brain(dt=0.1, registry=registry)
            .add("enc", "current", shape=3, gain=100.0).add("n", "lif", shape=3)
            .connect("enc.i", "n.i_syn").input("x", "enc.data").output("spikes", "n.spikes").build())


def assert_names_input_index_and_fix(exc: pytest.ExceptionInfo, what: str = "input", index: str = "[1]"):
    msg = str(exc.value)
    for needle in [f"{what} 'x'", "NaN", f"at index {index}", "np.nan_to_num"]:
        assert needle in msg, (needle, msg)


def test_the_single_step_call_refuses_nan_and_leaves_the_state_alone(registry):
    brain = current_lif(registry)
    with pytest.raises(spark.GraphError) as exc:
        brain(x=BAD)
    assert_names_input_index_and_fix(exc)
    assert int(brain.t[...]) == 0  # nothing was stepped
    assert np.isfinite(np.asarray(brain.nodes["n"].v[...])).all()
    with pytest.raises(spark.GraphError, match="an infinity at index \\[2\\]"):
        brain(x=np.array([1.0, 2.0, np.inf]))
    with pytest.raises(spark.GraphError, match="dtype <U1; give numbers"):
        brain(x=np.array(["a", "b", "c"]))
    brain(x=np.array([3.0, 3.0, 3.0]))  # clean data steps
    assert int(brain.t[...]) == 1


def test_the_single_step_call_still_works_under_jit(registry):
    """Under jit the values are tracers (not checkable); the seed README's split/merge pattern keeps working."""
    brain = current_lif(registry)
    graph, state = nnx.split(brain)

    @jax.jit
    def step(state, x):
        b = nnx.merge(graph, state)
        out = b(x=x)
        return nnx.split(b)[1], out

    state, out = step(state, np.ones(3, np.float32))
    assert out["spikes"].shape == (3,)


def test_run_and_run_iter_refuse_nan(registry):
    brain = current_lif(registry)
    with pytest.raises(spark.GraphError) as exc:
        brain.run({"x": BAD}, steps=5)
    assert_names_input_index_and_fix(exc)
    series = np.ones((5, 3), np.float32)
    series[4, 2] = np.nan
    with pytest.raises(spark.GraphError) as exc:
        brain.run_iter({"x": series})
    assert_names_input_index_and_fix(exc, index="[4, 2]")
    with pytest.raises(spark.GraphError) as exc:
        brain.run({"x": series[None]}, batched=True)
    assert_names_input_index_and_fix(exc, index="[0, 4, 2]")


def test_present_refuses_nan_in_samples_and_held_inputs(registry):
    brain = (spark.Brain(dt=0.1, registry=registry)
             .add("enc", "current", shape=3).add("bias", "current", shape=3).add("n", "lif", shape=3)
             .connect("enc.i", "n.i_syn").connect("bias.i", "n.i_syn")
             .input("x", "enc.data").input("b", "bias.data").build())
    p = spark.Presentation(t_present=1.0)
    samples = np.ones((4, 3), np.float32)
    samples[2, 1] = np.nan
    with pytest.raises(spark.GraphError) as exc:
        brain.present({"x": samples}, p)
    assert_names_input_index_and_fix(exc, what="samples", index="[2, 1]")
    with pytest.raises(spark.GraphError) as exc:
        brain.present({"b": np.ones((4, 3))}, p, inputs={"x": BAD})
    assert_names_input_index_and_fix(exc, what="inputs")


def test_a_spark_file_input_value_is_refused_by_the_same_check(registry):
    doc = current_lif(registry).to_dict()
    doc["inputs"][0]["value"] = float("nan")
    problems = spark.sparkfile.validate(doc, registry)
    assert [p.path for p in problems] == ["$.inputs[0].value"]
    assert "input 'x' contains NaN" in problems[0].message and "np.nan_to_num" in problems[0].message
