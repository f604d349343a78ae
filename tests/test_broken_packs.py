"""Real installed packs that fail in each way a pack can fail: reported, never fatal, the others keep working.

One site holds a working third-party pack and four broken ones:
(a) its entry point names a module that does not exist, (b) it raises on import, (c) its hook returns
something that is not a component, (d) it requires a spark-core older than the one installed.
"""

from __future__ import annotations

import importlib.metadata as md
import json
from importlib import resources

import jsonschema
import pytest

GOOD = """
import spark

@spark.params
class AdaptiveParams:
    tau_w: float = spark.param(100.0, unit="ms", doc="adaptation time constant", gt=0)

class Adaptive(spark.Soma):
    '''An adaptive soma from a third-party pack.'''
    name = "adaptive"
    Params = AdaptiveParams

@spark.hookimpl
def spark_components():
    return [Adaptive]
"""

RAISES = """
import spark
raise RuntimeError("spark-tmp-raises cannot find its lookup tables")
"""

NOT_A_COMPONENT = """
import spark

@spark.hookimpl
def spark_components():
    return ["lif"]
"""

NEVER_IMPORTED = """
raise RuntimeError("an incompatible pack must not be imported")
"""

BUILTINS = {
    "spark-components:lif": ("spark-components", "soma"),
    "spark-components:exp_synapse": ("spark-components", "synapse"),
    "spark-components:pair_stdp": ("spark-components", "learning_rule"),
    "spark-interfaces:poisson": ("spark-interfaces", "encoder"),
    "spark-interfaces:spike_count": ("spark-interfaces", "decoder"),
}

# distribution -> (version, status, words the error must contain)
EXPECTED = {
    "spark-tmp-missing": ("1.0.0", "broken", ["cannot import 'spark_tmp_missing.nowhere'", "ModuleNotFoundError"]),
    "spark-tmp-raises": ("1.1.0", "broken", ["RuntimeError: spark-tmp-raises cannot find its lookup tables",
                                             "plugin.py:3"]),
    "spark-tmp-not-component": ("1.2.0", "broken", ["spark_components returned 'lif' is not a subclass"]),
    "spark-tmp-old": ("0.0.5", "incompatible", ["requires spark-core<0.1 but spark-core", "install a version"]),
}


@pytest.fixture(scope="module")
def site(make_site, pack):
    return make_site("broken", [
        pack("spark-tmp-good", "3.1.4", GOOD),
        pack("spark-tmp-missing", "1.0.0", GOOD, entry_point="spark_tmp_missing.nowhere"),
        pack("spark-tmp-raises", "1.1.0", RAISES),
        pack("spark-tmp-not-component", "1.2.0", NOT_A_COMPONENT),
        pack("spark-tmp-old", "0.0.5", NEVER_IMPORTED, requires=("spark-core<0.1",)),
    ])


@pytest.fixture(scope="module")
def strict_json(site, spark_cli):
    """``spark list-components --format json --strict``: the catalogue on stdout, problems on stderr, exit 1."""
    return spark_cli("list-components", "--format", "json", "--strict", site=site)


@pytest.fixture(scope="module")
def table(site, spark_cli):
    return spark_cli("list-components", site=site)


def test_without_strict_broken_packs_do_not_fail_the_command(table):
    assert table.code == 0, table.err
    for dist, (version, status, _) in EXPECTED.items():
        assert f"spark: pack {dist} {version} is {status}: " in table.err


def test_with_strict_broken_packs_fail_the_command(strict_json):
    assert strict_json.code == 1
    assert strict_json.json()["components"], "the catalogue is printed even when --strict fails"


def test_each_broken_pack_is_reported_with_distribution_version_and_error(strict_json):
    packs = {p["distribution"]: p for p in strict_json.json()["packs"]}
    for dist, (version, status, words) in EXPECTED.items():
        p = packs[dist]
        assert (p["version"], p["status"], p["components"]) == (version, status, []), p
        for word in words:
            assert word in p["error"], f"{dist}: {word!r} not in {p['error']!r}"
        assert f"spark: pack {dist} {version} is {status}: {p['error']}" in strict_json.err.splitlines()
    assert packs["spark-tmp-old"]["requires_spark_core"] == "<0.1"


def test_builtin_and_third_party_components_still_list_with_their_versions(strict_json, table):
    doc = strict_json.json()
    listed = {c["id"]: (c["distribution"], c["kind"], c["version"]) for c in doc["components"]}
    for cid, (dist, kind) in BUILTINS.items():
        assert listed.get(cid) == (dist, kind, md.version(dist)), cid
    assert listed["spark-tmp-good:adaptive"] == ("spark-tmp-good", "soma", "3.1.4")
    assert set(listed) == {cid for p in doc["packs"] for cid in p["components"]}
    assert not [cid for cid in listed if cid.split(":")[0] in EXPECTED], "a broken pack left components behind"
    ok = {p["distribution"]: p["version"] for p in doc["packs"] if p["status"] == "ok"}
    assert ok["spark-components"] == md.version("spark-components")
    assert ok["spark-interfaces"] == md.version("spark-interfaces")
    assert ok["spark-tmp-good"] == "3.1.4"
    rows = {line.split()[0] for line in table.out.splitlines()[1:]}
    assert rows == set(listed)


def test_the_incompatible_pack_was_never_imported(strict_json):
    assert "must not be imported" not in strict_json.out + strict_json.err


def test_output_validates_against_the_schema_shipped_in_spark_core(strict_json):
    schema = json.loads(resources.files("spark").joinpath("schemas", "component-list.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(strict_json.json())


def test_version_lists_every_pack_with_its_problem(site, spark_cli):
    result = spark_cli("--version", site=site)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == f"spark-core {md.version('spark-core')}"
    assert "spark-tmp-good 3.1.4" in lines
    assert f"spark-components {md.version('spark-components')}" in lines
    for dist, (version, status, _) in EXPECTED.items():
        assert any(line.startswith(f"{dist} {version} ({status}: ") for line in lines), (dist, lines)
