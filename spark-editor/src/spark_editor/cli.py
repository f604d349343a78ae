"""``spark editor [FILE]`` and ``spark view RUN_DIR [RUN_DIR2]`` (added to the ``spark`` CLI by
:mod:`spark_editor.plugin`)."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import webbrowser
from pathlib import Path

import click

HEADER_TIMEOUT = 15.0  # seconds a connection may stay idle or take to send a request's headers


@click.command("editor")
@click.argument("file", required=False)
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port to listen on (127.0.0.1 only); 0 picks a free one.")
@click.option("--no-browser", is_flag=True, help="Print the URL but do not open a browser.")
def editor(file: str | None, port: int, no_browser: bool) -> None:
    """Open the graph editor on FILE (a .spark model; created on first save if it does not exist).

    The editor serves http://127.0.0.1:PORT/ and may open and save files only inside the current folder. Open the
    URL it prints: it holds this session's token, without which every request is refused.
    """
    from .security import PathError, confine, relative

    root = Path.cwd()
    initial = None
    if file is not None:
        try:
            initial = relative(root, confine(root, file))
        except PathError as exc:
            raise click.UsageError(str(exc)) from None
    try:
        asyncio.run(serve(root, port=port, initial_file=initial, open_browser=not no_browser))
    except KeyboardInterrupt:
        pass


@click.command("view")
@click.argument("runs", nargs=-1, required=True, metavar="RUN_DIR [RUN_DIR2]",
                type=click.Path(file_okay=True, dir_okay=True))
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port to listen on (127.0.0.1 only); 0 picks a free one.")
@click.option("--no-browser", is_flag=True, help="Print the URL but do not open a browser.")
def view(runs: tuple[str, ...], port: int, no_browser: bool) -> None:
    """Show recorded runs in the browser: RUN_DIR [RUN_DIR2], folders written by `spark run`.

    The viewer draws the model graph with each population's mean firing rate; pick a node for its spike raster,
    population rate, recorded traces, ISI histogram and weights; choose a time window and move a time cursor.
    Two folders are shown side by side. It serves http://127.0.0.1:PORT/view and reads only the folders given;
    open the URL it prints (it holds this session's token).
    """
    from .runs import ViewError, check_run_folder

    if len(runs) > 2:
        raise click.UsageError(f"give one or two run folders to compare, got {len(runs)}")
    for r in runs:
        try:
            check_run_folder(Path(r))
        except ViewError as exc:
            raise click.UsageError(str(exc)) from None
    try:
        asyncio.run(serve(Path.cwd(), port=port, open_browser=not no_browser, runs=[Path(r) for r in runs]))
    except KeyboardInterrupt:
        pass


async def serve(root: Path, *, port: int = 0, initial_file: str | None = None, open_browser: bool = True,
                ready=None, runs: list[Path] | None = None) -> None:
    """Serve the editor (or, given ``runs``, the viewer of those runs) until cancelled. ``ready(url)`` is called
    once the server listens, with the URL that holds the session token (``http://127.0.0.1:PORT/?token=...``;
    ``/view?token=...`` for a viewer)."""
    from aiohttp import web

    from .server import create_app

    token = secrets.token_urlsafe(32)  # only who can read this terminal can use the editor (see server.py)
    app = create_app(root, initial_file=initial_file, token=token, runs=runs)
    # keepalive_timeout also bounds how long a connection may take to send its request headers (aiohttp closes a
    # connection whose request is still incomplete when it expires), so slow-header clients cannot pile up
    runner = web.AppRunner(app, handle_signals=False, access_log=None, keepalive_timeout=HEADER_TIMEOUT)
    await runner.setup()
    # reuse_address: after a crash the port can be bound again at once (not after TIME_WAIT); Linux still refuses a
    # port another process listens on
    site = web.TCPSite(runner, "127.0.0.1", port, reuse_address=True)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise click.ClickException(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}; "
                                   "choose another --port or leave it out to pick a free one") from None
    bound = _bound_port(site)
    if runs is None:
        url = f"http://127.0.0.1:{bound}/?token={token}"
        click.echo(f"Spark editor on {url}  (folder: {root}; Ctrl+C to stop)", err=False)
    else:
        url = f"http://127.0.0.1:{bound}/view?token={token}"
        click.echo(f"Spark viewer on {url}  (runs: {', '.join(str(r) for r in runs)}; Ctrl+C to stop)", err=False)
    if ready is not None:
        ready(url)
    if open_browser and not os.environ.get("SPARK_EDITOR_NO_BROWSER"):
        webbrowser.open(url)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def _bound_port(site) -> int:
    server = site._server  # aiohttp exposes no public accessor for the bound socket
    for sock in server.sockets:
        if sock.family == socket.AF_INET:
            return sock.getsockname()[1]
    raise RuntimeError("the editor's server is not listening")
