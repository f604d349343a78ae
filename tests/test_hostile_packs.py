"""Real installed packs that attack the plugin boundary: every ``spark`` command keeps working and names the pack.

One site holds a working third-party pack and hostile ones: (a) it calls ``sys.exit(3)`` at import, (b) its hook
calls ``sys.exit``, (c) one of its two components has a parameter default that is not JSON, (d) its components
raise a ``KeyError`` in ``__init__`` / in their step, (e) it takes over 2 s to import.
"""

from __future__ import annotations

import json

import pytest
from test_broken_packs import GOOD  # the same well-behaved pack

EXITS = """
import sys
sys.exit(3)
"""

EXITS_IN_HOOK = """
import sys
import spark

@spark.hookimpl
def spark_components():
    sys.exit("no licence found")
"""

BAD_DEFAULT = """
import decimal

import spark

@spark.params
class FineParams:
    tau: float = spark.param(10.0, unit="ms", doc="a time constant", gt=0)

@spark.params
class OpaqueParams:
    gain: float = spark.param(decimal.Decimal("0.5"), doc="a gain")

class Fine(spark.Soma):
    '''A soma with JSON parameters.'''
    name = "fine"
    Params = FineParams

class Odd(spark.Soma):
    '''A soma whose parameter default is not JSON.'''
    name = "odd"
    Params = OpaqueParams

@spark.hookimpl
def spark_components():
    return [Fine, Odd]
"""

RAISING = """
import jax.numpy as jnp
import spark

@spark.params
class P:
    gain: float = spark.param(1.0, unit="", doc="a gain")

class BadInit(spark.Soma):
    '''Raises in __init__.'''
    name = "bad_init"
    Params = P
    outputs = {"spikes": spark.Port(spark.Spikes, "spikes")}

    def __init__(self, shape, **kw):
        super().__init__(shape, **kw)
        raise KeyError("missing")

class BadStep(spark.Soma):
    '''Raises in its step.'''
    name = "bad_step"
    Params = P
    outputs = {"spikes": spark.Port(spark.Spikes, "spikes")}

    def __call__(self, *, dt):
        raise KeyError("missing")

@spark.hookimpl
def spark_components():
    return [BadInit, BadStep]
"""

SLOW = """
import time
time.sleep(2.3)
import spark

@spark.hookimpl
def spark_components():
    return []
"""


def model(component: str) -> dict:
    return {"format": "spark", "version": 1, "name": "hostile", "dt": 0.1, "seed": 0,
            "nodes": [{"id": "n", "component": component, "shape": [3]}], "edges": [], "inputs": [],
            "outputs": [{"name": "s", "from": "n.spikes"}]}


@pytest.fixture(scope="module")
def site(make_site, pack):
    return make_site("hostile", [
        pack("spark-tmp-good", "3.1.4", GOOD),
        pack("spark-tmp-exits", "1.0.0", EXITS),
        pack("spark-tmp-exits-hook", "1.0.1", EXITS_IN_HOOK),
        pack("spark-tmp-bad-default", "1.2.0", BAD_DEFAULT),
        pack("spark-tmp-raising", "1.3.0", RAISING),
        pack("spark-tmp-slow", "1.4.0", SLOW),
    ])


@pytest.fixture(scope="module")
def catalogue(site, spark_cli):
    return spark_cli("list-components", "--format", "json", site=site)


def test_a_pack_that_exits_at_import_is_reported_and_the_command_works(catalogue):
    assert catalogue.code == 0, catalogue.err
    packs = {p["distribution"]: p for p in catalogue.json()["packs"]}
    assert packs["spark-tmp-exits"]["status"] == "broken"
    assert "SystemExit: it called sys.exit(3)" in packs["spark-tmp-exits"]["error"]
    assert "spark: pack spark-tmp-exits 1.0.0 is broken: " in catalogue.err
    assert packs["spark-tmp-exits-hook"]["status"] == "broken"
    assert "sys.exit('no licence found')" in packs["spark-tmp-exits-hook"]["error"]
    assert packs["spark-tmp-good"]["status"] == "ok"


def test_other_commands_survive_a_pack_that_exits(site, spark_cli):
    version = spark_cli("--version", site=site)
    assert version.code == 0, version.err
    assert "spark-tmp-good 3.1.4" in version.out.splitlines()
    assert any(line.startswith("spark-tmp-exits 1.0.0 (broken: ") for line in version.out.splitlines())


def test_a_non_json_default_breaks_only_its_component(catalogue):
    doc = catalogue.json()  # valid JSON with every other component
    ids = {c["id"] for c in doc["components"]}
    assert {"spark-tmp-bad-default:fine", "spark-tmp-good:adaptive", "spark-components:lif"} <= ids
    assert "spark-tmp-bad-default:odd" not in ids
    pack = next(p for p in doc["packs"] if p["distribution"] == "spark-tmp-bad-default")
    assert pack["status"] == "ok" and pack["components"] == ["spark-tmp-bad-default:fine"]
    assert "component 'odd'" in pack["error"] and "not JSON" in pack["error"]
    assert "spark: pack spark-tmp-bad-default 1.2.0: component 'odd'" in catalogue.err
    json.dumps(doc)


def test_strict_fails_on_a_component_that_was_not_registered(site, spark_cli):
    assert spark_cli("list-components", "--strict", site=site).code == 1


def test_a_slow_pack_is_named(catalogue):
    notes = [line for line in catalogue.err.splitlines() if "spark-tmp-slow" in line]
    assert notes and "spark: note: pack spark-tmp-slow 1.4.0 took" in notes[0] and "s to import" in notes[0]
    assert not [line for line in catalogue.err.splitlines() if "spark-tmp-good" in line and "note" in line]


@pytest.mark.parametrize("component, words", [
    ("spark-tmp-raising:bad_init", ["node 'n'", "spark-tmp-raising:bad_init", "pack spark-tmp-raising 1.3.0",
                                    "failed to build", "KeyError: 'missing'"]),
    ("spark-tmp-raising:bad_step", ["node 'n'", "spark-tmp-raising:bad_step", "pack spark-tmp-raising 1.3.0",
                                    "failed in its step", "KeyError: 'missing'"]),
])
def test_a_raising_component_is_named_by_spark_run(site, spark_cli, component, words):
    path = site / f"{component.split(':')[1]}.spark"
    path.write_text(json.dumps(model(component)))
    result = spark_cli("run", str(path), "--steps", "5", "--no-plot", "--out", str(site / "runs"), site=site)
    assert result.code == 1, (result.out, result.err)
    assert "Traceback" not in result.err
    for word in words:
        assert word in result.err, (word, result.err)


def test_a_raising_component_is_named_from_python(site, python):
    result = python(f"""
        import spark
        for comp in ("bad_init", "bad_step"):
            try:
                doc = {model('X')!r}
                doc["nodes"][0]["component"] = "spark-tmp-raising:" + comp
                spark.Brain.from_dict(doc).run(steps=3)
            except spark.SparkError as exc:
                print(comp, "->", type(exc).__name__, str(exc).replace("\\n", " "))
        """, site=site)
    assert result.code == 0, result.err
    init, step = result.out.splitlines()[-2:]
    assert init.startswith("bad_init -> SparkFileError") and "pack spark-tmp-raising 1.3.0" in init
    assert step.startswith("bad_step -> ComponentStepError") and "node 'n'" in step and "KeyError" in step


def test_the_editor_catalogue_is_served_despite_the_hostile_packs(site, python):
    pytest.importorskip("spark_editor")
    result = python("""
        import json
        from spark.registry import default_registry
        from spark_editor.server import _json
        response = _json(default_registry().to_json())  # what GET /api/catalogue answers
        doc = json.loads(response.body)
        print(response.status, sorted(c["id"] for c in doc["components"] if c["id"].startswith("spark-tmp")))
        """, site=site)
    assert result.code == 0, result.err
    status, ids = result.out.strip().splitlines()[-1].split(" ", 1)
    assert status == "200"
    assert "spark-tmp-bad-default:fine" in ids and "spark-tmp-good:adaptive" in ids and ":odd" not in ids
