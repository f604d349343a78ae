"""spark-interfaces registers through the entry point and hook a third-party pack uses, and nothing else."""

from __future__ import annotations

import importlib.metadata as md

from spark.testing import isolated_registry

DIST = "spark-interfaces"
# the components other Spark code and docs rely on by id
ENCODERS = ["poisson", "bernoulli", "regular", "latency", "delta", "population", "current"]
DECODERS = ["spike_count", "rate", "first_spike", "membrane", "vote", "linear_readout"]
EXPECTED = {**{f"{DIST}:{n}": "encoder" for n in ENCODERS}, **{f"{DIST}:{n}": "decoder" for n in DECODERS}}


def test_the_entry_point_is_declared_in_group_spark():
    eps = [ep for ep in md.entry_points(group="spark") if ep.dist is not None and ep.dist.name == DIST]
    assert [(ep.name, ep.value) for ep in eps] == [("interfaces", "spark_interfaces.plugin")]


def test_discovery_registers_every_component_under_the_distribution():
    reg = isolated_registry(installed=[DIST])
    (pack,) = reg.packs
    assert pack.status == "ok", pack.error
    assert pack.version == md.version(DIST)
    registered = {e.id: e.kind for e in reg}
    assert {cid: registered.get(cid) for cid in EXPECTED} == EXPECTED  # the pack may provide more
    assert all(cid.startswith(f"{DIST}:") for cid in registered)
    assert sorted(pack.components) == sorted(registered)
