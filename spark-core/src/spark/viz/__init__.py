"""Plots of recorded activity (matplotlib, an optional dependency: ``pip install 'spark-core[plot]'``).

Every function draws on ``ax`` (or a new figure sized for a paper) and returns the Axes; :func:`save` writes a
figure as PNG (300 dpi), SVG (text kept as text) or PDF. Times are in ms, rates in Hz, weights in the synapse's unit.

Spikes: :func:`raster`, :func:`rate`, :func:`isi_histogram`, :func:`rate_histogram` take a
:class:`spark.Recording`, a mapping population -> spikes ``(steps, *shape)`` or one spike array (then give ``dt``).
Traces: :func:`traces`. Weights: :func:`weight_matrix`, :func:`receptive_fields`, :func:`weight_evolution`.
Everything at once: :func:`plot_recording` (what ``spark run --plot`` and ``spark plot`` use).
"""

from ._recording import PLOTS as PLOTS
from ._recording import PlotUnavailable as PlotUnavailable
from ._recording import plot_recording as plot_recording
from ._spikes import firing_rates as firing_rates
from ._spikes import isi_histogram as isi_histogram
from ._spikes import isis as isis
from ._spikes import population_rate as population_rate
from ._spikes import raster as raster
from ._spikes import rate as rate
from ._spikes import rate_histogram as rate_histogram
from ._style import RC as RC
from ._style import save as save
from ._traces import traces as traces
from ._weights import mosaic as mosaic
from ._weights import receptive_fields as receptive_fields
from ._weights import weight_evolution as weight_evolution
from ._weights import weight_matrix as weight_matrix
