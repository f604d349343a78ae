"""Where the native kernels must exist (CI: ``SPARK_REQUIRE_NATIVE=1``, set by .ci/run), their absence fails the run
instead of skipping every native-path test."""

from __future__ import annotations

import pytest


def pytest_sessionstart(session):
    from spark.testing.require import require_for_ci

    require_for_ci("SPARK_REQUIRE_NIR", {"nir": "spark-components[test]"})  # test_nir.py
    from spark_components import native

    problem = native.required_but_missing("SPARK_REQUIRE_NATIVE")
    if problem:
        raise pytest.UsageError(problem)
