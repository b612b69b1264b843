"""The optional protobuf encoding of stream entries (``proto/feedgate/events.proto``).

Field names in the .proto match the event Structs' names, so one generic
conversion serves every kind; ``tests/test_protobuf_encoding.py`` keeps the
two schemas in step.
"""

from __future__ import annotations

import msgspec

from gateway.events import EVENT_TYPES, Event
from proto.feedgate import events_pb2

#: Fields of the Event envelope; every other field goes into the kind's body.
ENVELOPE = frozenset({"topic", "source", "exchange", "base", "quote", "ts", "recv_ts"})


class ProtobufEncoder:
    """Serialises events as ``feedgate.events.Event`` bytes."""

    def __init__(self) -> None:
        self._layouts: dict[type[Event], tuple[str, tuple[tuple[str, bool], ...]]] = {}
        for cls in EVENT_TYPES:
            tag = cls.__struct_config__.tag
            assert isinstance(tag, str)
            fields = tuple((name, name in ENVELOPE) for name in cls.__struct_fields__)
            self._layouts[cls] = (tag, fields)

    def encode(self, event: Event) -> bytes:
        body_name, fields = self._layouts[type(event)]
        message = events_pb2.Event()
        body = getattr(message, body_name)
        body.SetInParent()
        for (name, envelope), value in zip(fields, msgspec.structs.astuple(event), strict=True):
            if value is not None:
                setattr(message if envelope else body, name, value)
        return bytes(message.SerializeToString())
