"""Model-parallel populations: one network's neurons split across devices (docs/scaling.md).

An unbatched run on a neuron mesh (``brain.run(inputs, steps, mesh=spark.sharding.neuron_mesh())``) gives each
device a contiguous block of every population's neurons (the leading axis of its shape), and of every synapse the
columns onto its postsynaptic neurons (weights, masks, currents, postsynaptic traces: all that is per postsynaptic
neuron); a learning rule follows its synapse. Each device runs the same step on its blocks, inside
:func:`jax.shard_map`; where a node reads a whole vector that is held in blocks (a synapse's or a rule's presynaptic
spikes), the blocks are exchanged once per step and source: bit-packed (8 spikes a byte) and all-gathered. Nothing
else crosses devices during a run: not weights, currents or state. What a run records comes back as whole arrays,
assembled from the blocks at the end of each chunk.

How a node splits is found, not configured: the node is built once more at its block's shape (a population's
``(n / D, ...)``, a synapse's ``(n_pre, n_post / D)``); its state variables whose shapes shrank are split along the
axis that shrank, the others are held whole on every device (a presynaptic trace, a step counter), and so are its
ports. A component takes part only if it says it may (:attr:`spark.Component.partitionable`, checked per node by
:meth:`spark.Component.partition_problem`): its step must treat neurons (or postsynaptic columns) independently.

- A population that does not say so, or that draws random numbers each step (``stochastic``), runs whole on every
  device (the same key gives the same numbers), and the blocks it feeds are cut from its output: correct, with the
  compute of the unsplit population on each device.
- A synapse or rule onto a split population that cannot split (it does not say so, or it draws random numbers) is
  refused, naming the node. Storage in which no axis can be cut into the devices' blocks (sparse rows of
  postsynaptic indices) is rearranged by the node's :class:`Relayout`: packed when a split run starts, unpacked after
  each chunk, so the brain's state and its recordings keep the whole layout.
- A population whose leading size is not a multiple of the mesh's size is refused, naming both sizes.

The state stays whole outside a run (a split run leaves each array sharded over the mesh; :meth:`Brain.save_state`
writes full arrays), so a state saved from a run on any number of devices restores on any other.
"""

from __future__ import annotations

import contextlib
import contextvars
import weakref
from typing import Any

import attrs
import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from .component import Synapse, _Projection
from .errors import GraphError

AXIS = "neurons"  # the axis name of spark.sharding.neuron_mesh()

_active: contextvars.ContextVar[Layout | None] = contextvars.ContextVar("spark_partition", default=None)
_shapes_only: contextvars.ContextVar[bool] = contextvars.ContextVar("spark_partition_shapes", default=False)
_layouts: weakref.WeakKeyDictionary[Any, dict] = weakref.WeakKeyDictionary()


def is_neuron_mesh(mesh: Any) -> bool:
    """Whether ``mesh`` splits neurons (its only axis is named ``"neurons"``) rather than trials."""
    return isinstance(mesh, Mesh) and tuple(mesh.axis_names) == (AXIS,)


def active() -> Layout | None:
    """The layout of the split step being traced, or None (the Brain's step asks it where a value must be
    gathered or cut)."""
    return _active.get()


@contextlib.contextmanager
def _stepping(layout: Layout, *, shapes_only: bool = False):
    """Steps traced inside are one device's (``shapes_only``: outside ``shard_map``, for their shapes alone)."""
    token, token2 = _active.set(layout), _shapes_only.set(shapes_only)
    try:
        yield
    finally:
        _active.reset(token)
        _shapes_only.reset(token2)


def gather_spikes(x: jax.Array, axis: str = AXIS, *, bits: bool = False) -> jax.Array:
    """Every device's block of ``x`` joined in device order, flat. Booleans, and with ``bits`` any 0/1 values (a
    surrogate soma's float32 spikes), travel bit-packed (uint8, 8 a byte); other values as they are."""
    flat = x.reshape(-1)
    if flat.dtype == jnp.bool_ or bits:
        packed = jnp.packbits(flat != 0)
        whole = jax.lax.all_gather(packed, axis)  # (devices, bytes)
        return jnp.unpackbits(whole, axis=1, count=flat.shape[0]).reshape(-1).astype(flat.dtype)
    return jax.lax.all_gather(flat, axis, tiled=True)


def column_sum(x: jax.Array) -> jax.Array:
    """``x.sum(axis=0)`` in a fixed order (halves added elementwise, rows padded with zeros to a power of two), so
    that the bits of a column's sum do not depend on how many columns ``x`` has: a block of columns sums as that
    block of the whole (XLA's own reduction picks its order by shape). For per-postsynaptic sums of weights."""
    n = x.shape[0]
    if n == 0:
        return jnp.zeros(x.shape[1:], x.dtype)
    full = 1 << (n - 1).bit_length()
    if full != n:
        x = jnp.concatenate([x, jnp.zeros((full - n, *x.shape[1:]), x.dtype)])
    while x.shape[0] > 1:
        half = x.shape[0] // 2
        x = x[:half] + x[half:]
    return x[0]


def cut(x: jax.Array, devices: int, axis: str = AXIS) -> jax.Array:
    """This device's block of the whole (flat) ``x``."""
    flat = x.reshape(-1)
    m = flat.shape[0] // devices
    return jax.lax.dynamic_slice_in_dim(flat, jax.lax.axis_index(axis) * m, m)


class Relayout:
    """How a node's state is held on a neuron mesh when cutting one axis cannot give each device its block (returned
    by :meth:`spark.Component.partition_relayout`). Sparse storage is the example: rows of postsynaptic indices, in
    which the synapses onto one device's neurons are scattered over every row.

    The node's rearranged variables (:attr:`names`) are **packed**: :meth:`pack` turns the whole array into one
    whose blocks along one axis are the devices' (device ``d``'s block is what the node built at its block's shape
    holds, with its own indices), and :meth:`unpack` writes a packed array back into the whole one. The brain's
    state stays whole outside a run: it is packed when a split run starts and unpacked after each chunk, and a
    recorded rearranged variable comes back whole. A learning rule attached to the node follows it: each of the
    rule's state variables of shape :attr:`slot_shape` (one value per synapse, e.g. an eligibility trace) is packed
    with ``name=None``.
    """

    #: the node's variables that are rearranged (the others are cut along the axis that shrinks, or held whole)
    names: frozenset = frozenset()
    #: the shape of the node's per-synapse arrays (its weights)
    slot_shape: tuple = ()

    def pack(self, name: str | None, x: jax.Array) -> jax.Array:
        """The whole ``x`` (variable ``name`` of the node; ``None``: an attached rule's per-synapse array) packed:
        its blocks along one axis are the devices' blocks."""
        raise NotImplementedError

    def unpack(self, name: str | None, old: jax.Array, packed: jax.Array) -> jax.Array:
        """The whole array with the values of ``packed`` written into ``old`` (what the packing left out, e.g.
        the padding of a row, keeps ``old``'s values; a variable that a run cannot change may return ``old``)."""
        raise NotImplementedError


@attrs.frozen(eq=False)
class Layout:
    """How one built brain splits over one neuron mesh (made by :func:`layout`)."""

    mesh: Mesh
    devices: int
    graphdef: Any  # the brain built at its blocks' shapes: what each device steps
    local: Any  # that brain (for binding monitors at the blocks' shapes)
    state_specs: Any  # a PartitionSpec per leaf of nnx.split(brain)[1]
    split_ports: frozenset  # "node.port" of every port whose value is a block
    split_nodes: tuple
    input_split: dict  # input name -> whether its port's value is a block
    whole_buffers: frozenset  # delay buffers of split values that hold them whole (gathered as they are written)
    spike_ports: frozenset = frozenset()  # "node.port" of every output carrying Spikes (0/1: sent as bits)
    relayouts: dict = attrs.field(factory=dict)  # node id -> (Relayout, whether the node owns it or is its rule)

    def _relaid(self, node: str, name: str, shape: tuple) -> Relayout | None:
        """The Relayout that rearranges variable ``name`` (shape ``shape``) of ``node``, or None."""
        entry = self.relayouts.get(node)
        if entry is None:
            return None
        rl, own = entry
        if own:
            return rl if name in rl.names else None
        return rl if tuple(shape) == tuple(rl.slot_shape) else None

    def _map(self, whole: Any, fn: Any, other: Any = None) -> Any:
        """``fn(relayout, name, x[, other_leaf])`` on every rearranged leaf of the whole state ``whole`` (the
        leaves of ``other``, of the same structure, beside them); returns ``whole``'s leaves, or ``other``'s where
        ``other`` is given, with those results in place."""
        rest = None if other is None else jax.tree.leaves(other)
        out = []
        for i, (path, x) in enumerate(_flat(whole)):
            rl = (self._relaid(path[1], path[2], _shape(x)) if len(path) >= 3 and path[0] == "nodes"
                  else None)
            name = path[2] if rl is not None and self.relayouts[path[1]][1] else None
            if rl is None:
                out.append(x if rest is None else rest[i])
            else:
                out.append(fn(rl, name, x) if rest is None else fn(rl, name, x, rest[i]))
        return jax.tree.unflatten(jax.tree.structure(whole if other is None else other), out)

    def pack_state(self, state: Any) -> Any:
        """The brain's whole state with every rearranged variable packed (:class:`Relayout`)."""
        if not self.relayouts:
            return state
        return self._map(state, lambda rl, name, x: rl.pack(name, x))

    def unpack_state(self, old: Any, new: Any) -> Any:
        """``new`` (a split run's state, packed) as the brain holds it: every rearranged variable written back into
        its whole array in ``old`` (the brain's state before the run)."""
        if not self.relayouts:
            return new
        return self._map(old, lambda rl, name, o, packed: rl.unpack(name, o, packed), new)

    def unpack_records(self, bounds: tuple, records: dict) -> dict:
        """A chunk's records (time first) with every recorded rearranged variable back in its whole layout."""
        out = dict(records)
        for g in bounds:
            rl = self._record_relayout(g)
            if rl is None or g.key not in out:
                continue
            name = g.monitor.attr if self.relayouts[g.monitor.node][1] else None
            fill = jnp.zeros(g.raw_shape, jnp.dtype(g.dtype))
            out[g.key] = np.asarray(jax.vmap(lambda p, rl=rl, name=name, fill=fill: rl.unpack(name, fill, p))(
                out[g.key]))
        return out

    def _record_relayout(self, g: Any) -> Relayout | None:
        m = g.monitor
        return self._relaid(m.node, m.attr, g.raw_shape) if g.source == "variable" else None

    def fit(self, x: jax.Array, source: Any, dst: str, cache: dict) -> jax.Array:
        """``x`` from ``source`` (a schedule source) as the port ``dst`` ("node.port") holds it: gathered (once per
        step and source) where the source is split and the port is whole, cut where it is the other way round."""
        held_whole = source.kind == "buffer" and source.ref in self.whole_buffers
        src_split = source.ref in self.split_ports and not held_whole
        if src_split == (dst in self.split_ports):
            return x
        key = (source.kind, source.ref, source.delay, src_split)
        if key not in cache:
            if _shapes_only.get():  # no mesh axis to exchange over: the shapes of the exchanged values
                flat = x.reshape(-1)
                cache[key] = jnp.tile(flat, self.devices) if src_split else flat[: flat.shape[0] // self.devices]
            else:
                cache[key] = (gather_spikes(x, bits=source.ref in self.spike_ports) if src_split
                              else cut(x, self.devices))
        return cache[key]

    def widen(self, ref: str, x: jax.Array, cache: dict) -> jax.Array:
        """The value of ``ref`` as its delay buffer holds it: gathered (sharing this step's gather of it, if a node
        read it whole) where the buffer holds it whole."""
        if ref not in self.whole_buffers:
            return x
        from .brain import _Source

        return self.fit(x, _Source("now", ref), "", cache)

    def record_specs(self, brain: Any, bounds: tuple) -> tuple[tuple, dict]:
        """The monitors bound at the blocks' shapes, and each record's PartitionSpec (time first)."""
        with _stepping(self, shapes_only=True):
            local_bounds = self.local._bind(tuple(b.monitor for b in bounds))
        specs = {}
        for g, loc in zip(bounds, local_bounds, strict=True):
            m = g.monitor
            rl = self._record_relayout(g)
            if rl is not None:  # recorded packed (each device's block), unpacked when the chunk ends
                if m.neurons is not None or m.index is not None or m.reduce is not None:
                    raise GraphError(
                        f"cannot record {m.key!r} on a neuron mesh: {m.target} is rearranged across {self.devices} "
                        f"devices (its storage holds each device's synapses apart), and a selection or reduction of "
                        f"it is not supported; record {m.target!r} whole and select or reduce it afterwards")
                name = m.attr if self.relayouts[m.node][1] else None
                packed = jax.eval_shape(lambda x, rl=rl, name=name: rl.pack(name, x),
                                        jax.ShapeDtypeStruct(g.raw_shape, jnp.dtype(g.dtype)))
                specs[g.key] = PartitionSpec(None, *_split_dims(packed.shape, loc.shape, self.devices, m.target))
                continue
            raw_split = m.target in self.split_ports if g.source == "port" else g.raw_shape != loc.raw_shape
            if raw_split and (m.neurons is not None or m.index is not None or m.reduce is not None):
                raise GraphError(
                    f"cannot record {m.key!r} on a neuron mesh: {m.target} is split across "
                    f"{self.devices} devices, and a selection or reduction of it is not supported yet; record "
                    f"{m.target!r} whole (its array comes back whole) and select or reduce it afterwards")
            specs[g.key] = PartitionSpec(None, *_split_dims(g.shape, loc.shape, self.devices, m.target))
        return local_bounds, specs

    def compile(self, chunk_fn: Any, xs: dict, consts: dict, rec_specs: dict):
        """``chunk_fn`` (the chunk program of the brain at its blocks' shapes, from ``brain._compile_chunk``) as one
        jitted program over the mesh: ``(state, xs, consts) -> (state, records)``, with every array whole outside."""
        fn = getattr(chunk_fn, "__wrapped__", chunk_fn)

        def body(state, xs, consts):
            with _stepping(self):
                return fn(state, xs, consts)

        xs_specs = {k: PartitionSpec(None, AXIS) if self.input_split[k] else PartitionSpec() for k in xs}
        c_specs = {k: PartitionSpec(AXIS) if self.input_split[k] and np.ndim(v) else PartitionSpec()
                   for k, v in consts.items()}
        return jax.jit(jax.shard_map(body, mesh=self.mesh, in_specs=(self.state_specs, xs_specs, c_specs),
                                     out_specs=(self.state_specs, rec_specs), check_vma=False))

    def put_state(self, state: Any) -> Any:
        """The brain's state (``nnx.split(brain)[1]``) placed as the run holds it: blocks on their devices (the
        rearranged variables packed first)."""
        return jax.tree.map(lambda x, s: _put(x, NamedSharding(self.mesh, s)), self.pack_state(state),
                            self.state_specs)

    def put_inputs(self, series: dict, consts: dict) -> tuple[dict, dict]:
        """A run's inputs placed as the run reads them: an input to a split port in blocks, others whole."""
        def one(x, spec):
            return _put(x, NamedSharding(self.mesh, spec))
        series = {k: one(v, PartitionSpec(None, AXIS) if self.input_split[k] else PartitionSpec())
                  for k, v in series.items()}
        consts = {k: one(v, PartitionSpec(AXIS) if self.input_split[k] and np.ndim(v) else PartitionSpec())
                  for k, v in consts.items()}
        return series, consts


def _put(x, sharding):
    from .sharding import put
    return put(x, sharding)


def _key(entry: Any) -> str:
    return str(getattr(entry, "key", getattr(entry, "name", getattr(entry, "idx", entry))))


def _flat(state) -> list:
    """``(path, array)`` for every leaf of ``state``, in the order of ``jax.tree.leaves``."""
    return [(tuple(_key(k) for k in path), v) for path, v in jax.tree_util.tree_flatten_with_path(state)[0]]


def _shape(x: Any) -> tuple:
    return tuple(x.shape) if hasattr(x, "shape") else np.shape(x)


def _split_dims(whole: tuple, block: tuple, devices: int, what: str) -> tuple:
    """The PartitionSpec entries of an array of shape ``whole`` held as ``block`` on each device."""
    whole, block = tuple(whole), tuple(block)
    if whole == block:
        return (None,) * len(whole)
    changed = ([i for i, (a, b) in enumerate(zip(whole, block, strict=True)) if a != b]
               if len(whole) == len(block) else None)
    if not changed or len(changed) != 1 or block[changed[0]] * devices != whole[changed[0]]:
        raise GraphError(f"{what}: shape {list(whole)} would be held as {list(block)} on each of {devices} devices, "
                         "which is not one axis split evenly; this node cannot be split by neuron (give the "
                         "population a size that is a multiple of the mesh's size, or run it unsplit)")
    return tuple(AXIS if i == changed[0] else None for i in range(len(whole)))


def layout(brain: Any, mesh: Mesh) -> Layout:
    """How ``brain`` (built) splits over ``mesh`` (cached per brain build and mesh). Raises a GraphError naming the
    node, the sizes and the fix for a population that does not split evenly or a synapse that cannot split."""
    from . import graph as _graph

    cache = _layouts.setdefault(brain, {})
    sched = brain._built()
    key = (brain._doc_json, sched, mesh)  # one model document and seed: the same nodes, draws and structure
    if key in cache:
        return cache[key]
    devices = mesh.size
    if len({d.process_index for d in mesh.devices.flat}) > 1:
        raise GraphError("a neuron mesh over the devices of several processes is not supported yet: split the "
                         "neurons over the devices of one process (spark.sharding.neuron_mesh(jax.local_devices()))")
    plan, _ = _graph.plan(brain.to_dict(), brain._registry_or_default())  # built, so valid
    nodes = brain.nodes
    split: dict[str, bool] = {}
    for n in plan.nodes.values():  # populations (and any node that is not a projection)
        if not issubclass(n.cls, _Projection):
            split[n.id] = bool(n.shape) and not n.cls.stochastic and nodes[n.id].partition_problem() is None
    for nid in split:
        n = plan.nodes[nid]
        if split[nid] and n.shape[0] % devices:
            sizes = [plan.nodes[k].shape[0] for k, on in split.items() if on]
            fits = next(k for k in range(devices, 0, -1) if all(s % k == 0 for s in sizes))
            lower = n.shape[0] // devices * devices
            raise GraphError(
                f"node {n.id!r} ({n.entry.id}) has {n.shape[0]} neurons along its first axis (shape {list(n.shape)}),"
                f" which {devices} devices cannot split evenly ({n.shape[0]} % {devices} = {n.shape[0] % devices}); "
                f"every device holds the same number of each population's neurons. Fix: give it a multiple of "
                f"{devices} neurons (e.g. {f'{lower} or ' if lower else ''}{lower + devices}), or a mesh whose size "
                f"divides every split population (e.g. spark.sharding.neuron_mesh({fits}))")
    feeds: dict[str, set] = {}
    for e in plan.edges:
        feeds.setdefault(e.src, set()).add(e.dst)
    for n in plan.nodes.values():  # synapses: split by postsynaptic neuron when what they feed is split
        if not issubclass(n.cls, _Projection) or n.is_rule:
            continue
        split[n.id] = any(split.get(d, False) for d in feeds.get(n.id, ()))
    for n in plan.nodes.values():
        if n.is_rule:
            split[n.id] = split.get(n.attach, False)
    for nid, on in split.items():
        n = plan.nodes[nid]
        if not on or not issubclass(n.cls, _Projection):
            continue
        problem = "it draws random numbers each step (stochastic)" if n.cls.stochastic \
            else nodes[nid].partition_problem()
        if problem:
            post = sorted(d for d in feeds.get(n.attach if n.is_rule else nid, ()) if split.get(d))
            raise GraphError(f"node {nid!r} ({n.entry.id}) cannot be split by postsynaptic neuron across {devices} "
                             f"devices: {problem}. It feeds {', '.join(map(repr, post)) or 'a split population'}, "
                             "which is split; fix the node (see the message), or run without the neuron mesh")
    shapes = {}
    for n in plan.nodes.values():
        if not split[n.id]:
            shapes[n.id] = n.shape
        elif issubclass(n.cls, _Projection):
            shapes[n.id] = (n.shape[0], n.shape[1] // devices)
        else:
            shapes[n.id] = (n.shape[0] // devices, *n.shape[1:])
    split_ports = set()
    for n in plan.nodes.values():
        whole = n.cls.port_shapes(n.params, n.shape)
        block = n.cls.port_shapes(n.params, shapes[n.id])
        split_ports.update(f"{n.id}.{p}" for p in whole if tuple(whole[p]) != tuple(block[p]))
        n.shape = shapes[n.id]
    # a delay buffer of a split value that a node reads whole holds it whole: each step's spikes are gathered once,
    # as they are written, whether they are read now, later or both
    whole_buffers = frozenset(
        s.ref for c in (*sched.calls, *sched.rules) for port, _, _, sources in c.inputs for s in sources
        if s.kind == "buffer" and s.ref in split_ports and f"{c.node}.{port}" not in split_ports)
    relayouts = {}
    for n in plan.nodes.values():  # storage that cutting one axis cannot split (e.g. sparse rows), and its rules
        if split[n.id] and issubclass(n.cls, _Projection) and not n.is_rule:
            rl = nodes[n.id].partition_relayout(devices)
            if rl is not None:
                relayouts[n.id] = (rl, True)
    for n in plan.nodes.values():
        if split[n.id] and n.is_rule and n.attach in relayouts:
            relayouts[n.id] = (relayouts[n.attach][0], False)
    local = _local_brain(brain, plan, split, whole_buffers)
    graphdef, local_state = nnx.split(local)
    _, state = nnx.split(brain)
    if relayouts:  # the rearranged arrays' shapes, packed (no values computed)
        probe = Layout(mesh=mesh, devices=devices, graphdef=None, local=None, state_specs=None, split_ports=frozenset(),
                       split_nodes=(), input_split={}, whole_buffers=frozenset(), relayouts=relayouts)
        state = jax.eval_shape(probe.pack_state, state)
    whole_leaves = _flat(state)
    block_leaves = dict(_flat(local_state))
    specs = []
    for path, x in whole_leaves:
        what = "/".join(path)
        if path not in block_leaves:
            raise GraphError(f"{what}: built at its block's shape, node {path[1] if len(path) > 1 else '?'!r} holds "
                             "different state (e.g. another storage); it cannot be split by neuron")
        specs.append(PartitionSpec(*_split_dims(_shape(x), _shape(block_leaves[path]), devices, what)))
    if len(block_leaves) != len(whole_leaves):
        raise GraphError("built at its blocks' shapes, the brain holds other state variables; it cannot be split")
    state_specs = jax.tree.unflatten(jax.tree.structure(state), specs)
    input_split = {name: ref in split_ports for name, ref, *_ in sched.inputs}
    out = cache[key] = Layout(mesh=mesh, devices=devices, graphdef=graphdef, local=local, state_specs=state_specs,
                              split_ports=frozenset(split_ports), split_nodes=tuple(k for k, v in split.items() if v),
                              input_split=input_split, whole_buffers=whole_buffers,
                              spike_ports=frozenset(f"{n.id}.{p}" for n in plan.nodes.values()
                                                    for p, port in n.cls.outputs.items()
                                                    if port.payload.name == "Spikes"),
                              relayouts=relayouts)
    return out


def _local_brain(brain: Any, plan: Any, split: dict, whole_buffers: frozenset) -> Any:
    """A brain like ``brain`` whose split nodes are built at their blocks' shapes (``plan`` holds them); the others
    are ``brain``'s own nodes. Only its structure and shapes are used (the values come from ``brain``)."""
    import zlib

    from . import brain as _b

    local = _b.Brain(dt=brain.dt, registry=brain._registry)
    local._doc_json = brain._doc_json
    local._by_node = True  # stepped node by node (the step's exchanges are per node port), never stacked
    base = jax.random.PRNGKey(plan.seed)
    nodes = {}
    for n in plan.nodes.values():
        if not split[n.id]:
            nodes[n.id] = brain.nodes[n.id]
            continue
        extra = ({"same_population": _b._same_population(plan, n.id)}
                 if issubclass(n.cls, Synapse) and _b._accepts(n.cls, "same_population") else {})
        try:
            nodes[n.id] = n.cls(n.shape, params=n.params, dt=plan.dt,
                                rngs=nnx.Rngs(jax.random.fold_in(base, zlib.crc32(n.id.encode()))), **extra)
            nodes[n.id].split_from(brain.nodes[n.id])
        except Exception as exc:
            raise GraphError(f"node {n.id!r} ({n.entry.id}) cannot be split by neuron: built at its block's shape "
                             f"{list(n.shape)} it refuses: {exc}") from exc
    local.nodes = nnx.Dict(nodes)
    for n in plan.nodes.values():
        if n.attach is not None and split[n.id]:
            local.nodes[n.id].bind(local.nodes[n.attach])
    local.key = _b.Const(brain.key[...])
    local.t = _b.State(brain.t[...])
    local.trial = _b.State(brain.trial[...])
    local._schedule = _b._make_schedule(plan)
    local.buffers = nnx.Dict({ref: _b.State(jnp.zeros_like(brain.buffers[ref][...]) if ref in whole_buffers
                                            else _b._zeros(plan, ref, depth))
                              for ref, depth in local._schedule.buffers})
    return local


def check_run(mesh: Mesh, batched: bool) -> None:
    if batched:
        raise GraphError("a neuron mesh (spark.sharding.neuron_mesh) splits one network's neurons: give an unbatched "
                         "run (batched=False); to split trials, use spark.sharding.trial_mesh()")


__all__ = ["AXIS", "Layout", "Relayout", "active", "column_sum", "cut", "gather_spikes", "is_neuron_mesh", "layout"]
