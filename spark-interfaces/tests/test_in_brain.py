"""Encoders and decoders inside a Brain: batch axis, images and time series, chains of components, bad data."""

from __future__ import annotations

import numpy as np
import pytest

import spark
from spark_interfaces import DataError, assign_labels, check_inputs, predict


def brain_with(registry, node: str, component: str, shape, dt=1.0, seed=3, **params):
    return spark.Brain(dt=dt, seed=seed, registry=registry).add(node, component, shape=shape, **params) \
        .input("x", f"{node}.data")


# encoder -> (node shape, one trial's data of shape (steps, *shape), outputs to record)
RNG = np.random.default_rng(0)
CASES = {
    "poisson": ((4, 5), RNG.random((30, 4, 5)), ["spikes"], dict(max_rate=300.0)),
    "bernoulli": ((6,), RNG.random((30, 6)), ["spikes"], dict(max_prob=0.5)),
    "regular": ((4, 5), RNG.random((30, 4, 5)), ["spikes"], dict(max_rate=300.0)),
    "latency": ((6,), RNG.random((30, 6)), ["spikes"], dict(t_max=20.0)),
    "delta": ((3,), np.cumsum(RNG.normal(size=(30, 3)), axis=0), ["on", "off", "spikes"], dict(threshold=0.5)),
    "population": ((2,), RNG.random((30, 2)), ["activation", "spikes"], dict(n=4, max_rate=300.0)),
    "current": ((2, 3), RNG.normal(size=(30, 2, 3)), ["i"], dict(gain=50.0)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_batched_trials_equal_single_runs(registry, name):
    """Trial b of a batched run is the run of trial b's data on its own (deterministic encoders), and trial 0 is
    the unbatched run (stochastic ones: trial k draws the numbers of brain.trial + k)."""
    shape, series, outs, params = CASES[name]
    series = series.astype(np.float32)
    batch = np.stack([series, series[::-1]])  # 2 trials: (2, steps, *shape)
    record = [f"enc.{o}" for o in outs]
    brain = brain_with(registry, "enc", name, shape, **params).build()
    got = brain.run({"x": batch}, record=record, batched=True)
    stochastic = registry.resolve(name).cls.stochastic
    for b in range(2):
        single = brain_with(registry, "enc", name, shape, **params).build()
        if stochastic and b:
            single.trial[...] = b  # the numbers trial b of a batch draws
        alone = single.run({"x": batch[b]}, record=record)
        for r in record:
            assert got[r].shape == (2, *alone[r].shape)
            np.testing.assert_array_equal(got[r][b], alone[r], err_msg=f"{r}, trial {b}")
    if stochastic:  # same data, different trials: different spikes
        same = brain.run({"x": np.stack([series, series])}, record=["enc.spikes"], batched=True)["enc.spikes"]
        assert same.any() and (same[0] != same[1]).any()


def test_an_image_batch_with_a_constant_input_per_trial(registry):
    images = np.zeros((3, 28, 28), np.float32)
    images[0, 10:18, 10:18] = 1.0
    images[2] = 0.5
    brain = brain_with(registry, "enc", "poisson", (28, 28), max_rate=250.0).build()
    spikes = brain.run({"x": images}, steps=40, record=["enc.spikes"], batched=True)["enc.spikes"]
    assert spikes.shape == (3, 40, 28, 28)
    assert not spikes[1].any() and not spikes[0][:, :10].any()
    counts = spikes.sum(axis=(1, 2, 3))
    assert counts[0] > 0 and counts[2] > counts[0]  # 784 pixels at 0.5 vs 64 at 1


def test_latency_then_first_spike_reads_the_latency(registry):
    """The decoder reports a spike's own time stamp (docs/time.md): the latency, or dt for x = 1 (t = 0 comes in
    the first step, which ends at dt)."""
    x = np.array([1.0, 0.75, 0.5, 0.0], np.float32)
    brain = (spark.Brain(dt=0.5, registry=registry)
             .add("lat", "latency", shape=4, t_max=10.0).add("fs", "first_spike")
             .connect("lat.spikes", "fs.spikes").input("x", "lat.data").build())
    time = brain.run({"x": x}, steps=40, record=["fs.time"])["fs.time"][-1]
    np.testing.assert_allclose(time, [0.5, 2.5, 5.0, -1.0])


def test_regular_then_rate_decodes_the_rate(registry):
    x = np.array([0.2, 0.5], np.float32)  # 20 and 50 Hz
    brain = (spark.Brain(dt=1.0, registry=registry)
             .add("enc", "regular", shape=2, max_rate=100.0).add("r", "rate", tau=100.0)
             .connect("enc.spikes", "r.spikes").input("x", "enc.data").build())
    rate = brain.run({"x": x}, steps=3000, record=["r.rate"])["r.rate"]
    np.testing.assert_allclose(rate[1000:].mean(axis=0), [20.0, 50.0], rtol=5e-3)


def test_population_activation_drives_a_latency_code(registry):
    """Signal chains: population coding then time-to-first-spike; the preferred neuron fires first."""
    brain = (spark.Brain(dt=1.0, registry=registry)
             .add("pop", "population", shape=1, n=5, low=[0.0], high=[4.0], width=0.5)
             .add("lat", "latency", t_max=20.0, threshold=0.01)  # shape (1, 5) inferred from the activation
             .connect("pop.activation", "lat.data").input("x", "pop.data").build())
    spikes = brain.run({"x": np.array([[3.0], [1.2]], np.float32)}, steps=25, record=["lat.spikes"],
                       batched=True)["lat.spikes"]
    assert spikes.shape == (2, 25, 1, 5)
    first = [spikes[b, :, 0].argmax(axis=0) + np.where(spikes[b, :, 0].any(axis=0), 0, 999) for b in range(2)]
    assert first[0].argmin() == 3 and first[1].argmin() == 1


def test_delta_channels_feed_a_counter_with_inferred_shape(registry):
    x = np.concatenate([np.linspace(0, 1, 9), np.linspace(1, 0.5, 5)[1:], [0.5]]).astype(np.float32)[:, None]
    brain = (spark.Brain(dt=1.0, registry=registry)
             .add("d", "delta", shape=1, threshold=0.125, reference="reset").add("count", "spike_count")
             .connect("d.spikes", "count.spikes").input("x", "d.data").build())
    count = brain.run({"x": x}, record=["count.count"])["count.count"]
    assert count.shape == (14, 2, 1)
    # 1.0 up and 0.5 down in steps of 0.125 (exact in float32); the last spike reaches the counter a step later
    assert count[-1, :, 0].tolist() == [8, 4]


def test_counts_then_vote_classify_in_a_brain(registry):
    """spike_count -> vote: the decoder's label equals the offline prediction from the same counts."""
    brain = (spark.Brain(dt=1.0, seed=1, registry=registry)
             .add("enc", "poisson", shape=4, max_rate=200.0).add("count", "spike_count")
             .add("vote", "vote", n_classes=2)
             .connect("enc.spikes", "count.spikes").connect("count.count", "vote.activity")
             .input("x", "enc.data").build())
    data = np.array([[1, 1, 0, 0], [0, 0, 1, 1], [1, 0, 0, 0]], np.float32)
    counts = brain.run({"x": data}, steps=50, record=["count.count"], batched=True)["count.count"][:, -1]
    assignment = assign_labels(counts[:2], np.array([0, 1]), 2)
    assert assignment.tolist() == [0, 0, 1, 1]
    brain.nodes["vote"].assign(assignment)
    label = brain.run({"x": data}, steps=50, record=["vote.label"], batched=True)["vote.label"][:, -1, 0]
    assert label.tolist() == [0, 1, 0] == predict(counts, assignment, 2).tolist()


# ----- bad data -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["poisson", "bernoulli", "regular", "latency"])
def test_check_inputs_refuses_out_of_range_intensities(registry, name):
    brain = brain_with(registry, "enc", name, (2, 3)).build()
    data = np.full((5, 2, 3), 0.5, np.float32)
    check_inputs(brain, {"x": data})  # fine
    data[3, 1, 2] = -0.25
    with pytest.raises(DataError) as info:
        check_inputs(brain, {"x": data})
    msg = str(info.value)
    for needle in ["'x'", "enc", name, "-0.25", "[3, 1, 2]", "below 0", "[0, 1]", "pixels / 255"]:
        assert needle in msg, (needle, msg)
    data[3, 1, 2] = 255.0
    with pytest.raises(DataError, match="= 255 at index \\[3, 1, 2\\] is above 1"):
        check_inputs(brain, {"x": data})


@pytest.mark.parametrize("name", ["poisson", "delta", "current", "population"])
def test_check_inputs_refuses_nan_and_infinity(registry, name):
    brain = brain_with(registry, "enc", name, (3,)).build()
    with pytest.raises(DataError, match=r"is nan at index \[1\]; give finite numbers"):
        check_inputs(brain, {"x": np.array([0.1, np.nan, 0.2])})
    with pytest.raises(DataError, match=r"is inf at index \[0, 2\]"):
        check_inputs(brain, {"x": np.array([[0.1, 0.2, np.inf]])})


def test_check_inputs_knows_population_ranges_per_dimension(registry):
    brain = brain_with(registry, "enc", "population", (2,), low=[0.0, -3.0], high=[1.0, 3.0],
                       circular=[False, True]).build()
    check_inputs(brain, {"x": np.array([[0.5, 100.0]])})  # a circular dimension takes any finite value
    with pytest.raises(DataError, match=r"dimension 0\): input 'data' = 1.5 at index \[1\] is above 1"):
        check_inputs(brain, {"x": np.array([[0.5, 0.0], [1.5, 0.0]])})


def test_brain_run_names_both_shapes_and_refuses_nan(registry):
    brain = brain_with(registry, "enc", "poisson", (28, 28)).build()
    with pytest.raises(spark.GraphError) as info:
        brain.run({"x": np.zeros((10, 784), np.float32)})
    assert "[10, 784]" in str(info.value) and "28, 28" in str(info.value)
    with pytest.raises(spark.GraphError) as info:
        brain.run({"x": np.zeros((4, 27, 28), np.float32)}, steps=5, batched=True)
    assert "[4, 27, 28]" in str(info.value) and "(trials, 28, 28)" in str(info.value)
    with pytest.raises(spark.GraphError, match="NaN"):
        brain.run({"x": np.full((28, 28), np.nan, np.float32)}, steps=3)


def test_a_step_with_data_of_the_wrong_shape_names_both_shapes():
    from spark_interfaces import LatencyEncoder

    with pytest.raises(ValueError, match=r"latency: input 'data' has shape \[5\] but this node expects \[4\]"):
        LatencyEncoder((4,))(dt=1.0, data=np.zeros(5, np.float32))


def test_a_re_presentation_raises_a_white_pixels_rate(registry):
    """Diehl & Cook present a quiet image again with the input rates raised (+32 Hz at intensity 3 for a white
    pixel): the presentation's gain scales the data past 1 and the Poisson rate rises with it (it was clipped to
    max_rate, so white pixels never got faster). Nothing is watched but the encoder's own spikes, and the bar is
    never met: every sample is presented 1 + 2 times, the last at gain 1 + 2 x 0.5 = 2."""
    n, ms = 2000, 100.0
    brain = brain_with(registry, "enc", "poisson", (n,), max_rate=100.0)
    pres = spark.Presentation(t_present=ms, reset=True, watch="enc.spikes", min_spikes=10 ** 9, max_repeats=2,
                              gain_step=0.5)
    res = brain.present({"x": np.ones((1, n), np.float32)}, pres, count=["enc.spikes"])
    assert res.presentations.tolist() == [3]
    p = 2 * 100.0 * 1e-3  # gain 2 x 100 Hz x 1 ms
    count, trials = int(res.counts["enc.spikes"].sum()), n * int(ms)
    assert abs(count - trials * p) <= 4 * np.sqrt(trials * p * (1 - p)), (count, trials * p)
