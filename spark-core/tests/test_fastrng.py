"""spark.fastrng: Spark's programs lower JAX's Threefry unrolled on CPU; the same numbers, fewer operations."""

from __future__ import annotations

import re

import jax
import numpy as np
import pytest
from brain_parts import ALL, noisy_net

from spark import brain as _brain
from spark import fastrng
from spark.testing import isolated_registry

pytestmark = pytest.mark.skipif(jax.default_backend() != "cpu", reason="the rolled loop is JAX's CPU lowering")


def draw(key):
    return jax.random.uniform(key, (3, 5)), jax.random.bernoulli(jax.random.fold_in(key, 7), 0.3, (11,))


def lowered(fn, *args):
    """``fn`` compiled afresh (JAX caches the lowering of a function it has seen: wrap it in a new one each time)."""
    return jax.jit(lambda *a: fn(*a)).lower(*args).compile()


def threefry_loops(hlo: str) -> int:
    """While loops that JAX's rolled Threefry lowering made (their op_name names the random function)."""
    return sum(1 for line in hlo.splitlines()
               if re.search(r"\bwhile\(", line) and re.search(r"threefry|_uniform|_bernoulli", line))


def test_inside_the_hash_is_unrolled_and_gives_the_same_numbers():
    key = jax.random.key(42)
    rolled = lowered(draw, key)
    with fastrng.unrolled_threefry():
        unrolled = lowered(draw, key)
    assert threefry_loops(rolled.as_text()) > 0  # JAX's own CPU lowering: a loop per draw
    assert threefry_loops(unrolled.as_text()) == 0
    for a, b in zip(rolled(key), unrolled(key), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    again = lowered(draw, key)  # after the block: JAX's lowering again
    assert threefry_loops(again.as_text()) > 0


def test_nested_and_restored():
    with fastrng.unrolled_threefry():
        with fastrng.unrolled_threefry():
            pass
        inner = lowered(lambda k: jax.random.normal(k, (4,)), jax.random.key(0))
    assert threefry_loops(inner.as_text()) == 0
    outer = lowered(lambda k: jax.random.normal(k, (4,)), jax.random.key(0))
    assert threefry_loops(outer.as_text()) > 0


def test_brain_run_compiles_unrolled_with_the_same_numbers(monkeypatch):
    """A run of a network that draws every step: its program has no Threefry loop, and its draws, spikes and
    learned weights equal those of the same run lowered as JAX lowers it (fastrng switched off)."""
    reg = isolated_registry(*ALL)
    x = np.random.default_rng(0).uniform(0.2, 0.8, size=(30, 4)).astype(np.float32)
    record = ["noise.u", "noise.spikes", "syn.weight"]
    fast = noisy_net(reg)
    got = fast.run({"p": x}, record=record)
    programs = [v for k, v in _brain._run_cache[fast].items() if isinstance(k, tuple) and len(k) > 3]
    assert programs and all(threefry_loops(p.as_text()) == 0 for p in programs)
    monkeypatch.setattr(fastrng, "_parts", lambda: None)
    plain = noisy_net(reg)
    want = plain.run({"p": x}, record=record)
    programs = [v for k, v in _brain._run_cache[plain].items() if isinstance(k, tuple) and len(k) > 3]
    assert programs and all(threefry_loops(p.as_text()) > 0 for p in programs)
    assert got["noise.spikes"].any()
    for k in record:
        np.testing.assert_array_equal(got[k], want[k], err_msg=k)
