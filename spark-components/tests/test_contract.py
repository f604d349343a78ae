"""Every component spark-components registers keeps the component contract (spark.testing.check_component).

The list comes from the pack's own entry point, so a new component is covered as soon as the plugin returns it.
A component whose Params have a ``storage`` choice is also checked with each explicit storage layout.
"""

from __future__ import annotations

import attrs
import pytest

from spark import parameters
from spark.composite import is_composite
from spark.testing import check_component, isolated_registry

DIST = "spark-components"
REGISTRY = isolated_registry(installed=[DIST])

# component name -> check_component keywords, for a component the defaults do not suit (none so far)
OPTIONS: dict[str, dict] = {}


def cases():
    for entry in REGISTRY.entries():
        if is_composite(entry.cls):  # data, not a class: checked as the flat graph it stands for (tests/test_composites_packs.py)
            continue
        yield pytest.param(entry, {}, id=entry.name)
        fields = {f.name: f for f in attrs.fields(entry.cls.Params)}
        if "storage" in fields:
            for choice in parameters.meta(fields["storage"]).choices or ():
                if choice != "auto":
                    yield pytest.param(entry, {"storage": choice}, id=f"{entry.name}-{choice}")


def test_the_pack_loads_and_registers_components():
    (pack,) = REGISTRY.packs
    assert pack.status == "ok", pack.error
    assert pack.components
    assert any(not is_composite(e.cls) for e in REGISTRY.entries())  # classes, not only composites, are checked


@pytest.mark.parametrize(("entry", "params"), list(cases()))
def test_component_keeps_the_contract(entry, params):
    check_component(entry.cls, **{**OPTIONS.get(entry.name, {}), **params})
