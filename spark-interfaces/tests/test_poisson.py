"""Statistical tests of PoissonEncoder: each element spikes independently with ``p = max(x, 0) max_rate dt``.

``max_rate`` is in Hz and ``dt`` in ms, so ``p = x * max_rate * dt * 1e-3`` (capped at 1). Counts over ``n``
independent Bernoulli trials are Binomial(n, p): every bound below is 4 standard deviations (a false failure
about once in 16,000 runs; the keys are fixed, so in practice never).
"""

from __future__ import annotations

import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import spark
from spark_interfaces.poisson import PoissonEncoder


def encode(enc, dt, data, steps, key):
    """Run ``enc`` for ``steps`` steps on constant ``data`` with per-step keys split from ``key``."""
    graph, state = nnx.split(enc)
    keys = jax.random.split(key, steps)

    @jax.jit
    def run(state, keys):
        def body(state, k):
            m = nnx.merge(graph, state)
            out = m(dt=dt, data=data, key=k)
            return nnx.split(m)[1], out["spikes"]

        return jax.lax.scan(body, state, keys)

    _, spikes = run(state, keys)
    return np.asarray(spikes)


def within_binomial(count, n, p, sigmas=4.0):
    mean, sd = n * p, math.sqrt(n * p * (1 - p))
    assert abs(count - mean) <= sigmas * sd, f"count {count} vs {mean:.1f} +- {sigmas} x {sd:.1f} (n={n}, p={p})"


@pytest.mark.parametrize("max_rate, dt", [(100.0, 1.0), (40.0, 0.1), (250.0, 2.0)])
def test_spike_counts_match_rate(max_rate, dt):
    intensities = np.array([0.0, 0.25, 1.0])
    per_group, steps = 300, 2000
    data = jnp.asarray(np.repeat(intensities, per_group), jnp.float32)
    enc = PoissonEncoder((data.size,), max_rate=max_rate)
    spikes = encode(enc, dt, data, steps, jax.random.key(0))
    assert spikes.dtype == np.bool_ and spikes.shape == (steps, data.size)

    for g, x in enumerate(intensities):
        block = spikes[:, g * per_group: (g + 1) * per_group]
        p = x * max_rate * dt * 1e-3
        if x == 0.0:
            assert not block.any()
        else:
            within_binomial(int(block.sum()), block.size, p)


def test_trains_are_bernoulli_not_regular():
    """Per-neuron counts have binomial variance, and consecutive steps are independent."""
    p, n_neurons, steps = 0.1, 400, 2000
    enc = PoissonEncoder((n_neurons,), max_rate=100.0)
    spikes = encode(enc, 1.0, jnp.full((n_neurons,), 1.0), steps, jax.random.key(1))
    counts = spikes.sum(0)
    var, expected_var = counts.var(ddof=1), steps * p * (1 - p)
    # sd of a sample variance of (near-normal) counts: var sqrt(2 / (n - 1))
    assert abs(var - expected_var) <= 4 * expected_var * math.sqrt(2 / (n_neurons - 1)), (var, expected_var)
    # P(spike at t and t + 1) = p^2
    both = int((spikes[1:] & spikes[:-1]).sum())
    within_binomial(both, (steps - 1) * n_neurons, p * p)


def test_probability_is_capped_at_one():
    enc = PoissonEncoder((4,), max_rate=2000.0)  # x = 1 at dt = 1 ms would be p = 2
    with pytest.warns(spark.ModelWarning, match="capped at 1"):
        spikes = encode(enc, 1.0, jnp.array([1.0, 0.75, 0.25, 0.0]), 4000, jax.random.key(2))
    assert spikes[:, 0].all() and spikes[:, 1].all()  # p = 2 and 1.5 -> 1
    within_binomial(int(spikes[:, 2].sum()), 4000, 0.5)
    assert not spikes[:, 3].any()



@pytest.mark.parametrize(("max_rate", "dt", "warns"), [(20_000.0, 0.1, True), (10_000.0, 0.1, False),
                                                      (1_001.0, 1.0, True), (1_000.0, 1.0, False),
                                                      (500.0, 2.5, True), (100.0, 0.1, False)])
def test_a_rate_above_one_per_step_is_reported_at_build(max_rate, dt, warns):
    """Issue 14: a rate above 1 / dt was capped silently. Building for such a dt (as a Brain does) warns, naming
    the rate, the dt, the cap 1 / dt and the fix; max_rate * dt = 1 exactly is representable (p = 1) and silent."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        PoissonEncoder((3,), max_rate=max_rate, dt=dt)
    found = [w for w in caught if issubclass(w.category, spark.ModelWarning)]
    assert bool(found) is warns, [str(w.message) for w in caught]
    if warns:
        msg = str(found[0].message)
        for needle in (f"max_rate = {max_rate:g} Hz", f"dt = {dt:g} ms", f"at most {1e3 / dt:g} Hz",
                       "lower max_rate"):
            assert needle in msg, (needle, msg)


def test_a_brain_build_reports_the_rate_cap():
    brain = (spark.Brain(dt=0.1).add("enc", "poisson", shape=(2,), max_rate=50_000.0)  # this pack's parts only
             .input("x", "enc.data").output("s", "enc.spikes"))
    with pytest.warns(spark.ModelWarning, match="max_rate = 50000 Hz is more than one spike per step at dt = 0.1 ms"):
        brain.build()


def test_negative_and_nan_read_as_zero_and_values_above_one_fire_faster():
    """Inside a step values < 0, -inf and NaN read as 0 (same key: the very same trains as zeros); values above 1
    fire in proportion, past max_rate (a presentation's gain, Diehl & Cook's raised input rates), up to one spike
    per step (+inf and 7 x 300 Hz x 1 ms: every step)."""
    n, steps, key = 7, 3000, jax.random.key(3)
    enc = PoissonEncoder((n,), max_rate=300.0)
    raw = jnp.array([-0.5, -jnp.inf, jnp.nan, 1.0, 1.5, jnp.inf, 7.0], jnp.float32)
    zeroed = jnp.array([0.0, 0.0, 0.0, 1.0, 1.5, jnp.inf, 7.0], jnp.float32)
    got = encode(enc, 1.0, raw, steps, key)
    np.testing.assert_array_equal(got, encode(enc, 1.0, zeroed, steps, key))
    assert not got[:, :3].any()
    within_binomial(int(got[:, 3].sum()), steps, 0.3)
    within_binomial(int(got[:, 4].sum()), steps, 0.45)  # 1.5 x 300 Hz, not clipped to 300 Hz
    assert got[:, 5:].all()


def test_same_key_same_trains_different_key_different_trains():
    enc = PoissonEncoder((500,), max_rate=100.0)
    data = jnp.full((500,), 0.5)
    a = encode(enc, 1.0, data, 200, jax.random.key(10))
    b = encode(enc, 1.0, data, 200, jax.random.key(10))
    c = encode(enc, 1.0, data, 200, jax.random.key(11))
    np.testing.assert_array_equal(a, b)
    # independent trains with p = 0.05 disagree with probability 2 p (1 - p)
    within_binomial(int((a != c).sum()), a.size, 2 * 0.05 * 0.95)


def test_different_steps_use_the_key_given():
    """The encoder holds no RNG state of its own: one key, one draw, whatever happened before."""
    enc = PoissonEncoder((1000,), max_rate=500.0)
    data = jnp.full((1000,), 1.0)
    k = jax.random.key(7)
    first = np.asarray(enc(dt=1.0, data=data, key=k)["spikes"])
    enc(dt=1.0, data=data, key=jax.random.key(8))
    again = np.asarray(enc(dt=1.0, data=data, key=k)["spikes"])
    np.testing.assert_array_equal(first, again)
    within_binomial(int(first.sum()), 1000, 0.5)


def test_two_dimensional_shape():
    enc = PoissonEncoder((20, 30), max_rate=100.0)
    data = jnp.zeros((20, 30)).at[:10].set(1.0)
    spikes = encode(enc, 1.0, data, 500, jax.random.key(4))
    assert spikes.shape == (500, 20, 30)
    assert not spikes[:, 10:].any()
    within_binomial(int(spikes[:, :10].sum()), 500 * 10 * 30, 0.1)


@pytest.mark.parametrize("values, needles", [
    (dict(max_rate=-1.0), ["poisson", "max_rate", "-1.0", ">= 0", "Hz"]),
    (dict(max_rate=float("nan")), ["poisson", "max_rate", "NaN", "Hz"]),
    (dict(rate=10.0), ["poisson", "'rate'", "max_rate"]),
])
def test_bad_params(values, needles):
    with pytest.raises(spark.ParamError) as info:
        PoissonEncoder((3,), **values)
    for needle in needles:
        assert needle in str(info.value), (needle, str(info.value))
