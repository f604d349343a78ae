"""Composite components: a subgraph with exposed ports and params, used as one node (docs/composites.md).

A composite is data, never code: a `.spark` file with a top-level ``"component"`` section that names it, says what
it presents as (``kind``), declares its params (with defaults; inner params and shapes refer to them as
``{"param": "n"}``) and maps its exposed ports to inner ``node.port`` references. It is registered like any component
(canonical id ``<distribution>:<name>``; ``library:<name>`` for a user library, see :func:`library_paths`), listed in
the catalogue with its ports and params, and **flattened at plan time**: node ``cell`` of composite ``two_cell``
becomes the nodes ``cell.dend``, ``cell.soma``, ... of one flat graph, so it costs nothing at run time and compiles
to exactly the program of the graph written out by hand (:func:`flatten` gives that graph).

Problems inside a composite are reported with a JSON path that reaches inside it, e.g.
``$.nodes[3] (cell) -> composite library:two_cell $.nodes[1].params.tau_m``.
"""

from __future__ import annotations

import copy
import difflib
import json
import math
import os
import re
from pathlib import Path
from typing import Any, Callable

import attrs

from .errors import RegistryError, SparkFileError
from .ports import Port
from .sparkfile import Problem, check_schema, json_path

KIND = "composite"  # the kind of a composite that does not say what it presents as
LIBRARY = "library"  # the distribution part of the ids of a user library's composites
ENV = "SPARK_COMPONENT_PATH"  # folders of the user library (os.pathsep-separated)
PARAM_TYPES = ("number", "integer", "boolean", "string", "array")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_REQUIRED = object()  # the default of a param without one


def library_paths() -> list[Path]:
    """The folders of the user library: ``$SPARK_COMPONENT_PATH`` (folders separated by ``os.pathsep``; set but
    empty: none) or, when it is not set, ``$XDG_DATA_HOME/spark/components`` (``~/.local/share/spark/components``)
    if that folder exists. Every ``*.spark`` file in them with a ``"component"`` section is a composite
    ``library:<name>``."""
    raw = os.environ.get(ENV)
    if raw is not None:
        return [Path(p).expanduser() for p in raw.split(os.pathsep) if p.strip()]
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "spark" / "components"
    return [base] if base.is_dir() else []


def is_composite(obj: Any) -> bool:
    """Whether ``obj`` (a registry entry's ``cls``) is a :class:`Composite`."""
    return isinstance(obj, Composite)


# ----- params -------------------------------------------------------------------------------------------------------


@attrs.frozen
class ParamSpec:
    """One param of a composite: ``type`` (number, integer, boolean, string or array), ``default`` (none: the param
    must be set), ``unit``, ``doc``, and optional ``minimum`` / ``maximum`` / ``choices``."""

    name: str
    type: str
    default: Any = _REQUIRED
    unit: str = ""
    doc: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple | None = None

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED

    def check(self, value: Any) -> tuple[Any, str | None]:
        """``(value, None)`` with integral floats of an integer param made ints, or ``(value, problem)``."""
        t = self.type
        unit = f" {self.unit}" if self.unit else ""
        what = f"{self.doc} ({self.type})" if self.doc else self.type
        if t == "integer" and isinstance(value, float) and math.isfinite(value) and value.is_integer():
            value = int(value)
        ok = {"number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v),
              "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
              "boolean": lambda v: isinstance(v, bool), "string": lambda v: isinstance(v, str),
              "array": lambda v: isinstance(v, list)}[t](value)
        if not ok:
            return value, f"= {json.dumps(value)} is not a finite {t}: it is {what}; give a {t}"
        if self.minimum is not None and value < self.minimum:
            return value, f"= {value}{unit} is below its minimum {self.minimum}{unit}; give a value >= {self.minimum}"
        if self.maximum is not None and value > self.maximum:
            return value, f"= {value}{unit} is above its maximum {self.maximum}{unit}; give a value <= {self.maximum}"
        if self.choices is not None and value not in self.choices:
            return value, f"= {json.dumps(value)} is not one of {json.dumps(list(self.choices))}; give one of them"
        return value, None

    def to_schema(self) -> dict:
        out: dict[str, Any] = {"type": self.type, "description": self.doc, "default": None if self.required else
                               self.default, "x-unit": self.unit}
        if self.required:
            out["x-required"] = True
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        if self.choices is not None:
            out["enum"] = list(self.choices)
        return out


# ----- the definition -----------------------------------------------------------------------------------------------


class Composite:
    """A composite component: the ``cls`` of its registry entry (it is never instantiated: a Brain flattens it).

    Attributes:
        name, kind: as a component's (``kind`` defaults to ``"composite"``).
        params: param name -> :class:`ParamSpec`.
        port_map: ``{"inputs": {name: ("node.port", ...)}, "outputs": {name: ("node.port",)}}`` (inner refs).
        inputs / outputs: port name -> :class:`spark.Port`, resolved when registered (:meth:`bind`).
        document: the whole `.spark` document it was read from; ``source``: its file (or ``"<dict>"``).
    """

    is_composite = True

    def __init__(self, document: dict, source: str = "<dict>"):
        head = document["component"]
        self.document = document
        self.source = source
        self.name: str = head["name"]
        self.kind: str = head.get("kind") or KIND
        self.__doc__ = head.get("doc") or document.get("description") or f"composite {self.name}"
        self.__qualname__ = f"composite {self.name} ({source})"
        self.__module__ = "spark.composite"
        self.params: dict[str, ParamSpec] = {}
        for pname, spec in (head.get("params") or {}).items():
            self.params[pname] = ParamSpec(
                pname, spec["type"], spec.get("default", _REQUIRED), spec.get("unit", ""), spec.get("doc", ""),
                spec.get("minimum"), spec.get("maximum"),
                tuple(spec["choices"]) if isinstance(spec.get("choices"), list) else None)
        self.port_map = {
            "inputs": {p: tuple([s["to"]] if isinstance(s["to"], str) else s["to"])
                       for p, s in (head.get("inputs") or {}).items()},
            "outputs": {p: (s["from"],) for p, s in (head.get("outputs") or {}).items()},
        }
        self.port_docs = {p: s.get("doc", "") for key in ("inputs", "outputs") for p, s in (head.get(key) or {}).items()}
        self.inputs: dict[str, Port] = {}
        self.outputs: dict[str, Port] = {}
        self.stochastic = False
        self.bound = False

    @property
    def nodes(self) -> list:
        return self.document.get("nodes") or []

    @property
    def edges(self) -> list:
        return self.document.get("edges") or []

    def defaults(self) -> dict:
        return {k: p.default for k, p in self.params.items() if not p.required}

    # ----- binding to a registry --------------------------------------------------------------------------------

    def bind(self, registry, stack: tuple[str, ...] = ()) -> list[Problem]:
        """Resolve the inner components through ``registry`` and type the exposed ports. Returns the problems (paths
        inside this composite's file); none: :attr:`inputs`, :attr:`outputs` and :attr:`stochastic` are set."""
        problems: list[Problem] = []
        entries: dict[str, Any] = {}
        for i, spec in enumerate(self.nodes):
            cid = spec["component"]
            try:
                entry = registry.resolve(cid)
            except RegistryError as exc:
                problems.append(Problem(json_path(["nodes", i, "component"]), f"inner node {spec['id']!r}: {exc}",
                                        node=spec["id"]))
                continue
            if is_composite(entry.cls):
                if entry.cls is self or entry.id in stack:
                    chain = " -> ".join([*stack, entry.id])
                    problems.append(Problem(json_path(["nodes", i, "component"]),
                                            f"composite cycle: {chain}; a composite cannot contain itself, directly "
                                            "or through others: replace that node by the components it is made of",
                                            node=spec["id"]))
                    continue
                if not entry.cls.bound:
                    inner = entry.cls.bind(registry, (*stack, entry.id))
                    if inner:
                        problems.append(Problem(json_path(["nodes", i, "component"]),
                                                f"inner node {spec['id']!r} uses composite {entry.id}, which is "
                                                f"broken: {inner[0]}", node=spec["id"]))
                        continue
            entries[spec["id"]] = entry
        if problems:
            return problems
        ports: dict[str, dict[str, Port]] = {"inputs": {}, "outputs": {}}
        for key in ("inputs", "outputs"):
            for pname, refs in self.port_map[key].items():
                found = []
                for k, ref in enumerate(refs):
                    node, _, port = ref.rpartition(".")
                    where = json_path(["component", key, pname, "to" if key == "inputs" else "from"]
                                      + ([k] if key == "inputs" and len(refs) > 1 else []))
                    if node not in entries:
                        problems.append(Problem(where, f"exposed {key[:-1]} {pname!r} maps to {ref!r}: "
                                                       + _no_node(node, [n["id"] for n in self.nodes])))
                        continue
                    cls = entries[node].cls
                    declared = cls.inputs if key == "inputs" else cls.outputs
                    if port not in declared:
                        names = ", ".join(declared) or "(none)"
                        problems.append(Problem(where, f"exposed {key[:-1]} {pname!r} maps to {ref!r}, but "
                                                       f"{entries[node].id} has no {key[:-1]} port {port!r}; its "
                                                       f"{key} are: {names}"))
                        continue
                    found.append((ref, declared[port]))
                if not found:
                    continue
                payloads = {p.payload.name for _, p in found}
                if len(payloads) > 1:
                    problems.append(Problem(json_path(["component", key, pname]),
                                            f"exposed input {pname!r} maps to ports of different payload types "
                                            f"({', '.join(f'{r} ({p.payload.name})' for r, p in found)}); map it "
                                            "to ports of one type"))
                    continue
                first = found[0][1]
                ports[key][pname] = Port(first.payload, doc=self.port_docs.get(pname) or first.doc,
                                         optional=all(p.optional for _, p in found))
        if problems:
            return problems
        self.inputs, self.outputs = ports["inputs"], ports["outputs"]
        self.stochastic = any(bool(getattr(e.cls, "stochastic", False)) for e in entries.values())
        self.bound = True
        return []

    def check_params(self, values: Any) -> tuple[dict, list[tuple[str | None, str]]]:
        """``(values with defaults filled in, [(param, problem), ...])`` for a node's ``params``: what a plan checks,
        for a params form (the editor) to ask without planning a model."""
        if not isinstance(values, dict):
            return {}, [(None, f"params must be an object of param name -> value, got {type(values).__name__}")]
        out, problems = {}, []
        for name, value in values.items():
            spec = self.params.get(name)
            if spec is None:
                close = difflib.get_close_matches(name, list(self.params), n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"its params are: {', '.join(self.params) or '(none)'}"
                problems.append((name, f"has no param {name!r}; {hint}"))
                continue
            value, problem = spec.check(value)
            if problem:
                problems.append((name, f"param {name!r} {problem}"))
            out[name] = value
        for name, spec in self.params.items():
            if name not in out and not any(n == name for n, _ in problems):
                if spec.required:
                    problems.append((None, f"needs param {name!r}{' (' + spec.doc + ')' if spec.doc else ''}, "
                                           "which has no default; set it"))
                else:
                    out[name] = spec.default
        return out, problems

    def describe(self) -> dict:
        """The catalogue entry (as :meth:`spark.Component.describe`, plus ``composite``)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "class": "spark.composite.Composite",
            "doc": self.__doc__,
            "params_schema": {"type": "object", "additionalProperties": False,
                              "properties": {k: p.to_schema() for k, p in self.params.items()}},
            "inputs": [p.to_json(n, "in") for n, p in self.inputs.items()],
            "outputs": [p.to_json(n, "out") for n, p in self.outputs.items()],
            "stochastic": self.stochastic,
            "composite": {
                "source": self.source,
                "nodes": [{"id": n["id"], "component": n["component"]} for n in self.nodes],
                "inputs": {k: list(v) for k, v in self.port_map["inputs"].items()},
                "outputs": {k: v[0] for k, v in self.port_map["outputs"].items()},
            },
        }


def _no_node(node: str, ids: list[str]) -> str:
    close = difflib.get_close_matches(node, ids, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"its nodes are: {', '.join(ids) or '(none)'}"
    return f"there is no inner node {node!r}; {hint}"


# ----- reading ------------------------------------------------------------------------------------------------------


def _pairs_once(pairs):
    seen = {}
    for k, v in pairs:
        if k in seen:
            raise _Duplicate(k)
        seen[k] = v
    return seen


class _Duplicate(ValueError):
    pass


class NotAComposite(SparkFileError):
    """A document without a ``"component"`` section: a model, not a composite."""


def read(path: str | os.PathLike) -> Composite:
    """Read and check a composite file (its structure, params, param references and port maps; the inner components
    are resolved when it is registered). Raises :class:`spark.SparkFileError` with every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SparkFileError(str(path), [Problem("$", f"cannot read the file: {exc}")]) from None
    try:
        doc = json.loads(text, object_pairs_hook=_pairs_once)
    except _Duplicate as exc:
        raise SparkFileError(str(path), [Problem("$", f"the key {exc.args[0]!r} appears twice in one object (an "
                                                      "exposed port or param defined twice?); keep one")]) from None
    except (ValueError, RecursionError):
        from .sparkfile import loads

        doc = loads(text, str(path))  # raises with the line and column
    return from_dict(doc, str(path))


def from_dict(doc: Any, source: str = "<dict>") -> Composite:
    """A :class:`Composite` from a document with a ``"component"`` section; raises SparkFileError listing problems."""
    try:
        problems = check(doc)
    except NotAComposite as exc:
        raise NotAComposite(source, exc.problems) from None
    if problems:
        raise SparkFileError(source, problems)
    return Composite(copy.deepcopy(doc), source)


def check(doc: Any) -> list[Problem]:
    """The problems of a composite document that need no registry: structure (the JSON Schema), the component
    section, param references and port maps."""
    if not isinstance(doc, dict):
        return [Problem("$", f"a composite must be a JSON object, got {type(doc).__name__}")]
    if "component" not in doc:
        raise NotAComposite("<doc>", [Problem("$", "this file has no \"component\" section, so it is a model, not a composite; add "
                             "\"component\": {\"name\": ..., \"inputs\": {...}, \"outputs\": {...}} (docs/composites.md)")])
    problems = check_schema(doc)
    if problems:
        return problems
    head = doc["component"]
    params = head.get("params") or {}
    for pname, spec in params.items():
        where = ["component", "params", pname]
        if not _NAME.fullmatch(pname):
            problems.append(Problem(json_path(where), f"param name {pname!r} is not a plain name (letters, digits, _)"))
        if "default" in spec:
            p = ParamSpec(pname, spec["type"], spec["default"], minimum=spec.get("minimum"),
                          maximum=spec.get("maximum"), choices=tuple(spec["choices"]) if "choices" in spec else None)
            _, problem = p.check(spec["default"])
            if problem:
                problems.append(Problem(json_path([*where, "default"]), f"the default of param {pname!r} {problem}"))
    ids = []
    for i, node in enumerate(doc.get("nodes") or []):
        if "." in node["id"]:
            problems.append(Problem(json_path(["nodes", i, "id"]), f"inner node id {node['id']!r} has a '.': inside "
                                    "a composite, ids are plain names (flattening adds the prefix)"))
        ids.append(node["id"])
    for where, value in _refs(doc):
        name = value["param"]
        if name not in params:
            close = difflib.get_close_matches(name, list(params), n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"its params are: {', '.join(params) or '(none)'}"
            problems.append(Problem(json_path(where), f"refers to param {name!r}, which the composite does not "
                                                      f"declare; {hint} (declare it in component.params)"))
    seen_in: dict[str, str] = {}
    for key in ("inputs", "outputs"):
        for pname, spec in (head.get(key) or {}).items():
            if not _NAME.fullmatch(pname) or "." in pname:
                problems.append(Problem(json_path(["component", key, pname]),
                                        f"port name {pname!r} is not a plain name (letters, digits, _)"))
            other = "outputs" if key == "inputs" else "inputs"
            if pname in (head.get(other) or {}) and key == "inputs":
                problems.append(Problem(json_path(["component", key, pname]),
                                        f"port {pname!r} is exposed twice, as an input and as an output; give them "
                                        "different names"))
            refs = [spec["to"]] if key == "inputs" and isinstance(spec["to"], str) else (
                spec["to"] if key == "inputs" else [spec["from"]])
            for k, ref in enumerate(refs):
                node = ref.rpartition(".")[0]
                where = json_path(["component", key, pname, "to" if key == "inputs" else "from"]
                                  + ([k] if key == "inputs" and not isinstance(spec["to"], str) else []))
                if node not in ids:
                    problems.append(Problem(where, f"exposed {key[:-1]} {pname!r} maps to {ref!r}: "
                                                   + _no_node(node, ids)))
                elif key == "inputs":
                    if ref in seen_in:
                        problems.append(Problem(where, f"inner port {ref} is exposed twice (by inputs {seen_in[ref]!r} "
                                                       f"and {pname!r}); expose it once"))
                    seen_in[ref] = pname
    return problems


def _refs(doc: dict):
    """``(path, {"param": name})`` of every param reference in a document's nodes (params, shape) and edges (delay)."""
    for i, node in enumerate(doc.get("nodes") or []):
        if not isinstance(node, dict):
            continue
        yield from _walk(node.get("params"), ["nodes", i, "params"])
        yield from _walk(node.get("shape"), ["nodes", i, "shape"])
    for j, edge in enumerate(doc.get("edges") or []):
        if isinstance(edge, dict):
            yield from _walk(edge.get("delay"), ["edges", j, "delay"])


def _is_ref(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("param"), str)


def _walk(value: Any, where: list):
    if _is_ref(value):
        yield where, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, [*where, k])
    elif isinstance(value, list):
        for k, v in enumerate(value):
            yield from _walk(v, [*where, k])


def _subst(value: Any, values: dict | None, where: list, problems: list, path_of: Callable[[list], str],
           owner: str | None) -> Any:
    """``value`` with every ``{"param": name}`` replaced by ``values[name]`` (problems for unknown names)."""
    if _is_ref(value):
        name = value["param"]
        if values is None:
            problems.append(Problem(path_of(where), f"{{\"param\": {name!r}}} refers to a composite param, but this "
                                                    "model is not a composite (no \"component\" section); give a value",
                                    node=owner))
            return value
        if name not in values:
            problems.append(Problem(path_of(where), f"refers to param {name!r}, which is not set; declare it in "
                                                    "component.params with a default, or set it", node=owner))
            return value
        return copy.deepcopy(values[name])
    if isinstance(value, dict):
        return {k: _subst(v, values, [*where, k], problems, path_of, owner) for k, v in value.items()}
    if isinstance(value, list):
        return [_subst(v, values, [*where, k], problems, path_of, owner) for k, v in enumerate(value)]
    return value


# ----- flattening ---------------------------------------------------------------------------------------------------


@attrs.define
class Expansion:
    """The flat graph of a model that uses composites, and where each of its items came from.

    ``doc``: the flat document (composite nodes replaced by their inner nodes, ids ``outer.inner``; edges to and from
    exposed ports rewired to the inner ports). ``aliases``: ``"cell.spikes"`` -> ``"cell.soma.spikes"`` for every
    exposed output (recording by the exposed name). ``problems``: what is wrong, with paths reaching inside composites.
    """

    doc: dict
    problems: list[Problem]
    aliases: dict[str, str]
    origins: dict[tuple[str, int], tuple[str, str | None, int | None]]  # ("nodes", k) -> (path, outer node, edge)

    def map(self, problem: Problem) -> Problem:
        """``problem`` (found in the flat document) with its path and node as the user wrote them."""
        m = _ITEM.match(problem.path)
        if not m:
            return problem
        origin = self.origins.get((m.group(1), int(m.group(2))))
        if origin is None:
            return problem
        path, node, edge = origin
        return attrs.evolve(problem, path=path + m.group(3), node=node if node is not None else problem.node,
                            edge=edge)


_ITEM = re.compile(r"^\$\.(nodes|edges|inputs|outputs)\[(\d+)\](.*)$", re.S)


def _entry_of(cid: Any, registry, cache: dict):
    if not isinstance(cid, str):
        return None
    if cid not in cache:
        try:
            cache[cid] = registry.resolve(cid)
        except Exception:
            cache[cid] = None
    return cache[cid]


def expand(doc: dict, registry) -> Expansion | None:
    """Flatten the composites a model document uses (None when it uses none and is not itself a composite)."""
    cache: dict = {}
    raw = doc.get("nodes")
    nodes = raw if isinstance(raw, list) else []
    uses = any(isinstance(n, dict) and is_composite(getattr(_entry_of(n.get("component"), registry, cache), "cls", None))
               for n in nodes)
    standalone = isinstance(doc.get("component"), dict)
    if not uses and not standalone and not any(_shallow_ref(n) for n in nodes):
        return None
    b = _Builder(registry, cache)
    out = {k: v for k, v in doc.items() if k not in ("nodes", "edges", "inputs", "outputs", "component")}
    values = None
    if standalone:  # a composite file planned as a model: its params at their defaults
        head = doc["component"]
        values = {k: s.get("default") for k, s in (head.get("params") or {}).items()
                  if isinstance(s, dict) and "default" in s}
    top = lambda kind, i: json_path([kind, i])  # noqa: E731
    ports = b.body(doc, "", top, values, (), None)
    io_inputs = []
    for i, spec in enumerate(doc.get("inputs") if isinstance(doc.get("inputs"), list) else []):
        spec = dict(spec) if isinstance(spec, dict) else spec
        if isinstance(spec, dict):
            refs = b.rewrite(spec.get("to"), ports, "in", json_path(["inputs", i, "to"]), None)
            if refs is not None and len(refs) > 1:
                b.problems.append(Problem(json_path(["inputs", i, "to"]), f"input {spec.get('name')!r} feeds "
                                          f"{spec['to']}, an exposed input that the composite maps to {len(refs)} inner "
                                          f"ports ({', '.join(refs)}); an external input feeds one port: feed the "
                                          "composite through an edge (from an encoder) instead"))
            elif refs:
                spec["to"] = refs[0]
        b.origins[("inputs", len(io_inputs))] = (json_path(["inputs", i]), None, None)
        io_inputs.append(spec)
    io_outputs = []
    for i, spec in enumerate(doc.get("outputs") if isinstance(doc.get("outputs"), list) else []):
        spec = dict(spec) if isinstance(spec, dict) else spec
        if isinstance(spec, dict):
            refs = b.rewrite(spec.get("from"), ports, "out", json_path(["outputs", i, "from"]), None)
            if refs:
                spec["from"] = refs[0]
        b.origins[("outputs", len(io_outputs))] = (json_path(["outputs", i]), None, None)
        io_outputs.append(spec)
    if standalone:  # its exposed inputs become external inputs (named after the port), unless already fed
        fed = {s.get("to") for s in io_inputs if isinstance(s, dict)}
        names = {s.get("name") for s in io_inputs if isinstance(s, dict)}
        for pname, spec in (doc["component"].get("inputs") or {}).items():
            if not isinstance(spec, dict):
                continue
            refs = [spec.get("to")] if isinstance(spec.get("to"), str) else spec.get("to") or []
            for k, ref in enumerate(r for r in refs if isinstance(r, str) and r not in fed):
                name = pname if k == 0 else f"{pname}_{k + 1}"
                if name in names:
                    continue
                b.origins[("inputs", len(io_inputs))] = (json_path(["component", "inputs", pname]), None, None)
                io_inputs.append({"name": name, "to": ref})
                names.add(name)
        taken = {s.get("name") for s in io_outputs if isinstance(s, dict)}
        for pname, spec in (doc["component"].get("outputs") or {}).items():  # and its exposed outputs outputs
            if isinstance(spec, dict) and isinstance(spec.get("from"), str) and pname not in taken:
                b.origins[("outputs", len(io_outputs))] = (json_path(["component", "outputs", pname]), None, None)
                io_outputs.append({"name": pname, "from": spec["from"]})
    out.update(nodes=b.nodes, edges=b.edges, inputs=io_inputs, outputs=io_outputs)
    return Expansion(out, b.problems, b.aliases, b.origins)


def _shallow_ref(node: Any) -> bool:
    """Whether a node holds a param reference where one is written (a shape entry, a param value): cheap, so a
    plain model of 100,000 nodes pays little for it."""
    if not isinstance(node, dict):
        return False
    shape, params = node.get("shape"), node.get("params")
    return (isinstance(shape, list) and any(isinstance(x, dict) for x in shape)) or \
        (isinstance(params, dict) and any(isinstance(v, dict) for v in params.values()))


def flatten(doc: dict, registry=None) -> dict:
    """The flat model document of ``doc``: every composite node replaced by its inner nodes (ids ``outer.inner``),
    edges rewired, params substituted. A Brain built from it steps exactly as one built from ``doc``.

    Raises:
        spark.SparkFileError: a problem in a composite (path reaching inside it).
    """
    if registry is None:
        from .registry import default_registry

        registry = default_registry()
    exp = expand(doc, registry)
    if exp is None:
        return copy.deepcopy(doc)
    if exp.problems:
        raise SparkFileError(doc.get("name") or "<model>", exp.problems)
    flat = exp.doc
    flat.pop("component", None)
    return copy.deepcopy(flat)


class _Builder:
    def __init__(self, registry, cache):
        self.registry = registry
        self.cache = cache
        self.nodes: list = []
        self.edges: list = []
        self.problems: list[Problem] = []
        self.aliases: dict[str, str] = {}
        self.origins: dict = {}

    def rewrite(self, ref: Any, ports: dict, direction: str, where: str, owner: str | None,
                prefix: str = "") -> list[str] | None:
        """The flat refs of ``ref`` (``"node.port"`` in a body whose composite nodes have port maps ``ports``)."""
        if not isinstance(ref, str) or "." not in ref:
            return None
        node, _, port = ref.rpartition(".")
        if node in ports:
            (cid, ins, outs) = ports[node]
            table = ins if direction == "in" else outs
            if port not in table:
                word = "input" if direction == "in" else "output"
                names = ", ".join(table) or "(none)"
                other = outs if direction == "in" else ins
                extra = (f"; {port!r} is an {'output' if direction == 'in' else 'input'} of it" if port in other
                         else "")
                self.problems.append(Problem(where, f"node {node!r} is composite {cid}, which exposes no {word} port "
                                                    f"{port!r}{extra}; its {word}s are: {names}", node=owner or node))
                return None
            return list(table[port])
        return [prefix + ref]

    def body(self, doc: dict, prefix: str, where: Callable[[str, int], str], values: dict | None,
             stack: tuple[str, ...], owner: str | None) -> dict:
        """Append the flat nodes and edges of ``doc`` (a model, or a composite's body with ids prefixed by ``prefix``);
        return the port maps of its composite nodes: local id -> (component id, inputs, outputs)."""
        ports: dict[str, tuple] = {}
        raw = doc.get("nodes")
        for i, spec in enumerate(raw if isinstance(raw, list) else []):
            path = where("nodes", i)
            entry = _entry_of(spec.get("component"), self.registry, self.cache) if isinstance(spec, dict) else None
            me = owner if owner is not None else (spec.get("id") if isinstance(spec, dict) else None)

            def path_of(parts, path=path):
                return path + json_path(parts[2:])[1:]

            if entry is None or not is_composite(entry.cls) or not isinstance(spec.get("id"), str):
                if isinstance(spec, dict):
                    spec = dict(spec)
                    if isinstance(spec.get("id"), str):
                        spec["id"] = prefix + spec["id"]
                    if isinstance(spec.get("attach"), str):
                        spec["attach"] = prefix + spec["attach"]
                    for key in ("params", "shape"):
                        if key in spec:
                            spec[key] = _subst(spec[key], values, ["nodes", i, key], self.problems, path_of, me)
                self.origins[("nodes", len(self.nodes))] = (path, owner if owner is not None else None, None)
                self.nodes.append(spec)
                continue
            comp: Composite = entry.cls
            local = spec["id"]
            flat_id = prefix + local
            if entry.id in stack:
                chain = " -> ".join([*stack, entry.id])
                self.problems.append(Problem(path + ".component", f"composite cycle: {chain}; a composite cannot "
                                             "contain itself, directly or through others", node=me))
                continue
            given = _subst(spec.get("params", {}), values, ["nodes", i, "params"], self.problems, path_of, me)
            mine = self.params(comp, entry.id, given, path, me)
            for key, fix in (("shape", "set its params instead (its shape comes from them)"),
                             ("attach", "attach learning rules to synapse nodes")):
                if key in spec:
                    self.problems.append(Problem(path + f".{key}", f"node {local!r} is composite {entry.id}; a "
                                                                   f"composite takes no \"{key}\": {fix}", node=me))
            if mine is None:
                continue

            def inner(kind, j, path=path, local=local, cid=entry.id):
                return f"{path} ({local}) -> composite {cid} " + json_path([kind, j])

            sub = self.body(comp.document, flat_id + ".", inner, mine, (*stack, entry.id), me)
            ins, outs = {}, {}
            for key, table in (("inputs", ins), ("outputs", outs)):
                for pname, refs in comp.port_map[key].items():
                    flat: list[str] = []
                    for k, ref in enumerate(refs):
                        got = self.rewrite(ref, sub, "in" if key == "inputs" else "out",
                                           inner("component", 0).rsplit(" ", 1)[0]
                                           + f" $.component.{key}.{pname}", me, flat_id + ".")
                        flat += got or []
                    table[pname] = tuple(flat)
            for pname, refs in outs.items():
                if refs:
                    self.aliases[f"{flat_id}.{pname}"] = refs[0]
            ports[local] = (entry.id, ins, outs)
        raw = doc.get("edges")
        for j, spec in enumerate(raw if isinstance(raw, list) else []):
            path = where("edges", j)
            if not isinstance(spec, dict):
                self.origins[("edges", len(self.edges))] = (path, owner, None if owner else j)
                self.edges.append(spec)
                continue
            spec = dict(spec)

            def path_of(parts, path=path):
                return path + json_path(parts[2:])[1:]

            if "delay" in spec:
                spec["delay"] = _subst(spec["delay"], values, ["edges", j, "delay"], self.problems, path_of, owner)
            srcs = self.rewrite(spec.get("from"), ports, "out", path + ".from", owner, prefix)
            dsts = self.rewrite(spec.get("to"), ports, "in", path + ".to", owner, prefix)
            if (srcs is None and isinstance(spec.get("from"), str) and spec["from"].rpartition(".")[0] in ports) or \
                    (dsts is None and isinstance(spec.get("to"), str) and spec["to"].rpartition(".")[0] in ports):
                continue  # reported
            for src in srcs or [spec.get("from")]:
                for dst in dsts or [spec.get("to")]:
                    self.origins[("edges", len(self.edges))] = (path, owner, None if owner else j)
                    self.edges.append({**spec, "from": src, "to": dst})
        return ports

    def params(self, comp: Composite, cid: str, given: Any, path: str, owner: str | None) -> dict | None:
        """The values of ``comp``'s params for one node (defaults filled in), or None after reporting problems."""
        if not isinstance(given, dict):
            return None  # the schema reported it
        values, problems = comp.check_params(given)
        for name, message in problems:
            where = f"{path}.params" + (f".{name}" if name is not None else "")
            self.problems.append(Problem(where, f"composite {cid} {message}", node=owner))
        return None if problems else values


# ----- registration: packs and the user library ---------------------------------------------------------------------


def as_composite(obj: Any) -> Composite:
    """A fresh, unbound :class:`Composite` from a Composite, a path or a document."""
    if isinstance(obj, Composite):
        return Composite(copy.deepcopy(obj.document), obj.source)
    if isinstance(obj, (str, os.PathLike)):
        return read(obj)
    return from_dict(obj)


def _files(paths: list, what: str) -> list[Path]:
    files = []
    for p in paths:
        if not isinstance(p, (str, os.PathLike)):
            raise TypeError(f"{what} must return paths of composite .spark files or folders, got {p!r}")
        p = Path(p)
        files += sorted(p.glob("*.spark")) if p.is_dir() else [p]
    return files


def register_pack_files(registry, paths: list, info, skipped: list[str]) -> list[str]:
    """Register (unbound) the composite files a pack's ``spark_composites`` hook returned. A broken file is skipped
    and named in ``registry.problems`` (``spark list-components`` prints them; ``--strict`` fails on them); the pack
    stays ``ok`` with its other components (the catalogue's contract: an ok pack has no error)."""
    added = []
    for f in _files(paths, "spark_composites"):
        try:
            entry = registry.register_composite(read(f), distribution=info.distribution, version=info.version,
                                                bind=False)
        except (SparkFileError, RegistryError) as exc:
            registry.problems.append(f"pack {info.distribution} {info.version}: composite file {f} is broken and was "
                                     f"not registered: {_one_line(exc)}")
            continue
        registry._composite_origin[entry.id] = info
        added.append(entry.id)
    return added


def _one_line(exc: Exception) -> str:
    return "; ".join(line.strip(" -") for line in str(exc).splitlines())


def load_library(registry, folders) -> None:
    from .registry import PackInfo

    folders = [Path(f) for f in folders]
    if not folders:
        return
    info = PackInfo(LIBRARY, "0", os.pathsep.join(map(str, folders)))
    where: dict[str, Path] = {}
    for folder in folders:
        if not folder.is_dir():
            registry.problems.append(f"component library folder {folder} does not exist or is not a folder; create "
                                     f"it or fix {ENV}")
            continue
        for f in sorted(folder.glob("*.spark")):
            try:
                comp = read(f)
            except NotAComposite:
                continue  # a model kept beside the composites
            except SparkFileError as exc:
                registry.packs.append(PackInfo(LIBRARY, "0", str(f), status="broken", error=_one_line(exc)))
                continue
            cid = f"{LIBRARY}:{comp.name}"
            if cid in where or cid in registry._entries:
                registry.packs.append(PackInfo(
                    LIBRARY, "0", str(f), status="broken",
                    error=f"composite name {comp.name!r} is already used by {where.get(cid, cid)}; rename one (the "
                          "\"name\" of its \"component\" section)"))
                continue
            registry.register_composite(comp, distribution=LIBRARY, version="0", bind=False)
            where[cid] = f
            registry._composite_origin[cid] = info
            info.components.append(cid)
    if info.components:
        registry.packs.append(info)


def bind_all(registry) -> None:
    from .registry import PackInfo

    for entry in [e for e in registry._entries.values() if is_composite(e.cls) and not e.cls.bound]:
        problems = entry.cls.bind(registry, (entry.id,))
        if not problems:
            continue
    # a composite whose inner composite failed fails too: unregister every composite left unbound
    for entry in [e for e in registry._entries.values() if is_composite(e.cls) and not e.cls.bound]:
        problems = entry.cls.bind(registry, (entry.id,)) or [Problem("$", "it could not be bound")]
        del registry._entries[entry.id]
        info = registry._composite_origin.pop(entry.id, None)
        text = "; ".join(str(p) for p in problems)
        if info is not None and entry.id in info.components:
            info.components.remove(entry.id)
        if entry.distribution == LIBRARY:
            registry.packs.append(PackInfo(LIBRARY, "0", entry.cls.source, status="broken",
                                           error=f"composite {entry.id}: {text}"))
            if info is not None and not info.components and info in registry.packs:
                registry.packs.remove(info)
        else:
            message = (f"composite {entry.id} ({entry.cls.source}) is broken and was not registered: {text}")
            registry.problems.append(f"pack {entry.distribution} {entry.version}: {message}")
