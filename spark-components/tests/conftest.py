"""Where the native kernels must exist (CI: ``SPARK_REQUIRE_NATIVE=1``, set by .ci/run), their absence fails the run
instead of skipping every native-path test."""

from __future__ import annotations

import os

import pytest


def pytest_sessionstart(session):
    from spark.testing.require import require_for_ci

    require_for_ci("SPARK_REQUIRE_NIR", {"nir": "spark-components[test]"})  # test_nir.py
    if os.environ.get("SPARK_REQUIRE_NATIVE") == "1":
        from spark_components import native

        if not native.kernels():
            raise pytest.UsageError("SPARK_REQUIRE_NATIVE=1 but spark_components' native kernels could not be built; "
                                    "install a C++ compiler (Debian: apt-get install -y g++) or unset the variable")
