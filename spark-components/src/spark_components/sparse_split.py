"""Sparse storage on a neuron mesh: each device's synapses taken out of the rows of postsynaptic indices.

Sparse storage holds one row per presynaptic neuron (``post_index``, ``weight``, ``mask`` of shape ``(n_pre, K)``),
so the synapses onto one device's block of postsynaptic neurons are scattered over every row, and no axis can be cut
to give each device its own. :class:`PostBlocks` packs them instead (docs/scaling.md, "One network across
devices"): device ``d`` holds an ``(n_pre, K_d)`` block whose row ``i`` lists, in the row's own order, the synapses
of ``i`` onto its neurons, with postsynaptic indices counted from its first neuron (``K_d``: the largest such count
over rows and devices). The blocks side by side form the packed ``(n_pre, devices * K_d)`` array that the run
splits along axis 1. The column index of event-driven learning (``col_ptr``, ``col_syn``) is rebuilt per block.

Each synapse keeps its row and the order of its row, so a block delivers, sums and learns as the whole does, to the
bit (tested against the unsplit run, native kernels and JAX path).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from spark.partition import Relayout

from . import connectivity as conn

SLOT_NAMES = ("weight", "delay_steps")  # per-synapse values: moved with their synapse
INDEX_NAMES = ("post_index", "mask", "col_ptr", "col_syn")  # the structure: rebuilt per block, never changed by a run


class PostBlocks(Relayout):
    """How a sparse projection's storage splits by postsynaptic neuron over ``devices`` devices.

    Args:
        post_index: ``(n_pre, K)`` int postsynaptic indices (the whole storage).
        mask: ``(n_pre, K)`` bool: which slots hold a synapse.
        n_post: postsynaptic neurons; a multiple of ``devices``.
        devices: the mesh's size.
        col_index: whether the storage has the column index of event-driven learning (``col_ptr``, ``col_syn``).

    Attributes:
        block_shape: ``(n_pre, K_d)``, each device's slot arrays.
        col_syn_size: the length of each device's ``col_syn`` (the largest number of synapses on one device).
    """

    def __init__(self, post_index, mask, n_post: int, devices: int, *, col_index: bool = False):
        idx, valid = np.asarray(post_index), np.asarray(mask, bool)
        n_pre = idx.shape[0]
        per = n_post // devices
        rows, slots = np.nonzero(valid)  # by row, then slot
        posts = idx[rows, slots].astype(np.int64)
        dev = posts // per
        key = rows.astype(np.int64) * devices + dev
        order = conn.stable_order(key, n_pre * devices)  # by (row, device), the row's order kept
        counts = np.bincount(key, minlength=n_pre * devices)
        k = max(int(counts.max()) if len(key) else 0, 1)
        start = np.concatenate([[0], np.cumsum(counts)[:-1]])
        local = np.empty(len(key), np.int64)
        local[order] = np.arange(len(key)) - start[key[order]]
        cols = dev * k + local
        self.devices, self.block_shape, self.slot_shape = devices, (n_pre, k), tuple(idx.shape)
        self._rows, self._slots, self._cols = rows.astype(np.int32), slots.astype(np.int32), cols.astype(np.int32)
        packed_index = np.zeros((n_pre, devices * k), np.int32)
        packed_index[rows, cols] = posts - dev * per
        packed_mask = np.zeros((n_pre, devices * k), bool)
        packed_mask[rows, cols] = True
        self._const = {"post_index": packed_index, "mask": packed_mask}
        names = {"post_index", "mask", *SLOT_NAMES}
        self.col_syn_size = 1
        if col_index:  # per block: synapses by local postsynaptic neuron, slot order kept (prepare_spike_update)
            ptrs, syns = [], []
            for d in range(devices):
                on = dev == d
                flat = rows[on].astype(np.int64) * k + local[on]  # ascending: by row, then local slot
                ptr, syn = conn.column_index(flat, posts[on] - d * per, per)
                ptrs.append(ptr)
                syns.append(syn)
            self.col_syn_size = max(1, max(len(s) for s in syns))
            self._const["col_ptr"] = np.concatenate(ptrs)
            self._const["col_syn"] = np.concatenate([np.pad(s, (0, self.col_syn_size - len(s))) for s in syns])
            names |= {"col_ptr", "col_syn"}
        self.names = frozenset(names)

    def pack(self, name, x):
        if name in self._const:
            return jnp.asarray(self._const[name])
        x = jnp.asarray(x)
        out = jnp.zeros((self.block_shape[0], self.devices * self.block_shape[1]), x.dtype)
        return out.at[self._rows, self._cols].set(x[self._rows, self._slots])

    def unpack(self, name, old, packed):
        if name in self._const:  # structure: a run never changes it
            return old
        return jnp.asarray(old).at[self._rows, self._slots].set(jnp.asarray(packed)[self._rows, self._cols])
