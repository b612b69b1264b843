"""msgspec Structs mirroring the Coinbase Advanced Trade market-data WebSocket.

Source: ``shared/protocols/coinbase.md`` (section numbers refer to it). Every data
message is one envelope (§4) tagged on ``channel``; only the fields feedgate reads
are declared, so unknown fields and the heartbeat body (whose ``heartbeat_counter``
the prose docs call a string, the captures an integer, §2) never fail a frame.
Decimals are JSON strings on this feed (§6) and stay ``str``: the text the
upstream sent is the text feedgate publishes. Error messages carry no envelope
(``{"type":"error","message":…}``, §3) and are decoded separately.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Union

import msgspec

#: The ``channel`` each subscribe name's messages carry (§8: ``level2`` → ``l2_data``).
WIRE_CHANNELS: dict[str, str] = {
    "heartbeats": "heartbeats",
    "market_trades": "market_trades",
    "ticker": "ticker",
    "candles": "candles",
    "level2": "l2_data",
}


# --- data messages (§4-§8) ----------------------------------------------------------


class Message(msgspec.Struct, frozen=True, tag_field="channel"):
    """The envelope every data message shares (§4); ``sequence_num`` is per connection."""

    sequence_num: int | None = None
    timestamp: str = ""  # send time, RFC 3339 with nanoseconds


class L2Level(msgspec.Struct, frozen=True):
    """One level change: ``new_quantity`` is the absolute size, ``"0"`` removes (§8)."""

    side: str  # "bid" or "offer" (not "ask", §8)
    price_level: str
    new_quantity: str


class L2Event(msgspec.Struct, frozen=True):
    """One product's snapshot (whole book, sides interleaved, unsorted) or update (§8)."""

    type: str
    product_id: str
    updates: list[L2Level] = msgspec.field(default_factory=list)


class L2Message(Message, frozen=True, tag="l2_data"):
    """``level2`` data; one frame can hold events for several products (§8)."""

    events: list[L2Event] = msgspec.field(default_factory=list)


class TradeEntry(msgspec.Struct, frozen=True):
    """One trade; ``side`` is read as the taker's (§6, UNCERTAIN in the docs)."""

    trade_id: str
    product_id: str
    price: str
    size: str
    side: str
    time: str  # RFC 3339


class TradesEvent(msgspec.Struct, frozen=True):
    """``snapshot`` (recent trades, on every subscribe) or ``update`` (a 250 ms batch)."""

    type: str = ""
    trades: list[TradeEntry] = msgspec.field(default_factory=list)


class TradesMessage(Message, frozen=True, tag="market_trades"):
    """``market_trades`` data (§6)."""

    events: list[TradesEvent] = msgspec.field(default_factory=list)


#: feedgate Ticker field → Coinbase ticker field, where the meanings match (§7).
#: ``low_52_w``/``high_52_w``, ``price_percent_chg_24_h`` and the best bid/ask
#: quantities have no Ticker field and are not read.
TICKER_FIELDS: dict[str, str] = {
    "price": "price",
    "bid": "best_bid",
    "ask": "best_ask",
    "volume_24h": "volume_24_h",
    "high_24h": "high_24_h",
    "low_24h": "low_24_h",
}


class TickerEntry(msgspec.Struct, frozen=True, rename=TICKER_FIELDS):
    """One ``events[].tickers[]`` entry (§7), fields named as feedgate's Ticker names them."""

    product_id: str
    price: str | None = None
    bid: str | None = None
    ask: str | None = None
    volume_24h: str | None = None
    high_24h: str | None = None
    low_24h: str | None = None


class TickerEvent(msgspec.Struct, frozen=True):
    """A ticker snapshot or update event."""

    type: str = ""
    tickers: list[TickerEntry] = msgspec.field(default_factory=list)


class TickerMessage(Message, frozen=True, tag="ticker"):
    """``ticker`` data: sent on every match, so it is not a BBO feed (§7)."""

    events: list[TickerEvent] = msgspec.field(default_factory=list)


class CandleEntry(msgspec.Struct, frozen=True):
    """The current five-minute candle; ``start`` is UNIX seconds as a string (§7)."""

    product_id: str
    start: str | int
    open: str
    high: str
    low: str
    close: str
    volume: str


class CandlesEvent(msgspec.Struct, frozen=True):
    """A candles snapshot or update event."""

    type: str = ""
    candles: list[CandleEntry] = msgspec.field(default_factory=list)


class CandlesMessage(Message, frozen=True, tag="candles"):
    """``candles`` data: five-minute buckets only, updated every second (§7)."""

    events: list[CandlesEvent] = msgspec.field(default_factory=list)


class HeartbeatsMessage(Message, frozen=True, tag="heartbeats"):
    """``heartbeats``: one a second; its body is not read (§2)."""


class SubscriptionsEvent(msgspec.Struct, frozen=True):
    """Everything now subscribed on the connection, by subscribe name (§3)."""

    subscriptions: dict[str, list[str]] = msgspec.field(default_factory=dict)


class SubscriptionsMessage(Message, frozen=True, tag="subscriptions"):
    """The ack that follows every accepted (un)subscribe (§3)."""

    events: list[SubscriptionsEvent] = msgspec.field(default_factory=list)


ServerMessage = Union[  # noqa: UP007 - msgspec needs a runtime union object
    L2Message,
    TradesMessage,
    TickerMessage,
    CandlesMessage,
    HeartbeatsMessage,
    SubscriptionsMessage,
]
KNOWN_CHANNELS = frozenset({"l2_data", "market_trades", "ticker", "candles", "heartbeats",
                            "subscriptions"})  # fmt: skip


class Envelope(msgspec.Struct, frozen=True):
    """Just enough to classify a frame the typed decoder refused (errors included)."""

    channel: str | None = None
    type: str | None = None
    sequence_num: int | None = None
    message: str | None = None
    reason: str | None = None


# --- client requests (§3) -------------------------------------------------------------


class Request(msgspec.Struct, frozen=True, omit_defaults=True):
    """``{"type":"subscribe","product_ids":[…],"channel":C}``: one channel per message."""

    type: str
    product_ids: list[str] | None = None  # left out for heartbeats
    channel: str = ""


MESSAGE_DECODER = msgspec.json.Decoder(ServerMessage)
ENVELOPE_DECODER = msgspec.json.Decoder(Envelope)
REQUEST_ENCODER = msgspec.json.Encoder()


# --- values ----------------------------------------------------------------------------

_RFC3339 = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:([Zz])|([+-])(\d\d):?(\d\d))"
)


def rfc3339_ns(text: str) -> int:
    """``2026-11-20T10:00:00.123456789Z`` → Unix nanoseconds, every digit kept (§4, §6).

    ``datetime.fromisoformat`` drops digits past microseconds, so the fraction is
    read here. Raises ValueError for anything else.
    """
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise ValueError(f"not an RFC 3339 time: {text[:40]!r}")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    datetime(year, month, day, hour, minute, min(second, 59))  # range check
    seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    fraction, _, sign, off_h, off_m = match.groups()[6:]
    if sign is not None:
        offset = int(off_h) * 3600 + int(off_m) * 60
        seconds -= offset if sign == "+" else -offset
    nanos = int((fraction or "")[:9].ljust(9, "0"))
    return seconds * 1_000_000_000 + nanos


_PLAIN = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_MAX_EXPONENT = 1000  # decimals past 10**1000 are refused rather than written out in full
_ASK_SIDES = frozenset({"offer", "ask"})  # §8 says "offer"; "ask" is accepted too

Level = tuple[str, str]  # (price, size) as gateway.bridge.Level


def decimal_text(text: str, what: str) -> str:
    """A non-negative decimal as plain text: exactly as received when already plain (§6).

    Anything else that is a finite decimal (``"1e-8"``, ``".5"``) is rewritten in plain
    positional notation; the rest raises ValueError.
    """
    if _PLAIN.fullmatch(text):
        return text
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{what} is not a decimal: {text[:40]!r}") from None
    if not value.is_finite() or value < 0 or abs(value.adjusted()) > _MAX_EXPONENT:
        raise ValueError(f"{what} is not a finite non-negative decimal: {text[:40]!r}")
    return format(value, "f")


def split_levels(updates: Sequence[L2Level]) -> tuple[tuple[Level, ...], tuple[Level, ...]]:
    """One l2 event's levels as (bids, asks), in wire order (the book engine sorts, §8)."""
    bids: list[Level] = []
    asks: list[Level] = []
    for update in updates:
        level = (
            decimal_text(update.price_level, "price_level"),
            decimal_text(update.new_quantity, "new_quantity"),
        )
        if update.side == "bid":
            bids.append(level)
        elif update.side in _ASK_SIDES:
            asks.append(level)
        else:
            raise ValueError(f"unknown side {update.side[:20]!r}")
    return tuple(bids), tuple(asks)
