"""Variants of the CartPole agent tried for a policy that lasts with learning off (issue 19; docs/reinforcement.md,
"What is learned, and what was tried"): train 5 seeds side by side, then test them with learning off.

    taskset -c 0 python benchmarks/rl_cartpole_variants.py EPISODES key=value ...

Every row is a change of the former agent (before spark-interfaces 0.1.3: FORMER's parameters, no reset per window),
so the rows measured before the shipped agent changed still reproduce; the shipped agent is
``fresh=1 tau_e=3 eta=0.01 lat=-75 target=2800``.

Keys (absent: the former agent): eta, tau_e, a_plus, a_minus (reward_stdp); low, high (comma lists), n, width,
max_rate (the population encoder); i_bias, tau_m (the action neurons); lat, lat_tau (the lateral inhibition's weight
and tau_syn); target (the synaptic scaling); toward=1 (the reward is +-scale as the action moved w . s towards 0 or
not, instead of the binary change of the potential); fresh=1 (``Loop.reset_window``: the action populations and the
synapses onto them return to their state at build at the start of every window, in training and in the test); seeds
(default 0,1,2,3,4), eval (test episodes, default 20), chunk. The rows of the page:

    ... 300 eta=0.1                            (and eta=0.03, eta=0.01; low=-2.4,-1.5,-0.21,-2 high=2.4,1.5,0.21,2)
    ... 300 toward=1 eta=0.1                   (eta 0.01 - 1)
    ... 300 toward=1 lat=-300 lat_tau=2 tau_m=5 eta=0.3
    ... 300 toward=1 fresh=1 lat=-300 eta=0.1
    ... 1000 toward=1 fresh=1 lat=-300 eta=0.03 max_rate=400 i_bias=200 eval=50 chunk=100
    ... 500 toward=1 fresh=1 lat=-300 eta=0.1 max_rate=400 i_bias=200 eval=50 chunk=100
    ... 500 fresh=1 eval=100 chunk=100
    ... 500 fresh=1 eta=0.1 eval=100 chunk=100        (and eta=0.2, eta=0.05)
    ... 500 fresh=1 eval=100 chunk=100 tau_e=10 eta=0.1   (and eta=0.05, 0.02; tau_e=5 eta=0.05, 0.02)
    ... 500 fresh=1 eval=100 chunk=100 tau_e=5 eta=0.02 lat=-100   (and lat=-200, -400)
    ... 500 fresh=1 eval=100 chunk=100 tau_e=5 eta=0.01 lat=-75    (the best so far; one change each: tau_e=3, 8;
        lat=-60, -90; eta=0.015; target=3000, 2000; tau_m=20, 5; max_rate=300, 150; i_bias=50; with lat=-100:
        eta=0.005, and 1000 episodes)
"""

from __future__ import annotations

import json
import sys
import time

import attrs
import jax.numpy as jnp
import numpy as np

import spark
from spark_interfaces.rl import agent
from spark_interfaces.rl.cartpole import SURFACE, CartPole

#: the former agent's parameters where the shipped cartpole.spark differs: (node, parameter) -> value
FORMER = {("rstdp", "eta"): 1.0, ("rstdp", "tau_e"): 20.0, ("norm", "target"): 2400.0}
#: the former agent's lateral inhibition (pA per spike)
FORMER_LAT = -50.0


def model(kv: dict) -> dict:
    doc = json.loads(agent.MODEL.read_text())
    nodes = {n["id"]: n for n in doc["nodes"]}
    for (node, name), value in FORMER.items():
        nodes[node]["params"][name] = value
    enc, rule, act, lat = (nodes[k]["params"] for k in ("obs", "rstdp", "act", "lateral"))
    lat["weights"] = [FORMER_LAT] * len(lat["weights"])
    for k in ("low", "high"):
        if k in kv:
            enc[k] = [float(v) for v in kv[k].split(",")]
    if "n" in kv:
        enc["n"] = int(kv["n"])
        nodes["in_act"]["params"]["weight"] = 2400.0 / (4 * enc["n"])
        nodes["in_act"]["params"]["weight_std"] = 2400.0 / (4 * enc["n"]) / 3
    for k in ("width", "max_rate"):
        if k in kv:
            enc[k] = float(kv[k])
    for k in ("eta", "tau_e", "a_minus", "a_plus"):
        if k in kv:
            rule[k] = float(kv[k])
    for k in ("i_bias", "tau_m"):
        if k in kv:
            act[k] = float(kv[k])
    if "lat" in kv:
        lat["weights"] = [float(kv["lat"])] * len(lat["weights"])
    if "lat_tau" in kv:
        lat["tau_syn"] = float(kv["lat_tau"])
    if "target" in kv:
        nodes["norm"]["params"]["target"] = float(kv["target"])
    return doc


class Toward(CartPole):
    """CartPole whose reward is +scale when the action moved ``w . s`` towards 0, -scale when not (failure: as
    CartPole's)."""

    def step(self, key, state, action):
        s, _ = state
        s2, st2, _, term, trunc = super().step(key, state, action)
        w = jnp.asarray(SURFACE, jnp.float32)
        a, b = jnp.dot(w, s), jnp.dot(w, s2)
        r = jnp.where(term, self.failure, self.scale * jnp.sign(-a * (b - a)))
        return s2, st2, r.astype(jnp.float32), term, trunc


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    episodes, kv = int(argv[0]), dict(a.split("=", 1) for a in argv[1:])
    seeds = [int(s) for s in kv.get("seeds", "0,1,2,3,4").split(",")]
    doc = model(kv)
    brains = [spark.Brain.from_dict({**doc, "seed": s}) for s in seeds]
    cls = Toward if kv.get("toward") == "1" else CartPole
    env = cls(shaping=agent.SHAPING, scale=agent.SCALE, failure=agent.FAILURE, binary=agent.BINARY)
    t0 = time.time()

    def line(done, ln):
        ln = np.atleast_2d(ln)
        print(f"episode {done:4d} avg100 " + " ".join(f"{x[-100:].mean():6.1f}" for x in ln)
              + f" ({time.time() - t0:.0f} s)", flush=True)

    # fresh=1: the action populations and the synapses onto them start every window afresh (the shipped agent's loop)
    loop = attrs.evolve(agent.make_loop(), reset_window=agent.FRESH if kv.get("fresh") == "1" else ())
    out = spark.loop.interact(brains, env, loop, episodes, seed=seeds[0],
                              chunk=int(kv.get("chunk", 50)), on_episode=line)
    n_eval = int(kv.get("eval", 20))
    test = spark.loop.interact(brains, env, loop, n_eval, seed=1000, learn=False, chunk=n_eval)
    print("avg100 at the end  " + " ".join(f"{o.moving_average(100)[-1]:6.1f}" for o in out))
    print("learning off: mean " + " ".join(f"{e.lengths.mean():6.1f}" for e in test)
          + "  min " + " ".join(f"{int(e.lengths.min()):4d}" for e in test))


if __name__ == "__main__":
    main()
