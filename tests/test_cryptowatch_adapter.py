"""Unit and wire tests for the sans-I/O Cryptowatch bridge.

Frames are built by hand from the field numbers in the protocol note
(``tests/wire.py``), so a mistake in our .proto files cannot hide itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import json
import threading
from pathlib import Path
from typing import Any

import pytest

from bridges.cryptowatch.adapter import CryptowatchBridge
from bridges.cryptowatch.auth import token
from bridges.cryptowatch.markets import MarketTable
from gateway.bridge import (
    BookDelta,
    BookSnapshot,
    BridgeSettings,
    DecodeError,
    Heartbeat,
    Secret,
    Signal,
    Subscribed,
    SubscribeFailed,
    UpstreamError,
    Welcome,
)
from gateway.cli import main as cli_main
from gateway.errors import ConfigError, TopicError
from gateway.events import Candle, Event, Gap, Spread, Summary, Trade
from gateway.topics import parse_topic
from proto.cryptowatch import client_pb2
from tests.wire import data, f32, message, uint

RECV = 1_700_000_000_000_000_000
KRAKEN_BTCEUR = message(
    uint(3, 4), uint(4, 232), uint(5, 86)
)  # Market{exchangeId, pairId, marketId}


def stream(field: int, body: bytes) -> bytes:
    """A StreamMessage with one body field."""
    return data(field, body)


def market_update(update_field: int, update: bytes, market: bytes = KRAKEN_BTCEUR) -> bytes:
    """StreamMessage{marketUpdate=2{market=9, <update>}}."""
    return stream(2, message(data(9, market), data(update_field, update)))


def parse_client(frames: list[str | bytes]) -> client_pb2.ClientMessage:
    """The first frame a bridge wants sent, decoded as a ClientMessage (it must be binary)."""
    assert isinstance(frames[0], bytes)
    return client_pb2.ClientMessage.FromString(frames[0])


def feed(bridge: CryptowatchBridge, *frames: bytes | str) -> tuple[list[Event], list[Signal]]:
    events: list[Event] = []
    signals: list[Signal] = []
    for frame in frames:
        bridge.feed(frame, RECV, events, signals)
    return events, signals


def make(topics: tuple[str, ...] = (), generation: int = 1) -> CryptowatchBridge:
    bridge = CryptowatchBridge(
        BridgeSettings(upstream="cw", api_key=Secret("foo"), secret=Secret("YmFy"),
                       generation=generation)
    )  # fmt: skip
    bridge.connection_made(1531344872326000000)
    if topics:
        bridge.subscribe([parse_topic(t) for t in topics])
    return bridge


def test_token_matches_the_note_vector() -> None:
    """The HMAC-SHA512 token for key foo, secret YmFy and the note's nonce."""
    assert token("foo", "YmFy", "1531344872326000000") == (
        "55v1hv+29RY+xdtJBnFeyoFLjY4r+d8kmx761jCPWi5NgJJPqjPBp5SdqXjrTy/wBoRIcwGAUFVtpGrY7QAOLw=="
    )


def test_gen1_auth_message_carries_token_and_subscriptions() -> None:
    """The first frame is ClientMessage{apiAuthentication} with the initial subscriptions."""
    bridge = make()
    frames = bridge.subscribe(
        [parse_topic("trades.kraken.btceur"), parse_topic("book.kraken.btceur")]
    )
    assert len(frames) == 1 and isinstance(frames[0], bytes)
    sent = parse_client(frames)
    auth = sent.apiAuthentication
    assert (auth.api_key, auth.nonce) == ("foo", "1531344872326000000")
    expected = base64.b64encode(
        hmac.new(
            b"bar", b"stream_access;access_key_id=foo;nonce=1531344872326000000;", hashlib.sha512
        ).digest()
    ).decode()
    assert auth.token == expected
    assert [s.stream_subscription.resource for s in auth.client_subscriptions] == [
        "markets:86:trades", "markets:86:book:snapshots", "markets:86:book:deltas",
    ]  # fmt: skip
    # Field 5 of ClientMessage holds the auth message (wire check without our classes).
    assert frames[0][0] == (5 << 3 | 2)
    later = bridge.subscribe([parse_topic("spread.kraken.btceur")])
    assert parse_client(later).WhichOneof("body") == "subscribe"
    assert bridge.handshake("wss://stream.cryptowat.ch").url == "wss://stream.cryptowat.ch"


def test_gen2_puts_the_key_in_the_url() -> None:
    """Gen 2 connects to /connect?apikey=…&format=binary and sends plain subscribes."""
    bridge = make(generation=2)
    assert bridge.handshake("wss://stream.cryptowat.ch").url == (
        "wss://stream.cryptowat.ch/connect?apikey=foo&format=binary"
    )
    sent = parse_client(bridge.subscribe([parse_topic("trades.kraken.btcusd")]))
    assert sent.WhichOneof("body") == "subscribe"
    assert sent.subscribe.subscriptions[0].stream_subscription.resource == "markets:87:trades"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (1, Welcome("cryptowatch", (("authenticated", 1),))),
        (3, UpstreamError("auth BAD_TOKEN", "authentication refused: BAD_TOKEN", fatal=True)),
        (
            7,
            UpstreamError(
                "auth INVALID_PUBLIC_KEY", "authentication refused: INVALID_PUBLIC_KEY", fatal=True
            ),
        ),
        (
            6,
            UpstreamError(
                "auth ACCESS_DENIED", "authentication refused: ACCESS_DENIED", fatal=True
            ),
        ),
        (
            2,
            UpstreamError(
                "auth BAD_NONCE", "authentication failed: BAD_NONCE; retrying", backoff=1.0
            ),
        ),
        (
            4,
            UpstreamError(
                "auth TOKEN_EXPIRED", "authentication failed: TOKEN_EXPIRED; retrying", backoff=1.0
            ),
        ),
    ],
)
def test_authentication_results(status: int, expected: Signal) -> None:
    """Each AuthenticationResult status maps to accept, stop, or retry with backoff."""
    _, signals = feed(make(), stream(1, uint(1, status)))
    assert signals == [expected]


def test_subscription_results() -> None:
    """A topic is subscribed once all its resources succeed; failures carry the server's text."""
    bridge = make(("book.kraken.btceur", "trades.kraken.btcusd"))

    def sub(resource: str) -> bytes:
        return data(1, data(1, resource))  # ClientSubscription{stream_subscription{resource}}

    first = stream(5, message(data(4, sub("markets:86:book:snapshots"))))
    second = stream(5, message(data(4, sub("markets:86:book:deltas")),
                               data(2, message(data(2, "unknown market 87"), data(3, sub("markets:87:trades"))))))  # fmt: skip
    _, signals = feed(bridge, first, second)
    assert signals == [
        Subscribed("book.kraken.btceur"),
        SubscribeFailed("trades.kraken.btcusd", "subscribe_failed", "unknown market 87"),
    ]


def test_trades_prefer_strings_then_floats() -> None:
    """priceStr/amountStr win; floats only when strings are empty; timestampNano when > 0."""
    trade_strings = message(uint(2, 1700000000), data(8, "91000.50"), data(9, "0.015"),
                            uint(10, 1700000000123456789), data(11, "T1"), uint(13, 2))  # fmt: skip
    trade_floats = message(
        uint(2, 1700000001), f32(3, 0.5), f32(4, 2.0), data(11, "T2"), uint(13, 1)
    )
    trade_base = message(
        uint(2, 1700000002), data(8, "1"), data(9, "5"), data(15, "4.25"), data(11, "0")
    )
    events, signals = feed(
        make(("trades.kraken.btceur",)),
        market_update(
            4, message(data(1, trade_strings), data(1, trade_floats), data(1, trade_base))
        ),
    )
    assert signals == []
    common: dict[str, Any] = {"topic": "trades.kraken.btceur", "source": "cw", "exchange": "kraken",
              "base": "btc", "quote": "eur", "recv_ts": RECV}  # fmt: skip
    assert events == [
        Trade(
            **common, ts=1700000000123456789, price="91000.50", amount="0.015", side="sell", id="T1"
        ),
        Trade(**common, ts=1700000001 * 10**9, price="0.5", amount="2.0", side="buy", id="T2"),
        Trade(**common, ts=1700000002 * 10**9, price="1", amount="4.25", side="unknown", id="0"),
    ]


def test_updates_fan_out_by_market_id() -> None:
    """Updates name their market by id, so exchange-wide resources fan out to per-market topics."""
    bridge = make(("trades.kraken.btceur",))
    trade = message(uint(2, 1700000000), data(8, "1"), data(9, "2"), data(11, "X"))
    kraken_btcusd = message(uint(3, 4), uint(4, 9), uint(5, 87))
    events, _ = feed(
        bridge, market_update(4, data(1, trade)), market_update(4, data(1, trade), kraken_btcusd)
    )
    assert [e.topic for e in events] == ["trades.kraken.btceur", "trades.kraken.btcusd"]


def test_summary_candles_and_spread() -> None:
    """summaryUpdate, intervalsUpdate (only wanted periods) and spread (ms timestamp)."""
    bridge = make(("ohlc.kraken.btceur.1m", "summary.kraken.btceur", "spread.kraken.btceur"))
    summary = message(uint(8, 1234), data(10, "91000.1"), data(11, "92000"), data(12, "90000"),
                      data(13, "12.5"), data(14, "1137500"), data(15, "-10.5"), data(16, "-0.0115"))  # fmt: skip
    ohlc = message(data(5, "1.10"), data(6, "2"), data(7, "0.5"), data(8, "1.5"))
    minute = message(uint(1, 1700000060), data(2, ohlc), uint(4, 60), data(6, "3"), data(7, "4.5"),
                     data(9, "60"), uint(10, 1700000000))  # fmt: skip
    hour = message(uint(1, 1700003600), data(2, ohlc), uint(4, 3600), data(9, "3600"))
    spread = message(uint(1, 1580810993130), data(2, message(data(3, "100.1"), data(4, "2"))),
                     data(3, message(data(3, "100.2"), data(4, "1.5"))))  # fmt: skip
    events, signals = feed(
        bridge,
        market_update(6, summary),
        market_update(5, message(data(1, minute), data(1, hour))),
        market_update(11, spread),
    )
    assert signals == []
    market: dict[str, Any] = {
        "source": "cw",
        "exchange": "kraken",
        "base": "btc",
        "quote": "eur",
        "recv_ts": RECV,
    }
    assert events == [
        Summary(topic="summary.kraken.btceur", **market, ts=RECV, last="91000.1", high="92000",
                low="90000", volume="12.5", volume_quote="1137500", change_absolute="-10.5",
                change_percent="-0.0115", trades=1234),
        Candle(topic="ohlc.kraken.btceur.1m", **market, ts=1700000000 * 10**9, interval="1m",
               open="1.10", high="2", low="0.5", close="1.5", volume="3", volume_quote="4.5"),
        Spread(topic="spread.kraken.btceur", **market, ts=1580810993130 * 10**6, bid="100.1",
               bid_size="2", ask="100.2", ask_size="1.5"),
    ]  # fmt: skip


def test_book_snapshot_and_delta_signals() -> None:
    """Snapshots and deltas become signals; seqNum is read as uint32; removes by price."""
    snapshot = message(data(1, message(data(3, "100.5"), data(4, "1"))),
                       data(2, message(data(3, "100.6"), data(4, "2"))), uint(5, 7))  # fmt: skip
    deltas = message(data(1, message(data(1, message(data(3, "100.4"), data(4, "3"))), data(4, "100.5"))),
                     data(2, message(data(4, "100.6"))), uint(5, -1))  # int32 -1 = uint32 4294967295  # fmt: skip
    _, signals = feed(
        make(("book.kraken.btceur",)), market_update(2, snapshot), market_update(3, deltas)
    )
    market: dict[str, Any] = {"topic": "book.kraken.btceur", "exchange": "kraken", "base": "btc", "quote": "eur",
              "ts": RECV, "recv_ts": RECV}  # fmt: skip
    assert signals == [
        BookSnapshot(**market, seq=7, bids=(("100.5", "1"),), asks=(("100.6", "2"),)),
        BookDelta(**market, seq=2**32 - 1, bid_set=(("100.4", "3"),), bid_remove=("100.5",),
                  ask_remove=("100.6",)),
    ]  # fmt: skip


def test_bulk_missed_bandwidth_heartbeat() -> None:
    """Bulk frames unpack; missedMessages publishes gaps; bandwidth ok=false stops; 0x01 is a heartbeat."""
    bridge = make(("trades.kraken.btceur",))
    trade = message(uint(2, 1700000000), data(8, "1"), data(9, "2"), data(11, "B1"))
    inner = market_update(4, data(1, trade))
    events, signals = feed(
        bridge,
        stream(11, message(data(1, inner), data(1, inner.replace(b"B1", b"B2")))),
        b"\x01",
        stream(7, uint(1, 42)),
        stream(9, message(uint(1, 0), uint(3, 999))),
    )
    assert [e.id for e in events if isinstance(e, Trade)] == ["B1", "B2"]
    gaps = [e for e in events if isinstance(e, Gap)]
    assert [(g.topic, g.reason, g.dropped) for g in gaps] == [
        ("trades.kraken.btceur", "missed_messages", 42)
    ]
    assert signals == [
        Heartbeat(),
        UpstreamError("bandwidth", "bandwidth allowance used up (999 bytes used)", fatal=True),
    ]


@pytest.mark.parametrize(
    ("frame", "kind"),
    [
        (b"\xff\xff\xff", "invalid_protobuf"),
        ("text", "invalid_protobuf"),  # text frames are decoded from their bytes
        (b"", "empty_message"),
        (market_update(4, data(1, message(data(8, "1"))), message(uint(5, 999))), "unknown_market"),
        (stream(11, data(1, stream(11, b""))), "invalid_message"),
    ],
)
def test_bad_frames_are_counted(frame: bytes | str, kind: str) -> None:
    """Undecodable or unexpected frames give one DecodeError of a stable kind."""
    events, signals = feed(make(("trades.kraken.btceur",)), frame)
    assert events == [] and len(signals) == 1
    assert isinstance(signals[0], DecodeError) and signals[0].kind == kind


def test_topics_cryptowatch_cannot_serve() -> None:
    """Unknown markets and channels are refused with a reason."""
    bridge = make()
    with pytest.raises(TopicError, match="no Cryptowatch market for kraken ethusd"):
        bridge.check_topic(parse_topic("trades.kraken.ethusd"))
    with pytest.raises(TopicError, match="not 'ticker'"):
        bridge.check_topic(parse_topic("ticker.kraken.btceur"))


def test_markets_table_from_rest_and_csv() -> None:
    """The REST /markets answer becomes a table that round-trips through CSV."""
    body = json.dumps({"result": [
        {"id": 86, "exchange": "kraken", "pair": "btceur", "active": True, "route": "x"},
        {"id": 1, "exchange": "bitfinex", "pair": "btcusd", "active": False, "route": "y"},
    ], "allowance": {"cost": 1}}).encode()  # fmt: skip
    table = MarketTable.from_rest(body)
    assert table.by_id[86].pair == "btceur" and not table.by_name[("bitfinex", "btcusd")].active
    again = MarketTable.from_csv(table.to_csv(), "x")
    assert again.rows == table.rows
    assert MarketTable.bundled().by_id[86].exchange == "kraken"
    with pytest.raises(ConfigError, match="not a Cryptowatch /markets answer"):
        MarketTable.from_rest(b'{"error": "nope"}')
    with pytest.raises(ConfigError, match="line 2"):
        MarketTable.from_csv("id,exchange,pair,active\nx,k,p,true\n", "bad.csv")


def test_markets_command_refreshes_from_rest(tmp_path: Path) -> None:
    """``feedgate markets cryptowatch`` fetches /markets from a local server and writes the CSV."""
    body = json.dumps({"result": [{"id": 5001, "exchange": "kraken", "pair": "etheur", "active": True,
                                   "route": "r"}]}).encode()  # fmt: skip

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/markets" else 404)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        out = tmp_path / "markets.csv"
        assert cli_main(["markets", "cryptowatch", "--rest-url",
                         f"http://127.0.0.1:{server.server_port}", "--out", str(out)]) == 0  # fmt: skip
    finally:
        server.shutdown()
        thread.join()
    assert out.read_text() == "id,exchange,pair,active\n5001,kraken,etheur,true\n"
    bridge = CryptowatchBridge(BridgeSettings(upstream="cw", markets_file=str(out)))
    bridge.connection_made(1)
    sent = parse_client(bridge.subscribe([parse_topic("trades.kraken.etheur")]))
    assert (
        sent.apiAuthentication.client_subscriptions[0].stream_subscription.resource
        == "markets:5001:trades"
    )
