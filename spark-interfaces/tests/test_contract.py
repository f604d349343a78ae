"""Every component spark-interfaces registers keeps the component contract (spark.testing.check_component).

The list comes from the pack's own entry point, so a new component is covered as soon as the plugin returns it.
"""

from __future__ import annotations

import pytest

from spark.testing import check_component, isolated_registry

DIST = "spark-interfaces"
REGISTRY = isolated_registry(installed=[DIST])

# component name -> check_component keywords, for a component the defaults do not suit
OPTIONS: dict[str, dict] = {
    "population": {"shape": (3, 2), "n": 4, "low": [0.0, -3.1416], "high": [1.0, 3.1416], "circular": [False, True]},
    "vote": {"n_classes": 3},
    "linear_readout": {"n_out": 2},
    "latency": {"period": 0.3, "t_max": 0.2},
}


def test_the_pack_loads_and_registers_components():
    (pack,) = REGISTRY.packs
    assert pack.status == "ok", pack.error
    assert pack.components


@pytest.mark.parametrize("entry", list(REGISTRY.entries()), ids=lambda e: e.name)
def test_component_keeps_the_contract(entry):
    check_component(entry.cls, **OPTIONS.get(entry.name, {}))


def test_joint_population_keeps_the_contract():
    entry = REGISTRY.resolve("population")
    check_component(entry.cls, shape=(2,), n=3, joint=True)
