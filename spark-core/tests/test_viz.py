"""spark.viz: each plot on a small known recording draws exactly what was recorded (no JAX run needed)."""

from __future__ import annotations

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import spark  # noqa: E402
from spark import viz  # noqa: E402

DT = 0.5


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def spikes():
    """Population a: neuron i fires every (i + 2) steps from step i; b: neuron 0 at steps 3 and 9 only."""
    a = np.zeros((40, 4), bool)
    for i in range(4):
        a[i::i + 2, i] = True
    b = np.zeros((40, 2), bool)
    b[[3, 9], 0] = True
    return {"a": a, "b": b}


def recording(spikes, extra=None, info_extra=None):
    arrays = {"a.spikes": spikes["a"], "b.spikes": spikes["b"], **(extra or {})}
    info = {"a.spikes": {"node": "a", "attr": "spikes", "payload": "Spikes", "every": 1},
            "b.spikes": {"node": "b", "attr": "spikes", "payload": "Spikes", "every": 1}, **(info_extra or {})}
    return spark.Recording(arrays, dt=DT, steps=40, info=info)


def test_raster_draws_one_point_per_spike_in_one_colour_per_population(spikes):
    ax = viz.raster(spikes, DT)
    assert [len(c.get_offsets()) for c in ax.collections] == [spikes["a"].sum(), spikes["b"].sum()]
    t, n = np.nonzero(spikes["a"])
    # a spike emitted in step k is drawn at its time stamp (k + 1) dt (docs/time.md)
    np.testing.assert_allclose(ax.collections[0].get_offsets(), np.c_[(t + 1) * DT, n])
    np.testing.assert_allclose(ax.collections[1].get_offsets(), [[4 * DT, 4], [10 * DT, 4]])  # stacked above a
    colours = {tuple(c.get_edgecolor()[0]) for c in ax.collections}
    assert len(colours) == 2
    assert ax.get_xlabel() == "time (ms)" and ax.get_xlim() == (0, 40 * DT)
    # a Recording labels by node, and thinning keeps the count in the label
    ax = viz.raster(recording(spikes), max_points=5)
    assert len(ax.collections[0].get_offsets()) == 5
    assert ax.get_legend().get_texts()[0].get_text() == f"a ({spikes['a'].sum()} spikes)"


def test_rate_lines_are_the_population_rates(spikes):
    ax = viz.rate(spikes, DT, window=None)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), spikes["a"].mean(axis=1) * 1000 / DT)
    np.testing.assert_allclose(ax.lines[0].get_xdata(), np.arange(1, 41) * DT)
    smooth = viz.rate(spikes, DT, window=2.0).lines[1].get_ydata()  # 4-step window
    assert smooth.sum() == pytest.approx(spikes["b"].mean(axis=1).sum() * 1000 / DT, rel=0.3)
    assert ax.get_ylabel() == "population rate (Hz)"
    # a rate monitor's samples are drawn as they are (with every = 2: after steps 1, 3, ..., at 2 dt, 4 dt, ...)
    given = np.arange(20, dtype=np.float32)
    rec = spark.Recording({"c.spikes:rate@2": given}, dt=DT, steps=40,
                          info={"c.spikes:rate@2": {"node": "c", "reduce": "rate", "every": 2}})
    line = viz.rate(rec, window=None).lines[0]
    np.testing.assert_allclose(line.get_ydata(), given)
    np.testing.assert_allclose(line.get_xdata(), (np.arange(20) + 1) * 2 * DT)
    np.testing.assert_allclose(line.get_xdata(), rec.times("c.spikes:rate@2"))


def test_traces_plot_the_recorded_values_and_mark_each_spike(spikes):
    v = np.cumsum(np.random.default_rng(0).normal(size=(40, 3)), axis=0) - 65.0
    ax = viz.traces(v, DT, spikes=spikes["a"][:, :3], neurons=[5, 6, 7])
    assert len(ax.lines) == 3
    for i, line in enumerate(ax.lines):
        np.testing.assert_allclose(line.get_ydata(), v[:, i])
        np.testing.assert_allclose(line.get_xdata(), np.arange(1, 41) * DT)
    marks = [c.get_offsets() for c in ax.collections]
    assert [len(m) for m in marks] == list(spikes["a"][:, :3].sum(axis=0))
    np.testing.assert_allclose(marks[2][:, 0], (np.flatnonzero(spikes["a"][:, 2]) + 1) * DT)
    assert np.all(marks[0][:, 1] > v.max())  # above the traces
    assert ax.get_ylabel() == "membrane potential (mV)"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["neuron 5", "neuron 6", "neuron 7"]


def test_isi_histogram_counts_every_interval_and_reports_cv(spikes):
    ax = viz.isi_histogram({"a": spikes["a"]}, DT, bins=20)
    heights = [p.get_height() for p in ax.patches]
    expected = viz.isis(spikes["a"], DT)
    assert sum(heights) == len(expected) == sum(int(c.sum()) - 1 for c in spikes["a"].T)
    assert sorted(set(expected)) == [2 * DT, 3 * DT, 4 * DT, 5 * DT]
    cv = expected.std() / expected.mean()
    assert f"CV {cv:.2f}" in ax.get_legend().get_texts()[0].get_text()
    assert ax.get_xlabel() == "inter-spike interval (ms)"
    np.testing.assert_allclose(viz.isis(spikes["b"], DT), [6 * DT])


def test_rate_histogram_counts_every_neuron(spikes):
    ax = viz.rate_histogram(spikes, DT, bins=10)
    assert sum(p.get_height() for p in ax.patches) == 6
    np.testing.assert_allclose(viz.firing_rates(spikes["b"], DT), [2 / (40 * DT / 1000), 0.0])
    assert ax.get_xlabel() == "firing rate (Hz)"


def test_weight_matrix_shows_the_weights_with_a_unit():
    w = np.arange(12, dtype=float).reshape(4, 3) - 3.0
    ax = viz.weight_matrix(w, unit="nS")
    np.testing.assert_array_equal(ax.images[0].get_array(), w)
    assert ax.images[0].get_cmap().name == "RdBu_r" and ax.images[0].get_clim() == (-8.0, 8.0)  # signed: centred
    assert ax.figure.axes[1].get_ylabel() == "weight (nS)"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("postsynaptic neuron", "presynaptic neuron")


def test_receptive_fields_tile_each_neurons_weights_as_an_image():
    rng = np.random.default_rng(1)
    w = rng.uniform(size=(28 * 28, 10))
    ax = viz.receptive_fields(w, image_shape=(28, 28))
    tiles = np.asarray(ax.images[0].get_array())
    assert len(ax.images) == 1 and tiles.shape == (3 * 29 - 1, 4 * 29 - 1)  # 4 columns, 3 rows, 1-pixel gaps
    for j in range(10):
        r, c = divmod(j, 4)
        np.testing.assert_array_equal(tiles[r * 29: r * 29 + 28, c * 29: c * 29 + 28], w[:, j].reshape(28, 28))
    assert np.isnan(tiles[28, 0]) and np.isnan(tiles[-1, -1])  # gaps and the empty last tiles
    chosen = viz.receptive_fields(w, (28, 28), neurons=[7], normalize=True, ncols=1)
    np.testing.assert_allclose(chosen.images[0].get_array(), (w[:, 7] / w[:, 7].max()).reshape(28, 28))
    with pytest.raises(ValueError, match="n_in = 784"):
        viz.receptive_fields(w.T, (28, 28))


def test_weight_evolution_draws_the_chosen_synapses_and_their_mean():
    w = np.stack([np.array([[1.0, 0.0], [2.0, 3.0]]) * (1 + 0.1 * k) for k in range(5)])  # 5 samples
    ax = viz.weight_evolution(w, DT, every=10, synapses=[0, 3])
    assert len(ax.lines) == 3
    np.testing.assert_allclose(ax.lines[0].get_xdata(), (np.arange(5) + 1) * 10 * DT)  # after steps 9, 19, ...
    np.testing.assert_allclose(ax.lines[1].get_ydata(), w[:, 1, 1])
    np.testing.assert_allclose(ax.lines[2].get_ydata(), w.reshape(5, -1)[:, [0, 2, 3]].mean(axis=1))  # 0 left out
    assert "3 synapses" in ax.get_legend().get_texts()[0].get_text()


def test_figures_save_as_png_and_svg_with_text_kept(tmp_path, spikes):
    ax = viz.raster(spikes, DT)
    png = viz.save(ax, tmp_path / "r.png")
    svg = viz.save(ax.figure, tmp_path / "r.svg")
    assert png.read_bytes()[:4] == b"\x89PNG"
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml") and "time (ms)" in text


def test_plot_recording_writes_what_it_can_and_says_what_is_missing(tmp_path, spikes):
    v = np.linspace(-70, -50, 40 * 2).reshape(40, 2)
    rec = recording(spikes, {"a.v[0:2]": v, "syn.weight@10": np.ones((4, 6, 4))},
                    {"a.v[0:2]": {"node": "a", "attr": "v", "payload": "Voltage", "unit": "mV", "neurons": [0, 1],
                                  "every": 1},
                     "syn.weight@10": {"node": "syn", "attr": "weight", "every": 10, "shape": [6, 4],
                                       "value_shape": [6, 4]}})
    written, skipped = viz.plot_recording(rec, ["all"], tmp_path, fmt="svg", title="t",
                                          image_shapes={"syn": (2, 3)}, strict=False)
    assert set(written) == set(viz.PLOTS) and not skipped
    assert [p.name for p in written["weights"]] == ["weights-syn.svg"]
    voltage = (tmp_path / "voltage.svg").read_text()
    assert "membrane potential" in voltage
    bare = recording(spikes)
    written, skipped = viz.plot_recording(bare, ["raster", "voltage"], tmp_path / "b", strict=False)
    assert list(written) == ["raster"] and "exc.v[0:5]" in skipped["voltage"]
    with pytest.raises(viz.PlotUnavailable, match="no voltage was recorded"):
        viz.plot_recording(bare, ["voltage"], tmp_path / "c")
    with pytest.raises(viz.PlotUnavailable, match="unknown plot"):
        viz.plot_recording(bare, ["pie"], tmp_path / "c")


def test_the_command_line_checks_plot_names():
    import click

    from spark.cli.run import plot_kinds

    assert plot_kinds(["rate,isi", "rate"]) == (["raster", "rate", "isi"], {"rate", "isi"})
    assert plot_kinds(["all"], default=())[0] == list(viz.PLOTS)
    with pytest.raises(click.BadParameter, match="'pie'; choose from raster, rate"):
        plot_kinds(["pie"])
