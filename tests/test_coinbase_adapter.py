"""Unit tests for the sans-I/O Coinbase Advanced Trade bridge, from plain frames."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridges.coinbase.adapter import CoinbaseBridge
from bridges.coinbase.wire import rfc3339_ns
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
)
from gateway.core.quota import Quotas
from gateway.errors import TopicError
from gateway.events import Candle, Event, Gap, Ticker, Trade
from gateway.registry import make_bridge
from gateway.topics import parse_topic

RECV = 1_751_000_999_000_000_000
STAMP = "2026-11-20T10:00:00.123456789Z"
STAMP_NS = 1_795_168_800_123_456_789
TRADE_TIME = "2026-11-20T10:00:01.123456Z"
BOOKS = ["book.coinbase.btcusd", "book.coinbase.ethusd"]
TOPICS = ["trades.coinbase.btcusd", "ticker.coinbase.btcusd", "ohlc.coinbase.btcusd.5m", *BOOKS]


def feed(bridge: CoinbaseBridge, *frames: str | bytes) -> tuple[list[Event], list[Signal]]:
    events: list[Event] = []
    signals: list[Signal] = []
    for frame in frames:
        bridge.feed(frame, RECV, events, signals)
    return events, signals


class Wire:
    """Numbers enveloped messages the way one Coinbase connection does (§4)."""

    def __init__(self) -> None:
        self.seq = 0

    def __call__(self, channel: str, events: list[dict[str, Any]], **extra: Any) -> str:
        frame = {"channel": channel, "client_id": "", "timestamp": STAMP,
                 "sequence_num": self.seq, "events": events, **extra}  # fmt: skip
        self.seq += 1
        return json.dumps(frame)

    def ack(self, subscriptions: dict[str, list[str]]) -> str:
        return self("subscriptions", [{"subscriptions": subscriptions}])


def level(side: str, price: str, qty: str) -> dict[str, str]:
    return {"side": side, "event_time": "2026-11-20T10:00:00.1Z", "price_level": price,
            "new_quantity": qty}  # fmt: skip


def l2(kind: str, product: str, *levels: dict[str, str]) -> dict[str, Any]:
    return {"type": kind, "product_id": product, "updates": list(levels)}


def trade(trade_id: str, side: str = "BUY", time: str = TRADE_TIME) -> dict[str, str]:
    return {"trade_id": trade_id, "product_id": "BTC-USD", "price": "91234.56",
            "size": "0.00150000", "side": side, "time": time}  # fmt: skip


def connected(topics: list[str] = TOPICS) -> tuple[CoinbaseBridge, Wire, list[str | bytes]]:
    """A bridge on a fresh connection that asked for ``topics``."""
    bridge = CoinbaseBridge(BridgeSettings(upstream="cb"))
    bridge.connection_made(RECV)
    frames = bridge.subscribe([parse_topic(t) for t in topics])
    return bridge, Wire(), frames


def live_books() -> tuple[CoinbaseBridge, Wire]:
    """Both books have their snapshots (seq 1 each), trades too, and every request is acked."""
    bridge, wire, _ = connected([*BOOKS, "trades.coinbase.btcusd"])
    products = ["BTC-USD", "ETH-USD"]
    _, signals = feed(
        bridge,
        wire.ack({"heartbeats": []}),
        wire("l2_data", [l2("snapshot", "BTC-USD", level("bid", "100", "1"),
                            level("offer", "101", "2"))]),
        wire("l2_data", [l2("snapshot", "ETH-USD", level("offer", "11", "3"))]),
        wire.ack({"heartbeats": [], "level2": products}),
        wire.ack({"heartbeats": [], "level2": products, "market_trades": ["BTC-USD"]}),
    )  # fmt: skip
    assert [type(s) for s in signals] == [BookSnapshot, BookSnapshot] + [Subscribed] * 3
    return bridge, wire


# --- requests -------------------------------------------------------------------------


def test_subscribe_frames_one_channel_each_with_heartbeats_first() -> None:
    """The first request turns heartbeats on; then one message per channel (§2, §3)."""
    bridge, _, frames = connected([*TOPICS, "trades.coinbase.ethusd"])
    assert [json.loads(f) for f in frames] == [
        {"type": "subscribe", "channel": "heartbeats"},
        {"type": "subscribe", "product_ids": ["BTC-USD", "ETH-USD"], "channel": "market_trades"},
        {"type": "subscribe", "product_ids": ["BTC-USD"], "channel": "ticker"},
        {"type": "subscribe", "product_ids": ["BTC-USD"], "channel": "candles"},
        {"type": "subscribe", "product_ids": ["BTC-USD", "ETH-USD"], "channel": "level2"},
    ]
    later = bridge.subscribe([parse_topic("ticker.coinbase.ethusd")])
    assert [json.loads(f) for f in later] == [
        {"type": "subscribe", "product_ids": ["ETH-USD"], "channel": "ticker"}
    ]
    bridge.connection_made(RECV)
    again = bridge.subscribe([parse_topic("ticker.coinbase.ethusd")])
    assert json.loads(again[0]) == {"type": "subscribe", "channel": "heartbeats"}


def test_unsubscribe_and_resync_frames() -> None:
    """Unsubscribe keeps the shape; a book resync is unsubscribe + subscribe level2 (§8)."""
    bridge, _, _ = connected()
    frames = bridge.unsubscribe([parse_topic("trades.coinbase.btcusd"), parse_topic(BOOKS[1])])
    assert [json.loads(f) for f in frames] == [
        {"type": "unsubscribe", "product_ids": ["BTC-USD"], "channel": "market_trades"},
        {"type": "unsubscribe", "product_ids": ["ETH-USD"], "channel": "level2"},
    ]
    assert [json.loads(f) for f in bridge.resync(BOOKS[0])] == [
        {"type": "unsubscribe", "product_ids": ["BTC-USD"], "channel": "level2"},
        {"type": "subscribe", "product_ids": ["BTC-USD"], "channel": "level2"},
    ]
    assert bridge.resync(BOOKS[1]) == []  # no longer held
    assert bridge.resync("trades.coinbase.btcusd") == []


@pytest.mark.parametrize(
    ("topic", "words"),
    [("spread.coinbase.btcusd", "spread_from_book"), ("trades.kraken.btcusd", "coinbase markets"),
     ("ohlc.coinbase.btcusd.1m", "5m only"), ("trades.coinbase.btcusdc", "trades.coinbase.btcusd"),
     ("index.coinbase.btcusd", "channels")],
)  # fmt: skip
def test_check_topic_refuses_with_a_reason(topic: str, words: str) -> None:
    """Topics Coinbase cannot serve are refused, saying what to use instead."""
    bridge = CoinbaseBridge(BridgeSettings(upstream="cb"))
    with pytest.raises(TopicError, match=words):
        bridge.check_topic(parse_topic(topic))


def test_check_topic_accepts_the_four_channels() -> None:
    """Trades, ticker, 5m candles, books, and the two real -USDC markets are served."""
    bridge = CoinbaseBridge(BridgeSettings(upstream="cb"))
    for topic in [*TOPICS, "book.coinbase.usdtusdc"]:
        bridge.check_topic(parse_topic(topic))


def test_registered_with_documented_quotas() -> None:
    """The registry builds it; its quotas use Quotas' names; books are not wrapped."""
    bridge = make_bridge("coinbase", BridgeSettings(upstream="cb"))
    assert isinstance(bridge, CoinbaseBridge)
    assert set(bridge.default_quotas) <= set(Quotas.__struct_fields__)
    assert bridge.default_quotas["messages_per_second"] < 8  # §9: 8/s per IP, with room
    assert bridge.book_seq_modulus is None
    assert bridge.handshake("wss://x").headers == ()


def test_fetched_is_reported_not_raised() -> None:
    """A REST answer nobody asked for is a DecodeError."""
    bridge, _, _ = connected()
    signals: list[Signal] = []
    bridge.fetched(BOOKS[0], 200, b"{}", RECV, [], signals)
    assert [s.kind for s in signals if isinstance(s, DecodeError)] == ["unexpected_fetch"]


# --- data -----------------------------------------------------------------------------


def test_trade_normalised_exactly_with_taker_side() -> None:
    """BUY/SELL are the taker's side (§6) → buy/sell; decimals and time kept exactly."""
    bridge, wire, _ = connected()
    events, signals = feed(
        bridge,
        wire("market_trades", [{"type": "update", "trades": [
            trade("1", "BUY"), trade("2", "SELL"), trade("3", "sell"), trade("4", "OTHER")]}]),
    )  # fmt: skip
    assert signals == []
    assert events[0] == Trade(
        topic="trades.coinbase.btcusd", source="cb", exchange="coinbase", base="btc",
        quote="usd", ts=1_795_168_801_123_456_000, recv_ts=RECV, price="91234.56",
        amount="0.00150000", side="buy", id="1",
    )  # fmt: skip
    assert [(e.id, e.side) for e in events if isinstance(e, Trade)] == [
        ("1", "buy"), ("2", "sell"), ("3", "sell"), ("4", "unknown")
    ]  # fmt: skip


def test_trade_snapshot_deduplicated_on_resubscribe() -> None:
    """The recent-trades snapshot (newest first) publishes only unseen trades, oldest first."""
    bridge, wire, _ = connected()
    times = [f"2026-11-20T10:00:0{n}.000001Z" for n in range(4)]
    snapshot = [trade(str(n), time=times[n]) for n in (2, 1, 0)]  # newest first
    events, _ = feed(bridge, wire("market_trades", [{"type": "snapshot", "trades": snapshot}]))
    assert [e.id for e in events if isinstance(e, Trade)] == ["0", "1", "2"]
    bridge.connection_made(RECV)  # reconnect: a new snapshot overlaps what was published
    bridge.subscribe([parse_topic("trades.coinbase.btcusd")])
    again = [trade(str(n), time=times[n]) for n in (3, 2, 1)]
    events, _ = feed(bridge, Wire()("market_trades", [{"type": "snapshot", "trades": again}]))
    assert [e.id for e in events if isinstance(e, Trade)] == ["3"]


def test_ticker_exact_decimals_merged_and_no_spread() -> None:
    """Ticker fields map to feedgate's names with the text as sent; nothing else is derived."""
    bridge, wire, _ = connected()
    entry = {"type": "ticker", "product_id": "BTC-USD", "price": "91234.50",
             "volume_24_h": "1234.00000001", "low_24_h": "90000", "high_24_h": "92000.1",
             "low_52_w": "1", "high_52_w": "2", "price_percent_chg_24_h": "-1.5",
             "best_bid": "91234.49", "best_bid_quantity": "0.1", "best_ask": "91234.51",
             "best_ask_quantity": "0.2"}  # fmt: skip
    events, signals = feed(bridge, wire("ticker", [{"type": "snapshot", "tickers": [entry]}]))
    assert signals == []
    assert events == [
        Ticker(topic="ticker.coinbase.btcusd", source="cb", exchange="coinbase", base="btc",
               quote="usd", ts=STAMP_NS, recv_ts=RECV, flags=0, price="91234.50",
               bid="91234.49", ask="91234.51", volume_24h="1234.00000001", high_24h="92000.1",
               low_24h="90000")
    ]  # fmt: skip
    partial = {"product_id": "BTC-USD", "price": "91235"}
    events, _ = feed(bridge, wire("ticker", [{"type": "update", "tickers": [partial]}]))
    assert isinstance(events[0], Ticker)
    assert (events[0].price, events[0].bid, events[0].low_24h) == ("91235", "91234.49", "90000")


def test_candle_five_minutes_start_in_ns() -> None:
    """A candle is ohlc.coinbase.<pair>.5m with ts = start (UNIX seconds) in ns (§7)."""
    bridge, wire, _ = connected()
    candle = {"start": "1795168800", "open": "91000.10", "high": "91500", "low": "90999.9",
              "close": "91200.00", "volume": "12.34500000", "product_id": "BTC-USD"}  # fmt: skip
    events, signals = feed(bridge, wire("candles", [{"type": "update", "candles": [candle]}]))
    assert signals == []
    assert events == [
        Candle(topic="ohlc.coinbase.btcusd.5m", source="cb", exchange="coinbase", base="btc",
               quote="usd", ts=1_795_168_800 * 10**9, recv_ts=RECV, interval="5m",
               open="91000.10", high="91500", low="90999.9", close="91200.00",
               volume="12.34500000", volume_quote=None)
    ]  # fmt: skip


def test_l2_snapshot_and_updates_become_sequenced_signals() -> None:
    """offer → asks; the bridge numbers snapshot n, updates n+1…; "0" stays a removal."""
    bridge, wire, _ = connected(BOOKS)
    _, signals = feed(
        bridge,
        wire("l2_data", [l2("snapshot", "BTC-USD", level("offer", "101.50", "0.4"),
                            level("bid", "100", "1.25"), level("offer", "102", "3"))]),
        wire("l2_data", [l2("update", "BTC-USD", level("bid", "100", "0"),
                            level("offer", "101.5", "7"))]),
    )  # fmt: skip
    assert signals == [
        BookSnapshot(topic=BOOKS[0], exchange="coinbase", base="btc", quote="usd", ts=STAMP_NS,
                     recv_ts=RECV, seq=1, bids=(("100", "1.25"),),
                     asks=(("101.50", "0.4"), ("102", "3"))),
        BookDelta(topic=BOOKS[0], exchange="coinbase", base="btc", quote="usd", ts=STAMP_NS,
                  recv_ts=RECV, seq=2, bid_set=(("100", "0"),), ask_set=(("101.5", "7"),)),
    ]  # fmt: skip


def test_one_l2_frame_routes_each_product() -> None:
    """Events for several products in one frame go to their own books (§8)."""
    bridge, wire = live_books()
    _, signals = feed(
        bridge,
        wire("l2_data", [l2("update", "ETH-USD", level("bid", "10", "1")),
                         l2("update", "BTC-USD", level("offer", "101", "0"))]),
    )  # fmt: skip
    assert [(s.topic, s.seq) for s in signals if isinstance(s, BookDelta)] == [
        (BOOKS[1], 2), (BOOKS[0], 2)
    ]  # fmt: skip


# --- sequence_num ---------------------------------------------------------------------


def test_sequence_gap_invalidates_every_book_until_new_snapshots() -> None:
    """A jump in sequence_num: BookInvalid per book, updates ignored until each snapshot."""
    bridge, wire = live_books()
    wire.seq += 1  # one message lost
    events, signals = feed(bridge, wire("heartbeats", [{"heartbeat_counter": 3}]))
    reason = f"sequence_num gap: expected {wire.seq - 2}, got {wire.seq - 1}"
    assert signals == [BookInvalid(BOOKS[0], reason), BookInvalid(BOOKS[1], reason), Heartbeat()]
    assert [(type(e), e.topic) for e in events] == [(Gap, "trades.coinbase.btcusd")]
    assert isinstance(events[0], Gap) and events[0].reason == reason
    assert [json.loads(f)["type"] for f in bridge.resync(BOOKS[0])] == ["unsubscribe", "subscribe"]
    _, signals = feed(
        bridge,
        wire("l2_data", [l2("update", "BTC-USD", level("bid", "99", "1")),
                         l2("update", "ETH-USD", level("bid", "9", "1"))]),
        wire("l2_data", [l2("snapshot", "BTC-USD", level("bid", "99", "1"))]),
        wire("l2_data", [l2("update", "BTC-USD", level("bid", "98", "1")),
                         l2("update", "ETH-USD", level("bid", "8", "1"))]),
    )  # fmt: skip
    assert [(type(s).__name__, s.topic, s.seq) for s in signals
            if isinstance(s, BookSnapshot | BookDelta)] == [
        ("BookSnapshot", BOOKS[0], 2), ("BookDelta", BOOKS[0], 3)
    ]  # fmt: skip


def test_gap_while_a_snapshot_is_awaited_reconnects() -> None:
    """A lost message may be a snapshot the session cannot resync: reconnect (§4, C7)."""
    bridge, wire, _ = connected(BOOKS)
    _, signals = feed(bridge, wire.ack({"heartbeats": []}))
    wire.seq += 1
    _, signals = feed(bridge, wire("l2_data", [l2("snapshot", "BTC-USD")]))
    assert len(signals) == 2 and isinstance(signals[0], Reconnect)
    assert signals[0].planned is False and BOOKS[1] in signals[0].reason


def test_connection_made_resets_the_sequence() -> None:
    """sequence_num starts again on a new connection: no gap is reported for it."""
    bridge, wire = live_books()
    bridge.connection_made(RECV)
    bridge.subscribe([parse_topic(b) for b in BOOKS])
    _, signals = feed(bridge, Wire()("heartbeats", []))
    assert signals == [Heartbeat()]
    _, signals = feed(bridge, wire("heartbeats", []))  # 7 after 0: a gap
    assert isinstance(signals[0], Reconnect)  # the books wait for their new snapshots


def test_undecodable_l2_data_counts_as_lost_book_data() -> None:
    """A malformed l2_data message still uses its number and invalidates the books."""
    bridge, wire = live_books()
    _, signals = feed(bridge, wire("l2_data", [{"type": "update", "product_id": 5}]))
    assert [type(s) for s in signals] == [DecodeError, BookInvalid, BookInvalid]
    _, signals = feed(bridge, wire("heartbeats", []))
    assert signals == [Heartbeat()]  # the bad message's number was counted


def test_invalid_level_invalidates_that_book_only() -> None:
    """A level that is not a decimal is reported and that book alone resyncs."""
    bridge, wire = live_books()
    _, signals = feed(bridge, wire("l2_data", [l2("update", "BTC-USD", level("bid", "x", "1"))]))
    assert [type(s) for s in signals] == [DecodeError, BookInvalid]
    assert isinstance(signals[1], BookInvalid) and signals[1].topic == BOOKS[0]


# --- acks and errors ------------------------------------------------------------------


def test_acks_confirm_and_unsubscribe() -> None:
    """Subscribed when the ack lists the product; Unsubscribed when it leaves the list."""
    bridge, wire, _ = connected(["trades.coinbase.btcusd", BOOKS[0]])
    _, signals = feed(
        bridge,
        wire.ack({"heartbeats": []}),
        wire.ack({"heartbeats": [], "market_trades": ["BTC-USD"]}),
        wire.ack({"heartbeats": [], "level2": ["BTC-USD"], "market_trades": ["BTC-USD"]}),
    )
    assert signals == [Subscribed("trades.coinbase.btcusd"), Subscribed(BOOKS[0])]
    bridge.unsubscribe([parse_topic("trades.coinbase.btcusd")])
    _, signals = feed(bridge, wire.ack({"heartbeats": [], "level2": ["BTC-USD"]}))
    assert signals == [Unsubscribed("trades.coinbase.btcusd")]


def test_server_error_fails_the_unheld_products_with_its_text() -> None:
    """{"type":"error"} names no product: once all requests are answered, what is missing failed."""
    bridge, wire, _ = connected(["trades.coinbase.btcusd", "ticker.coinbase.btcusd"])
    _, signals = feed(
        bridge,
        wire.ack({"heartbeats": []}),
        '{"type":"error","message":"failure to subscribe"}',
        wire.ack({"heartbeats": [], "ticker": ["BTC-USD"]}),
    )
    assert signals == [
        Subscribed("ticker.coinbase.btcusd"),
        SubscribeFailed("trades.coinbase.btcusd", "error", "failure to subscribe"),
    ]


def test_quietly_dropped_product_fails() -> None:
    """A product left out of the ack without an error is a failure too (§3)."""
    bridge, wire, _ = connected(["trades.coinbase.btcusd", "trades.coinbase.ethusd"])
    _, signals = feed(
        bridge,
        wire.ack({"heartbeats": []}),
        wire.ack({"heartbeats": [], "market_trades": ["BTC-USD"]}),
    )
    assert signals == [
        Subscribed("trades.coinbase.btcusd"),
        SubscribeFailed("trades.coinbase.ethusd", "not_subscribed", "not in the subscriptions ack"),
    ]


def test_malformed_ack_still_answers_its_request() -> None:
    """An ack that fails to decode is counted as an answer, so failures are still settled."""
    bridge, wire, _ = connected(["trades.coinbase.btcusd"])
    bad = wire("subscriptions", [{"subscriptions": {"market_trades": "BTC-USD"}}])
    _, signals = feed(bridge, wire.ack({"heartbeats": []}), bad)
    assert [type(s) for s in signals] == [DecodeError, SubscribeFailed]


def test_error_answering_nothing_is_an_upstream_error() -> None:
    """An error when no request is outstanding concerns the connection."""
    bridge, wire, _ = connected(["ticker.coinbase.btcusd"])
    feed(bridge, wire.ack({"heartbeats": []}), wire.ack({"ticker": ["BTC-USD"]}))
    _, signals = feed(bridge, '{"type":"error","message":"rate limit exceeded"}')
    assert signals == [UpstreamError("error", "rate limit exceeded")]


# --- bad frames -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "kind"),
    [(b"{nope", "invalid_json"), (b'{"channel":"\xff"}', "invalid_utf8"),
     (b"\xff\xfe", "invalid_utf8"), ('{"channel":"ticker","events":"x"}', "invalid_message"),
     ('{"type":"subscriptions"}', "unknown_type"), ("[1,2]", "invalid_message"),
     ('{"channel":"status","sequence_num":0,"events":[]}', "unknown_channel"),
     ('{"foo":1}', "invalid_message")],
)  # fmt: skip
def test_malformed_frames_become_decode_errors(frame: str | bytes, kind: str) -> None:
    """Bad frames never raise; each becomes a DecodeError with a stable kind."""
    bridge, _, _ = connected()
    events, signals = feed(bridge, frame)
    assert events == []
    assert [s.kind for s in signals if isinstance(s, DecodeError)] == [kind]


@pytest.mark.parametrize("bad", ["1e5000", "NaN", "-1", "abc", ""])
def test_bad_decimals_are_refused(bad: str) -> None:
    """Prices must be finite non-negative decimals; exponents in range become plain text."""
    bridge, wire, _ = connected()
    bad_trade = {**trade("9"), "price": bad}
    events, signals = feed(
        bridge, wire("market_trades", [{"type": "update", "trades": [bad_trade]}])
    )
    assert events == [] and [type(s) for s in signals] == [DecodeError]
    events, _ = feed(bridge, wire("market_trades", [{"type": "update", "trades": [
        {**trade("10"), "price": "1E-8"}]}]))  # fmt: skip
    assert isinstance(events[0], Trade) and events[0].price == "0.00000001"


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300)))
def test_feed_never_raises(frame: str | bytes) -> None:
    """Arbitrary bytes and text become signals, never exceptions."""
    bridge, _, _ = connected()
    _, signals = feed(bridge, frame)
    assert all(isinstance(s, DecodeError | UpstreamError) for s in signals)


def test_rfc3339_keeps_nanoseconds_and_offsets() -> None:
    """Envelope times keep all nine fraction digits; offsets are applied."""
    assert rfc3339_ns(STAMP) == STAMP_NS
    assert rfc3339_ns("2026-11-20T11:00:00.5+01:00") == 1_795_168_800_500_000_000
    with pytest.raises(ValueError):
        rfc3339_ns("2026-13-20T10:00:00Z")
