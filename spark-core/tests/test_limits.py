"""Numbers out of the plausible range (spark.limits) are refused by validation, with the JSON path and the fix, and
files the parser cannot read give a file error: each case is the smallest input of a crash found in issue 15."""

from __future__ import annotations

import copy
import json

import jax.numpy as jnp
import pytest
from brain_parts import ALL, set_at

import spark
from spark import limits, sparkfile
from spark.testing import isolated_registry


@spark.params
class WaitParams:
    t_wait: float = spark.param(1.0, unit="ms", doc="a duration, counted in steps", ge=0)
    taus: tuple[float, ...] = spark.param((1.0,), unit="ms", doc="durations", ge=0)


class Wait(spark.Soma):
    """Relays its input; holds a duration in ms that a real component would count in int32 steps."""

    Params = WaitParams
    name = "wait"
    inputs = {"x": spark.Port(spark.Current)}
    outputs = {"y": spark.Port(spark.Current)}

    def __call__(self, *, dt, x):
        return {"y": x}


GOOD = {
    "format": "spark", "version": 1, "dt": 0.1, "seed": 1,
    "nodes": [
        {"id": "clk", "component": "test:clock", "shape": [3], "params": {"period": 4}},
        {"id": "syn", "component": "test:linear", "params": {"weight": 2.0}},
        {"id": "a", "component": "test:relay", "shape": [4]},
        {"id": "w", "component": "test:wait", "shape": [4]},
        {"id": "rule", "component": "test:hebb", "attach": "syn"},
        {"id": "th", "component": "test:threshold", "shape": [4]},
    ],
    "edges": [
        {"from": "clk.spikes", "to": "syn.pre"},
        {"from": "syn.i", "to": "a.x", "delay": 0.5},
        {"from": "a.y", "to": "w.x"},
        {"from": "a.y", "to": "th.x"},
        {"from": "clk.spikes", "to": "rule.pre"},
        {"from": "th.spikes", "to": "rule.post"},
    ],
    "inputs": [{"name": "drive", "to": "a.x", "value": 1.0}],
    "outputs": [{"name": "out", "from": "w.y"}],
}


@pytest.fixture
def reg():
    return isolated_registry(*ALL, Wait)




def test_the_good_model_builds_and_runs(reg):
    assert sparkfile.validate(GOOD, reg) == []
    spark.Brain.from_dict(GOOD, reg).run(steps=2)


# (mutation, JSON path, what the message must say): every one crashed validation, build or run before
CASES = {
    "edge delay 1e308": (set_at(["edges", 1, "delay"], 1e308), "$.edges[1].delay", "more than 10,000,000"),
    "edge delay Infinity": (set_at(["edges", 1, "delay"], float("inf")), "$.edges[1].delay", "not finite"),
    "edge delay NaN": (set_at(["edges", 1, "delay"], float("nan")), "$.edges[1].delay", "is NaN"),
    "edge delay 2^70": (set_at(["edges", 1, "delay"], 2 ** 70), "$.edges[1].delay", "give at most 1e+06 ms"),
    "edge delay 1e9 ms": (set_at(["edges", 1, "delay"], 1e9), "$.edges[1].delay", "1e+10 steps of dt = 0.1 ms"),
    "edge delay 10^400": (set_at(["edges", 1, "delay"], 10 ** 400), "$.edges[1].delay", "overflows float32"),
    "dt 1e-9": (set_at(["dt"], 1e-9), "$.dt", "from 1e-06 to 1000"),
    "dt 1e4": (set_at(["dt"], 1e4), "$.dt", "from 1e-06 to 1000"),
    "seed 2^63": (set_at(["seed"], 2 ** 63), "$.seed", "must be <= 9223372036854775807"),
    "shape entry 2^70": (set_at(["nodes", 2, "shape"], [2 ** 70]), "$.nodes[2].shape", "more than 2,147,483,647"),
    "shape product over int32": (set_at(["nodes", 2, "shape"], [2 ** 16, 2 ** 16]), "$.nodes[2].shape",
                                 "4294967296 elements"),
    "int param 2^70": (set_at(["nodes", 0, "params", "period"], 2 ** 70), "$.nodes[0].params.period",
                       "does not fit int32"),
    "float param 1e39": (set_at(["nodes", 1, "params", "weight"], 1e39), "$.nodes[1].params.weight",
                         "overflows float32"),
    "float param 10^400": (set_at(["nodes", 1, "params", "weight"], 10 ** 400), "$.nodes[1].params.weight",
                           "overflows float32"),
    "float param 1e-300": (set_at(["nodes", 1, "params", "weight"], 1e-300), "$.nodes[1].params.weight",
                           "underflows float32"),
    "duration 2^63 ms": (set_at(["nodes", 3, "params"], {"t_wait": 2 ** 63}), "$.nodes[3].params.t_wait",
                         "step counters are int32"),
    "duration in a list": (set_at(["nodes", 3, "params"], {"taus": [1.0, 2.15e8]}), "$.nodes[3].params.taus[1]",
                           "give at most 2.14748e+08 ms"),
    "input value 2^200": (set_at(["inputs", 0, "value"], 2 ** 200), "$.inputs[0].value", "overflows float32"),
    "attach 5": (set_at(["nodes", 4, "attach"], 5), "$.nodes[4].attach", "wrong type: expected string"),
    "attach []": (set_at(["nodes", 4, "attach"], []), "$.nodes[4].attach", "wrong type: expected string"),
    "attach {}": (set_at(["nodes", 4, "attach"], {}), "$.nodes[4].attach", "wrong type: expected string"),
    "requires an empty name": (set_at(["requires"], {"": ">=0"}), "$.requires[\"\"]", "is not a distribution name"),
    "nested 100 deep": (set_at(["editor"], json.loads("[" * 100 + "]" * 100)), "$.editor" + "[0]" * 64,
                        "nested more than 64 levels"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_out_of_range_numbers_are_refused_with_path_and_fix(name, reg):
    mutation, path, text = CASES[name]
    doc = copy.deepcopy(GOOD)
    mutation(doc)
    problems = sparkfile.validate(doc, reg)
    assert [p.path for p in problems] == [path], [str(p) for p in problems]
    assert text in problems[0].message, problems[0].message
    with pytest.raises(spark.SparkFileError):
        spark.Brain.from_dict(doc, reg)


@pytest.mark.parametrize("value", [0, 2 ** 63 - 1])
def test_seed_takes_the_whole_int64_range(value, reg):
    doc = copy.deepcopy(GOOD)
    doc["seed"] = value
    spark.Brain.from_dict(doc, reg).run(steps=1)


def test_an_input_value_beyond_int64_runs_as_float32(reg):
    doc = copy.deepcopy(GOOD)
    doc["inputs"][0]["value"] = 2 ** 70  # an exact JSON integer: fits float32, not int64
    rec = spark.Brain.from_dict(doc, reg).run(steps=1, record=["a.y"])
    assert float(jnp.max(rec["a.y"])) == pytest.approx(2.0 ** 70, rel=1e-6)


def test_limits_accept_the_edges_of_their_ranges():
    assert limits.float32_problem(3.4e38) is None and limits.float32_problem(-1.2e-38) is None
    assert limits.float32_problem(0) is None and limits.float32_problem(-0.0) is None
    assert limits.int_problem(2 ** 31 - 1) is None and limits.int_problem(-(2 ** 31)) is None
    assert limits.int_problem(2 ** 31) is not None
    assert limits.steps_problem(10 ** 6, 0.1, limits.DELAY_STEPS_MAX) is None
    assert limits.steps_problem(10 ** 6 + 0.1, 0.1, limits.DELAY_STEPS_MAX) is not None


@pytest.mark.parametrize(("text", "says"), [
    ("[" * 100_000 + "]" * 100_000, "nested too deep to read"),
    ('{"format": "spark",\n "seed": ' + "9" * 5000 + "}", "cannot read a number at line 2, column 10"),
])
def test_files_the_parser_cannot_read_give_a_file_error(tmp_path, text, says):
    path = tmp_path / "bad.spark"
    path.write_text(text)
    with pytest.raises(spark.SparkFileError) as info:
        sparkfile.read(path)
    assert info.value.source == str(path)
    assert [p.path for p in info.value.problems] == ["$"]
    assert says in str(info.value)


def test_a_component_built_directly_refuses_a_duration_beyond_int32_steps():
    with pytest.raises(spark.ParamError, match=r"wait parameter 't_wait' = 9.22e\+18 ms is 9.22e\+19 steps"):
        Wait((4,), t_wait=2 ** 63, dt=0.1)
    with pytest.raises(spark.ParamError, match=r"wait parameter 'taus'\[1\] = 215000000.0 ms"):
        Wait((4,), taus=(1.0, 2.15e8), dt=0.1)
    Wait((4,), t_wait=2 ** 63)  # without dt nothing is counted in steps
