"""Parameters of components: frozen attrs classes whose fields carry unit, doc and bounds.

Example::

    @spark.params
    class LIFParams:
        tau_m: float = spark.param(20.0, unit="ms", doc="membrane time constant", gt=0)

Values are validated on construction; :func:`params_schema` exports a class as JSON Schema.
"""

from __future__ import annotations

import difflib
import math
import typing
from typing import Any

import attrs

from . import limits
from .errors import ParamError

_META_KEY = "spark"
_TYPES = {float: "number", int: "integer", bool: "boolean", str: "string"}


@attrs.frozen
class ParamMeta:
    """What Spark knows about one parameter besides its value."""

    unit: str = ""
    doc: str = ""
    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None
    choices: tuple | None = None


def param(
    default: Any,
    *,
    unit: str = "",
    doc: str,
    gt: float | None = None,
    ge: float | None = None,
    lt: float | None = None,
    le: float | None = None,
    choices: tuple | list | None = None,
) -> Any:
    """Declare a parameter field (use inside a class decorated with :func:`params`).

    Args:
        default: the default value.
        unit: physical unit, e.g. ``"ms"``, ``"mV"``, ``"pA"`` (``""`` if unitless).
        doc: one line saying what the parameter is.
        gt, ge, lt, le: strict / inclusive lower and upper bounds.
        choices: the allowed values, for a parameter with a fixed set of options.
    """
    meta = ParamMeta(unit, doc, gt, ge, lt, le, tuple(choices) if choices is not None else None)
    return attrs.field(default=default, metadata={_META_KEY: meta})


def params(cls: type) -> type:
    """Class decorator: make ``cls`` a frozen, keyword-only attrs class validated on construction.

    Orderings between fields are declared as ``__spark_order__ = (("v_reset", "<", "v_thresh"), ...)``
    (``"<"`` or ``"<="``); they are checked with the fields, so ``spark validate`` reports them too.
    """
    cls.__attrs_post_init__ = _post_init
    new = attrs.frozen(kw_only=True)(cls)
    attrs.resolve_types(new)
    for f in attrs.fields(new):
        if _META_KEY not in f.metadata:
            raise TypeError(f"{cls.__name__}.{f.name}: declare it with spark.param(default, unit=..., doc=...)")
        if _elem_type(_base_type(f.type)) not in _TYPES:
            raise TypeError(f"{cls.__name__}.{f.name}: type {f.type!r} is not one of float, int, bool, str "
                            "or tuple[float | int, ...]")
    return new


def is_params_class(cls: Any) -> bool:
    return isinstance(cls, type) and attrs.has(cls) and all(_META_KEY in f.metadata for f in attrs.fields(cls))


def meta(field: attrs.Attribute) -> ParamMeta:
    return field.metadata[_META_KEY]


def owner_name(cls: type) -> str:
    """The component name a params class belongs to, for messages."""
    return getattr(cls, "__spark_owner__", None) or cls.__name__


def _base_type(tp: Any) -> Any:
    args = typing.get_args(tp)
    if typing.get_origin(tp) is tuple:
        return tp
    if args:  # Optional[X] / X | None
        non_none = [a for a in args if a is not type(None)]
        return non_none[0] if len(non_none) == 1 else tp
    return tp


def _is_array(tp: Any) -> bool:
    return typing.get_origin(tp) is tuple


def _elem_type(tp: Any) -> Any:
    """``tuple[float, ...]`` -> ``float``; scalars unchanged."""
    return typing.get_args(tp)[0] if _is_array(tp) else tp


def _fmt(v: Any, unit: str) -> str:
    return f"{v!r} {unit}".rstrip() if unit else repr(v)


def check_value(cls: type, field: attrs.Attribute, value: Any) -> tuple[Any, str | None]:
    """Coerce and check one value. Returns ``(value, None)`` or ``(value, problem)``."""
    m = meta(field)
    tp = _base_type(field.type)
    optional = type(None) in typing.get_args(field.type)
    who = f"{owner_name(cls)} parameter {field.name!r}"
    if value is None:
        return value, None if optional else f"{who} is missing (None); give a {_TYPES[_elem_type(tp)]}" + (
            f" in {m.unit}" if m.unit else "")
    if _is_array(tp):
        if not isinstance(value, (list, tuple)):
            return value, f"{who} = {value!r} is not a list; give a list of {_TYPES[_elem_type(tp)]}s"
        checked = _all_plain_numbers_fine(_elem_type(tp), m, value)
        if checked is not None:
            return checked, None
        out = []
        for k, item in enumerate(value):
            item, problem = _check_scalar(f"{who}[{k}]", _elem_type(tp), m, item)
            if problem:
                return value, problem
            out.append(item)
        return tuple(out), None
    return _check_scalar(who, tp, m, value)


def _all_plain_numbers_fine(tp: Any, m: ParamMeta, value: list | tuple) -> tuple | None:
    """A long list of plain numbers (explicit connectivity: a value per synapse) checked at once with numpy, when
    every item passes what :func:`_check_scalar` checks; ``None`` otherwise, and the items are checked one by one,
    which also words the problem. The result equals the item-by-item one."""
    import numpy as np

    if len(value) < 256 or tp not in (float, int) or m.choices is not None:
        return None
    types = {type(v) for v in value}
    if not types <= ({float, int} if tp is float else {int}):  # bools, numpy scalars, strings: one by one
        return None
    try:
        a = np.asarray(value, np.float64 if tp is float else np.int64)
    except OverflowError:
        return None
    if tp is float:
        mag = np.abs(a)
        if not np.all(np.isfinite(a)) or np.any(mag > limits.FLOAT32_MAX) or np.any((a != 0) &
                                                                                   (mag < limits.FLOAT32_TINY)):
            return None
    elif np.any(a < limits.INT32_MIN) or np.any(a > limits.INT32_MAX):
        return None
    for key, op in (("gt", np.greater), ("ge", np.greater_equal), ("lt", np.less), ("le", np.less_equal)):
        bound = getattr(m, key)
        if bound is not None and not np.all(op(a, bound)):
            return None
    return tuple(float(v) for v in value) if tp is float else tuple(value)


def _check_scalar(who: str, tp: Any, m: ParamMeta, value: Any) -> tuple[Any, str | None]:
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return value, f"{who} = {value!r} is not a number; give a number in {m.unit or 'no unit'}"
        try:
            value = float(value)
        except OverflowError:  # an int beyond float64 (10**400)
            return value, f"{who} {limits.float32_problem(value)}"
        if not math.isfinite(value):
            bounds = ", ".join(f"{sym} {_fmt(getattr(m, k), m.unit)}" for k, sym in
                               (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")) if getattr(m, k) is not None)
            what = "is NaN" if math.isnan(value) else f"= {value} is not finite"
            return value, (f"{who} {what}; give a finite number in {m.unit or 'no unit'}"
                           + (f" ({bounds})" if bounds else ""))
        problem = limits.float32_problem(value)  # components store float params as float32
        if problem:
            return value, f"{who} {problem}"
    elif tp is int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            return value, f"{who} = {value!r} is not an integer; give a whole number"
        problem = limits.int_problem(value)  # components store int params (indices, counts) as int32
        if problem:
            return value, f"{who} {problem}"
    elif tp is bool:
        if not isinstance(value, bool):
            return value, f"{who} = {value!r} is not a boolean; give true or false"
    elif tp is str:
        if not isinstance(value, str):
            return value, f"{who} = {value!r} is not a string"
    bounds = [("gt", ">", lambda a, b: a > b), ("ge", ">=", lambda a, b: a >= b),
              ("lt", "<", lambda a, b: a < b), ("le", "<=", lambda a, b: a <= b)]
    for key, sym, ok in bounds:
        bound = getattr(m, key)
        if bound is not None and not ok(value, bound):
            return value, (f"{who} = {_fmt(value, m.unit)} is out of bounds: it must be {sym} {_fmt(bound, m.unit)}; "
                           f"set a value {sym} {_fmt(bound, m.unit)}")
    if m.choices is not None and value not in m.choices:
        return value, f"{who} = {value!r} is not one of the choices {list(m.choices)}; pick one of them"
    return value, None


def _post_init(self) -> None:
    cls = type(self)
    problems = []
    for f in attrs.fields(cls):
        value, problem = check_value(cls, f, getattr(self, f.name))
        if problem:
            problems.append((f.name, problem))
        else:
            object.__setattr__(self, f.name, value)
    bad = {name for name, _ in problems}
    for low, op, high in getattr(cls, "__spark_order__", ()):
        lo, hi = getattr(self, low), getattr(self, high)
        if low in bad or high in bad or lo is None or hi is None:
            continue
        if not (lo < hi if op == "<" else lo <= hi):
            unit = meta(attrs.fields_dict(cls)[low]).unit
            problems.append((low, f"{owner_name(cls)} parameter {low!r} = {_fmt(lo, unit)} must be {op} {high} = "
                                  f"{_fmt(hi, unit)}; lower {low} or raise {high}"))
    if problems:
        err = ParamError("; ".join(p for _, p in problems))
        err.problems = problems
        raise err


def duration_problems(p: Any, dt: float) -> list[tuple[list, str]]:
    """``(path, problem)`` for every parameter of ``p`` in ms that is more than ``2**31 - 1`` steps of ``dt`` ms
    (components count steps in int32): ``path`` is ``[name]``, or ``[name, k]`` for item ``k`` of a list."""
    out = []
    for f in attrs.fields(type(p)):
        if meta(f).unit != "ms":
            continue
        value = getattr(p, f.name)
        for k, v in enumerate(value if isinstance(value, tuple) else (value,)):
            problem = limits.steps_problem(v, dt) if isinstance(v, (int, float)) else None
            if problem:
                out.append(([f.name, k] if isinstance(value, tuple) else [f.name],
                            f"{owner_name(type(p))} parameter {f.name!r}{f'[{k}]' if isinstance(value, tuple) else ''} "
                            + problem))
    return out


def from_dict(cls: type, values: dict) -> Any:
    """Build params from a mapping, refusing unknown names with a suggestion."""
    if not isinstance(values, dict):
        raise ParamError(f"{owner_name(cls)} params must be an object of name -> value, got {type(values).__name__}")
    names = [f.name for f in attrs.fields(cls)]
    unknown = [k for k in values if k not in names]
    if unknown:
        problems = []
        for k in unknown:
            close = difflib.get_close_matches(k, names, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"known parameters: {', '.join(names)}"
            problems.append((k, f"{owner_name(cls)} has no parameter {k!r}; {hint}"))
        try:  # every problem at once: the known names are checked too (an out-of-bounds value is not hidden)
            cls(**{k: v for k, v in values.items() if k in names})
        except ParamError as exc:
            problems += getattr(exc, "problems", [(None, str(exc))])
        except (TypeError, ValueError):
            pass
        err = ParamError("; ".join(p for _, p in problems))
        err.problems = problems
        raise err
    return cls(**values)


def to_dict(p: Any) -> dict:
    return attrs.asdict(p)


def params_schema(cls: type) -> dict:
    """JSON Schema (draft 2020-12) of a params class; units and docs under ``x-unit`` / ``description``."""
    props = {}
    for f in attrs.fields(cls):
        m = meta(f)
        tp = _base_type(f.type)
        optional = type(None) in typing.get_args(f.type)
        item: dict[str, Any] = {"type": _TYPES[_elem_type(tp)]}
        for key, jkey in (("gt", "exclusiveMinimum"), ("ge", "minimum"), ("lt", "exclusiveMaximum"), ("le", "maximum")):
            if getattr(m, key) is not None:
                item[jkey] = getattr(m, key)
        if m.choices is not None:
            item["enum"] = list(m.choices)
        js = {"type": "array", "items": item} if _is_array(tp) else item
        if optional:
            js["type"] = [js["type"], "null"]
        default = list(f.default) if isinstance(f.default, tuple) else f.default
        props[f.name] = {**js, "description": m.doc, "default": default, "x-unit": m.unit}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": owner_name(cls),
        "type": "object",
        "properties": props,
        "additionalProperties": False,
    }
