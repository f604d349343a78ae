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

from . import lanes
from . import monitors as _mon
from .errors import GraphError, SparkError
from .fastrng import compile_unrolled
from .inputs import check_values
from .monitors import as_monitors
from .variables import State

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
        x = check_values(name, value, what="samples")
        size = math.prod(shape)
        if x.ndim == 0 or (x.shape[1:] != tuple(shape) and math.prod(x.shape[1:]) != size):
            raise GraphError(f"samples[{name!r}] has shape {list(x.shape)} but {ref} takes samples of shape "
                             f"{list(shape)}: give (n_samples, {', '.join(map(str, shape))})")
        if len(x) == 0:
            raise GraphError(f"samples[{name!r}] holds no sample; give at least one")
        if n is not None and len(x) != n:
            raise GraphError(f"samples[{name!r}] has {len(x)} samples but another input has {n}")
        n = len(x)
        x = x.reshape(n, *shape).astype(dtype)
        node, port = ref.rsplit(".", 1)
        check = getattr(brain.nodes[node], "check_input", None)  # encoders may declare a range
        if check is not None:
            problem = check(port, x)
            if problem:
                raise GraphError(f"samples[{name!r}] -> {ref}: {problem}")
        out[name] = x
    return out, n


def _with_aliases(brain, counts: dict) -> dict:
    """``counts`` plus the same arrays under the exposed names of composites (``cell.spikes``) where one is counted."""
    return {**counts, **{a: counts[ref] for a, ref in brain._built().aliases if ref in counts and a not in counts}}


def _check_ports(brain, refs: Iterable[str], what: str) -> tuple[str, ...]:
    from .payloads import Spikes

    out = []
    aliases = dict(brain._built().aliases)  # an exposed output of a composite: "cell.spikes" -> "cell.soma.spikes"
    for ref in refs:
        node, _, port = str(aliases.get(str(ref), ref)).rpartition(".")
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
    node, port = ref.rsplit(".", 1)
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


def _zeros(plan: _Plan) -> dict:
    return {ref: jnp.zeros(shape, jnp.int32) for ref, shape in plan.count}


def _presenter(graphdef, plan: _Plan, state, init, k, consts):
    """Sample ``k``'s brain and how to present to it: ``(dyn, present, finish)``.

    ``present(dyn, x, a) -> (dyn, counts)`` is presentation ``a`` (0 = the first) of sample ``x``: a reset of the
    dynamic state (with ``plan.reset``), ``n_present`` steps with the inputs scaled by ``1 + a * gain_step``, then
    ``n_rest`` steps at rest. ``finish(dyn) -> (state, records)`` samples the monitors and returns the clock (and
    ``trial``) to where they were. With every rule skipped and learned values held (``learn=False``) only the dynamic
    state (:class:`spark.State`) changes: ``dyn`` is only it, and the weights stay outside the loops (shared by
    the lanes of a batched stream instead of copied into each).
    """
    brain = nnx.merge(graphdef, state)
    t0 = brain.t[...]
    if plan.reset:
        brain.trial[...] = brain.trial[...] + k
    fixed = "*" in plan.frozen
    gd, dyn, *rest = nnx.split(brain, State, ...) if fixed else nnx.split(brain, ...)

    def merge(dyn):  # fresh Variables of the closed-over rest: a step may write them (unchanged) in this trace
        return nnx.merge(gd, dyn, *jax.tree.map(lambda v: v, rest))

    def split(br):
        return nnx.split(br, State, ...)[1] if fixed else nnx.split(br)[1]

    def steps(dyn, inputs, n, counted):
        def step(carry, _):
            dyn, counts = carry
            br = merge(dyn)
            now = br._step(inputs, plan.frozen)
            if counted:
                counts = {r: c + now[r].astype(jnp.int32) for r, c in counts.items()}
            return (split(br), counts), None

        (dyn, counts), _ = jax.lax.scan(step, (dyn, _zeros(plan) if counted else {}), None, length=n)
        return dyn, counts

    def present(dyn, x, a):
        if plan.reset:
            br = merge(dyn)
            br.reset_dynamic(init)
            dyn = split(br)
        gain = 1.0 + a.astype(jnp.float32) * plan.gain_step
        inputs = {**consts, **{name: v * gain for name, v in x.items()}}
        dyn, counts = steps(dyn, inputs, plan.n_present, True)
        if plan.n_rest:
            rest_inputs = {**consts, **{name: jnp.full_like(v, plan.rest_value) for name, v in x.items()}}
            dyn, _ = steps(dyn, rest_inputs, plan.n_rest, False)
        return dyn, counts

    def finish(dyn):
        br = merge(dyn)
        recs = {b.key: _mon.sample(b, _mon.raw_value(br, None, b.monitor, b.source), plan.dt) for b in plan.bounds}
        if plan.reset:
            br.t[...] = t0
            br.trial[...] = br.trial[...] - k
        return nnx.split(br)[1], recs

    def seek(dyn, a):  # the clock at presentation a, as if presentations 0 .. a-1 had run
        br = merge(dyn)
        br.t[...] = t0 + a * (plan.n_present + plan.n_rest)
        return split(br)

    return dyn, present, finish, seek


def _compile(graphdef, plan: _Plan, together: bool = False, init_axes=None):
    """``(state, init, xs, ks, valid, consts) -> (state, counts, presentations, records)`` over one chunk of samples
    one after the other: a scan over samples, a ``while_loop`` over the presentations of one sample. ``together``:
    ``state`` of several networks stacked on a leading axis (``vmap``), ``init`` stacked where ``init_axes`` is 0."""

    def sample_run(state, init, x, k, consts):
        dyn, present, finish, _ = _presenter(graphdef, plan, state, init, k, consts)

        def body(carry):
            dyn, a, _ = carry
            dyn, counts = present(dyn, x, a)
            return dyn, a + 1, counts

        def again(carry):
            _, a, counts = carry
            if plan.watch is None or plan.min_spikes == 0 or plan.max_repeats == 0:
                return a == 0
            weak = counts[plan.watch].sum() < plan.min_spikes
            return (a == 0) | (weak & (a <= plan.max_repeats))

        dyn, a, counts = jax.lax.while_loop(again, body, (dyn, jnp.int32(0), _zeros(plan)))
        state, recs = finish(dyn)
        return state, counts, a, recs

    def chunk(state, init, xs, ks, valid, consts):
        def one(state, inp):
            x, k, ok = inp

            def skip(state):
                return (state, _zeros(plan), jnp.int32(0),
                        {b.key: jnp.zeros(b.shape, b.dtype) for b in plan.bounds})

            state, counts, a, recs = jax.lax.cond(ok, lambda s: sample_run(s, init, x, k, consts), skip, state)
            return state, (counts, a, recs)

        state, (counts, a, recs) = jax.lax.scan(one, state, (xs, ks, valid))
        return state, counts, a, recs

    if together:
        return jax.jit(lanes.vmap(chunk, in_axes=(0, init_axes, None, None, None, None)))
    return jax.jit(chunk)


def _compile_lanes(graphdef, plan: _Plan):
    """``(state, init, xs, ks, as_, consts) -> (counts, records)``: one presentation ``as_[i]`` of each sample
    ``xs[i]`` (sample index ``ks[i]``), side by side (``vmap``), learning off. Each lane is exactly what the
    unbatched stream computes for that presentation (its trial, its clock, its gain). Re-presentation is decided
    between calls, so that only the weak samples are presented again (a per-lane ``while_loop`` would run every lane
    as often as the weakest one needs)."""

    def lane(state, init, x, k, a, consts):
        dyn, present, finish, seek = _presenter(graphdef, plan, state, init, k, consts)
        dyn, counts = present(seek(dyn, a), x, a)
        _, recs = finish(dyn)
        return counts, recs

    return jax.jit(lanes.vmap(lane, in_axes=(None, None, 0, 0, 0, None)))


# ----- running ---------------------------------------------------------------------------------------------------


def present(brain, samples: Mapping[str, Any], presentation: Presentation, *, inputs: Mapping[str, Any] | None = None,
            count: Iterable[str] = (), record: Iterable[Any] = (), learn: bool | Mapping[str, bool] = True,
            batch: int | None = None, chunk: int | None = None,
            on_chunk: Callable[[int, int], Any] | None = None, progress: bool | None = None,
            checkpoint: str | os.PathLike | None = None, resume: bool = False):
    """The engine of :meth:`spark.Brain.present` (see there) and of :func:`present_together` (``brain`` a list)."""
    together = isinstance(brain, (list, tuple))
    brains = list(brain) if together else [brain]
    brain = brains[0]
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
        v = check_values(name, value, what="inputs").astype(specs[name][1])
        if v.size not in (1, math.prod(specs[name][0])):
            raise GraphError(f"inputs[{name!r}] must be one value or an array of shape {list(specs[name][0])}")
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
    from .brain import check_batched_memory  # before anything is compiled or stacked (docs/brain.md, Memory)

    if together:
        check_batched_memory(brain, len(brains), what="present_together", unit="networks")
    elif batch is not None:
        check_batched_memory(brain, size, dynamic_only=True, what=f"a batched stream (batch={batch})",
                             unit="samples")

    done = 0
    out_counts: dict = {}
    out_pres = np.zeros((len(brains), n), np.int32)
    out_recs: dict = {}
    fingerprint = _fingerprint(brain, xs, plan)
    if checkpoint is not None and resume and Path(checkpoint).exists():
        done, out_counts, pres, out_recs = _load_checkpoint(brain, checkpoint, fingerprint)
        out_counts = {k_: v[None] for k_, v in out_counts.items()}
        out_recs = {k_: v[None] for k_, v in out_recs.items()}
        out_pres[0] = pres
    first = done

    cache = _cache.setdefault(brain, {})
    from .progress import Progress

    long = n * (n_present + n_rest) > 100_000
    bar = Progress(n, None, label=brain.name or "stream", unit="samples",
                   enabled=progress if progress is not None else (None if long else False))
    bar.update(done)
    compile_s = run_s = 0.0
    trial_start = [int(b.trial[...]) - (done if plan.reset else 0) for b in brains]  # sample k: trial_start + k
    if plan.reset:
        for b, t in zip(brains, trial_start, strict=True):
            b.trial[...] = jnp.int32(t)
    graphdef, state = nnx.split(brain)
    init = brain.initial_dynamic_state()
    init_axes = None
    if together:  # the networks' states stacked on a leading axis (checked alike by present_together)
        state = jax.tree.map(lambda *v: jnp.stack(v), *(nnx.split(b)[1] for b in brains))
        # what every network resets to alike stays one value (not per network): a step count that restarts with each
        # presentation then stays the same in every lane, so a rule's lax.cond on it stays a cond under vmap (a
        # per-lane condition would make it a select that computes both sides every step)
        inits = [b.initial_dynamic_state() for b in brains]
        same = jax.tree.map(lambda *v: all(np.array_equal(v[0], o) for o in v[1:]), *inits)
        init = jax.tree.map(lambda alike, *v: v[0] if alike else jnp.stack(v), same, *inits)
        init_axes = jax.tree.map(lambda alike: None if alike else 0, same)
    elif batch is not None:  # a batched chunk leaves the state as it was: keep a copy the brain's updates do not reach
        state = jax.tree.map(lambda v: v, state)
    key = (graphdef, plan, batch is not None, len(brains) if together else 0, tuple(jax.tree.leaves(init_axes)), size,
           tuple(sorted((k, v.shape[1:], str(v.dtype)) for k, v in xs.items())),
           tuple(sorted((k, v.shape) for k, v in consts.items())))
    try:
        for start in range(done, n, size):
            stop = min(start + size, n)
            idx = np.arange(start, start + size)
            valid = idx < stop
            idx = np.minimum(idx, n - 1)
            chunk_x = {name: v[idx] for name, v in xs.items()}
            ks = jnp.asarray(idx, jnp.int32)
            if batch is not None:
                (c, a, r), took = _present_lanes(cache, key, graphdef, plan, state, init, chunk_x, idx, consts, bar)
                compile_s += took[0]
                run_s += took[1]
            else:
                fn = cache.get(key)
                if fn is None:
                    bar.compiling()
                    t0 = time.perf_counter()
                    fn = cache[key] = compile_unrolled(_compile(graphdef, plan, together, init_axes),
                                                       state, init, chunk_x, ks, jnp.asarray(valid), consts)
                    compile_s += time.perf_counter() - t0
                bar.running()
                t0 = time.perf_counter()
                state, c, a, r = fn(state, init, chunk_x, ks, jnp.asarray(valid), consts)
                c, a, r = jax.device_get((c, a, r))
                run_s += time.perf_counter() - t0
            if not together:  # a network axis of one
                c, a, r = jax.tree.map(lambda v: np.asarray(v)[None], (c, a, r))
            m = stop - start
            for ref in count:
                out_counts.setdefault(ref, np.zeros((len(brains), n, *c[ref].shape[2:]), np.int32))[:, start:stop] = \
                    c[ref][:, :m]
            out_pres[:, start:stop] = a[:, :m]
            for k_, v in r.items():
                out_recs.setdefault(k_, np.zeros((len(brains), n, *v.shape[2:]), v.dtype))[:, start:stop] = v[:, :m]
            for i, b in enumerate(brains):
                nnx.update(b, jax.tree.map(lambda v, i=i: v[i], state) if together else state)
                if plan.reset:  # each sample was a trial of its own; the next chunk again counts from trial_start
                    b.trial[...] = jnp.int32(trial_start[i] + stop)
            done = stop
            if checkpoint is not None:
                _save_checkpoint(brain, checkpoint, fingerprint, done, {k_: v[0] for k_, v in out_counts.items()},
                                 out_pres[0], {k_: v[0] for k_, v in out_recs.items()})
            bar.update(done)
            if on_chunk is not None:
                on_chunk(done, n)
    finally:
        bar.close()
    results = [StreamResult(_with_aliases(brains[i], {k_: v[i] for k_, v in out_counts.items()}), out_pres[i],
                            {k_: v[i] for k_, v in out_recs.items()}, run_s, compile_s, done - first)
               for i in range(len(brains))]
    return results if together else results[0]


def _model_of(brain) -> dict:
    """The model document without what may differ between networks run together: the seed (and the name)."""
    doc = json.loads(brain._doc_json)
    doc.pop("seed", None)
    doc.pop("name", None)
    return doc


def _graphdef_as(brain, like):
    """``brain``'s graphdef with ``like``'s document (which holds the seed), to compare the rest of the structure."""
    own = brain._doc_json
    brain._doc_json = like._doc_json
    try:
        return nnx.split(brain)[0]
    finally:
        brain._doc_json = own


def present_together(brains: Iterable[Any], samples: Mapping[str, Any], presentation: Presentation, *,
                     inputs: Mapping[str, Any] | None = None, count: Iterable[str] = (), record: Iterable[Any] = (),
                     learn: bool | Mapping[str, bool] = True, chunk: int | None = None,
                     on_chunk: Callable[[int, int], Any] | None = None, progress: bool | None = None) -> list:
    """Present one stream of samples to several independent networks at once: :meth:`spark.Brain.present` for each,
    compiled as one program with the networks side by side on a leading axis (``vmap`` over their states).

    For sweeps: networks of one model that differ in their state (initial weights, the seed of their random numbers,
    learned state loaded from files) learn from the same samples in one run that costs less than one run each,
    with each network's result equal to what ``brain.present`` gives it alone. The brains are updated in place.

    Args:
        brains: two or more built :class:`spark.Brain` of the same model (same nodes, parameters, edges and dt), e.g.
            ``[Brain.from_dict({**doc, "seed": s}) for s in range(3)]``.
        samples, presentation, inputs, count, record, learn, chunk, on_chunk, progress: as in
            :meth:`spark.Brain.present`.

    Returns:
        One :class:`StreamResult` per brain, in order (``seconds`` is the time of the whole run).

    Raises:
        GraphError: fewer than two brains, brains of different models or parameters (the message names the first
            difference), and every error of :meth:`spark.Brain.present`, before any compilation.
    """
    from .brain import Brain

    brains = list(brains)
    if len(brains) < 2 or not all(isinstance(b, Brain) for b in brains):
        raise GraphError("present_together takes a list of two or more spark.Brain; for one, use brain.present")
    first = brains[0]
    first._built()
    gd = nnx.split(first)[0]
    shapes = jax.tree.map(lambda v: (v.shape, v.dtype), nnx.split(first)[1])
    for i, b in enumerate(brains[1:], 1):
        b._built()
        if b is first or any(b is o for o in brains[:i]):
            raise GraphError(f"brains[{i}] is the same Brain object as an earlier one; give independent networks")
        if _model_of(b) != _model_of(first) or _graphdef_as(b, first) != gd or \
                jax.tree.map(lambda v: (v.shape, v.dtype), nnx.split(b)[1]) != shapes:
            raise GraphError(f"brains[{i}] is not the same model as brains[0] (nodes, parameters, edges, shapes and "
                             "dt must agree; only the state may differ, e.g. the seed): networks of different models "
                             "cannot run side by side; present to them one after the other")
    return present(brains, samples, presentation, inputs=inputs, count=count, record=record, learn=learn,
                   chunk=chunk, on_chunk=on_chunk, progress=progress)


def _present_lanes(cache, key, graphdef, plan: _Plan, state, init, xs: dict, idx: np.ndarray, consts, bar):
    """A batched chunk: every sample's first presentation side by side, then again only the samples whose response
    was weak, in groups of ``ceil(size / 16)`` lanes, until none is weak or ``max_repeats`` is reached. Returns
    ``((counts, presentations, records), (compile_s, run_s))`` as the unbatched chunk."""
    size = len(idx)
    small = max(1, -(-size // 16))
    seconds = [0.0, 0.0]

    def call(sel: np.ndarray, a: int, width: int):
        fn = cache.get((key, "lanes", width))
        args = ({name: jnp.asarray(v[sel]) for name, v in xs.items()}, jnp.asarray(idx[sel], jnp.int32),
                jnp.full(width, a, jnp.int32))
        if fn is None:
            bar.compiling()
            t0 = time.perf_counter()
            fn = cache[(key, "lanes", width)] = compile_unrolled(_compile_lanes(graphdef, plan), state, init,
                                                                *args, consts)
            seconds[0] += time.perf_counter() - t0
            bar.running()
        t0 = time.perf_counter()
        out = jax.device_get(fn(state, init, *args, consts))
        seconds[1] += time.perf_counter() - t0
        return out

    lanes = np.arange(size)
    counts, recs = jax.tree.map(np.array, call(lanes, 0, size))  # writable copies
    pres = np.ones(size, np.int32)
    a = 0
    while plan.watch is not None and plan.min_spikes and a < plan.max_repeats:
        weak = lanes[counts[plan.watch].reshape(size, -1).sum(1) < plan.min_spikes]
        if not len(weak):
            break
        a += 1
        for g in range(0, len(weak), small):
            group = weak[g:g + small]
            sel = np.concatenate([group, np.repeat(group[-1:], small - len(group))])  # padded: repeats the last
            c, r = call(sel, a, small)
            m = len(group)
            for ref in counts:
                counts[ref][group] = c[ref][:m]
            for k_ in recs:
                recs[k_][group] = r[k_][:m]
            pres[group] = a + 1
    return (counts, pres, recs), tuple(seconds)


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
