"""spark.threads: the choice of XLA's CPU intra-op threads, made before JAX starts (docs/performance.md "Threads").

Whether the setting reaches XLA is checked in fresh processes (this one's JAX has started long ago): PJRT_NPROC is
what XLA's CPU client reads for its pool size when JAX starts."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from spark import threads


def fresh(code: str, **env) -> dict:
    base = {k: v for k, v in os.environ.items() if k != threads.ENV}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**base, **env})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_threads_follow_the_network_size():
    assert threads.threads_for(40_000) == 1
    assert threads.threads_for(threads.ONE_THREAD_BELOW - 1) == 1
    assert threads.threads_for(threads.ONE_THREAD_BELOW) is None  # XLA's default: one per core
    doc = {"nodes": [{"id": "e", "shape": [320, 100]}, {"id": "i", "shape": [8000]}, {"id": "syn"},
                     {"id": "bad", "shape": [True, 3]}, "not a node"]}
    assert threads.model_neurons(doc) == 40_000
    assert threads.model_neurons("not a document") == 0


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_a_thread_count_that_is_not_a_positive_integer_is_refused(bad):
    with pytest.raises(ValueError, match="positive number of threads"):
        threads.set_cpu_threads(bad)


def test_too_late_warns_and_changes_nothing(monkeypatch):
    import jax.numpy as jnp

    jnp.ones(1)  # this process's JAX has started
    monkeypatch.delenv(threads.ENV, raising=False)
    with pytest.warns(UserWarning, match="too late"):
        assert threads.set_cpu_threads(1) is False
    assert threads.ENV not in os.environ


CHECK = """
import json, os
from spark import threads
before = threads.backend_started()
choice = threads.choose_for_model({"nodes": [{"id": "e", "shape": [NEURONS]}]})
import jax.numpy as jnp
jnp.ones(1)
print(json.dumps({"before": before, "choice": choice, "env": os.environ.get("PJRT_NPROC"),
                  "after": threads.backend_started()}))
"""


def test_a_small_network_gets_one_thread_before_jax_starts():
    out = fresh(CHECK.replace("NEURONS", "4000"))
    assert out == {"before": False, "choice": 1, "env": "1", "after": True}


def test_a_large_network_keeps_xlas_default():
    out = fresh(CHECK.replace("NEURONS", "400000"))
    assert out["choice"] is None and out["env"] is None


def test_the_users_own_setting_is_kept():
    out = fresh(CHECK.replace("NEURONS", "4000"), PJRT_NPROC="2")
    assert out["env"] == "2"
