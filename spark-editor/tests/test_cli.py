"""The `spark editor` command and the path rules, without a server."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import aiohttp
import pytest
from click.testing import CliRunner

import spark
from spark_editor import security


def test_confine_unit(tmp_path):
    assert security.confine(tmp_path, "a/b.spark") == Path(os.path.realpath(tmp_path)) / "a" / "b.spark"
    for bad in (None, 3, "  ", ".", "a/..", "x.txt"):
        with pytest.raises(security.PathError):
            security.confine(tmp_path, bad)
    assert security.confine(tmp_path, "x.txt", suffix=None).name == "x.txt"


def test_spark_editor_is_a_spark_command():
    from spark.cli import main

    result = CliRunner().invoke(main, ["editor", "--help"])
    assert result.exit_code == 0
    assert "--no-browser" in result.output and "--port" in result.output
    assert any(d == "spark-editor" and c.name == "editor" for d, c in spark.default_registry().cli_commands)


def test_spark_editor_refuses_a_file_outside_the_folder(tmp_path, monkeypatch):
    from spark.cli import main

    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["editor", "--no-browser", "../elsewhere.spark"])
    assert result.exit_code == 2 and "'..'" in result.output


@pytest.mark.asyncio
async def test_serve_listens_on_localhost_and_prints_the_url(tmp_path, capsys):
    from spark_editor.cli import serve

    urls = []
    task = asyncio.create_task(serve(tmp_path, open_browser=False, ready=urls.append))
    for _ in range(100):
        if urls:
            break
        await asyncio.sleep(0.05)
    assert urls and urls[0].startswith("http://127.0.0.1:")
    base, token = urls[0].split("?token=")
    assert base.endswith("/") and len(token) >= 40
    async with aiohttp.ClientSession() as session:
        async with session.get(base + "api/session", params={"token": token}) as resp:
            assert resp.status == 200 and (await resp.json())["root"] == os.path.realpath(tmp_path)
        async with session.get(base + "api/session") as resp:  # without the printed token: refused
            assert resp.status == 403 and "session token" in (await resp.json())["error"]
    assert urls[0] in capsys.readouterr().out
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.asyncio
async def test_serve_reports_a_port_in_use(tmp_path):
    import socket

    import click

    from spark_editor.cli import serve

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(click.ClickException, match=f"cannot listen on 127.0.0.1:{port}"):
            await serve(tmp_path, port=port, open_browser=False)
