"""Sample streams: present many samples to a Brain in one compiled program (training and testing workloads).

A stream is a sequence of samples (an image, a feature vector...), each held on one or more of the brain's inputs
for ``t_present`` ms, optionally followed by ``t_rest`` ms with those inputs at rest and / or a reset of the dynamic
state, with plasticity on or off. A sample whose response is too weak (fewer than ``min_spikes`` spikes on a watched
port) is presented again with its inputs scaled up, up to ``max_repeats`` times: the rule of Diehl & Cook (2015,
*Front. Comput. Neurosci.* 9:99), decided on the device. ``Brain.present`` runs a stream; samples are grouped in
compiled chunks (a ``lax.scan`` over samples around a ``lax.while_loop`` over presentations around a ``lax.scan``
over steps), so Python never loops per sample, and a chunk boundary is where progress is reported and checkpoints
are written.

Time and randomness (docs/time.md): with ``reset=True`` every sample is a trial of its own. At its start the dynamic
state returns to its value at build (:meth:`spark.Brain.reset_dynamic`), the clock ``t`` to its value at the start of
the stream and ``trial`` to the stream's first trial plus the sample's index; repeated presentations of the sample
reset the dynamic state again but let the clock run on. So sample ``k``'s random numbers depend only on ``k`` and the
brain's seed, and a batched (``batch=B``, learning off) stream gives the same responses as an unbatched one. After a
reset stream the clock is back where it started and ``trial`` has advanced by the number of samples. Without reset
the clock runs on through the whole stream, as in :meth:`spark.Brain.run`.
"""

from __future__ import annotations

import json
import math
import os
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from . import monitors as _mon
from .errors import GraphError, SparkError
from .monitors import as_monitors

_cache: weakref.WeakKeyDictionary[Any, dict] = weakref.WeakKeyDictionary()


@attrs.frozen
class Presentation:
    """How each sample of a stream is presented.

    Args:
        t_present: how long a sample is held on its inputs (ms; rounded half-up to whole steps, at least one).
        t_rest: after each presentation, how long the sample inputs are held at ``rest_value`` (ms; 0 = none).
        rest_value: the value of the sample inputs during rest (e.g. 0: no input spikes).
        reset: return the dynamic state to its value at build before each presentation (what a long rest does,
            in no steps): potentials, currents, traces, spikes in flight. Weights and learned state are kept.
        watch: ``"node.port"`` (a Spikes output) whose spikes decide re-presentation; default: the first of
            ``count``.
        min_spikes: present again while the watched port spiked fewer times than this during the presentation.
        max_repeats: at most this many presentations after the first.
        gain_step: presentation ``a`` (0 = the first) scales the sample inputs by ``1 + a * gain_step``
            (Diehl & Cook: input intensity 2, 3, 4, ... i.e. ``gain_step = 0.5``).
    """

    t_present: float = attrs.field(converter=float)
    t_rest: float = attrs.field(default=0.0, converter=float)
    rest_value: float = attrs.field(default=0.0, converter=float)
    reset: bool = True
    watch: str | None = None
    min_spikes: int = attrs.field(default=0, converter=int)
    max_repeats: int = attrs.field(default=0, converter=int)
    gain_step: float = attrs.field(default=0.0, converter=float)

    def __attrs_post_init__(self):
        for name in ("t_present", "t_rest", "rest_value", "gain_step"):
            v = getattr(self, name)
            if not math.isfinite(v):
                raise GraphError(f"Presentation.{name} = {v!r} must be a finite number")
        if self.t_present <= 0:
            raise GraphError(f"Presentation.t_present = {self.t_present} ms must be > 0")
        if self.t_rest < 0 or self.min_spikes < 0 or self.max_repeats < 0:
            raise GraphError("Presentation: t_rest, min_spikes and max_repeats must be >= 0 "
                             f"(got {self.t_rest}, {self.min_spikes}, {self.max_repeats})")
        if self.max_repeats > 1000:
            raise GraphError(f"Presentation.max_repeats = {self.max_repeats} is implausible; give at most 1000")

    def steps(self, dt: float) -> tuple[int, int]:
        """``(present, rest)`` in whole steps of ``dt`` ms (half-up rounding, as every time in Spark)."""
        from .timing import to_steps

        return max(1, to_steps(self.t_present, dt)), to_steps(self.t_rest, dt)


@attrs.frozen(eq=False)
class StreamResult:
    """What a stream returns: per sample, the spike counts of the ``count`` ports during its last presentation, the
    number of presentations it took and the ``record`` monitors sampled at its end; and timing.

    Attributes:
        counts: ``"node.port"`` -> ``(n_samples, *port_shape)`` int32 spike counts.
        presentations: ``(n_samples,)`` int32, 1 + repeats.
        records: monitor key -> ``(n_samples, *sample_shape)``.
        seconds: wall time of the stream's compiled chunks, compilation excluded (s).
        compile_seconds: compilation time (s; 0 when every program was cached).
        samples: samples presented in this call (resumed ones excluded).
    """

    counts: dict
    presentations: np.ndarray
    records: dict
    seconds: float
    compile_seconds: float
    samples: int

    @property
    def samples_per_second(self) -> float:
        return self.samples / self.seconds if self.seconds > 0 else math.nan

    def __getitem__(self, key: str) -> np.ndarray:
        if key in self.counts:
            return self.counts[key]
        return self.records[key]


# ----- checks (before any compilation) -------------------------------------------------------------------------


def _check_samples(brain, samples: Mapping[str, Any]) -> tuple[dict, int]:
    sched = brain._built()
    specs = {name: (ref, shape, dtype) for name, ref, shape, dtype, _ in sched.inputs}
    if not isinstance(samples, Mapping) or not samples:
        raise GraphError("samples must be a mapping of input name -> array (n_samples, *input_shape); "
                         f"this brain's inputs are: {sorted(specs) or 'none'}")
    out, n = {}, None
    for name, value in samples.items():
        if name not in specs:
            raise GraphError(f"samples: unknown input {name!r}; this brain's inputs are: {sorted(specs) or 'none'}")
        ref, shape, dtype = specs[name]
        x = np.asarray(value)
        if x.dtype.kind not in "biuf":
            raise GraphError(f"samples[{name!r}] has dtype {x.dtype}; give numbers")
        size = math.prod(shape)
        if x.ndim == 0 or (x.shape[1:] != tuple(shape) and math.prod(x.shape[1:]) != size):
            raise GraphError(f"samples[{name!r}] has shape {list(x.shape)} but {ref} takes samples of shape "
                             f"{list(shape)}: give (n_samples, {', '.join(map(str, shape))})")
        if len(x) == 0:
            raise GraphError(f"samples[{name!r}] holds no sample; give at least one")
        if n is not None and len(x) != n:
            raise GraphError(f"samples[{name!r}] has {len(x)} samples but another input has {n}")
        n = len(x)
        if x.dtype.kind == "f" and not np.all(np.isfinite(x)):
            bad = np.argwhere(~np.isfinite(x))[0].tolist()
            raise GraphError(f"samples[{name!r}] contains NaN or infinity (first at index {bad}); clean the data")
        x = x.reshape(n, *shape).astype(dtype)
        node, port = ref.split(".")
        check = getattr(brain.nodes[node], "check_input", None)  # encoders may declare a range
        if check is not None:
            problem = check(port, x)
            if problem:
                raise GraphError(f"samples[{name!r}] -> {ref}: {problem}")
        out[name] = x
    return out, n


def _check_ports(brain, refs: Iterable[str], what: str) -> tuple[str, ...]:
    from .payloads import Spikes

    out = []
    for ref in refs:
        node, _, port = str(ref).partition(".")
        if node not in brain.nodes or port not in type(brain.nodes[node]).outputs:
            raise GraphError(f"{what}: {ref!r} is not an output port; give \"node.port\" of a Spikes output, e.g. "
                             "\"exc.spikes\"")
        if type(brain.nodes[node]).outputs[port].payload is not Spikes:
            raise GraphError(f"{what}: {ref!r} does not carry Spikes; only spikes are counted")
        out.append(f"{node}.{port}")
    return tuple(out)


def _bind_state(brain, monitors, dt: float) -> tuple:
    """Bind monitors of state variables or methods (not ports: they exist only inside a step)."""
    out = []
    for m in monitors:
        node = brain.nodes[m.node] if m.node in brain.nodes else None
        value = getattr(node, m.attr, None) if node is not None else None
        if isinstance(value, nnx.Variable):
            source, raw = "variable", jax.ShapeDtypeStruct(value.shape, value.dtype)
        elif node is not None and m.attr in _mon.recordable_methods(node):
            v = jnp.asarray(getattr(node, m.attr)())
            source, raw = "method", jax.ShapeDtypeStruct(v.shape, v.dtype)
        else:
            raise GraphError(f"record: {m.key!r}: a stream samples state once per sample, at its end; give "
                             "\"node.variable\" or \"node.method\" (reductions allowed); to count spikes use "
                             "count=[\"node.port\"]")
        if m.every != 1:
            raise GraphError(f"record: {m.key!r}: a stream samples once per sample; drop the @every")
        out.append(_mon.bind(m, raw, source, None, dt))
    return tuple(out)


def _port_shape(brain, ref: str) -> tuple[int, ...]:
    node, port = ref.split(".")
    module = brain.nodes[node]
    return tuple(type(module).port_shapes(module.params, module.shape)[port])


# ----- the compiled chunk ----------------------------------------------------------------------------------------


@attrs.frozen
class _Plan:
    n_present: int
    n_rest: int
    rest_value: float
    reset: bool
    count: tuple[tuple[str, tuple[int, ...]], ...]  # ("node.port", port shape)
    watch: str | None
    min_spikes: int
    max_repeats: int
    gain_step: float
    bounds: tuple
    frozen: frozenset
    dt: float


def _compile(graphdef, plan: _Plan, batched: bool):
    """``(state, init, xs, ks, valid, consts) -> (state, counts, presentations, records)`` over one chunk."""

    def zeros():
        return {ref: jnp.zeros(shape, jnp.int32) for ref, shape in plan.count}

    def sample_run(state, init, x, k, consts):
        brain = nnx.merge(graphdef, state)
        t0 = brain.t[...]
        if plan.reset:
            brain.trial[...] = brain.trial[...] + k
        state = nnx.split(brain)[1]

        def steps(state, inputs, n, counted):
            def step(carry, _):
                state, counts = carry
                br = nnx.merge(graphdef, state)
                now = br._step(inputs, plan.frozen)
                if counted:
                    counts = {r: c + now[r].astype(jnp.int32) for r, c in counts.items()}
                return (nnx.split(br)[1], counts), None

            (state, counts), _ = jax.lax.scan(step, (state, zeros() if counted else {}), None, length=n)
            return state, counts

        def present(carry):
            state, a, _ = carry
            if plan.reset:
                br = nnx.merge(graphdef, state)
                br.reset_dynamic(init)
                state = nnx.split(br)[1]
            gain = 1.0 + a.astype(jnp.float32) * plan.gain_step
            inputs = {**consts, **{name: v * gain for name, v in x.items()}}
            state, counts = steps(state, inputs, plan.n_present, True)
            if plan.n_rest:
                rest = {**consts, **{name: jnp.full_like(v, plan.rest_value) for name, v in x.items()}}
                state, _ = steps(state, rest, plan.n_rest, False)
            return state, a + 1, counts

        def again(carry):
            _, a, counts = carry
            if plan.watch is None or plan.min_spikes == 0 or plan.max_repeats == 0:
                return a == 0
            weak = counts[plan.watch].sum() < plan.min_spikes
            return (a == 0) | (weak & (a <= plan.max_repeats))

        state, a, counts = jax.lax.while_loop(again, present, (state, jnp.int32(0), zeros()))
        brain = nnx.merge(graphdef, state)
        recs = {b.key: _mon.sample(b, _mon.raw_value(brain, None, b.monitor, b.source), plan.dt) for b in plan.bounds}
        if plan.reset:
            brain.t[...] = t0
            brain.trial[...] = brain.trial[...] - k
        return nnx.split(brain)[1], counts, a, recs

    def chunk(state, init, xs, ks, valid, consts):
        def one(state, inp):
            x, k, ok = inp

            def skip(state):
                return (state, zeros(), jnp.int32(0),
                        {b.key: jnp.zeros(b.shape, b.dtype) for b in plan.bounds})

            state, counts, a, recs = jax.lax.cond(ok, lambda s: sample_run(s, init, x, k, consts), skip, state)
            return state, (counts, a, recs)

        if not batched:
            state, (counts, a, recs) = jax.lax.scan(one, state, (xs, ks, valid))
            return state, counts, a, recs

        def lane(state, x, k):  # every lane starts from the same state; learning is off, so nothing is carried
            _, counts, a, recs = sample_run(state, init, x, k, consts)
            return counts, a, recs

        counts, a, recs = jax.vmap(lane, in_axes=(None, 0, 0))(state, xs, ks)
        brain = nnx.merge(graphdef, state)
        return nnx.split(brain)[1], counts, a, recs

    return jax.jit(chunk)


# ----- running ---------------------------------------------------------------------------------------------------


def present(brain, samples: Mapping[str, Any], presentation: Presentation, *, inputs: Mapping[str, Any] | None = None,
            count: Iterable[str] = (), record: Iterable[Any] = (), learn: bool | Mapping[str, bool] = True,
            batch: int | None = None, chunk: int | None = None,
            on_chunk: Callable[[int, int], Any] | None = None, progress: bool | None = None,
            checkpoint: str | os.PathLike | None = None, resume: bool = False):
    """The engine of :meth:`spark.Brain.present` (see there)."""
    sched = brain._built()
    p = presentation
    if not isinstance(p, Presentation):
        raise GraphError(f"presentation must be a spark.Presentation, got {type(p).__name__}")
    xs, n = _check_samples(brain, samples)
    count = _check_ports(brain, count, "count")
    watch = None
    if p.min_spikes and p.max_repeats:
        if not (p.watch or count):
            raise GraphError(f"Presentation(min_spikes={p.min_spikes}, max_repeats={p.max_repeats}) re-presents weak "
                             "responses but watches no port: give Presentation(watch=\"node.spikes\") or "
                             "count=[\"node.spikes\"]")
        watch = _check_ports(brain, [p.watch or (count[0] if count else "")], "Presentation.watch")[0]
        if watch not in count:
            count = (*count, watch)
    frozen = brain.frozen(learn)
    bounds = _bind_state(brain, as_monitors(record), sched.dt)
    consts = {}
    specs = {name: (shape, dtype) for name, _, shape, dtype, _ in sched.inputs}
    for name, value in (inputs or {}).items():
        if name not in specs or name in xs:
            raise GraphError(f"inputs: {name!r} is not an input of this brain or is already given by samples; "
                             f"inputs: {sorted(specs)}")
        v = np.asarray(value, specs[name][1])
        if v.size not in (1, math.prod(specs[name][0])) or (v.dtype.kind == "f" and not np.all(np.isfinite(v))):
            raise GraphError(f"inputs[{name!r}] must be one finite value or an array of shape {list(specs[name][0])}")
        consts[name] = jnp.asarray(v.reshape(specs[name][0]) if v.size > 1 else v.reshape(()))
    if batch is not None:
        if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 1:
            raise GraphError(f"batch={batch!r} must be a whole number of samples >= 1")
        if frozen != frozenset({"*"}):
            raise GraphError("a batched stream presents `batch` samples at once to one network, which cannot learn "
                             "from all of them at once: give learn=False (or no batch)")
        if not p.reset:
            raise GraphError("a batched stream needs Presentation(reset=True): without a reset, each sample starts "
                             "where the previous one ended, so samples cannot run side by side")
    if chunk is not None and (isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1):
        raise GraphError(f"chunk={chunk!r} must be a whole number of samples >= 1")
    n_present, n_rest = p.steps(sched.dt)
    shapes = tuple((ref, _port_shape(brain, ref)) for ref in count)
    plan = _Plan(n_present, n_rest, p.rest_value, p.reset, shapes, watch, p.min_spikes if watch else 0,
                 p.max_repeats if watch else 0, p.gain_step, bounds, frozen, sched.dt)
    size = int(batch) if batch is not None else int(chunk or min(n, 100))
    size = min(size, n)

    done = 0
    out_counts: dict = {}
    out_pres = np.zeros(n, np.int32)
    out_recs: dict = {}
    fingerprint = _fingerprint(brain, xs, plan)
    if checkpoint is not None and resume and Path(checkpoint).exists():
        done, out_counts, out_pres, out_recs = _load_checkpoint(brain, checkpoint, fingerprint)
    first = done

    graphdef, state = nnx.split(brain)
    init = brain.initial_dynamic_state()
    cache = _cache.setdefault(brain, {})
    key = (graphdef, plan, batch is not None, size,
           tuple(sorted((k, v.shape[1:], str(v.dtype)) for k, v in xs.items())),
           tuple(sorted((k, v.shape) for k, v in consts.items())))
    from .progress import Progress

    long = n * (n_present + n_rest) > 100_000
    bar = Progress(n, None, label=brain.name or "stream", unit="samples",
                   enabled=progress if progress is not None else (None if long else False))
    bar.update(done)
    compile_s = run_s = 0.0
    trial_start = int(brain.trial[...]) - (done if plan.reset else 0)  # sample k is trial trial_start + k
    if plan.reset:
        brain.trial[...] = jnp.int32(trial_start)
        graphdef, state = nnx.split(brain)
    try:
        for start in range(done, n, size):
            stop = min(start + size, n)
            idx = np.arange(start, start + size)
            valid = idx < stop
            idx = np.minimum(idx, n - 1)
            chunk_x = {name: v[idx] for name, v in xs.items()}
            ks = jnp.asarray(idx, jnp.int32)
            fn = cache.get(key)
            if fn is None:
                bar.compiling()
                t0 = time.perf_counter()
                fn = cache[key] = _compile(graphdef, plan, batch is not None).lower(
                    state, init, chunk_x, ks, jnp.asarray(valid), consts).compile()
                compile_s += time.perf_counter() - t0
            bar.running()
            t0 = time.perf_counter()
            state, c, a, r = fn(state, init, chunk_x, ks, jnp.asarray(valid), consts)
            c, a, r = jax.device_get((c, a, r))
            run_s += time.perf_counter() - t0
            m = stop - start
            for ref in count:
                out_counts.setdefault(ref, np.zeros((n, *c[ref].shape[1:]), np.int32))[start:stop] = c[ref][:m]
            out_pres[start:stop] = a[:m]
            for k_, v in r.items():
                out_recs.setdefault(k_, np.zeros((n, *v.shape[1:]), v.dtype))[start:stop] = v[:m]
            nnx.update(brain, state)
            if plan.reset:  # each sample was a trial of its own; the next chunk again counts from trial_start
                brain.trial[...] = jnp.int32(trial_start + stop)
            done = stop
            if checkpoint is not None:
                _save_checkpoint(brain, checkpoint, fingerprint, done, out_counts, out_pres, out_recs)
            bar.update(done)
            if on_chunk is not None:
                on_chunk(done, n)
    finally:
        bar.close()
    return StreamResult(out_counts, out_pres, out_recs, run_s, compile_s, done - first)


# ----- checkpoints -----------------------------------------------------------------------------------------------


def _fingerprint(brain, xs: dict, plan: _Plan) -> str:
    import hashlib

    h = hashlib.sha256(brain._doc_json.encode())
    h.update(repr((plan.n_present, plan.n_rest, plan.rest_value, plan.reset, plan.count, plan.watch, plan.min_spikes,
                   plan.max_repeats, plan.gain_step, sorted(plan.frozen))).encode())
    for name in sorted(xs):
        h.update(name.encode())
        h.update(np.ascontiguousarray(xs[name]).tobytes())
    return h.hexdigest()


def _save_checkpoint(brain, path, fingerprint: str, done: int, counts: dict, pres: np.ndarray, recs: dict) -> None:
    extra = {"__stream__": np.array(json.dumps({"fingerprint": fingerprint, "done": done,
                                                   "counts": list(counts), "records": list(recs)})),
             "__stream_presentations__": pres}
    for i, v in enumerate(counts.values()):
        extra[f"__stream_count_{i}__"] = v
    for i, v in enumerate(recs.values()):
        extra[f"__stream_record_{i}__"] = v
    brain.save_state(path, extra=extra)


def _load_checkpoint(brain, path, fingerprint: str):
    with np.load(path, allow_pickle=False) as data:
        if "__stream__" not in data.files:
            raise SparkError(f"{path}: not a stream checkpoint (written by Brain.save_state, not by a stream); "
                             "give another checkpoint path or resume=False")
        meta = json.loads(str(data["__stream__"]))
        if meta["fingerprint"] != fingerprint:
            raise SparkError(f"{path}: this checkpoint is of another stream (other model, samples or presentation); "
                             "resume with the same arguments, or delete it to start over")
        counts = {ref: np.array(data[f"__stream_count_{i}__"]) for i, ref in enumerate(meta["counts"])}
        recs = {key: np.array(data[f"__stream_record_{i}__"]) for i, key in enumerate(meta["records"])}
        pres = np.array(data["__stream_presentations__"])
    brain.load_state(path)
    return int(meta["done"]), counts, pres, recs
