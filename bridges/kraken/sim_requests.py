"""Client requests of the Kraken Spot WebSocket v2 simulator: parsing, acks and errors.

Written from ``shared/protocols/kraken.md`` only (section numbers refer to it); sans-I/O.

* Every request is a JSON object with a string ``method``. ``req_id``, if given, must be an
  integer that fits in an int32 (§3); it is echoed in the reply. Anything else is refused with
  ``Malformed request``; an unknown method with ``Event(s) not found``.
* ``subscribe`` / ``unsubscribe`` (§3) take ``params.channel`` (``book``, ``ohlc``, ``ticker`` or
  ``trade``; any other channel, ``heartbeat``, ``status`` and ``instrument`` included, is
  ``Malformed request``) and ``params.symbol``, a non-empty list of strings. Optional params:
  ``snapshot`` (bool; default true, except ``trade``: false), ``depth`` for ``book``
  (10, 25, 100, 500 or 1000; default 10), ``interval`` for ``ohlc`` (§7; default 1) and
  ``event_trigger`` for ``ticker`` (``trades``, the default, or ``bbo``). Unknown params are
  ignored. A bad depth or interval refuses the whole request with one error; symbols are then
  answered one by one (one ack or error per symbol).
* Unsubscribe must name the same ``depth`` / ``interval`` as the subscription; otherwise, or
  when there is no such subscription, the symbol gets ``Subscription not found`` (a wording the
  note does not give).
"""

from __future__ import annotations

from dataclasses import dataclass

from bridges.kraken.sim_market import (
    BOOK_DEPTHS,
    DEFAULT_DEPTH,
    OHLC_INTERVALS,
    Frame,
)
from bridges.simjson import JsonValue, dumps

MALFORMED = "Malformed request"
UNKNOWN_METHOD = "Event(s) not found"
ALREADY_SUBSCRIBED = "Already subscribed"
DEPTH_NOT_SUPPORTED = "Subscription depth not supported"
INTERVAL_NOT_SUPPORTED = "Subscription ohlc interval not supported"
NOT_SUBSCRIBED = "Subscription not found"  # not in the note
#: The reply to a message over the rate limit: the v1 shape, which is all the note has (§9).
EXCEEDED_MSG_RATE = dumps({"Error": "Exceeded msg rate"})

CHANNELS: tuple[str, ...] = ("book", "ohlc", "ticker", "trade")
EVENT_TRIGGERS: tuple[str, ...] = ("trades", "bbo")
DEFAULT_INTERVAL = 1
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


class RequestError(Exception):
    """A request the server refuses; ``error`` is the text of the ``error`` field."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


@dataclass(frozen=True)
class Envelope:
    """What every reply echoes: the request's ``method`` and ``req_id`` (when usable)."""

    method: str | None
    req_id: int | None
    time_in: str


class EnvelopeError(RequestError):
    """A RequestError that knows what of the request can still be echoed."""

    def __init__(self, envelope: Envelope, error: str) -> None:
        super().__init__(error)
        self.envelope = envelope


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_envelope(request: dict[str, object], time_in: str) -> Envelope:
    """The method and req_id; RequestError (with what can be echoed) if they are unusable."""
    method = request.get("method")
    req_id = request.get("req_id")
    envelope = Envelope(method if isinstance(method, str) else None, None, time_in)
    if req_id is not None:
        if not _is_int(req_id):
            raise EnvelopeError(envelope, MALFORMED)
        assert isinstance(req_id, int)
        if not INT32_MIN <= req_id <= INT32_MAX:
            raise EnvelopeError(envelope, MALFORMED)
        envelope = Envelope(envelope.method, req_id, time_in)
    if envelope.method is None:
        raise EnvelopeError(envelope, MALFORMED)
    return envelope


@dataclass(frozen=True)
class Subscription:
    """One (channel, symbol) subscription of one connection, with its params."""

    channel: str
    symbol: str
    snapshot: bool
    depth: int | None = None  # book
    interval: int | None = None  # ohlc
    event_trigger: str | None = None  # ticker

    @property
    def key(self) -> tuple[str, str]:
        return (self.channel, self.symbol)

    def result(self, *, subscribe: bool) -> Frame:
        """The ack's ``result``, keys in alphabetical order as in the note's example (§3)."""
        result: Frame = {"channel": self.channel}
        if self.depth is not None:
            result["depth"] = self.depth
        if subscribe and self.event_trigger is not None:
            result["event_trigger"] = self.event_trigger
        if self.interval is not None:
            result["interval"] = self.interval
        if subscribe:
            result["snapshot"] = self.snapshot
        result["symbol"] = self.symbol
        return result

    def matches(self, other: Subscription) -> bool:
        """Does the unsubscribe request ``other`` name this subscription (§3)?"""
        return (self.key, self.depth, self.interval) == (other.key, other.depth, other.interval)


@dataclass(frozen=True)
class ChannelRequest:
    """The params of a subscribe or unsubscribe request, checked."""

    channel: str
    symbols: tuple[str, ...]
    snapshot: bool
    depth: int | None
    interval: int | None
    event_trigger: str | None

    def subscription(self, symbol: str) -> Subscription:
        return Subscription(
            self.channel, symbol, self.snapshot, self.depth, self.interval, self.event_trigger
        )


def parse_channel_request(params: object) -> ChannelRequest:
    """Check ``params`` of subscribe/unsubscribe; RequestError with the refusal text."""
    if not isinstance(params, dict):
        raise RequestError(MALFORMED)
    channel = params.get("channel")
    symbols = params.get("symbol")
    if not isinstance(channel, str) or channel not in CHANNELS:
        raise RequestError(MALFORMED)
    if not isinstance(symbols, list) or not symbols or not all(isinstance(s, str) for s in symbols):
        raise RequestError(MALFORMED)
    snapshot = params.get("snapshot", channel != "trade")
    if not isinstance(snapshot, bool):
        raise RequestError(MALFORMED)
    depth = interval = event_trigger = None
    if channel == "book":
        depth = params.get("depth", DEFAULT_DEPTH)
        if not _is_int(depth) or depth not in BOOK_DEPTHS:
            raise RequestError(DEPTH_NOT_SUPPORTED)
    elif channel == "ohlc":
        interval = params.get("interval", DEFAULT_INTERVAL)
        if not _is_int(interval) or interval not in OHLC_INTERVALS:
            raise RequestError(INTERVAL_NOT_SUPPORTED)
    elif channel == "ticker":
        event_trigger = params.get("event_trigger", EVENT_TRIGGERS[0])
        if event_trigger not in EVENT_TRIGGERS:
            raise RequestError(MALFORMED)
    assert depth is None or isinstance(depth, int)
    assert interval is None or isinstance(interval, int)
    assert event_trigger is None or isinstance(event_trigger, str)
    return ChannelRequest(channel, tuple(symbols), snapshot, depth, interval, event_trigger)


# --------------------------------------------------------------------------------------------
# Replies (§2, §3)
# --------------------------------------------------------------------------------------------


def ack(envelope: Envelope, result: Frame, time_out: str) -> str:
    """``{"method":…,"result":{…},"success":true,"time_in":…,"time_out":…,"req_id":…}``."""
    frame: Frame = {"method": envelope.method, "result": result, "success": True}
    return _finish(frame, envelope, time_out)


def error(envelope: Envelope, text: str, time_out: str) -> str:
    """``{"error":…,"method":…,"success":false,"time_in":…,"time_out":…,"req_id":…}``.

    ``method`` and ``req_id`` are left out when the request had no usable one.
    """
    frame: Frame = {"error": text}
    if envelope.method is not None:
        frame["method"] = envelope.method
    frame["success"] = False
    return _finish(frame, envelope, time_out)


def pong(envelope: Envelope, time_out: str) -> str:
    """``{"method":"pong","req_id":…,"time_in":…,"time_out":…}`` (§2)."""
    frame: Frame = {"method": "pong"}
    if envelope.req_id is not None:
        frame["req_id"] = envelope.req_id
    frame["time_in"] = envelope.time_in
    frame["time_out"] = time_out
    return dumps(frame)


def _finish(frame: Frame, envelope: Envelope, time_out: str) -> str:
    frame["time_in"] = envelope.time_in
    frame["time_out"] = time_out
    if envelope.req_id is not None:
        req_id: JsonValue = envelope.req_id
        frame["req_id"] = req_id
    return dumps(frame)
