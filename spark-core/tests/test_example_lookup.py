"""`spark.example(name)`: the path of a model a pack bundles (``spark_examples`` hook), or a KeyError listing them."""

import pytest

import spark


class _Examples:
    @staticmethod
    @spark.hookimpl
    def spark_examples():
        return {"tiny": "/somewhere/tiny.spark"}


def test_an_example_of_a_loaded_pack_is_found_by_name():
    reg = spark.Registry()
    reg.load_plugin(_Examples, distribution="spark-tiny", version="1.0")
    assert str(reg.example("tiny")) == "/somewhere/tiny.spark"


def test_an_unknown_example_lists_the_known_ones():
    reg = spark.Registry()
    reg.load_plugin(_Examples, distribution="spark-tiny", version="1.0")
    with pytest.raises(KeyError, match="no installed pack bundles an example called 'nope'; examples: tiny"):
        reg.example("nope")


def test_spark_viz_is_reachable_after_a_plain_import():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", "import spark, sys; assert 'spark.viz' not in sys.modules; "
                          "print(spark.viz.raster.__name__)"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "raster", out.stderr
