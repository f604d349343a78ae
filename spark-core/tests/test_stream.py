"""Brain.present: a compiled sample stream equals the Python loop it replaces; the learn switch; batching;
checkpoints that resume exactly; bad samples refused before any compilation."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from brain_parts import ALL

import spark
from spark.testing import isolated_registry


@pytest.fixture
def reg():
    return isolated_registry(*ALL)


def net(reg, seed=3):
    """Noise -> spikes (1-step-delayed edge) -> plastic synapse (hebb) -> threshold: randomness, a delay buffer,
    learning and counted spikes in one small graph."""
    b = spark.Brain(dt=0.5, seed=seed, registry=reg)
    b.add("noise", "noise", shape=4).add("syn", "linear", weight=0.2).add("post", "threshold", shape=3, v_thresh=0.5)
    b.add("rule", "hebb", attach="syn", rate=0.01)
    b.connect("noise.spikes", "syn.pre", delay=1.0).connect("syn.i", "post.x")
    b.connect("noise.spikes", "rule.pre").connect("post.spikes", "rule.post")
    b.input("p", "noise.data")
    return b.build()


def samples(n, seed=0):
    return np.random.default_rng(seed).uniform(0.02, 0.3, size=(n, 4)).astype(np.float32)


PRES = spark.Presentation(t_present=5.0, t_rest=1.0, reset=True, min_spikes=3, max_repeats=3, gain_step=0.5,
                          watch="post.spikes")


def python_loop(brain, x, p: spark.Presentation):
    """What Brain.present documents, written out with Brain.run: the reference the engine must equal."""
    n_present, n_rest = p.steps(brain.dt)
    trial_start, t0 = int(brain.trial[...]), int(brain.t[...])
    counts, tries = [], []
    for k, sample in enumerate(x):
        brain.trial[...] = jnp.int32(trial_start + k)
        for a in range(p.max_repeats + 1):
            brain.reset_dynamic()
            rec = brain.run({"p": sample * (1 + a * p.gain_step)}, steps=n_present, record=["post.spikes"])
            brain.run({"p": np.full(4, p.rest_value, np.float32)}, steps=n_rest)
            c = rec["post.spikes"].sum(axis=0)
            if c.sum() >= p.min_spikes:
                break
        counts.append(c)
        tries.append(a + 1)
        brain.t[...] = jnp.int32(t0)
    brain.trial[...] = jnp.int32(trial_start + len(x))
    return np.array(counts), np.array(tries)


def test_stream_equals_the_python_loop(reg):
    x = samples(12)
    ref_brain, brain = net(reg), net(reg)
    want_counts, want_tries = python_loop(ref_brain, x, PRES)
    assert want_tries.max() > 1 and want_tries.min() == 1  # the test covers re-presentation
    got = brain.present({"p": x}, PRES, count=["post.spikes"], chunk=5)
    np.testing.assert_array_equal(got.counts["post.spikes"], want_counts)
    np.testing.assert_array_equal(got.presentations, want_tries)
    np.testing.assert_allclose(brain.nodes["syn"].weight[...], ref_brain.nodes["syn"].weight[...], rtol=0, atol=1e-6)
    assert not np.allclose(brain.nodes["syn"].weight[...], net(reg).nodes["syn"].weight[...])  # it learned
    assert int(brain.t[...]) == int(ref_brain.t[...]) and int(brain.trial[...]) == int(ref_brain.trial[...])


def test_without_reset_the_clock_runs_on(reg):
    x = samples(4)
    p = spark.Presentation(t_present=5.0, t_rest=2.0, reset=False)
    brain = net(reg)
    res = brain.present({"p": x}, p, count=["post.spikes"])
    assert int(brain.t[...]) == 4 * (10 + 4) and int(brain.trial[...]) == 0
    ref = net(reg)
    for k, sample in enumerate(x):  # no reset: the same as running the samples and rests back to back
        rec = ref.run({"p": sample}, steps=10, record=["post.spikes"])
        ref.run({"p": np.zeros(4, np.float32)}, steps=4)
        np.testing.assert_array_equal(res.counts["post.spikes"][k], rec["post.spikes"].sum(0))
    np.testing.assert_allclose(brain.nodes["syn"].weight[...], ref.nodes["syn"].weight[...], atol=1e-6)


def test_results_do_not_depend_on_chunk_size(reg):
    x = samples(10)
    a, b = net(reg), net(reg)
    ra = a.present({"p": x}, PRES, count=["post.spikes"], chunk=3)
    rb = b.present({"p": x}, PRES, count=["post.spikes"], chunk=10)
    np.testing.assert_array_equal(ra.counts["post.spikes"], rb.counts["post.spikes"])
    np.testing.assert_array_equal(a.nodes["syn"].weight[...], b.nodes["syn"].weight[...])


@pytest.mark.parametrize("n, batch", [(11, 4), (40, 40)])  # re-presented one by one; in groups of 3 lanes
def test_batched_testing_equals_unbatched(reg, n, batch):
    x = samples(n)
    a, b = net(reg), net(reg)
    ra = a.present({"p": x}, PRES, count=["post.spikes"], learn=False, chunk=4)
    rb = b.present({"p": x}, PRES, count=["post.spikes"], learn=False, batch=batch)
    np.testing.assert_array_equal(ra.counts["post.spikes"], rb.counts["post.spikes"])
    np.testing.assert_array_equal(ra.presentations, rb.presentations)
    assert ra.presentations.max() > 2 and (ra.presentations > 1).sum() > 3  # several rounds, several per round
    for brain in (a, b):  # learning off
        np.testing.assert_array_equal(brain.nodes["syn"].weight[...], net(reg).nodes["syn"].weight[...])
    assert int(a.trial[...]) == int(b.trial[...]) == n and int(a.t[...]) == int(b.t[...]) == 0


def test_networks_together_equal_each_alone(reg):
    """Three networks of different seeds learn side by side: each ends as it would alone (weights, clock, trial)."""
    x = samples(9)
    alone = [net(reg, seed) for seed in (3, 4, 5)]
    want = [b.present({"p": x}, PRES, count=["post.spikes"], chunk=4) for b in alone]
    together = [net(reg, seed) for seed in (3, 4, 5)]
    got = spark.present_together(together, {"p": x}, PRES, count=["post.spikes"], chunk=4)
    assert len(got) == 3
    for w, g, a, t in zip(want, got, alone, together, strict=True):
        np.testing.assert_array_equal(g.counts["post.spikes"], w.counts["post.spikes"])
        np.testing.assert_array_equal(g.presentations, w.presentations)
        np.testing.assert_allclose(t.nodes["syn"].weight[...], a.nodes["syn"].weight[...], rtol=0, atol=1e-6)
        assert int(t.trial[...]) == int(a.trial[...]) == 9 and int(t.t[...]) == int(a.t[...])
    assert not np.allclose(together[0].nodes["syn"].weight[...], together[1].nodes["syn"].weight[...])


def test_networks_together_must_be_one_model(reg):
    a, b = net(reg), net(reg)
    other = spark.Brain(dt=0.5, seed=3, registry=reg)
    other.add("noise", "noise", shape=4).add("syn", "linear", weight=0.2).add("post", "threshold", shape=3,
                                                                             v_thresh=0.7)
    other.add("rule", "hebb", attach="syn", rate=0.01)
    other.connect("noise.spikes", "syn.pre", delay=1.0).connect("syn.i", "post.x")
    other.connect("noise.spikes", "rule.pre").connect("post.spikes", "rule.post")
    other.input("p", "noise.data")
    with pytest.raises(spark.GraphError, match="not the same model"):
        spark.present_together([a, other.build()], {"p": samples(2)}, PRES, count=["post.spikes"])
    with pytest.raises(spark.GraphError, match="same Brain object"):
        spark.present_together([a, a], {"p": samples(2)}, PRES, count=["post.spikes"])
    with pytest.raises(spark.GraphError, match="two or more"):
        spark.present_together([a], {"p": samples(2)}, PRES, count=["post.spikes"])
    spark.present_together([a, b], {"p": samples(2)}, PRES, count=["post.spikes"])  # the same model: accepted


def test_learn_switch(reg):
    x = samples(6)
    w0 = np.asarray(net(reg).nodes["syn"].weight[...])
    off = net(reg)
    off.present({"p": x}, PRES, learn=False)
    np.testing.assert_array_equal(off.nodes["syn"].weight[...], w0)
    assert int(off.nodes["rule"].updates[...]) == 0  # a frozen rule does not run
    rule_off = net(reg)
    rule_off.present({"p": x}, PRES, learn={"rule": False})
    np.testing.assert_array_equal(rule_off.nodes["syn"].weight[...], w0)
    held = net(reg)  # the rule runs (its state advances) but the weights it writes are held
    held.present({"p": x}, PRES, learn={"syn.weight": False})
    np.testing.assert_array_equal(held.nodes["syn"].weight[...], w0)
    assert int(held.nodes["rule"].updates[...]) > 0
    run_off = net(reg)
    run_off.run({"p": x[0]}, steps=50, learn=False)
    np.testing.assert_array_equal(run_off.nodes["syn"].weight[...], w0)
    run_on = net(reg)
    run_on.run({"p": np.full(4, 0.9, np.float32)}, steps=50)
    assert not np.array_equal(run_on.nodes["syn"].weight[...], w0)
    with pytest.raises(spark.GraphError, match=r"'stdp' is neither.*rules: \['rule'\].*syn\.weight"):
        net(reg).present({"p": x}, PRES, learn={"stdp": False})


def test_checkpoint_resume_equals_an_uninterrupted_run(reg, tmp_path):
    x = samples(10)
    whole = net(reg)
    want = whole.present({"p": x}, PRES, count=["post.spikes"], chunk=3)
    ck = tmp_path / "stream.npz"
    stopped = net(reg)

    def interrupt(done, total):
        if done >= 6:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        stopped.present({"p": x}, PRES, count=["post.spikes"], chunk=3, checkpoint=ck, on_chunk=interrupt)
    resumed = net(reg)  # a new process would build the brain again
    got = resumed.present({"p": x}, PRES, count=["post.spikes"], chunk=3, checkpoint=ck, resume=True)
    assert got.samples == 4  # 6 were done before the interrupt
    np.testing.assert_array_equal(got.counts["post.spikes"], want.counts["post.spikes"])
    np.testing.assert_array_equal(got.presentations, want.presentations)
    np.testing.assert_array_equal(resumed.nodes["syn"].weight[...], whole.nodes["syn"].weight[...])
    assert int(resumed.t[...]) == int(whole.t[...]) and int(resumed.trial[...]) == int(whole.trial[...])
    with pytest.raises(spark.SparkError, match="another stream"):
        net(reg).present({"p": x[:5]}, PRES, chunk=3, checkpoint=ck, resume=True)


def test_records_sample_state_once_per_sample(reg):
    x = samples(5)
    brain = net(reg)
    res = brain.present({"p": x}, PRES, record=["syn.weight:mean", "rule.updates"])
    assert res.records["syn.weight:mean"].shape == (5,)
    assert res.records["syn.weight:mean"][-1] == pytest.approx(float(np.mean(brain.nodes["syn"].weight[...])))
    steps = sum(PRES.steps(0.5))
    assert np.all(res.records["rule.updates"] == steps)  # the reset before each presentation resets rule state too
    with pytest.raises(spark.GraphError, match="once per sample"):
        brain.present({"p": x}, PRES, record=["post.spikes"])


@pytest.mark.parametrize("bad, match", [
    ({"p": np.zeros((3, 5), np.float32)}, r"shape \[3, 5\].*\(n_samples, 4\)"),
    ({"p": np.zeros((0, 4), np.float32)}, "no sample"),
    ({"p": np.full((2, 4), np.nan, np.float32)}, "NaN"),
    ({"q": np.zeros((2, 4), np.float32)}, "unknown input 'q'"),
    ({}, "mapping of input name"),
])
def test_bad_samples_are_refused_before_compiling(reg, bad, match):
    with pytest.raises(spark.GraphError, match=match):
        net(reg).present(bad, PRES)


def test_bad_stream_arguments(reg):
    x = samples(3)
    b = net(reg)
    with pytest.raises(spark.GraphError, match="learn=False"):
        b.present({"p": x}, PRES, batch=2)
    with pytest.raises(spark.GraphError, match="reset=True"):
        b.present({"p": x}, spark.Presentation(t_present=5.0, reset=False), batch=2, learn=False)
    with pytest.raises(spark.GraphError, match="not an output port"):
        b.present({"p": x}, PRES, count=["post.v"])
    with pytest.raises(spark.GraphError, match="watches no port"):
        b.present({"p": x}, spark.Presentation(t_present=5.0, min_spikes=2, max_repeats=1))
    with pytest.raises(spark.GraphError, match="t_present"):
        spark.Presentation(t_present=0)
    with pytest.raises(spark.GraphError, match="finite"):
        spark.Presentation(t_present=float("nan"))
