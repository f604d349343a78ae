"""benchmarks/run.py without running a benchmark: it stops what it started, checks spikes per peer, reports."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

import run  # noqa: E402  (benchmarks/run.py)


@pytest.mark.skipif(not hasattr(signal, "SIGALRM"), reason="needs SIGALRM")
def test_an_interrupted_runner_kills_the_case_and_what_it_started(tmp_path):
    """A case runs in a session of its own (Ctrl-C in the terminal does not reach it): on an interrupt the runner
    kills its whole process group, grandchildren included (Brian2's `make` or `main`)."""
    pid_file = tmp_path / "grandchild.pid"
    script = ("import subprocess, sys, time; p = subprocess.Popen([sys.executable, '-c', 'import time; "
              f"time.sleep(60)']); open({str(pid_file)!r}, 'w').write(str(p.pid)); time.sleep(60)")

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 3.0)
    try:
        with pytest.raises(KeyboardInterrupt):
            run.run_process([sys.executable, "-c", script], tmp_path / "case.log", timeout=60, mem_limit_mb=1e9,
                            env=dict(os.environ))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    grandchild = int(pid_file.read_text())
    for _ in range(50):  # killed with its group; reaped by init
        try:
            os.kill(grandchild, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(grandchild, signal.SIGKILL)
        pytest.fail("the case's child survived the interrupt")
    assert "interrupted" in (tmp_path / "case.log").read_text()


def test_a_command_without_a_result_line_reports_its_wall_time(tmp_path):
    res = run.run_process([sys.executable, "-c", "pass"], tmp_path / "x.log", 60, 1e9, dict(os.environ),
                          result_line=False)
    assert res["status"] == "ok" and res["wall_s"] > 0
    res = run.run_process([sys.executable, "-c", "pass"], tmp_path / "y.log", 60, 1e9, dict(os.environ))
    assert res["status"] == "error"


def case(counts):
    return {"runs": {fw: {"status": "ok", "spikes": c} for fw, c in counts.items()}}


def test_same_arithmetic_peers_must_match_counts_idiomatic_ones_only_rates():
    ag = run.agreement(case({"spark": 1000, "brian2_standalone_same": 1050, "brian2_standalone": 1150}))
    assert ag["ok"] and ag["peers"]["brian2_standalone"]["tolerance"] == run.RATE_TOLERANCE
    ag = run.agreement(case({"spark": 1000, "brian2_standalone_same": 1150, "brian2_standalone": 1000}))
    assert not ag["ok"] and not ag["peers"]["brian2_standalone_same"]["ok"] and ag["peers"]["brian2_standalone"]["ok"]
    ag = run.agreement(case({"spark": 1000, "brainpy": 750}))
    assert not ag["ok"] and ag["idiomatic_max"] == pytest.approx(0.25) and ag["same_max"] is None
    assert run.agreement(case({"brainpy": 750}))["ok"] is None  # nothing to compare with


def test_time_to_first_step_adds_what_comes_before_the_loop():
    assert run.first_step_s({"import_s": 1.0, "setup_s": 2.0, "compile_s": 3.0, "run_overhead_s": 0.5,
                             "sim_s": 9.0}) == 6.5
    # Brian2 C++: the part of `main` before its time loop too
    assert run.first_step_s({"import_s": 1.0, "setup_s": 0.5, "compile_s": 10.0, "main_s": 2.5, "sim_s": 2.0}) == 12.0


def test_the_report_puts_idiomatic_and_same_arithmetic_peers_side_by_side():
    fws = ["spark", "brian2_standalone", "brian2_standalone_same"]
    ok = {"status": "ok", "sim_s": 1.0, "compile_s": [0.5, 0.1], "first_step_s": [2.0, 1.0], "wall_s": [3.0, 2.0],
          "peak_rss_mb": 100.0, "spikes": 1000, "rate_hz": 10.0, "setup_s": 0.2}
    runs = {"spark": dict(ok, spark_run_wall_s=[4.0, 2.5], setup_s=1.25),
            "brian2_standalone": dict(ok, sim_s=0.5, spikes=1300), "brian2_standalone_same": dict(ok, sim_s=2.0)}
    c = {"kind": "coba", "n": 4000, "stdp": False, "runs": runs, "n_synapses": 10}
    c["agreement"] = run.agreement(c)
    md = run.markdown({"meta": {"frameworks": fws, "started": "now", "machine": {}, "loadavg_start": [0, 0, 0],
                                "command": "x", "steps": 10, "seed": 1, "processes": 2}, "cases": [c]})
    row = next(line for line in md.splitlines() if line.startswith("| COBA | 4,000 | 10 |"))
    assert "void (2.00)" in row and "| 0.50 |" in row  # 30% off in rate: the idiomatic ratio is void
    assert "idiomatic **VOID** (30.0%)" in row and "same arith. agree (0.0%)" in row
    assert "## Whole job" in md and "4.000 / 2.500" in md
    construction = md.split("## Network construction", 1)[1]  # simulation, construction and whole job (issue 21)
    assert "| COBA | 4,000 | 1.250 | 0.200 | 0.200 |" in construction
    assert "COBA 4,000: Spark ≤ 1 x Brian2 C++ | 2.00 x | void |" in md
