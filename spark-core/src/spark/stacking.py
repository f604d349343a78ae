"""Nodes of the same component, shape and parameters stepped together (issue 15; docs/performance.md).

A step unrolled node by node costs XLA one set of kernels per node: 1,000 one-neuron nodes took ~20 s to compile
(and minutes before). Here the nodes of a compiled run are grouped: nodes whose modules have equal graph
definitions (the same class, shape, parameters and ``dt``) and equal state shapes, at the same depth of the
step's zero-delay dependencies (so none feeds another within a step), form one *group*. A group's state is
stacked on a new leading axis and its step is one ``jax.vmap`` of the component's ``__call__``; its inputs are
gathered by index from the stacked outputs of the groups that feed it (or broadcast, or stacked member by member
when nothing simpler applies), its outputs and delay buffers stay stacked. Learning rules of the same kind attached
to the synapses of one group are stacked the same way, keeping every synapse's rules in file order.

Users never see this: the brain keeps one module per node (state files, ``brain.nodes``, recording refs), the
compiled run packs the state when it starts (:meth:`Stacker.pack`, on the host) and unpacks it after each chunk
(:meth:`Stacker.unpack`); a recorded member is read from its slot. Results are those of the node-by-node step, bit
for bit (``spark-core/tests/test_stacking.py``): elementwise work is the same under ``vmap``, random keys are the
same ``fold_in`` per node, sums run in the same order. A component that cannot be batched (a ``vmap`` of its step
raises) falls back to node-by-node stepping of that group; ``stackable = False`` on a class opts out.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from . import inputs as _inputs
from .component import Synapse
from .variables import Learned, Weight, _fixing_weights

MIN_GROUP = 2  # nodes: smaller groups are stepped alone
ENABLED = True  # False: every run steps node by node (what the tests compare with)


class _Unit:
    """One place in the step: a group of nodes (or rules) stepped together, or one node alone."""

    def __init__(self, key: str, calls: tuple, gdef: Any, synapse: bool):
        self.key = key  # "g3": the group's entry in the packed state; "" for a node alone
        self.calls = calls
        self.members = tuple(c.node for c in calls)
        self.gdef = gdef
        self.synapse = synapse
        self.pos = {m: j for j, m in enumerate(self.members)}

    @property
    def stacked(self) -> bool:
        return bool(self.key)


class Stacker:
    """How one built brain's nodes are grouped, and the step over its packed state (see the module's docstring)."""

    def __init__(self, brain):
        sched = brain._schedule
        self._brain = weakref.ref(brain)
        self.dt = sched.dt
        self.sched = sched
        self.known = frozenset(name for name, *_ in sched.inputs)
        gdefs, sigs = {}, {}
        for nid, node in brain.nodes.items():
            gdef, state = nnx.split(node)
            gdefs[nid] = gdef
            leaves = tuple((tuple(map(str, p)), tuple(np.shape(v.get_value())), str(_dtype_of(v.get_value())))
                           for p, v in nnx.to_flat_state(state))
            sigs[nid] = (gdef, leaves, getattr(type(node), "stackable", True))
        self.gdefs = gdefs
        self._n_groups = 0
        self.learned = {nid: tuple((name, isinstance(v, Weight)) for name, v in vars(node).items()
                                   if isinstance(v, Learned)) for nid, node in brain.nodes.items()}
        # nodes: a group is (depth in the zero-delay dependencies, signature); depth keeps members independent
        level: dict[str, int] = {}
        buckets: dict[tuple, list] = {}
        for c in sched.calls:
            lv = 0
            for _port, _shape, _dtype, sources in c.inputs:
                for s in sources:
                    if s.kind == "now":
                        lv = max(lv, level[s.ref.rsplit(".", 1)[0]] + 1)
            level[c.node] = lv
            sig = sigs[c.node]
            buckets.setdefault((lv, sig, c.stochastic) if sig[2] else (lv, c.node), []).append(c)
        order = {c.node: i for i, c in enumerate(sched.calls)}
        units, self.unit_of = [], {}
        for _key, calls in sorted(buckets.items(), key=lambda kv: (kv[0][0], order[kv[1][0].node])):
            units += self._units(calls, lambda c: issubclass(type(brain.nodes[c.node]), Synapse))
        self.units = tuple(units)
        for u in self.units:
            for m in u.members:
                self.unit_of[m] = u
        # rules: stacked when attached to members of one group, by rank (a synapse's first rule, second, ...)
        rank: dict[str, int] = {}
        rbuckets: dict[tuple, list] = {}
        rorder = {c.node: i for i, c in enumerate(sched.rules)}
        for c in sched.rules:
            r = rank[c.attach] = rank.get(c.attach, -1) + 1
            host = self.unit_of.get(c.attach)
            sig = sigs[c.node]
            key = (r, host.key, sig, c.stochastic) if host is not None and host.stacked and sig[2] else (r, c.node)
            rbuckets.setdefault(key, []).append(c)
        rule_units = []
        for _key, calls in sorted(rbuckets.items(), key=lambda kv: (kv[0][0], rorder[kv[1][0].node])):
            rule_units += self._units(calls, lambda c: False)
        self.rule_units = tuple(rule_units)
        for u in self.rule_units:
            for m in u.members:
                self.unit_of[m] = u
        # delay buffers of a group's output port: stacked when the members that have one (at least half of them)
        # have the same depth; the others get a buffer of zeros that nothing reads and unpack drops
        depth = dict(sched.buffers)
        self.gbuffers: dict[tuple[str, str], tuple[str, int]] = {}  # (group key, port) -> (packed key, depth)
        self.buffer_slot: dict[str, tuple[str, int]] = {}  # "node.port" -> (packed key, member index)
        for u in self.units:
            if not u.stacked:
                continue
            for port in type(brain.nodes[u.members[0]]).outputs:
                have = [depth[f"{m}.{port}"] for m in u.members if f"{m}.{port}" in depth]
                if len(set(have)) == 1 and 2 * len(have) >= len(u.members):
                    pk = f"{u.key}.{port}"
                    self.gbuffers[(u.key, port)] = (pk, have[0])
                    for j, m in enumerate(u.members):
                        if f"{m}.{port}" in depth:
                            self.buffer_slot[f"{m}.{port}"] = (pk, j)

    def _units(self, calls: list, is_synapse) -> list[_Unit]:
        if len(calls) < MIN_GROUP:
            return [_Unit("", (c,), self.gdefs[c.node], is_synapse(c)) for c in calls]
        self._n_groups += 1
        return [_Unit(f"g{self._n_groups - 1}", tuple(calls), self.gdefs[calls[0].node], is_synapse(calls[0]))]

    @property
    def groups(self) -> list[tuple[str, ...]]:
        """The members of every stacked group of nodes and of rules, in step order."""
        return [u.members for u in (*self.units, *self.rule_units) if u.stacked]

    @property
    def useful(self) -> bool:
        return any(u.stacked for u in (*self.units, *self.rule_units))

    # ----- the packed state ---------------------------------------------------------------------------------------

    def pack(self, state: nnx.State) -> dict:
        """The brain's state (``nnx.split(brain)[1]``) with each group's members stacked (on the host: exact; or
        traced, inside an abstract evaluation)."""
        nodes = state["nodes"]
        buffers = state["buffers"] if "buffers" in state else {}
        packed = {"rest": {k: state[k] for k in state.keys() if k not in ("nodes", "buffers")},
                  "nodes": {}, "groups": {}, "buffers": {}, "gbuffers": {}}
        def of(m):  # a node without state has no entry
            return nodes[m] if m in nodes else nnx.State({})

        for u in (*self.units, *self.rule_units):
            if u.stacked:
                packed["groups"][u.key] = jax.tree.map(_stack, *[of(m) for m in u.members])
            else:
                packed["nodes"][u.members[0]] = of(u.members[0])
        taken = set()
        for (gkey, port), (pk, _) in self.gbuffers.items():
            refs = [f"{m}.{port}" for m in self._unit(gkey).members]
            some = next(buffers[r] for r in refs if r in self.buffer_slot)
            packed["gbuffers"][pk] = jax.tree.map(
                _stack, *[buffers[r] if r in self.buffer_slot else jax.tree.map(_zeros_like, some) for r in refs])
            taken.update(r for r in refs if r in self.buffer_slot)
        packed["buffers"] = {r: buffers[r] for r in buffers.keys() if r not in taken}
        return packed

    def unpack(self, packed: dict) -> nnx.State:
        """The brain's state again, one entry per node and delay buffer (``nnx.update(brain, ...)`` takes it)."""
        nodes = {nid: st for nid, st in packed["nodes"].items() if jax.tree.leaves(st)}
        for u in (*self.units, *self.rule_units):
            if u.stacked and jax.tree.leaves(packed["groups"][u.key]):
                for j, member in enumerate(_unstack(packed["groups"][u.key], len(u.members))):
                    nodes[u.members[j]] = member
        buffers = dict(packed["buffers"])
        for (gkey, port), (pk, _) in self.gbuffers.items():
            members = self._unit(gkey).members
            for j, member in enumerate(_unstack(packed["gbuffers"][pk], len(members))):
                if f"{members[j]}.{port}" in self.buffer_slot:
                    buffers[f"{members[j]}.{port}"] = member
        out = {**packed["rest"], "nodes": nnx.State(nodes)}
        if buffers:
            out["buffers"] = nnx.State(buffers)
        return nnx.State(out)

    def batch(self, packed: dict, n_trials: int, mesh=None, spec=None) -> dict:
        """``n_trials`` copies of ``packed``, trial ``k`` with ``trial`` advanced by ``k`` (as ``_batch_state``)."""
        make = jax.vmap(self.with_trial, in_axes=(None, 0))
        if mesh is not None:
            make = jax.jit(make, out_shardings=jax.sharding.NamedSharding(mesh, spec))
        return make(packed, jnp.arange(n_trials, dtype=jnp.int32))

    @staticmethod
    def with_trial(packed: dict, trial) -> dict:
        rest = dict(packed["rest"])
        rest["trial"] = jax.tree.map(lambda x: x + trial, rest["trial"])
        return {**packed, "rest": rest}

    def _unit(self, key: str) -> _Unit:
        return next(u for u in (*self.units, *self.rule_units) if u.key == key)

    def view(self, packed: dict) -> _View:
        """What monitors read after a step: ``view.nodes[node]`` (a member of a group: merged from its slot)."""
        return _View(self, packed, {})

    # ----- one step -----------------------------------------------------------------------------------------------

    def step(self, packed: dict, ext: Mapping[str, Any], frozen: frozenset = frozenset()):
        """One step of the packed state: ``(packed, view, now)``, ``now`` mapping every ``"node.port"`` to its value
        this step (a member of a group: its slot of the group's output, cut when asked for)."""
        with _fixing_weights("*" in frozen):
            return _Step(self, packed, frozen).run(ext)


class _View:
    def __init__(self, stacker: Stacker, packed: dict, modules: dict):
        self.nodes = _Nodes(stacker, packed, modules)


class _Nodes(Mapping):
    def __init__(self, stacker: Stacker, packed: dict, modules: dict):
        self._s, self._p, self._modules = stacker, packed, modules

    def __getitem__(self, nid):
        m = self._modules.get(nid)
        if m is None:
            u = self._s.unit_of[nid]
            if u.stacked:
                j = u.pos[nid]
                m = nnx.merge(u.gdef, jax.tree.map(lambda x: x[j], self._p["groups"][u.key]))
            else:
                m = nnx.merge(u.gdef, self._p["nodes"][nid])
            self._modules[nid] = m
        return m

    def __iter__(self):
        return iter(self._s.unit_of)

    def __len__(self):
        return len(self._s.unit_of)


class _Now(Mapping):
    """``"node.port"`` -> this step's value; a member of a group is cut from the group's stacked output once."""

    def __init__(self):
        self.values: dict[str, jax.Array] = {}
        self.stacked: dict[tuple[str, str], jax.Array] = {}
        self.slot: dict[str, tuple[tuple[str, str], int]] = {}

    def __getitem__(self, ref):
        v = self.values.get(ref)
        if v is None:
            where, j = self.slot[ref]
            v = self.values[ref] = self.stacked[where][j]
        return v

    def __iter__(self):
        return iter({**self.values, **self.slot})

    def __len__(self):
        return len(set(self.values) | set(self.slot))


class _Step:
    def __init__(self, stacker: Stacker, packed: dict, frozen: frozenset):
        self.s, self.frozen = stacker, frozen
        self.groups = dict(packed["groups"])
        self.gbuffers = dict(packed["gbuffers"])
        self.buffers = dict(packed["buffers"])
        self.rest = dict(packed["rest"])
        self.modules = {nid: nnx.merge(stacker.unit_of[nid].gdef, st) for nid, st in packed["nodes"].items()}
        self.now = _Now()

    # variables held through a frozen step
    def _get(self, nid, name):
        u = self.s.unit_of[nid]
        if u.stacked:
            return self.groups[u.key][name].get_value()[u.pos[nid]]
        return getattr(self.modules[nid], name)[...]

    def _set(self, nid, name, value):
        u = self.s.unit_of[nid]
        if u.stacked:
            var = self.groups[u.key][name]
            self.groups[u.key] = _with(self.groups[u.key], name, var.get_value().at[u.pos[nid]].set(value))
        else:
            getattr(self.modules[nid], name)[...] = value

    def run(self, ext):
        s, frozen = self.s, self.frozen
        sched = s.sched
        held_nodes, held_groups = {}, {}
        if frozen:
            rules = {c.node for c in sched.rules}
            if "*" in frozen:
                for u in s.units + s.rule_units:
                    for name, is_weight in s.learned[u.members[0]]:
                        if is_weight:
                            continue
                        if u.stacked:
                            held_groups[(u.key, name)] = self.groups[u.key][name].get_value()
                        else:
                            held_nodes[(u.members[0], name)] = self._get(u.members[0], name)
            else:
                for ref in frozen:
                    if "." in ref and ref not in rules:
                        nid, name = ref.rsplit(".", 1)
                        held_nodes[(nid, name)] = self._get(nid, name)
        unknown = set(ext) - s.known
        if unknown:
            from .errors import GraphError

            raise GraphError(f"unknown input(s) {sorted(unknown)}; this brain's inputs are: "
                             f"{sorted(s.known) or 'none'}")
        t = self.rest["t"].get_value()
        trial_key = jax.random.fold_in(self.rest["key"].get_value(), self.rest["trial"].get_value())
        step_key = jax.random.fold_in(trial_key, t)
        self.t = t
        self.ext_values = _inputs.step_values(sched.inputs, ext)

        for u in s.units:
            kwargs = self._gather(u, u.synapse)
            if u.calls[0].stochastic:
                kwargs["key"] = self._keys(u, step_key)
            outs = self._call(u, kwargs)
            for port, value in outs.items():
                if u.stacked:
                    self.now.stacked[(u.key, port)] = value
                    for j, m in enumerate(u.members):
                        self.now.slot[f"{m}.{port}"] = ((u.key, port), j)
                else:
                    self.now.values[f"{u.members[0]}.{port}"] = value
        for u in s.rule_units:
            if "*" in frozen:
                continue
            active = tuple(j for j, m in enumerate(u.members) if m not in frozen)
            if not active:
                continue
            kwargs = self._gather(u, False)
            if u.calls[0].stochastic:
                kwargs["key"] = self._keys(u, step_key)
            self._rule(u, kwargs, active)
        for ref, depth in sched.buffers:
            if ref in s.buffer_slot:
                continue
            buf = self.buffers[ref]
            value = jnp.asarray(self.now[ref], buf.get_value().dtype)
            old = buf.get_value()
            self.buffers[ref] = buf.replace(value.reshape(old.shape) if depth == 1
                                            else jax.lax.dynamic_update_index_in_dim(old, value, t % depth, 0))
        for (gkey, port), (pk, depth) in s.gbuffers.items():
            buf = self.gbuffers[pk]
            old = buf.get_value()
            value = jnp.asarray(self.now.stacked[(gkey, port)], old.dtype)
            self.gbuffers[pk] = buf.replace(value.reshape(old.shape) if depth == 1
                                            else jax.lax.dynamic_update_index_in_dim(old, value, t % depth, 1))
        for (gkey, name), value in held_groups.items():
            self.groups[gkey] = _with(self.groups[gkey], name, value)
        for (nid, name), value in held_nodes.items():
            self._set(nid, name, value)
        self.rest["t"] = self.rest["t"].replace(t + 1)
        nodes = {nid: nnx.split(m)[1] for nid, m in self.modules.items()}
        packed = {"rest": self.rest, "nodes": nodes, "groups": self.groups, "buffers": self.buffers,
                  "gbuffers": self.gbuffers}
        return packed, _View(s, packed, dict(self.modules)), self.now

    def _keys(self, u: _Unit, step_key):
        if not u.stacked:
            return jax.random.fold_in(step_key, u.calls[0].key_index)
        idx = jnp.asarray(np.array([c.key_index for c in u.calls], np.uint32))
        return jax.vmap(lambda i: jax.random.fold_in(step_key, i))(idx)

    # ----- inputs -------------------------------------------------------------------------------------------------

    def _source(self, s, shape, dtype, graded):
        """One source's value for one node, as the node-by-node step reads it (or None: an input not given)."""
        if s.kind == "ext":
            if s.ref not in self.ext_values:
                return None
            x = self.ext_values[s.ref]
        elif s.kind == "now":
            x = self.now[s.ref]
        else:
            slot = self.s.buffer_slot.get(s.ref)
            if slot is not None:
                buf = self.gbuffers[slot[0]].get_value()[slot[1]]
            else:
                buf = self.buffers[s.ref].get_value()
            x = buf[0] if s.depth == 1 else buf[(self.t - s.delay) % s.depth]
        return _cast(x.reshape(shape), s.kind, dtype, graded)

    def _gather(self, u: _Unit, graded: bool) -> dict:
        if not u.stacked:
            kwargs = {}
            for port, shape, dtype, sources in u.calls[0].inputs:
                total = None
                for s in sources:
                    x = self._source(s, shape, dtype, graded)
                    if x is not None:
                        total = x if total is None else total + x
                kwargs[port] = jnp.zeros(shape, dtype) if total is None else total
            return kwargs
        k = len(u.calls)
        kwargs = {}
        for p, (port, shape, dtype, _) in enumerate(u.calls[0].inputs):
            per = [c.inputs[p][3] for c in u.calls]
            if len({len(srcs) for srcs in per}) == 1:
                total = None
                for q in range(len(per[0])):
                    x = self._stacked_source([srcs[q] for srcs in per], k, shape, dtype, graded)
                    if x is not None:
                        total = x if total is None else total + x
                kwargs[port] = jnp.zeros((k, *shape), dtype) if total is None else total
            else:  # members fed differently: each member's sum, stacked
                rows = []
                for srcs in per:
                    total = None
                    for s in srcs:
                        x = self._source(s, shape, dtype, graded)
                        if x is not None:
                            total = x if total is None else total + x
                    rows.append(jnp.zeros(shape, dtype) if total is None else total)
                kwargs[port] = jnp.stack(rows)
        return kwargs

    def _stacked_source(self, sources: list, k: int, shape, dtype, graded):
        """The ``q``-th source of every member of a group, stacked ``(k, *shape)``. Each source is a row of a *pool*:
        a group's stacked output, a group's stacked delay buffer read at one delay, or one value (a node alone, an
        input). One pool: broadcast, or gathered by index (nothing, when the rows are the group in order); several:
        the pools concatenated (a few operands), then gathered."""
        pools: dict[tuple, Any] = {}  # pool key -> None until read
        rows = []
        for s in sources:
            if s.kind == "now" and s.ref in self.now.slot:
                (gkey, port), j = self.now.slot[s.ref]
                key = ("now", gkey, port)
            elif s.kind == "buffer" and s.ref in self.s.buffer_slot:
                pk, j = self.s.buffer_slot[s.ref]
                key = ("buffer", pk, s.delay, s.depth)
            else:
                key, j = ("one", s), 0
            pools.setdefault(key, None)
            rows.append((key, j))
        values = {}
        for key in pools:
            if key[0] == "now":
                x = self.now.stacked[(key[1], key[2])]
            elif key[0] == "buffer":
                _, pk, delay, depth = key
                buf = self.gbuffers[pk].get_value()  # (members, depth, ...)
                x = buf[:, 0] if depth == 1 else buf[:, (self.t - delay) % depth]
            else:
                x = self._source(key[1], shape, dtype, graded)
                values[key] = None if x is None else x[None]
                continue
            values[key] = _cast(x.reshape((x.shape[0], *shape)), key[0], dtype, graded)
        if len(values) == 1:
            (key, x), = values.items()
            if x is None:
                return None
            if key[0] == "one":
                return jnp.broadcast_to(x[0], (k, *shape))
            return _take(x, [j for _, j in rows])
        offset, parts = {}, []
        for key, x in values.items():
            x = jnp.zeros((1, *shape), dtype) if x is None else x  # an input not given: zeros
            offset[key] = sum(p.shape[0] for p in parts)
            parts.append(x)
        return _take(jnp.concatenate(parts), [offset[key] + j for key, j in rows])

    # ----- calls --------------------------------------------------------------------------------------------------

    def _errors(self, nid):
        from .brain import _component_errors

        return _component_errors(self.s._brain(), nid)

    def _call(self, u: _Unit, kwargs: dict) -> dict:
        dt = self.s.dt
        if not u.stacked:
            nid = u.members[0]
            with self._errors(nid):
                return self.modules[nid](dt=dt, **kwargs)

        def one(state, kw):
            m = nnx.merge(u.gdef, state)
            outs = m(dt=dt, **kw)
            return nnx.split(m)[1], outs

        try:
            state, outs = jax.vmap(one)(self.groups[u.key], kwargs)
        except Exception:  # not batchable: node by node, each failure naming its node
            state, outs = self._one_by_one(u, kwargs, lambda m, kw: m(dt=dt, **kw))
        self.groups[u.key] = state
        return outs

    def _one_by_one(self, u: _Unit, kwargs: dict, fn):
        states, outs = [], []
        for j, nid in enumerate(u.members):
            m = nnx.merge(u.gdef, jax.tree.map(lambda x, j=j: x[j], self.groups[u.key]))
            with self._errors(nid):
                outs.append(fn(m, jax.tree.map(lambda x, j=j: x[j], kwargs)))
            states.append(nnx.split(m)[1])
        return jax.tree.map(lambda *xs: jnp.stack(xs), *states), jax.tree.map(lambda *xs: jnp.stack(xs), *outs)

    def _rule(self, u: _Unit, kwargs: dict, active: tuple) -> None:
        dt = self.s.dt
        if not u.stacked:
            nid, host = u.members[0], u.calls[0].attach
            hu = self.s.unit_of[host]
            if hu.stacked:  # a rule alone on a member of a group (its group's other members have other rules)
                j = hu.pos[host]
                syn = nnx.merge(hu.gdef, jax.tree.map(lambda x: x[j], self.groups[hu.key]))
                with self._errors(nid):
                    syn.weight[...] = self.modules[nid](syn, dt=dt, **kwargs)
                new = nnx.split(syn)[1]
                self.groups[hu.key] = jax.tree.map(lambda a, b: a.at[j].set(b), self.groups[hu.key], new)
                return
            synapse = self.modules[host]
            with self._errors(nid):
                synapse.weight[...] = self.modules[nid](synapse, dt=dt, **kwargs)
            return
        hu = self.s.unit_of[u.calls[0].attach]
        hidx = [hu.pos[c.attach] for c in u.calls]
        full = len(active) == len(u.members)
        if not full:
            sub = np.asarray(active, np.int32)
            hidx = [hidx[j] for j in active]
            kwargs = jax.tree.map(lambda x: x[sub], kwargs)
        rstate = self.groups[u.key] if full else jax.tree.map(lambda x: x[sub], self.groups[u.key])
        sstate = jax.tree.map(lambda x: _take(x, hidx), self.groups[hu.key])

        def one(rs, ss, kw):
            rule, syn = nnx.merge(u.gdef, rs), nnx.merge(hu.gdef, ss)
            syn.weight[...] = rule(syn, dt=dt, **kw)
            return nnx.split(rule)[1], nnx.split(syn)[1]

        try:
            rstate, sstate = jax.vmap(one)(rstate, sstate, kwargs)
        except Exception:  # not batchable: rule by rule
            rs, ss = [], []
            for j in range(len(hidx)):
                rule = nnx.merge(u.gdef, jax.tree.map(lambda x, j=j: x[j], rstate))
                syn = nnx.merge(hu.gdef, jax.tree.map(lambda x, j=j: x[j], sstate))
                with self._errors(u.members[active[j]]):
                    syn.weight[...] = rule(syn, dt=dt, **jax.tree.map(lambda x, j=j: x[j], kwargs))
                rs.append(nnx.split(rule)[1])
                ss.append(nnx.split(syn)[1])
            rstate = jax.tree.map(lambda *xs: jnp.stack(xs), *rs)
            sstate = jax.tree.map(lambda *xs: jnp.stack(xs), *ss)
        if full:
            self.groups[u.key] = rstate
        else:
            self.groups[u.key] = jax.tree.map(lambda a, b: a.at[sub].set(b), self.groups[u.key], rstate)
        if hidx == list(range(len(hu.members))):
            self.groups[hu.key] = sstate
        else:
            at = np.asarray(hidx, np.int32)
            self.groups[hu.key] = jax.tree.map(lambda a, b: a.at[at].set(b), self.groups[hu.key], sstate)


def _cast(x, kind, dtype, graded):
    return x if graded and kind != "ext" and x.dtype == jnp.float32 and np.dtype(dtype) == np.bool_ \
        else x.astype(dtype)


def _take(x, idx):
    """``x[idx]`` along the first axis; ``x`` itself when ``idx`` is every row in order."""
    if list(idx) == list(range(x.shape[0])):
        return x
    return x[np.asarray(idx, np.int32)]


def _with(state, name, value):
    state = nnx.State(dict(state))
    state[name] = state[name].replace(value)
    return state


def _zeros_like(x):
    return jnp.zeros_like(x) if isinstance(x, jax.core.Tracer) else np.zeros_like(x)


DEVICE_BYTES = 1 << 20  # members at least this large are stacked and cut where they are, not on the host


def _dtype_of(x):
    return x.dtype if hasattr(x, "dtype") else np.asarray(x).dtype


def _nbytes(x) -> int:
    return int(np.prod(np.shape(x))) * np.dtype(_dtype_of(x)).itemsize if hasattr(x, "dtype") else 0


def _stack(*xs):
    """Stack arrays on a new first axis: small ones on the host (exact, no compilation: many tiny arrays are what a
    compiled stack or cut is slow for), large ones (a few big members) with ``jnp.stack`` where they are; traced (an
    abstract evaluation), with ``jnp.stack``."""
    if any(isinstance(x, jax.core.Tracer) for x in xs) or _nbytes(xs[0]) >= DEVICE_BYTES:
        return jnp.stack(xs)
    try:
        host = [np.asarray(x) for x in xs]
    except Exception:  # e.g. typed PRNG keys
        return jnp.stack(xs)
    if any(h.dtype == object for h in host):
        return jnp.stack(xs)
    return jnp.asarray(np.stack(host))


def _unstack(tree, k: int) -> list:
    """The members of a stacked tree: small leaves cut on the host, large ones (see :func:`_stack`) where they are."""
    leaves, treedef = jax.tree.flatten(tree)
    cut = []
    for x in leaves:
        if _nbytes(x) >= DEVICE_BYTES * k:
            cut.append(_cut(x, k))
        else:
            h = np.asarray(x)
            cut.append([jnp.asarray(h[j]) for j in range(k)])
    return [jax.tree.unflatten(treedef, [c[j] for c in cut]) for j in range(k)]


@functools.partial(jax.jit, static_argnums=1)
def _cut(x, k: int):
    return tuple(x[j] for j in range(k))


def for_brain(brain) -> Stacker | None:
    """The brain's grouping, or None when no two nodes can be stepped together (the node-by-node step is used)."""
    if not ENABLED or getattr(brain, "_by_node", False):  # a neuron mesh's per-device brain (partition.py)
        return None
    s = Stacker(brain)
    return s if s.useful else None


def cached(brain, cache: dict) -> Stacker | None:
    """:func:`for_brain`, once per build of ``brain`` (``cache``: the brain's run cache; a build makes a new
    schedule, which the entry is checked against, so no graph definition is hashed)."""
    hit = cache.get("stacker")
    if hit is None or hit[0] is not brain._schedule or hit[1] != ENABLED:
        hit = cache["stacker"] = (brain._schedule, ENABLED, for_brain(brain))
    return hit[2]


def group_sizes(brain) -> list[int]:
    """Sizes of the stacked groups a run of ``brain`` would use (largest first): what a test checks."""
    s = Stacker(brain._built() and brain)
    return sorted((len(m) for m in s.groups), reverse=True)


__all__ = ["Stacker", "for_brain", "group_sizes"]
