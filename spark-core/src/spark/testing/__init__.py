"""Test helpers for Spark and for pack authors.

``isolated_registry(*components)`` gives a registry that sees nothing installed unless asked; the pytest plugin
(loaded automatically when spark-core is installed) offers it as the ``spark_registry`` fixture.
``check_component(cls)`` runs the contract every component must keep (see :mod:`spark.testing.checks`).
"""

from __future__ import annotations

from collections.abc import Iterable

from ..registry import Registry
from .checks import CHECKS as CHECKS
from .checks import CheckReport as CheckReport
from .checks import ComponentCheckError as ComponentCheckError
from .checks import Failure as Failure
from .checks import HostSynapse as HostSynapse
from .checks import check_component as check_component


def isolated_registry(*components: type, distribution: str = "test", version: str = "0",
                      installed: Iterable[str] = ()) -> Registry:
    """A registry holding only ``components`` (under ``distribution``) plus the installed packs in ``installed``."""
    installed = list(installed)
    reg = Registry.discover(only=installed) if installed else Registry()
    for cls in components:
        reg.register(cls, distribution=distribution, version=version)
    return reg
