"""What every benchmark case process shares: its command line, peak memory, and the one JSON line it prints.

Pure standard library, importable from Spark's environment and from every peer's virtualenv. A case process prints
exactly one line ``BENCH-RESULT {json}`` on stdout; the runner (``benchmarks/run.py``) reads it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time

T_PROCESS = time.perf_counter()  # as early as this module is imported: the case's whole wall time starts here

#: the most spike-raster cells (steps x neurons) one compiled run returns at once; larger runs go in equal chunks
RASTER_CELLS = 64_000_000


def parser(description: str) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--kind", choices=("cuba", "coba"), required=True)
    ap.add_argument("--n", type=int, required=True, help="number of neurons")
    ap.add_argument("--steps", type=int, default=10_000, help="steps of dt = 0.1 ms (default 10,000 = 1 s)")
    ap.add_argument("--stdp", action="store_true", help="pair STDP on exc -> exc")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", required=True, help="this case's cache / build folder (kept between processes)")
    ap.add_argument("--raster", action="store_true", help="record every spike (which neuron, which step) instead of "
                    "counting spikes per step and population inside the loop")
    ap.add_argument("--network", default=None, help="simulate this realization of the network (connectivity and "
                    "initial potentials, an .npz that `spark_case.py --export` writes) instead of drawing one")
    return ap


def chunk_steps(n: int, steps: int) -> int:
    """Steps per compiled run so that a raster of ``n`` neurons stays under :data:`RASTER_CELLS`; divides ``steps``."""
    c = max(1, min(steps, RASTER_CELLS // max(n, 1)))
    while steps % c:
        c -= 1
    return c


def peak_rss_mb() -> float:
    """Peak resident memory of this process (ru_maxrss), MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def emit(result: dict) -> None:
    result.setdefault("peak_rss_mb", round(peak_rss_mb(), 1))
    result["process_s"] = round(time.perf_counter() - T_PROCESS, 3)
    result["python"] = platform.python_version()
    result["pid"] = os.getpid()
    sys.stdout.write("BENCH-RESULT " + json.dumps(result, sort_keys=True) + "\n")
    sys.stdout.flush()


def spikes_summary(n_e_spikes: int, n_i_spikes: int, n_e: int, n_i: int, steps: int, dt: float) -> dict:
    t_s = steps * dt / 1000.0
    total = int(n_e_spikes) + int(n_i_spikes)
    return {"spikes": total, "spikes_exc": int(n_e_spikes), "spikes_inh": int(n_i_spikes),
            "rate_hz": total / ((n_e + n_i) * t_s), "rate_exc_hz": int(n_e_spikes) / (n_e * t_s),
            "rate_inh_hz": int(n_i_spikes) / (n_i * t_s)}
