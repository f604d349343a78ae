"""Monitors: subsets, reductions and every-k sampling equal the full recording cut down; chunked, iterated and
disk-streamed runs equal one uninterrupted run; a recording that would not fit is refused with its estimate.

One brain per test, reset between runs, so each program is compiled once (compilation dominates on CPU).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from brain_parts import ALL
from test_brain_run import RECORD, drive, noisy_net

import spark
from spark import recording as _recording
from spark.testing import isolated_registry

MONITORS = ["syn.weight@4", "out.y[1:3]@6", "noise.spikes:rate", "noise.spikes[0,2]", "noise.u:mean",
            spark.Monitor("syn.weight", index=np.s_[:, 1], every=2, name="w_col1")]


@pytest.fixture(scope="module")
def reg():
    return isolated_registry(*ALL)


# ----- the Monitor object (no JAX) --------------------------------------------------------------------------------

@pytest.mark.parametrize("text, neurons, reduce, every", [
    ("exc.spikes", None, None, 1),
    ("exc.v[0:10]", ("slice", 0, 10, None), None, 1),
    ("exc.v[3,17,42]", ("list", (3, 17, 42)), None, 1),
    ("exc.spikes:rate", None, "rate", 1),
    ("syn.weight@100", None, None, 100),
    ("exc.v[::2]:mean@10", ("slice", None, None, 2), "mean", 10),
])
def test_short_form_reads_and_writes_back(text, neurons, reduce, every):
    m = spark.Monitor.parse(text)
    assert (m.neurons, m.reduce, m.every) == (neurons, reduce, every)
    assert m.key == text and spark.Monitor.parse(m.spec()) == m


def test_monitor_long_form_equals_short_form_and_is_hashable():
    assert spark.Monitor("exc.v", slice(0, 10)) == spark.Monitor.parse("exc.v[0:10]")
    assert spark.Monitor("exc.v", range(0, 10)).key == "exc.v[0:10]"
    assert spark.Monitor("exc.spikes", reduce="rate").key == "exc.spikes:rate"
    assert spark.Monitor("syn.weight", every=100, name="w").key == "w"
    mask = np.zeros(5, bool)
    mask[[1, 3]] = True
    assert spark.Monitor("exc.v", mask).key == "exc.v[1,3]"
    assert len({spark.Monitor("exc.v", [1, 2]), spark.Monitor("exc.v", np.array([1, 2]))}) == 1


@pytest.mark.parametrize("make, message", [
    (lambda: spark.Monitor("exc"), "node.port"),
    (lambda: spark.Monitor("exc.v", reduce="median"), "not one of sum, mean, rate"),
    (lambda: spark.Monitor("exc.v", every=0), "every=0"),
    (lambda: spark.Monitor("exc.v", [1], index=np.s_[:1]), "not both"),
    (lambda: spark.Monitor.parse("exc.v[a:b]"), "neither a slice"),
    (lambda: spark.Monitor.parse("exc.v!"), "cannot read the monitor"),
    (lambda: spark.monitors.as_monitors([spark.Monitor("a.v", name="x"), spark.Monitor("b.v", name="x")]),
     "two monitors are named 'x'"),
])
def test_bad_monitors_say_what_to_write(make, message):
    with pytest.raises(spark.GraphError, match=message):
        make()


def test_recording_saves_and_loads_with_its_metadata(tmp_path):
    info = {"exc.spikes": {"node": "exc", "payload": "Spikes", "every": 1},
            "syn.weight@5": {"node": "syn", "every": 5}}
    rec = spark.Recording({"exc.spikes": np.eye(4, dtype=bool), "syn.weight@5": np.ones((2, 3))}, dt=0.5, t0=10,
                          steps=10, info=info)
    rec.save(tmp_path / "r.npz")
    back = spark.load_recording(tmp_path / "r.npz")
    assert set(back) == set(rec) and back.dt == 0.5 and back.t0 == 10 and back.info == info
    np.testing.assert_array_equal(back["exc.spikes"], rec["exc.spikes"])
    # samples after steps 10 + 4 and 10 + 9, stamped at those steps' ends (docs/time.md)
    np.testing.assert_allclose(back.times("syn.weight@5"), [(10 + 5) * 0.5, (10 + 10) * 0.5])
    assert list(back.spikes()) == ["exc.spikes"]
    assert set(np.load(tmp_path / "r.npz").files) >= {"exc__spikes", "syn__weight_5"}


def test_a_run_folder_of_an_older_spark_run_still_loads(tmp_path):
    np.savez(tmp_path / "recording.npz", exc__spikes=np.eye(3, dtype=bool), exc__v=np.zeros((3, 3)))
    (tmp_path / "summary.json").write_text(json.dumps({"dt_ms": 0.1, "steps": 3, "populations": {"exc.spikes": {}},
                                                       "files": {"recording": "recording.npz"}}))
    rec = spark.load_recording(tmp_path)
    assert rec.dt == 0.1 and list(rec.spikes()) == ["exc.spikes"] and rec["exc.v"].shape == (3, 3)


# ----- against a brain --------------------------------------------------------------------------------------------

def test_subsets_reductions_and_every_k_equal_the_full_recording_cut_down(reg):
    x = drive(60)
    b = noisy_net(reg)
    rec = b.run({"p": x}, record=[*RECORD, "noise.u", *MONITORS])
    assert isinstance(rec, spark.Recording) and rec.dt == 0.5 and rec.steps == 60
    np.testing.assert_array_equal(rec["syn.weight@4"], rec["syn.weight"][3::4])
    np.testing.assert_array_equal(rec["out.y[1:3]@6"], rec["out.y"][5::6, 1:3])
    np.testing.assert_array_equal(rec["w_col1"], rec["syn.weight"][1::2, :, 1])
    np.testing.assert_array_equal(rec["noise.spikes[0,2]"], rec["noise.spikes"][:, [0, 2]])
    np.testing.assert_allclose(rec["noise.spikes:rate"], rec["noise.spikes"].mean(axis=1) / 0.5e-3, rtol=1e-6)
    np.testing.assert_allclose(rec["noise.u:mean"], rec["noise.u"].mean(axis=1), rtol=1e-6)
    assert rec["syn.weight@4"].shape == (15, 4, 3) and rec["noise.spikes:rate"].dtype == np.float32
    np.testing.assert_allclose(rec.times("syn.weight@4"), (np.arange(15) + 1) * 4 * 0.5)  # 2, 4, ... ms
    assert rec.info["noise.spikes:rate"]["unit"] == "Hz" and rec.info["noise.spikes[0,2]"]["neurons"] == [0, 2]
    assert not np.allclose(rec["syn.weight"][0], rec["syn.weight"][-1]), "weights must change for the test to bite"
    # what the estimate promised is what was kept
    est = noisy_net(reg).estimate_recording(MONITORS, 60)
    assert est.bytes == sum(rec[k].nbytes for k in est.arrays)


def test_chunked_iterated_and_called_back_runs_equal_one_run(reg):
    x = drive(60)
    b = noisy_net(reg)
    whole = b.run({"p": x}, record=RECORD + MONITORS)
    b.reset()
    chunks = list(b.run_iter({"p": x}, record=RECORD + MONITORS, chunk=12))
    assert [(c.start, c.steps) for c in chunks] == [(0, 12), (12, 12), (24, 12), (36, 12), (48, 12)]
    for k in whole:
        np.testing.assert_array_equal(np.concatenate([c[k] for c in chunks]), whole[k], err_msg=k)
    assert int(b.t[...]) == 60
    b.reset()
    seen = []
    again = b.run({"p": x}, record=RECORD + MONITORS, chunk=12, on_chunk=seen.append)
    assert b.last_run_stats["chunks"] == 5 and b.last_run_stats["compile_s"] == 0.0  # one program, cached
    assert [c.start for c in seen] == [0, 12, 24, 36, 48]
    for k in whole:
        np.testing.assert_array_equal(again[k], whole[k], err_msg=k)
    with pytest.raises(spark.GraphError, match="multiple of every monitor's `every`"):
        b.run({"p": x}, record=MONITORS, chunk=10)


def test_stopping_an_iterated_run_keeps_the_state_of_the_last_chunk_received(reg):
    x = drive(60)
    b = noisy_net(reg)
    whole = b.run({"p": x}, record=RECORD)
    b.reset()
    it = b.run_iter({"p": x}, record=RECORD, chunk=12)
    first = [next(it), next(it)]
    it.close()  # the third chunk may already have been computed; the brain stays at step 24
    assert int(b.t[...]) == 24
    rest = b.run({"p": x[24:]}, record=RECORD)
    for k in RECORD:
        np.testing.assert_array_equal(np.concatenate([first[0][k], first[1][k], rest[k]]), whole[k], err_msg=k)


def test_batched_chunked_run_equals_batched_run(reg):
    xs = np.random.default_rng(2).uniform(0.2, 0.8, size=(2, 24, 4)).astype(np.float32)
    b = noisy_net(reg)
    whole = b.run({"p": xs}, record=["noise.spikes", "syn.weight", "syn.weight@4"], batched=True)
    chunked = b.run({"p": xs}, record=["noise.spikes", "syn.weight", "syn.weight@4"], batched=True, chunk=8)
    assert whole["syn.weight@4"].shape == (2, 6, 4, 3)
    for k in whole:
        np.testing.assert_array_equal(chunked[k], whole[k], err_msg=k)
    np.testing.assert_array_equal(whole["syn.weight@4"], whole["syn.weight"][:, 3::4])
    assert int(b.t[...]) == 0


def test_a_recording_that_does_not_fit_is_refused_with_the_estimate(reg, monkeypatch):
    b = noisy_net(reg)
    monkeypatch.setattr(_recording, "available_memory", lambda: 50_000)
    est = b.estimate_recording(["syn.weight"], 2000)
    assert est.bytes == 2000 * 12 * 4 and est.available == 50_000
    with pytest.raises(spark.RecordingMemoryError) as err:
        b.run({"p": np.full(4, 0.5, np.float32)}, steps=2000, record=["syn.weight", "noise.spikes"])
    msg = str(err.value)
    assert "93.8 KiB" in msg and "48.8 KiB is available" in msg and "syn.weight: 93.8 KiB (2000 x 4 x 3 float32)" in msg
    assert "every=k" in msg and "out=" in msg
    assert int(b.t[...]) == 0, "nothing ran"


def test_a_run_larger_than_memory_streams_to_disk_and_equals_the_one_in_memory(reg, tmp_path, monkeypatch):
    x = drive(240)
    b = noisy_net(reg)
    whole = b.run({"p": x}, record=[*RECORD, "syn.weight@4"])
    b.reset()
    monkeypatch.setattr(_recording, "available_memory", lambda: 20_000)  # the recording takes 18.8 KiB
    with pytest.raises(spark.RecordingMemoryError):
        b.run({"p": x}, record=[*RECORD, "syn.weight@4"])
    streamed = b.run({"p": x}, record=[*RECORD, "syn.weight@4"], out=tmp_path / "rec")
    assert b.last_run_stats["chunks"] > 1, "small memory must split the run"
    meta = json.loads((tmp_path / "rec" / "recording.json").read_text())
    assert meta["steps_done"] == 240 and meta["files"]["syn.weight@4"] == "syn__weight_4.npy"
    for k in whole:
        assert isinstance(streamed[k], np.memmap), k
        np.testing.assert_array_equal(streamed[k], whole[k], err_msg=k)
        np.testing.assert_array_equal(np.load(tmp_path / "rec" / meta["files"][k]), whole[k], err_msg=k)
    back = spark.load_recording(tmp_path / "rec")
    assert back.info["syn.weight@4"]["every"] == 4 and back.steps == 240
    assert int(b.t[...]) == 240


def test_unknown_targets_list_ports_variables_and_methods(reg):
    class Summing(ALL[2]):  # Linear with a no-argument method
        name = "summing"

        def total(self):
            return self.weight[...].sum(axis=0)

    r = isolated_registry(*ALL, Summing)
    b = spark.Brain(dt=0.5, registry=r).add("src", "clock", shape=4).add("syn", "summing").add("out", "relay",
                                                                                             shape=3)
    b.connect("src.spikes", "syn.pre").connect("syn.i", "out.x").build()
    with pytest.raises(spark.GraphError, match="outputs: i; variables: weight; methods: total"):
        b.estimate_recording(["syn.nothing"], 10)
    est = b.estimate_recording(["syn.total@5", "syn.weight[0:5]"], 10)
    assert est.arrays["syn.total@5"][:2] == ((2, 3), "float32")
    assert est.arrays["syn.weight[0:5]"][:2] == ((10, 5), "float32")
    with pytest.raises(spark.GraphError, match="out of range"):
        b.estimate_recording([spark.Monitor("out.y", [7])], 10)


REDUCED = ["noise.u:sum", "noise.u:min", "noise.u:max", "noise.u[1:3]:max", "noise.u[0,3]:min@5",
           "noise.spikes:sum", "noise.spikes:min", "noise.spikes:max", "syn.weight:sum", "syn.weight:min",
           "syn.weight:max", spark.Monitor("syn.weight", index=np.s_[:, 1], reduce="min", name="w_col1_min")]


def test_sum_min_and_max_equal_numpy_on_the_full_recording(reg):
    """Each reduction is numpy's over the recorded elements of one step, with sum counting spikes (int32)."""
    b = noisy_net(reg)
    rec = b.run({"p": drive(60)}, record=["noise.u", "noise.spikes", "syn.weight", *REDUCED])
    u, s, w = rec["noise.u"], rec["noise.spikes"], rec["syn.weight"]
    flat_w = w.reshape(len(w), -1)
    # the full traces must tell the reductions apart, or a test of them could not fail
    assert (u.min(axis=1) < u.max(axis=1)).all() and (flat_w.min(axis=1) < flat_w.max(axis=1)).any()
    counts = s.sum(axis=1)
    assert (counts == s.shape[1]).any() and ((counts > 0) & (counts < s.shape[1])).any() and (counts == 0).any()
    expected = {
        "noise.u:sum": u.sum(axis=1), "noise.u:min": u.min(axis=1), "noise.u:max": u.max(axis=1),
        "noise.u[1:3]:max": u[:, 1:3].max(axis=1), "noise.u[0,3]:min@5": u[4::5][:, [0, 3]].min(axis=1),
        "noise.spikes:sum": s.sum(axis=1), "noise.spikes:min": s.min(axis=1), "noise.spikes:max": s.max(axis=1),
        "syn.weight:sum": flat_w.sum(axis=1), "syn.weight:min": flat_w.min(axis=1),
        "syn.weight:max": flat_w.max(axis=1), "w_col1_min": w[:, :, 1].min(axis=1),
    }
    for key, want in expected.items():
        got = rec[key]
        assert got.shape == want.shape, key
        if got.dtype.kind == "f":
            np.testing.assert_allclose(got, want, rtol=1e-6, err_msg=key)
        else:
            np.testing.assert_array_equal(got, want, err_msg=key)
    assert rec["noise.spikes:sum"].dtype == np.int32 and rec["noise.spikes:max"].dtype == np.bool_
    assert rec["noise.u:min"].dtype == np.float32 and rec.info["noise.u:max"]["reduce"] == "max"
    assert rec.info["noise.u[0,3]:min@5"]["neurons"] == [0, 3] and rec.info["noise.u:sum"]["shape"] == []


def test_negative_neuron_indices_count_from_the_end_like_numpy(reg):
    """``[-1]`` is the last neuron, as in numpy: recorded as such, and saved in the metadata as its flat index
    (never negative), so a recording read back alone says which neurons it holds. Beyond ``-size`` is refused."""
    b = noisy_net(reg)
    mons = ["noise.u[-1]", "noise.u[0,-1,-4]", "noise.u[-3:]", "noise.u[-3:-1]:sum", "noise.spikes[::-2]",
            spark.Monitor("syn.weight", [-1, -12], name="w_ends"), spark.Monitor("noise.u", np.int64(-2), name="u2"),
            spark.Monitor("syn.weight", index=np.s_[-1, [-1, 0]], name="w_last_row")]
    rec = b.run({"p": drive(12)}, record=["noise.u", "noise.spikes", "syn.weight", *mons])
    u, w = rec["noise.u"], rec["syn.weight"]
    want = {"noise.u[-1]": ([3], u[:, [3]]), "noise.u[0,-1,-4]": ([0, 3, 0], u[:, [0, 3, 0]]),
            "noise.u[-3:]": ([1, 2, 3], u[:, 1:]), "noise.spikes[::-2]": ([3, 1], rec["noise.spikes"][:, [3, 1]]),
            "w_ends": ([11, 0], w.reshape(len(w), -1)[:, [11, 0]]), "u2": ([2], u[:, [2]])}
    for key, (ids, values) in want.items():
        assert rec.info[key]["neurons"] == ids, key
        np.testing.assert_array_equal(rec[key], values, err_msg=key)
    assert rec.info["noise.u[-3:-1]:sum"]["neurons"] == [1, 2]
    np.testing.assert_allclose(rec["noise.u[-3:-1]:sum"], u[:, 1:3].sum(axis=1), rtol=1e-6)
    np.testing.assert_array_equal(rec["w_last_row"], w[:, 3, [3 - 4, 0]])
    assert rec["w_last_row"].shape == (12, 2)
    too_far = r"is out of range .*\(flat indices 0\.\.\d+, or -\d+\.\.-1 counting from the end\)"
    for bad, index in (("noise.u[-5]", -5), ("noise.u[4]", 4), (spark.Monitor("syn.weight", [0, -13]), -13)):
        with pytest.raises(spark.GraphError, match=f"neuron index {index} " + too_far) as e:
            b.estimate_recording([bad], 10)
        assert "noise.u" in str(e.value) or "syn.weight" in str(e.value)
