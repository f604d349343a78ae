"""Stacked stepping (spark.stacking, issue 15) with the packs' own components: populations of LIF somas, dense and
sparse exp synapses with per-synapse delays and pair STDP, Poisson encoders (random draws per node), adaptive
thresholds held by learn switches. A compiled run equals the node-by-node run bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from flax import nnx

import spark
from spark import stacking

K = 5


def model() -> spark.Brain:
    b = spark.Brain(dt=0.1, seed=7, name="stacked")
    for i in range(K):
        b.add(f"in{i}", "poisson", shape=[20], max_rate=200.0)
        b.add(f"exc{i}", "lif", shape=[10], i_bias=370.0, v_init_jitter=10.0)
        b.add(f"ee{i}", "exp_synapse", weight=40.0, weight_init="normal", weight_std=5.0, p_connect=0.5,
              storage="sparse" if i % 2 else "dense", delay_jitter=0.3 if i % 2 else 0.0)
        b.add(f"stdp{i}", "pair_stdp", attach=f"ee{i}", a_plus=0.5, a_minus=0.5)
        b.connect(f"in{i}.spikes", f"ee{i}.pre", delay=0.1 * (i % 2))
        b.connect(f"ee{i}.i", f"exc{i}.i_syn")
        b.connect(f"in{i}.spikes", f"stdp{i}.pre").connect(f"exc{i}.spikes", f"stdp{i}.post")
        b.input(f"rate{i}", f"in{i}.data", value=0.8)
        b.add(f"ad{i}", "adaptive_lif", shape=[4], i_bias=400.0)
    b.add("rec", "exp_synapse", weight=30.0)  # exc0 -> exc3 as well: exc3 has two sources
    b.connect("exc0.spikes", "rec.pre").connect("rec.i", "exc3.i_syn")
    b.output("spikes", "exc2.spikes")
    return b.build()


RECORD = ["exc2.spikes", "exc3.v", "ee1.weight", "ee2.weight", "in4.spikes", "ad1.v", "exc0.v:mean"]


def _state(brain):
    return {"/".join(map(str, p)): np.asarray(v.get_value()) for p, v in nnx.to_flat_state(nnx.state(brain))}


@pytest.mark.parametrize("learn", [True, False])
def test_packs_components_stacked_equal_node_by_node(monkeypatch, learn):
    results = []
    for on in (False, True):
        monkeypatch.setattr(stacking, "ENABLED", on)
        b = model()
        rec = dict(b.run(steps=120, record=RECORD, learn=learn))
        results.append((rec, _state(b)))
    (r0, s0), (r1, s1) = results
    for a, c in ((r0, r1), (s0, s1)):
        assert a.keys() == c.keys()
        assert [k for k in a if not np.array_equal(a[k], c[k])] == []
    assert r0["exc2.spikes"].any() and r0["in4.spikes"].any()
    if learn:
        assert not np.array_equal(r0["ee2.weight"][0], r0["ee2.weight"][-1])
    monkeypatch.setattr(stacking, "ENABLED", True)
    groups = {frozenset(g) for g in stacking.for_brain(model()).groups}
    assert frozenset(f"exc{i}" for i in range(K)) in groups
    assert frozenset(f"in{i}" for i in range(K)) in groups
