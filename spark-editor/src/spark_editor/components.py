"""Composites in the editor (issue 18, part 3): the editor folder's component library, "make component" and opening
a composite by id.

- **Library**: every composite file in ``<folder>/components/`` (:data:`LIBRARY_DIR`) is registered as
  ``library:<name>`` on top of the registry the app was given (:func:`with_folder_library`), so a component made in
  the editor appears in its palette at once. The layered registry is rebuilt when the folder's files change
  (names, sizes, modification times).
- **Make component** (:func:`propose`, :func:`make`): a selection of a model's nodes becomes a composite file and one
  node of it, with the edges that crossed the selection's boundary rewired to its exposed ports. Every port with an
  edge (or a model input / output) across the boundary is exposed (one exposed port per inner port); other ports of
  the selected nodes may be exposed too. When the selected nodes with a one-dimensional shape all have the same size,
  that size becomes the composite's param ``n`` (their shapes become ``[{"param": "n"}]``); a selected node's params
  may be lifted to composite params (the node then gets ``{"param": name}`` and the composite node the value).
- **Open** (:func:`describe_source`): a composite's document by id, editable when its file is in the folder.
"""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path
from typing import Any

LIBRARY_DIR = "components"  # the editor folder's component library: <folder>/components/<name>.spark
NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
KINDS = ("composite", "soma", "synapse", "encoder", "decoder", "learning_rule")


class MakeError(ValueError):
    """A selection that cannot become a component; the message says why and what to do."""


# ----- the folder's library -----------------------------------------------------------------------------------------


def library_folder(root: Path) -> Path:
    return Path(root) / LIBRARY_DIR


def _signature(folder: Path) -> tuple:
    try:
        files = sorted(folder.glob("*.spark"))
    except OSError:
        return ()
    out = []
    for f in files:
        try:
            st = f.stat()
        except OSError:
            continue
        out.append((f.name, st.st_size, st.st_mtime_ns))
    return tuple(out)


_layers: dict[str, tuple] = {}  # folder -> (base registry, signature of its files, layered registry)


def with_folder_library(base: Any, root: Path) -> Any:
    """``base`` (a :class:`spark.Registry`) plus the composites of ``<root>/components`` as ``library:<name>``;
    ``base`` itself when that folder holds no ``.spark`` file. Cached until the folder's files change."""
    folder = library_folder(root)
    if not folder.is_dir():
        return base
    sig = _signature(folder)
    if not sig:
        return base
    key = str(folder)  # one layer per folder: a refreshed base registry replaces the old layer
    hit = _layers.get(key)
    if hit is not None and hit[0] is base and hit[1] == sig:
        return hit[2]
    reg = _layer(base)
    reg.load_library([folder])
    _layers[key] = (base, sig, reg)
    return reg


def _layer(base: Any) -> Any:
    """A registry holding what ``base`` holds (entries shared, lists copied), to load a library onto."""
    from spark.registry import Registry

    reg = Registry.__new__(Registry)
    reg.__dict__.update(base.__dict__)
    reg._entries = dict(base._entries)
    reg.packs = list(base.packs)
    reg.payloads = dict(base.payloads)
    reg.problems = list(base.problems)
    reg._composite_origin = dict(base._composite_origin)
    reg._defer_binding = False
    return reg


def describe_source(registry: Any, cid: str, root: Path) -> dict:
    """``{id, name, kind, doc, editable, path}``: a composite's document and whether it may be edited (its file is
    inside ``root``; ``path`` is then relative to it). Raises KeyError / ValueError with a message."""
    from spark.composite import is_composite

    entry = registry.resolve(cid)
    if not is_composite(entry.cls):
        raise ValueError(f"{entry.id} is a {entry.kind} written in Python, not a composite; it has no inside to open")
    comp = entry.cls
    path = None
    try:
        real = Path(os.path.realpath(comp.source))
        rel = real.relative_to(Path(os.path.realpath(root)))
        if real.is_file():
            path = rel.as_posix()
    except (ValueError, OSError):
        path = None
    return {"id": entry.id, "name": comp.name, "kind": comp.kind, "doc": copy.deepcopy(comp.document),
            "editable": path is not None, "path": path, "source": comp.source}


# ----- make component -----------------------------------------------------------------------------------------------


def _node_of(ref: Any) -> tuple[str, str]:
    s = ref if isinstance(ref, str) else ""
    node, _, port = s.rpartition(".")
    return node, port


def _selection(doc: dict, nodes: Any) -> tuple[list[dict], set[str]]:
    if not isinstance(doc, dict) or not isinstance(doc.get("nodes"), list):
        raise MakeError("the model has no nodes list")
    if not isinstance(nodes, list) or not nodes or not all(isinstance(n, str) for n in nodes):
        raise MakeError("select the nodes to make a component of (a list of node ids)")
    by_id = {n.get("id"): n for n in doc["nodes"] if isinstance(n, dict)}
    missing = [n for n in nodes if n not in by_id]
    if missing:
        raise MakeError(f"the model has no node {missing[0]!r}")
    chosen = set(nodes)
    specs = [n for n in doc["nodes"] if isinstance(n, dict) and n.get("id") in chosen]  # in the model's order
    for spec in specs:
        if "." in spec["id"]:
            raise MakeError(f"node {spec['id']!r} has a '.' in its id; inside a component ids are plain names: "
                            "rename it first")
        if not isinstance(spec.get("component"), str):
            raise MakeError(f"node {spec['id']!r} has no component")
    for spec in doc["nodes"]:
        if not isinstance(spec, dict) or not isinstance(spec.get("attach"), str):
            continue
        inside, target = spec.get("id") in chosen, spec["attach"] in chosen
        if inside != target:
            rule, syn = spec.get("id"), spec["attach"]
            raise MakeError(f"learning rule {rule!r} is attached to synapse {syn!r}, and only one of them is selected; "
                            "select both or neither")
    return specs, chosen


def _edges(doc: dict) -> list[dict]:
    raw = doc.get("edges")
    return [e for e in raw if isinstance(e, dict)] if isinstance(raw, list) else []


def _io(doc: dict, key: str) -> list[dict]:
    raw = doc.get(key)
    return [e for e in raw if isinstance(e, dict)] if isinstance(raw, list) else []


def _crossing(doc: dict, chosen: set[str]) -> tuple[set[tuple[str, str]], set[tuple[str, str]], set]:
    """``(inner inputs fed from outside, inner outputs read outside, inner ports connected inside)`` as
    ``(node, port)``; refuses edges that name an inner port of a selected composite by path."""
    ins, outs, inside = set(), set(), set()

    def check(ref):
        node, _ = _node_of(ref)
        for c in chosen:
            if node.startswith(c + "."):
                raise MakeError(f"{ref!r} reaches inside the selected composite node {c!r}; connect it to an exposed "
                                "port of it first, or leave that node out of the selection")
        return node

    for e in _edges(doc):
        a, b = check(e.get("from")), check(e.get("to"))
        if a in chosen and b in chosen:
            inside.add(_node_of(e["from"]))
            inside.add(_node_of(e["to"]))
        elif b in chosen:
            ins.add(_node_of(e["to"]))
        elif a in chosen:
            outs.add(_node_of(e["from"]))
    for spec in _io(doc, "inputs"):
        if check(spec.get("to")) in chosen:
            ins.add(_node_of(spec["to"]))
    for spec in _io(doc, "outputs"):
        if check(spec.get("from")) in chosen:
            outs.add(_node_of(spec["from"]))
    return ins, outs, inside


def _sizes(specs: list[dict]) -> int | None:
    """The common size of the selected nodes with a one-dimensional shape (None: none, or sizes differ)."""
    sizes = {s["shape"][0] for s in specs if isinstance(s.get("shape"), list) and len(s["shape"]) == 1
             and isinstance(s["shape"][0], int) and not isinstance(s["shape"][0], bool)}
    return next(iter(sizes)) if len(sizes) == 1 else None


def propose(doc: dict, nodes: list[str], registry: Any) -> dict:
    """What the "make component" dialog offers for a selection: ``ports`` (every port of the selected nodes, in the
    model's node order: ``{node, port, direction, payload, doc, crossing, inside, expose, name}``; ``crossing`` ports
    must be exposed, others are offered unticked), ``params`` (the params the selected nodes set:
    ``{node, param, value, name}``), ``n`` (the common size that becomes param ``n``, or None) and a suggested
    ``name``."""
    specs, chosen = _selection(doc, nodes)
    ins, outs, inside = _crossing(doc, chosen)
    ports: list[dict] = []
    for spec in specs:
        try:
            entry = registry.resolve(spec["component"])
        except Exception as exc:
            raise MakeError(f"node {spec['id']!r}: {exc}") from None
        for direction, table, crossing in (("in", entry.cls.inputs, ins), ("out", entry.cls.outputs, outs)):
            for pname, port in table.items():
                key = (spec["id"], pname)
                ports.append({"node": spec["id"], "port": pname, "direction": direction,
                              "payload": port.payload.name, "doc": port.doc, "crossing": key in crossing,
                              "inside": key in inside, "expose": key in crossing})
    _name_ports(ports)
    params = []
    for spec in specs:
        for pname, value in (spec.get("params") or {}).items() if isinstance(spec.get("params"), dict) else ():
            if isinstance(value, (int, float, str, bool)):
                params.append({"node": spec["id"], "param": pname, "value": value,
                               "name": f"{spec['id']}_{pname}".replace("-", "_")})
    taken = {s.get("id") for s in doc["nodes"] if isinstance(s, dict)}
    base = "cell"
    name = base if base not in taken else next(f"{base}{k}" for k in range(2, 10_000) if f"{base}{k}" not in taken)
    return {"ports": ports, "params": params, "n": _sizes(specs), "name": name}


def _name_ports(ports: list[dict]) -> None:
    """Exposed-port names: the port's own name where it is unique among the selection's ports, else
    ``<node>_<port>`` (names are unique across inputs and outputs)."""
    count: dict[str, int] = {}
    for p in ports:
        count[p["port"]] = count.get(p["port"], 0) + 1
    for p in ports:
        p["name"] = p["port"] if count[p["port"]] == 1 else f"{p['node']}_{p['port']}".replace("-", "_")


def make(doc: dict, nodes: list[str], registry: Any, *, name: str, kind: str = "composite",
         ports: list[dict] | None = None, params: list[dict] | None = None, node_id: str | None = None,
         shape_param: bool = True, doc_text: str = "") -> tuple[dict, dict]:
    """``(composite document, new model document)`` for a selection (see the module's docstring).

    Args:
        doc: the model (a `.spark` document); not changed.
        nodes: ids of the selected nodes.
        name: the composite's name (its id is ``library:<name>``).
        kind: what it presents as (:data:`KINDS`).
        ports: ``[{node, port, direction, name, expose}]`` as :func:`propose` gives them (its defaults when None);
            every crossing port must be exposed.
        params: ``[{node, param, name}]``: node params lifted to composite params.
        node_id: the id of the new node in the model (default: ``name``, made unique).
        shape_param: make the selection's common size the param ``n`` (when there is one).
    """
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise MakeError(f"component name {name!r} is not a plain name: use letters, digits and _, not starting with "
                        "a digit")
    if kind not in KINDS:
        raise MakeError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    offer = propose(doc, nodes, registry)
    specs, chosen = _selection(doc, nodes)
    wanted = {(p["node"], p["port"], p["direction"]): p for p in offer["ports"]}
    if ports is not None:
        if not isinstance(ports, list):
            raise MakeError("ports must be a list of {node, port, direction, name, expose}")
        given = {}
        for p in ports:
            if not isinstance(p, dict):
                raise MakeError("ports must be a list of {node, port, direction, name, expose}")
            key = (p.get("node"), p.get("port"), p.get("direction"))
            if key not in wanted:
                raise MakeError(f"the selection has no {'input' if key[2] == 'in' else 'output'} port "
                                f"{key[0]}.{key[1]}")
            given[key] = p
        for key, p in wanted.items():
            g = given.get(key)
            if g is None:
                continue
            expose = bool(g.get("expose", p["expose"]))
            if p["crossing"] and not expose:
                raise MakeError(f"port {key[0]}.{key[1]} is connected across the selection's boundary, so it must be "
                                "exposed (or delete those connections first)")
            p["expose"] = expose
            if "name" in g:
                p["name"] = g["name"]
    exposed = [p for p in offer["ports"] if p["expose"]]
    seen: dict[str, str] = {}
    for p in exposed:
        if not isinstance(p["name"], str) or not NAME_RE.fullmatch(p["name"]):
            raise MakeError(f"exposed port name {p['name']!r} (for {p['node']}.{p['port']}) is not a plain name: use "
                            "letters, digits and _")
        if p["name"] in seen:
            raise MakeError(f"exposed port name {p['name']!r} is used twice ({seen[p['name']]} and "
                            f"{p['node']}.{p['port']}); give them different names")
        seen[p["name"]] = f"{p['node']}.{p['port']}"

    # the body: the selected nodes (ids kept), the edges between them
    inner = [copy.deepcopy(s) for s in specs]
    comp_params: dict[str, dict] = {}
    node_values: dict[str, Any] = {}
    n = offer["n"] if shape_param else None
    if n is not None:
        comp_params["n"] = {"type": "integer", "default": n, "minimum": 1, "doc": "number of neurons"}
        node_values["n"] = n
        for s in inner:
            if isinstance(s.get("shape"), list) and s["shape"] == [n]:
                s["shape"] = [{"param": "n"}]
    by_id = {s["id"]: s for s in inner}
    for lift in params or []:
        if not isinstance(lift, dict):
            raise MakeError("params must be a list of {node, param, name}")
        node, pname, cname = lift.get("node"), lift.get("param"), lift.get("name") or f"{lift.get('node')}_" \
            f"{lift.get('param')}"
        spec = by_id.get(node)
        if spec is None or not isinstance(spec.get("params"), dict) or pname not in spec["params"]:
            raise MakeError(f"selected node {node!r} sets no param {pname!r}")
        if not isinstance(cname, str) or not NAME_RE.fullmatch(cname) or cname in comp_params:
            raise MakeError(f"composite param name {cname!r} is not a plain name or is used twice")
        value = spec["params"][pname]
        ptype = ("boolean" if isinstance(value, bool) else "integer" if isinstance(value, int) else
                 "number" if isinstance(value, float) else "string" if isinstance(value, str) else None)
        if ptype is None:
            raise MakeError(f"param {node}.{pname} holds {type(value).__name__}; only numbers, strings and booleans "
                            "can become composite params")
        unit, pdoc = _param_meta(registry, spec["component"], pname)
        if ptype == "integer" and _schema_type(registry, spec["component"], pname) == "number":
            ptype = "number"
        comp_params[cname] = {"type": ptype, "default": value, **({"unit": unit} if unit else {}),
                              **({"doc": pdoc} if pdoc else {})}
        node_values[cname] = value
        spec["params"][pname] = {"param": cname}
    inner_edges = [copy.deepcopy(e) for e in _edges(doc)
                   if _node_of(e.get("from"))[0] in chosen and _node_of(e.get("to"))[0] in chosen]
    head: dict[str, Any] = {"name": name, "kind": kind}
    if doc_text:
        head["doc"] = doc_text
    if comp_params:
        head["params"] = comp_params
    head["inputs"] = {p["name"]: {"to": f"{p['node']}.{p['port']}"} for p in exposed if p["direction"] == "in"}
    head["outputs"] = {p["name"]: {"from": f"{p['node']}.{p['port']}"} for p in exposed if p["direction"] == "out"}
    positions = (doc.get("editor") or {}).get("positions") if isinstance(doc.get("editor"), dict) else None
    positions = positions if isinstance(positions, dict) else {}
    inner_pos = {k: v for k, v in positions.items() if k in chosen and isinstance(v, dict)}
    composite = {"format": "spark", "version": 1, "name": name, "dt": doc.get("dt", 0.1), "component": head,
                 "nodes": inner, "edges": inner_edges}
    requires = doc.get("requires")
    if isinstance(requires, dict):
        used = {_dist(registry, s["component"]) for s in inner}
        kept = {k: v for k, v in requires.items() if k in used}
        if kept:
            composite["requires"] = kept
    if inner_pos:
        composite["editor"] = {"positions": copy.deepcopy(inner_pos)}

    # the model: the selection replaced by one node, crossing edges rewired
    taken = {s.get("id") for s in doc["nodes"] if isinstance(s, dict) and s.get("id") not in chosen}
    nid = node_id or name
    if not isinstance(nid, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*", nid):
        raise MakeError(f"node id {nid!r} is not a plain name")
    if nid in taken:
        nid = next(f"{nid}_{k}" for k in range(2, 100_000) if f"{nid}_{k}" not in taken)
    to_exposed = {("in", p["node"], p["port"]): p["name"] for p in exposed if p["direction"] == "in"}
    to_exposed.update({("out", p["node"], p["port"]): p["name"] for p in exposed if p["direction"] == "out"})

    def rewire(ref: str, direction: str) -> str:
        node, port = _node_of(ref)
        return f"{nid}.{to_exposed[(direction, node, port)]}" if node in chosen else ref

    model = {k: copy.deepcopy(v) for k, v in doc.items() if k not in ("nodes", "edges", "inputs", "outputs")}
    new_node: dict[str, Any] = {"id": nid, "component": f"library:{name}"}
    if node_values:
        new_node["params"] = node_values
    out_nodes, placed = [], False
    for s in doc["nodes"]:
        if isinstance(s, dict) and s.get("id") in chosen:
            if not placed:
                out_nodes.append(new_node)
                placed = True
            continue
        out_nodes.append(copy.deepcopy(s))
    model["nodes"] = out_nodes
    model["edges"] = []
    for e in _edges(doc):
        a, b = _node_of(e.get("from"))[0], _node_of(e.get("to"))[0]
        if a in chosen and b in chosen:
            continue
        model["edges"].append({**copy.deepcopy(e), "from": rewire(e["from"], "out"), "to": rewire(e["to"], "in")})
    if "inputs" in doc:
        model["inputs"] = [{**copy.deepcopy(s), "to": rewire(s["to"], "in")} if isinstance(s, dict) and
                           isinstance(s.get("to"), str) else copy.deepcopy(s) for s in doc.get("inputs") or []]
    if "outputs" in doc:
        model["outputs"] = [{**copy.deepcopy(s), "from": rewire(s["from"], "out")} if isinstance(s, dict) and
                            isinstance(s.get("from"), str) else copy.deepcopy(s) for s in doc.get("outputs") or []]
    if isinstance(model.get("editor"), dict):
        ed = model["editor"]
        if isinstance(ed.get("positions"), dict):
            pos = {k: v for k, v in ed["positions"].items() if k not in chosen}
            if inner_pos:
                xs = [v.get("x", 0) for v in inner_pos.values() if isinstance(v.get("x"), (int, float))]
                ys = [v.get("y", 0) for v in inner_pos.values() if isinstance(v.get("y"), (int, float))]
                if xs and ys:
                    pos[nid] = {"x": round(sum(xs) / len(xs), 1), "y": round(sum(ys) / len(ys), 1)}
            ed["positions"] = pos
    return composite, model


def _dist(registry: Any, cid: str) -> str | None:
    try:
        return registry.resolve(cid).distribution
    except Exception:
        return None


def _schema(registry: Any, cid: str, pname: str) -> dict:
    try:
        entry = registry.resolve(cid)
        return entry.to_json()["params_schema"]["properties"].get(pname) or {}
    except Exception:
        return {}


def _param_meta(registry: Any, cid: str, pname: str) -> tuple[str, str]:
    s = _schema(registry, cid, pname)
    return str(s.get("x-unit") or ""), str(s.get("description") or "").split("\n")[0]


def _schema_type(registry: Any, cid: str, pname: str) -> str | None:
    t = _schema(registry, cid, pname).get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), None)
    return t
