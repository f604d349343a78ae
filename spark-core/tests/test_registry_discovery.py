"""Discovery through entry points, with distribution metadata written to a temporary folder on sys.path
(the ``site`` fixture).

The root tests/ do the same with real installed wheels; these run in-process and take milliseconds.
"""

from __future__ import annotations

import sys

import spark

PLUGIN_OK = """
import spark

@spark.params
class P:
    tau: float = spark.param(1.0, unit="ms", doc="time constant", gt=0)

class Thing(spark.Soma):
    '''A soma from a temporary pack.'''
    name = "thing"
    Params = P

@spark.hookimpl
def spark_components():
    return [Thing]
"""


def test_a_working_pack_is_found_with_its_version(site):
    site("tmp-good", "2.3.4", "tmp_good_plugin", PLUGIN_OK)
    reg = spark.Registry.discover(only=["tmp-good"])
    (pack,) = reg.packs
    assert (pack.distribution, pack.version, pack.status, pack.components) == (
        "tmp-good", "2.3.4", "ok", ["tmp-good:thing"])
    assert pack.entry_point == "plugin = tmp_good_plugin"
    assert reg.resolve("thing").version == "2.3.4"


def test_only_limits_discovery_to_the_named_distributions(site):
    site("tmp-good", "1.0", "tmp_good_plugin", PLUGIN_OK)
    assert spark.Registry.discover(only=["someone-else"]).packs == []


def test_entry_point_naming_a_missing_module_is_broken(site):
    site("tmp-missing", "1.0", None, None, target="tmp_no_such_module")
    (pack,) = spark.Registry.discover(only=["tmp-missing"]).packs
    assert pack.status == "broken"
    assert "cannot import 'tmp_no_such_module': ModuleNotFoundError" in pack.error


def test_a_pack_that_raises_on_import_is_broken_with_the_place(site):
    site("tmp-raises", "1.0", "tmp_raises_plugin", "import spark\nraise RuntimeError('no GPU driver')\n")
    (pack,) = spark.Registry.discover(only=["tmp-raises"]).packs
    assert pack.status == "broken"
    assert "RuntimeError: no GPU driver" in pack.error
    assert "tmp_raises_plugin.py:2" in pack.error


def test_an_incompatible_pack_is_reported_and_never_imported(site):
    # its plugin would raise if imported: the version check must come first
    site("tmp-old", "0.0.9", "tmp_old_plugin", "raise RuntimeError('imported')\n", requires=["spark-core<0.1"])
    (pack,) = spark.Registry.discover(only=["tmp-old"]).packs
    assert pack.status == "incompatible"
    assert pack.requires_spark_core == "<0.1"
    assert f"requires spark-core<0.1 but spark-core {spark.__version__} is installed" in pack.error
    assert "tmp_old_plugin" not in sys.modules


def test_a_requirement_under_an_extra_does_not_count(site):
    site("tmp-extra", "1.0", "tmp_extra_plugin", PLUGIN_OK,
         requires=[f"spark-core>={spark.__version__}", 'spark-core<0.1; extra == "legacy"'])
    (pack,) = spark.Registry.discover(only=["tmp-extra"]).packs
    assert pack.status == "ok"
    assert pack.requires_spark_core == f">={spark.__version__}"
