"""The Bridge protocol: what every upstream adapter implements, with no I/O.

A bridge turns wanted topics into the frames to send, and each received frame
into normalised events plus control signals. It never touches a socket, a
clock or Redis: the session runner (``gateway.session``) does the I/O and
passes the receive time in, so bridges are tested and fuzzed with plain bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    """Where and how to open the upstream WebSocket.

    ``url`` may carry a key in its query (Cryptowatch gen 2): log the
    configured base URL, never this one.
    """

    url: str
    headers: tuple[tuple[str, str], ...] = ()


class BridgeSettings(msgspec.Struct, frozen=True, kw_only=True):
    """What a bridge is built from: its name, credentials and protocol options."""

    upstream: str
    source: str | None = None  # events' ``source``; None: the upstream's name ("sim" in demos)
    api_key: Secret | None = None
    secret: Secret | None = None
    generation: int = 1  # Cryptowatch: 1 = HMAC auth message, 2 = key in the URL
    markets_file: str | None = None  # Cryptowatch: a refreshed markets table (CSV)
    rest_url: str | None = None  # Binance: the REST base for depth snapshots
    subscription_depth: int | None = None  # Kraken: the book channel's depth; None: default


# --- control signals: what a frame tells the session runner -------------------


class Signal(msgspec.Struct, frozen=True, tag_field="signal"):
    """Base of control signals a bridge reports alongside events."""


class Welcome(Signal, frozen=True, tag="welcome"):
    """The upstream accepted the connection; ``limits`` are its quotas by name."""

    server: str = ""
    limits: tuple[tuple[str, int], ...] = ()


class QuotaUpdate(Signal, frozen=True, tag="quota_update"):
    """The upstream told its real limits, by standard quota name (``connections``,
    ``subscriptions_per_connection``, ``connects_per_minute``, ``connects_per_hour``)."""

    limits: tuple[tuple[str, int], ...]


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


Level = tuple[str, str]
"""One order-book level: (price, amount) as the upstream's decimal text."""


class BookSnapshot(Signal, frozen=True, tag="book_snapshot", kw_only=True):
    """A full order book for one market (the book engine sequences it)."""

    topic: str
    exchange: str
    base: str
    quote: str
    ts: int
    recv_ts: int
    seq: int
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]


class BookDelta(Signal, frozen=True, tag="book_delta", kw_only=True):
    """Changes to one market's book; ``seq`` must follow the book's by one."""

    topic: str
    exchange: str
    base: str
    quote: str
    ts: int
    recv_ts: int
    seq: int
    bid_set: tuple[Level, ...] = ()
    bid_remove: tuple[str, ...] = ()
    ask_set: tuple[Level, ...] = ()
    ask_remove: tuple[str, ...] = ()


class BookInvalid(Signal, frozen=True, tag="book_invalid"):
    """One market's book failed an integrity check (checksum, sequence): it is stale
    until the session resyncs that market alone (``Bridge.resync``)."""

    topic: str
    reason: str


class Fetch(Signal, frozen=True, tag="fetch"):
    """The bridge needs an HTTP GET (e.g. a REST book snapshot); the session does the
    I/O within the upstream's REST budget and hands the answer to ``Bridge.fetched``."""

    topic: str
    url: str
    weight: int = 1


class Reconnect(Signal, frozen=True, tag="reconnect"):
    """The upstream will close this connection (maintenance, a lifetime limit).

    ``planned``: open the new connection first, then drop this one, so nothing is
    missed; otherwise simply reconnect.
    """

    reason: str
    planned: bool = True


class DecodeError(Signal, frozen=True, tag="decode_error"):
    """A frame could not be decoded; ``kind`` is a short stable counter name."""

    kind: str
    detail: str


class Bridge(Protocol):
    """A sans-I/O upstream protocol adapter."""

    #: Book sequence numbers wrap at this value (Cryptowatch: 2**32), or never (None).
    book_seq_modulus: int | None
    #: The protocol's documented limits by quota name (``gateway.core.quota.Quotas``).
    default_quotas: Mapping[str, float]

    def handshake(self, url: str) -> Handshake:
        """The request that opens a connection to ``url``, credentials applied."""
        ...

    def check_topic(self, topic: Topic) -> None:
        """Raise ``TopicError`` if this upstream cannot serve ``topic``."""
        ...

    def connection_made(self, now_ns: int) -> None:
        """A new connection is open at ``now_ns``: forget all per-connection state."""
        ...

    def subscribe(self, topics: Sequence[Topic]) -> list[str | bytes]:
        """Frames that subscribe to ``topics``."""
        ...

    def unsubscribe(self, topics: Sequence[Topic]) -> list[str | bytes]:
        """Frames that drop ``topics``."""
        ...

    def resync(self, topic: str) -> list[str | bytes]:
        """Frames that bring a stale order book back (empty: wait for the next snapshot)."""
        ...

    def fetched(
        self,
        topic: str,
        status: int,
        body: bytes,
        recv_ts: int,
        events: list[Event],
        signals: list[Signal],
    ) -> None:
        """The answer to a ``Fetch`` (status 0 when the request failed outright)."""
        ...

    def feed(
        self, frame: str | bytes, recv_ts: int, events: list[Event], signals: list[Signal]
    ) -> None:
        """Decode one frame, appending its events and control signals."""
        ...
