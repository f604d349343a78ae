"""The benchmark networks in Brian2: C++ standalone (``--mode standalone``) or the Cython runtime (``--mode cython``).

Runs in its own virtualenv (``benchmarks/.envs/brian2``, see ``requirements-brian2.txt``); one case per process:

    python benchmarks/peers/brian2_models.py --kind coba --n 4000 --mode standalone --workdir /tmp/b2

Two styles of the same networks:

- ``--style idiomatic`` (the default, and the one the headline ratios use): CUBA and COBA as Brian2's own examples
  write them, see :func:`build_idiomatic` for what they are and what differs from the upstream scripts;
- ``--style same-arithmetic``: identical to Spark's network (``benchmarks/models.py``; every number is read from that
  `.spark` document by ``spec.py``), step by step:

- one step of ``dt``: the synaptic variables enter the membrane equation as constants over the step (Spark's somas
  integrate ``v`` exactly with their input held), so the membrane equation is linear in ``v`` and ``method='exact'``
  integrates it exactly: ``v <- v_inf + (v - v_inf) exp(-dt g_tot / c_m)``;
- then the synaptic variables decay by ``exp(-dt / tau)`` (``run_regularly`` right after the state update), and the
  spikes of this step add their weights (``on_pre``, no delay), so they act from the next step on — as in Spark,
  where a spike crosses its edge in one step and the synapse decays and adds before the soma integrates;
- threshold ``v >= v_thresh``, reset to ``v_reset``, ``v`` clamped during ``[t*, t* + t_ref)``: the spike's step and
  the 49 after it, Brian2's own ``refractory=5*ms`` (written in steps, so that it is Spark's rounding);
- initial ``v`` uniform in ``[v_init, v_init + v_init_jitter]``; each pair connected with probability ``p`` and no
  autapses; pair STDP on exc -> exc with all-to-all traces, potentiation on post, depression on pre (``on_pre``
  runs before ``on_post``, so simultaneous spikes potentiate), weights clipped to ``[w_min, w_max]``.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # (T_PROCESS starts here)
from spec import Spec, load_network, spec

HERE = Path(__file__).resolve().parent


def build(s: Spec, b2, net: dict | None = None, raster: bool = False):
    """The network's Brian2 objects (a list) and its spike monitor, for the current device.

    ``net``: a realization to simulate (``spec.load_network``); without it, Brian2 draws its own. ``raster``: the
    monitor records every spike (index and time); otherwise it only counts them."""
    import numpy as np

    ms, mV, pF, pA, nS = b2.ms, b2.mV, b2.pF, b2.pA, b2.nS
    so = s.soma
    ns = {"v_rest": so["v_rest"] * mV, "v_reset": so["v_reset"] * mV, "v_thresh": so["v_thresh"] * mV,
          "tau_m": so["tau_m"] * ms, "c_m": so["c_m"] * pF, "i_bias": so.get("i_bias", 0.0) * pA,
          "de": float(math.exp(-s.dt / s.tau_e)), "di": float(math.exp(-s.dt / s.tau_i))}
    if s.kind == "cuba":
        eqs = """
        dv/dt = (v_rest - v) / tau_m + (ge + gi + i_bias) / c_m : volt (unless refractory)
        ge : amp
        gi : amp
        """
        wunit = pA
    else:
        ns.update(g_l=so["c_m"] / so["tau_m"] * nS, e_exc=so["e_exc"] * mV, e_inh=so["e_inh"] * mV)
        eqs = """
        dv/dt = (g_l * (v_rest - v) + ge * (e_exc - v) + gi * (e_inh - v) + i_bias) / c_m : volt (unless refractory)
        ge : siemens
        gi : siemens
        """
        wunit = nS
    ns.update(w_e=s.w_e * wunit, w_i=s.w_i * wunit, p=s.p, n_e=s.n_e)
    # Refractory during [t*, t* + t_ref) as Spark (and Brian2's `refractory=t_ref`): clamped in the n_ref - 1 steps
    # after the spike's, integrating again n_ref steps after it
    ns["n_ref"] = s.n_ref_steps
    P = b2.NeuronGroup(s.n, eqs, threshold="v >= v_thresh", reset="v = v_reset",
                       refractory="timestep(t - lastspike, dt) < n_ref", method="exact", namespace=ns, name="P")
    if net is None:
        lo, hi = s.v_init_range
        P.v = f"{lo}*mV + rand() * {hi - lo}*mV"
    else:
        P.v = np.concatenate([net["v_exc"], net["v_inh"]]).astype(np.float64) * mV

    def connect(syn, sample, *pids, offset=None):
        """Draw with ``sample`` (generator syntax), or take the pairs of ``pids`` (posts of *_inh moved by n_e)."""
        if net is None:
            syn.connect(j=sample)
            return
        i = np.concatenate([net[f"{pid}_pre"] for pid in pids])
        j = np.concatenate([net[f"{pid}_post"] + (s.n_e if pid.endswith("_inh") and offset else 0) for pid in pids])
        syn.connect(i=i, j=j)
    # decay after this step's integration, before this step's spikes are added (Spark: g <- g*d + W s)
    P.run_regularly("ge = ge * de\ngi = gi * di", when="groups", order=1, name="P_decay")
    Pe, Pi = P[:s.n_e], P[s.n_e:]
    objs = [P]
    sample_no_self = "k for k in sample(N_post, p=p) if k != i"
    if s.stdp is None:
        Ce = b2.Synapses(Pe, P, on_pre="ge_post += w_e", namespace=ns, name="Ce")
        connect(Ce, sample_no_self, "exc_exc", "exc_inh", offset=True)  # pre i is neuron i of P
        objs.append(Ce)
    else:
        st = s.stdp
        ns.update(tau_plus=st["tau_plus"] * ms, tau_minus=st["tau_minus"] * ms, a_plus=st["a_plus"] * wunit,
                  a_minus=st["a_minus"] * wunit, w_min=st["w_min"] * wunit, w_max=st["w_max"] * wunit)
        unit = "amp" if s.kind == "cuba" else "siemens"
        Cee = b2.Synapses(Pe, Pe, model=f"""
                          w : {unit}
                          dapre/dt = -apre / tau_plus : 1 (event-driven)
                          dapost/dt = -apost / tau_minus : 1 (event-driven)
                          """,
                          on_pre="ge_post += w\napre += 1\nw = clip(w - a_minus * apost, w_min, w_max)",
                          on_post="apost += 1\nw = clip(w + a_plus * apre, w_min, w_max)",
                          namespace=ns, name="Cee")
        connect(Cee, sample_no_self, "exc_exc")
        Cee.w = "w_e"
        Cei = b2.Synapses(Pe, Pi, on_pre="ge_post += w_e", namespace=ns, name="Cei")
        connect(Cei, "k for k in sample(N_post, p=p)", "exc_inh")
        objs += [Cee, Cei]
    Ci = b2.Synapses(Pi, P, on_pre="gi_post += w_i", namespace=ns, name="Ci")
    connect(Ci, "k for k in sample(N_post, p=p) if k != i + n_e", "inh_exc", "inh_inh", offset=True)
    objs.append(Ci)
    mon = b2.SpikeMonitor(P, name="spikes", record=raster)  # record=False: spike counts only
    objs.append(mon)
    return objs, mon


def build_idiomatic(s: Spec, b2, net: dict | None = None, raster: bool = False):
    """The network as Brian2's own examples write it (``--style idiomatic``); only the size, the duration and the
    connectivity realization (``net``) come from outside. Every number is the upstream script's, and equals the
    `.spark` document's (checked against ``s``).

    - CUBA: Brian2's ``examples/CUBA.py`` (Brette et al. 2007, benchmark 2): ``ge``, ``gi`` in volts inside the
      ``NeuronGroup``, integrated with ``v`` by ``method='exact'`` (the example's ``'linear'``, an alias that Brian2
      2.9 warns about), ``v > Vt``, ``refractory=5*ms``, ``on_pre='ge += we'`` (``we = 1.62 mV``, ``wi = -9 mV``),
      ``P.v = 'Vr + rand() * (Vt - Vr)'``.
    - COBA: the COBA benchmark in the form Brian2's benchmark scripts (and BrainPy's and brian2cuda's comparisons with
      Brian2) use: dimensionless conductances relative to the leak, ``dv/dt = (ge*(Erev_exc-v) + gi*(Erev_inh-v)
      - (v-El) + I) / taum``, ``method='euler'``, ``we = 0.6``, ``wi = 6.7``, ``I = 20 mV``, ``v > Vt``,
      ``refractory=5*ms``, ``P.v = (randn() * 5 - 55) mV``.

    What differs from the upstream scripts: the connection probability ``p = 80 / N`` (the examples' 0.02 at 4,000
    neurons; the in-degree is kept as N grows) realised as the pairs Spark drew (``Synapses.connect(i=, j=)``, no
    autapses), and the spike monitor counts without recording (``record=False``) unless ``raster``; the examples
    record every spike to plot them.
    """
    import numpy as np

    ms, mV = b2.ms, b2.mV
    so = s.soma
    assert so["v_thresh"] == -50.0 and so["v_reset"] == -60.0 and so["t_ref"] == 5.0 and so["tau_m"] == 20.0, so
    n_e = s.n_e
    if s.kind == "cuba":
        assert (so["v_rest"], s.w_e, s.w_i, s.tau_e, s.tau_i) == (-49.0, 1.62, -9.0, 5.0, 10.0), (so, s)
        ns = dict(taum=20 * ms, taue=5 * ms, taui=10 * ms, Vt=-50 * mV, Vr=-60 * mV, El=-49 * mV,
                  we=(60 * 0.27 / 10) * mV, wi=(-20 * 4.5 / 10) * mV)
        eqs = """
        dv/dt  = (ge+gi-(v-El))/taum : volt (unless refractory)
        dge/dt = -ge/taue : volt
        dgi/dt = -gi/taui : volt
        """
        P = b2.NeuronGroup(s.n, eqs, threshold="v>Vt", reset="v = Vr", refractory=5 * ms, method="exact",
                           namespace=ns, name="P")
        P.v = "Vr + rand() * (Vt - Vr)"
        P.ge = 0 * mV
        P.gi = 0 * mV
    else:
        g_l = so["c_m"] / so["tau_m"]  # nS: Spark's conductances in units of the leak are the example's numbers
        assert (so["v_rest"], so["e_exc"], so["e_inh"], so["i_bias"] / g_l, s.w_e / g_l, s.w_i / g_l) == (
            -60.0, 0.0, -80.0, 20.0, 0.6, 6.7), (so, s)
        ns = dict(taum=20 * ms, taue=5 * ms, taui=10 * ms, Vt=-50 * mV, Vr=-60 * mV, El=-60 * mV,
                  Erev_exc=0. * mV, Erev_inh=-80. * mV, I=20. * mV, we=0.6, wi=6.7)
        eqs = """
        dv/dt  = (ge*(Erev_exc-v)+gi*(Erev_inh-v)-(v-El) + I)*(1./taum) : volt (unless refractory)
        dge/dt = -ge/taue : 1
        dgi/dt = -gi/taui : 1
        """
        P = b2.NeuronGroup(s.n, eqs, threshold="v>Vt", reset="v = Vr", refractory=5 * ms, method="euler",
                           namespace=ns, name="P")
        P.v = (np.random.randn(s.n) * 5. - 55.) * mV
    Ce = b2.Synapses(P, P, on_pre="ge += we", namespace=ns, name="Ce")
    Ci = b2.Synapses(P, P, on_pre="gi += wi", namespace=ns, name="Ci")
    for syn, pids, first in ((Ce, ("exc_exc", "exc_inh"), 0), (Ci, ("inh_exc", "inh_inh"), n_e)):
        if net is None:  # the example's draw, at p = 80 / N
            syn.connect(f"i>={n_e}" if first else f"i<{n_e}", p=s.p)
            continue
        i = np.concatenate([net[f"{pid}_pre"] + first for pid in pids])
        j = np.concatenate([net[f"{pid}_post"] + (n_e if pid.endswith("_inh") else 0) for pid in pids])
        syn.connect(i=i, j=j)
    mon = b2.SpikeMonitor(P, name="spikes", record=raster)
    return [P, Ce, Ci, mon], mon


def main(argv=None) -> None:
    ap = harness.parser(__doc__.splitlines()[0])
    ap.add_argument("--mode", choices=("standalone", "cython"), required=True)
    ap.add_argument("--style", choices=("idiomatic", "same-arithmetic"), default="idiomatic",
                    help="the model as Brian2's examples write it (default), or computed step by step as Spark does")
    args = ap.parse_args(argv)
    work = Path(args.workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    s = spec(args.kind, args.n, stdp=args.stdp, seed=args.seed)
    t0 = time.perf_counter()
    import brian2 as b2
    import numpy as np

    b2.prefs.codegen.cpp.extra_compile_args_gcc = ["-w", "-O3", "-ffast-math", "-fno-finite-math-only",
                                                   "-march=native"]
    t_import = time.perf_counter() - t0
    if args.style == "idiomatic" and s.stdp:
        ap.error("the idiomatic models have no STDP (Brian2's CUBA and COBA examples have none); "
                 "use --style same-arithmetic")
    result = {"framework": f"brian2_{args.mode}", "version": b2.__version__, "numpy": np.__version__,
              "case": s.name, "kind": s.kind, "n": s.n, "steps": args.steps, "stdp": bool(s.stdp),
              "import_s": round(t_import, 3), "style": args.style}
    duration = args.steps * s.dt * b2.ms
    cython_s = [0.0]
    if args.mode == "standalone":
        b2.set_device("cpp_standalone", build_on_run=False)
        rss_file = work / "main_maxrss_kb"
        rss_file.unlink(missing_ok=True)
        # run `main` through a wrapper that records its own peak memory (the compiler's would pollute RUSAGE_CHILDREN)
        b2.prefs.devices.cpp_standalone.run_cmd_unix = [sys.executable, str(HERE / "_maxrss_exec.py"),
                                                        str(rss_file), "./main"]
    else:
        b2.prefs.codegen.target = "cython"
        b2.prefs.codegen.runtime.cython.cache_dir = str(work / "cython_cache")
        b2.prefs.codegen.runtime.cython.delete_source_files = False
        from brian2.codegen.runtime.cython_rt.extension_manager import cython_extension_manager as ext

        create = ext.create_extension

        def timed_create(*a, **k):  # Cython compilation (or cache look-up): counted as compilation wherever it happens
            t = time.perf_counter()
            try:
                return create(*a, **k)
            finally:
                cython_s[0] += time.perf_counter() - t

        ext.create_extension = timed_create
    b2.defaultclock.dt = s.dt * b2.ms
    b2.seed(s.seed)
    np.random.seed(s.seed)  # the idiomatic COBA draws its initial potentials with NumPy, as its script does
    t0 = time.perf_counter()
    net = load_network(args.network, s) if args.network else None
    result["network"] = "spark's realization" if net else "own draw"
    objs, mon = (build_idiomatic if args.style == "idiomatic" else build)(s, b2, net, raster=args.raster)
    net = b2.Network(*objs)
    setup_s = time.perf_counter() - t0
    cython_setup = cython_s[0]  # compiling the code that sets v and generates the synapses
    result["setup_s"] = round(setup_s - cython_setup, 3)
    t0 = time.perf_counter()
    net.run(duration, report=None)
    t_run_call = time.perf_counter() - t0
    if args.mode == "standalone":
        project = work / "standalone"
        t0 = time.perf_counter()
        b2.device.build(directory=str(project), compile=True, run=True, debug=False, clean=False)
        t_build = time.perf_counter() - t0
        run_binary = b2.device.timers["run_binary"]
        result.update(sim_s=float(b2.device._last_run_time),  # the time loop inside `main` (its own clock)
                      main_s=round(run_binary, 3),  # the whole `main`: synapse generation, time loop, writing results
                      compile_s=round(t_build - run_binary + t_run_call, 3),  # code generation and make
                      make_s=round(b2.device.timers["compile"]["make"] or 0.0, 3),
                      python_peak_rss_mb=round(harness.peak_rss_mb(), 1))
        if rss_file.exists():
            result["peak_rss_mb"] = round(int(rss_file.read_text()) / 1024.0, 1)
    else:
        sim = float(b2.device._last_run_time)  # the time loop alone (Network.run's own clock)
        # before_run (code generation and Cython for the time loop's code objects) plus Cython during setup
        result.update(sim_s=sim, compile_s=round(t_run_call - sim + cython_setup, 3),
                      cython_compile_s=round(cython_s[0], 3))
    counts = np.asarray(mon.count[:])
    result.update(harness.spikes_summary(counts[:s.n_e].sum(), counts[s.n_e:].sum(), s.n_e, s.n_i, args.steps, s.dt))
    result["n_synapses"] = int(sum(len(o) for o in objs if isinstance(o, b2.Synapses)))
    harness.emit(result)


if __name__ == "__main__":
    main()
