"""Test helpers for Spark and for pack authors.

``isolated_registry(*components)`` gives a registry that sees nothing installed unless asked; the pytest plugin
(loaded automatically when spark-core is installed) offers it as the ``spark_registry`` fixture.
``check_component(cls)`` runs the contract every component must keep (see :mod:`spark.testing.checks`).
``run_on_host_devices(script, 8)`` runs a multi-device check script in a fresh process with 8 CPU devices
(:mod:`spark.testing.devices`).
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
from .devices import run_on_host_devices as run_on_host_devices


def isolated_registry(*components: type, distribution: str = "test", version: str = "0",
                      installed: Iterable[str] = (), library: Iterable = ()) -> Registry:
    """A registry holding only ``components`` (under ``distribution``) plus the installed packs in ``installed`` and
    the composites of the user-library folders in ``library`` (as ``library:<name>``; docs/composites.md)."""
    installed = list(installed)
    reg = Registry.discover(only=installed) if installed else Registry()
    for cls in components:
        reg.register(cls, distribution=distribution, version=version)
    if library:
        reg.load_library(list(library))
    return reg


def simulate(module, dt: float, inputs: dict, *, dtype=None) -> dict:
    """Step ``module`` once per row of ``inputs`` (name -> array with a leading step axis) in one jitted
    ``lax.scan`` using the split/merge pattern, update ``module`` in place, and return its outputs stacked over
    steps as NumPy arrays (cast to ``dtype`` if given, e.g. ``np.float64`` for references computed in float64)."""
    import jax
    import jax.numpy as jnp
    import numpy as np
    from flax import nnx

    graph, state = nnx.split(module)

    @jax.jit
    def run(state, xs):
        def body(state, x):
            m = nnx.merge(graph, state)
            out = m(dt=dt, **x)
            return nnx.split(m)[1], out

        return jax.lax.scan(body, state, xs)

    state, outs = run(state, {k: jnp.asarray(v) for k, v in inputs.items()})
    nnx.update(module, state)
    return jax.tree.map(lambda a: np.asarray(a, dtype), outs)
