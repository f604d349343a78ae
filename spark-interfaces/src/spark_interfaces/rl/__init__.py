"""Closed-loop examples (docs/reinforcement.md): a JAX CartPole-v1 and a spiking agent that learns it with
reward-modulated STDP. The loop itself is spark-core's (:mod:`spark.loop`); nothing here imports gymnasium unless
asked for a host environment."""

from .cartpole import SURFACE as SURFACE
from .cartpole import CartPole as CartPole
from .cartpole import surface_potential as surface_potential

__all__ = ["SURFACE", "CartPole", "surface_potential"]
