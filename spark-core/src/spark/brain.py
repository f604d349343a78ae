"""Brain: a graph of named component instances, stepped as one JAX program.

Time semantics (docs/time.md): an edge that carries a delayed payload (Spikes) delivers what was emitted in
the previous step, plus any configured ``delay`` rounded to whole steps; every other edge delivers within the
step, in topological order. Learning rules run at the end of the step, after every node, in file order.
"""

from __future__ import annotations

import io
import json
import os
import time
import weakref
import zlib
from typing import Any, Iterable, Mapping

import attrs
import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from . import graph as _graph
from . import sparkfile
from .component import Component
from .errors import GraphError, SparkError, SparkFileError
from .variables import Const, State


@attrs.frozen
class _Source:
    kind: str  # "now" | "buffer" | "ext"
    ref: str  # "node.port" for now/buffer; input name for ext
    delay: int = 0
    depth: int = 0


@attrs.frozen
class _Call:
    node: str
    stochastic: bool
    key_index: int
    inputs: tuple  # ((port, shape, dtype, (sources...)), ...)
    attach: str | None = None


@attrs.frozen
class _Schedule:
    """Static, hashable description of one step, derived from the plan."""

    dt: float
    calls: tuple[_Call, ...]
    rules: tuple[_Call, ...]
    buffers: tuple[tuple[str, int], ...]  # ("node.port", depth)
    inputs: tuple[tuple[str, str, tuple, str, float | None], ...]  # (name, "node.port", shape, dtype, default)
    outputs: tuple[tuple[str, str], ...]  # (name, "node.port")


_run_cache: "weakref.WeakKeyDictionary[Brain, dict]" = weakref.WeakKeyDictionary()
_run_stats: "weakref.WeakKeyDictionary[Brain, dict]" = weakref.WeakKeyDictionary()


class Brain(nnx.Module):
    """A spiking network: components (nodes) wired by edges, with named external inputs and outputs.

    Build it from a file (:meth:`from_file`) or in Python::

        brain = spark.Brain(dt=0.1, seed=1)
        brain.add("exc", "lif", shape=100)
        brain.add("ee", "exp_synapse", weight=20.0)
        brain.connect("exc.spikes", "ee.pre").connect("ee.i", "exc.i_syn")
        brain.build()

    ``brain(**inputs)`` advances one step of ``dt`` ms and returns the named outputs; ``brain.run`` compiles a
    whole run. The nodes are in ``brain.nodes`` (an ``nnx.Dict``), so ``nnx.split(brain)`` gives all state.

    Args:
        dt: time step (ms).
        seed: seed of initial weights, connectivity and every stochastic component.
        name: the model's name.
        registry: where component ids resolve (default: every installed pack).
    """

    def __init__(self, *, dt: float = 0.1, seed: int = 0, name: str = "", registry=None):
        doc = sparkfile.canonical({"format": sparkfile.FORMAT, "version": sparkfile.VERSION, "name": name,
                                   "dt": dt, "seed": seed, "nodes": []})
        self._doc_json = json.dumps(doc)
        self._registry = registry
        self._schedule: _Schedule | None = None
        self.nodes = nnx.Dict()

    # ----- construction -------------------------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, doc: Any, registry=None, source: str = "<model>") -> "Brain":
        """Build a Brain from a model document; raises SparkFileError listing every problem."""
        doc = sparkfile.migrate(doc, source)
        _plan, problems = _graph.plan(doc, registry)
        if problems:
            raise SparkFileError(source, problems)
        brain = cls(registry=registry)
        brain._doc_json = json.dumps(sparkfile.canonical(doc))
        brain.build()
        return brain

    @classmethod
    def from_file(cls, path: str | os.PathLike, registry=None) -> "Brain":
        """Read, validate and build a `.spark` file."""
        return cls.from_dict(sparkfile.read(path), registry, source=str(path))

    def to_dict(self) -> dict:
        """The model document (with the ``editor`` section it was loaded with)."""
        return json.loads(self._doc_json)

    def to_file(self, path: str | os.PathLike) -> None:
        """Write the model as a `.spark` file, atomically."""
        sparkfile.write(path, self.to_dict())

    @property
    def dt(self) -> float:
        return float(self.to_dict()["dt"])

    @property
    def name(self) -> str:
        return self.to_dict().get("name", "")

    def _edit(self, fn) -> "Brain":
        doc = self.to_dict()
        fn(doc)
        self._doc_json = json.dumps(doc)
        self._schedule = None  # needs a new build
        return self

    def _registry_or_default(self):
        if self._registry is None:
            from .registry import default_registry

            return default_registry()
        return self._registry

    def add(self, node_id: str, component: str | type[Component], *, shape: Any = None, attach: str | None = None,
            **params: Any) -> "Brain":
        """Add a node: an instance of ``component`` (an id such as ``"lif"`` or a registered class)."""
        reg = self._registry_or_default()
        if isinstance(component, type):
            matches = [e for e in reg if e.cls is component]
            if not matches:
                raise GraphError(f"component class {component.__qualname__} is not registered; register it "
                                 "(Registry.register) or install its pack, then add it by class or id")
            entry = matches[0]
        else:
            entry = reg.resolve(component)

        def edit(doc):
            if any(n["id"] == node_id for n in doc["nodes"]):
                raise GraphError(f"node id {node_id!r} is already used; give every node a unique id")
            node = {"id": node_id, "component": entry.id}
            if shape is not None:
                node["shape"] = [shape] if isinstance(shape, int) else list(shape)
            if params:
                node["params"] = dict(params)
            if attach is not None:
                node["attach"] = attach
            doc["nodes"].append(node)
            if entry.distribution not in ("local", "test"):
                doc["requires"].setdefault(entry.distribution, f">={entry.version}")

        return self._edit(edit)

    def connect(self, src: str, dst: str, *, delay: float | None = None) -> "Brain":
        """Add an edge from output port ``"node.port"`` to input port ``"node.port"`` (``delay`` in ms)."""
        edge = {"from": src, "to": dst}
        if delay is not None:
            edge["delay"] = delay
        return self._edit(lambda doc: doc["edges"].append(edge))

    def input(self, name: str, to: str, *, value: float | None = None) -> "Brain":
        """Declare an external input ``name`` feeding input port ``to`` (``value`` when not given)."""
        spec = {"name": name, "to": to}
        if value is not None:
            spec["value"] = value
        return self._edit(lambda doc: doc["inputs"].append(spec))

    def output(self, name: str, src: str) -> "Brain":
        """Declare an external output ``name`` read from output port ``src``."""
        return self._edit(lambda doc: doc["outputs"].append({"name": name, "from": src}))

    def build(self) -> "Brain":
        """Validate the graph and (re)create every node with its initial state."""
        plan, problems = _graph.plan(self.to_dict(), self._registry_or_default())
        if problems:
            raise SparkFileError(self.name or "<brain>", problems)
        base = jax.random.PRNGKey(plan.seed)
        self.nodes = nnx.Dict({
            n.id: n.cls(n.shape, params=n.params, dt=plan.dt,
                        rngs=nnx.Rngs(jax.random.fold_in(base, zlib.crc32(n.id.encode()))))
            for n in plan.nodes.values()
        })
        for n in plan.nodes.values():  # rules with per-synapse state shape it like their synapse's weights
            if n.attach is not None and hasattr(self.nodes[n.id], "bind"):
                self.nodes[n.id].bind(self.nodes[n.attach])
        self.key = Const(jax.random.fold_in(base, 0x5EED))
        self.t = State(jnp.zeros((), jnp.int32))
        self.trial = State(jnp.zeros((), jnp.int32))
        self._schedule = _make_schedule(plan)
        self.buffers = nnx.Dict({
            ref: State(_zeros(plan, ref, depth)) for ref, depth in self._schedule.buffers
        })
        return self

    def _built(self) -> _Schedule:
        if self._schedule is None:
            self.build()
        return self._schedule

    def reset(self) -> "Brain":
        """Return every node to its initial state (weights included); time back to 0."""
        return self.build()

    # ----- stepping -----------------------------------------------------------------------------------------------

    def __call__(self, **inputs: Any) -> dict[str, jax.Array]:
        """Advance one step of ``dt`` ms. Keyword arguments are the named external inputs; returns the outputs."""
        sched = self._built()
        now = self._step(inputs)
        return {name: now[ref] for name, ref in sched.outputs}

    def _step(self, ext: Mapping[str, Any]) -> dict[str, jax.Array]:
        sched = self._schedule
        known = {name for name, *_ in sched.inputs}
        unknown = set(ext) - known
        if unknown:
            raise GraphError(f"unknown input(s) {sorted(unknown)}; this brain's inputs are: {sorted(known) or 'none'}")
        t = self.t[...]
        step_key = jax.random.fold_in(jax.random.fold_in(self.key[...], self.trial[...]), t)
        ext_values = {}
        for name, ref, shape, dtype, default in sched.inputs:
            if name in ext:
                x = jnp.asarray(ext[name])
                if x.size != int(np.prod(shape)) and x.size != 1:
                    raise GraphError(f"input {name!r} has shape {list(x.shape)} but {ref} expects {list(shape)}")
                ext_values[name] = jnp.broadcast_to(x.reshape(shape) if x.size != 1 else x.reshape(()), shape)
            elif default is not None:
                ext_values[name] = jnp.full(shape, default)
        now: dict[str, jax.Array] = {}

        def gather(port_inputs):
            kwargs = {}
            for port, shape, dtype, sources in port_inputs:
                total = None
                for s in sources:
                    if s.kind == "ext":
                        if s.ref not in ext_values:
                            continue
                        x = ext_values[s.ref]
                    elif s.kind == "now":
                        x = now[s.ref]
                    else:
                        x = self.buffers[s.ref][...][(t - s.delay) % s.depth]
                    x = x.reshape(shape).astype(dtype)
                    total = x if total is None else total + x
                kwargs[port] = jnp.zeros(shape, dtype) if total is None else total
            return kwargs

        for call in sched.calls:
            kwargs = gather(call.inputs)
            if call.stochastic:
                kwargs["key"] = jax.random.fold_in(step_key, call.key_index)
            outs = self.nodes[call.node](dt=sched.dt, **kwargs)
            for port, value in outs.items():
                now[f"{call.node}.{port}"] = value
        for call in sched.rules:
            kwargs = gather(call.inputs)
            if call.stochastic:
                kwargs["key"] = jax.random.fold_in(step_key, call.key_index)
            synapse = self.nodes[call.attach]
            synapse.weight[...] = self.nodes[call.node](synapse, dt=sched.dt, **kwargs)
        for ref, depth in sched.buffers:
            buf = self.buffers[ref]
            buf[...] = buf[...].at[t % depth].set(now[ref])
        self.t[...] = t + 1
        return now

    # ----- whole runs ---------------------------------------------------------------------------------------------

    def run(self, inputs: Mapping[str, Any] | None = None, steps: int | None = None, record: Iterable[str] = (),
            *, batched: bool = False) -> dict[str, np.ndarray]:
        """Run many steps as one compiled ``lax.scan`` and return the recorded values.

        Args:
            inputs: input name -> array. Each is either one value for every step (the port's shape, or a scalar)
                or one value per step (``(steps, *port_shape)``). With ``batched=True`` each has a leading
                trial axis ``B`` first.
            steps: number of steps (default: the length of the time-series inputs).
            record: ``"node.port"`` (an output port) or ``"node.variable"`` (a state variable such as
                ``"syn.weight"``); each comes back as ``(steps, *shape)`` (``(B, steps, *shape)`` batched).
            batched: run ``B`` independent trials in one call (``vmap``). Each trial starts from the brain's
                current state and draws its own random numbers; the brain's own state is left unchanged.

        Returns:
            record name -> numpy array. Unbatched runs advance the brain's state, so ``run(A); run(B)``
            equals one run of ``A`` then ``B``.
        """
        sched = self._built()
        record = tuple(record)
        for r in record:
            self._check_record(r)
        series, consts, steps, n_batch = self._prepare_inputs(inputs or {}, steps, batched)
        graphdef, state = nnx.split(self)
        key = (graphdef, steps, record, batched,
               tuple(sorted((k, v.shape, str(v.dtype)) for k, v in series.items())),
               tuple(sorted((k, v.shape, str(v.dtype)) for k, v in consts.items())))
        cache = _run_cache.setdefault(self, {})
        fn = cache.get(key)
        compile_s = 0.0
        if fn is None:
            t0 = time.perf_counter()
            fn = cache[key] = _compile_run(graphdef, steps, record, batched).lower(state, series, consts).compile()
            compile_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        new_state, rec = fn(state, series, consts)
        rec = {k: np.asarray(v) for k, v in rec.items()}  # waits for the result
        _run_stats[self] = {"compile_s": compile_s, "run_s": time.perf_counter() - t0, "steps": steps}
        if not batched:
            nnx.update(self, new_state)
        del sched
        return rec

    @property
    def last_run_stats(self) -> dict:
        """Timing of the last :meth:`run`: ``compile_s`` (0 when the program was cached), ``run_s``, ``steps``."""
        return dict(_run_stats.get(self, {}))

    def _check_record(self, ref: str) -> None:
        node, _, attr = ref.partition(".")
        if node not in self.nodes or not attr:
            raise GraphError(f"cannot record {ref!r}: write \"node.port\" or \"node.variable\" with one of the nodes "
                             f"{sorted(self.nodes)}")
        module = self.nodes[node]
        if attr in type(module).outputs:
            return
        if not isinstance(getattr(module, attr, None), nnx.Variable):
            ports = ", ".join(type(module).outputs) or "(none)"
            variables = ", ".join(k for k, v in vars(module).items() if isinstance(v, nnx.Variable)) or "(none)"
            raise GraphError(f"cannot record {ref!r}: node {node!r} has no output port or state variable {attr!r}; "
                             f"outputs: {ports}; variables: {variables}")

    def _prepare_inputs(self, inputs, steps, batched):
        sched = self._schedule
        specs = {name: (ref, shape, dtype) for name, ref, shape, dtype, _ in sched.inputs}
        unknown = set(inputs) - set(specs)
        if unknown:
            raise GraphError(f"unknown input(s) {sorted(unknown)}; this brain's inputs are: {sorted(specs) or 'none'}")
        series, consts = {}, {}
        n_batch = None
        for name, value in inputs.items():
            ref, shape, dtype = specs[name]
            x = np.asarray(value)
            if x.dtype.kind not in "biuf":
                raise GraphError(f"input {name!r} has dtype {x.dtype}; give numbers")
            if x.dtype.kind == "f" and not np.all(np.isfinite(x)):
                bad = np.argwhere(~np.isfinite(x))[0].tolist()
                raise GraphError(f"input {name!r} contains NaN or infinity (first at index {bad}); clean the data")
            lead = x.shape
            if batched:
                if x.ndim == 0:
                    raise GraphError(f"input {name!r}: a batched run needs a leading trial axis on every input")
                if n_batch is not None and x.shape[0] != n_batch:
                    raise GraphError(f"input {name!r} has {x.shape[0]} trials but another input has {n_batch}")
                n_batch = x.shape[0]
                lead = x.shape[1:]
            if lead == shape or len(lead) == 0:
                consts[name] = jnp.asarray(x, dtype)
            elif len(lead) == len(shape) + 1 and lead[1:] == shape:
                if steps is not None and lead[0] != steps:
                    raise GraphError(f"input {name!r} has {lead[0]} steps but steps={steps}; give as many as are run")
                steps = lead[0]
                series[name] = jnp.asarray(x, dtype)
            else:
                b = "(trials, " if batched else "("
                raise GraphError(f"input {name!r} has shape {list(x.shape)} but {ref} expects {b}{', '.join(map(str, shape))})"
                                 f" for a constant or {b}steps, {', '.join(map(str, shape))}) for a time series")
        if batched and n_batch is None:
            raise GraphError("a batched run needs at least one input with a leading trial axis")
        if steps is None:
            raise GraphError("give steps=N (no input is a time series to take the length from)")
        if not isinstance(steps, (int, np.integer)) or steps < 1:
            raise GraphError(f"steps = {steps!r} must be a positive integer")
        return series, consts, int(steps), n_batch

    # ----- saving state -------------------------------------------------------------------------------------------

    def save_state(self, path: str | os.PathLike) -> None:
        """Write every state array (weights, traces, potentials, time, delay buffers) to an ``.npz``, atomically."""
        self._built()
        flat = nnx.to_flat_state(nnx.state(self))
        arrays = {"/".join(map(str, p)): np.asarray(jax.device_get(v.get_value())) for p, v in flat}
        arrays["__spark_model__"] = np.array(self._doc_json)
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        sparkfile.atomic_write_bytes(path, buf.getvalue())

    def load_state(self, path: str | os.PathLike) -> "Brain":
        """Restore state saved by :meth:`save_state` from a brain with the same nodes and shapes."""
        self._built()
        with np.load(path, allow_pickle=False) as data:
            saved = {k: data[k] for k in data.files if k != "__spark_model__"}
        flat = nnx.to_flat_state(nnx.state(self))
        mine = {"/".join(map(str, p)): v for p, v in flat}
        missing, extra = sorted(set(mine) - set(saved)), sorted(set(saved) - set(mine))
        wrong = [f"{k}: saved {list(saved[k].shape)}, here {list(np.shape(v.get_value()))}"
                 for k, v in mine.items() if k in saved and saved[k].shape != np.shape(v.get_value())]
        if missing or extra or wrong:
            raise SparkError(f"{path}: the saved state does not fit this brain; missing: {missing or 'none'}; "
                             f"unexpected: {extra or 'none'}; shape mismatches: {wrong or 'none'}. Load it into "
                             "the model it was saved from")
        new = [(p, v.replace(jnp.asarray(saved["/".join(map(str, p))], dtype=v.get_value().dtype))) for p, v in flat]
        nnx.update(self, nnx.from_flat_state(new))
        return self


def _zeros(plan: _graph.Plan, ref: str, depth: int) -> jax.Array:
    node, port = ref.split(".")
    n = plan.nodes[node]
    payload = n.cls.outputs[port].payload
    return jnp.zeros((depth, *n.port_shape(port)), np.dtype(payload.dtype))


def _make_schedule(plan: _graph.Plan) -> _Schedule:
    depth: dict[str, int] = {}
    for e in plan.edges:
        if e.delay_steps > 0:
            ref = f"{e.src}.{e.src_port}"
            depth[ref] = max(depth.get(ref, 0), e.delay_steps)
    key_index = {nid: i for i, nid in enumerate(plan.nodes)}

    def call(nid: str) -> _Call:
        n = plan.nodes[nid]
        ins = []
        for port, spec in n.cls.inputs.items():
            sources = []
            for e in plan.edges:
                if e.dst == nid and e.dst_port == port:
                    ref = f"{e.src}.{e.src_port}"
                    sources.append(_Source("buffer", ref, e.delay_steps, depth[ref]) if e.delay_steps
                                   else _Source("now", ref))
            sources += [_Source("ext", i.name) for i in plan.inputs if i.node == nid and i.port == port]
            ins.append((port, n.port_shape(port), spec.payload.dtype, tuple(sources)))
        return _Call(nid, n.cls.stochastic, key_index[nid], tuple(ins), n.attach)

    inputs = []
    for i in plan.inputs:
        n = plan.nodes[i.node]
        inputs.append((i.name, f"{i.node}.{i.port}", n.port_shape(i.port), n.cls.inputs[i.port].payload.dtype, i.value))
    return _Schedule(
        dt=plan.dt,
        calls=tuple(call(nid) for nid in plan.order),
        rules=tuple(call(nid) for nid in plan.rules),
        buffers=tuple(sorted(depth.items())),
        inputs=tuple(inputs),
        outputs=tuple((o.name, f"{o.node}.{o.port}") for o in plan.outputs),
    )


def _record(brain: Brain, now: dict, ref: str) -> jax.Array:
    if ref in now:
        return now[ref]
    node, _, attr = ref.partition(".")
    return getattr(brain.nodes[node], attr)[...]


def _compile_run(graphdef, steps: int, record: tuple[str, ...], batched: bool):
    def scan_run(state, series, consts, trial=None):
        if trial is not None:  # each trial draws its own random numbers
            brain = nnx.merge(graphdef, state)
            brain.trial[...] = brain.trial[...] + trial
            state = nnx.split(brain)[1]

        def body(state, x_t):
            brain = nnx.merge(graphdef, state)
            now = brain._step({**consts, **x_t})
            rec = {r: _record(brain, now, r) for r in record}
            return nnx.split(brain)[1], rec

        return jax.lax.scan(body, state, series, length=steps)

    if not batched:
        return jax.jit(scan_run)

    def batched_run(state, series, consts):
        n_trials = jax.tree.leaves((series, consts))[0].shape[0]
        trials = jnp.arange(n_trials, dtype=jnp.int32)
        return jax.vmap(scan_run, in_axes=(None, 0, 0, 0))(state, series, consts, trials)

    return jax.jit(batched_run)
