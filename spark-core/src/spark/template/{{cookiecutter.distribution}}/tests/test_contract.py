"""The pack keeps Spark's contracts: its component passes spark.testing's checks and the pack registers it."""

import importlib.metadata as md
import json

import pytest

import spark
from spark.testing import check_component, isolated_registry
from {{ cookiecutter.module_name }} import plugin
from {{ cookiecutter.module_name }}.{{ cookiecutter.component_name }} import {{ cookiecutter.class_name }}

DIST = "{{ cookiecutter.__dist_id }}"
COMPONENT_ID = DIST + ":{{ cookiecutter.component_name }}"


def test_the_component_keeps_the_component_contract():
    # params schema and round trip, ports, shapes, jit through nnx.split/merge, determinism, .spark save/load
    check_component({{ cookiecutter.class_name }})


def test_the_component_keeps_it_with_other_params_and_shape():
    check_component({{ cookiecutter.class_name }}, shape=({% if cookiecutter.kind in ['synapse', 'learning_rule'] %}7, 2{% else %}2, 3{% endif %}), seed=3)


def test_the_installed_pack_registers_it_through_its_entry_point():
    registry = isolated_registry(installed=[DIST])  # sees this pack only, as `spark list-components` would
    (pack,) = registry.packs
    assert pack.status == "ok", pack.error
    assert pack.version == md.version(DIST)
    assert registry.resolve(COMPONENT_ID).cls is {{ cookiecutter.class_name }}


def test_the_bundled_example_validates_where_its_packs_are_installed():
    (path,) = plugin.spark_examples().values()
    doc = spark.sparkfile.read(path)
    assert COMPONENT_ID in json.dumps(doc["nodes"])
    others = [d for d in doc.get("requires", {}) if d != DIST]
    missing = [d for d in others if not _installed(d)]
    if missing:
        pytest.skip(f"the example also uses {', '.join(missing)}: pip install '.[examples]'")
    registry = isolated_registry(installed=[DIST, *others])
    assert spark.sparkfile.validate(doc, registry) == []


def _installed(dist: str) -> bool:
    try:
        md.version(dist)
    except md.PackageNotFoundError:
        return False
    return True
