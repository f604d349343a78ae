"""Every built-in synapse gives the same input on the native kernel, the pure-JAX event path and dense storage (on
its native row-adding kernel and on the JAX matrix product)."""

from __future__ import annotations

import numpy as np
import pytest
from flax import nnx
from test_storage import raster, run_steps

from spark_components import (
    AlphaSynapse,
    DeltaSynapse,
    DualExpSynapse,
    ExpConductance,
    ExpSynapse,
    TsodyksMarkram,
    native,
    projection,
)

KINDS = [DeltaSynapse, ExpSynapse, AlphaSynapse, DualExpSynapse, ExpConductance, TsodyksMarkram]


@pytest.mark.parametrize("delayed", [False, True], ids=["no_delays", "per_synapse_delays"])
@pytest.mark.parametrize("cls", KINDS, ids=[c.name for c in KINDS])
def test_every_synapse_kind_delivers_the_same_on_every_path(cls, delayed, monkeypatch):
    """Synapses fold their own decay into the native delivery call (``deliver(onto=..., factor=...)``): the result
    equals the pure-JAX event path and, without delays, dense storage on both of its paths."""
    shape, dt = (120, 90), 0.1
    kw = dict(p_connect=0.15, weight_init="uniform", weight=2.0, weight_std=1.0, dt=dt)
    if delayed:
        kw.update(delay=0.2, delay_jitter=0.6)
    spikes = raster(150, 120, [0.0, 0.02, 0.3], seed=3)
    out = {}
    for path in ("jax", "native"):
        if path == "native" and not native.kernels():
            continue
        monkeypatch.setattr(projection, "USE_NATIVE", path == "native")
        syn = cls(shape, storage="sparse", rngs=nnx.Rngs(4), **kw)
        out[path] = run_steps(syn, spikes, dt, port=next(iter(cls.outputs)))
    if not delayed:  # dense storage: spikes @ weight (JAX), or the rows of the spiking neurons added (native)
        for path in ("jax", "native"):
            if path == "native" and not native.kernels():
                continue
            monkeypatch.setattr(projection, "USE_NATIVE", path == "native")
            dense = cls(shape, storage="dense", rngs=nnx.Rngs(4), **kw)
            out[f"dense-{path}"] = run_steps(dense, spikes, dt, port=next(iter(cls.outputs)))
    ref = out["jax"]
    assert np.abs(ref).max() > 0.5, "something was delivered"
    for path, got in out.items():
        np.testing.assert_allclose(got, ref, rtol=2e-5, atol=2e-4, err_msg=path)
