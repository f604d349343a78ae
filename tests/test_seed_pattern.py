"""The seed README's split/merge pattern works unchanged on a Brain built from a .spark file."""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

import spark

MODEL = Path(__file__).parent / "data" / "two_inputs.spark"


def test_seed_readme_pattern():
    model = spark.Brain.from_file(MODEL)
    graph, state = nnx.split(model)

    @jax.jit
    def run_model(state, input_a, input_b):
        model = nnx.merge(graph, state)
        out = model(input_a=input_a, input_b=input_b)
        _, state = nnx.split(model)
        return out, state

    input_a, input_b = jnp.full((20,), 0.8), jnp.full((10,), 0.6)
    outs = []
    for _ in range(300):  # calling again with the returned state continues the simulation
        out, state = run_model(state, input_a, input_b)
        outs.append(out)
    spikes = np.stack([np.asarray(o["spikes"]) for o in outs])
    count = np.asarray(outs[-1]["count"])
    assert spikes.shape == (300, 15) and outs[-1]["v"].shape == (15,)
    assert spikes.sum() > 0, "the inputs must drive the neurons"
    # state carries across calls: counts accumulate (spikes reach the counter one step later)
    np.testing.assert_array_equal(count, spikes[:-1].sum(axis=0))

    # the same 300 steps through brain.run give the same spikes: the pattern continues the simulation exactly
    again = spark.Brain.from_file(MODEL)
    ran = again.run({"input_a": np.full((20,), 0.8), "input_b": np.full((10,), 0.6)}, steps=300,
                    record=["neurons.spikes"])
    np.testing.assert_array_equal(ran["neurons.spikes"], spikes)

    # merged state back into the model: time advanced by 300 steps
    nnx.update(model, state)
    assert int(model.t[...]) == 300


def test_graph_as_a_jit_argument_also_works():
    model = spark.Brain.from_file(MODEL)
    graph, state = nnx.split(model)

    @jax.jit
    def step(graph, state, input_a):
        model = nnx.merge(graph, state)
        out = model(input_a=input_a)  # input_b falls back to its declared value
        graph, state = nnx.split(model)
        return out, graph, state

    out, graph, state = step(graph, state, jnp.ones(20))
    _, graph, state = step(graph, state, jnp.ones(20))
    assert int(nnx.merge(graph, state).t[...]) == 2
