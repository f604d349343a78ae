"""Helpers of the editor's tests of validations that are stopped (spark.cancel)."""

from __future__ import annotations

import asyncio


class StoppableCheck:
    """``server.check_doc`` replaced for the models ``slow(doc)`` picks: a validation that would take 30 s unless it
    is stopped at one of its checkpoints (``spark.cancel``); ``started`` / ``ended`` are set as it starts and ends,
    ``outcome`` says how (``"cancelled"`` or ``"checked to the end"``). Other models are validated as usual."""

    def __init__(self, server, monkeypatch, slow):
        import threading

        self.started, self.ended, self.outcome = threading.Event(), threading.Event(), []
        real = server.check_doc

        def check_doc(doc, registry):
            from spark.cancel import Cancelled, checkpoint

            if not slow(doc):
                return real(doc, registry)
            self.started.set()
            try:
                for _ in range(3000):
                    checkpoint()
                    threading.Event().wait(0.01)
                self.outcome.append("checked to the end")
            except Cancelled:
                self.outcome.append("cancelled")
                raise
            finally:
                self.ended.set()
            return real(doc, registry)

        monkeypatch.setattr(server, "check_doc", check_doc)


async def until(condition, timeout: float = 5.0) -> bool:
    """Wait (polling every 50 ms, at most ``timeout`` s) until ``condition()`` is true; return whether it is."""
    for _ in range(int(timeout / 0.05)):
        if condition():
            return True
        await asyncio.sleep(0.05)
    return condition()
