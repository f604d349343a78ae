"""Closed loops (spark.loop, Brain.interact): the timing of observation, action and reward as docs/reinforcement.md
states it, checked by hand on tiny deterministic brains and environments; the reward reaches the rule's modulator;
the host (gymnasium API) and JAX backends agree; agents side by side equal agents alone; bad joints refused."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from brain_parts import ALL

import spark
from spark.testing import isolated_registry


class SpikeRelay(spark.Soma):
    """Passes its spike input on (the edge into it delays one step, as every Spikes edge)."""

    name = "spike_relay"
    Params = spark.params(type("SpikeRelayParams", (), {}))
    inputs = {"s": spark.Port(spark.Spikes)}
    outputs = {"spikes": spark.Port(spark.Spikes)}

    def __call__(self, *, dt, s):
        return {"spikes": s}


@spark.params
class ModHebbParams:
    eta: float = spark.param(0.1, unit="pA", doc="weight change per unit modulator and coincident pair")


class ModHebb(spark.LearningRule):
    """w += eta * m * pre * post: a three-factor rule small enough to check by hand."""

    name = "mod_hebb"
    Params = ModHebbParams
    scalar_ports = ("modulator",)
    inputs = {"pre": spark.Port(spark.Spikes, optional=False), "post": spark.Port(spark.Spikes, optional=False),
              "modulator": spark.Port(spark.Signal)}
    outputs = {}

    def __call__(self, synapse, *, dt, pre, post, modulator):
        m = jnp.reshape(modulator, (-1,))[0]
        return synapse.weight[...] + self.params.eta * m * synapse.outer(pre.astype(jnp.float32),
                                                                           post.astype(jnp.float32))


@spark.params
class JitteredClockParams:
    period: int = spark.param(3, unit="steps", doc="spike every `period` steps", ge=1)


class JitteredClock(spark.Soma):
    """Spikes when its step count is a multiple of ``period``; the count starts at a random value in
    ``[0, period)`` drawn from the brain's seed (so agents of one model start in different states)."""

    name = "jittered_clock"
    Params = JitteredClockParams
    inputs = {}
    outputs = {"spikes": spark.Port(spark.Spikes)}

    def __init__(self, shape, *, params=None, rngs=None, **values):
        super().__init__(shape, params=params, rngs=rngs, **values)
        self.step = spark.State(jax.random.randint(rngs.params(), (), 0, self.params.period))

    def __call__(self, *, dt):
        k = self.step[...]
        self.step[...] = k + 1
        return {"spikes": jnp.broadcast_to(k % self.params.period == 0, self.shape)}


@pytest.fixture
def reg():
    return isolated_registry(*ALL, SpikeRelay, ModHebb, JitteredClock)


PATTERN = (1, 0, 1, 1, 0)


class PatternEnv(spark.JaxEnvironment):
    """Observation j is one-hot(PATTERN[j]) whatever the actions; reward j = action j * 2**j, so an episode's return
    spells its action sequence in binary; terminated after len(PATTERN) steps."""

    observation_shape = (2,)

    def reset(self, key):
        return jax_onehot(PATTERN[0]), jnp.int32(0)

    def step(self, key, j, action):
        j = j + 1
        obs = jax_onehot(jnp.asarray((*PATTERN, 0))[jnp.minimum(j, len(PATTERN))])
        return obs, jnp.int32(j), action * 2.0 ** (j - 1), j >= len(PATTERN), jnp.bool_(False)


def jax_onehot(i):
    return jnp.stack([i == 0, i == 1]).astype(jnp.float32)


class HostPatternEnv:
    """PatternEnv with gymnasium's API, on the host (numpy)."""

    def reset(self, seed=None):
        self.j = 0
        return np.eye(2, dtype=np.float32)[PATTERN[0]], {}

    def step(self, action):
        self.j += 1
        r = float(action) * 2.0 ** (self.j - 1)
        obs = np.eye(2, dtype=np.float32)[((*PATTERN, 0))[min(self.j, len(PATTERN))]]
        return obs, r, self.j >= len(PATTERN), False, {}


def relay_brain(reg, delayed: bool):
    """obs -> threshold (same step) -> [a Spikes edge: one step later] -> spike_relay -> action, or the threshold's
    spikes as the action directly."""
    b = spark.Brain(dt=1.0, registry=reg)
    b.add("thr", "threshold", shape=2, v_thresh=0.5).input("obs", "thr.x")
    if delayed:
        b.add("late", "spike_relay", shape=2).connect("thr.spikes", "late.s").output("act", "late.spikes")
    else:
        b.output("act", "thr.spikes")
    return b.build()


def actions_of(ret: float) -> list[int]:
    return [int(ret) >> j & 1 for j in range(len(PATTERN))]


@pytest.mark.parametrize("env", [PatternEnv(), HostPatternEnv()], ids=["jax", "host"])
@pytest.mark.parametrize("delayed, every, expected", [
    (False, 1, [1, 0, 1, 1, 0]),  # a same-step path: a_j = argmax(o_j)
    (True, 1, [0, 1, 0, 1, 1]),  # one spike edge, k = 1: o_j reaches the action of the next window, a_j = o_{j-1}
    (True, 2, [1, 0, 0, 1, 0]),  # k = 2: window j sums o_{j-1} (its first step) and o_j (its second); ties -> 0
])
def test_observation_to_action_timing(reg, env, delayed, every, expected):
    brain = relay_brain(reg, delayed)
    out = brain.interact(env, spark.Loop("obs", "act", every=every), episodes=2, learn=False)
    assert list(out.lengths) == [5, 5]
    assert actions_of(out.returns[0]) == expected
    assert out.returns[1] == out.returns[0]  # reset_brain: the second episode starts afresh
    # an episode of T environment steps lasts (T + 1) * k brain steps: the last window brings the final reward
    assert int(brain.t[...]) == 2 * (5 + 1) * every


def test_reset_brain_off_carries_spikes_across_episodes(reg):
    brain = relay_brain(reg, True)
    out = brain.interact(PatternEnv(), spark.Loop("obs", "act", every=1, reset_brain=False), episodes=2,
                         learn=False)
    assert actions_of(out.returns[0]) == [0, 1, 0, 1, 1]
    # the terminal window of episode 0 held o_5 = one-hot(0): episode 1's first action reads it
    assert actions_of(out.returns[1]) == [0, 1, 0, 1, 1]


def clock_brain(reg, seed=0):
    """A clock (period 3 steps, its step count a State) as the action; the observation reaches a threshold only."""
    b = spark.Brain(dt=1.0, seed=seed, registry=reg)
    b.add("thr", "threshold", shape=2).input("obs", "thr.x")
    b.add("clk", "clock", shape=1, period=3).output("act", "clk.spikes")
    return b.build()


def fired(total):
    return (jnp.sum(total) > 0).astype(jnp.int32)


@pytest.mark.parametrize("env", [PatternEnv(), HostPatternEnv()], ids=["jax", "host"])
@pytest.mark.parametrize("reset, expected", [
    ((), [1, 1, 0, 1, 1]),  # windows of 2 steps: steps 0-1, 2-3, ...; the clock fires at steps 0, 3, 6, 9
    (("clk",), [1, 1, 1, 1, 1]),  # its count back to 0 at each window's start: it fires in each window's first step
])
def test_reset_window_starts_each_window_afresh(reg, env, reset, expected):
    brain = clock_brain(reg)
    out = brain.interact(env, spark.Loop("obs", "act", every=2, policy=fired, reset_window=reset), episodes=2,
                         learn=False)
    assert [actions_of(r) for r in out.returns] == [expected, expected]
    # after the last (terminal) window: its 2 steps since the reset, or 6 windows of 2 steps since the episode's
    assert int(brain.nodes["clk"].step[...]) == (2 if reset else 12)


@pytest.mark.parametrize("env", [PatternEnv(), HostPatternEnv()], ids=["jax", "host"])
def test_reset_window_keeps_the_spikes_in_flight(reg, env):
    """The clock (phase 1, period 3) fires in the last step of each 2-step window (its count 0, 1 from each
    window's start); the spike, one step in flight, reaches the relay in the next window's first step, after the
    clock's reset. (Without the reset it fires at steps 1, 4, 7, 10: [0, 1, 1, 0, 1].)"""
    b = spark.Brain(dt=1.0, registry=reg)
    b.add("thr", "threshold", shape=2).input("obs", "thr.x")
    b.add("clk", "clock", shape=1, period=3, phase=1).add("late", "spike_relay", shape=1)
    b.connect("clk.spikes", "late.s").output("act", "late.spikes")
    out = b.build().interact(env, spark.Loop("obs", "act", every=2, policy=fired, reset_window="clk"), 1,
                             learn=False)
    assert actions_of(out.returns[0]) == [0, 1, 1, 1, 1]


def test_reset_window_side_by_side_each_agent_to_its_own_state(reg):
    """Agents whose clocks start at different counts c0 (period 3, windows of 2 steps): reset to its own c0 every
    window, an agent fires in every window if c0 is 0 or 2 and in none if c0 is 1; side by side equals alone."""
    def brain(seed):
        b = spark.Brain(dt=1.0, seed=seed, registry=reg)
        b.add("thr", "threshold", shape=2).input("obs", "thr.x")
        return b.add("clk", "jittered_clock", shape=1).output("act", "clk.spikes").build()

    starts = {s: int(brain(s).nodes["clk"].step[...]) for s in range(12)}
    seeds = [next(s for s, c in starts.items() if c == 1), next(s for s, c in starts.items() if c != 1)]
    loop = spark.Loop("obs", "act", every=2, policy=fired, reset_window="clk")
    alone = [brain(s).interact(PatternEnv(), loop, 3, learn=False) for s in seeds]
    together = spark.loop.interact([brain(s) for s in seeds], PatternEnv(), loop, 3, learn=False)
    for s, a, t in zip(seeds, alone, together, strict=True):
        np.testing.assert_array_equal(a.returns, t.returns)
        assert actions_of(t.returns[0]) == [int(starts[s] != 1)] * 5, s


class ConstEnv(spark.JaxEnvironment):
    """Observation (1, 1) always, reward `r` each step, terminated after 3 steps."""

    observation_shape = (2,)

    def __init__(self, r):
        self.r = r

    def reset(self, key):
        return jnp.ones(2), jnp.int32(0)

    def step(self, key, j, action):
        return jnp.ones(2), j + 1, jnp.float32(self.r), j + 1 >= 3, jnp.bool_(False)


class HostConstEnv:
    observation_space = type("Box", (), {"shape": (2,)})()

    def __init__(self, r):
        self.r = r

    def reset(self, seed=None):
        self.j = 0
        return np.ones(2, np.float32), {}

    def step(self, action):
        self.j += 1
        return np.ones(2, np.float32), self.r, self.j >= 3, False, {}


def modulated(reg, *, noise=False, seed=0):
    """obs -> pre (threshold or noise) -> syn (linear, plastic: mod_hebb) -> post (threshold) -> action; the
    reward input goes to the rule's modulator."""
    b = spark.Brain(dt=1.0, seed=seed, registry=reg)
    if noise:
        b.add("pre", "noise", shape=2).input("obs", "pre.data")
    else:
        b.add("pre", "threshold", shape=2, v_thresh=0.5).input("obs", "pre.x")
    b.add("syn", "linear", weight=1.0).add("post", "threshold", shape=2, v_thresh=0.5)
    b.connect("pre.spikes", "syn.pre").connect("syn.i", "post.x")
    b.add("rule", "mod_hebb", attach="syn", eta=0.1)
    b.connect("pre.spikes", "rule.pre").connect("post.spikes", "rule.post")
    b.input("reward", "rule.modulator")
    b.output("act", "post.spikes")
    return b.build()


@pytest.mark.parametrize("make_env", [ConstEnv, HostConstEnv], ids=["jax", "host"])
@pytest.mark.parametrize("r", [1.0, -1.0])
@pytest.mark.parametrize("pulse, steps", [(True, 3), (False, 6)])
def test_reward_reaches_the_modulator(reg, make_env, r, pulse, steps):
    """pre fires every step from step 0 on, post from step 1 (its input is pre's spikes, one step later), and the
    rule sees both one step late (spike edges): a coincident pair at every step from 2 on. The modulator holds
    r_{j-1} in window j: with k = 2 and 3 environment steps, windows 1, 2, 3 (steps 2..7) carry r, window 0 carries 0.
    A pulse is in each window's first step (steps 2, 4, 6), a held reward in all (2..7): w changes by
    0.1 * r * 3 or 0.1 * r * 6 exactly."""
    brain = modulated(reg)
    w0 = np.array(brain.nodes["syn"].weight[...])
    brain.interact(make_env(r), spark.Loop("obs", "act", reward="reward", every=2, pulse=pulse), episodes=1)
    dw = np.array(brain.nodes["syn"].weight[...]) - w0
    np.testing.assert_allclose(dw, np.full((2, 2), 0.1 * r * steps), rtol=1e-5)


def test_no_reward_or_learning_off_leaves_weights(reg):
    for loop, learn in [(spark.Loop("obs", "act", every=2), True),
                        (spark.Loop("obs", "act", reward="reward", every=2), False)]:
        brain = modulated(reg)
        w0 = np.array(brain.nodes["syn"].weight[...])
        brain.interact(ConstEnv(1.0), loop, episodes=2, learn=learn)
        np.testing.assert_array_equal(np.array(brain.nodes["syn"].weight[...]), w0)


def test_reward_fn_shapes_the_modulator(reg):
    brain = modulated(reg)
    w0 = np.array(brain.nodes["syn"].weight[...])
    loop = spark.Loop("obs", "act", reward="reward", every=2, reward_fn=lambda r, done: jnp.where(done, -2.0, 0.0))
    brain.interact(ConstEnv(1.0), loop, episodes=1)
    # only the terminal window carries a non-zero modulator, -2, in its first step
    np.testing.assert_allclose(np.array(brain.nodes["syn"].weight[...]) - w0, np.full((2, 2), 0.1 * -2),
                               rtol=1e-5)


def test_host_equals_jax(reg):
    """A stochastic brain (noise encoder) learning for 3 episodes: the host loop and the compiled loop give the same
    episodes and the same weights, bit for bit."""
    loop = spark.Loop("obs", "act", reward="reward", every=3)
    a, b = modulated(reg, noise=True), modulated(reg, noise=True)
    ra = a.interact(ConstEnv(0.5), loop, episodes=3)
    rb = b.interact(HostConstEnv(0.5), loop, episodes=3)
    np.testing.assert_array_equal(ra.lengths, rb.lengths)
    np.testing.assert_array_equal(ra.returns, rb.returns)
    np.testing.assert_array_equal(np.array(a.nodes["syn"].weight[...]), np.array(b.nodes["syn"].weight[...]))
    assert int(a.t[...]) == int(b.t[...]) == 3 * 4 * 3


def test_the_host_loops_packed_state_unpacks_to_the_same_arrays():
    """The host loop passes the brain's state as one flat buffer per dtype: unpacking gives back every array with its
    shape, dtype and values, scalars and empty arrays included, and packing what was unpacked is the same buffers."""
    from spark.loop import _Packed

    rng = np.random.default_rng(0)
    leaves = [jnp.asarray(rng.normal(size=(3, 4)), jnp.float32), jnp.asarray(rng.integers(0, 9, 5), jnp.int32),
              jnp.asarray(rng.random(7) > 0.5), jnp.float32(2.5), jnp.zeros((0,), jnp.float32),
              jnp.asarray([1, 2], jnp.uint32), jnp.asarray(rng.normal(size=(2, 1, 3)), jnp.float32), jnp.int32(-4),
              jax.random.key(3), jax.random.split(jax.random.key(4), 2)]  # a component may keep typed keys
    packer = _Packed(leaves)
    packed = packer.pack(leaves)
    assert len(packed) == 5  # float32, int32, bool, uint32, keys

    def raw(x):
        return np.asarray(jax.random.key_data(x) if jnp.issubdtype(x.dtype, jax.dtypes.prng_key) else x)

    back = packer.unpack(packed)
    for a, b in zip(leaves, back, strict=True):
        assert b.shape == a.shape and b.dtype == a.dtype
        np.testing.assert_array_equal(raw(b), raw(a))
    for x, y in zip(packer.pack(back), packed, strict=True):
        np.testing.assert_array_equal(raw(x), raw(y))


def test_agents_side_by_side_equal_agents_alone(reg):
    loop = spark.Loop("obs", "act", reward="reward", every=2)
    alone = [modulated(reg, noise=True, seed=s) for s in (1, 2)]
    together = [modulated(reg, noise=True, seed=s) for s in (1, 2)]
    ones = [spark.loop.interact(b, ConstEnv(1.0), loop, 2, seed=7) for b in alone]
    # agent i's episodes use key fold_in(seed, i): alone, agent 1 would use fold_in(seed, 0); ConstEnv ignores keys
    both = spark.loop.interact(together, ConstEnv(1.0), loop, 2, seed=7, chunk=1)
    for x, y, bx, by in zip(ones, both, alone, together, strict=True):
        np.testing.assert_array_equal(x.lengths, y.lengths)
        np.testing.assert_array_equal(np.array(bx.nodes["syn"].weight[...]), np.array(by.nodes["syn"].weight[...]))


class UntilRight(spark.JaxEnvironment):
    """Ends the episode at the first action 1 (or after 6 steps): with a noisy brain, each agent's episodes last a
    different number of steps."""

    observation_shape = (2,)

    def reset(self, key):
        return jnp.full(2, 0.5), jnp.int32(0)

    def step(self, key, j, action):
        return jnp.full(2, 0.5), j + 1, jnp.float32(1.0), (action == 1) | (j + 1 >= 6), jnp.bool_(False)


def test_agents_side_by_side_with_episodes_of_different_lengths(reg):
    """Agents side by side each go on with their next episode when one ends (one while_loop that resets in place):
    still the same episodes and weights as each agent alone, whatever the chunks."""
    # noise at rate 0.5: post fires in both steps of a window (action 1) at random
    loop = spark.Loop("obs", "act", reward="reward", every=2, policy=lambda total: (total[0] >= 2).astype(jnp.int32))
    seeds = (1, 2, 3)
    alone = [modulated(reg, noise=True, seed=s) for s in seeds]
    ones = [spark.loop.interact(b, UntilRight(), loop, 5) for b in alone]
    for chunk in (None, 2):
        together = [modulated(reg, noise=True, seed=s) for s in seeds]
        both = spark.loop.interact(together, UntilRight(), loop, 5, chunk=chunk)
        for x, y, bx, by in zip(ones, both, alone, together, strict=True):
            np.testing.assert_array_equal(x.lengths, y.lengths)
            np.testing.assert_array_equal(np.array(bx.nodes["syn"].weight[...]),
                                          np.array(by.nodes["syn"].weight[...]))
            assert int(bx.t[...]) == int(by.t[...]) == 2 * int((x.lengths + 1).sum())
    lengths = np.stack([x.lengths for x in ones])
    assert len(set(lengths.ravel().tolist())) > 1 and len({tuple(r) for r in lengths}) > 1  # the test means it


def test_chunks_do_not_change_the_result(reg):
    loop = spark.Loop("obs", "act", reward="reward", every=2)
    a, b = modulated(reg, noise=True), modulated(reg, noise=True)
    a.interact(ConstEnv(1.0), loop, 5)
    b.interact(ConstEnv(1.0), loop, 5, chunk=2)
    np.testing.assert_array_equal(np.array(a.nodes["syn"].weight[...]), np.array(b.nodes["syn"].weight[...]))


def test_max_steps_truncates(reg):
    out = relay_brain(reg, False).interact(PatternEnv(), spark.Loop("obs", "act", every=1, max_steps=3), 1,
                                           learn=False)
    assert list(out.lengths) == [3]


class WideEnv(ConstEnv):
    observation_shape = (3,)


@pytest.mark.parametrize("loop, env, match", [
    (spark.Loop("obs", "act"), WideEnv(1.0), r"observations have shape \[3\] but the input 'obs'"),
    (spark.Loop("o", "act"), ConstEnv(1.0), r"'o' is not an input of this brain; its inputs are: \['obs', 'reward'\]"),
    (spark.Loop("obs", "a"), ConstEnv(1.0), r"'a' is not an output of this brain; its outputs are: \['act'\]"),
    (spark.Loop("obs", "act", reward="dopamine"), ConstEnv(1.0), r"wire one to a learning rule's modulator"),
    (spark.Loop("obs", "act", reward="obs"), ConstEnv(1.0), r"goes to pre.x, which is not a Signal port"),
    (spark.Loop("obs", "act"), object(), r"neither a spark.loop.JaxEnvironment nor a host environment"),
])
def test_bad_joints_are_refused(reg, loop, env, match):
    with pytest.raises(spark.GraphError, match=match):
        modulated(reg).interact(env, loop, 1)


def test_bad_arguments_are_refused(reg):
    brain = modulated(reg)
    loop = spark.Loop("obs", "act", reward="reward")
    with pytest.raises(spark.GraphError, match="episodes=0"):
        brain.interact(ConstEnv(1.0), loop, 0)
    with pytest.raises(spark.GraphError, match="need a JaxEnvironment"):
        spark.loop.interact([brain, modulated(reg, seed=1)], HostConstEnv(1.0), loop, 1)
    with pytest.raises(spark.GraphError, match="every = 0"):
        spark.Loop("obs", "act", every=0)
    with pytest.raises(spark.GraphError, match="learn"):
        brain.interact(ConstEnv(1.0), loop, 1, learn={"nope": False})
    with pytest.raises(spark.GraphError, match=r"reset_window names \['nope'\], which are not nodes of this brain"):
        brain.interact(ConstEnv(1.0), spark.Loop("obs", "act", reset_window=("syn", "nope")), 1)
    with pytest.raises(spark.GraphError, match=r"reset_window names \['post'\], which have no dynamic state"):
        brain.interact(ConstEnv(1.0), spark.Loop("obs", "act", reset_window=["post"]), 1)
    with pytest.raises(spark.GraphError, match=r"reset_window = 3: give node ids"):
        spark.Loop("obs", "act", reset_window=3)


def test_moving_average():
    e = spark.Episodes(np.array([1, 2, 3, 4]), np.zeros(4), 0.0, 0.0)
    np.testing.assert_allclose(e.moving_average(2), [1, 1.5, 2.5, 3.5])
