"""The benchmark networks as `.spark` documents: CUBA and COBA after Vogels & Abbott 2005 (Brette et al. 2007,
benchmarks 1 and 2), optionally with pair STDP on excitatory-to-excitatory synapses.

Identical definitions are written for Brian2 (peers/brian2_models.py) and BrainPy (peers/brainpy_models.py).
80% excitatory / 20% inhibitory LIF neurons, connection probability p = 80 / N (in-degree 80), dt = 0.1 ms.
"""

from __future__ import annotations

# shared constants (ms, mV, pF, nS, pA)
TAU_M, V_REST, V_RESET, V_THRESH, T_REF = 20.0, -49.0, -60.0, -50.0, 5.0
CUBA = {"tau_e": 5.0, "tau_i": 10.0, "w_e": 1.62, "w_i": -9.0}  # mV jumps (c_m = tau_m: 1 pA == 1 mV/ms * ms)
COBA = {"c_m": 200.0, "e_l": -60.0, "e_e": 0.0, "e_i": -80.0, "tau_e": 5.0, "tau_i": 10.0, "w_e": 0.6, "w_i": 6.7,
        "i_bias": 200.0}
IN_DEGREE = 80


def network(kind: str, n: int, *, stdp: bool = False, seed: int = 1, dt: float = 0.1) -> dict:
    """A CUBA or COBA network of ``n`` neurons as a `.spark` document."""
    n_e = int(n * 0.8)
    n_i = n - n_e
    p = min(1.0, IN_DEGREE / n)
    if kind == "cuba":
        soma = {"component": "spark-components:lif",
                "params": {"tau_m": TAU_M, "c_m": TAU_M, "v_rest": V_REST, "v_reset": V_RESET, "v_thresh": V_THRESH,
                           "t_ref": T_REF, "v_init": V_RESET, "v_init_jitter": V_THRESH - V_RESET}}
        syn = "spark-components:exp_synapse"
        w_e, w_i, tau_e, tau_i = CUBA["w_e"], CUBA["w_i"], CUBA["tau_e"], CUBA["tau_i"]
        in_e = in_i = "i_syn"
    elif kind == "coba":
        c = COBA
        soma = {"component": "spark-components:lif_cond",
                "params": {"tau_m": TAU_M, "c_m": c["c_m"], "v_rest": c["e_l"], "v_reset": V_RESET,
                           "v_thresh": V_THRESH, "t_ref": T_REF, "e_exc": c["e_e"], "e_inh": c["e_i"],
                           "i_bias": c["i_bias"], "v_init": V_RESET, "v_init_jitter": V_THRESH - V_RESET}}
        syn = "spark-components:exp_conductance"
        w_e, w_i, tau_e, tau_i = c["w_e"] * 10, c["w_i"] * 10, c["tau_e"], c["tau_i"]  # nS for c_m = 200 pF
        in_e, in_i = "g_exc", "g_inh"
    else:
        raise ValueError(f"unknown network kind {kind!r}")
    nodes = [
        {"id": "exc", "shape": [n_e], **soma},
        {"id": "inh", "shape": [n_i], **soma},
    ]
    edges = []
    for pre, w, tau in (("exc", w_e, tau_e), ("inh", w_i, tau_i)):
        for post in ("exc", "inh"):
            sid = f"{pre}_{post}"
            nodes.append({"id": sid, "component": syn,
                          "params": {"tau_syn": tau, "weight": w, "p_connect": p, "autapses": False}})
            edges += [{"from": f"{pre}.spikes", "to": f"{sid}.pre"},
                      {"from": f"{sid}.{'g' if kind == 'coba' else 'i'}", "to": f"{post}.{in_e if pre == 'exc' else in_i}"}]
    if stdp:
        nodes.append({"id": "stdp", "component": "spark-components:pair_stdp", "attach": "exc_exc",
                      "params": {"tau_plus": 20.0, "tau_minus": 20.0, "a_plus": 0.01 * w_e, "a_minus": 0.0105 * w_e,
                                 "w_min": 0.0, "w_max": 2 * w_e}})
        edges += [{"from": "exc.spikes", "to": "stdp.pre"}, {"from": "exc.spikes", "to": "stdp.post"}]
    return {"format": "spark", "version": 1, "name": f"{kind}{'_stdp' if stdp else ''}_{n}", "dt": dt, "seed": seed,
            "nodes": nodes, "edges": edges}
