"""Nodes of the same component, shape and params stepped together (spark.stacking, issue 15): a compiled run gives
the node-by-node step's results bit for bit (recordings, final state, random draws, learning, delays, save / load),
while users see one node per id. Timings are in benchmarks/graph_scale.py; these tests check results only.
"""

from __future__ import annotations

import numpy as np
import pytest
from brain_parts import ALL
from flax import nnx

import spark
from spark import stacking
from spark.testing import isolated_registry

K = 6  # members per group


@pytest.fixture
def reg():
    return isolated_registry(*ALL)


@pytest.fixture
def per_node(monkeypatch):
    """Run a function with stacking off, then on; return both results."""
    def both(fn):
        monkeypatch.setattr(stacking, "ENABLED", False)
        off = fn()
        monkeypatch.setattr(stacking, "ENABLED", True)
        on = fn()
        return off, on
    return both


def mixed(reg) -> spark.Brain:
    """Groups (noise encoders, synapses with rules, relays, thresholds, clocks), singletons (params that differ),
    delays that differ within a group, a synapse with two rules, a relay fed by two sources, inputs."""
    b = spark.Brain(dt=0.1, seed=3, registry=reg)
    for i in range(K):
        b.add(f"n{i}", "noise", shape=[4], scale=1.0)
        b.add(f"s{i}", "linear", weight=0.3)
        b.add(f"r{i}", "relay", shape=[3])
        b.add(f"th{i}", "threshold", v_thresh=0.2)
        b.add(f"h{i}", "hebb", attach=f"s{i}", rate=0.01)
        b.connect(f"n{i}.spikes", f"s{i}.pre", delay=0.1 * (i % 3))  # spikes: 1 to 3 steps, per member
        b.connect(f"s{i}.i", f"r{i}.x")
        b.connect(f"r{i}.y", f"th{i}.x")
        b.connect(f"n{i}.spikes", f"h{i}.pre").connect(f"th{i}.spikes", f"h{i}.post")
        b.add(f"c{i}", "clock", shape=[3], period=3 if i < K - 1 else 4)  # the last one alone
    b.add("h_extra", "hebb", attach="s1", rate=0.02)  # a second rule on s1: runs after h1
    b.connect("n1.spikes", "h_extra.pre").connect("th1.spikes", "h_extra.post")
    b.add("r_alone", "relay", shape=[3], gain=2.0)
    b.connect("s0.i", "r_alone.x").connect("s2.i", "r_alone.x")  # two sources, summed in order
    b.add("cs", "linear", weight=0.5)
    b.connect("c0.spikes", "cs.pre").connect("cs.i", "r4.x")  # r4: two sources, one a node alone
    for i in range(K):
        b.input(f"d{i}", f"n{i}.data", value=0.4)
    b.input("extra", "r5.x")
    b.output("th", "th3.spikes")
    return b.build()


RECORD = ["th3.spikes", "r2.y", "r2.last", "s1.weight", "n4.u", "c5.spikes", "r_alone.y", "h1.updates",
          "th0.spikes:rate", "r4.y@5", "n0.spikes[0:2]"]


def _state(brain):
    return {"/".join(map(str, p)): np.asarray(v.get_value()) for p, v in nnx.to_flat_state(nnx.state(brain))}


def _same(a: dict, b: dict):
    assert a.keys() == b.keys()
    bad = [k for k in a if not (np.asarray(a[k]).dtype == np.asarray(b[k]).dtype and np.array_equal(a[k], b[k]))]
    assert not bad, f"differ: {bad}"


def test_groups_are_found(reg):
    b = mixed(reg)
    s = stacking.for_brain(b)
    groups = {tuple(sorted(g)) for g in s.groups}
    assert tuple(sorted(f"n{i}" for i in range(K))) in groups
    assert tuple(sorted(f"s{i}" for i in range(K))) in groups
    assert tuple(sorted(f"h{i}" for i in range(K))) in groups  # rules on the members of one group
    assert tuple(sorted(f"c{i}" for i in range(K - 1))) in groups  # c5 has another period
    assert not any("r_alone" in g or "h_extra" in g or "cs" in g for g in groups)


def test_a_run_equals_the_node_by_node_run(reg, per_node):
    def go():
        b = mixed(reg)
        rng = np.random.default_rng(0)
        rec = b.run({"extra": rng.normal(size=(40, 3)).astype(np.float32)}, record=RECORD)
        rec2 = b.run(steps=7, record=RECORD[:3])  # continues from the state the first run left
        return dict(rec), dict(rec2), _state(b)

    off, on = per_node(go)
    for a, c in zip(off, on, strict=True):
        _same(a, c)
    assert off[0]["s1.weight"][0].tolist() != off[0]["s1.weight"][-1].tolist()  # learning happened
    assert off[0]["n4.u"].std() > 0  # random draws


@pytest.mark.parametrize("learn", [False, {"h2": False, "h_extra": False}, {"s3.weight": False}])
def test_learning_switches_equal_the_node_by_node_run(reg, per_node, learn):
    def go():
        b = mixed(reg)
        return dict(b.run(steps=30, record=RECORD, learn=learn)), _state(b)

    off, on = per_node(go)
    _same(off[0], on[0])
    _same(off[1], on[1])


def test_chunked_and_batched_runs_equal_the_node_by_node_runs(reg, per_node):
    data = np.random.default_rng(1).uniform(size=(3, 20, 4)).astype(np.float32)

    def go():
        b = mixed(reg)
        chunked = dict(b.run(steps=20, record=RECORD, chunk=10))
        batched = dict(b.run({"d2": data}, record=RECORD, batched=True))
        carried = [dict(r) for r in b.run_iter({"d2": data}, record=RECORD, batched=True, chunk=10)]
        return chunked, batched, carried, _state(b)

    off, on = per_node(go)
    _same(off[0], on[0])
    _same(off[1], on[1])
    for a, c in zip(off[2], on[2], strict=True):
        _same(a, c)
    _same(off[3], on[3])


def test_state_files_stay_per_node_and_resume_exactly(reg, per_node, tmp_path):
    def go():
        b = mixed(reg)
        b.run(steps=13, record=[])
        path = tmp_path / f"state_{stacking.ENABLED}.npz"
        b.save_state(path)
        again = mixed(reg).load_state(path)
        return _state(b), dict(again.run(steps=9, record=RECORD)), sorted(np.load(path).files)

    off, on = per_node(go)
    _same(off[0], on[0])
    _same(off[1], on[1])
    assert off[2] == on[2]
    assert "nodes/n3/__no_such__" not in on[2] and any(k.startswith("nodes/s4/") for k in on[2])


def test_many_unconnected_nodes_make_one_group(reg):
    b = spark.Brain(dt=0.1, registry=reg)
    for i in range(300):
        b.add(f"c{i}", "clock", shape=[1], period=2 + i % 3)
    b.output("c", "c7.spikes")
    b.build()
    assert stacking.group_sizes(b) == [100, 100, 100]
    rec = b.run(steps=12, record=["c7.spikes", "c8.step"])
    assert rec["c7.spikes"][:, 0].tolist() == [k % 3 == 0 for k in range(12)]  # period 3 (7 % 3 == 1)
    assert rec["c8.step"].tolist() == list(range(1, 13))
    assert int(b.nodes["c299"].step[...]) == 12  # the brain's own modules hold the state after the run


def test_the_brain_holds_each_chunks_state_when_someone_looks(reg):
    b = spark.Brain(dt=0.1, registry=reg)
    for i in range(4):
        b.add(f"c{i}", "clock", shape=[2])
    b.output("c", "c0.spikes")
    b.build()
    seen = []
    b.run(steps=30, chunk=10, on_chunk=lambda rec: seen.append(int(b.nodes["c3"].step[...])))
    assert seen == [10, 20, 30]
    it = b.run_iter(steps=30, chunk=10)
    next(it)
    assert int(b.nodes["c2"].step[...]) == 40
    it.close()
    assert int(b.nodes["c1"].step[...]) == 40  # the chunk received, not the one computed ahead
    b.run(steps=25, chunk=5)  # unpacked once, at the end
    assert [int(b.nodes[f"c{i}"].step[...]) for i in range(4)] == [int(b.nodes["c0"].step[...])] * 4


def test_errors_name_the_node(reg):
    b = spark.Brain(dt=0.1, registry=reg)
    for i in range(3):
        b.add(f"r{i}", "relay", shape=[2])
    b.input("x", "r1.x")
    b.output("y", "r1.y")
    b.build()
    with pytest.raises(spark.GraphError, match=r"cannot record 'r9\.y'"):
        b.run(steps=2, record=["r9.y"])
    with pytest.raises(spark.GraphError, match="unknown input"):
        b.run({"nope": 1.0}, steps=2)


@spark.params
class _EchoParams:
    gain: float = spark.param(2.0, doc="output = gain * input")


class _Echo(spark.Soma):
    """A step ``vmap`` cannot batch (an ordered host callback): its group is stepped node by node."""

    name = "echo"
    Params = _EchoParams
    inputs = {"x": spark.Port(spark.Current)}
    outputs = {"y": spark.Port(spark.Current)}

    def __init__(self, shape, *, params=None, rngs=None, **values):
        super().__init__(shape, params=params, rngs=rngs, **values)
        self.total = spark.State(np.zeros(self.shape, np.float32))

    def __call__(self, *, dt, x):
        import jax
        from jax.experimental import io_callback

        gain = self.params.gain
        y = io_callback(lambda a: (np.asarray(a) * gain).astype(np.float32),
                        jax.ShapeDtypeStruct(x.shape, np.float32), x, ordered=True)
        self.total[...] = self.total[...] + y
        return {"y": y}


def test_a_step_vmap_cannot_batch_is_stepped_node_by_node(per_node):
    reg = isolated_registry(*ALL, _Echo)

    def go():
        b = spark.Brain(dt=0.1, registry=reg)
        for i in range(3):
            b.add(f"e{i}", "echo", shape=[2])
            b.input(f"x{i}", f"e{i}.x")
        b.output("y", "e1.y")
        b.build()
        assert [sorted(g) for g in stacking.Stacker(b).groups] == [["e0", "e1", "e2"]]
        xs = {f"x{i}": np.arange(10 * 2, dtype=np.float32).reshape(10, 2) + i for i in range(3)}
        return dict(b.run(xs, record=["e1.y", "e2.total"])), _state(b)

    off, on = per_node(go)
    _same(off[0], on[0])
    _same(off[1], on[1])
    assert on[0]["e1.y"][3].tolist() == [2 * 7.0, 2 * 8.0]


def test_large_members_are_stacked_and_cut_where_they_are(reg, per_node, monkeypatch):
    monkeypatch.setattr(stacking, "DEVICE_BYTES", 0)  # every member counts as large: jnp.stack and a compiled cut

    def go():
        b = mixed(reg)
        rec = dict(b.run(steps=12, record=RECORD[:6]))
        return rec, _state(b)

    off, on = per_node(go)
    _same(off[0], on[0])
    _same(off[1], on[1])
