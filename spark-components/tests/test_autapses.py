"""Autapses exist only within one population (NEST's ``allow_autapses``, PyNN's ``allow_self_connections``).

``autapses=False`` removes ``i -> i`` only when the synapse joins a population to itself (the node feeding its
``pre`` port receives its output); between two populations of equal size every pair is a candidate.
``exclude_diagonal=True`` drops ``i -> i`` whatever the populations (Brian2's ``condition='i != j'``). Counts are
checked against the number of pairs, never against the code under test.
"""

from __future__ import annotations

import numpy as np
import pytest
from flax import nnx

import spark
from spark_components import ExpSynapse

N = 10


def two_populations(**syn) -> spark.Brain:
    brain = spark.Brain(dt=0.1, seed=4)
    brain.add("a", "lif", shape=N).add("b", "lif", shape=N).add("syn", "exp_synapse", p_connect=1.0, **syn)
    brain.connect("a.spikes", "syn.pre").connect("syn.i", "b.i_syn")
    return brain.build()


def one_population(**syn) -> spark.Brain:
    brain = spark.Brain(dt=0.1, seed=4)
    brain.add("a", "lif", shape=N).add("syn", "exp_synapse", p_connect=1.0, **syn)
    brain.connect("a.spikes", "syn.pre").connect("syn.i", "a.i_syn")
    return brain.build()


def mask(brain) -> np.ndarray:
    return np.asarray(brain.nodes["syn"].mask[...])


def test_between_two_populations_of_equal_size_autapses_false_keeps_every_pair():
    brain = two_populations(autapses=False)
    assert brain.nodes["syn"].same_population is False
    assert mask(brain).sum() == N * N  # 100, not 90
    assert mask(brain).all()


def test_within_one_population_autapses_false_removes_exactly_the_diagonal():
    brain = one_population(autapses=False)
    assert brain.nodes["syn"].same_population is True
    m = mask(brain)
    assert m.sum() == N * N - N
    assert not np.diag(m).any()
    assert m[~np.eye(N, dtype=bool)].all()


def test_within_one_population_autapses_true_keeps_the_diagonal():
    assert mask(one_population()).sum() == N * N


@pytest.mark.parametrize("builder", [one_population, two_populations])
def test_exclude_diagonal_drops_i_to_i_whatever_the_populations(builder):
    m = mask(builder(exclude_diagonal=True))
    assert m.sum() == N * N - N and not np.diag(m).any()


def test_fixed_indegree_between_populations_may_use_every_presynaptic_neuron():
    """With autapses=False an in-degree of N is possible between two populations, not within one (N - 1 left)."""
    m = mask(two_populations(connectivity="fixed_indegree", degree=N, autapses=False))
    assert (m.sum(axis=0) == N).all()
    with pytest.raises(spark.SparkFileError, match="degree"):
        one_population(connectivity="fixed_indegree", degree=N, autapses=False)


def test_sparse_storage_follows_the_same_rule():
    """The same pairs whichever storage holds them (sparse keeps one row per presynaptic neuron)."""
    for builder, expected in ((two_populations, N * N), (one_population, N * N - N)):
        syn = builder(autapses=False, storage="sparse").nodes["syn"]
        assert int(np.asarray(syn.mask[...]).sum()) == expected


def test_built_alone_a_square_synapse_is_taken_as_recurrent_unless_told():
    alone = ExpSynapse((N, N), p_connect=1.0, autapses=False, rngs=nnx.Rngs(0))
    assert alone.same_population is None and np.asarray(alone.mask[...]).sum() == N * N - N
    told = ExpSynapse((N, N), p_connect=1.0, autapses=False, same_population=False, rngs=nnx.Rngs(0))
    assert np.asarray(told.mask[...]).sum() == N * N


def test_exclude_diagonal_needs_as_many_pre_as_post():
    with pytest.raises(ValueError, match="exclude_diagonal"):
        ExpSynapse((N, N + 1), exclude_diagonal=True, rngs=nnx.Rngs(0))
