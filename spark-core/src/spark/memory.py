"""How much memory a model needs, worked out from its checked plan before anything is allocated.

Every component says what its state will take (:meth:`spark.Component.memory_estimate`, returning a
:class:`Footprint`); the Brain adds its delay buffers, multiplies the state by :data:`RUN_FACTOR` for the working
set of a compiled run, adds the largest transient a node needs while it is built, and compares the sum with the
memory available (the budget recordings use, ``spark.recording.available_memory``; on an accelerator also its free
memory). A model that would not fit raises :class:`ModelMemoryError` with the number, what dominates and the fix,
instead of being killed by the operating system halfway through building.

``SPARK_MEMORY_LIMIT`` overrides the budget: a size (``"64GiB"``, ``"500MB"``, bytes) replaces the available
memory; ``"off"`` (or ``0``) turns the check off.
"""

from __future__ import annotations

import math
import os
import re
from typing import Any

import attrs

from . import recording as _recording
from .errors import SparkError

# a compiled run holds the state it was given, the state it returns and a step's temporaries: measured 3.2x the
# state (peak RSS of a 20-step run of 5e7 LIF neurons, 381 MiB of state), so 4
RUN_FACTOR = 4
MEMORY_FRACTION = 0.9  # of the available memory a model may plan to fill (as recordings)
ENV = "SPARK_MEMORY_LIMIT"
F32 = 4
TOP = 10  # items a ModelEstimate keeps by name


class ModelMemoryError(SparkError, MemoryError):
    """A model would not fit in the memory available; the message has the estimate, what dominates and the fix."""


@attrs.frozen
class Footprint:
    """What one component takes.

    Attributes:
        state: bytes of the arrays the built component holds (its NNX state).
        scratch: bytes of host memory it needs only while it is built (e.g. index arrays), freed afterwards.
        synapses: for a synapse, the number of stored weights (dense: ``n_pre * n_post``; sparse: the padded slots),
            which a rule with per-synapse state (an eligibility trace) is shaped like.
    """

    state: int
    scratch: int = 0
    synapses: int = 0


@attrs.frozen
class ModelEstimate:
    """The memory a model needs. ``parts``: the :data:`TOP` largest items as ``(what, label, bytes)``, largest
    first, with ``what`` one of ``"node"``, ``"synapse"`` (synapses and the rules attached to them) or
    ``"delay buffer"``; ``totals``: bytes per ``what`` over all items."""

    parts: tuple[tuple[str, str, int], ...]
    state: int
    scratch: int
    available: int | None
    limit_from: str  # "available memory", "SPARK_MEMORY_LIMIT", "device memory" or "off"
    totals: tuple[tuple[str, int], ...] = ()

    @property
    def bytes(self) -> int:
        """The planned peak: the state times :data:`RUN_FACTOR` plus the largest build transient."""
        return self.state * RUN_FACTOR + self.scratch

    def by_kind(self) -> dict[str, int]:
        return dict(self.totals)

    def fits(self) -> bool:
        return self.available is None or self.bytes <= MEMORY_FRACTION * self.available

    def __str__(self) -> str:
        kinds = ", ".join(f"{k}s {_recording.fmt_bytes(b)}" for k, b in
                          sorted(self.by_kind().items(), key=lambda kv: -kv[1])) or "nothing"
        top = ", ".join(f"{label} {_recording.fmt_bytes(b)}" for _w, label, b in self.parts[:3])
        avail = ("no limit" if self.limit_from == "off" else "unknown" if self.available is None
                 else f"{_recording.fmt_bytes(self.available)} ({self.limit_from})")
        return (f"about {_recording.fmt_bytes(self.bytes)}: state {_recording.fmt_bytes(self.state)} ({kinds}) x "
                f"{RUN_FACTOR} for a compiled run + {_recording.fmt_bytes(self.scratch)} while building; largest: "
                f"{top or 'none'}; available: {avail}")

    def advice(self) -> str:
        what = self.parts[0][0] if self.parts else "node"
        fix = {
            "node": "make the largest populations smaller (their \"shape\")",
            "synapse": "connect sparsely (connectivity \"fixed_probability\" with a small p_connect, or "
                       "\"fixed_indegree\" with a degree) so synapses are stored sparse, or make the populations "
                       "smaller",
            "delay buffer": "shorten the long delays (an edge's \"delay\" or a synapse's \"delay\" / \"delay_jitter\") "
                            "or use a larger dt",
        }[what]
        return (f"{fix}; or run it on a machine with more memory. If you know it fits, set {ENV} (e.g. "
                f"{ENV}=64GiB, or off) to override the check")


def parse_limit(text: str) -> int | None:
    """``"64GiB"`` -> bytes; ``"off"``/``"0"``/``"none"`` -> 0 (no check). Raises ModelMemoryError when unreadable."""
    t = text.strip().lower().replace(" ", "")
    if t in ("off", "none", "0", "no", "false", ""):
        return 0
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([kmgt]?)(i?b?)", t)
    if not m:
        raise ModelMemoryError(f"{ENV}={text!r} is not a size; give e.g. 64GiB, 500MB, 1000000000 (bytes) or off")
    num, unit, ib = m.groups()
    base = 1024 if ib.startswith("i") or (unit and ib == "") else 1000
    if unit and ib == "b":
        base = 1000
    return int(float(num) * base ** " kmgt".index(unit or " "))


def budget() -> tuple[int | None, str]:
    """``(bytes a model may plan to use, where that number comes from)``; ``(None, "off")`` when unchecked."""
    env = os.environ.get(ENV)
    if env is not None:
        limit = parse_limit(env)
        return (None, "off") if limit == 0 else (limit, ENV)
    avail = _recording.available_memory()
    dev = _recording.device_memory_free()
    if dev is not None and (avail is None or dev < avail):
        return dev, "device memory"
    return avail, "available memory"


def buffer_bytes(depth: int, shape: tuple[int, ...], dtype: Any) -> int:
    import numpy as np

    return int(depth) * math.prod(shape) * np.dtype(dtype).itemsize


# ----- the default estimate of a component ----------------------------------------------------------------------

_PROBES: dict = {}
_LAST: dict = {}  # (class, rank) -> (probes made, the last result)
MAX_PROBES = 16  # distinct params probed per class and rank; further ones reuse the last (state rarely depends on them)


def probe_state(cls, params: Any, rank: int, dt: float | None) -> list[tuple[tuple[int, ...], int]] | None:
    """The state bytes of ``cls`` built abstractly (``nnx.eval_shape``: nothing allocated) at every shape with
    entries 1 or 2 (``2**rank`` shapes), or None when it cannot be built so small."""
    import itertools

    import jax
    from flax import nnx

    try:
        key = (cls, params, rank, dt)
        hash(key)
    except TypeError:
        key = (cls, None, rank, dt)
    if key in _PROBES:
        return _PROBES[key]
    made, last = _LAST.get((cls, rank), (0, None))
    if made >= MAX_PROBES:
        return last
    out: list | None = []
    if rank > 4:
        out = None
    else:
        for shape in itertools.product((1, 2), repeat=rank):
            try:
                m = nnx.eval_shape(lambda s=shape: cls(s, params=params, dt=dt, rngs=nnx.Rngs(0)))
                leaves = jax.tree.leaves(nnx.state(m))
                out.append((shape, sum(math.prod(x.shape) * x.dtype.itemsize for x in leaves
                                       if hasattr(x, "shape") and hasattr(x, "dtype"))))
            except Exception:
                out = None
                break
    _PROBES[key] = out
    _LAST[(cls, rank)] = (made + 1, out)
    return out


def multilinear(probes: list[tuple[tuple[int, ...], int]], shape: tuple[int, ...]) -> int:
    """Extrapolate probe values at the corners ``{1, 2}^rank`` to ``shape`` (exact for state that is a sum of
    products of the shape's entries, e.g. ``a + b n`` or ``n_pre n_post``)."""
    total = 0.0
    for corner, value in probes:
        w = 1.0
        for c, n in zip(corner, shape, strict=True):
            w *= (2 - n) if c == 1 else (n - 1)
        total += w * value
    return max(round(total), max((v for _c, v in probes), default=0))
