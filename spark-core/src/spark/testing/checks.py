"""Contract checks for one component: ``check_component(MySoma)`` in a pack's tests.

Every registered component must keep the same promises, whoever wrote it (DESIGN.md section 4, STYLE.md item 6).
:func:`check_component` verifies them one property at a time and, when any fails, raises one
:class:`ComponentCheckError` naming the component, each failed property, what went wrong and how to fix it:

=============  =================================================================================================
property       what is checked
=============  =================================================================================================
registration   the class can be registered: ``name`` (lower case), ``kind``, ``Params``, a docstring
params         ``params_schema`` is valid JSON Schema (checked against the draft 2020-12 meta-schema), every
               parameter has a doc, the defaults satisfy the schema, and defaults (and the values given) survive
               params -> dict -> JSON -> params unchanged
ports          inputs/outputs are dicts of :class:`spark.Port` with identifier names, payload types the registry
               knows, a doc each, and a ``__call__`` that accepts them; the catalogue entry fits its schema
construction   an instance builds from shape, params, ``rngs`` and ``dt``; all its arrays live in NNX Variables;
               a synapse owns a ``spark.Weight`` named ``weight`` and its ``outer``/``clip``/``sum_incoming``
               keep the weights' shape
shapes         ``port_shapes`` names every port with a valid shape, ``infer_shape`` agrees, and one step (traced
               with ``jax.eval_shape``) returns every output port, no other key, each with its declared shape and
               payload dtype
jit            ``steps`` steps through ``nnx.split`` -> ``jax.jit`` (``nnx.merge``, step, ``nnx.split``) run, keep
               the module's structure, and return finite outputs of the declared shapes and dtypes
determinism    two instances built from the same seed start equal and, given the same inputs (and keys), step
               to identical outputs and state
sparkfile      a minimal model around it (its inputs fed by declared external inputs; a learning rule attached
               to :class:`HostSynapse`) validates, builds, saves with ``Brain.to_file``, loads back as the same
               document and state, and runs ``steps`` steps to identical results
partition      for a component that declares ``partitionable = True`` (and is not stochastic): two instances
               built at the checked shape, with their state cut from one built at twice it (along the neurons;
               a synapse's or rule's postsynaptic columns) and fed the blocks of its inputs, step to the blocks of
               its outputs and state, bit for bit (what a neuron mesh relies on; docs/scaling.md)
=============  =================================================================================================

Inputs are random but fixed by ``seed``: spikes with probability 0.25, currents 0-400 pA, conductances 0-10 nS,
voltages -70 to -50 mV, other numbers in [0, 1). Give ``inputs={"port": value}`` where a component needs others.
Learning rules need a synapse to act on: the checks build a :class:`HostSynapse` (dense, random weights) so that
they work with spark-core alone installed.
"""

from __future__ import annotations

import inspect
import json
import keyword
import os
import re
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache, partial
from importlib import resources
from pathlib import Path
from typing import Any

import attrs
import jax
import jax.numpy as jnp
import jsonschema
import numpy as np
from flax import nnx

from .. import parameters as _params
from .. import sparkfile
from .. import surrogate as _surrogate
from ..component import Component, LearningRule, Synapse, normalize_shape
from ..errors import SparkError
from ..payloads import Current, PayloadType, Spikes
from ..ports import Port
from ..registry import Registry, component_problem
from ..variables import Weight

CHECKS: tuple[str, ...] = ("registration", "params", "ports", "construction", "shapes", "jit", "determinism",
                           "sparkfile", "partition")
"""The properties :func:`check_component` verifies, in the order it runs them."""

# what each property needs to have passed first
_NEEDS: dict[str, tuple[str, ...]] = {
    "registration": (),
    "params": ("registration",),
    "ports": ("registration",),
    "construction": ("params", "ports"),
    "shapes": ("construction",),
    "jit": ("shapes",),
    "determinism": ("jit",),
    "sparkfile": ("shapes",),
    "partition": ("jit",),
}

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_RESERVED_PORTS = frozenset({"dt", "key", "self", "synapse"})
# ranges of random inputs, by payload unit
_RANGES = {"pA": (0.0, 400.0), "nS": (0.0, 10.0), "mV": (-70.0, -50.0)}
_SPIKE_P = 0.25


class ComponentCheckError(SparkError, AssertionError):
    """A component broke the contract. ``failures`` holds one :class:`Failure` per failed property.

    It is an ``AssertionError``, so pytest reports it as a failed test with the full message.
    """

    def __init__(self, component: str, failures: list[Failure], skipped: list[str], passed: list[str]):
        self.component = component
        self.failures = list(failures)
        self.skipped = list(skipped)
        self.passed = list(passed)
        n = len(self.failures) + len(self.skipped) + len(self.passed)
        lines = [f"check_component: {component}: {len(self.failures)} of {n} properties failed"]
        for f in self.failures:
            lines.append(f"  [{f.property}] {f.problem}")
            lines.append(f"      fix: {f.fix}")
        if self.skipped:
            lines.append(f"  not checked, because a property they need failed: {', '.join(self.skipped)}")
        if self.passed:
            lines.append(f"  passed: {', '.join(self.passed)}")
        super().__init__("\n".join(lines))


@attrs.frozen
class Failure:
    """One failed property: which, what is wrong, and how to fix it."""

    property: str
    problem: str
    fix: str


@attrs.frozen
class CheckReport:
    """What :func:`check_component` verified. ``seconds``: time per property."""

    component: str
    shape: tuple[int, ...]
    passed: tuple[str, ...]
    seconds: Mapping[str, float]


class _Fail(Exception):
    """A failed property; ``prop`` names another property when that is where the cause belongs."""

    def __init__(self, problem: str, fix: str, prop: str | None = None):
        super().__init__(problem)
        self.problem, self.fix, self.prop = problem, fix, prop


# ----- a synapse for learning rules to act on ------------------------------------------------------------------


@_params.params
class HostSynapseParams:
    weight: float = _params.param(50.0, unit="pA", doc="mean initial weight")
    weight_std: float = _params.param(10.0, unit="pA", doc="standard deviation of the initial weights", ge=0)


class HostSynapse(Synapse):
    """Dense delta-current synapse for tests: ``i[k] = sum_j pre[j] w[j, k]`` (pA), no dynamics.

    Weights are drawn once, ``weight + weight_std * N(0, 1)``, from ``rngs``; every pre/post pair is connected.
    :func:`check_component` attaches learning rules to it, so that checking a rule needs spark-core only.

    Ports:
        pre (in, Spikes): presynaptic spikes, shape ``(n_pre,)``.
        i (out, Current, pA): postsynaptic current, shape ``(n_post,)``.
    """

    name = "host_synapse"
    Params = HostSynapseParams
    inputs = {"pre": Port(Spikes, "presynaptic spikes")}
    outputs = {"i": Port(Current, "postsynaptic current (pA)")}

    def __init__(self, shape, *, params=None, rngs=None, dt=None, **values):
        super().__init__(shape, params=params, rngs=rngs, dt=dt, **values)
        p = self.params
        key = (rngs if rngs is not None else nnx.Rngs(0)).params()
        self.weight = Weight(p.weight + p.weight_std * jax.random.normal(key, self.shape, jnp.float32))

    def __call__(self, *, dt, pre):
        return {"i": pre.astype(jnp.float32) @ self.weight[...]}


# ----- the check ------------------------------------------------------------------------------------------------


def check_component(cls: type, shape: Any = None, *, params: Mapping[str, Any] | None = None, dt: float = 0.1,
                    seed: int = 0, steps: int = 5, inputs: Mapping[str, Any] | None = None,
                    payload_types: Iterable[PayloadType] = (), only: Iterable[str] | None = None,
                    **param_values: Any) -> CheckReport:
    """Check that ``cls`` keeps the component contract; raise :class:`ComponentCheckError` listing what fails.

    Args:
        cls: the component class (a subclass of a :class:`spark.Component` kind).
        shape: the node shape to check with; default ``(5,)``, or ``(4, 3)`` for synapses and learning rules.
        params: parameter values as a mapping (for names that clash with this function's own arguments).
        dt: time step (ms).
        seed: seed of the instances' ``rngs``, of the random inputs and of stochastic components' keys.
        steps: steps run by the jit, determinism and sparkfile checks.
        inputs: input port name -> value used instead of random inputs: a scalar, an array of the port's shape,
            or a ``(steps, *port_shape)`` time series.
        payload_types: payload types the pack registers (``spark_payload_types``) that its ports use.
        only: check only these properties (and those they need); default: all of :data:`CHECKS`.
        **param_values: parameter values, e.g. ``tau_m=20.0``.

    Returns:
        a :class:`CheckReport` of the properties that passed.

    Example::

        from spark.testing import check_component
        from my_pack.resonate import ResonateFire

        def test_contract():
            check_component(ResonateFire, shape=(3,), tau=5.0)
    """
    values = {**dict(params or {}), **param_values}
    wanted = set(CHECKS) if only is None else _with_needs(only)
    run = _Run(cls, shape, values, float(dt), int(seed), int(steps), dict(inputs or {}), tuple(payload_types))
    failures: list[Failure] = []
    passed: list[str] = []
    skipped: list[str] = []
    seconds: dict[str, float] = {}
    for prop in CHECKS:
        if prop not in wanted:
            continue
        if any(need not in passed for need in _NEEDS[prop]):
            if not any(f.property == prop for f in failures):
                skipped.append(prop)
            continue
        t0 = time.perf_counter()
        try:
            getattr(run, "check_" + prop)()
        except _Fail as exc:
            failures.append(Failure(exc.prop or prop, exc.problem, exc.fix))
            if exc.prop and exc.prop != prop:  # e.g. a step that cannot be traced fails `jit` while checking shapes
                skipped.append(prop)
        except Exception as exc:  # an unexpected error of the component while checking this property
            failures.append(Failure(prop, f"raised {_describe(exc)}", _FIXES.get(prop, "see the traceback")))
        else:
            passed.append(prop)
        seconds[prop] = time.perf_counter() - t0
    if failures:
        raise ComponentCheckError(run.who, failures, skipped, passed)
    return CheckReport(run.who, run.shape or (), tuple(passed), seconds)


_FIXES = {
    "registration": "give the class `name`, `kind` and `Params`, as in the pack template",
    "params": "declare every field with spark.param(default, unit=..., doc=...) in a class decorated with "
              "@spark.params",
    "ports": "declare `inputs` / `outputs` as {name: spark.Port(payload, doc)} at class level",
    "construction": "build all state in __init__(self, shape, *, params=None, rngs=None, dt=None, **values) "
                    "after super().__init__(...), from params, shape and rngs only",
    "shapes": "return {port: array} for every output port, shaped as port_shapes() says",
    "jit": "keep Python control flow to params and shapes; branch on arrays with jnp.where or jax.lax.cond",
    "determinism": "draw randomness only from `rngs` (construction) and `key` (stochastic steps)",
    "sparkfile": "make params JSON values (numbers, strings, booleans, lists) and build state from params only",
    "partition": "partitionable = True promises that the step treats neurons (a synapse's or rule's postsynaptic "
                 "columns) independently: keep sums over presynaptic neurons to sum_incoming, take plain attributes "
                 "that depend on the whole's random draws over in split_from, refuse what cannot split in "
                 "partition_problem, or leave partitionable False",
}


def _with_needs(only: Iterable[str]) -> set[str]:
    out: set[str] = set()
    todo = list(only)
    for name in todo:
        if name not in CHECKS:
            raise ValueError(f"unknown check {name!r}; the checks are: {', '.join(CHECKS)}")
        if name not in out:
            out.add(name)
            todo.extend(_NEEDS[name])
    return out


def _describe(exc: BaseException) -> str:
    """``Type: message (file:line)`` with the innermost frame outside JAX, Flax and this module."""
    where = ""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        path = frame.filename.replace(os.sep, "/")
        if not any(part in path for part in ("/jax/", "/jaxlib/", "/flax/", "/spark/testing/checks.py")):
            where = f" (at {Path(frame.filename).name}:{frame.lineno})"
            break
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(exc).__name__}: {first}{where}"


def _is_rule(cls: type) -> bool:
    return isinstance(cls, type) and issubclass(cls, LearningRule)


class _Run:
    """State shared by the properties of one check_component call."""

    def __init__(self, cls, shape, values, dt, seed, steps, inputs, payload_types):
        self.cls, self.values, self.dt, self.seed, self.steps = cls, values, dt, seed, steps
        self.input_overrides = inputs
        self.payload_types = payload_types
        name = getattr(cls, "name", "") or "?"
        self.who = f"{name!r} ({getattr(cls, '__module__', '?')}.{getattr(cls, '__qualname__', cls)!s})"
        self.shape_arg = shape
        self.shape: tuple[int, ...] | None = None
        self.params = None
        self.series: dict[str, np.ndarray] | None = None

    # ----- helpers ------------------------------------------------------------------------------------------------

    @property
    def rule(self) -> bool:
        return _is_rule(self.cls)

    def registry(self) -> Registry:
        reg = Registry()
        for p in self.payload_types:
            reg.register_payload(p, distribution="test")
        return reg

    def build(self, seed: int | None = None) -> tuple[Component, Synapse | None]:
        seed = self.seed if seed is None else seed
        module = self.cls(self.shape, params=self.params, rngs=nnx.Rngs(seed), dt=self.dt)
        host = None
        if self.rule:
            host = HostSynapse(self.shape, rngs=nnx.Rngs(seed + 1), dt=self.dt)
            module.bind(host)
        return module, host

    def port_shape(self, port: str) -> tuple[int, ...]:
        return tuple(self.cls.port_shapes(self.params, self.shape)[port])

    def make_series(self) -> dict[str, np.ndarray]:
        """input port -> ``(steps, *port_shape)`` array of its payload dtype (random unless given)."""
        if self.series is not None:
            return self.series
        rng = np.random.default_rng(self.seed)
        out = {}
        for port, spec in self.cls.inputs.items():
            shape = self.port_shape(port)
            dtype = np.dtype(spec.payload.dtype)
            if port in self.input_overrides:
                x = np.asarray(self.input_overrides[port])
                try:
                    if x.shape == (self.steps, *shape):
                        out[port] = x.astype(dtype)
                    else:
                        out[port] = np.broadcast_to(x, shape)[None].repeat(self.steps, 0).astype(dtype)
                except ValueError:
                    raise _Fail(f"inputs[{port!r}] has shape {list(x.shape)}; port {port!r} has shape {list(shape)}",
                                f"give a scalar, an array of shape {list(shape)} or a time series of shape "
                                f"{[self.steps, *shape]}") from None
                continue
            full = (self.steps, *shape)
            if dtype == np.bool_:
                out[port] = rng.random(full) < _SPIKE_P
            elif dtype.kind in "iu":
                out[port] = rng.integers(0, 3, full).astype(dtype)
            else:
                lo, hi = _RANGES.get(spec.payload.unit, (0.0, 1.0))
                out[port] = rng.uniform(lo, hi, full).astype(dtype)
        self.series = out
        return out

    def step_inputs(self, t: int) -> dict[str, jax.Array]:
        kwargs = {port: jnp.asarray(x[t]) for port, x in self.make_series().items()}
        if self.cls.stochastic:
            kwargs["key"] = jax.random.fold_in(jax.random.PRNGKey(self.seed), t)
        return kwargs

    # ----- registration -------------------------------------------------------------------------------------------

    def check_registration(self) -> None:
        cls = self.cls
        problem = component_problem(cls)
        if problem:
            raise _Fail(problem, "subclass a kind (spark.Soma, spark.Synapse, spark.LearningRule, spark.Encoder, "
                                 "spark.Decoder) and set `name` and `Params` (a class decorated with @spark.params)")
        if not _NAME.match(cls.name):
            raise _Fail(f"name {cls.name!r} is not lower case letters, digits and underscores (starting with a letter)",
                        f"rename it, e.g. name = {re.sub(r'[^a-z0-9_]+', '_', cls.name.lower()).strip('_') or 'x'!r}")
        if not (cls.__doc__ or "").strip():
            raise _Fail(f"{cls.__qualname__} has no docstring; the catalogue and the editor show its first line",
                        "add a docstring: one line saying what it models, then the equations with units and a "
                        "reference")

    # ----- params -------------------------------------------------------------------------------------------------

    def check_params(self) -> None:
        P = self.cls.Params
        schema = _params.params_schema(P)
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as exc:
            raise _Fail(f"params_schema({P.__name__}) is not valid JSON Schema: {exc.message} at "
                        f"{'/'.join(map(str, exc.absolute_path)) or 'the top'}",
                        "use bounds and choices of JSON types (numbers, strings) in spark.param") from None
        undocumented = [f.name for f in attrs.fields(P) if not _params.meta(f).doc.strip()]
        if undocumented:
            raise _Fail(f"parameters without a doc: {', '.join(undocumented)}",
                        "give each spark.param(...) a doc=\"one line saying what it is\" (and its unit=)")
        try:
            defaults = P()
        except Exception as exc:
            raise _Fail(f"{P.__name__}() with the defaults raises {_describe(exc)}",
                        "give every parameter a default that satisfies its own bounds and choices") from None
        self._round_trip(P, defaults, "the defaults")
        validator = jsonschema.Draft202012Validator(schema)
        errors = list(validator.iter_errors(_json_values(defaults)))
        if errors:
            raise _Fail(f"the defaults do not satisfy the exported schema: {errors[0].message}",
                        "keep defaults within the bounds and choices declared in spark.param")
        try:
            self.params = _params.from_dict(P, dict(self.values))
        except Exception as exc:
            raise _Fail(f"the params given to check_component are refused: {exc}",
                        "pass values that satisfy the parameters' bounds (or fix the bounds)") from None
        self._round_trip(P, self.params, "the values given")
        errors = list(validator.iter_errors(_json_values(self.params)))
        if errors:
            raise _Fail(f"accepted params {self.values} do not satisfy the exported schema: {errors[0].message}",
                        "make spark.param's bounds and the exported schema agree (a custom check the schema "
                        "cannot express belongs in the component's check_shape or docs)")

    def _round_trip(self, P: type, value: Any, what: str) -> None:
        text = json.dumps(_json_values(value))
        back = _params.from_dict(P, json.loads(text))
        if back != value:
            raise _Fail(f"{what} change on the way params -> dict -> JSON -> params: {value!r} became {back!r}",
                        "use float, int, bool, str or tuple[float, ...] fields whose values JSON keeps exactly")

    # ----- ports --------------------------------------------------------------------------------------------------

    def check_ports(self) -> None:
        cls = self.cls
        reg = self.registry()
        for side in ("inputs", "outputs"):
            ports = getattr(cls, side)
            if not isinstance(ports, Mapping):
                raise _Fail(f"`{side}` is a {type(ports).__name__}, not a dict of port name -> spark.Port",
                            f"declare {side} = {{'name': spark.Port(spark.Current, 'doc')}}")
            for name, port in ports.items():
                where = f"{side[:-1]} port {name!r}"
                if not isinstance(port, Port):
                    raise _Fail(f"{where} is {port!r}, not a spark.Port", "declare it as spark.Port(payload, doc)")
                if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
                    raise _Fail(f"{where}: the name is not a Python identifier; it is passed as a keyword and "
                                "written \"node.port\" in .spark files", "rename it, e.g. 'i_syn'")
                if name in _RESERVED_PORTS:
                    raise _Fail(f"{where}: {name!r} is reserved ({', '.join(sorted(_RESERVED_PORTS))} are passed "
                                "to __call__ by the Brain)", "rename the port")
                if not isinstance(port.payload, PayloadType):
                    raise _Fail(f"{where} carries {port.payload!r}, not a spark.PayloadType",
                                "use spark.Spikes, spark.Current, ... or a PayloadType your pack registers")
                known = reg.payloads.get(port.payload.name)
                if known != port.payload:
                    what = "an unknown payload type" if known is None else "a payload type that differs from the " \
                                                                           "registered one of the same name"
                    raise _Fail(f"{where} carries {what}, {port.payload.name!r}",
                                "return it from your plugin's spark_payload_types hook and pass "
                                f"payload_types=[{port.payload.name}] to check_component")
                if not port.doc.strip():
                    raise _Fail(f"{where} has no doc", f"write spark.Port({port.payload.name}, \"what it carries, "
                                                       "with units\")")
        both = sorted(set(cls.inputs) & set(cls.outputs))
        if both:
            raise _Fail(f"port name(s) {both} are both an input and an output",
                        "give inputs and outputs distinct names")
        self._check_signature()
        reg.register(cls, distribution="test")
        catalogue = reg.to_json()
        errors = list(jsonschema.Draft202012Validator(_catalogue_schema()).iter_errors(catalogue))
        if errors:
            e = errors[0]
            raise _Fail(f"its catalogue entry (Component.describe) does not fit component-list.schema.json: "
                        f"{e.message} at {'/'.join(map(str, e.absolute_path))}",
                        "do not override describe(); if you must, keep every key the schema requires")

    def _check_signature(self) -> None:
        cls = self.cls
        try:
            sig = inspect.signature(cls.__call__)
        except (TypeError, ValueError):
            return
        params = list(sig.parameters.values())[1:]  # without self
        if cls.__call__ is Component.__call__ or cls.__call__ is LearningRule.__call__:
            raise _Fail("__call__ is not implemented", "define __call__(self, *, dt, <one keyword per input port>)")
        if self.rule:
            if not params or params[0].kind not in (params[0].POSITIONAL_ONLY, params[0].POSITIONAL_OR_KEYWORD):
                raise _Fail("a learning rule's __call__ must take the synapse first: "
                            "__call__(self, synapse, *, dt, ...)",
                            "add the synapse parameter and return the new weights")
            params = params[1:]
        names = {p.name for p in params}
        var_kw = any(p.kind is p.VAR_KEYWORD for p in params)
        expected = {"dt", *cls.inputs} | ({"key"} if cls.stochastic else set())
        missing = sorted(expected - names) if not var_kw else []
        if missing:
            wanted = ", ".join(["dt", *cls.inputs] + (["key"] if cls.stochastic else []))
            raise _Fail(f"__call__ does not accept {', '.join(missing)} (it is called with dt=, one keyword per input "
                        "port" + (" and key=" if cls.stochastic else "") + ")", f"write __call__(self, *, {wanted})")
        extra = sorted(p.name for p in params if p.name not in expected and p.default is p.empty
                       and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL))
        if extra:
            hint = " (set stochastic = True to receive `key`)" if "key" in extra else ""
            raise _Fail(f"__call__ requires {', '.join(extra)}, which the Brain never passes{hint}",
                        "declare them as input ports, or give them defaults")

    # ----- construction -------------------------------------------------------------------------------------------

    def check_construction(self) -> None:
        cls = self.cls
        if self.shape_arg is None:
            self.shape = (4, 3) if issubclass(cls, (Synapse, LearningRule)) else (5,)
        else:
            try:
                self.shape = normalize_shape(self.shape_arg)
            except ValueError as exc:
                raise _Fail(str(exc), "pass shape=(n,) or, for synapses and rules, shape=(n_pre, n_post)") from None
        problem = cls.check_shape(self.params, self.shape)
        if problem:
            raise _Fail(f"shape {list(self.shape)} is refused: {problem}",
                        "pass a shape the component accepts: check_component(cls, shape=...)")
        try:
            module, host = self.build()
        except _Fail:
            raise
        except Exception as exc:
            raise _Fail(f"{cls.__qualname__}({list(self.shape)}, params=..., rngs=nnx.Rngs({self.seed}), "
                        f"dt={self.dt}) raised {_describe(exc)}", _FIXES["construction"]) from None
        if not isinstance(module, nnx.Module) or getattr(module, "params", None) != self.params:
            raise _Fail("the instance does not keep its params (self.params)", "call super().__init__(shape, "
                        "params=params, rngs=rngs, dt=dt, **values) first in __init__")
        raw = _raw_arrays(module)
        if raw:
            raise _Fail(f"array attribute(s) {', '.join(raw)} are not NNX Variables: Brain.save_state and "
                        "nnx.split(brain, spark.Learned, ...) cannot see them",
                        "wrap state in spark.State (changes every step), spark.Weight / spark.Learned (learned) or "
                        "spark.Const (fixed), e.g. self.v = spark.State(jnp.zeros(self.shape))")
        if issubclass(cls, Synapse):
            self._check_synapse(module)
        if host is not None:  # rule: its bind() ran; the host keeps its weight variable
            if not isinstance(getattr(host, "weight", None), Weight):
                raise _Fail("bind(synapse) replaced the synapse's weight variable",
                            "a rule never owns the weights: allocate its own state in bind(), return new weights "
                            "from __call__")

    def _check_synapse(self, module: Synapse) -> None:
        w = getattr(module, "weight", None)
        if not isinstance(w, Weight):
            raise _Fail("a synapse must own its weights as `self.weight`, a spark.Weight; learning rules write it",
                        "self.weight = spark.Weight(initial_weights)")
        n_pre, n_post = self.shape
        wv = w[...]
        for what, fn in (("outer(ones(n_pre), ones(n_post))", lambda: module.outer(jnp.ones(n_pre), jnp.ones(n_post))),
                         ("clip(weight, lo, hi)", lambda: module.clip(wv, -1.0, 1.0))):
            try:
                got = fn()
            except Exception as exc:
                raise _Fail(f"{what} raised {_describe(exc)}", "override outer/clip for your weight storage") from None
            if tuple(got.shape) != tuple(wv.shape):
                raise _Fail(f"{what} has shape {list(got.shape)}, but weight has {list(wv.shape)}",
                            "override outer/clip so learning rules get arrays shaped like self.weight")
        got = module.sum_incoming(wv)
        if tuple(got.shape) != (n_post,):
            raise _Fail(f"sum_incoming(weight) has shape {list(got.shape)}, not (n_post,) = ({n_post},)",
                        "override sum_incoming for your weight storage")

    # ----- shapes -------------------------------------------------------------------------------------------------

    def check_shapes(self) -> None:
        cls = self.cls
        shapes = cls.port_shapes(self.params, self.shape)
        ports = [*cls.inputs, *cls.outputs]
        if set(shapes) != set(ports):
            missing, extra = sorted(set(ports) - set(shapes)), sorted(set(shapes) - set(ports))
            raise _Fail(f"port_shapes(params, {list(self.shape)}) covers {sorted(shapes)}; missing: {missing or 'none'}"
                        f", not ports: {extra or 'none'}", "return a shape for every input and output port, no more")
        for port, s in shapes.items():
            try:
                normalize_shape(tuple(s))
            except (ValueError, TypeError):
                raise _Fail(f"port_shapes gives port {port!r} the shape {s!r}",
                            "give a tuple of positive ints") from None
        inferred = cls.infer_shape(self.params, {p: tuple(s) for p, s in shapes.items()})
        if inferred is not None and tuple(inferred) != tuple(self.shape):
            raise _Fail(f"infer_shape(port_shapes({list(self.shape)})) gives {list(inferred)}, not {list(self.shape)}",
                        "make infer_shape invert port_shapes, or return None when the shape cannot be inferred")
        harness = _Harness(*self.build())
        graphdef, state = nnx.split(harness)
        try:  # abstract evaluation: traces the step through split/merge without compiling it
            out, _ = jax.eval_shape(partial(_pure_step, graphdef, self.dt), state, self.step_inputs(0))
        except _Fail:
            raise
        except Exception as exc:
            raise _Fail(f"one step through nnx.split/merge cannot be traced (as jax.jit does): {_describe(exc)}",
                        _jit_fix(exc), prop="jit") from None
        self._check_outputs(out, harness.host, "one step")

    def _check_outputs(self, out: Any, host: Synapse | None, when: str) -> None:
        """Keys, shapes and dtypes of a step's outputs; with concrete values, also that they are finite."""
        cls = self.cls
        concrete = lambda x: isinstance(x, (np.ndarray, jax.Array))
        if self.rule:
            w = out["weight"]
            ref = host.weight[...]
            if not hasattr(w, "shape") or tuple(w.shape) != tuple(ref.shape) or w.dtype != ref.dtype:
                raise _Fail(f"{when}: __call__ returned {_what(w)}; a rule returns the synapse's new weights, "
                            f"shaped {list(ref.shape)} with dtype {ref.dtype}",
                            "return e.g. synapse.clip(synapse.weight[...] + dw, w_min, w_max)")
            if concrete(w) and not np.all(np.isfinite(w)):
                raise _Fail(f"{when}: the new weights contain NaN or infinity", "check the rule's arithmetic")
            return
        if not isinstance(out, Mapping):
            raise _Fail(f"{when}: __call__ returned {_what(out)}, not a dict of output port -> array",
                        "return {'port': array, ...} with every output port")
        if set(out) != set(cls.outputs):
            missing, extra = sorted(set(cls.outputs) - set(out)), sorted(set(out) - set(cls.outputs))
            raise _Fail(f"{when}: outputs missing: {missing or 'none'}; not declared: {extra or 'none'}",
                        "return exactly the declared output ports")
        for port, x in out.items():
            want_shape = self.port_shape(port)
            want_dtype = np.dtype(cls.outputs[port].payload.dtype)
            if (want_dtype == np.bool_ and hasattr(x, "dtype") and np.dtype(x.dtype) == np.float32
                    and _surrogate.is_on(self.params)):  # surrogate spikes: float32 0/1 (docs/gradients.md)
                if concrete(x) and not np.all((np.asarray(x) == 0) | (np.asarray(x) == 1)):
                    raise _Fail(f"{when}: output {port!r} holds values other than 0 and 1; surrogate spikes are "
                                "float32 0.0 / 1.0", "return spark.surrogate.spike(v, threshold, ...)")
                want_dtype = np.dtype(np.float32)
            if not hasattr(x, "shape") or tuple(x.shape) != want_shape or np.dtype(x.dtype) != want_dtype:
                raise _Fail(f"{when}: output {port!r} is {_what(x)}, declared {list(want_shape)} "
                            f"{want_dtype} ({cls.outputs[port].payload.name})",
                            f"return an array of shape {list(want_shape)} and dtype {want_dtype} "
                            "(e.g. spikes as bool, currents as float32)")
            if concrete(x) and want_dtype.kind == "f" and not np.all(np.isfinite(x)):
                raise _Fail(f"{when}: output {port!r} contains NaN or infinity for moderate inputs",
                            "check the update's arithmetic (division by zero, overflow of exp); give "
                            "check_component(inputs=...) if it needs other inputs")

    # ----- jit ----------------------------------------------------------------------------------------------------

    def check_jit(self) -> None:
        harness = _Harness(*self.build())
        try:
            outs, final = _jit_run(harness, self.dt, self.steps, self.step_inputs)
        except _Fail:
            raise
        except Exception as exc:
            raise _Fail(f"the step does not run under jax.jit inside nnx.split/merge: {_describe(exc)}",
                        _jit_fix(exc)) from None
        for t, out in enumerate(outs):
            self._check_outputs(out, harness.host, f"jitted step {t}")
        self.jit_outputs, self.jit_state = outs, final

    # ----- determinism --------------------------------------------------------------------------------------------

    def check_determinism(self) -> None:
        a, b = _Harness(*self.build()), _Harness(*self.build())
        sa, sb = _flat(nnx.state(a)), _flat(nnx.state(b))
        for path in sa:
            if not _equal(sa[path], sb.get(path)):
                raise _Fail(f"two instances built with rngs=nnx.Rngs({self.seed}) start with different {path}",
                            "draw initial randomness from `rngs` (e.g. rngs.params()), never from numpy's or "
                            "Python's global generators")
        outs, final = _jit_run(b, self.dt, self.steps, self.step_inputs)
        for t, (x, y) in enumerate(zip(self.jit_outputs, outs, strict=True)):
            for port in x:
                if not _equal(x[port], y[port]):
                    raise _Fail(f"step {t}: output {port!r} differs between two runs from the same seed and inputs",
                                "draw a stochastic step's randomness only from its `key` argument")
        first = _flat(self.jit_state)
        for path, value in _flat(final).items():
            if not _equal(first.get(path), value):
                raise _Fail(f"state {path} differs after two runs from the same seed and inputs",
                            _FIXES["determinism"])

    # ----- split by neuron ----------------------------------------------------------------------------------------

    def check_partition(self) -> None:
        cls = self.cls
        if not getattr(cls, "partitionable", False) or cls.stochastic:
            return  # promises nothing to check: it runs whole on every device
        axis = 1 if len(self.shape) == 2 and issubclass(cls, (Synapse, LearningRule)) else 0
        whole_shape = tuple(s * 2 if i == axis else s for i, s in enumerate(self.shape))
        big = _Run(cls, whole_shape, self.values, self.dt, self.seed, self.steps, self.input_overrides,
                   self.payload_types)
        big.shape, big.params = whole_shape, self.params
        whole = _Harness(*big.build())
        if whole.component.partition_problem() is not None:
            return  # it refuses to split as built here (a Brain refuses it too)
        if whole.component.partition_relayout(2) is not None:
            return  # rearranged storage (spark.partition.Relayout): checked on a Brain split across devices
        try:
            series = big.make_series()
        except _Fail:
            return  # inputs given for the checked shape only
        at = f"two blocks of shape {list(self.shape)} of a node of shape {list(whole_shape)}"
        whole_state = _flat(nnx.state(whole))
        blocks, block_series = [], []
        for b in range(2):
            h = _Harness(*self.build())
            h.component.split_from(whole.component)
            new = []
            for path, v in nnx.to_flat_state(nnx.state(h)):
                key = "/".join(map(str, path))
                w = whole_state.get(key)
                if w is None:
                    raise _Fail(f"{at}: a block holds {key}, which the whole does not", _FIXES["partition"])
                dim = _half_axis(w.shape, np.shape(v.get_value()), f"{at}: {key}")
                new.append((path, v.replace(jnp.asarray(w if dim is None else np.split(w, 2, axis=dim)[b],
                                                        v.get_value().dtype))))
            nnx.update(h, nnx.from_flat_state(new))
            blocks.append(h)
            block_series.append({p: (x if _half_axis(x.shape[1:], (*self.port_shape(p),), f"{at}: port {p}") is None
                                     else np.split(x, 2, axis=1)[b]) for p, x in series.items()})
        outs, final = _jit_run(whole, self.dt, self.steps,
                               lambda t: {p: jnp.asarray(x[t]) for p, x in series.items()})
        runs = [_jit_run(h, self.dt, self.steps, lambda t, s=s: {p: jnp.asarray(x[t]) for p, x in s.items()})
                for h, s in zip(blocks, block_series, strict=True)]
        for t, out in enumerate(outs):
            for port, x in out.items():
                parts = [r[0][t][port] for r in runs]
                if not _equal(_join(x, parts), x):
                    raise _Fail(f"{at}: output {port!r} at step {t} is not the whole's (bit for bit)",
                                _FIXES["partition"])
        whole_final = _flat(final)
        parts = [_flat(r[1]) for r in runs]
        for key, x in whole_final.items():
            if not _equal(_join(x, [p[key] for p in parts]), x):
                raise _Fail(f"{at}: state {key} after {self.steps} steps is not the whole's (bit for bit)",
                            _FIXES["partition"])

    # ----- .spark round trip --------------------------------------------------------------------------------------

    def check_sparkfile(self) -> None:
        from ..brain import Brain

        reg = self.registry()
        entry = reg.register(self.cls, distribution="test")
        doc: dict[str, Any] = {"format": sparkfile.FORMAT, "version": sparkfile.VERSION,
                               "name": f"check_{self.cls.name}", "dt": self.dt, "seed": self.seed,
                               "nodes": [], "edges": [], "inputs": [], "outputs": []}
        node: dict[str, Any] = {"id": "c", "component": entry.id, "shape": list(self.shape),
                                "params": _json_values(self.params)}
        if self.rule:
            host_id = entry.id if self.cls is HostSynapse else reg.register(HostSynapse, distribution="test").id
            doc["nodes"].append({"id": "host", "component": host_id, "shape": list(self.shape)})
            doc["inputs"].append({"name": "host_pre", "to": "host.pre"})
            doc["outputs"].append({"name": "host_i", "from": "host.i"})
            node["attach"] = "host"
        doc["nodes"].append(node)
        doc["inputs"] += [{"name": f"in_{p}", "to": f"c.{p}"} for p in self.cls.inputs]
        doc["outputs"] += [{"name": f"out_{p}", "from": f"c.{p}"} for p in self.cls.outputs]
        problems = sparkfile.validate(doc, reg)
        if problems:
            raise _Fail("a minimal model around it does not validate: " + "; ".join(map(str, problems[:5])),
                        "make port_shapes, infer_shape and the params agree with what the component accepts")
        try:
            brain = Brain.from_dict(doc, registry=reg, source="<check>")
        except Exception as exc:
            raise _Fail(f"building the model raised {_describe(exc)}", _FIXES["construction"]) from None
        with tempfile.TemporaryDirectory(prefix="spark-check-") as tmp:
            path = Path(tmp) / "check.spark"
            brain.to_file(path)
            saved = json.loads(path.read_text(encoding="utf-8"))
            if saved != brain.to_dict():
                raise _Fail("the saved file differs from the model document", _FIXES["sparkfile"])
            try:
                loaded = Brain.from_file(path, registry=reg)
            except Exception as exc:
                raise _Fail(f"loading the saved file raised {_describe(exc)}", _FIXES["sparkfile"]) from None
        if loaded.to_dict() != brain.to_dict():
            raise _Fail("the loaded document differs from the saved one", _FIXES["sparkfile"])
        sa, sb = _flat(nnx.state(brain)), _flat(nnx.state(loaded))
        if set(sa) != set(sb) or not all(_equal(sa[k], sb[k]) for k in sa):
            diff = sorted(k for k in set(sa) | set(sb) if not _equal(sa.get(k), sb.get(k)))
            raise _Fail(f"the loaded model starts in a different state: {', '.join(diff[:5])}",
                        "build initial state from params, shape and `rngs` only")
        series = self.make_series()
        inputs = {f"in_{p}": x for p, x in series.items()}
        if self.rule:
            inputs["host_pre"] = np.random.default_rng(self.seed + 1).random((self.steps, self.shape[0])) < _SPIKE_P
        try:
            ra, fa = _run_brain(brain, inputs, self.steps)
        except Exception as exc:
            raise _Fail(f"running the model (jitted Brain steps) raised {_describe(exc)}", _jit_fix(exc)) from None
        rb, fb = _run_brain(loaded, inputs, self.steps)
        for t, (a, b) in enumerate(zip(ra, rb, strict=True)):
            for name in a:
                if not _equal(a[name], b[name]):
                    raise _Fail(f"after save and load, output {name!r} differs at step {t}", _FIXES["sparkfile"])
        diff = sorted(k for k in fa if not _equal(fa[k], fb.get(k)))
        if diff:
            raise _Fail(f"after save, load and {self.steps} steps, the state differs: {', '.join(diff[:5])}",
                        _FIXES["sparkfile"])


# ----- helpers ----------------------------------------------------------------------------------------------------


class _Harness(nnx.Module):
    """The component (and, for a rule, its synapse) as one module, so one split/merge carries both."""

    def __init__(self, component: Component, host: Synapse | None):
        self.component = component
        self.host = host


def _step(module: Component, host: Synapse | None, dt: float, kwargs: dict) -> Any:
    if host is None:
        return module(dt=dt, **kwargs)
    w = module(host, dt=dt, **kwargs)
    if hasattr(w, "shape") and tuple(w.shape) == tuple(host.weight[...].shape):
        host.weight[...] = w
    return {"weight": w}


def _pure_step(graphdef, dt, state, kwargs):
    h = nnx.merge(graphdef, state)
    out = _step(h.component, h.host, dt, kwargs)
    new_graphdef, new_state = nnx.split(h)
    if new_graphdef != graphdef:
        raise _Fail("the step changed the module's structure (attributes added, removed or re-typed inside "
                    "__call__), so its state cannot be carried from one step to the next",
                    "create every attribute in __init__ and only assign `var[...] = value` in __call__", prop="jit")
    return out, new_state


_jit_step = jax.jit(_pure_step, static_argnums=(0, 1))


def _pure_brain_step(graphdef, state, ext):
    brain = nnx.merge(graphdef, state)
    out = brain(**ext)
    return out, nnx.split(brain)[1]


_jit_brain_step = jax.jit(_pure_brain_step, static_argnums=0)


def _run_brain(brain, inputs: Mapping[str, np.ndarray], steps: int):
    """``steps`` jitted steps of ``brain`` (public ``brain(**inputs)`` through split/merge): outputs, final state."""
    graphdef, state = nnx.split(brain)
    outs = []
    for t in range(steps):
        out, state = _jit_brain_step(graphdef, state, {k: jnp.asarray(v[t]) for k, v in inputs.items()})
        outs.append(_to_numpy(out))
    return outs, _flat(state)


def _jit_run(harness: _Harness, dt: float, steps: int, step_inputs: Callable[[int], dict]):
    graphdef, state = nnx.split(harness)
    outs = []
    for t in range(steps):
        out, state = _jit_step(graphdef, dt, state, step_inputs(t))
        outs.append(_to_numpy(out))
    return outs, state


def _jit_fix(exc: BaseException) -> str:
    name = type(exc).__name__
    if "Concretization" in name or "TracerBool" in name or "TracerInteger" in name or "TracerArray" in name:
        return ("a Python `if`, `int()`, `float()` or numpy call reads a traced array: branch with jnp.where or "
                "jax.lax.cond, and use jnp instead of np on arrays inside __call__")
    return _FIXES["jit"]


def _raw_arrays(module: nnx.Module) -> list[str]:
    out = []
    for path, value in nnx.iter_graph(module):
        if isinstance(value, (jax.Array, np.ndarray)) and path:
            out.append(".".join(map(str, path)))
    return out


def _flat(state) -> dict[str, np.ndarray]:
    flat = {}
    for path, v in nnx.to_flat_state(state):
        value = v.get_value() if hasattr(v, "get_value") else v
        flat["/".join(map(str, path))] = np.asarray(jax.device_get(value))
    return flat


def _half_axis(whole: tuple, block: tuple, what: str) -> int | None:
    """The axis along which ``block`` is half of ``whole`` (None when equal); else a failure of ``partition``."""
    whole, block = tuple(whole), tuple(block)
    if whole == block:
        return None
    diff = [i for i, (a, b) in enumerate(zip(whole, block, strict=True)) if a != b] if len(whole) == len(block) else []
    if len(diff) != 1 or block[diff[0]] * 2 != whole[diff[0]]:
        raise _Fail(f"{what}: shape {list(block)} in a block, {list(whole)} in the whole: not one axis halved",
                    _FIXES["partition"], prop="partition")
    return diff[0]


def _join(whole: np.ndarray, parts: list) -> np.ndarray | None:
    """The blocks joined as the whole holds them (each block whole when it is the whole's shape)."""
    parts = [np.asarray(p) for p in parts]
    dim = None if parts[0].shape == whole.shape else _half_axis(whole.shape, parts[0].shape, "a value")
    if dim is None:
        return parts[0] if all(_equal(p, parts[0]) for p in parts) else None
    return np.concatenate(parts, axis=dim)


def _to_numpy(out: Mapping) -> dict[str, np.ndarray]:
    return {k: np.asarray(v) for k, v in out.items()}


def _what(x: Any) -> str:
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return f"{list(x.shape)} {np.dtype(x.dtype)}"
    return type(x).__name__


def _equal(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind == "V" or b.dtype.kind == "V":  # PRNG key data
        return a.tobytes() == b.tobytes()
    return a.shape == b.shape and a.dtype == b.dtype and bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))


def _json_values(p: Any) -> dict:
    """Params as JSON values (tuples become lists), as a .spark file holds them."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in _params.to_dict(p).items()}


@lru_cache(maxsize=1)
def _catalogue_schema() -> dict:
    text = resources.files("spark").joinpath("schemas", "component-list.schema.json").read_text(encoding="utf-8")
    return json.loads(text)

