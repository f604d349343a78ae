"""The editor's server through aiohttp's test client: catalogue, security, files, validation, runs."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from click.testing import CliRunner

import spark
from spark import sparkfile
from spark_editor import security
from spark_editor.server import create_app

pytestmark = pytest.mark.asyncio

JSON = {"Content-Type": "application/json"}


@pytest_asyncio.fixture
async def client(aiohttp_client, tmp_path, provider):
    app = create_app(tmp_path, registry=provider)
    return await aiohttp_client(app)


async def post(client, path, body, **kw):
    headers = {**JSON, **kw.pop("headers", {})}
    return await client.post(path, data=json.dumps(body) if not isinstance(body, str) else body, headers=headers, **kw)


# ----- catalogue ------------------------------------------------------------------------------------------------


async def test_catalogue_is_the_registry_json(client, registry):
    resp = await client.get("/api/catalogue")
    assert resp.status == 200
    assert await resp.json() == json.loads(json.dumps(registry.to_json()))


async def test_default_catalogue_equals_spark_list_components_json(aiohttp_client, tmp_path):
    client = await aiohttp_client(create_app(tmp_path))
    served = await (await client.get("/api/catalogue")).json()
    assert served == json.loads(json.dumps(spark.default_registry().to_json()))
    from spark.cli import main

    printed = CliRunner().invoke(main, ["list-components", "--format", "json"])
    assert printed.exit_code == 0, printed.output
    assert served == json.loads(printed.stdout)


async def test_refresh_rediscovers(client, provider):
    resp = await post(client, "/api/catalogue/refresh", {})
    assert resp.status == 200
    assert provider.refreshes == 1
    assert [c["id"] for c in (await resp.json())["components"]] == [
        "editor-test-pack:hebb", "editor-test-pack:neuron", "editor-test-pack:spiker", "editor-test-pack:wire"]


async def test_params_check_gives_the_core_message(client, registry):
    resp = await post(client, "/api/params/check", {"component": "neuron", "params": {"tau_m": -1}})
    body = await resp.json()
    with pytest.raises(spark.ParamError) as err:
        spark.parameters.from_dict(registry.resolve("neuron").cls.Params, {"tau_m": -1})
    assert body == {"ok": False, "message": str(err.value),
                    "problems": [{"param": "tau_m", "message": str(err.value)}]}
    ok = await (await post(client, "/api/params/check", {"component": "neuron", "params": {"mode": "euler"}})).json()
    assert ok["ok"] and ok["params"]["mode"] == "euler" and ok["params"]["tau_m"] == 10.0
    for bad in ({"mode": "rk4"}, {"tau_m": "abc"}, {"nope": 1}, []):
        body = await (await post(client, "/api/params/check", {"component": "neuron", "params": bad})).json()
        assert body["ok"] is False and body["message"]
    unknown = await (await post(client, "/api/params/check", {"component": "nope", "params": {}})).json()
    assert unknown["ok"] is False and "unknown component 'nope'" in unknown["message"]


# ----- Host / Origin --------------------------------------------------------------------------------------------


async def test_foreign_host_is_refused(client):
    port = client.server.port
    for host in ("evil.example", f"evil.example:{port}", f"127.0.0.1:{port + 1}", "127.0.0.1"):
        resp = await client.get("/api/catalogue", headers={"Host": host})
        assert resp.status == 403, host
        assert "DNS rebinding" in (await resp.json())["error"]
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        assert (await client.get("/api/catalogue", headers={"Host": host})).status == 200
    assert (await client.get("/", headers={"Host": "attacker.test"})).status == 403


async def test_foreign_origin_is_refused(client, tmp_path, model):
    port = client.server.port
    evil = {"Origin": "http://evil.example"}
    assert (await client.get("/api/catalogue", headers=evil)).status == 403
    resp = await post(client, "/api/save", {"path": "x.spark", "doc": model}, headers=evil)
    assert resp.status == 403 and not (tmp_path / "x.spark").exists()
    other_port = {"Origin": f"http://127.0.0.1:{port + 1}"}
    assert (await post(client, "/api/validate", {"doc": model}, headers=other_port)).status == 403
    cross_site = {"Sec-Fetch-Site": "cross-site"}
    assert (await post(client, "/api/validate", {"doc": model}, headers=cross_site)).status == 403
    own = {"Origin": f"http://127.0.0.1:{port}", "Sec-Fetch-Site": "same-origin"}
    assert (await post(client, "/api/validate", {"doc": model}, headers=own)).status == 200


async def test_writes_must_be_json(client, tmp_path, model):
    """A cross-site HTML form can only send form encodings or text/plain: refused."""
    body = json.dumps({"path": "x.spark", "doc": model})
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        resp = await client.post("/api/save", data=body, headers={"Content-Type": ctype})
        assert resp.status == 403
    assert not (tmp_path / "x.spark").exists()


async def test_null_origin_is_refused_on_every_state_changing_request(client, tmp_path, model):
    """``Origin: null`` is what sandboxed iframes, ``data:`` / ``file:`` pages and some redirects send: it is no page
    of this editor, so it may neither write files, start runs nor read the catalogue."""
    null = {"Origin": "null"}
    for path, body in (("/api/save", {"path": "x.spark", "doc": model}), ("/api/validate", {"doc": model}),
                       ("/api/catalogue/refresh", {}), ("/api/params/check", {"component": "neuron", "params": {}})):
        resp = await post(client, path, body, headers=null)
        assert resp.status == 403, path
        assert "cross-origin request from 'null'" in (await resp.json())["error"], path
    assert not (tmp_path / "x.spark").exists()
    assert (await client.get("/api/catalogue", headers=null)).status == 403
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await client.ws_connect("/api/run", headers=null)
    assert err.value.status == 403
    # the same requests from the editor's own page pass (so the 403s above are the Origin's doing)
    own = {"Origin": f"http://127.0.0.1:{client.server.port}"}
    assert (await post(client, "/api/save", {"path": "x.spark", "doc": model}, headers=own)).status == 200
    assert (tmp_path / "x.spark").exists()


@pytest.mark.parametrize("origin", ["null", "NULL", "", "file://", "http://127.0.0.1", "http://localhost",
                                    "https://127.0.0.1:{port}", "http://127.0.0.1:{port}.evil.example",
                                    "http://evil.example:{port}"])
async def test_check_request_refuses_every_origin_but_the_editors_own(origin):
    port = 8765
    headers = {"Host": f"127.0.0.1:{port}", "Origin": origin.format(port=port), "Content-Type": "application/json"}
    for method in ("GET", "POST", "PUT", "DELETE"):
        assert security.check_request(method, headers, port) is not None, (method, origin)
    for own in (f"http://127.0.0.1:{port}", f"http://localhost:{port}"):
        assert security.check_request("POST", {**headers, "Origin": own}, port) is None


async def test_websocket_from_foreign_origin_is_refused(client):
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await client.ws_connect("/api/run", headers={"Origin": "http://evil.example"})
    assert err.value.status == 403
    ws = await client.ws_connect("/api/run", headers={"Origin": f"http://127.0.0.1:{client.server.port}"})
    await ws.close()


async def test_security_headers(client):
    resp = await client.get("/")
    assert resp.status == 200
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


# ----- paths ----------------------------------------------------------------------------------------------------


@pytest.fixture
def outside(tmp_path_factory):
    d = tmp_path_factory.mktemp("outside")
    (d / "secret.spark").write_text('{"format": "spark"}')
    return d


async def test_paths_are_confined(client, tmp_path, outside, model):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "ok.spark").write_text(json.dumps(model))
    os.symlink(outside / "secret.spark", tmp_path / "link.spark")
    os.symlink(outside, tmp_path / "linkdir")
    refused = ["../outside/secret.spark", "sub/../../x.spark", str(outside / "secret.spark"), "/etc/passwd",
               "link.spark", "linkdir/secret.spark", "sub/ok.json", "sub\x00.spark", "", "..\\x.spark"]
    for path in refused:
        resp = await client.get("/api/open", params={"path": path})
        assert resp.status == 403, path
        body = await resp.json()
        assert body["problems"][0]["message"] == body["error"]
    # inside: relative or absolute
    for path in ("sub/ok.spark", str(tmp_path / "sub" / "ok.spark")):
        resp = await client.get("/api/open", params={"path": path})
        assert resp.status == 200, path
        assert (await resp.json())["path"] == "sub/ok.spark"


@pytest.fixture
def sibling(tmp_path):
    """``<root>-evil/``: a folder whose path starts with the root's path as a string, but lies outside it."""
    d = tmp_path.parent / (tmp_path.name + "-evil")
    d.mkdir()
    (d / "secret.spark").write_text('{"format": "spark"}')
    yield d
    for p in sorted(d.rglob("*"), reverse=True):
        p.unlink() if p.is_file() or p.is_symlink() else p.rmdir()
    d.rmdir()


async def test_a_sibling_folder_sharing_the_roots_prefix_is_outside(client, tmp_path, sibling, model):
    """Confinement compares path components, not strings: ``/x/root-evil`` starts with ``/x/root`` but is outside."""
    before = (sibling / "secret.spark").read_text()
    os.symlink(sibling / "secret.spark", tmp_path / "link.spark")
    os.symlink(sibling, tmp_path / "linkdir")
    (tmp_path / "sub").mkdir()
    reach = [str(sibling / "secret.spark"), str(sibling / "new.spark"), "link.spark", "linkdir/secret.spark",
             "linkdir/new.spark", f"../{sibling.name}/secret.spark", f"sub/../../{sibling.name}/secret.spark",
             str(tmp_path / ".." / sibling.name / "secret.spark"), str(tmp_path) + "-evil/secret.spark"]
    for path in reach:
        with pytest.raises(security.PathError):
            security.confine(tmp_path, path)
        assert (await client.get("/api/open", params={"path": path})).status == 403, path
        resp = await post(client, "/api/save", {"path": path, "doc": model, "overwrite": True})
        assert resp.status == 403, path
    assert (sibling / "secret.spark").read_text() == before
    assert sorted(p.name for p in sibling.iterdir()) == ["secret.spark"]
    body = await (await client.get("/api/files")).json()
    assert body["files"] == [], "a link into the sibling is not listed"
    # the root's own files, by every spelling, stay reachable
    (tmp_path / "sub" / "ok.spark").write_text(json.dumps(model))
    for path in ("sub/ok.spark", str(tmp_path / "sub" / "ok.spark"), "sub/./ok.spark"):
        assert security.confine(tmp_path, path) == (tmp_path / "sub" / "ok.spark").resolve()


async def test_inside_compares_components():
    root = Path("/data/models")
    assert security._inside(Path("/data/models/a.spark"), root)
    assert security._inside(Path("/data/models/sub/a.spark"), root)
    for out in ("/data/models-evil/a.spark", "/data/modelsX", "/data/model", "/data", "/"):
        assert not security._inside(Path(out), root), out


async def test_saving_through_a_symlink_out_is_refused(client, tmp_path, outside, model):
    before = (outside / "secret.spark").read_text()
    os.symlink(outside / "secret.spark", tmp_path / "link.spark")
    os.symlink(outside, tmp_path / "linkdir")
    for path in ("link.spark", "linkdir/secret.spark", "linkdir/new.spark", "../x.spark", str(outside / "n.spark")):
        resp = await post(client, "/api/save", {"path": path, "doc": model, "overwrite": True})
        assert resp.status == 403, path
    assert (outside / "secret.spark").read_text() == before
    assert sorted(p.name for p in outside.iterdir()) == ["secret.spark"]


async def test_files_lists_models_inside_only(client, tmp_path, outside, model):
    (tmp_path / "a.spark").write_text(json.dumps(model))
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "b.spark").write_text("{}")
    (tmp_path / "notes.txt").write_text("")
    os.symlink(outside / "secret.spark", tmp_path / "link.spark")
    os.symlink(outside, tmp_path / "linkdir")
    body = await (await client.get("/api/files")).json()
    assert body["files"] == ["a.spark", "d/b.spark"]


# ----- save / open ----------------------------------------------------------------------------------------------


async def test_save_writes_a_file_spark_loads(client, tmp_path, model, registry):
    resp = await post(client, "/api/save", {"path": "m.spark", "doc": model})
    assert resp.status == 200
    assert await resp.json() == {"path": "m.spark", "problems": [], "warnings": []}
    assert sparkfile.read(tmp_path / "m.spark") == model
    brain = spark.Brain.from_file(tmp_path / "m.spark", registry=registry)
    assert brain.to_dict()["editor"] == model["editor"]
    # exists: needs overwrite
    model["name"] = "changed"
    resp = await post(client, "/api/save", {"path": "m.spark", "doc": model})
    assert resp.status == 409 and (await resp.json())["exists"] is True
    assert sparkfile.read(tmp_path / "m.spark")["name"] == "chain"
    resp = await post(client, "/api/save", {"path": "m.spark", "doc": model, "overwrite": True})
    assert resp.status == 200 and sparkfile.read(tmp_path / "m.spark")["name"] == "changed"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.spark"]  # no temp file left


async def test_save_is_atomic(client, tmp_path, model, monkeypatch):
    target = tmp_path / "m.spark"
    target.write_text(json.dumps(model))
    original = target.read_text()
    seen = {}

    def failing_replace(src, dst):
        seen["tmp"] = Path(src)
        assert Path(src).parent == tmp_path and Path(src) != target
        assert json.loads(Path(src).read_text())["name"] == "new"  # the whole new text is in the temp file
        assert target.read_text() == original  # the target is untouched until the rename
        raise OSError("disk full")

    monkeypatch.setattr(sparkfile.os, "replace", failing_replace)  # the editor saves through spark-core's write
    resp = await post(client, "/api/save", {"path": "m.spark", "doc": {**model, "name": "new"}, "overwrite": True})
    assert resp.status == 500 and "disk full" in (await resp.json())["error"]
    assert target.read_text() == original
    assert not seen["tmp"].exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.spark"]
    monkeypatch.undo()
    resp = await post(client, "/api/save", {"path": "m.spark", "doc": {**model, "name": "new"}, "overwrite": True})
    assert resp.status == 200 and json.loads(target.read_text())["name"] == "new"


async def test_a_save_removes_the_temp_file_a_killed_save_left(client, tmp_path, model):
    """A save killed half way leaves ``.m.spark.spark-tmp-*``; the next save of the file removes it once it is
    stale (spark.sparkfile.STALE_TEMP_S), and keeps a fresh one (another save may be writing it)."""
    stale, fresh = tmp_path / ".m.spark.spark-tmp-killed01", tmp_path / ".m.spark.spark-tmp-running1"
    for p in (stale, fresh):
        p.write_text("{half a file")
    old = time.time() - sparkfile.STALE_TEMP_S - 60
    os.utime(stale, (old, old))
    resp = await post(client, "/api/save", {"path": "m.spark", "doc": model})
    assert resp.status == 200
    assert sorted(p.name for p in tmp_path.iterdir()) == [fresh.name, "m.spark"]


async def test_save_keeps_permissions(client, tmp_path, model):
    target = tmp_path / "m.spark"
    target.write_text("{}")
    target.chmod(0o640)
    await post(client, "/api/save", {"path": "m.spark", "doc": model, "overwrite": True})
    assert target.stat().st_mode & 0o777 == 0o640


async def test_save_reports_problems_of_an_invalid_model(client, tmp_path, model):
    model["nodes"][2]["params"] = {"tau_m": -3}
    body = await (await post(client, "/api/save", {"path": "m.spark", "doc": model})).json()
    assert body["problems"] and body["problems"][0]["node"] == "exc"
    assert body["problems"][0]["path"] == "$.nodes[2].params.tau_m"
    assert (tmp_path / "m.spark").exists()  # work in progress is saved anyway


async def test_open_reports_broken_files(client, tmp_path):
    (tmp_path / "bad.spark").write_text("{not json")
    resp = await client.get("/api/open", params={"path": "bad.spark"})
    assert resp.status == 422 and "not valid JSON" in (await resp.json())["error"]
    resp = await client.get("/api/open", params={"path": "missing.spark"})
    assert resp.status == 422 and "does not exist" in (await resp.json())["error"]
    (tmp_path / "invalid.spark").write_text(json.dumps({"format": "spark", "version": 1, "dt": 0.1,
                                                        "nodes": [{"id": "a", "component": "nope"}]}))
    body = await (await client.get("/api/open", params={"path": "invalid.spark"})).json()
    assert body["doc"]["nodes"][0]["id"] == "a"
    assert [p["path"] for p in body["problems"]] == ["$.nodes[0].component"]


# ----- malformed models -----------------------------------------------------------------------------------------


async def test_validate_matches_spark_validate(client, model, registry):
    broken = json.loads(json.dumps(model))
    broken["edges"].append({"from": "exc.v", "to": "syn.pre"})  # Voltage into Spikes
    broken["nodes"][0]["params"]["rate"] = -1
    body = await (await post(client, "/api/validate", {"doc": broken})).json()
    assert body["problems"] == [p.to_json() for p in sparkfile.validate(broken, registry=registry)]
    assert {p["path"] for p in body["problems"]} >= {"$.nodes[0].params.rate"}
    assert (await (await post(client, "/api/validate", {"doc": model})).json())["problems"] == []


@pytest.mark.parametrize("body", [
    "{", "[]", "null", '{"doc": NaN}', '{"doc": [1, 2]}', '{"doc": "x"}', '{"doc": {"nodes": 3}}',
    '{"doc": {"format": "spark", "version": 1, "dt": 1, "nodes": [1, {"id": 2}, {"id": "a", "component": []}]}}',
    '{"doc": {"format": "spark", "version": 1, "dt": 1, "nodes": [], '
    '"edges": [{"from": 1}, "x", {"from": "a.b", "to": "c"}]}}',
    '{"doc": {"format": "spark", "version": 1, "dt": -1, '
    '"nodes": [{"id": "a", "component": "neuron", "params": [1]}]}}',
    '{"doc": {"format": "spark", "version": 99, "dt": 1, "nodes": [{"id": "a", "component": "neuron", "shape": "x"}]}}',
    '{"doc": ' + "[" * 100_000 + "]" * 100_000 + "}",
])
async def test_malformed_model_gives_problems_not_a_crash(client, body):
    resp = await post(client, "/api/validate", body)
    assert resp.status in (200, 400)
    problems = (await resp.json())["problems"]
    assert problems and all(isinstance(p["message"], str) and p["path"].startswith("$") for p in problems)
    assert (await client.get("/api/catalogue")).status == 200  # still serving


async def test_malformed_save_requests(client, tmp_path):
    for body in ({"path": "m.spark"}, {"path": "m.spark", "doc": [1]}, {"doc": {}}, {"path": ["x"], "doc": {}}):
        resp = await post(client, "/api/save", body)
        assert resp.status in (403, 422), body
        assert (await resp.json())["problems"]
    assert list(tmp_path.iterdir()) == []


# ----- runs -----------------------------------------------------------------------------------------------------




async def test_run_streams_spikes_voltages_and_rates(client, model, run_ws):
    msgs = await run_ws(client, {"type": "start", "doc": model, "steps": 50, "chunk": 20, "voltage": {"exc": [0, 5]}})
    kinds = [m["type"] for m in msgs]
    assert kinds == ["started", "chunk", "chunk", "chunk", "done"]
    started = msgs[0]
    assert [p["key"] for p in started["populations"]] == ["enc.spikes", "exc.spikes"]
    assert started["populations"][0]["size"] == 20
    assert started["voltages"] == [{"key": "exc.v", "node": "exc", "port": "v", "neurons": [0, 5]}]
    chunks = msgs[1:-1]
    assert [c["t0"] for c in chunks] == [0, 20, 40] and [c["n"] for c in chunks] == [20, 20, 10]
    spikes = [(t, i) for c in chunks
              for t, i in zip(c["spikes"]["enc.spikes"]["t"], c["spikes"]["enc.spikes"]["i"], strict=True)]
    assert len(spikes) > 50  # 20 neurons at 200 Hz for 50 ms: ~200 spikes
    assert all(0 <= t < 50 and 0 <= i < 20 for t, i in spikes)
    rates = [r for c in chunks for r in c["rates"]["enc.spikes"]]
    assert len(rates) == 50 and 100 < sum(rates) / 50 < 300
    v = [row for c in chunks for row in c["v"]["exc.v"]]
    assert len(v) == 50 and all(len(row) == 2 for row in v)
    assert msgs[-1]["steps"] == 50


async def test_run_is_one_continuous_run(client, model, registry, run_ws):
    msgs = await run_ws(client, {"type": "start", "doc": model, "steps": 30, "chunk": 7})
    streamed = sorted((t, i) for m in msgs if m["type"] == "chunk"
                      for t, i in zip(m["spikes"]["exc.spikes"]["t"], m["spikes"]["exc.spikes"]["i"], strict=True))
    import numpy as np

    brain = spark.Brain.from_dict(model, registry=registry)
    rec = brain.run(steps=30, record=["exc.spikes"])["exc.spikes"]
    assert streamed == sorted(map(tuple, np.argwhere(rec).tolist()))


async def test_run_of_an_invalid_model_reports_problems(client, model, run_ws):
    model["edges"][0]["to"] = "syn.nope"
    msgs = await run_ws(client, {"type": "start", "doc": model, "steps": 10})
    assert msgs[-1]["type"] == "problems" and msgs[-1]["problems"][0]["edge"] == 0
    for bad in ({"type": "start", "doc": model, "steps": -1}, {"type": "start", "doc": 3, "steps": 5},
                {"type": "start", "doc": model, "steps": "10"}):
        msgs = await run_ws(client, bad)
        assert msgs[-1]["type"] in ("error", "problems")


async def test_run_can_be_stopped(client, model):
    ws = await client.ws_connect("/api/run")
    await ws.send_str("not json")
    assert (await ws.receive_json())["type"] == "error"
    await ws.send_json({"type": "start", "doc": model, "steps": 100_000, "chunk": 10})
    first = await asyncio.wait_for(ws.receive_json(), timeout=60)
    assert first["type"] == "started"
    await ws.send_json({"type": "stop"})
    while True:
        msg = await asyncio.wait_for(ws.receive_json(), timeout=60)
        if msg["type"] != "chunk":
            break
    assert msg["type"] == "stopped" and msg["steps"] < 100_000
    await ws.close()


async def test_pack_editor_assets_are_served_and_nothing_else(client, registry, tmp_path):
    asset = tmp_path / "pack" / "widget.js"
    asset.parent.mkdir()
    asset.write_text("window.packLoaded = true;")
    (tmp_path / "pack" / "secret.js").write_text("no")
    registry.editor_assets.append({"distribution": "my-pack", "js": [str(asset)], "css": []})
    html = await (await client.get("/")).text()
    assert '<script defer src="/assets/my-pack/0/widget.js"></script>' in html
    resp = await client.get("/assets/my-pack/0/widget.js")
    assert resp.status == 200 and await resp.text() == "window.packLoaded = true;"
    for url in ("/assets/my-pack/0/secret.js", "/assets/other/0/widget.js", "/assets/my-pack/1/widget.js",
                "/assets/my-pack/x/widget.js", "/static/../server.py", "/static/%2e%2e/server.py"):
        assert (await client.get(url)).status in (403, 404), url


async def test_open_a_newer_format_says_why_it_will_not_load(client, tmp_path, model):
    (tmp_path / "new.spark").write_text(json.dumps({**model, "version": 99}))
    body = await (await client.get("/api/open", params={"path": "new.spark"})).json()
    assert body["doc"]["version"] == 99
    assert body["problems"][0]["path"] == "$.version" and "upgrade spark-core" in body["problems"][0]["message"]


async def test_save_onto_a_folder_is_refused(client, tmp_path, model):
    (tmp_path / "d.spark").mkdir()
    resp = await post(client, "/api/save", {"path": "d.spark", "doc": model, "overwrite": True})
    assert resp.status == 422 and "is a folder" in (await resp.json())["error"]
    assert (tmp_path / "d.spark").is_dir()


async def test_malformed_pack_assets_do_not_break_the_page(client, registry):
    registry.editor_assets.append({"distribution": "odd", "js": [3, None], "css": "not-a-list"})
    assert (await client.get("/")).status == 200


async def test_validate_open_and_save_report_warnings_of_a_silent_model(client, model, tmp_path):
    """A valid model without outputs runs silently: every validation response lists it under `warnings`, with
    `severity: "warning"` (the problems stay empty: the model runs)."""
    silent = json.loads(json.dumps(model))
    silent["outputs"] = []
    body = await (await post(client, "/api/validate", {"doc": silent})).json()
    assert body["problems"] == []
    assert [(w["path"], w["severity"]) for w in body["warnings"]] == [("$.outputs", "warning")]
    assert "declares no outputs" in body["warnings"][0]["message"]
    assert "exc.spikes" in body["warnings"][0]["message"]  # the fix names a port of this model
    saved = await (await post(client, "/api/save", {"path": "silent.spark", "doc": silent})).json()
    assert saved["problems"] == [] and len(saved["warnings"]) == 1
    opened = await (await client.get("/api/open", params={"path": "silent.spark"})).json()
    assert opened["problems"] == [] and opened["warnings"] == body["warnings"]
    assert (await (await post(client, "/api/validate", {"doc": model})).json())["warnings"] == []
