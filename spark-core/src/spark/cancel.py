"""Cooperative cancellation of long checks.

Validating a model of 100,000 nodes takes seconds. When whoever asked for it has gone (the editor's browser tab that
sent a validation closed, or sent a newer one), the work should stop instead of holding a worker. The caller runs the
work inside :func:`cancellable` with a :class:`threading.Event` it may set from another thread; the work calls
:func:`checkpoint` at points where stopping leaves nothing half-done (the validator: per node, per edge, per item of
the schema check), which raises :class:`Cancelled` once the event is set. Outside :func:`cancellable`, a checkpoint
costs one context-variable read and never raises.

The event is held in a :mod:`contextvars` variable, so each thread (or task) sees only its own caller's event; a
worker started with ``loop.run_in_executor`` must run the work inside ``cancellable`` itself (executors do not copy
the context).
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Iterator

from .errors import SparkError

_event: contextvars.ContextVar[threading.Event | None] = contextvars.ContextVar("spark_cancel", default=None)


class Cancelled(SparkError):
    """The work was stopped at a checkpoint because its caller cancelled it; it changed nothing."""


@contextlib.contextmanager
def cancellable(event: threading.Event) -> Iterator[threading.Event]:
    """Run the block so that :func:`checkpoint` raises :class:`Cancelled` once ``event`` is set (from any thread)."""
    token = _event.set(event)
    try:
        yield event
    finally:
        _event.reset(token)


def checkpoint() -> None:
    """Raise :class:`Cancelled` if the work in progress was cancelled (see :func:`cancellable`); else do nothing.

    Raises:
        Cancelled: the event given to the enclosing :func:`cancellable` is set.
    """
    event = _event.get()
    if event is not None and event.is_set():
        raise Cancelled("this check was cancelled by its caller (e.g. the editor's page that asked for it has closed "
                        "or asked again); nothing was changed")
