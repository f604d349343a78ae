"""Progress of long runs: a bar with steps, simulated time, wall time, speed and ETA on a terminal, nothing
otherwise; showing it (which splits the run into chunks) does not change what is recorded."""

from __future__ import annotations

import io
import sys

import numpy as np
from brain_parts import ALL

import spark
from spark.progress import Progress
from spark.testing import isolated_registry


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_the_bar_shows_steps_simulated_time_wall_time_speed_and_eta():
    term = FakeTerminal()
    p = Progress(10_000, 0.1, label="net", stream=term, min_interval=0.0)
    assert p.enabled
    p.compiling()
    p.running()
    p.update(2_500)
    line = term.getvalue().split("\r")[-1]
    assert line.startswith("net: [") and "25%" in line
    for part in ("2,500/10,000 steps", "250 ms/1000 ms simulated", "wall ", "steps/s", "ETA "):
        assert part in line, part
    p.update(10_000)
    p.close()
    assert "100%" in term.getvalue() and "ETA" not in term.getvalue().split("\r")[-1]
    assert term.getvalue().endswith("\n") and "compiling 10,000 steps of 0.1 ms" in term.getvalue()


def test_the_bar_is_quiet_off_a_terminal_unless_asked():
    pipe = io.StringIO()
    p = Progress(100, 1.0, stream=pipe)
    p.compiling(), p.update(50), p.close()
    assert not p.enabled and pipe.getvalue() == ""
    Progress(100, 1.0, stream=pipe, enabled=True).close()
    assert "100/100 steps" not in pipe.getvalue() and "0/100 steps" in pipe.getvalue()


def test_a_long_run_draws_progress_on_a_terminal_and_not_otherwise(monkeypatch):
    b = spark.Brain(dt=0.1, registry=isolated_registry(*ALL)).add("clk", "clock", shape=3, period=7).build()
    monkeypatch.setattr(sys, "stderr", FakeTerminal())
    on_tty = b.run(steps=2_500, record=["clk.spikes"])
    drawn = sys.stderr.getvalue()
    assert "2,500/2,500 steps" in drawn and "250 ms/250 ms simulated" in drawn and drawn.endswith("\n")
    assert b.last_run_stats["chunks"] == 4  # 4 x 625 steps: one program
    b.reset()
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    piped = b.run(steps=2_500, record=["clk.spikes"])
    assert sys.stderr.getvalue() == "" and b.last_run_stats["chunks"] == 1
    np.testing.assert_array_equal(piped["clk.spikes"], on_tty["clk.spikes"])
    b.reset()
    forced = b.run(steps=2_500, record=["clk.spikes"], progress=True)
    assert "2,500/2,500 steps" in sys.stderr.getvalue()
    np.testing.assert_array_equal(forced["clk.spikes"], on_tty["clk.spikes"])
    monkeypatch.setattr(sys, "stderr", FakeTerminal())
    short = b.run(steps=50, record=["clk.spikes"], progress=None)  # short runs stay quiet even on a terminal
    assert short["clk.spikes"].shape == (50, 3) and sys.stderr.getvalue() == ""
