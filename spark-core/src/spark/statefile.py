"""Reading a state file of :meth:`spark.Brain.save_state` defensively (issue 15).

A state file is an ``.npz`` (a zip of ``.npy`` arrays) that may be truncated, not a zip at all, a zip bomb, or the
state of another model. Everything is checked from the zip's directory and each array's ``.npy`` header before any
array data is decompressed: the names, each array's shape and dtype, and that the uncompressed size the zip
declares matches what the header says. Values are checked after reading (no complex numbers, no NaN, nothing that
overflows the variable's dtype), and the model saved with the state (``__spark_model__``) must have the same nodes
and edges. Every refusal is a :class:`SparkError` that names the file and the fix.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Mapping
from typing import Any

import numpy as np

from .errors import SparkError

MODEL_KEY = "__spark_model__"
MAX_MODEL_JSON = 256 * 2**20  # bytes of the saved model description that are read at most
_HEADER_SLACK = 1 << 16  # an .npy header is at most this long


class StateFileError(SparkError, ValueError):
    """A state file that cannot be loaded into this brain: the message names the file and the fix."""


def _fail(path: Any, what: str, fix: str = "save it again with brain.save_state(path) from this model") -> None:
    raise StateFileError(f"{os.fspath(path)}: cannot load this state: {what}; {fix}")


def _header(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: Any) -> tuple[tuple, np.dtype]:
    """Shape and dtype from an entry's .npy header (reads only the header), checked against its declared size."""
    try:
        with zf.open(info) as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, _fortran, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, _fortran, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                shape, _fortran, dtype = np.lib.format.read_array_header_2_0(f)  # 3.0: the same layout
            header_len = f.tell()
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError) as exc:
        _fail(path, f"array {info.filename!r} has no valid .npy header ({type(exc).__name__}: {exc})")
    if dtype.hasobject:
        _fail(path, f"array {info.filename!r} holds Python objects (dtype {dtype}); state files hold numbers only")
    nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if info.file_size != header_len + nbytes:
        _fail(path, f"array {info.filename!r} declares {info.file_size} bytes but its header says "
                    f"{list(shape)} {dtype} ({header_len + nbytes} bytes): the file is damaged or was not written "
                    "by Brain.save_state")
    return tuple(shape), dtype


def _structure(doc: Any) -> Any:
    """What a state depends on: the nodes (id, component, shape, attach) and the edges; not params or names."""
    if not isinstance(doc, dict):
        return None
    nodes = sorted((str(n.get("id")), str(n.get("component")), json.dumps(n.get("shape")), str(n.get("attach")))
                   for n in doc.get("nodes", []) if isinstance(n, dict))
    edges = sorted(json.dumps(e, sort_keys=True) for e in doc.get("edges", []))
    return nodes, edges


def read_state(path: str | os.PathLike, expected: Mapping[str, tuple[tuple, np.dtype]],
               model_json: str | None = None) -> dict[str, np.ndarray]:
    """The arrays of state file ``path``, each checked against ``expected`` (key -> (shape, dtype)).

    Names, shapes, dtypes and declared sizes are compared before any array data is decompressed; then the values.
    ``model_json``: this brain's model; a file saved from a model with other nodes or edges is refused.
    """
    try:
        zf = zipfile.ZipFile(path)
    except FileNotFoundError:
        _fail(path, "there is no such file", "check the path (brain.save_state(path) writes it)")
    except IsADirectoryError:
        _fail(path, "it is a folder", "give the .npz file that brain.save_state(path) wrote")
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        _fail(path, f"it is not a state file written by Brain.save_state (not a readable .npz archive: "
                    f"{type(exc).__name__}: {exc}); it may be truncated or overwritten")
    with zf:
        entries: dict[str, zipfile.ZipInfo] = {}
        for info in zf.infolist():
            if not info.filename.endswith(".npy"):
                _fail(path, f"it holds {info.filename!r}, which is not an .npy array")
            entries[info.filename[:-4]] = info
        saved = {k for k in entries if not (k.startswith("__") and k.endswith("__"))}
        missing, extra = sorted(set(expected) - saved), sorted(saved - set(expected))
        headers = {k: _header(zf, entries[k], path) for k in sorted(saved & set(expected))}
        wrong = [f"{k}: saved {list(shape)}, here {list(expected[k][0])}" for k, (shape, _) in headers.items()
                 if shape != tuple(expected[k][0])]
        if missing or extra or wrong:
            _fail(path, f"the saved state does not fit this brain; missing: {missing or 'none'}; unexpected: "
                        f"{extra or 'none'}; shape mismatches: {wrong or 'none'}",
                  "load it into the model it was saved from")
        if model_json is not None and MODEL_KEY in entries:
            _check_model(zf, entries[MODEL_KEY], path, model_json)
        for k, (_, dtype) in headers.items():
            _check_dtype(path, k, dtype, np.dtype(expected[k][1]))
        out = {}
        for k in sorted(headers):
            try:
                with zf.open(entries[k]) as f:
                    x = np.lib.format.read_array(f, allow_pickle=False)
            except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
                _fail(path, f"array {k!r} cannot be read ({type(exc).__name__}: {exc}); the file is damaged")
            out[k] = _check_values(path, k, x, np.dtype(expected[k][1]))
        return out


def _check_model(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: Any, model_json: str) -> None:
    shape, dtype = _header(zf, info, path)
    if shape != () or dtype.kind != "U" or info.file_size > MAX_MODEL_JSON:
        _fail(path, f"its {MODEL_KEY} entry is not a model description ({list(shape)} {dtype})")
    with zf.open(info) as f:
        text = str(np.lib.format.read_array(f, allow_pickle=False)[()])
    try:
        saved = json.loads(text)
    except ValueError:
        _fail(path, f"its {MODEL_KEY} entry is not JSON")
    mine = json.loads(model_json)
    if _structure(saved) != _structure(mine):
        name = saved.get("name") if isinstance(saved, dict) else None
        _fail(path, f"it was saved from another model ({name or 'unnamed'}: other nodes, components, shapes or "
                    f"edges than {mine.get('name') or 'this brain'})",
              "load it into the model it was saved from (Brain.from_file of that model's .spark file)")


def _check_dtype(path: Any, key: str, saved: np.dtype, target: np.dtype) -> None:
    if saved.kind == "c" and target.kind != "c":
        _fail(path, f"array {key!r} holds complex numbers ({saved}) but this brain keeps {target} there")
    if saved.kind not in "biuf" or not np.can_cast(saved, target, "same_kind"):
        _fail(path, f"array {key!r} is {saved} but this brain keeps {target} there")


def _check_values(path: Any, key: str, x: np.ndarray, target: np.dtype) -> np.ndarray:
    if target.kind == "f" and x.dtype.kind == "f":
        if np.isnan(x).any():
            _fail(path, f"array {key!r} holds NaN (a run that diverged?)",
                  "save a state from before it diverged, or rebuild the brain")
        with np.errstate(over="ignore"):
            y = x.astype(target)
        if (np.isinf(y) & np.isfinite(x)).any():
            _fail(path, f"array {key!r} holds values beyond {target} (largest {np.abs(x).max():g})")
        return y
    if target.kind in "iu" and x.dtype.kind in "iu" and x.size:
        info = np.iinfo(target)
        if x.min() < info.min or x.max() > info.max:
            _fail(path, f"array {key!r} holds integers beyond {target} ({x.min()} .. {x.max()})")
    return x.astype(target)
