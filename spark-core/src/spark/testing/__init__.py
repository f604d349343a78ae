"""Test helpers for Spark and for pack authors.

``isolated_registry(*components)`` gives a registry that sees nothing installed unless asked; the pytest plugin
(loaded automatically when spark-core is installed) offers it as the ``spark_registry`` fixture.
"""

from __future__ import annotations

from typing import Iterable

from ..registry import Registry


def isolated_registry(*components: type, distribution: str = "test", version: str = "0",
                      installed: Iterable[str] = ()) -> Registry:
    """A registry holding only ``components`` (under ``distribution``) plus the installed packs named in ``installed``."""
    installed = list(installed)
    reg = Registry.discover(only=installed) if installed else Registry()
    for cls in components:
        reg.register(cls, distribution=distribution, version=version)
    return reg
