"""A one-line progress bar for long runs: steps, simulated time, wall time, speed and ETA.

Drawn on ``stderr`` between compiled chunks (never inside one), at most ``min_interval`` seconds apart, so the
simulation runs at full speed. ``enabled=None`` shows it only when the stream is a terminal.

Why not tqdm: what a run needs shown is its own (a compiling phase before the first step, simulated ms beside
steps, a speed and ETA that leave compilation out), this file is all of it, and a bar should cost no dependency.
So there is no ``[progress]`` extra.
"""

from __future__ import annotations

import shutil
import sys
import time
from typing import TextIO

from .timing import to_ms


def _fmt_s(s: float) -> str:
    if s < 60:
        return f"{s:.1f} s"
    m, s = divmod(round(s), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _fmt_ms(ms: float) -> str:
    return f"{ms / 1000:.3g} s" if ms >= 10_000 else f"{ms:.6g} ms"


def is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class Progress:
    """Progress of a run of ``steps`` steps of ``dt`` ms.

    Args:
        steps: total steps.
        dt: time step (ms).
        label: shown first (e.g. the model's name).
        stream: where to draw (default: ``sys.stderr`` at the time of the call).
        enabled: True / False, or None: only when ``stream`` is a terminal.
        min_interval: least time (s) between two redraws.
    """

    def __init__(self, steps: int, dt: float | None, *, label: str = "", stream: TextIO | None = None,
                 enabled: bool | None = None, min_interval: float = 0.1, unit: str = "steps"):
        self.stream = sys.stderr if stream is None else stream
        self.enabled = is_terminal(self.stream) if enabled is None else bool(enabled)
        self.steps, self.dt, self.label, self.unit = int(steps), None if dt is None else float(dt), label, unit
        self.min_interval = min_interval
        self.done = 0
        self.t_start = time.perf_counter()
        self.t_run: float | None = None  # when the first chunk started running (after its compilation)
        self.run_steps0 = 0
        self._last_draw = 0.0
        self._width = 0

    def compiling(self) -> None:
        """Say that a program is being compiled (the first chunk waits for it)."""
        if self.enabled:
            what = f"{self.steps:,} {self.unit}" + (f" of {self.dt:g} ms" if self.dt is not None else "")
            self._draw(f"{self.label + ': ' if self.label else ''}compiling {what} ...")

    def running(self) -> None:
        """Mark the start of simulation proper: the speed and ETA leave compilation out."""
        if self.t_run is None:
            self.t_run = time.perf_counter()
            self.run_steps0 = self.done

    def update(self, steps_done: int) -> None:
        self.done = int(steps_done)
        if not self.enabled:
            return
        now = time.perf_counter()
        if self.done < self.steps and now - self._last_draw < self.min_interval:
            return
        self._last_draw = now
        self._draw(self.line(now))

    def line(self, now: float | None = None) -> str:
        now = time.perf_counter() if now is None else now
        frac = self.done / self.steps if self.steps else 1.0
        wall = now - self.t_start
        speed = eta = None
        if self.t_run is not None and self.done > self.run_steps0 and now > self.t_run:
            speed = (self.done - self.run_steps0) / (now - self.t_run)
            eta = (self.steps - self.done) / speed if speed > 0 else None
        head = f"{self.label}: " if self.label else ""
        tail = f" {self.done:,}/{self.steps:,} {self.unit}"
        if self.dt is not None:
            tail += f" | {_fmt_ms(to_ms(self.done, self.dt))}/{_fmt_ms(to_ms(self.steps, self.dt))} simulated"
        tail += f" | wall {_fmt_s(wall)}"
        if speed is not None:
            tail += f" | {speed:,.0f} {self.unit}/s" if speed >= 10 else f" | {speed:,.2f} {self.unit}/s"
        if self.done < self.steps:
            tail += f" | ETA {_fmt_s(eta)}" if eta is not None else " | ETA ?"
        cols = shutil.get_terminal_size((100, 20)).columns
        width = max(10, min(30, cols - len(head) - len(tail) - 8))
        fill = round(frac * width)
        return f"{head}[{'#' * fill}{'.' * (width - fill)}] {100 * frac:3.0f}%{tail}"

    def _draw(self, text: str) -> None:
        pad = " " * max(0, self._width - len(text))
        self._width = len(text)
        try:
            self.stream.write("\r" + text + pad)
            self.stream.flush()
        except (OSError, ValueError):
            self.enabled = False

    def close(self) -> None:
        """Draw the final state and end the line."""
        if not self.enabled:
            return
        self._draw(self.line())
        try:
            self.stream.write("\n")
            self.stream.flush()
        except (OSError, ValueError):
            pass
        self.enabled = False
