"""Hard weight bounds as a rule of its own."""

from __future__ import annotations

import spark

from ._learning import check_bounds


@spark.params
class WeightBoundsParams:
    w_min: float = spark.param(0.0, unit="pA", doc="lower weight bound")
    w_max: float = spark.param(100.0, unit="pA", doc="upper weight bound (>= w_min)")


class WeightBounds(spark.LearningRule):
    """Clip every existing synapse's weight to ``[w_min, w_max]`` each step.

    ``w <- min(max(w, w_min), w_max)``; absent synapses stay absent. Rules apply in the order they are attached,
    so attaching ``weight_bounds`` last bounds the result of all the rules before it (e.g. after
    ``weight_normalization``, or after ``oja``, which has no bounds of its own).

    Ports: none (it reads only the synapse's weights).
    """

    name = "weight_bounds"
    partitionable = True  # per postsynaptic neuron (weight column): splits across devices (docs/scaling.md)
    Params = WeightBoundsParams
    inputs = {}
    outputs = {}

    def __init__(self, shape, *, params=None, rngs=None, dt=None, **values):
        super().__init__(shape, params=params, rngs=rngs, dt=dt, **values)
        check_bounds(self.name, self.params.w_min, self.params.w_max, strict=False)

    def __call__(self, synapse, *, dt):
        return synapse.clip(synapse.weight[...], self.params.w_min, self.params.w_max)
