"""Native delivery under ``vmap``: trials sharing one set of weights (a batched run with learning off) are delivered
by one call of the ``*_batch`` kernels, and each trial gets what it gets delivered on its own; with per-trial weights
the per-trial calls remain, with the same result."""

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
        def body(state, s):
            m = nnx.merge(graph, fixed, state)
            out = m(dt=DT, pre=s)
            return nnx.split(m, nnx.Any(spark.Weight, spark.Const), ...)[2], out[port]
        return jax.lax.scan(body, state, spikes)[1]

    run = jax.jit(jax.vmap(trial, in_axes=(None if shared_weights else 0, 0, 0)))
    text = run.lower(fixed, state, jnp.asarray(spikes)).as_text()
    return np.asarray(run(fixed, state, jnp.asarray(spikes))), text


@pytest.mark.parametrize("storage, delayed", CASES, ids=[f"{s}{'-delays' if d else ''}" for s, d in CASES])
@pytest.mark.parametrize("cls", KINDS, ids=[c.name for c in KINDS])
def test_batched_native_delivery_equals_per_trial(cls, storage, delayed, monkeypatch):
    monkeypatch.setattr(projection, "USE_NATIVE", True)
    kw = dict(p_connect=0.2, weight_init="uniform", weight=2.0, weight_std=1.0, dt=DT, storage=storage)
    if delayed:
        kw.update(delay=0.2, delay_jitter=0.6)
    syn = cls((70, 40), rngs=nnx.Rngs(2), **kw)
    port = next(iter(cls.outputs))
    spikes = np.stack([raster(T, 70, [0.0, 0.05, 0.4], seed=s) for s in range(B)])
    ref = np.stack([run_steps(syn, spikes[b], DT, port=port) for b in range(B)])
    assert np.abs(ref).max() > 0.5, "something was delivered"
    assert not np.allclose(ref[0], ref[1]), "the trials differ"
    got, text = batched_run(syn, spikes, port)
    assert "_batch" in text, "shared weights: one call of the batched kernel"
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-5)
    got, text = batched_run(syn, spikes, port, shared_weights=False)
    assert "_batch" not in text, "per-trial weights: a call per trial"
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-5)
