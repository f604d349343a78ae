"""The notebook widgets (issue 20, item 3): an embedded server's rules, and a real Jupyter kernel executing a notebook
that builds, runs, edits and views a Brain (spark_editor.show / view / live).

The widgets' front ends in Chromium: test_browser_jupyter.py.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

pytest.importorskip("anywidget", reason="the notebook widgets need the jupyter extra: pip install 'spark-editor[jupyter]'")
nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

from spark_editor.server import create_app  # noqa: E402

TESTS = Path(__file__).resolve().parent


@pytest.mark.asyncio
async def test_an_embedded_app_keeps_the_token_in_the_page_sets_no_cookie_and_may_be_framed(aiohttp_client, tmp_path,
                                                                                          provider):
    client = await aiohttp_client(create_app(tmp_path, registry=provider, token="s3cret", embedded=True))
    page = await client.get("/?token=s3cret&embed=1", allow_redirects=False)
    assert page.status == 200 and "Set-Cookie" not in page.headers  # no redirect, no cookie: the page keeps the token
    assert "frame-ancestors" not in page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert (await client.get("/api/session")).status == 403  # nothing without the token
    assert (await client.get("/api/session", headers={"Authorization": "token s3cret"})).status == 200
    # a notebook on another site frames the page: that one cross-site request passes with the token, only as a frame
    framed = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Dest": "iframe"}
    assert (await client.get("/?token=s3cret&embed=1", headers=framed)).status == 200
    assert (await client.get("/?token=wrong&embed=1", headers=framed)).status == 403
    assert (await client.get("/?token=s3cret&embed=1", headers={**framed, "Sec-Fetch-Dest": "document"})).status == 403
    assert (await client.get("/api/session?token=s3cret", headers=framed)).status == 403
    # the page's code and styles need no token (nothing in them is the user's); data does
    assert (await client.get("/static/editor.js")).status == 200
    assert (await client.get("/api/files")).status == 403
    # a normal editor: redirected with a cookie, never framed
    normal = await aiohttp_client(create_app(tmp_path, registry=provider, token="s3cret"))
    assert (await normal.get("/static/editor.js")).status == 403  # without its cookie, nothing
    assert (await normal.get("/?token=s3cret", headers=framed)).status == 403  # and never framed cross-site
    page = await normal.get("/?token=s3cret", allow_redirects=False)
    assert page.status == 302 and "Set-Cookie" in page.headers
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    with pytest.raises(ValueError, match="needs a session token"):
        create_app(tmp_path, embedded=True)


NOTEBOOK = [
    # the test pack of conftest.py in an isolated registry, as a user's own components would be
    f"import sys; sys.path.insert(0, {str(TESTS)!r})\n"
    "import json, urllib.request\n"
    "import numpy as np\nimport spark, spark_editor\n"
    "from conftest import chain_model, make_registry\n"
    "reg = make_registry()\n"
    "brain = spark.Brain.from_dict(chain_model(n=12), registry=reg)\n"
    "rec = brain.run(steps=200, record=['exc.spikes', 'enc.spikes', 'exc.v'])\n"
    "brain.summary()",
    # the viewer of this run: a (brain, recording) pair written as a run folder
    "viewer = spark_editor.view(brain, rec)\n"
    "def get(url, path):\n"
    "    base, query = url.split('?', 1)\n"
    "    token = dict(p.split('=', 1) for p in query.split('&'))['token']\n"
    "    req = urllib.request.Request(base.rsplit('/', 1)[0] + path, headers={'Authorization': 'token ' + token})\n"
    "    return json.load(urllib.request.urlopen(req, timeout=30))\n"
    "runs = get(viewer.url, '/api/runs')\n"
    "print(json.dumps({'viewer_url': viewer.url, 'runs': runs}))\n"
    "viewer",
    # the editor on a copy of the model; what it saves builds
    "editor = spark_editor.show(brain, name='chain')\n"
    "session = get(editor.url, '/api/session')\n"
    "again = editor.brain(registry=reg)\n"
    "print(json.dumps({'editor_url': editor.url, 'session': session, 'path': str(editor.path),\n"
    "                  'same': again.to_dict()['nodes'] == brain.to_dict()['nodes']}))\n"
    "editor",
    # a live raster fed by run_iter
    "live = spark_editor.live(brain, steps=300, record=['exc.spikes'], chunk=100)\n"
    "print(json.dumps({'live_steps': live.steps, 'label': live.label, 'rows': live.rows,\n"
    "                  'spikes': int(np.asarray(rec['exc.spikes']).sum())}))",
]


def test_a_kernel_executes_a_notebook_that_builds_runs_edits_and_views_a_brain(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in NOTEBOOK]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}},
                                     allow_errors=False)
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    client.execute()
    nbformat.write(nb, tmp_path / "executed.ipynb")  # kept in the test's folder for a look when it fails

    def printed(cell):
        lines = [o["text"] for o in nb.cells[cell].outputs if o.get("output_type") == "stream"]
        return json.loads("".join(lines).strip().splitlines()[-1])

    def widget(cell):
        data = [o["data"] for o in nb.cells[cell].outputs if o.get("output_type") == "execute_result"]
        assert data and "application/vnd.jupyter.widget-view+json" in data[0], nb.cells[cell].outputs
        return data[0]

    summary = [o for o in nb.cells[0].outputs if o.get("output_type") == "execute_result"][0]["data"]
    assert "text/html" in summary and "spark-summary" in summary["text/html"]  # Brain.summary() rendered as HTML
    assert "Brain('chain', dt=1 ms, 3 nodes" in summary["text/plain"]

    viewer = printed(1)
    assert viewer["viewer_url"].startswith("http://127.0.0.1:") and "/view?token=" in viewer["viewer_url"]
    assert "embed=1" in viewer["viewer_url"]
    widget(1)

    editor = printed(2)
    assert editor["session"]["file"] == "chain.spark" and editor["session"]["file_exists"] is True
    assert editor["same"] is True
    assert Path(editor["path"]).name == "chain.spark"
    widget(2)

    live = printed(3)
    assert live["live_steps"] == 500 and live["rows"] == 12  # steps of the brain: 200 before, 300 live
    # the label stamps the last step pushed, counted from the brain's first step: (499 + 1) * 1 ms (docs/time.md)
    assert live["label"].startswith("exc.spikes: t = 500 ms")


def test_live_raster_pools_columns_and_checks_the_neuron_count():
    from spark_editor.jupyter import LiveRaster

    w = LiveRaster(3, dt=0.5, pool=2)
    chunk = [[1, 0, 0], [0, 0, 0], [0, 0, 0], [0, 1, 0], [1, 1, 1]]  # 5 steps: two full columns of 2 steps + 1 left
    w.push(chunk, 0)
    import base64

    import numpy as np

    grid = np.frombuffer(base64.b64decode(w.image), np.uint8).reshape(3, -1)
    np.testing.assert_array_equal(grid[:, -2:], [[1, 0], [0, 1], [0, 0]])  # neuron 0 in column 1, neuron 1 in 2
    assert w.label == "spikes: t = 2.5 ms, 666.7 Hz over the last 5 steps"  # 5 spikes / 3 neurons / 2.5 ms
    w.push([[0, 0, 0]])
    grid = np.frombuffer(base64.b64decode(w.image), np.uint8).reshape(3, -1)
    np.testing.assert_array_equal(grid[:, -1], [1, 1, 1])  # the leftover step and this one: a third column
    with pytest.raises(ValueError, match="a chunk of 2 neurons, but this raster shows 3"):
        w.push([[0, 0]])


def test_bad_arguments_say_what_to_give(tmp_path):
    import spark_editor

    with pytest.raises(FileNotFoundError, match="no such .spark file"):
        spark_editor.show(tmp_path / "missing.spark")
    with pytest.raises(ValueError, match="takes a spark.Brain, a model document"):
        spark_editor.show(42)
    with pytest.raises(ValueError, match="is not a run folder"):
        spark_editor.view(tmp_path)
    with pytest.raises(ValueError, match="one run or two side by side, got 3"):
        spark_editor.view(tmp_path, tmp_path, tmp_path)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
