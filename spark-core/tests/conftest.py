"""Shared fixtures of spark-core's tests: tiny components and plugin modules made on the spot.

Nothing here depends on an installed pack: spark-core is tested alone.
"""

from __future__ import annotations

import itertools
import types

import pytest

import spark

_counter = itertools.count()


@pytest.fixture
def make_component():
    """``make_component(name, kind="soma")`` -> a new, valid component class with one parameter ``tau``."""

    def make(name: str, kind: str = "soma", doc: str = "A tiny test component.\n\nMore text.") -> type:
        base = spark.component.KIND_BASES.get(kind, spark.Component)

        @spark.params
        class Params:
            tau: float = spark.param(10.0, unit="ms", doc="time constant", gt=0)

        attrs = {
            "__doc__": doc,
            "name": name,
            "kind": kind,
            "Params": Params,
            "inputs": {"i_in": spark.Port(spark.Current, "input current (pA)")},
            "outputs": {"spikes": spark.Port(spark.Spikes, "spikes emitted this step")},
        }
        return type(f"Tiny{next(_counter)}", (base,), attrs)

    return make


@pytest.fixture
def make_plugin():
    """``make_plugin(name, spark_components=fn, ...)`` -> a module whose given functions are spark hook impls."""

    def make(name: str, **hooks) -> types.ModuleType:
        module = types.ModuleType(name)
        for hook_name, fn in hooks.items():
            fn.__name__ = hook_name
            setattr(module, hook_name, spark.hookimpl(fn))
        return module

    return make
