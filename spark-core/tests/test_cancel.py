"""spark.cancel: a validation whose caller has gone stops at its next node, edge or schema item (issue 15)."""

from __future__ import annotations

import threading

import pytest
from brain_parts import Relay

from spark import cancel, graph, sparkfile
from spark.testing import isolated_registry

EVENT = threading.Event()
CHECKED: list[str] = []


@pytest.fixture(autouse=True)
def watched(monkeypatch):
    """Count the nodes whose params the validator checks; the caller goes away during the third."""
    EVENT.clear()
    CHECKED.clear()
    real = graph._cached_params

    def counted(entry, values, seen):
        CHECKED.append(values.get("gain"))
        if len(CHECKED) == 3:
            EVENT.set()
        return real(entry, values, seen)

    monkeypatch.setattr(graph, "_cached_params", counted)


def model(n: int) -> dict:
    return {"format": "spark", "version": 1, "dt": 0.1,
            "nodes": [{"id": f"r{i}", "component": "test:relay", "shape": [1], "params": {"gain": float(i)}}
                      for i in range(n)],
            "edges": [{"from": f"r{i}.y", "to": f"r{i + 1}.x"} for i in range(n - 1)]}


def test_a_cancelled_validation_stops_at_the_next_node():
    reg = isolated_registry(Relay)
    doc = model(500)
    with cancel.cancellable(EVENT), pytest.raises(cancel.Cancelled, match="cancelled by its caller"):
        sparkfile.check(doc, registry=reg)
    assert len(CHECKED) == 3  # nodes 4 .. 500 were never looked at


def test_without_a_cancel_the_same_validation_runs_to_the_end():
    reg = isolated_registry(Relay)
    assert sparkfile.check(model(500), registry=reg)[0] == []  # the event is set on the way, but nobody watches it
    assert len(CHECKED) == 500 and EVENT.is_set()


def test_a_check_cancelled_before_it_starts_does_nothing():
    reg = isolated_registry(Relay)
    EVENT.set()
    with cancel.cancellable(EVENT), pytest.raises(cancel.Cancelled):
        sparkfile.validate(model(10), registry=reg)
    assert CHECKED == []


def test_the_event_belongs_to_its_own_thread():
    """A cancelled check in one thread does not stop another thread's check (contextvars, not a global)."""
    reg = isolated_registry(Relay)
    stopped = threading.Event()
    other: list = []
    stopped.set()

    def elsewhere():
        other.append(sparkfile.validate(model(50), registry=reg))

    with cancel.cancellable(stopped):
        t = threading.Thread(target=elsewhere)
        t.start()
        t.join(60)
    assert other == [[]]
