"""The native kernels' switch and cache: ``SPARK_NATIVE=0`` in the environment keeps every synapse on the pure-JAX
path (nothing is compiled or loaded), and the built library's cache key changes with every file it is built from."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from spark_components import native

# a fresh interpreter: the switch is read from the environment, as a user sets it (not a patched module flag)
PROBE = """
import json, os, jax, jax.numpy as jnp
from flax import nnx
from spark_components import ExpSynapse, native
syn = ExpSynapse((50, 40), storage="sparse", p_connect=0.2, rngs=nnx.Rngs(0), dt=0.1)
graph, state = nnx.split(syn)
def step(state, s):
    return nnx.merge(graph, state)(dt=0.1, pre=s)["i"]
text = str(jax.make_jaxpr(step)(state, jnp.zeros(50, bool)))
cache = os.environ["SPARK_NATIVE_CACHE"]
print(json.dumps({"kernels": native.kernels(), "native_call": "ffi_call" in text or "custom_call" in text,
                  "built": sorted(os.listdir(cache)) if os.path.isdir(cache) else []}))
"""


def probe(tmp_path, switch: str | None, *, cache: Path | None = None) -> dict:
    """What a fresh interpreter with ``SPARK_NATIVE=switch`` (None: unset) does; ``cache``: the kernel cache (None:
    an empty folder)."""
    env = {k: v for k, v in os.environ.items() if k != "SPARK_NATIVE"}
    env.update(JAX_PLATFORMS="cpu", SPARK_NATIVE_CACHE=str(cache or tmp_path / "empty-cache"))
    if switch is not None:
        env["SPARK_NATIVE"] = switch
    proc = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def have_compiler() -> bool:
    return any(shutil.which(c) for c in (os.environ.get("CXX") or "g++", "c++", "clang++"))


def test_spark_native_0_keeps_every_synapse_on_the_pure_jax_path(tmp_path):
    got = probe(tmp_path, "0")
    assert got == {"kernels": False, "native_call": False, "built": []}, got


def test_without_the_switch_the_same_synapse_uses_the_native_kernel(tmp_path):
    """The control that makes the test above able to fail: where a compiler exists, the same program calls the
    kernel (in CI, SPARK_REQUIRE_NATIVE=1: a compiler must exist)."""
    if not have_compiler() and os.environ.get("SPARK_REQUIRE_NATIVE") != "1":
        pytest.skip("no C++ compiler: the native kernels cannot be built here")
    got = probe(tmp_path, None, cache=native._cache_dir())  # the cache the other tests build into: built once
    assert got["kernels"] and got["native_call"], got
    assert any(name.startswith("spark_kernels_") for name in got["built"]), got


@pytest.fixture
def copied_sources(tmp_path, monkeypatch):
    """The kernel sources copied to ``tmp_path``, which native builds from while the test runs."""
    sources = [Path(shutil.copy(f, tmp_path)) for f in native._SOURCES]
    headers = [Path(shutil.copy(f, tmp_path)) for f in native._HEADERS]
    monkeypatch.setattr(native, "_SOURCES", sources)
    monkeypatch.setattr(native, "_HEADERS", headers)
    return sources, headers


def test_the_cache_key_changes_with_every_source_and_header(copied_sources):
    sources, headers = copied_sources
    flags = ["-O3", "-std=c++17"]
    keys = {native.cache_key("g++", flags)}
    assert native.cache_key("g++", flags) in keys, "the same files give the same key"
    for f in [*headers, *sources]:
        f.write_bytes(f.read_bytes() + b"\n// changed\n")
        key = native.cache_key("g++", flags)
        assert key not in keys, f"editing {f.name} must change the key"
        keys.add(key)
    assert native.cache_key("clang++", flags) not in keys and native.cache_key("g++", ["-O2"]) not in keys


def test_every_local_header_the_sources_include_is_hashed():
    included = set()
    for f in native._SOURCES + native._HEADERS:
        included |= set(re.findall(r'#include\s+"([^"]+)"', f.read_text()))
    local = {name for name in included if (native._SOURCES[0].parent / name).is_file()}
    assert local and local <= {h.name for h in native._HEADERS}, (local, native._HEADERS)


def test_a_changed_header_is_rebuilt_not_loaded_from_the_cache(copied_sources, tmp_path, monkeypatch):
    """With a stale library in the cache under the old key, editing the header builds a new one."""
    monkeypatch.setenv("SPARK_NATIVE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: (Path(cmd[cmd.index("-o") + 1]).write_bytes(b"so"),
                                                               subprocess.CompletedProcess(cmd, 0, "", ""))[1])
    monkeypatch.setenv("CXX", "/usr/bin/true-compiler")
    first = native._build()
    assert first is not None and first.is_file() and native._build() == first, "built once, then reused"
    _, headers = copied_sources
    headers[0].write_bytes(headers[0].read_bytes() + b"\n#define SPARK_CHANGED 1\n")
    second = native._build()
    assert second != first and second.is_file()
