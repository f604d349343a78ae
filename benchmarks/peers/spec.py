"""The benchmark network as plain numbers, read from the `.spark` document that ``benchmarks/models.py`` writes.

The peer implementations (Brian2, BrainPy) take every parameter from here, so they simulate exactly the network
that Spark simulates: nothing is typed twice. Pure Python (no Spark, no JAX), importable from any peer's virtualenv.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1]
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import models  # noqa: E402  (benchmarks/models.py)


@dataclass(frozen=True)
class Spec:
    kind: str  # "cuba" or "coba"
    n: int
    n_e: int
    n_i: int
    dt: float  # ms
    seed: int
    p: float  # connection probability of every pair (no autapses within a population)
    soma: dict  # lif / lif_cond params (ms, mV, pF, pA)
    w_e: float  # jump per excitatory spike: pA (cuba) or nS (coba)
    w_i: float  # jump per inhibitory spike: pA (cuba, negative) or nS (coba, positive)
    tau_e: float  # ms
    tau_i: float  # ms
    stdp: dict | None  # pair_stdp params on exc -> exc, or None

    @property
    def n_ref_steps(self) -> int:
        """Steps of the refractory period ``[t*, t* + t_ref)``, the spike's step included, rounded half-up as Spark
        does: ``v`` is held for the ``n_ref - 1`` steps after the spike's."""
        return math.floor(round(self.soma["t_ref"] / self.dt, 6) + 0.5)

    @property
    def v_init_range(self) -> tuple[float, float]:
        lo = self.soma["v_init"] if self.soma.get("v_init") is not None else self.soma["v_rest"]
        return lo, lo + self.soma.get("v_init_jitter", 0.0)

    @property
    def name(self) -> str:
        return f"{self.kind}{'_stdp' if self.stdp else ''}_{self.n}"


def spec(kind: str, n: int, *, stdp: bool = False, seed: int = 1) -> Spec:
    """Read the network of ``models.network(kind, n, stdp=stdp, seed=seed)`` into a :class:`Spec`."""
    doc = models.network(kind, n, stdp=stdp, seed=seed)
    nodes = {nd["id"]: nd for nd in doc["nodes"]}
    exc, inh = nodes["exc"], nodes["inh"]
    assert exc["component"] == inh["component"] and exc["params"] == inh["params"], "exc and inh differ"
    comp = exc["component"].split(":")[-1]
    assert comp == {"cuba": "lif", "coba": "lif_cond"}[kind], comp
    syn = {}
    for pre in ("exc", "inh"):
        ps = [nodes[f"{pre}_{post}"]["params"] for post in ("exc", "inh")]
        assert ps[0] == ps[1], f"{pre}->exc and {pre}->inh synapses differ"
        assert not ps[0].get("autapses", True), "the benchmark networks have no autapses"
        syn[pre] = ps[0]
    p = syn["exc"]["p_connect"]
    assert syn["inh"]["p_connect"] == p
    # where each synapse's output goes: cuba sums both into i_syn (the sign is in the weight); coba has g_exc/g_inh
    ports = {e["from"].split(".")[0]: e["to"] for e in doc["edges"] if e["from"].split(".")[0] in
             {f"{a}_{b}" for a in ("exc", "inh") for b in ("exc", "inh")}}
    if kind == "coba":
        assert ports["exc_exc"].endswith(".g_exc") and ports["inh_exc"].endswith(".g_inh"), ports
    else:
        assert all(v.endswith(".i_syn") for v in ports.values()), ports
    stdp_params = None
    if stdp:
        st = nodes["stdp"]
        assert st["attach"] == "exc_exc" and st["component"].endswith(":pair_stdp")
        stdp_params = dict(st["params"])
    return Spec(kind=kind, n=n, n_e=exc["shape"][0], n_i=inh["shape"][0], dt=doc["dt"], seed=doc["seed"], p=p,
                soma=dict(exc["params"]), w_e=syn["exc"]["weight"], w_i=syn["inh"]["weight"],
                tau_e=syn["exc"]["tau_syn"], tau_i=syn["inh"]["tau_syn"], stdp=stdp_params)


def bernoulli_csr(n_pre: int, n_post: int, p: float, rng, *, exclude_offset: int | None = None):
    """Each pre/post pair independently with probability ``p``, as CSR (``indptr``, ``indices``), in O(synapses).

    ``exclude_offset``: drop the pairs with ``post == pre + exclude_offset`` (autapses when ``pre`` and ``post``
    index one population, or the presynaptic population starts at ``exclude_offset`` inside the postsynaptic one).
    The same rule as Spark's ``fixed_probability`` connectivity (geometric skipping over the pair list).
    """
    import numpy as np

    total = n_pre * n_post
    chunks, pos = [], -1
    while pos < total:
        k = int(max(1024, (total - pos) * p * 1.05 + 6 * math.sqrt(total * p) + 16))
        flat = pos + np.cumsum(rng.geometric(p, size=k).astype(np.int64))
        pos = int(flat[-1])
        chunks.append(flat[flat < total])
    flat = np.concatenate(chunks)
    pre, post = np.divmod(flat, n_post)
    if exclude_offset is not None:
        keep = post != pre + exclude_offset
        pre, post = pre[keep], post[keep]
    indptr = np.zeros(n_pre + 1, np.int64)
    np.cumsum(np.bincount(pre, minlength=n_pre), out=indptr[1:])
    return indptr.astype(np.int32), post.astype(np.int32)


PROJECTIONS = ("exc_exc", "exc_inh", "inh_exc", "inh_inh")


def load_network(path, s: Spec) -> dict:
    """One realization of the network, as Spark drew it (``spark_case.py --export``): for each projection of
    :data:`PROJECTIONS`, ``<id>_pre`` and ``<id>_post`` (indices within the populations, sorted by pre then post),
    and ``v_exc``, ``v_inh`` (initial potentials, mV). Checked against ``s``: sizes, index ranges, no autapses."""
    import numpy as np

    with np.load(path) as z:
        net = {k: z[k] for k in z.files}
    size = {"exc": s.n_e, "inh": s.n_i}
    assert net["v_exc"].shape == (s.n_e,) and net["v_inh"].shape == (s.n_i,), f"{path}: not a network of {s.name}"
    for pid in PROJECTIONS:
        a, b = pid.split("_")
        pre, post = net[f"{pid}_pre"], net[f"{pid}_post"]
        assert pre.shape == post.shape and pre.ndim == 1, pid
        if len(pre):
            assert 0 <= pre.min() and pre.max() < size[a] and 0 <= post.min() and post.max() < size[b], pid
            assert np.all(np.diff(pre) >= 0), f"{pid}: pairs not sorted by pre"
        if a == b:
            assert not np.any(pre == post), f"{pid}: autapses"
    return net


def csr(pre, post, n_pre: int):
    """``(indptr, indices)`` of pairs sorted by ``pre``."""
    import numpy as np

    indptr = np.zeros(n_pre + 1, np.int64)
    np.cumsum(np.bincount(pre, minlength=n_pre), out=indptr[1:])
    return indptr.astype(np.int32), np.asarray(post, np.int32)
