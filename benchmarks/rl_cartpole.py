"""Closed-loop training speed (issue 19): the CartPole agent trained with the JAX CartPole compiled into the loop
vs. the host loop over gymnasium's CartPole-v1 (one compiled call of 10 brain steps per environment step).

Both train the bundled agent (spark-interfaces' examples/cartpole.spark) with learning on, from the same initial
weights; their episodes differ (different environments' random starts), so the speed is compared per environment
step (each is 10 brain steps plus one environment step), compilation excluded and reported.

    taskset -c 1 python benchmarks/rl_cartpole.py [--episodes 100 --host-episodes 30 --agents 5]

Needs: pip install 'spark-interfaces[rl]'. Prints a table and writes benchmarks/results/rl_cartpole.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--episodes", type=int, default=100, help="episodes of the compiled (JAX) loop")
    ap.add_argument("--host-episodes", type=int, default=30, help="episodes of the host loop")
    ap.add_argument("--agents", type=int, default=5, help="agents side by side in the batched JAX run (0: skip)")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "rl_cartpole.json"))
    args = ap.parse_args(argv)

    import jax

    from spark_interfaces.rl import agent

    rows = []

    def row(name, res):
        steps = int(sum(int(r.lengths.sum()) for r in res))
        secs = res[0].seconds
        rows.append({"run": name, "episodes": int(sum(len(r.lengths) for r in res)), "env_steps": steps,
                     "seconds": secs, "compile_seconds": res[0].compile_seconds, "env_steps_per_s": steps / secs})
        print(f"{name:38s} {rows[-1]['episodes']:5d} episodes {steps:8d} env steps {secs:8.2f} s "
              f"(+{res[0].compile_seconds:.1f} s compile)  {steps / secs:10.0f} env steps/s", flush=True)

    row("host loop (gymnasium, 1 agent)", [agent.train_host(0, args.host_episodes)])
    row("compiled loop (JAX CartPole, 1 agent)", agent.train((0,), args.episodes, chunk=args.episodes))
    if args.agents:
        row(f"compiled loop ({args.agents} agents side by side)",
            agent.train(tuple(range(args.agents)), args.episodes, chunk=args.episodes))
    host = rows[0]["env_steps_per_s"]
    for r in rows[1:]:
        r["speedup_vs_host"] = r["env_steps_per_s"] / host
        print(f"{r['run']}: {r['speedup_vs_host']:.0f}x the host loop's environment steps per second")
    info = {"machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
            "affinity": len(os.sched_getaffinity(0)), "jax": jax.__version__, "backend": jax.default_backend()}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"info": info, "rows": rows}, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
