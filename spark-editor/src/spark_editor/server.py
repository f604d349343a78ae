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
=========================  ==================================================================================

Every request passes :func:`spark_editor.security.check_request`; every path :func:`spark_editor.security.confine`.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web

from . import __version__
from .security import PathError, atomic_write_text, check_request, confine, relative

STATIC = Path(__file__).parent / "static"
MAX_BODY = 32 * 1024 * 1024  # bytes; a large model with layout is well under this
MAX_FILE = 64 * 1024 * 1024
SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv", ".tox", ".mypy_cache"}

RegistryProvider = Callable[[bool], Any]

ROOT = web.AppKey("root", Path)
REGISTRY = web.AppKey("registry", object)
INITIAL_FILE = web.AppKey("initial_file", object)
RUNS = web.AppKey("runs", set)


def _default_registry(refresh: bool = False):
    import spark

    return spark.default_registry(refresh=refresh)


def create_app(root: str | os.PathLike, *, registry: RegistryProvider | None = None,
               initial_file: str | None = None) -> web.Application:
    """The editor application serving files under ``root``.

    Args:
        root: the folder whose files the editor may open and save (nothing outside it).
        registry: ``provider(refresh: bool) -> spark.Registry``; default :func:`spark.default_registry`.
        initial_file: a path (relative to ``root``) to open when the page loads; it need not exist yet.
    """
    app = web.Application(middlewares=[_guard, _errors], client_max_size=MAX_BODY)
    app[ROOT] = Path(os.path.realpath(root))
    app[REGISTRY] = registry or _default_registry
    app[INITIAL_FILE] = initial_file
    app[RUNS] = set()
    app.router.add_get("/", index)
    app.router.add_get("/api/session", session)
    app.router.add_get("/api/catalogue", catalogue)
    app.router.add_post("/api/catalogue/refresh", refresh_catalogue)
    app.router.add_post("/api/params/check", check_params)
    app.router.add_post("/api/validate", validate)
    app.router.add_get("/api/files", list_files)
    app.router.add_get("/api/open", open_file)
    app.router.add_post("/api/save", save_file)
    app.router.add_get("/assets/{dist}/{index}/{name}", pack_asset)
    from .run import run_socket

    app.router.add_get("/api/run", run_socket)
    app.router.add_static("/static", STATIC, follow_symlinks=False, append_version=False)
    app.on_shutdown.append(_close_runs)
    return app


# ----- middlewares ----------------------------------------------------------------------------------------------


def _server_port(request: web.Request) -> int:
    sock = request.transport.get_extra_info("sockname") if request.transport else None
    return int(sock[1]) if sock else -1


@web.middleware
async def _guard(request: web.Request, handler):
    problem = check_request(request.method, request.headers, _server_port(request))
    if problem:
        return web.json_response({"error": problem}, status=403)
    response = await handler(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    )
    return response


@web.middleware
async def _errors(request: web.Request, handler):
    """Turn unexpected failures into a JSON error; the server keeps running."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception as exc:  # a bug (ours or a pack's): report it, never crash the server
        request.app.logger.exception("error while handling %s %s", request.method, request.path)
        return web.json_response({"error": f"internal error: {type(exc).__name__}: {exc}"}, status=500)


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


def parse_json(text: str) -> Any:
    """Strict JSON: no NaN / Infinity literals. Raises ValueError."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise ValueError("the JSON is nested too deeply") from None


async def _body(request: web.Request) -> dict:
    """The request's JSON object body; raises HTTPBadRequest with a problem list otherwise."""
    try:
        data = parse_json(await request.text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise _bad(f"the request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise _bad(f"the request body must be a JSON object, got {type(data).__name__}")
    return data


def _bad(message: str, status: int = 400, **extra) -> web.HTTPException:
    cls = {400: web.HTTPBadRequest, 403: web.HTTPForbidden, 404: web.HTTPNotFound, 409: web.HTTPConflict,
           422: web.HTTPUnprocessableEntity}[status]
    body = {"error": message, "problems": [{"path": "$", "message": message, "node": None, "edge": None}], **extra}
    return cls(text=json.dumps(body), content_type="application/json")


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
        return [_problem_json(p) for p in problems], [_problem_json(w) for w in warnings]
    except Exception as exc:  # a malformed model must give a validation error, not a crash
        message = f"the model could not be validated: {type(exc).__name__}: {exc}"
        return [_problem_json({"path": "$", "message": message})], []


def _registry(request: web.Request, refresh: bool = False):
    return request.app[REGISTRY](refresh)


def _path_param(request: web.Request, value: Any, *, suffix: str | None = ".spark") -> Path:
    try:
        return confine(request.app[ROOT], value, suffix=suffix)
    except PathError as exc:
        raise _bad(str(exc), status=403) from None


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
    return _json({
        "root": str(request.app[ROOT]),
        "file": initial,
        "file_exists": bool(initial) and (request.app[ROOT] / initial).is_file(),
        "spark_core": spark.__version__,
        "spark_editor": __version__,
    })


async def catalogue(request: web.Request) -> web.Response:
    return _json(_registry(request).to_json())


async def refresh_catalogue(request: web.Request) -> web.Response:
    loop = asyncio.get_running_loop()
    reg = await loop.run_in_executor(None, _registry, request, True)
    return _json(reg.to_json())


async def check_params(request: web.Request) -> web.Response:
    """Build a component's Params from values, as the core does; its ParamError message is the answer."""
    import spark
    from spark import parameters as sparams

    body = await _body(request)
    try:
        entry = _registry(request).resolve(body.get("component"))
    except spark.SparkError as exc:
        return _json({"ok": False, "message": str(exc), "problems": []})
    values = body.get("params", {})
    try:
        built = sparams.from_dict(entry.cls.Params, values)
    except spark.ParamError as exc:
        problems = [{"param": name, "message": msg} for name, msg in getattr(exc, "problems", [])]
        return _json({"ok": False, "message": str(exc), "problems": problems})
    except Exception as exc:  # e.g. a value of a type the params class cannot take
        return _json({"ok": False, "message": f"{type(exc).__name__}: {exc}", "problems": []})
    return _json({"ok": True, "params": sparams.to_dict(built)})


async def validate(request: web.Request) -> web.Response:
    body = await _body(request)
    loop = asyncio.get_running_loop()
    problems, warnings = await loop.run_in_executor(None, check_doc, body.get("doc"), _registry(request))
    return _json({"problems": problems, "warnings": warnings})


async def list_files(request: web.Request) -> web.Response:
    root = request.app[ROOT]
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
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
    return _json({"root": str(root), "files": found})


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
    loop = asyncio.get_running_loop()
    doc, problems = await loop.run_in_executor(None, _read_model, path)
    rel = relative(request.app[ROOT], path)
    if doc is None:
        return _json({"path": rel, "error": problems[0]["message"], "problems": problems}, status=422)
    more, warnings = await loop.run_in_executor(None, check_doc, doc, _registry(request))
    return _json({"path": rel, "doc": doc, "problems": problems + more, "warnings": warnings})


async def save_file(request: web.Request) -> web.Response:
    body = await _body(request)
    path = _path_param(request, body.get("path"))
    doc = body.get("doc")
    if not isinstance(doc, dict):
        raise _bad(f"the model to save must be a JSON object, got {type(doc).__name__}", status=422)
    if path.is_dir():
        raise _bad(f"{relative(request.app[ROOT], path)} is a folder; give a file name", status=422)
    if path.exists() and not body.get("overwrite", False):
        raise _bad(f"{relative(request.app[ROOT], path)} already exists; confirm to overwrite it", status=409,
                   exists=True)
    if not path.parent.is_dir():
        raise _bad(f"folder {relative(request.app[ROOT], path.parent)} does not exist", status=422)
    text = json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, atomic_write_text, path, text)
    problems, warnings = await loop.run_in_executor(None, check_doc, doc, _registry(request))
    return _json({"path": relative(request.app[ROOT], path), "problems": problems, "warnings": warnings})


async def _close_runs(app: web.Application) -> None:
    for ws in list(app[RUNS]):
        await ws.close()
