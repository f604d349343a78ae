"""One network split by neuron across devices (docs/scaling.md, "One network across devices") with this pack's
components: LIF populations, dense exp_synapse projections with pair STDP, weight normalisation and a Hebbian rule,
split over 8 host devices, equal the unsplit run bit for bit on the native and the JAX paths (each device runs the
kernels on its own columns), exchange only bit-packed spikes, restore onto another number of devices; so does sparse
storage, with per-synapse delays and a rule with per-synapse state.

The multi-device checks run in a fresh process with 8 host devices (this process's JAX has started with one)."""

from __future__ import annotations

from pathlib import Path

import pytest

from spark.testing import run_on_host_devices
from spark_components import native

HERE = Path(__file__).parent
pytestmark = pytest.mark.skipif(not native.kernels(), reason="native kernels unavailable")


@pytest.fixture(scope="module")
def results() -> dict:
    out = run_on_host_devices(HERE / "partition_native_checks.py", 8, timeout=900)
    assert out["devices"] == 8 and out["native_usable"]
    return out


@pytest.mark.parametrize("path", ["native", "jax"])
def test_split_network_equals_unsplit_bit_for_bit(results, path):
    r = results[path]
    assert r["active"] and r["plastic"], "the network must spike and both plastic projections learn"
    assert r["equal"]
    assert r["equal_after_restore"], "saved after a run on 8 devices, run on 4 and on 1: the same"


@pytest.mark.parametrize("path", ["native", "jax"])
def test_only_bit_packed_spikes_cross_devices(results, path):
    r = results[path]
    # exc (64 neurons: 8 a device, one byte) and inh (16: 2 a device, one byte), each gathered once per step
    assert r["gathers"] == ["u8[8,1]{1,0}", "u8[8,1]{1,0}"], r["gathers"]
    assert r["other_collectives"] == 0
    if path == "native":  # each device calls the dense kernels on its own columns
        assert {"spark_deliver_dense", "spark_spike_update_dense"} <= set(r["kernels"]), r["kernels"]
    else:
        assert r["kernels"] == []


def test_a_surrogate_somas_float_spikes_cross_devices_as_bits(results):
    r = results["surrogate"]
    assert r["equal"] and r["float_spikes"] == "float32"
    assert r["gathers"] == ["u8[8,1]{1,0}", "u8[8,1]{1,0}"], r["gathers"]


@pytest.mark.parametrize("path", ["native", "jax"])
def test_sparse_storage_splits_bit_for_bit(results, path):
    """Rows of postsynaptic indices, per-synapse delays, the column index of event-driven STDP and a rule's
    eligibility trace per synapse: each device holds its synapses packed out of the rows (sparse_split.py)."""
    r = results["sparse"][path]
    assert r["sparse"] and r["plastic"]
    assert r["equal"], "two chunks, then a second run from the state the split run left: as unsplit"
    assert r["equal_after_restore"], "saved after runs on 8 devices, restored and run on 4: as unsplit"
    assert r["gathers"] and set(r["gathers"]) == {"u8[8,1]{1,0}"}, r["gathers"]
    assert r["other_collectives"] == 0
    if path == "native":  # each device calls the sparse kernels on its own synapses
        assert {"spark_deliver", "spark_spike_update"} <= set(r["kernels"]), r["kernels"]
        assert any(k.startswith("spark_deliver_delayed") for k in r["kernels"]), r["kernels"]
