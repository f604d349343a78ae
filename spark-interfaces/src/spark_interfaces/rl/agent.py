"""The CartPole agent: a spiking network that learns CartPole-v1 with reward-modulated STDP (docs/reinforcement.md).

The network is ``examples/cartpole.spark`` (open it in the editor): a ``population`` encoder (Gaussian receptive
fields, Poisson spikes) of the 4 observations into 40 input neurons, all-to-all plastic synapses onto two action
populations of LIF neurons (left, right) that inhibit each other, reward-modulated STDP (Izhikevich 2007; Florian
2007; Frémaux & Gerstner 2016) on those synapses with its modulator fed by the reward, and synaptic scaling (each
action neuron's summed input weight held constant) so that learning redistributes weight between states rather than
silencing a population. The action of a window is the population that spiked more (:func:`policy`); the action
populations and the synapses onto them start every window afresh (:data:`FRESH`, ``Loop.reset_window``).
"""

from __future__ import annotations

from pathlib import Path

import jax.numpy as jnp
import numpy as np

import spark

from .cartpole import SURFACE, CartPole

MODEL = Path(__file__).resolve().parent.parent / "examples" / "cartpole.spark"

#: brain steps (of dt = 1 ms) per environment step
EVERY = 10
#: the shaped reward: the surface of its potential, +-SCALE as the action helped or not (BINARY), FAILURE when the
#: episode terminates (CartPole's docstring)
SHAPING, SCALE, FAILURE, BINARY = SURFACE, 4.0, -1.0, True


def policy(total):
    """Right (1) if the second half of the action neurons (the right population) spiked more than the first, else
    left (0)."""
    total = jnp.reshape(total, (2, -1)).sum(axis=1)
    return (total[1] > total[0]).astype(jnp.int32)


#: the nodes that start every window afresh (``Loop.reset_window``): the action populations and the synapses onto them,
#: so that a window's decision comes from its own observation, not from what the windows before left
FRESH = ("act", "lateral", "in_act")


def make_loop(every: int = EVERY) -> spark.Loop:
    """The joint: observation -> ``observation`` input, ``actions`` output -> :func:`policy`, reward -> ``reward``
    (the rule's modulator); :data:`FRESH` start every window afresh."""
    return spark.Loop("observation", "actions", reward="reward", every=every, policy=policy, reset_window=FRESH)


#: the JAX CartPoles the agent trains on (:func:`make_env`): Spark's own, or gymnax's CartPole-v1 (the same steps)
ENVIRONMENTS = ("spark", "gymnax")


def make_env(source: str = "spark") -> spark.JaxEnvironment:
    """CartPole-v1 in JAX with the agent's shaped reward: ``"spark"``, :class:`CartPole`; ``"gymnax"``, gymnax's
    CartPole-v1 (:class:`~spark_interfaces.rl.gymnax.Gymnax`, needs ``pip install 'spark-interfaces[gymnax]'``)
    with the same reward (:class:`~spark_interfaces.rl.cartpole.ShapedJax`).

    Raises:
        ValueError: ``source`` is neither.
        ImportError: ``"gymnax"`` without gymnax installed.
    """
    if source == "spark":
        return CartPole(shaping=SHAPING, scale=SCALE, failure=FAILURE, binary=BINARY)
    if source == "gymnax":
        from .cartpole import ShapedJax
        from .gymnax import Gymnax

        return ShapedJax(Gymnax.make("CartPole-v1"), shaping=SHAPING, scale=SCALE, failure=FAILURE, binary=BINARY)
    raise ValueError(f"make_env: source={source!r} must be one of {', '.join(ENVIRONMENTS)}")


def brains(seeds, model: str | Path | None = None) -> list[spark.Brain]:
    """One agent per seed (the seed draws its initial weights and its spikes)."""
    import json

    doc = json.loads(Path(model or MODEL).read_text())
    return [spark.Brain.from_dict({**doc, "seed": int(s)}, source=str(model or MODEL)) for s in seeds]


def train(seeds=(0,), episodes: int = 500, *, model=None, chunk: int = 10, on_chunk=None,
          agents=None, env: spark.JaxEnvironment | None = None) -> list[spark.Episodes]:
    """Train one agent per seed on the JAX CartPole (``env``, default :func:`make_env`), side by side in one compiled
    program per ``chunk`` episodes. The environment's episodes of agent ``i`` use the key
    ``fold_in(seed_of_agent_0, i)``. ``agents``: the brains to train (default: :func:`brains` of ``seeds``),
    updated in place."""
    agents = brains(seeds, model) if agents is None else list(agents)
    env = make_env() if env is None else env
    target = agents if len(agents) > 1 else agents[0]
    out = spark.loop.interact(target, env, make_loop(), episodes, seed=int(seeds[0]), chunk=chunk,
                              on_episode=on_chunk)
    return out if len(agents) > 1 else [out]


def evaluate(agents, episodes: int = 100, *, seed: int = 1000, chunk: int | None = None,
             env: spark.JaxEnvironment | None = None) -> list[spark.Episodes]:
    """Test trained agents with plasticity off (``learn=False``: every rule skipped, the weights as training left
    them), side by side on the JAX CartPole (``env``, default :func:`make_env`); the environment's episodes use keys
    rooted at ``seed`` (not those of training). The lengths say what the network learned, not what it steers
    online."""
    target = list(agents) if len(agents) > 1 else agents[0]
    out = spark.loop.interact(target, make_env() if env is None else env, make_loop(), episodes, learn=False, seed=seed,
                              chunk=chunk or episodes)
    return out if len(agents) > 1 else [out]


def train_host(seed: int = 0, episodes: int = 10, *, model=None, on_episode=None, brain=None) -> spark.Episodes:
    """Train one agent (``brain``, default: :func:`brains` of ``seed``) on gymnasium's CartPole-v1 (host loop; needs
    ``pip install 'spark-interfaces[rl]'``), the reward shaped as :class:`CartPole`'s."""
    import gymnasium

    from .cartpole import shaped_gymnasium

    env = shaped_gymnasium(gymnasium.make("CartPole-v1"), shaping=SHAPING, scale=SCALE, failure=FAILURE,
                           binary=BINARY)
    brain = brains([seed], model)[0] if brain is None else brain
    return spark.loop.interact(brain, env, make_loop(), episodes, seed=seed,
                               on_episode=on_episode)


def plot_curve(lengths: dict, path: str | Path, window: int = 100, frozen: dict | None = None) -> None:
    """A learning curve: each seed's episode lengths (faint) and 100-episode moving average; ``frozen`` (seed ->
    lengths with learning off, after training): each seed's mean as a marker right of the curve."""
    import io

    import matplotlib

    from spark.sparkfile import atomic_write_bytes

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for i, (seed, ln) in enumerate(lengths.items()):
        ep = spark.Episodes(np.asarray(ln), np.zeros(len(ln)), 0.0, 0.0)
        color = f"C{i}"
        ax.plot(np.arange(1, len(ln) + 1), ln, color=color, alpha=0.15, lw=0.8)
        ax.plot(np.arange(1, len(ln) + 1), ep.moving_average(window), color=color, lw=2, label=f"seed {seed}")
        if frozen and seed in frozen:
            x = len(ln) + 15 + 6 * i
            ax.plot([x], [float(np.mean(frozen[seed]))], "o", color=color, ms=6, zorder=5,
                    label="learning off (mean)" if i == 0 else None)
    ax.axhline(475, color="k", ls="--", lw=1, label="475")
    ax.set_xlabel("episode")
    ax.set_ylabel("episode length (steps)")
    ax.set_ylim(0, 520)
    ax.set_title(f"CartPole-v1, reward-modulated STDP: {window}-episode moving average", fontsize=10)
    ax.legend(loc="center right", fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()  # written whole or not at all
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    atomic_write_bytes(Path(path), buf.getvalue())


def first_reaching(ma: np.ndarray, level: float = 475.0, window: int = 100) -> int | None:
    """The first episode (1-based) after which the ``window``-episode moving average is at least ``level``, counting
    only full windows (episode ``window`` on); None if never."""
    ma = np.asarray(ma)[window - 1:]
    hit = np.flatnonzero(ma >= level)
    return int(hit[0]) + window if hit.size else None


__all__ = ["ENVIRONMENTS", "FRESH", "MODEL", "brains", "evaluate", "first_reaching", "make_env", "make_loop",
           "plot_curve", "policy", "train", "train_host"]
