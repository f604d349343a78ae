"""Closed-loop training speed (issue 19): N CartPole agents trained with the JAX CartPole compiled into the loop, side
by side in one program, vs. the same N agents trained one after another through the host loop over gymnasium's
CartPole-v1 (Spark's gymnasium-API backend as a user runs it: one compiled call of 10 brain steps per environment
step), plus where the host loop's time goes.

Both train the bundled agent (spark-interfaces' examples/cartpole.spark), learning on, seeds 0 .. N-1, the same
number of episodes per agent; the environments' random starts differ, so speed is compared per environment step
(10 brain steps, the rule's updates and one environment step), compilation excluded (reported). The host loop is
strictly sequential, one agent after another: it is timed on ``--host-agents`` agents and its rate (environment steps
per second) holds for any N; the compiled loop is timed at each N of ``--agents``. The default is a whole training of
the bundled agent, 500 episodes (it learns from short episodes to long ones: a few episodes would time mostly resets).
Run it on one core (about 4 minutes):

    taskset -c 0 python benchmarks/rl_cartpole.py [--episodes 500 --host-agents 1 --agents 1,16,64]

Needs: pip install 'spark-interfaces[rl]'. Prints a table and writes benchmarks/results/rl_cartpole.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import machine_info  # run.py: the suite's shared helpers (the CPU's model, caches, commit)


def host_profile(windows: int = 2000) -> dict:
    """Per environment step of the host loop: the compiled window call alone (10 brain steps, learning on, a fixed
    observation), gymnasium's step alone (random actions), and the loop's whole step from a short training."""
    import gymnasium
    import numpy as np

    import spark
    from spark.loop import _host_programs, _spec
    from spark_interfaces.rl import agent

    brain = agent.brains([0])[0]
    loop = agent.make_loop()
    env = agent.make_env()
    spec = _spec(brain, loop, env.observation_shape)
    fn, _, state, _ = _host_programs(brain, loop, spec, brain.frozen(True), {})  # as the host loop calls it
    obs = np.zeros(4, np.float32)
    state, a = fn(state, obs, np.float32(1.0))
    t0 = time.perf_counter()
    for i in range(windows):
        state, a = fn(state, obs, np.float32(i % 2))
        int(np.asarray(a))
    call_us = (time.perf_counter() - t0) / windows * 1e6

    genv = gymnasium.make("CartPole-v1")
    genv.reset(seed=0)
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    for _ in range(windows):
        _, _, term, trunc, _ = genv.step(int(rng.integers(2)))
        if term or trunc:
            genv.reset()
    env_us = (time.perf_counter() - t0) / windows * 1e6
    out = agent.train_host(0, 4)
    step_us = out.seconds / int(out.lengths.sum()) * 1e6
    del spark
    return {"window_call_us": call_us, "gymnasium_step_us": env_us, "host_loop_step_us": step_us,
            "brain_step_us": call_us / agent.EVERY}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--episodes", type=int, default=500, help="episodes per agent, both loops")
    ap.add_argument("--host-agents", type=int, default=1, help="agents trained one after another on the host loop")
    ap.add_argument("--agents", default="1,16,64", help="numbers of agents side by side in the compiled loop")
    ap.add_argument("--repeat", type=int, default=2, help="host and compiled runs alternate this many times")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "rl_cartpole.json"))
    args = ap.parse_args(argv)
    sizes = [int(v) for v in args.agents.split(",") if v.strip()]

    import jax

    from spark.jaxcache import enable_compilation_cache
    from spark_interfaces.rl import agent

    enable_compilation_cache()
    rows = []

    def row(name, agents, res, seconds, compile_s):
        steps = int(sum(int(r.lengths.sum()) for r in res))
        rows.append({"run": name, "agents": agents, "episodes": int(sum(len(r.lengths) for r in res)),
                     "env_steps": steps, "seconds": seconds, "compile_seconds": compile_s,
                     "env_steps_per_s": steps / seconds, "episodes_per_s": len(res) * len(res[0].lengths) / seconds})
        print(f"{name:44s} {rows[-1]['episodes']:5d} episodes {steps:8d} env steps {seconds:8.2f} s "
              f"(+{compile_s:.1f} s compile)  {steps / seconds:9.0f} env steps/s", flush=True)
        return rows[-1]

    for _ in range(args.repeat):
        host = [agent.train_host(s, args.episodes) for s in range(args.host_agents)]
        row(f"host loop, {args.host_agents} agents one after another", args.host_agents, host,
            sum(r.seconds for r in host), sum(r.compile_seconds for r in host))
        for n in sizes:
            res = agent.train(tuple(range(n)), args.episodes, chunk=args.episodes)
            row(f"compiled loop, {n} agents side by side", n, res, res[0].seconds, res[0].compile_seconds)
    # per size, the best of the repeats (the least disturbed by other load), against the best host run
    best = {}
    for r in rows:
        key = r["run"]
        if key not in best or r["env_steps_per_s"] > best[key]["env_steps_per_s"]:
            best[key] = r
    host_rate = best[f"host loop, {args.host_agents} agents one after another"]["env_steps_per_s"]
    summary = []
    for key, r in best.items():
        r = {**r, "speedup_vs_host": r["env_steps_per_s"] / host_rate}
        summary.append(r)
        print(f"{key:44s} {r['env_steps_per_s']:9.0f} env steps/s  {r['speedup_vs_host']:5.1f}x the host loop")
    profile = host_profile()
    print("host loop per environment step: " + ", ".join(f"{k} {v:.1f}" for k, v in profile.items()))
    info = {"machine": machine_info(), "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "affinity": len(os.sched_getaffinity(0)), "jax": jax.__version__, "backend": jax.default_backend(),
            "episodes_per_agent": args.episodes}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"info": info, "best": summary, "runs": rows, "host_profile": profile},
                                         indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
