"""The Bridge protocol: what every upstream adapter implements, with no I/O.

A bridge turns wanted topics into the frames to send, and each received frame
into normalised events plus control signals. It never touches a socket, a
clock or Redis: the session runner (``gateway.session``) does the I/O and
passes the receive time in, so bridges are tested and fuzzed with plain bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import msgspec

from gateway.events import Event
from gateway.topics import Topic


class Secret:
    """A credential whose value never shows in ``repr``, ``str``, logs or errors."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret value, for the one place that puts it on the wire."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


class Handshake(msgspec.Struct, frozen=True):
    """Where and how to open the upstream WebSocket. ``url`` carries no secret."""

    url: str
    headers: tuple[tuple[str, str], ...] = ()


# --- control signals: what a frame tells the session runner -------------------


class Signal(msgspec.Struct, frozen=True, tag_field="signal"):
    """Base of control signals a bridge reports alongside events."""


class Welcome(Signal, frozen=True, tag="welcome"):
    """The upstream accepted the connection; ``limits`` are its quotas by name."""

    server: str = ""
    limits: tuple[tuple[str, int], ...] = ()


class Heartbeat(Signal, frozen=True, tag="heartbeat"):
    """An application-level keepalive arrived."""


class Subscribed(Signal, frozen=True, tag="subscribed"):
    """The upstream confirmed a subscription."""

    topic: str


class Unsubscribed(Signal, frozen=True, tag="unsubscribed"):
    """The upstream confirmed an unsubscription."""

    topic: str


class SubscribeFailed(Signal, frozen=True, tag="subscribe_failed"):
    """The upstream refused a subscription; ``reason`` is the upstream's own text."""

    topic: str
    code: str
    reason: str


class UpstreamError(Signal, frozen=True, tag="upstream_error"):
    """The upstream reported an error about the connection or the account.

    ``fatal`` means retrying cannot help (e.g. the key is refused);
    ``backoff`` is the least time to wait before connecting again.
    """

    code: str
    message: str
    fatal: bool = False
    backoff: float = 0.0


class DecodeError(Signal, frozen=True, tag="decode_error"):
    """A frame could not be decoded; ``kind`` is a short stable counter name."""

    kind: str
    detail: str


class Bridge(Protocol):
    """A sans-I/O upstream protocol adapter."""

    def handshake(self, url: str) -> Handshake:
        """The request that opens a connection to ``url``, credentials applied."""
        ...

    def check_topic(self, topic: Topic) -> None:
        """Raise ``TopicError`` if this upstream cannot serve ``topic``."""
        ...

    def connection_made(self) -> None:
        """A new connection is open: forget all per-connection state."""
        ...

    def subscribe(self, topics: Sequence[Topic]) -> list[str | bytes]:
        """Frames that subscribe to ``topics``."""
        ...

    def unsubscribe(self, topics: Sequence[Topic]) -> list[str | bytes]:
        """Frames that drop ``topics``."""
        ...

    def feed(
        self, frame: str | bytes, recv_ts: int, events: list[Event], signals: list[Signal]
    ) -> None:
        """Decode one frame, appending its events and control signals."""
        ...
