"""Port declarations of components."""

from __future__ import annotations

import attrs

from .payloads import PayloadType


@attrs.frozen
class Port:
    """An input or output of a component.

    The shape of a port is not part of the declaration: it follows from the node's shape
    (see :meth:`spark.Component.port_shapes`).

    Attributes:
        payload: the payload type carried.
        doc: what the port means, with units.
        optional: an input that may stay unconnected (it then reads zeros). ``False``: leaving it unconnected
            is a validation error.
        warn_unconnected: an optional input without which the component does nothing (an encoder's ``data``: it
            reads zeros and never spikes): leaving it unconnected validates, with a warning that names the port
            and the fix (``spark validate``, Brain build, the editor).
    """

    payload: PayloadType
    doc: str = ""
    optional: bool = True
    warn_unconnected: bool = False

    def to_json(self, name: str, direction: str) -> dict:
        return {
            "name": name,
            "direction": direction,
            "payload": self.payload.name,
            "unit": self.payload.unit,
            "doc": self.doc,
            "optional": self.optional,
        }
