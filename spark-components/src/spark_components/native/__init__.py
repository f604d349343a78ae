"""Optional native (C++) kernels, compiled on first use with the system's C++ compiler and cached.

If no compiler is found, or ``SPARK_NATIVE=0``, :func:`kernels` returns None and callers use their pure-JAX path,
which computes the same result. The cache lives in ``$SPARK_NATIVE_CACHE`` (default ``~/.cache/spark/native``).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path

_SOURCES = [Path(__file__).with_name(n) for n in ("event_delivery.cc", "spike_update.cc", "reward_stdp.cc",
                                                       "weight_normalization.cc")]
_HEADERS = [Path(__file__).with_name("spikes.h")]
_state: dict = {}
_TARGETS = {  # XLA custom-call target -> symbol in the library
    "spark_deliver": "SparkDeliver",
    "spark_deliver_delayed": "SparkDeliverDelayed",
    "spark_deliver_keep": "SparkDeliverKeep",
    "spark_deliver_delayed_keep": "SparkDeliverDelayedKeep",
    "spark_deliver_dense": "SparkDeliverDense",
    "spark_deliver_dense_keep": "SparkDeliverDenseKeep",
    "spark_deliver_batch": "SparkDeliverBatch",
    "spark_deliver_delayed_batch": "SparkDeliverDelayedBatch",
    "spark_deliver_dense_batch": "SparkDeliverDenseBatch",
    "spark_deliver_keep_batch": "SparkDeliverBatchKeep",
    "spark_deliver_delayed_keep_batch": "SparkDeliverDelayedBatchKeep",
    "spark_deliver_dense_keep_batch": "SparkDeliverDenseBatchKeep",
    "spark_spike_update": "SparkSpikeUpdate",
    "spark_spike_update_dense": "SparkSpikeUpdateDense",
    "spark_spike_update_batch": "SparkSpikeUpdateBatch",
    "spark_spike_update_dense_batch": "SparkSpikeUpdateDenseBatch",
    "spark_reward_stdp_dense": "SparkRewardSTDPDense",
    "spark_weight_normalization_dense": "SparkWeightNormalizationDense",
}


def _cache_dir() -> Path:
    return Path(os.environ.get("SPARK_NATIVE_CACHE") or Path.home() / ".cache" / "spark" / "native")


def enabled() -> bool:
    """False when the environment says ``SPARK_NATIVE=0``: then nothing is compiled or loaded."""
    return os.environ.get("SPARK_NATIVE", "1").strip() != "0"


def cache_key(compiler: str, flags: list[str]) -> str:
    """The name of the built library: a hash of everything that changes it (every source and header file, in
    order and with its name, the compiler, the flags and JAX's version), so no edit reuses a stale build."""
    import jax

    h = hashlib.sha256()
    for f in _SOURCES + _HEADERS:
        data = f.read_bytes()
        h.update(f"{f.name}\0{len(data)}\0".encode())
        h.update(data)
    h.update("\0".join([jax.__version__, compiler, *flags]).encode())
    return h.hexdigest()[:16]


def _build() -> Path | None:
    import jax

    compiler = os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++") or shutil.which("clang++")
    if compiler is None:
        return None
    include = jax.ffi.include_dir()
    # -ffp-contract=off: every multiply and add rounds as written (g++ would otherwise fuse some into FMAs where the
    # target has them), so a kernel that matches XLA's rounding says where it fuses (native/reward_stdp.cc)
    flags = ["-O3", "-std=c++17", "-ffp-contract=off", "-shared", "-fPIC", f"-I{include}"]
    target = _cache_dir() / f"spark_kernels_{cache_key(compiler, flags)}.so"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=target.parent)
    os.close(fd)
    # one compiler process per source file, side by side (the first process on a machine waits for this build: about
    # 10 s in one process on the 2-core machine), then one link
    objects = []
    try:
        cmds = []
        for src in _SOURCES:
            fd, obj = tempfile.mkstemp(suffix=".o", dir=target.parent)
            os.close(fd)
            objects.append(obj)
            cmds.append([compiler, *(f for f in flags if f != "-shared"), "-c", str(src), "-o", obj])
        with concurrent.futures.ThreadPoolExecutor(len(cmds)) as pool:
            done = list(pool.map(lambda cmd: subprocess.run(cmd, capture_output=True, text=True), cmds))
        errors = [proc.stderr for proc in done if proc.returncode != 0]
        if not errors:
            proc = subprocess.run([compiler, "-shared", *objects, "-o", tmp], capture_output=True, text=True)
            if proc.returncode != 0:
                errors.append(proc.stderr)
    finally:
        for obj in objects:
            with contextlib.suppress(OSError):
                os.unlink(obj)
    if errors:
        os.unlink(tmp)
        warnings.warn(f"spark: could not compile the native kernels; using the pure-JAX path "
                      f"(slower). Compiler said:\n{errors[0][-2000:]}", RuntimeWarning, stacklevel=3)
        return None
    os.replace(tmp, target)  # atomic: concurrent processes never load half a library
    return target


PLATFORMS = ("cpu",)  # the backends the kernels are built and registered for


def platform() -> str:
    """The backend programs are compiled for now (``jax.default_backend()``: ``"cpu"``, ``"gpu"``, ``"tpu"``)."""
    import jax

    return jax.default_backend()


def usable() -> bool:
    """Whether the kernels can run here: available (:func:`kernels`) and built for this backend (:data:`PLATFORMS`).
    Elsewhere (a GPU or TPU backend) callers take their pure-JAX path, which computes the same result."""
    return platform() in PLATFORMS and kernels()


def required_but_missing(env_var: str = "SPARK_REQUIRE_NATIVE") -> str | None:
    """Why a test run must stop, or None: ``env_var`` is ``1`` (CI, set by .ci/run) and the kernels cannot be built
    here. The test suites' ``conftest.py`` raise it, so a missing compiler fails the run instead of skipping every
    native-path test."""
    if os.environ.get(env_var) != "1" or kernels():
        return None
    return (f"{env_var}=1 but spark_components' native kernels could not be built; install a C++ compiler "
            "(Debian: apt-get install -y g++) or unset the variable")


def kernels() -> bool:
    """Build (once), load and register the kernels; True when they are available."""
    if "ok" in _state:
        return _state["ok"]
    ok = False
    if enabled():
        try:
            import jax

            path = _build()
            if path is not None:
                lib = ctypes.cdll.LoadLibrary(str(path))
                for name, symbol in _TARGETS.items():
                    for plat in PLATFORMS:
                        jax.ffi.register_ffi_target(name, jax.ffi.pycapsule(getattr(lib, symbol)), platform=plat)
                ok = True
        except Exception as exc:  # a broken toolchain must not break simulations
            warnings.warn(f"spark: native kernels unavailable ({exc}); using the pure-JAX path", RuntimeWarning,
                          stacklevel=2)
    _state["ok"] = ok
    return ok
