"""msgspec Structs mirroring the Kraken Spot WebSocket v2 public frames.

Source: ``shared/protocols/kraken.md``. Channel messages (``{"channel": …, "type": …,
"data": [...]}``) are one tagged union on ``channel``; replies to our requests
(``{"method": …, "success": …}``) have no ``channel`` and decode into ``Response``.
Only the fields feedgate reads are declared. Prices and quantities decode straight
from the JSON number's text into ``Decimal`` (§5: never through float, so the wire
digits the checksum needs survive); integers such as ``connection_id`` (> 2**53, §2)
and ``trade_id`` are exact Python ints.
"""

from __future__ import annotations

import calendar
import re
from datetime import datetime
from decimal import Decimal
from typing import Any, Union

import msgspec

from bridges.common import MAX_MAGNITUDE, nanoseconds, plain
from bridges.kraken.checksum import ParsedLevel

_RFC3339 = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(?:[Zz]|([+-])(\d\d):(\d\d))"
)

# --- channel messages (server → client) -------------------------------------------


class StatusEntry(msgspec.Struct, frozen=True):
    """One ``status`` data item (§2); ``connection_id`` is above 2**53."""

    version: str = ""
    system: str = ""
    api_version: str = ""
    connection_id: int | None = None


class StatusMsg(msgspec.Struct, tag="status", tag_field="channel", frozen=True):
    """The first frame on every connection, and later system state changes (§2)."""

    data: list[StatusEntry] = msgspec.field(default_factory=list)
    type: str = ""


class HeartbeatMsg(msgspec.Struct, tag="heartbeat", tag_field="channel", frozen=True):
    """``{"channel":"heartbeat"}``, about once a second once subscribed (§2)."""


class TradeEntry(msgspec.Struct, frozen=True):
    """One trade (§6); ``side`` is the taker's."""

    symbol: str
    side: str
    price: Decimal
    qty: Decimal
    trade_id: int
    timestamp: str


class TradeMsg(msgspec.Struct, tag="trade", tag_field="channel", frozen=True):
    """``trade`` snapshot (the last 50 trades) or update; may batch several trades (§6)."""

    type: str
    data: list[TradeEntry]


class TickerEntry(msgspec.Struct, frozen=True):
    """24 h rolling statistics plus the best bid and ask (§7)."""

    symbol: str
    bid: Decimal | None = None
    bid_qty: Decimal | None = None
    ask: Decimal | None = None
    ask_qty: Decimal | None = None
    last: Decimal | None = None
    volume: Decimal | None = None
    vwap: Decimal | None = None
    low: Decimal | None = None
    high: Decimal | None = None
    change: Decimal | None = None
    change_pct: Decimal | None = None
    timestamp: str | None = None


class TickerMsg(msgspec.Struct, tag="ticker", tag_field="channel", frozen=True):
    """``ticker`` snapshot or update; every message carries the full state (§7)."""

    type: str
    data: list[TickerEntry]


class CandleEntry(msgspec.Struct, frozen=True):
    """One candle (§7); ``interval`` is in minutes, ``interval_begin`` RFC 3339."""

    symbol: str
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    vwap: Decimal
    interval_begin: str
    interval: int
    trades: int | None = None


class OhlcMsg(msgspec.Struct, tag="ohlc", tag_field="channel", frozen=True):
    """``ohlc`` snapshot (several recent candles) or update (the running candle) (§7)."""

    type: str
    data: list[CandleEntry]


class BookLevel(msgspec.Struct, frozen=True):
    """One price level; ``qty`` 0 deletes it (§8)."""

    price: Decimal
    qty: Decimal


class BookEntry(msgspec.Struct, frozen=True):
    """One symbol's book snapshot or update, with the CRC32 of its top 10 levels (§8)."""

    symbol: str
    checksum: int
    bids: list[BookLevel] = msgspec.field(default_factory=list)
    asks: list[BookLevel] = msgspec.field(default_factory=list)
    timestamp: str | None = None


class BookMsg(msgspec.Struct, tag="book", tag_field="channel", frozen=True):
    """``book`` snapshot (best first) or update (levels in no particular order) (§8)."""

    type: str
    data: list[BookEntry]


ChannelFrame = Union[StatusMsg, HeartbeatMsg, TradeMsg, TickerMsg, OhlcMsg, BookMsg]  # noqa: UP007

KNOWN_CHANNELS = frozenset({"status", "heartbeat", "trade", "ticker", "ohlc", "book"})


# --- replies to requests ------------------------------------------------------------


class Result(msgspec.Struct, frozen=True):
    """The ``result`` of a subscribe/unsubscribe ack: one per symbol (§3)."""

    channel: str = ""
    symbol: str = ""
    depth: int | None = None
    interval: int | None = None
    warnings: list[str] = msgspec.field(default_factory=list)


class Response(msgspec.Struct, frozen=True, rename={"rate_error": "Error"}):
    """A reply without ``channel``: an ack, an error, a pong (§2, §3), or the v1-shaped
    ``{"Error":"Exceeded msg rate"}`` (§9)."""

    method: str | None = None
    success: bool | None = None
    result: Result | None = None
    error: str | None = None
    req_id: int | None = None
    rate_error: str | None = None


class Envelope(msgspec.Struct, frozen=True):
    """Just the discriminators, to classify a frame that failed to decode."""

    channel: Any = None
    method: Any = None


# --- requests (client → server) -------------------------------------------------------


class Params(msgspec.Struct, frozen=True, omit_defaults=True):
    """``params`` of subscribe/unsubscribe: one channel, many symbols (§3)."""

    channel: str
    symbol: list[str]
    depth: int | None = None
    interval: int | None = None
    event_trigger: str | None = None
    snapshot: bool | None = None


class Request(msgspec.Struct, frozen=True):
    """``{"method":…,"params":{…},"req_id":N}``; ``req_id`` fits an int32 (§3)."""

    method: str
    params: Params
    req_id: int


CHANNEL_DECODER = msgspec.json.Decoder(ChannelFrame)
RESPONSE_DECODER = msgspec.json.Decoder(Response)
ENVELOPE_DECODER = msgspec.json.Decoder(Envelope)
REQUEST_ENCODER = msgspec.json.Encoder()


# --- values ------------------------------------------------------------------------------


def number(value: Decimal) -> str:
    """A wire number as plain text with the digits as sent (§5: ``format(d, "f")``).

    ValueError for a value that is not finite or whose exponent is absurd, zeros included
    (``0E-999999999`` would print a billion zeros).
    """
    if not value.is_finite() or not -MAX_MAGNITUDE <= value.adjusted() <= MAX_MAGNITUDE:
        raise ValueError(f"number out of range: {str(value)[:40]}")
    return plain(value)


def optional(value: Decimal | None) -> str | None:
    return None if value is None else number(value)


def levels(side: list[BookLevel]) -> list[ParsedLevel]:
    """One book side checked before anything is applied: positive prices, qty >= 0."""
    parsed: list[ParsedLevel] = []
    for level in side:
        price_text, qty_text = number(level.price), number(level.qty)
        if level.price <= 0 or level.qty < 0:
            raise ValueError(f"bad book level {price_text} x {qty_text}")
        parsed.append((level.price, price_text, qty_text, level.qty == 0))
    return parsed


def rfc3339_ns(text: str) -> int:
    """``2026-11-20T10:00:01.123456Z`` → integer nanoseconds since the epoch, exactly (§5)."""
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise ValueError(f"not an RFC 3339 time: {text[:40]!r}")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    datetime(year, month, day, hour, minute, second)  # ValueError for an impossible date
    seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    if match.group(8):
        offset = int(match.group(9)) * 3600 + int(match.group(10)) * 60
        seconds -= offset if match.group(8) == "+" else -offset
    return nanoseconds(seconds, int((match.group(7) or "").ljust(9, "0")))
