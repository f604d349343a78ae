"""The default memory estimate of a component (a pack's component that declares nothing): built abstractly at the
shapes of 1s and 2s and extrapolated; a component that cannot be built so small, or whose own estimate fails, is
counted as eight float32 values per element and still builds (issue 15)."""

from __future__ import annotations

import math
import warnings

import jax
import jax.numpy as jnp
import pytest
from flax import nnx

import spark
from spark.testing import isolated_registry


@spark.params
class P:
    tau: float = spark.param(10.0, unit="ms", doc="time constant", gt=0)


class TwoVars(spark.Soma):
    """Two float32 variables per neuron and a scalar counter."""

    name = "two_vars"
    Params = P
    inputs = {"i_syn": spark.Port(spark.Current, "input (pA)")}
    outputs = {"spikes": spark.Port(spark.Spikes, "spikes")}

    def __init__(self, shape, *, params=None, rngs=None, dt=None, **values):
        super().__init__(shape, params=params, rngs=rngs, dt=dt, **values)
        self.v = spark.State(jnp.zeros(self.shape, jnp.float32))
        self.w = spark.State(jnp.zeros(self.shape, jnp.float32))
        self.count = spark.State(jnp.zeros((), jnp.int32))

    def __call__(self, *, dt, i_syn):
        self.v[...] = self.v[...] + i_syn
        return {"spikes": self.v[...] > 1.0}


class DenseWire(spark.Synapse):
    """Dense float32 weights and a float32 current per postsynaptic neuron."""

    name = "dense_wire"
    Params = P
    inputs = {"pre": spark.Port(spark.Spikes, "presynaptic spikes")}
    outputs = {"i": spark.Port(spark.Current, "current (pA)")}

    def __init__(self, shape, *, params=None, rngs=None, dt=None, **values):
        super().__init__(shape, params=params, rngs=rngs, dt=dt, **values)
        self.weight = spark.Weight(jnp.ones(self.shape, jnp.float32))
        self.i = spark.State(jnp.zeros(self.shape[1:], jnp.float32))

    def __call__(self, *, dt, pre):
        self.i[...] = pre.astype(jnp.float32) @ self.weight[...]
        return {"i": self.i[...]}


class NotSmall(TwoVars):
    """Refuses shapes under 10 neurons, so it cannot be probed at 1 and 2."""

    name = "not_small"

    @classmethod
    def check_shape(cls, params, shape):
        return None if math.prod(shape) >= 10 else "needs at least 10 neurons"


class BadEstimate(TwoVars):
    name = "bad_estimate"

    @classmethod
    def memory_estimate(cls, params, shape, *, dt=None, synapses=None):
        raise RuntimeError("a bug in the pack's estimate")


def _brain(reg, soma="two_vars", n_pre=30, n_post=20):
    b = spark.Brain(dt=0.1, registry=reg)
    b.add("a", soma, shape=n_pre).add("b", "two_vars", shape=n_post).add("s", "dense_wire")
    return b.connect("a.spikes", "s.pre").connect("s.i", "b.i_syn").output("spikes", "b.spikes")


@pytest.fixture
def reg():
    return isolated_registry(TwoVars, DenseWire, NotSmall, BadEstimate)


def _state_bytes(brain) -> int:
    return sum(x.nbytes for x in jax.tree.leaves(nnx.state(brain)))


def test_the_default_estimate_is_exact_for_state_linear_in_each_axis(reg, monkeypatch):
    monkeypatch.setenv("SPARK_MEMORY_LIMIT", "off")
    fp = DenseWire.memory_estimate(P(), (3000, 2000), dt=0.1)
    assert fp.state == 3000 * 2000 * 4 + 2000 * 4 and fp.synapses == 3000 * 2000
    assert TwoVars.memory_estimate(P(), (10**9,), dt=0.1).state == 8 * 10**9 + 4
    b = _brain(reg)
    est = b.estimate_memory()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b.build()
    assert est.state == _state_bytes(b)  # exact: every variable is counted, plus the brain's key and clocks


@pytest.mark.parametrize("soma", ["not_small", "bad_estimate"])
def test_a_component_that_cannot_be_probed_is_counted_as_eight_floats_per_element_and_builds(reg, soma,
                                                                                            monkeypatch):
    monkeypatch.setenv("SPARK_MEMORY_LIMIT", "off")
    b = _brain(reg, soma)
    est = b.estimate_memory()
    parts = {label.split()[1]: nbytes for _what, label, nbytes in est.parts}
    assert parts["'a'"] == 30 * 8 * 4
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b.build()
    monkeypatch.setenv("SPARK_MEMORY_LIMIT", "2GiB")
    with pytest.raises(spark.ModelMemoryError, match="node 'a'"):
        _brain(reg, soma, n_pre=10**8, n_post=1).build()  # 3.0 GiB of state x 4
