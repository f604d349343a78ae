"""What keeps the editor's server local: Host/Origin checks, path confinement and atomic writes.

The editor listens on 127.0.0.1 only, but any web page the user opens can still make their browser send
requests there. Two checks stop that:

* **Host**: a request whose ``Host`` header is not ``127.0.0.1:<port>`` / ``localhost:<port>`` is refused.
  This defeats DNS rebinding (a hostile name resolving to 127.0.0.1 sends its own name as Host).
* **Origin**: a request carrying an ``Origin`` header that is not the server's own is refused, as is a
  cross-site ``Sec-Fetch-Site``. Browsers send ``Origin`` on every cross-origin request and on every
  websocket, so no other site can write files or start runs. Writes must also be ``application/json``,
  which a cross-site form cannot send without a CORS preflight, and the server answers no preflight.

File paths from the browser are confined to the folder the editor was started in (:func:`confine`).
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath, PureWindowsPath

LOCAL_HOSTS = ("127.0.0.1", "localhost")
SAFE_METHODS = frozenset({"GET", "HEAD"})
MAX_NAME_BYTES = 255  # one file or folder name (the limit of ext4, APFS, NTFS)
MAX_PATH_BYTES = 4096


class PathError(ValueError):
    """A path from the browser that the editor refuses to touch. The message says why."""

    status = 403  # the HTTP status the server answers with


class PathNameError(PathError):
    """A path no file system can hold (too long, a lone surrogate): a malformed request, not a forbidden one."""

    status = 400


def allowed_hosts(port: int) -> frozenset[str]:
    """The ``Host`` header values that name this server."""
    return frozenset(f"{h}:{port}" for h in LOCAL_HOSTS)


def allowed_origins(port: int) -> frozenset[str]:
    """The ``Origin`` header values of pages served by this server."""
    return frozenset(f"http://{h}:{port}" for h in LOCAL_HOSTS)


def check_request(method: str, headers, port: int, *, framed_page: bool = False) -> str | None:
    """Why a request must be refused, or None. ``headers`` is a case-insensitive mapping.

    ``framed_page``: the request loads a page of an embedded app into a frame of another site (a notebook), with
    the session token (the caller checked it): the one request that may be cross-site."""
    host = headers.get("Host", "")
    if host.lower() not in allowed_hosts(port):
        return (f"refused: Host {host!r} is not this editor's address; open http://127.0.0.1:{port}/ "
                "(requests for other host names are refused to stop DNS rebinding)")
    origin = headers.get("Origin")
    if origin is not None and origin.lower() not in allowed_origins(port):
        return f"refused: cross-origin request from {origin!r}; only pages served by this editor may use it"
    site = headers.get("Sec-Fetch-Site")
    framed = framed_page and method == "GET" and headers.get("Sec-Fetch-Dest") == "iframe"
    if site is not None and site not in ("same-origin", "none") and not framed:
        return f"refused: cross-site request (Sec-Fetch-Site: {site})"
    if method not in SAFE_METHODS:
        ctype = headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            return f"refused: {method} requests must send application/json, got {ctype or 'no Content-Type'!r}"
    return None


def confine(root: Path, path: object, *, suffix: str | None = ".spark") -> Path:
    """The real path of ``path`` (relative to ``root``, or absolute inside it), refusing anything that escapes.

    Refused: non-strings, empty or NUL-containing paths, names of more than 255 bytes (paths of more than 4096),
    characters a file name cannot hold (lone surrogates), any ``..`` component, absolute paths outside
    ``root``, and paths that leave ``root`` through a symbolic link (checked on the fully resolved path).
    ``suffix``: the required file extension (None: any).

    Raises:
        PathError: with a message saying what is wrong and what is allowed.
    """
    if not isinstance(path, str) or not path.strip():
        raise PathError(f"a file path must be a non-empty string, got {path!r}")
    if "\x00" in path:
        raise PathError("a file path must not contain NUL characters")
    try:
        encoded = os.fsencode(path)
    except UnicodeError:
        raise PathNameError(f"{path!r} contains a character no file name can hold (a lone surrogate); "
                        "rename it using ordinary characters") from None
    if len(encoded) > MAX_PATH_BYTES:
        raise PathNameError(f"the path is {len(encoded)} bytes long; at most {MAX_PATH_BYTES} are allowed")
    for part in PurePosixPath(path).parts:
        if len(os.fsencode(part)) > MAX_NAME_BYTES:
            raise PathNameError(f"the name {part[:40]!r}... is {len(os.fsencode(part))} bytes long; a file or folder "
                            f"name may have at most {MAX_NAME_BYTES} bytes")
    parts = set(PurePosixPath(path).parts) | set(PureWindowsPath(path).parts)
    if ".." in parts:
        raise PathError(f"{path!r} contains '..'; give a path inside {root} without '..'")
    real_root = Path(os.path.realpath(root))
    candidate = Path(path) if os.path.isabs(path) else real_root / path
    real = Path(os.path.realpath(candidate))
    if not _inside(real, real_root):
        if os.path.isabs(path) and not _inside(Path(os.path.abspath(path)), real_root):
            raise PathError(f"{path!r} is outside the folder the editor was started in ({real_root}); "
                            "start `spark editor` in the folder that holds your models")
        raise PathError(f"{path!r} leads outside {real_root} through a symbolic link; "
                        "the editor only opens and saves files inside the folder it was started in")
    if real == real_root:
        raise PathError(f"{path!r} is the editor's folder itself, not a file")
    if suffix is not None and real.suffix != suffix:
        raise PathError(f"{path!r} is not a {suffix} file; model files end in {suffix}")
    return real


def relative(root: Path, real: Path) -> str:
    """``real`` as a POSIX path relative to ``root`` (for showing to the browser)."""
    return Path(os.path.relpath(real, os.path.realpath(root))).as_posix()


def _inside(path: Path, root: Path) -> bool:
    try:
        return os.path.commonpath([path, root]) == str(root)
    except ValueError:  # different drives
        return False


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see either the old file or the whole new one: spark-core's one
    atomic write (:func:`spark.sparkfile.atomic_write_text`), so a save killed half way leaves a temporary file that
    the next save of the same file removes, and an error names ``path``, never the temporary file."""
    from spark.sparkfile import atomic_write_text as write

    write(path, text)

