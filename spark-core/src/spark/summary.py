"""What a Brain is, at a glance: :meth:`spark.Brain.summary` as text, and HTML for Jupyter (issue 20).

A :class:`Summary` lists the nodes (component, kind, shape, the parameters that differ from their defaults, with
units), the edges (with delays in ms), the external inputs and outputs, the neuron and synapse counts and the
model's memory estimate. ``str(summary)`` is a plain-text table; ``summary._repr_html_()`` the same as HTML tables,
which Jupyter shows for ``brain.summary()`` and for ``brain`` itself.
"""

from __future__ import annotations

import html
import math
from typing import Any

import attrs

from . import parameters as _params
from .component import Synapse
from .recording import fmt_bytes


@attrs.frozen
class NodeRow:
    """One node: ``changed`` maps each parameter that differs from its default to ``(value, unit)``;
    ``synapses``: the number of synapses of a synapse node (``None`` for other kinds)."""

    id: str
    component: str
    kind: str
    shape: tuple[int, ...] | None
    changed: dict[str, tuple[Any, str]]
    attach: str | None = None
    synapses: int | None = None


@attrs.frozen
class Summary:
    """The summary of a model; build it with :meth:`spark.Brain.summary`."""

    name: str
    dt: float
    seed: int
    nodes: tuple[NodeRow, ...]
    edges: tuple[tuple[str, str, float], ...]  # ("node.port", "node.port", delay in ms beyond the step's own)
    inputs: tuple[tuple[str, str, Any], ...]  # (name, "node.port", default value or None)
    outputs: tuple[tuple[str, str], ...]  # (name, "node.port")
    memory: Any = None  # spark.memory.ModelEstimate

    @property
    def neurons(self) -> int:
        """Neurons: the summed sizes of every soma node."""
        return sum(math.prod(n.shape or ()) for n in self.nodes if n.kind == "soma")

    @property
    def synapses(self) -> int:
        """Synapses: the summed connection counts of every synapse node."""
        return sum(n.synapses or 0 for n in self.nodes)

    def headline(self) -> str:
        name = f"{self.name!r}, " if self.name else ""
        return (f"Brain({name}dt={self.dt:g} ms, {len(self.nodes)} nodes, {len(self.edges)} edges, "
                f"{self.neurons:,} neurons, {self.synapses:,} synapses)")

    def _node_cells(self, n: NodeRow) -> list[str]:
        params = ", ".join(f"{k}={_fmt(v)}{' ' + u if u else ''}" for k, (v, u) in n.changed.items())
        extra = f"on {n.attach}" if n.attach else (f"{n.synapses:,} synapses" if n.synapses is not None else "")
        return [n.id, n.component, n.kind, "x".join(map(str, n.shape)) if n.shape else "-", extra, params or "-"]

    def __str__(self) -> str:
        lines = [self.headline(), ""]
        lines += _table(["node", "component", "kind", "shape", "", "params (not default)"],
                        [self._node_cells(n) for n in self.nodes])
        if self.edges:
            lines += ["", *_table(["from", "to", "delay"],
                                  [[s, d, f"{ms:g} ms" if ms else ""] for s, d, ms in self.edges])]
        if self.inputs or self.outputs:
            rows = [["input", n, t, "" if v is None else _fmt(v)] for n, t, v in self.inputs]
            rows += [["output", n, t, ""] for n, t in self.outputs]
            lines += ["", *_table(["", "name", "port", "default"], rows)]
        if self.memory is not None:
            lines += ["", f"memory: {fmt_bytes(self.memory.bytes)} planned ({self.memory})"]
        return "\n".join(line.rstrip() for line in lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        e = html.escape
        out = [f"<div class='spark-summary'><b>{e(self.headline())}</b>",
               _html_table(["node", "component", "kind", "shape", "", "params (not default)"],
                           [self._node_cells(n) for n in self.nodes])]
        if self.edges:
            out.append(_html_table(["from", "to", "delay"],
                                   [[s, d, f"{ms:g} ms" if ms else ""] for s, d, ms in self.edges]))
        if self.inputs or self.outputs:
            rows = [["input", n, t, "" if v is None else _fmt(v)] for n, t, v in self.inputs]
            rows += [["output", n, t, ""] for n, t in self.outputs]
            out.append(_html_table(["", "name", "port", "default"], rows))
        if self.memory is not None:
            out.append(f"<p>memory: {e(fmt_bytes(self.memory.bytes))} planned</p>")
        return "".join(out) + "</div>"

    def to_dict(self) -> dict:
        """Plain JSON-able data (for tools): every field plus ``neurons`` and ``synapses``."""
        return {"name": self.name, "dt": self.dt, "seed": self.seed, "neurons": self.neurons,
                "synapses": self.synapses,
                "nodes": [{"id": n.id, "component": n.component, "kind": n.kind,
                           "shape": list(n.shape) if n.shape else None, "attach": n.attach, "synapses": n.synapses,
                           "changed": {k: {"value": _plain(v), "unit": u} for k, (v, u) in n.changed.items()}}
                          for n in self.nodes],
                "edges": [{"from": s, "to": d, "delay_ms": ms} for s, d, ms in self.edges],
                "inputs": [{"name": n, "to": t, "value": v} for n, t, v in self.inputs],
                "outputs": [{"name": n, "from": t} for n, t in self.outputs],
                "memory_bytes": None if self.memory is None else self.memory.bytes}


def changed_params(params: Any) -> dict[str, tuple[Any, str]]:
    """The fields of a params instance whose value differs from the field's default: ``name -> (value, unit)``."""
    out = {}
    if params is None or not attrs.has(type(params)):
        return out
    for f in attrs.fields(type(params)):
        default = f.default.factory() if isinstance(f.default, attrs.Factory) else f.default  # type: ignore[attr-defined]
        value = getattr(params, f.name)
        if not _equal(value, default):
            unit = _params.meta(f).unit if _params._META_KEY in f.metadata else ""
            out[f.name] = (value, unit)
    return out


def summarize(brain: Any, plan: Any, *, memory: Any = None) -> Summary:
    """The :class:`Summary` of ``brain`` from its validated ``plan`` (``spark.graph.Plan``)."""
    built = dict(brain.nodes) if brain.nodes else {}
    rows = []
    for n in plan.nodes.values():
        kind = n.entry.kind if hasattr(n.entry, "kind") else getattr(n.cls, "kind", "")
        synapses = None
        if issubclass(n.cls, Synapse):
            node = built.get(n.id)
            count = getattr(node, "n_synapses", None) if node is not None else None
            synapses = int(count) if count is not None else math.prod(n.shape or ())
        rows.append(NodeRow(n.id, n.entry.id, kind, tuple(n.shape) if n.shape is not None else None,
                            changed_params(n.params), n.attach, synapses))
    edges = tuple((f"{e.src}.{e.src_port}", f"{e.dst}.{e.dst_port}", _delay_ms(plan, e)) for e in plan.edges)
    return Summary(name=brain.name, dt=plan.dt, seed=plan.seed, nodes=tuple(rows), edges=edges,
                   inputs=tuple((i.name, f"{i.node}.{i.port}", i.value) for i in plan.inputs),
                   outputs=tuple((o.name, f"{o.node}.{o.port}") for o in plan.outputs), memory=memory)


def component_repr(component: Any) -> str:
    """``<name>([shape], param=value unit, ...)``: a component with the parameters that differ from defaults."""
    changed = changed_params(getattr(component, "params", None))
    shape = getattr(component, "shape", None)
    parts = [f"[{', '.join(map(str, shape))}]"] if shape is not None else []
    parts += [f"{k}={_fmt(v)}{' ' + u if u else ''}" for k, (v, u) in changed.items()]
    return f"{type(component).__name__}({', '.join(parts)})"


def _delay_ms(plan: Any, edge: Any) -> float:
    from .timing import to_ms

    return float(to_ms(edge.delay_steps, plan.dt)) if edge.delay_steps else 0.0


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(a == b) if not isinstance(a, float) or not isinstance(b, float) else (
            a == b or (math.isnan(a) and math.isnan(b)))
    except Exception:  # noqa: BLE001 - arrays and odd values: compare their reprs
        return repr(a) == repr(b)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, tuple) and len(v) > 6:
        return f"({', '.join(_fmt(x) for x in v[:5])}, ... {len(v)} values)"
    return repr(v) if isinstance(v, str) else str(v)


def _plain(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return [fmt.format(*header), fmt.format(*("-" * w for w in widths)), *(fmt.format(*r) for r in rows)]


def _html_table(header: list[str], rows: list[list[str]]) -> str:
    e = html.escape
    head = "".join(f"<th style='text-align:left'>{e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td style='text-align:left'>{e(str(c))}</td>" for c in r) + "</tr>"
                   for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


__all__ = ["NodeRow", "Summary", "changed_params", "component_repr", "summarize"]
