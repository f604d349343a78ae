"""Tiny components with trivially known behaviour, for testing Brain's wiring and time semantics."""

from __future__ import annotations

import jax
import jax.numpy as jnp

import spark


@spark.params
class ClockParams:
    period: int = spark.param(5, unit="steps", doc="spike every `period` steps", ge=1)
    phase: int = spark.param(0, unit="steps", doc="first spike step", ge=0)


class Clock(spark.Soma):
    """Every neuron spikes at steps phase, phase + period, ..."""

    name = "clock"
    partitionable = True  # per neuron (per postsynaptic neuron): splits across devices
    Params = ClockParams
    inputs = {}
    outputs = {"spikes": spark.Port(spark.Spikes)}

    def __init__(self, shape, *, params=None, rngs=None, **values):
        super().__init__(shape, params=params, rngs=rngs, **values)
        self.step = spark.State(jnp.zeros((), jnp.int32))

    def __call__(self, *, dt):
        k = self.step[...]
        self.step[...] = k + 1
        fire = (k >= self.params.phase) & ((k - self.params.phase) % self.params.period == 0)
        return {"spikes": jnp.broadcast_to(fire, self.shape)}


@spark.params
class RelayParams:
    gain: float = spark.param(1.0, doc="output = gain * input")


class Relay(spark.Soma):
    """Passes its summed current input on within the same step, and keeps the last value."""

    name = "relay"
    partitionable = True  # per neuron (per postsynaptic neuron): splits across devices
    Params = RelayParams
    inputs = {"x": spark.Port(spark.Current)}
    outputs = {"y": spark.Port(spark.Current)}

    def __init__(self, shape, *, params=None, rngs=None, **values):
        super().__init__(shape, params=params, rngs=rngs, **values)
        self.last = spark.State(jnp.zeros(self.shape, jnp.float32))

    def __call__(self, *, dt, x):
        self.last[...] = x * self.params.gain
        return {"y": self.last[...]}


@spark.params
class LinearParams:
    weight: float = spark.param(1.0, unit="pA", doc="initial weight of every synapse")


class Linear(spark.Synapse):
    """Current = pre spikes @ weight (no dynamics)."""

    name = "linear"
    partitionable = True  # per neuron (per postsynaptic neuron): splits across devices
    Params = LinearParams
    inputs = {"pre": spark.Port(spark.Spikes, optional=False)}
    outputs = {"i": spark.Port(spark.Current)}

    def __init__(self, shape, *, params=None, rngs=None, **values):
        super().__init__(shape, params=params, rngs=rngs, **values)
        key = (rngs or __import__("flax").nnx.Rngs(0)).params()
        jitter = 1e-3 * jax.random.uniform(key, self.shape)  # makes the seed visible in the weights
        self.weight = spark.Weight(self.params.weight + jitter)

    def __call__(self, *, dt, pre):
        return {"i": pre.astype(jnp.float32) @ self.weight[...]}


@spark.params
class NoiseParams:
    scale: float = spark.param(1.0, doc="output = scale * U(0, 1)", ge=0)


class Noise(spark.Encoder):
    """Uniform noise each step from the key the Brain hands it; spikes where the noise exceeds the data input."""

    name = "noise"
    Params = NoiseParams
    inputs = {"data": spark.Port(spark.Signal)}
    outputs = {"spikes": spark.Port(spark.Spikes), "u": spark.Port(spark.Signal)}
    stochastic = True

    def __call__(self, *, dt, data, key):
        u = self.params.scale * jax.random.uniform(key, self.shape)
        return {"spikes": u < data, "u": u}


@spark.params
class HebbParams:
    rate: float = spark.param(0.5, unit="pA", doc="weight change per coincident pre/post spike pair", ge=0)


class Hebb(spark.LearningRule):
    """w += rate * pre * post."""

    name = "hebb"
    partitionable = True  # per neuron (per postsynaptic neuron): splits across devices
    Params = HebbParams
    inputs = {"pre": spark.Port(spark.Spikes, optional=False), "post": spark.Port(spark.Spikes, optional=False)}
    outputs = {}

    def __init__(self, shape, *, params=None, rngs=None, **values):
        super().__init__(shape, params=params, rngs=rngs, **values)
        self.updates = spark.State(jnp.zeros((), jnp.int32))

    def __call__(self, synapse, *, dt, pre, post):
        self.updates[...] = self.updates[...] + 1
        return synapse.weight[...] + self.params.rate * synapse.outer(pre.astype(jnp.float32), post.astype(jnp.float32))


@spark.params
class ThresholdParams:
    v_thresh: float = spark.param(0.5, unit="pA", doc="spike when the input exceeds this")


class Threshold(spark.Soma):
    """Spikes where the input current exceeds v_thresh (same step)."""

    name = "threshold"
    partitionable = True  # per neuron (per postsynaptic neuron): splits across devices
    Params = ThresholdParams
    inputs = {"x": spark.Port(spark.Current)}
    outputs = {"spikes": spark.Port(spark.Spikes)}

    def __call__(self, *, dt, x):
        return {"spikes": x > self.params.v_thresh}


ALL = [Clock, Relay, Linear, Noise, Hebb, Threshold]


def noisy_net(reg, seed=3):
    """Noise -> spikes -> plastic synapse (Hebb) -> threshold and relay: randomness, a delay, learning, state."""
    b = spark.Brain(dt=0.5, seed=seed, registry=reg)
    b.add("noise", "noise", shape=4).add("syn", "linear", weight=0.2).add("post", "threshold", shape=3, v_thresh=0.3)
    b.add("rule", "hebb", attach="syn", rate=0.01).add("out", "relay", shape=3)
    b.connect("noise.spikes", "syn.pre", delay=1.0).connect("syn.i", "post.x").connect("syn.i", "out.x")
    b.connect("noise.spikes", "rule.pre").connect("post.spikes", "rule.post")
    b.input("p", "noise.data").output("y", "out.y")
    return b.build()


def set_at(path, value):
    """A document edit for bad-file tests: ``set_at(["nodes", 0, "shape"], -1)(doc)`` sets that entry."""
    def fn(doc):
        target = doc
        for p in path[:-1]:
            target = target[p]
        target[path[-1]] = value
    return fn
