"""How spark-components' components and NIR's primitives map onto each other (the ``spark_nir_converters`` hook).

The ``nir`` package is imported inside the functions, so spark-components imports without it. Conventions
(seconds in NIR, ms in Spark; everything else unchanged; spikes worth 1 during their step): :mod:`spark.nir` and
docs/nir.md. Every component of the pack has a converter here: one that maps it, or one that says why it cannot.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from spark import parameters
from spark.errors import UnsupportedNIRError
from spark.nir import Converter, ExportNode, ImportNode, NIRPart, SparkPart, load_nir, same_numbers, saved

from . import connectivity as conn
from ._ode import ref_steps
from .delta_synapse import DeltaSynapse
from .exp_synapse import ExpSynapse
from .lif import LIF
from .nir_neurons import NIRI, NIRIF, NIRLI, NIRLIF, NIRCubaLI, NIRCubaLIF, NIRThreshold

MS = 1e-3  # seconds per ms
DIST = "spark-components"


def _full(value, shape) -> np.ndarray:
    """A parameter (a number or a per-neuron tuple) as a float64 array of ``shape`` (NIR wants one per neuron)."""
    a = np.asarray(value, np.float64)
    return np.full(shape, a.item()) if a.size == 1 else a.reshape(shape).copy()


def _values(a: np.ndarray) -> list[float]:
    """A NIR array as a Spark per-neuron list: one value when all are equal, else one per neuron."""
    a = np.asarray(a, np.float64).ravel()
    return [float(a[0])] if a.size and np.all(a == a[0]) else [float(x) for x in a]


def _shape(node: ImportNode, *fields: str) -> tuple | None:
    """The neuron shape the NIR node's arrays give (``None`` when every one is a scalar, as Norse writes them)."""
    for f in fields:
        a = np.asarray(getattr(node.node, f))
        if a.ndim:
            return tuple(int(s) for s in a.shape)
    return None


def _restored(node: ImportNode, cls, export) -> dict | None:
    """The params Spark saved in the node when it exported it, if they still give the node's numbers
    (``discretization="exact"`` only: ``"euler"`` asks for another reading of the same numbers)."""
    if node.saved is None or node.discretization != "exact":
        return None
    try:
        params = parameters.from_dict(cls.Params, node.saved)
        shape = _shape(node, *_FIELDS[cls]) or (1,)
        with warnings.catch_warnings():  # what the export says about t_ref etc. was said when it was written
            warnings.simplefilter("ignore")
            expected = export(ExportNode(node.name, None, params, shape, node.dt)).nodes[""]
    except Exception:
        return None
    return node.saved if same_numbers(node.node, expected) else None


# ----- neurons ------------------------------------------------------------------------------------------------------

_FIELDS = {
    LIF: ("tau", "r", "v_leak", "v_threshold", "v_reset"),
    NIRLIF: ("tau", "r", "v_leak", "v_threshold", "v_reset"),
    NIRCubaLIF: ("tau_syn", "tau_mem", "r", "v_leak", "v_threshold", "v_reset", "w_in"),
    NIRLI: ("tau", "r", "v_leak"),
    NIRCubaLI: ("tau_syn", "tau_mem", "r", "v_leak", "w_in"),
    NIRIF: ("r", "v_threshold", "v_reset"),
    NIRI: ("r",),
    NIRThreshold: ("threshold",),
}
_SPIKING = {NIRLIF, NIRCubaLIF, NIRIF, NIRThreshold}


def _exp_tau(n: ExportNode) -> float | None:
    """The ``tau_syn`` (ms) of the exponential synapses that alone feed lif node ``n`` (one ``tau_syn``, no edge
    delay, no external input), or ``None``. Such a lif and its synapses are NIR's ``Linear -> CubaLIF``."""
    links = n.graph.sources(n.id, "i_syn") if n.graph is not None else []
    if not links or any(not isinstance(k.component, ExpSynapse) or k.delay for k in links):
        return None
    taus = {k.component.params.tau_syn for k in links}
    return taus.pop() if len(taus) == 1 else None


def _w_in(tau_syn: float, dt: float) -> float:
    """CubaLIF's ``w_in`` that makes a spike add exactly ``W`` to the current, as Spark's exp_synapse does: with the
    input 1 held over the step, the exact current step adds ``w_in (1 - exp(-dt / tau_syn)) W``."""
    return 1.0 / -math.expm1(-dt / tau_syn)


def _lif_to_nir(n: ExportNode, tau_syn: float | None = None) -> NIRPart:
    nir, p, s = load_nir(), n.params, n.shape
    r = p.tau_m / p.c_m  # GOhm = mV / pA
    v_leak = p.v_rest + r * p.i_bias
    if ref_steps(p.t_ref, n.dt) > 1:
        warnings.warn(f"t_ref = {p.t_ref} ms ({ref_steps(p.t_ref, n.dt)} steps) is not in NIR's LIF (no refractory "
                      "period): Spark reads it back from the node's metadata, other tools do not hold v after a spike",
                      stacklevel=2)
    if (p.v_init if p.v_init is not None else p.v_rest) != v_leak or p.v_init_jitter:
        warnings.warn("the initial potential (v_init, v_init_jitter, or v_rest with an i_bias) is not in NIR: Spark "
                      "reads it back from the node's metadata, other tools start at v_leak = v_rest + r i_bias or 0",
                      stacklevel=2)
    tau_syn = _exp_tau(n) if tau_syn is None else tau_syn
    common = dict(r=_full(r, s), v_leak=_full(v_leak, s), v_threshold=_full(p.v_thresh, s),
                  v_reset=_full(p.v_reset, s))
    if tau_syn is None:
        node = nir.LIF(tau=_full(p.tau_m * MS, s), **common)
    else:  # fed by exponential synapses alone: their current is CubaLIF's
        node = nir.CubaLIF(tau_syn=_full(tau_syn * MS, s), tau_mem=_full(p.tau_m * MS, s),
                           w_in=_full(_w_in(tau_syn, n.dt), s), **common)
    return NIRPart({"": node}, inputs={"i_syn": ""}, outputs={"spikes": ""})


def _lif_from_nir(n: ImportNode) -> SparkPart | None:
    nir = load_nir()
    if isinstance(n.node, nir.CubaLIF):
        restored = _restored_cuba(n)
    else:
        restored = _restored(n, LIF, _lif_to_nir)
    if restored is None:
        return None  # not what Spark exported (or read another way): nir_lif / nir_cuba_lif imports it
    return SparkPart(f"{DIST}:lif", restored, _shape(n, *_FIELDS[NIRCubaLIF] if isinstance(
        n.node, nir.CubaLIF) else _FIELDS[LIF]), "i_syn", "spikes")


def _restored_cuba(n: ImportNode) -> dict | None:
    """The lif params of a CubaLIF Spark exported from ``exp_synapse -> lif``, if its numbers, and those of the
    Linear nodes feeding it, still say so (at this ``dt``, ``"exact"``); else ``None``."""
    if n.saved is None or n.discretization != "exact":
        return None
    tau = np.unique(np.asarray(n.node.tau_syn, np.float64))
    feeding = n.neighbours("in")
    if tau.size != 1 or not feeding:
        return None
    for _name, node in feeding:
        meta = saved(node) or {}
        if not (type(node).__name__ == "Linear" and meta.get("component") == f"{DIST}:exp_synapse"
                and (meta.get("params") or {}).get("tau_syn", 0) * MS == tau[0]):
            return None
    try:
        params = parameters.from_dict(LIF.Params, n.saved)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = _lif_to_nir(ExportNode(n.name, None, params, _shape(n, *_FIELDS[NIRCubaLIF]) or (1,), n.dt),
                                   tau_syn=tau[0] / MS).nodes[""]
    except Exception:
        return None
    return n.saved if same_numbers(n.node, expected) else None


def _neuron_to_nir(cls, primitive: str, fields: dict):
    """Export of a NIR-family soma: NIR field -> (Spark param, scale from Spark's value to NIR's)."""

    def to_nir(n: ExportNode) -> NIRPart:
        nir = load_nir()
        kw = {f: _full(np.asarray(getattr(n.params, name), np.float64) * scale, n.shape)
              for f, (name, scale) in fields.items()}
        return NIRPart({"": getattr(nir, primitive)(**kw)}, inputs={"i_syn": ""},
                       outputs={("spikes" if cls in _SPIKING else "v"): ""})

    return to_nir


# NIR field -> (Spark param, factor Spark -> NIR); import inverts it (time constants by ImportNode.time_constant)
_NEURONS = {
    NIRLIF: ("LIF", {"tau": ("tau_mem", MS), "r": ("r", 1.0), "v_leak": ("v_leak", 1.0),
                     "v_threshold": ("v_threshold", 1.0), "v_reset": ("v_reset", 1.0)}),
    NIRCubaLIF: ("CubaLIF", {"tau_syn": ("tau_syn", MS), "tau_mem": ("tau_mem", MS), "r": ("r", 1.0),
                             "v_leak": ("v_leak", 1.0), "v_threshold": ("v_threshold", 1.0),
                             "v_reset": ("v_reset", 1.0), "w_in": ("w_in", 1.0)}),
    NIRLI: ("LI", {"tau": ("tau", MS), "r": ("r", 1.0), "v_leak": ("v_leak", 1.0)}),
    NIRCubaLI: ("CubaLI", {"tau_syn": ("tau_syn", MS), "tau_mem": ("tau_mem", MS), "r": ("r", 1.0),
                           "v_leak": ("v_leak", 1.0), "w_in": ("w_in", 1.0)}),
    # NIR's R of I and IF is per second (dv/dt = R I), Spark's per ms
    NIRIF: ("IF", {"r": ("r", 1.0 / MS), "v_threshold": ("v_threshold", 1.0), "v_reset": ("v_reset", 1.0)}),
    NIRI: ("I", {"r": ("r", 1.0 / MS)}),
    NIRThreshold: ("Threshold", {"threshold": ("threshold", 1.0)}),
}
_EXPORTS = {cls: _neuron_to_nir(cls, prim, fields) for cls, (prim, fields) in _NEURONS.items()}


def _neuron_converter(cls) -> Converter:
    primitive, fields = _NEURONS[cls]
    inverse = {name: (field, "tau" if scale == MS else 1.0 / scale) for field, (name, scale) in fields.items()}
    return Converter(cls, (primitive,), to_nir=_EXPORTS[cls], from_nir=_neuron_from_nir_fn(cls, inverse))


def _neuron_from_nir_fn(cls, inverse):
    def from_nir(n: ImportNode) -> SparkPart:
        saved = _restored(n, cls, _EXPORTS[cls])
        if saved is not None:
            params = saved
        else:
            params = {name: _values(n.time_constant(field) if how == "tau" else n.array(field) * how)
                      for name, (field, how) in inverse.items()}
        return SparkPart(f"{DIST}:{cls.name}", params, _shape(n, *_FIELDS[cls]), "i_syn",
                         "spikes" if cls in _SPIKING else "v", bias_param="i_bias")

    return from_nir


# ----- synapses -----------------------------------------------------------------------------------------------------


def _projection_to_nir(n: ExportNode) -> NIRPart:
    """``Linear`` with the weights of now (NIR's ``(n_out, n_in)``: Spark's transposed, zero where no synapse); a
    per-synapse ``delay`` (one for all) is a ``Delay`` before it, in whole steps."""
    nir, p = load_nir(), n.params
    if p.delay_jitter:
        raise UnsupportedNIRError(f"delay_jitter = {p.delay_jitter} ms gives each synapse its own delay; NIR's "
                                  "Delay delays a whole neuron's output: export without jitter")
    w = np.asarray(n.component.dense_weights(), np.float32)  # (n_pre, n_post)
    nodes, inputs, edges = {"": nir.Linear(weight=w.T.copy())}, {"pre": ""}, ()
    if p.delay > 0:
        steps = int(conn.delay_steps(np.asarray([p.delay]), n.dt)[0])
        nodes["delay"] = nir.Delay(delay=np.full((n.shape[0],), steps * n.dt * MS, np.float64))
        inputs, edges = {"pre": "delay"}, (("delay", ""),)
    return NIRPart(nodes, inputs=inputs, outputs={"i": ""}, edges=edges)


def _delta_to_nir(n: ExportNode) -> NIRPart:
    return _projection_to_nir(n)


def _exp_to_nir(n: ExportNode) -> NIRPart:
    """An exponential synapse whose current only lif nodes fed by exponential synapses alone (of one ``tau_syn``)
    take: the ``Linear`` before their ``CubaLIF``, whose synaptic current is this synapse's."""
    targets = n.graph.targets(n.id, "i") if n.graph is not None else []
    for t in targets:
        if not (isinstance(t.component, LIF) and _exp_tau(ExportNode(t.node, t.component, t.component.params,
                                                                     tuple(t.component.shape), n.dt, n.graph))):
            where = f"{t.node}.{t.port}" if t.node else f"the output {t.port!r}"
            raise UnsupportedNIRError(f"its current goes to {where}; NIR has the current of an exponential synapse "
                                      "only as part of a CubaLIF neuron, so an exp_synapse can be exported only "
                                      "into lif nodes that it and other exp_synapses of the same tau_syn alone feed, "
                                      "with no edge delay")
    if not targets:
        raise UnsupportedNIRError("its current goes nowhere")
    return _projection_to_nir(n)


def _exp_from_nir(n: ImportNode) -> SparkPart | None:
    """A Linear Spark exported from an exp_synapse, if every CubaLIF it feeds comes back as a lif."""
    nir = load_nir()
    if not isinstance(n.node, nir.Linear) or n.saved is None:
        return None
    targets = n.neighbours("out")
    for name, node in targets:
        meta = saved(node) or {}
        if not isinstance(node, nir.CubaLIF) or meta.get("component") != f"{DIST}:lif" or _restored_cuba(
                ImportNode(name, node, n.dt, n.discretization, meta.get("params"), n.graph)) is None:
            return None
    if not targets:
        return None
    part = _weights_part(np.asarray(n.node.weight))
    return SparkPart(f"{DIST}:exp_synapse", {**part.params, "tau_syn": n.saved["tau_syn"]}, part.shape, "pre", "i")


def _weights_part(w: np.ndarray, bias=None) -> SparkPart:
    """A delta synapse with the dense weights ``w`` (NIR's ``(n_out, n_in)``) as explicit synapses."""
    w = np.asarray(w, np.float64)
    post, pre = np.nonzero(w)
    order = np.lexsort((post, pre))
    pre, post = pre[order], post[order]
    params = {"connectivity": "explicit", "pre": pre.tolist(), "post": post.tolist(),
              "weights": [float(x) for x in np.asarray(w[post, pre], np.float32)]}
    return SparkPart(f"{DIST}:delta_synapse", params, (int(w.shape[1]), int(w.shape[0])), "pre", "i",
                     bias=None if bias is None else np.asarray(bias, np.float64))


def _linear_from_nir(n: ImportNode) -> SparkPart | None:
    nir = load_nir()
    node = n.node
    if isinstance(node, nir.Scale):
        s = np.asarray(node.scale, np.float64).ravel()
        if s.size == 1 and np.asarray(node.scale).ndim == 0:
            return SparkPart(f"{DIST}:delta_synapse", lambda shape: _weights_part(
                np.eye(shape[0]) * s[0]).params, None, "pre", "i")
        return _weights_part(np.diag(s))
    w = np.asarray(node.weight)
    if w.ndim != 2:
        raise UnsupportedNIRError(f"NIR node {n.name!r} ({type(node).__name__}): weight of shape {list(w.shape)}; "
                                  "Spark maps a 2-D (n_out, n_in) weight")
    return _weights_part(w, getattr(node, "bias", None))


# ----- components NIR cannot express ----------------------------------------------------------------------------------

_WHY = {
    "lif_cond": "conductance-based input (g (E - v)) has no NIR primitive (NIR's neurons take a current)",
    "adaptive_lif": "the spike-triggered adaptation current (a second state with a jump on each spike) has no NIR "
                    "primitive",
    "adaptive_lif_cond": "conductance-based input and spike-triggered adaptation have no NIR primitive",
    "adex": "the exponential spike term and the adaptation current (AdEx) have no NIR primitive",
    "exp_if": "the exponential spike-initiation term has no NIR primitive",
    "qif": "the quadratic term of the membrane equation has no NIR primitive",
    "izhikevich": "the quadratic membrane equation and the recovery variable have no NIR primitive",
    "hodgkin_huxley": "the voltage-gated channels have no NIR primitive",
    "two_compartment_lif": "two coupled compartments (dendrite and soma) have no NIR primitive",
    "alpha_synapse": "the alpha-function current has no NIR primitive",
    "dual_exp_synapse": "the difference-of-exponentials current has no NIR primitive",
    "exp_conductance": "conductances (nS) have no NIR primitive",
    "tsodyks_markram": "short-term plasticity (STP: depression and facilitation of each synapse) has no NIR "
                       "primitive",
}
_RULE_WHY = "a learning rule: NIR has no plasticity (export leaves rules out, with the synapse's current weights)"


def converters() -> list[Converter]:
    """Every converter spark-components registers (``spark_nir_converters``)."""
    from .plugin import LEARNING_RULES, SOMAS, SYNAPSES

    out = [
        Converter(LIF, (), to_nir=_lif_to_nir, from_nir=_lif_from_nir),
        Converter(DeltaSynapse, ("Affine", "Linear", "Scale"), to_nir=_delta_to_nir, from_nir=_linear_from_nir),
        Converter(ExpSynapse, (), to_nir=_exp_to_nir, from_nir=_exp_from_nir),
        *[_neuron_converter(cls) for cls in _NEURONS],
    ]
    for cls in [*SOMAS, *SYNAPSES]:
        if cls.name in _WHY:
            out.append(Converter(cls, why=_WHY[cls.name]))
    out += [Converter(cls, why=_RULE_WHY) for cls in LEARNING_RULES]
    return out
