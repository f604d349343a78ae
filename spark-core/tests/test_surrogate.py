"""Surrogate gradients (spark.surrogate) and BPTT through a Brain (spark.training), with spark-core only: a small
leaky soma written as a pack author would, with the two surrogate params."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from brain_parts import Linear

import spark
import spark.surrogate as sg
import spark.training as training
from spark.testing import isolated_registry


@spark.params
class LeakyParams:
    tau: float = spark.param(5.0, unit="ms", doc="membrane time constant", gt=0)
    v_thresh: float = spark.param(1.0, unit="mV", doc="threshold")
    surrogate: str = sg.param()
    surrogate_slope: float = sg.slope_param(2.0)


class Leaky(spark.Soma):
    """``v <- v exp(-dt / tau) + x``; a spike where ``v >= v_thresh``, then ``v = 0``."""

    name = "leaky"
    Params = LeakyParams
    inputs = {"x": spark.Port(spark.Current, "input, added to v each step (mV)")}
    outputs = {"spikes": spark.Port(spark.Spikes, "spikes of this step"),
               "v": spark.Port(spark.Voltage, "potential after the step (mV)")}

    def __init__(self, shape, *, params=None, rngs=None, **values):
        super().__init__(shape, params=params, rngs=rngs, **values)
        self.v = spark.State(jnp.zeros(self.shape, jnp.float32))

    def __call__(self, *, dt, x):
        p = self.params
        v = self.v[...] * math.exp(-dt / p.tau) + x
        fired = v >= p.v_thresh
        spikes = sg.spike(v, p.v_thresh, p.surrogate, p.surrogate_slope) if sg.is_on(p) else fired
        self.v[...] = jnp.where(fired, 0.0, v)
        return {"spikes": spikes, "v": self.v[...]}


@spark.params
class ReadoutParams:
    tau: float = spark.param(10.0, unit="ms", doc="membrane time constant", gt=0)


class Readout(spark.Soma):
    """A leaky integrator that never spikes: ``v <- v exp(-dt / tau) + x``."""

    name = "readout"
    Params = ReadoutParams
    inputs = {"x": spark.Port(spark.Current)}
    outputs = {"v": spark.Port(spark.Voltage)}

    def __init__(self, shape, *, params=None, rngs=None, **values):
        super().__init__(shape, params=params, rngs=rngs, **values)
        self.v = spark.State(jnp.zeros(self.shape, jnp.float32))

    def __call__(self, *, dt, x):
        self.v[...] = self.v[...] * math.exp(-dt / self.params.tau) + x
        return {"v": self.v[...]}


# the primitives whose derivatives the built-in surrogates are (scaled to peak 1)
PRIMITIVES = {
    "fast_sigmoid": lambda x: x / (1.0 + abs(x)),
    "arctan": lambda x: 2.0 / math.pi * math.atan(math.pi * x / 2.0),
    "triangle": lambda x: x - x * abs(x) / 2.0 if abs(x) < 1 else math.copysign(0.5, x),
}


@pytest.mark.parametrize("name", sorted(PRIMITIVES))
def test_each_built_in_surrogate_is_the_derivative_of_its_smooth_step(name):
    """``d spike / d v = slope g(slope (v - theta))``, ``g`` the derivative of the smooth step the name says
    (checked by central finite differences of that step, in float64 on the host)."""
    slope, theta = 0.7, -50.0
    v = np.array([-56.0, -51.3, -50.4, -50.0, -49.2, -47.0], np.float32)
    grad = jax.vmap(jax.grad(lambda x: sg.spike(x, theta, name, slope)))(jnp.asarray(v))
    h = 1e-4
    for vi, gi in zip(v.astype(float), np.asarray(grad), strict=True):
        x = slope * (vi - theta)
        fd = slope * (PRIMITIVES[name](x + h) - PRIMITIVES[name](x - h)) / (2 * h)
        assert gi == pytest.approx(fd, rel=1e-4, abs=1e-6), (name, vi)
    assert float(jax.grad(lambda x: sg.spike(x, theta, name, slope))(jnp.float32(theta))) == pytest.approx(slope)


def test_the_forward_value_is_the_threshold_comparison():
    v = jnp.asarray([-50.0000038, -50.0, -49.99, np.nextafter(np.float32(-50), np.float32(0))], jnp.float32)
    for name in sg.REGISTRY:
        out = sg.spike(v, -50.0, name, 3.0)
        assert out.dtype == jnp.float32
        np.testing.assert_array_equal(np.asarray(out), np.asarray(v >= -50.0, np.float32))
    gate = jnp.asarray([True, False, True, True])
    np.testing.assert_array_equal(sg.spike(v, -50.0, gate=gate), [0.0, 0.0, 1.0, 1.0])
    assert float(jax.grad(lambda x: sg.spike(x, -50.0, gate=gate).sum())(v)[1]) == 0.0, "gated: no gradient"


def test_surrogates_are_pluggable_by_name_or_callable():
    def box(x):
        return jnp.where(jnp.abs(x) < 0.5, 1.0, 0.0)

    g_call = jax.grad(lambda v: sg.spike(v, 0.0, box, 1.0))(jnp.float32(0.3))
    assert float(g_call) == 1.0
    sg.register("test_box", box)
    try:
        assert float(jax.grad(lambda v: sg.spike(v, 0.0, "test_box", 1.0))(jnp.float32(0.7))) == 0.0
        with pytest.raises(ValueError, match="already registered"):
            sg.register("test_box", lambda x: x)
        assert sg.check("test_box") is None
    finally:
        del sg.REGISTRY["test_box"]
    with pytest.raises(ValueError, match=r"unknown surrogate 'nope'.*fast_sigmoid"):
        sg.get("nope")
    assert "unknown surrogate" in sg.check("nope")


def small_brain(surrogate: str = "fast_sigmoid") -> spark.Brain:
    reg = isolated_registry(Leaky, Readout, Linear)
    brain = spark.Brain(dt=1.0, seed=3, registry=reg)
    brain.add("hid", "leaky", shape=6).add("w2", "linear", shape=(6, 3), weight=0.1).add("out", "readout", shape=3)
    brain.add("w1", "linear", shape=(4, 6), weight=0.0)
    brain.add("inp", "leaky", shape=4, v_thresh=0.5)
    brain.connect("inp.spikes", "w1.pre").connect("w1.i", "hid.x").connect("hid.spikes", "w2.pre")
    brain.connect("w2.i", "out.x").input("drive", "inp.x").output("v", "out.v")
    brain.build()
    rng = np.random.default_rng(0)
    values = training.params(brain)
    values["nodes"]["w1"]["weight"].set_value(jnp.asarray(rng.normal(0.5, 0.4, (4, 6)), jnp.float32))
    values["nodes"]["w2"]["weight"].set_value(jnp.asarray(rng.normal(0.0, 1.0, (6, 3)), jnp.float32))
    training.assign(brain, values)
    if surrogate != "none":
        with pytest.warns(spark.ModelWarning, match=r"somas \['out'\] have no surrogate param"):
            brain.use_surrogate(surrogate)
        training.assign(brain, values)
    return brain


DRIVE = np.random.default_rng(1).uniform(0.0, 0.6, (40, 4)).astype(np.float32)


def loss_of(run):
    def loss(params):
        v = run(params, {"drive": DRIVE})["out.v"]
        return jnp.sum(v * jnp.arange(1.0, 4.0)) / 40.0
    return loss


def test_use_surrogate_sets_every_soma_that_has_the_param_and_is_saved_with_the_model():
    brain = small_brain("arctan")
    doc = brain.to_dict()
    got = {n["id"]: n.get("params", {}).get("surrogate") for n in doc["nodes"]}
    assert got == {"hid": "arctan", "inp": "arctan", "w1": None, "w2": None, "out": None}
    assert brain.buffers["hid.spikes"].dtype == jnp.float32, "spikes in flight keep their gradient"
    with pytest.raises(spark.GraphError, match="unknown surrogate"):
        brain.use_surrogate("nope")


def test_the_forward_pass_is_the_same_with_and_without_the_surrogate():
    recs = {}
    for s in ("none", "fast_sigmoid", "triangle"):
        brain = small_brain(s)
        recs[s] = brain.run({"drive": DRIVE}, record=["hid.spikes", "hid.v", "out.v", "inp.spikes"])
    ref = recs["none"]
    assert ref["hid.spikes"].any() and not ref["hid.spikes"].all()
    for s in ("fast_sigmoid", "triangle"):
        for k in ref:
            np.testing.assert_array_equal(np.asarray(recs[s][k], ref[k].dtype), ref[k], err_msg=f"{s} {k}")


def test_the_simulator_equals_brain_run_and_leaves_the_brain_alone():
    brain = small_brain()
    t0 = int(brain.t[...])
    run = training.simulator(brain, record=["out.v", "hid.spikes"], steps=40, block=7)
    got = jax.jit(run)(training.params(brain), {"drive": DRIVE})
    assert int(brain.t[...]) == t0
    want = brain.run({"drive": DRIVE}, record=["out.v", "hid.spikes"])
    np.testing.assert_array_equal(np.asarray(got["out.v"]), want["out.v"])
    np.testing.assert_array_equal(np.asarray(got["hid.spikes"]), want["hid.spikes"])


def test_bptt_gradient_equals_finite_differences_where_spikes_do_not_move():
    """w.r.t. the readout weights the surrogate gradient is the true one (their small change moves no spike): jax.grad
    through the checkpointed scan equals central finite differences, and is the same for any block size."""
    brain = small_brain()
    params = training.params(brain)
    grads = {}
    for block in (1, 7, 40):
        run = training.simulator(brain, record=["out.v"], steps=40, block=block)
        grads[block] = jax.jit(jax.grad(loss_of(run)))(params)
    g = np.asarray(grads[7]["nodes"]["w2"]["weight"].get_value())
    for block in (1, 40):
        for node in ("w1", "w2"):
            np.testing.assert_allclose(np.asarray(grads[block]["nodes"][node]["weight"].get_value()),
                                       np.asarray(grads[7]["nodes"][node]["weight"].get_value()), rtol=1e-5,
                                       atol=1e-6)
    run = jax.jit(loss_of(training.simulator(brain, record=["out.v"], steps=40)))
    w2 = np.asarray(params["nodes"]["w2"]["weight"].get_value(), np.float64)
    h = 1e-2  # the loss is linear in w2: the difference is exact up to float32 rounding
    assert np.abs(g).max() > 0.05
    for i, j in [(0, 0), (2, 1), (5, 2), (3, 0)]:
        fd = []
        for sign in (1, -1):
            w = w2.copy()
            w[i, j] += sign * h
            p = jax.tree.map(lambda a: a, params)
            p["nodes"]["w2"]["weight"].set_value(jnp.asarray(w, jnp.float32))
            fd.append(float(run(p)))
        assert g[i, j] == pytest.approx((fd[0] - fd[1]) / (2 * h), rel=2e-3, abs=2e-4)


def test_bptt_through_spikes_equals_forward_mode_and_is_not_zero():
    """Through hidden spikes the gradient is the surrogate's: reverse mode (BPTT, checkpointed) equals forward mode
    (jax.jvp along random directions), and is non-zero where a hard threshold gives exactly 0."""
    brain = small_brain()
    params = training.params(brain)
    loss = loss_of(training.simulator(brain, record=["out.v"], steps=40, block=6))
    g = jax.jit(jax.grad(loss))(params)
    g1 = np.asarray(g["nodes"]["w1"]["weight"].get_value())
    assert np.abs(g1).max() > 1e-3
    rng = np.random.default_rng(5)
    jvp = jax.jit(lambda p, d: jax.jvp(loss, (p,), (d,))[1])
    for _ in range(3):
        d = jax.tree.map(lambda a: jnp.asarray(rng.normal(size=a.shape), jnp.float32), params)
        fwd = jvp(params, d)
        rev = sum(float(jnp.vdot(a, b)) for a, b in zip(jax.tree.leaves(g), jax.tree.leaves(d), strict=True))
        assert rev == pytest.approx(float(fwd), rel=1e-4, abs=1e-5)
    off = small_brain("none")
    g_off = jax.jit(jax.grad(loss_of(training.simulator(off, record=["out.v"], steps=40))))(training.params(off))
    assert not np.asarray(g_off["nodes"]["w1"]["weight"].get_value()).any(), "a hard threshold: no gradient"


def test_the_simulator_batches_with_vmap_and_checks_its_inputs():
    brain = small_brain()
    run = training.simulator(brain, record=["out.v"], steps=40)
    params = training.params(brain)
    batch = np.stack([DRIVE, DRIVE[::-1]])
    got = jax.vmap(run, (None, 0))(params, {"drive": batch})["out.v"]
    np.testing.assert_allclose(np.asarray(got[1]), np.asarray(run(params, {"drive": DRIVE[::-1]})["out.v"]),
                               rtol=1e-6, atol=1e-6)
    with pytest.raises(spark.GraphError, match="unknown input 'nope'"):
        run(params, {"nope": 1.0})
    with pytest.raises(spark.GraphError, match="39 steps but the simulator runs 40"):
        run(params, {"drive": DRIVE[:39]})


def test_mask_gradients_keeps_absent_synapses_absent():
    brain = small_brain()
    g = jax.tree.map(jnp.ones_like, training.params(brain))
    brain.nodes["w1"].mask = spark.Const(jnp.eye(4, 6, dtype=bool))
    masked = training.mask_gradients(brain, g)
    np.testing.assert_array_equal(np.asarray(masked["nodes"]["w1"]["weight"].get_value()), np.eye(4, 6))
    assert np.asarray(masked["nodes"]["w2"]["weight"].get_value()).all()


def test_the_contract_checks_accept_surrogate_spikes_as_float_zeros_and_ones():
    from spark.testing import check_component

    check_component(Leaky, params={"surrogate": "arctan"}, only=("shapes",))
    check_component(Leaky, only=("shapes",))
