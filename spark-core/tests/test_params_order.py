"""Orderings declared between parameters are checked with the fields, and reported by validation."""

from __future__ import annotations

import pytest

import spark
from spark import parameters


@spark.params
class Window:
    __spark_order__ = (("low", "<", "high"), ("low", "<=", "start"))
    low: float = spark.param(0.0, unit="mV", doc="lower edge")
    high: float = spark.param(1.0, unit="mV", doc="upper edge")
    start: float = spark.param(0.5, unit="mV", doc="initial value")


def test_a_valid_ordering_passes():
    assert Window(low=-1.0, high=2.0, start=-1.0).start == -1.0


@pytest.mark.parametrize("values, text", [
    ({"low": 1.0, "high": 1.0}, "'low' = 1.0 mV must be < high = 1.0 mV; lower low or raise high"),
    ({"low": 0.6}, "'low' = 0.6 mV must be <= start = 0.5 mV"),
])
def test_a_broken_ordering_names_both_fields_and_the_fix(values, text):
    with pytest.raises(spark.ParamError) as info:
        parameters.from_dict(Window, values)
    assert text in str(info.value)
    assert info.value.problems[0][0] == "low"


def test_an_invalid_field_is_reported_alone_not_as_an_ordering_too():
    with pytest.raises(spark.ParamError) as info:
        Window(low=float("nan"))
    assert [name for name, _ in info.value.problems] == ["low"]
    assert "must be <" not in str(info.value)
