"""XLA's CPU threads, chosen for the network (docs/performance.md, "Threads").

A simulation step is a few dozen small operations. XLA's CPU client splits each large elementwise loop across its
intra-op thread pool (one thread per core by default), and on small and mid-sized networks waking the other threads
every operation costs more than the split gains: on the 2-core development machine, CUBA with 40,000 to 120,000
neurons ran 1.08-1.59x faster with one thread than with two in every run (``benchmarks/threads.py``), 200,000 as
fast or faster, while at 4,000 and at 400,000 neurons the runs disagreed in sign, within the machine's noise. So
``spark run`` gives XLA one thread for a network of fewer than :data:`ONE_THREAD_BELOW` neurons and leaves the
default above (:func:`choose_for_model`). What counts is the elements of one operation, so
a batched run is a larger network: ``spark digits``' inference of 500 images side by side ran slower with one
thread (256 against 357 images/s), and the batched commands keep XLA's default.

XLA sizes the pool once, when JAX starts its CPU backend, from the environment variable ``PJRT_NPROC`` (unset: the
cores this process may run on), so the choice must be made before anything touches a device. A script does it with
:func:`set_cpu_threads` (or ``PJRT_NPROC=1`` in the environment). A ``PJRT_NPROC`` already set is never changed: it
is the user's choice. The native delivery kernels are single-threaded either way.
"""

from __future__ import annotations

import math
import os
import warnings
from typing import Any

ENV = "PJRT_NPROC"
ONE_THREAD_BELOW = 200_000  # neurons: below, one intra-op thread is faster (measured; see the module docstring)


def backend_started() -> bool:
    """Whether JAX has started a backend in this process (after which the thread count is fixed)."""
    try:
        from jax._src import xla_bridge
    except ImportError:  # pragma: no cover - a JAX without the module: assume started, change nothing
        return True
    return bool(getattr(xla_bridge, "_backends", True))


def set_cpu_threads(threads: int | None) -> bool:
    """Give XLA's CPU client ``threads`` intra-op threads (``None``: its default, one per core), if JAX has not
    started yet and ``PJRT_NPROC`` is not set already. Returns whether the setting applies to this process.

    Raises:
        ValueError: ``threads`` is not a positive integer or None.

    Warns (and changes nothing) when JAX has already started with another setting: call it before the first
    array is made (first thing in a script).
    """
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads={threads!r}: give a positive number of threads, or None for XLA's default")
    current = os.environ.get(ENV)
    if current is not None:
        return current == str(threads) if threads is not None else False
    if backend_started():
        if threads is not None:
            warnings.warn(f"spark.threads.set_cpu_threads({threads}) comes too late: JAX has started with its "
                          f"default thread count; call it before anything makes an array, or set {ENV}={threads} "
                          "in the environment", stacklevel=2)
        return False
    if threads is not None:
        os.environ[ENV] = str(threads)
    return True


def current() -> int | str:
    """XLA's CPU intra-op threads in this process as set: ``PJRT_NPROC`` if set, else "default" (one per core)."""
    value = os.environ.get(ENV)
    return int(value) if value and value.isdigit() else "default"


def threads_for(neurons: int) -> int | None:
    """The intra-op thread count Spark's commands choose for a network of ``neurons`` neurons: 1 below
    :data:`ONE_THREAD_BELOW`, else None (XLA's default)."""
    return 1 if neurons < ONE_THREAD_BELOW else None


def model_neurons(doc: Any) -> int:
    """The neurons (elements of every node with an explicit ``shape``) of a model document; 0 if it cannot tell.
    A cheap count from the document alone (no validation), for choosing threads before JAX starts."""
    total = 0
    try:
        for node in doc.get("nodes", []):
            shape = node.get("shape") if isinstance(node, dict) else None
            if isinstance(shape, list) and all(isinstance(s, int) and not isinstance(s, bool) and s > 0
                                               for s in shape):
                total += math.prod(shape)
    except AttributeError:
        return 0
    return total


def choose_for_model(doc: Any) -> int | None:
    """Choose the thread count for the model document ``doc`` (:func:`threads_for` of its neurons) and apply it
    (:func:`set_cpu_threads`) if it can still apply; returns the choice."""
    n = model_neurons(doc)
    choice = threads_for(n) if n else None
    if choice is not None:
        set_cpu_threads(choice)
    return choice


__all__ = ["ENV", "ONE_THREAD_BELOW", "backend_started", "choose_for_model", "current", "model_neurons",
           "set_cpu_threads", "threads_for"]
