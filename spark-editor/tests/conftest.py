"""Fixtures of spark-editor's tests.

The editor knows components only through a registry, so these tests bring their own small pack (below) in an
isolated registry: they pass whether or not spark-components / spark-interfaces are installed.
"""

from __future__ import annotations

import asyncio
import math

import jax
import jax.numpy as jnp
import pytest
from flax import nnx

import spark
from spark.testing import isolated_registry

DIST = "editor-test-pack"


@spark.params
class NeuronParams:
    tau_m: float = spark.param(10.0, unit="ms", doc="membrane time constant", gt=0)
    v_rest: float = spark.param(-65.0, unit="mV", doc="resting potential")
    v_thresh: float = spark.param(-50.0, unit="mV", doc="spike threshold")
    r_m: float = spark.param(0.04, unit="GOhm", doc="membrane resistance", gt=0)
    mode: str = spark.param("exact", doc="integration scheme", choices=("exact", "euler"))


class Neuron(spark.Soma):
    """Leaky integrate-and-fire test neuron.

    ``tau_m dv/dt = -(v - v_rest) + r_m i``; reset to ``v_rest`` after a spike.
    """

    name = "neuron"
    Params = NeuronParams
    inputs = {"i_syn": spark.Port(spark.Current, "input current (pA)")}
    outputs = {"spikes": spark.Port(spark.Spikes, "spikes"), "v": spark.Port(spark.Voltage, "potential (mV)")}

    def __init__(self, shape, *, params=None, rngs=None, **values):
        super().__init__(shape, params=params, rngs=rngs, **values)
        self.v = spark.State(jnp.full(self.shape, self.params.v_rest, jnp.float32))

    def __call__(self, *, dt, i_syn):
        p = self.params
        v_inf = p.v_rest + p.r_m * i_syn
        v = v_inf + (self.v[...] - v_inf) * math.exp(-dt / p.tau_m)
        spikes = v >= p.v_thresh
        v = jnp.where(spikes, p.v_rest, v)
        self.v[...] = v
        return {"spikes": spikes, "v": v}


@spark.params
class WireParams:
    weight: float = spark.param(100.0, unit="pA", doc="current per presynaptic spike")


class Wire(spark.Synapse):
    """Dense synapse whose current lasts one step: ``i = pre @ w``."""

    name = "wire"
    Params = WireParams
    inputs = {"pre": spark.Port(spark.Spikes, "presynaptic spikes", optional=False)}
    outputs = {"i": spark.Port(spark.Current, "postsynaptic current (pA)")}

    def __init__(self, shape, *, params=None, rngs=None, **values):
        super().__init__(shape, params=params, rngs=rngs, **values)
        self.weight = spark.Weight(jnp.full(self.shape, self.params.weight, jnp.float32))

    def __call__(self, *, dt, pre):
        return {"i": pre.astype(jnp.float32) @ self.weight[...]}


@spark.params
class HebbParams:
    rate: float = spark.param(0.01, unit="pA", doc="weight change per coincident pre/post spike pair", ge=0)


class Hebb(spark.LearningRule):
    """Plain Hebbian rule: ``dw = rate * pre * post``."""

    name = "hebb"
    Params = HebbParams
    inputs = {"pre": spark.Port(spark.Spikes, "presynaptic spikes"), "post": spark.Port(spark.Spikes, "postsynaptic")}
    outputs = {}

    def __call__(self, synapse, *, dt, pre, post):
        return synapse.weight[...] + self.params.rate * synapse.outer(pre.astype(jnp.float32), post.astype(jnp.float32))


@spark.params
class SpikerParams:
    rate: float = spark.param(200.0, unit="Hz", doc="firing rate at input 1", ge=0)


class Spiker(spark.Encoder):
    """Poisson spikes at ``rate * data`` Hz."""

    name = "spiker"
    Params = SpikerParams
    inputs = {"data": spark.Port(spark.Signal, "intensity in [0, 1]")}
    outputs = {"spikes": spark.Port(spark.Spikes, "spikes")}
    stochastic = True

    def __call__(self, *, dt, data, key):
        p = jnp.clip(data, 0, 1) * self.params.rate * dt * 1e-3
        return {"spikes": jax.random.uniform(key, self.shape) < p}


TEST_COMPONENTS = (Neuron, Wire, Hebb, Spiker)


def make_registry():
    return isolated_registry(*TEST_COMPONENTS, distribution=DIST, version="1.0")


@pytest.fixture
def registry():
    reg = make_registry()
    return reg


@pytest.fixture
def provider(registry):
    """A registry provider for ``create_app``; counts refreshes."""

    def provide(refresh: bool = False):
        provide.refreshes += refresh
        return registry

    provide.refreshes = 0
    return provide


def chain_model(n: int = 20, rate: float = 200.0) -> dict:
    """spiker -> wire -> neuron, driven by a constant input: a valid model of the test pack."""
    return {
        "format": "spark", "version": 1, "name": "chain", "dt": 1.0, "seed": 3,
        "nodes": [
            {"id": "enc", "component": f"{DIST}:spiker", "shape": [n], "params": {"rate": rate}},
            {"id": "syn", "component": f"{DIST}:wire", "params": {"weight": 500.0}},
            {"id": "exc", "component": f"{DIST}:neuron", "shape": [n]},
        ],
        "edges": [{"from": "enc.spikes", "to": "syn.pre"}, {"from": "syn.i", "to": "exc.i_syn"}],
        "inputs": [{"name": "stim", "to": "enc.data", "value": 1.0}],
        "outputs": [{"name": "out", "from": "exc.spikes"}],
        "editor": {"positions": {"enc": {"x": 0, "y": 0}}},
    }


@pytest.fixture
def model():
    return chain_model()


@pytest.fixture
def make_model():
    """``make_model(n=20, rate=200.0)``: a fresh valid model (see :func:`chain_model`)."""
    return chain_model


async def run_over_websocket(client, request, limit=60):
    """Send one run ``request`` over ``/api/run`` and collect the messages up to the run's end."""
    ws = await client.ws_connect("/api/run")
    await ws.send_json(request)
    msgs = []
    while True:
        msg = await asyncio.wait_for(ws.receive_json(), timeout=limit)
        msgs.append(msg)
        if msg["type"] in ("done", "stopped", "error", "problems"):
            break
    await ws.close()
    return msgs


@pytest.fixture
def run_ws():
    """:func:`run_over_websocket`, for tests: ``msgs = await run_ws(client, {"type": "start", ...})``."""
    return run_over_websocket


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives the editor in a real Chromium through Playwright")


def pytest_sessionstart(session):
    from spark.testing.require import require_for_ci

    # the notebook widgets' tests (test_jupyter.py, test_browser_jupyter.py) must run in CI, not skip
    require_for_ci("SPARK_EDITOR_REQUIRE_JUPYTER",
                   {m: "spark-editor[test]" for m in ("anywidget", "nbclient", "nbformat")})


__all__ = ["DIST", "TEST_COMPONENTS", "chain_model", "make_registry", "nnx"]
