"""Component base classes: one per kind. Components are Flax NNX modules.

A component declares, at class level, its registered ``name``, its ``kind``, its ``Params`` class and its
``inputs`` / ``outputs`` ports. An instance is built from a shape, params and an RNG only, and advances one
time step of ``dt`` ms per ``__call__``, returning its outputs as a dict of arrays.
"""

from __future__ import annotations

import inspect
import math
from typing import Any, ClassVar

import jax
from flax import nnx

from . import limits
from . import memory as _memory
from . import parameters as _params
from .errors import ParamError
from .ports import Port

Shape = tuple[int, ...]


def normalize_shape(shape: Any, *, per_axis: bool = False) -> Shape:
    """``800`` -> ``(800,)``; lists -> tuples. Raises ValueError for non-positive or non-integer sizes, and for more
    than ``2**31 - 1`` elements (``per_axis``: more than that along one axis, for shapes whose axes are populations,
    such as a projection's ``(n_pre, n_post)``: each side's neurons are indexed with int32, the pairs never are)."""
    if isinstance(shape, int) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        shape = tuple(shape)
    except TypeError:
        raise ValueError(f"shape {shape!r} is not a size or a list of sizes; give e.g. 100 or [28, 28]") from None
    if not shape or any(isinstance(s, bool) or not isinstance(s, int) or s <= 0 for s in shape):
        raise ValueError(f"shape {list(shape)!r} must be a non-empty list of positive integers, e.g. [100]")
    if per_axis and max(shape) > limits.INT32_MAX:
        raise ValueError(f"shape [{', '.join(limits._short(s) for s in shape)}] has an axis of more than "
                         f"{limits.INT32_MAX:,} neurons (neurons are indexed with int32); give a smaller shape")
    if not per_axis and math.prod(shape) > limits.INT32_MAX:  # neurons are indexed with int32
        raise ValueError(f"shape [{', '.join(limits._short(s) for s in shape)}] has {limits._short(math.prod(shape))} "
                         f"elements, more than {limits.INT32_MAX:,} (neurons are indexed with int32); give a "
                         "smaller shape")
    return shape


def size(shape: Shape) -> int:
    return math.prod(shape)


class Component(nnx.Module):
    """Base of every component.

    Class attributes a concrete component sets:
        name: registered short name, lower case (``"lif"``); the canonical id is ``<distribution>:<name>``.
        kind: ``"soma"``, ``"synapse"``, ``"learning_rule"``, ``"encoder"``, ``"decoder"`` or a pack's own.
        Params: a class decorated with :func:`spark.params`.
        inputs / outputs: port name -> :class:`spark.Port`.
        stochastic: when True, ``__call__`` receives a fresh PRNG ``key`` every step.
        partitionable: when True, a neuron mesh may split the node by neuron across devices (docs/scaling.md): its
            step treats neurons (a synapse's or rule's postsynaptic neurons) independently.

    Args:
        shape: the neuron shape of the node (a synapse's is ``(n_pre, n_post)``).
        params: a ``Params`` instance; or give the values as keywords.
        rngs: randomness for initial state (weights, connectivity).
        dt: the time step (ms) the component will be stepped with, for components whose state depends on it
            (e.g. delay buffers sized in steps); the Brain always passes it. ``None`` when unknown.
    """

    name: ClassVar[str] = ""
    kind: ClassVar[str] = ""
    Params: ClassVar[type]
    inputs: ClassVar[dict[str, Port]] = {}
    outputs: ClassVar[dict[str, Port]] = {}
    stochastic: ClassVar[bool] = False
    #: each axis of the shape is a population of its own (a projection's ``(n_pre, n_post)``), so the int32 limit
    #: applies per axis (:func:`normalize_shape`), not to the number of elements
    shape_per_axis: ClassVar[bool] = False
    #: whether a node may be split by neuron across devices (docs/scaling.md, "One network across devices"): its
    #: step treats neurons independently (a synapse or rule: postsynaptic neurons, i.e. weight columns), so a block
    #: of them, built at the block's shape, steps as that block of the whole. See :meth:`partition_problem`.
    partitionable: ClassVar[bool] = False

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        p = cls.__dict__.get("Params")
        if p is not None and "__spark_owner__" not in p.__dict__:
            p.__spark_owner__ = cls.name or cls.__name__

    def __init__(self, shape: Any, *, params: Any = None, rngs: nnx.Rngs | None = None, dt: float | None = None,
                 **values: Any):
        if params is None:
            params = _params.from_dict(self.Params, values)
        elif values:
            raise ParamError(f"{self.name}: give params either as a Params object or as keywords, not both")
        elif not isinstance(params, self.Params):
            raise ParamError(f"{self.name}: params must be a {self.Params.__name__}, got {type(params).__name__}")
        self.shape = normalize_shape(shape, per_axis=self.shape_per_axis)
        problem = self.check_shape(params, self.shape)
        if problem:
            raise ValueError(f"{self.name}: {problem}")
        self.params = params
        self.dt = None if dt is None else float(dt)
        durations = [] if dt is None else _params.duration_problems(params, self.dt)
        if durations:  # a Brain's plan reports these with their paths; this catches direct construction
            raise ParamError("; ".join(problem for _, problem in durations))

    def __repr__(self) -> str:
        """``LIF([80], tau_m=10 ms)``: the class, the shape and the parameters that differ from their defaults."""
        from .summary import component_repr

        return component_repr(self)

    __str__ = __repr__

    def require_dt(self, dt: float | None = None) -> float:
        """The construction ``dt`` (ms); with ``dt`` given, also check that a step uses the same one."""
        if self.dt is None:
            raise ValueError(f"{self.name}: build it with dt=... (ms); its state depends on the time step")
        if dt is not None and abs(dt - self.dt) > 1e-9 * self.dt:
            raise ValueError(f"{self.name} was built for dt = {self.dt} ms but is stepped with dt = {dt} ms; "
                             "rebuild it with the step you run")
        return self.dt

    def partition_problem(self) -> str | None:
        """Why this node cannot be split by neuron across devices, or ``None`` when it can (a neuron mesh,
        docs/scaling.md). The default follows :attr:`partitionable`; a component whose answer depends on how it was
        built (e.g. its storage) overrides this and says what to change."""
        if type(self).partitionable:
            return None
        return (f"component {self.name or type(self).__name__} does not declare that it can be split by neuron "
                "(its class sets partitionable = True when its step treats neurons, or postsynaptic neurons, "
                "independently)")

    def partition_relayout(self, devices: int) -> Any:
        """How this node's state is rearranged for a neuron mesh of ``devices`` devices when cutting one axis of each
        array cannot give every device its block (e.g. sparse storage: rows of postsynaptic indices, in which one
        device's synapses are scattered): a :class:`spark.partition.Relayout`, or ``None`` (the default: every state
        variable is cut along the axis that shrinks, or held whole). A node that returns one must make its block
        (:meth:`split_from`) hold the shapes of the rearranged arrays' blocks."""
        return None

    def split_from(self, whole: Component) -> None:
        """Called on a node built at its block's shape (a neuron mesh splits it; docs/scaling.md) with the whole
        node: take over what the block's own construction cannot know, i.e. any plain (non-state) attribute that
        depends on the whole's random draws. Its state variables need nothing: they are cut from the whole's. The
        default does nothing."""

    # ----- shapes -------------------------------------------------------------------------------------------------

    @classmethod
    def check_shape(cls, params: Any, shape: Shape) -> str | None:
        """Return a problem with ``shape`` for this component, or None."""
        return None

    @classmethod
    def port_shapes(cls, params: Any, shape: Shape) -> dict[str, Shape]:
        """Shape of every port for a node of ``shape``. By default each port has the node's shape."""
        return {name: shape for name in (*cls.inputs, *cls.outputs)}

    @classmethod
    def infer_shape(cls, params: Any, connected: dict[str, Shape]) -> Shape | None:
        """The node shape implied by the shapes of the ports it is connected to (port name -> shape), or None."""
        for shape in connected.values():
            return shape
        return None

    # ----- memory -------------------------------------------------------------------------------------------------

    @classmethod
    def memory_estimate(cls, params: Any, shape: Shape, *, dt: float | None = None,
                        synapses: int | None = None) -> _memory.Footprint:
        """What a node of ``shape`` will hold, worked out without allocating it (``Brain.build`` checks the sum
        against the memory available before it builds anything; docs/brain.md).

        The default builds the component abstractly (``nnx.eval_shape``) at the shapes whose entries are 1 or 2 and
        extrapolates (exact for state such as ``a + b n`` per entry); when it cannot be built so small it assumes
        eight float32 values per element. Override it when the state depends on params in other ways (a buffer
        sized by a delay), is made outside ``__init__`` (a rule's per-synapse state made in ``bind``: ``synapses``
        is then the number of stored weights of the rule's synapse) or when building needs large host arrays.
        """
        probes = _memory.probe_state(cls, params, len(shape), dt)
        if probes is None:
            return _memory.Footprint(state=size(shape) * 8 * _memory.F32)
        return _memory.Footprint(state=_memory.multilinear(probes, shape))

    # ----- one step -----------------------------------------------------------------------------------------------

    def __call__(self, *, dt: float, **inputs: jax.Array) -> dict[str, jax.Array]:
        """Advance one step of ``dt`` ms. ``inputs`` has every input port; returns every output port."""
        raise NotImplementedError

    @classmethod
    def describe(cls) -> dict:
        """The catalogue entry of this component (without registry information)."""
        return {
            "name": cls.name,
            "kind": cls.kind,
            "class": f"{cls.__module__}.{cls.__qualname__}",
            "doc": inspect.cleandoc(cls.__doc__ or ""),
            "params_schema": _params.params_schema(cls.Params),
            "inputs": [p.to_json(n, "in") for n, p in cls.inputs.items()],
            "outputs": [p.to_json(n, "out") for n, p in cls.outputs.items()],
            "stochastic": cls.stochastic,
        }


class Soma(Component):
    """A population of neuron somas (or compartments). Shape: the neuron shape, e.g. ``(800,)``."""

    kind: ClassVar[str] = "soma"


class _Projection(Component):
    """Shared shape rules of components that sit between a pre- and a post-synaptic population.

    The node shape is ``(n_pre, n_post)``. Ports named in ``pre_ports`` have shape ``(n_pre,)``, ports in
    ``scalar_ports`` shape ``(1,)``, every other port ``(n_post,)``.
    """

    shape_per_axis: ClassVar[bool] = True
    pre_ports: ClassVar[tuple[str, ...]] = ("pre",)
    scalar_ports: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def check_shape(cls, params, shape):
        if len(shape) != 2:
            return f"shape {list(shape)} must be [n_pre, n_post]"
        return None

    @classmethod
    def port_shapes(cls, params, shape):
        n_pre, n_post = shape
        out = {}
        for name in (*cls.inputs, *cls.outputs):
            out[name] = (n_pre,) if name in cls.pre_ports else (1,) if name in cls.scalar_ports else (n_post,)
        return out

    @classmethod
    def infer_shape(cls, params, connected):
        n_pre = n_post = None
        for name, shape in connected.items():
            if name in cls.pre_ports:
                n_pre = size(shape)
            elif name not in cls.scalar_ports:
                n_post = size(shape)
        return (n_pre, n_post) if n_pre and n_post else None


class Synapse(_Projection):
    """A projection from ``n_pre`` to ``n_post`` neurons that owns its weights (``self.weight``, a Weight).

    Dense storage holds ``weight`` as ``(n_pre, n_post)``; other storage overrides :meth:`outer`.

    ``same_population``: whether the presynaptic and postsynaptic neurons are one population, i.e. the node that
    feeds the synapse's presynaptic port also receives its output (a recurrent edge from a node to itself), so that
    ``i -> i`` is an autapse. A :class:`spark.Brain` tells every synapse when it builds it; ``None`` when the synapse
    is built on its own. Kept as ``self.same_population``.
    """

    kind: ClassVar[str] = "synapse"

    def __init__(self, shape: Any, *, params: Any = None, rngs: nnx.Rngs | None = None, dt: float | None = None,
                 same_population: bool | None = None, **values: Any):
        super().__init__(shape, params=params, rngs=rngs, dt=dt, **values)
        self.same_population = same_population

    @classmethod
    def memory_estimate(cls, params, shape, *, dt=None, synapses=None):
        """As :meth:`Component.memory_estimate`; ``synapses`` of the result is ``n_pre * n_post`` (dense weights)
        and, when the component cannot be built abstractly, its state is taken as dense float32 weights and a bool
        mask plus four float32 values per pre and post neuron."""
        n_pre, n_post = shape
        probes = _memory.probe_state(cls, params, 2, dt)
        state = (_memory.multilinear(probes, shape) if probes is not None
                 else n_pre * n_post * (_memory.F32 + 1) + (n_pre + n_post) * 4 * _memory.F32)
        return _memory.Footprint(state=state, synapses=n_pre * n_post)

    def outer(self, a_pre: jax.Array, b_post: jax.Array) -> jax.Array:
        """``a_pre[i] * b_post[j]`` for every synapse (i, j), shaped like ``self.weight``."""
        return a_pre[:, None] * b_post[None, :]

    def sum_incoming(self, w: jax.Array) -> jax.Array:
        """Per postsynaptic neuron, the sum of ``w`` over its existing synapses: shape ``(n_post,)`` (in an order that
        does not depend on ``n_post``: a block of columns sums as on the whole; :func:`spark.partition.column_sum`)."""
        from .partition import column_sum

        return column_sum(w)

    def clip(self, w: jax.Array, lo: float, hi: float) -> jax.Array:
        """``w`` clipped to ``[lo, hi]`` where synapses exist (absent synapses stay absent)."""
        return jax.numpy.clip(w, lo, hi)

    def prepare_spike_update(self) -> None:
        """Called from a rule's ``bind`` when the rule will use :meth:`spike_update`; storage that can do the update
        event-driven builds what it needs here (e.g. a column index). The default does nothing."""

    def spike_update(self, pre: jax.Array, post: jax.Array, on_pre: jax.Array, on_post: jax.Array,
                     w_min: float = -math.inf, w_max: float = math.inf, *, pre_gain: jax.Array | None = None,
                     post_gain: jax.Array | None = None) -> jax.Array:
        """The weights after one step of a spike-triggered rule (pair STDP and its relatives); not written back.

        When presynaptic neuron ``i`` spikes, each of its synapses ``(i, j)`` changes by ``on_pre[j]``; when
        postsynaptic neuron ``j`` spikes, each synapse ``(i, j)`` onto it changes by ``on_post[i]`` (both, if both
        spike). The synapses so touched are then clipped to ``[w_min, w_max]``; the others are left as they are.

        Args:
            pre: presynaptic spikes, shape ``(n_pre,)``.
            post: postsynaptic spikes, shape ``(n_post,)``.
            on_pre: change per presynaptic spike, by postsynaptic neuron, shape ``(n_post,)``.
            on_post: change per postsynaptic spike, by presynaptic neuron, shape ``(n_pre,)``.
            w_min, w_max: bounds applied to the touched synapses.
            pre_gain: optional ``(n_pre,)``: a presynaptic spike of ``i`` changes ``(i, j)`` by
                ``pre_gain[i] on_pre[j]`` (for rules whose change is a product of a pre and a post factor, such as
                triplet STDP).
            post_gain: optional ``(n_post,)``: a postsynaptic spike of ``j`` changes ``(i, j)`` by
                ``on_post[i] post_gain[j]``.

        The default works on any storage through :meth:`outer` and :meth:`clip` (work ~ synapses per step);
        storage can override it to work ~ spikes x fan-out.
        """
        jnp, f32 = jax.numpy, jax.numpy.float32
        pre, post = pre.astype(f32), post.astype(f32)
        a = pre if pre_gain is None else pre * pre_gain.astype(f32)
        b = post if post_gain is None else post * post_gain.astype(f32)
        w = self.weight[...]
        dw = self.outer(a, on_pre.astype(f32)) + self.outer(on_post.astype(f32), b)
        touched = self.outer(pre, jnp.ones_like(post)) + self.outer(jnp.ones_like(pre), post) > 0
        return jnp.where(touched, self.clip(w + dw, w_min, w_max), w)


class LearningRule(_Projection):
    """A plasticity rule attached to a synapse. It never owns the weights: it returns the synapse's new ones.

    The node shape is the synapse's ``(n_pre, n_post)``. ``__call__(synapse, *, dt, **inputs)`` returns
    the new weight array; several rules on one synapse apply in the order they were attached.
    """

    kind: ClassVar[str] = "learning_rule"

    def bind(self, synapse: Synapse) -> None:
        """Called once the rule and its synapse are both built, before any step (``Brain.build`` does it).

        A rule with per-synapse state (e.g. an eligibility trace) allocates it here, shaped like
        ``synapse.weight``, so the state follows the synapse's storage (dense or sparse) without the rule
        knowing which. The default does nothing; outside a Brain, call it yourself.
        """

    def __call__(self, synapse: Synapse, *, dt: float, **inputs: jax.Array) -> jax.Array:  # type: ignore[override]
        raise NotImplementedError


class Encoder(Component):
    """Turns data (a ``Signal`` input) into spikes. Shape: the data's shape, which is also the spikes' shape."""

    kind: ClassVar[str] = "encoder"


class Decoder(Component):
    """Turns spikes into numbers. Shape: the shape of the spiking population read."""

    kind: ClassVar[str] = "decoder"


KIND_BASES: dict[str, type[Component]] = {
    "soma": Soma, "synapse": Synapse, "learning_rule": LearningRule, "encoder": Encoder, "decoder": Decoder,
}
