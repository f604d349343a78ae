"""The Poisson encoder's unrolled Threefry draw (``spark_interfaces.poisson.threefry_uniform``) gives exactly the
numbers of ``jax.random.uniform``, so its spike trains are those it gave before (statistics: spark-interfaces'
test_poisson.py)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from spark_interfaces import poisson


@pytest.mark.parametrize("shape", [(28, 28), (5,), (3, 4, 7), (1,), (1000,)])
@pytest.mark.parametrize("kind", ["typed", "raw"])
def test_threefry_uniform_is_jax_random_uniform_bit_for_bit(shape, kind):
    for seed in range(5):
        key = jax.random.key(seed) if kind == "typed" else jax.random.PRNGKey(seed)
        key = jax.random.fold_in(key, 123 + seed)
        want = np.asarray(jax.random.uniform(key, shape))
        got = np.asarray(jax.jit(poisson.threefry_uniform, static_argnums=1)(key, shape))
        assert got.dtype == np.float32 and got.shape == shape
        np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))


def test_threefry_uniform_batched_and_other_keys():
    keys = jax.random.split(jax.random.key(7), 6)
    got = jax.vmap(lambda k: poisson.threefry_uniform(k, (10, 3)))(keys)
    want = jax.vmap(lambda k: jax.random.uniform(k, (10, 3)))(keys)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
    rbg = jax.random.key(3, impl="rbg")  # not Threefry: handed to jax.random.uniform
    np.testing.assert_array_equal(np.asarray(poisson.threefry_uniform(rbg, (9,))),
                                  np.asarray(jax.random.uniform(rbg, (9,))))


def test_encoder_spikes_are_those_of_jax_random_uniform():
    enc = poisson.PoissonEncoder((28, 28), max_rate=255.0)
    data = jnp.asarray(np.random.default_rng(0).random((28, 28)), jnp.float32)
    key = jax.random.fold_in(jax.random.PRNGKey(1), 5)
    spikes = np.asarray(enc(dt=1.0, data=data, key=key)["spikes"])
    np.testing.assert_array_equal(spikes, np.asarray(jax.random.uniform(key, (28, 28)) < data * 0.255))
