"""JSON Schema export of params classes: valid Draft 2020-12, carries units, and agrees with the validator."""

from __future__ import annotations

import jsonschema
import pytest

import spark
from spark.parameters import to_dict


@spark.params
class SynParams:
    tau: float = spark.param(5.0, unit="ms", doc="decay time constant", gt=0, lt=1000)
    w_max: float = spark.param(1.0, unit="nS", doc="largest weight", ge=0, le=10)
    fan_in: int = spark.param(10, doc="inputs per neuron", ge=1)
    rule: str = spark.param("add", doc="update rule", choices=("add", "mult"))
    plastic: bool = spark.param(True, doc="learning on")
    delay: float | None = spark.param(None, unit="ms", doc="axonal delay")


@pytest.fixture(scope="module")
def schema():
    s = spark.params_schema(SynParams)
    jsonschema.Draft202012Validator.check_schema(s)
    return s


def test_schema_carries_units_docs_defaults_and_bounds(schema):
    props = schema["properties"]
    assert list(props) == ["tau", "w_max", "fan_in", "rule", "plastic", "delay"]
    assert props["tau"] == {
        "type": "number", "description": "decay time constant", "default": 5.0, "x-unit": "ms",
        "exclusiveMinimum": 0, "exclusiveMaximum": 1000,
    }
    assert (props["w_max"]["x-unit"], props["w_max"]["minimum"], props["w_max"]["maximum"]) == ("nS", 0, 10)
    assert props["fan_in"]["type"] == "integer" and props["fan_in"]["x-unit"] == ""
    assert props["rule"]["enum"] == ["add", "mult"]
    assert props["plastic"]["type"] == "boolean"
    assert props["delay"]["type"] == ["number", "null"]
    assert schema["additionalProperties"] is False
    assert schema["title"] == "SynParams"


def test_defaults_validate(schema):
    jsonschema.validate(to_dict(SynParams()), schema)


def test_unknown_property_is_invalid(schema):
    with pytest.raises(jsonschema.ValidationError, match="taux"):
        jsonschema.validate({"taux": 1.0}, schema)


CANDIDATES = [
    ("tau", 0), ("tau", 1e-9), ("tau", 999.5), ("tau", 1000), ("tau", -3), ("tau", "5"), ("tau", True),
    ("w_max", 0), ("w_max", 10), ("w_max", 10.5), ("fan_in", 0), ("fan_in", 3), ("fan_in", 2.5),
    ("rule", "mult"), ("rule", "hebb"), ("plastic", False), ("plastic", 0),
    ("delay", None), ("delay", 2.0), ("delay", "x"),
]


@pytest.mark.parametrize(("field", "value"), CANDIDATES)
def test_schema_and_validator_agree(schema, field, value):
    """The editor validates with the schema, the loader with the params class: they must give the same verdict."""
    by_schema = jsonschema.Draft202012Validator(schema).is_valid({field: value})
    try:
        SynParams(**{field: value})
        by_class = True
    except spark.ParamError:
        by_class = False
    assert by_schema == by_class, f"{field}={value!r}: schema says {by_schema}, params class says {by_class}"
