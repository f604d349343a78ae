"""Params classes: validation on construction, coercion, and messages that say what to do."""

from __future__ import annotations

import math

import attrs
import pytest

import spark
from spark.parameters import from_dict


@spark.params
class NeuronParams:
    tau_m: float = spark.param(20.0, unit="ms", doc="membrane time constant", gt=0)
    v_thresh: float = spark.param(-50.0, unit="mV", doc="spike threshold", le=0)
    n_steps: int = spark.param(3, doc="steps of refractoriness", ge=0)
    method: str = spark.param("exact", doc="integration method", choices=("exact", "euler"))
    learn: bool = spark.param(True, doc="whether weights change")
    v_init: float | None = spark.param(None, unit="mV", doc="initial potential (default: rest)")


class Neuron(spark.Soma):
    """A component that owns NeuronParams, so messages name it."""

    name = "test_neuron"
    Params = NeuronParams


def test_defaults_are_valid_and_frozen():
    p = NeuronParams()
    assert (p.tau_m, p.n_steps, p.method, p.learn, p.v_init) == (20.0, 3, "exact", True, None)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        p.tau_m = 5.0


def test_fields_are_keyword_only():
    with pytest.raises(TypeError):
        NeuronParams(5.0)


def test_out_of_bounds_message_names_component_field_value_bound_and_unit():
    with pytest.raises(spark.ParamError) as info:
        NeuronParams(tau_m=-2.5)
    msg = str(info.value)
    assert "test_neuron" in msg  # the owning component, not the params class
    assert "'tau_m'" in msg
    assert "-2.5 ms" in msg
    assert "> 0 ms" in msg
    assert info.value.problems == [("tau_m", msg)]


def test_upper_bound_is_inclusive():
    assert NeuronParams(v_thresh=0).v_thresh == 0.0
    with pytest.raises(spark.ParamError, match=r"'v_thresh' = 0\.5 mV .* <= 0 mV"):
        NeuronParams(v_thresh=0.5)


def test_nan_is_refused():
    with pytest.raises(spark.ParamError, match=r"'tau_m' is NaN; give a finite number in ms"):
        NeuronParams(tau_m=math.nan)


def test_int_is_coerced_to_float():
    p = NeuronParams(tau_m=5)
    assert type(p.tau_m) is float and p.tau_m == 5.0


def test_whole_float_is_coerced_to_int_but_fraction_is_refused():
    assert type(NeuronParams(n_steps=4.0).n_steps) is int
    with pytest.raises(spark.ParamError, match=r"'n_steps' = 4\.5 is not an integer"):
        NeuronParams(n_steps=4.5)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("tau_m", True, "is not a number"),  # a bool is not a number here, although Python says it is an int
        ("tau_m", "20", "is not a number"),
        ("n_steps", True, "is not an integer"),
        ("learn", 1, "is not a boolean"),
        ("method", 3, "is not a string"),
        ("method", "rk4", "is not one of the choices ['exact', 'euler']"),
        ("tau_m", None, "is missing"),
    ],
)
def test_wrong_types_and_choices_are_refused(field, value, expected):
    with pytest.raises(spark.ParamError) as info:
        NeuronParams(**{field: value})
    assert expected in str(info.value)
    assert f"'{field}'" in str(info.value)


def test_optional_field_accepts_none_and_a_value():
    assert NeuronParams(v_init=None).v_init is None
    assert NeuronParams(v_init=-70).v_init == -70.0


def test_every_problem_is_reported_at_once():
    with pytest.raises(spark.ParamError) as info:
        NeuronParams(tau_m=0, n_steps=-1)
    assert [name for name, _ in info.value.problems] == ["tau_m", "n_steps"]
    assert "'tau_m'" in str(info.value) and "'n_steps'" in str(info.value)


def test_unknown_name_gets_did_you_mean():
    with pytest.raises(spark.ParamError, match=r"test_neuron has no parameter 'tau_n'; did you mean 'tau_m'\?"):
        from_dict(NeuronParams, {"tau_n": 5.0})


def test_unknown_name_with_no_close_match_lists_known_parameters():
    with pytest.raises(spark.ParamError, match=r"has no parameter 'zzz'; known parameters: tau_m, v_thresh"):
        from_dict(NeuronParams, {"zzz": 1})


def test_component_keywords_go_through_the_same_checks():
    with pytest.raises(spark.ParamError, match="did you mean 'tau_m'"):
        Neuron(10, tau_mm=5.0)
    with pytest.raises(spark.ParamError, match=r"'tau_m' = -1\.0 ms"):
        Neuron(10, tau_m=-1.0)
    assert Neuron(10, tau_m=7).params.tau_m == 7.0


def test_params_object_and_keywords_together_are_refused():
    with pytest.raises(spark.ParamError, match="not both"):
        Neuron(10, params=NeuronParams(), tau_m=5.0)


def test_a_field_without_spark_param_is_refused_at_class_definition():
    with pytest.raises(TypeError, match=r"Bad\.tau: declare it with spark\.param"):

        @spark.params
        class Bad:
            tau: float = attrs.field(default=1.0)


def test_an_unsupported_field_type_is_refused_at_class_definition():
    with pytest.raises(TypeError, match=r"Bad\.sizes: type .* is not one of float, int, bool, str"):

        @spark.params
        class Bad:
            sizes: list = spark.param((1, 2), doc="sizes")
