"""Data-parallel trials across devices and hosts (docs/scaling.md).

A batched run (``brain.run(inputs, batched=True, mesh=mesh)``) splits its trials over every device of ``mesh``:
each device runs the compiled chunk (the same ``vmap`` over trials as an unsharded batched run) on its own trials
only, inside :func:`jax.shard_map`; the state that every trial shares (weights with learning off, connectivity) is
replicated, per-trial state and recordings stay on the device that computes them, and nothing is gathered between
devices during the run. The result equals the unsharded batched run bit for bit.

With several processes (``jax.distributed.initialize``), a mesh over every process's devices
(:func:`trial_mesh`) gives each process a contiguous block of trials (:func:`process_trials`); a run returns the
recording of this process's trials only, and :func:`merge_recordings` joins the recordings that the processes
saved, in process order.

The helpers for custom kernels (:func:`varying_axes`, :func:`match_varying`) keep the per-device types of
:func:`jax.shard_map` (its ``check_vma``): an XLA FFI call's outputs carry no such type, so a kernel marks them
varying over the manual axes its inputs vary over.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from .errors import GraphError

AXIS = "trials"  # the axis name of trial_mesh()


def trial_mesh(devices: int | Sequence[Any] | None = None, *, axis: str = AXIS) -> Mesh:
    """A one-axis mesh over ``devices`` for data-parallel trials.

    Args:
        devices: ``None`` for every device of every process (``jax.devices()``), a number ``k`` for the first ``k``
            of them, or a list of devices.
        axis: the mesh axis name.

    The devices are ordered by process, then id, so each process holds one contiguous block of trials.
    """
    all_devices = sorted(jax.devices(), key=lambda d: (d.process_index, d.id))
    if devices is None:
        chosen = all_devices
    elif isinstance(devices, (int, np.integer)) and not isinstance(devices, bool):
        if not 1 <= devices <= len(all_devices):
            raise GraphError(f"trial_mesh({devices}): there are {len(all_devices)} devices; give 1 to "
                             f"{len(all_devices)} (on CPU, XLA_FLAGS=--xla_force_host_platform_device_count=N before "
                             "JAX starts makes N host devices)")
        chosen = all_devices[: int(devices)]
    else:
        chosen = sorted(devices, key=lambda d: (d.process_index, d.id))
    return Mesh(np.array(chosen), (axis,))


def neuron_mesh(devices: int | Sequence[Any] | None = None) -> Mesh:
    """A one-axis mesh (axis ``"neurons"``) over ``devices`` that splits one network's neurons: an unbatched
    ``brain.run(..., mesh=neuron_mesh())`` gives each device a block of every population and the synapses onto it,
    exchanging only spikes, bit-packed, once per step (:mod:`spark.partition`, docs/scaling.md).

    Args:
        devices: as for :func:`trial_mesh` (``None``: every device; ``k``: the first ``k``; or a list).
    """
    from .partition import AXIS as NEURONS

    return trial_mesh(devices, axis=NEURONS)


def trial_spec(mesh: Mesh) -> PartitionSpec:
    """The partition of a leading trial axis: split over every axis of ``mesh``."""
    return PartitionSpec(tuple(mesh.axis_names))


def check_mesh(mesh: Any, n_trials: int | None) -> Mesh:
    """``mesh`` if it can split ``n_trials`` trials evenly; else a GraphError naming both sizes and the fix."""
    if not isinstance(mesh, Mesh):
        raise GraphError(f"mesh={mesh!r} must be a jax.sharding.Mesh (e.g. spark.sharding.trial_mesh()); the trials "
                         "are split over all its devices")
    if n_trials is None:
        raise GraphError("mesh= splits the trials of a batched run over devices: give batched=True (and inputs with a "
                         "leading trial axis)")
    size = mesh.size
    if n_trials % size:
        lower = n_trials // size * size
        fits = next(k for k in range(size, 0, -1) if n_trials % k == 0)
        raise GraphError(
            f"a mesh of {size} devices (axes {dict(mesh.shape)}) cannot split {n_trials} trials evenly "
            f"({n_trials} % {size} = {n_trials % size}); every device needs the same number of trials. Fix: run a "
            f"multiple of {size} trials (e.g. {f'{lower} or ' if lower else ''}{lower + size}), or a mesh whose size "
            f"divides {n_trials} (e.g. spark.sharding.trial_mesh({fits}))")
    return mesh


def process_trials(mesh: Mesh, n_trials: int) -> np.ndarray:
    """The global indices of the trials that this process's devices hold (all of them with one process)."""
    spec = NamedSharding(mesh, trial_spec(mesh))
    held: set[int] = set()
    for idx in spec.addressable_devices_indices_map((n_trials,)).values():
        held.update(range(*idx[0].indices(n_trials)))
    return np.array(sorted(held), dtype=np.int64)


def multi_process(mesh: Mesh) -> bool:
    """Whether ``mesh`` spans devices of more than one process."""
    return len({d.process_index for d in mesh.devices.flat}) > 1


def put(x: Any, sharding: NamedSharding) -> jax.Array:
    """``x`` as a global array with ``sharding``: an array already placed so is kept; a device array is moved between
    devices (not through the host) when this process sees all of it; host data (every process passes the same
    values, as after ``np.load`` of the same file) is cut into this process's pieces."""
    if isinstance(x, jax.Array):
        if x.sharding == sharding:
            return x
        if sharding.is_fully_addressable or not x.is_fully_addressable:
            return jax.device_put(x, sharding)
    host = np.asarray(x)
    if sharding.is_fully_addressable:
        return jax.device_put(host, sharding)
    return jax.make_array_from_callback(host.shape, sharding, lambda idx: host[idx])


def local(x: jax.Array) -> np.ndarray:
    """This process's part of ``x`` along its leading axis, as numpy (all of ``x`` when this process sees it all)."""
    if not isinstance(x, jax.Array) or x.is_fully_addressable:
        return np.asarray(x)
    parts: dict[int, np.ndarray] = {}
    for shard in x.addressable_shards:
        start = (shard.index[0].start or 0) if shard.index else 0
        parts.setdefault(start, np.asarray(shard.data))
    return np.concatenate([parts[k] for k in sorted(parts)])


def varying_axes(*trees: Any) -> tuple:
    """The manual mesh axes (inside :func:`jax.shard_map`) that any array of ``trees`` varies over; ``()`` outside."""
    axes: set = set()
    for x in jax.tree.leaves(trees):
        aval = jax.typeof(x)
        mat = getattr(aval, "mat", None)
        axes.update(getattr(mat, "varying", None) or getattr(aval, "vma", None) or ())
    return tuple(sorted(axes, key=str))


def vary(tree: Any, axes: Iterable) -> Any:
    """Every array of ``tree`` typed as varying over ``axes`` (``jax.lax.pcast(..., to="varying")`` where it is not
    yet); a no-op for no axes. Values do not change: only their per-device type under ``shard_map``'s checks."""
    axes = tuple(axes)
    if not axes:
        return tree

    def one(x):
        have = varying_axes(x)
        missing = tuple(a for a in axes if a not in have)
        if not missing:
            return x
        if hasattr(jax.lax, "pcast"):
            return jax.lax.pcast(x, missing, to="varying")
        return jax.lax.pvary(x, missing)  # older JAX

    return jax.tree.map(one, tree)


def match_varying(outputs: Any, *inputs: Any) -> Any:
    """``outputs`` typed as varying over every manual axis that ``inputs`` vary over: what an FFI kernel's outputs
    need under ``shard_map`` (their type is not derived from the inputs). Outside ``shard_map``, ``outputs``."""
    return vary(outputs, varying_axes(*inputs))


def merge_recordings(parts: Iterable[Any]):
    """One batched :class:`spark.Recording` from the recordings of a multi-process run, given in process order
    (recordings or paths that :func:`spark.load_recording` reads): every array joined along the trial axis."""
    from .recording import Recording, load_recording

    recs = [p if isinstance(p, Recording) else load_recording(p, mmap=False) for p in parts]
    if not recs:
        raise GraphError("merge_recordings: give the recordings (or their paths) of every process, in process order")
    first = recs[0]
    for i, r in enumerate(recs):
        if not r.batched or set(r) != set(first) or r.steps != first.steps or r.dt != first.dt:
            raise GraphError(f"merge_recordings: part {i} is not a batched recording of the same run as part 0 "
                             f"(keys {sorted(r)} vs {sorted(first)}, steps {r.steps} vs {first.steps}, dt {r.dt} vs "
                             f"{first.dt}); give the parts of one run")
    arrays = {k: np.concatenate([np.asarray(r[k]) for r in recs]) for k in first}
    return Recording(arrays, dt=first.dt, t0=first.t0, steps=first.steps, info=first.info, batched=True,
                     start=first.start)


__all__ = [
    "AXIS",
    "check_mesh",
    "local",
    "match_varying",
    "merge_recordings",
    "multi_process",
    "neuron_mesh",
    "process_trials",
    "put",
    "trial_mesh",
    "trial_spec",
    "vary",
    "varying_axes",
]
