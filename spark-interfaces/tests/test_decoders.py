"""Each decoder against its definition: filter responses in closed form, spike times, readings, votes, ridge fits."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spark_interfaces import (
    FirstSpikeDecoder,
    LinearReadout,
    MembraneDecoder,
    RateDecoder,
    VoteDecoder,
    accuracy,
    assign_labels,
    class_proportions,
    class_rates,
    fit_ridge,
    likelihood_scores,
    predict,
    proportion_scores,
    vote_scores,
)

# ----- rate -----------------------------------------------------------------------------------------------------


def test_rate_impulse_response_is_exponential(simulate):
    dt, tau = 0.5, 10.0
    spikes = np.zeros((60, 1), bool)
    spikes[3] = True
    r = simulate(RateDecoder((1,), tau=tau), dt, {"spikes": spikes})["rate"][:, 0]
    a = math.exp(-dt / tau)
    want = np.where(np.arange(60) >= 3, (1 - a) * 1000 / dt * a ** (np.arange(60) - 3.0), 0.0)
    np.testing.assert_allclose(r, want, rtol=1e-5, atol=1e-6)
    assert r[3] == pytest.approx(1000 / tau, rel=0.03)  # ~ 1 / tau per spike


def test_rate_has_unit_gain_for_a_regular_train(simulate):
    dt, period = 1.0, 25  # a spike every 25 ms: 40 Hz
    spikes = (np.arange(2000) % period == 0)[:, None]
    r = simulate(RateDecoder((1,), tau=50.0), dt, {"spikes": spikes})["rate"][:, 0]
    assert r[1000:1000 + 20 * period].mean() == pytest.approx(40.0, rel=1e-4)  # whole periods in steady state


def test_rate_mean_matches_a_poisson_rate(simulate):
    rng = np.random.default_rng(0)
    dt, f, n = 1.0, 30.0, 400
    spikes = rng.random((3000, n)) < f * dt * 1e-3
    r = simulate(RateDecoder((n,), tau=20.0), dt, {"spikes": spikes})["rate"]
    # the estimate after the transient is the empirical rate filtered with gain 1: compare with the count
    mean_r = r[500:].mean()
    empirical = spikes[500:].mean() / (dt * 1e-3)
    assert abs(mean_r - empirical) < 0.02 * f
    assert abs(empirical - f) < 4 * math.sqrt(f * dt * 1e-3 / (2500 * n)) / (dt * 1e-3)


# ----- first_spike ----------------------------------------------------------------------------------------------


def test_first_spike_time_and_no_spike_value(simulate):
    spikes = np.zeros((20, 3), bool)
    spikes[[4, 9, 15], 0] = True
    spikes[[12], 1] = True
    t = simulate(FirstSpikeDecoder((3,), no_spike=-5.0), 0.5, {"spikes": spikes})["time"]
    assert t[3].tolist() == [-5.0, -5.0, -5.0]
    assert t[4].tolist() == [2.0, -5.0, -5.0]
    assert t[-1].tolist() == [2.0, 6.0, -5.0]  # later spikes do not move the first


def test_first_spike_period_restarts(simulate):
    spikes = np.zeros((30, 1), bool)
    spikes[[3, 5, 12, 27], 0] = True
    t = simulate(FirstSpikeDecoder((1,), period=10.0), 1.0, {"spikes": spikes})["time"][:, 0]
    assert t[9] == 3.0 and t[10] == -1.0 and t[12] == 2.0 and t[19] == 2.0 and t[26] == -1.0 and t[29] == 7.0


# ----- membrane -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode, want", [
    ("last", [-60, -55, -62, -58, -70, -65]),
    ("mean", [-60, -57.5, -59, -58.75, -70, -67.5]),
    ("max", [-60, -55, -55, -55, -70, -65]),
    ("min", [-60, -60, -62, -62, -70, -70]),
])
def test_membrane_readings(simulate, mode, want):
    v = np.array([-60, -55, -62, -58, -70, -65], np.float32)[:, None]
    got = simulate(MembraneDecoder((1,), mode=mode, period=4.0), 1.0, {"v": v})["value"][:, 0]
    np.testing.assert_allclose(got, want)
    shifted = simulate(MembraneDecoder((1,), mode=mode, period=4.0, v_ref=-65.0), 1.0, {"v": v})["value"][:, 0]
    np.testing.assert_allclose(shifted, np.asarray(want) + 65.0)


# ----- vote -----------------------------------------------------------------------------------------------------


def constructed_activity():
    """6 neurons, 3 classes, 2 samples per class. Neuron k prefers class k % 3 except neuron 5, which is silent."""
    labels = np.array([0, 0, 1, 1, 2, 2])
    act = np.zeros((6, 6))
    for s, c in enumerate(labels):
        for k in range(5):
            act[s, k] = 5.0 if k % 3 == c else 1.0
    act[0, 3] = 0.0  # neuron 3 (class 0): weaker on one sample of its class, still its best class on average
    return act, labels


def test_assign_labels_takes_the_class_of_highest_mean_response():
    act, labels = constructed_activity()
    assert assign_labels(act, labels, 3).tolist() == [0, 1, 2, 0, 1, -1]
    # ties go to the smaller class; classes without samples are skipped
    assert assign_labels(np.array([[2.0], [2.0]]), np.array([1, 2]), 4).tolist() == [1]
    assert assign_labels(np.array([[1.0, 0.0], [3.0, 0.0]]), np.array([0, 0]), 2).tolist() == [0, -1]


def test_vote_scores_and_predictions():
    act, labels = constructed_activity()
    assign = assign_labels(act, labels, 3)
    scores = vote_scores(act, assign, 3)
    np.testing.assert_allclose(scores[0], [(5.0 + 0.0) / 2, 1.0, 1.0])  # class 0 = neurons 0 and 3
    np.testing.assert_array_equal(predict(act, assign, 3), labels)
    silent = np.zeros((1, 6))
    assert predict(silent, assign, 3).tolist() == [-1]  # no free guess
    only_unassigned = np.zeros((1, 6))
    only_unassigned[0, 5] = 9.0
    assert predict(only_unassigned, assign, 3).tolist() == [-1]
    assert accuracy(np.array([0, 1, -1, 2]), np.array([0, 1, 2, 1])) == 0.5


def test_class_proportions_and_the_proportion_vote():
    # neuron 0 answers class 0 with 4 and class 1 with 1 (mean over its samples), neuron 1 only class 1, neuron 2 never
    act = np.array([[4.0, 0.0, 0.0], [4.0, 0.0, 0.0], [1.0, 2.0, 0.0], [1.0, 6.0, 0.0]])
    labels = np.array([0, 0, 1, 1])
    p = class_proportions(act, labels, 3)
    np.testing.assert_allclose(p, [[4 / 5, 0, 0], [1 / 5, 1, 0], [0, 0, 0]])  # (classes, neurons); class 2: no sample
    test = np.array([[1.0, 1.0, 5.0], [5.0, 0.0, 0.0], [0.0, 0.0, 3.0]])
    np.testing.assert_allclose(proportion_scores(test, p), [[0.8, 1.2, 0.0], [4.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    # the first image: neuron 0 counts 4/5 for class 0 and 1/5 for class 1, neuron 1 wholly for class 1 -> class 1;
    # Diehl & Cook's vote gives it to class 0 (neuron 0's best class, mean 1 against neuron 1's 1: a tie, smaller)
    assert predict(test, None, 3, proportions=p).tolist() == [1, 0, -1]  # a silent (or never-responding) answer: -1
    assert predict(test, assign_labels(act, labels, 3), 3).tolist() == [0, 0, -1]
    with pytest.raises(ValueError, match="labels"):
        class_proportions(act, np.array([0, 0, 1, 3]), 3)


def test_class_rates_and_the_likelihood_vote():
    # class 0: neuron 0 answers 2 and 4, neuron 1 never; class 1: neuron 0 answers 2 and 2, neuron 1 2 and 4
    act = np.array([[2.0, 0.0], [4.0, 0.0], [2.0, 2.0], [2.0, 4.0]])
    labels = np.array([0, 0, 1, 1])
    r = class_rates(act, labels, 3)
    # (total + 1/2) / samples: Jeffreys' posterior mean; class 2 has no sample
    np.testing.assert_allclose(r[:2], [[6.5 / 2, 0.5 / 2], [4.5 / 2, 6.5 / 2]])
    assert np.isnan(r[2]).all()
    test = np.array([[3.0, 0.0], [2.0, 1.0], [0.0, 0.0]])
    scores = likelihood_scores(test, r)
    # the reference: scipy's Poisson log-pmf summed over the neurons, which differs from the scores by
    # sum_j log(a_j!) only (the same for every class)
    from scipy.stats import poisson
    for s, a in enumerate(test):
        ref = [poisson.logpmf(a, r[c]).sum() for c in range(2)]
        np.testing.assert_allclose(scores[s, :2] - ref, sum(math.lgamma(k + 1) for k in a), rtol=1e-12)
    assert np.isneginf(scores[:, 2]).all()  # a class without samples is never chosen
    # (2, 1): neuron 1 answers class 1 only, so the proportion vote says 1 (0.4 * 2 + 1 against 0.6 * 2); but
    # neuron 0's 2 spikes and neuron 1's single one are likelier under class 0 (3.25, 0.25) than class 1 (2.25,
    # 3.25): 2 ln 3.25 + ln 0.25 - 3.5 = -2.529 against 2 ln 2.25 + ln 3.25 - 5.5 = -2.699
    np.testing.assert_allclose(scores[1, :2], [2 * math.log(3.25) + math.log(0.25) - 3.5,
                                               2 * math.log(2.25) + math.log(3.25) - 5.5])
    assert predict(test, None, 3, rates=r).tolist() == [0, 0, -1]  # a silent answer: -1
    assert predict(test, None, 3, rates=np.full_like(r, np.nan)).tolist() == [-1, -1, -1]  # nothing labelled yet
    assert predict(test, None, 3, proportions=class_proportions(act, labels, 3)).tolist() == [0, 1, -1]
    with pytest.raises(ValueError, match="labels"):
        class_rates(act, np.array([0, 0, 1, 3]), 3)
    with pytest.raises(ValueError, match="neuron shape"):
        likelihood_scores(np.ones((1, 3)), r)
    with pytest.raises(ValueError, match="rates must be > 0"):
        likelihood_scores(test, np.zeros((2, 2)))


def test_vote_decoder_equals_offline_predict(simulate):
    act, labels = constructed_activity()
    assign = assign_labels(act, labels, 3)
    dec = VoteDecoder((6,), n_classes=3)
    dec.assign(assign)
    out = simulate(dec, 1.0, {"activity": act.astype(np.float32)})
    np.testing.assert_allclose(out["scores"], vote_scores(act, assign, 3), rtol=1e-6)
    assert out["label"][:, 0].tolist() == predict(act, assign, 3).tolist()
    fresh = simulate(VoteDecoder((6,), n_classes=3), 1.0, {"activity": act.astype(np.float32)})
    assert (fresh["label"] == -1).all()  # unassigned neurons never vote
    from_params = VoteDecoder((6,), n_classes=3, labels=assign.tolist())
    np.testing.assert_array_equal(np.asarray(from_params.assignment[...]), assign)


@pytest.mark.parametrize("make, needle", [
    (lambda: VoteDecoder((6,), n_classes=3, labels=[0, 1]), "labels has 2 values for 6 neurons"),
    (lambda: VoteDecoder((2,), n_classes=3, labels=[0, 5]), "class 5 but n_classes = 3"),
    (lambda: VoteDecoder((6,), n_classes=3).assign(np.zeros(5, int)), r"shape \[5\] but the node has \[6\]"),
    (lambda: assign_labels(np.ones((4, 2)), np.array([0, 1, 2]), 3), "labels has shape"),
    (lambda: predict(np.ones((4, 3)), np.zeros(2, int), 3), r"activity has shape \[4, 3\] but the assignment"),
])
def test_vote_refuses_mismatched_shapes(make, needle):
    with pytest.raises(ValueError, match=needle):
        make()


# ----- linear readout -------------------------------------------------------------------------------------------


def test_ridge_recovers_a_known_linear_map():
    rng = np.random.default_rng(0)
    w_true = rng.normal(size=(6, 2))
    b_true = np.array([0.5, -2.0])
    x = rng.normal(size=(10, 30, 6))  # (trials, steps, features)
    y = x @ w_true + b_true
    for alpha in (0.0, 1e-8):
        fit = fit_ridge(x, y, alpha)
        np.testing.assert_allclose(fit.weight, w_true, atol=1e-6)
        np.testing.assert_allclose(fit.bias, b_true, atol=1e-6)
    noisy = fit_ridge(x, y + 0.01 * rng.normal(size=y.shape), 1e-3)
    np.testing.assert_allclose(noisy.weight, w_true, atol=5e-3)


def test_ridge_penalty_matches_the_closed_form():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(50, 4)), rng.normal(size=50)
    alpha = 3.0
    fit = fit_ridge(x, y, alpha)
    xc, yc = x - x.mean(0), y - y.mean()
    w = np.linalg.inv(xc.T @ xc + alpha * np.eye(4)) @ xc.T @ yc
    np.testing.assert_allclose(fit.weight[:, 0], w, rtol=1e-10)
    assert fit.bias[0] == pytest.approx(y.mean() - x.mean(0) @ w)
    assert np.linalg.norm(fit.weight) < np.linalg.norm(fit_ridge(x, y, 0.0).weight)  # shrinkage
    no_bias = fit_ridge(x, y, alpha, bias=False)
    np.testing.assert_allclose(no_bias.weight[:, 0], np.linalg.solve(x.T @ x + alpha * np.eye(4), x.T @ y))
    assert no_bias.bias.tolist() == [0.0]


def test_linear_readout_applies_the_fit(simulate):
    rng = np.random.default_rng(2)
    x = rng.random((12, 2, 3)).astype(np.float32)  # node shape (2, 3): 6 features, flattened in C order
    fit = fit_ridge(x.reshape(12, 6), rng.normal(size=(12, 2)), 0.1)
    dec = LinearReadout((2, 3), n_out=2)
    assert simulate(dec, 1.0, {"x": x})["y"].tolist() == [[0.0, 0.0]] * 12  # unfitted: zeros
    dec.set_weights(fit)
    np.testing.assert_allclose(simulate(dec, 1.0, {"x": x})["y"], fit.predict(x.reshape(12, 6)), rtol=1e-5,
                               atol=1e-5)


@pytest.mark.parametrize("call, needle", [
    (lambda d: d.set_weights(np.zeros((5, 2))), r"weight \[5, 2\] and bias \[2\] do not fit a node with 6 features"),
    (lambda d: d.set_weights(np.zeros((6, 2)), np.zeros(3)), r"give weight \[6, 2\] and bias \[2\]"),
    (lambda d: d.set_weights(np.full((6, 2), np.nan)), "NaN"),
    (lambda d: fit_ridge(np.ones((4, 3)), np.ones((5, 1))), r"features have shape \[4, 3\] and targets \[5, 1\]"),
    (lambda d: fit_ridge(np.ones((4, 3)), np.ones(4), alpha=-1.0), "alpha"),
])
def test_linear_readout_refuses_mismatches(call, needle):
    with pytest.raises(ValueError, match=needle):
        call(LinearReadout((6,), n_out=2))
