"""Unit tests for the sans-I/O Kraken Spot WebSocket v2 bridge, from plain frames."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridges.kraken.adapter import KrakenBridge
from bridges.kraken.checksum import book_checksum, checksum_text, digits
from bridges.kraken.sim_market import ASK, BID, PairMarket
from bridges.kraken.sim_market import CATALOGUE as SIM_CATALOGUE
from bridges.kraken.wire import rfc3339_ns
from gateway.bookkeeper import BookKeeper
from gateway.bridge import (
    BookDelta,
    BookInvalid,
    BookSnapshot,
    BridgeSettings,
    DecodeError,
    Heartbeat,
    Reconnect,
    Signal,
    Subscribed,
    SubscribeFailed,
    Unsubscribed,
    UpstreamError,
    Welcome,
)
from gateway.errors import TopicError
from gateway.events import Candle, Event, Spread, Ticker, Trade
from gateway.topics import parse_topic

RECV = 1_795_168_999_000_000_000
T0 = 1_795_168_800  # 2026-11-20T10:00:00Z
BOOK = "book.kraken.btceur"

Levels = Sequence[tuple[str, str]]

# Kraken's own worked example (K4): the top 10 levels a side of a BTC/USD book.
DOC_BIDS = [
    ("45283.5", "0.10000000"), ("45283.4", "1.54582015"), ("45282.1", "0.10000000"),
    ("45281.0", "0.10000000"), ("45280.3", "1.54592586"), ("45279.0", "0.07990000"),
    ("45277.6", "0.03310103"), ("45277.5", "0.30000000"), ("45277.3", "1.54602737"),
    ("45276.6", "0.15445238"),
]  # fmt: skip
DOC_ASKS = [
    ("45285.2", "0.00100000"), ("45286.4", "1.54571953"), ("45286.6", "1.54571109"),
    ("45289.6", "1.54560911"), ("45290.2", "0.15890660"), ("45291.8", "1.54553491"),
    ("45294.7", "0.04454749"), ("45296.1", "0.35380000"), ("45297.5", "0.09945542"),
    ("45299.5", "0.18772827"),
]  # fmt: skip
DOC_CHECKSUM = 3310070434


def make(*topics: str, depth: int = 10) -> KrakenBridge:
    """A bridge on a fresh connection, subscribed to ``topics``."""
    bridge = KrakenBridge(BridgeSettings(upstream="kraken"), book_depth=depth)
    bridge.connection_made(0)
    bridge.subscribe([parse_topic(t) for t in topics])
    return bridge


def feed(bridge: KrakenBridge, *frames: str | bytes) -> tuple[list[Event], list[Signal]]:
    events: list[Event] = []
    signals: list[Signal] = []
    for frame in frames:
        bridge.feed(frame, RECV, events, signals)
    return events, signals


def sent(frames: Sequence[str | bytes]) -> list[dict[str, Any]]:
    return [json.loads(frame) for frame in frames]


def _levels(levels: Levels) -> str:
    return ",".join(f'{{"price":{price},"qty":{qty}}}' for price, qty in levels)


def book_frame(
    kind: str,
    bids: Levels,
    asks: Levels,
    checksum: int,
    symbol: str = "BTC/EUR",
    timestamp: str = "2026-11-20T10:00:00.000001Z",
) -> str:
    """A book message with the level texts exactly as given (bare JSON numbers)."""
    return (
        f'{{"channel":"book","type":"{kind}","data":[{{"symbol":"{symbol}",'
        f'"bids":[{_levels(bids)}],"asks":[{_levels(asks)}],"checksum":{checksum},'
        f'"timestamp":"{timestamp}"}}]}}'
    )


def snapshot(bids: Levels, asks: Levels, symbol: str = "BTC/EUR") -> str:
    """A snapshot carrying its correct checksum (the sides are best first)."""
    return book_frame("snapshot", bids, asks, book_checksum(asks, bids), symbol)


def ladder(
    start: int, step: int, count: int = 10, qty: str = "1.00000000"
) -> list[tuple[str, str]]:
    """``count`` levels one tick (0.1) apart from ``start`` tenths, best first."""
    return [(f"{(start + step * i) / 10:.1f}", qty) for i in range(count)]


BIDS10 = ladder(1000, -1)  # 100.0 .. 99.1
ASKS10 = ladder(1001, 1)  # 100.1 .. 101.0


def only(signals: list[Signal], kind: type[Signal]) -> list[Any]:
    return [s for s in signals if isinstance(s, kind)]


# --- checksum (§8) --------------------------------------------------------------------


def test_official_checksum_vector() -> None:
    """Kraken's documented example book gives 3310070434."""
    assert book_checksum(DOC_ASKS, DOC_BIDS) == DOC_CHECKSUM


def test_official_vector_through_the_bridge() -> None:
    """The documented snapshot, fed as a frame, verifies and keeps every wire digit."""
    bridge = make("book.kraken.btcusd")
    frame = book_frame("snapshot", DOC_BIDS, DOC_ASKS, DOC_CHECKSUM, "BTC/USD")
    events, signals = feed(bridge, frame)
    assert events == []
    (book,) = signals
    assert isinstance(book, BookSnapshot)
    assert (book.topic, book.seq, book.bids, book.asks) == (
        "book.kraken.btcusd", 1, tuple(DOC_BIDS), tuple(DOC_ASKS),
    )  # fmt: skip
    assert book.ts == T0 * 10**9 + 1000


def test_note_checksum_vector() -> None:
    """The note's own vector: the exact concatenated string and its CRC32."""
    asks = [("100.5", "0.25000000"), ("100.6", "1.00000000")]
    bids = [("100.4", "0.01000000"), ("100.3", "2.50000000")]
    assert checksum_text(asks, bids) == "1005250000001006100000000100410000001003250000000"
    assert book_checksum(asks, bids) == 3692927879


@pytest.mark.parametrize(
    ("text", "expected"),
    [("45285.2", "452852"), ("0.00100000", "100000"), ("45281.0", "452810"),
     ("0.00000000", "0"), ("0", "0"), ("1000", "1000"), ("0.0500", "500")],
)  # fmt: skip
def test_checksum_digits(text: str, expected: str) -> None:
    """Drop the point, then the leading zeros; trailing zeros stay; all zeros give 0."""
    assert digits(text) == expected


def test_checksum_uses_wire_digits_not_floats() -> None:
    """Tiny quantities keep their trailing zeros and never turn into exponents (§5)."""
    bids = [("58230.1", "0.00000010"), ("58230.0", "0.00005100")]
    asks = [("58230.2", "1.20000000")]
    bridge = make(BOOK)
    _, signals = feed(bridge, snapshot(bids, asks))
    (book,) = signals
    assert isinstance(book, BookSnapshot)
    assert book.bids == (("58230.1", "0.00000010"), ("58230.0", "0.00005100"))
    assert checksum_text(asks, bids) == "582302120000000" + "58230110" + "5823005100"
    # a float round trip prints 1e-07 and 5.1e-05 (§5): the digits must be the wire's
    assert (repr(0.00000010), repr(0.00005100)) == ("1e-07", "5.1e-05")


def test_only_ten_levels_count() -> None:
    """Levels below the 10th never enter the checksum, whatever the depth."""
    deep = ladder(1000, -1, 25)
    assert book_checksum(ASKS10, deep) == book_checksum(ASKS10, deep[:10])


# --- books ------------------------------------------------------------------------------


def test_snapshot_and_update_in_sequence() -> None:
    """A verified update becomes a BookDelta numbered after its snapshot."""
    bridge = make(BOOK)
    bids = [("100.0", "2.00000000"), *BIDS10[1:]]
    update = book_frame("update", [("100.0", "2.00000000")], [], book_checksum(ASKS10, bids))
    _, signals = feed(bridge, snapshot(BIDS10, ASKS10), update)
    first, delta = signals
    assert isinstance(first, BookSnapshot) and first.seq == 1
    assert delta == BookDelta(
        topic=BOOK, exchange="kraken", base="btc", quote="eur", ts=T0 * 10**9 + 1000,
        recv_ts=RECV, seq=2, bid_set=(("100.0", "2.00000000"),),
    )  # fmt: skip


def test_book_truncated_to_depth() -> None:
    """An insert pushes the 11th level out (no delete comes for it), and the delta says so."""
    bridge = make(BOOK)
    inserted = [("100.0", "1.00000000"), ("99.95", "0.50000000"), *BIDS10[1:9]]
    insert = book_frame("update", [("99.95", "0.50000000")], [], book_checksum(ASKS10, inserted))
    _, signals = feed(bridge, snapshot(BIDS10, ASKS10), insert)
    delta = signals[1]
    assert isinstance(delta, BookDelta)
    assert delta.bid_set == (("99.95", "0.50000000"),)
    assert delta.bid_remove == ("99.1",)  # out of scope: dropped here, and downstream too


def test_truncation_keeps_later_checksums_right() -> None:
    """A level that left the view and died there must not come back: only truncation knows."""
    bridge = make(BOOK)
    inserted = [BIDS10[0], ("99.95", "0.50000000"), *BIDS10[1:9]]
    insert = book_frame("update", [("99.95", "0.50000000")], [], book_checksum(ASKS10, inserted))
    # 99.1 was deleted while out of view (no message); deleting 99.95 refills with 99.0
    after = [*BIDS10[:9], ("99.0", "0.70000000")]
    refill = book_frame(
        "update", [("99.95", "0"), ("99.0", "0.70000000")], [], book_checksum(ASKS10, after)
    )
    _, signals = feed(bridge, snapshot(BIDS10, ASKS10), insert, refill)
    assert [type(s) for s in signals] == [BookSnapshot, BookDelta, BookDelta]
    last = signals[2]
    assert isinstance(last, BookDelta)
    assert (last.bid_set, last.bid_remove) == ((("99.0", "0.70000000"),), ("99.95",))


def test_repeated_price_applies_in_array_order() -> None:
    """Update levels come in no order and may repeat a price: the last one wins (§8)."""
    bridge = make(BOOK)
    bids = [("100.0", "3.00000000"), *BIDS10[1:]]
    update = book_frame(
        "update", [("100.0", "0"), ("100.0", "3.00000000")], [], book_checksum(ASKS10, bids)
    )
    _, signals = feed(bridge, snapshot(BIDS10, ASKS10), update)
    delta = signals[1]
    assert isinstance(delta, BookDelta)
    assert (delta.bid_set, delta.bid_remove) == ((("100.0", "3.00000000"),), ())


def test_checksum_mismatch_invalidates_until_snapshot() -> None:
    """A mismatch is a BookInvalid; that book's updates are ignored until a new snapshot."""
    bridge = make(BOOK, "book.kraken.ethusd")
    good = book_checksum(ASKS10, BIDS10)
    bad = book_frame("update", [("99.5", "1.00000000")], [], 123)
    eth = snapshot(BIDS10, ASKS10, "ETH/USD")
    _, signals = feed(bridge, snapshot(BIDS10, ASKS10), eth, bad)
    invalid = signals[-1]
    assert invalid == BookInvalid(BOOK, f"checksum mismatch: expected 123, got {good}")
    ignored = book_frame("update", [("99.5", "2.00000000")], [], 1)
    eth_update = book_frame(
        "update", [("100.0", "5.00000000")], [],
        book_checksum(ASKS10, [("100.0", "5.00000000"), *BIDS10[1:]]), "ETH/USD",
    )  # fmt: skip
    _, signals = feed(bridge, ignored, eth_update)
    (delta,) = signals
    assert isinstance(delta, BookDelta) and delta.topic == "book.kraken.ethusd"
    _, signals = feed(bridge, snapshot(BIDS10, ASKS10))
    (again,) = signals
    assert isinstance(again, BookSnapshot) and again.seq == 2 and again.bids == tuple(BIDS10)


def test_resync_frames_name_that_book_alone() -> None:
    """Resync is unsubscribe then subscribe with a snapshot, same depth, one symbol (§8)."""
    bridge = make(BOOK, "book.kraken.ethusd", "trades.kraken.btceur")
    frames = sent(bridge.resync(BOOK))
    assert [(f["method"], f["params"]) for f in frames] == [
        ("unsubscribe", {"channel": "book", "symbol": ["BTC/EUR"], "depth": 10}),
        ("subscribe", {"channel": "book", "symbol": ["BTC/EUR"], "depth": 10, "snapshot": True}),
    ]
    assert bridge.resync("trades.kraken.btceur") == []
    assert bridge.resync("book.kraken.dogeusd") == []  # not held here
    # the resync's own unsubscribe ack is not reported; its subscribe ack is
    unsub_ack = ack("unsubscribe", frames[0]["req_id"], "book", "BTC/EUR")
    sub_ack = ack("subscribe", frames[1]["req_id"], "book", "BTC/EUR")
    assert feed(bridge, unsub_ack, sub_ack)[1] == [Subscribed(BOOK)]


def test_bad_snapshot_while_waiting_reconnects_then_gives_up() -> None:
    """The session resyncs only in-sync books: a failed resync snapshot asks for a reconnect."""
    bridge = make(BOOK)
    bad = book_frame("snapshot", BIDS10, ASKS10, 7)
    good = book_checksum(ASKS10, BIDS10)
    reason = f"checksum mismatch: expected 7, got {good}"
    _, signals = feed(bridge, bad)
    assert signals == [BookInvalid(BOOK, reason), Reconnect(f"{BOOK}: snapshot {reason}")]
    _, signals = feed(bridge, bad)
    assert isinstance(signals[-1], Reconnect)
    _, signals = feed(bridge, bad)
    assert signals[-1] == SubscribeFailed(
        BOOK, "checksum_mismatch", f"3 snapshots in a row: {reason}"
    )
    _, signals = feed(bridge, snapshot(BIDS10, ASKS10), bad)
    assert isinstance(signals[0], BookSnapshot)
    assert signals[1:] == [BookInvalid(BOOK, reason)]  # in sync before: the session resyncs


def test_unreadable_update_invalidates_the_book() -> None:
    """An update with a number that cannot be printed invalidates that book."""
    bridge = make(BOOK)
    update = book_frame("update", [("1e999999999", "1.0")], [], 1)
    _, signals = feed(bridge, snapshot(BIDS10, ASKS10), update)
    assert isinstance(signals[1], BookInvalid) and signals[1].topic == BOOK
    assert isinstance(signals[2], DecodeError) and signals[2].kind == "invalid_message"


@pytest.mark.parametrize("depth", [10, 25, 100])
def test_simulated_market_verifies_and_replays(depth: int) -> None:
    """300 book steps of the simulator's market: all verify, and the session's engine ends
    holding exactly the market's top ``depth`` levels."""
    market = PairMarket(7, SIM_CATALOGUE["ETH/USD"], lambda: T0 * 10**9)
    bridge = make("book.kraken.ethusd", depth=depth)
    keeper = BookKeeper("kraken", None, depth=depth)
    frames = [market.book_snapshot(depth)]
    for _ in range(300):
        update = market.book_update(market.book_step(depth), depth)
        if update is not None:
            frames.append(update)
    _, signals = feed(bridge, *frames)
    assert not only(signals, BookInvalid) and not only(signals, DecodeError)
    for signal in signals:
        assert isinstance(signal, BookSnapshot | BookDelta)
        assert not keeper.apply(signal, [])
    expected = tuple(
        [(format(p, "f"), format(q, "f")) for p, q in market.book.top(side, depth)]
        for side in (BID, ASK)
    )
    assert keeper._books["book.kraken.ethusd"].book.levels() == expected
    assert len(signals) == len(frames)


# --- trades, ticker, ohlc ------------------------------------------------------------------


def trade_entry(trade_id: int, price: str = "58231.4", qty: str = "0.01250000") -> str:
    return (
        f'{{"symbol":"BTC/EUR","side":"sell","price":{price},"qty":{qty},"ord_type":"market",'
        f'"trade_id":{trade_id},"timestamp":"2026-11-20T10:00:01.123456Z"}}'
    )


def trades(kind: str, *entries: str) -> str:
    return f'{{"channel":"trade","type":"{kind}","data":[{",".join(entries)}]}}'


def test_trade_normalised_exactly() -> None:
    """A trade keeps its wire digits, exponents become positional, time is exact ns."""
    bridge = make("trades.kraken.btceur")
    frame = trades(
        "update", trade_entry(81234567, qty="0.00000010"), trade_entry(81234568, "1e-08", "1.0E+2")
    )
    events, signals = feed(bridge, frame)
    assert signals == []
    assert events[0] == Trade(
        topic="trades.kraken.btceur", source="kraken", exchange="kraken", base="btc",
        quote="eur", ts=(T0 + 1) * 10**9 + 123_456_000, recv_ts=RECV, price="58231.4",
        amount="0.00000010", side="sell", id="81234567",
    )  # fmt: skip
    assert isinstance(events[1], Trade)
    assert (events[1].price, events[1].amount) == ("0.00000001", "100")


def test_trade_snapshot_replay_published_once() -> None:
    """The trades replayed by a resubscribe's snapshot are published once (§6)."""
    bridge = make("trades.kraken.btceur")
    events, _ = feed(bridge, trades("snapshot", trade_entry(1), trade_entry(2)))
    assert [e.id for e in events if isinstance(e, Trade)] == ["1", "2"]
    bridge.connection_made(1)
    bridge.subscribe([parse_topic("trades.kraken.btceur")])
    replay = trades("snapshot", trade_entry(1), trade_entry(2), trade_entry(3))
    events, _ = feed(bridge, replay, trades("update", trade_entry(4)))
    assert [e.id for e in events if isinstance(e, Trade)] == ["3", "4"]


def test_integers_above_2_53_stay_exact() -> None:
    """connection_id (§2) and trade ids never pass through a double."""
    status = (
        '{"channel":"status","type":"update","data":[{"version":"2.0.10","system":"online",'
        '"api_version":"v2","connection_id":15113583034416118705}]}'
    )
    bridge = make("trades.kraken.btceur")
    events, signals = feed(bridge, status, trades("update", trade_entry(2**64 + 1)))
    assert signals == [Welcome("kraken 2.0.10 online api v2 connection_id 15113583034416118705")]
    assert isinstance(events[0], Trade) and events[0].id == "18446744073709551617"


TICKER = (
    '{"channel":"ticker","type":"update","data":[{"symbol":"BTC/USD","bid":62807.0,'
    '"bid_qty":0.50930100,"ask":62807.1,"ask_qty":0.00000010,"last":62807.1,'
    '"volume":1603.12500000,"vwap":62512.3,"low":61020.0,"high":63001.5,"change":1187.1,'
    '"change_pct":1.93,"timestamp":"2026-11-20T10:00:01.500000Z"}]}'
)


def test_ticker_and_spread_from_one_bbo_subscription() -> None:
    """Ticker fields map by meaning; the spread topic takes bid/ask with their sizes."""
    bridge = make("ticker.kraken.btcusd", "spread.kraken.btcusd")
    events, signals = feed(bridge, TICKER)
    assert signals == []
    common: dict[str, Any] = {
        "source": "kraken", "exchange": "kraken", "base": "btc", "quote": "usd",
        "ts": (T0 + 1) * 10**9 + 500_000_000, "recv_ts": RECV,
    }  # fmt: skip
    assert events == [
        Ticker(topic="ticker.kraken.btcusd", **common, flags=0, price="62807.1",
               bid="62807.0", ask="62807.1", volume_24h="1603.12500000", high_24h="63001.5",
               low_24h="61020.0"),
        Spread(topic="spread.kraken.btcusd", **common, bid="62807.0", bid_size="0.50930100",
               ask="62807.1", ask_size="0.00000010"),
    ]  # fmt: skip


def test_ticker_alone_publishes_no_spread() -> None:
    """Without a spread topic the ticker subscription feeds the ticker topic only."""
    events, _ = feed(make("ticker.kraken.btcusd"), TICKER)
    assert [type(e) for e in events] == [Ticker]
    events, _ = feed(make("spread.kraken.btcusd"), TICKER)
    assert [type(e) for e in events] == [Spread]


def candle(interval: int = 1, begin: str = "2026-11-20T10:00:00.000000Z") -> str:
    return (
        '{"channel":"ohlc","type":"update","data":[{"symbol":"BTC/EUR","open":58230.0,'
        '"high":58240.5,"low":58220.1,"close":58231.4,"vwap":58231.2,"trades":12,'
        f'"volume":0.25000000,"interval_begin":"{begin}","interval":{interval},'
        '"timestamp":"2026-11-20T10:01:00.000000Z"}]}'
    )


def test_candle_ts_is_interval_begin() -> None:
    """An ohlc entry becomes a Candle at interval_begin; quote volume is vwap x volume."""
    bridge = make("ohlc.kraken.btceur.1m")
    events, signals = feed(bridge, candle())
    assert signals == []
    assert events == [
        Candle(
            topic="ohlc.kraken.btceur.1m", source="kraken", exchange="kraken", base="btc",
            quote="eur", ts=T0 * 10**9, recv_ts=RECV, interval="1m", open="58230.0",
            high="58240.5", low="58220.1", close="58231.4", volume="0.25000000",
            volume_quote="14557.800000000", trades=12,
        )
    ]  # fmt: skip


def test_candle_interval_routes_to_its_topic() -> None:
    """The entry's interval picks the topic; an interval feedgate has no name for is an error."""
    bridge = make("ohlc.kraken.btceur.4h")
    events, _ = feed(bridge, candle(240), candle(1))  # 1m: not subscribed, dropped
    assert [e.topic for e in events] == ["ohlc.kraken.btceur.4h"]
    _, signals = feed(bridge, candle(21600))
    assert isinstance(signals[0], DecodeError) and signals[0].kind == "invalid_message"


def test_rfc3339_exact() -> None:
    """RFC 3339 text becomes exact integer nanoseconds, offsets applied, int64 only."""
    assert rfc3339_ns("2026-11-20T10:00:00Z") == T0 * 10**9
    assert rfc3339_ns("2026-11-20T10:00:00.123456789Z") == T0 * 10**9 + 123_456_789
    assert rfc3339_ns("2026-11-20T11:30:00.5+01:30") == T0 * 10**9 + 500_000_000
    bad_times = ("2026-13-20T10:00:00Z", "yesterday", "2026-11-20T10:00:00",
                 "2263-01-01T00:00:00Z", "1969-12-31T23:59:59Z")  # fmt: skip
    for bad in bad_times:
        with pytest.raises(ValueError):
            rfc3339_ns(bad)


# --- requests and replies --------------------------------------------------------------------


def ack(method: str, req_id: int, channel: str, symbol: str, **extra: Any) -> str:
    result = {"channel": channel, **extra, "symbol": symbol}
    return json.dumps(
        {"method": method, "result": result, "success": True, "time_in": "x", "time_out": "y",
         "req_id": req_id}
    )  # fmt: skip


def refusal(req_id: int | None, text: str, method: str = "subscribe") -> str:
    frame: dict[str, Any] = {"error": text, "method": method, "success": False}
    if req_id is not None:
        frame["req_id"] = req_id
    return json.dumps(frame)


ALL = [
    "book.kraken.btceur", "book.kraken.ethusd", "trades.kraken.btceur",
    "ticker.kraken.btcusd", "spread.kraken.btcusd", "ohlc.kraken.btceur.1m",
]  # fmt: skip


def test_subscribe_frames() -> None:
    """One request per channel and options, symbols batched, snapshot asked, int req_ids."""
    bridge = KrakenBridge(BridgeSettings(upstream="kraken"))
    bridge.connection_made(0)
    frames = bridge.subscribe([parse_topic(t) for t in ALL])
    assert frames == [
        '{"method":"subscribe","params":{"channel":"book","symbol":["BTC/EUR","ETH/USD"],'
        '"depth":25,"snapshot":true},"req_id":1}',
        '{"method":"subscribe","params":{"channel":"trade","symbol":["BTC/EUR"],'
        '"snapshot":true},"req_id":2}',
        '{"method":"subscribe","params":{"channel":"ticker","symbol":["BTC/USD"],'
        '"event_trigger":"bbo","snapshot":true},"req_id":3}',
        '{"method":"subscribe","params":{"channel":"ohlc","symbol":["BTC/EUR"],'
        '"interval":1,"snapshot":true},"req_id":4}',
    ]


def test_unsubscribe_frames() -> None:
    """Unsubscribe names the same depth or interval (§3); a shared ticker keeps serving."""
    bridge = make(*ALL)
    frames = sent(bridge.unsubscribe([parse_topic("book.kraken.ethusd")]))
    assert [(f["method"], f["params"]) for f in frames] == [
        ("unsubscribe", {"channel": "book", "symbol": ["ETH/USD"], "depth": 10})
    ]
    frames = sent(bridge.unsubscribe([parse_topic("ohlc.kraken.btceur.1m")]))
    assert frames[0]["params"] == {"channel": "ohlc", "symbol": ["BTC/EUR"], "interval": 1}
    # spread gone: the ticker goes back to its default trigger
    frames = sent(bridge.unsubscribe([parse_topic("spread.kraken.btcusd")]))
    assert [(f["method"], f["params"]) for f in frames] == [
        ("unsubscribe", {"channel": "ticker", "symbol": ["BTC/USD"]}),
        ("subscribe", {"channel": "ticker", "symbol": ["BTC/USD"], "event_trigger": "trades",
                       "snapshot": True}),
    ]  # fmt: skip
    events, _ = feed(bridge, TICKER)
    assert [type(e) for e in events] == [Ticker]
    frames = sent(bridge.unsubscribe([parse_topic("ticker.kraken.btcusd")]))
    assert [f["params"]["channel"] for f in frames] == ["ticker"]
    assert feed(bridge, TICKER)[0] == []


def test_adding_spread_switches_the_ticker_to_bbo() -> None:
    """A spread topic next to a trades-triggered ticker resubscribes it with bbo."""
    bridge = make("ticker.kraken.btcusd")
    frames = sent(bridge.subscribe([parse_topic("spread.kraken.btcusd")]))
    assert [(f["method"], f["params"]) for f in frames] == [
        ("unsubscribe", {"channel": "ticker", "symbol": ["BTC/USD"]}),
        ("subscribe", {"channel": "ticker", "symbol": ["BTC/USD"], "event_trigger": "bbo",
                       "snapshot": True}),
    ]  # fmt: skip
    unsub = ack("unsubscribe", frames[0]["req_id"], "ticker", "BTC/USD")
    sub = ack("subscribe", frames[1]["req_id"], "ticker", "BTC/USD", event_trigger="bbo")
    assert feed(bridge, unsub, sub)[1] == [
        Subscribed("spread.kraken.btcusd"), Subscribed("ticker.kraken.btcusd"),
    ]  # fmt: skip


def test_acks_confirm_each_symbol() -> None:
    """One ack per symbol (§3): each confirms the topics it serves; unsubscribes too."""
    bridge = make()
    frames = sent(bridge.subscribe([parse_topic(BOOK), parse_topic("book.kraken.ethusd")]))
    req = frames[0]["req_id"]
    _, signals = feed(bridge, ack("subscribe", req, "book", "ETH/USD", depth=10),
                      ack("subscribe", req, "book", "BTC/EUR", depth=10))  # fmt: skip
    assert signals == [Subscribed("book.kraken.ethusd"), Subscribed(BOOK)]
    frames = sent(bridge.unsubscribe([parse_topic(BOOK)]))
    _, signals = feed(bridge, ack("unsubscribe", frames[0]["req_id"], "book", "BTC/EUR"))
    assert signals == [Unsubscribed(BOOK)]


def test_refusal_naming_a_symbol() -> None:
    """An error naming one symbol of a batch fails that topic only, with the server's text."""
    bridge = make()
    frames = sent(bridge.subscribe([parse_topic("trades.kraken.btceur"),
                                    parse_topic("trades.kraken.dogeusd")]))  # fmt: skip
    req = frames[0]["req_id"]
    text = "Currency pair not supported DOGE/USD"
    _, signals = feed(bridge, refusal(req, text), ack("subscribe", req, "trade", "BTC/EUR"))
    assert signals == [
        SubscribeFailed("trades.kraken.dogeusd", "unsupported_pair", text),
        Subscribed("trades.kraken.btceur"),
    ]


def test_refusal_of_the_whole_request() -> None:
    """A bad depth refuses every symbol of the request (§3, captured with depth 27)."""
    bridge = make(BOOK, "book.kraken.ethusd")
    text = "Subscription depth not supported"
    _, signals = feed(bridge, refusal(1, text))
    assert signals == [
        SubscribeFailed(BOOK, "unsupported_depth", text),
        SubscribeFailed("book.kraken.ethusd", "unsupported_depth", text),
    ]


def test_already_subscribed_is_a_refusal() -> None:
    """ "Already subscribed" comes for the same channel and symbol with other options."""
    bridge = make("ohlc.kraken.btceur.1m", "ohlc.kraken.btceur.5m")
    _, signals = feed(bridge, ack("subscribe", 1, "ohlc", "BTC/EUR", interval=1),
                      refusal(2, "Already subscribed"))  # fmt: skip
    assert signals == [
        Subscribed("ohlc.kraken.btceur.1m"),
        SubscribeFailed("ohlc.kraken.btceur.5m", "already_subscribed", "Already subscribed"),
    ]


def test_replies_without_a_request() -> None:
    """Errors we cannot place, pongs, and the rate-limit reply (§2, §9)."""
    bridge = make()
    _, signals = feed(
        bridge,
        refusal(None, "Malformed request"),
        '{"method":"pong","req_id":7,"time_in":"a","time_out":"b"}',
        '{"channel":"heartbeat"}',
        '{"Error":"Exceeded msg rate"}',
    )
    assert signals == [
        UpstreamError("malformed_request", "Malformed request"),
        Heartbeat(),
        Heartbeat(),
        UpstreamError("exceeded_msg_rate", "Exceeded msg rate", backoff=10.0),
        Reconnect("upstream: Exceeded msg rate", planned=False),
    ]


def test_handshake_adds_the_path_once() -> None:
    """A bare host gets /v2 (§1); a URL that has a path keeps it."""
    bridge = make()
    assert bridge.handshake("wss://ws.kraken.com").url == "wss://ws.kraken.com/v2"
    assert bridge.handshake("wss://ws.kraken.com/").url == "wss://ws.kraken.com/v2"
    assert bridge.handshake("ws://127.0.0.1:9/v2").url == "ws://127.0.0.1:9/v2"
    assert bridge.handshake("wss://beta-ws.kraken.com/v2").url == "wss://beta-ws.kraken.com/v2"


@pytest.mark.parametrize(
    ("topic", "message"),
    [("trades.coinbase.btcusd", "kraken markets only"),
     ("index.kraken.btcusd", "serves the channels"),
     ("summary.kraken.btceur", "serves the channels"),
     ("volume.btc", "serves the channels"),
     ("ohlc.kraken.btceur.3m", "1m, 5m, 15m, 30m, 1h, 4h, 1d, 1w")],
)  # fmt: skip
def test_check_topic_refuses(topic: str, message: str) -> None:
    """Other exchanges, channels and intervals are refused with a reason."""
    with pytest.raises(TopicError, match=message):
        make().check_topic(parse_topic(topic))


def test_fetched_is_unexpected() -> None:
    """Kraken makes no HTTP requests: an answer is reported, not raised."""
    signals: list[Signal] = []
    make().fetched(BOOK, 200, b"{}", RECV, [], signals)
    assert [s.kind for s in signals if isinstance(s, DecodeError)] == ["unexpected_fetch"]


@pytest.mark.parametrize(
    ("frame", "kind"),
    [
        (b"\xff\xfe{}", "invalid_utf8"),
        (b'{"channel":"\x80"}', "invalid_utf8"),
        (b'{"method":"\x80"}', "invalid_utf8"),
        ('{"channel":', "invalid_json"),
        ("[1,2]", "invalid_message"),
        ('{"channel":"trade","type":"update","data":[{"symbol":"BTC/EUR"}]}', "invalid_message"),
        ('{"channel":7}', "invalid_message"),
        ('{"channel":"instrument","type":"snapshot","data":{}}', "unknown_type"),
        ('{"method":"frobnicate","success":true}', "unknown_type"),
        ("{}", "missing_type"),
        ('{"method":"subscribe","success":true,"result":[],"req_id":1}', "invalid_message"),
        ('{"channel":"book","type":"partial","data":[]}', "invalid_message"),
        (trades("update", trade_entry(1, price='"NaN"')), "invalid_message"),
        (trades("update", trade_entry(1, price="1e999999999")), "invalid_message"),
        (trades("update", trade_entry(1, qty="0E-999999999")), "invalid_message"),
        (
            trades("update", trade_entry(1).replace("2026-11-20T", "2026-11-20 x")),
            "invalid_message",
        ),
        (candle().replace('"trades":12', '"trades":1.5'), "invalid_message"),
    ],
)
def test_malformed_frames(frame: str | bytes, kind: str) -> None:
    """Bad frames become DecodeError signals with a stable kind; feed never raises."""
    events, signals = feed(make("trades.kraken.btceur", "ohlc.kraken.btceur.1m"), frame)
    assert events == []
    assert [s.kind for s in signals if isinstance(s, DecodeError)] == [kind]


def test_bad_entry_spoils_only_itself() -> None:
    """One unreadable trade in a batch does not drop the others."""
    frame = trades("update", trade_entry(1), trade_entry(2, price="1e999999999"), trade_entry(3))
    events, signals = feed(make("trades.kraken.btceur"), frame)
    assert [e.id for e in events if isinstance(e, Trade)] == ["1", "3"]
    assert [s.kind for s in signals if isinstance(s, DecodeError)] == ["invalid_message"]


def test_new_connection_starts_over() -> None:
    """After connection_made, books wait for their new snapshot (§2); seqs keep rising."""
    bridge = make(BOOK)
    feed(bridge, snapshot(BIDS10, ASKS10))
    bridge.connection_made(1)
    update = book_frame("update", [("99.5", "1.00000000")], [], 1)
    assert feed(bridge, update) == ([], [])  # not subscribed on this connection yet
    bridge.subscribe([parse_topic(BOOK)])
    assert feed(bridge, update) == ([], [])  # subscribed: waiting for the snapshot
    _, signals = feed(bridge, snapshot(BIDS10, ASKS10))
    assert isinstance(signals[0], BookSnapshot) and signals[0].seq == 2


def test_bridge_attributes() -> None:
    """Sequences never wrap; default quotas use the standard names."""
    from gateway.core.quota import Quotas

    assert KrakenBridge.book_seq_modulus is None
    assert set(KrakenBridge.default_quotas) <= set(Quotas.__struct_fields__)
    with pytest.raises(ValueError, match="subscription_depth"):
        KrakenBridge(BridgeSettings(upstream="kraken"), book_depth=27)


def test_subscription_depth_comes_from_the_settings() -> None:
    """The config's subscription_depth reaches the book subscription; a bad one is refused."""
    bridge = KrakenBridge(BridgeSettings(upstream="kraken", subscription_depth=100))
    frames = bridge.subscribe([parse_topic("book.kraken.btcusd")])
    assert [json.loads(f)["params"]["depth"] for f in frames] == [100]
    assert KrakenBridge(BridgeSettings(upstream="kraken")).book_depth == 25
    with pytest.raises(ValueError, match=r"subscription_depth must be one of .* not 27"):
        KrakenBridge(BridgeSettings(upstream="kraken", subscription_depth=27))


# --- fuzz: feed never raises ------------------------------------------------------------------

KINDS = frozenset({"invalid_json", "invalid_utf8", "invalid_message", "missing_type",
                   "unknown_type"})  # fmt: skip
PLAIN = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
NUMBER = re.compile(r"(?<![\w.\"])-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?(?![\w.\"])")
SAMPLES = [
    TICKER,
    candle(),
    trades("update", trade_entry(1), trade_entry(2)),
    snapshot(BIDS10, ASKS10),
    book_frame("update", [("99.95", "0.50000000"), ("100.0", "0")], [("100.1", "2.0")], 1),
    '{"channel":"status","type":"update","data":[{"version":"2.0.10","system":"online",'
    '"api_version":"v2","connection_id":15113583034416118705}]}',
    ack("subscribe", 1, "book", "BTC/EUR", depth=10),
    refusal(2, "Currency pair not supported XBT/EUR"),
    '{"channel":"heartbeat"}',
]
JSON_VALUES = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(["1e999999999", "-1E-400", "0E-1000", "1.0e+60", "0.00000000", "-0.0",
                     '"NaN"', '"Infinity"', '"1.5"', "null", "true", "[]", "{}", '""']),
    st.decimals(allow_nan=False, allow_infinity=False, places=8).map(str),
)  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn) -> str | bytes:
    """A valid frame with one number replaced by any JSON value, cut short, or one byte flipped."""
    frame = draw(st.sampled_from(SAMPLES))
    spots = list(NUMBER.finditer(frame))
    how = draw(st.sampled_from(["number", "truncate", "flip"] if spots else ["truncate", "flip"]))
    if how == "number":
        spot = spots[draw(st.integers(0, len(spots) - 1))]
        return frame[: spot.start()] + draw(JSON_VALUES) + frame[spot.end() :]
    raw = frame.encode()
    at = draw(st.integers(0, len(raw) - 1))
    if how == "truncate":
        return raw[:at]
    return raw[:at] + bytes([draw(st.integers(0, 255))]) + raw[at + 1 :]


def check_plain(value: object, where: str) -> None:
    if isinstance(value, str):
        assert PLAIN.fullmatch(value), f"{where}: {value[:60]!r} is not a plain decimal"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300), mutated()))
def test_feed_never_raises(frame: str | bytes) -> None:
    """Any frame: no exception, known DecodeError kinds, and only plain decimals published."""
    bridge = make(*ALL)
    feed(bridge, snapshot(BIDS10, ASKS10))
    events, signals = feed(bridge, frame)
    for signal in signals:
        if isinstance(signal, DecodeError):
            assert signal.kind in KINDS
        elif isinstance(signal, BookSnapshot | BookDelta):
            levels = (signal.bids + signal.asks) if isinstance(signal, BookSnapshot) else (
                signal.bid_set + signal.ask_set)  # fmt: skip
            for price, qty in levels:
                check_plain(price, "level price")
                check_plain(qty, "level qty")
    for event in events:
        for name in ("price", "amount", "bid", "ask", "bid_size", "ask_size", "volume_24h",
                     "high_24h", "low_24h", "open", "high", "low", "close", "volume",
                     "volume_quote"):  # fmt: skip
            check_plain(getattr(event, name, None), f"{type(event).__name__}.{name}")
