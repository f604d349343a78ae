"""Closed-loop examples (docs/reinforcement.md): a JAX CartPole-v1 and a spiking agent that learns it with
reward-modulated STDP. The loop itself is spark-core's (:mod:`spark.loop`); nothing here imports gymnasium unless
asked for a host environment."""

from .cartpole import CartPole as CartPole
from .cartpole import angle_ahead_potential as angle_ahead_potential

__all__ = ["CartPole", "angle_ahead_potential"]
