"""`.spark` files: reading, migrating, validating and atomically writing model documents.

A `.spark` file is JSON (see ``schemas/spark-file.schema.json`` and docs/spark-files.md). Validation runs
before any JAX work and reports every problem at once, each with its JSON path, what is wrong and how to fix it.
Component ids resolve only through the registry: a file never makes Spark import code.
"""

from __future__ import annotations

import copy
import json
import operator
import os
import re
import sys
import tempfile
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import attrs
import jsonschema

from .cancel import checkpoint
from .errors import SparkFileError

FORMAT = "spark"
VERSION = 1


@attrs.frozen
class Problem:
    """One thing wrong with a model document.

    Attributes:
        path: JSON path of the offending value, e.g. ``$.nodes[2].params.tau_m``.
        message: what is wrong and how to fix it.
        node: id of the node concerned, if any.
        edge: index of the edge concerned, if any.
        severity: ``"error"`` (the model cannot run) or ``"warning"`` (it runs, but probably not as meant).
    """

    path: str
    message: str
    node: str | None = None
    edge: int | None = None
    severity: str = "error"

    def __str__(self) -> str:
        return f"{self.path}: {'warning: ' if self.severity == 'warning' else ''}{self.message}"

    def to_json(self) -> dict:
        return attrs.asdict(self)


@lru_cache(maxsize=1)
def schema() -> dict:
    """The JSON Schema of the current format version."""
    text = resources.files("spark").joinpath("schemas/spark-file.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def json_path(parts) -> str:
    """``["nodes", 2, "params", "tau_m"]`` -> ``$.nodes[2].params.tau_m``; a key that is not a plain name (empty,
    with dots, spaces or other characters) is quoted: ``$.requires[""]``, ``$.requires["my pack"]``."""
    out = "$"
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += f".{p}" if _PLAIN_KEY.fullmatch(str(p)) else f"[{json.dumps(str(p))}]"
    return out


def read(path: str | os.PathLike) -> dict:
    """Parse a `.spark` file into a document (migrated to the current version). Does not validate it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SparkFileError(str(path), [Problem("$", "file not found; check the path")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SparkFileError(str(path), [Problem("$", f"cannot read the file: {exc}")]) from None
    return loads(text, source=str(path))


def loads(text: str, source: str = "<model>") -> Any:
    """Parse the text of a `.spark` file into a document (migrated to the current version). Does not validate it.

    Raises:
        spark.SparkFileError: the text is not JSON, is nested too deep for the parser (about 1,000 levels), or holds
            an integer of more than 4,300 digits (Python's limit); the message says where and what to do.
    """
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SparkFileError(source, [Problem(
            "$", f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}; fix the syntax there")]) from None
    except RecursionError:
        raise SparkFileError(source, [Problem(
            "$", "the JSON is nested too deep to read (about 1,000 levels of [ or {; a model needs 5); remove the "
                 "nesting")]) from None
    except ValueError as exc:  # an integer literal of more than sys.get_int_max_str_digits() digits
        match = re.search(r"\d{%d,}" % (sys.get_int_max_str_digits() + 1), text)
        where = ""
        if match:
            line = text.count("\n", 0, match.start()) + 1
            where = f" at line {line}, column {match.start() - text.rfind(chr(10), 0, match.start())}"
        raise SparkFileError(source, [Problem(
            "$", f"cannot read a number{where}: {exc}; no value of a model needs so many digits: fix it")]) from None
    return migrate(doc, source=source)


def migrate(doc: Any, source: str = "<model>") -> Any:
    """Bring an older format version forward. Unknown newer versions are refused with advice."""
    if not isinstance(doc, dict):
        return doc  # validation reports it
    version = doc.get("version")
    if isinstance(version, int) and not isinstance(version, bool) and version > VERSION:
        raise SparkFileError(source, [Problem(
            "$.version", f"format version {version} is newer than this Spark reads ({VERSION}); "
            "upgrade spark-core (pip install -U spark-core)")])
    # Version 1 is the first format: nothing to migrate yet. Each future step is `if version == k: doc = _k_to_k1(doc)`.
    return doc


# ----- a fast path for long arrays ---------------------------------------------------------------------------------
# jsonschema walks every item of `nodes` and `edges` through its generic machinery (~20 us each: 100k nodes take
# seconds). An item that a plain predicate, compiled once from the item schema, proves valid needs no walk; any
# other item (and any schema keyword the compiler does not know) goes through jsonschema as before, so the
# problems reported, their paths and their messages are unchanged.

_STRICT_TYPES = {"object": (dict,), "array": (list,), "string": (str,), "integer": (int,), "number": (int, float),
                 "boolean": (bool,), "null": (type(None),)}
_ANNOTATIONS = {"description", "title", "$comment", "examples", "default"}


def _surely_valid(sub: Any):
    """A predicate ``instance -> bool`` that is True only for instances valid under ``sub`` (False: undecided)."""
    if not isinstance(sub, dict):
        return lambda x: False
    checks = []
    for key, value in sub.items():
        if key in _ANNOTATIONS:
            continue
        if key == "type" and isinstance(value, str) and value in _STRICT_TYPES:
            types = _STRICT_TYPES[value]
            checks.append(lambda x, t=types: type(x) in t)
        elif key == "required" and isinstance(value, list):
            checks.append(lambda x, r=tuple(value): type(x) is dict and all(k in x for k in r))
        elif key == "properties" and isinstance(value, dict):
            checks.append(_properties_valid(tuple((k, _surely_valid(v)) for k, v in value.items())))
        elif key == "additionalProperties" and value is False and isinstance(sub.get("properties"), dict):
            checks.append(lambda x, known=frozenset(sub["properties"]): type(x) is dict and known.issuperset(x))
        elif key == "pattern" and isinstance(value, str):
            checks.append(lambda x, rx=re.compile(value): type(x) is str and rx.search(x) is not None)
        elif key == "minLength" and type(value) is int:
            checks.append(lambda x, n=value: type(x) is str and len(x) >= n)
        elif key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum") and type(value) in (int, float):
            op = {"minimum": operator.ge, "maximum": operator.le, "exclusiveMinimum": operator.gt,
                  "exclusiveMaximum": operator.lt}[key]
            checks.append(lambda x, op=op, b=value: type(x) in (int, float) and op(x, b))
        elif key == "items" and isinstance(value, dict) and "prefixItems" not in sub:
            each = _surely_valid(value)
            checks.append(lambda x, f=each: type(x) is list and all(map(f, x)))
        elif key == "minItems" and type(value) is int:
            checks.append(lambda x, n=value: type(x) is list and len(x) >= n)
        elif key == "anyOf" and isinstance(value, list):  # valid when one branch surely is (a size or a param ref)
            branches = [_surely_valid(v) for v in value]
            checks.append(lambda x, bs=branches: any(f(x) for f in bs))
        else:  # a keyword this compiler does not know: let jsonschema decide
            return lambda x: False
    return _all_valid(tuple(checks))


def _all_valid(checks: tuple):
    """``instance -> all(check(instance) for check in checks)``, as a plain loop (no generator per item)."""
    if len(checks) == 1:
        return checks[0]

    def valid(x):
        for check in checks:
            if not check(x):
                return False
        return True
    return valid


def _properties_valid(props: tuple):
    def valid(x):
        if type(x) is not dict:
            return False
        for k, f in props:
            if k in x and not f(x[k]):
                return False
        return True
    return valid


def _items(validator, items, instance, sub):
    """jsonschema's ``items``, skipping the items :func:`_surely_valid` proves valid."""
    if not validator.is_type(instance, "array") or "prefixItems" in sub or not isinstance(items, dict):
        yield from _plain_items(validator, items, instance, sub)
        return
    ok = _compiled(json.dumps(items, sort_keys=True))
    for index, item in enumerate(instance):
        checkpoint()  # a large model's nodes and edges: a caller that has gone stops the check (spark.cancel)
        if not ok(item):
            yield from validator.descend(instance=item, schema=items, path=index)


@lru_cache(maxsize=64)
def _compiled(items_json: str):
    return _surely_valid(json.loads(items_json))


_plain_items = jsonschema.Draft202012Validator.VALIDATORS["items"]
_Validator = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"items": _items})


def check_schema(doc: Any) -> list[Problem]:
    """Structural problems (types, required keys, unknown keys) against the JSON Schema."""
    validator = _Validator(schema())
    problems = []
    for err in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
        err = _branch(err)
        path = list(err.absolute_path)
        node = None
        if len(path) >= 2 and path[0] == "nodes" and isinstance(path[1], int):
            nodes = doc.get("nodes") if isinstance(doc, dict) else None
            item = nodes[path[1]] if isinstance(nodes, list) and path[1] < len(nodes) else None
            node = item.get("id") if isinstance(item, dict) and isinstance(item.get("id"), str) else None
        edge = path[1] if len(path) >= 2 and path[0] == "edges" and isinstance(path[1], int) else None
        problems.append(Problem(json_path(path), _schema_message(err), node, edge))
    return problems


def _branch(err: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """For a value that matches no branch of an ``anyOf`` (a size or ``{"param": name}``): the error of the branch
    it was meant for (the reference when it is an object, else the plain value), which says what is wrong."""
    if err.validator != "anyOf" or not err.context:
        return err
    want = 1 if isinstance(err.instance, dict) else 0
    mine = [e for e in err.context if e.relative_schema_path and e.relative_schema_path[0] == want]
    return _branch(mine[0]) if mine else err


def _schema_message(err: jsonschema.ValidationError) -> str:
    v = err.validator
    if v == "required":
        return f"{err.message}; add it"
    if v == "additionalProperties":
        return f"{err.message}; remove it or check its spelling"
    if v == "type":
        return f"{err.instance!r} has the wrong type: expected {err.validator_value}"
    what = err.schema.get("description")
    what = f" ({what})" if what else ""
    if v == "exclusiveMinimum":
        return f"{err.instance!r} must be > {err.validator_value}{what}"
    if v == "minimum":
        return f"{err.instance!r} must be >= {err.validator_value}{what}"
    if v == "maximum":
        return f"{err.instance!r} must be <= {err.validator_value}{what}"
    if v == "pattern":
        if err.absolute_path and err.absolute_path[-1] in ("from", "to"):
            return f"{err.instance!r} is not a port reference; write it as \"node.port\""
        return f"{err.instance!r} is not a valid name (letters, digits, _ and -, not starting with a digit)"
    if v == "const":
        return f"{err.instance!r} must be {err.validator_value!r}"
    return err.message


def validate(doc: Any, registry=None) -> list[Problem]:
    """Every problem of a model document: structure, components, params, ports, shapes, cycles."""
    from .graph import plan

    return plan(doc, registry)[1]


def check(doc: Any, registry=None) -> tuple[list[Problem], list[Problem]]:
    """``(errors, warnings)`` of a model document: the errors of :func:`validate`, and, for a valid model, what
    makes it run silently (``severity="warning"``): an input port that needs data but is fed by nothing (an
    encoder's ``data``), no declared outputs. ``spark validate``, Brain build and the editor report both."""
    from .graph import plan

    p, problems = plan(doc, registry)
    return problems, (list(p.warnings) if p is not None else [])


def write(path: str | os.PathLike, doc: dict) -> None:
    """Write a document as pretty JSON, atomically (a reader never sees half a file)."""
    atomic_write_text(path, json.dumps(doc, indent=2) + "\n")


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, flush it to disk, then rename it over ``path``.

    The file gets the permissions an ordinary ``open(path, "w")`` would give (``0o666`` less the umask: ``0o644``
    usually; an existing file keeps its own), not the private ``0o600`` of a temporary file.

    The temporary file is named ``.<name>.spark-tmp-XXXXXXXX`` so that one left behind by a killed process can be
    recognised: the next write of the same ``path`` removes those older than :data:`STALE_TEMP_S`. An error names
    ``path``, not the temporary file.
    """
    path = Path(path)
    clean_stale_temps(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}{TEMP_MARK}", dir=path.parent or ".")
    except OSError as exc:
        raise _about(exc, path) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        try:
            mode = path.stat().st_mode & 0o7777
        except FileNotFoundError:
            mode = 0o666 & ~_umask()
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError):
            raise _about(exc, path) from None
        raise


TEMP_MARK = ".spark-tmp-"  # in the name of every temporary file of an atomic write
STALE_TEMP_S = 300.0  # a temporary file untouched this long is left over from a killed write


def clean_stale_temps(path: str | os.PathLike) -> list[Path]:
    """Remove the temporary files of atomic writes of ``path`` (``.<name>.spark-tmp-*``, and the older
    ``.<name>.*.tmp``) that nothing has touched for :data:`STALE_TEMP_S`: left by a process killed while saving.
    Returns what was removed; never raises."""
    import time

    path = Path(path)
    removed = []
    try:
        candidates = list((path.parent or Path(".")).glob(f".{_glob_escape(path.name)}.*"))
    except OSError:
        return removed
    now = time.time()
    for p in candidates:
        rest = p.name[len(path.name) + 1:]
        ours = rest.startswith(TEMP_MARK) or (rest.startswith(".") and rest.endswith(".tmp") and len(rest) == 13)
        try:
            if ours and p.is_file() and now - p.stat().st_mtime > STALE_TEMP_S:
                p.unlink()
                removed.append(p)
        except OSError:
            pass
    return removed


def _glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def _about(exc: OSError, path: Path) -> OSError:
    """``exc`` again, about ``path`` (the target) rather than a temporary file."""
    try:
        new = type(exc)(exc.errno, exc.strerror or str(exc), str(path))
    except Exception:
        return exc
    return new


def canonical(doc: dict) -> dict:
    """A deep copy with the optional top-level keys filled in, as :meth:`Brain.to_dict` writes them."""
    out = copy.deepcopy(doc)
    out.setdefault("name", "")
    out.setdefault("seed", 0)
    for key in ("requires", "editor"):
        out.setdefault(key, {})
    for key in ("edges", "inputs", "outputs"):
        out.setdefault(key, [])
    return out


def _umask() -> int:
    """The process's umask, read without changing it where the system allows (Linux), else set and restored."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
