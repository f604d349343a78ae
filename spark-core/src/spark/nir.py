"""NIR (Neuromorphic Intermediate Representation) import and export of whole Brains.

Needs the ``nir`` package: ``pip install 'spark-core[nir]'``. ``import spark`` never imports it; the functions here
do, when called. The graph-level work (nodes, edges, inputs, outputs, delays, flattening, names, units) is here;
what a component is in NIR, and what a NIR primitive is in Spark, comes from the packs through the
``spark_nir_converters`` hook (:mod:`spark.hookspecs`): spark-core knows no concrete model. docs/nir.md has the
conventions (units, time constants, timing of spikes) and the table of every built-in component.

Conventions, in short:

- time constants and delays in a NIR graph are in **seconds** (as snnTorch, Norse and Spyx write them), Spark's in ms;
  every other number passes unchanged (1 NIR voltage unit = 1 mV, 1 current unit = 1 pA, ``r`` in mV/pA);
- a spike is the value 1 during the step it is emitted in (what snnTorch, Norse and Spyx feed to the next layer);
- ``discretization="exact"`` (default) integrates each NIR equation exactly over a step with its input held;
  ``"euler"`` reproduces the forward-Euler step those frameworks take (``v += dt/tau (v_leak - v + r x)``), by
  importing each ``tau`` as the time constant whose exact decay over ``dt`` is ``1 - dt / tau``;
- a spike reaches the next node one step after it is emitted (Spark's axonal delay, docs/time.md): each edge that
  carries spikes between two nodes adds one ``dt`` to the NIR graph's timing. Export writes no node for it, import
  adds it back, so a round trip keeps the timing; a NIR ``Delay`` node is an edge's ``delay`` on top of it.
"""

from __future__ import annotations

import json
import math
import os
import re
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import attrs
import numpy as np

from .errors import NIRError, PluginError, SparkError, UnsupportedNIRError

EXTRA = "pip install 'spark-core[nir]'"
"""How to get the ``nir`` package."""

DISCRETIZATIONS = ("exact", "euler")
DEFAULT_DT = 0.1
"""ms: the step an imported graph runs with when neither ``dt`` nor the graph says (1e-4 s, snnTorch's export dt)."""

SECONDS_PER_MS = 1e-3
METADATA_KEY = "spark"
"""Key of the JSON string Spark writes into each exported NIR node's and the graph's ``metadata``."""


def load_nir():
    """The ``nir`` module, or a :class:`spark.NIRError` saying which extra to install."""
    try:
        import nir
    except ImportError as exc:
        raise NIRError(f"NIR import/export needs the `nir` package, which is not installed ({exc}); install it: "
                       f"{EXTRA} (or pip install 'nir>=1.0,<1.1')") from None
    return nir


# ----- what converters receive and return ---------------------------------------------------------------------------


@attrs.frozen
class ExportNode:
    """A built Spark node an export converter turns into NIR.

    Attributes:
        id: the node id.
        component: the built instance (weights are ``component.weight`` etc.).
        params: its Params.
        shape: its shape.
        dt: the Brain's step (ms).
        graph: the whole Brain, for a converter whose mapping depends on the neighbours (``None`` outside an export).
    """

    id: str
    component: Any
    params: Any
    shape: tuple
    dt: float
    graph: ExportGraph | None = None


@attrs.frozen
class Link:
    """One end of an edge seen from a node: the node and port at the other end, its built component (``None`` for
    an external input or output, whose name is ``port``), and the edge's configured delay (ms)."""

    node: str | None
    port: str
    component: Any
    delay: float = 0.0


class ExportGraph:
    """The Brain being exported, as export converters may look at it: what feeds a port and what a port feeds."""

    def __init__(self, brain, doc: dict):
        self._nodes, self._doc = brain.nodes, doc

    def sources(self, node: str, port: str) -> list[Link]:
        """What feeds input port ``node.port``: edges and external inputs."""
        ref = f"{node}.{port}"
        out = [Link(*e["from"].rsplit(".", 1), self._nodes[e["from"].rsplit(".", 1)[0]],
                    float(e.get("delay", 0) or 0))
               for e in self._doc["edges"] if e["to"] == ref]
        return out + [Link(None, i["name"], None) for i in self._doc.get("inputs", []) if i["to"] == ref]

    def targets(self, node: str, port: str) -> list[Link]:
        """What output port ``node.port`` feeds: edges and external outputs."""
        ref = f"{node}.{port}"
        out = [Link(*e["to"].rsplit(".", 1), self._nodes[e["to"].rsplit(".", 1)[0]], float(e.get("delay", 0) or 0))
               for e in self._doc["edges"] if e["from"] == ref]
        return out + [Link(None, o["name"], None) for o in self._doc.get("outputs", []) if o["from"] == ref]


@attrs.frozen
class NIRPart:
    """What an export converter returns for one Spark node.

    Attributes:
        nodes: NIR nodes by local name; ``""`` is named like the Spark node, another name ``x`` becomes
            ``"<node>_<x>"``.
        inputs: Spark input port -> local name of the NIR node that receives it.
        outputs: Spark output port -> local name of the NIR node that gives it.
        edges: edges between the local names.
    """

    nodes: dict
    inputs: dict
    outputs: dict
    edges: tuple = ()


@attrs.frozen
class ImportNode:
    """A NIR node an import converter turns into a Spark node.

    Attributes:
        name: its name in the NIR graph.
        node: the ``nir`` node.
        dt: the step (ms) the Brain will run with.
        discretization: ``"exact"`` or ``"euler"``.
        saved: the params Spark wrote into the node's metadata when it exported it (``None`` for a node from
            elsewhere); a converter uses them only if they still give the node's numbers (see :func:`same_numbers`).
        graph: the whole NIR graph (see :meth:`neighbours` and :func:`saved`), for a converter whose mapping depends
            on the neighbours.
    """

    name: str
    node: Any
    dt: float
    discretization: str = "exact"
    saved: dict | None = None
    graph: Any = None

    def neighbours(self, direction: str) -> list[tuple[str, Any]]:
        """``(name, node)`` of the NIR nodes that feed this one (``"in"``) or that it feeds (``"out"``), through
        Flatten/Identity/Delay nodes; ``[]`` without a graph."""
        if self.graph is None:
            return []
        nodes, found, todo, seen = self.graph.nodes, [], [self.name], set()
        while todo:
            n = todo.pop()
            for a, b in self.graph.edges:
                m = a if (direction == "in" and b == n) else b if (direction == "out" and a == n) else None
                if m is None or m in seen:
                    continue
                seen.add(m)
                if type(nodes[m]).__name__ in (*_PASS, "Delay"):
                    todo.append(m)
                else:
                    found.append((m, nodes[m]))
        return found

    def time_constant(self, field: str) -> np.ndarray:
        """The node's time constant ``field`` (seconds in NIR) as Spark's ms for this ``dt`` and discretization.

        ``"exact"``: ``tau * 1000``. ``"euler"``: the ``tau'`` whose exact decay ``exp(-dt / tau')`` equals the
        forward-Euler factor ``1 - dt / tau``, which needs ``dt < tau``. Raises :class:`spark.NIRError` naming the
        node and field for a value that is not positive, or with ``"euler"`` not above ``dt``.
        """
        tau = np.asarray(getattr(self.node, field), np.float64) / SECONDS_PER_MS
        if not np.all(np.isfinite(tau)) or np.any(tau <= 0):
            raise NIRError(f"NIR node {self.name!r} ({type(self.node).__name__}): {field} must be positive and finite "
                           f"(seconds), got {_show(tau * SECONDS_PER_MS)}")
        if self.discretization == "exact":
            return tau
        if np.any(tau <= self.dt):
            raise NIRError(f"NIR node {self.name!r} ({type(self.node).__name__}): discretization='euler' needs "
                           f"{field} > dt = {self.dt} ms, got {_show(tau)} ms; take a smaller dt or 'exact'")
        return -self.dt / np.log1p(-self.dt / tau)

    def array(self, field: str) -> np.ndarray:
        """The node's ``field`` as a float64 array."""
        return np.asarray(getattr(self.node, field), np.float64)


@attrs.frozen
class SparkPart:
    """What an import converter returns for one NIR node: one Spark node.

    Attributes:
        component: the component id (``"spark-components:nir_lif"``).
        params: its params as a plain dict (JSON values), or a function of the node's shape that returns them
            (for a node whose shape comes from its neighbours).
        shape: its shape, or ``None`` to take it from its neighbours (a NIR node whose parameters are scalars).
        input: the input port that receives the NIR node's input (``None``: it takes none).
        output: the output port that gives the NIR node's output.
        bias: a constant this node adds to whatever it feeds (an Affine's bias), per output element, or ``None``.
        bias_param: the per-neuron param (a list of 1 or n values) to which a bias fed to this node is added.
    """

    component: str
    params: dict
    shape: tuple | None
    input: str | None
    output: str | None
    bias: np.ndarray | None = None
    bias_param: str | None = None


@attrs.frozen
class Converter:
    """How one Spark component and NIR primitives map onto each other (returned by ``spark_nir_converters``).

    Attributes:
        component: the Spark component: its class, its short name or its canonical id.
        primitives: the NIR node types (class names, e.g. ``("LIF",)``) that :attr:`from_nir` imports.
        to_nir: ``(ExportNode) -> NIRPart``; ``None``: the component cannot be exported (``why`` says why).
        from_nir: ``(ImportNode) -> SparkPart | None``; ``None`` from the call: "not mine" (the next converter of
            the primitive is asked). It is also called for a node Spark exported from :attr:`component`
            (``ImportNode.saved`` set), whatever its primitive.
        why: for a component that cannot be exported, the reason, shown in the error.
    """

    component: Any
    primitives: tuple = ()
    to_nir: Callable | None = None
    from_nir: Callable | None = None
    why: str = ""


def same_numbers(node: Any, expected: Any) -> bool:
    """Whether NIR node ``node`` has the numbers of ``expected`` (a node of the same type), field by field."""
    if type(node) is not type(expected):
        return False
    for field in attrs.fields(type(node)) if attrs.has(type(node)) else _dataclass_fields(node):
        if field in ("input_type", "output_type", "metadata"):
            continue
        a, b = getattr(node, field, None), getattr(expected, field, None)
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
            if a.shape != b.shape or not np.array_equal(a, b):
                return False
        elif a != b:
            return False
    return True


def _dataclass_fields(node: Any) -> list[str]:
    import dataclasses

    return [f.name for f in dataclasses.fields(node)]


def _show(a: np.ndarray) -> str:
    a = np.asarray(a)
    return f"{a.item():g}" if a.size == 1 else f"{np.array2string(a.ravel()[:4], precision=6)} ({a.size} values)"


# ----- the converters the installed packs register ------------------------------------------------------------------


def converters(registry) -> list[tuple[str, Converter]]:
    """``(pack, converter)`` for every converter the packs of ``registry`` return from ``spark_nir_converters``."""
    out = []
    hook = registry._pm.hook.spark_nir_converters
    for impl in hook.get_hookimpls():
        dist = impl.plugin_name.split(":", 1)[0]
        try:
            result = impl.function()
        except Exception as exc:
            raise PluginError(f"pack {dist}: spark_nir_converters raised {type(exc).__name__}: {exc}") from exc
        for c in result or ():
            if not isinstance(c, Converter):
                raise PluginError(f"pack {dist}: spark_nir_converters returned {c!r}, not a spark.nir.Converter")
            out.append((dist, c))
    return out


def _call(fn, arg, where: str, conv: Converter, packs: dict):
    """A converter's function: a SparkError passes; anything else is a bug of the pack, named with the node."""
    try:
        return fn(arg)
    except (SparkError, Warning):
        raise
    except Exception as exc:
        raise PluginError(f"{where}: the NIR converter of pack {packs.get(id(conv), '?')} for {conv.component!r} "
                          f"raised {type(exc).__name__}: {exc}; a bug in that pack (report it to its authors)") from exc


def _component_class(registry, component) -> type | None:
    if isinstance(component, type):
        return component
    try:
        return registry.resolve(component).cls
    except Exception:
        return None


# ----- export -------------------------------------------------------------------------------------------------------


def to_nir(brain, *, strict: bool = False, leave_out: Iterable[str] = ()):
    """The Brain as a ``nir.NIRGraph``, with its current weights and parameters.

    Learning rules have no NIR counterpart: they are left out (a warning names them; the weights are those of now).
    Each NIR node carries the Spark component and params in ``metadata["spark"]`` (JSON), which other tools ignore
    and :func:`from_nir` uses to rebuild exactly what was exported when the numbers still agree.

    Args:
        strict: raise instead of warning where NIR cannot hold something a converter reports (e.g. a refractory
            period) and for left-out learning rules.
        leave_out: ids of nodes to leave out (an encoder, a decoder; a composite's id leaves out all of it): each
            edge from one becomes a NIR ``Input`` named ``<node>_<port>`` (fed with what the node gave, arriving in
            its step), each edge into one a NIR ``Output`` named ``<node>_<port>``.

    Raises:
        spark.UnsupportedNIRError: a node whose component has no NIR mapping (names the node, component and why),
            or an edge from or to a port that NIR cannot express.
    """
    nir = load_nir()
    reg = brain._registry_or_default()
    brain._built()
    from .composite import flatten

    doc = flatten(brain.to_dict(), reg)  # a composite node is its inner nodes, "cell.soma" (docs/composites.md)
    dt = float(doc["dt"])
    convs = converters(reg)
    packs = {id(c): dist for dist, c in convs}
    by_class: dict[type, Converter] = {}
    for _dist, c in convs:  # the first converter of a class that can export it; else one that says why not
        cls = _component_class(reg, c.component)
        if cls is not None and (cls not in by_class or (by_class[cls].to_nir is None and c.to_nir is not None)):
            by_class[cls] = c
    nodes: dict[str, Any] = {}
    edges: list[tuple[str, str]] = []
    parts: dict[str, tuple[NIRPart, str]] = {}
    graph = ExportGraph(brain, doc)
    skipped, taken, part_names = [], set(), {}
    leave_out = set(leave_out)
    ids = [spec["id"] for spec in doc["nodes"]]
    unknown = sorted(x for x in leave_out if not any(i == x or i.startswith(x + ".") for i in ids))
    if unknown:
        raise NIRError(f"leave_out: no node {unknown} in this model; its nodes: {ids}")
    cut = {i for i in ids if any(i == x or i.startswith(x + ".") for x in leave_out)}
    for spec in doc["nodes"]:
        nid = spec["id"]
        if nid in cut:
            continue
        entry = reg.resolve(spec["component"])
        if spec.get("attach") is not None:
            skipped.append(nid)
            continue
        conv = by_class.get(entry.cls)
        if conv is None or conv.to_nir is None:
            why = conv.why if conv is not None and conv.why else "no installed pack maps it to NIR"
            raise UnsupportedNIRError(f"node {nid!r}: component {entry.id} cannot be exported to NIR: {why}; "
                                      "docs/nir.md lists what each component maps to")
        comp = brain.nodes[nid]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                part = _call(conv.to_nir, ExportNode(nid, comp, comp.params, tuple(comp.shape), dt, graph),
                             f"node {nid!r} ({entry.id})", conv, packs)
            except UnsupportedNIRError as exc:
                raise UnsupportedNIRError(f"node {nid!r} ({entry.id}): {exc}") from None
        for w in caught:
            if strict:
                raise UnsupportedNIRError(f"node {nid!r} ({entry.id}): {w.message}")
            warnings.warn(f"node {nid!r} ({entry.id}): {w.message}", NIRWarning, stacklevel=2)
        base = _unique(nid.replace(".", "_"), taken)  # no dots in NIR names: tools use them for sub-graph paths
        taken.add(base)
        names = {local: (base if local == "" else f"{base}_{local}") for local in part.nodes}
        saved = json.dumps({"node": nid, "component": entry.id, "params": _params_dict(comp.params)})
        for local, node in part.nodes.items():
            node.metadata = {**(node.metadata or {}), METADATA_KEY: saved}
            nodes[names[local]] = node
        edges += [(names[a], names[b]) for a, b in part.edges]
        parts[nid], part_names[nid] = (part, entry.id), names
    if skipped:
        msg = (f"learning rule node(s) {skipped} left out: NIR has no plasticity (the synapses' current weights are "
               "exported)")
        if strict:
            raise UnsupportedNIRError(msg)
        warnings.warn(msg, NIRWarning, stacklevel=2)

    def port_node(ref: str, direction: str) -> str:
        nid, port = ref.rsplit(".", 1)
        part, cid = parts[nid]
        table = part.outputs if direction == "out" else part.inputs
        if port not in table:
            raise UnsupportedNIRError(f"{'output' if direction == 'out' else 'input'} port {ref} ({cid}) has no NIR "
                                      f"counterpart; NIR ports of this node: {sorted(table) or 'none'}")
        local = table[port]
        return part_names[nid][local]

    shapes = _port_shapes(brain, doc)
    for e in doc["edges"]:
        a, b = e["from"].rsplit(".", 1)[0], e["to"].rsplit(".", 1)[0]
        if a in skipped or b in skipped or (a in cut and b in cut):
            continue
        if a in cut or b in cut:  # the boundary of what is left out: an Input or an Output
            ref = e["from"] if a in cut else e["to"]
            name = _unique(ref.replace(".", "_"), nodes)
            if a in cut:
                nodes[name] = nir.Input(input_type={"input": np.asarray(shapes[e["to"]])})
                edges.append((name, port_node(e["to"], "in")))
            else:
                nodes[name] = nir.Output(output_type={"output": np.asarray(shapes[e["from"]])})
                edges.append((port_node(e["from"], "out"), name))
            continue
        src, dst = port_node(e["from"], "out"), port_node(e["to"], "in")
        delay = float(e.get("delay", 0) or 0)
        if delay > 0:
            name = _unique(f"{e['from'].replace('.', '_')}_delay", nodes)
            nodes[name] = nir.Delay(delay=np.full(shapes[e["from"]], delay * SECONDS_PER_MS, np.float64))
            edges += [(src, name), (name, dst)]
        else:
            edges.append((src, dst))
    for spec in doc.get("inputs", []):
        if spec["to"].rsplit(".", 1)[0] in cut:
            continue
        name = _unique(spec["name"].replace(".", "_"), nodes)
        if spec.get("value") is not None:
            warnings.warn(f"input {spec['name']!r}: its default value {spec['value']} is not exported (NIR inputs "
                          "have none)", NIRWarning, stacklevel=2)
        nodes[name] = nir.Input(input_type={"input": np.asarray(shapes[spec["to"]])})
        edges.append((name, port_node(spec["to"], "in")))
    for spec in doc.get("outputs", []):
        if spec["from"].rsplit(".", 1)[0] in cut:
            continue
        name = _unique(spec["name"].replace(".", "_"), nodes)
        nodes[name] = nir.Output(output_type={"output": np.asarray(shapes[spec["from"]])})
        edges.append((port_node(spec["from"], "out"), name))
    meta = {METADATA_KEY: json.dumps({"dt": dt, "seed": doc.get("seed", 0), "name": doc.get("name", ""),
                                      "time_unit": "s", "spark_core": _version()})}
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta, type_check=False)


class NIRWarning(UserWarning):
    """Something of a Spark model that a NIR graph cannot hold and that the export left out (a learning rule,
    a refractory period, an input's default value)."""


def _version() -> str:
    from ._version import __version__

    return __version__


def _params_dict(params) -> dict:
    out = {}
    for f in attrs.fields(type(params)):
        v = getattr(params, f.name)
        out[f.name] = list(v) if isinstance(v, tuple) else v
    return out


def _port_shapes(brain, doc) -> dict[str, tuple]:
    out = {}
    for spec in doc["nodes"]:
        comp = brain.nodes[spec["id"]]
        for port, shape in type(comp).port_shapes(comp.params, tuple(comp.shape)).items():
            out[f"{spec['id']}.{port}"] = tuple(int(s) for s in shape)
    return out


def _unique(name: str, taken) -> str:
    if name not in taken:
        return name
    k = 2
    while f"{name}_{k}" in taken:
        k += 1
    return f"{name}_{k}"


def write(brain, path: str | os.PathLike, **kw) -> None:
    """Export ``brain`` (:func:`to_nir`) and write it with ``nir.write`` (HDF5)."""
    load_nir().write(str(path), to_nir(brain, **kw))


# ----- import -------------------------------------------------------------------------------------------------------

_PASS = ("Flatten", "Identity")  # change no value: their inputs go straight on (Spark ports are flat)


def from_nir(graph_or_path, *, dt: float | None = None, discretization: str = "exact", registry=None,
             name: str | None = None):
    """A :class:`spark.Brain` from a ``nir.NIRGraph`` or a NIR file.

    Args:
        graph_or_path: a ``nir.NIRGraph`` or the path of a file ``nir.write`` wrote.
        dt: the step (ms). Default: the one in the graph's metadata if Spark wrote it, else 0.1 ms (1e-4 s,
            snnTorch's export dt).
        discretization: ``"exact"`` (each equation integrated exactly over a step with its input held) or
            ``"euler"`` (the forward-Euler step snnTorch, Norse and Spyx take; docs/nir.md).
        registry: where component ids resolve (default: every installed pack).
        name: the model's name (default: the one Spark wrote, else "nir").

    Raises:
        spark.UnsupportedNIRError: a node whose primitive no installed pack imports, or a structure Spark cannot
            build (names the node and the primitive and says why).
        spark.NIRError: a node whose numbers are invalid (names the node and field).
    """
    nir = load_nir()
    from .brain import Brain
    from .registry import default_registry

    if discretization not in DISCRETIZATIONS:
        raise NIRError(f"discretization={discretization!r} must be one of {DISCRETIZATIONS}")
    graph = graph_or_path
    if isinstance(graph_or_path, (str, os.PathLike)):
        try:
            graph = nir.read(str(graph_or_path), type_check=False)
        except Exception as exc:
            raise NIRError(f"{graph_or_path}: not a NIR file nir.read can read ({type(exc).__name__}: {exc})") from None
    reg = registry if registry is not None else default_registry()
    meta = _graph_meta(graph)
    dt = float(dt if dt is not None else meta.get("dt", DEFAULT_DT))
    if not (math.isfinite(dt) and dt > 0):
        raise NIRError(f"dt = {dt} ms must be positive")
    convs = converters(reg)
    packs = {id(c): dist for dist, c in convs}
    by_primitive: dict[str, list[Converter]] = {}
    by_class: dict[type, Converter] = {}
    for _dist, c in convs:
        for prim in c.primitives:
            by_primitive.setdefault(prim, []).append(c)
        cls = _component_class(reg, c.component)
        if cls is not None and c.from_nir is not None:
            by_class.setdefault(cls, c)

    nodes, flat_edges = _inline(nir, graph.nodes, graph.edges)
    graph = _FlatGraph(nodes, flat_edges, getattr(graph, "metadata", None))
    preds: dict[str, list[str]] = {n: [] for n in nodes}
    succs: dict[str, list[str]] = {n: [] for n in nodes}
    for a, b in flat_edges:
        preds[b].append(a)
        succs[a].append(b)

    def kind(n: str) -> str:
        return type(nodes[n]).__name__

    ids = _spark_ids(nodes)
    parts: dict[str, SparkPart] = {}
    for n, node in nodes.items():
        k = kind(n)
        if k in ("Input", "Output", "Delay", *_PASS):
            continue
        saved = _node_meta(node)
        part = None
        if saved is not None:
            cls = _component_class(reg, saved.get("component", ""))
            conv = by_class.get(cls) if cls is not None else None
            if conv is not None:
                part = _call(conv.from_nir, ImportNode(n, node, dt, discretization, saved.get("params"), graph),
                             f"NIR node {n!r} ({k})", conv, packs)
        for conv in by_primitive.get(k, []) if part is None else ():
            if conv.from_nir is not None:
                part = _call(conv.from_nir, ImportNode(n, node, dt, discretization, None, graph),
                             f"NIR node {n!r} ({k})", conv, packs)
                if part is not None:
                    break
        if part is None:
            known = [*by_primitive, "Input", "Output", "Delay", *_PASS]
            why = f"no installed pack imports {k}; supported primitives: {', '.join(sorted(known))}"
            raise UnsupportedNIRError(f"NIR node {n!r} is a {k}, which Spark cannot import: {why}")
        parts[n] = part

    def sources(n: str, delay: float = 0.0, seen=()) -> list[tuple[str, float]]:
        """The real (non pass-through) sources feeding ``n``, each with the delay (s) collected on the way."""
        out = []
        for p in preds[n]:
            if p in seen:
                raise UnsupportedNIRError(f"NIR nodes {sorted(seen)} form a cycle of Flatten/Identity/Delay nodes")
            if kind(p) in _PASS:
                out += sources(p, delay, (*seen, p))
            elif kind(p) == "Delay":
                d = np.asarray(nodes[p].delay, np.float64).ravel()
                if d.size and not np.all(d == d[0]):
                    raise UnsupportedNIRError(f"NIR node {p!r} is a Delay with different delays per element "
                                              f"({_show(d)}); a Spark edge has one delay: split the population")
                if d.size and not (np.isfinite(d[0]) and d[0] >= 0):
                    raise NIRError(f"NIR node {p!r} (Delay): delay must be >= 0 seconds, got {d[0]}")
                out += sources(p, delay + (float(d[0]) if d.size else 0.0), (*seen, p))
            else:
                out.append((p, delay))
        return out

    projections = {n for n, p in parts.items() if _is_projection(reg, p)}
    shapes = _shapes(nodes, parts, projections, succs, sources, kind)
    params = {n: p.params(shapes[n]) if callable(p.params) else dict(p.params) for n, p in parts.items()}
    for n, part in parts.items():  # an Affine's bias goes into the one neuron node it feeds
        if part.bias is None or not np.any(np.asarray(part.bias) != 0):
            continue
        targets = _real_targets(n, succs, kind)
        if len(targets) != 1 or targets[0] not in parts or parts[targets[0]].bias_param is None:
            raise UnsupportedNIRError(
                f"NIR node {n!r} ({kind(n)}) has a bias, which Spark adds to the input of the one neuron node it "
                f"feeds; it feeds {targets} ({', '.join(kind(t) for t in targets) or 'nothing'}), which cannot take "
                "it: fold the bias into the next node, or use a Linear")
        t = targets[0]
        key, size = parts[t].bias_param, int(np.prod(shapes[t]))
        old = np.broadcast_to(np.asarray(params[t].get(key, [0.0]), np.float64), (size,))
        new = old + np.broadcast_to(np.asarray(part.bias, np.float64).ravel(), (size,))
        params[t][key] = [float(new[0])] if np.all(new == new[0]) else [float(x) for x in new]

    _check_payloads(reg, nodes, parts, sources, kind)
    # the model document, made at once (a Brain edited node by node re-encodes its document at every edit)
    from . import sparkfile

    doc = {"format": sparkfile.FORMAT, "version": sparkfile.VERSION, "name": name or meta.get("name") or "nir",
           "dt": dt, "seed": int(meta.get("seed", 0)), "requires": {}, "nodes": [], "edges": [], "inputs": [],
           "outputs": []}
    for n, part in parts.items():
        entry = reg.resolve(part.component)
        doc["nodes"].append({"id": ids[n], "component": entry.id, "shape": list(shapes[n]), "params": params[n]})
        if entry.distribution not in ("local", "test", "library"):
            doc["requires"].setdefault(entry.distribution, f">={entry.version}")
    for n in nodes:
        k = kind(n)
        if k == "Input":
            targets = _real_targets(n, succs, kind)
            if len(targets) > 1:
                raise UnsupportedNIRError(f"NIR Input {n!r} feeds several nodes ({targets}); a Spark input feeds one "
                                          "port: give each its own Input")
            for t in targets:
                if kind(t) == "Output":
                    raise UnsupportedNIRError(f"NIR Output {t!r} reads Input {n!r} directly; nothing to simulate")
                if _delay_to(n, t, succs, kind, nodes):
                    raise UnsupportedNIRError(f"NIR Delay between Input {n!r} and {t!r}: a Spark input takes no "
                                              "delay; delay the data instead")
                doc["inputs"].append({"name": ids[n], "to": f"{ids[t]}.{_port(parts[t], 'input', t, k)}"})
        elif k == "Output":
            srcs = sources(n)
            if len(srcs) != 1:
                raise UnsupportedNIRError(f"NIR Output {n!r} is fed by {len(srcs)} nodes; a Spark output reads one "
                                          "port")
            src, delay = srcs[0]
            if delay:
                raise UnsupportedNIRError(f"NIR Delay before Output {n!r}: a Spark output takes no delay")
            if kind(src) != "Input":
                doc["outputs"].append({"name": ids[n],
                                       "from": f"{ids[src]}.{_port(parts[src], 'output', src, kind(src))}"})
        elif n in parts:
            for src, delay in sources(n):
                if kind(src) == "Input":
                    continue  # made above
                edge = {"from": f"{ids[src]}.{_port(parts[src], 'output', src, kind(src))}",
                        "to": f"{ids[n]}.{_port(parts[n], 'input', n, k)}"}
                if delay:
                    edge["delay"] = delay / SECONDS_PER_MS
                doc["edges"].append(edge)
    return Brain.from_dict(doc, registry=registry, source=f"NIR graph {doc['name']!r}")


def _check_payloads(reg, nodes, parts, sources, kind) -> None:
    """What Spark would refuse when it plans the model, said in NIR's terms: an edge between ports of different
    payload types (e.g. an LI's value into a Linear, whose Spark synapse takes spikes), and spikes from several
    nodes into one port (Spark's Spikes inputs take one source; NIR would sum them)."""
    for n, part in parts.items():
        if part.input is None:
            continue
        cls = _component_class(reg, part.component)
        takes = cls.inputs[part.input].payload if cls is not None and part.input in cls.inputs else None
        srcs = [(s, d) for s, d in sources(n) if kind(s) != "Input"]
        for src, _delay in srcs:
            scls = _component_class(reg, parts[src].component)
            port = parts[src].output
            gives = scls.outputs[port].payload if scls is not None and port in scls.outputs else None
            if takes is not None and gives is not None and gives != takes:
                fix = ("a Linear/Affine/Scale takes spikes in Spark" if takes.name == "Spikes"
                       else "put a Linear between them")
                raise UnsupportedNIRError(
                    f"NIR edge {src!r} ({kind(src)}) -> {n!r} ({kind(n)}): in Spark {src!r} gives {gives.name} "
                    f"({parts[src].component}.{port}) but {n!r} takes {takes.name} ({part.component}.{part.input}); "
                    f"{fix}")
        if takes is not None and takes.name == "Spikes" and len(sources(n)) > 1:
            raise UnsupportedNIRError(f"NIR node {n!r} ({kind(n)}) sums the spikes of {[s for s, _ in sources(n)]}; "
                                      "a Spark synapse takes the spikes of one population: give each source its "
                                      "own Linear")


@attrs.frozen
class _FlatGraph:
    nodes: dict
    edges: list
    metadata: Any = None


def _inline(nir, nodes: dict, edges, prefix: str = "") -> tuple[dict, list]:
    """A graph's nodes and edges with every nested NIRGraph (snnTorch writes RLeaky and RSynaptic as one) replaced
    by its nodes, named ``<graph>.<node>``; its Input and Output nodes pass their values on. An edge to a
    sub-graph goes to its Input, one from it leaves its Output (``"<graph>.<node>"`` names one of them)."""
    flat, out_edges, ports = {}, [], {}
    for name, node in nodes.items():
        full = f"{prefix}{name}"
        if isinstance(node, nir.NIRGraph):
            inner, inner_edges = _inline(nir, node.nodes, node.edges, f"{full}.")
            for n, v in node.nodes.items():
                if isinstance(v, (nir.Input, nir.Output)):
                    inner[f"{full}.{n}"] = nir.Flatten(input_type=None, start_dim=0)  # passes its value on
            flat.update(inner)
            out_edges += inner_edges
            ports[full] = ([n for n, v in node.nodes.items() if isinstance(v, nir.Input)],
                           [n for n, v in node.nodes.items() if isinstance(v, nir.Output)])
        else:
            flat[full] = node

    def end(ref: str, side: int) -> str:
        full = f"{prefix}{ref}"
        if full in ports:
            names = ports[full][side]
            if len(names) != 1:
                raise UnsupportedNIRError(f"NIR edge to or from the sub-graph {full!r}, which has "
                                          f"{len(names)} {'Input' if side == 0 else 'Output'} nodes ({names}): name "
                                          f"one, as '{full}.<node>'")
            return f"{full}.{names[0]}"
        if full not in flat:
            raise NIRError(f"NIR edge end {ref!r}: no node {full!r} in the graph")
        return full

    out_edges += [(end(a, 1), end(b, 0)) for a, b in edges]
    return flat, out_edges


def _port(part: SparkPart, side: str, n: str, k: str) -> str:
    port = getattr(part, side)
    if port is None:
        raise UnsupportedNIRError(f"NIR node {n!r} ({k}) has no {side} in Spark ({part.component}), but the graph "
                                  f"connects one")
    return port


def _delay_to(src: str, dst: str, succs, kind, nodes) -> bool:
    """Whether the path from ``src`` to ``dst`` passes a Delay node."""
    for s in succs[src]:
        if s == dst:
            return False
        if kind(s) == "Delay" and dst in _real_targets(s, succs, kind):
            return True
        if kind(s) in _PASS and _delay_to(s, dst, succs, kind, nodes):
            return True
    return False


def _real_targets(n: str, succs, kind) -> list[str]:
    out = []
    for s in succs[n]:
        out += _real_targets(s, succs, kind) if kind(s) in (*_PASS, "Delay") else [s]
    return out


def _spark_ids(nodes: dict) -> dict[str, str]:
    """NIR node name -> a unique Spark node id (``^[A-Za-z_][A-Za-z0-9_-]*$``): ``"0"`` -> ``"n0"``."""
    out, taken = {}, set()
    for n in nodes:
        s = re.sub(r"[^A-Za-z0-9_\-]", "_", str(n))
        if not re.match(r"[A-Za-z_]", s):
            s = "n" + s
        s = _unique(s, taken)
        taken.add(s)
        out[n] = s
    return out


def _graph_meta(graph) -> dict:
    raw = (getattr(graph, "metadata", None) or {}).get(METADATA_KEY) if isinstance(
        getattr(graph, "metadata", None), dict) else None
    try:
        return json.loads(raw) if isinstance(raw, (str, bytes)) else {}
    except ValueError:
        return {}


def saved(node) -> dict | None:
    """What Spark wrote into a NIR node's metadata when it exported it (``{"node", "component", "params"}``), or
    ``None``."""
    return _node_meta(node)


def _node_meta(node) -> dict | None:
    meta = getattr(node, "metadata", None)
    raw = meta.get(METADATA_KEY) if isinstance(meta, dict) else None
    try:
        value = json.loads(raw) if isinstance(raw, (str, bytes)) else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _shapes(nodes, parts, projections, succs, sources, kind) -> dict[str, tuple]:
    """The Spark shape of every imported node: the converter's, else its neighbours' (scalar-parameter nodes)."""
    shapes = {n: tuple(int(s) for s in p.shape) for n, p in parts.items() if p.shape is not None}

    def flat(n: str, direction: str) -> int | None:
        """Size of ``n``'s output (``"out"``) or input (``"in"``) side, where known."""
        if n in shapes:
            s = shapes[n]
            return (s[1] if direction == "out" else s[0]) if n in projections else int(np.prod(s))
        t = (nodes[n].output_type if direction == "out" else nodes[n].input_type) or {}
        for v in t.values():
            if v is not None and np.asarray(v).size and np.all(np.asarray(v) > 0):
                return int(np.prod(v))
        return None

    for _ in range(len(nodes) + 1):
        changed = False
        for n in parts:
            if n in shapes:
                continue
            size = None
            for src, _d in sources(n):
                size = size or flat(src, "out")
            for t in _real_targets(n, succs, kind):
                size = size or (flat(t, "in") if t in parts or kind(t) == "Output" else None)
            if size:
                shapes[n] = (size, size) if n in projections else (size,)
                changed = True
        if not changed:
            break
    for n in parts:
        if n not in shapes:
            raise UnsupportedNIRError(f"NIR node {n!r} ({kind(n)}): its size cannot be told (scalar parameters and no "
                                      "neighbour of known size); give its parameters one value per neuron")
    return shapes


def _is_projection(reg, part: SparkPart) -> bool:
    from .component import _Projection

    cls = _component_class(reg, part.component)
    return cls is not None and issubclass(cls, _Projection)
