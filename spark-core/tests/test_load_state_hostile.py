"""Brain.load_state of damaged, hostile or foreign files: a SparkError that names the file and the fix (issue 15)."""

from __future__ import annotations

import io
import os
import zipfile

import numpy as np
import pytest

import spark
from brain_parts import ALL
from spark.testing import isolated_registry


@pytest.fixture
def reg():
    return isolated_registry(*ALL)


def net(reg, n_post=3, weight=0.2):
    b = spark.Brain(dt=0.5, registry=reg)
    b.add("clk", "clock", shape=4, period=2).add("syn", "linear", weight=weight).add("out", "relay", shape=n_post)
    b.connect("clk.spikes", "syn.pre").connect("syn.i", "out.x").output("y", "out.y")
    return b.build()


@pytest.fixture
def saved(reg, tmp_path):
    b = net(reg)
    b.run(steps=5)
    path = tmp_path / "state.npz"
    b.save_state(path)
    return path


def arrays(path) -> dict:
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def rewrite(path, arrays, compression=zipfile.ZIP_STORED):
    buf = io.BytesIO()
    np.savez(buf, **arrays) if compression == zipfile.ZIP_STORED else np.savez_compressed(buf, **arrays)
    path.write_bytes(buf.getvalue())


def refused(reg, path, *words):
    with pytest.raises(spark.SparkError) as info:
        net(reg).load_state(path)
    msg = str(info.value)
    assert str(path) in msg and "cannot load this state" in msg, msg
    for w in words:
        assert w in msg, (w, msg)
    return msg


def test_the_saved_state_still_loads(reg, saved):
    b = net(reg).load_state(saved)
    assert int(b.t[...]) == 5


def test_a_truncated_file(reg, saved):
    data = saved.read_bytes()
    for cut in (len(data) // 2, len(data) - 10, 100):
        saved.write_bytes(data[:cut])
        refused(reg, saved, "not a state file", "truncated", "save it again")


def test_random_bytes_and_an_empty_file(reg, saved):
    saved.write_bytes(os.urandom(4096))
    refused(reg, saved, "not a readable .npz")
    saved.write_bytes(b"")
    refused(reg, saved, "not a state file")


def test_a_missing_file_and_a_folder(reg, tmp_path):
    refused(reg, tmp_path / "nope.npz", "no such file")
    refused(reg, tmp_path, "folder")


def test_a_zip_bomb_is_refused_from_its_headers_before_decompressing(reg, saved, monkeypatch):
    a = arrays(saved)
    key = next(k for k in a if k.endswith("weight"))
    a[key] = np.zeros((4_000, 4_000), np.float32)  # 64 MB of zeros compress to ~60 kB
    rewrite(saved, a, zipfile.ZIP_DEFLATED)
    assert saved.stat().st_size < 2**20
    monkeypatch.setattr(np.lib.format, "read_array",
                        lambda *a, **k: pytest.fail("array data was read before the shapes were compared"))
    refused(reg, saved, "shape mismatches", "[4000, 4000]")


def test_an_entry_whose_declared_size_lies_is_refused(reg, saved):
    a = arrays(saved)
    key = next(k for k in a if k.endswith("weight"))
    raw = io.BytesIO()
    np.lib.format.write_array(raw, a[key])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for k, v in a.items():
            b = io.BytesIO()
            np.lib.format.write_array(b, v)
            zf.writestr(k + ".npy", b.getvalue() + (b"\0" * 10_000 if k == key else b""))
    saved.write_bytes(buf.getvalue())
    refused(reg, saved, repr(key + ".npy"), "declares")


def test_complex_nan_and_overflowing_values(reg, saved):
    a = arrays(saved)
    key = next(k for k in a if k.endswith("weight"))
    for value, words in [(a[key].astype(np.complex64), ["complex"]),
                         (np.full_like(a[key], np.nan), ["NaN"]),
                         (np.full(a[key].shape, 1e300, np.float64), ["beyond float32"]),
                         (np.zeros(a[key].shape, object), [])]:
        bad = dict(a, **{key: value})
        if value.dtype == object:
            buf = io.BytesIO()
            np.savez(buf, **bad)  # numpy refuses to write object arrays without pickle... or writes a pickle
            saved.write_bytes(buf.getvalue())
        else:
            rewrite(saved, bad)
        refused(reg, saved, *words)


def test_integers_beyond_the_variable_dtype(reg, saved):
    a = arrays(saved)
    key = next(k for k in a if a[k].dtype == np.int32)
    rewrite(saved, dict(a, **{key: np.full(a[key].shape, 2**40, np.int64)}))
    refused(reg, saved, "beyond int32")


def test_the_state_of_another_model_with_the_same_shapes_is_refused(reg, saved):
    other = spark.Brain(dt=0.5, registry=reg)
    other.add("clk", "clock", shape=4, period=2).add("syn", "linear").add("out", "threshold", shape=3)
    other.connect("clk.spikes", "syn.pre").connect("syn.i", "out.x")
    other.build()
    mine = {k: v for k, v in arrays(saved).items()}
    # give the other model's file exactly this brain's arrays but its own model description
    path = saved.with_name("other.npz")
    other.save_state(path)
    theirs = arrays(path)
    rewrite(path, dict(mine, __spark_model__=theirs["__spark_model__"]))
    refused(reg, path, "saved from another model", "load it into the model it was saved from")


def test_other_params_of_the_same_model_still_load(reg, saved):
    b = net(reg, weight=0.7).load_state(saved)  # same nodes and edges, other initial weight: accepted
    assert int(b.t[...]) == 5
