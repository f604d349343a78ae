"""From a model document to a checked plan: resolved components, params, inferred shapes, edges, order.

Everything here is plain Python (no JAX), so validation is fast and reports every problem at once.
"""

from __future__ import annotations

import collections
import difflib
import gc
import heapq
import importlib.metadata as md
import json
import math
import re
from typing import Any

import attrs
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from . import composite as _composite
from . import limits
from . import parameters as _params
from .cancel import checkpoint
from .component import LearningRule, Synapse, normalize_shape, size
from .errors import GraphError, ParamError, RegistryError
from .inputs import check_values
from .payloads import PayloadType
from .sparkfile import Problem, check_schema, json_path
from .timing import to_steps


@attrs.define
class NodePlan:
    id: str
    index: int
    entry: Any  # registry Entry
    params: Any
    shape: tuple[int, ...] | None
    attach: str | None = None
    bad_attach: bool = False  # "attach" is not a string (the schema reported it)

    @property
    def cls(self):
        return self.entry.cls

    @property
    def is_rule(self) -> bool:
        cls = self.cls
        rule = _IS_RULE.get(cls)
        if rule is None:
            rule = _IS_RULE[cls] = issubclass(cls, LearningRule)
        return rule

    def port_shape(self, port: str) -> tuple[int, ...] | None:
        if self.shape is None:
            return None
        # nodes of one component share a params instance (graph._cached_params) and a shape: their port shapes are
        # worked out once (the entry keeps the params it was made for, so a reused id never matches)
        key = (self.cls, id(self.params), self.shape)
        hit = _PORT_SHAPES.get(key)
        if hit is None or hit[0] is not self.params:
            if len(_PORT_SHAPES) > 4096:
                _PORT_SHAPES.clear()
            hit = _PORT_SHAPES[key] = (self.params, self.cls.port_shapes(self.params, self.shape))
        return hit[1][port]


_IS_RULE: dict[type, bool] = {}
_PORT_SHAPES: dict[tuple, tuple] = {}


@attrs.frozen
class EdgePlan:
    index: int
    src: str
    src_port: str
    dst: str
    dst_port: str
    delay_steps: int
    payload: PayloadType


@attrs.frozen
class InputPlan:
    name: str
    node: str
    port: str
    value: float | None


@attrs.frozen
class OutputPlan:
    name: str
    node: str
    port: str


@attrs.define
class Plan:
    dt: float
    seed: int
    nodes: dict[str, NodePlan]
    edges: list[EdgePlan]
    inputs: list[InputPlan]
    outputs: list[OutputPlan]
    order: list[str]  # non-rule nodes in step order
    rules: list[str]  # learning rules in attach order
    warnings: list[Problem] = attrs.field(factory=list)  # valid but silent: see _warnings
    aliases: dict[str, str] = attrs.field(factory=dict)  # exposed port of a composite node -> its inner "node.port"


def delay_steps(delay_ms: float, dt: float, payload: PayloadType) -> int:
    """Steps an edge delays by: 1 for spikes (axonal delay of one dt) plus ``delay`` rounded half-up to steps.

    ``delay / dt`` is first rounded to 6 decimals, so 0.35 ms at dt = 0.1 ms is 3.5 -> 4 steps despite binary floats.
    """
    return (1 if payload.delayed else 0) + to_steps(delay_ms, dt)


def _split_ref(ref: Any) -> tuple[str, str] | None:
    """``"node.port"`` -> ``(node, port)``; the node id may hold dots (``cell.soma.spikes``: the inner node
    ``soma`` of composite node ``cell``), the port name never does."""
    if isinstance(ref, str) and "." in ref:
        node, _, port = ref.rpartition(".")
        if node and port and not node.startswith(".") and not node.endswith(".") and ".." not in node:
            return node, port
    return None


def plan(doc: Any, registry=None) -> tuple[Plan | None, list[Problem]]:
    """Check a document and build its plan. Returns ``(plan, [])`` or ``(None, problems)``."""
    # Python's cycle collector is paused meanwhile: a large model makes hundreds of thousands of small objects and no
    # cycles, and each collection would only walk them again (about 15% of validating 100,000 nodes)
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        return _plan(doc, registry)
    finally:
        if paused:
            gc.enable()


def _plan(doc: Any, registry=None) -> tuple[Plan | None, list[Problem]]:
    if registry is None:
        from .registry import default_registry

        registry = default_registry()
    if not isinstance(doc, dict):
        return None, [Problem("$", f"a model must be a JSON object, got {type(doc).__name__}")]
    deep = limits.depth_problem(doc)
    if deep is not None:  # before anything recursive (the schema check) meets it
        return None, [Problem(json_path(deep[0]), f"the document is nested more than {limits.DEPTH_MAX} levels deep "
                                                  "here (a model needs 5); remove the nesting")]
    problems = check_schema(doc)
    checkpoint()  # a caller that has gone (spark.cancel) stops the check here and at every node and edge
    bad_paths = {p.path for p in problems}
    dt = doc.get("dt")
    dt_ok = (isinstance(dt, (int, float)) and not isinstance(dt, bool) and math.isfinite(dt)
             and limits.DT_MIN <= dt <= limits.DT_MAX)
    if not dt_ok and "$.dt" not in bad_paths:
        problems.append(Problem("$.dt", f"dt = {limits._short(dt)} must be a number of ms from {limits.DT_MIN:g} to "
                                        f"{limits.DT_MAX:g}, e.g. 0.1"))
    problems += _check_requires(doc.get("requires"))
    expansion = _composite.expand(doc, registry)  # composites are flattened here (docs/composites.md)
    if expansion is not None:
        if expansion.problems:
            return None, problems + expansion.problems
        doc = expansion.doc
    mapped = len(problems)  # problems from here on are found in the flat document: mapped back at the end

    nodes = _plan_nodes(doc, registry, problems)
    checkpoint()
    if dt_ok:
        _check_durations(nodes, float(dt), problems)
    edges = _plan_edges(doc, nodes, float(dt) if dt_ok else 1.0, problems)
    checkpoint()
    inputs, outputs = _plan_io(doc, nodes, problems)
    _check_attach(doc, nodes, problems)
    # nodes that failed to resolve must not cause follow-on problems in their neighbours
    failed = set(_all_ids(doc)) - set(nodes)
    raw_edges = [(_split_ref(e.get("from")), _split_ref(e.get("to"))) for e in doc.get("edges") or []
                 if isinstance(e, dict)] if failed and isinstance(doc.get("edges"), list) else []
    raw_edges = [(a, b) for a, b in raw_edges if a and b]
    near_failed = {b[0] for a, b in raw_edges if a[0] in failed} | {a[0] for a, b in raw_edges if b[0] in failed}
    _infer_shapes(nodes, edges, problems, near_failed)
    _check_edge_shapes(nodes, edges, problems)
    _check_fan_in(nodes, edges, inputs, problems, {(b[0], b[1]) for a, b in raw_edges if a[0] in failed})
    checkpoint()
    order = _order(nodes, edges, problems)
    if problems:
        if expansion is not None:
            problems[mapped:] = [expansion.map(p) for p in problems[mapped:]]
        return None, problems
    rules = [n.id for n in nodes.values() if n.is_rule]
    found = _warnings(nodes, edges, inputs, outputs)
    if expansion is not None:
        found = [expansion.map(p) for p in found]
    return Plan(float(dt), int(doc.get("seed", 0)), nodes, edges, inputs, outputs, order, rules, found,
                expansion.aliases if expansion is not None else {}), []


def _warnings(nodes: dict[str, NodePlan], edges: list[EdgePlan], inputs: list[InputPlan],
              outputs: list[OutputPlan]) -> list[Problem]:
    """What makes a valid model silent: ports marked ``warn_unconnected`` fed by nothing, no declared outputs."""
    out = []
    fed = {(e.dst, e.dst_port) for e in edges} | {(i.node, i.port) for i in inputs}
    for n in nodes.values():
        for port_name, port in n.cls.inputs.items():
            if port.warn_unconnected and (n.id, port_name) not in fed:
                ref = f"{n.id}.{port_name}"
                out.append(Problem(
                    json_path(["nodes", n.index]),
                    f"{ref} ({n.entry.id}, {port.payload.name}) is fed by nothing: it reads zeros, so node {n.id!r} "
                    f"stays silent for ever; declare an input for it (Python: brain.input(\"{port_name}\", "
                    f"\"{ref}\"); a file: \"inputs\": [{{\"name\": \"{port_name}\", \"to\": \"{ref}\"}}]; "
                    "the editor: an input node) and give its data to run()", node=n.id, severity="warning"))
    if nodes and not outputs:
        spikes = [f"{n.id}.{p}" for n in nodes.values() if not n.is_rule
                  for p, port in n.cls.outputs.items() if port.payload.name == "Spikes"]
        ref = spikes[-1] if spikes else "node.port"
        name = ref.split(".")[0]
        out.append(Problem(
            "$.outputs",
            "the model declares no outputs, so brain(**inputs) returns {} and brain.run() records nothing unless "
            f"asked (record=[...]); declare what to read (Python: brain.output(\"{name}\", \"{ref}\"); a file: "
            f"\"outputs\": [{{\"name\": \"{name}\", \"from\": \"{ref}\"}}]; the editor: an output node)",
            severity="warning"))
    return out


def _check_requires(requires: Any) -> list[Problem]:
    problems = []
    if not isinstance(requires, dict):
        return problems
    for dist, spec in requires.items():
        path = json_path(["requires", dist])
        if not isinstance(spec, str):
            continue
        if not _DIST_NAME.fullmatch(dist):
            problems.append(Problem(path, f"{dist!r} is not a distribution name (letters, digits, '.', '_' and '-', "
                                          "starting and ending with a letter or digit); write the pack's name as "
                                          "pip knows it, e.g. \"spark-components\""))
            continue
        try:
            specifier = SpecifierSet(spec)
        except InvalidSpecifier:
            problems.append(Problem(path, f"{spec!r} is not a version range; write e.g. \">=0.1,<0.2\""))
            continue
        try:
            installed = md.version(dist)
        except md.PackageNotFoundError:
            problems.append(Problem(path, f"this model needs {dist}{spec}, which is not installed; "
                                          f"pip install '{dist}{spec}'"))
            continue
        if not specifier.contains(installed, prereleases=True):
            problems.append(Problem(path, f"this model needs {dist}{spec} but {dist} {installed} is installed; "
                                          f"pip install '{dist}{spec}'"))
    return problems


_DIST_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,198}[A-Za-z0-9])?")  # PEP 508 names, of a sane length


def _check_durations(nodes: dict[str, NodePlan], dt: float, problems: list[Problem]) -> None:
    """Every parameter in ms must be at most ``2**31 - 1`` steps of ``dt`` (components count steps in int32)."""
    found: dict[int, list] = {}  # id(params) -> its problems: nodes with the same values share one params instance
    for n in list(nodes.values()):
        problems_of = found.get(id(n.params))
        if problems_of is None:
            problems_of = found[id(n.params)] = _params.duration_problems(n.params, dt)
        for where, problem in problems_of:
            problems.append(Problem(json_path(["nodes", n.index, "params", *where]), f"node {n.id!r}: {problem}",
                                    node=n.id))
            nodes.pop(n.id, None)


def _plan_nodes(doc: dict, registry, problems: list[Problem]) -> dict[str, NodePlan]:
    nodes: dict[str, NodePlan] = {}
    first_index: dict[str, int] = {}
    params_seen: dict = {}
    resolved: dict = {}  # component id -> registry entry, resolved once per model
    shapes_seen: dict = {}  # (entry id, id(params), shape given) -> (shape, problem): checked once per kind of node
    raw = doc.get("nodes")
    for i, spec in enumerate(raw if isinstance(raw, list) else []):
        checkpoint()
        if not isinstance(spec, dict) or not isinstance(spec.get("id"), str) or not isinstance(spec.get("component"), str):
            continue  # the schema check reported it
        nid = spec["id"]
        if nid in first_index:
            problems.append(Problem(json_path(["nodes", i, "id"]),
                                    f"duplicate node id {nid!r} (first used by nodes[{first_index[nid]}]); "
                                    "give every node a unique id", node=nid))
            continue
        first_index[nid] = i
        try:
            entry = resolved.get(spec["component"]) or resolved.setdefault(spec["component"],
                                                                           registry.resolve(spec["component"]))
        except RegistryError as exc:
            problems.append(Problem(json_path(["nodes", i, "component"]), str(exc), node=nid))
            continue
        values = spec.get("params", {})
        try:
            p = _cached_params(entry, values if isinstance(values, dict) else {}, params_seen)
        except ParamError as exc:
            for field, msg in getattr(exc, "problems", [(None, str(exc))]):
                where = ["nodes", i, "params"] + ([field] if field else [])
                problems.append(Problem(json_path(where), f"node {nid!r}: {msg}", node=nid))
            continue
        shape = None
        if isinstance(spec.get("shape"), list):
            given = spec["shape"]
            key = ((entry.id, id(p), tuple((type(d), d) for d in given))
                   if all(type(d) in (int, float, str, bool) for d in given) else None)
            hit = shapes_seen.get(key) if key is not None else None
            if hit is not None and hit[2] is p:
                shape, problem, _ = hit
            else:
                try:
                    shape = normalize_shape(given, per_axis=entry.cls.shape_per_axis)
                except ValueError as exc:
                    problems.append(Problem(json_path(["nodes", i, "shape"]), f"node {nid!r}: {exc}", node=nid))
                    continue
                problem = entry.cls.check_shape(p, shape)
                if key is not None:
                    shapes_seen[key] = (shape, problem, p)
            if problem:
                problems.append(Problem(json_path(["nodes", i, "shape"]), f"node {nid!r} ({entry.id}): {problem}",
                                        node=nid))
                continue
        attach = spec.get("attach")  # not a string: the schema reported it
        nodes[nid] = NodePlan(nid, i, entry, p, shape, attach if isinstance(attach, str) else None,
                              bad_attach=not isinstance(attach, (str, type(None))))
    return nodes


def _cached_params(entry, values: dict, seen: dict) -> Any:
    """``params.from_dict``, once per distinct (component, values): generated models repeat the same params over
    thousands of nodes, and params are frozen, so nodes may share one instance. Failures are not cached."""
    if all(type(v) in (int, float, str, bool, type(None)) for v in values.values()):
        key = (entry.id, tuple(sorted((k, type(v), v) for k, v in values.items())))  # 1, 1.0 and True differ
    else:
        try:
            key = (entry.id, json.dumps(values, sort_keys=True, allow_nan=True))
        except (TypeError, ValueError, RecursionError):
            return _params.from_dict(entry.cls.Params, values)
    p = seen.get(key)
    if p is None:
        p = seen[key] = _params.from_dict(entry.cls.Params, values)
    return p


def _missing_node(ref_node: str, nodes: dict, known_ids) -> str:
    close = difflib.get_close_matches(ref_node, list(known_ids), n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"nodes are: {', '.join(known_ids) or '(none)'}"
    return f"there is no node {ref_node!r}; {hint}"


def _port_error(node: NodePlan, port: str, direction: str) -> str | None:
    ports = node.cls.outputs if direction == "out" else node.cls.inputs
    if port in ports:
        return None
    other = node.cls.inputs if direction == "out" else node.cls.outputs
    names = ", ".join(ports) or "(none)"
    if port in other:
        kind = "an input" if direction == "out" else "an output"
        return (f"{node.id}.{port} is {kind} port of {node.entry.id}; "
                f"{'edges start at outputs' if direction == 'out' else 'edges end at inputs'}: {names}")
    return (f"{node.entry.id} (node {node.id!r}) has no {'output' if direction == 'out' else 'input'} port "
            f"{port!r}; its {'outputs' if direction == 'out' else 'inputs'} are: {names}")


def _all_ids(doc: dict) -> list[str]:
    raw = doc.get("nodes")
    return [n["id"] for n in raw if isinstance(n, dict) and isinstance(n.get("id"), str)] if isinstance(raw, list) else []


def _plan_edges(doc: dict, nodes: dict[str, NodePlan], dt: float, problems: list[Problem]) -> list[EdgePlan]:
    edges = []
    raw = doc.get("edges")
    ids = _all_ids(doc)
    known = set(ids)
    delays: dict[tuple, tuple] = {}  # (type, delay, payload delayed) -> (problem, steps): computed once per value
    for i, spec in enumerate(raw if isinstance(raw, list) else []):
        checkpoint()
        if not isinstance(spec, dict):
            continue
        src, dst = _split_ref(spec.get("from")), _split_ref(spec.get("to"))
        if src is None or dst is None:
            _explain_bare_nodes(spec, i, nodes, problems)  # the schema reported it; name the ports if it can
            continue
        ok = True
        for key, (nid, port), direction in (("from", src, "out"), ("to", dst, "in")):
            if nid not in nodes:
                if nid not in known:  # a node that exists but failed to resolve was reported already
                    problems.append(Problem(json_path(["edges", i, key]), f"edge {spec.get('from')} -> "
                                            f"{spec.get('to')}: " + _missing_node(nid, nodes, ids), edge=i))
                ok = False
                continue
            node = nodes[nid]
            if port in (node.entry.cls.outputs if direction == "out" else node.entry.cls.inputs):
                continue
            err = _port_error(node, port, direction)
            if err:
                problems.append(Problem(json_path(["edges", i, key]), err, node=nid, edge=i))
                ok = False
        if not ok:
            continue
        a, b = nodes[src[0]], nodes[dst[0]]
        pa, pb = a.cls.outputs[src[1]].payload, b.cls.inputs[dst[1]].payload
        if pa.name != pb.name:
            problems.append(Problem(json_path(["edges", i]),
                                    f"cannot connect {spec['from']} ({pa.name}) to {spec['to']} ({pb.name}): "
                                    f"payload types differ; connect {pb.name} outputs to {spec['to']}", edge=i))
            continue
        delay = spec.get("delay", 0)
        if not isinstance(delay, (int, float)) or isinstance(delay, bool):
            continue  # schema reported it
        memo = (type(delay), delay, pa.delayed)
        hit = delays.get(memo)
        if hit is None:
            problem = (limits.float32_problem(delay) if not (isinstance(delay, float) and math.isfinite(delay))
                       else None) or limits.steps_problem(delay, dt, limits.DELAY_STEPS_MAX,
                                                          "a delay keeps one slot per step in its ring buffer")
            d = 0.0 if problem or delay < 0 else delay  # kept, so that shape inference reports nothing more;
            hit = (problem, delay_steps(float(d), dt, pa))  # a negative delay: the schema reported it
            if delay == delay:  # NaN is never found again: not kept
                delays[memo] = hit
        problem, steps = hit
        if problem:
            problems.append(Problem(json_path(["edges", i, "delay"]), f"edge {spec['from']} -> {spec['to']}: delay "
                                                                       + problem, edge=i))
        edges.append(EdgePlan(i, src[0], src[1], dst[0], dst[1], steps, pa))
    return edges


def _explain_bare_nodes(spec: dict, i: int, nodes: dict[str, NodePlan], problems: list[Problem]) -> None:
    """An edge end written as a node id (``connect("inp", "syn")``): say which ports both nodes have, and the
    edges whose payload types match."""
    ends = {}
    for key, direction in (("from", "out"), ("to", "in")):
        value = spec.get(key)
        ref = _split_ref(value)
        nid = value if isinstance(value, str) and value in nodes else (ref[0] if ref else None)
        if nid in nodes:
            ends[key] = (nid, value == nid, nodes[nid].cls.outputs if direction == "out" else nodes[nid].cls.inputs)
    if "from" in ends and "to" in ends:
        (a, _, outs), (b, _, ins) = ends["from"], ends["to"]
        pairs = [f'"{a}.{o}" -> "{b}.{n}"' for o, po in outs.items() for n, pn in ins.items()
                 if po.payload.name == pn.payload.name]
        match = (f"; edges of matching payload type: {', '.join(pairs)}" if pairs
                 else "; no output of the one matches an input of the other in payload type")
    else:
        match = ""
    for key, (nid, bare, ports) in ends.items():
        if not bare:
            continue
        kind = "outputs" if key == "from" else "inputs"
        listed = ", ".join(f"{n} ({p.payload.name})" for n, p in ports.items()) or "(none)"
        message = (f"{nid!r} is a node, not a port reference; write it as \"node.port\" (\"{nid}.PORT\"); node "
                   f"{nid!r} ({nodes[nid].entry.id}) has {kind}: {listed}" + match)
        path = json_path(["edges", i, key])
        problems[:] = [p for p in problems if p.path != path]
        problems.append(Problem(path, message, node=nid, edge=i))


def _plan_io(doc: dict, nodes: dict[str, NodePlan], problems: list[Problem]):
    ids = _all_ids(doc)
    result: list[list] = [[], []]
    for k, (key, ref_key, direction) in enumerate((("inputs", "to", "in"), ("outputs", "from", "out"))):
        seen: set[str] = set()
        raw = doc.get(key)
        for i, spec in enumerate(raw if isinstance(raw, list) else []):
            if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
                continue
            ref = _split_ref(spec.get(ref_key))
            if ref is None:
                continue
            path = json_path([key, i])
            if spec["name"] in seen:
                problems.append(Problem(json_path([key, i, "name"]),
                                        f"duplicate {key[:-1]} name {spec['name']!r}; give each a unique name"))
                continue
            seen.add(spec["name"])
            nid, port = ref
            if nid not in nodes:
                if nid not in ids:
                    problems.append(Problem(json_path([key, i, ref_key]), _missing_node(nid, nodes, ids)))
                continue
            err = _port_error(nodes[nid], port, direction)
            if err:
                problems.append(Problem(json_path([key, i, ref_key]), err, node=nid))
                continue
            if key == "inputs":
                value = spec.get("value")
                if isinstance(value, float) and not math.isfinite(value):
                    try:
                        check_values(spec["name"], value)
                    except GraphError as exc:
                        problems.append(Problem(json_path([key, i, "value"]), str(exc)))
                    continue
                if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                    continue  # the schema reported it
                problem = None if value is None else limits.float32_problem(value)
                if problem:  # inputs are fed as float32
                    problems.append(Problem(json_path([key, i, "value"]), f"input {spec['name']!r}: value {problem}"))
                    continue
                result[k].append(InputPlan(spec["name"], nid, port, None if value is None else float(value)))
            else:
                result[k].append(OutputPlan(spec["name"], nid, port))
            del path
    return result[0], result[1]


def _check_attach(doc: dict, nodes: dict[str, NodePlan], problems: list[Problem]) -> None:
    for n in nodes.values():
        if n.bad_attach:
            continue  # the schema reported it
        if n.is_rule:
            if not n.attach:
                problems.append(Problem(json_path(["nodes", n.index]),
                                        f"learning rule {n.id!r} is not attached; set \"attach\" to the id of the "
                                        "synapse node whose weights it changes", node=n.id))
            elif n.attach not in nodes:
                if n.attach not in _all_ids(doc):
                    problems.append(Problem(_attach_path(n), f"learning rule {n.id!r}: "
                                            + _missing_node(n.attach, nodes, _all_ids(doc)), node=n.id))
            elif not issubclass(nodes[n.attach].cls, Synapse):
                problems.append(Problem(_attach_path(n), f"learning rule {n.id!r} is attached to {n.attach!r}, a "
                                                         f"{nodes[n.attach].cls.kind}; attach it to a synapse node",
                                        node=n.id))
        elif n.attach is not None:
            problems.append(Problem(_attach_path(n), f"node {n.id!r} is a {n.cls.kind}; only learning rules take "
                                                     "\"attach\"; remove it", node=n.id))


def _attach_path(n: NodePlan) -> str:
    return json_path(["nodes", n.index, "attach"])


def _infer_shapes(nodes: dict[str, NodePlan], edges: list[EdgePlan], problems: list[Problem],
                  near_failed: set[str]) -> None:
    """Shapes not given, from the connected ports of neighbours (a rule: its synapse's). A worklist over nodes in
    file order, each edge indexed once, so a node is retried only when a neighbour gets a shape: linear."""
    touching: dict[str, list[EdgePlan]] = {nid: [] for nid in nodes}
    for e in edges:
        touching[e.dst].append(e)
        if e.src != e.dst:
            touching[e.src].append(e)
    rules_of: dict[str, list[str]] = {}
    for n in nodes.values():
        if n.is_rule and n.attach in nodes:
            rules_of.setdefault(n.attach, []).append(n.id)
    todo = collections.deque(n.id for n in nodes.values() if n.shape is None)
    queued = set(todo)
    while todo:
        n = nodes[todo.popleft()]
        queued.discard(n.id)
        if n.shape is not None:
            continue
        inferred = None
        if n.is_rule and n.attach in nodes and nodes[n.attach].shape is not None:
            inferred = nodes[n.attach].shape
        else:
            connected = {}
            for e in touching[n.id]:
                if e.dst == n.id and nodes[e.src].shape is not None:
                    connected[e.dst_port] = nodes[e.src].port_shape(e.src_port)
                if e.src == n.id and nodes[e.dst].shape is not None:
                    connected[e.src_port] = nodes[e.dst].port_shape(e.dst_port)
            if connected:
                inferred = n.cls.infer_shape(n.params, connected)
        if inferred is None:
            continue
        problem = n.cls.check_shape(n.params, tuple(inferred))
        if problem:
            problems.append(Problem(json_path(["nodes", n.index]), f"node {n.id!r}: inferred shape "
                                    f"{list(inferred)} is invalid: {problem}; give \"shape\"", node=n.id))
            n.shape = ()  # mark as failed, stop retrying
        else:
            n.shape = tuple(inferred)
        for e in touching[n.id]:
            for other in (e.src, e.dst):
                if nodes[other].shape is None and other not in queued:
                    todo.append(other)
                    queued.add(other)
        for other in rules_of.get(n.id, ()):
            if nodes[other].shape is None and other not in queued:
                todo.append(other)
                queued.add(other)
    for n in nodes.values():
        if n.is_rule and n.attach in nodes and nodes[n.attach].shape is None:
            continue  # its synapse's problem is reported
        if n.shape is None and n.id not in near_failed:
            problems.append(Problem(json_path(["nodes", n.index]), f"the shape of node {n.id!r} cannot be inferred "
                                    "from its connections; give it a \"shape\"", node=n.id))


def _check_edge_shapes(nodes: dict[str, NodePlan], edges: list[EdgePlan], problems: list[Problem]) -> None:
    for e in edges:
        a, b = nodes[e.src], nodes[e.dst]
        if not a.shape or not b.shape:
            continue
        sa, sb = a.port_shape(e.src_port), b.port_shape(e.dst_port)
        if sa != sb and size(sa) != size(sb):
            problems.append(Problem(
                json_path(["edges", e.index]),
                f"shape mismatch: {e.src}.{e.src_port} ({e.payload.name}, shape {list(sa)}) cannot feed "
                f"{e.dst}.{e.dst_port} ({e.payload.name}, shape {list(sb)}); sizes {size(sa)} and {size(sb)} differ; "
                "fix the nodes' shapes", edge=e.index))


def _check_fan_in(nodes, edges, inputs, problems, fed_by_failed: set[tuple[str, str]]) -> None:
    sources: dict[tuple[str, str], list] = {port: ["a node with problems"] for port in fed_by_failed}
    for e in edges:  # the edge itself: described only when a problem names it
        sources.setdefault((e.dst, e.dst_port), []).append(e)
    for inp in inputs:
        sources.setdefault((inp.node, inp.port), []).append(f"input {inp.name!r}")
    for n in nodes.values():
        for port_name, port in n.cls.inputs.items():
            srcs = sources.get((n.id, port_name), [])
            if len(srcs) > 1 and not port.payload.summable:
                srcs = [f"edges[{s.index}] from {s.src}.{s.src_port}" if isinstance(s, EdgePlan) else s for s in srcs]
                problems.append(Problem(json_path(["nodes", n.index]),
                                        f"{n.id}.{port_name} ({port.payload.name}) has {len(srcs)} sources "
                                        f"({'; '.join(srcs)}); {port.payload.name} inputs take one source: "
                                        "use one synapse per source population", node=n.id))
            if not srcs and not port.optional:
                problems.append(Problem(json_path(["nodes", n.index]),
                                        f"required input {n.id}.{port_name} ({port.payload.name}) is not connected; "
                                        "add an edge to it", node=n.id))


def _order(nodes: dict[str, NodePlan], edges: list[EdgePlan], problems: list[Problem]) -> list[str]:
    """Step order: Kahn's algorithm over zero-delay edges, ties broken by file order (a heap of file indices:
    ``O((n + e) log n)``), over ranks in lists (no set per node; the dependencies are kept only for a cycle)."""
    steppers = [n.id for n in sorted(nodes.values(), key=lambda n: n.index) if not n.is_rule]
    rank = {nid: k for k, nid in enumerate(steppers)}
    waiting = [0] * len(steppers)
    users: dict[int, list[int]] = {}
    pairs: set[tuple[int, int]] = set()
    for e in edges:
        if e.delay_steps == 0:
            a, b = rank.get(e.src), rank.get(e.dst)
            if a is not None and b is not None and (a, b) not in pairs:
                pairs.add((a, b))
                waiting[b] += 1
                users.setdefault(a, []).append(b)
    ready = [k for k, w in enumerate(waiting) if not w]  # already in increasing order: a heap
    order: list[str] = []
    while ready:
        k = heapq.heappop(ready)
        order.append(steppers[k])
        for user in users.get(k, ()):
            waiting[user] -= 1
            if not waiting[user]:
                heapq.heappush(ready, user)
    if len(order) < len(steppers):
        done = set(order)
        deps: dict[str, set[str]] = {nid: set() for nid in steppers if nid not in done}
        for a, b in pairs:
            if steppers[b] in deps and steppers[a] not in done:
                deps[steppers[b]].add(steppers[a])
        cycle = _find_cycle(deps)
        problems.append(Problem("$.edges", "zero-delay cycle: " + " -> ".join(cycle) +
                                "; every cycle needs a delayed edge (a Spikes edge, or one with \"delay\" >= dt)"))
    return order


def _find_cycle(deps: dict[str, set[str]]) -> list[str]:
    start = next(iter(deps))
    path, seen = [start], {start: 0}
    node = start
    while True:
        node = sorted(deps[node])[0]
        if node in seen:
            cyc = path[seen[node]:] + [node]
            return list(reversed(cyc))
        seen[node] = len(path)
        path.append(node)
