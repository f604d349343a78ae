"""The integration environment tests what users install: every Spark package as a wheel, none editable."""

from __future__ import annotations

import importlib.metadata as md
import json
import os
from pathlib import Path

import pytest

import spark

PACKAGES = ("spark-core", "spark-components", "spark-interfaces", "spark-editor")
REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    os.environ.get("TOX_ENV_NAME") != "integration",
    reason="checks tox's `integration` environment; a development environment installs the packages editable",
)


@pytest.mark.parametrize("dist", PACKAGES)
def test_package_is_installed_from_a_wheel_not_editable(dist):
    direct_url = md.distribution(dist).read_text("direct_url.json")
    info = json.loads(direct_url) if direct_url else {}
    assert not info.get("dir_info", {}).get("editable", False), f"{dist} is installed editable: {info}"


def test_spark_is_imported_from_site_packages_not_the_checkout():
    assert REPO / "spark-core" not in Path(spark.__file__).resolve().parents, spark.__file__
