"""Make the Brian2 reference traces of Spark's somas (``<model>.npz`` next to this file).

Run with a Python that has Brian2 (never install Brian2 into Spark's test environments)::

    python3 -m venv /tmp/brian2-venv && /tmp/brian2-venv/bin/pip install brian2 'numpy<2.3'
    /tmp/brian2-venv/bin/python spark-components/tests/reference/make_reference.py [model ...]

This script does not import Spark. Every model is written twice, with the same parameters: here in Brian2's
equation language and in ``spark_components``. Parameters are given in Spark's names and units (mV, ms, pA, pF,
nS) and stored in each file, so the tests build the Spark component from exactly what Brian2 simulated.

Conventions shared by both simulators:

- The input current is constant over each step ``[k dt, (k + 1) dt)``: Brian2 reads ``i[k]`` from a TimedArray in
  a ``run_regularly`` at the start of step ``k`` (so that RK4's intermediate stages see the same value).
- ``v[k]`` is the state after step ``k`` (after threshold and reset), i.e. Brian2's StateMonitor at ``when='end'``;
  this is Spark's output ``k``. A spike in Brian2's step ``k`` (``t = k dt``) is Spark's ``spikes[k]``.
- Refractoriness: both hold ``v`` during ``[t*, t* + t_ref)``, counted from the spike's own step (NEST's and
  Brian2's definition), so Brian2's ``refractory = t_ref`` is Spark's ``t_ref`` (multiples of ``dt`` here).
- RK4 models evaluate their right-hand side at ``min(v, v_peak)`` in both simulators (a Brian2 subexpression
  ``vc = clip(v, -1 V, v_peak)``).

Noise inputs are Ornstein-Uhlenbeck currents drawn from ``numpy.random.default_rng(SEED)``, stored (float32) in the
file and fed to both simulators. Files hold float32 arrays, ``np.savez_compressed``:

    meta                JSON: model, brian2 and numpy versions, dt (ms), method, cases -> {params, n, ...}
    <case>__i           input current (pA), shape (steps, n)   [two_compartment_lif: <case>__i_soma, <case>__i_dend]
    <case>__v           v (mV) after each step (hodgkin_huxley: after every 10th step: v[9::10])
    <case>__<state>     other recorded states: adex w (pA), izhikevich u (mV/ms), two_compartment_lif v_dend (mV)
    <case>__spike_step  step index of each spike (int32), <case>__spike_neuron: its neuron (int32)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import brian2 as b2
import numpy as np
from brian2 import amp, ms, mV, nS, pA, pF

HERE = Path(__file__).resolve().parent
SEED = 20240611
EPS = 1e-6  # relative input perturbation of the conditioning check (see run_brian)
b2.prefs.codegen.target = "numpy"


def ou_current(rng, steps, n, dt, mean, sigma, tau):
    """Ornstein-Uhlenbeck current (pA): stationary mean ``mean``, s.d. ``sigma``, correlation time ``tau`` (ms)."""
    decay = np.exp(-dt / tau)
    x = np.empty((steps, n))
    x[0] = rng.standard_normal(n) * sigma
    kicks = rng.standard_normal((steps, n)) * sigma * np.sqrt(1 - decay**2)
    for k in range(1, steps):
        x[k] = x[k - 1] * decay + kicks[k]
    return (mean + x).astype(np.float32)


def step_current(steps, dt, amplitudes, on=20.0, off=220.0):
    """0 pA, then ``amplitudes`` (one per neuron) from ``on`` to ``off`` ms, then 0 pA again."""
    t = np.arange(steps) * dt
    window = ((t >= on - 1e-9) & (t < off - 1e-9)).astype(np.float32)
    return (window[:, None] * np.asarray(amplitudes, np.float32)[None, :]).astype(np.float32)


def run_brian(eqs, namespace, inputs, dt, *, threshold, reset, refractory, method, record, init, decimate=1):
    """Simulate ``len(inputs[...])`` steps of one NeuronGroup; returns recorded traces and spikes.

    Conditioning check: the group also simulates two copies of every neuron with all inputs scaled by ``1 + EPS``
    and ``1 - EPS``. ``shift`` is the largest change of a spike step (or ``None`` when a spike count changes): a
    case whose spike train moves under a 1e-6 relative change of its input cannot tell a float32 implementation
    from a float64 one (e.g. regular firing whose reset phase keeps landing next to a step boundary).
    """
    b2.start_scope()
    b2.defaultclock.dt = dt * ms
    steps, n = next(iter(inputs.values())).shape
    group = b2.NeuronGroup(3 * n, eqs, threshold=threshold, reset=reset, refractory=refractory, method=method,
                           namespace=namespace)
    for name, value in init.items():
        setattr(group, name, value)
    for name, values in inputs.items():
        values = np.asarray(values, np.float64)
        columns = np.concatenate([values, values * (1 + EPS), values * (1 - EPS)], axis=1)
        namespace[f"ta_{name}"] = b2.TimedArray(columns * pA, dt=dt * ms)
        group.run_regularly(f"{name} = ta_{name}(t, i)", when="start")
    monitor = b2.StateMonitor(group, record, record=range(n), when="end")
    spikes = b2.SpikeMonitor(group)
    net = b2.Network(group, monitor, spikes)
    net.run(steps * dt * ms)
    out = {}
    for name in record:
        trace = np.asarray(getattr(monitor, name + "_")).T  # (steps, n), SI units
        assert trace.shape == (steps, n), trace.shape
        out[name] = trace[decimate - 1 :: decimate]
    step = np.round(np.asarray(spikes.t_) / (dt * 1e-3)).astype(np.int32)
    neuron = np.asarray(spikes.i).astype(np.int32)
    shift = 0
    for k in range(n):
        ref = step[neuron == k]
        for copy in (k + n, k + 2 * n):
            other = step[neuron == copy]
            if len(other) != len(ref):
                shift = None
            elif shift is not None and len(ref):
                shift = max(shift, int(np.abs(other - ref).max()))
    out["spike_step"], out["spike_neuron"], out["shift"] = step[neuron < n], neuron[neuron < n], shift
    return out


# ----- models -----------------------------------------------------------------------------------------------------

ADEX_EQS = """
vc = clip(v, -1*volt, v_peak) : volt
dv/dt = (-g_l*(vc - e_l) + g_l*delta_t*exp((vc - v_t)/delta_t) - w + i_syn)/c_m : volt (unless refractory)
dw/dt = (a*(vc - e_l) - w)/tau_w : amp
i_syn : amp
"""

EXP_IF_EQS = """
vc = clip(v, -1*volt, v_peak) : volt
dv/dt = (-g_l*(vc - e_l) + g_l*delta_t*exp((vc - v_t)/delta_t) + i_syn)/c_m : volt (unless refractory)
i_syn : amp
"""

QIF_EQS = """
vc = clip(v, -1*volt, v_peak) : volt
dv/dt = (a0*(vc - v_rest)*(vc - v_c) + tau_m*i_syn/c_m)/tau_m : volt (unless refractory)
i_syn : amp
"""

IZHIKEVICH_EQS = """
vc = clip(v, -1*volt, v_peak) : volt
dv/dt = (0.04/mV)*vc**2/ms + 5*vc/ms + 140*mV/ms - u + i_syn/c_m : volt
du/dt = a*(b*vc - u) : volt/second
i_syn : amp
"""

HH_EQS = """
dv/dt = (g_na*m**3*h*(e_na - v) + g_k*n**4*(e_k - v) + g_l*(e_l - v) + i_syn)/c_m : volt
dm/dt = alpham*(1 - m) - betam*m : 1
dh/dt = alphah*(1 - h) - betah*h : 1
dn/dt = alphan*(1 - n) - betan*n : 1
alpham = 1/exprel(-(v + 40*mV)/(10*mV))/ms : Hz
betam = 4*exp(-(v + 65*mV)/(18*mV))/ms : Hz
alphah = 0.07*exp(-(v + 65*mV)/(20*mV))/ms : Hz
betah = 1/(1 + exp(-(v + 35*mV)/(10*mV)))/ms : Hz
alphan = 0.1/exprel(-(v + 55*mV)/(10*mV))/ms : Hz
betan = 0.125*exp(-(v + 65*mV)/(80*mV))/ms : Hz
i_syn : amp
"""

TWO_COMPARTMENT_EQS = """
dv/dt = (-g_l*(v - e_l) + g_c*(v_dend - v) + i_soma)/c_m : volt (unless refractory)
dv_dend/dt = (-g_dend*(v_dend - e_dend) + g_c*(v - v_dend) + i_dend)/c_dend : volt
i_soma : amp
i_dend : amp
"""

# Spark parameter name -> Brian2 unit
UNITS = {
    "c_m": pF, "c_dend": pF, "g_l": nS, "g_dend": nS, "g_c": nS, "g_na": nS, "g_k": nS, "a": nS, "b": pA,
    "e_l": mV, "e_dend": mV, "e_na": mV, "e_k": mV, "v_t": mV, "delta_t": mV, "v_peak": mV, "v_reset": mV,
    "v_rest": mV, "v_c": mV, "v_thresh": mV, "v_spike": mV, "tau_w": ms, "tau_m": ms, "a0": 1 / mV,
}


def namespace(params, units=UNITS):
    return {k: v * units[k] for k, v in params.items() if k in units}


def adex():
    dt, steps = 0.1, 3000
    base = dict(c_m=281.0, g_l=30.0, e_l=-70.6, v_t=-50.4, delta_t=2.0, v_peak=0.0, v_reset=-70.6, a=4.0, b=80.5,
                tau_w=144.0, t_ref=0.0)
    rng = np.random.default_rng(SEED)
    cases = {
        # Brette & Gerstner (2005) parameters, Spark's default v_peak = 0 mV: sub-, just supra- and suprathreshold
        "step": (base, step_current(steps, dt, [500.0, 800.0, 1500.0])),
        # Brian2's example cut-off v_peak = v_t + 5 delta_t, a refractory clamp, bursting-like reset
        "noise": (dict(base, v_peak=-40.4, v_reset=-48.0, b=40.0, t_ref=2.0),
                  ou_current(rng, steps, 2, dt, mean=750.0, sigma=300.0, tau=3.0)),
    }
    out = {}
    for case, (p, i) in cases.items():
        res = run_brian(ADEX_EQS, namespace(p), {"i_syn": i}, dt, threshold="v >= v_peak", reset="v = v_reset; w += b",
                        refractory=p["t_ref"] * ms, method="rk4", record=["v", "w"],
                        init={"v": p["e_l"] * mV, "w": 0 * amp})
        out[case] = dict(params=p, i=i, v=res["v"] * 1e3, w=res["w"] * 1e12, spikes=res)
    return dict(dt=dt, method="rk4", cases=out)


def exp_if():
    dt, steps = 0.1, 3000
    base = dict(c_m=281.0, g_l=30.0, e_l=-70.6, v_t=-50.4, delta_t=2.0, v_peak=0.0, v_reset=-70.6, t_ref=2.0)
    rng = np.random.default_rng(SEED + 1)
    cases = {
        "step": (base, step_current(steps, dt, [500.0, 700.0, 1500.0])),
        "noise": (dict(base, v_peak=-30.0, v_reset=-60.0, t_ref=1.0),
                  ou_current(rng, steps, 2, dt, mean=600.0, sigma=250.0, tau=3.0)),
    }
    out = {}
    for case, (p, i) in cases.items():
        res = run_brian(EXP_IF_EQS, namespace(p), {"i_syn": i}, dt, threshold="v >= v_peak", reset="v = v_reset",
                        refractory=p["t_ref"] * ms, method="rk4", record=["v"], init={"v": p["e_l"] * mV})
        out[case] = dict(params=p, i=i, v=res["v"] * 1e3, spikes=res)
    return dict(dt=dt, method="rk4", cases=out)


def qif():
    dt, steps = 0.1, 3000
    base = dict(tau_m=10.0, c_m=250.0, a0=0.05, v_rest=-65.0, v_c=-50.0, v_peak=30.0, v_reset=-70.0, t_ref=2.0)
    rng = np.random.default_rng(SEED + 2)
    cases = {
        "step": (base, step_current(steps, dt, [60.0, 100.0, 300.0])),  # rheobase 70.3 pA
        "noise": (dict(base, v_reset=-55.0, t_ref=0.0), ou_current(rng, steps, 2, dt, mean=75.0, sigma=60.0, tau=3.0)),
    }
    out = {}
    for case, (p, i) in cases.items():
        res = run_brian(QIF_EQS, namespace(p), {"i_syn": i}, dt, threshold="v >= v_peak", reset="v = v_reset",
                        refractory=p["t_ref"] * ms, method="rk4", record=["v"], init={"v": p["v_rest"] * mV})
        out[case] = dict(params=p, i=i, v=res["v"] * 1e3, spikes=res)
    return dict(dt=dt, method="rk4", cases=out)


def izhikevich():
    dt, steps = 0.1, 3000
    regular = dict(a=0.02, b=0.2, c=-65.0, d=8.0, v_peak=30.0, c_m=1.0)
    rng = np.random.default_rng(SEED + 3)
    cases = {
        "step": (regular, step_current(steps, dt, [3.0, 10.0, 20.0])),  # the paper's I = 3, 10, 20
        "noise": (regular, ou_current(rng, steps, 2, dt, mean=8.0, sigma=6.0, tau=3.0)),
        "chattering": (dict(regular, c=-50.0, d=2.0), step_current(steps, dt, [10.0])),
        "fast_spiking": (dict(regular, a=0.1, d=2.0), step_current(steps, dt, [15.0])),  # 6-10 ill-conditioned
    }
    out = {}
    for case, (p, i) in cases.items():
        ns = {"a": p["a"] / ms, "b": p["b"] / ms, "c": p["c"] * mV, "d": p["d"] * mV / ms, "v_peak": p["v_peak"] * mV,
              "c_m": p["c_m"] * pF}
        res = run_brian(IZHIKEVICH_EQS, ns, {"i_syn": i}, dt, threshold="v >= v_peak", reset="v = c; u += d",
                        refractory=False, method="rk4", record=["v", "u"],
                        init={"v": -65 * mV, "u": p["b"] * -65 * mV / ms})
        out[case] = dict(params=p, i=i, v=res["v"] * 1e3, u=res["u"], spikes=res)  # u: 1 V/s = 1 mV/ms
    return dict(dt=dt, method="rk4", cases=out)


def hodgkin_huxley():
    dt, steps, coarse = 0.01, 30000, 10
    p = dict(c_m=200.0, g_na=24000.0, g_k=7200.0, g_l=60.0, e_na=50.0, e_k=-77.0, e_l=-54.387, v_spike=0.0)
    rng = np.random.default_rng(SEED + 4)
    # the noise is drawn at 0.1 ms and held for 10 steps, so that Spark can also run it at dt = 0.1, substeps = 10
    noise = np.repeat(ou_current(rng, steps // coarse, 2, dt * coarse, mean=1500.0, sigma=1500.0, tau=2.0), coarse, 0)
    cases = {"step": step_current(steps, dt, [1000.0, 2000.0, 4000.0]), "noise": noise}
    out = {}
    v0 = -65.0
    am = 0.1 * (v0 + 40) / -np.expm1(-(v0 + 40) / 10)
    bm = 4 * np.exp(-(v0 + 65) / 18)
    ah = 0.07 * np.exp(-(v0 + 65) / 20)
    bh = 1 / (1 + np.exp(-(v0 + 35) / 10))
    an = 0.01 * (v0 + 55) / -np.expm1(-(v0 + 55) / 10)
    bn = 0.125 * np.exp(-(v0 + 65) / 80)
    init = {"v": v0 * mV, "m": am / (am + bm), "h": ah / (ah + bh), "n": an / (an + bn)}
    for case, i in cases.items():
        res = run_brian(HH_EQS, namespace(p), {"i_syn": i}, dt, threshold="v > v_spike",
                        reset=None, refractory="v > v_spike", method="exponential_euler", record=["v"], init=init,
                        decimate=coarse)
        out[case] = dict(params=p, i=i[::coarse], v=res["v"] * 1e3, spikes=res)
    return dict(dt=dt, method="exponential_euler", decimate=coarse, cases=out)


def two_compartment_lif():
    dt, steps = 0.1, 3000
    p = dict(c_m=250.0, g_l=25.0, e_l=-65.0, c_dend=500.0, g_dend=25.0, e_dend=-65.0, g_c=20.0, v_thresh=-50.0,
             v_reset=-65.0, t_ref=2.0)
    rng = np.random.default_rng(SEED + 5)
    # neuron 0: soma only, 1: dendrite only, 2: both
    i_soma = step_current(steps, dt, [450.0, 0.0, 250.0])
    i_dend = step_current(steps, dt, [0.0, 1500.0, 600.0], on=50.0, off=250.0)
    cases = {
        "step": (p, i_soma, i_dend),
        "noise": (dict(p, g_c=40.0, e_dend=-60.0), ou_current(rng, steps, 2, dt, mean=250.0, sigma=200.0, tau=3.0),
                  ou_current(rng, steps, 2, dt, mean=500.0, sigma=500.0, tau=10.0)),
    }
    out = {}
    for case, (q, i_s, i_d) in cases.items():
        res = run_brian(TWO_COMPARTMENT_EQS, namespace(q), {"i_soma": i_s, "i_dend": i_d}, dt,
                        threshold="v >= v_thresh", reset="v = v_reset", refractory=q["t_ref"] * ms,
                        method="exact", record=["v", "v_dend"], init={"v": q["e_l"] * mV, "v_dend": q["e_dend"] * mV})
        out[case] = dict(params=q, i_soma=i_s, i_dend=i_d, v=res["v"] * 1e3, v_dend=res["v_dend"] * 1e3, spikes=res)
    return dict(dt=dt, method="exact", cases=out)


MODELS = {f.__name__: f for f in (adex, exp_if, qif, izhikevich, hodgkin_huxley, two_compartment_lif)}


def write(model: str, result: dict) -> Path:
    arrays = {}
    meta = {"model": model, "brian2": b2.__version__, "numpy": np.__version__, "seed": SEED, "dt": result["dt"],
            "method": result["method"], "decimate": result.get("decimate", 1), "cases": {}}
    for case, data in result["cases"].items():
        spikes = data.pop("spikes")
        params = data.pop("params")
        n = data["v"].shape[1]
        meta["cases"][case] = {"params": params, "n": n, "spikes": len(spikes["spike_step"]),
                               "spike_shift_under_1e-6_input_change": spikes["shift"]}
        if spikes["shift"] != 0 and not (model == "hodgkin_huxley" and spikes["shift"] is not None
                                        and spikes["shift"] <= 1):
            raise SystemExit(f"{model}/{case} is ill-conditioned: a 1e-6 relative input change moves its spikes "
                             f"({spikes['shift']} steps); choose another input")
        for key, value in data.items():
            arrays[f"{case}__{key}"] = np.asarray(value, np.float32)
        arrays[f"{case}__spike_step"] = spikes["spike_step"]
        arrays[f"{case}__spike_neuron"] = spikes["spike_neuron"]
    arrays["meta"] = np.array(json.dumps(meta, indent=1))
    path = HERE / f"{model}.npz"
    np.savez_compressed(path, **arrays)
    return path


def main(argv: list[str]) -> None:
    for model in argv or list(MODELS):
        path = write(model, MODELS[model]())
        with np.load(path) as f:
            counts = {c: v["spikes"] for c, v in json.loads(str(f["meta"]))["cases"].items()}
        print(f"{path.name}: {path.stat().st_size / 1024:.0f} KiB, spikes per case {counts}")


if __name__ == "__main__":
    main(sys.argv[1:])
