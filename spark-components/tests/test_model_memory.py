"""The model-memory check (issue 15): a model too large for the memory available is refused with the estimate,
what dominates and the fix before anything is allocated; the estimate of small models matches their real state.

None of these tests allocates a large array: the refused models are refused before building, and the process's
peak memory is checked not to grow.
"""

from __future__ import annotations

import resource
import warnings

import jax
import numpy as np
import pytest
from click.testing import CliRunner
from flax import nnx

import spark
import spark.recording
from spark.memory import RUN_FACTOR, budget, parse_limit
from spark_components import connectivity as conn

GiB = 2**30


def _peak() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _refused(brain: spark.Brain) -> str:
    before = _peak()
    with pytest.raises(spark.ModelMemoryError) as err:
        brain.build()
    assert _peak() - before < 200 * 2**20, "the refused model was (partly) allocated"
    assert len(brain.nodes) == 0
    return str(err.value)


def _pair(n_pre, n_post, **syn):
    b = spark.Brain(dt=0.1, name="big")
    b.add("a", "lif", shape=n_pre).add("b", "lif", shape=n_post).add("s", "exp_synapse", **syn)
    b.connect("a.spikes", "s.pre").connect("s.i", "b.i_syn").output("spikes", "b.spikes")
    return b


@pytest.fixture
def limit_16gib(monkeypatch):
    """Pretend 16 GiB are available, whatever this machine has."""
    monkeypatch.delenv("SPARK_MEMORY_LIMIT", raising=False)
    monkeypatch.setattr(spark.recording, "available_memory", lambda: 16 * GiB)
    monkeypatch.setattr(spark.recording, "device_memory_free", lambda: None)


def test_a_population_of_a_billion_neurons_is_refused_with_the_number(limit_16gib):
    b = spark.Brain(dt=0.1, name="huge")
    b.add("exc", "lif", shape=10**9).output("spikes", "exc.spikes")
    msg = _refused(b)
    est = b.estimate_memory()
    assert est.parts[0][0] == "node" and est.state >= 10**9 * 4  # at least a float32 per neuron
    assert "GiB" in msg and "node 'exc'" in msg and "16.0 GiB" in msg
    assert "shape" in msg and "SPARK_MEMORY_LIMIT" in msg  # the fix and the override


def test_a_30k_by_30k_all_to_all_synapse_is_refused_and_named(limit_16gib):
    b = _pair(30_000, 30_000, connectivity="all_to_all")
    msg = _refused(b)
    est = b.estimate_memory()
    assert est.parts[0][:2] == ("synapse", "node 's' (spark-components:exp_synapse, shape [30000, 30000])")
    assert est.parts[0][2] >= 30_000**2 * 5  # dense float32 weights and bool mask
    assert "synapses" in msg and "fixed_probability" in msg  # what dominates and the fix


def test_sparse_connectivity_of_the_same_populations_is_estimated_sparse(limit_16gib):
    b = _pair(30_000, 30_000, connectivity="fixed_indegree", degree=100)
    est = b.estimate_memory()
    syn = dict((label.split()[1], nbytes) for _w, label, nbytes in est.parts)["'s'"]
    assert 100 * 30_000 * 9 <= syn < 3 * 100 * 30_000 * 9  # slots of index, weight and mask; padded to max degree
    assert est.fits()


def test_a_huge_edge_delay_buffer_is_refused(limit_16gib):
    b = _pair(1000, 1000, connectivity="fixed_probability", p_connect=0.01)
    # an edge delay of 1e6 ms: a ring of 1e7 steps of 1000 spikes, 9.3 GiB
    b._edit(lambda d: d["edges"][0].update(delay=1e6))
    msg = _refused(b)
    assert "delay buffer of a.spikes (10000001 steps) 9.3 GiB" in msg
    assert "delay" in msg.split("Fix:")[1]


def test_a_huge_per_synapse_delay_ring_is_refused(limit_16gib):
    b = _pair(1000, 100_000, connectivity="fixed_probability", p_connect=0.001, delay=1e5)
    msg = _refused(b)
    assert "node 's'" in msg  # depth 1e6 steps x 100,000 post neurons x float32


def test_from_file_and_spark_run_report_it_as_a_message(tmp_path, limit_16gib):
    b = spark.Brain(dt=0.1, name="huge")
    b.add("exc", "lif", shape=10**9).output("spikes", "exc.spikes")
    path = tmp_path / "huge.spark"
    b.to_file(path)
    with pytest.raises(spark.ModelMemoryError, match="this model needs about"):
        spark.Brain.from_file(path)
    from spark.cli import main

    res = CliRunner().invoke(main, ["run", str(path), "--steps", "5", "--out", str(tmp_path / "out")])
    assert res.exit_code == 1, res.output
    assert "this model needs about" in res.output and "Traceback" not in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)


def test_the_limit_can_be_set_or_switched_off(monkeypatch):
    assert parse_limit("64GiB") == 64 * GiB and parse_limit("500MB") == 500 * 10**6
    assert parse_limit("2g") == 2 * GiB and parse_limit("1000") == 1000 and parse_limit("off") == 0
    with pytest.raises(spark.ModelMemoryError, match="not a size"):
        parse_limit("lots")
    monkeypatch.setenv("SPARK_MEMORY_LIMIT", "off")
    assert budget() == (None, "off")
    small = spark.Brain(dt=0.1).add("exc", "lif", shape=1000).output("spikes", "exc.spikes")
    monkeypatch.setenv("SPARK_MEMORY_LIMIT", "10KiB")  # 1000 LIF neurons need more than 9 KiB
    with pytest.raises(spark.ModelMemoryError, match=r"10.0 KiB \(SPARK_MEMORY_LIMIT\)"):
        small.build()
    monkeypatch.setenv("SPARK_MEMORY_LIMIT", "1GiB")
    small.build()


def _actual(brain) -> int:
    return sum(x.nbytes for x in jax.tree.leaves(nnx.state(brain)))


def _models():
    yield "dense", _pair(50, 40, connectivity="all_to_all")
    yield "sparse", _pair(2000, 500, connectivity="fixed_probability", p_connect=0.02)
    yield "indegree", _pair(3000, 300, connectivity="fixed_indegree", degree=20)
    yield "delays", _pair(400, 300, connectivity="fixed_probability", p_connect=0.05, delay=2.0, delay_jitter=3.0)
    b = _pair(300, 200, connectivity="fixed_probability", p_connect=0.1, storage="sparse")
    b.add("rule", "reward_stdp", attach="s").connect("a.spikes", "rule.pre").connect("b.spikes", "rule.post")
    yield "rule", b
    b = _pair(100, 100, connectivity="one_to_one")
    b.add("hh", "hodgkin_huxley", shape=500).add("izh", "izhikevich", shape=[20, 30])
    yield "somas", b


@pytest.mark.parametrize("name", [n for n, _ in _models()])
def test_the_estimate_of_small_models_is_within_a_factor_2_of_their_state(name, monkeypatch):
    monkeypatch.setenv("SPARK_MEMORY_LIMIT", "off")
    brain = dict(_models())[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            est = brain.estimate_memory()
        except spark.SparkFileError as exc:
            pytest.fail(str(exc))
        brain.build()
    actual = _actual(brain)
    assert actual / 2 <= est.state <= 2 * actual, (name, est.state, actual)
    assert est.bytes >= RUN_FACTOR * est.state


@pytest.mark.parametrize("rule, kw", [("all_to_all", {}), ("one_to_one", {}), ("fixed_probability", {"p": 0.05}),
                                      ("fixed_probability", {"p": 0.6}), ("fixed_indegree", {"degree": 7}),
                                      ("fixed_outdegree", {"degree": 9}),
                                      ("explicit", {"pre": (0, 0, 3, 5), "post": (1, 2, 2, 0)})])
@pytest.mark.parametrize("autapses", [True, False])
def test_expected_synapses_match_what_connect_makes(rule, kw, autapses):
    n = 400 if rule != "explicit" else 8
    pre, _post = conn.connect(rule, n, n, np.random.default_rng(3), autapses=autapses, **kw)
    nnz, k = conn.expected_synapses(rule, n, n, autapses=autapses, **{key: v for key, v in kw.items() if key != "post"})
    if rule == "fixed_probability":
        assert abs(nnz - len(pre)) < 0.1 * len(pre)
    else:
        assert nnz == len(pre)
    assert k >= np.bincount(pre, minlength=n).max()


def test_spark_validate_prints_the_estimate_and_warns_when_it_would_not_fit(tmp_path, limit_16gib):
    from spark.cli import main

    small = spark.Brain(dt=0.1, name="small").add("exc", "lif", shape=100).output("spikes", "exc.spikes")
    small.to_file(tmp_path / "small.spark")
    res = CliRunner().invoke(main, ["validate", str(tmp_path / "small.spark")])
    assert res.exit_code == 0 and "memory: about" in res.output and "would not fit" not in res.output
    _pair(30_000, 30_000, connectivity="all_to_all").to_file(tmp_path / "big.spark")
    res = CliRunner().invoke(main, ["validate", str(tmp_path / "big.spark")])
    assert res.exit_code == 0, res.output  # a valid file: it is this machine that is too small
    assert "valid" in res.output and "would not fit here" in res.output and "fixed_probability" in res.output


def test_a_batched_run_of_too_many_trials_is_refused_before_running(monkeypatch):
    monkeypatch.setenv("SPARK_MEMORY_LIMIT", "1GiB")
    b = spark.Brain(dt=0.1, name="trials")
    b.add("x", "lif", shape=1).add("pop", "lif", shape=10_000)
    b.input("drive", "x.i_syn").input("bias", "pop.i_syn", value=0.0).output("spikes", "x.spikes")
    b.build()
    drive = np.zeros((100_000, 1), np.float32)  # 100,000 trials of ~80 KB of state each: 7.5 GiB x 4
    before = _peak()
    with pytest.raises(spark.ModelMemoryError, match=r"100,000 trials") as err:
        b.run({"drive": drive}, steps=5, batched=True, record=[])
    assert _peak() - before < 200 * 2**20
    assert "batches of at most" in str(err.value) and "SPARK_MEMORY_LIMIT" in str(err.value)
    out = b.run({"drive": drive[:4]}, steps=5, batched=True)  # a few trials run
    assert np.asarray(out["spikes"]).shape == (4, 5, 1)
