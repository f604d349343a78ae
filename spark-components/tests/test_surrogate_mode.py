"""Surrogate mode changes nothing in the forward pass: the LIF-family somas with a surrogate give the same spikes,
potentials and thresholds, and a network with local learning (pair STDP) the same weights, bit for bit, on the
native and the pure-JAX paths, single and batched."""

from __future__ import annotations

import numpy as np
import pytest

import spark
from spark_components import native, projection

PATHS = ["jax"] + (["native"] if native.kernels() else [])


def learning_brain(soma: str, surrogate: str | None) -> spark.Brain:
    brain = (spark.Brain(dt=0.5, seed=4)
             .add("inp", "lif", shape=60, t_ref=1.0, v_init_jitter=15.0)
             .add("syn", "exp_synapse", shape=(60, 30), storage="sparse", p_connect=0.3, weight_init="uniform",
                  weight=150.0, weight_std=60.0)
             .add("stdp", "pair_stdp", attach="syn", a_plus=5.0, a_minus=5.5, w_min=0.0, w_max=400.0)
             .add("exc", soma, shape=30, v_init=-60.0)
             .connect("inp.spikes", "syn.pre").connect("syn.i", "exc.i_syn")
             .connect("inp.spikes", "stdp.pre").connect("exc.spikes", "stdp.post")
             .input("drive", "inp.i_syn").output("spikes", "exc.spikes"))
    if surrogate is not None:
        brain.use_surrogate(surrogate, slope=0.3)
    return brain.build()


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("soma", ["lif", "adaptive_lif_cond"])
def test_forward_and_local_learning_are_bit_identical_with_the_surrogate_on(soma, path, monkeypatch):
    monkeypatch.setattr(projection, "USE_NATIVE", path == "native")
    drive = np.random.default_rng(0).uniform(200.0, 600.0, (2, 300, 60)).astype(np.float32)
    record = ["exc.spikes", "exc.v", "inp.spikes", "syn.i", "syn.weight@75"]
    if soma.startswith("adaptive"):
        record.append("exc.theta")
    runs = {}
    for s in (None, "arctan"):
        single = learning_brain(soma, s).run({"drive": drive[0]}, record=record)
        batched = learning_brain(soma, s).run({"drive": drive}, record=record, batched=True)
        runs[s] = (single, batched)
    off_single, off_batched = runs[None]
    assert off_single["exc.spikes"].sum() > 20 and off_single["inp.spikes"].sum() > 200, "the network is active"
    w = off_single["syn.weight@75"]
    assert not np.array_equal(w[0], w[-1]), "STDP changed the weights"
    for s in ("arctan",):
        on_single, on_batched = runs[s]
        assert on_single["exc.spikes"].dtype == np.float32, "surrogate spikes are float 0/1"
        for key in record:
            for on, off in ((on_single, off_single), (on_batched, off_batched)):
                np.testing.assert_array_equal(np.asarray(on[key], off[key].dtype), off[key], err_msg=f"{s} {key}")


@pytest.mark.parametrize("soma", ["lif", "lif_cond", "adaptive_lif", "adaptive_lif_cond"])
def test_every_surrogate_soma_passes_the_component_contract_with_it_on(soma):
    from spark.testing import check_component

    cls = spark.default_registry().resolve(soma).cls
    check_component(cls, params={"surrogate": "triangle", "surrogate_slope": 0.4})
