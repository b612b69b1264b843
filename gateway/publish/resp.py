"""Pure encoding of events as pipelined ``XADD`` commands in RESP.

The hot path builds RESP bytes itself (DESIGN.md, "Performance facts": about
1.6 µs per command against about 19 µs through redis-py's asyncio pipeline).
Each entry is flat field/value pairs: ``kind`` first, then the event's fields
in declaration order, leaving out ``topic`` (the stream key) and any field
whose value is ``None``. Booleans are written ``true``/``false``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import msgspec

from gateway.events import EVENT_TYPES, Event, Latest
from gateway.publish.flat import NativeEncoder, compile_all, native_encoder, native_layouts

if TYPE_CHECKING:
    from gateway.publish.protobuf import ProtobufEncoder


def bulk(value: bytes) -> bytes:
    """One RESP bulk string."""
    return b"$%d\r\n%s\r\n" % (len(value), value)


def command(*args: str | bytes | int) -> bytes:
    """One RESP command array, for the few commands sent off the hot path."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        raw = arg if isinstance(arg, bytes) else str(arg).encode()
        parts.append(bulk(raw))
    return b"".join(parts)


class _Layout(msgspec.Struct, frozen=True):
    kind: bytes  # the pre-encoded ``kind`` field/value pair
    heads: tuple[bytes | None, ...]  # pre-encoded field names, None for ``topic``


def _layout(cls: type[Event]) -> _Layout:
    tag = cls.__struct_config__.tag
    assert isinstance(tag, str)
    heads = tuple(
        None if name == "topic" else bulk(name.encode()) for name in cls.__struct_fields__
    )
    return _Layout(bulk(b"kind") + bulk(tag.encode()), heads)


class StreamEncoder:
    """Encodes event batches as ``XADD <topic> MAXLEN ~ <n> * field value …``.

    ``maxlen`` maps a topic's channel (its first dotted part) to the stream's
    approximate length bound; ``protobuf`` says, from (topic, channel), whether
    a topic's entries are ``kind`` + ``pb`` (a ``feedgate.events.Event``)
    instead of flat fields (asked once per topic).
    """

    def __init__(
        self,
        maxlen: Callable[[str], int],
        protobuf: Callable[[str, str], bool] | None = None,
        *,
        native: bool = True,
    ) -> None:
        self._maxlen = maxlen
        self._protobuf = protobuf
        self._layouts = {cls: _layout(cls) for cls in EVENT_TYPES}
        self._topics: dict[str, tuple[bytes, bool]] = {}
        self._topics_str: dict[str, str] = {}  # flat-encoded topics' prefixes, as str
        self._flat = compile_all(EVENT_TYPES)
        self._pb: ProtobufEncoder | None = None
        # The C encoder (when built) and what it reads: flat topics' prefixes by topic.
        self._native: NativeEncoder | None = native_encoder() if native else None
        self._native_layouts = native_layouts(EVENT_TYPES)
        self._native_prefixes: dict[str, bytes] = {}

    def _topic(self, event: Event) -> tuple[bytes, bool]:
        """The XADD prefix of the event's topic, and whether it uses protobuf (cached)."""
        topic = event.topic
        channel = topic.split(".", 1)[0]
        maxlen = str(self._maxlen(channel)).encode()
        prefix = b"".join(
            (bulk(b"XADD"), bulk(topic.encode()), bulk(b"MAXLEN"), bulk(b"~"), bulk(maxlen),
             bulk(b"*"))
        )  # fmt: skip
        use_pb = self._protobuf is not None and self._protobuf(topic, channel)
        if not use_pb:
            self._native_prefixes[topic] = prefix
        if use_pb and self._pb is None:
            from gateway.publish.protobuf import ProtobufEncoder

            self._pb = ProtobufEncoder()
        self._topics[topic] = (prefix, use_pb)
        return prefix, use_pb

    def encode(self, events: Sequence[Event]) -> tuple[bytes, list[str] | None]:
        """All events as one pipeline, in order, and the key of each command.

        The key list is None when every event became exactly one XADD (the
        common case); with ``Latest`` events it names every command, the SETs
        (one per key, newest value) coming last.
        """
        if self._native is not None:
            payload = self._native(events, self._native_prefixes, self._native_layouts)
            if payload is not None:
                return payload, None
        fast = self._encode_fast(events)
        return fast if fast is not None else self._encode_generic(events)

    def _encode_fast(self, events: Sequence[Event]) -> tuple[bytes, list[str] | None] | None:
        """The compiled path; None when the batch needs the generic one (non-ASCII, protobuf)."""
        flat = self._flat
        topics = self._topics_str
        out: list[str] = []
        append = out.append
        latest: dict[str, Latest] | None = None
        for event in events:
            encoder = flat.get(type(event))
            if encoder is None:
                latest = _keep_latest(latest, event)
                continue
            prefix = topics.get(event.topic)
            if prefix is None:
                known = self._topics.get(event.topic)
                raw_prefix, use_pb = known if known is not None else self._topic(event)
                if use_pb or not raw_prefix.isascii():
                    return None
                prefix = topics[event.topic] = raw_prefix.decode()
            append(encoder(event, prefix))
        text = "".join(out)
        if not text.isascii():
            return None
        return _with_sets(text.encode(), events, latest)

    def _encode_generic(self, events: Sequence[Event]) -> tuple[bytes, list[str] | None]:
        """Field by field: handles any text and the protobuf encoding."""
        out: list[bytes] = []
        append = out.append
        layouts = self._layouts
        latest: dict[str, Latest] | None = None
        for event in events:
            layout = layouts.get(type(event))
            if layout is None:
                latest = _keep_latest(latest, event)
                continue
            known = self._topics.get(event.topic)
            prefix, use_pb = known if known is not None else self._topic(event)
            if use_pb:
                assert self._pb is not None
                raw = self._pb.encode(event)
                append(b"*10\r\n")
                append(prefix)
                append(layout.kind + b"$2\r\npb\r\n$%d\r\n%s\r\n" % (len(raw), raw))
                continue
            values = msgspec.structs.astuple(event)
            fields = [layout.kind]
            for head, value in zip(layout.heads, values, strict=True):
                if value is None or head is None:
                    continue
                if isinstance(value, str):
                    raw = value.encode()
                elif isinstance(value, bool):
                    raw = b"true" if value else b"false"
                else:
                    raw = b"%d" % value
                fields.append(head)
                fields.append(b"$%d\r\n%s\r\n" % (len(raw), raw))
            append(b"*%d\r\n" % (len(fields) + 7))  # 6 command words, kind pair, field pairs
            append(prefix)
            append(b"".join(fields))
        return _with_sets(b"".join(out), events, latest)


def _keep_latest(latest: dict[str, Latest] | None, event: Event) -> dict[str, Latest]:
    """Remember the newest ``Latest`` per key (only it is rendered and written)."""
    if not isinstance(event, Latest):
        raise TypeError(f"cannot publish {type(event).__name__}")
    if latest is None:
        latest = {}
    latest.pop(event.topic, None)
    latest[event.topic] = event
    return latest


def _with_sets(
    payload: bytes, events: Sequence[Event], latest: dict[str, Latest] | None
) -> tuple[bytes, list[str] | None]:
    """The XADDs, then one SET per latest key; the key of every command when there are SETs."""
    if latest is None:
        return payload, None
    keys = [e.topic for e in events if not isinstance(e, Latest)]
    sets = []
    for key, item in latest.items():
        sets.append(command("SET", key, item.render()))
        keys.append(key)
    return payload + b"".join(sets), keys
