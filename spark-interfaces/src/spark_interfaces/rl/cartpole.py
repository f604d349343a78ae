"""CartPole-v1 in JAX, step for step gymnasium's ``CartPoleEnv`` (``gymnasium/envs/classic_control/cartpole.py``,
gymnasium 1.x; the cart-pole of Barto, Sutton & Anderson 1983 with the equations of Florian 2007, "Correct
equations for the dynamics of the cart-pole system"), with its ``TimeLimit`` of 500 steps.

State ``(x, x_dot, theta, theta_dot)``; action 0 pushes the cart left, 1 right, with 10 N; explicit Euler steps of
``tau = 0.02`` s::

    temp      = (F + m_p l theta_dot^2 sin(theta)) / (m_c + m_p)
    theta_acc = (g sin(theta) - cos(theta) temp) / (l (4/3 - m_p cos(theta)^2 / (m_c + m_p)))
    x_acc     = temp - m_p l theta_acc cos(theta) / (m_c + m_p)
    x += tau x_dot;  x_dot += tau x_acc;  theta += tau theta_dot;  theta_dot += tau theta_acc

with ``g = 9.8``, ``m_c = 1``, ``m_p = 0.1``, ``l = 0.5`` (half the pole). An episode starts from a state drawn
uniformly in ``[-0.05, 0.05]^4``, ends (terminated) when ``|x| > 2.4`` or ``|theta| > 12 deg``, and is truncated
after 500 steps; the environment's reward is 1 per step (the terminating step included), so an episode's length is
its return.

``shaping``: the reward may instead be a dopamine-like signal that says, at every step, whether the last action
helped: potential-based shaping (Ng, Harada & Russell 1999, which keeps the optimal policies) with the potential
``Phi(s) = -|w . s| / theta_max``, minus the distance of the state from a stabilising surface ``w . s = 0``. With
the default ``w = SURFACE = (0.02, 0.1, 1, 0.3)`` (per ``x, x_dot, theta, theta_dot``) that is the pole angle
extrapolated 0.3 s ahead plus small cart terms that bring the cart back to the centre; pushing towards the sign of
``w . s`` balances the pole for 500 steps. This is prior knowledge of the task, given to the agent as its reward (not
as its policy): the reward is ``scale (Phi(s') - Phi(s))``, and ``failure`` when the episode terminates.
:func:`surface_potential` is that function, shared with the host (gymnasium) wrapper, so both backends see the same
rewards.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

import spark

GRAVITY, MASSCART, MASSPOLE, LENGTH, FORCE, TAU = 9.8, 1.0, 0.1, 0.5, 10.0, 0.02
TOTAL_MASS = MASSCART + MASSPOLE
POLEMASS_LENGTH = MASSPOLE * LENGTH
THETA_MAX = 12 * 2 * math.pi / 360
X_MAX = 2.4
MAX_STEPS = 500


#: the stabilising surface of the shaped reward's potential: weights of (x, x_dot, theta, theta_dot)
SURFACE = (0.02, 0.1, 1.0, 0.3)


def surface_potential(obs, weights=SURFACE):
    """``Phi(s) = -|w . s| / theta_max``: minus the distance of the state from the surface ``w . s = 0``, in units of
    the failure angle (numpy or JAX arrays; the last axis is the observation ``(x, x_dot, theta, theta_dot)``)."""
    w = weights
    return -abs(w[0] * obs[..., 0] + w[1] * obs[..., 1] + w[2] * obs[..., 2] + w[3] * obs[..., 3]) / THETA_MAX


def _surface(shaping) -> tuple[float, ...]:
    """``shaping`` as 4 floats (the surface ``w``), or a ValueError saying what to give."""
    if not hasattr(shaping, "__len__") or len(shaping) != 4:
        raise ValueError(f"shaping={shaping!r}: give 4 weights (x, x_dot, theta, theta_dot), e.g. {SURFACE}")
    return tuple(float(v) for v in shaping)


def _shaped_reward(env, now, before, terminated):
    """The shaped reward (module docstring) of a step from observation ``before`` to ``now`` with ``env``'s
    ``shaping``, ``scale``, ``failure`` and ``binary``; float32."""
    change = surface_potential(now, env.shaping) - surface_potential(before, env.shaping)
    shaped = env.scale * (jnp.sign(change) if env.binary else change)
    return jnp.where(terminated, env.failure, shaped).astype(jnp.float32)


def dynamics(s, action):
    """One Euler step of gymnasium's CartPole from state ``s`` (4,) with ``action`` 0 (left) or 1 (right)."""
    x, x_dot, theta, theta_dot = s[0], s[1], s[2], s[3]
    force = jnp.where(action == 1, FORCE, -FORCE)
    cos, sin = jnp.cos(theta), jnp.sin(theta)
    temp = (force + POLEMASS_LENGTH * theta_dot**2 * sin) / TOTAL_MASS
    theta_acc = (GRAVITY * sin - cos * temp) / (LENGTH * (4.0 / 3.0 - MASSPOLE * cos**2 / TOTAL_MASS))
    x_acc = temp - POLEMASS_LENGTH * theta_acc * cos / TOTAL_MASS
    return jnp.stack([x + TAU * x_dot, x_dot + TAU * x_acc, theta + TAU * theta_dot, theta_dot + TAU * theta_acc])


class CartPole(spark.JaxEnvironment):
    """gymnasium's CartPole-v1 (with its 500-step limit) as a :class:`spark.JaxEnvironment`.

    Args:
        shaping: ``None``: gymnasium's reward (1 per step); else the surface ``w`` of the shaped reward's potential
            (4 weights of ``x, x_dot, theta, theta_dot``; e.g. :data:`SURFACE`; see the module's docstring).
        scale: the shaped reward's scale.
        failure: the shaped reward of a terminating step.
        binary: the shaped reward is ``scale sign(Phi(s') - Phi(s))`` (+-scale: the action helped or not) instead of
            proportional to the change of the potential.
    """

    observation_shape = (4,)

    def __init__(self, *, shaping=None, scale: float = 10.0, failure: float = -1.0, binary: bool = False):
        self.shaping = None if shaping is None else _surface(shaping)
        self.scale, self.failure, self.binary = float(scale), float(failure), bool(binary)

    def reset(self, key):
        s = jax.random.uniform(key, (4,), jnp.float32, -0.05, 0.05)
        return s, (s, jnp.int32(0))

    def step(self, key, state, action):
        s, n = state
        s2 = dynamics(s, action).astype(jnp.float32)
        n2 = n + 1
        terminated = (jnp.abs(s2[0]) > X_MAX) | (jnp.abs(s2[2]) > THETA_MAX)
        truncated = (n2 >= MAX_STEPS) & ~terminated
        if self.shaping is None:
            reward = jnp.float32(1.0)
        else:
            reward = _shaped_reward(self, s2, s, terminated)
        return s2, (s2, n2), reward, terminated, truncated


class ShapedJax(spark.JaxEnvironment):
    """A :class:`spark.JaxEnvironment` with CartPole's observation ``(x, x_dot, theta, theta_dot)`` (e.g. gymnax's
    CartPole-v1 through :class:`spark_interfaces.rl.gymnax.Gymnax`) whose reward is :class:`CartPole`'s shaped reward,
    computed from the observations as :class:`CartPole` computes it from its state (so on gymnax's CartPole, whose
    steps are this module's bit for bit, the rewards are the same). Its state is ``(env_state, last observation)``;
    arguments as :class:`CartPole`'s (``shaping`` default :data:`SURFACE`).

    Raises:
        ValueError: ``env`` is not a spark.JaxEnvironment with 4 observations, or ``shaping`` is not 4 weights.
    """

    observation_shape = (4,)

    def __init__(self, env: spark.JaxEnvironment, *, shaping=SURFACE, scale: float = 10.0, failure: float = -1.0,
                 binary: bool = False):
        if not isinstance(env, spark.JaxEnvironment) or tuple(env.observation_shape) != (4,):
            raise ValueError(f"ShapedJax: {env!r} must be a spark.JaxEnvironment with CartPole's 4 observations "
                             "(x, x_dot, theta, theta_dot); for a gymnasium environment use shaped_gymnasium")
        self.env, self.shaping = env, _surface(shaping)
        self.scale, self.failure, self.binary = float(scale), float(failure), bool(binary)

    def reset(self, key):
        obs, state = self.env.reset(key)
        obs = jnp.asarray(obs, jnp.float32)
        return obs, (state, obs)

    def step(self, key, state, action):
        inner, last = state
        obs, inner, _, terminated, truncated = self.env.step(key, inner, action)
        obs = jnp.asarray(obs, jnp.float32)
        return obs, (inner, obs), _shaped_reward(self, obs, last, terminated), terminated, truncated


def shaped_gymnasium(env, *, shaping=SURFACE, scale: float = 10.0, failure: float = -1.0, binary: bool = False):
    """A gymnasium environment (e.g. ``gymnasium.make("CartPole-v1")``) whose reward is :class:`CartPole`'s shaped
    reward (needs gymnasium: ``pip install 'spark-interfaces[rl]'``)."""
    import gymnasium
    import numpy as np

    class Shaped(gymnasium.Wrapper):
        def reset(self, **kwargs):
            obs, info = self.env.reset(**kwargs)
            self._potential = surface_potential(np.asarray(obs, np.float32), shaping)
            return obs, info

        def step(self, action):
            obs, _, terminated, truncated, info = self.env.step(action)
            now = surface_potential(np.asarray(obs, np.float32), shaping)  # the last state's is kept from its step
            change = now - self._potential
            shaped = scale * (np.sign(change) if binary else change)
            self._potential = now
            return obs, float(failure if terminated else shaped), terminated, truncated, info

    return Shaped(env)
