"""The editor's server under hostile or heavy load (issue 15, "Editor"): each fault's smallest input and the status
and message it must get.

CPU-bound work runs off the event loop, validations and runs are capped, a run stops when its websocket closes,
slow-header connections are dropped, bad names / numbers / a full disk are JSON 4xx / 507 errors, ``overwrite``
must be a real boolean, and every response (errors included) carries the security headers.
"""

from __future__ import annotations

import asyncio
import errno
import json
import threading
import time

import aiohttp
import pytest
import pytest_asyncio
from validation_helpers import StoppableCheck, until

from spark_editor import cli, server
from spark_editor.server import LIMITS, MAX_PARAMS_BODY, MAX_QUEUED, MAX_RUNS, MAX_VALIDATIONS, create_app

pytestmark = pytest.mark.asyncio

JSON = {"Content-Type": "application/json"}


@pytest_asyncio.fixture
async def client(aiohttp_client, tmp_path, provider):
    return await aiohttp_client(create_app(tmp_path, registry=provider))


async def post(client, path, body, **kw):
    return await client.post(path, data=body if isinstance(body, (str, bytes)) else json.dumps(body),
                             headers={**JSON, **kw.pop("headers", {})}, **kw)


async def error_of(resp, status):
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/json"
    return (await resp.json())["error"]


# ----- CPU-bound work off the event loop, input caps ------------------------------------------------------------


async def test_params_check_caps_its_body(client):
    # the input: a 1M-element list (7 MB) blocked every request for 10 s; now refused before parsing
    body = json.dumps({"component": "editor-test-pack:neuron", "params": {"tau_m": [0] * 1_000_000}})
    message = await error_of(await post(client, "/api/params/check", body), 413)
    assert f"at most {MAX_PARAMS_BODY} are accepted" in message


async def test_params_check_runs_off_the_event_loop(client, monkeypatch):
    release = threading.Event()

    def slow_check(registry, component, values):
        release.wait(10)
        return {"ok": True, "params": {}}

    monkeypatch.setattr(server, "_check_params", slow_check)
    check = asyncio.create_task(post(client, "/api/params/check", {"component": "x", "params": {}}))
    await asyncio.sleep(0.2)
    started = time.monotonic()
    resp = await client.get("/api/session")  # answered while the check is still running
    assert resp.status == 200 and time.monotonic() - started < 2 and not check.done()
    release.set()
    assert (await (await check).json())["ok"] is True


async def test_validations_are_capped_and_open_is_still_answered(client, tmp_path, model, monkeypatch):
    release = threading.Event()
    real = server.check_doc

    def check_doc(doc, registry):
        if isinstance(doc, dict) and doc.get("slow"):
            release.wait(20)
        return real(doc, registry)

    monkeypatch.setattr(server, "check_doc", check_doc)
    (tmp_path / "m.spark").write_text(json.dumps(model))
    slow = [asyncio.create_task(post(client, "/api/validate", {"doc": {**model, "slow": True}}))
            for _ in range(MAX_VALIDATIONS + MAX_QUEUED)]
    # every slot taken and the queue full (a fixed sleep was too short on a loaded 2-core machine)
    limits = client.server.app[LIMITS]
    assert await until(lambda: limits.validations.locked() and limits.waiting >= MAX_QUEUED, timeout=20)
    message = await error_of(await post(client, "/api/validate", {"doc": model}), 429)
    assert f"{MAX_VALIDATIONS} validations are running and {MAX_QUEUED} are waiting" in message
    resp = await asyncio.wait_for(client.get("/api/open", params={"path": "m.spark"}), timeout=5)
    assert resp.status == 200 and (await resp.json())["problems"] == []
    release.set()
    assert [(await t).status for t in slow] == [200] * (MAX_VALIDATIONS + MAX_QUEUED)
    assert (await post(client, "/api/validate", {"doc": model})).status == 200  # slots are given back


async def test_listing_a_huge_folder_looks_at_a_bounded_number_of_names(tmp_path):
    for i in range(30):
        (tmp_path / f"d{i:02}").mkdir()
        (tmp_path / f"d{i:02}" / "m.spark").write_text("{}")
    assert len(server.list_models(tmp_path)) == 30
    assert server.list_models(tmp_path, max_entries=20) == []  # the top folder alone has 30 names: stop there
    assert 0 < len(server.list_models(tmp_path, max_entries=45)) < 30


# ----- runs: a cap per server, cancelled with their websocket ---------------------------------------------------


async def _start(client, model, steps=1_000_000):
    ws = await client.ws_connect("/api/run")
    await ws.send_json({"type": "start", "doc": model, "steps": steps, "chunk": 10})
    return ws, await asyncio.wait_for(ws.receive_json(), timeout=60)


async def _runs_drop_to(client, n, limit=30):
    for _ in range(limit * 20):
        if client.server.app[LIMITS].runs == n:
            return True
        await asyncio.sleep(0.05)
    return False


async def test_runs_are_capped_per_server(client, model):
    runs = [await _start(client, model) for _ in range(MAX_RUNS)]
    assert [first["type"] for _, first in runs] == ["started"] * MAX_RUNS
    ws, refused = await _start(client, model)
    assert refused["type"] == "error"
    assert f"already running {MAX_RUNS} models, the most it runs at once" in refused["message"]
    await runs[0][0].close()  # closing a tab frees its slot
    assert await _runs_drop_to(client, MAX_RUNS - 1)
    await ws.send_json({"type": "start", "doc": model, "steps": 20, "chunk": 10})
    assert (await asyncio.wait_for(ws.receive_json(), timeout=60))["type"] == "started"
    for other in (ws, runs[1][0]):
        await other.close()
    assert await _runs_drop_to(client, 0)


async def test_a_run_stops_when_its_websocket_closes(client, model):
    ws, first = await _start(client, model, steps=10_000_000)
    assert first["type"] == "started" and client.server.app[LIMITS].runs == 1
    await ws.close()
    assert await _runs_drop_to(client, 0, limit=20), "the run went on after its websocket closed"


async def test_a_huge_chunk_is_clamped_so_stop_is_seen(client, model):
    ws = await client.ws_connect("/api/run")
    await ws.send_json({"type": "start", "doc": model, "steps": 25_000, "chunk": 10_000_000})
    sizes = []
    while (msg := await asyncio.wait_for(ws.receive_json(), timeout=120))["type"] in ("started", "chunk"):
        sizes += [msg["n"]] if msg["type"] == "chunk" else []
    assert msg["type"] == "done" and sizes == [10_000, 10_000, 5_000]
    await ws.close()


async def test_a_body_slow_to_arrive_is_a_408(client, monkeypatch):
    monkeypatch.setattr(server, "BODY_TIMEOUT", 0.3)
    reader, writer = await asyncio.open_connection("127.0.0.1", client.server.port)
    writer.write(f"POST /api/validate HTTP/1.1\r\nHost: 127.0.0.1:{client.server.port}\r\n"
                 "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"doc\": ".encode())
    await writer.drain()
    try:
        head = await asyncio.wait_for(reader.read(4096), timeout=5)
    finally:
        writer.close()
    assert head.startswith(b"HTTP/1.1 408") and b"did not arrive within 0.3 s" in head


# ----- the listening socket: header timeout, reusable port ------------------------------------------------------


async def _serving(tmp_path, port=0, *, with_token=False):
    urls = []
    task = asyncio.create_task(cli.serve(tmp_path, port=port, open_browser=False, ready=urls.append))
    for _ in range(200):
        if urls or task.done():
            break
        await asyncio.sleep(0.05)
    if task.done():
        task.result()
    base, token = urls[0].split("?token=")
    return (task, base, token) if with_token else (task, base)


async def _stop(task):
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_connection_slow_to_send_its_headers_is_closed(tmp_path, monkeypatch):
    monkeypatch.setattr(cli, "HEADER_TIMEOUT", 0.5)
    task, url = await _serving(tmp_path)
    port = int(url.rsplit(":", 1)[1].strip("/"))
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /api/session HTTP/1.1\r\nHost: 127.0.0.1")  # slowloris: the headers never end
    await writer.drain()
    try:
        assert await asyncio.wait_for(reader.read(), timeout=5) == b""  # closed by the server
    finally:
        writer.close()
        await _stop(task)


async def test_the_port_can_be_reused_at_once_after_the_server_stops(tmp_path):
    task, url, token = await _serving(tmp_path, with_token=True)
    port = int(url.rsplit(":", 1)[1].strip("/"))
    async with aiohttp.ClientSession() as session:
        async with session.get(url + "api/session", headers={"Authorization": f"token {token}"}) as resp:
            assert resp.status == 200
        await _stop(task)  # the server closes the kept-alive connection first: its side is left in TIME_WAIT
    task, again = await _serving(tmp_path, port=port)
    assert again == url
    await _stop(task)


# ----- malformed input: JSON 4xx / 507, never 500 ---------------------------------------------------------------


async def test_a_name_over_255_bytes_is_a_400(client, model):
    name = "a" * 251 + ".spark"  # 257 bytes
    for resp in (await post(client, "/api/save", {"path": name, "doc": model}),
                 await client.get("/api/open", params={"path": name})):
        assert "at most 255 bytes" in await error_of(resp, 400)


async def test_a_lone_surrogate_is_a_4xx(client, tmp_path, model):
    message = await error_of(await post(client, "/api/save", {"path": "\ud800.spark", "doc": model}), 400)
    assert "lone surrogate" in message
    message = await error_of(await post(client, "/api/save", {"path": "m.spark", "doc": {**model, "name": "\udc00"}}),
                             422)
    assert "lone surrogate" in message and not (tmp_path / "m.spark").exists()


async def test_a_number_too_large_for_a_float_is_a_400(client, tmp_path):
    body = '{"path": "m.spark", "doc": {"format": "spark", "version": 1, "dt": 1e400, "nodes": []}}'
    assert "too large for a 64-bit float" in await error_of(await post(client, "/api/save", body), 400)
    assert not (tmp_path / "m.spark").exists()
    body = '{"doc": {"dt": -1e400}}'
    assert "too large for a 64-bit float" in await error_of(await post(client, "/api/validate", body), 400)


async def test_a_full_disk_is_a_507(client, tmp_path, model, monkeypatch):
    def full(path, text):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(server, "atomic_write_text", full)
    message = await error_of(await post(client, "/api/save", {"path": "m.spark", "doc": model}), 507)
    assert message == "cannot save m.spark: the disk is full (No space left on device); free some space and try again"


@pytest.mark.parametrize("overwrite", ["false", "true", 0, 1, None, [], {}])
async def test_overwrite_must_be_a_boolean(client, tmp_path, model, overwrite):
    (tmp_path / "m.spark").write_text("old")
    message = await error_of(await post(client, "/api/save", {"path": "m.spark", "doc": model,
                                                             "overwrite": overwrite}), 400)
    assert message == f"overwrite must be true or false (a JSON boolean), got {overwrite!r}"
    assert (tmp_path / "m.spark").read_text() == "old"
    assert (await post(client, "/api/save", {"path": "m.spark", "doc": model, "overwrite": True})).status == 200


# ----- security headers on every response ----------------------------------------------------------------------


async def test_security_headers_are_on_error_responses(client, monkeypatch):
    def broken(registry, component, values):
        raise RuntimeError("boom")

    monkeypatch.setattr(server, "_check_params", broken)
    responses = {
        404: await client.get("/api/nope"),
        405: await client.get("/api/save"),
        400: await post(client, "/api/validate", "{"),
        403: await client.get("/api/session", headers={"Host": "evil.example:80"}),
        413: await post(client, "/api/params/check", json.dumps({"params": "x" * (MAX_PARAMS_BODY + 1)})),
        500: await post(client, "/api/params/check", {"component": "x"}),
    }
    for status, resp in responses.items():
        assert resp.status == status
        assert resp.content_type == "application/json" and (await resp.json())["error"], status
        for name, value in server.SECURITY_HEADERS.items():
            assert resp.headers.get(name) == value, (status, name)


# ----- the session token ----------------------------------------------------------------------------------------

TOKEN = "s3cret-token"


@pytest_asyncio.fixture
async def guarded(aiohttp_client, tmp_path, provider):
    return await aiohttp_client(create_app(tmp_path, registry=provider, token=TOKEN))


@pytest.mark.parametrize("how", [
    {}, {"params": {"token": "wrong"}}, {"headers": {"Authorization": "token wrong"}},
    {"params": {"token": "s3cret-tokeñ"}},
    {"headers": {"Cookie": f"spark_editor_token_1={TOKEN}"}},  # another port's cookie
])
async def test_without_the_token_every_request_is_refused(guarded, model, how):
    for resp in (await guarded.get("/", **how), await guarded.get("/api/session", **how),
                 await guarded.get("/api/files", **how),
                 await post(guarded, "/api/save", {"path": "m.spark", "doc": model}, **how)):
        message = await error_of(resp, 403)
        assert message.startswith("refused: this editor needs its session token; open the URL `spark editor` printed")
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await guarded.ws_connect("/api/run", **how)
    assert refused.value.status == 403


async def test_the_token_in_the_url_or_a_header_is_accepted(guarded):
    assert (await guarded.get("/api/session", params={"token": TOKEN})).status == 200
    assert (await guarded.get("/api/session", headers={"Authorization": f"token {TOKEN}"})).status == 200


async def test_the_printed_url_sets_a_cookie_the_page_then_uses(guarded, model, tmp_path):
    resp = await guarded.get("/", params={"token": TOKEN}, allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"] == "/"  # the token leaves the address bar
    port = guarded.server.port
    cookie = resp.cookies[f"spark_editor_token_{port}"]
    assert cookie.value == TOKEN and cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/"
    # the browser now sends the cookie: the page, its API calls and the run websocket work without the token
    assert (await guarded.get("/")).status == 200
    assert (await post(guarded, "/api/save", {"path": "m.spark", "doc": model})).status == 200
    ws = await guarded.ws_connect("/api/run")
    await ws.send_json({"type": "start", "doc": model, "steps": 5, "chunk": 5})
    assert (await asyncio.wait_for(ws.receive_json(), timeout=60))["type"] == "started"
    await ws.close()


# ----- validations whose client has gone --------------------------------------------------------------------------


async def test_a_validation_whose_client_has_gone_stops_and_frees_its_slot(client, model, monkeypatch):
    """The page aborts a validation when the model changes again (or the tab closes): the worker stops at the
    validator's next checkpoint (spark.cancel) instead of checking to the end, and the slot is free again."""
    check = StoppableCheck(server, monkeypatch, lambda doc: isinstance(doc, dict) and bool(doc.get("slow")))
    limits = client.app[LIMITS]
    request = asyncio.create_task(post(client, "/api/validate", {"doc": {**model, "slow": True}}))
    assert await asyncio.to_thread(check.started.wait, 30)
    request.cancel()  # the client goes away: its connection closes
    with pytest.raises(asyncio.CancelledError):
        await request
    assert await asyncio.to_thread(check.ended.wait, 20), "the worker did not stop"
    assert check.outcome == ["cancelled"]
    # the handler gives its slot back right after the worker stops
    assert await until(lambda: limits.validations._value == MAX_VALIDATIONS)
    resp = await post(client, "/api/validate", {"doc": model})
    assert resp.status == 200 and (await resp.json())["problems"] == []


async def test_a_waiting_validation_whose_client_has_gone_leaves_the_queue(client, model, monkeypatch):
    release = threading.Event()
    real = server.check_doc
    calls: list[bool] = []

    def check_doc(doc, registry):
        calls.append(bool(isinstance(doc, dict) and doc.get("slow")))
        if calls[-1]:
            release.wait(20)
        return real(doc, registry)

    monkeypatch.setattr(server, "check_doc", check_doc)
    limits = client.app[LIMITS]
    busy = [asyncio.create_task(post(client, "/api/validate", {"doc": {**model, "slow": True}}))
            for _ in range(MAX_VALIDATIONS)]
    assert await until(lambda: len(calls) == MAX_VALIDATIONS)
    waiting = asyncio.create_task(post(client, "/api/validate", {"doc": {**model, "queued": True}}))
    assert await until(lambda: limits.waiting == 1)
    waiting.cancel()
    assert await until(lambda: limits.waiting == 0)
    release.set()
    assert [(await t).status for t in busy] == [200] * MAX_VALIDATIONS
    assert len(calls) == MAX_VALIDATIONS  # the one that left the queue was never checked
    assert limits.validations._value == MAX_VALIDATIONS
