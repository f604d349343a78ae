"""Brain: a graph of named component instances, stepped as one JAX program.

Time semantics (docs/time.md): an edge that carries a delayed payload (Spikes) delivers what was emitted in
the previous step, plus any configured ``delay`` rounded to whole steps; every other edge delivers within the
step, in topological order. Learning rules run at the end of the step, after every node, in file order.
"""

from __future__ import annotations

import contextlib
import io
import heapq
import inspect
import json
import math
import os
import time
import warnings
import weakref
import zlib
from typing import Any, Callable, Iterable, Iterator, Mapping

import attrs
import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jax.sharding import PartitionSpec as P

from . import graph as _graph
from . import inputs as _inputs
from . import lanes
from . import memory as _memory
from . import monitors as _mon
from . import partition as _partition
from . import recording as _recording
from . import sharding as _sharding
from . import sparkfile
from . import stacking as _stacking
from . import surrogate as _surrogate
from . import statefile as _statefile
from .component import Component, Synapse
from .composite import is_composite
from .errors import ComponentStepError, ComponentValueError, GraphError, ModelWarning, SparkError, SparkFileError
from .fastrng import compile_unrolled
from .monitors import Monitor, as_monitors
from .progress import Progress
from .timing import to_steps
from .recording import Recording, RecordingMemoryError
from .variables import Const, Learned, State, Weight, _fixing_weights


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
    aliases: tuple[tuple[str, str], ...] = ()  # exposed port of a composite node -> its inner "node.port"


_run_cache: "weakref.WeakKeyDictionary[Brain, dict]" = weakref.WeakKeyDictionary()
_run_stats: "weakref.WeakKeyDictionary[Brain, dict]" = weakref.WeakKeyDictionary()
_initial_dynamic: "weakref.WeakKeyDictionary[Brain, nnx.State]" = weakref.WeakKeyDictionary()


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
        try:
            brain.build()
        except SparkFileError as exc:
            raise SparkFileError(source, exc.problems) from None
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

    def to_nir(self, *, strict: bool = False, leave_out: Iterable[str] = ()):
        """The model as a ``nir.NIRGraph`` (needs ``spark-core[nir]``): :func:`spark.nir.to_nir`, docs/nir.md."""
        from . import nir

        return nir.to_nir(self, strict=strict, leave_out=leave_out)

    @classmethod
    def from_nir(cls, graph_or_path: Any, *, dt: float | None = None, discretization: str = "exact",
                 registry=None) -> "Brain":
        """A Brain from a ``nir.NIRGraph`` or NIR file (needs ``spark-core[nir]``): :func:`spark.nir.from_nir`,
        docs/nir.md. ``dt`` in ms; ``discretization`` ``"exact"`` or ``"euler"``."""
        from . import nir

        return nir.from_nir(graph_or_path, dt=dt, discretization=discretization, registry=registry)

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
                s = _plain(shape)
                node["shape"] = [s] if isinstance(s, int) else s if isinstance(s, list) else list(shape)
            if params:
                node["params"] = {k: _plain(v) for k, v in params.items()}
            if attach is not None:
                node["attach"] = attach
            doc["nodes"].append(node)
            if entry.distribution not in ("local", "test", "library"):  # library: a user's composites, not a pack
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

    def use_surrogate(self, surrogate: str = "fast_sigmoid", *, slope: float | None = None) -> "Brain":
        """Give every soma that supports it (a ``surrogate`` param) the surrogate spike ``surrogate`` (and ``slope``,
        1/mV, if given), so that ``jax.grad`` flows through spikes (:mod:`spark.surrogate`, :mod:`spark.training`);
        ``"none"`` switches it off. The forward pass does not change. It is stored in each soma's params (so it is
        saved with the model); somas without the param are named in a :class:`spark.ModelWarning`. Rebuilds."""
        problem = _surrogate.check(surrogate)
        if problem:
            raise GraphError(problem)
        reg = self._registry_or_default()
        somas, without = [], []
        for node in self.to_dict()["nodes"]:
            cls = reg.resolve(node["component"]).cls
            if getattr(cls, "kind", "") != "soma":
                continue
            if is_composite(cls):  # a composite presenting as a soma: only through a param it exposes
                fields = cls.params
            else:
                fields = attrs.fields_dict(cls.Params)
            (somas if "surrogate" in fields else without).append(node["id"])

        def edit(doc):
            for node in doc["nodes"]:
                if node["id"] in somas:
                    params = node.setdefault("params", {})
                    params["surrogate"] = surrogate
                    if slope is not None:
                        params["surrogate_slope"] = float(slope)

        self._edit(edit)
        if without and surrogate != _surrogate.NONE:
            warnings.warn(f"{self.name or '<brain>'}: somas {without} have no surrogate param (a composite: unless "
                          "it exposes one): their spikes stay boolean and no gradient flows through them",
                          ModelWarning, stacklevel=2)
        return self.build()

    def build(self) -> "Brain":
        """Validate the graph and (re)create every node with its initial state.

        A valid model that would run silently (an encoder whose ``data`` is fed by nothing, no declared outputs)
        builds, with a :class:`spark.ModelWarning` per finding (:func:`spark.sparkfile.check` lists the same).
        """
        plan, problems = _graph.plan(self.to_dict(), self._registry_or_default())
        if problems:
            raise SparkFileError(self.name or "<brain>", problems)
        for w in plan.warnings:
            warnings.warn(f"{self.name or '<brain>'}: {w.path}: {w.message}", ModelWarning, stacklevel=2)
        check_model_memory(plan, self.name or "<brain>")  # before anything is allocated (docs/brain.md)
        base = jax.random.PRNGKey(plan.seed)
        nodes, problems = {}, []
        for n in plan.nodes.values():  # a component may refuse its params or shape only when built: say where
            try:
                extra = ({"same_population": _same_population(plan, n.id)}
                         if issubclass(n.cls, Synapse) and _accepts(n.cls, "same_population") else {})
                nodes[n.id] = n.cls(n.shape, params=n.params, dt=plan.dt,
                                    rngs=nnx.Rngs(jax.random.fold_in(base, zlib.crc32(n.id.encode()))), **extra)
            except (SparkError, ValueError) as exc:
                problems.append(sparkfile.Problem(f"$.nodes[{n.index}]", f"node {n.id!r} ({n.entry.id}): {exc}",
                                                  node=n.id))
            except Exception as exc:  # a bug in the component: name the node, the component and its pack
                problems.append(sparkfile.Problem(
                    f"$.nodes[{n.index}]",
                    f"node {n.id!r}: component {n.entry.id} (pack {n.entry.distribution} {n.entry.version}) failed "
                    f"to build: {n.cls.__qualname__}.__init__ raised {type(exc).__name__}: {exc}; this is a bug in "
                    f"that pack (report it to its authors) or a parameter it does not check", node=n.id))
        if problems:
            raise SparkFileError(self.name or "<brain>", problems)
        self.nodes = nnx.Dict(nodes)
        for n in plan.nodes.values():  # rules with per-synapse state shape it like their synapse's weights
            if n.attach is not None:
                self.nodes[n.id].bind(self.nodes[n.attach])
        self.key = Const(jax.random.fold_in(base, 0x5EED))
        self.t = State(jnp.zeros((), jnp.int32))
        self.trial = State(jnp.zeros((), jnp.int32))
        self._schedule = _make_schedule(plan)
        self.buffers = nnx.Dict({
            ref: State(_zeros(plan, ref, depth)) for ref, depth in self._schedule.buffers
        })
        # a snapshot with arrays of its own: a run that donates the brain's buffers (run(donate=True)) must not
        # delete the state reset_dynamic() returns to
        _initial_dynamic[self] = jax.tree.map(_own_copy, self.dynamic_state())
        return self

    def summary(self, *, memory: bool = True) -> "Summary":
        """What this model is, at a glance (:class:`spark.summary.Summary`): its nodes (component, kind, shape, the
        parameters that differ from their defaults, with units), edges (delays in ms: when a value sent at a step
        arrives; one dt for spikes), inputs and outputs, neuron and synapse counts, and (``memory=True``) the
        memory estimate. ``print(brain.summary())`` for a text table; Jupyter shows it as HTML.

        Raises:
            SparkFileError: the model does not validate (every problem, with its JSON path).
        """
        from .summary import summarize

        plan, problems = _graph.plan(self.to_dict(), self._registry_or_default())
        if problems:
            raise SparkFileError(self.name or "<brain>", problems)
        return summarize(self, plan, memory=estimate_model(plan) if memory else None)

    def __repr__(self) -> str:
        try:
            return self.summary(memory=False).headline()
        except Exception:  # noqa: BLE001 - a repr never raises: an invalid model still shows what it is
            doc = self.to_dict()
            return f"Brain({doc.get('name', '')!r}, dt={doc.get('dt')} ms, {len(doc.get('nodes', []))} nodes, invalid)"

    def _repr_html_(self) -> str:
        try:
            return self.summary()._repr_html_()
        except Exception:  # noqa: BLE001
            import html

            return f"<pre>{html.escape(repr(self))}</pre>"

    def estimate_memory(self) -> _memory.ModelEstimate:
        """The memory this model needs when built and run, without building it (what :meth:`build` checks):
        ``.bytes``, ``.state``, ``.parts`` (largest first) and ``.available``; ``str()`` of it reads well."""
        plan, problems = _graph.plan(self.to_dict(), self._registry_or_default())
        if problems:
            raise SparkFileError(self.name or "<brain>", problems)
        return estimate_model(plan)

    def dynamic_state(self) -> nnx.State:
        """Every :class:`spark.State` of the nodes and the delay buffers (potentials, currents, traces, spikes in
        flight): what :meth:`reset_dynamic` restores. Not the clock, not weights or other learned state."""
        return nnx.State({"nodes": nnx.state(self.nodes, State), "buffers": nnx.state(self.buffers, State)})

    def initial_dynamic_state(self) -> nnx.State:
        """The dynamic state (:meth:`dynamic_state`) the brain had when it was built."""
        self._built()
        return _initial_dynamic[self]

    def reset_dynamic(self, state: nnx.State | None = None) -> "Brain":
        """Return the dynamic state to its value at build (or to ``state``, from :meth:`dynamic_state`), keeping
        weights, adaptive thresholds and every other learned value, and the clock: what a long rest between two
        samples would do, in no steps."""
        state = self.initial_dynamic_state() if state is None else state
        state = jax.tree.map(_own_copy, state)  # the brain gets arrays of its own, which a donating run may consume
        nnx.update(self.nodes, state["nodes"])
        nnx.update(self.buffers, state["buffers"])
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
        for name, value in inputs.items():  # the check of run() and present(); under jit the values are tracers
            if _inputs.is_concrete(value):
                _inputs.check_values(name, value)
        now = self._step(inputs)
        return {name: now[ref] for name, ref in sched.outputs}

    def learned_variables(self) -> list[str]:
        """``"node.variable"`` of every :class:`spark.Learned` variable (weights, adaptive thresholds, ...)."""
        self._built()
        return [f"{nid}.{name}" for nid, node in self.nodes.items()
                for name, v in vars(node).items() if isinstance(v, Learned)]

    def frozen(self, learn: bool | Mapping[str, bool] = True) -> frozenset[str]:
        """What a ``learn`` switch freezes: rule node ids and ``"node.variable"`` of learned variables.

        ``learn=True`` freezes nothing, ``learn=False`` everything (every rule is skipped and every
        :class:`spark.Learned` variable, weights and adaptive thresholds alike, keeps its value through the step).
        A mapping switches single parts: ``{"stdp": False}`` skips the rule ``stdp``; ``{"exc.theta": False}``
        holds the variable ``theta`` of node ``exc``; what it does not name keeps learning.

        Raises:
            GraphError: a key that is neither a learning rule nor a learned variable (the message lists them).
        """
        sched = self._built()
        if isinstance(learn, bool):
            return frozenset() if learn else frozenset({"*"})
        if not isinstance(learn, Mapping):
            raise GraphError(f"learn={learn!r} must be True, False or a mapping such as {{'stdp': False}}")
        rules = [c.node for c in sched.rules]
        learned = self.learned_variables()
        out = set()
        for key, on in learn.items():
            if key not in rules and key not in learned:
                raise GraphError(f"learn: {key!r} is neither a learning rule nor a learned variable of this brain; "
                                 f"rules: {rules or 'none'}; learned variables: {learned or 'none'}")
            if not isinstance(on, (bool, np.bool_)):
                raise GraphError(f"learn[{key!r}] = {on!r} must be True or False")
            if not on:
                out.add(key)
        return frozenset(out)

    def _step(self, ext: Mapping[str, Any], frozen: frozenset = frozenset()) -> dict[str, jax.Array]:
        with _fixing_weights("*" in frozen):  # spark.weights_fixed(): synapses read their weights, write nothing
            return self._step_nodes(ext, frozen)

    def _step_nodes(self, ext: Mapping[str, Any], frozen: frozenset) -> dict[str, jax.Array]:
        sched = self._schedule
        held = {}  # learned variables held through this step: their values before it
        if frozen:
            # weights change only through rules (spark.Weight's contract), so with every rule skipped they need no
            # holding, and a synapse that passes its weights through a kernel in place is not made to copy them
            refs = ([r for r in self.learned_variables() if not isinstance(_variable(self, r), Weight)]
                    if "*" in frozen else [r for r in frozen if "." in r and r not in {c.node for c in sched.rules}])
            for ref in refs:
                held[ref] = _variable(self, ref)[...]
        known = {name for name, *_ in sched.inputs}
        unknown = set(ext) - known
        if unknown:
            raise GraphError(f"unknown input(s) {sorted(unknown)}; this brain's inputs are: {sorted(known) or 'none'}")
        t = self.t[...]
        step_key = jax.random.fold_in(jax.random.fold_in(self.key[...], self.trial[...]), t)
        ext_values = _inputs.step_values(sched.inputs, ext)
        now: dict[str, jax.Array] = {}
        split = _partition.active()  # a step of one device's neurons: whole vectors gathered once (docs/scaling.md)
        exchanged: dict = {}

        def gather(node, port_inputs, graded=False):
            # graded: a synapse receives Spikes as they come, float32 0/1 from a soma with a surrogate (differentiable)
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
                        buf = self.buffers[s.ref][...]
                        x = buf[0] if s.depth == 1 else buf[(t - s.delay) % s.depth]
                    if split is not None and s.kind != "ext":
                        x = split.fit(x, s, f"{node}.{port}", exchanged)
                    x = x.reshape(shape)
                    x = x if graded and s.kind != "ext" and x.dtype == jnp.float32 and np.dtype(dtype) == np.bool_ \
                        else x.astype(dtype)
                    total = x if total is None else total + x
                kwargs[port] = jnp.zeros(shape, dtype) if total is None else total
            return kwargs

        for call in sched.calls:
            kwargs = gather(call.node, call.inputs, isinstance(self.nodes[call.node], Synapse))
            if call.stochastic:
                kwargs["key"] = jax.random.fold_in(step_key, call.key_index)
            with _component_errors(self, call.node):
                outs = self.nodes[call.node](dt=sched.dt, **kwargs)
            for port, value in outs.items():
                now[f"{call.node}.{port}"] = value
        for call in sched.rules:
            if "*" in frozen or call.node in frozen:
                continue
            kwargs = gather(call.node, call.inputs)
            if call.stochastic:
                kwargs["key"] = jax.random.fold_in(step_key, call.key_index)
            synapse = self.nodes[call.attach]
            with _component_errors(self, call.node):
                synapse.weight[...] = self.nodes[call.node](synapse, dt=sched.dt, **kwargs)
        for ref, depth in sched.buffers:  # a one-step buffer is replaced whole: no index arithmetic in the loop
            buf = self.buffers[ref]
            value = jnp.asarray(now[ref] if split is None else split.widen(ref, now[ref], exchanged), buf.dtype)
            buf[...] = (value.reshape(buf.shape) if depth == 1
                        else jax.lax.dynamic_update_index_in_dim(buf[...], value, t % depth, 0))
        for ref, value in held.items():
            _variable(self, ref)[...] = value
        self.t[...] = t + 1
        return now

    # ----- whole runs ---------------------------------------------------------------------------------------------

    def run(self, inputs: Mapping[str, Any] | None = None, steps: int | None = None,
            record: Iterable[Any] | None = None, *, duration: float | None = None, batched: bool = False,
            progress: bool | None = None, chunk: int | None = None, out: str | os.PathLike | None = None,
            on_chunk: Callable[[Recording], Any] | None = None,
            learn: bool | Mapping[str, bool] = True, mesh: Any = None, donate: bool = False) -> Recording:
        """Run many steps as compiled ``lax.scan`` programs and return what was recorded.

        Args:
            inputs: input name -> array. Each is either one value for every step (the port's shape, or a scalar)
                or one value per step (``(steps, *port_shape)``). With ``batched=True`` each has a leading
                trial axis ``B`` first. numpy arrays stay on the host (chunks are cut from them); a ``jax.Array``
                stays where it is (checked on its device, sliced there; one sharded as ``mesh`` needs is used as is).
            steps: number of steps (default: the length of the time-series inputs, or ``duration``).
            record: what to record: strings in the short form of :class:`spark.Monitor` (``"node.port"``,
                ``"node.variable"``, ``"exc.v[0:10]"``, ``"exc.spikes:rate"``, ``"syn.weight@100"``) or
                :class:`spark.Monitor` objects. Each comes back under its key as ``(samples, *shape)``
                (``(B, samples, *shape)`` batched); ``samples`` is ``steps // every`` (a monitor whose ``every``
                exceeds ``steps`` is refused: it would hold no sample). Default (``None``): the
                model's declared outputs, every step, each under its output name (what ``brain(**inputs)``
                returns, stacked over steps); ``record=[]`` records nothing.
            duration: how long to run, in ms, instead of ``steps`` (converted by :func:`spark.timing.to_steps`,
                rounded half-up to whole steps); giving both is an error.
            batched: run ``B`` independent trials in one call (``vmap``). Each trial starts from the brain's
                current state and draws its own random numbers; the brain's own state is left unchanged.
            progress: draw a progress bar on stderr (steps, simulated time, wall time, speed, ETA). ``None``:
                only for runs of more than 2,000 steps when stderr is a terminal.
            chunk: run in compiled chunks of this many steps (a multiple of every monitor's ``every``). By default
                a run is one program, split into chunks only to show progress, to call ``on_chunk``, to stream
                to ``out`` or to keep a large recording's device buffers small. Results do not depend on it.
            out: a folder to stream the recording into, chunk by chunk: one ``<key>.npy`` per monitor and
                ``recording.json`` (see :func:`spark.load_recording`). The returned arrays are read-only memory
                maps of those files, so a recording larger than memory still completes.
            on_chunk: called with each chunk's :class:`spark.Recording` as soon as it is done (live views).
            learn: plasticity on (default) or off: ``False`` skips every learning rule and holds every learned
                variable (weights, adaptive thresholds); a mapping switches parts (:meth:`frozen`).
            mesh: with ``batched=True``, a ``jax.sharding.Mesh`` (e.g. :func:`spark.sharding.trial_mesh`) whose
                devices split the trials: each device runs its own trials (``shard_map`` around the batched chunk;
                what every trial shares is replicated), with the result of the unsharded run, bit for bit. The
                number of trials must be a multiple of the mesh's size. Across processes (``jax.distributed``) the
                recording holds this process's trials only (docs/scaling.md). Unbatched, a neuron mesh
                (:func:`spark.sharding.neuron_mesh`) splits the network by neuron instead: each device steps a block
                of every population and the synapses onto it, spikes are exchanged bit-packed once per step, and
                the recording and the state come back whole, bit for bit as unsplit (:mod:`spark.partition`).
            donate: give the brain's state arrays to the compiled run, which then writes its new state into their
                memory instead of beside it (XLA buffer donation). A run otherwise holds the state twice (in and
                out); donating saves one copy of every state array: at 400,000 neurons 1,359 -> 1,063 MiB peak
                (docs/performance.md). The results are the same. The cost: an array read from the brain before the
                run (``w = brain.syn.weight[...]`` is the brain's own array, not a copy) is deleted by it; take a
                copy (``np.asarray(...)``) first. A donating run stopped after some chunks (Ctrl-C, an error in
                ``on_chunk``) leaves the brain at the end of the chunk that was computing, one chunk further than
                the recording. Unbatched runs on one device only (``spark run`` donates).

        Returns:
            a :class:`spark.Recording`: a dict of record key -> numpy array that also knows ``dt``, ``t0`` and
            what each array is. Unbatched runs advance the brain's state, so ``run(A); run(B)`` equals one run
            of ``A`` then ``B``; if a run stops on an error after some chunks, the brain holds the state after
            the last completed chunk (matching what was streamed to ``out``).

        Raises:
            spark.RecordingMemoryError: when the recording would not fit in the available memory (or, with
                ``out``, on the disk); the message has the estimate. Nothing has run then.
            spark.GraphError: bad inputs, records or options (``donate=True`` with ``batched`` or a ``mesh``),
                before any step.
        """
        job = self._job(inputs, steps, record, batched, chunk, progress,
                        chunked=chunk is not None or out is not None or on_chunk is not None, learn=learn,
                        duration=duration, mesh=mesh, donate=donate)
        chunk_bytes = job.chunk_bytes
        if out is None:
            self._check_memory(job, job.estimate.bytes + (2 * chunk_bytes if len(job.chunks) > 1 else 0))
        else:
            self._check_memory(job, 3 * chunk_bytes)
        t_start = int(self.t[...])
        info = {b.key: b.info() for b in job.bounds}
        writer = arrays = None
        if out is not None:
            writer = _recording.DiskWriter(out, job.bounds, steps=job.steps, n_batch=job.n_local, dt=job.dt,
                                           t0=t_start)
        elif len(job.chunks) > 1:
            arrays = {k: np.empty(shape, dtype) for k, (shape, dtype, _) in job.estimate.arrays.items()}
        chunks = self._chunks(job, update_each=on_chunk is not None)
        try:
            for start, n, rec in chunks:
                if writer is not None:
                    writer.write(start, n, rec)
                elif arrays is not None:
                    for k, v in rec.items():
                        s0 = start // job.every[k]
                        if job.batched:
                            arrays[k][:, s0:s0 + v.shape[1]] = v
                        else:
                            arrays[k][s0:s0 + v.shape[0]] = v
                else:
                    arrays = rec
                if on_chunk is not None:
                    on_chunk(Recording(_ordered(rec, job), dt=job.dt, t0=t_start, start=start, steps=n, info=info,
                                       batched=job.batched))
        finally:
            chunks.close()  # a stopped run's brain is settled here, not whenever the generator is collected
            job.progress.close()
        if writer is not None:
            result = writer.close()
            result.info = info
            return result
        return Recording(_ordered(arrays or {}, job), dt=job.dt, t0=t_start, steps=job.steps, info=info,
                         batched=job.batched)

    def present(self, samples: Mapping[str, Any], presentation: Any, *, inputs: Mapping[str, Any] | None = None,
                count: Iterable[str] = (), record: Iterable[Any] = (), learn: bool | Mapping[str, bool] = True,
                batch: int | None = None, chunk: int | None = None, on_chunk: Callable[[int, int], Any] | None = None,
                progress: bool | None = None, checkpoint: str | os.PathLike | None = None, resume: bool = False):
        """Present a stream of samples, each for ``presentation.t_present`` ms, compiled as one program per chunk.

        The workload of training and testing: every sample is held on its inputs, then (optionally) rested and / or
        the dynamic state reset; a sample whose response is too weak is presented again with stronger input, decided
        on the device (:class:`spark.Presentation`; the rule of time is in docs/time.md and :mod:`spark.stream`).
        Unbatched streams advance the brain's state (learning included) sample after sample.

        Args:
            samples: input name -> ``(n_samples, *input_shape)`` array; sample ``k`` is held on that input for
                its presentation(s).
            presentation: a :class:`spark.Presentation`: durations (ms), rest, reset and the re-presentation rule.
            inputs: other inputs, held for the whole stream (one value or the input's shape).
            count: ``"node.port"`` Spikes outputs whose spikes are counted over each sample's last presentation.
            record: state monitors (``"exc.theta"``, ``"exc.theta:mean"``) sampled once per sample, at its end.
            learn: plasticity on, off or per part (see :meth:`frozen`).
            batch: present this many samples side by side (``vmap``), learning off and ``reset=True`` required;
                the responses equal an unbatched stream's. The lanes share one copy of the weights (learning off,
                only the dynamic state is carried), and only the samples whose response was weak are presented again
                (in groups of ``ceil(batch / 16)``), so a batch costs what its samples need, not what its weakest
                sample needs.
            chunk: samples per compiled call (default 100; ``batch`` when batched): the unit of progress,
                ``on_chunk`` calls and checkpoints. Results do not depend on it.
            on_chunk: called as ``on_chunk(samples_done, n_samples)`` after each chunk.
            progress: a progress bar on stderr (default: on a terminal, for long streams).
            checkpoint: a ``.npz`` written atomically after each chunk (the brain's state, as :meth:`save_state`,
                plus the stream's progress and results so far). On an interrupt (Ctrl-C) it holds the last finished
                chunk.
            resume: with ``checkpoint``, continue from it if it exists (same model, samples and presentation,
                else SparkError); resuming gives exactly the result of a run that never stopped.

        Returns:
            a :class:`spark.stream.StreamResult`: ``counts``, ``presentations``, ``records`` (all per sample) and
            timing (``seconds``, ``compile_seconds``, ``samples_per_second``).

        Raises:
            spark.GraphError: bad samples (wrong shape, NaN or infinity, out of an encoder's declared range, none at
                all), unknown inputs or ports, a batched stream that learns; all before any compilation.
        """
        from . import stream

        return stream.present(self, samples, presentation, inputs=inputs, count=count, record=record, learn=learn,
                              batch=batch, chunk=chunk, on_chunk=on_chunk, progress=progress, checkpoint=checkpoint,
                              resume=resume)

    def interact(self, env: Any, loop: Any, episodes: int, *, learn: bool | Mapping[str, bool] = True,
                 inputs: Mapping[str, Any] | None = None, seed: int = 0, chunk: int | None = None,
                 on_episode: Callable[[int, Any], Any] | None = None):
        """Act in an environment for ``episodes`` episodes: observation in, action out, reward to a modulator
        (:func:`spark.loop.interact`; timing in docs/reinforcement.md). A :class:`spark.JaxEnvironment` compiles
        with the brain into one program per chunk of episodes; a gymnasium environment costs one compiled call per
        environment step. Returns :class:`spark.Episodes` (lengths, returns, timing)."""
        from . import loop as _loop

        return _loop.interact(self, env, loop, episodes, learn=learn, inputs=inputs, seed=seed, chunk=chunk,
                              on_episode=on_episode)

    def run_iter(self, inputs: Mapping[str, Any] | None = None, steps: int | None = None,
                 record: Iterable[Any] | None = None, *, duration: float | None = None, chunk: int = 1000,
                 batched: bool = False, progress: bool | None = False,
                 learn: bool | Mapping[str, bool] = True, mesh: Any = None) -> Iterator[Recording]:
        """Run like :meth:`run`, yielding each chunk's :class:`spark.Recording` as soon as it is computed.

        ``chunk`` steps at a time (the last chunk may be shorter); each yielded recording has ``start`` (its
        first step counted from the run's start), ``steps`` and ``t0``; its arrays concatenated over the
        chunks equal one uninterrupted :meth:`run`. The next chunk is already computing while you handle one.
        The brain's state is advanced chunk by chunk (unbatched runs): after you stop iterating (``break``,
        ``close()``) it holds the state at the end of the last chunk you received, so a later run continues
        from there. Arguments are checked when this is called, before any step; do not change or run the brain
        while iterating.
        """
        job = self._job(inputs, steps, record, batched, chunk, progress, chunked=True, learn=learn,
                        duration=duration, mesh=mesh)
        self._check_memory(job, 3 * job.chunk_bytes)
        return self._iterate(job)

    def _iterate(self, job: _Job) -> Iterator[Recording]:
        t_start = int(self.t[...])
        info = {b.key: b.info() for b in job.bounds}
        chunks = self._chunks(job)
        try:
            for start, n, rec in chunks:
                yield Recording(_ordered(rec, job), dt=job.dt, t0=t_start, start=start, steps=n, info=info, batched=job.batched)
        finally:
            chunks.close()
            job.progress.close()

    def estimate_recording(self, record: Iterable[Any], steps: int, *, trials: int | None = None
                           ) -> _recording.RecordingEstimate:
        """Memory a recording of ``steps`` steps (of ``trials`` trials if batched) will take, without running.

        Returns a :class:`spark.recording.RecordingEstimate`: ``bytes`` in all, ``arrays`` (key -> shape, dtype,
        bytes) and ``available`` (host memory free now, or None when unknown); ``str()`` of it reads well.
        """
        self._built()
        return _recording.estimate(self._bind(as_monitors(record)), int(steps), trials)

    @property
    def last_run_stats(self) -> dict:
        """Timing of the last run: ``compile_s`` (0 when every program was cached), ``run_s``, ``steps``,
        ``chunks`` (compiled chunks the run took) and ``bytes`` (size of the recording)."""
        return dict(_run_stats.get(self, {}))

    def _check_record(self, ref: str) -> str:
        """Where ``"node.attr"`` is read from (port, variable or method); GraphError naming what exists if nowhere."""
        node, _, attr = ref.rpartition(".")  # node ids may hold dots (the inner nodes of a composite)
        if node not in self.nodes or not attr:
            import difflib

            names = sorted(self.nodes)
            close = difflib.get_close_matches(node, names, n=3, cutoff=0.6)
            listed = names if len(names) <= 20 else [*names[:20], f"... {len(names) - 20} more"]
            raise GraphError(f"cannot record {ref!r}: write \"node.port\" or \"node.variable\" with one of the nodes "
                             f"{listed}" + (f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""))
        module = self.nodes[node]
        source = _mon.source_of(module, attr)
        if source is None:
            ports = ", ".join(type(module).outputs) or "(none)"
            variables = ", ".join(k for k, v in vars(module).items() if isinstance(v, nnx.Variable)) or "(none)"
            methods = ", ".join(_mon.recordable_methods(module))
            raise GraphError(f"cannot record {ref!r}: node {node!r} has no output port or state variable {attr!r}; "
                             f"outputs: {ports}; variables: {variables}" + (f"; methods: {methods}" if methods else ""))
        return source

    def _bind(self, monitors: tuple[Monitor, ...]) -> tuple[_mon.Bound, ...]:
        """Check monitors against this brain and work out each sample's shape (one abstract step, cached)."""
        aliases = dict(self._built().aliases)  # "cell.spikes" (exposed by a composite) -> "cell.soma.spikes"
        monitors = tuple(attrs.evolve(m, target=aliases[m.target], name=m.key) if m.target in aliases else m
                         for m in monitors)
        sources = {m.target: self._check_record(m.target) for m in monitors}
        if not monitors:
            return ()
        graphdef, state = nnx.split(self)
        cache = _run_cache.setdefault(self, {})
        key = ("shapes", graphdef, tuple(sorted(sources.items())))
        raws = cache.get(key)
        if raws is None:
            stacker = _stacking.cached(self, cache)  # groups traced once, not node by node (stacking.py)

            def probe(state):
                if stacker is not None:
                    _, brain, now = stacker.step(stacker.pack(state), {})
                else:
                    brain = nnx.merge(graphdef, state)
                    now = brain._step({})
                return {t: _mon.raw_value(brain, now, Monitor(t), s) for t, s in sources.items()}

            raws = cache[key] = jax.eval_shape(probe, state)
        dt = self._schedule.dt
        bounds = []
        for m in monitors:
            raw = raws[m.target]
            if not isinstance(raw, jax.ShapeDtypeStruct):
                raise GraphError(f"cannot record {m.target!r}: it does not give one array")
            port = type(self.nodes[m.node]).outputs.get(m.attr)
            bounds.append(_mon.bind(m, raw, sources[m.target], port.payload if port else None, dt))
        return tuple(bounds)

    def _job(self, inputs, steps, record, batched, chunk, progress, *, chunked: bool, learn=True,
             duration=None, mesh=None, donate=False) -> _Job:
        """Check everything a run needs (before any step) and plan its chunks."""
        sched = self._built()
        frozen = self.frozen(learn)
        if not isinstance(donate, bool):
            raise GraphError(f"donate={donate!r} must be True or False")
        if donate and (batched or mesh is not None):
            raise GraphError("donate=True gives the brain's state to an unbatched run on one device; a batched run "
                             "leaves the brain's state unchanged (nothing to donate) and a mesh run lays the state "
                             "out anew: drop donate=True")
        if duration is not None:
            if steps is not None:
                raise GraphError(f"give steps={steps!r} or duration={duration!r} (ms), not both")
            if isinstance(duration, bool) or not isinstance(duration, (int, float, np.integer, np.floating)) \
                    or not math.isfinite(duration) or duration <= 0:
                raise GraphError(f"duration={duration!r} must be a finite number of ms > 0")
            steps = to_steps(float(duration), sched.dt)
            if steps < 1:
                raise GraphError(f"duration={duration} ms is less than half a step of dt = {sched.dt} ms; run longer")
        if record is None:  # the declared outputs, under their names
            record = [Monitor(ref, name=name) for name, ref in sched.outputs]
        bounds = self._bind(as_monitors(record))
        series, consts, steps, n_batch = self._prepare_inputs(inputs or {}, steps, batched)
        n_local = n_batch
        split = None
        if mesh is not None and _partition.is_neuron_mesh(mesh):  # one network's neurons split (docs/scaling.md)
            _partition.check_run(mesh, batched)
            split = _partition.layout(self, mesh)
            split.record_specs(self, bounds)  # refuses what cannot be recorded split, before anything runs
            series, consts = split.put_inputs(series, consts)
        elif mesh is not None:  # the trials split over the mesh's devices; this process records its own (scaling.md)
            _sharding.check_mesh(mesh, n_batch)
            n_local = len(_sharding.process_trials(mesh, n_batch))
            cut = jax.sharding.NamedSharding(mesh, _sharding.trial_spec(mesh))
            series = {k: _sharding.put(v, cut) for k, v in series.items()}
            consts = {k: _sharding.put(v, cut) for k, v in consts.items()}
        for b in bounds:  # refused, not an empty array: a monitor that can hold no sample is a mistake
            if b.every > steps:
                raise GraphError(
                    f"cannot record {b.key!r}: it takes one sample every {b.every} steps but the run has {steps} "
                    f"step(s), so it would hold no sample; run at least {b.every} steps or sample more often "
                    f"(every <= {steps})")
        align = math.lcm(*(b.every for b in bounds)) if bounds else 1
        est = _recording.estimate(bounds, steps, n_local)
        if progress is None:
            progress = None if steps > 2 * PROGRESS_CHUNK_MIN else False
        bar = Progress(steps, sched.dt, label=self.name, enabled=progress)
        per_step = sum(b.sample_bytes / b.every for b in bounds) * (n_local or 1)
        if chunk is not None:
            if isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1:
                raise GraphError(f"chunk={chunk!r} must be a whole number of steps >= 1")
            if chunk % align:
                raise GraphError(f"chunk={chunk} must be a multiple of every monitor's `every` (here {align}), so "
                                 f"that each chunk holds whole samples; try chunk={max(align, chunk // align * align)}")
            target = int(chunk)
        else:
            target = None
            if bar.enabled:
                target = min(max(steps // 100, PROGRESS_CHUNK_MIN), PROGRESS_CHUNK_MAX)
            budget = _chunk_budget(est.available)
            if per_step * steps > budget:
                target = min(target or steps, max(1, int(budget // per_step)))
        chunks = _plan_chunks(steps, align, target)
        return _Job(bounds=bounds, series=series, consts=consts, steps=steps, n_batch=n_batch, batched=batched,
                    chunks=chunks, chunked=chunked or len(chunks) > 1, estimate=est, progress=bar, dt=sched.dt,
                    every={b.key: b.every for b in bounds}, frozen=frozen, mesh=mesh, n_local=n_local, split=split,
                    donate=donate, chunk_bytes=int(per_step * max(n for _, n in chunks)))

    def _prepare_inputs(self, inputs, steps, batched):
        sched = self._schedule
        if isinstance(steps, bool) or (steps is not None and not isinstance(steps, (int, np.integer))):
            raise GraphError(f"steps = {steps!r} must be a positive integer (a number of steps, not "
                             f"{type(steps).__name__})")
        specs = {name: (ref, shape, dtype) for name, ref, shape, dtype, _ in sched.inputs}
        unknown = set(inputs) - set(specs)
        if unknown:
            raise GraphError(f"unknown input(s) {sorted(unknown)}; this brain's inputs are: {sorted(specs) or 'none'}")
        series, consts = {}, {}
        n_batch = None
        for name, value in inputs.items():
            ref, shape, dtype = specs[name]
            x = _inputs.check_values(name, value, device=True)  # a device array stays on its device
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
                # chunks are sliced from it where it is: host data on the host, a device array on its device
                series[name] = x.astype(dtype) if isinstance(x, jax.Array) else np.asarray(x, dtype)
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

    def _check_memory(self, job: _Job, need: int) -> None:
        if job.batched and job.n_batch:  # every trial carries its own copy of the state (docs/brain.md)
            check_batched_memory(self, int(job.n_local or job.n_batch))  # a process holds its own trials
        avail = job.estimate.available
        if avail is None or need <= MEMORY_FRACTION * avail:
            return
        raise RecordingMemoryError(
            f"this recording needs about {_recording.fmt_bytes(need)} of memory but only "
            f"{_recording.fmt_bytes(avail)} is available. Recording: {job.estimate}. Record less: a subset of "
            "neurons (spark.Monitor(..., neurons=slice(0, 100)) or \"exc.v[0:100]\"), a population rate "
            "(reduce=\"rate\" or \"exc.spikes:rate\"), a sample every k steps (every=k or \"syn.weight@100\"); "
            "or stream it to disk: brain.run(..., out=\"folder\")"
            + (" with smaller chunks (chunk=...)" if job.chunked else ""))

    def _chunks(self, job: _Job, update_each: bool = True) -> Iterator[tuple[int, int, dict]]:
        """Run the job's chunks in order, one chunk ahead of the caller; yield ``(start, n, numpy arrays)``.

        The brain's state is updated (unbatched runs) to the end of each chunk before it is yielded; with
        ``update_each=False`` (nobody looks at the brain between chunks) a stacked run's packed state is unpacked
        into the brain once, when the chunks end or stop (stacking.py: unpacking costs per node), to the same state.
        """
        graphdef, state = nnx.split(self)
        cache = _run_cache.setdefault(self, {})
        mode = "single" if not job.batched else ("carried" if job.chunked else "shared")
        stacker = None
        if job.split is None:  # nodes of one component, shape and params stepped together (stacking.py)
            stacker = _stacking.cached(self, cache)
            if stacker is not None:
                state = stacker.pack(state)
        if job.split is not None:  # every device holds its neurons' blocks and what they share whole
            state = job.split.put_state(state)
        elif job.mesh is not None:  # shared state replicated, per-trial state split: every device holds its trials
            state = jax.tree.map(lambda x: _sharding.put(x, jax.sharding.NamedSharding(job.mesh, P())), state)
        if mode == "carried":
            state = (_batch_state(graphdef, state, job.n_batch, job.mesh) if stacker is None else
                     stacker.batch(state, job.n_batch, job.mesh, _sharding.trial_spec(job.mesh) if job.mesh else None))
        stats = {"compile_s": 0.0, "run_s": 0.0, "steps": 0, "chunks": len(job.chunks),
                 "bytes": job.estimate.bytes}
        _run_stats[self] = stats
        bar = job.progress
        t_begin = time.perf_counter()
        pending = None
        dispatched = False
        finished = [None]  # a stacked run's packed state after the last finished chunk, not yet in the brain

        def finish(p):
            start, n, rec, new_state = p
            out = {k: _sharding.local(v) for k, v in rec.items()}  # waits for the chunk; this process's trials
            if not out:
                jax.block_until_ready(new_state)
            if job.split is not None:  # rearranged storage (e.g. sparse rows) back in its whole layout
                out = job.split.unpack_records(job.bounds, out)
                new_state = job.split.unpack_state(nnx.state(self), new_state)
            if not job.batched:
                if stacker is None:
                    nnx.update(self, new_state)
                elif update_each:
                    nnx.update(self, stacker.unpack(new_state))
                else:
                    finished[0] = new_state
            stats["steps"] = start + n
            stats["run_s"] = time.perf_counter() - t_begin - stats["compile_s"]
            bar.update(start + n)
            return start, n, out

        try:
            for start, n in job.chunks:
                if start == 0 and n == job.steps:
                    xs = job.series
                else:
                    xs = {k: (v[:, start:start + n] if job.batched else v[start:start + n])
                          for k, v in job.series.items()}
                key = (graphdef, n, job.bounds, mode, job.frozen, _signature(xs), _signature(job.consts), job.mesh,
                       stacker is not None, job.donate)
                fn = cache.get(key)
                if fn is None:
                    if start == 0:
                        bar.compiling()
                    t0 = time.perf_counter()
                    if job.split is not None:
                        local_bounds, rec_specs = job.split.record_specs(self, job.bounds)
                        fn = job.split.compile(_compile_chunk(job.split.graphdef, n, local_bounds, mode, job.dt,
                                                              job.frozen), xs, job.consts, rec_specs)
                    else:
                        fn = _compile_chunk(graphdef, n, job.bounds, mode, job.dt, job.frozen, job.mesh, stacker,
                                            donate=job.donate)
                    fn = cache[key] = compile_unrolled(fn, state, xs, job.consts)
                    stats["compile_s"] += time.perf_counter() - t0
                bar.running()
                # dispatched; runs while the previous chunk is handed out. `state` is now the chunk in flight's
                state, rec = fn(state, xs, job.consts)
                dispatched = True
                if pending is not None:
                    yield finish(pending)
                pending = (start, n, rec, state)
            if pending is not None:
                yield finish(pending)
        except BaseException as exc:
            if job.donate and dispatched:  # the brain's arrays went to the chunk in flight: keep its result
                finished[0] = None
                try:
                    jax.block_until_ready(state)
                except Exception as lost:
                    raise SparkError(f"the run stopped ({type(exc).__name__}: {exc}) and the state it was given with "
                                     f"donate=True is lost ({lost}); load a saved state (load_state) or rebuild the "
                                     "brain") from exc
                nnx.update(self, state if stacker is None else stacker.unpack(state))
            raise
        finally:
            if finished[0] is not None:
                nnx.update(self, stacker.unpack(finished[0]))

    # ----- saving state -------------------------------------------------------------------------------------------

    def save_state(self, path: str | os.PathLike, *, extra: Mapping[str, Any] | None = None) -> None:
        """Write every state array (weights, traces, potentials, time, delay buffers) to an ``.npz``, atomically.

        ``extra``: more arrays to keep in the same file (names starting and ending with ``__``; e.g. a stream's
        progress), which :meth:`load_state` ignores."""
        self._built()
        flat = nnx.to_flat_state(nnx.state(self))
        arrays = {"/".join(map(str, p)): np.asarray(jax.device_get(v.get_value())) for p, v in flat}
        arrays["__spark_model__"] = np.array(self._doc_json)
        for k, v in (extra or {}).items():
            if not (k.startswith("__") and k.endswith("__")) or k == "__spark_model__":
                raise SparkError(f"save_state: extra array name {k!r} must look like '__name__' (and not be "
                                 "'__spark_model__'), so it cannot clash with a state path")
            arrays[k] = np.asarray(v)
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        sparkfile.atomic_write_bytes(path, buf.getvalue())

    def load_state(self, path: str | os.PathLike) -> "Brain":
        """Restore state saved by :meth:`save_state` from a brain with the same nodes, edges and shapes.

        Raises:
            spark.SparkError: a ``StateFileError`` naming the file and the fix when it is missing, not a state
                file (truncated, random bytes), damaged or inflated (names, shapes, dtypes and sizes are checked
                from the zip directory and the array headers before any data is decompressed), saved from another
                model (other nodes, components, shapes or edges), or holds complex, NaN or overflowing values.
        """
        self._built()
        flat = nnx.to_flat_state(nnx.state(self))
        mine = {"/".join(map(str, p)): v for p, v in flat}
        expected = {k: (tuple(np.shape(v.get_value())), np.dtype(v.get_value().dtype)) for k, v in mine.items()}
        saved = _statefile.read_state(path, expected, self._doc_json)
        new = [(p, v.replace(jnp.asarray(saved["/".join(map(str, p))], dtype=v.get_value().dtype))) for p, v in flat]
        nnx.update(self, nnx.from_flat_state(new))
        return self


def _own_copy(x):
    """``x`` in buffers of its own: a concrete jax.Array copied on its device (what a donating run may consume);
    a traced value (a reset inside a compiled workload) or anything else as it is."""
    return jnp.array(x, copy=True) if isinstance(x, jax.Array) and not isinstance(x, jax.core.Tracer) else x


@contextlib.contextmanager
def _component_errors(brain: Brain, node: str):
    """Turn an exception raised by node ``node``'s step into a :class:`ComponentStepError` that names it."""
    try:
        yield
    except SparkError:
        raise
    except Exception as exc:
        cls = type(brain.nodes[node])
        try:
            entry = next(e for e in brain._registry_or_default() if e.cls is cls)
            what = f"component {entry.id} (pack {entry.distribution} {entry.version})"
        except Exception:
            what = f"component {cls.__module__}.{cls.__qualname__}"
        if isinstance(exc, ValueError):  # the component refused its inputs: its message says why
            raise ComponentValueError(f"node {node!r}: {what} refused its step: {exc}") from exc
        raise ComponentStepError(
            f"node {node!r}: {what} failed in its step: {type(exc).__name__}: {exc}; this is a bug in that pack "
            "(report it to its authors) or an input or parameter it does not check") from exc


def _plain(value: Any) -> Any:
    """A numpy or JAX scalar (``np.float32(10)``, a 0-d array) as the Python number it holds, an array as nested
    lists, lists and tuples item by item (as lists); anything else unchanged (the params check judges it)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (np.ndarray, jax.Array)):  # a 0-d array -> its number; others -> nested lists
        return np.asarray(value).tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _variable(brain: Brain, ref: str) -> nnx.Variable:
    nid, name = ref.rsplit(".", 1)
    return getattr(brain.nodes[nid], name)


def _accepts(cls: type, name: str) -> bool:
    """Whether ``cls(...)`` takes the keyword ``name`` (by name or through ``**kwargs``): a pack's synapse written
    before the Brain passed ``same_population`` keeps building (it then guesses from its shape, as built alone)."""
    try:
        params = inspect.signature(cls.__init__).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == name or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


def _same_population(plan: _graph.Plan, node: str) -> bool:
    """Whether synapse ``node`` joins a population to itself: a node feeds its presynaptic port and receives one of
    its outputs (so ``i -> i`` is an autapse). Two different nodes are two populations, whatever their sizes."""
    pre_ports = plan.nodes[node].cls.pre_ports
    touching = _edges_by_node(plan).get(node, ())
    pre = {e.src for e in touching if e.dst == node and e.dst_port in pre_ports}
    post = {e.dst for e in touching if e.src == node}
    return bool(pre & post)


_touching: list = [lambda: None, {}]  # (weak reference to the last plan, its index)


def _edges_by_node(plan: _graph.Plan) -> dict[str, list[_graph.EdgePlan]]:
    """Node id -> the edges that start or end at it, indexed once per plan (not one scan of all edges per node)."""
    if _touching[0]() is not plan:
        index: dict[str, list[_graph.EdgePlan]] = {}
        for e in plan.edges:
            index.setdefault(e.src, []).append(e)
            if e.dst != e.src:
                index.setdefault(e.dst, []).append(e)
        _touching[:] = [weakref.ref(plan), index]
    return _touching[1]


def estimate_model(plan: _graph.Plan) -> _memory.ModelEstimate:
    """The memory a model's plan needs once built and run (:class:`spark.memory.ModelEstimate`), from each
    component's :meth:`~spark.Component.memory_estimate` and the delay buffers; nothing is allocated."""
    items, state, scratch, synapses, memo = [], 16, 0, {}, {}  # 16: the key, clock and trial
    totals = {"node": 0, "synapse": 0, "delay buffer": 0}
    rules = [n for n in plan.nodes.values() if n.attach is not None]
    for n in [n for n in plan.nodes.values() if n.attach is None] + rules:  # synapses before their rules
        if not n.shape:
            continue
        key = (n.cls, n.params, n.shape, synapses.get(n.attach))
        try:
            fp = memo.get(key)
        except TypeError:  # unhashable params
            key, fp = None, None
        if fp is None:
            try:
                fp = n.cls.memory_estimate(n.params, n.shape, dt=plan.dt, synapses=synapses.get(n.attach))
            except Exception:  # a pack's estimate that fails must not stop the build: eight floats per element
                fp = _memory.Footprint(state=math.prod(n.shape) * 8 * _memory.F32)
            if key is not None:
                memo[key] = fp
        synapses[n.id] = fp.synapses or math.prod(n.shape)
        what = "synapse" if n.attach is not None or issubclass(n.cls, Synapse) else "node"
        items.append((int(fp.state), what, n))
        totals[what] += int(fp.state)
        state += int(fp.state)
        scratch = max(scratch, int(fp.scratch))
    depth: dict[str, int] = {}
    for e in plan.edges:  # the delay buffers _make_schedule will make
        if e.delay_steps > 0:
            ref = f"{e.src}.{e.src_port}"
            depth[ref] = max(depth.get(ref, 0), e.delay_steps)
    for ref, d in depth.items():
        node, port = ref.rsplit(".", 1)
        n = plan.nodes[node]
        b = _memory.buffer_bytes(d, n.port_shape(port), n.cls.outputs[port].payload.dtype)
        items.append((b, "delay buffer", f"delay buffer of {ref} ({d} steps)"))
        totals["delay buffer"] += b
        state += b
    top = heapq.nlargest(_memory.TOP, items, key=lambda it: it[0])
    parts = tuple((what, x if isinstance(x, str) else f"node {x.id!r} ({x.entry.id}, shape {list(x.shape)})", b)
                  for b, what, x in top)
    limit, origin = _memory.budget()
    return _memory.ModelEstimate(parts, state, scratch, limit, origin,
                                 tuple((k, v) for k, v in sorted(totals.items(), key=lambda kv: -kv[1]) if v))


def check_model_memory(plan: _graph.Plan, name: str) -> _memory.ModelEstimate:
    """Raise :class:`spark.ModelMemoryError` when the model would not fit (``SPARK_MEMORY_LIMIT`` overrides)."""
    est = estimate_model(plan)
    if not est.fits():
        raise _memory.ModelMemoryError(
            f"{name}: this model needs {est}; that is more than {int(_memory.MEMORY_FRACTION * 100)}% of "
            f"{_recording.fmt_bytes(est.available)}, so it was not built. Fix: {est.advice()}")
    return est


def check_batched_memory(brain: Brain, trials: int, *, dynamic_only: bool = False, what: str = "a batched run",
                         unit: str = "trials") -> None:
    """Raise :class:`spark.ModelMemoryError` when ``trials`` copies of the built brain's state would not fit.

    ``dynamic_only``: the copies hold only the dynamic state (potentials, traces, buffers: a batched stream's lanes,
    which share the weights), plus one copy of everything. ``what`` and ``unit`` name the workload in the message.
    """
    limit, origin = _memory.budget()
    if limit is None:
        return

    def nbytes(tree):
        return sum(int(x.size) * x.dtype.itemsize for x in jax.tree.leaves(tree) if hasattr(x, "dtype"))

    full = nbytes(nnx.state(brain))
    per = nbytes(brain.dynamic_state()) if dynamic_only else full
    base = full if dynamic_only else 0
    need = (per * trials + base) * _memory.RUN_FACTOR
    if need <= _memory.MEMORY_FRACTION * limit:
        return
    fit = max(1, int((_memory.MEMORY_FRACTION * limit / _memory.RUN_FACTOR - base) // max(per, 1)))
    held = "the dynamic state (the weights are shared)" if dynamic_only else "a copy of the model's state"
    raise _memory.ModelMemoryError(
        f"{brain.name or '<brain>'}: {what} of {trials:,} {unit} holds {held} per {unit[:-1]}: "
        f"about {_recording.fmt_bytes(need)} ({_recording.fmt_bytes(per)} x {trials:,} {unit}"
        f"{' + ' + _recording.fmt_bytes(base) if base else ''}, x {_memory.RUN_FACTOR} for a compiled run) but "
        f"{_recording.fmt_bytes(limit)} is available ({origin}), so nothing was run. Fix: run them in batches of "
        f"at most {fit:,} {unit} (several calls), or make the model smaller; if you know it fits, set {_memory.ENV} "
        f"(e.g. {_memory.ENV}=64GiB, or off)")


def _zeros(plan: _graph.Plan, ref: str, depth: int) -> jax.Array:
    node, port = ref.rsplit(".", 1)
    n = plan.nodes[node]
    payload = n.cls.outputs[port].payload
    graded = payload.name == "Spikes" and _surrogate.is_on(n.params)  # float32 0/1 spikes carry gradients
    return jnp.zeros((depth, *n.port_shape(port)), np.float32 if graded else np.dtype(payload.dtype))


def _make_schedule(plan: _graph.Plan) -> _Schedule:
    depth: dict[str, int] = {}
    for e in plan.edges:
        if e.delay_steps > 0:
            ref = f"{e.src}.{e.src_port}"
            depth[ref] = max(depth.get(ref, 0), e.delay_steps)
    key_index = {nid: i for i, nid in enumerate(plan.nodes)}
    feeding: dict[tuple[str, str], list[_Source]] = {}  # (node, port) -> its sources: edges first, then inputs
    for e in plan.edges:
        ref = f"{e.src}.{e.src_port}"
        feeding.setdefault((e.dst, e.dst_port), []).append(
            _Source("buffer", ref, e.delay_steps, depth[ref]) if e.delay_steps else _Source("now", ref))
    fed_by_input: dict[tuple[str, str], list[_Source]] = {}
    for i in plan.inputs:
        fed_by_input.setdefault((i.node, i.port), []).append(_Source("ext", i.name))

    def call(nid: str) -> _Call:
        n = plan.nodes[nid]
        ins = []
        for port, spec in n.cls.inputs.items():
            sources = feeding.get((nid, port), []) + fed_by_input.get((nid, port), [])
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
        aliases=tuple(sorted(plan.aliases.items())),
    )


PROGRESS_CHUNK_MIN = 1000  # steps per chunk when chunking only to show progress ...
PROGRESS_CHUNK_MAX = 10_000  # ... aiming at ~100 updates per run
CHUNK_BYTES = 256 * 2**20  # a run whose recording is larger is chunked so device buffers stay this small
MEMORY_FRACTION = 0.9  # of the available memory a run may plan to fill


@attrs.frozen(eq=False)
class _Job:
    bounds: tuple
    series: dict
    consts: dict
    steps: int
    n_batch: int | None
    batched: bool
    chunks: tuple
    chunked: bool
    estimate: Any
    progress: Progress
    dt: float
    every: dict
    chunk_bytes: int
    frozen: frozenset = frozenset()
    mesh: Any = None  # a jax.sharding.Mesh splitting the trials (docs/scaling.md)
    n_local: int | None = None  # the trials this process records (n_batch with one process)
    split: Any = None  # a partition.Layout: the neurons split over the mesh (docs/scaling.md)
    donate: bool = False  # the state's buffers given to the chunk programs (Brain.run(donate=True))


def _ordered(arrays: Mapping[str, Any], job: _Job) -> dict:
    """The arrays in the order the monitors were given (a jitted program returns dicts sorted by key)."""
    return {b.key: arrays[b.key] for b in job.bounds if b.key in arrays}


def _chunk_budget(available: int | None) -> float:
    budget = float(CHUNK_BYTES)
    if available is not None:
        budget = min(budget, available / 8)
    dev = _recording.device_memory_free()
    if dev is not None:
        budget = min(budget, dev / 4)
    return max(budget, 1.0)


def _plan_chunks(steps: int, align: int, target: int | None) -> tuple[tuple[int, int], ...]:
    """``(start, n)`` per chunk: lengths a multiple of ``align`` (but the last), at most ``target`` where possible,
    preferring equal chunks (one compiled program) over a shorter last one (a second program)."""
    if target is None or steps <= target:
        return ((0, steps),)
    size = max(align, target // align * align)
    for cand in range(size, max(align, size // 2) - 1, -align):
        if steps % cand == 0:
            size = cand
            break
    return tuple((s, min(size, steps - s)) for s in range(0, steps, size))


def _signature(arrays: Mapping[str, Any]) -> tuple:
    return tuple(sorted((k, tuple(v.shape), str(v.dtype)) for k, v in arrays.items()))


def _batch_state(graphdef, state, n_trials: int, mesh=None):
    """``n_trials`` copies of ``state``, trial ``k`` with ``trial`` advanced by ``k`` (its own random numbers); with a
    ``mesh``, made where they are used: split over its devices along the trial axis."""
    def one(state, trial):
        brain = nnx.merge(graphdef, state)
        brain.trial[...] = brain.trial[...] + trial
        return nnx.split(brain)[1]

    make = jax.vmap(one, in_axes=(None, 0))
    if mesh is not None:
        make = jax.jit(make, out_shardings=jax.sharding.NamedSharding(mesh, _sharding.trial_spec(mesh)))
    return make(state, jnp.arange(n_trials, dtype=jnp.int32))


def _compile_chunk(graphdef, n: int, bounds: tuple, mode: str, dt: float, frozen: frozenset = frozenset(),
                   mesh=None, stacker=None, donate: bool = False):
    """The jitted program of one chunk of ``n`` steps: ``(state, series, consts) -> (state, records)``.

    With a ``mesh`` (batched modes), the batched program runs under ``shard_map`` over the trial axis: each device
    gets its trials' inputs (and per-trial state), the shared state replicated, and returns its trials' state and
    records; trial indices (which seed each trial's random numbers) are global, so the result is the unsharded one.

    Monitors sampled every ``k > 1`` steps use nested scans: an outer scan over blocks of ``g`` steps (``g``, the
    gcd of their ``every``) around an inner scan of ``g`` steps, writing a sample at the end of a block when one is
    due into a buffer of ``n // k`` samples, so memory holds only the samples kept. Values of output ports (which
    exist only inside a step) are carried out of the inner scan; state variables are read after the block.
    Chunks start at multiples of every ``k``, so the samples of a chunked run are those of an unchunked one.
    ``donate`` (single mode): the state's buffers are given to the program, which writes the new state into them.
    """
    per_step = tuple(b for b in bounds if b.every == 1)
    sampled = tuple(b for b in bounds if b.every > 1)
    held = tuple(b for b in sampled if b.source == "port")
    after = tuple(b for b in sampled if b.source != "port")
    block = math.gcd(*(b.every for b in sampled)) if sampled else 0

    def values(brain, now, bs):
        return {b.key: _mon.sample(b, _mon.raw_value(brain, now, b.monitor, b.source), dt) for b in bs}

    axes = tuple(mesh.axis_names) if mesh is not None else ()

    def chunk_run(state, series, consts):
        state = _sharding.vary(state, axes)  # typed per device, as the carry that the steps return is

        def step(state, x_t):
            if stacker is not None:  # the state packed by stacker: groups of nodes stepped together (stacking.py)
                state, brain, now = stacker.step(state, {**consts, **x_t}, frozen)
                return _sharding.vary(state, axes), brain, now
            brain = nnx.merge(graphdef, state)
            now = brain._step({**consts, **x_t}, frozen)
            # a pack's kernel whose outputs lost their per-device type (an FFI call's do) keeps the carry's type
            return _sharding.vary(nnx.split(brain)[1], axes), brain, now

        def flat(state, x_t):
            state, brain, now = step(state, x_t)
            return state, values(brain, now, per_step)

        if not sampled:
            return jax.lax.scan(flat, state, series, length=n)

        def inner(carry, x_t):
            state, _ = carry
            state, brain, now = step(state, x_t)
            return (state, values(brain, now, held)), values(brain, now, per_step)

        def outer(carry, xs):
            state, bufs, held_vals, i = carry
            (state, held_vals), rec = jax.lax.scan(inner, (state, held_vals), xs, length=block)
            vals = {**held_vals, **values(stacker.view(state) if stacker is not None else nnx.merge(graphdef, state),
                                          None, after)}
            end = (i + 1) * block
            new = {}
            for b in sampled:
                if not n // b.every:  # a chunk shorter than `every` (a run's last) holds no sample of it
                    new[b.key] = bufs[b.key]
                    continue
                slot = jnp.where(end % b.every == 0, end // b.every - 1, n // b.every)  # out of range: dropped
                new[b.key] = bufs[b.key].at[slot].set(vals[b.key], mode="drop")
            return (state, new, held_vals, i + 1), rec

        q, r = divmod(n, block)
        bufs = {b.key: jnp.zeros((n // b.every, *b.shape), b.dtype) for b in sampled}
        held0 = {b.key: jnp.zeros(b.shape, b.dtype) for b in held}
        main = jax.tree.map(lambda x: x[: q * block].reshape(q, block, *x.shape[1:]), series)
        (state, bufs, _, _), rec = jax.lax.scan(outer, (state, bufs, held0, jnp.int32(0)), main, length=q)
        rec = jax.tree.map(lambda x: x.reshape(q * block, *x.shape[2:]), rec)
        if r:  # a last chunk shorter than a block holds no sample
            tail = jax.tree.map(lambda x: x[q * block:], series)
            state, rec_tail = jax.lax.scan(flat, state, tail, length=r)
            rec = jax.tree.map(lambda a, b: jnp.concatenate([a, b]), rec, rec_tail)
        return state, {**rec, **bufs}

    if mode == "single":
        return jax.jit(chunk_run, donate_argnums=(0,) if donate else ())
    spec = _sharding.trial_spec(mesh) if mesh is not None else None
    if mode == "carried":  # every trial's state was made by _batch_state and is carried from chunk to chunk
        if mesh is None:
            return jax.jit(lanes.vmap(chunk_run))
        return jax.jit(jax.shard_map(lanes.vmap(chunk_run), mesh=mesh, in_specs=spec, out_specs=spec))

    def shared(state, series, consts):  # one call: every trial starts from the one state (not copied up front)
        n_trials = jax.tree.leaves((series, consts))[0].shape[0]  # this device's trials under shard_map
        first = jax.lax.axis_index(axes) * n_trials if axes else 0  # the global index of its first trial

        def one(state, series, consts, trial):
            if stacker is not None:
                return chunk_run(stacker.with_trial(state, trial), series, consts)
            brain = nnx.merge(graphdef, state)
            brain.trial[...] = brain.trial[...] + trial
            return chunk_run(nnx.split(brain)[1], series, consts)

        trials = first + jnp.arange(n_trials, dtype=jnp.int32)
        return lanes.vmap(one, in_axes=(None, 0, 0, 0))(state, series, consts, trials)

    if mesh is None:
        return jax.jit(shared)
    return jax.jit(jax.shard_map(shared, mesh=mesh, in_specs=(P(), spec, spec), out_specs=spec))
