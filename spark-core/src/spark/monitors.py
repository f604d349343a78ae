"""Monitors: what a run records, of which neurons, how often, and in what form.

``Brain.run(record=[...])`` takes strings and :class:`Monitor` objects. A string is a monitor in short form::

    "exc.spikes"              every neuron, every step              (steps, *shape)
    "exc.v[0:10]"             neurons 0..9 (flat index), every step (steps, 10)
    "exc.v[3,17,42]"          three chosen neurons                  (steps, 3)
    "exc.spikes:rate"         population rate (Hz) per step         (steps,)
    "syn.weight@100"          every 100th step                      (steps // 100, *shape)
    "syn.dense_weights@500"   a no-argument method of the node, e.g. a sparse synapse's dense matrix

and ``Monitor(target, neurons=..., index=..., reduce=..., every=..., name=...)`` is the same in long form. The
monitor's :attr:`Monitor.key` (its ``name``, or the short form above) names its array in the result.
Selection and reduction happen inside the compiled step, so only what is kept takes memory.
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Iterable
from typing import Any

import attrs
import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from .errors import GraphError

REDUCTIONS = ("sum", "mean", "rate", "max", "min")
"""``sum`` (spike count for spikes), ``mean``, ``rate`` (mean per step / dt: Hz for spikes), ``max``, ``min``."""


# ----- canonical, hashable forms of selections -------------------------------------------------------------------

def _norm_neurons(value: Any) -> Any:
    """None | ("slice", start, stop, step) | ("list", (i, ...)) | ("mask", length, (i, ...))."""
    if value is None:
        return None
    if isinstance(value, tuple) and value and value[0] in ("slice", "list", "mask"):
        return value  # already canonical
    if isinstance(value, range):
        value = slice(value.start, value.stop, None if value.step == 1 else value.step)
    if isinstance(value, slice):
        for part in (value.start, value.stop, value.step):
            if part is not None and (isinstance(part, bool) or not isinstance(part, (int, np.integer))):
                raise GraphError(f"neurons={value!r}: a slice of whole numbers, e.g. slice(0, 100)")
        return ("slice", value.start, value.stop, value.step)
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return ("list", (int(value),))
    arr = np.asarray(value)
    if arr.dtype == bool:
        if arr.ndim != 1:
            arr = arr.reshape(-1)
        return ("mask", int(arr.size), tuple(int(i) for i in np.flatnonzero(arr)))
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
        raise GraphError(f"neurons={value!r}: give a slice, a list of neuron indices (flat) or a boolean mask")
    return ("list", tuple(int(i) for i in arr))


def _norm_index(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, tuple) or (value and value[0] == "index"):
        if isinstance(value, tuple):
            return value
        value = (value,)
    out = []
    for v in value:
        if isinstance(v, slice):
            out.append(("s", v.start, v.stop, v.step))
        elif v is Ellipsis:
            out.append(("e",))
        elif isinstance(v, (int, np.integer)) and not isinstance(v, bool):
            out.append(("i", int(v)))
        else:
            arr = np.asarray(v)
            if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
                raise GraphError(f"index={value!r}: each axis takes an int, a slice or a list of ints")
            out.append(("l", tuple(int(i) for i in arr)))
    return ("index", tuple(out))


def _numpy_index(index: Any) -> tuple:
    parts = []
    for p in index[1]:
        if p[0] == "s":
            parts.append(slice(*p[1:]))
        elif p[0] == "e":
            parts.append(Ellipsis)
        elif p[0] == "i":
            parts.append(p[1])
        else:
            parts.append(np.asarray(p[1], np.int32))
    return tuple(parts)


def _fmt_index(index: Any) -> str:
    parts = []
    for p in index[1]:
        if p[0] == "s":
            parts.append(_fmt_slice(*p[1:]))
        elif p[0] == "e":
            parts.append("...")
        elif p[0] == "i":
            parts.append(str(p[1]))
        else:
            parts.append("(" + " ".join(map(str, p[1])) + ")")
    return "{" + ",".join(parts) + "}"


def _fmt_slice(a, b, c) -> str:
    s = f"{'' if a is None else a}:{'' if b is None else b}"
    return s + (f":{c}" if c is not None else "")


@attrs.frozen
class Monitor:
    """One thing to record during a run.

    Args:
        target: ``"node.port"`` (an output port), ``"node.variable"`` (a state variable such as ``"syn.weight"``)
            or ``"node.method"`` (a method of the node taking no arguments, e.g. ``"syn.dense_weights"``).
        neurons: record only these elements of the value, indexed flat (C order): a ``slice``, a ``range``, a list
            of indices or a boolean mask of the value's size; a negative index counts from the end, as in numpy
            (``-1`` is the last element; the metadata saves it as its flat index). The result has shape
            ``(samples, n_selected)``.
        index: instead of ``neurons``, a numpy-style index on the value's own shape, e.g. ``np.s_[:, :10]``
            for the synapses onto the first ten postsynaptic neurons of an ``(n_pre, n_post)`` weight.
        reduce: one of ``"sum"``, ``"mean"``, ``"rate"``, ``"max"``, ``"min"``, over the (selected) elements, so
            each sample is one number. ``"rate"`` is the mean per step divided by ``dt``, in Hz: the population
            firing rate of a spike port.
        every: record one sample every ``every`` steps, at the end of steps ``every - 1, 2 * every - 1, ...``
            of the run (counted from the run's start), so the result has ``steps // every`` samples and equals
            the every-step recording subsampled as ``full[every - 1 :: every]``. Memory is only what is kept.
        name: the key of the array in the result (default: :attr:`key`, the short form).

    Examples::

        spark.Monitor("exc.spikes", neurons=slice(0, 100))
        spark.Monitor("exc.spikes", reduce="rate")
        spark.Monitor("syn.weight", every=100)
        spark.Monitor("syn.weight", index=np.s_[:, :10], every=100, name="w_first10")
    """

    target: str = attrs.field()
    neurons: Any = attrs.field(default=None, converter=_norm_neurons)
    index: Any = attrs.field(default=None, kw_only=True, converter=_norm_index)
    reduce: str | None = attrs.field(default=None, kw_only=True)
    every: int = attrs.field(default=1, kw_only=True)
    name: str | None = attrs.field(default=None, kw_only=True)

    def __attrs_post_init__(self):
        if not isinstance(self.target, str) or "." not in self.target or self.target.startswith(".") \
                or self.target.endswith("."):
            raise GraphError(f"Monitor target {self.target!r}: write \"node.port\", \"node.variable\" or "
                             "\"node.method\"")
        if self.neurons is not None and self.index is not None:
            raise GraphError(f"Monitor {self.target!r}: give neurons= (flat) or index= (per axis), not both")
        if self.reduce is not None and self.reduce not in REDUCTIONS:
            raise GraphError(f"Monitor {self.target!r}: reduce={self.reduce!r} is not one of {', '.join(REDUCTIONS)}")
        if isinstance(self.every, bool) or not isinstance(self.every, (int, np.integer)) or self.every < 1:
            raise GraphError(f"Monitor {self.target!r}: every={self.every!r} must be a whole number >= 1 (steps)")
        object.__setattr__(self, "every", int(self.every))
        if self.name is not None and (not isinstance(self.name, str) or not self.name):
            raise GraphError(f"Monitor {self.target!r}: name must be a non-empty string")

    @property
    def node(self) -> str:
        return self.target.rpartition(".")[0]  # a node id may hold dots: cell.soma.v is variable v of cell.soma

    @property
    def attr(self) -> str:
        return self.target.rpartition(".")[2]

    @property
    def key(self) -> str:
        """The name of this monitor's array in a run's result: ``name`` or the short form (:meth:`parse`'s input)."""
        return self.name if self.name is not None else self.spec()

    def spec(self) -> str:
        """The short form: ``target[selection]:reduce@every``; :meth:`parse` reads it back."""
        s = self.target
        if self.neurons is not None:
            kind = self.neurons[0]
            if kind == "slice":
                s += f"[{_fmt_slice(*self.neurons[1:])}]"
            else:  # a list, or a mask written as the list of what it selects
                s += "[" + ",".join(map(str, self.neurons[-1])) + "]"
        if self.index is not None:
            s += _fmt_index(self.index)
        if self.reduce:
            s += f":{self.reduce}"
        if self.every != 1:
            s += f"@{self.every}"
        return s

    def __str__(self) -> str:
        return self.key

    @classmethod
    def parse(cls, text: str | Monitor) -> Monitor:
        """Read the short form ``node.attr[selection]:reduce@every`` (every part after ``node.attr`` optional).

        ``selection`` is ``a:b`` / ``a:b:c`` (a slice of the flat neuron index) or ``i,j,k`` (a list). Examples:
        ``"exc.spikes"``, ``"exc.v[0:10]"``, ``"exc.spikes:rate"``, ``"syn.weight@100"``, ``"exc.v[0,5]:mean@10"``.
        """
        if isinstance(text, Monitor):
            return text
        if not isinstance(text, str):
            raise GraphError(f"cannot record {text!r}: give \"node.port\" or a spark.Monitor")
        m = _SHORT.match(text.strip())
        if not m:
            raise GraphError(f"cannot read the monitor {text!r}: write node.attr, optionally followed by "
                             "[a:b] or [i,j,...] (neurons), :reduce (one of " + ", ".join(REDUCTIONS) +
                             ") and @every (steps), e.g. \"exc.v[0:10]\", \"exc.spikes:rate\", \"syn.weight@100\"")
        neurons: Any = None
        sel = m.group("sel")
        if sel is not None:
            try:
                if ":" in sel:
                    parts = [int(p) if p.strip() else None for p in sel.split(":")]
                    if len(parts) > 3:
                        raise ValueError
                    neurons = slice(*parts)
                else:
                    neurons = [int(p) for p in sel.split(",") if p.strip()]
            except ValueError:
                raise GraphError(f"monitor {text!r}: [{sel}] is neither a slice a:b nor a list i,j,...") from None
        every = int(m.group("every")) if m.group("every") else 1
        # a plain "node.attr" keeps its own text as its key, whatever spacing it had
        return cls(m.group("target"), neurons, reduce=m.group("reduce"), every=every)


_SHORT = re.compile(r"^(?P<target>[A-Za-z_][A-Za-z0-9_\-]*(?:\.[A-Za-z_][A-Za-z0-9_\-]*)*\.[A-Za-z_][A-Za-z0-9_]*)"
                    r"(?:\[(?P<sel>[^\]]*)\])?(?::(?P<reduce>[a-z]+))?(?:@(?P<every>[0-9]+))?$")


def as_monitors(record: Iterable[Any]) -> tuple[Monitor, ...]:
    """Strings and Monitors -> Monitors, refusing two with the same key."""
    if isinstance(record, (str, Monitor)):
        record = [record]
    mons = tuple(Monitor.parse(r) for r in record)
    seen: dict[str, Monitor] = {}
    for m in mons:
        if m.key in seen and seen[m.key] != m:
            raise GraphError(f"two monitors are named {m.key!r}; give one of them name=...")
        seen[m.key] = m
    return tuple(dict.fromkeys(mons))  # the same monitor twice is recorded once


# ----- binding monitors to a brain --------------------------------------------------------------------------------

@attrs.frozen
class Bound:
    """A monitor checked against a brain: where its value comes from and the shape of one sample (hashable)."""

    monitor: Monitor
    source: str  # "port" | "variable" | "method"
    raw_shape: tuple
    select: Any  # None | ("slice", a, b, c) | ("take", (i, ...)) | ("index", ...)
    shape: tuple  # one sample
    dtype: str
    payload: str | None
    unit: str | None
    neuron_ids: tuple | None  # the flat indices recorded, when neurons= was given

    @property
    def key(self) -> str:
        return self.monitor.key

    @property
    def every(self) -> int:
        return self.monitor.every

    @property
    def sample_bytes(self) -> int:
        return math.prod(self.shape) * np.dtype(self.dtype).itemsize

    def info(self) -> dict:
        """JSON-ready description, saved with recordings."""
        m = self.monitor
        return {"target": m.target, "node": m.node, "attr": m.attr, "source": self.source, "every": m.every,
                "reduce": m.reduce, "neurons": None if self.neuron_ids is None else list(self.neuron_ids),
                "index": None if m.index is None else _fmt_index(m.index),
                "value_shape": list(self.raw_shape), "shape": list(self.shape), "dtype": self.dtype,
                "payload": self.payload, "unit": self.unit}


def source_of(module: nnx.Module, attr: str) -> str | None:
    """Where ``node.attr`` is read from: ``"port"``, ``"variable"``, ``"method"`` or None (not recordable)."""
    if attr in type(module).outputs:
        return "port"
    value = getattr(module, attr, None)
    if isinstance(value, nnx.Variable):
        return "variable"
    if attr in recordable_methods(module):
        return "method"
    return None


def recordable_methods(module: nnx.Module) -> list[str]:
    """Public methods of a component's own classes (not Flax's or the core base classes') taking no arguments."""
    names = []
    for cls in type(module).__mro__:
        mod = getattr(cls, "__module__", "") or ""
        if mod.startswith(("flax", "spark.component", "builtins")):
            continue
        for name, fn in vars(cls).items():
            if name.startswith("_") or name in names or not inspect.isfunction(fn):
                continue
            try:
                params = list(inspect.signature(fn).parameters.values())[1:]
            except (TypeError, ValueError):
                continue
            if all(p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
                names.append(name)
    return sorted(names)


def raw_value(brain, now: dict | None, monitor: Monitor, source: str) -> jax.Array:
    node = brain.nodes[monitor.node]
    if source == "port":
        return now[monitor.target]
    if source == "variable":
        return getattr(node, monitor.attr)[...]
    return jnp.asarray(getattr(node, monitor.attr)())


def sample(b: Bound, raw: jax.Array, dt: float) -> jax.Array:
    """What ``b`` keeps of one step's value: selection then reduction (inside the compiled step)."""
    x = raw
    sel = b.select
    if sel is not None:
        if sel[0] == "slice":
            x = x.reshape(-1)[slice(*sel[1:])]
        elif sel[0] == "take":
            x = x.reshape(-1)[np.asarray(sel[1], np.int32)]
        else:
            x = x[_numpy_index(sel)]
    r = b.monitor.reduce
    if r == "sum":
        x = x.astype(jnp.int32).sum() if x.dtype == jnp.bool_ else x.sum()
    elif r == "mean":
        x = x.astype(jnp.float32).mean()
    elif r == "rate":
        x = x.astype(jnp.float32).mean() * (1000.0 / dt)
    elif r == "max":
        x = x.max()
    elif r == "min":
        x = x.min()
    return x.astype(b.dtype)


def bind(monitor: Monitor, raw: jax.ShapeDtypeStruct, source: str, payload: Any, dt: float) -> Bound:
    """Check ``monitor``'s selection against the value's shape; work out one sample's shape and dtype."""
    shape = tuple(raw.shape)
    size = math.prod(shape)
    select, neuron_ids = None, None
    m = monitor
    if m.neurons is not None:
        kind = m.neurons[0]
        if kind == "slice":
            start, stop, step = slice(*m.neurons[1:]).indices(size)
            ids = range(start, stop, step)
            if len(ids) == 0:
                raise GraphError(f"monitor {m.key!r}: neurons {_fmt_slice(*m.neurons[1:])} selects none of "
                                 f"{m.target}'s {size} elements")
            # slice.indices gives stop -1 for a reversed slice that runs to the first element; as a slice bound -1
            # would count from the end, so the selection is kept as None there
            select = ("slice", start, None if stop < 0 else stop, step)
            neuron_ids = tuple(ids)
        else:
            if kind == "mask" and m.neurons[1] != size:
                raise GraphError(f"monitor {m.key!r}: the neuron mask has {m.neurons[1]} entries but "
                                 f"{m.target} has {size} elements; give a mask of that size")
            ids = m.neurons[-1]
            bad = [i for i in ids if not -size <= i < size]
            if bad:
                raise GraphError(f"monitor {m.key!r}: neuron index {bad[0]} is out of range for {m.target}, which "
                                 f"has {size} elements (flat indices 0..{size - 1}, or -{size}..-1 counting from "
                                 "the end)")
            if not ids:
                raise GraphError(f"monitor {m.key!r}: the selection is empty; choose at least one neuron")
            ids = tuple(i % size for i in ids)
            select, neuron_ids = ("take", ids), ids
    elif m.index is not None:
        try:
            probe = jax.eval_shape(lambda x: x[_numpy_index(m.index)], jax.ShapeDtypeStruct(shape, raw.dtype))
        except (IndexError, TypeError, ValueError) as exc:
            raise GraphError(f"monitor {m.key!r}: index does not fit {m.target}'s shape {list(shape)}: {exc}") \
                from None
        if math.prod(probe.shape) == 0:
            raise GraphError(f"monitor {m.key!r}: the index selects nothing of {m.target}'s shape {list(shape)}")
        select = m.index
    dtype = np.dtype(raw.dtype)
    if m.reduce in ("mean", "rate"):
        dtype = np.dtype(np.float32)
    elif m.reduce == "sum" and dtype == np.dtype(bool):
        dtype = np.dtype(np.int32)
    if m.reduce is not None:
        out_shape: tuple = ()
    elif select is None:
        out_shape = shape
    elif select[0] in ("slice", "take"):
        out_shape = (len(neuron_ids),)
    else:
        out_shape = tuple(probe.shape)
    unit = getattr(payload, "unit", None) or None
    if m.reduce == "rate":
        unit = "Hz"
    return Bound(m, source, shape, select, out_shape, dtype.name, getattr(payload, "name", None), unit, neuron_ids)
