"""pytest plugin shipped with spark-core (entry point ``pytest11``)."""

from __future__ import annotations

import pytest

from . import isolated_registry


@pytest.fixture
def spark_registry():
    """An empty, isolated component registry; register test components on it with ``.register(cls)``."""
    return isolated_registry()
