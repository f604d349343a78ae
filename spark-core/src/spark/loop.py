"""Closed loops: a Brain acting in an environment, observation in, action out, reward to a neuromodulator.

A :class:`Loop` names the brain's observation input, its action output and (optionally) the input that takes the
reward (wired to a learning rule's ``modulator`` port), and how many brain steps one environment step lasts
(``every``). :func:`interact` (``brain.interact``) runs whole episodes with plasticity on or off, on one of two
backends, with the same semantics:

- a host environment with the gymnasium API (``reset(seed=) -> (obs, info)``, ``step(action) -> (obs, reward,
  terminated, truncated, info)``): one compiled call of ``every`` brain steps per environment step;
- a :class:`JaxEnvironment` (pure functions of JAX arrays): a whole chunk of episodes, environment included,
  compiles into one program (a ``lax.while_loop`` over environment steps, each a ``lax.scan`` over the window's brain
  steps, that resets the environment and the brain in place when an episode ends), and several agents (brains of one
  model) run side by side on a leading axis (``vmap``), each going on with its next episode as soon as one ends.

Timing (docs/reinforcement.md), in brain steps (spark.timing: step ``s`` ends at ``(s + 1) dt``): environment step
``j`` of an episode occupies the window of brain steps ``j*k ... j*k + k - 1`` (``k = every``, counted from the
episode's start). During that window observation ``o_j`` (``o_0`` from ``reset``) is held on the observation input,
and the modulator input holds ``m_j = reward_fn(r_{j-1}, terminated_{j-1})``, the reward of the previous action
(``m_0 = 0``), in the window's first step (``Loop.pulse``, the default) or in all its steps. The action output is
summed over the window's ``k`` steps and ``a_j = policy(sum)`` is sent to the environment, which answers
``o_{j+1}, r_j``. So ``o_j`` can change ``a_j`` through paths that take fewer than ``k``
steps (a spike edge delays one step), and reaches ``a_{j+1}`` (and later) through the brain's memory; ``r_j``
arrives one window after ``a_j`` was read, as a dopamine pulse after an action, and the eligibility trace of the
rule bridges the gap. After the last environment step (terminated, truncated, or ``Loop.max_steps``) one more window
runs with the final observation and the final reward on the modulator (its action is not sent): an episode of ``T``
environment steps lasts ``(T + 1) k`` brain steps. With ``Loop.reset_brain`` the brain's dynamic state (potentials,
traces, eligibility, spikes in flight; not weights) returns to its value at build at the start of every episode; with
``Loop.reset_window`` the named nodes' dynamic state returns to it at the start of every window.
"""

from __future__ import annotations

import abc
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from . import lanes
from .errors import GraphError
from .fastrng import compile_unrolled


class JaxEnvironment(abc.ABC):
    """An environment written in JAX: pure functions, so a whole episode loop compiles with the brain.

    Subclasses set ``observation_shape`` and implement :meth:`reset` and :meth:`step` with JAX operations only
    (no Python branching on values): they are traced inside ``lax.while_loop`` and ``vmap``.
    """

    #: shape of one observation
    observation_shape: tuple[int, ...] = ()

    @abc.abstractmethod
    def reset(self, key: jax.Array) -> tuple[jax.Array, Any]:
        """A new episode: ``(observation, env_state)``; ``key`` is a JAX PRNG key of this episode."""

    @abc.abstractmethod
    def step(self, key: jax.Array, state: Any, action: jax.Array) -> tuple[jax.Array, Any, jax.Array, jax.Array,
                                                                             jax.Array]:
        """One step: ``(observation, env_state, reward, terminated, truncated)`` (reward a float scalar, the flags
        bool scalars)."""


def argmax(total: jax.Array) -> jax.Array:
    """The default policy: the index of the largest entry of the summed action output (ties: the first)."""
    return jnp.argmax(jnp.reshape(total, (-1,))).astype(jnp.int32)


def _identity_reward(reward, terminated):
    return reward


def _node_ids(value) -> tuple[str, ...]:
    try:
        names = (value,) if isinstance(value, str) else tuple(value)
    except TypeError:
        names = (value,)
    if any(not isinstance(n, str) or not n for n in names):
        raise GraphError(f"Loop.reset_window = {value!r}: give node ids (strings), e.g. ('act', 'lateral')")
    return names


@attrs.frozen
class Loop:
    """How a Brain and an environment are joined.

    Args:
        observation: the brain input (its name in ``brain.input``) that takes the observation, e.g. feeding a
            ``population`` encoder's ``data``; the observation's size must equal the input's.
        action: the brain output (``brain.output``) whose values, summed over each window of ``every`` steps, the
            ``policy`` turns into the action (e.g. two action populations' spikes).
        reward: the brain input wired to a learning rule's ``modulator`` (``Signal``); ``None``: no reward reaches the
            brain.
        every: brain steps per environment step (``k``).
        policy: JAX function ``summed action output -> action`` (default :func:`argmax`).
        reward_fn: JAX function ``(reward, terminated) -> modulator value`` (default: the reward as it is), e.g. to
            punish failure: ``lambda r, done: jnp.where(done, -1.0, 0.1)``.
        max_steps: end an episode after this many environment steps (as a truncation), whatever the environment
            says; ``None``: only the environment ends episodes.
        reset_brain: return the brain's dynamic state to its value at build at the start of each episode.
        reset_window: node ids whose dynamic state (:class:`spark.State`: potentials, currents, traces; not
            weights, not the random keys) returns to its value at build at the start of every window, before the
            window's first brain step, so that each decision starts afresh from its own observation rather than from
            what the windows before left (e.g. the action populations and the synapses onto them); ``()``: none.
            Spikes they emitted in the window before and still in flight arrive as emitted (to targets and rules).
        pulse: the modulator holds the reward in the first step of the window only (a dopamine pulse, 0 in the
            other ``every - 1`` steps), so it meets the eligibility the previous window left; ``False``: it holds it
            through the whole window.
    """

    observation: str
    action: str
    reward: str | None = None
    every: int = attrs.field(default=10, converter=int)
    policy: Callable = argmax
    reward_fn: Callable = _identity_reward
    max_steps: int | None = None
    reset_brain: bool = True
    pulse: bool = True
    reset_window: tuple[str, ...] = attrs.field(default=(), converter=_node_ids)

    def __attrs_post_init__(self):
        if self.every < 1:
            raise GraphError(f"Loop.every = {self.every} must be >= 1 brain step per environment step")
        if self.max_steps is not None and (isinstance(self.max_steps, bool) or int(self.max_steps) < 1):
            raise GraphError(f"Loop.max_steps = {self.max_steps!r} must be a whole number >= 1 or None")


@attrs.frozen(eq=False)
class Episodes:
    """What :func:`interact` returns for one agent.

    Attributes:
        lengths: ``(episodes,)`` int32, environment steps per episode (CartPole: the score).
        returns: ``(episodes,)`` float32, the sum of the environment's rewards per episode.
        seconds: wall time of the episodes, compilation excluded (s).
        compile_seconds: compilation time (s).
    """

    lengths: np.ndarray
    returns: np.ndarray
    seconds: float
    compile_seconds: float

    def moving_average(self, window: int = 100) -> np.ndarray:
        """The mean length of the last ``window`` episodes (fewer at the start), after each episode."""
        c = np.cumsum(np.asarray(self.lengths, np.float64))
        n = np.arange(1, len(c) + 1)
        lo = np.maximum(n - window, 0)
        return (c - np.where(lo > 0, c[lo - 1], 0.0)) / (n - lo)


# ----- checks ----------------------------------------------------------------------------------------------------


def _spec(brain, loop: Loop, obs_shape) -> tuple:
    """``(obs (name, shape, dtype), action ref, reward (name, shape, dtype) | None)``; every problem of the joint
    before anything is compiled."""
    from .payloads import Signal

    sched = brain._built()
    ins = {name: (ref, tuple(shape), dtype) for name, ref, shape, dtype, _ in sched.inputs}
    outs = dict(sched.outputs)
    if loop.observation not in ins:
        raise GraphError(f"Loop.observation = {loop.observation!r} is not an input of this brain; its inputs are: "
                         f"{sorted(ins) or 'none'} (add one with brain.input(name, to='encoder.data'))")
    if loop.action not in outs:
        raise GraphError(f"Loop.action = {loop.action!r} is not an output of this brain; its outputs are: "
                         f"{sorted(outs) or 'none'} (add one with brain.output(name, 'node.port'))")
    ref, shape, dtype = ins[loop.observation]
    if obs_shape is not None and math.prod(obs_shape) != math.prod(shape):
        raise GraphError(f"the environment's observations have shape {list(obs_shape)} but the input "
                         f"{loop.observation!r} ({ref}) takes {list(shape)}: give the input a shape of "
                         f"{math.prod(obs_shape)} values (e.g. the encoder's shape)")
    reward = None
    if loop.reward is not None:
        if loop.reward not in ins:
            raise GraphError(f"Loop.reward = {loop.reward!r} is not an input of this brain; its inputs are: "
                             f"{sorted(ins) or 'none'}; wire one to a learning rule's modulator "
                             "(brain.input('reward', to='rule.modulator')) or give reward=None")
        rref, rshape, rdtype = ins[loop.reward]
        node, port = rref.rsplit(".", 1)
        p = type(brain.nodes[node]).inputs.get(port)
        if p is None or p.payload is not Signal:
            raise GraphError(f"Loop.reward = {loop.reward!r} goes to {rref}, which is not a Signal port; the reward "
                             "must reach a learning rule's modulator (a Signal input)")
        reward = (loop.reward, rshape, rdtype)
    _check_reset_window(brain, loop)
    return (loop.observation, shape, dtype), ref, outs[loop.action], reward


def _check_reset_window(brain, loop: Loop) -> None:
    missing = [n for n in loop.reset_window if n not in brain.nodes]
    if missing:
        raise GraphError(f"Loop.reset_window names {missing}, which are not nodes of this brain; its nodes are: "
                         f"{sorted(brain.nodes)}")
    init = brain.initial_dynamic_state()["nodes"]
    stateless = [n for n in loop.reset_window if n not in init or not jax.tree.leaves(init[n])]
    if stateless:
        raise GraphError(f"Loop.reset_window names {stateless}, which have no dynamic state (spark.State) to reset; "
                         "name the neurons and synapses whose potentials and currents should start each window "
                         "afresh")


def _obs_shape(env) -> tuple | None:
    if isinstance(env, JaxEnvironment):
        return tuple(env.observation_shape)
    space = getattr(env, "observation_space", None)
    return tuple(space.shape) if getattr(space, "shape", None) is not None else None


# ----- one window of k brain steps -------------------------------------------------------------------------------


#: brain steps of a window written out one after another in the compiled program (longer windows: a loop of such
#: blocks). XLA:CPU runs each ``while`` iteration with copies of the loop state and dispatches of its own, a cost of
#: the size of a small network's step. Measured (2026-11-30, the CartPole agent, 64 side by side on the JAX CartPole,
#: 10-step windows, the programs in one process): 9.3 us per agent and window rolled, 7.8 with blocks of 5, 8.0 with
#: 10; compilation 2 -> 4 s. Blocks of 10 made XLA's compilation of the rules' pure-JAX path (``lax.cond`` in every
#: step) take minutes. The numbers are the same bit for bit (tests/test_rl_cartpole.py).
_UNROLL = 5


def _window(brain, spec, loop: Loop, frozen: frozenset, consts: dict, init):
    """``run(brain, obs, mod) -> (brain, action)``: ``loop.every`` steps with ``obs`` and ``mod`` held, then the
    policy of the summed action output; first the nodes of ``loop.reset_window`` take their state in ``init`` (the
    brain's initial dynamic state)."""
    (oname, oshape, odtype), _, aref, reward = spec

    def run(br, obs, mod):
        for n in loop.reset_window:
            nnx.update(br.nodes[n], init["nodes"][n])
        ext = {**consts, oname: jnp.reshape(obs, oshape).astype(odtype)}
        if reward is not None:
            ext[reward[0]] = jnp.broadcast_to(jnp.asarray(mod, reward[2]), reward[1])
        gd, st = nnx.split(br)

        def step(carry, i):
            st, total = carry
            b = nnx.merge(gd, st)
            now_ext = ext
            if reward is not None and loop.pulse:  # the modulator holds m in the window's first step only
                now_ext = {**ext, reward[0]: jnp.where(i == 0, ext[reward[0]], jnp.zeros_like(ext[reward[0]]))}
            now = b._step(now_ext, frozen)
            return (nnx.split(b)[1], total + now[aref].astype(jnp.float32)), None

        zero = jnp.zeros(_out_shape(br, aref), jnp.float32)
        (st, total), _ = jax.lax.scan(step, (st, zero), jnp.arange(loop.every), unroll=min(loop.every, _UNROLL))
        return nnx.merge(gd, st), loop.policy(total)

    return run


def _out_shape(brain, ref: str) -> tuple:
    node, port = ref.rsplit(".", 1)
    module = brain.nodes[node]
    return tuple(type(module).port_shapes(module.params, module.shape)[port])


def _reset_brain(br, init):
    br.reset_dynamic(init)
    return br


# ----- host backend ----------------------------------------------------------------------------------------------


class _Packed:
    """A list of arrays as one flat buffer per dtype, and back: the host loop's state crosses each call as a few
    buffers instead of one per array (a compiled call costs a few microseconds per argument and result buffer)."""

    def __init__(self, leaves):
        self.shapes = [tuple(a.shape) for a in leaves]
        self.dtypes = [a.dtype for a in leaves]
        self.kinds = list(dict.fromkeys(self.dtypes))  # one buffer per dtype, in order of first appearance
        self.sizes = [math.prod(sh) for sh in self.shapes]

    def pack(self, leaves):
        return tuple(jnp.concatenate([jnp.ravel(a) for a, d in zip(leaves, self.dtypes, strict=True) if d == kind])
                     for kind in self.kinds)

    def unpack(self, buffers):
        offsets = dict.fromkeys(self.kinds, 0)
        leaves = []
        for shape, dtype, size in zip(self.shapes, self.dtypes, self.sizes, strict=True):
            buf, at = buffers[self.kinds.index(dtype)], offsets[dtype]
            leaves.append(jnp.reshape(buf[at:at + size], shape))
            offsets[dtype] = at + size
        return leaves


def _host_programs(brain, loop: Loop, spec, frozen, consts):
    """``(window, reset, packed, unpack)``: the host loop's two compiled programs, ``window(packed, obs, mod) ->
    (packed, action)`` (one window) and ``reset(packed) -> packed`` (the brain's dynamic state reset), with the
    brain's state packed into one flat buffer per dtype (``packed``; ``unpack(packed)`` is the nnx.State).

    The state crosses each call as those few buffers: each argument and result buffer of a compiled call costs a few
    microseconds of the host's time, and the nnx.State pytree itself cost more in Python (flattened and rebuilt both
    ways) than the window's 10 brain steps (measured: docs/reinforcement.md, Speed)."""
    init = brain.initial_dynamic_state()
    window = _window(brain, spec, loop, frozen, consts, init)
    gd, state = nnx.split(brain)
    leaves, treedef = jax.tree.flatten(state)
    packer = _Packed(leaves)

    def merged(buffers):
        return nnx.merge(gd, jax.tree.unflatten(treedef, packer.unpack(buffers)))

    def call(buffers, obs, mod):
        br, action = window(merged(buffers), obs, mod)
        return packer.pack(jax.tree.leaves(nnx.split(br)[1])), action

    def reset(buffers):
        return packer.pack(jax.tree.leaves(nnx.split(_reset_brain(merged(buffers), init))[1]))

    def unpack(buffers):
        return jax.tree.unflatten(treedef, packer.unpack(buffers))

    obs0 = np.zeros(spec[0][1], np.float32)
    packed = packer.pack(leaves)
    return (compile_unrolled(jax.jit(call), packed, obs0, np.float32(0)), compile_unrolled(jax.jit(reset), packed),
            packed, unpack)


def _host(brain, env, loop: Loop, spec, episodes: int, frozen, consts, seed: int, on_episode) -> Episodes:
    oshape = spec[0][1]
    t0 = time.perf_counter()
    fn, rfn, state, unpack = _host_programs(brain, loop, spec, frozen, consts)
    compile_s = time.perf_counter() - t0
    lengths, returns = np.zeros(episodes, np.int32), np.zeros(episodes, np.float32)
    t0 = time.perf_counter()
    try:
        for e in range(episodes):
            obs, _ = env.reset(seed=seed) if e == 0 else env.reset()
            if loop.reset_brain:
                state = rfn(state)
            mod, n, total, done = np.float32(0.0), 0, 0.0, False
            while True:
                state, action = fn(state, np.asarray(obs, np.float32).reshape(oshape), mod)
                if done:
                    break
                a = np.asarray(action)
                obs, r, term, trunc, _ = env.step(a.item() if a.ndim == 0 else a)
                n += 1
                total += float(r)
                trunc = bool(trunc) or (loop.max_steps is not None and n >= loop.max_steps)
                mod = np.float32(loop.reward_fn(np.float32(r), np.bool_(term)))
                done = bool(term) or trunc
            lengths[e], returns[e] = n, total
            if on_episode is not None:
                on_episode(e + 1, lengths[:e + 1])
    finally:
        nnx.update(brain, unpack(state))
    return Episodes(lengths, returns, time.perf_counter() - t0, compile_s)


# ----- JAX backend -----------------------------------------------------------------------------------------------


def _compile_jax(gd, env: JaxEnvironment, loop: Loop, spec, frozen, consts_keys, n_agents: int):
    """``(state, init, keys, episode_ids, consts) -> (state, lengths, returns)``: a chunk of episodes, vmapped over
    ``n_agents`` stacked states when ``n_agents`` > 0.

    One ``lax.while_loop`` over windows (not a loop per episode): an agent whose episode ends resets its environment
    and its brain's dynamic state inside the same loop and goes on with its next episode, so agents side by side
    (whose loop runs until the last one is done) never wait for each other's episodes to end, only, at the end of the
    chunk, for the agent with the most steps left. Side by side, an agent's reset and the state it returns (saved
    after its last episode) are written into its own rows only (``lanes.select``)."""

    def agent(state, init, key, ids, consts):
        window = _window(nnx.merge(gd, state), spec, loop, frozen, consts, init)
        count = ids.shape[0]

        # episode ids[e]: (the key of its reset, the root of its steps' keys), drawn once for the chunk
        episode_keys = jax.vmap(lambda i: jax.random.split(jax.random.fold_in(key, i)))(ids)

        def keys_of(e):
            return episode_keys[jnp.minimum(e, count - 1)]

        def start(st, e):  # the first observation and environment state of episode e, the brain reset if asked
            obs, es = env.reset(keys_of(e)[0])
            if loop.reset_brain:  # on a copy: merge shares the variables of st, which the caller still needs
                st = nnx.split(_reset_brain(nnx.merge(gd, jax.tree.map(lambda x: x, st)), init))[1]
            return st, es, jnp.asarray(obs, jnp.float32)

        side = bool(lanes.active())  # agents side by side (Spark's vmap), or one agent

        def cond(c):
            going = c[5] < count
            if not side:
                return going
            # one value for every agent: the loop runs while any agent has episodes left. (With a per-agent
            # condition, vmap's rule for while_loop would select between the old and the new value of every carried
            # array, weights and eligibility included, in every environment step, and XLA would copy them to keep
            # the old ones.) An agent whose episodes are over goes on with windows on its last observation whose
            # results are not kept: its state was saved (``final``) after its last episode's terminal window.
            return jax.lax.psum(going.astype(jnp.int32), lanes.active()) > 0

        def body(c):
            st, es, obs, mod, n, e, total, done, lengths, returns, *final = c
            br, action = window(nnx.merge(gd, st), obs, mod)
            st = nnx.split(br)[1]
            ek = keys_of(e)[1]
            obs2, es2, r, term, trunc = env.step(jax.random.fold_in(ek, n), es, action)
            n2 = n + 1
            trunc = trunc | (n2 >= loop.max_steps) if loop.max_steps is not None else trunc
            m2 = jnp.asarray(loop.reward_fn(jnp.asarray(r, jnp.float32), jnp.asarray(term)), jnp.float32)
            # a running episode takes the environment's step; after its terminal window (done) the episode is
            # recorded and, unless it was the chunk's last, the next one starts: environment and brain reset
            lengths = jnp.where(done, lengths.at[e].set(n, mode="drop"), lengths)
            returns = jnp.where(done, returns.at[e].set(total, mode="drop"), returns)
            e2 = jnp.where(done, e + 1, e)
            fresh = done & (e2 < count)
            over = e2 >= count  # the chunk's episodes are over: the environment stays where it is
            st_new, es_new, obs_new = start(st, e2)

            def pick(a, b, c_):  # a: running, b: next episode started, c_: chunk over (keep)
                return jax.tree.map(lambda x, y, z: jnp.where(fresh, y, jnp.where(done | over, z, x)).astype(z.dtype),
                                    a, b, c_)

            es_out = pick(es2, es_new, es)
            obs_out = pick(jnp.asarray(obs2, jnp.float32), obs_new, obs)
            if not side:
                st_out = jax.tree.map(lambda x, y: jnp.where(fresh, y, x).astype(x.dtype), st, st_new) \
                    if loop.reset_brain else st
            elif loop.reset_brain:  # rows of the agents concerned only, in place (lanes.select); the save comes
                # after the resets and reads a state they left alone: an agent whose episodes are over starts none
                st_out, final = lanes.select((fresh, done & (e2 == count)), (st_new, st), (st, final[0]))
                final = [final]
            else:
                final, st_out = [lanes.select(done & (e2 == count), st, final[0])], st
            return (st_out, es_out, obs_out, jnp.where(done, 0.0, m2), jnp.where(done, 0, n2), e2,
                    jnp.where(done, 0.0, total + jnp.asarray(r, jnp.float32)), ~done & jnp.asarray(term | trunc),
                    lengths, returns, *final)

        st, es, obs = start(state, jnp.int32(0))
        c = (st, es, obs, jnp.float32(0.0), jnp.int32(0), jnp.int32(0), jnp.float32(0.0), jnp.bool_(False),
             jnp.zeros(count, jnp.int32), jnp.zeros(count, jnp.float32), *([st] if side else []))
        c = jax.lax.while_loop(cond, body, c)
        return (c[10] if side else c[0]), c[8], c[9]

    if n_agents:
        init_axes = 0

        def fn(state, init, keys, ids, consts):
            return lanes.vmap(agent, in_axes=(0, init_axes, 0, None, None))(state, init, keys, ids, consts)
    else:
        def fn(state, init, keys, ids, consts):
            return agent(state, init, keys, ids, consts)
    return jax.jit(fn)


def _jax(brains, env, loop, spec, episodes, frozen, consts, seed, chunk, on_episode, together) -> list:
    brain = brains[0]
    gd = nnx.split(brain)[0]
    base = jax.random.PRNGKey(seed)
    if together:
        state = jax.tree.map(lambda *v: jnp.stack(v), *(nnx.split(b)[1] for b in brains))
        init = jax.tree.map(lambda *v: jnp.stack(v), *(b.initial_dynamic_state() for b in brains))
        keys = jnp.stack([jax.random.fold_in(base, i) for i in range(len(brains))])
    else:
        state, init, keys = nnx.split(brain)[1], brain.initial_dynamic_state(), jax.random.fold_in(base, 0)
    size = int(min(chunk or episodes, episodes))
    cache: dict = {}
    lengths = np.zeros((len(brains), episodes), np.int32)
    returns = np.zeros((len(brains), episodes), np.float32)
    compile_s = run_s = 0.0
    try:
        for start in range(0, episodes, size):
            ids = jnp.arange(start, min(start + size, episodes), dtype=jnp.int32)
            fn = cache.get(len(ids))
            if fn is None:
                t0 = time.perf_counter()
                fn = cache[len(ids)] = compile_unrolled(
                    _compile_jax(gd, env, loop, spec, frozen, tuple(consts), len(brains) if together else 0),
                    state, init, keys, ids, consts)
                compile_s += time.perf_counter() - t0
            t0 = time.perf_counter()
            state, ln, rt = fn(state, init, keys, ids, consts)
            ln, rt = jax.device_get((ln, rt))
            run_s += time.perf_counter() - t0
            stop = start + len(ids)
            lengths[:, start:stop] = np.reshape(ln, (len(brains), -1))
            returns[:, start:stop] = np.reshape(rt, (len(brains), -1))
            if on_episode is not None:
                on_episode(stop, lengths[:, :stop] if together else lengths[0, :stop])
    finally:
        for i, b in enumerate(brains):
            nnx.update(b, jax.tree.map(lambda v, i=i: v[i], state) if together else state)
    return [Episodes(lengths[i], returns[i], run_s, compile_s) for i in range(len(brains))]


# ----- entry points ----------------------------------------------------------------------------------------------


def interact(brain, env, loop: Loop, episodes: int, *, learn: bool | Mapping[str, bool] = True,
             inputs: Mapping[str, Any] | None = None, seed: int = 0, chunk: int | None = None,
             on_episode: Callable[[int, np.ndarray], Any] | None = None) -> Episodes | list[Episodes]:
    """Run ``episodes`` episodes of ``brain`` (or of several brains of one model, side by side) in ``env``.

    Args:
        brain: a :class:`spark.Brain`, or a list of brains of one model (agents; differing only in their state, e.g.
            the seed) to run side by side on a leading axis (a :class:`JaxEnvironment` only; each agent gets its
            own episodes of the environment).
        env: a :class:`JaxEnvironment` (compiled with the brain) or a host environment with gymnasium's API.
        loop: the joint: which input, output and modulator, and ``every`` (see :class:`Loop`).
        episodes: how many episodes (each from ``reset``).
        learn: plasticity on, off, or per part (:meth:`spark.Brain.frozen`).
        inputs: constant values of the brain's other inputs (name -> value).
        seed: the environment's seed (host: ``env.reset(seed=seed)`` before the first episode; JAX: the root of
            every episode's key, agent ``i`` folding in ``i``).
        chunk: JAX backend: episodes per compiled call (default: all); ``on_episode`` is called after each chunk.
        on_episode: ``on_episode(done, lengths so far)`` after each episode (host) or chunk (JAX).

    Returns:
        :class:`Episodes` (a list of them for a list of brains). The brains are updated in place (weights learned,
        clock advanced).

    Raises:
        GraphError: an input or output the loop names that the brain lacks, a reward input that does not reach a
            Signal (modulator) port, an observation shape that does not fit the input, a list of brains with a host
            environment, bad ``episodes`` / ``chunk``; all before anything is compiled.
    """
    from .brain import Brain
    from .inputs import check_values
    from .stream import _graphdef_as, _model_of

    together = isinstance(brain, Sequence) and not isinstance(brain, Brain)
    brains = list(brain) if together else [brain]
    if not brains or not all(isinstance(b, Brain) for b in brains):
        raise GraphError("interact takes a spark.Brain or a list of them (agents of one model)")
    if not isinstance(loop, Loop):
        raise GraphError(f"loop must be a spark.loop.Loop, not {type(loop).__name__}")
    if isinstance(episodes, bool) or not isinstance(episodes, (int, np.integer)) or episodes < 1:
        raise GraphError(f"episodes={episodes!r} must be a whole number >= 1")
    if chunk is not None and (isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1):
        raise GraphError(f"chunk={chunk!r} must be a whole number of episodes >= 1")
    jax_env = isinstance(env, JaxEnvironment)
    if not jax_env and not (callable(getattr(env, "reset", None)) and callable(getattr(env, "step", None))):
        raise GraphError(f"env {type(env).__name__} is neither a spark.loop.JaxEnvironment nor a host environment "
                         "with gymnasium's reset(seed=) / step(action)")
    if together and not jax_env:
        raise GraphError("several agents side by side need a JaxEnvironment (one compiled program); with a host "
                         "environment, run one brain at a time")
    first = brains[0]
    spec = _spec(first, loop, _obs_shape(env))
    for i, b in enumerate(brains[1:], 1):
        b._built()
        if b is first or _model_of(b) != _model_of(first) or _graphdef_as(b, first) != nnx.split(first)[0]:
            raise GraphError(f"agents[{i}] is not another brain of the same model as agents[0]: agents side by side "
                             "must share nodes, parameters, edges and dt (only the state may differ, e.g. the seed)")
    frozen = first.frozen(learn)
    sched = first._built()
    specs = {name: (tuple(shape), dtype) for name, _, shape, dtype, _ in sched.inputs}
    consts = {}
    for name, value in (inputs or {}).items():
        if name not in specs or name in (loop.observation, loop.reward):
            raise GraphError(f"inputs: {name!r} is not another input of this brain; give constants of "
                             f"{sorted(set(specs) - {loop.observation, loop.reward}) or 'none'}")
        v = check_values(name, value, what="inputs").astype(specs[name][1])
        if v.size not in (1, math.prod(specs[name][0])):
            raise GraphError(f"inputs[{name!r}] must be one value or an array of shape {list(specs[name][0])}")
        consts[name] = jnp.asarray(v.reshape(specs[name][0]) if v.size > 1 else v.reshape(()))
    if jax_env:
        out = _jax(brains, env, loop, spec, int(episodes), frozen, consts, int(seed), chunk, on_episode, together)
        return out if together else out[0]
    return _host(first, env, loop, spec, int(episodes), frozen, consts, int(seed), on_episode)


__all__ = ["Episodes", "JaxEnvironment", "Loop", "argmax", "interact"]
