"""Random numbers in Spark's compiled programs on CPU: the Threefry hash unrolled.

JAX draws random numbers with the Threefry-2x32 hash. On CPU it lowers the hash's 20 rounds as a ``while`` loop of
5 iterations (smaller programs, faster compilation), and XLA:CPU runs each iteration's 16 small operations one by
one: about 80 dispatched operations for every random draw. In a small network that draws every step (Poisson inputs,
noise; many agents side by side), those dispatches cost more than the network. Unrolled, as JAX lowers it on GPU,
the hash is elementwise arithmetic that XLA fuses into one loop.

:func:`unrolled_threefry` lowers the programs compiled inside it with the unrolled hash; :func:`compile_unrolled`
lowers and compiles one jitted function so. The numbers are the same
bit for bit (it is the same function); only the program differs. Spark compiles its workloads (``Brain.run``,
``present``, ``interact``) inside it; programs outside it (the user's own JAX code) keep JAX's lowering.

Measured (2026-11-30, 2-core development machine; docs/reinforcement.md "Speed"): the CartPole agent's compiled loop
(``benchmarks/rl_cartpole.py``), one agent 12,004 -> 24,301 environment steps per second, 16 agents side by side
23,594 -> 30,172. The Poisson encoder (spark-interfaces) had its own unrolled copy of the hash for ``spark digits``;
it now draws ``jax.random.uniform`` and gets the same numbers at the same speed from here, as any component does.

JAX caches the lowering of a function it has seen: a function lowered before outside the block keeps JAX's lowering
(Spark compiles a fresh function for every workload).
If JAX's internals move (this uses ``jax._src``), the context does nothing: JAX's own lowering, same numbers.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

_lock = threading.RLock()
_depth = 0
_saved: list = []


def _parts():
    """``(table, primitive, entry)``: JAX's CPU lowering table, the Threefry primitive and the unrolled rule's entry;
    None when this JAX does not have them where expected."""
    try:
        from jax._src.interpreters import mlir
        from jax._src.random import threefry2x32 as threefry

        return (mlir._platform_specific_lowerings["cpu"], threefry.threefry2x32_p,
                mlir.LoweringRuleEntry(threefry._threefry2x32_lowering_rule, False))
    except (ImportError, AttributeError, TypeError):
        return None


@contextlib.contextmanager
def unrolled_threefry() -> Iterator[None]:
    """Lower the programs compiled in this block with Threefry unrolled on CPU (see the module). Re-entrant and
    thread-safe: the table entry is swapped while any thread is inside, and restored when the last leaves."""
    global _depth
    parts = _parts()
    if parts is None:
        yield
        return
    table, prim, entry = parts
    with _lock:
        if _depth == 0:
            _saved[:] = [table.get(prim)]
            table[prim] = entry
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                old = _saved.pop() if _saved else None
                if old is None:
                    table.pop(prim, None)
                else:
                    table[prim] = old


def compile_unrolled(jitted: Any, *args: Any) -> Any:
    """``jitted.lower(*args).compile()`` with Threefry unrolled on CPU (:func:`unrolled_threefry`): how Spark compiles
    its workloads."""
    with unrolled_threefry():
        return jitted.lower(*args).compile()
