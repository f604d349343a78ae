"""A deterministic corpus of malformed `.spark` files: mutations of the bundled example models.

``generate(n, seed)`` returns ``n`` :class:`Case` s, each the text of a file made by applying one to four mutations
to one of the repository's `.spark` files (``git ls-files '*.spark'``, read from disk): delete a key, change a
value's type, put an extreme number (1e308, 2^63, 2^70, 1e39, 1e-300, -1), a ``NaN`` / ``Infinity`` literal, a
very deep nesting, an integer of 5,000 digits, unicode and control characters, or a wrong node / port / component
id. The same ``seed`` gives the same corpus. ``tests/test_malformed_corpus.py`` runs every case through
validation, build and a 5-step run and counts the exceptions that are not ``spark.SparkError``.
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import attrs

REPO = Path(__file__).resolve().parents[1]
SEEDS = (
    "spark-components/src/spark_components/examples/balanced.spark",
    "spark-interfaces/src/spark_interfaces/examples/digits.spark",
    "tests/data/two_inputs.spark",
    "spark-core/src/spark/template/templates/kinds/soma/example.spark",
    "spark-core/src/spark/template/templates/kinds/synapse/example.spark",
)

# markers replaced in the JSON text, for what json.dumps cannot write
_DEEP = "\x00DEEP\x00"
_HUGE = "\x00HUGE\x00"
_EXTREME = [1e308, -1e308, 1e39, -1e39, 1e-300, 2 ** 31, 2 ** 31 - 1, 2 ** 53 + 1, 2 ** 63, 2 ** 63 - 1, -2 ** 63,
            2 ** 64, 2 ** 70, -2 ** 70, 10 ** 30, 2.15e8, 1e9, 1e-9, 0, -1, -0.0, 0.5, 1e6, 1e12]
_NONFINITE = [float("nan"), float("inf"), float("-inf")]
_OTHER = [None, True, False, "", "x", "1.5", [], {}, [1], [[1]], {"a": 1}, "\u00e9\u4e2d\U0001f600", "\ud800",
          "\x00", "a" * 300]


_KINDS, _WEIGHTS = zip(("delete", 3), ("type", 3), ("extreme", 6), ("nonfinite", 2), ("deep", 0.5), ("huge", 0.5),
                       ("unicode", 2), ("wrong_id", 3), ("field", 8), ("add_key", 2), strict=False)


@attrs.frozen
class Case:
    name: str  # "<seed file stem>#<k>: <mutations>"
    text: str


def seeds() -> dict[str, Any]:
    """The example models, parsed: path -> document."""
    return {p: json.loads((REPO / p).read_text(encoding="utf-8")) for p in SEEDS}


def _paths(doc: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path in a document (the root excluded)."""
    out = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out.append((*prefix, k))
            out += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out.append((*prefix, i))
            out += _paths(v, (*prefix, i))
    return out


def _get(doc: Any, path: tuple) -> Any:
    for p in path:
        doc = doc[p]
    return doc


def _set(doc: Any, path: tuple, value: Any) -> None:
    _get(doc, path[:-1])[path[-1]] = value


def _numbers(doc: Any) -> list[tuple]:
    return [p for p in _paths(doc) if isinstance(_get(doc, p), (int, float)) and not isinstance(_get(doc, p), bool)]


def _list(doc: Any, key: str) -> list:
    value = doc.get(key) if isinstance(doc, dict) else None
    return value if isinstance(value, list) else []


def _ids(doc: dict) -> list[str]:
    nodes = doc.get("nodes") if isinstance(doc, dict) else None
    if not isinstance(nodes, list):
        return []
    return [n["id"] for n in nodes if isinstance(n, dict) and isinstance(n.get("id"), str)]


def _mutate(doc: Any, rng: random.Random) -> str:
    """Apply one random mutation in place; returns its description."""
    paths = _paths(doc)
    if not paths:
        return "none"
    kind = rng.choices(_KINDS, weights=_WEIGHTS)[0]
    if kind == "delete":
        p = rng.choice(paths)
        del _get(doc, p[:-1])[p[-1]]
        return f"delete {p}"
    if kind == "type":
        p = rng.choice(paths)
        _set(doc, p, copy.deepcopy(rng.choice(_OTHER)))
        return f"type {p}"
    if kind in ("extreme", "nonfinite"):
        nums = _numbers(doc) or paths
        p = rng.choice(nums)
        v = rng.choice(_EXTREME if kind == "extreme" else _NONFINITE)
        _set(doc, p, v)
        return f"{kind} {p}={v!r}"
    if kind == "deep":
        _set(doc, rng.choice(paths), _DEEP)
        return "deep"
    if kind == "huge":
        _set(doc, rng.choice(paths), _HUGE)
        return "huge"
    if kind == "unicode":
        strs = [p for p in paths if isinstance(_get(doc, p), str)] or paths
        p = rng.choice(strs)
        old = _get(doc, p)
        extra = rng.choice(["\u00e9", "\ud800", "\x00", "\u202e", ".", " "])
        _set(doc, p, (old if isinstance(old, str) else "") + extra)
        return f"unicode {p}"
    if kind == "wrong_id":
        refs = [p for p in paths if p and p[-1] in ("from", "to", "attach", "component", "id")]
        p = rng.choice(refs or paths)
        ids = _ids(doc) or ["x"]
        choices = [rng.choice(ids), rng.choice(ids) + ".nope", "nope.spikes", "spark-components:nope",
                   "lif", rng.choice(ids) + ".spikes", 5, [], {}]
        _set(doc, p, choices[rng.randrange(len(choices))])
        return f"wrong_id {p}"
    if kind == "field":  # a known field of the model, set to a hostile value
        targets = [("dt",), ("seed",)]
        for i, n in enumerate(_list(doc, "nodes")):
            if isinstance(n, dict):
                targets += [("nodes", i, "shape"), ("nodes", i, "attach")]
                if isinstance(n.get("params"), dict):
                    targets += [("nodes", i, "params", k) for k in n["params"]]
        for i, e in enumerate(_list(doc, "edges")):
            if isinstance(e, dict):
                targets.append(("edges", i, "delay"))
        for i, e in enumerate(_list(doc, "inputs")):
            if isinstance(e, dict):
                targets.append(("inputs", i, "value"))
        targets.append(("requires", rng.choice(["", " ", "spark-core", "x" * 300])))
        p = rng.choice(targets)
        try:
            parent = _get(doc, p[:-1])
        except (KeyError, IndexError, TypeError):
            return "none"
        if not isinstance(parent, dict):
            return "none"
        v = rng.choice(_EXTREME + _NONFINITE + _OTHER + [[2 ** 70], [10 ** 9], [1, 2 ** 63], [0], [-1], ">=0", "!!"])
        parent[p[-1]] = copy.deepcopy(v)
        return f"field {p}={v!r}"[:120]
    # add_key
    p = rng.choice(paths)
    parent = _get(doc, p[:-1])
    if isinstance(parent, dict):
        parent[rng.choice(["extra", "delay", "attach", "shape", "value", "params"])] = copy.deepcopy(
            rng.choice(_EXTREME + _OTHER))
        return f"add_key {p[:-1]}"
    return "none"


def _text(doc: Any) -> str:
    text = json.dumps(doc, indent=1, allow_nan=True)  # NaN / Infinity / -Infinity literals, as Python writes them
    text = text.replace(json.dumps(_DEEP), "[" * 1200 + "]" * 1200)
    return text.replace(json.dumps(_HUGE), "9" * 5000)


def generate(n: int = 1200, seed: int = 15) -> list[Case]:
    """``n`` malformed files, the same for the same ``seed``: each of one to four mutations of an example model."""
    rng = random.Random(seed)
    base = seeds()
    names = sorted(base)
    cases = []
    for k in range(n):
        src = names[k % len(names)]
        doc = copy.deepcopy(base[src])
        done = [_mutate(doc, rng) for _ in range(rng.choice([1, 1, 1, 2, 2, 3, 4]))]
        cases.append(Case(f"{Path(src).parent.name}/{Path(src).name}#{k}: {'; '.join(done)}", _text(doc)))
    return cases


def affordable(plan: Any, budget: int = 4_000_000) -> bool:
    """Whether a validated model (its :func:`spark.graph.plan`) is small enough to build in a test: at most
    ``budget`` elements in all node shapes, in each edge's delay buffer and in per-synapse delay buffers
    (params in ms named ``delay*``). The corpus builds only these; validation's own limits are far larger."""
    import attrs as _attrs

    from spark import parameters
    from spark.component import size

    total = 0
    for n in plan.nodes.values():
        total += size(n.shape)
        for f in _attrs.fields(type(n.params)):
            value = getattr(n.params, f.name)
            if f.name.startswith("delay") and parameters.meta(f).unit == "ms" and isinstance(value, (int, float)):
                total += int(abs(value) / plan.dt + 1) * size(n.shape[-1:])
    for e in plan.edges:
        total += e.delay_steps * size(plan.nodes[e.src].port_shape(e.src_port))
    return total <= budget
