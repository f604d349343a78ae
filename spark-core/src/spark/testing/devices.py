"""Checks that need several devices, run where JAX has them: a fresh process with host devices.

JAX fixes its device count when it first uses a device, so a test process that has already started JAX (every test
of a suite after the first) cannot get 8 host devices. The multi-device checks of Spark's suites (and a pack's) are
therefore scripts that print one JSON line of results; :func:`run_on_host_devices` runs one in a fresh Python with
``XLA_FLAGS=--xla_force_host_platform_device_count=N`` and returns that line parsed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

FLAG = "--xla_force_host_platform_device_count"


def run_on_host_devices(script: str | os.PathLike, devices: int = 8, *, timeout: float = 900.0,
                        args: tuple[str, ...] = ()) -> Any:
    """Run ``script`` (a Python file that prints its results as one JSON line, last) in a fresh process whose JAX
    sees ``devices`` CPU devices, and return the parsed line.

    Any ``XLA_FLAGS`` of this process are kept except a device count, which ``devices`` replaces.

    Raises:
        AssertionError: the script failed (the message holds the end of its stderr) or printed no JSON line last.
        subprocess.TimeoutExpired: it ran longer than ``timeout`` seconds.
    """
    flags = [f for f in os.environ.get("XLA_FLAGS", "").split() if not f.startswith(FLAG)]
    env = {**os.environ, "XLA_FLAGS": " ".join([*flags, f"{FLAG}={int(devices)}"])}
    proc = subprocess.run([sys.executable, str(Path(script)), *args], capture_output=True, text=True, timeout=timeout,
                          env=env)
    assert proc.returncode == 0, f"{script} failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}"
    lines = proc.stdout.strip().splitlines()
    try:
        return json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        raise AssertionError(f"{script} printed no JSON line last; its output ends:\n{proc.stdout[-2000:]}\n"
                             f"{proc.stderr[-2000:]}") from None
