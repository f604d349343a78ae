"""The shipped JSON Schema of the catalogue (``spark list-components --format json``) and what it accepts."""

from __future__ import annotations

import copy
import json
from importlib import resources

import jsonschema
import pytest
from click.testing import CliRunner

import spark
import spark.registry
from spark.cli import main


@pytest.fixture(scope="module")
def validator():
    text = resources.files("spark").joinpath("schemas", "component-list.schema.json").read_text("utf-8")
    schema = json.loads(text)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.fixture
def catalogue(make_component, make_plugin, site):
    """A catalogue with ok, broken and incompatible packs and components of several kinds."""
    site("tmp-old", "0.1.0", "tmp_old_plugin", "raise RuntimeError\n", requires=["spark-core<0.1"])
    reg = spark.Registry.discover(only=["tmp-old"])
    stochastic = make_component("noisy", kind="encoder")
    stochastic.stochastic = True
    reg.load_plugin(make_plugin("a", spark_components=lambda: [make_component("lif"), stochastic]),
                    distribution="Pack_A", version="1.0")
    reg.load_plugin(make_plugin("b", spark_components=lambda: [42]), distribution="pack-b", version="2.0")
    doc = reg.to_json()
    assert [p["status"] for p in doc["packs"]] == ["incompatible", "ok", "broken"]
    return doc


def test_a_catalogue_with_every_pack_status_validates(validator, catalogue):
    validator.validate(catalogue)


def test_the_cli_output_validates(validator, catalogue, monkeypatch, make_component):
    reg = spark.testing.isolated_registry(make_component("lif"), make_component("stdp", kind="learning_rule"))
    monkeypatch.setattr(spark.registry, "_default", reg)
    result = CliRunner().invoke(main, ["list-components", "--format", "json"], catch_exceptions=False)
    validator.validate(json.loads(result.stdout))


def _break(doc, path, value):
    """Set ``doc[path...] = value``; a value of ``KeyError`` deletes the key instead."""
    doc = copy.deepcopy(doc)
    *parents, last = path
    target = doc
    for key in parents:
        target = target[key]
    if value is KeyError:
        del target[last]
    else:
        target[last] = value
    return doc


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("components",), KeyError),
        (("format",), "spark"),
        (("format_version",), 2),
        (("surprise",), 1),
        (("packs", 1, "status"), "fine"),
        (("packs", 1, "error"), "ok packs have no error"),
        (("packs", 2, "error"), None),
        (("packs", 0, "distribution"), "Tmp_Old"),
        (("components", 0, "id"), "lif"),
        (("components", 0, "id"), "pack-a:"),
        (("components", 0, "inputs", 0, "direction"), "out"),
        (("components", 0, "outputs", 0, "payload"), 3),
        (("components", 0, "params_schema", "properties", "tau"), {"type": "number", "description": "", "default": 1}),
        (("components", 0, "params_schema", "type"), 5),
        (("components", 0, "stochastic"), "no"),
        (("payload_types", 0, "summable"), "yes"),
    ],
)
def test_the_schema_refuses_a_changed_document(validator, catalogue, path, value):
    assert validator.is_valid(catalogue)
    assert not validator.is_valid(_break(catalogue, path, value)), f"{path} = {value!r} was accepted"
