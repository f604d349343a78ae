"""Brain.run(donate=True): the state's buffers go to the compiled run; results equal a run that keeps them."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from brain_parts import ALL, noisy_net
from flax import nnx

import spark
from spark.testing import isolated_registry

RECORD = ["noise.spikes", "out.y", "syn.weight", "rule.updates"]


@pytest.fixture
def reg():
    return isolated_registry(*ALL)


def drive(steps, seed=0):
    return np.random.default_rng(seed).uniform(0.2, 0.8, size=(steps, 4)).astype(np.float32)


def state_of(brain):
    return {"/".join(map(str, p)): np.asarray(v.get_value()) for p, v in nnx.to_flat_state(nnx.state(brain))}


@pytest.mark.parametrize("chunk", [None, 10])
def test_donating_run_equals_keeping_run(reg, chunk):
    x = drive(40)
    kept, given = noisy_net(reg), noisy_net(reg)
    a = kept.run({"p": x[:30]}, record=RECORD, chunk=chunk)
    b = given.run({"p": x[:30]}, record=RECORD, chunk=chunk, donate=True)
    a2 = kept.run({"p": x[30:]}, record=RECORD)  # the brain continues from the donating run's end
    b2 = given.run({"p": x[30:]}, record=RECORD, donate=True)
    for k in RECORD:
        np.testing.assert_array_equal(b[k], a[k], err_msg=k)
        np.testing.assert_array_equal(b2[k], a2[k], err_msg=k)
    sa, sb = state_of(kept), state_of(given)
    assert sa.keys() == sb.keys()
    for k in sa:
        np.testing.assert_array_equal(sb[k], sa[k], err_msg=k)
    assert not np.allclose(a["syn.weight"][0], a["syn.weight"][-1]), "the test must learn"


def test_donating_run_reuses_the_buffers(reg):
    """What donate=True is for: the arrays the brain held before the run are given away (deleted), and the
    arrays of a non-donating run are not."""
    brain = noisy_net(reg)
    w = brain.nodes["syn"].weight[...]  # the brain's own array, not a copy
    brain.run({"p": drive(5)}, record=[])
    assert not w.is_deleted()
    w = brain.nodes["syn"].weight[...]
    brain.run({"p": drive(5)}, record=[], donate=True)
    assert w.is_deleted()
    assert np.isfinite(np.asarray(brain.nodes["syn"].weight[...])).all()


def test_interrupted_donating_run_leaves_a_usable_brain(reg):
    """Stopped after the first chunk's records (while the second computes), the brain holds the second chunk's
    end: valid arrays, equal to an uninterrupted run of that length."""
    x = drive(40)
    ref = noisy_net(reg)
    ref.run({"p": x[:20]}, record=[])
    brain = noisy_net(reg)

    def stop(_rec):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        brain.run({"p": x}, record=["out.y"], chunk=10, on_chunk=stop, donate=True)
    assert int(brain.t[...]) == 20
    sa, sb = state_of(ref), state_of(brain)
    for k in sa:
        np.testing.assert_array_equal(sb[k], sa[k], err_msg=k)
    rest = brain.run({"p": x[20:]}, record=["out.y"], donate=True)
    assert rest["out.y"].shape[0] == 20


def test_donate_is_refused_where_it_cannot_apply(reg):
    brain = noisy_net(reg)
    with pytest.raises(spark.GraphError, match="donate=True"):
        brain.run({"p": drive(3)[None]}, batched=True, donate=True)
    with pytest.raises(spark.GraphError, match="donate"):
        brain.run({"p": drive(3)}, donate=1)
    assert not jax.tree.leaves(nnx.state(brain))[0].is_deleted()


def test_donating_stacked_run_equals_keeping_run(reg):
    """Nodes stepped as groups (spark.stacking): the packed state is donated, the brain ends the same."""
    from test_stacking import mixed

    kept, given = mixed(reg).build(), mixed(reg).build()
    rec = ["n0.spikes", "s1.weight", "th3.spikes"]
    a = kept.run(steps=30, record=rec, chunk=10)
    b = given.run(steps=30, record=rec, chunk=10, donate=True)
    for k in rec:
        np.testing.assert_array_equal(b[k], a[k], err_msg=k)
    sa, sb = state_of(kept), state_of(given)
    for k in sa:
        np.testing.assert_array_equal(sb[k], sa[k], err_msg=k)


def test_donating_runs_keep_the_state_reset_dynamic_returns_to(reg):
    """The build's snapshot of the dynamic state has arrays of its own: donating runs, resets and donating runs
    again equal the same sequence without donation."""
    x = drive(20)
    kept, given = noisy_net(reg), noisy_net(reg)
    for brain, donate in ((kept, False), (given, True)):
        brain.run({"p": x}, record=[], donate=donate)
        brain.reset_dynamic()
        brain.run({"p": x}, record=[], donate=donate)
        brain.reset_dynamic()
    a = kept.run({"p": x}, record=RECORD)
    b = given.run({"p": x}, record=RECORD, donate=True)
    for k in RECORD:
        np.testing.assert_array_equal(b[k], a[k], err_msg=k)
