"""Projection: the storage and spike delivery every built-in synapse shares.

A projection holds the synapses from ``n_pre`` to ``n_post`` neurons in one of two layouts:

- **dense**: ``weight`` and ``mask`` of shape ``(n_pre, n_post)``; delivery is ``spikes @ weight``. With the native
  kernels the rows of the neurons that spiked are added instead, so the work is spikes x n_post (784 x 784, 1% of the
  neurons spiking: about 48 -> 5-12 us per step); it is one pass over the rows, single-threaded, so where a quarter
  or more of the presynaptic neurons spike every step XLA's vectorised, multi-threaded product is as fast or up to
  about 2x faster (784 x 784 at 50%: 59 us against 134). Plastic dense projections update in place as well
  (:meth:`Projection.spike_update`).
- **sparse**: one row per presynaptic neuron, padded to the largest out-degree ``K``: ``post_index``, ``weight`` and
  ``mask`` of shape ``(n_pre, K)``. Delivery is event-driven: the indices of this step's spiking neurons are compacted
  into a small fixed-size list, and only their rows are gathered and scatter-added, so the work grows with
  spikes x fan-out. Two list sizes are compiled (``event_capacity`` and 8x it); a step with more spikes than the larger
  takes a full pass over all synapses. No spike is ever dropped.

``storage="auto"`` picks dense for small (<= 65,536 pairs) or dense (density > 0.25) projections, sparse otherwise,
and always sparse when synapses have their own delays. Per-synapse delays (``delay``, ``delay_jitter``, ms) are rounded
half-up to steps and delivered through a ring buffer of postsynaptic input; they add to the edge's delay.
"""

from __future__ import annotations

import functools
import math
import weakref

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

import spark

from . import connectivity as conn
from . import native

try:
    from spark.sharding import match_varying  # spark-core >= 0.1.3: per-device types of FFI outputs under shard_map
except ImportError:  # an older spark-core has no shard_map support to keep types for
    def match_varying(outputs, *inputs):
        return outputs
try:
    from spark.partition import column_sum  # newer spark-core: sums whose bits do not depend on the columns
except ImportError:
    def column_sum(x):
        return x.sum(axis=0)

def _put(x: np.ndarray) -> jax.Array:
    """A host array as a JAX array: ``jax.device_put`` moves it as it is (``jnp.asarray`` would compile and run a
    conversion per shape and copy twice: at 400,000 neurons about 1 s of the network's construction)."""
    return jax.device_put(np.ascontiguousarray(x))


_RELAYOUTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # node -> {devices: PostBlocks}
DENSE_MAX_PAIRS = 65_536
USE_NATIVE = True  # use the C++ kernels when they are available (tests switch them off to compare)
DENSE_MIN_DENSITY = 0.25


@spark.params
class ProjectionParams:
    """Connectivity, initial weights, storage and per-synapse delays, shared by every built-in synapse."""

    connectivity: str = spark.param("fixed_probability", choices=conn.RULES, doc="connectivity rule")
    p_connect: float = spark.param(1.0, ge=0, le=1, doc="probability that a pre/post pair is connected "
                                   "(fixed_probability; 1 = all-to-all)")
    degree: int = spark.param(1, ge=0, doc="synapses per postsynaptic (fixed_indegree) or presynaptic "
                              "(fixed_outdegree) neuron")
    autapses: bool = spark.param(True, doc="allow i -> i synapses when pre and post are one population (the node "
                                 "feeding `pre` receives the output); between two populations every pair may connect")
    exclude_diagonal: bool = spark.param(False, doc="drop every i -> i pair (same index in pre and post, which must "
                                         "be as many) whatever the populations, e.g. lateral inhibition that spares "
                                         "the neuron driving it (Diehl & Cook 2015)")
    pre: tuple[int, ...] = spark.param((), doc="explicit connectivity: presynaptic index of each synapse", ge=0)
    post: tuple[int, ...] = spark.param((), doc="explicit connectivity: postsynaptic index of each synapse", ge=0)
    weights: tuple[float, ...] = spark.param((), unit="pA", doc="explicit connectivity: weight of each synapse "
                                             "(default: drawn like the others)")
    weight_init: str = spark.param("constant", choices=conn.WEIGHT_INITS, doc="distribution of initial weights")
    weight: float = spark.param(10.0, unit="pA", doc="initial weight (constant) or mean of the distribution")
    weight_std: float = spark.param(0.0, unit="pA", ge=0, doc="standard deviation of initial weights")
    storage: str = spark.param("auto", choices=("auto", "dense", "sparse"), doc="synapse storage layout")
    delay: float = spark.param(0.0, unit="ms", ge=0, doc="per-synapse delay, added to the edge's delay")
    delay_jitter: float = spark.param(0.0, unit="ms", ge=0,
                                      doc="per-synapse delays drawn uniformly from [delay, delay + delay_jitter]")
    event_capacity: int = spark.param(0, ge=0, doc="presynaptic spikes per step the smallest event-driven path "
                                      "handles (0 = automatic); larger bursts take larger paths, none is dropped")


class Projection(spark.Synapse):
    """Abstract base of the built-in synapses: builds connectivity and storage, delivers spikes.

    Subclasses define ``Params`` (extending :class:`ProjectionParams`), their ports and ``__call__``, using
    :meth:`deliver` for the summed weights of the spikes arriving this step.
    """

    #: :meth:`spike_update` takes ``pre_gain`` / ``post_gain`` (see ``_learning.spike_update``)
    spike_update_takes_gains = True
    #: dense storage splits by postsynaptic column across devices (docs/scaling.md); see partition_problem
    partitionable = True

    def __init__(self, shape, *, params=None, rngs=None, dt=None, **values):
        super().__init__(shape, params=params, rngs=rngs, dt=dt, **values)
        p = self.params
        n_pre, n_post = self.shape
        if p.exclude_diagonal and n_pre != n_post:
            raise ValueError(f"{self.name}: exclude_diagonal drops the pairs i -> i, so it needs as many pre as post "
                             f"neurons (got {n_pre} and {n_post}); leave it false")
        # autapses exist only within one population (NEST's allow_autapses, PyNN's allow_self_connections); built
        # outside a Brain (same_population None), a square synapse is taken to be recurrent
        no_diagonal = p.exclude_diagonal or (not p.autapses and self.same_population is not False)
        self.updated_in_place = False  # a rule writes the weights after delivery (see pass_weights_through)
        key = (rngs if rngs is not None else nnx.Rngs(0)).params()
        rng = np.random.default_rng(np.asarray(jax.random.key_data(key)).ravel().tolist())
        pre, post = conn.connect(p.connectivity, n_pre, n_post, rng, p=p.p_connect, degree=p.degree,
                                 autapses=not no_diagonal, pre=p.pre, post=p.post, who=self.name)
        if p.connectivity == "explicit" and p.weights:
            if len(p.weights) != len(pre):
                raise ValueError(f"{self.name}: explicit `weights` has {len(p.weights)} values for {len(pre)} synapses")
            order = np.lexsort((np.asarray(p.post), np.asarray(p.pre)))
            w = np.asarray(p.weights, np.float32)[order]
        else:
            w = conn.init_weights(p.weight_init, len(pre), rng, mean=p.weight, std=p.weight_std)
        has_delays = p.delay > 0 or p.delay_jitter > 0
        if has_delays:
            dt = self.require_dt()
            d_ms = p.delay + (rng.uniform(0.0, p.delay_jitter, len(pre)) if p.delay_jitter else np.zeros(len(pre)))
            d = conn.delay_steps(d_ms, dt)
        sparse = self._choose_sparse(p.storage, n_pre, n_post, len(pre), has_delays)
        self.sparse = sparse
        self.n_synapses = len(pre)
        self.all_to_all = len(pre) == n_pre * n_post  # the dense kernels then need not read the mask
        if not sparse:
            W = np.zeros((n_pre, n_post), np.float32)
            M = np.zeros((n_pre, n_post), bool)
            W[pre, post], M[pre, post] = w, True
            self.weight = spark.Weight(_put(W))
            self.mask = spark.Const(_put(M))
            self.depth = 0
        else:
            # the pairs are sorted by (pre, post): row i holds pre i's synapses in its first counts[i] slots, so the
            # mask is a comparison and the rows fill in one pass in row-major order (no sort, no scatter)
            counts = np.bincount(pre, minlength=n_pre)
            k = max(int(counts.max()) if len(pre) else 0, 1)
            M = np.arange(k, dtype=np.int32)[None, :] < counts[:, None].astype(np.int32)
            idx = np.zeros((n_pre, k), np.int32)
            idx[M] = post
            bits = w.view(np.uint32)
            if len(w) and bits[0] == bits[-1] and np.all(bits == bits[0]):  # one weight (constant init): no fill
                W = np.where(M, w[0], np.float32(0.0))
            else:
                W = np.zeros((n_pre, k), np.float32)
                W[M] = w
            self.post_index = spark.Const(_put(idx))
            self.weight = spark.Weight(_put(W))
            self.mask = spark.Const(_put(M))
            cap = p.event_capacity or 16 + n_pre // 256
            self.capacities = tuple(sorted({min(cap, n_pre), min(8 * cap, n_pre)}))
            self.depth = 0
            if has_delays:
                D = np.zeros((n_pre, k), np.int32)
                D[M] = d
                self.delay_steps = spark.Const(_put(D))
                self.depth = int(d.max()) + 1 if len(d) else 1
                self.pending = spark.State(jnp.zeros((self.depth, n_post), jnp.float32))
                self.clock = spark.State(jnp.zeros((), jnp.int32))

    @classmethod
    def memory_estimate(cls, params, shape, *, dt=None, synapses=None):
        """Storage from the connectivity params (:func:`connectivity.expected_synapses`; no index array is built):
        dense ``n_pre * n_post`` float32 weights and bool mask; sparse ``n_pre * K`` slots (K the largest out-degree)
        of index, weight and mask, plus per-synapse delays and their ``depth x n_post`` ring buffer. Building needs,
        for a moment, host copies of the storage and the connect pairs (about 40 bytes per synapse)."""
        p = params
        n_pre, n_post = shape
        nnz, k = conn.expected_synapses(p.connectivity, n_pre, n_post, p=p.p_connect, degree=p.degree,
                                        autapses=p.autapses and not p.exclude_diagonal, pre=p.pre)
        has_delays = p.delay > 0 or p.delay_jitter > 0
        pairs = n_pre * n_post
        sparse = p.storage == "sparse" or has_delays or (p.storage == "auto" and pairs > DENSE_MAX_PAIRS
                                                         and nnz <= DENSE_MIN_DENSITY * pairs)
        own = (n_pre + n_post) * 4 * 4  # the subclass's own traces / currents: up to four float32 per neuron
        if not sparse:
            storage = pairs * 5  # float32 weight + bool mask
            return spark.Footprint(state=storage + own, scratch=storage + 40 * nnz, synapses=pairs)
        slots = n_pre * max(k, 1)
        storage = slots * 9  # int32 post index + float32 weight + bool mask
        if has_delays and dt:
            span = (p.delay + p.delay_jitter) / dt
            depth = math.floor(span + 0.5) + 1 if math.isfinite(span) else 2 ** 63
            storage += slots * 4 + depth * n_post * 4 + 4  # int32 delays, the ring buffer of float32, its clock
        return spark.Footprint(state=storage + own, scratch=slots * 13 + 40 * nnz, synapses=slots)

    def _choose_sparse(self, storage: str, n_pre: int, n_post: int, nnz: int, has_delays: bool) -> bool:
        if storage == "dense":
            if has_delays:
                raise ValueError(f"{self.name}: dense storage cannot hold per-synapse delays; "
                                 "use storage='sparse' or 'auto'")
            return False
        if storage == "sparse" or has_delays:
            return True
        pairs = n_pre * n_post
        return pairs > DENSE_MAX_PAIRS and nnz <= DENSE_MIN_DENSITY * pairs

    def partition_problem(self) -> str | None:
        """Both storages split by postsynaptic neuron: dense by column, sparse by :meth:`partition_relayout` (with a
        spark-core that has :class:`spark.partition.Relayout`)."""
        if self.sparse and not hasattr(getattr(spark, "partition", None), "Relayout"):
            return ("its storage is sparse (rows of postsynaptic indices), which this spark-core cannot split. Fix: "
                    "upgrade spark-core, or give storage='dense' (and no per-synapse delay)")
        return None

    def partition_relayout(self, devices: int):
        """Sparse storage on a neuron mesh: each device's synapses packed out of the rows
        (:class:`~spark_components.sparse_split.PostBlocks`, cached per node and mesh size); dense storage: None
        (its columns are cut)."""
        if not self.sparse:
            return None
        from .sparse_split import PostBlocks  # needs a spark-core with spark.partition.Relayout

        cache = _RELAYOUTS.setdefault(self, {})
        if devices not in cache:
            cache[devices] = PostBlocks(self.post_index[...], self.mask[...], self.shape[1], devices,
                                        col_index=hasattr(self, "col_ptr"))
        return cache[devices]

    def split_from(self, whole):
        """A block of postsynaptic columns built on its own draws its own connectivity: it takes the whole's storage
        layout (a block of a dense projection is dense, of a sparse one sparse, whatever its own size would choose),
        and for sparse storage the shapes of the packed blocks (:meth:`partition_relayout`); the values come from
        the whole's state. It is all-to-all only when the whole is."""
        self.all_to_all = whole.all_to_all
        n_pre, n_post = self.shape
        if not whole.sparse:
            if self.sparse:  # the block's size chose sparse storage: hold dense columns, as the whole does
                for name in ("post_index", "delay_steps", "pending", "clock"):
                    if hasattr(self, name):
                        delattr(self, name)
                self.sparse, self.depth = False, 0
                self.weight = spark.Weight(jnp.zeros((n_pre, n_post), jnp.float32))
                self.mask = spark.Const(jnp.zeros((n_pre, n_post), bool))
            return
        blocks = whole.partition_relayout(whole.shape[1] // n_post)
        shape = blocks.block_shape
        self.sparse, self.capacities, self.depth = True, whole.capacities, whole.depth
        self.post_index = spark.Const(jnp.zeros(shape, jnp.int32))
        self.weight = spark.Weight(jnp.zeros(shape, jnp.float32))
        self.mask = spark.Const(jnp.zeros(shape, bool))
        if whole.depth > 0:
            self.delay_steps = spark.Const(jnp.zeros(shape, jnp.int32))
            self.pending = spark.State(jnp.zeros((whole.depth, n_post), jnp.float32))
            self.clock = spark.State(jnp.zeros((), jnp.int32))
        if hasattr(whole, "col_ptr"):
            self.col_ptr = spark.Const(jnp.zeros((n_post + 1,), jnp.int32))
            self.col_syn = spark.Const(jnp.zeros((blocks.col_syn_size,), jnp.int32))

    # ----- delivery -----------------------------------------------------------------------------------------------

    def deliver(self, spikes: jax.Array, efficacy: jax.Array | None = None, *, onto: jax.Array | None = None,
                factor: float = 1.0) -> jax.Array:
        """Summed weights (times ``efficacy[pre]`` if given) of the spikes arriving this step: shape ``(n_post,)``.

        With ``onto`` (shape ``(n_post,)``), returns ``factor * onto + delivered``: a synapse passes its decaying
        state and its decay over the step, which the native kernel folds into the same pass.
        """
        if USE_NATIVE and native.usable():  # built for this backend (CPU); elsewhere the JAX path
            return self._deliver_native(spikes, efficacy, onto, factor)
        out = self._deliver(spikes, efficacy)
        return out if onto is None else factor * onto + out

    def _deliver(self, spikes, efficacy):
        n_post = self.shape[1]
        if not self.sparse:
            x = spikes.astype(jnp.float32)
            return (x if efficacy is None else x * efficacy) @ self.weight[...]
        delayed = self.depth > 0
        args = (spikes, jnp.ones((1,), jnp.float32) if efficacy is None else efficacy, self.post_index[...],
                self.weight[...], jnp.zeros((1,), jnp.float32))
        if delayed:
            args = (*args, self.delay_steps[...], self.pending[...], self.clock[...])
        event = functools.partial(self._event_delivery, efficacy is not None)
        if jnp.issubdtype(spikes.dtype, jnp.floating):
            # float 0/1 spikes of a surrogate soma: the event path reads only the spiking rows, so its own derivative
            # would miss d out / d spike of the silent neurons; the rule of the native kernels gives the exact one
            target = "spark_deliver_delayed" if delayed else "spark_deliver"
            event = _linear(event, _delivery_reference(target, n_post, np.float32(0.0), False))
        outs = event(*args)
        if not delayed:
            return outs[0]
        self.pending[...] = outs[0]
        self.clock[...] = self.clock[...] + 1
        return outs[1]

    def _event_delivery(self, has_efficacy, spikes, efficacy, post_index, w, base, delay_steps=None, pending=None,
                        clock=None):
        """The pure-JAX sparse delivery, with the native kernels' arguments and outputs (``base`` unused): the indices
        of this step's spiking neurons are compacted into a list of one of the sizes ``self.capacities`` (or all
        synapses are scattered); returns ``(out,)``, or ``(pending, out)`` with per-synapse delays."""
        n_pre, n_post = self.shape
        spikes = spikes.astype(bool)
        delayed = delay_steps is not None
        if delayed:
            slots_all = (clock + delay_steps) % self.depth

        def gather(rows):  # rows: (E,) presynaptic indices, n_pre = padding
            vals = jnp.take(w, rows, axis=0, mode="fill", fill_value=0.0)
            if has_efficacy:
                vals = vals * jnp.take(efficacy, rows, mode="fill", fill_value=0.0)[:, None]
            posts = jnp.take(post_index, rows, axis=0, mode="fill", fill_value=0)
            slots = jnp.take(slots_all, rows, axis=0, mode="fill", fill_value=0) if delayed else None
            return vals, posts, slots

        def scatter(vals, posts, slots):
            if delayed:
                return pending.at[slots, posts].add(vals)
            return jnp.zeros((n_post,), jnp.float32).at[posts].add(vals)

        def event_path(capacity):
            def run(_):
                rows = jnp.nonzero(spikes, size=capacity, fill_value=n_pre)[0]
                return scatter(*gather(rows))
            return run

        def full_path(_):
            x = spikes.astype(jnp.float32) if not has_efficacy else jnp.where(spikes, efficacy, 0.0)
            return scatter(w * x[:, None], post_index, slots_all if delayed else None)

        count = spikes.sum()
        branches = [event_path(c) for c in self.capacities if c < n_pre] + [full_path]
        bounds = jnp.asarray([c for c in self.capacities if c < n_pre], jnp.int32)
        which = jnp.sum(count > bounds) if len(bounds) else 0
        out = jax.lax.switch(which, branches, None) if len(branches) > 1 else full_path(None)
        if not delayed:
            return (out,)
        now = clock % self.depth
        return out.at[now].set(0.0), out[now]

    def _deliver_native(self, spikes, efficacy, onto, factor):
        n_post = self.shape[1]
        f32 = jnp.float32
        eff = jnp.ones((1,), f32) if efficacy is None else efficacy.astype(f32)  # one element: 1 for all
        base = jnp.zeros((1,), f32) if onto is None else onto.astype(f32)  # one element: none
        scale = np.float32(0.0 if onto is None else factor)
        # the synapse's state (onto) is updated in place, so XLA need not copy the result into the loop's state; with
        # an in-place rule attached, the weights also flow through the call (unchanged, in place), so that the
        # delivery's read is ordered before the rule's write by data and XLA copies nothing
        keep = self.updated_in_place and not spark.weights_fixed()  # learning off: the weights stay where they are
        if not self.sparse:  # dense: add the rows of the spiking neurons
            target, args, w_pos = "spark_deliver_dense", (_spike_arg(spikes), eff, self.weight[...], base), 2
            out_types, aliases = (jax.ShapeDtypeStruct((n_post,), f32),), {3: 0} if onto is not None else {}
            shared = (2,)  # the storage the trials of a batch share: weight
        else:
            target, w_pos = "spark_deliver", 3
            args = (_spike_arg(spikes), eff, self.post_index[...], self.weight[...], base)
            out_types, aliases = (jax.ShapeDtypeStruct((n_post,), f32),), {4: 0} if onto is not None else {}
            shared = (2, 3)  # post_index, weight
            if self.depth > 0:
                target = "spark_deliver_delayed"
                args = (*args, self.delay_steps[...], self.pending[...], self.clock[...])
                out_types = (jax.ShapeDtypeStruct((self.depth, n_post), f32), *out_types)
                aliases = {6: 0, **({4: 1} if onto is not None else {})}
                shared = (2, 3, 5)  # post_index, weight, delay_steps

        outs = _native_delivery(target, out_types, aliases, scale, shared=shared, keep=w_pos if keep else None,
                                none=(1 if efficacy is None else -1, w_pos + 1 if onto is None else -1))(*args)
        if keep:
            self.weight[...] = outs[-1]
        if self.depth > 0:
            self.pending[...] = outs[0]
            self.clock[...] = self.clock[...] + 1
            return outs[1]
        return outs[0]

    # ----- what learning rules use --------------------------------------------------------------------------------

    def outer(self, a_pre, b_post):
        if not self.sparse:
            return jnp.where(self.mask[...], a_pre[:, None] * b_post[None, :], 0.0)
        return jnp.where(self.mask[...], a_pre[:, None] * b_post[self.post_index[...]], 0.0)

    def pass_weights_through(self):
        """A rule will write the weights after this synapse has delivered: from now on the native delivery call
        returns them too (unchanged, in place), so that the delivery's read is ordered before the rule's write by data
        and XLA need not copy the weights every step to keep the read safe. (Not the default: under ``vmap`` the
        passed-through weights become per-trial, which only weights a rule writes are anyway.)"""
        self.updated_in_place = True

    def prepare_spike_update(self):
        """Get ready for event-driven :meth:`spike_update`: sparse storage builds its column index (synapses by
        postsynaptic neuron); both storages pass their weights through delivery (:meth:`pass_weights_through`)."""
        self.pass_weights_through()
        if not self.sparse or hasattr(self, "col_ptr"):
            return
        idx, mask = np.asarray(self.post_index[...]), np.asarray(self.mask[...])
        slots = np.flatnonzero(mask.ravel())
        posts = idx.ravel()[slots]
        col_ptr, col_syn = conn.column_index(slots, posts, self.shape[1])  # counting sort: by post, slot order kept
        self.col_ptr = spark.Const(jnp.asarray(col_ptr))
        self.col_syn = spark.Const(jnp.asarray(col_syn))

    def spike_update(self, pre, post, on_pre, on_post, w_min=-math.inf, w_max=math.inf, *, pre_gain=None,
                     post_gain=None):
        """:meth:`spark.Synapse.spike_update`, generalised: a presynaptic spike of ``i`` changes each synapse
        ``(i, j)`` by ``pre_gain[i] * on_pre[j]``, a postsynaptic spike of ``j`` each ``(i, j)`` by
        ``on_post[i] * post_gain[j]`` (a gain left out is 1). Triplet STDP needs ``post_gain``: its potentiation is
        ``r1[i] (a2_plus + a3_plus o2[j])``, a product of a pre and a post factor.

        With the native kernels this is one in-place C++ call (output aliased to the weights) whose work grows with
        spikes x fan-out/fan-in: rows of the spiking presynaptic neurons, and for sparse storage the column index of
        :meth:`prepare_spike_update` (for dense storage, strided columns) for the spiking postsynaptic ones. Without
        them, the same result from ``outer`` and ``clip`` over every synapse.
        """
        if not (USE_NATIVE and native.usable()) or (self.sparse and not hasattr(self, "col_ptr")):
            return super().spike_update(pre, post, on_pre, on_post, w_min, w_max, pre_gain=pre_gain,
                                        post_gain=post_gain)
        f32 = jnp.float32
        one = jnp.ones((1,), f32)  # one element: a gain of 1 for every neuron
        gains = (one if pre_gain is None else pre_gain.astype(f32), one if post_gain is None else post_gain.astype(f32))
        spikes = (pre.astype(bool), post.astype(bool), on_pre.astype(f32), on_post.astype(f32), *gains)
        bounds = dict(w_min=np.float32(w_min), w_max=np.float32(w_max))
        out_type = jax.ShapeDtypeStruct(self.weight.shape, f32)
        if not self.sparse:
            return _native_spike_update("spark_spike_update_dense", out_type, bounds)(*spikes, self.native_mask(),
                                                                                    self.weight[...])
        return _native_spike_update("spark_spike_update", out_type, bounds)(
            *spikes, self.post_index[...], self.mask[...], self.col_ptr[...], self.col_syn[...], self.weight[...])

    def native_mask(self) -> jax.Array | None:
        """The connectivity mask a native kernel on dense storage reads (one element when every synapse exists, so
        the kernel need not read it), or None where the native kernels do not serve this synapse (sparse storage, no
        kernels on this backend, ``USE_NATIVE`` off): then a rule takes its pure-JAX path."""
        if self.sparse or not (USE_NATIVE and native.usable()):
            return None
        return jnp.ones((1,), bool) if self.all_to_all else self.mask[...]

    def clip(self, w, lo, hi):
        return jnp.where(self.mask[...], jnp.clip(w, lo, hi), 0.0)

    def sum_incoming(self, w):
        if not self.sparse:
            return column_sum(jnp.where(self.mask[...], w, 0.0))
        return jnp.zeros((self.shape[1],), w.dtype).at[self.post_index[...]].add(jnp.where(self.mask[...], w, 0.0))

    def dense_weights(self) -> jax.Array:
        """The weights as an ``(n_pre, n_post)`` matrix (0 where there is no synapse)."""
        if not self.sparse:
            return jnp.where(self.mask[...], self.weight[...], 0.0)
        n_pre, n_post = self.shape
        rows = jnp.broadcast_to(jnp.arange(n_pre)[:, None], self.post_index[...].shape)
        return jnp.zeros((n_pre, n_post), jnp.float32).at[rows, self.post_index[...]].add(
            jnp.where(self.mask[...], self.weight[...], 0.0))


def _native_delivery(target, out_types, aliases, scale, *, shared, none, keep=None):
    """The native delivery call ``target`` as a function of its arguments, with a batching rule.

    ``keep`` (the position of the weights) selects the ``*_keep`` kernel, which also returns the weights, unchanged and
    in place (see :meth:`Projection.pass_weights_through`). Under ``vmap`` one call of the ``*_batch`` kernel delivers
    every trial (a loop over trials in C++) instead of a call per trial, which XLA would run as a loop around the
    custom call with copies of every trial's slices (digits, batch of 50: slower than one trial after another):

    - the storage (``args[i]`` for ``i`` in ``shared``: post_index, weight, delay) is read where it is: shared by the
      trials (a batched run with learning off) or per trial, each at its own stride;
    - the per-trial arrays (spikes, efficacy, the synapse's state, the delay ring and clock) are broadcast to the batch
      where they are not batched, except the one-element placeholders at the positions ``none`` (no efficacy, no
      state);
    - with ``keep`` and weights shared by the trials (no rule writes them), the delivery runs without the
      pass-through and the shared weights are returned as they are: passing them through per trial would copy them
      for every trial and step. Per-trial weights are passed through in place (``*_keep_batch``).
    """
    def single(*args):
        args = (args[0].astype(bool), *args[1:])
        if keep is None:
            call = jax.ffi.ffi_call(target, out_types, vmap_method="sequential", input_output_aliases=aliases or None)
        else:
            w = args[keep]
            call = jax.ffi.ffi_call(f"{target}_keep", (*out_types, jax.ShapeDtypeStruct(w.shape, w.dtype)),
                                    vmap_method="sequential",
                                    input_output_aliases={**aliases, keep: len(out_types)})
        return match_varying(tuple(call(*args, scale=scale)), args)  # per-device types under shard_map

    @jax.custom_batching.custom_vmap
    def call(*args):
        return single(*args)

    @call.def_vmap
    def _(axis_size, in_batched, *args):
        args = (args[0].astype(bool), *args[1:])
        per_trial = [a if (b or i in shared or i in none) else jnp.broadcast_to(a, (axis_size, *a.shape))
                     for i, (a, b) in enumerate(zip(args, in_batched, strict=True))]
        types = tuple(jax.ShapeDtypeStruct((axis_size, *t.shape), t.dtype) for t in out_types)
        lane_aliases = {i: o for i, o in aliases.items() if i not in none}
        if keep is not None and in_batched[keep]:  # per-trial weights, passed through in place
            w = args[keep]
            batch = jax.ffi.ffi_call(f"{target}_keep_batch", (*types, jax.ShapeDtypeStruct(w.shape, w.dtype)),
                                     vmap_method="sequential",
                                     input_output_aliases={**lane_aliases, keep: len(types)})
            outs = match_varying(tuple(batch(*per_trial, scale=scale)), args)
            return outs, (True,) * len(outs)
        batch = jax.ffi.ffi_call(f"{target}_batch", types, vmap_method="sequential",
                                 input_output_aliases=lane_aliases or None)
        outs = match_varying(tuple(batch(*per_trial, scale=scale)), args)
        if keep is not None:  # shared weights: returned as they are
            return (*outs, args[keep]), (True,) * len(outs) + (False,)
        return outs, (True,) * len(outs)

    return _linear(call, _delivery_reference(target, out_types[-1].shape[0], scale, keep is not None))


def _spike_arg(spikes: jax.Array) -> jax.Array:
    """Spikes for a native call: booleans as they are; float 0/1 spikes (a surrogate soma's) stay float, so that
    their tangent reaches the differentiation rule (the kernel reads them as booleans)."""
    return spikes if jnp.issubdtype(spikes.dtype, jnp.floating) else spikes.astype(bool)


def _linear(call, reference):
    """``call`` (a native kernel, which JAX cannot differentiate) with a differentiation rule: its outputs are
    ``call``'s, their tangents the JVP of ``reference``, the same maths in plain JAX over every synapse (also used by
    the native rule kernels, reward_stdp.py and weight_normalization.py).

    The rule wraps ``call``'s batching rule (``custom_vmap``), so ``grad``, ``vmap`` of ``grad`` and ``grad`` of
    ``vmap`` all work: under ``vmap`` the forward pass is the batched kernel and the tangent the batched reference.
    Delivery is linear in the weights, the spikes, the efficacy and the synapse's state, so the tangent is exact; its
    cost is a full pass over the synapses (not event-driven), paid only when differentiating.
    """
    fn = jax.custom_jvp(lambda *args: call(*args))

    @fn.defjvp
    def _(primals, tangents):
        return call(*primals), jax.jvp(reference, primals, tangents)[1]

    return fn


def _delivery_reference(target, n_post, scale, keep):
    """The outputs of the delivery kernel ``target`` (and its ``_keep`` form) in plain JAX, from the same arguments:
    ``out = scale * base + sum over spiking i of efficacy[i] * weight[i, :]`` (dense), scattered through
    ``post_index`` (sparse), through the ring buffer of pending input for per-synapse delays (delayed). One-element
    efficacy and base are broadcast (1 and 0 with ``scale`` 0: the kernels' "none")."""
    f32 = jnp.float32

    def reference(*args):
        spikes, eff = args[0], args[1]
        x = spikes.astype(f32) * eff.astype(f32)
        if target == "spark_deliver_dense":
            w, base = args[2], args[3]
            outs = (scale * base + x @ w,)
        else:
            post_index, w, base = args[2], args[3], args[4]
            contrib = w * x[:, None]
            if target == "spark_deliver":
                outs = (scale * base + jnp.zeros((n_post,), f32).at[post_index].add(contrib),)
            else:  # spark_deliver_delayed
                delay, pending, clock = args[5], args[6], args[7]
                depth = pending.shape[0]
                pending = pending.at[(clock + delay) % depth, post_index].add(contrib)
                now = clock % depth
                outs = (pending.at[now].set(0.0), scale * base + pending[now])
        outs = tuple(jnp.broadcast_to(o, o.shape if o.ndim == 2 else (n_post,)) for o in outs)
        return (*outs, w) if keep else outs

    return reference


def _native_spike_update(target, out_type, bounds):
    """The native in-place ``spike_update`` call ``target`` (arguments: six per-neuron arrays, the storage, the
    weights last), with a batching rule: under ``vmap`` (networks that learn side by side, e.g. seeds trained at
    once) one call of ``{target}_batch`` updates every lane's weights in place (a loop over lanes in C++), instead of
    XLA's loop around the call that slices out and writes back every lane's weights each step. The per-neuron arrays
    are made per lane where they are not (one-element gains stay: 1 for all); the storage is read where it is (shared
    or per lane); the weights are per lane."""
    def single(*args):
        call = jax.ffi.ffi_call(target, out_type, vmap_method="sequential", input_output_aliases={len(args) - 1: 0})
        return match_varying(call(*args, **bounds), args)

    @jax.custom_batching.custom_vmap
    def call(*args):
        return single(*args)

    @call.def_vmap
    def _(axis_size, in_batched, *args):
        def lane(i, a, b):
            if b or (i >= 6 and i < len(args) - 1) or (i in (4, 5) and a.size == 1):
                return a
            return jnp.broadcast_to(a, (axis_size, *a.shape))

        per_lane = [lane(i, a, b) for i, (a, b) in enumerate(zip(args, in_batched, strict=True))]
        w = per_lane[-1]
        batch = jax.ffi.ffi_call(f"{target}_batch", jax.ShapeDtypeStruct(w.shape, w.dtype), vmap_method="sequential",
                                 input_output_aliases={len(args) - 1: 0})
        return match_varying(batch(*per_lane, **bounds), args), True

    return _linear(call, _spike_update_reference(target, **bounds))


def _spike_update_reference(target, w_min, w_max):
    """The native ``spike_update`` in plain JAX (what :meth:`spark.Synapse.spike_update` computes on the storage):
    every synapse touched by a pre or post spike becomes ``clip(w + pre_gain[i] on_pre[j] + on_post[i]
    post_gain[j])``, the others keep ``w``. Differentiable in ``on_pre``, ``on_post``, the gains and ``w`` (the clip
    passes the gradient inside the bounds, none outside)."""
    f32 = jnp.float32

    def reference(pre, post, on_pre, on_post, pre_gain, post_gain, *storage):
        w = storage[-1]
        pre, post = pre.astype(bool), post.astype(bool)
        a = jnp.where(pre, pre_gain.astype(f32), 0.0)
        b = jnp.where(post, post_gain.astype(f32), 0.0)
        if target == "spark_spike_update_dense":
            mask = storage[0]
            dw = a[:, None] * on_pre[None, :] + on_post[:, None] * b[None, :]
            touched = (pre[:, None] | post[None, :]) & mask.astype(bool)
        else:
            post_index, mask = storage[0], storage[1]
            dw = a[:, None] * on_pre[post_index] + on_post[:, None] * b[post_index]
            touched = (pre[:, None] | post[post_index]) & mask
        return jnp.where(touched, jnp.clip(w + dw, w_min, w_max), w)

    return reference


def decay(dt: float, tau: float) -> float:
    """``exp(-dt / tau)``: exact decay over one step."""
    return math.exp(-dt / tau)
