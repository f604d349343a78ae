"""Helpers shared by the tests of spark-interfaces (fixtures, since tests are imported with importlib)."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from flax import nnx

from spark.testing import isolated_registry
from spark.testing.require import require_for_ci


def pytest_sessionstart(session):
    require_for_ci("SPARK_REQUIRE_GYM", {"gymnasium": "spark-interfaces[gym]",  # test_cartpole_env.py
                                         "gymnax": "spark-interfaces[gymnax]"})  # test_gymnax_env.py


def _simulate(module, dt, xs, key=None):
    """Step ``module`` over the leading axis of the dict ``xs`` in one jitted ``lax.scan`` (split/merge), in place.

    A stochastic module gets one key per step split from ``key``. Returns the outputs stacked over steps (numpy).
    """
    graph, state = nnx.split(module)
    steps = len(next(iter(xs.values())))
    keys = jax.random.split(jax.random.key(0) if key is None else key, steps)
    stochastic = type(module).stochastic

    @jax.jit
    def run(state, xs, keys):
        def body(state, xk):
            x, k = xk
            m = nnx.merge(graph, state)
            out = m(dt=dt, **x, **({"key": k} if stochastic else {}))
            return nnx.split(m)[1], out

        return jax.lax.scan(body, state, (xs, keys))

    state, outs = run(state, {k: jax.numpy.asarray(v) for k, v in xs.items()}, keys)
    nnx.update(module, state)
    return jax.tree.map(np.asarray, outs)


@pytest.fixture
def simulate():
    return _simulate


@pytest.fixture(scope="session")
def registry():
    """spark-interfaces alone, as installed (no other pack)."""
    return isolated_registry(installed=["spark-interfaces"])
