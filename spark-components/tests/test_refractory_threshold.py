"""The field's definitions of refractoriness, threshold and initial jitter, checked on every soma that has them.

- Refractory period (NEST, Brian2): a neuron that spikes at ``t*`` is clamped during ``[t*, t* + t_ref)``. On a grid
  of ``dt`` that is ``n = t_ref / dt`` steps rounded half-up, the spike's own step included, so a neuron driven so
  hard that it fires whenever it may fires every ``max(n, 1)`` steps: with ``t_ref`` 1 ms at ``dt`` 0.1 every 10
  steps, with 0.25 ms every 3 (flooring or Python's banker's ``round`` give 2), with 0 every step.
- Threshold: a spike when ``v >= v_thresh`` (NEST's ``iaf_psc_*``: ``V_m >= theta``; Brian2's examples
  ``v >= v_th``), so a ``v`` that lands exactly on the threshold spikes.
- ``v_init_jitter``: initial potentials uniform in ``[v_init, v_init + v_init_jitter]``.

Expected values are computed here, from those definitions (exact decimal rounding, counting steps), never by the
code under test.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from spark.testing import simulate
from spark_components._ode import fire
from spark_components.adaptive_lif import AdaptiveLIF
from spark_components.adaptive_lif_cond import AdaptiveLIFCond
from spark_components.adex import AdEx
from spark_components.exp_if import ExpIF
from spark_components.lif import LIF
from spark_components.lif_cond import LIFCond
from spark_components.qif import QIF
from spark_components.two_compartment import TwoCompartmentLIF

HUGE = 1e7  # pA: one step from the reset value crosses the threshold of every soma below


def half_up_steps(t_ref: float, dt: float) -> int:
    """``t_ref / dt`` rounded half-up in exact decimal arithmetic (0.25 / 0.1 = 2.5 -> 3)."""
    return int((Decimal(str(t_ref)) / Decimal(str(dt))).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def drive(name: str, value: float, steps: int, n: int) -> dict:
    """Inputs of soma ``name``: ``value`` pA into the soma for ``steps`` steps, every other input 0."""
    full = jnp.full((steps, n), value, jnp.float32)
    zero = jnp.zeros((steps, n), jnp.float32)
    if name in ("lif_cond", "adaptive_lif_cond"):
        return {"i_syn": full, "g_exc": zero, "g_inh": zero}
    if name == "two_compartment_lif":
        return {"i_soma": full, "i_dend": zero}
    return {"i_syn": full}


# every soma with a refractory period, with parameters that keep it in its valid range
SOMAS = {
    "lif": lambda **kw: LIF((1,), **kw),
    "lif_cond": lambda **kw: LIFCond((1,), **kw),
    "adaptive_lif": lambda **kw: AdaptiveLIF((1,), theta_plus=0.5, **kw),
    "adaptive_lif_cond": lambda **kw: AdaptiveLIFCond((1,), theta_plus=0.5, **kw),
    "adex": lambda **kw: AdEx((1,), **kw),
    "exp_if": lambda **kw: ExpIF((1,), **kw),
    "qif": lambda **kw: QIF((1,), **kw),
    "two_compartment_lif": lambda **kw: TwoCompartmentLIF((1,), **kw),
}

# (t_ref, dt) -> steps of the refractory period; the half-way cases tell half-up from floor and banker's rounding
PERIODS = [(1.0, 0.1), (0.25, 0.1), (0.35, 0.1), (0.45, 0.1), (0.0, 0.1), (0.1, 0.1), (0.04, 0.1), (2.0, 0.25),
           (1.25, 0.5), (2.5, 1.0), (0.3, 0.1)]


@pytest.mark.parametrize("t_ref, dt", PERIODS)
@pytest.mark.parametrize("name", sorted(SOMAS))
def test_shortest_interspike_interval_is_t_ref_rounded_half_up(name, t_ref, dt):
    n = half_up_steps(t_ref, dt)
    isi = max(n, 1)
    steps = 12 * isi + 3
    out = simulate(SOMAS[name](t_ref=t_ref), dt, drive(name, HUGE, steps, 1))
    got = np.flatnonzero(out["spikes"][:, 0])
    # fires in the first step, then as soon as the period is over, every time
    np.testing.assert_array_equal(got, np.arange(0, steps, isi),
                                  err_msg=f"{name}, t_ref {t_ref} ms at dt {dt} ms: spike steps")
    assert np.diff(got).min() == isi


def test_the_issue_example_1_ms_at_dt_01_is_10_steps():
    """NEST / Brian2: t_ref 1 ms at dt 0.1 ms gives a shortest interval of exactly 1.0 ms (it was 1.1 ms)."""
    out = simulate(LIF((1,), t_ref=1.0), 0.1, drive("lif", HUGE, 100, 1))
    assert set(np.diff(np.flatnonzero(out["spikes"][:, 0])).tolist()) == {10}


def test_fire_holds_for_the_period_and_counts_down():
    """The one place every soma's refractoriness goes through: n = 4 steps (spike step + 3 held)."""
    v = jnp.asarray([0.0, 0.0, 0.0, -80.0], jnp.float32)
    refractory = jnp.asarray([0, 2, 1, 0], jnp.int32)
    spikes, v_new, left = fire(v, -50.0, -65.0, refractory, 4)
    np.testing.assert_array_equal(spikes, [True, False, False, False])  # neurons 1, 2 are still held
    np.testing.assert_array_equal(v_new[0], -65.0)
    np.testing.assert_array_equal(left, [3, 1, 0, 0])
    _, _, left = fire(v, -50.0, -65.0, jnp.zeros(4, jnp.int32), 1)
    np.testing.assert_array_equal(left, 0)  # t_ref = dt: only the spike's own step
    _, _, left = fire(v, -50.0, -65.0, jnp.zeros(4, jnp.int32), 0)
    np.testing.assert_array_equal(left, 0)


# ----- threshold: v exactly at v_thresh spikes -------------------------------------------------------------------


def test_fire_spikes_at_exactly_the_threshold():
    threshold = np.float32(-50.0)
    v = jnp.asarray([threshold, np.nextafter(threshold, np.float32(-np.inf)), np.nextafter(threshold, 0)],
                    jnp.float32)
    spikes, _, _ = fire(v, threshold, -65.0, jnp.zeros(3, jnp.int32), 2)
    np.testing.assert_array_equal(spikes, [True, False, True])


# v_rest = v_init = v_thresh with no input: the exact update v_inf + (v - v_inf) exp(-dt / tau) = v_thresh + 0 lands
# exactly on the threshold in float32, in the first step
AT_THRESHOLD = {
    "lif": lambda: LIF((1,), v_rest=-50.0, v_init=-50.0, v_thresh=-50.0),
    "lif_cond": lambda: LIFCond((1,), v_rest=-50.0, v_init=-50.0, v_thresh=-50.0),
    "adaptive_lif": lambda: AdaptiveLIF((1,), v_rest=-50.0, v_init=-50.0, v_thresh=-50.0),
    "adaptive_lif_cond": lambda: AdaptiveLIFCond((1,), v_rest=-50.0, v_init=-50.0, v_thresh=-50.0),
}


@pytest.mark.parametrize("name", sorted(AT_THRESHOLD))
def test_v_landing_exactly_on_the_threshold_spikes(name):
    soma = AT_THRESHOLD[name]()
    out = simulate(soma, 0.1, drive(name, 0.0, 3, 1))
    assert out["spikes"][0, 0], f"{name}: v = v_thresh exactly must spike (v >= v_thresh)"
    assert out["v"][0, 0] == np.float32(soma.params.v_reset)


def test_two_compartment_at_rest_on_the_threshold_spikes():
    """Soma and dendrite at the same rest e_l = e_dend = v_thresh: the fixed point x* and x coincide, so the exact
    step leaves v on the threshold."""
    soma = TwoCompartmentLIF((1,), e_l=-50.0, e_dend=-50.0, v_thresh=-50.0)
    out = simulate(soma, 0.1, drive("two_compartment_lif", 0.0, 3, 1))
    assert out["spikes"][0, 0]


def test_just_below_the_threshold_does_not_spike():
    """The other side of ``>=``: v resting a float32 ulp below v_thresh never spikes."""
    below = float(np.nextafter(np.float32(-50.0), np.float32(-np.inf)))
    out = simulate(LIF((1,), v_rest=below, v_init=below, v_thresh=-50.0), 0.1, drive("lif", 0.0, 50, 1))
    assert not out["spikes"].any()


# ----- v_init_jitter -------------------------------------------------------------------------------------------


JITTERED = {
    "lif": lambda **kw: LIF((20_000,), rngs=nnx.Rngs(3), **kw),
    "lif_cond": lambda **kw: LIFCond((20_000,), rngs=nnx.Rngs(3), **kw),
    "adaptive_lif_cond": lambda **kw: AdaptiveLIFCond((20_000,), rngs=nnx.Rngs(3), **kw),
}


@pytest.mark.parametrize("name", sorted(JITTERED))
@pytest.mark.parametrize("v_init, jitter", [(-70.0, 10.0), (None, 4.0)])
def test_v_init_jitter_is_uniform_over_the_documented_range(name, v_init, jitter):
    soma = JITTERED[name](v_init=v_init, v_init_jitter=jitter)
    lo = soma.params.v_rest if v_init is None else v_init
    v = np.asarray(soma.v[...], np.float64)
    assert v.min() >= lo and v.max() <= lo + jitter, f"outside [{lo}, {lo + jitter}]: {v.min()}..{v.max()}"
    # spread over the whole range: the extremes within 0.1% of its ends, flat histogram, mean and s.d. of U(lo, hi)
    assert v.min() < lo + 1e-3 * jitter and v.max() > lo + jitter * (1 - 1e-3)
    counts, _ = np.histogram(v, bins=10, range=(lo, lo + jitter))
    assert np.all(np.abs(counts - 2000) < 5 * np.sqrt(2000 * 0.9)), counts  # binomial s.d. ~42
    assert abs(v.mean() - (lo + jitter / 2)) < 5 * jitter / np.sqrt(12 * 20_000)
    assert abs(v.std() - jitter / np.sqrt(12)) < 0.02 * jitter / np.sqrt(12)


def test_no_jitter_gives_one_value():
    v = np.asarray(LIF((100,), v_init=-60.0).v[...])
    np.testing.assert_array_equal(v, np.float32(-60.0))
