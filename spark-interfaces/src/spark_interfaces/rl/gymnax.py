"""gymnax environments (Lange 2022, ``github.com/RobertTLange/gymnax``: classic control, bsuite, MinAtar and more,
written in JAX) as :class:`spark.JaxEnvironment` instances, so that a Brain trains on them inside one compiled
program, agents side by side (docs/reinforcement.md, "Plugging in another environment").

Needs ``pip install 'spark-interfaces[gymnax]'`` (gymnax >= 1.0, whose environments report truncation apart from
termination).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

import spark


class Gymnax(spark.JaxEnvironment):
    """A gymnax environment as a :class:`spark.JaxEnvironment`.

    ``reset`` is gymnax's ``reset_env`` and ``step`` its ``step_env`` (not ``step``, which starts the next episode by
    itself: the loop does that, and records the episode first), with ``truncated`` from ``is_truncated`` (gymnax's
    ``max_steps_in_episode``, 500 for CartPole-v1). Rewards become float32 scalars and the flags bool scalars;
    observations are the environment's (the loop casts them to float32).

    Args:
        env: a gymnax ``Environment`` (e.g. the first result of ``gymnax.make("CartPole-v1")``).
        params: its ``EnvParams`` (default: ``env.default_params``).

    Raises:
        TypeError: ``env`` lacks gymnax's ``reset_env`` / ``step_env`` / ``is_truncated`` / ``observation_space``
            (gymnax before 1.0 has no ``is_truncated``: upgrade it).
    """

    def __init__(self, env: Any, params: Any = None):
        missing = [m for m in ("reset_env", "step_env", "is_truncated", "observation_space") if not hasattr(env, m)]
        if missing:
            raise TypeError(f"Gymnax: {type(env).__name__} is not a gymnax (>= 1.0) environment: it has no "
                            f"{', '.join(missing)}; pass the environment of gymnax.make(name) (pip install "
                            "'gymnax>=1.0'), or write a spark.JaxEnvironment")
        self.env = env
        self.params = env.default_params if params is None else params
        self.observation_shape = tuple(int(n) for n in env.observation_space(self.params).shape)

    @classmethod
    def make(cls, name: str, **kwargs: Any) -> Gymnax:
        """``Gymnax(*gymnax.make(name, **kwargs))``: e.g. ``Gymnax.make("CartPole-v1")``.

        Raises:
            ImportError: gymnax is not installed (the message says how to install it).
            ValueError: gymnax has no environment ``name`` (the message lists those it has).
        """
        try:
            import gymnax
        except ImportError as exc:
            raise ImportError(f"Gymnax.make needs gymnax ({exc}): pip install 'spark-interfaces[gymnax]'") from exc
        known = list(getattr(gymnax, "registered_envs", ()))
        if known and name not in known:
            raise ValueError(f"Gymnax.make: gymnax has no environment {name!r}; give one of: {', '.join(known)}")
        env, params = gymnax.make(name, **kwargs)
        return cls(env, params)

    def reset(self, key: jax.Array) -> tuple[jax.Array, Any]:
        return self.env.reset_env(key, self.params)

    def step(self, key: jax.Array, state: Any, action: jax.Array):
        obs, state, reward, terminated, _ = self.env.step_env(key, state, action, self.params)
        truncated = self.env.is_truncated(state, self.params)
        return (obs, state, jnp.asarray(reward, jnp.float32), jnp.asarray(terminated, bool),
                jnp.asarray(truncated, bool))

    def __repr__(self) -> str:
        return f"Gymnax({getattr(self.env, 'name', type(self.env).__name__)})"


__all__ = ["Gymnax"]
