"""Unit tests for the sans-I/O CryptoCompare bridge, from plain frames."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bridges.cryptocompare.adapter import CryptoCompareBridge
from gateway.bridge import (
    BookDelta,
    BookSnapshot,
    BridgeSettings,
    DecodeError,
    Heartbeat,
    QuotaUpdate,
    Secret,
    Signal,
    Subscribed,
    SubscribeFailed,
    Unsubscribed,
    UpstreamError,
    Welcome,
)
from gateway.events import Candle, Event, Index, Spread, Ticker, Trade, Volume
from gateway.topics import parse_topic

RECV = 1_751_000_999_000_000_000


def feed(bridge: CryptoCompareBridge, *frames: str | bytes) -> tuple[list[Event], list[Signal]]:
    events: list[Event] = []
    signals: list[Signal] = []
    for frame in frames:
        bridge.feed(frame, RECV, events, signals)
    return events, signals


@pytest.fixture
def bridge() -> CryptoCompareBridge:
    return CryptoCompareBridge(BridgeSettings(upstream="cc"))


TRADE = (
    '{"TYPE":"0","M":"Kraken","FSYM":"BTC","TSYM":"EUR","F":"2","ID":"70011223",'
    '"TS":1751000100,"Q":0.015,"P":91000.5,"TOTAL":1365.0075,"RTS":1751000100,'
    '"CCSEQ":70011001,"TSNS":120000000,"RTSNS":180000000}'
)


def test_trade_normalised_exactly(bridge: CryptoCompareBridge) -> None:
    """A TYPE 0 frame becomes one Trade with exact decimals and nanosecond time."""
    events, signals = feed(bridge, TRADE)
    assert signals == []
    assert events == [
        Trade(
            topic="trades.kraken.btceur",
            source="cc",
            exchange="kraken",
            base="btc",
            quote="eur",
            ts=1_751_000_100_120_000_000,
            recv_ts=RECV,
            price="91000.5",
            amount="0.015",
            side="buy",
            id="70011223",
            seq=70011001,
            reversed=False,
        )
    ]


@pytest.mark.parametrize(
    ("flags", "side", "reversed_"),
    [("1", "sell", False), ("2", "buy", False), ("4", "unknown", False),
     ("9", "sell", True), ("10", "buy", True), ("12", "unknown", True), (2, "buy", False)],
)  # fmt: skip
def test_trade_side_bitmask(
    bridge: CryptoCompareBridge, flags: str | int, side: str, reversed_: bool
) -> None:
    """F is a bitmask: 1 sell, 2 buy, 4 unknown, 8 reversed (tested with &, not ==)."""
    frame = json.loads(TRADE)
    frame["F"] = flags
    events, _ = feed(bridge, json.dumps(frame))
    trade = events[0]
    assert isinstance(trade, Trade)
    assert (trade.side, trade.reversed) == (side, reversed_)


def test_decimals_keep_their_exact_text(bridge: CryptoCompareBridge) -> None:
    """JSON numbers keep every digit, exponents become positional, strings pass through."""
    frame = (
        '{"TYPE":"0","M":"Binance","FSYM":"SHIB","TSYM":"USDT","F":"1","ID":"1","TS":"1751000100",'
        '"Q":123456789012345678901234567890.10,"P":1E-8}'
    )
    events, _ = feed(bridge, frame)
    trade = events[0]
    assert isinstance(trade, Trade)
    assert trade.price == "0.00000001"
    assert trade.amount == "123456789012345678901234567890.10"
    assert trade.ts == 1_751_000_100 * 10**9
    events, _ = feed(bridge, frame.replace('"ID":"1"', '"ID":2').replace("1E-8", '"0.10"'))
    trade = events[0]
    assert isinstance(trade, Trade)
    assert (trade.price, trade.id) == ("0.10", "2")


def test_replayed_trades_published_once(bridge: CryptoCompareBridge) -> None:
    """The last-20 replay after a resubscribe does not publish a trade twice."""
    events, _ = feed(bridge, TRADE, TRADE, TRADE.replace("70011223", "70011224"))
    assert [e.id for e in events if isinstance(e, Trade)] == ["70011223", "70011224"]


def _index(**fields: Any) -> str:
    frame = {"TYPE": "5", "MARKET": "CCCAGG", "FROMSYMBOL": "ETH", "TOSYMBOL": "USD"}
    frame.update(fields)
    return json.dumps(frame)


def test_partial_updates_merge_without_clearing(bridge: CryptoCompareBridge) -> None:
    """TYPE 5 partial updates overwrite only the keys they carry; missing keys stay."""
    snapshot = (
        '{"TYPE":"5","MARKET":"CCCAGG","FROMSYMBOL":"ETH","TOSYMBOL":"USD","FLAGS":2049,'
        '"PRICE":3412.55,"LASTUPDATE":1751000200,"LASTVOLUME":0.4,"LASTVOLUMETO":1365.02,'
        '"LASTTRADEID":"55120987","VOLUMEHOUR":812.3,"VOLUME24HOUR":40120.7,"MEDIAN":3412.50,'
        '"LASTMARKET":"Bitstamp","MAXSUPPLY":-1}'
    )
    volume_only = '{"TYPE":"5","MARKET":"CCCAGG","FROMSYMBOL":"ETH","TOSYMBOL":"USD","FLAGS":4,"VOLUMEHOUR":812.40}'
    price = _index(FLAGS=1026, PRICE=3413, LASTUPDATE=1751000260, MEDIAN=3412.9)
    events, signals = feed(bridge, snapshot, volume_only, price)
    assert signals == []
    first, second, third = events
    assert isinstance(first, Index) and isinstance(second, Index) and isinstance(third, Index)
    assert first.topic == "index.cccagg.ethusd"
    assert (first.price, first.volume_hour, first.median) == ("3412.55", "812.3", "3412.50")
    assert (first.last_market, first.last_trade_id, first.max_supply) == (
        "Bitstamp",
        "55120987",
        "-1",
    )
    assert (first.price_dir, first.median_dir, first.ts) == ("up", "unchanged", 1751000200 * 10**9)
    # volume-only update: price and everything else kept, FLAGS not carried forward
    assert (second.price, second.volume_hour, second.volume_24h) == ("3412.55", "812.40", "40120.7")
    assert (second.flags, second.price_dir, second.median_dir) == (4, "unchanged", None)
    assert second.ts == first.ts
    assert (third.price, third.median, third.volume_hour) == ("3413", "3412.9", "812.40")
    assert (third.price_dir, third.median_dir, third.ts) == ("down", "down", 1751000260 * 10**9)


def test_ticker_state_resets_on_new_connection(bridge: CryptoCompareBridge) -> None:
    """After a reconnect the cached ticker state is dropped; the new snapshot starts fresh."""
    ticker = '{"TYPE":"2","MARKET":"Binance","FROMSYMBOL":"BTC","TOSYMBOL":"USDT","FLAGS":1,"PRICE":100,"BID":99}'
    update = (
        '{"TYPE":"2","MARKET":"Binance","FROMSYMBOL":"BTC","TOSYMBOL":"USDT","FLAGS":2,"PRICE":98}'
    )
    events, _ = feed(bridge, ticker, update)
    assert isinstance(events[1], Ticker) and (events[1].price, events[1].bid) == ("98", "99")
    bridge.connection_made(0)
    events, _ = feed(bridge, update)
    assert isinstance(events[0], Ticker) and (events[0].price, events[0].bid) == ("98", None)
    assert events[0].topic == "ticker.binance.btcusdt" and type(events[0]) is Ticker
    assert events[0].ts == RECV  # no LASTUPDATE seen yet: receive time


@pytest.mark.parametrize(
    ("flags", "dirs"),
    [
        (1, ("up", None, None, None)),
        (2050, ("down", None, None, "unchanged")),
        (8 | 128 | 512, (None, "up", "down", "up")),
        (4 | 32 | 256 | 1024, ("unchanged", "unchanged", "unchanged", "down")),
    ],
)
def test_ticker_flags_bitmask(
    bridge: CryptoCompareBridge, flags: int, dirs: tuple[str | None, ...]
) -> None:
    """FLAGS decodes to price/bid/ask/median directions (bits 1..2048, tested with &)."""
    events, _ = feed(bridge, _index(FLAGS=flags, PRICE=1))
    event = events[0]
    assert isinstance(event, Index)
    assert (event.price_dir, event.bid_dir, event.ask_dir, event.median_dir) == dirs


def test_candle(bridge: CryptoCompareBridge) -> None:
    """TYPE 24 becomes a whole Candle on the interval's topic; string numbers tolerated."""
    frame = (
        '{"TYPE":"24","MARKET":"Kraken","FROMSYMBOL":"XBT","TOSYMBOL":"EUR","TS":"1751000160",'
        '"UNIT":"H","ACTION":"U","OPEN":91000,"HIGH":91010.5,"LOW":90990,"CLOSE":91005,'
        '"VOLUMEFROM":1.25,"VOLUMETO":113750.1,"TOTALTRADES":"42","FIRSTTS":1751000161,'
        '"LASTTS":1751000219,"FIRSTPRICE":91000,"MAXPRICE":91010.5,"MINPRICE":90990,"LASTPRICE":91005}'
    )
    events, _ = feed(bridge, frame)
    assert events == [
        Candle(
            topic="ohlc.kraken.btceur.1h", source="cc", exchange="kraken", base="btc",
            quote="eur", ts=1751000160 * 10**9, recv_ts=RECV, interval="1h", open="91000",
            high="91010.5", low="90990", close="91005", volume="1.25", volume_quote="113750.1",
            trades=42, first_ts=1751000161 * 10**9, last_ts=1751000219 * 10**9,
            first_price="91000", max_price="91010.5", min_price="90990", last_price="91005",
        )
    ]  # fmt: skip


def test_top_of_book_merges_sides(bridge: CryptoCompareBridge) -> None:
    """TYPE 30: the first frame has both sides; later one-sided frames keep the other side."""
    both = (
        '{"TYPE":"30","M":"Coinbase","FSYM":"BTC","TSYM":"USD","CCSEQ":5,'
        '"BID":[{"P":100.10,"Q":2,"REPORTEDNS":"1751000160000000001"}],'
        '"ASK":[{"P":100.20,"Q":1.5,"REPORTEDNS":1751000160000000002}]}'
    )
    ask = '{"TYPE":"30","M":"Coinbase","FSYM":"BTC","TSYM":"USD","CCSEQ":6,"ASK":[{"P":100.3,"Q":0.5,"REPORTEDNS":1751000161000000000}]}'
    events, _ = feed(bridge, both, ask)
    first, second = events
    assert isinstance(first, Spread) and isinstance(second, Spread)
    assert (first.bid, first.bid_size, first.ask, first.ask_size, first.seq) == (
        "100.10", "2", "100.20", "1.5", 5,
    )  # fmt: skip
    assert first.ts == 1751000160000000002
    assert (second.bid, second.bid_size, second.ask, second.ask_size, second.seq) == (
        "100.10", "2", "100.3", "0.5", 6,
    )  # fmt: skip
    assert second.topic == "spread.coinbase.btcusd" and second.ts == 1751000161000000000


def test_volumes(bridge: CryptoCompareBridge) -> None:
    """TYPE 11 and 21 publish the asset's volume, value as a number or a string."""
    events, _ = feed(
        bridge,
        '{"TYPE":"11","SYMBOL":"BTC","FULLVOLUME":"412345.67"}',
        '{"TYPE":"21","SYMBOL":"BTC","TOPTIERFULLVOLUME":212345.6}',
    )
    assert [(e.topic, e.scope, e.volume) for e in events if isinstance(e, Volume)] == [
        ("volume.btc", "all", "412345.67"),
        ("toptiervolume.btc", "toptier", "212345.6"),
    ]


def test_control_messages(bridge: CryptoCompareBridge) -> None:
    """Welcome, acks and heartbeats become signals; acks name the topic subscribed."""
    bridge.subscribe([parse_topic("trades.okx.btcusdt")])
    welcome = (
        '{"TYPE":"20","MESSAGE":"STREAMERWELCOME","SERVER_UPTIME_SECONDS":4021,"SERVER_NAME":"03",'
        '"SERVER_TIME_MS":1751000000123,"CLIENT_ID":123456,"DATA_FORMAT":"JSON","SOCKET_ID":"Ab3+",'
        '"SOCKETS_ACTIVE":1,"SOCKETS_REMAINING":0,"RATELIMIT_MAX_MINUTE":60,"RATELIMIT_REMAINING_MINUTE":59}'
    )
    events, signals = feed(
        bridge,
        welcome,
        '{"TYPE":"16","MESSAGE":"SUBSCRIBECOMPLETE","SUB":"0~OKEX~BTC~USDT"}',
        '{"TYPE":"3","MESSAGE":"LOADCOMPLETE","INFO":"All your valid subs have been loaded."}',
        '{"TYPE":"17","MESSAGE":"UNSUBSCRIBECOMPLETE","SUB":"0~OKEX~BTC~USDT"}',
        '{"TYPE":"18","MESSAGE":"UNSUBSCRIBEALLCOMPLETE","INFO":"Removed 1 subs.","INFO_OBJ":{"valid":1,"invalid":0}}',
        '{"TYPE":"999","MESSAGE":"HEARTBEAT","TIMEMS":1751000300000}',
    )
    assert events == []
    assert signals[1] == QuotaUpdate((("connections", 1), ("connects_per_minute", 60)))
    del signals[1]
    assert signals == [
        Welcome("03", (("sockets_active", 1), ("sockets_remaining", 0),
                       ("ratelimit_max_minute", 60), ("ratelimit_remaining_minute", 59))),
        Subscribed("trades.okx.btcusdt"),
        Unsubscribed("trades.okx.btcusdt"),
        Heartbeat(),
    ]  # fmt: skip


def test_errors_become_specific_signals(bridge: CryptoCompareBridge) -> None:
    """401/429/500 are told apart: refused subs, fatal auth, quota back-off, others."""
    _, signals = feed(
        bridge,
        '{"TYPE":"500","MESSAGE":"INVALID_SUB","PARAMETER":"5~CCCAGG~ZZZ~USD","INFO":"not mapped"}',
        '{"TYPE":"429","MESSAGE":"TOO_MANY_SUBSCRIPTIONS_MAX_600_PER_SOCKET","PARAMETER":"0~Kraken~BTC~EUR","INFO":"max subs"}',
        '{"TYPE":"401","MESSAGE":"UNAUTHORIZED","PARAMETER":"format","INFO":"We only support JSON format with a valid api_key."}',
        '{"TYPE":"429","MESSAGE":"TOO_MANY_SOCKETS_MAX_1_PER_CLIENT","INFO":"max sockets"}',
        '{"TYPE":"429","MESSAGE":"RATE_LIMIT_OPENING_SOCKETS_TOO_FAST","INFO":"slow down"}',
        '{"TYPE":"500","MESSAGE":"FORCE_DISCONNECT"}',
        '{"TYPE":"500","MESSAGE":"SUBSCRIPTION_ALREADY_ACTIVE","PARAMETER":"0~Kraken~BTC~EUR"}',
    )
    assert signals == [
        SubscribeFailed("index.cccagg.zzzusd", "500 INVALID_SUB", "not mapped"),
        QuotaUpdate((("subscriptions_per_connection", 600),)),
        SubscribeFailed("trades.kraken.btceur", "429 TOO_MANY_SUBSCRIPTIONS_MAX_600_PER_SOCKET", "max subs"),
        UpstreamError("401 UNAUTHORIZED", "We only support JSON format with a valid api_key.", fatal=True),
        QuotaUpdate((("connections", 1),)),
        UpstreamError("429 TOO_MANY_SOCKETS_MAX_1_PER_CLIENT", "max sockets", backoff=60.0),
        UpstreamError("429 RATE_LIMIT_OPENING_SOCKETS_TOO_FAST", "slow down", backoff=60.0),
        UpstreamError("500 FORCE_DISCONNECT", "FORCE_DISCONNECT"),
        Subscribed("trades.kraken.btceur"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("frame", "kind"),
    [
        ("not json", "invalid_json"),
        (b"\xff\xfe{}", "invalid_utf8"),
        ('{"TYPE":"77","X":1}', "unknown_type"),
        ('{"TYPE":"0","M":"Kraken"}', "invalid_message"),
        ('{"TYPE":"0","M":"Kraken","FSYM":"BTC","TSYM":"EUR","ID":"1","TS":1,"Q":1,"P":"abc"}', "invalid_message"),
        ('{"TYPE":"0","M":"Kraken","FSYM":"BTC","TSYM":"EUR","ID":"1","TS":1,"Q":1,"P":1,"F":"x"}', "invalid_message"),
        ('{"TYPE":"24","MARKET":"K","FROMSYMBOL":"B","TOSYMBOL":"E","TS":1,"UNIT":"W","OPEN":1,"HIGH":1,"LOW":1,"CLOSE":1,"VOLUMEFROM":1,"VOLUMETO":1}', "invalid_message"),
        ('{"M":"Kraken"}', "missing_type"),
        ("[1,2]", "invalid_message"),
        ("", "invalid_json"),
    ],
)  # fmt: skip
def test_malformed_frames_are_counted_not_raised(
    bridge: CryptoCompareBridge, frame: str | bytes, kind: str
) -> None:
    """A bad frame yields one DecodeError of a stable kind and no event; the next frame works."""
    events, signals = feed(bridge, frame, TRADE)
    assert len(signals) == 1 and isinstance(signals[0], DecodeError)
    assert signals[0].kind == kind
    assert [type(e) for e in events] == [Trade]


def test_order_book_snapshot_and_deltas(bridge: CryptoCompareBridge) -> None:
    """TYPE 9 becomes a book snapshot signal; TYPE 8 ACTION codes become set/remove deltas."""
    events, signals = feed(
        bridge,
        '{"TYPE":"9","M":"Binance","FSYM":"BTC","TSYM":"USDT","CCSEQ":41,"BID":[{"P":100.5,"Q":2},{"P":100.4,"Q":1E-3}],"ASK":[{"P":100.6,"Q":"3"}]}',
        '{"TYPE":"8","M":"Binance","FSYM":"BTC","TSYM":"USDT","SIDE":0,"ACTION":1,"CCSEQ":42,"P":100.45,"Q":7,"REPORTEDNS":1751000000000000001}',
        '{"TYPE":"8","M":"Binance","FSYM":"BTC","TSYM":"USDT","SIDE":1,"ACTION":2,"CCSEQ":43,"P":100.6,"Q":0}',
        '{"TYPE":"8","M":"Binance","FSYM":"BTC","TSYM":"USDT","SIDE":1,"ACTION":4,"CCSEQ":44,"P":100.7,"Q":0.5}',
        '{"TYPE":"8","M":"Binance","FSYM":"BTC","TSYM":"USDT","SIDE":0,"ACTION":3,"CCSEQ":45,"P":100.45,"Q":7}',
        '{"TYPE":"8","M":"Binance","FSYM":"BTC","TSYM":"USDT","SIDE":2,"ACTION":1,"CCSEQ":46,"P":1,"Q":1}',
    )
    assert events == []
    market: dict[str, Any] = {
        "topic": "book.binance.btcusdt",
        "exchange": "binance",
        "base": "btc",
        "quote": "usdt",
    }
    assert signals[:5] == [
        BookSnapshot(**market, ts=RECV, recv_ts=RECV, seq=41,
                     bids=(("100.5", "2"), ("100.4", "0.001")), asks=(("100.6", "3"),)),
        BookDelta(**market, ts=1751000000000000001, recv_ts=RECV, seq=42, bid_set=(("100.45", "7"),)),
        BookDelta(**market, ts=RECV, recv_ts=RECV, seq=43, ask_remove=("100.6",)),
        BookDelta(**market, ts=RECV, recv_ts=RECV, seq=44, ask_set=(("100.7", "0.5"),)),
        BookDelta(**market, ts=RECV, recv_ts=RECV, seq=45),
    ]  # fmt: skip
    assert isinstance(signals[5], DecodeError) and signals[5].kind == "invalid_message"


def test_book_resync_resubscribes_that_book_alone(bridge: CryptoCompareBridge) -> None:
    """A CCSEQ gap is mended by SubRemove + SubAdd of that one book (§3.4)."""
    assert bridge.resync("book.kraken.btceur") == [
        '{"action":"SubRemove","subs":["8~Kraken~BTC~EUR"]}',
        '{"action":"SubAdd","subs":["8~Kraken~BTC~EUR"]}',
    ]


def test_subscribe_frames_and_handshake() -> None:
    """SubAdd/SubRemove carry the mapped subs; the key goes in a header, never the URL."""
    bridge = CryptoCompareBridge(BridgeSettings(upstream="cc", api_key=Secret("sekrit")))
    topics = [parse_topic("trades.kraken.btceur"), parse_topic("ohlc.cccagg.btcusd.1d")]
    assert bridge.subscribe(topics) == [
        '{"action":"SubAdd","subs":["0~Kraken~BTC~EUR","24~CCCAGG~BTC~USD~D"]}'
    ]
    assert bridge.unsubscribe(topics[:1]) == ['{"action":"SubRemove","subs":["0~Kraken~BTC~EUR"]}']
    handshake = bridge.handshake("wss://streamer.cryptocompare.com/v2")
    assert handshake.url == "wss://streamer.cryptocompare.com/v2"
    assert handshake.headers == (("authorization", "Apikey sekrit"),)
    assert "sekrit" not in repr(bridge.__dict__)
    assert CryptoCompareBridge(BridgeSettings(upstream="cc")).handshake("ws://x/v2").headers == ()


def test_large_subscription_lists_are_split() -> None:
    """More than 100 subs go out as several SubAdd frames, none lost."""
    bridge = CryptoCompareBridge(BridgeSettings(upstream="cc"))
    topics = [parse_topic(f"volume.a{i}") for i in range(250)]
    frames = bridge.subscribe(topics)
    subs = [s for f in frames for s in json.loads(f)["subs"]]
    assert len(frames) == 3 and subs == [f"11~A{i}" for i in range(250)]
