"""The run viewer's data API (`spark view`, the editor's /view) on runs made by actually running a small Brain.

Every expected value is computed here from the recorded arrays and dt alone (a sample k is stamped (k + 1) dt,
docs/time.md), not with the viewer's code.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import pytest_asyncio
from click.testing import CliRunner

import spark
from spark.cli.run import model_layout


def _conftest():
    """This folder's conftest.py (its test pack and model); imported by path, as another conftest.py may own the
    module name ``conftest``."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_viewer_conftest", Path(__file__).with_name("conftest.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


DT = 0.5
STEPS = 400
RECORD = ["enc.spikes", "exc.spikes", "exc.v[0:5]", "exc.spikes:rate"]


def write_run(folder: Path, seed: int, *, stream: bool = False, model: bool = True, weights: bool = True) -> Path:
    """A run folder as `spark run` writes it (summary.json, recording, model.spark, weights.npz), from a real run
    of the test pack's chain model."""
    conf = _conftest()
    doc = {**conf.chain_model(n=30, rate=150.0), "dt": DT, "seed": seed}
    brain = spark.Brain.from_dict(doc, registry=conf.make_registry())
    folder.mkdir(parents=True)
    rec = brain.run(steps=STEPS, record=RECORD, out=folder / "recording" if stream else None)
    if not stream:
        rec.save(folder / "recording.npz")
    files = {"recording": "recording" if stream else "recording.npz"}
    if weights:
        np.savez(folder / "weights.npz", syn=np.asarray(brain.nodes["syn"].weight[...]) *
                 np.linspace(0.5, 1.5, 30)[None, :])
        files["weights"] = "weights.npz"
    if model:
        (folder / "model.spark").write_text(json.dumps(brain.to_dict()))
        files["model"] = "model.spark"
    summary = {"model": "chain", "dt_ms": DT, "steps": STEPS, "t0": 0, "files": files, "recording": rec.info,
               "image_shape": [5, 6], **model_layout(brain)}
    (folder / "summary.json").write_text(json.dumps(summary))
    return folder


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    a = write_run(root / "runs" / "a", seed=3)
    write_run(root / "runs" / "b", seed=4, stream=True)
    old = root / "runs" / "old"  # written before spark run saved model.spark
    shutil.copytree(a, old)
    (old / "model.spark").unlink()
    return root


@pytest.fixture(scope="module")
def arrays(runs):
    return spark.load_recording(runs / "runs" / "a"), spark.load_recording(runs / "runs" / "b")


@pytest_asyncio.fixture
async def client(aiohttp_client, runs, provider):
    from spark_editor.server import create_app

    return await aiohttp_client(create_app(runs, registry=provider))


async def get(client, path, status=200, **params):
    resp = await client.get(path, params={k: str(v) for k, v in params.items()})
    body = await resp.json()
    assert resp.status == status, body
    return body


def stamps(k, dt=DT):
    """The time of sample k (every step): the end of step k."""
    return (np.asarray(k) + 1) * dt


# ----- what a run holds -------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_runs_under_the_editor_folder_are_listed(client):
    body = await get(client, "/api/runs")
    assert body["mode"] == "edit"
    assert [r["id"] for r in body["runs"]] == ["runs/a", "runs/b", "runs/old"]


@pytest.mark.asyncio
async def test_info_gives_the_graph_monitors_and_each_nodes_mean_rate(client, runs, arrays):
    rec = arrays[0]
    body = await get(client, "/api/runs/info", run="runs/a")
    assert body["run"] == "runs/a" and body["name"] == "chain"
    assert body["graph_source"] == "model.spark"
    assert body["doc"] == json.loads((runs / "runs" / "a" / "model.spark").read_text())
    assert body["dt"] == DT and body["steps"] == STEPS
    assert body["t_start"] == 0 and body["t_end"] == pytest.approx(STEPS * DT)
    assert {m["key"]: m["kind"] for m in body["monitors"]} == {
        "enc.spikes": "spikes", "exc.spikes": "spikes", "exc.v[0:5]": "trace", "exc.spikes:rate": "rate"}
    seconds = STEPS * DT / 1000
    for node in ("enc", "exc"):
        spikes = np.asarray(rec[f"{node}.spikes"])
        assert body["rates"][node]["spikes"] == int(spikes.sum()) > 0
        assert body["rates"][node]["hz"] == pytest.approx(spikes.sum() / spikes.shape[1] / seconds)
    assert body["weights"]["syn"] == {"shape": [30, 30], "pre": "enc", "post": "exc", "image_shape": [5, 6]}


@pytest.mark.asyncio
async def test_a_run_without_model_spark_is_drawn_from_its_summary(client):
    body = await get(client, "/api/runs/info", run="runs/old")
    assert body["graph_source"] == "summary.json"
    assert [n["id"] for n in body["doc"]["nodes"]] == ["enc", "syn", "exc"]
    assert body["doc"]["edges"] == [{"from": "enc.spikes", "to": "syn.pre"}, {"from": "syn.i", "to": "exc.i_syn"}]


# ----- raster -----------------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_raster_gives_every_spike_at_its_stamp(client, arrays):
    spikes = np.asarray(arrays[0]["exc.spikes"])
    k, i = np.nonzero(spikes)
    body = await get(client, "/api/runs/raster", run="runs/a", key="exc.spikes")
    assert body["mode"] == "events" and body["total"] == len(k) > 50
    assert body["t"] == pytest.approx(stamps(k).tolist())
    assert body["i"] == i.tolist()
    assert body["n_neurons"] == 30


@pytest.mark.asyncio
async def test_raster_window_includes_both_ends(client, arrays):
    spikes = np.asarray(arrays[0]["exc.spikes"])
    k, i = np.nonzero(spikes)
    t = stamps(k)
    t0, t1 = float(t[10]), float(t[len(t) // 2])  # spike times, so both ends hold spikes
    body = await get(client, "/api/runs/raster", run="runs/a", key="exc.spikes", t0=t0, t1=t1)
    keep = (t >= t0) & (t <= t1)
    assert body["t"] == pytest.approx(t[keep].tolist())
    assert body["i"] == i[keep].tolist()
    part = await get(client, "/api/runs/raster", run="runs/a", key="exc.spikes", t0=t0, t1=t1, neurons="5:9")
    sel = keep & (i >= 5) & (i < 9)
    assert part["i"] == i[sel].tolist() and part["neurons"] == [5, 9]


@pytest.mark.asyncio
async def test_raster_past_its_cap_is_a_density_image_holding_every_spike(client, arrays):
    spikes = np.asarray(arrays[0]["enc.spikes"])
    body = await get(client, "/api/runs/raster", run="runs/a", key="enc.spikes", max_events=10, width=40, height=7)
    assert body["mode"] == "density" and "t" not in body
    assert (body["cols"], body["rows"]) == (40, 7)
    counts = np.frombuffer(base64.b64decode(body["counts"]), dtype="<u2").reshape(7, 40)
    assert counts.sum() == spikes.sum() == body["total"]
    # column c holds steps [c * 10, (c + 1) * 10): 400 steps in 40 columns; row r neurons [r * 30 / 7, ...)
    k, i = np.nonzero(spikes)
    expected = np.zeros((7, 40), int)
    np.add.at(expected, ((i * 7) // 30, k // 10), 1)
    assert (counts == expected).all()
    # caps on what may be asked
    too_many = await get(client, "/api/runs/raster", 400, run="runs/a", key="enc.spikes", max_events=10**9)
    assert "max_events must be in 0..200000" in too_many["error"]


# ----- rate, traces, ISI ------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_rate_is_spikes_per_neuron_per_second_at_each_stamp(client, arrays):
    spikes = np.asarray(arrays[0]["exc.spikes"])
    hz = spikes.sum(axis=1) / spikes.shape[1] / (DT / 1000)
    body = await get(client, "/api/runs/rate", run="runs/a", key="exc.spikes", width=1000)
    assert body["pooled"] == 1 and body["unit"] == "Hz"
    assert body["t"] == pytest.approx(stamps(np.arange(STEPS)).tolist())
    assert body["values"][0] == pytest.approx(hz.tolist())
    pooled = await get(client, "/api/runs/rate", run="runs/a", key="exc.spikes", width=50)
    assert pooled["pooled"] == 8 and len(pooled["t"]) == 50
    assert pooled["values"][0] == pytest.approx(hz.reshape(50, 8).mean(axis=1).tolist())
    assert pooled["t"] == pytest.approx(stamps(np.arange(7, STEPS, 8)).tolist())  # a bin ends at its last stamp
    assert pooled["t_start"] == pytest.approx((np.arange(0, STEPS, 8) * DT).tolist())  # and starts at its first step
    # smoothed by a centred box of 2.5 ms (5 steps), counting the steps just outside the window
    sm = await get(client, "/api/runs/rate", run="runs/a", key="exc.spikes", smooth=2.5, t0=10, t1=50, width=1000)
    box = [hz[max(0, k - 2):k + 3].mean() for k in range(STEPS)]
    keep = (stamps(np.arange(STEPS)) >= 10) & (stamps(np.arange(STEPS)) <= 50)
    assert sm["smooth"] == 2.5 and sm["values"][0] == pytest.approx(np.asarray(box)[keep].tolist())
    assert "smooth must be" in (await get(client, "/api/runs/rate", 400, run="runs/a", key="exc.spikes",
                                          smooth=-1))["error"]
    # a rate monitor (exc.spikes:rate) gives the same population rate
    mon = await get(client, "/api/runs/rate", run="runs/a", key="exc.spikes:rate", width=1000)
    assert mon["values"][0] == pytest.approx(hz.tolist(), rel=1e-5)


@pytest.mark.asyncio
async def test_traces_are_the_recorded_values(client, arrays):
    v = np.asarray(arrays[0]["exc.v[0:5]"], dtype=float)
    t0, t1 = 20.0, 60.0
    body = await get(client, "/api/runs/trace", run="runs/a", key="exc.v[0:5]", columns="1,3", t0=t0, t1=t1)
    k = np.arange(STEPS)
    keep = (stamps(k) >= t0) & (stamps(k) <= t1)
    assert body["unit"] == "mV" and body["neurons"] == [1, 3] and body["pooled"] == 1
    assert body["t"] == pytest.approx(stamps(k[keep]).tolist())
    assert np.allclose(body["values"], [v[keep, 1], v[keep, 3]])
    env = await get(client, "/api/runs/trace", run="runs/a", key="exc.v[0:5]", columns="0:5", width=40)
    assert env["pooled"] == 10 and len(env["min"]) == 5
    assert env["min"][2] == pytest.approx(v[:, 2].reshape(40, 10).min(axis=1).tolist())
    assert env["max"][2] == pytest.approx(v[:, 2].reshape(40, 10).max(axis=1).tolist())
    many = await get(client, "/api/runs/trace", 400, run="runs/a", key="exc.v[0:5]", columns="0:40")
    assert "at most 32" in many["error"]
    missing = await get(client, "/api/runs/trace", 422, run="runs/a", key="exc.v[0:5]", columns="7")
    assert "no column 7" in missing["error"]


@pytest.mark.asyncio
async def test_isi_histogram_holds_every_interval(client, arrays):
    spikes = np.asarray(arrays[0]["exc.spikes"])
    isis = np.concatenate([np.diff(np.flatnonzero(spikes[:, n])) * DT for n in range(spikes.shape[1])])
    body = await get(client, "/api/runs/isi", run="runs/a", key="exc.spikes", bins=20)
    assert body["n"] == len(isis) > 0 and sum(body["counts"]) == len(isis) and len(body["counts"]) == 20
    assert body["mean"] == pytest.approx(isis.mean())
    assert body["cv"] == pytest.approx(isis.std() / isis.mean())
    assert body["edges"][0] == 0 and body["edges"][-1] >= isis.max()


@pytest.mark.asyncio
async def test_weights_and_receptive_fields(client, runs):
    w = np.load(runs / "runs" / "a" / "weights.npz")["syn"]
    body = await get(client, "/api/runs/weights", run="runs/a", synapse="syn", fields=4)
    assert body["shape"] == [30, 30] and body["block"] == [1, 1]
    assert np.allclose(body["matrix"], w)
    assert body["image_shape"] == [5, 6] and len(body["fields"]) == 4
    assert np.allclose(body["fields"][2], w[:, 2].reshape(5, 6))
    small = await get(client, "/api/runs/weights", run="runs/a", synapse="syn", cells=7)
    assert small["block"] == [5, 5] and np.asarray(small["matrix"]).shape == (6, 6)
    assert small["matrix"][1][2] == pytest.approx(w[5:10, 10:15].mean())
    none = await get(client, "/api/runs/weights", 404, run="runs/a", synapse="exc")
    assert "no weights of 'exc'" in none["error"] and "saved: syn" in none["error"]


@pytest.mark.asyncio
async def test_a_streamed_recording_is_read_as_well(client, arrays):
    spikes = np.asarray(arrays[1]["exc.spikes"])
    k, i = np.nonzero(spikes)
    body = await get(client, "/api/runs/raster", run="runs/b", key="exc.spikes")
    assert body["t"] == pytest.approx(stamps(k).tolist()) and body["i"] == i.tolist()
    assert not np.array_equal(spikes, np.asarray(arrays[0]["exc.spikes"])), "two different runs"


# ----- large runs: every answer stays small -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """2,000 neurons x 6,000 steps of random spikes (about 120,000): a recording made directly, not by a run."""
    root = tmp_path_factory.mktemp("big")
    rng = np.random.default_rng(0)
    spikes = rng.random((6000, 2000)) < 0.01
    info = {"pop.spikes": {"target": "pop.spikes", "node": "pop", "attr": "spikes", "every": 1, "reduce": None,
                           "payload": "Spikes", "shape": [2000]}}
    (root / "big").mkdir()
    spark.Recording({"pop.spikes": spikes}, dt=0.1, steps=6000, info=info).save(root / "big" / "recording.npz")
    (root / "big" / "summary.json").write_text(json.dumps({"model": "big", "dt_ms": 0.1, "steps": 6000,
                                                           "files": {"recording": "recording.npz"}}))
    return root, spikes


@pytest.mark.asyncio
async def test_a_large_run_answers_within_its_caps(aiohttp_client, big, provider):
    from spark_editor.server import create_app

    root, spikes = big
    client = await aiohttp_client(create_app(root, registry=provider))
    resp = await client.get("/api/runs/raster", params={"run": "big", "key": "pop.spikes", "width": 800,
                                                         "height": 400})
    raw = await resp.read()
    body = json.loads(raw)
    assert body["mode"] == "density" and body["total"] == int(spikes.sum()) > 100_000
    assert len(raw) < 1_200_000, "a density image of 800 x 400 bins, not every spike"
    counts = np.frombuffer(base64.b64decode(body["counts"]), dtype="<u2")
    assert counts.sum() == spikes.sum()
    rate = await get(client, "/api/runs/rate", run="big", key="pop.spikes", width=500)
    assert len(rate["t"]) == 500 and rate["pooled"] == 12
    hz = spikes.sum(axis=1) / 2000 / 1e-4
    assert rate["values"][0] == pytest.approx(hz.reshape(500, 12).mean(axis=1).tolist())
    info = await get(client, "/api/runs/info", run="big")
    assert info["graph_source"] is None and info["rates"]["pop"]["hz"] == pytest.approx(spikes.sum() / 2000 / 0.6)


@pytest.mark.asyncio
async def test_a_recording_too_large_to_unpack_is_refused(aiohttp_client, big, provider, monkeypatch):
    from spark_editor import runs as runs_module
    from spark_editor.server import create_app

    monkeypatch.setattr(runs_module, "MAX_UNPACKED_BYTES", 1_000_000)
    client = await aiohttp_client(create_app(big[0], registry=provider))
    body = await get(client, "/api/runs/info", 413, run="big")
    assert "unpacks to" in body["error"] and "--stream" in body["error"]


# ----- refusals ---------------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_bad_requests_say_what_is_wrong(client):
    assert "give the run" in (await get(client, "/api/runs/info", 400))["error"]
    assert "give the monitor" in (await get(client, "/api/runs/raster", 400, run="runs/a"))["error"]
    bad_t = await get(client, "/api/runs/rate", 400, run="runs/a", key="exc.spikes", t0="soon")
    assert "t0 must be a finite number of ms" in bad_t["error"]
    backwards = await get(client, "/api/runs/rate", 400, run="runs/a", key="exc.spikes", t0=50, t1=10)
    assert "ends before it starts" in backwards["error"]
    unknown = await get(client, "/api/runs/raster", 404, run="runs/a", key="inh.spikes")
    assert "no monitor 'inh.spikes'" in unknown["error"] and "exc.spikes" in unknown["error"]
    not_spikes = await get(client, "/api/runs/raster", 422, run="runs/a", key="exc.v[0:5]")
    assert "not a spike recording" in not_spikes["error"]


@pytest.mark.asyncio
async def test_a_folder_that_is_not_a_run_is_named(client, runs):
    (runs / "empty").mkdir(exist_ok=True)
    body = await get(client, "/api/runs/info", 422, run="empty")
    assert "is not a run folder" in body["error"] and "summary.json" in body["error"]
    gone = await get(client, "/api/runs/info", 404, run="nowhere")
    assert "does not exist" in gone["error"]
    (runs / "broken").mkdir(exist_ok=True)
    (runs / "broken" / "summary.json").write_text("{not json")
    broken = await get(client, "/api/runs/info", 422, run="broken")
    assert "summary.json" in broken["error"] and "not valid JSON" in broken["error"]
    (runs / "hollow" / "recording").mkdir(parents=True, exist_ok=True)  # a streamed recording's folder, empty
    (runs / "hollow" / "summary.json").write_text(json.dumps({"files": {"recording": "recording"}}))
    hollow = await get(client, "/api/runs/info", 422, run="hollow")
    assert "has no recording.json" in hollow["error"]
    (runs / "lost").mkdir(exist_ok=True)
    (runs / "lost" / "summary.json").write_text(json.dumps({"files": {"recording": "gone.npz"}}))
    lost = await get(client, "/api/runs/info", 422, run="lost")
    assert "'gone.npz' named by summary.json is missing" in lost["error"]


@pytest.mark.asyncio
async def test_paths_outside_the_folder_are_refused(client, runs, tmp_path):
    assert "'..'" in (await get(client, "/api/runs/info", 403, run="../elsewhere"))["error"]
    assert "outside" in (await get(client, "/api/runs/info", 403, run=str(tmp_path)))["error"]
    # a run folder whose summary names a recording outside it
    evil = runs / "evil"
    shutil.copytree(runs / "runs" / "a", evil, dirs_exist_ok=True)
    shutil.copy(runs / "runs" / "a" / "recording.npz", tmp_path / "secret.npz")
    summary = json.loads((evil / "summary.json").read_text())
    summary["files"]["recording"] = str(tmp_path / "secret.npz")
    (evil / "summary.json").write_text(json.dumps(summary))
    body = await get(client, "/api/runs/info", 403, run="evil")
    assert "recording" in body["error"] and "outside" in body["error"]
    # ... or reaches outside through a symbolic link
    summary["files"]["recording"] = "recording.npz"
    (evil / "summary.json").write_text(json.dumps(summary))
    (evil / "recording.npz").unlink()
    os.symlink(tmp_path / "secret.npz", evil / "recording.npz")
    body = await get(client, "/api/runs/info", 403, run="evil")
    assert "symbolic link" in body["error"]


# ----- `spark view`: a viewer of the given runs only ----------------------------------------------------------


@pytest_asyncio.fixture
async def viewer(aiohttp_client, runs, provider, tmp_path):
    from spark_editor.server import create_app

    return await aiohttp_client(create_app(tmp_path, registry=provider, runs=[runs / "runs" / "a",
                                                                              runs / "runs" / "b"]))


@pytest.mark.asyncio
async def test_a_viewer_shows_only_its_runs(viewer, arrays):
    assert (await get(viewer, "/api/session"))["mode"] == "view"
    assert [r["id"] for r in (await get(viewer, "/api/runs"))["runs"]] == ["a", "b"]
    body = await get(viewer, "/api/runs/raster", run="b", key="exc.spikes")
    assert body["total"] == int(np.asarray(arrays[1]["exc.spikes"]).sum())
    for other in ("runs/a", "../a", "c"):
        refused = await get(viewer, "/api/runs/info", 403, run=other)
        assert "only the runs it was started with: a, b" in refused["error"]
    # none of the editor's routes that read or write files or run models
    assert (await viewer.get("/api/open", params={"path": "x.spark"})).status == 404
    assert (await viewer.post("/api/save", json={"path": "x.spark", "doc": {}})).status in (404, 405)
    assert (await viewer.get("/api/files")).status == 404
    page = await viewer.get("/view")
    assert page.status == 200 and "editor.js" in await page.text()


@pytest.mark.asyncio
async def test_the_token_url_of_a_viewer_keeps_its_parameters(aiohttp_client, runs, provider, tmp_path):
    from spark_editor.server import create_app

    client = await aiohttp_client(create_app(tmp_path, registry=provider, token="s3cret", runs=[runs / "runs" / "a"]))
    assert (await client.get("/api/runs/info", params={"run": "a"})).status == 403
    resp = await client.get("/view", params={"token": "s3cret", "run": "a"}, allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"] == "/view?run=a"
    assert (await client.get("/api/runs/info", params={"run": "a"})).status == 200  # the cookie carries it on


def test_spark_view_is_a_spark_command_and_checks_its_folders(tmp_path):
    from spark.cli import main

    result = CliRunner().invoke(main, ["view", "--help"])
    assert result.exit_code == 0 and "RUN_DIR" in result.output and "--no-browser" in result.output
    missing = CliRunner().invoke(main, ["view", "--no-browser", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "does not exist" in missing.output
    (tmp_path / "plain").mkdir()
    plain = CliRunner().invoke(main, ["view", "--no-browser", str(tmp_path / "plain")])
    assert plain.exit_code == 2 and "is not a run folder" in plain.output
    three = CliRunner().invoke(main, ["view", "--no-browser", "a", "b", "c"])
    assert three.exit_code == 2 and "one or two run folders" in three.output
