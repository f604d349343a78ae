"""Connectivity rules and weight initialisers: the statistics each promises, seeded."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spark_components import connectivity as conn


def rng(seed=0):
    return np.random.default_rng(seed)


def pairs(rule, n_pre, n_post, seed=0, **kw):
    i, j = conn.connect(rule, n_pre, n_post, rng(seed), **kw)
    assert len(set(zip(i.tolist(), j.tolist()))) == len(i), "pairs must be unique"
    assert np.all(np.diff(i.astype(np.int64) * n_post + j) > 0), "pairs must be sorted by (pre, post)"
    return i, j


def test_all_to_all_and_one_to_one():
    i, j = pairs("all_to_all", 5, 7)
    assert len(i) == 35
    i, j = pairs("all_to_all", 6, 6, autapses=False)
    assert len(i) == 30 and not np.any(i == j)
    i, j = pairs("one_to_one", 9, 9)
    np.testing.assert_array_equal(i, j)
    with pytest.raises(ValueError, match="one_to_one connectivity needs n_pre == n_post"):
        conn.connect("one_to_one", 3, 4, rng())


@pytest.mark.parametrize("n_pre, n_post, p", [(300, 200, 0.05), (1000, 1000, 0.01), (50, 60, 0.5), (2000, 3, 0.9)])
def test_fixed_probability_is_binomial(n_pre, n_post, p):
    i, j = pairs("fixed_probability", n_pre, n_post, p=p)
    total = n_pre * n_post
    assert abs(len(i) - p * total) < 5 * math.sqrt(total * p * (1 - p))
    # pairs are spread evenly: counts per pre follow Binomial(n_post, p)
    per_pre = np.bincount(i, minlength=n_pre)
    assert abs(per_pre.mean() - n_post * p) < 5 * math.sqrt(n_post * p * (1 - p) / n_pre)
    assert abs(per_pre.var() - n_post * p * (1 - p)) < 0.25 * n_post * p * (1 - p) + 0.05


def test_fixed_probability_seeded_and_autapse_removal_keeps_the_draw():
    a = pairs("fixed_probability", 80, 80, seed=3, p=0.3)
    b = pairs("fixed_probability", 80, 80, seed=3, p=0.3)
    c = pairs("fixed_probability", 80, 80, seed=4, p=0.3)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])
    no_self = pairs("fixed_probability", 80, 80, seed=3, p=0.3, autapses=False)
    keep = a[0] != a[1]
    np.testing.assert_array_equal(no_self[0], a[0][keep])
    np.testing.assert_array_equal(no_self[1], a[1][keep])


@pytest.mark.parametrize("autapses", [True, False])
def test_fixed_indegree(autapses):
    i, j = pairs("fixed_indegree", 40, 40, degree=12, autapses=autapses)
    np.testing.assert_array_equal(np.bincount(j, minlength=40), 12)
    if not autapses:
        assert not np.any(i == j)
    # presynaptic partners are uniform: every pre is used about 12 times
    counts = np.bincount(pairs("fixed_indegree", 50, 4000, degree=10)[0], minlength=50)
    assert abs(counts.mean() - 800) < 1e-9 and counts.std() < 5 * math.sqrt(800)


def test_fixed_outdegree_and_its_bounds():
    i, j = pairs("fixed_outdegree", 30, 500, degree=25)
    np.testing.assert_array_equal(np.bincount(i, minlength=30), 25)
    i, j = pairs("fixed_outdegree", 10, 10, degree=9, autapses=False)  # dense regime: every other neuron
    assert len(i) == 90 and not np.any(i == j)
    with pytest.raises(ValueError, match="degree 10 exceeds the 9 available"):
        conn.connect("fixed_outdegree", 10, 10, rng(), degree=10, autapses=False)


def test_explicit_lists():
    i, j = pairs("explicit", 4, 3, pre=(3, 0, 1), post=(2, 1, 1))
    np.testing.assert_array_equal(i, [0, 1, 3])
    np.testing.assert_array_equal(j, [1, 1, 2])
    with pytest.raises(ValueError, match="as many `pre` as `post`"):
        conn.connect("explicit", 4, 3, rng(), pre=(0, 1), post=(1,))
    with pytest.raises(ValueError, match="explicit `post` index 3 is outside 0..2"):
        conn.connect("explicit", 4, 3, rng(), pre=(0,), post=(3,))
    with pytest.raises(ValueError, match="lists a \\(pre, post\\) pair twice"):
        conn.connect("explicit", 4, 3, rng(), pre=(0, 0), post=(1, 1))


@pytest.mark.parametrize("kind", ["uniform", "normal", "lognormal"])
@pytest.mark.parametrize("mean", [2.0, -3.0])
def test_weight_initialisers_have_the_asked_mean_and_std(kind, mean):
    n, std = 200_000, 0.5
    w = conn.init_weights(kind, n, rng(1), mean=mean, std=std)
    assert w.dtype == np.float32
    assert abs(w.mean() - mean) < 5 * std / math.sqrt(n)
    assert abs(w.std() - std) < 0.01
    if kind == "lognormal":
        assert np.all(np.sign(w) == np.sign(mean))
    if kind == "uniform":
        half = math.sqrt(3) * std
        assert w.min() >= mean - half and w.max() <= mean + half


def test_constant_weights_and_delay_rounding():
    np.testing.assert_array_equal(conn.init_weights("constant", 4, rng(), mean=1.5, std=9.0), 1.5)
    np.testing.assert_array_equal(conn.delay_steps([0.0, 0.04, 0.05, 0.35, 1.0, 1.449], 0.1), [0, 0, 1, 4, 10, 14])


# ----- sort-free generation: the very pairs a sort of the drawn pairs gives ---------------------------------------

def drawn_then_sorted(rule, n_pre, n_post, seed, *, p=1.0, degree=1, autapses=True):
    """The definition the generators keep (and the code before them was): draw the pairs in any order from the
    seeded generator, drop autapses, sort by (pre, post) with ``np.lexsort``."""
    r = rng(seed)
    square = n_pre == n_post
    if rule == "fixed_probability":  # every pair with probability p: geometric gaps over the pair list, in chunks
        total, chunks, pos = n_pre * n_post, [], -1
        while pos < total:
            k = int(max(1024, (total - pos) * p * 1.05 + 6 * math.sqrt(total * p) + 16))
            flat = pos + np.cumsum(r.geometric(p, size=k).astype(np.int64))
            pos = int(flat[-1])
            chunks.append(flat[flat < total])
        i, j = np.divmod(np.concatenate(chunks), n_post)
        if not autapses and square:
            i, j = i[i != j], j[i != j]
    else:
        indeg = rule == "fixed_indegree"
        n_from, n_to = (n_pre, n_post) if indeg else (n_post, n_pre)
        pool = n_from - (0 if autapses or not square else 1)
        picks = conn._distinct_rows(n_to, pool, degree, r).ravel()
        owner = np.repeat(np.arange(n_to), degree)
        if not autapses and square:
            picks = picks + (picks >= owner)
        i, j = (picks, owner) if indeg else (owner, picks)
    order = np.lexsort((j, i))
    return i[order], j[order]


@pytest.mark.parametrize("rule, n_pre, n_post, kw", [
    ("fixed_probability", 3000, 2000, {"p": 0.01}),
    ("fixed_probability", 700, 700, {"p": 0.2, "autapses": False}),
    ("fixed_probability", 90_000, 3, {"p": 0.3}),
    ("fixed_indegree", 300, 200, {"degree": 17}),
    ("fixed_indegree", 300, 300, {"degree": 40, "autapses": False}),
    ("fixed_indegree", 70_000, 200, {"degree": 30}),  # more than 2**16 presynaptic neurons: two counting passes
    ("fixed_indegree", 50, 50, {"degree": 30, "autapses": False}),  # dense regime of _distinct_rows
    ("fixed_outdegree", 200, 300, {"degree": 17}),
    ("fixed_outdegree", 300, 300, {"degree": 40, "autapses": False}),
    ("fixed_outdegree", 40, 40, {"degree": 30, "autapses": False}),
])
@pytest.mark.parametrize("seed", [0, 5])
def test_generated_in_order_equals_drawn_then_sorted(rule, n_pre, n_post, kw, seed):
    i, j = pairs(rule, n_pre, n_post, seed=seed, **kw)
    ri, rj = drawn_then_sorted(rule, n_pre, n_post, seed, **kw)
    assert i.dtype == j.dtype == np.int32
    np.testing.assert_array_equal(i, ri)
    np.testing.assert_array_equal(j, rj)


@pytest.mark.parametrize("n_keys", [1, 7, 65_536, 65_537, 300_000])
def test_stable_order_is_a_stable_argsort(n_keys):
    keys = rng(n_keys).integers(0, n_keys, 50_000)
    for k in (keys, keys.astype(np.int32)):
        np.testing.assert_array_equal(conn.stable_order(k, n_keys), np.argsort(k, kind="stable"))


def test_a_projection_of_more_pairs_than_int32_builds():
    """Each side of a projection is indexed with int32; the pairs (n_pre * n_post) never are."""
    from flax import nnx

    from spark_components import ExpSynapse

    syn = ExpSynapse((50_000, 60_000), p_connect=2e-6, storage="sparse", rngs=nnx.Rngs(0))
    assert 3_000 < syn.n_synapses < 9_000
    idx, mask = np.asarray(syn.post_index[...]), np.asarray(syn.mask[...])
    assert idx[mask].max() < 60_000 and mask.shape[0] == 50_000


@pytest.mark.parametrize("kw", [
    {"connectivity": "fixed_probability", "p_connect": 0.05, "weight": -9.0},  # one weight: filled by comparison
    {"connectivity": "fixed_indegree", "degree": 9, "weight_init": "normal", "weight": 2.0, "weight_std": 1.0},
    {"connectivity": "fixed_outdegree", "degree": 7, "weight": 0.5, "delay": 0.2, "delay_jitter": 1.0},
])
def test_sparse_rows_hold_the_pairs_in_order_as_dense_storage_scatters_them(kw):
    """Sparse storage is filled in its layout (row i: pre i's synapses in its first slots, posts ascending); the
    dense storage of the same draws scatters ``W[pre, post] = w``: the two hold the same synapses, bit for bit."""
    from flax import nnx

    from spark_components import ExpSynapse

    sp = ExpSynapse((300, 250), storage="sparse", rngs=nnx.Rngs(3), dt=0.1, **kw)
    idx, w, mask = (np.asarray(getattr(sp, a)[...]) for a in ("post_index", "weight", "mask"))
    counts = mask.sum(axis=1)
    np.testing.assert_array_equal(mask, np.arange(mask.shape[1])[None, :] < counts[:, None])
    rows = np.repeat(np.arange(300), counts)
    assert np.all(np.diff(rows.astype(np.int64) * 250 + idx[mask]) > 0), "each row's posts in ascending order"
    assert not np.any(w[~mask].view(np.uint32)), "padding holds +0.0"
    if "delay" not in kw:
        de = ExpSynapse((300, 250), storage="dense", rngs=nnx.Rngs(3), dt=0.1, **kw)
        dm, dw = np.asarray(de.mask[...]), np.asarray(de.weight[...])
        np.testing.assert_array_equal(np.argwhere(dm), np.stack([rows, idx[mask]], axis=1))
        assert dw[dm].tobytes() == w[mask].tobytes()
