"""Unit tests for the sans-I/O Binance bridge: frames and REST answers in, events and signals out.

Frames are written by hand from ``shared/protocols/binance.md`` (§4, §8-§10), not taken
from the simulator, so the two cannot share a mistake.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridges.binance.adapter import (
    CONNECTION_LIFETIME_NS,
    ROLLOVER_MARGIN_NS,
    ROLLOVER_RETRY_NS,
    STREAMS_PER_REQUEST,
    BinanceBridge,
)
from bridges.binance.depth import RETRY_BASE_NS
from gateway.bookkeeper import BookKeeper
from gateway.bridge import (
    BookDelta,
    BookInvalid,
    BookSnapshot,
    BridgeSettings,
    DecodeError,
    Fetch,
    Reconnect,
    Signal,
    Subscribed,
    SubscribeFailed,
    Unsubscribed,
    UpstreamError,
)
from gateway.core.quota import Quotas
from gateway.errors import TopicError
from gateway.events import Book, Candle, Event, Spread, Ticker, Trade
from gateway.registry import make_bridge
from gateway.topics import parse_topic

T0 = 1_763_600_000_000_000_000
REST = "http://127.0.0.1:9/rest"
BTC_BOOK = "book.binance.btcusdt"
BTC_TICKER = "ticker.binance.btcusdt"
ETH_BOOK = "book.binance.ethusdt"
KINDS = frozenset(
    {"invalid_json", "invalid_utf8", "invalid_message", "unknown_message", "unknown_response",
     "invalid_snapshot", "unexpected_fetch"}
)  # fmt: skip


def make(*topics: str) -> BinanceBridge:
    bridge = BinanceBridge(BridgeSettings(upstream="bn", rest_url=REST + "/"))
    bridge.connection_made(T0)
    if topics:
        bridge.subscribe([parse_topic(t) for t in topics])
    return bridge


def wrap(stream: str, data: dict[str, Any]) -> str:
    return json.dumps({"stream": stream, "data": data}, separators=(",", ":"))


def feed(
    bridge: BinanceBridge, *frames: str | bytes, at: int = T0
) -> tuple[list[Event], list[Signal]]:
    events: list[Event] = []
    signals: list[Signal] = []
    for frame in frames:
        bridge.feed(frame, at, events, signals)
    return events, signals


def fetched(
    bridge: BinanceBridge, topic: str, status: int, body: bytes | dict[str, Any], at: int = T0
) -> list[Signal]:
    events: list[Event] = []
    signals: list[Signal] = []
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    bridge.fetched(topic, status, raw, at, events, signals)
    assert events == []
    return signals


def ticker(**changes: Any) -> str:
    """A whole ``24hrTicker`` frame, every field §9 lists, values made up (consistent)."""
    data = {"e": "24hrTicker", "E": 1763600000123, "s": "BTCUSDT", "p": "234.56000000",
            "P": "0.258", "w": "91100.12345678", "x": "90999.99000000", "c": "91234.56000000",
            "Q": "0.00150000", "b": "91234.50000000", "B": "31.21000000",
            "a": "91234.51000000", "A": "0.00000001", "o": "91000.00000000",
            "h": "91500.0", "l": "90500.00000000", "v": "12345.67800000",
            "q": "1124690123.45678900", "O": 1763513600123, "C": 1763600000123,
            "F": 5100000000, "L": 5123456789, "n": 23456790}  # fmt: skip
    return wrap("btcusdt@ticker", {**data, **changes})


def diff(symbol: str, first: int, last: int, bids: Any = (), asks: Any = ()) -> str:
    data = {"e": "depthUpdate", "E": 1763600000123, "s": symbol.upper(), "U": first, "u": last,
            "b": [list(b) for b in bids], "a": [list(a) for a in asks]}  # fmt: skip
    return wrap(f"{symbol}@depth@100ms", data)


def snapshot(last_update_id: int, bids: Any = (), asks: Any = ()) -> dict[str, Any]:
    return {"lastUpdateId": last_update_id, "bids": [list(b) for b in bids],
            "asks": [list(a) for a in asks]}  # fmt: skip


def trade(trade_id: int, maker: bool, price: str = "91234.56000000") -> str:
    return wrap("btcusdt@trade", {"e": "trade", "E": 1763600000123, "s": "BTCUSDT",
                                  "t": trade_id, "p": price, "q": "0.00150000",
                                  "T": 1763600000121, "m": maker, "M": True})  # fmt: skip


# --- contract -------------------------------------------------------------------------


def test_registered_with_documented_quotas() -> None:
    """The registry builds it; its quotas are §5's, under names the pool knows."""
    bridge = make_bridge("binance", BridgeSettings(upstream="bn"))
    assert isinstance(bridge, BinanceBridge)
    assert bridge.book_seq_modulus is None
    assert dict(bridge.default_quotas) == {
        "subscriptions_per_connection": 1024, "connects_per_minute": 50,
        "messages_per_second": 5, "rest_weight_per_minute": 6000,
    }  # fmt: skip
    assert set(bridge.default_quotas) <= set(Quotas.__struct_fields__)
    # A bucket of 50 a minute with a burst of 50 allows at most 300 connects in 5 minutes.
    assert bridge.default_quotas["connects_per_minute"] * 6 <= 300


def test_check_topic() -> None:
    """Binance serves trades, ticker, spread, ohlc and book of its own markets only."""
    bridge = make()
    for name in ("trades.binance.btcusdt", "spread.binance.ethbtc", "book.binance.btcusdt",
                 "ohlc.binance.btcusdt.1m", "ohlc.binance.btcusdt.1w", BTC_TICKER):  # fmt: skip
        bridge.check_topic(parse_topic(name))
    for name in ("trades.kraken.btceur", "ticker.kraken.btceur", "index.binance.btcusdt",
                 "summary.binance.btcusdt"):  # fmt: skip
        with pytest.raises(TopicError):
            bridge.check_topic(parse_topic(name))


def test_handshake_opens_combined_streams() -> None:
    """``<url>/stream``; once topics are known they ride in ``?streams=`` too (§1)."""
    bridge = BinanceBridge(BridgeSettings(upstream="bn"))
    assert bridge.handshake("ws://127.0.0.1:9443").url == "ws://127.0.0.1:9443/stream"
    assert bridge.handshake("ws://127.0.0.1:9443/stream/").url == "ws://127.0.0.1:9443/stream"
    bridge.subscribe([parse_topic("trades.binance.btcusdt"), parse_topic(BTC_BOOK)])
    assert bridge.handshake("ws://h/").url == (
        "ws://h/stream?streams=btcusdt@trade/btcusdt@depth@100ms"
    )
    bridge.unsubscribe([parse_topic("trades.binance.btcusdt")])
    assert bridge.handshake("ws://h").url == "ws://h/stream?streams=btcusdt@depth@100ms"
    many = [parse_topic(f"ohlc.binance.{b}usdt.{i}") for b in ("btc", "eth", "sol", "bnb",
            "xrp", "ada", "doge", "dot", "link", "ltc") for i in ("1m", "3m", "5m", "15m",
            "30m", "1h", "2h", "4h", "6h", "12h", "1d", "3d", "1w")] * 2  # fmt: skip
    bridge.subscribe(many)
    assert len(bridge.handshake("ws://h").url) < 4_100  # the rest go by SUBSCRIBE only


# --- requests and their answers ----------------------------------------------------------


def test_subscribe_batches_streams_into_one_request_per_256() -> None:
    """One SUBSCRIBE carries many streams (§5: 5 messages a second); ids count up."""
    bridge = make()
    frames = bridge.subscribe([parse_topic(t) for t in (
        "trades.binance.btcusdt", "spread.binance.btcusdt", "ohlc.binance.btcusdt.1m",
        BTC_BOOK)])  # fmt: skip
    assert [json.loads(f) for f in frames] == [
        {"method": "SUBSCRIBE", "params": ["btcusdt@trade", "btcusdt@bookTicker",
                                           "btcusdt@kline_1m", "btcusdt@depth@100ms"], "id": 1}
    ]  # fmt: skip
    pairs = [f"a{i}usdt" for i in range(300)]
    frames = bridge.subscribe([parse_topic(f"trades.binance.{p}") for p in pairs])
    requests = [json.loads(f) for f in frames]
    assert [r["id"] for r in requests] == [2, 3]
    assert [len(r["params"]) for r in requests] == [STREAMS_PER_REQUEST, 300 - STREAMS_PER_REQUEST]
    assert requests[0]["params"][0] == "a0usdt@trade"
    assert bridge.subscribe([]) == []
    frames = bridge.unsubscribe([parse_topic("spread.binance.btcusdt")])
    assert [json.loads(f) for f in frames] == [
        {"method": "UNSUBSCRIBE", "params": ["btcusdt@bookTicker"], "id": 4}
    ]


def test_ticker_subscribes_to_the_symbol_ticker_stream() -> None:
    """ticker.binance.<pair> is ``<pair>@ticker`` (§9) in SUBSCRIBE, the URL and UNSUBSCRIBE."""
    bridge = make()
    frames = bridge.subscribe([parse_topic(BTC_TICKER), parse_topic("ticker.binance.ethbtc")])
    assert [json.loads(f) for f in frames] == [
        {"method": "SUBSCRIBE", "params": ["btcusdt@ticker", "ethbtc@ticker"], "id": 1}
    ]
    assert bridge.handshake("ws://h").url == "ws://h/stream?streams=btcusdt@ticker/ethbtc@ticker"
    assert feed(bridge, '{"result":null,"id":1}')[1] == [
        Subscribed(BTC_TICKER), Subscribed("ticker.binance.ethbtc")
    ]  # fmt: skip
    frames = bridge.unsubscribe([parse_topic("ticker.binance.ethbtc")])
    assert [json.loads(f) for f in frames] == [
        {"method": "UNSUBSCRIBE", "params": ["ethbtc@ticker"], "id": 2}
    ]


def test_acks_and_errors_match_request_ids() -> None:
    """Acks confirm the topics of their request; errors refuse them with the server's text."""
    bridge = make()
    bridge.subscribe([parse_topic("trades.binance.btcusdt"), parse_topic(BTC_BOOK)])  # id 1
    bridge.subscribe([parse_topic("spread.binance.btcusdt")])  # id 2
    bridge.unsubscribe([parse_topic("trades.binance.btcusdt")])  # id 3
    _, signals = feed(bridge, '{"result":null,"id":2}', '{"result":null,"id":1}',
                      '{"result":null,"id":3}')  # fmt: skip
    assert signals == [
        Subscribed("spread.binance.btcusdt"),
        Subscribed("trades.binance.btcusdt"),
        Subscribed(BTC_BOOK),
        Unsubscribed("trades.binance.btcusdt"),
    ]
    bridge.subscribe([parse_topic("ohlc.binance.btcusdt.1m")])  # id 4
    _, signals = feed(
        bridge,
        '{"code":2,"msg":"Invalid request: too many parameters","id":4}',
        '{"code":3,"msg":"Invalid JSON: expected value at line 1 column 1"}',
        '{"result":null,"id":4}',  # already answered
    )
    assert signals == [
        SubscribeFailed("ohlc.binance.btcusdt.1m", "2", "Invalid request: too many parameters"),
        UpstreamError("3", "Invalid JSON: expected value at line 1 column 1"),
        DecodeError("unknown_response", "no request has id 4"),
    ]


def test_a_new_connection_forgets_pending_requests() -> None:
    """Answers are per connection: after connection_made an old id is unknown."""
    bridge = make("trades.binance.btcusdt")
    bridge.connection_made(T0 + 1)
    _, signals = feed(bridge, '{"result":null,"id":1}')
    assert [type(s) for s in signals] == [DecodeError]
    frames = bridge.subscribe([parse_topic("trades.binance.btcusdt")])
    assert json.loads(frames[0])["id"] == 2  # ids stay unique across connections


# --- market data ----------------------------------------------------------------------


def test_trades_side_from_the_maker_flag_and_published_once() -> None:
    """m:true = buyer is maker = the taker sold; each trade id is published once."""
    bridge = make("trades.binance.btcusdt")
    events, signals = feed(bridge, trade(5123456789, True), trade(5123456790, False),
                           trade(5123456789, True))  # fmt: skip
    assert signals == []
    common: dict[str, Any] = dict(topic="trades.binance.btcusdt", source="bn", exchange="binance", base="btc",
                  quote="usdt", ts=1763600000121_000_000, recv_ts=T0, price="91234.56000000",
                  amount="0.00150000")  # fmt: skip
    assert events == [
        Trade(**common, side="sell", id="5123456789"),
        Trade(**common, side="buy", id="5123456790"),
    ]


def test_book_ticker_and_klines_keep_every_digit() -> None:
    """bookTicker → spread (receive time, seq u); every kline update → a candle at its open."""
    bridge = make("spread.binance.btcusdt", "ohlc.binance.btcusdt.1m")
    ticker = {"u": 400900217, "s": "BTCUSDT", "b": "25.35190000", "B": "31.21000000",
              "a": "25.36520000", "A": "0.00000001"}  # fmt: skip
    k = {"t": 1763599980000, "T": 1763600039999, "s": "BTCUSDT", "i": "1m", "f": 1, "L": 9,
         "o": "0.0010", "c": "0.0020", "h": "0.0025", "l": "0.0015", "v": "1000.00000000",
         "n": 9, "x": False, "q": "1.00000000", "V": "500", "Q": "0.500", "B": "0"}  # fmt: skip
    kline = {"e": "kline", "E": 1763600000123, "s": "BTCUSDT", "k": k}
    closed = {**kline, "k": {**k, "x": True, "c": "0.0021"}}
    events, signals = feed(bridge, wrap("btcusdt@bookTicker", ticker),
                           wrap("btcusdt@kline_1m", kline), wrap("btcusdt@kline_1m", closed))  # fmt: skip
    assert signals == []
    market: dict[str, Any] = dict(
        source="bn", exchange="binance", base="btc", quote="usdt", recv_ts=T0
    )
    candle = Candle(topic="ohlc.binance.btcusdt.1m", **market, ts=1763599980000_000_000,
                    interval="1m", open="0.0010", high="0.0025", low="0.0015", close="0.0020",
                    volume="1000.00000000", volume_quote="1.00000000", trades=9)  # fmt: skip
    assert events == [
        Spread(topic="spread.binance.btcusdt", **market, ts=T0, bid="25.35190000",
               bid_size="31.21000000", ask="25.36520000", ask_size="0.00000001",
               seq=400900217),
        candle,
        msgspec.structs.replace(candle, close="0.0021"),
    ]  # fmt: skip


def test_24hr_ticker_becomes_an_exact_ticker() -> None:
    """24hrTicker → ticker: §9's last, bid/ask, 24 h open/high/low/volumes, E as ts, digits kept."""
    bridge = make(BTC_TICKER)
    events, signals = feed(bridge, ticker(), ticker(E=1763600001123, c="91234.57"), at=T0 + 9)
    assert signals == []
    first = Ticker(
        topic=BTC_TICKER, source="bn", exchange="binance", base="btc", quote="usdt",
        ts=1763600000123_000_000, recv_ts=T0 + 9, flags=0, price="91234.56000000",
        bid="91234.50000000", ask="91234.51000000", last_volume="0.00150000",
        last_trade_id="5123456789", volume_24h="12345.67800000",
        volume_24h_quote="1124690123.45678900", open_24h="91000.00000000", high_24h="91500.0",
        low_24h="90500.00000000",
    )  # fmt: skip
    assert events == [
        first,
        msgspec.structs.replace(first, ts=1763600001123_000_000, price="91234.57"),
    ]


def test_data_of_streams_not_held_is_dropped() -> None:
    """Frames of a stream given up (before its UNSUBSCRIBE ack) are dropped quietly."""
    bridge = make("trades.binance.btcusdt")
    bridge.unsubscribe([parse_topic("trades.binance.btcusdt")])
    assert feed(bridge, trade(1, True), wrap("ethusdt@trade", {})) == ([], [])


# --- order books ----------------------------------------------------------------------


def test_book_sync_through_the_rest_snapshot() -> None:
    """Diff → Fetch; the snapshot → BookSnapshot at lastUpdateId, then deltas seq+1 each."""
    bridge = make(BTC_BOOK)
    _, signals = feed(bridge, diff("btcusdt", 157, 160, [("0.0024", "10")], [("0.0026", "100")]))
    assert signals == [Fetch(BTC_BOOK, f"{REST}/api/v3/depth?symbol=BTCUSDT&limit=1000", 50)]
    _, signals = feed(bridge, diff("btcusdt", 161, 165, [("0.0024", "0.00000000")]), at=T0 + 5)
    assert signals == []  # buffered
    signals = fetched(bridge, BTC_BOOK, 200,
                      snapshot(158, [("0.0024", "9"), ("0.0023", "1")], [("0.0026", "99")]),
                      at=T0 + 7)  # fmt: skip
    market: dict[str, Any] = dict(topic=BTC_BOOK, exchange="binance", base="btc", quote="usdt")
    assert signals == [
        BookSnapshot(**market, ts=T0 + 7, recv_ts=T0 + 7, seq=158,
                     bids=(("0.0024", "9"), ("0.0023", "1")), asks=(("0.0026", "99"),)),
        BookDelta(**market, ts=1763600000123_000_000, recv_ts=T0, seq=159,
                  bid_set=(("0.0024", "10"),), ask_set=(("0.0026", "100"),)),
        BookDelta(**market, ts=1763600000123_000_000, recv_ts=T0 + 5, seq=160,
                  bid_set=(("0.0024", "0.00000000"),)),
    ]  # fmt: skip
    _, signals = feed(bridge, diff("btcusdt", 166, 166, [("0.0022", "5")]))
    assert [(type(s), s.seq) for s in signals if isinstance(s, BookDelta)] == [(BookDelta, 161)]
    assert bridge.resync(BTC_BOOK) == []


def test_gap_refetches_that_symbol_only() -> None:
    """U > bookId + 1 on BTCUSDT: BookInvalid and a new Fetch for it; ETHUSDT goes on."""
    bridge = make(BTC_BOOK, ETH_BOOK)
    feed(bridge, diff("btcusdt", 10, 10), diff("ethusdt", 500, 500))
    fetched(bridge, BTC_BOOK, 200, snapshot(10))
    fetched(bridge, ETH_BOOK, 200, snapshot(500))
    _, signals = feed(bridge, diff("btcusdt", 12, 13), diff("ethusdt", 501, 502))
    assert [type(s) for s in signals] == [BookInvalid, Fetch, BookDelta]
    assert signals[0] == BookInvalid(BTC_BOOK, "missed update ids 11-11")
    assert isinstance(signals[1], Fetch) and "symbol=BTCUSDT&" in signals[1].url
    assert isinstance(signals[2], BookDelta) and signals[2].topic == ETH_BOOK
    assert bridge.resync(BTC_BOOK) == []  # the session calls it after BookInvalid: no-op
    _, signals = feed(bridge, diff("btcusdt", 14, 14), diff("ethusdt", 503, 503))
    assert [(type(s), getattr(s, "topic", None)) for s in signals] == [(BookDelta, ETH_BOOK)]
    signals = fetched(bridge, BTC_BOOK, 200, snapshot(13))
    assert [(type(s), getattr(s, "seq", None)) for s in signals] == [
        (BookSnapshot, 13), (BookDelta, 14)
    ]  # fmt: skip


def test_bookkeeper_applies_every_update_without_a_gap() -> None:
    """The engine takes the bridge's snapshots and deltas as given; a book equals the truth."""
    bridge = make(BTC_BOOK)
    keeper = BookKeeper("bn", bridge.book_seq_modulus)
    book_events: list[Event] = []

    def run(signals: list[Signal]) -> None:
        for signal in signals:
            if isinstance(signal, BookSnapshot | BookDelta):
                assert keeper.apply(signal, book_events) is False

    run(feed(bridge, diff("btcusdt", 100, 102, [("10", "1")], [("11", "1")]))[1])
    run(feed(bridge, diff("btcusdt", 103, 110, [("10", "2"), ("9", "5")]))[1])
    run(fetched(bridge, BTC_BOOK, 200, snapshot(105, [("10", "1"), ("8", "3")], [("11", "1")])))
    run(feed(bridge, diff("btcusdt", 111, 111, [("8", "0")], [("12", "4")]))[1])
    run(feed(bridge, diff("btcusdt", 111, 111, [("8", "7")]))[1])  # a duplicate: ignored
    books = [e for e in book_events if isinstance(e, Book)]
    assert [(b.action, b.seq, b.prev_seq) for b in books] == [
        ("snapshot", 105, None), ("delta", 106, 105), ("delta", 107, 106)
    ]  # fmt: skip
    assert keeper.in_sync(BTC_BOOK)
    assert json.loads(books[-1].bids) == [["8", "0"]] and json.loads(books[-1].asks) == [
        ["12", "4"]
    ]


def test_snapshot_older_than_the_buffer_is_fetched_again_later() -> None:
    """lastUpdateId < first U: no book yet; a new Fetch with the first diff after the delay."""
    bridge = make(BTC_BOOK)
    feed(bridge, diff("btcusdt", 100, 102))
    assert fetched(bridge, BTC_BOOK, 200, snapshot(90)) == []
    assert feed(bridge, diff("btcusdt", 103, 103), at=T0 + RETRY_BASE_NS - 1)[1] == []
    _, signals = feed(bridge, diff("btcusdt", 104, 104), at=T0 + RETRY_BASE_NS)
    assert [type(s) for s in signals] == [Fetch]


@pytest.mark.parametrize(
    ("status", "body", "wait_s", "first"),
    [
        (429, b'{"code":-1003,"msg":"Too much request weight used; back off."}', 60,
         UpstreamError("rest 429", "depth snapshot answered HTTP 429 (-1003: Too much request "
                       "weight used; back off.)")),
        (418, b"", 300, UpstreamError("rest 418", "depth snapshot answered HTTP 418")),
        (0, b"connection refused", 0.25,
         UpstreamError("rest 0", "depth snapshot request failed: connection refused")),
        (200, b'{"lastUpdateId":5,"bids":[["abc","1"]],"asks":[]}', 0.25, DecodeError),
        (200, b"<html>", 0.25, DecodeError),
    ],
)  # fmt: skip
def test_failed_snapshots_are_retried_later(
    status: int, body: bytes, wait_s: float, first: Signal | type[Signal]
) -> None:
    """429 waits a minute, 418 five, a failure or a bad body backs off; then Fetch again."""
    bridge = make(BTC_BOOK)
    feed(bridge, diff("btcusdt", 1, 1))
    signals = fetched(bridge, BTC_BOOK, status, body)
    if isinstance(first, type):
        assert len(signals) == 1 and isinstance(signals[0], first)
        assert isinstance(signals[0], DecodeError) and signals[0].kind == "invalid_snapshot"
    else:
        assert signals == [first]
    wait = int(wait_s * 1e9)
    assert feed(bridge, diff("btcusdt", 2, 2), at=T0 + wait - 1)[1] == []
    assert [type(s) for s in feed(bridge, diff("btcusdt", 3, 3), at=T0 + wait)[1]] == [Fetch]


def test_unexpected_and_stale_rest_answers() -> None:
    """An answer for no book is reported; one for a book reset since is dropped."""
    bridge = make(BTC_BOOK)
    assert fetched(bridge, "trades.binance.btcusdt", 200, b"{}") == [
        DecodeError("unexpected_fetch", "no request was made for trades.binance.btcusdt")
    ]
    assert fetched(bridge, BTC_BOOK, 200, snapshot(1)) == []  # nothing asked yet
    feed(bridge, diff("btcusdt", 1, 1))
    bridge.connection_made(T0 + 1)  # the request's connection is gone
    assert fetched(bridge, BTC_BOOK, 200, snapshot(1)) == []
    _, signals = feed(bridge, diff("btcusdt", 2, 2))
    assert [type(s) for s in signals] == [Fetch]  # every book is rebuilt on a new connection
    bridge.unsubscribe([parse_topic(BTC_BOOK)])
    assert fetched(bridge, "book.binance.btcusdt", 200, snapshot(2)) == []


def test_resync_after_an_engine_gap_refetches_with_the_next_diff() -> None:
    """resync() on a live book: no frames; the next diff is buffered and fetches again."""
    bridge = make(BTC_BOOK)
    feed(bridge, diff("btcusdt", 1, 1))
    fetched(bridge, BTC_BOOK, 200, snapshot(1))
    assert bridge.resync(BTC_BOOK) == []
    _, signals = feed(bridge, diff("btcusdt", 2, 2))
    assert [type(s) for s in signals] == [Fetch]


# --- connection lifetime ----------------------------------------------------------------


def test_server_shutdown_asks_for_a_planned_reconnect() -> None:
    """serverShutdown (§2), wrapped on combined streams or raw: reconnect at once, planned."""
    bridge = make()
    _, signals = feed(bridge, '{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1770123456789}}',
                      '{"e":"serverShutdown","E":1770123456789}')  # fmt: skip
    assert signals == [Reconnect("serverShutdown", planned=True)] * 2


def test_planned_reconnect_before_the_24_hour_limit() -> None:
    """At 24 h minus the margin (by frame receive times), then once a minute until replaced."""
    bridge = make("trades.binance.btcusdt")
    due = T0 + CONNECTION_LIFETIME_NS - ROLLOVER_MARGIN_NS
    assert ROLLOVER_MARGIN_NS == 30 * 60 * 10**9
    assert feed(bridge, trade(1, True), at=due - 1)[1] == []
    reconnect = Reconnect("connection lifetime (24 h) nearly over", planned=True)
    events, signals = feed(bridge, trade(2, True), at=due)
    assert signals == [reconnect] and len(events) == 1  # the frame itself is still decoded
    assert feed(bridge, trade(3, True), at=due + ROLLOVER_RETRY_NS - 1)[1] == []
    assert feed(bridge, trade(4, True), at=due + ROLLOVER_RETRY_NS)[1] == [reconnect]
    bridge.connection_made(due + ROLLOVER_RETRY_NS + 5)  # the new connection
    assert feed(bridge, trade(5, True), at=due + ROLLOVER_RETRY_NS + 10)[1] == []


def test_no_rollover_before_a_connection() -> None:
    """Without connection_made there is no lifetime to watch."""
    bridge = BinanceBridge(BridgeSettings(upstream="bn"))
    assert feed(bridge, '{"result":null,"id":9}', at=2**62)[1] == [
        DecodeError("unknown_response", "no request has id 9")
    ]


# --- bad frames -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "kind"),
    [
        ("not json", "invalid_json"),
        (b"\xff\xfe", "invalid_utf8"),
        ("[1,2]", "invalid_message"),
        ('{"stream":5}', "invalid_message"),
        ("{}", "unknown_message"),
        ('{"e":"somethingNew"}', "unknown_message"),
        ('{"stream":"btcusdt@trade"}', "invalid_message"),
        ('{"stream":"btcusdt@trade","data":{"t":1}}', "invalid_message"),
        ('{"stream":"btcusdt@trade","data":{"t":1,"p":"NaN","q":"1","T":1,"m":true}}',
         "invalid_message"),
        ('{"stream":"btcusdt@trade","data":{"t":1,"p":"1e5","q":"1","T":1,"m":true}}',
         "invalid_message"),
        ('{"stream":"btcusdt@trade","data":{"t":1,"p":1.5,"q":"1","T":1,"m":true}}',
         "invalid_message"),
        ('{"stream":"btcusdt@bookTicker","data":[]}', "invalid_message"),
        ('{"stream":"btcusdt@kline_1m","data":{"k":{}}}', "invalid_message"),
        ('{"stream":"btcusdt@ticker","data":{"e":"24hrTicker","E":1}}', "invalid_message"),
        (ticker(c="NaN"), "invalid_message"),
        (ticker(v="1e5"), "invalid_message"),
        (ticker(b=91234.5), "invalid_message"),
        (ticker(L="5123456789"), "invalid_message"),
        (ticker(E=-1), "invalid_message"),
        (ticker(E=2**63 // 1_000_000 + 1), "invalid_message"),  # its ns would not fit int64
        ('{"stream":"btcusdt@depth@100ms","data":{"E":1,"U":5,"u":4,"b":[],"a":[]}}',
         "invalid_message"),
        ('{"stream":"btcusdt@depth@100ms","data":{"E":1,"U":1,"u":4,"b":[["1"]],"a":[]}}',
         "invalid_message"),
        ('{"result":null,"id":77}', "unknown_response"),
    ],
)  # fmt: skip
def test_malformed_frames_become_decode_errors(frame: str | bytes, kind: str) -> None:
    """Bad frames are reported with a stable kind and never raise."""
    bridge = make("trades.binance.btcusdt", "spread.binance.btcusdt",
                  "ohlc.binance.btcusdt.1m", BTC_BOOK, BTC_TICKER)  # fmt: skip
    events, signals = feed(bridge, frame)
    assert events == []
    assert [(type(s), getattr(s, "kind", None)) for s in signals] == [(DecodeError, kind)]


VALID = [
    trade(7, True),
    wrap("btcusdt@bookTicker", {"u": 1, "s": "BTCUSDT", "b": "1", "B": "2", "a": "3", "A": "4"}),
    diff("btcusdt", 1, 3, [("1.5", "2")], [("1.6", "0")]),
    ticker(),
    '{"result":null,"id":1}',
    '{"code":2,"msg":"x","id":1}',
    '{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1}}',
]


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=200),
        st.text(max_size=200),
        st.tuples(st.sampled_from(VALID), st.integers(0, 200), st.binary(max_size=4)).map(
            lambda t: t[0].encode()[: t[1]] + t[2] + t[0].encode()[t[1] :]
        ),
    )
)
def test_feed_never_raises(frame: str | bytes) -> None:
    """Arbitrary and mutated frames: feed returns well-formed events and known signals only."""
    bridge = make("trades.binance.btcusdt", "spread.binance.btcusdt", BTC_BOOK, BTC_TICKER)
    events, signals = feed(bridge, frame)
    for signal in signals:
        if isinstance(signal, DecodeError):
            assert signal.kind in KINDS
    for event in events:
        if isinstance(event, Ticker):
            assert 0 <= event.ts < 2**63
        for name in ("price", "amount", "bid", "ask", "bid_size", "ask_size", "last_volume",
                     "volume_24h", "volume_24h_quote", "open_24h", "high_24h", "low_24h"):  # fmt: skip
            value = getattr(event, name, None)
            if value is not None:
                assert float(value) == float(value)  # a finite plain decimal
                assert "e" not in value.lower() and "n" not in value.lower()
