"""Two real packs that each provide a component named ``lif``, next to spark-components' own ``lif``."""

from __future__ import annotations

import json

import pytest

LIF = """
import spark

@spark.params
class Params:
    tau_m: float = spark.param(20.0, unit="ms", doc="membrane time constant", gt=0)

class LIF(spark.Soma):
    '''Another LIF, from {dist}.'''
    name = "lif"
    Params = Params

@spark.hookimpl
def spark_components():
    return [LIF]
"""

LIFS = ["spark-components:lif", "spark-tmp-lif-a:lif", "spark-tmp-lif-b:lif"]


@pytest.fixture(scope="module")
def site(make_site, pack):
    return make_site("ambiguous", [
        pack("spark-tmp-lif-a", "1.0.0", LIF.format(dist="spark-tmp-lif-a")),
        pack("spark-tmp-lif-b", "2.0.0", LIF.format(dist="spark-tmp-lif-b")),
    ])


def test_every_lif_is_listed_under_its_canonical_id(site, spark_cli):
    result = spark_cli("list-components", "--format", "json", "--kind", "soma", "--strict", site=site)
    assert result.code == 0, result.err
    lifs = {c["id"]: c for c in result.json()["components"] if c["name"] == "lif"}
    assert sorted(lifs) == LIFS
    assert lifs["spark-tmp-lif-b:lif"]["version"] == "2.0.0"
    assert lifs["spark-tmp-lif-a:lif"]["doc"] == "Another LIF, from spark-tmp-lif-a."


def test_the_short_name_is_ambiguous_and_the_error_lists_every_candidate(site, python):
    result = python("""
        import json
        import spark

        reg = spark.default_registry()
        out = {"full": {cid: reg.resolve(cid).cls.__doc__ for cid in %r}}
        try:
            reg.resolve("lif")
        except spark.AmbiguousComponentError as exc:
            out["error"] = str(exc)
        print(json.dumps(out))
    """ % LIFS, site=site)
    assert result.code == 0, result.err
    out = json.loads(result.out)
    assert out["full"]["spark-tmp-lif-b:lif"] == "Another LIF, from spark-tmp-lif-b."
    assert out["full"]["spark-components:lif"] != out["full"]["spark-tmp-lif-a:lif"]
    error = out.get("error")
    assert error, "resolving 'lif' did not raise AmbiguousComponentError"
    assert "'lif' is ambiguous" in error
    for cid in LIFS:
        assert cid in error
