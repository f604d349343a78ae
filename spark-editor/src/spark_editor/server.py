"""The editor's HTTP server (aiohttp): static frontend, REST API and the run websocket.

Routes (all JSON unless said otherwise):

=========================  ==================================================================================
``GET  /``                 the editor page (static bundle plus every pack's ``spark_editor_assets``)
``GET  /api/session``      the folder, the file opened at start, versions
``GET  /api/catalogue``    exactly ``Registry.to_json()`` (the JSON of ``spark list-components --format json``)
``POST /api/catalogue/refresh``  rediscover installed packs, then as above
``POST /api/params/check`` ``{component, params}`` -> ``{ok, params}`` or ``{ok: false, message, problems}``
``POST /api/validate``     ``{doc}`` -> ``{problems, warnings}`` (the checks of ``spark validate``; warnings: a
                           valid model that runs silently, e.g. an encoder fed by nothing, no outputs)
``GET  /api/files``        the ``.spark`` files under the folder
``GET  /api/open?path=``   ``{path, doc, problems, warnings}``
``POST /api/save``         ``{path, doc, overwrite}`` -> ``{path, problems, warnings}``; atomic; 409 if it exists
``GET  /api/run``          websocket: run a model and stream spikes, voltages and rates (see :mod:`.run`)
``POST /api/component/propose``  ``{doc, nodes}`` -> what "make component" offers for a selection (ports, params)
``POST /api/component/make``     ``{doc, nodes, name, kind, ports, params, overwrite}`` -> writes
                           ``components/<name>.spark``; ``{path, id, component, doc, problems, warnings}``
``GET  /api/component?id=`` a composite's document, ``editable`` when its file is in the folder
``GET  /view``, ``/api/runs/...``  the run viewer and its data (see :mod:`.viewer`)
=========================  ==================================================================================

``create_app(runs=[...])`` (``spark view``) makes a viewer of those runs only: the page, session, catalogue and
viewer routes, none of the routes that read or write model files or run models.

The registry is the one given (``registry``) plus the composites of ``<folder>/components`` as ``library:<name>``
(:mod:`.components`), so a component made in the editor is in its palette at once.

Every request passes :func:`spark_editor.security.check_request`; every path :func:`spark_editor.security.confine`.

Session token (as Jupyter's): ``spark editor`` starts the app with a random ``token`` and prints the URL
``http://127.0.0.1:PORT/?token=...``. Any request may present the token as ``?token=`` (a valid one on ``GET /``
sets an HttpOnly, SameSite=Strict cookie for this port and redirects to ``/``, so the page and its fetches and
websocket then carry the cookie) or as the header ``Authorization: token ...``; every other request gets 403.
So another local user (who can reach 127.0.0.1 but cannot read the terminal) can neither read nor write models
nor start runs. ``create_app(token=None)`` (the default, used by tests) checks no token.

Load limits: CPU-bound work (JSON parsing of large bodies, params checks, validation, builds, runs) runs in a
bounded thread pool, never on the event loop, so one large request cannot stall the others. At most
:data:`MAX_VALIDATIONS` validations run at once (up to :data:`MAX_QUEUED` more wait; beyond that: 429) and at most
:data:`MAX_RUNS` runs (a further start is refused with an ``error`` message); the pool keeps spare workers so
``/api/open`` and ``/api/save`` are answered while validations and runs are busy. Every error is a JSON object
``{"error": message}`` with a 4xx status (507 for a full disk), and every response, errors included, carries the
security headers (:func:`_security_headers`).
"""

from __future__ import annotations

import asyncio
import errno
import hmac
import json
import math
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web

from . import __version__
from .security import PathError, atomic_write_text, check_request, confine, relative

STATIC = Path(__file__).parent / "static"
MAX_BODY = 32 * 1024 * 1024  # bytes; a large model with layout is well under this
MAX_FILE = 64 * 1024 * 1024
MAX_PARAMS_BODY = 256 * 1024  # bytes; a component's params are a few numbers and short lists
MAX_VALIDATIONS = 2  # validations running at once (each in a worker thread)
MAX_QUEUED = 8  # validations waiting for a slot; beyond that the request gets 429
GONE_POLL_S = 0.1  # how often a waiting or running validation looks whether its client is still there
MAX_RUNS = 2  # runs at once per server (each builds and steps a brain in a worker thread)
BODY_TIMEOUT = 60.0  # seconds a request body may take to arrive (the header timeout is the runner's, cli.py)
WORKERS = MAX_VALIDATIONS + MAX_RUNS + 4  # spare workers keep open / save / params checks responsive
MAX_WALK = 200_000  # names looked at when listing the folder's models
SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv", ".tox", ".mypy_cache"}

RegistryProvider = Callable[[bool], Any]

ROOT = web.AppKey("root", Path)
REGISTRY = web.AppKey("registry", object)
INITIAL_FILE = web.AppKey("initial_file", object)
RUNS = web.AppKey("runs", set)
POOL = web.AppKey("pool", ThreadPoolExecutor)
TOKEN = web.AppKey("token", object)
LIMITS = web.AppKey("limits", object)
EMBEDDED = web.AppKey("embedded", bool)


class Limits:
    """The counters behind the caps on concurrent validations and runs (one per app, used on its loop only)."""

    def __init__(self) -> None:
        self.validations = asyncio.Semaphore(MAX_VALIDATIONS)
        self.waiting = 0  # validations that have arrived and not yet been granted a slot
        self.runs = 0


def _default_registry(refresh: bool = False):
    import spark

    return spark.default_registry(refresh=refresh)


def create_app(root: str | os.PathLike, *, registry: RegistryProvider | None = None,
               initial_file: str | None = None, token: str | None = None,
               runs: list[str | os.PathLike] | None = None, embedded: bool = False) -> web.Application:
    """The editor application serving files under ``root``.

    Args:
        root: the folder whose files the editor may open and save (nothing outside it).
        registry: ``provider(refresh: bool) -> spark.Registry``; default :func:`spark.default_registry`.
        initial_file: a path (relative to ``root``) to open when the page loads; it need not exist yet.
        token: the session token every request must present (see the module's docstring); None: no token.
        runs: run folders to show (``spark view``): the app is then a viewer of these runs only, with none of
            the editor's file, validation or run routes; None: the editor, whose viewer (``/view``) shows run
            folders under ``root`` (see :mod:`.viewer`).
        embedded: the app is shown inside another page (a Jupyter widget, :mod:`.jupyter`): it needs a ``token``,
            which the page keeps and sends with every request (``Authorization`` header, ``?token=`` on the
            websocket); no cookie is ever set and token pages are not redirected, so the pages may be framed by any
            page (no ``frame-ancestors`` limit): without a cookie there is nothing for a framing page to abuse, and
            without the token every request is refused.
    """
    from .viewer import add_routes, run_ids

    app = web.Application(middlewares=[_guard, _errors], client_max_size=MAX_BODY)
    app[ROOT] = Path(os.path.realpath(root))
    app[REGISTRY] = registry or _default_registry
    app[INITIAL_FILE] = initial_file
    if embedded and not token:
        raise ValueError("an embedded editor needs a session token (create_app(token=...))")
    app[TOKEN] = token
    app[EMBEDDED] = embedded
    app[RUNS] = set()
    app[POOL] = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="spark-editor")
    app[LIMITS] = Limits()
    app.on_response_prepare.append(_security_headers)
    app.router.add_get("/", index)
    app.router.add_get("/view", index)  # the same bundle; the page draws the viewer on this path
    app.router.add_get("/api/session", session)
    app.router.add_get("/api/catalogue", catalogue)
    app.router.add_get("/assets/{dist}/{index}/{name}", pack_asset)
    add_routes(app, run_ids([Path(r) for r in runs]) if runs is not None else None)
    if runs is None:
        app.router.add_post("/api/catalogue/refresh", refresh_catalogue)
        app.router.add_post("/api/params/check", check_params)
        app.router.add_post("/api/validate", validate)
        app.router.add_get("/api/files", list_files)
        app.router.add_get("/api/open", open_file)
        app.router.add_post("/api/save", save_file)
        from .run import run_socket

        app.router.add_get("/api/run", run_socket)
        app.router.add_post("/api/component/propose", propose_component)
        app.router.add_post("/api/component/make", make_component)
        app.router.add_get("/api/component", open_component)
    app.router.add_static("/static", STATIC, follow_symlinks=False, append_version=False)
    app.on_shutdown.append(_close_runs)
    app.on_cleanup.append(_stop_pool)
    return app


async def offload(request: web.Request, fn: Callable, *args: Any) -> Any:
    """``fn(*args)`` in the app's bounded worker pool (never on the event loop)."""
    return await asyncio.get_running_loop().run_in_executor(request.app[POOL], fn, *args)


async def _stop_pool(app: web.Application) -> None:
    app[POOL].shutdown(wait=False, cancel_futures=True)


# ----- middlewares ----------------------------------------------------------------------------------------------


def _server_port(request: web.Request) -> int:
    sock = request.transport.get_extra_info("sockname") if request.transport else None
    return int(sock[1]) if sock else -1


PAGES = ("/", "/view")  # pages a token URL may open (then redirected without the token)
PUBLIC_PREFIXES = ("/static/", "/assets/")  # code and styles: an embedded page loads them without its token


@web.middleware
async def _guard(request: web.Request, handler):
    token = request.app[TOKEN]
    framed = (request.app[EMBEDDED] and request.path in PAGES and token is not None
              and _same(request.query.get("token", ""), token))  # a notebook's iframe loading the page
    problem = check_request(request.method, request.headers, _server_port(request), framed_page=framed)
    if problem:
        return web.json_response({"error": problem}, status=403)
    if token is not None:
        port = _server_port(request)
        given = request.query.get("token")
        if given is None and request.headers.get("Authorization", "").startswith("token "):
            given = request.headers["Authorization"][len("token "):]
        if given is not None and _same(given, token):
            if request.method == "GET" and request.path in PAGES and "token" in request.query \
                    and not request.app[EMBEDDED]:
                # keep the token out of the address bar (other parameters stay); the cookie carries it on
                kept = [(k, v) for k, v in request.query.items() if k != "token"]
                page = web.HTTPFound(str(request.rel_url.with_query(kept)))
                page.set_cookie(token_cookie(port), token, httponly=True, samesite="Strict", path="/")
                raise page
        elif request.app[EMBEDDED] and request.method == "GET" and request.path.startswith(PUBLIC_PREFIXES):
            pass  # the page's own code and styles (the same for every user): an embedded page loads them without
            # a cookie; everything with data (api, pages, websocket) still needs the token
        elif not _same(request.cookies.get(token_cookie(port), ""), token):
            return web.json_response({"error": "refused: this editor needs its session token; open the URL "
                                      "`spark editor` printed (http://127.0.0.1:PORT/?token=...)"}, status=403)
    return await handler(request)


def token_cookie(port: int) -> str:
    """The token cookie's name; one per port, since cookies do not tell ports apart."""
    return f"spark_editor_token_{port}"


def _same(given: str, token: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), token.encode("utf-8"))


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"),
}


# an embedded app (a Jupyter widget) may be framed by the notebook page: no cookie carries its authority (see
# create_app), so frame-ancestors is not limited; everything else is the same
EMBEDDED_HEADERS = {**SECURITY_HEADERS, "Content-Security-Policy": SECURITY_HEADERS["Content-Security-Policy"].replace(
    "frame-ancestors 'none'; ", "")}


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Every response as it is sent (errors, 404s of the router and websocket handshakes included)."""
    headers = EMBEDDED_HEADERS if request.app.get(EMBEDDED) else SECURITY_HEADERS
    for name, value in headers.items():
        response.headers.setdefault(name, value)


@web.middleware
async def _errors(request: web.Request, handler):
    """Turn unexpected failures into a JSON error; the server keeps running."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/json":
            raise
        message = exc.text or exc.reason  # aiohttp's own (404, 405, 413, ...): the same as JSON
        return web.json_response({"error": message}, status=exc.status, headers=_kept_headers(exc))
    except Exception as exc:  # a bug (ours or a pack's): report it, never crash the server
        request.app.logger.exception("error while handling %s %s", request.method, request.path)
        return web.json_response({"error": f"internal error: {type(exc).__name__}: {exc}"}, status=500)


def _kept_headers(exc: web.HTTPException) -> dict:
    return {k: v for k, v in exc.headers.items() if k.lower() in ("allow", "retry-after")}


# ----- helpers --------------------------------------------------------------------------------------------------


def _finite(obj: Any) -> Any:
    """Replace non-finite floats (not representable in JSON) by strings, recursively."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return "NaN" if math.isnan(obj) else ("Infinity" if obj > 0 else "-Infinity")
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(_finite(data), status=status, dumps=lambda d: json.dumps(d, allow_nan=False))


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON; use a finite number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is too large for a 64-bit float; use a finite number")
    return value


def parse_json(text: str) -> Any:
    """Strict JSON: no NaN / Infinity literals, no number that overflows to infinity (``1e400``). Raises
    ValueError."""
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError:
        raise ValueError("the JSON is nested too deeply") from None


async def _body(request: web.Request, limit: int = MAX_BODY) -> dict:
    """The request's JSON object body (at most ``limit`` bytes, parsed in the worker pool); raises an HTTP error
    with a problem list otherwise."""
    if request.content_length is not None and request.content_length > limit:
        raise _bad(f"the request body is {request.content_length} bytes; at most {limit} are accepted here",
                   status=413)
    try:
        async with asyncio.timeout(BODY_TIMEOUT):
            raw = await request.read()
    except TimeoutError:
        raise _bad(f"the request body did not arrive within {BODY_TIMEOUT:g} s", status=408) from None
    except web.HTTPRequestEntityTooLarge:
        raise _bad(f"the request body is larger than {MAX_BODY} bytes, the most the editor accepts",
                   status=413) from None
    if len(raw) > limit:
        raise _bad(f"the request body is {len(raw)} bytes; at most {limit} are accepted here", status=413)
    try:
        data = await offload(request, _decode_json, raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _bad(f"the request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise _bad(f"the request body must be a JSON object, got {type(data).__name__}")
    return data


def _decode_json(raw: bytes) -> Any:
    return parse_json(raw.decode("utf-8"))


class _ClientClosedRequest(web.HTTPClientError):
    """499 (nginx's "client closed request"): the answer to a request whose client has gone; nobody reads it."""

    status_code = 499


def _bad(message: str, status: int = 400, **extra) -> web.HTTPException:
    cls = {400: web.HTTPBadRequest, 403: web.HTTPForbidden, 404: web.HTTPNotFound, 409: web.HTTPConflict,
           408: web.HTTPRequestTimeout, 413: web.HTTPRequestEntityTooLarge, 422: web.HTTPUnprocessableEntity,
           429: web.HTTPTooManyRequests, 499: _ClientClosedRequest,
           500: web.HTTPInternalServerError, 507: web.HTTPInsufficientStorage}[status]
    body = {"error": message, "problems": [{"path": "$", "message": message, "node": None, "edge": None}], **extra}
    kwargs = {"max_size": 0} if status == 413 else {}
    return cls(text=json.dumps(body), content_type="application/json", **kwargs)


def _problem_json(p: Any) -> dict:
    if isinstance(p, dict):
        d = dict(p)
    elif hasattr(p, "to_json"):
        d = dict(p.to_json())
    else:
        d = {"path": getattr(p, "path", "$"), "message": getattr(p, "message", str(p))}
    d.setdefault("path", "$")
    d.setdefault("message", str(p))
    d.setdefault("node", None)
    d.setdefault("edge", None)
    return d


def validate_doc(doc: Any, registry: Any) -> list[dict]:
    """Every problem of ``doc`` as JSON, found by ``spark.sparkfile.validate`` (the validator of ``spark validate``).

    Never raises: a document the validator cannot handle is reported as a problem at ``$``.
    """
    return check_doc(doc, registry)[0]


def check_doc(doc: Any, registry: Any) -> tuple[list[dict], list[dict]]:
    """``(problems, warnings)`` of ``doc`` as JSON (``spark.sparkfile.check``, as ``spark validate``); each warning
    has ``"severity": "warning"``. Never raises."""
    if not isinstance(doc, dict):
        return [_problem_json({"path": "$", "message": f"a model must be a JSON object, got {type(doc).__name__}"})], []
    try:
        from spark import sparkfile

        problems, warnings = sparkfile.check(doc, registry=registry)
        problems, moved = _boundary_shapes(doc, problems)
        return [_problem_json(p) for p in problems], [_problem_json(w) for w in [*moved, *warnings]]
    except Exception as exc:  # a malformed model must give a validation error, not a crash
        message = f"the model could not be validated: {type(exc).__name__}: {exc}"
        return [_problem_json({"path": "$", "message": message})], []


def _boundary_shapes(doc: dict, problems: list) -> tuple[list, list]:
    """In a composite file (a ``"component"`` section), a node fed through an exposed input may leave its shape to be
    inferred from what feeds it where the component is used (docs/composites.md): alone, the core cannot infer it.
    The editor shows that as a warning, not as a problem of the component: ``(problems, warnings)``."""
    head = doc.get("component")
    if not isinstance(head, dict) or not isinstance(head.get("inputs"), dict):
        return problems, []
    fed: dict[str, str] = {}
    for pname, spec in head["inputs"].items():
        refs = spec.get("to") if isinstance(spec, dict) else None
        for ref in [refs] if isinstance(refs, str) else refs if isinstance(refs, list) else []:
            if isinstance(ref, str):
                fed.setdefault(ref.rpartition(".")[0], pname)
    kept, moved = [], []
    for p in problems:
        node = getattr(p, "node", None)
        if node in fed and "cannot be inferred" in getattr(p, "message", ""):
            from spark.sparkfile import Problem

            moved.append(Problem(p.path, f"the shape of node {node!r} is inferred where the component is used, from "
                                         f"what feeds its exposed input {fed[node]!r}; alone (Run here) it needs a "
                                         "\"shape\"", node=node, severity="warning"))
        else:
            kept.append(p)
    return kept, moved


def _registry(request: web.Request, refresh: bool = False):
    from .components import with_folder_library

    return with_folder_library(request.app[REGISTRY](refresh), request.app[ROOT])


def _path_param(request: web.Request, value: Any, *, suffix: str | None = ".spark") -> Path:
    try:
        return confine(request.app[ROOT], value, suffix=suffix)
    except PathError as exc:
        raise _bad(str(exc), status=exc.status) from None


# ----- handlers -------------------------------------------------------------------------------------------------


async def index(request: web.Request) -> web.Response:
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    tags = []
    for i, assets in enumerate(_registry(request).editor_assets):
        dist = quote(str(assets.get("distribution", "pack")))
        for kind, template in (("css", '<link rel="stylesheet" href="/assets/{}/{}/{}">'),
                               ("js", '<script defer src="/assets/{}/{}/{}"></script>')):
            for path in _asset_paths(assets, kind):
                tags.append(template.format(dist, i, quote(Path(path).name)))
    html = html.replace("<!--pack-assets-->", "\n".join(tags))
    return web.Response(text=html, content_type="text/html")


async def pack_asset(request: web.Request) -> web.StreamResponse:
    """A file a pack declared through ``spark_editor_assets`` (only those files are served)."""
    dist, name = request.match_info["dist"], request.match_info["name"]
    try:
        index_ = int(request.match_info["index"])
        assets = _registry(request).editor_assets[index_]
    except (ValueError, IndexError):
        raise web.HTTPNotFound() from None
    if assets.get("distribution") != dist:
        raise web.HTTPNotFound()
    for kind in ("js", "css"):
        for path in _asset_paths(assets, kind):
            if Path(path).name == name and Path(path).is_file():
                return web.FileResponse(path)
    raise web.HTTPNotFound()


def _asset_paths(assets: dict, kind: str) -> list[str]:
    """The declared paths of one kind (``js`` / ``css``); anything that is not a path string is ignored."""
    paths = assets.get(kind) or []
    return [p for p in paths if isinstance(p, (str, os.PathLike))] if isinstance(paths, (list, tuple)) else []


async def session(request: web.Request) -> web.Response:
    import spark

    initial = request.app[INITIAL_FILE]
    from .viewer import VIEW_RUNS

    return _json({
        "mode": "edit" if request.app[VIEW_RUNS] is None else "view",
        "root": str(request.app[ROOT]),
        "file": initial,
        "file_exists": bool(initial) and (request.app[ROOT] / initial).is_file(),
        "spark_core": spark.__version__,
        "spark_editor": __version__,
    })


async def catalogue(request: web.Request) -> web.Response:
    return _json(_registry(request).to_json())


async def refresh_catalogue(request: web.Request) -> web.Response:
    reg = await offload(request, _registry, request, True)
    return _json(reg.to_json())


def _check_params(registry: Any, component: Any, values: Any) -> dict:
    """The answer of ``/api/params/check`` (runs in the worker pool)."""
    import spark
    from spark import parameters as sparams

    try:
        entry = registry.resolve(component)
    except spark.SparkError as exc:
        return {"ok": False, "message": str(exc), "problems": []}
    if getattr(entry.cls, "is_composite", False):  # a composite: its declared params (spark.composite)
        out, problems = entry.cls.check_params(values)
        if problems:
            text = "; ".join(f"{entry.id} {m}" for _, m in problems)
            return {"ok": False, "message": text,
                    "problems": [{"param": name, "message": f"{entry.id} {m}"} for name, m in problems]}
        return {"ok": True, "params": out}
    try:
        built = sparams.from_dict(entry.cls.Params, values)
    except spark.ParamError as exc:
        problems = [{"param": name, "message": msg} for name, msg in getattr(exc, "problems", [])]
        return {"ok": False, "message": str(exc), "problems": problems}
    except Exception as exc:  # e.g. a value of a type the params class cannot take
        return {"ok": False, "message": f"{type(exc).__name__}: {exc}", "problems": []}
    return {"ok": True, "params": sparams.to_dict(built)}


async def check_params(request: web.Request) -> web.Response:
    """Build a component's Params from values, as the core does; its ParamError message is the answer.

    The body is at most :data:`MAX_PARAMS_BODY` bytes (413 otherwise) and the check runs in the worker pool."""
    body = await _body(request, MAX_PARAMS_BODY)
    return _json(await offload(request, _check_params, _registry(request), body.get("component"),
                               body.get("params", {})))


def _gone(request: web.Request) -> bool:
    """Whether the client that sent ``request`` has closed its connection (a page that moved on, a closed tab)."""
    transport = request.transport
    return transport is None or transport.is_closing()


async def _unless_gone(request: web.Request, work: Any, undo: Callable[[], Any] | None = None) -> Any:
    """Await ``work`` (an awaitable), looking every :data:`GONE_POLL_S` seconds whether the client is still there;
    if it has gone, cancel ``work`` and answer 499 (nobody reads it). The same if this handler is cancelled (a
    server that cancels handlers on disconnect); ``undo()`` is called if ``work`` had finished all the same."""
    work = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait({work}, timeout=GONE_POLL_S)
            if done:
                return work.result()
            if _gone(request):
                raise _bad("the client closed the connection before the answer", status=499)
    except BaseException:
        if not work.done():
            work.cancel()
        elif undo is not None and not work.cancelled() and work.exception() is None:
            undo()
        raise


def _check_cancellable(doc: Any, registry: Any, event: threading.Event) -> tuple[list[dict], list[dict]] | None:
    """``check_doc`` that stops at the validator's next node or edge once ``event`` is set (``spark.cancel``;
    a spark-core without it checks to the end); None when it stopped."""
    try:
        from spark.cancel import Cancelled, cancellable
    except ImportError:
        return check_doc(doc, registry)
    try:
        with cancellable(event):
            return check_doc(doc, registry)
    except Cancelled:
        return None


async def checked(request: web.Request, doc: Any) -> tuple[list[dict], list[dict]]:
    """``check_doc(doc)`` in the worker pool, at most :data:`MAX_VALIDATIONS` at once and :data:`MAX_QUEUED`
    waiting; raises 429 beyond that. A validation whose client has gone (the page aborted it for a newer one, or
    closed) leaves the queue, or, running, stops at the validator's next node (``spark.cancel``): it frees its slot
    within moments instead of checking a large model to the end for nobody."""
    limits = request.app[LIMITS]
    if limits.validations.locked() and limits.waiting >= MAX_QUEUED:
        raise _bad(f"the editor is busy: {MAX_VALIDATIONS} validations are running and {MAX_QUEUED} are waiting; "
                   "try again when they finish", status=429)
    limits.waiting += 1
    seated = False

    async def take_slot() -> None:
        # leaves the queue the moment its slot is granted: the handler resumes a loop iteration later, and a request
        # that arrives in between must not find it still counted among the waiting (the queue would look full early)
        nonlocal seated
        await limits.validations.acquire()
        seated = True
        limits.waiting -= 1

    try:
        await _unless_gone(request, take_slot(), undo=limits.validations.release)
    finally:
        if not seated:  # gone or cancelled while waiting
            limits.waiting -= 1
    stop = threading.Event()
    try:
        work = offload(request, _check_cancellable, doc, _registry(request), stop)
        try:
            result = await _unless_gone(request, work)
        except BaseException:
            stop.set()  # the worker stops at its next checkpoint
            raise
        if result is None:
            raise _bad("the validation was cancelled", status=499)
        return result
    finally:
        limits.validations.release()


async def validate(request: web.Request) -> web.Response:
    body = await _body(request)
    problems, warnings = await checked(request, body.get("doc"))
    return _json({"problems": problems, "warnings": warnings})


async def list_files(request: web.Request) -> web.Response:
    root = request.app[ROOT]
    return _json({"root": str(root), "files": await offload(request, list_models, root)})


def list_models(root: Path, max_entries: int = MAX_WALK) -> list[str]:
    """The ``.spark`` files under ``root`` (at most 1000, 6 folders deep, looking at most at ``max_entries``
    names, so a huge folder cannot keep a worker busy for long)."""
    found: list[str] = []
    seen = 0
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        seen += len(dirnames) + len(filenames)
        if seen > max_entries:
            break
        depth = len(Path(dirpath).relative_to(root).parts)
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith(".") and depth < 6)
        for name in sorted(filenames):
            if name.endswith(".spark"):
                try:
                    confine(root, str(Path(dirpath, name)))
                except PathError:
                    continue  # a link leading outside
                found.append(relative(root, Path(dirpath, name)))
        if len(found) >= 1000:
            break
    return found


def _read_model(path: Path) -> tuple[Any, list[dict]]:
    """``(doc, problems)``: the document (None if unreadable) and what reading it found wrong."""
    if not path.is_file():
        return None, [_problem_json({"path": "$", "message": f"{path.name} does not exist"})]
    if path.stat().st_size > MAX_FILE:
        return None, [_problem_json({"path": "$", "message": f"{path.name} is larger than {MAX_FILE} bytes"})]
    try:
        raw = parse_json(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        return None, [_problem_json({"path": "$", "message": f"{path.name} is not valid JSON: {exc}"})]
    problems: list[dict] = []
    try:  # let the core migrate old format versions forward
        from spark import sparkfile

        doc = sparkfile.read(path)
    except Exception as exc:  # e.g. a newer format version: open it as it is and say why it will not load
        doc = raw
        problems = [_problem_json(p) for p in getattr(exc, "problems", [])] or [
            _problem_json({"path": "$", "message": str(exc)})]
    if isinstance(doc, dict) and isinstance(raw, dict) and "editor" in raw and "editor" not in doc:
        doc = {**doc, "editor": raw["editor"]}
    return doc, problems


async def open_file(request: web.Request) -> web.Response:
    path = _path_param(request, request.query.get("path"))
    try:
        doc, problems = await offload(request, _read_model, path)
    except OSError as exc:
        raise _os_error(request, exc, path, "read") from None
    rel = relative(request.app[ROOT], path)
    if doc is None:
        return _json({"path": rel, "error": problems[0]["message"], "problems": problems}, status=422)
    # not behind the validation cap: opening a file must not wait for others' validations (the pool has room)
    more, warnings = await offload(request, check_doc, doc, _registry(request))
    return _json({"path": rel, "doc": doc, "problems": problems + more, "warnings": warnings})


async def save_file(request: web.Request) -> web.Response:
    body = await _body(request)
    path = _path_param(request, body.get("path"))
    doc = body.get("doc")
    if not isinstance(doc, dict):
        raise _bad(f"the model to save must be a JSON object, got {type(doc).__name__}", status=422)
    overwrite = body.get("overwrite", False)
    if not isinstance(overwrite, bool):
        raise _bad(f"overwrite must be true or false (a JSON boolean), got {overwrite!r}")
    if path.is_dir():
        raise _bad(f"{relative(request.app[ROOT], path)} is a folder; give a file name", status=422)
    if path.exists() and not overwrite:
        raise _bad(f"{relative(request.app[ROOT], path)} already exists; confirm to overwrite it", status=409,
                   exists=True)
    if not path.parent.is_dir():
        raise _bad(f"folder {relative(request.app[ROOT], path.parent)} does not exist", status=422)
    try:
        text = await offload(request, _model_text, doc)
    except ValueError as exc:
        raise _bad(f"the model cannot be saved: {exc}", status=422) from None
    try:
        await offload(request, atomic_write_text, path, text)
    except OSError as exc:
        raise _os_error(request, exc, path, "save") from None
    problems, warnings = await offload(request, check_doc, doc, _registry(request))
    return _json({"path": relative(request.app[ROOT], path), "problems": problems, "warnings": warnings})


def _model_text(doc: dict) -> str:
    """The file text of ``doc``; ValueError if it holds something a UTF-8 JSON file cannot (a lone surrogate)."""
    text = json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = text[exc.start:exc.end]
        near = text[max(0, exc.start - 30):exc.start]
        raise ValueError(f"it contains the lone surrogate {bad!r} (after {near!r}), which UTF-8 cannot store; "
                         "remove it or write the character it was meant to pair with") from None
    return text


def _os_error(request: web.Request, exc: OSError, path: Path, verb: str) -> web.HTTPException:
    """A JSON error for a failed read or write: 507 for a full disk or quota, 403 for no permission or a
    read-only file system, 400 for a name the file system refuses, 500 otherwise."""
    rel = relative(request.app[ROOT], path)
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return _bad(f"cannot {verb} {rel}: the disk is full ({reason}); free some space and try again", status=507)
    if isinstance(exc, PermissionError) or exc.errno == errno.EROFS:
        return _bad(f"cannot {verb} {rel}: {reason}", status=403)
    if exc.errno in (errno.ENAMETOOLONG, errno.EINVAL, errno.EILSEQ):
        return _bad(f"cannot {verb} {rel}: the file system refuses this name ({reason})", status=400)
    return _bad(f"cannot {verb} {rel}: {reason}", status=500)


async def _close_runs(app: web.Application) -> None:
    for ws in list(app[RUNS]):
        await ws.close()


# ----- composites (issue 18, part 3; see components.py) --------------------------------------------------------


async def propose_component(request: web.Request) -> web.Response:
    """``{doc, nodes}`` -> ``{ports, params, n, name}``: what "make component" offers for a selection."""
    from .components import MakeError, propose

    body = await _body(request)
    try:
        return _json(await offload(request, propose, body.get("doc"), body.get("nodes"), _registry(request)))
    except MakeError as exc:
        raise _bad(str(exc), status=422) from None


def _make(root: Path, base: Any, body: dict) -> dict:
    from .components import MakeError, library_folder, make, with_folder_library

    registry = with_folder_library(base, root)
    name = body.get("name")
    composite, model = make(body.get("doc"), body.get("nodes"), registry, name=name,
                            kind=body.get("kind") or "composite", ports=body.get("ports"), params=body.get("params"),
                            node_id=body.get("node_id"), shape_param=body.get("shape_param", True) is not False,
                            doc_text=body.get("description") or "")
    folder = library_folder(root)
    path = folder / f"{name}.spark"
    try:
        prior = registry.resolve(f"library:{name}")
    except Exception:
        prior = None
    if prior is not None and os.path.realpath(getattr(prior.cls, "source", "")) != os.path.realpath(path):
        raise MakeError(f"library:{name} is already a component of the user library ({prior.cls.source}); choose "
                        "another name")
    overwrite = body.get("overwrite", False)
    if not isinstance(overwrite, bool):
        raise MakeError(f"overwrite must be true or false (a JSON boolean), got {overwrite!r}")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{relative(root, path)} already exists; confirm to overwrite it")
    if folder.exists() and not folder.is_dir():
        raise MakeError(f"{relative(root, folder)} is a file; the editor keeps its components in a folder of that "
                        "name: rename the file")
    folder.mkdir(exist_ok=True)
    confine(root, str(path))  # the components folder may be a link leading out: refuse
    atomic_write_text(path, _model_text(composite))
    problems, warnings = check_doc(model, with_folder_library(base, root))  # the new file is in the library now
    return {"path": relative(root, path), "id": f"library:{name}", "component": composite, "doc": model,
            "problems": problems, "warnings": warnings}


async def make_component(request: web.Request) -> web.Response:
    """Write ``components/<name>.spark`` from a selection and answer the model with the selection replaced by one
    node of it (the model is not saved: the page shows it, unsaved)."""
    from .components import MakeError

    body = await _body(request)
    root = request.app[ROOT]
    base = request.app[REGISTRY](False)
    try:
        return _json(await offload(request, _make, root, base, body))
    except MakeError as exc:
        raise _bad(str(exc), status=422) from None
    except FileExistsError as exc:
        raise _bad(str(exc), status=409, exists=True) from None
    except PathError as exc:
        raise _bad(str(exc), status=exc.status) from None
    except OSError as exc:
        raise _os_error(request, exc, root / "components", "write") from None


async def open_component(request: web.Request) -> web.Response:
    """``?id=`` -> ``{id, name, kind, doc, editable, path}``: a composite's inside, to open in the editor."""
    from .components import describe_source

    cid = request.query.get("id", "")
    try:
        info = await offload(request, describe_source, _registry(request), cid, request.app[ROOT])
    except (ValueError, KeyError) as exc:
        raise _bad(str(exc).strip("'\""), status=404) from None
    except Exception as exc:  # an unknown id: the registry's message
        raise _bad(str(exc), status=404) from None
    return _json(info)
