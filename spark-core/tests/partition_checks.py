"""Run in a fresh process with 8 host devices by test_partition.py (the test process's JAX has one device already):
one network's neurons split over meshes of 8, 4 and 2 devices (spark.sharding.neuron_mesh) against the unsplit run,
the compiled programs' collectives, and the refusals. Prints one JSON line of results."""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from pathlib import Path

import jax
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from brain_parts import ALL, Linear, Relay

import spark
from spark import brain as _brain
from spark.sharding import neuron_mesh
from spark.testing import isolated_registry

COLLECTIVES = ("all-gather", "all-reduce", "all-to-all", "collective-permute", "reduce-scatter")
RECORD = ["noise.spikes", "noise.u", "syn.weight", "rule.updates", "post.spikes", "rec.weight", "rule2.updates",
          "out.y", "grid.y", "clock.spikes"]


class WholeLinear(Linear):
    """Linear without the declaration: it cannot be split."""

    name = "whole_linear"
    partitionable = False


class WholeRelay(Relay):
    """Relay without the declaration: it runs whole on every device."""

    name = "whole_relay"
    partitionable = False


REG = isolated_registry(*ALL, WholeLinear, WholeRelay)


def net(post: int = 16, seed: int = 3) -> spark.Brain:
    """Noise (random each step: runs whole) -> plastic synapse -> a split population with a plastic recurrent
    synapse (delayed), a relay, a 2-D population, a clock."""
    b = spark.Brain(dt=0.5, seed=seed, registry=REG)
    b.add("noise", "noise", shape=12).add("syn", "linear", weight=0.2)
    b.add("post", "threshold", shape=post, v_thresh=0.3).add("out", "relay", shape=post)
    b.add("rule", "hebb", attach="syn", rate=0.01)
    b.add("rec", "linear", weight=0.05).add("rule2", "hebb", attach="rec", rate=0.01)
    b.add("g", "linear", weight=0.3).add("grid", "relay", shape=[8, 3]).add("clock", "clock", shape=8, period=3)
    b.connect("noise.spikes", "syn.pre", delay=1.0).connect("syn.i", "post.x").connect("syn.i", "out.x")
    b.connect("post.spikes", "rec.pre", delay=1.0).connect("rec.i", "post.x")
    b.connect("post.spikes", "rule2.pre").connect("post.spikes", "rule2.post")
    b.connect("noise.spikes", "rule.pre").connect("post.spikes", "rule.post")
    b.connect("post.spikes", "g.pre").connect("g.i", "grid.x")
    b.input("p", "noise.data").input("bias", "out.x").output("y", "out.y")
    return b.build()


def inputs(steps: int = 30, post: int = 16) -> dict:
    rng = np.random.default_rng(0)
    return {"p": rng.uniform(0.2, 0.8, size=(steps, 12)).astype(np.float32),
            "bias": rng.uniform(0, 1, size=(post,)).astype(np.float32)}


def same(a, b) -> bool:
    return set(a) == set(b) and all(np.array_equal(np.asarray(a[k]), np.asarray(b[k])) for k in a)


def programs(brain) -> list[str]:
    return [fn.as_text() for fn in _brain._run_cache[brain].values() if hasattr(fn, "as_text")]


def error(fn) -> str:
    try:
        fn()
    except spark.SparkError as exc:
        return str(exc)
    return "no error"


def main() -> dict:
    x = inputs()
    out: dict = {"devices": jax.device_count()}
    ref = net().run(x, record=RECORD)
    out["active"] = bool(ref["post.spikes"].any() and not ref["post.spikes"].all())
    out["plastic"] = bool(not np.array_equal(ref["syn.weight"][0], ref["syn.weight"][-1])
                          and not np.array_equal(ref["rec.weight"][0], ref["rec.weight"][-1]))
    b = net()
    out["equal_8_None"] = same(b.run(x, record=RECORD, mesh=neuron_mesh()), ref)
    out["state_after_8"] = same({k: v[...] for k, v in nnx_flat(b).items()}, nnx_flat_values(net_after(x)))
    out["equal_8_10"] = same(net().run(x, record=RECORD, mesh=neuron_mesh(), chunk=10), ref)
    parts = list(net().run_iter(x, record=RECORD, mesh=neuron_mesh(), chunk=10))
    out["equal_run_iter"] = same({k: np.concatenate([p[k] for p in parts]) for k in RECORD}, ref)
    for k in (4, 2, 1):
        out[f"equal_{k}_None"] = same(net().run(x, record=RECORD, mesh=neuron_mesh(k)), ref)
    kw = dict(steps=20, record=RECORD, learn=False)
    c = {"p": x["p"][0], "bias": x["bias"]}
    out["equal_consts_learn_off"] = same(net().run(c, mesh=neuron_mesh(), **kw), net().run(c, **kw))
    # a run split, then on: the same as the unsplit run continued (the state stays whole, held split)
    a, u = net(), net()
    a.run(x, mesh=neuron_mesh())
    u.run(x)
    out["equal_continued_split"] = same(a.run(x, record=RECORD, mesh=neuron_mesh()), u.run(x, record=RECORD))
    out["equal_continued_unsplit"] = same(a.run(x, record=RECORD), u.run(x, record=RECORD))
    with tempfile.TemporaryDirectory() as tmp:
        # across a save/restore: saved from a run on 8 devices, restored and run on 4, 1 (unsplit) and 8
        s = net()
        s.run(x, mesh=neuron_mesh())
        s.save_state(Path(tmp) / "s.npz")
        cont = {k: net().load_state(Path(tmp) / "s.npz").run(x, record=RECORD, mesh=m)
                for k, m in (("4", neuron_mesh(4)), ("8", neuron_mesh()), ("1", None))}
        out["equal_after_restore"] = same(cont["4"], cont["1"]) and same(cont["8"], cont["1"])
        plain = net()
        plain.run(x)
        out["equal_after_restore_vs_plain"] = same(cont["1"], plain.run(x, record=RECORD))
        streamed = net().run(x, record=RECORD, mesh=neuron_mesh(), chunk=10, out=Path(tmp) / "rec")
        out["equal_streamed"] = same(spark.load_recording(Path(tmp) / "rec", mmap=False), ref) and same(streamed, ref)
    # what crosses devices: all-gathers of bit-packed spikes (uint8), one per split source read whole, nothing else
    found = {c: sum(t.count(f" {c}(") + t.count(f" {c}-start(") for t in programs(b)) for c in COLLECTIVES}
    gathers = sorted({g for t in programs(b) for g in re.findall(r"= (\S+) all-gather(?:-start)?\(", t)})
    out["collectives"] = found
    out["gathers"] = gathers
    out["gathers_per_program"] = [len(re.findall(r"= \S+ all-gather(?:-start)?\(", t)) for t in programs(b)]
    # a population whose nodes do not declare they split runs whole; values it reads are gathered, it feeds cut
    def whole_net():
        w = spark.Brain(dt=0.5, seed=1, registry=REG)
        w.add("noise", "noise", shape=8).add("syn", "linear", weight=0.4).add("post", "threshold", shape=16)
        w.add("whole", "whole_relay", shape=16).add("back", "relay", shape=16)
        w.connect("noise.spikes", "syn.pre").connect("syn.i", "post.x").connect("syn.i", "whole.x")
        w.connect("whole.y", "back.x")
        return w.input("p", "noise.data").output("y", "back.y").build()

    rw = ["post.spikes", "whole.y", "back.y"]
    out["equal_whole_population"] = same(whole_net().run({"p": x["p"][:, :8]}, record=rw, mesh=neuron_mesh()),
                                         whole_net().run({"p": x["p"][:, :8]}, record=rw))
    # two populations of one component, shape and params (an unsplit run steps them stacked: spark.stacking)
    def twins():
        t = spark.Brain(dt=0.5, seed=4, registry=REG)
        t.add("noise", "noise", shape=12)
        for k in ("a", "b"):
            t.add(f"s{k}", "linear", weight=0.2).add(k, "threshold", shape=16, v_thresh=0.3)
            t.add(f"r{k}", "hebb", attach=f"s{k}", rate=0.01)
            t.connect("noise.spikes", f"s{k}.pre").connect(f"s{k}.i", f"{k}.x")
            t.connect("noise.spikes", f"r{k}.pre").connect(f"{k}.spikes", f"r{k}.post")
        t.add("ab", "linear", weight=0.1).add("ba", "linear", weight=0.1)
        t.connect("a.spikes", "ab.pre").connect("ab.i", "b.x").connect("b.spikes", "ba.pre").connect("ba.i", "a.x")
        return t.input("p", "noise.data").output("a", "a.spikes").build()

    rt = ["a.spikes", "b.spikes", "sa.weight", "sb.weight"]
    out["equal_twins"] = same(twins().run({"p": x["p"]}, record=rt, mesh=neuron_mesh()),
                              twins().run({"p": x["p"]}, record=rt))
    # refusals, before anything runs
    out["indivisible"] = error(lambda: net(post=12).run(inputs(post=12), mesh=neuron_mesh()))
    out["batched"] = error(lambda: net().run({k: v[None] for k, v in x.items()}, batched=True, mesh=neuron_mesh()))
    out["reduced_record"] = error(lambda: net().run(x, record=["post.spikes:rate"], mesh=neuron_mesh()))
    u2 = spark.Brain(dt=0.5, registry=REG)
    u2.add("a", "clock", shape=8).add("s", "whole_linear").add("b", "threshold", shape=8)
    u2.connect("a.spikes", "s.pre").connect("s.i", "b.x").output("b", "b.spikes").build()
    out["undeclared_synapse"] = error(lambda: u2.run(steps=3, mesh=neuron_mesh()))
    return out


def nnx_flat(brain) -> dict:
    from flax import nnx

    return {"/".join(map(str, p)): v for p, v in nnx.to_flat_state(nnx.state(brain))}


def nnx_flat_values(brain) -> dict:
    return {k: v[...] for k, v in nnx_flat(brain).items()}


def net_after(x) -> spark.Brain:
    b = net()
    b.run(x)
    return b


if __name__ == "__main__":
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"  # read when JAX first uses a device
    print(json.dumps(main()))
