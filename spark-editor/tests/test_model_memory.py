"""A live run of a model too large for the memory available (issue 15): the editor answers with the estimate and the
fix, and keeps serving; before, the build was killed by the operating system and took the editor with it."""

from __future__ import annotations

import pytest
import pytest_asyncio

from spark_editor.server import create_app

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def client(aiohttp_client, tmp_path, provider):
    return await aiohttp_client(create_app(tmp_path, registry=provider))




async def test_a_model_too_large_is_refused_with_a_message_and_the_editor_keeps_running(client, make_model,
                                                                                     monkeypatch, run_ws):
    monkeypatch.setenv("SPARK_MEMORY_LIMIT", "1GiB")
    msgs = await run_ws(client, {"type": "start", "doc": make_model(n=100_000), "steps": 5})
    assert [m["type"] for m in msgs] == ["error"]
    message = msgs[0]["message"]
    assert "cannot build the model" in message and "this model needs about" in message
    assert "node 'syn'" in message and "1.0 GiB (SPARK_MEMORY_LIMIT)" in message  # what dominates, the budget
    msgs = await run_ws(client, {"type": "start", "doc": make_model(), "steps": 5})  # the same server runs the next
    assert msgs[-1]["type"] == "done"
