"""Current-based synapse delivering one-step current pulses."""

from __future__ import annotations

import spark

from .projection import Projection, ProjectionParams


@spark.params
class DeltaSynapseParams(ProjectionParams):
    pass


class DeltaSynapse(Projection):
    """Delta synapse: each arriving spike is a current pulse of ``w`` (pA) lasting exactly one step.

    ``i(t) = sum_j pre_j(t) w[j, k]`` — the charge delivered is ``w * dt`` (fC for pA and ms). Into a LIF soma this
    moves ``v`` by about ``w dt / c_m`` (mV), the usual "voltage jump" of delta synapses for ``dt << tau_m``.

    Ports:
        pre (in, Spikes): presynaptic spikes, shape ``(n_pre,)``.
        i (out, Current, pA): synaptic current, shape ``(n_post,)``.
    """

    name = "delta_synapse"
    Params = DeltaSynapseParams
    inputs = {"pre": spark.Port(spark.Spikes, "presynaptic spikes", optional=False)}
    outputs = {"i": spark.Port(spark.Current, "postsynaptic current (pA)")}

    def __call__(self, *, dt, pre):
        return {"i": self.deliver(pre)}
