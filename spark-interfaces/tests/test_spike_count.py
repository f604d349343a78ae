"""Tests of SpikeCount against numpy: a cumulative sum (window = 0) or a sliding-window sum (window = k)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

import spark
from spark.testing import simulate
from spark_interfaces.spike_count import SpikeCount


def sliding_sum(raster, window):
    """``out[t] = raster[max(0, t - window + 1): t + 1].sum(0)``; ``window = 0``: since the start."""
    c = np.cumsum(raster.astype(np.int64), axis=0)
    if window == 0:
        return c
    shifted = np.concatenate([np.zeros((window, *raster.shape[1:]), np.int64), c[:-window]]) if window < len(c) \
        else np.zeros_like(c)
    return c - shifted


def random_raster(seed, steps, shape, p):
    return np.random.default_rng(seed).random((steps, *shape)) < p


@pytest.mark.parametrize("shape", [(7,), (3, 4)])
def test_window_zero_counts_since_start(shape):
    raster = random_raster(0, 500, shape, 0.3)
    counter = SpikeCount(shape)
    count = simulate(counter, 1.0, {"spikes": jnp.asarray(raster)})["count"]
    assert count.dtype == np.float32 and count.shape == (500, *shape)
    np.testing.assert_array_equal(count, sliding_sum(raster, 0))
    np.testing.assert_array_equal(np.asarray(counter.count[...]), raster.sum(0))


@pytest.mark.parametrize("window", [1, 2, 5, 37, 499, 500, 800])
@pytest.mark.parametrize("shape", [(6,), (2, 5)])
def test_window_k_is_a_sliding_sum(window, shape):
    raster = random_raster(window, 500, shape, 0.4)
    count = simulate(SpikeCount(shape, window=window), 0.1, {"spikes": jnp.asarray(raster)})["count"]
    np.testing.assert_array_equal(count, sliding_sum(raster, window))


def test_window_one_is_the_current_step():
    raster = random_raster(1, 200, (10,), 0.5)
    count = simulate(SpikeCount((10,), window=1), 1.0, {"spikes": jnp.asarray(raster)})["count"]
    np.testing.assert_array_equal(count, raster.astype(np.float32))


def test_counting_continues_across_runs():
    """State carries over: two runs of 150 steps equal one of 300 (the ring buffer's cursor included)."""
    raster = jnp.asarray(random_raster(2, 300, (5,), 0.3))
    whole = simulate(SpikeCount((5,), window=23), 1.0, {"spikes": raster})["count"]
    counter = SpikeCount((5,), window=23)
    first = simulate(counter, 1.0, {"spikes": raster[:150]})["count"]
    second = simulate(counter, 1.0, {"spikes": raster[150:]})["count"]
    np.testing.assert_array_equal(np.concatenate([first, second]), whole)


def test_eager_steps_equal_scan():
    raster = random_raster(3, 60, (4,), 0.5)
    counter = SpikeCount((4,), window=7)
    eager = np.stack([np.asarray(counter(dt=1.0, spikes=jnp.asarray(r))["count"]) for r in raster])
    np.testing.assert_array_equal(eager, sliding_sum(raster, 7))


@pytest.mark.parametrize("values, needles", [
    (dict(window=-1), ["spike_count", "window", "-1", ">= 0", "steps"]),
    (dict(window=2.5), ["spike_count", "window", "2.5", "not an integer"]),
])
def test_bad_params(values, needles):
    with pytest.raises(spark.ParamError) as info:
        SpikeCount((3,), **values)
    for needle in needles:
        assert needle in str(info.value), (needle, str(info.value))
