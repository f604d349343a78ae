"""The Poisson encoder draws ``jax.random.uniform``; Spark's workloads compile the Threefry hash behind it unrolled
on CPU (``spark.fastrng``). The numbers must be the same bit for bit, for the shapes and keys the encoder meets, so
its spike trains are those JAX's own lowering gives (statistics: test_poisson.py)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from spark import fastrng
from spark_interfaces import poisson


def unrolled(fn, *args):
    with fastrng.unrolled_threefry():
        return jax.jit(lambda *a: fn(*a)).lower(*args).compile()(*args)


@pytest.mark.parametrize("shape", [(28, 28), (5,), (3, 4, 7), (1,), (1000,)])
@pytest.mark.parametrize("kind", ["typed", "raw"])
def test_unrolled_uniform_is_jax_random_uniform_bit_for_bit(shape, kind):
    for seed in range(5):
        key = jax.random.key(seed) if kind == "typed" else jax.random.PRNGKey(seed)
        key = jax.random.fold_in(key, 123 + seed)
        want = np.asarray(jax.random.uniform(key, shape))
        got = np.asarray(unrolled(lambda k: jax.random.uniform(k, shape), key))
        assert got.dtype == np.float32 and got.shape == shape
        np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))


def test_unrolled_uniform_batched():
    keys = jax.random.split(jax.random.key(7), 6)
    got = unrolled(jax.vmap(lambda k: jax.random.uniform(k, (10, 3))), keys)
    want = jax.vmap(lambda k: jax.random.uniform(k, (10, 3)))(keys)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


def test_encoder_spikes_are_those_of_jax_random_uniform():
    enc = poisson.PoissonEncoder((28, 28), max_rate=255.0)
    data = jnp.asarray(np.random.default_rng(0).random((28, 28)), jnp.float32)
    key = jax.random.fold_in(jax.random.PRNGKey(1), 5)
    spikes = np.asarray(enc(dt=1.0, data=data, key=key)["spikes"])
    np.testing.assert_array_equal(spikes, np.asarray(jax.random.uniform(key, (28, 28)) < data * 0.255))
    fast = np.asarray(unrolled(lambda d, k: enc(dt=1.0, data=d, key=k)["spikes"], data, key))
    np.testing.assert_array_equal(fast, spikes)
