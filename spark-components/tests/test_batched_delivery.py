"""Native delivery under ``vmap``: one call of the ``*_batch`` kernels delivers every trial, with the storage shared by
the trials (a batched run with learning off) or per trial (a loop that carries per-trial copies), with and without the
weights passed through (a rule attached); each trial gets what it gets delivered on its own."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from test_storage import raster, run_steps

import spark
from spark_components import DeltaSynapse, ExpSynapse, TsodyksMarkram, native, projection

pytestmark = pytest.mark.skipif(not native.kernels(), reason="native kernels unavailable")

# DeltaSynapse: no onto; ExpSynapse: onto and factor; TsodyksMarkram: onto, factor and per-trial efficacy
KINDS = [DeltaSynapse, ExpSynapse, TsodyksMarkram]
CASES = [("dense", False), ("sparse", False), ("sparse", True)]
B, T, DT = 3, 60, 0.1


def batched_run(syn, spikes, port, shared_weights=True):
    """``spikes`` (B, T, n_pre): the trials side by side under ``vmap``, weights shared (unbatched) or per trial."""
    graph, fixed, state = nnx.split(syn, nnx.Any(spark.Weight, spark.Const), ...)
    state = jax.tree.map(lambda a: jnp.broadcast_to(a, (B, *a.shape)), state)
    if not shared_weights:
        fixed = jax.tree.map(lambda a: jnp.broadcast_to(a, (B, *a.shape)), fixed)

    def trial(fixed, state, spikes):
        def body(carry, s):
            m = nnx.merge(graph, *carry)
            out = m(dt=DT, pre=s)
            return nnx.split(m, nnx.Any(spark.Weight, spark.Const), ...)[1:], out[port]
        return jax.lax.scan(body, (fixed, state), spikes)[1]

    run = jax.jit(jax.vmap(trial, in_axes=(None if shared_weights else 0, 0, 0)))
    text = run.lower(fixed, state, jnp.asarray(spikes)).as_text()
    return np.asarray(run(fixed, state, jnp.asarray(spikes))), text


@pytest.mark.parametrize("keep", [False, True], ids=["plain", "pass_through"])
@pytest.mark.parametrize("storage, delayed", CASES, ids=[f"{s}{'-delays' if d else ''}" for s, d in CASES])
@pytest.mark.parametrize("cls", KINDS, ids=[c.name for c in KINDS])
def test_batched_native_delivery_equals_per_trial(cls, storage, delayed, keep, monkeypatch):
    monkeypatch.setattr(projection, "USE_NATIVE", True)
    kw = dict(p_connect=0.2, weight_init="uniform", weight=2.0, weight_std=1.0, dt=DT, storage=storage)
    if delayed:
        kw.update(delay=0.2, delay_jitter=0.6)
    syn = cls((70, 40), rngs=nnx.Rngs(2), **kw)
    if keep:
        syn.pass_weights_through()
    port = next(iter(cls.outputs))
    spikes = np.stack([raster(T, 70, [0.0, 0.05, 0.4], seed=s) for s in range(B)])
    ref = np.stack([run_steps(syn, spikes[b], DT, port=port) for b in range(B)])
    assert np.abs(ref).max() > 0.5, "something was delivered"
    assert not np.allclose(ref[0], ref[1]), "the trials differ"
    for shared in (True, False):
        got, text = batched_run(syn, spikes, port, shared_weights=shared)
        assert text.count("@spark_deliver") == 1 and "_batch" in text, "one call of the batched kernel"
        assert ("_keep_batch" in text) == (keep and not shared), "shared weights are not passed through per trial"
        np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-5, err_msg=f"shared={shared}")
