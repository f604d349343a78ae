"""Who connects to whom, and with which initial weights: host-side (NumPy) generation, seeded.

Every rule returns unique ``(pre, post)`` index pairs. Generation runs once, at construction, never in a step.
"""

from __future__ import annotations

import math

import numpy as np

from spark.timing import to_steps

RULES = ("all_to_all", "one_to_one", "fixed_probability", "fixed_indegree", "fixed_outdegree", "explicit")
WEIGHT_INITS = ("constant", "uniform", "normal", "lognormal")


def connect(rule: str, n_pre: int, n_post: int, rng: np.random.Generator, *, p: float = 1.0, degree: int = 1,
            autapses: bool = True, pre: tuple = (), post: tuple = (), who: str = "synapse") -> tuple[np.ndarray, np.ndarray]:
    """Index pairs of a connectivity rule, sorted by (pre, post), as int32.

    No rule sorts its pairs as a whole: ``all_to_all``, ``one_to_one`` and ``fixed_probability`` draw them in order
    (the last walks the pair list ``pre * n_post + post`` with geometric gaps), ``fixed_outdegree`` sorts each
    neuron's ``degree`` picks, ``fixed_indegree`` orders by presynaptic index with a counting sort (its posts are
    already in order), and only ``explicit`` lists are sorted. The pairs are the very ones a sort of the drawn pairs
    by (pre, post) gives (tests/test_connectivity.py checks it against that definition).

    Args:
        rule: one of :data:`RULES`.
        p: connection probability of each pair (``fixed_probability``).
        degree: synapses per postsynaptic neuron (``fixed_indegree``) or per presynaptic neuron (``fixed_outdegree``).
        autapses: keep ``i -> i`` pairs (only meaningful when ``n_pre == n_post``; the caller decides whether they
            are autapses, i.e. whether pre and post are one population).
        pre, post: the pairs of ``explicit`` connectivity.
    """
    square = n_pre == n_post
    if rule == "all_to_all":
        i, j = np.divmod(np.arange(n_pre * n_post, dtype=np.int64), n_post)
    elif rule == "one_to_one":
        if not square:
            raise ValueError(f"{who}: one_to_one connectivity needs n_pre == n_post, got {n_pre} and {n_post}")
        i = j = np.arange(n_pre, dtype=np.int64)
    elif rule == "fixed_probability":
        i, j = _bernoulli_pairs(n_pre, n_post, p, rng)
    elif rule in ("fixed_indegree", "fixed_outdegree"):
        indeg = rule == "fixed_indegree"
        n_from, n_to = (n_pre, n_post) if indeg else (n_post, n_pre)
        pool = n_from - (0 if autapses or not square else 1)
        if degree > pool:
            raise ValueError(f"{who}: {rule} degree {degree} exceeds the {pool} available "
                             f"{'presynaptic' if indeg else 'postsynaptic'} neurons; lower `degree`")
        picks = _distinct_rows(n_to, pool, degree, rng)  # (n_to, degree) indices into the pool
        if not indeg:
            picks.sort(axis=1)  # each presynaptic neuron's posts in order (the skip below keeps it)
        owner = np.repeat(np.arange(n_to, dtype=np.int64), degree)
        picks = picks.ravel()
        if not autapses and square:
            picks = picks + (picks >= owner)  # skip the neuron itself
        i, j = (picks, owner) if indeg else (owner, picks)
        if indeg:  # sorted by post: a stable order by pre keeps each pre's posts in order
            order = stable_order(i, n_pre)
            i, j = i[order], j[order]
    elif rule == "explicit":
        i, j = np.asarray(pre, dtype=np.int64), np.asarray(post, dtype=np.int64)
        if i.shape != j.shape:
            raise ValueError(f"{who}: explicit connectivity needs as many `pre` as `post` indices "
                             f"({len(i)} and {len(j)})")
        for name, idx, n in (("pre", i, n_pre), ("post", j, n_post)):
            if idx.size and (idx.min() < 0 or idx.max() >= n):
                raise ValueError(f"{who}: explicit `{name}` index {int(idx.max() if idx.max() >= n else idx.min())} "
                                 f"is outside 0..{n - 1}")
        if len(np.unique(i * n_post + j)) != len(i):
            raise ValueError(f"{who}: explicit connectivity lists a (pre, post) pair twice; list each pair once")
        order = np.lexsort((j, i))  # the only rule whose pairs come in any order
        i, j = i[order], j[order]
    else:
        raise ValueError(f"{who}: unknown connectivity {rule!r}; use one of {', '.join(RULES)}")
    if not autapses and square and rule in ("all_to_all", "one_to_one", "fixed_probability"):
        keep = i != j
        i, j = i[keep], j[keep]
    return i.astype(np.int32, copy=False), j.astype(np.int32, copy=False)


def stable_order(keys: np.ndarray, n_keys: int) -> np.ndarray:
    """The permutation that sorts ``keys`` (integers in ``[0, n_keys)``) stably: ``np.argsort(keys,
    kind="stable")``, in linear time. It is a least-significant-digit counting sort, 16 bits a pass (NumPy sorts
    16-bit integers stably by counting, ``kind="stable"``), one pass up to 65,536 keys and two up to 2**32."""
    keys = np.asarray(keys)
    if n_keys <= 1 << 16:
        return np.argsort(keys.astype(np.uint16), kind="stable")
    if n_keys > 1 << 32:
        return np.argsort(keys, kind="stable")
    order = np.argsort((keys & 0xFFFF).astype(np.uint16), kind="stable")
    return order[np.argsort((keys[order] >> 16).astype(np.uint16), kind="stable")]


def column_index(slots: np.ndarray, posts: np.ndarray, n_post: int) -> tuple[np.ndarray, np.ndarray]:
    """The column index of event-driven learning: ``(col_ptr, col_syn)`` (int32), where ``col_syn[col_ptr[j] ..
    col_ptr[j + 1])`` are the flat slots (ascending in ``slots``' order) of the synapses onto postsynaptic ``j``."""
    col_syn = np.asarray(slots)[stable_order(posts, n_post)].astype(np.int32)
    col_ptr = np.concatenate([[0], np.cumsum(np.bincount(posts, minlength=n_post))]).astype(np.int32)
    return col_ptr, col_syn


def expected_synapses(rule: str, n_pre: int, n_post: int, *, p: float = 1.0, degree: int = 1, autapses: bool = True,
                      pre: tuple = ()) -> tuple[int, int]:
    """``(synapses, largest out-degree)`` that :func:`connect` is expected to make, from the parameters alone (no
    index array is built): exact for every rule but ``fixed_probability`` and ``fixed_indegree``, whose out-degree
    is a high quantile of its binomial distribution. Python integers: no overflow however large the populations."""
    square = n_pre == n_post
    diag = 0 if autapses or not square else 1
    if rule == "all_to_all":
        return n_pre * n_post - diag * n_pre, n_post - diag
    if rule == "one_to_one":
        return (0 if diag else n_pre), (0 if diag else 1)
    if rule == "explicit":
        counts: dict[int, int] = {}
        for i in pre:
            counts[i] = counts.get(i, 0) + 1
        return len(pre), max(counts.values(), default=0)
    if rule == "fixed_outdegree":
        return degree * n_pre, degree
    if rule == "fixed_probability":
        pool, q, nnz = n_post - diag, min(max(p, 0.0), 1.0), None
    elif rule == "fixed_indegree":
        pool = n_post
        q = min(degree / max(n_pre - diag, 1), 1.0)
        nnz = degree * n_post
    else:
        return n_pre * n_post, n_post
    mean = q * pool
    return (round(mean * n_pre) if nnz is None else nnz), _largest_binomial(pool, q, n_pre)


def _largest_binomial(trials: int, q: float, count: int) -> int:
    """A high quantile (exceeded with probability < 5%) of the largest of ``count`` Binomial(trials, q) draws."""
    if q <= 0 or trials <= 0:
        return 0
    mean = trials * q
    if q >= 1 or mean > 500:  # normal approximation of the tail
        log_n = math.log(max(count, 2))
        return min(trials, math.ceil(mean + math.sqrt(2 * mean * (1 - q) * (log_n + 3)) + 1))
    log_pmf, cdf, k = trials * math.log1p(-q), 0.0, 0
    while k < trials:
        cdf += math.exp(log_pmf)
        if count * (1.0 - cdf) < 0.05:
            return k
        log_pmf += math.log((trials - k) / (k + 1)) + math.log(q / (1 - q))
        k += 1
    return trials


def _bernoulli_pairs(n_pre: int, n_post: int, p: float, rng: np.random.Generator):
    """Each of the n_pre * n_post pairs independently with probability p (geometric skipping: O(synapses)), in
    order: positions ``pre * n_post + post`` walked with geometric gaps, so the pairs come sorted by (pre, post).
    int32 when the populations fit it (always, in a component: each axis of its shape does)."""
    total = n_pre * n_post
    small = max(n_pre, n_post) <= np.iinfo(np.int32).max
    if p <= 0 or total == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if p >= 1:
        return np.divmod(np.arange(total, dtype=np.int64), n_post)
    chunks, pos = [], -1
    while pos < total:  # the draws (how many, in which chunks) are part of the realization: keep them as they are
        n = int(max(1024, (total - pos) * p * 1.05 + 6 * math.sqrt(total * p) + 16))
        flat = rng.geometric(p, size=n)  # int64
        np.cumsum(flat, out=flat)
        flat += pos
        pos = int(flat[-1])
        chunks.append(flat if pos < total else flat[:np.searchsorted(flat, total)])
    flat = chunks[0] if len(chunks) == 1 else np.concatenate(chunks)
    if not small:
        return np.divmod(flat, n_post)
    pre, post = np.empty(len(flat), np.int32), np.empty(len(flat), np.int32)
    np.divmod(flat, n_post, out=(pre, post), casting="unsafe")  # one pass, straight into int32 (they fit)
    return pre, post


def _distinct_rows(n_rows: int, pool: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """``(n_rows, k)`` integers in ``[0, pool)``, distinct within each row, uniformly drawn."""
    if k == 0:
        return np.zeros((n_rows, 0), np.int64)
    if k * 4 > pool:  # dense regime: a random permutation per row
        keys = rng.random((n_rows, pool))
        return np.argpartition(keys, k - 1, axis=1)[:, :k].astype(np.int64)
    out = rng.integers(0, pool, size=(n_rows, k))
    while True:  # redraw duplicates until every row is distinct
        out.sort(axis=1)
        dup = np.zeros_like(out, dtype=bool)
        dup[:, 1:] = out[:, 1:] == out[:, :-1]
        if not dup.any():
            return rng.permuted(out, axis=1)
        out[dup] = rng.integers(0, pool, size=int(dup.sum()))


def init_weights(kind: str, n: int, rng: np.random.Generator, *, mean: float, std: float) -> np.ndarray:
    """``n`` initial weights: ``constant`` (= mean), ``uniform`` (mean ± sqrt(3) std), ``normal`` or ``lognormal``
    (both with the given mean and standard deviation of the weights; lognormal keeps the sign of ``mean``)."""
    if kind == "constant" or std == 0:
        return np.full(n, mean, np.float32)
    if kind == "uniform":
        half = math.sqrt(3.0) * std
        return rng.uniform(mean - half, mean + half, n).astype(np.float32)
    if kind == "normal":
        return rng.normal(mean, std, n).astype(np.float32)
    if kind == "lognormal":
        if mean == 0:
            raise ValueError("lognormal weights need a non-zero mean")
        m = abs(mean)
        sigma2 = math.log1p((std / m) ** 2)
        mu = math.log(m) - sigma2 / 2
        return (math.copysign(1.0, mean) * rng.lognormal(mu, math.sqrt(sigma2), n)).astype(np.float32)
    raise ValueError(f"unknown weight_init {kind!r}; use one of {', '.join(WEIGHT_INITS)}")


def delay_steps(delays_ms: np.ndarray, dt: float) -> np.ndarray:
    """Delays rounded half-up to whole steps (``delay / dt`` first rounded to 6 decimals): ``spark.timing.to_steps``."""
    return to_steps(np.asarray(delays_ms, np.float64), dt).astype(np.int32)
