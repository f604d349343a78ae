"""Payload types: what flows along an edge of a Brain.

The set is open: a pack adds its own through the ``spark_payload_types`` hook.
"""

from __future__ import annotations

import attrs
import numpy as np


@attrs.frozen
class PayloadType:
    """A kind of signal carried by a port.

    Attributes:
        name: unique name, e.g. ``"Current"``.
        dtype: numpy dtype name of the arrays, e.g. ``"float32"``.
        unit: physical unit of the values (``""`` when unitless).
        doc: one line for humans.
        summable: several edges into one input port are summed when True, rejected when False.
        delayed: edges carrying this payload deliver what was emitted in the previous step (axonal delay of one dt).
        color: colour used to draw ports of this type (CSS colour).
    """

    name: str
    dtype: str
    unit: str = ""
    doc: str = ""
    summable: bool = True
    delayed: bool = False
    color: str = "#888888"

    def zeros(self, shape: tuple[int, ...]):
        """An all-zero array of this payload, used for unconnected inputs."""
        import jax.numpy as jnp

        return jnp.zeros(shape, dtype=np.dtype(self.dtype))

    def to_json(self) -> dict:
        return attrs.asdict(self)


Spikes = PayloadType(
    "Spikes", "bool", "", "spike events, one boolean per neuron and step",
    summable=False, delayed=True, color="#e4572e",
)
Current = PayloadType("Current", "float32", "pA", "synaptic or injected current", color="#29335c")
Voltage = PayloadType("Voltage", "float32", "mV", "membrane potential", color="#17bebb")
Conductance = PayloadType("Conductance", "float32", "nS", "synaptic conductance", color="#76b041")
Signal = PayloadType(
    "Signal", "float32", "", "unitless value: data, a decoded quantity, a reward or neuromodulator", color="#ffc914",
)

CORE_PAYLOADS: tuple[PayloadType, ...] = (Spikes, Current, Voltage, Conductance, Signal)
