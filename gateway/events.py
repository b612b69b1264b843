"""Normalised events: the contract between bridges and everything downstream.

Every event is a frozen msgspec Struct tagged on ``kind``. Prices, amounts and
volumes are decimal strings in plain positional notation, exactly the value the
upstream sent; timestamps are integer nanoseconds since the Unix epoch. The
flat stream-entry layout of each type is documented in ``docs/streams.md``;
``gateway.publish.resp`` writes the fields in declaration order and leaves out
fields whose value is ``None``.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec


class Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="kind", gc=False):
    """Fields every event has. ``topic`` is the stream key, not an entry field."""

    topic: str
    source: str


class MarketEvent(Event, frozen=True, kw_only=True, gc=False):
    """An event about one market (or, for volume, one asset)."""

    exchange: str
    base: str
    quote: str
    ts: int
    recv_ts: int


class Trade(MarketEvent, frozen=True, kw_only=True, tag="trade", gc=False):
    """One executed trade."""

    price: str
    amount: str
    side: str  # "buy", "sell" or "unknown": the taker's side
    id: str
    seq: int | None = None
    reversed: bool | None = None  # the upstream inverted the pair to report it


class Ticker(MarketEvent, frozen=True, kw_only=True, tag="ticker", gc=False):
    """The full merged ticker state of one market, after applying an update."""

    flags: int
    price_dir: str | None = None  # "up" / "down" / "unchanged" in this update only
    bid_dir: str | None = None
    ask_dir: str | None = None
    median_dir: str | None = None
    price: str | None = None
    bid: str | None = None
    ask: str | None = None
    last_volume: str | None = None
    last_volume_quote: str | None = None
    last_trade_id: str | None = None
    volume_day: str | None = None
    volume_day_quote: str | None = None
    volume_24h: str | None = None
    volume_24h_quote: str | None = None
    open_day: str | None = None
    high_day: str | None = None
    low_day: str | None = None
    open_24h: str | None = None
    high_24h: str | None = None
    low_24h: str | None = None
    volume_hour: str | None = None
    volume_hour_quote: str | None = None
    open_hour: str | None = None
    high_hour: str | None = None
    low_hour: str | None = None


class Index(Ticker, frozen=True, kw_only=True, tag="index", gc=False):
    """An aggregate index (e.g. CCCAGG): a ticker plus index-only fields."""

    median: str | None = None
    last_market: str | None = None
    top_tier_volume_24h: str | None = None
    top_tier_volume_24h_quote: str | None = None
    current_supply: str | None = None
    circulating_supply: str | None = None
    max_supply: str | None = None
    mktcap_penalty: str | None = None
    current_supply_mktcap: str | None = None
    circulating_supply_mktcap: str | None = None
    max_supply_mktcap: str | None = None


class Candle(MarketEvent, frozen=True, kw_only=True, tag="ohlc", gc=False):
    """One whole OHLC candle; ``ts`` is the period start. Upsert by (topic, ts)."""

    interval: str
    open: str
    high: str
    low: str
    close: str
    volume: str
    volume_quote: str | None = None  # absent where the venue sends no quote volume
    trades: int | None = None
    first_ts: int | None = None
    last_ts: int | None = None
    first_price: str | None = None
    max_price: str | None = None
    min_price: str | None = None
    last_price: str | None = None


class Spread(MarketEvent, frozen=True, kw_only=True, tag="spread", gc=False):
    """Top of the order book: best bid and ask with their sizes (merged state)."""

    bid: str | None = None
    bid_size: str | None = None
    ask: str | None = None
    ask_size: str | None = None
    seq: int | None = None


class Volume(MarketEvent, frozen=True, kw_only=True, tag="volume", gc=False):
    """Rolling 24-hour base-asset volume summed over many markets."""

    scope: str  # "all" (every exchange) or "toptier"
    volume: str


class Summary(MarketEvent, frozen=True, kw_only=True, tag="summary", gc=False):
    """A rolling 24-hour market summary (Cryptowatch ``summaryUpdate``)."""

    last: str | None = None
    high: str | None = None
    low: str | None = None
    volume: str | None = None
    volume_quote: str | None = None
    change_absolute: str | None = None
    change_percent: str | None = None
    trades: int | None = None


class Book(MarketEvent, frozen=True, kw_only=True, tag="book", gc=False):
    """One applied order-book change, in sequence.

    ``bids``/``asks`` are JSON arrays of ``[price, amount]`` decimal strings: the
    whole book for a snapshot, the changed levels for a delta (amount ``"0"``
    removes the level).
    """

    action: str  # "snapshot" or "delta"
    seq: int
    prev_seq: int | None = None
    bids: str
    asks: str


class Gap(MarketEvent, frozen=True, kw_only=True, tag="gap", gc=False):
    """Data on this topic between ``from_ts`` and ``to_ts`` may be missing."""

    reason: str
    from_ts: int
    to_ts: int
    dropped: int | None = None


class Status(Event, frozen=True, kw_only=True, tag="status", gc=False):
    """Upstream connection state and errors, on ``status.<upstream>``."""

    ts: int
    state: str
    code: str = ""
    message: str = ""
    subject: str | None = None  # the topic a subscription status is about


class Latest(Event, frozen=True, kw_only=True, tag="latest", gc=False):
    """A key holding the newest state of something (e.g. a whole order book).

    Not a stream entry: the publisher writes ``SET <topic> <render()>`` once per
    key per batch, rendering only the newest one, so a late consumer can start
    from it. ``topic`` is the key.
    """

    render: Callable[[], bytes]


EVENT_TYPES: tuple[type[Event], ...] = (
    Trade, Ticker, Index, Candle, Spread, Volume, Summary, Book, Gap, Status,
)  # fmt: skip
