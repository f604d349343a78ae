"""``spark rl cartpole``: train the spiking CartPole agent, contributed to the ``spark`` command line."""

from __future__ import annotations

import click


def _seeds(ctx, param, value: str) -> tuple[int, ...]:
    try:
        seeds = tuple(int(v) for v in value.split(","))
    except ValueError:
        raise click.BadParameter(f"{value!r}: give seeds separated by commas, e.g. 0,1,2,3,4") from None
    if len(set(seeds)) != len(seeds):
        raise click.BadParameter(f"{value!r}: a seed is given twice")
    return seeds


@click.group("rl")
def rl():
    """Closed-loop (reinforcement) learning examples (docs/reinforcement.md)."""


@rl.command("cartpole")
@click.option("--episodes", type=click.IntRange(min=1), default=500, show_default=True, help="Episodes per seed.")
@click.option("--seeds", callback=_seeds, default="0", show_default=True,
              help="Agents to train side by side, one per seed (comma-separated), e.g. 0,1,2,3,4.")
@click.option("--host", is_flag=True,
              help="Step gymnasium's CartPole-v1 on the host (one compiled call per environment step; slow; needs "
                   "pip install 'spark-interfaces[rl]') instead of the JAX CartPole compiled with the agent.")
@click.option("--env", "source", type=click.Choice(["spark", "gymnax"]), default="spark", show_default=True,
              help="The JAX CartPole-v1 compiled with the agent: Spark's own, or gymnax's (the same steps; needs "
                   "pip install 'spark-interfaces[gymnax]').")
@click.option("--model", type=click.Path(exists=True, dir_okay=False), default=None,
              help="A .spark file of the agent  [default: the bundled cartpole.spark]")
@click.option("--eval", "n_eval", type=click.IntRange(min=0), default=100, show_default=True,
              help="Episodes of each trained agent with plasticity off (learn=False), after training (0: none).")
@click.option("--out", type=click.Path(file_okay=False), default="spark-runs/cartpole", show_default=True,
              help="Folder for summary.json, learning_curve.png and the trained agents' state (agent-seed<S>.npz).")
def cartpole(episodes, seeds, host, source, model, n_eval, out):
    """Train the spiking agent (reward-modulated STDP) on CartPole-v1.

    Prints, every 10 episodes, each seed's last episode length and 100-episode moving average; at the end the
    episode at which the moving average first reached 475 (the target), then tests each trained agent with
    plasticity off (--eval episodes, learn=False: the policy the weights hold), and writes OUT/learning_curve.png,
    OUT/summary.json and each trained agent's state, OUT/agent-seed<S>.npz (Brain.load_state; as training left it).
    """
    import json
    import time
    from pathlib import Path

    import numpy as np

    from spark.jaxcache import enable_compilation_cache
    from spark.sparkfile import atomic_write_text

    from . import agent

    enable_compilation_cache()
    if host and len(seeds) > 1:
        raise click.UsageError("--host trains one agent at a time: give one seed")
    if host and source != "spark":
        raise click.UsageError("--host steps gymnasium's CartPole on the host; --env chooses a JAX CartPole: give one")
    try:
        env = None if host else agent.make_env(source)
    except ImportError as exc:
        raise click.UsageError(str(exc)) from None
    t0 = time.perf_counter()

    def line(done, lengths):
        lengths = np.atleast_2d(lengths)
        parts = []
        for s, ln in zip(seeds, lengths, strict=True):
            ma = ln[-100:].mean()
            parts.append(f"seed {s}: length {int(ln[-1]):3d}  avg100 {ma:6.1f}")
        click.echo(f"episode {done:4d}  " + "  |  ".join(parts) + f"  ({time.perf_counter() - t0:.0f} s)")

    agents = agent.brains(seeds, model)
    if host:
        def every(done, lengths):
            if done % 10 == 0 or done == episodes:
                line(done, lengths)

        results = [agent.train_host(seeds[0], episodes, model=model, on_episode=every, brain=agents[0])]
    else:
        results = agent.train(seeds, episodes, chunk=10, on_chunk=line, agents=agents, env=env)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    for s, brain in zip(seeds, agents, strict=True):  # as training left them, before the evaluation runs them on
        brain.save_state(folder / f"agent-seed{s}.npz")
    frozen = agent.evaluate(agents, n_eval, env=env) if n_eval else None
    summary = {"episodes": episodes, "backend": "host (gymnasium)" if host else f"jax ({source} CartPole-v1)",
               "seeds": {}}
    for s, r in zip(seeds, results, strict=True):
        ma = r.moving_average(100)
        hit = agent.first_reaching(ma)
        best = float((ma[99:] if len(ma) >= 100 else ma).max())  # of full windows, once there are 100 episodes
        summary["seeds"][str(s)] = {"lengths": r.lengths.tolist(), "final_avg100": float(ma[-1]),
                                    "best_avg100": best, "reached_475_at": hit}
        click.echo(f"seed {s}: final avg100 {ma[-1]:.1f}, best {best:.1f}, "
                   + (f"avg100 reached 475 at episode {hit}" if hit else "avg100 did not reach 475"))
    for s, f in zip(seeds, frozen or (), strict=False):
        summary["seeds"][str(s)]["frozen_lengths"] = f.lengths.tolist()
        summary["seeds"][str(s)]["frozen_mean"] = float(f.lengths.mean())
        click.echo(f"seed {s}: learning off, {len(f.lengths)} episodes: mean length {f.lengths.mean():.1f} "
                   f"(min {int(f.lengths.min())}, {int((f.lengths == 500).sum())} of {len(f.lengths)} at 500)")
    summary["seconds"] = results[0].seconds
    summary["compile_seconds"] = results[0].compile_seconds
    atomic_write_text(folder / "summary.json", json.dumps(summary, indent=1) + "\n")
    try:
        agent.plot_curve({s: r.lengths for s, r in zip(seeds, results, strict=True)}, folder / "learning_curve.png",
                         frozen={s: f.lengths for s, f in zip(seeds, frozen, strict=True)} if frozen else None)
        click.echo(f"wrote {folder / 'learning_curve.png'}, {folder / 'summary.json'} and the trained agents' state "
                   f"({folder / 'agent-seed<S>.npz'})")
    except ImportError:
        click.echo(f"wrote {folder / 'summary.json'} and the trained agents' state ({folder / 'agent-seed<S>.npz'}; "
                   "no plot: pip install 'spark-core[plot]')")
