"""The benchmark networks in BrainPy, with its event-driven CSR operator (``bp.dnn.EventCSRLinear``, Numba on CPU).

Runs in its own virtualenv (``benchmarks/.envs/brainpy``, see ``requirements-brainpy.txt``); one case per process:

    python benchmarks/peers/brainpy_models.py --kind coba --n 4000 --workdir /tmp/bp

Two styles of the same networks: ``--style idiomatic`` (the default, the one the headline ratios use), the networks
as BrainPy's own examples write them (:func:`build_idiomatic`), and ``--style same-arithmetic``, identical to
Spark's network (``benchmarks/models.py``; every number is read from that `.spark` document by ``spec.py``), step by
step as Spark computes it:

- the spikes of the previous step go through ``EventCSRLinear`` (``events @ CSR``: only the rows of the neurons that
  spiked are visited) into the synaptic variables, which decay first: ``g <- g exp(-dt / tau) + W s``;
- the membrane integrates exactly with that input held over the step (``v <- v_inf + (v - v_inf) exp(-dt / tau)``,
  for COBA with ``g_tot = g_L + g_e + g_i`` in the exponent), is clamped at ``v_reset`` during ``[t*, t* + t_ref)`` (the
  spike's step and the 49 after it),
  spikes at ``v >= v_thresh`` and resets;
- pair STDP on exc -> exc (when asked) with the same spikes the synapse saw: ``x_pre <- x_pre d + s``; a pre spike
  depresses by ``a_minus x_post`` (trace before this step's post spikes), a post spike potentiates by
  ``a_plus x_pre``; weights clipped to ``[w_min, w_max]`` (BrainPy's ``stdp_update``: brainevent's CSR kernels).

Compilation is taken out of the timing by a warm-up run of one chunk, after which every state variable is set back
to its initial value; ``compile_s`` is the warm-up's time minus one timed chunk's.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # (T_PROCESS starts here)
from spec import Spec, bernoulli_csr, csr, load_network, spec


def build(s: Spec, bp, bm, jnp, np, net: dict | None = None, raster: bool = False):
    """The network as a ``bp.DynSysGroup``; ``net``: a realization to simulate (``spec.load_network``), else its own.
    A step returns the spikes (``raster``) or the spike count of each population."""
    f32 = jnp.float32
    rng = np.random.default_rng(s.seed)
    so = s.soma
    n, n_e = s.n, s.n_e
    de, di = math.exp(-s.dt / s.tau_e), math.exp(-s.dt / s.tau_i)
    v_rest, v_reset, v_th = so["v_rest"], so["v_reset"], so["v_thresh"]
    tau_m, c_m, i_bias = so["tau_m"], so["c_m"], so.get("i_bias", 0.0)
    n_ref = s.n_ref_steps
    lo, hi = s.v_init_range

    def csr_layer(n_pre, n_post, exclude_offset, weight, *pids):
        if net is None:
            indptr, indices = bernoulli_csr(n_pre, n_post, s.p, rng, exclude_offset=exclude_offset)
        else:  # the pairs of pids; posts in inh move by n_e when the target is the whole network
            shift = n_post == n
            pre = np.concatenate([net[f"{pid}_pre"] for pid in pids])
            post = np.concatenate([net[f"{pid}_post"] + (n_e if shift and pid.endswith("_inh") else 0)
                                   for pid in pids])
            order = np.lexsort((post, pre))
            indptr, indices = csr(pre[order], post[order], n_pre)
        conn = bp.conn.CSRConn(indices, indptr)(pre_size=n_pre, post_size=n_post)
        layer = bp.dnn.EventCSRLinear(conn, weight=weight)
        return layer, len(indices)

    class EINet(bp.DynSysGroup):
        def __init__(self):
            super().__init__()
            v0 = lo + (hi - lo) * rng.random(n) if net is None else np.concatenate([net["v_exc"], net["v_inh"]])
            self.v = bm.Variable(jnp.asarray(v0, f32))
            self.ref = bm.Variable(jnp.zeros(n, jnp.int32))
            self.spike = bm.Variable(jnp.zeros(n, jnp.bool_))
            self.ge = bm.Variable(jnp.zeros(n, f32))
            self.gi = bm.Variable(jnp.zeros(n, f32))
            self.n_synapses = 0
            if s.stdp is None:
                self.ce, k = csr_layer(n_e, n, 0, s.w_e, "exc_exc", "exc_inh")  # exc -> all (pre i is neuron i)
                self.n_synapses += k
            else:
                self.cee, k = csr_layer(n_e, n_e, 0, s.w_e, "exc_exc")
                self.cee.weight = bm.Variable(jnp.full(k, s.w_e, f32))  # plastic: one weight per synapse
                self.cei, k2 = csr_layer(n_e, s.n_i, None, s.w_e, "exc_inh")
                self.n_synapses += k + k2
                self.x_pre = bm.Variable(jnp.zeros(n_e, f32))
                self.x_post = bm.Variable(jnp.zeros(n_e, f32))
            self.ci, k = csr_layer(s.n_i, n, n_e, s.w_i, "inh_exc", "inh_inh")  # inh -> all (pre i is neuron n_e + i)
            self.n_synapses += k

        def update(self):
            spk = self.spike.value  # last step's spikes: one step of delay, as Spark's spike edges
            s_e, s_i = spk[:n_e], spk[n_e:]
            if s.stdp is None:
                in_e = self.ce(s_e)
            else:
                in_e = jnp.concatenate([self.cee(s_e), self.cei(s_e)])
            ge = self.ge.value * de + in_e
            gi = self.gi.value * di + self.ci(s_i)
            self.ge.value, self.gi.value = ge, gi
            if s.kind == "cuba":
                v_inf = v_rest + (ge + gi + i_bias) * (tau_m / c_m)
                decay = math.exp(-s.dt / tau_m)
            else:
                g_l = c_m / tau_m
                g_tot = g_l + ge + gi
                v_inf = (g_l * v_rest + ge * so["e_exc"] + gi * so["e_inh"] + i_bias) / g_tot
                decay = jnp.exp(-s.dt * g_tot / c_m)
            active = self.ref.value == 0
            v = jnp.where(active, v_inf + (self.v.value - v_inf) * decay, v_reset)
            spikes = active & (v >= v_th)
            self.v.value = jnp.where(spikes, v_reset, v)
            self.ref.value = jnp.where(spikes, max(n_ref - 1, 0), jnp.maximum(self.ref.value - 1, 0))
            self.spike.value = spikes
            if s.stdp is not None:
                st = s.stdp
                x_pre = self.x_pre.value * math.exp(-s.dt / st["tau_plus"]) + s_e
                x_post = self.x_post.value * math.exp(-s.dt / st["tau_minus"])
                self.cee.stdp_update(on_pre={"spike": s_e, "trace": -st["a_minus"] * x_post},
                                     w_min=st["w_min"], w_max=st["w_max"])
                self.cee.stdp_update(on_post={"spike": s_e, "trace": st["a_plus"] * x_pre},
                                     w_min=st["w_min"], w_max=st["w_max"])
                self.x_pre.value = x_pre
                self.x_post.value = x_post + s_e
            if raster:
                return spikes
            return jnp.stack([spikes[:n_e].sum(), spikes[n_e:].sum()])  # spikes per population this step

    return EINet()


def build_idiomatic(s: Spec, bp, bm, jnp, np, net: dict | None = None, raster: bool = False):
    """The network as BrainPy's own examples write it (``--style idiomatic``): ``EICOBA_PostAlign`` of BrainPy's
    ``examples/dynamics_simulation`` (``bp.dyn.LifRefLTC`` neurons, one ``bp.dyn.ProjAlignPostMg2`` per projection
    with ``bp.dnn.EventCSRLinear`` connectivity, ``bp.dyn.Expon`` synapses and ``bp.dyn.COBA`` outputs, input
    ``inp = 20``), and for CUBA the same with ``bp.dyn.CUBA`` outputs, ``V_rest = -49``, weights 1.62 and -9, no input
    (Brette et al. 2007, benchmark 2, as Brian2's ``examples/CUBA.py``). Initial potentials ``bp.init.Normal(-55., 2.)``
    as the example's; its integrators (``exp_auto``), its threshold and refractoriness. Every number is checked against
    the `.spark` document (``s``).

    What differs from the upstream script: ``p = 80 / N`` (its 0.02 at 4,000 neurons) realised as the pairs Spark drew
    (``bp.conn.CSRConn`` of ``net``); the step returns the spike count of each population instead of a ``DSRunner``
    monitor of the spikes (``raster``: the spikes).
    """
    so = s.soma
    assert so["v_thresh"] == -50.0 and so["v_reset"] == -60.0 and so["t_ref"] == 5.0 and so["tau_m"] == 20.0, so
    n_e, n_i = s.n_e, s.n_i
    if s.kind == "coba":
        g_l = so["c_m"] / so["tau_m"]
        assert (so["v_rest"], so["e_exc"], so["e_inh"], so["i_bias"] / g_l, s.w_e / g_l, s.w_i / g_l) == (
            -60.0, 0.0, -80.0, 20.0, 0.6, 6.7), (so, s)
        v_rest, inp, w_e, w_i = -60., 20., 0.6, 6.7
        out_e, out_i = (lambda: bp.dyn.COBA.desc(E=0.)), (lambda: bp.dyn.COBA.desc(E=-80.))
    else:
        assert (so["v_rest"], s.w_e, s.w_i) == (-49.0, 1.62, -9.0), (so, s)
        v_rest, inp, w_e, w_i = -49., 0., 1.62, -9.0
        out_e = out_i = (lambda: bp.dyn.CUBA.desc())
    neu_pars = dict(V_rest=v_rest, V_th=-50., V_reset=-60., tau=20., tau_ref=5.,
                    V_initializer=bp.init.Normal(-55., 2.))
    sizes = {"exc": n_e, "inh": n_i}

    def comm(pid, weight):
        a, b = pid.split("_")
        if net is None:
            conn = bp.conn.FixedProb(s.p, pre=sizes[a], post=sizes[b], allow_multi_conn=False, seed=s.seed)
        else:
            indptr, indices = csr(net[f"{pid}_pre"], net[f"{pid}_post"], sizes[a])
            conn = bp.conn.CSRConn(indices, indptr)(pre_size=sizes[a], post_size=sizes[b])
        return bp.dnn.EventCSRLinear(conn, weight)

    class EINet(bp.DynamicalSystem):
        def __init__(self):
            super().__init__()
            self.inp = inp
            self.E = bp.dyn.LifRefLTC(n_e, **neu_pars)
            self.I = bp.dyn.LifRefLTC(n_i, **neu_pars)
            pops = {"exc": self.E, "inh": self.I}
            for a, w, tau, out in (("exc", w_e, 5., out_e), ("inh", w_i, 10., out_i)):
                for b in ("exc", "inh"):
                    setattr(self, f"{a}_{b}", bp.dyn.ProjAlignPostMg2(
                        pre=pops[a], delay=None, comm=comm(f"{a}_{b}", w),
                        syn=bp.dyn.Expon.desc(pops[b].varshape, tau=tau), out=out(), post=pops[b]))
            self.n_synapses = sum(int(getattr(self, f"{a}_{b}").comm.indices.size) for a in pops for b in pops)

        def update(self):
            self.exc_inh()
            self.inh_inh()
            self.inh_exc()
            self.exc_exc()
            self.E(self.inp)
            self.I(self.inp)
            if raster:
                return jnp.concatenate([self.E.spike.value, self.I.spike.value])
            return jnp.stack([self.E.spike.value.sum(), self.I.spike.value.sum()])

    return EINet()


def main(argv=None) -> None:
    ap = harness.parser(__doc__.splitlines()[0])
    ap.add_argument("--style", choices=("idiomatic", "same-arithmetic"), default="idiomatic",
                    help="the model as BrainPy's examples write it (default), or computed step by step as Spark does")
    args = ap.parse_args(argv)
    s = spec(args.kind, args.n, stdp=args.stdp, seed=args.seed)
    if args.style == "idiomatic" and s.stdp:
        ap.error("the idiomatic models have no STDP (BrainPy's E/I examples have none); use --style same-arithmetic")
    t0 = time.perf_counter()
    import brainevent
    import brainpy as bp
    import brainpy.math as bm
    import jax
    import jax.numpy as jnp
    import numba
    import numpy as np

    bm.set_platform("cpu")
    bm.set_dt(s.dt)
    brainevent.config.set_backend("cpu", "numba")  # the event-driven kernels: Numba, called through XLA FFI
    t_import = time.perf_counter() - t0
    result = {"framework": "brainpy", "version": bp.__version__, "brainevent": brainevent.__version__,
              "jax": jax.__version__, "numba": numba.__version__, "case": s.name, "kind": s.kind, "n": s.n,
              "steps": args.steps, "stdp": bool(s.stdp), "import_s": round(t_import, 3), "style": args.style}
    t0 = time.perf_counter()
    realization = load_network(args.network, s) if args.network else None
    result["network"] = "spark's realization" if realization else "own draw"
    bm.random.seed(s.seed)
    net = (build_idiomatic if args.style == "idiomatic" else build)(s, bp, bm, jnp, np, realization,
                                                                    raster=args.raster)
    del realization
    variables = list(net.vars().unique().values())
    initial = [jnp.array(v.value) for v in variables]
    result["setup_s"] = round(time.perf_counter() - t0, 3)
    result["n_synapses"] = int(net.n_synapses)

    if args.style == "idiomatic":  # the examples' stepping: step_run(i) sets the shared time i, t = i dt, then updates
        @bm.jit
        def run_chunk(xs):
            return bm.for_loop(net.step_run, xs)
    else:
        @bm.jit
        def run_chunk(xs):
            return bm.for_loop(lambda _: net.update(), xs)

    chunk = harness.chunk_steps(s.n, args.steps) if args.raster else args.steps
    xs = jnp.arange(chunk)
    t0 = time.perf_counter()
    jax.block_until_ready(run_chunk(xs))  # warm-up: compiles, then runs one chunk
    t_first = time.perf_counter() - t0
    # back to the initial state: the timed run starts where Spark's does
    for var, val in zip(variables, initial, strict=True):
        var.value = val
    sim = 0.0
    s_e = s_i = 0
    for k in range(args.steps // chunk):
        xs = jnp.arange(k * chunk, (k + 1) * chunk)  # step indices go on across chunks (the idiomatic clock)
        t0 = time.perf_counter()
        out = np.asarray(run_chunk(xs))  # waits for the result
        sim += time.perf_counter() - t0
        if args.raster:
            s_e += int(np.count_nonzero(out[:, :s.n_e]))
            s_i += int(np.count_nonzero(out[:, s.n_e:]))
        else:
            s_e += int(out[:, 0].sum())
            s_i += int(out[:, 1].sum())
        del out
    result.update(sim_s=sim, compile_s=round(max(0.0, t_first - sim / (args.steps // chunk)), 3), chunk_steps=chunk)
    result.update(harness.spikes_summary(s_e, s_i, s.n_e, s.n_i, args.steps, s.dt))
    harness.emit(result)


if __name__ == "__main__":
    main()
