"""spark.testing.check_component: components that keep the contract pass; each way of breaking it is reported
with the property, the component and a fix. Only spark-core is needed (learning rules act on HostSynapse)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import spark
from spark.testing import CHECKS, ComponentCheckError, HostSynapse, check_component

# ----- components that keep the contract -------------------------------------------------------------------------


@spark.params
class LeakParams:
    tau: float = spark.param(10.0, unit="ms", doc="membrane time constant", gt=0)
    v_thresh: float = spark.param(1.0, unit="mV", doc="threshold above rest")
    gain: tuple[float, ...] = spark.param((1.0, 2.0), unit="mV/pA", doc="two gains")


class Leak(spark.Soma):
    """A leaky integrator with a threshold: ``v <- v exp(-dt / tau) + i``; spike and reset to 0 above ``v_thresh``."""

    name = "leak"
    Params = LeakParams
    inputs = {"i": spark.Port(spark.Current, "input (pA)")}
    outputs = {"spikes": spark.Port(spark.Spikes, "spikes"), "v": spark.Port(spark.Voltage, "potential (mV)")}

    def __init__(self, shape, *, params=None, rngs=None, **values):
        super().__init__(shape, params=params, rngs=rngs, **values)
        self.v = spark.State(jnp.zeros(self.shape, jnp.float32))

    def __call__(self, *, dt, i):
        v = self.v[...] * jnp.exp(-dt / self.params.tau) + 0.01 * i
        spikes = v >= self.params.v_thresh
        v = jnp.where(spikes, 0.0, v)
        self.v[...] = v
        return {"spikes": spikes, "v": v}


@spark.params
class HebbParams:
    eta: float = spark.param(0.1, unit="pA", doc="weight change per coincidence", ge=0)


class Hebb(spark.LearningRule):
    """Plain Hebbian rule: ``w += eta * pre * post``, clipped to [0, 100] pA."""

    name = "hebb"
    Params = HebbParams
    inputs = {"pre": spark.Port(spark.Spikes, "presynaptic spikes"),
              "post": spark.Port(spark.Spikes, "postsynaptic spikes")}

    def __call__(self, synapse, *, dt, pre, post):
        dw = self.params.eta * synapse.outer(pre.astype(jnp.float32), post.astype(jnp.float32))
        return synapse.clip(synapse.weight[...] + dw, 0.0, 100.0)


@spark.params
class CoinParams:
    p: float = spark.param(0.5, doc="spike probability per step", ge=0, le=1)


class Coin(spark.Encoder):
    """Spikes with probability ``p * data`` per step."""

    name = "coin"
    Params = CoinParams
    inputs = {"data": spark.Port(spark.Signal, "intensity in [0, 1]")}
    outputs = {"spikes": spark.Port(spark.Spikes, "spikes")}
    stochastic = True

    def __call__(self, *, dt, data, key):
        return {"spikes": jax.random.uniform(key, self.shape) < self.params.p * data}


def test_a_soma_that_keeps_the_contract_passes_every_check():
    report = check_component(Leak, shape=(2, 3), tau=5.0, gain=[0.5, 1.5])
    assert report.passed == CHECKS
    assert report.shape == (2, 3)
    assert set(report.seconds) == set(CHECKS)
    assert "'leak'" in report.component


def test_a_learning_rule_is_checked_on_the_host_synapse_with_spark_core_alone():
    assert check_component(Hebb).passed == CHECKS
    assert check_component(Hebb, shape=(2, 7), only=["shapes"]).passed == ("registration", "params", "ports",
                                                                            "construction", "shapes")


def test_a_stochastic_encoder_is_deterministic_given_its_keys():
    assert check_component(Coin, shape=4).passed == CHECKS


def test_the_host_synapse_itself_keeps_the_contract():
    assert check_component(HostSynapse, only=["determinism"]).passed[-1] == "determinism"


def test_params_can_be_given_as_a_mapping_and_unknown_checks_are_refused():
    assert check_component(Leak, params={"tau": 2.0}, only=["params"]).passed == ("registration", "params")
    with pytest.raises(ValueError, match="unknown check 'speed'; the checks are: registration, params"):
        check_component(Leak, only=["speed"])


# ----- each broken promise is reported -----------------------------------------------------------------------------


def variant(base: type, name: str, **attrs) -> type:
    """A subclass of ``base`` registered as ``name`` with some attributes replaced."""
    return type(name.title().replace("_", ""), (base,), {"name": name, "__doc__": base.__doc__, **attrs})


def failure(cls: type, **kw) -> ComponentCheckError:
    with pytest.raises(ComponentCheckError) as info:
        check_component(cls, **kw)
    err = info.value
    text = str(err)
    assert f"'{cls.name}'" in text and cls.__qualname__ in text, text  # names the component and its class
    assert err.failures, text
    assert "fix: " in text
    return err


def test_a_missing_docstring_fails_registration():
    err = failure(variant(Leak, "nodoc", __doc__=None))
    assert err.failures[0].property == "registration"
    assert "no docstring" in err.failures[0].problem
    assert err.skipped == list(CHECKS[1:])


def test_an_upper_case_name_fails_registration_with_a_suggestion():
    err = failure(variant(Leak, "My-Leak"))
    assert err.failures[0].property == "registration"
    assert "name = 'my_leak'" in err.failures[0].fix


def test_a_parameter_without_doc_fails_params():
    @spark.params
    class P:
        tau: float = spark.param(1.0, unit="ms", doc="")

    err = failure(variant(Leak, "undocumented", Params=P))
    f = err.failures[0]
    assert (f.property, f.problem) == ("params", "parameters without a doc: tau")
    assert "doc=" in f.fix


def test_params_given_out_of_bounds_fail_params():
    err = failure(Leak, tau=-1.0)
    assert err.failures[0].property == "params"
    assert "'tau' = -1.0 ms is out of bounds" in err.failures[0].problem


def test_an_unregistered_payload_type_fails_ports_until_it_is_given():
    spin = spark.PayloadType("Spin", "float32", "", "a pack's own payload")
    cls = variant(Leak, "spinning", inputs={"i": spark.Port(spark.Current, "input (pA)"),
                                            "s": spark.Port(spin, "spin input")},
                  __call__=lambda self, *, dt, i, s: Leak.__call__(self, dt=dt, i=i + s))
    err = failure(cls)
    f = err.failures[0]
    assert f.property == "ports"
    assert "input port 's' carries an unknown payload type, 'Spin'" in f.problem
    assert "spark_payload_types" in f.fix and "payload_types=[Spin]" in f.fix
    assert check_component(cls, payload_types=[spin], only=["ports"]).passed[-1] == "ports"


def test_a_port_without_doc_fails_ports():
    err = failure(variant(Leak, "bare_port", inputs={"i": spark.Port(spark.Current)}))
    assert "input port 'i' has no doc" in err.failures[0].problem


def test_call_not_accepting_an_input_port_fails_ports():
    cls = variant(Leak, "deaf", inputs={"i": spark.Port(spark.Current, "input"), "j": spark.Port(spark.Current, "j")})
    err = failure(cls)
    assert err.failures[0].property == "ports"
    assert "__call__ does not accept j" in err.failures[0].problem
    assert "__call__(self, *, dt, i, j)" in err.failures[0].fix


def test_state_outside_nnx_variables_fails_construction():
    def init(self, shape, *, params=None, rngs=None, **values):
        Leak.__init__(self, shape, params=params, rngs=rngs, **values)
        self.trace = jnp.zeros(self.shape)

    err = failure(variant(Leak, "raw_state", __init__=init))
    f = err.failures[0]
    assert f.property == "construction"
    assert "trace" in f.problem and "not NNX Variables" in f.problem
    assert "spark.State" in f.fix


def test_outputs_of_the_wrong_dtype_fail_shapes():
    def call(self, *, dt, i):
        out = Leak.__call__(self, dt=dt, i=i)
        return {"spikes": out["spikes"].astype(jnp.float32), "v": out["v"]}

    err = failure(variant(Leak, "float_spikes", __call__=call))
    f = err.failures[0]
    assert f.property == "shapes"
    assert "output 'spikes' is [5] float32, declared [5] bool (Spikes)" in f.problem


def test_a_missing_output_fails_shapes():
    def call(self, *, dt, i):
        return {"spikes": Leak.__call__(self, dt=dt, i=i)["spikes"]}

    err = failure(variant(Leak, "mute", __call__=call))
    assert "outputs missing: ['v']" in err.failures[0].problem


def test_python_control_flow_on_arrays_fails_jit_with_the_fix():
    def call(self, *, dt, i):
        if i.sum() > 0:  # a traced value in a Python `if`
            i = i * 2
        return Leak.__call__(self, dt=dt, i=i)

    err = failure(variant(Leak, "branchy", __call__=call))
    f = err.failures[0]
    assert f.property == "jit"
    assert "cannot be traced" in f.problem and "test_checks.py" in f.problem  # points at the offending line
    assert "jnp.where" in f.fix
    assert "shapes" in err.skipped and "jit" not in err.skipped


def test_a_step_that_adds_attributes_fails_jit():
    def call(self, *, dt, i):
        self.calls = getattr(self, "calls", 0) + 1
        return Leak.__call__(self, dt=dt, i=i)

    err = failure(variant(Leak, "counting", __call__=call))
    f = err.failures[0]
    assert f.property == "jit"
    assert "changed the module's structure" in f.problem


def test_initial_state_from_a_global_generator_fails_determinism():
    def init(self, shape, *, params=None, rngs=None, **values):
        Leak.__init__(self, shape, params=params, rngs=rngs, **values)
        self.v = spark.State(jnp.asarray(np.random.default_rng().normal(size=self.shape), jnp.float32))

    err = failure(variant(Leak, "noisy", __init__=init))
    f = err.failures[0]
    assert f.property == "determinism"
    assert "start with different" in f.problem and "rngs" in f.fix


def test_a_rule_returning_the_wrong_shape_fails_shapes():
    def call(self, synapse, *, dt, pre, post):
        return synapse.weight[...].sum(axis=0)

    err = failure(variant(Hebb, "flat", __call__=call))
    f = err.failures[0]
    assert f.property == "shapes"
    assert "a rule returns the synapse's new weights, shaped [4, 3]" in f.problem


def test_a_synapse_without_weight_variable_fails_construction():
    class NoWeight(spark.Synapse):
        """Delivers nothing."""

        name = "no_weight"
        Params = HebbParams
        inputs = {"pre": spark.Port(spark.Spikes, "spikes")}
        outputs = {"i": spark.Port(spark.Current, "current (pA)")}

        def __call__(self, *, dt, pre):
            return {"i": jnp.zeros(self.shape[1])}

    err = failure(NoWeight)
    assert err.failures[0].property == "construction"
    assert "self.weight" in err.failures[0].problem


def test_several_failures_are_reported_together():
    @spark.params
    class P:
        tau: float = spark.param(1.0, unit="ms", doc="")

    cls = variant(Leak, "twice", Params=P, inputs={"i": spark.Port(spark.Current)})
    with pytest.raises(ComponentCheckError) as info:
        check_component(cls)
    assert [f.property for f in info.value.failures] == ["params", "ports"]
    assert str(info.value).startswith("check_component: 'twice' (")
    assert "2 of 9 properties failed" in str(info.value)


# ----- partition: what a neuron mesh relies on (docs/scaling.md) -------------------------------------------------


def test_components_that_declare_they_split_step_as_blocks_of_the_whole():
    assert check_component(variant(Leak, "leak_split", partitionable=True)).passed == CHECKS
    assert check_component(variant(Hebb, "hebb_split", partitionable=True)).passed == CHECKS
    assert check_component(variant(HostSynapse, "host_split", partitionable=True)).passed == CHECKS


def test_a_soma_that_couples_its_neurons_but_declares_it_splits_fails_partition():
    def step(self, *, dt, i):
        v = self.v[...] + 0.01 * (i - i.mean())  # every neuron sees the population's mean: not independent
        self.v[...] = v
        return {"spikes": v >= self.params.v_thresh, "v": v}

    err = failure(variant(Leak, "coupled", partitionable=True, __call__=step))
    f = err.failures[0]
    assert f.property == "partition" and [g.property for g in err.failures] == ["partition"]
    assert "two blocks of shape [5] of a node of shape [10]" in f.problem and "bit for bit" in f.problem
    assert "partitionable" in f.fix and "sum_incoming" in f.fix
    assert check_component(variant(Leak, "coupled_whole", __call__=step)).passed == CHECKS  # no promise, no check
