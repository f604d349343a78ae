"""spark-components registers through the entry point and hook a third-party pack uses, and nothing else."""

from __future__ import annotations

import importlib.metadata as md

from spark.testing import isolated_registry

DIST = "spark-components"
# the components other Spark code and docs rely on by id
EXPECTED = {"spark-components:lif": "soma", "spark-components:exp_synapse": "synapse",
            "spark-components:pair_stdp": "learning_rule"}


def test_the_entry_point_is_declared_in_group_spark():
    eps = [ep for ep in md.entry_points(group="spark") if ep.dist is not None and ep.dist.name == DIST]
    assert [(ep.name, ep.value) for ep in eps] == [("components", "spark_components.plugin")]


def test_discovery_registers_every_component_under_the_distribution():
    reg = isolated_registry(installed=[DIST])
    (pack,) = reg.packs
    assert pack.status == "ok", pack.error
    assert pack.version == md.version(DIST)
    registered = {e.id: e.kind for e in reg}
    assert {cid: registered.get(cid) for cid in EXPECTED} == EXPECTED  # the pack may provide more
    assert all(cid.startswith(f"{DIST}:") for cid in registered)
    assert sorted(pack.components) == sorted(registered)
    assert all(e.version == md.version(DIST) for e in reg)
