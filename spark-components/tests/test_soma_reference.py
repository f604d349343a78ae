"""Somas against Brian2 reference traces (``reference/*.npz``, made by ``reference/make_reference.py``).

Each file holds, per case, the input current, Brian2's ``v`` (and other states) after every step and its spike
steps, simulated in float64 with the same equations, parameters, ``dt`` and integration scheme (see
``reference/README.md``). Spark runs the same input in float32 and must give:

- the same number of spikes, each within ``SPIKE_STEPS`` steps of Brian2's;
- ``v`` within ``V_TOL`` mV of Brian2's over subthreshold windows: every step except those from ``PRE`` ms before
  to ``POST`` ms after a spike of either simulator (the upstroke, where a float32 rounding becomes a large voltage
  error in a tiny time), and the other recorded states within their tolerances at every step.

Tolerances are about 5x the deviations measured when the files were made (listed in ``reference/README.md``):
float32 rounding of ``v`` (ulp 3.8e-6 mV at 50 mV) accumulated over a few thousand steps. Every case passed a
conditioning check when it was made: its Brian2 spike train does not move when the input changes by 1e-6
(relative), so float32 rounding alone cannot move a spike by a step.
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from spark_components import QIF, AdEx, ExpIF, HodgkinHuxley, Izhikevich, TwoCompartmentLIF

REF = Path(__file__).parent / "reference"

# model -> (component, spike tolerance in reference steps, v tolerance (mV) over subthreshold windows,
#           window before / after each spike (ms), tolerances of other states at every step)
MODELS = {
    "adex": (AdEx, 1, 0.001, 1.0, 0.0, {"w": 0.005}),  # pA
    "exp_if": (ExpIF, 1, 0.002, 1.0, 0.0, {}),
    "qif": (QIF, 1, 0.1, 1.0, 0.0, {}),  # errors grow while v lingers near the unstable point v_c
    "izhikevich": (Izhikevich, 1, 0.005, 1.0, 0.0, {"u": 0.0005}),  # mV/ms
    "two_compartment_lif": (TwoCompartmentLIF, 1, 0.001, 0.0, 0.0, {"v_dend": 0.001}),  # mV
    "hodgkin_huxley": (HodgkinHuxley, 2, 0.01, 1.0, 3.0, {}),  # 2 steps of 0.01 ms
}


@functools.cache
def load(model: str) -> tuple[dict, dict[str, np.ndarray]]:
    """``meta`` (JSON) and the arrays of ``reference/<model>.npz`` (shared: do not modify)."""
    with np.load(REF / f"{model}.npz") as f:
        arrays = {k: f[k] for k in f.files}
    return json.loads(str(arrays.pop("meta"))), arrays


CASES = [(model, case) for model in MODELS for case in load(model)[0]["cases"]]


def simulate(module, dt, xs, states):
    """Run ``module`` over ``xs`` (port -> (steps, n)) in one jitted scan; outputs plus the named state variables."""
    graph, state = nnx.split(module)

    @jax.jit
    def run(state, xs):
        def body(state, x):
            m = nnx.merge(graph, state)
            out = dict(m(dt=dt, **x))
            out.update({name: getattr(m, name)[...] for name in states})
            return nnx.split(m)[1], out

        return jax.lax.scan(body, state, xs)

    return jax.tree.map(np.asarray, run(state, xs)[1])


def spike_trains(steps, neurons, n):
    return [np.sort(steps[neurons == k]) for k in range(n)]


def subthreshold(n_steps, trains, pre, post):
    """Mask (steps, n): False from ``pre`` steps before to ``post`` steps after any spike of the given trains."""
    mask = np.ones((n_steps, len(trains[0])), bool)
    for train in trains:
        for k, spikes in enumerate(train):
            for s in spikes:
                mask[max(s - pre, 0) : s + post + 1, k] = False
    return mask


def run_case(model, case, dt, substeps=None):
    """Spark's and Brian2's spike trains (per neuron, in steps of ``dt``) and recorded traces for one case.

    Traces are compared where the reference recorded them: after every ``decimate``-th reference step (HH
    keeps every 10th of its 0.01 ms steps); ``per_sample`` is the number of Spark steps per recorded sample.
    ``substeps`` (HH only): ``None`` keeps the component's default.
    """
    cls, *_, states = MODELS[model]
    meta, ref = load(model)
    info = meta["cases"][case]
    params = dict(info["params"], **({} if substeps is None else {"substeps": substeps}))
    module = cls((info["n"],), **params)
    ratio = round(dt / meta["dt"])  # reference steps per Spark step
    per_sample = meta["decimate"] // ratio
    xs = {}
    for key in ref:
        if key.startswith(f"{case}__i"):  # stored once per recorded sample (HH: held over 10 steps)
            name = key.split("__")[1]
            xs["i_syn" if name == "i" else name] = jnp.asarray(np.repeat(ref[key], per_sample, axis=0))
    out = simulate(module, dt, xs, [s for s in states if s not in cls.outputs])
    got = {k: v[per_sample - 1 :: per_sample] for k, v in out.items() if k != "spikes"}
    expected = {name: ref[f"{case}__{name}"] for name in ["v", *states]}
    steps, neurons = np.nonzero(out["spikes"])
    got_trains = spike_trains(steps, neurons, info["n"])
    ref_trains = spike_trains(ref[f"{case}__spike_step"] // ratio, ref[f"{case}__spike_neuron"], info["n"])
    return got_trains, ref_trains, got, expected, per_sample


def compare(model, case, dt, substeps=None):
    """Assert the tolerances of ``MODELS[model]``; return the largest deviations found."""
    _, spike_tol, v_tol, pre_ms, post_ms, state_tol = MODELS[model]
    spike_tol = math.ceil(spike_tol * load(model)[0]["dt"] / dt - 1e-9)  # in steps of dt: 2 x 0.01 ms = 1 x 0.1 ms
    got_trains, ref_trains, got, expected, per_sample = run_case(model, case, dt, substeps)
    where = f"{model}/{case} at dt = {dt} ms"
    assert sum(map(len, ref_trains)) > 0, f"{where}: the reference has no spikes"
    shift = 0
    for k, (a, b) in enumerate(zip(got_trains, ref_trains, strict=True)):
        assert len(a) == len(b), f"{where}, neuron {k}: {len(a)} spikes, Brian2 {len(b)}"
        if len(a):
            shift = max(shift, int(np.abs(a - b).max()))
            assert shift <= spike_tol, f"{where}, neuron {k}: spike steps {a} vs Brian2 {b}"
    sample_dt = dt * per_sample
    trains = [[t // per_sample for t in train] for train in (got_trains, ref_trains)]
    mask = subthreshold(len(expected["v"]), trains, round(pre_ms / sample_dt), round(post_ms / sample_dt))
    assert mask.mean() > 0.5, f"{where}: too little subthreshold trace to compare"
    dv = np.abs(got["v"] - expected["v"])[mask]
    assert dv.max() <= v_tol, f"{where}: max |v - v_Brian2| = {dv.max():.3g} mV > {v_tol} mV (subthreshold)"
    deviations = {"spike_steps": shift, "v": float(dv.max()), "v_all": float(np.abs(got["v"] - expected["v"]).max())}
    for name, tol in state_tol.items():
        d = np.abs(got[name] - expected[name]).max()
        assert d <= tol, f"{where}: max |{name} - Brian2| = {d:.3g} > {tol}"
        deviations[name] = float(d)
    return deviations


@pytest.mark.parametrize(("model", "case"), CASES)
def test_matches_brian2(model, case):
    meta, _ = load(model)
    compare(model, case, meta["dt"])


@pytest.mark.parametrize("case", load("hodgkin_huxley")[0]["cases"])
def test_hodgkin_huxley_with_substeps_matches_brian2(case):
    """dt = 0.1 ms split into 10 exponential-Euler sub-steps is the reference's 0.01 ms scheme."""
    compare("hodgkin_huxley", case, 0.1, substeps=10)


@pytest.mark.parametrize("case", load("hodgkin_huxley")[0]["cases"])
def test_hodgkin_huxley_default_is_accurate_at_dt_0_1(case):
    """Issue 14, fault 6: at the Brain's default dt = 0.1 ms the default ``substeps`` (sub-steps of at most 0.01 ms)
    matches Brian2 at 0.01 ms: same spike counts, spikes within one step (0.1 ms), subthreshold v within 0.01 mV."""
    assert HodgkinHuxley((1,)).params.substeps is None
    compare("hodgkin_huxley", case, 0.1)


def test_hodgkin_huxley_one_substep_at_dt_0_1_is_not_accurate():
    """The comparison can fail: a single exponential-Euler step of 0.1 ms moves spikes by milliseconds (measured:
    9.8 ms in the noise case; 13 and 17 spikes where Brian2 gives 14 and 18 in the step case)."""
    shifts = []
    for case in load("hodgkin_huxley")[0]["cases"]:
        got, ref, *_ = run_case("hodgkin_huxley", case, 0.1, substeps=1)
        for a, b in zip(got, ref, strict=True):
            shifts.append(np.inf if len(a) != len(b) else float(np.abs(a - b).max(initial=0)))
    assert max(shifts) >= 10  # steps of 0.1 ms: at least 1 ms off somewhere
    with pytest.raises(AssertionError):
        compare("hodgkin_huxley", "noise", 0.1, substeps=1)


def test_reference_files_are_small_and_documented():
    readme = (REF / "README.md").read_text("utf-8")
    for model in MODELS:
        path = REF / f"{model}.npz"
        assert path.stat().st_size < 200 * 1024, f"{path.name} is over 200 KiB"
        meta, _ = load(model)
        assert f"`{model}.npz`" in readme, f"reference/README.md does not describe {path.name}"
        assert meta["brian2"] in readme
        for case, info in meta["cases"].items():
            assert info["spike_shift_under_1e-6_input_change"] in (0, 1), f"{model}/{case} is ill-conditioned"
