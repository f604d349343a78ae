"""An aiohttp app served on 127.0.0.1 from a background thread: the notebook widgets' servers
(:mod:`spark_editor.jupyter`) and the browser tests' servers."""

from __future__ import annotations

import asyncio
import threading
from urllib.parse import urlencode

from aiohttp import web


class BackgroundServer:
    """Serve ``app`` on a free port of 127.0.0.1 (``port``) from a daemon thread with its own event loop.

    Raises:
        RuntimeError: the server did not start within ``timeout`` seconds (or failed to bind), with the reason.
    """

    def __init__(self, app: web.Application, *, timeout: float = 30.0):
        self.app = app
        self.loop = asyncio.new_event_loop()
        self.runner = web.AppRunner(app, access_log=None)
        ready, failed = threading.Event(), []

        def serve():
            asyncio.set_event_loop(self.loop)
            try:
                self.loop.run_until_complete(self.runner.setup())
                site = web.TCPSite(self.runner, "127.0.0.1", 0)
                self.loop.run_until_complete(site.start())
                self.port = site._server.sockets[0].getsockname()[1]
            except BaseException as exc:  # noqa: BLE001 - reported in the caller's thread
                failed.append(exc)
                ready.set()
                return
            ready.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=serve, name="spark-editor-server", daemon=True)
        self.thread.start()
        ready.wait(timeout)
        if failed or not hasattr(self, "port"):
            raise RuntimeError(f"the editor's server did not start: {failed[0] if failed else 'timed out'}")

    def url(self, page: str = "/", **params: str) -> str:
        """``http://127.0.0.1:PORT<page>`` with ``params`` as its query (none: no ``?``)."""
        return f"http://127.0.0.1:{self.port}{page}" + (f"?{urlencode(params)}" if params else "")

    def close(self, timeout: float = 30.0) -> None:
        if self.loop.is_running():
            asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(timeout)
            self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout)
