"""Tests for the Kraken Spot WebSocket v2 simulator (bridges/kraken/sim.py).

Expectations come from shared/protocols/kraken.md; the book checksum is checked with a helper
written here from the note's rules, independent of the simulator's own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import signal
import socket
import sys
import zlib
from collections.abc import Callable, Coroutine
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosedError

from bridges.kraken.sim import KrakenSimulator, SimConfig, add_arguments, config_from_args
from bridges.kraken.sim_market import book_checksum, checksum_digits

TIMEOUT = 2.0
ROOT = Path(__file__).resolve().parent.parent
QUIET = SimConfig(heartbeat_interval=0)  # no heartbeats between the frames a test expects
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")
ACK_KEYS = ["method", "result", "success", "time_in", "time_out", "req_id"]
ERROR_KEYS = ["error", "method", "success", "time_in", "time_out", "req_id"]
TRADE_KEYS = ["symbol", "side", "price", "qty", "ord_type", "trade_id", "timestamp"]
TICKER_KEYS = ["symbol", "bid", "bid_qty", "ask", "ask_qty", "last", "volume", "vwap"]
TICKER_KEYS += ["low", "high", "change", "change_pct", "timestamp"]
OHLC_KEYS = ["symbol", "open", "high", "low", "close", "vwap", "trades", "volume"]
OHLC_KEYS += ["interval_begin", "interval", "timestamp"]
NOTE_VECTOR_ASKS = [("100.5", "0.25000000"), ("100.6", "1.00000000")]
NOTE_VECTOR_BIDS = [("100.4", "0.01000000"), ("100.3", "2.50000000")]
NOTE_VECTOR_TEXT = "1005250000001006100000000100410000001003250000000"
NOTE_VECTOR_CRC = 3692927879

Frame = dict[str, Any]


def run(test: Callable[[], Coroutine[Any, Any, None]], timeout: float = 8.0) -> None:
    asyncio.run(asyncio.wait_for(test(), timeout))


async def recv_raw(ws: ClientConnection, timeout: float = TIMEOUT) -> tuple[str, Frame]:
    """One frame: its text and its JSON, decimals kept as their wire text."""
    raw = await asyncio.wait_for(ws.recv(), timeout)
    assert isinstance(raw, str)
    frame = json.loads(raw, parse_float=str)
    assert isinstance(frame, dict), raw
    return raw, frame


async def recv(ws: ClientConnection, timeout: float = TIMEOUT) -> Frame:
    return (await recv_raw(ws, timeout))[1]


async def connected(sim: KrakenSimulator) -> ClientConnection:
    ws = await connect(sim.url)
    assert (await recv(ws))["channel"] == "status"
    return ws


async def request(
    ws: ClientConnection, method: str, req_id: int | None = None, **params: Any
) -> None:
    message: Frame = {"method": method}
    if params:
        message["params"] = params
    if req_id is not None:
        message["req_id"] = req_id
    await ws.send(json.dumps(message))


async def subscribe(ws: ClientConnection, channel: str, symbol: str, **params: Any) -> Frame | None:
    """Subscribe one symbol; return the snapshot (None when snapshot is false)."""
    await request(ws, "subscribe", channel=channel, symbol=[symbol], **params)
    ack = await recv(ws)
    assert ack["success"] is True and ack["result"]["symbol"] == symbol, ack
    if not ack["result"]["snapshot"]:
        return None
    snapshot = await recv(ws)
    assert (snapshot["channel"], snapshot["type"]) == (channel, "snapshot"), snapshot
    return snapshot


async def recv_raw_after_subscribe(
    ws: ClientConnection, symbol: str, depth: int
) -> tuple[str, Frame]:
    await request(ws, "subscribe", channel="book", symbol=[symbol], depth=depth, snapshot=True)
    assert (await recv(ws))["result"]["depth"] == depth
    return await recv_raw(ws)


# -- an independent book and checksum, from the note's §8 ----------------------------------


def crc_part(text: str) -> str:
    digits = "".join(ch for ch in text if ch != ".").lstrip("0")
    return digits if digits else "0"


def kraken_crc(asks: list[tuple[str, str]], bids: list[tuple[str, str]]) -> int:
    """asks lowest first, bids highest first; 10 levels a side at most."""
    text = "".join(crc_part(p) + crc_part(q) for p, q in asks[:10])
    text += "".join(crc_part(p) + crc_part(q) for p, q in bids[:10])
    return zlib.crc32(text.encode()) & 0xFFFFFFFF


class ClientBook:
    """A book kept the way the note says a client must: apply in order, then truncate."""

    def __init__(self, depth: int, truncate: bool = True) -> None:
        self.depth = depth
        self.truncate = truncate
        self.sides: dict[str, dict[Decimal, tuple[str, str]]] = {"bids": {}, "asks": {}}

    def levels(self, side: str) -> list[tuple[str, str]]:
        book = self.sides[side]
        return [book[p] for p in sorted(book, reverse=side == "bids")]

    def apply(self, entry: Frame) -> None:
        for side in ("bids", "asks"):
            book = self.sides[side]
            for level in entry[side]:
                price, qty = level["price"], level["qty"]
                assert isinstance(price, str) and isinstance(qty, str), level
                if Decimal(qty) == 0:
                    book.pop(Decimal(price), None)
                else:
                    book[Decimal(price)] = (price, qty)
            if self.truncate:
                for price, _ in self.levels(side)[self.depth :]:
                    del book[Decimal(price)]

    def checksum(self) -> int:
        return kraken_crc(self.levels("asks"), self.levels("bids"))


def book_entry(frame: Frame, kind: str, symbol: str) -> Frame:
    assert (frame["channel"], frame["type"]) == ("book", kind), frame
    assert len(frame["data"]) == 1
    entry: Frame = frame["data"][0]
    assert list(entry) == ["symbol", "bids", "asks", "checksum", "timestamp"]
    assert entry["symbol"] == symbol and RFC3339.fullmatch(entry["timestamp"])
    return entry


# -- tests ---------------------------------------------------------------------------------


def test_checksum_note_vector_and_formatting() -> None:
    """The note's own vector gives 3692927879 from both helpers; the digit rules hold."""
    text = "".join(crc_part(p) + crc_part(q) for p, q in NOTE_VECTOR_ASKS + NOTE_VECTOR_BIDS)
    assert text == NOTE_VECTOR_TEXT
    assert kraken_crc(NOTE_VECTOR_ASKS, NOTE_VECTOR_BIDS) == NOTE_VECTOR_CRC
    assert book_checksum(NOTE_VECTOR_ASKS, NOTE_VECTOR_BIDS) == NOTE_VECTOR_CRC
    examples = {"45285.2": "452852", "0.00100000": "100000", "45281.0": "452810"}
    for wire, digits in examples.items():
        assert checksum_digits(wire) == crc_part(wire) == digits
    assert checksum_digits("0.00000000") == "0"


def test_status_is_the_first_frame() -> None:
    """status comes first, with a connection_id above 2**53 written digit for digit."""

    async def body() -> None:
        async with KrakenSimulator(QUIET) as sim, connect(sim.url) as ws:
            raw, frame = await recv_raw(ws)
            assert list(frame) == ["channel", "type", "data"]
            (entry,) = frame["data"]
            connection_id = entry["connection_id"]
            assert entry == {
                "version": "2.0.10",
                "system": "online",
                "api_version": "v2",
                "connection_id": connection_id,
            }
            assert type(connection_id) is int and connection_id > 2**53
            assert f'"connection_id":{connection_id}}}' in raw
            assert int(float(connection_id)) != connection_id  # a double would corrupt it
            await sim.wait_until(lambda: sim.open_connections() == 1)
            assert sim.connect_count == 1 and sim.url == f"ws://127.0.0.1:{sim.port}/v2"

    run(body)


def test_subscribe_acks_per_symbol_and_unknown_symbols() -> None:
    """One ack per symbol in the note's key order; unknown and XBT names are refused."""

    async def body() -> None:
        async with KrakenSimulator(QUIET) as sim:
            ws = await connected(sim)
            symbols = ["BTC/EUR", "FOO/BAR", "XBT/EUR", "ETH/USD"]
            await request(ws, "subscribe", 42, channel="book", symbol=symbols, depth=25)
            frames = [await recv(ws) for _ in range(6)]
            ok, foo, xbt, ok2 = frames[:4]
            assert list(ok) == ACK_KEYS and ok["method"] == "subscribe" and ok["req_id"] == 42
            result = {"channel": "book", "depth": 25, "snapshot": True, "symbol": "BTC/EUR"}
            assert ok["result"] == result and ok["success"] is True
            assert ok2["result"]["symbol"] == "ETH/USD"
            for refused, symbol in ((foo, "FOO/BAR"), (xbt, "XBT/EUR")):
                assert list(refused) == ERROR_KEYS and refused["success"] is False
                assert refused["error"] == f"Currency pair not supported {symbol}"
                assert (refused["method"], refused["req_id"]) == ("subscribe", 42)
            for frame in frames[:4]:
                assert RFC3339.fullmatch(frame["time_in"]) and RFC3339.fullmatch(frame["time_out"])
            for frame, symbol in zip(frames[4:], ["BTC/EUR", "ETH/USD"], strict=True):
                assert len(book_entry(frame, "snapshot", symbol)["bids"]) == 25  # after the acks
            assert sim.active_subscriptions() == {("book", "BTC/EUR"), ("book", "ETH/USD")}
            params = {"channel": "book", "symbol": symbols, "depth": 25}
            assert sim.received == [{"method": "subscribe", "params": params, "req_id": 42}]
            await ws.close()

    run(body)


def test_refusals_keep_the_connection_open() -> None:
    """Bad params, bad JSON and unknown methods get the note's errors; the socket stays up."""

    async def body() -> None:
        async with KrakenSimulator(QUIET) as sim:
            ws = await connected(sim)
            cases: list[tuple[Frame | str | bytes, str, str | None]] = [
                (
                    {
                        "method": "subscribe",
                        "params": {"channel": "book", "symbol": ["BTC/EUR"], "depth": 27},
                        "req_id": 1,
                    },
                    "Subscription depth not supported",
                    "subscribe",
                ),
                (
                    {
                        "method": "subscribe",
                        "params": {"channel": "ohlc", "symbol": ["BTC/EUR"], "interval": 2},
                        "req_id": 2,
                    },
                    "Subscription ohlc interval not supported",
                    "subscribe",
                ),
                (
                    {"method": "subscribe", "params": {"channel": "heartbeat"}, "req_id": 3},
                    "Malformed request",
                    "subscribe",
                ),
                (
                    {
                        "method": "subscribe",
                        "params": {"channel": "trade", "symbol": "BTC/EUR"},
                        "req_id": 4,
                    },
                    "Malformed request",
                    "subscribe",
                ),
                (
                    {
                        "method": "subscribe",
                        "params": {"channel": "book", "symbol": ["BTC/EUR"], "snapshot": "yes"},
                        "req_id": 5,
                    },
                    "Malformed request",
                    "subscribe",
                ),
                ({"method": "fly", "req_id": 6}, "Event(s) not found", "fly"),
                ({"method": "ping", "req_id": "7"}, "Malformed request", "ping"),
                ({"method": "ping", "req_id": 2**31}, "Malformed request", "ping"),
                ({"req_id": 9}, "Malformed request", None),
                ("not json", "Malformed request", None),
                ("[1, 2]", "Malformed request", None),
                (b"\xff\xfe", "Malformed request", None),
                ("9" * 5000, "Malformed request", None),
            ]
            for message, text, method in cases:
                if isinstance(message, dict):
                    await ws.send(json.dumps(message))
                else:
                    await ws.send(message)
                reply = await recv(ws)
                assert reply["error"] == text and reply["success"] is False, (message, reply)
                assert reply.get("method") == method, reply
                req_id = message.get("req_id") if isinstance(message, dict) else None
                if isinstance(req_id, int) and req_id < 2**31:
                    assert reply["req_id"] == req_id
                else:
                    assert "req_id" not in reply
            assert await subscribe(ws, "trade", "BTC/USD") is None  # snapshot defaults to false
            await request(ws, "subscribe", 11, channel="trade", symbol=["BTC/USD"])
            assert (await recv(ws))["error"] == "Already subscribed"
            await request(ws, "ping", 12)
            assert (await recv(ws))["method"] == "pong"
            assert len(sim.received) == 9 + 3  # JSON objects only: not the last four cases
            assert sim.open_connections() == 1

    run(body)


def test_unsubscribe_needs_the_same_depth_or_interval() -> None:
    """Unsubscribe acks per symbol; a different depth or interval finds no subscription."""

    async def body() -> None:
        async with KrakenSimulator(QUIET) as sim:
            ws = await connected(sim)
            await subscribe(ws, "book", "BTC/USD", depth=25)
            await subscribe(ws, "ohlc", "ETH/USD", interval=15)
            await request(ws, "unsubscribe", 5, channel="book", symbol=["BTC/USD"])
            refused = await recv(ws)
            assert (
                refused["error"] == "Subscription not found" and refused["method"] == "unsubscribe"
            )
            await request(ws, "unsubscribe", 6, channel="book", symbol=["BTC/USD"], depth=25)
            ack = await recv(ws)
            assert list(ack) == ACK_KEYS and ack["method"] == "unsubscribe"
            assert ack["result"] == {"channel": "book", "depth": 25, "symbol": "BTC/USD"}
            await request(ws, "unsubscribe", 7, channel="ohlc", symbol=["ETH/USD"], interval=15)
            assert (await recv(ws))["result"] == {
                "channel": "ohlc",
                "interval": 15,
                "symbol": "ETH/USD",
            }
            assert sim.active_subscriptions() == set()
            assert await sim.send_book_update("BTC/USD") == 0

    run(body)


def test_heartbeats_start_with_the_first_subscription() -> None:
    """No heartbeat before a successful subscription (a refusal does not count); then a steady flow."""

    async def body() -> None:
        async with KrakenSimulator(SimConfig(heartbeat_interval=0.05)) as sim:
            ws = await connected(sim)
            await request(ws, "subscribe", 1, channel="ticker", symbol=["NOPE/EUR"])
            assert (await recv(ws))["success"] is False
            with pytest.raises(TimeoutError):
                await recv(ws, timeout=0.3)  # six intervals without a heartbeat
            await subscribe(ws, "ticker", "BTC/EUR")
            for _ in range(3):
                raw, _ = await recv_raw(ws, timeout=1.0)
                assert raw == '{"channel":"heartbeat"}'

    run(body)


def test_ping_pong() -> None:
    """ping gets pong with the same req_id (omitted when the ping has none) and times."""

    async def body() -> None:
        async with KrakenSimulator(QUIET) as sim:
            ws = await connected(sim)
            await request(ws, "ping", 7)
            reply = await recv(ws)
            assert list(reply) == ["method", "req_id", "time_in", "time_out"]
            assert (reply["method"], reply["req_id"]) == ("pong", 7)
            assert RFC3339.fullmatch(reply["time_in"]) and RFC3339.fullmatch(reply["time_out"])
            await request(ws, "ping")
            assert list(await recv(ws)) == ["method", "time_in", "time_out"]

    run(body)


def test_trade_snapshot_and_updates() -> None:
    """A trade snapshot holds the last 50 trades; updates continue the trade_id sequence."""

    async def body() -> None:
        async with KrakenSimulator(QUIET) as sim:
            ws = await connected(sim)
            await request(ws, "subscribe", channel="trade", symbol=["BTC/EUR"], snapshot=True)
            assert (await recv(ws))["result"] == {
                "channel": "trade",
                "snapshot": True,
                "symbol": "BTC/EUR",
            }
            raw, snapshot = await recv_raw(ws)
            trades = snapshot["data"]
            assert snapshot["type"] == "snapshot" and len(trades) == 50
            for trade in trades:
                assert list(trade) == TRADE_KEYS and trade["symbol"] == "BTC/EUR"
                assert trade["side"] in ("buy", "sell") and trade["ord_type"] in ("limit", "market")
                assert re.fullmatch(r"\d+\.\d", trade["price"]), trade
                assert re.fullmatch(r"\d+\.\d{8}", trade["qty"]), trade
                assert RFC3339.fullmatch(trade["timestamp"])
            ids = [t["trade_id"] for t in trades]
            assert ids == list(range(ids[0], ids[0] + 50))
            assert [t["timestamp"] for t in trades] == sorted(t["timestamp"] for t in trades)
            assert "e-" not in raw and "E" not in raw.replace("EUR", "")
            assert await sim.send_trade("BTC/EUR") == 1
            update = await recv(ws)
            assert update["type"] == "update" and [t["trade_id"] for t in update["data"]] == [
                ids[-1] + 1
            ]
            assert await sim.send_trade("BTC/EUR", count=3) == 1
            batch = await recv(ws)
            assert [t["trade_id"] for t in batch["data"]] == [ids[-1] + 2, ids[-1] + 3, ids[-1] + 4]
            with pytest.raises(ValueError, match="Currency pair not supported"):
                await sim.send_trade("XBT/EUR")

    run(body)


def test_ticker_and_ohlc_follow_trades() -> None:
    """Ticker and ohlc snapshots, then a trade updates both (last, volume, running candle)."""

    async def body() -> None:
        async with KrakenSimulator(QUIET) as sim:
            ws = await connected(sim)
            ticker = await subscribe(ws, "ticker", "ETH/USD")
            assert ticker is not None
            (stats,) = ticker["data"]
            assert list(stats) == TICKER_KEYS and stats["symbol"] == "ETH/USD"
            assert Decimal(stats["bid"]) < Decimal(stats["ask"])
            assert re.fullmatch(r"-?\d+\.\d\d", stats["change_pct"])
            ohlc = await subscribe(ws, "ohlc", "ETH/USD", interval=5)
            assert ohlc is not None and len(ohlc["data"]) == 5
            for candle in ohlc["data"]:
                assert list(candle) == OHLC_KEYS and candle["interval"] == 5
                assert type(candle["trades"]) is int
                assert Decimal(candle["low"]) <= Decimal(candle["open"]) <= Decimal(candle["high"])
                assert RFC3339.fullmatch(candle["interval_begin"])
                assert candle["interval_begin"].endswith(("0:00.000000Z", "5:00.000000Z"))
            begins = [c["interval_begin"] for c in ohlc["data"]]
            assert begins == sorted(set(begins))
            await sim.send_trade("ETH/USD")
            first, second = await recv(ws), await recv(ws)
            by_channel = {first["channel"]: first, second["channel"]: second}
            tick, candle_update = by_channel["ticker"], by_channel["ohlc"]
            assert tick["type"] == candle_update["type"] == "update"
            (new_stats,) = tick["data"]
            assert Decimal(new_stats["volume"]) > Decimal(stats["volume"])
            (running,) = candle_update["data"]
            assert running["close"] == new_stats["last"]
            assert running["interval_begin"] >= begins[-1]

    run(body)


@pytest.mark.parametrize("symbol", ["BTC/EUR", "ETH/BTC", "DOGE/USD"])
def test_book_updates_verify_and_match_a_fresh_snapshot(symbol: str) -> None:
    """Snapshot + 200 updates at depths 10/25/100 keep every checksum; a new snapshot agrees."""

    async def body() -> None:
        async with KrakenSimulator(QUIET) as sim:
            books: list[tuple[ClientConnection, ClientBook]] = []
            for depth in (10, 25, 100):
                ws = await connected(sim)
                raw, snapshot = await recv_raw_after_subscribe(ws, symbol, depth)
                entry = book_entry(snapshot, "snapshot", symbol)
                assert len(entry["bids"]) == len(entry["asks"]) == depth
                assert "e-" not in raw and "E-" not in raw
                book = ClientBook(depth)
                book.apply(entry)
                assert book.levels("bids") == [(lv["price"], lv["qty"]) for lv in entry["bids"]]
                assert book.levels("asks") == [(lv["price"], lv["qty"]) for lv in entry["asks"]]
                assert entry["checksum"] == book.checksum()
                books.append((ws, book))
            repeated = 0
            for _ in range(200):
                assert await sim.send_book_update(symbol) == 3
                for ws, book in books:
                    entry = book_entry(await recv(ws), "update", symbol)
                    prices = [lv["price"] for side in ("bids", "asks") for lv in entry[side]]
                    repeated += len(prices) != len(set(prices))
                    book.apply(entry)
                    assert entry["checksum"] == book.checksum()
            assert repeated > 0  # the same price twice in one message happens
            for ws, book in books:
                fresh = await connected(sim)
                _, snapshot = await recv_raw_after_subscribe(fresh, symbol, book.depth)
                entry = book_entry(snapshot, "snapshot", symbol)
                assert book.levels("bids") == [(lv["price"], lv["qty"]) for lv in entry["bids"]]
                assert book.levels("asks") == [(lv["price"], lv["qty"]) for lv in entry["asks"]]
                await fresh.close()
                await ws.close()

    run(body)


def test_depth_truncation() -> None:
    """Snapshots hold exactly depth levels; a client that does not truncate fails checksums."""

    async def body() -> None:
        async with KrakenSimulator(QUIET) as sim:
            ws = await connected(sim)
            for depth, symbol in zip(
                (10, 25, 100, 500, 1000),
                ("BTC/EUR", "BTC/USD", "ETH/EUR", "ETH/USD", "ETH/BTC"),
                strict=True,
            ):
                _, snapshot = await recv_raw_after_subscribe(ws, symbol, depth)
                entry = book_entry(snapshot, "snapshot", symbol)
                assert len(entry["bids"]) == len(entry["asks"]) == depth
                bids = [Decimal(lv["price"]) for lv in entry["bids"]]
                asks = [Decimal(lv["price"]) for lv in entry["asks"]]
                assert bids == sorted(bids, reverse=True) and asks == sorted(asks)
                assert bids[0] < asks[0]
            good, sloppy = ClientBook(10), ClientBook(10, truncate=False)
            await request(ws, "unsubscribe", channel="book", symbol=["BTC/EUR"], depth=10)
            await recv(ws)
            _, snapshot = await recv_raw_after_subscribe(ws, "BTC/EUR", 10)
            entry = book_entry(snapshot, "snapshot", "BTC/EUR")
            good.apply(entry)
            sloppy.apply(entry)
            mismatches = 0
            for _ in range(300):
                await sim.send_book_update("BTC/EUR")
                entry = book_entry(await recv(ws), "update", "BTC/EUR")
                good.apply(entry)
                sloppy.apply(entry)
                assert entry["checksum"] == good.checksum()
                mismatches += entry["checksum"] != sloppy.checksum()
                assert len(good.sides["bids"]) <= 10 and len(good.sides["asks"]) <= 10
            assert mismatches > 0

    run(body)


def test_corrupt_next_checksum() -> None:
    """Only the next update carries a wrong checksum; the book itself stays right."""

    async def body() -> None:
        async with KrakenSimulator(QUIET) as sim:
            ws = await connected(sim)
            _, snapshot = await recv_raw_after_subscribe(ws, "ETH/EUR", 10)
            book = ClientBook(10)
            book.apply(book_entry(snapshot, "snapshot", "ETH/EUR"))
            checks = []
            for corrupt in (False, True, False, False):
                if corrupt:
                    await sim.corrupt_next_checksum("ETH/EUR")
                await sim.send_book_update("ETH/EUR")
                entry = book_entry(await recv(ws), "update", "ETH/EUR")
                book.apply(entry)
                checks.append(entry["checksum"] == book.checksum())
            assert checks == [True, False, True, True]

    run(body)


def test_ticker_bbo_trigger() -> None:
    """A bbo ticker updates exactly when the best bid or ask changes, and shows it."""

    async def body() -> None:
        async with KrakenSimulator(QUIET) as sim:
            ws = await connected(sim)
            await subscribe(ws, "ticker", "BTC/EUR", event_trigger="bbo", snapshot=False)
            _, snapshot = await recv_raw_after_subscribe(ws, "BTC/EUR", 10)
            book = ClientBook(10)
            book.apply(book_entry(snapshot, "snapshot", "BTC/EUR"))
            await sim.send_trade("BTC/EUR")  # trades do not trigger a bbo ticker
            seen = 0
            for _ in range(40):
                top = (book.levels("bids")[0], book.levels("asks")[0])
                await sim.send_book_update("BTC/EUR")
                book.apply(book_entry(await recv(ws), "update", "BTC/EUR"))
                bid, ask = book.levels("bids")[0], book.levels("asks")[0]
                if (bid, ask) != top:
                    (stats,) = (await recv(ws))["data"]
                    assert (stats["bid"], stats["bid_qty"], stats["ask"], stats["ask_qty"]) == (
                        *bid,
                        *ask,
                    )
                    seen += 1
            assert seen > 0

    run(body)


def test_drop_connections_and_reconnect() -> None:
    """drop_connections aborts without a close frame; a reconnect gets a fresh status."""

    async def body() -> None:
        async with KrakenSimulator(QUIET) as sim:
            ws = await connect(sim.url)
            first = (await recv(ws))["data"][0]["connection_id"]
            await subscribe(ws, "book", "BTC/EUR")
            await sim.drop_connections()
            with pytest.raises(ConnectionClosedError) as closed:
                await recv(ws)
            assert closed.value.rcvd is None  # no close frame: 1006 on this side
            await sim.wait_until(lambda: sim.open_connections() == 0)
            assert sim.active_subscriptions() == set()
            async with connect(sim.url) as again:
                assert (await recv(again))["data"][0]["connection_id"] != first
                assert sim.connect_count == 2

    run(body)


def test_message_rate_limit() -> None:
    """Messages over the bucket get the documented error and are not processed."""

    async def body() -> None:
        async with KrakenSimulator(
            SimConfig(heartbeat_interval=0, max_msg_rate=1.0, msg_burst=3)
        ) as sim:
            ws = await connected(sim)
            for req_id in range(4):
                await request(ws, "ping", req_id)
            replies = [await recv_raw(ws) for _ in range(4)]
            assert [f.get("req_id") for _, f in replies[:3]] == [0, 1, 2]
            assert replies[3][0] == '{"Error":"Exceeded msg rate"}'
            assert len(sim.received) == 4 and sim.open_connections() == 1

    run(body)


def test_silent_then_speaking_again() -> None:
    """While silent nothing is sent, requests still count; afterwards replies resume."""

    async def body() -> None:
        async with KrakenSimulator(QUIET) as sim:
            ws = await connected(sim)
            await subscribe(ws, "trade", "BTC/EUR", snapshot=False)
            sim.set_silent(True)
            assert await sim.send_trade("BTC/EUR") == 0
            assert await sim.broadcast('{"x":1}') == 0
            await request(ws, "ping", 1)
            await sim.wait_until(lambda: len(sim.received) == 2)
            sim.set_silent(False)
            await request(ws, "ping", 2)
            assert (await recv(ws))["req_id"] == 2
            assert await sim.send("trade", "BTC/EUR", '{"raw":true}') == 1
            assert await recv(ws) == {"raw": True}
            assert await sim.send("trade", "ETH/EUR", "{}") == 0
            assert await sim.broadcast('{"all":1}') == 1
            assert await recv(ws) == {"all": 1}

    run(body)


def test_generator_sends_valid_data() -> None:
    """With rate > 0 book updates (checksums right) and trades flow to subscribers."""

    async def body() -> None:
        async with KrakenSimulator(SimConfig(heartbeat_interval=0, rate=500.0)) as sim:
            ws = await connected(sim)
            await request(ws, "subscribe", channel="trade", symbol=["ETH/EUR"])
            await request(ws, "subscribe", channel="book", symbol=["BTC/USD"], depth=25)
            book: ClientBook | None = None
            acks = updates = trades = 0
            while updates < 30 or trades < 3:
                frame = await recv(ws)
                if "method" in frame:
                    assert frame["success"] is True
                    acks += 1
                elif frame["channel"] == "trade":
                    assert frame["type"] == "update"
                    trades += len(frame["data"])
                elif frame["type"] == "snapshot":
                    assert book is None
                    book = ClientBook(25)
                    book.apply(book_entry(frame, "snapshot", "BTC/USD"))
                else:
                    assert book is not None  # no update before the snapshot
                    entry = book_entry(frame, "update", "BTC/USD")
                    book.apply(entry)
                    assert entry["checksum"] == book.checksum()
                    updates += 1
            assert acks == 2

    run(body)


def test_deterministic_from_the_seed() -> None:
    """The same seed gives the same ids and market (timestamps aside); another seed differs."""

    async def observe(seed: int) -> tuple[int, Frame, list[Frame]]:
        async with KrakenSimulator(SimConfig(heartbeat_interval=0, seed=seed)) as sim:
            ws = await connect(sim.url)
            connection_id = (await recv(ws))["data"][0]["connection_id"]
            _, snapshot = await recv_raw_after_subscribe(ws, "ETH/USD", 10)
            entry = book_entry(snapshot, "snapshot", "ETH/USD")
            updates = []
            for _ in range(5):
                await sim.send_book_update("ETH/USD")
                updates.append(book_entry(await recv(ws), "update", "ETH/USD"))
            await ws.close()
            for item in (entry, *updates):
                del item["timestamp"]
            return connection_id, entry, updates

    async def body() -> None:
        one, two, other = await observe(3), await observe(3), await observe(4)
        assert one == two
        assert other[0] != one[0] and other[1] != one[1]

    run(body)


def test_wrong_path_and_clean_stop() -> None:
    """Only /v2 is served; stop closes clients, frees the port and leaves no task behind."""

    async def body() -> None:
        before = asyncio.all_tasks()
        sim = KrakenSimulator(SimConfig(rate=50.0))
        await sim.start()
        with pytest.raises(Exception, match="404"):
            await connect(f"ws://127.0.0.1:{sim.port}/v1")
        ws = await connected(sim)
        await subscribe(ws, "book", "BTC/EUR")
        port = sim.port
        await sim.stop()
        await asyncio.wait_for(ws.wait_closed(), TIMEOUT)
        assert ws.close_code == 1001
        assert asyncio.all_tasks() == before
        with socket.socket() as sock:  # nothing listens there any more
            assert sock.connect_ex(("127.0.0.1", port)) != 0
        async with KrakenSimulator(SimConfig(port=port)) as again:  # and it can be reused
            assert again.port == port

    run(body)


def test_config_from_args() -> None:
    """The command-line options map onto SimConfig."""
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert config_from_args(parser.parse_args([])) == SimConfig()
    args = ["--port", "9", "--rate", "5", "--heartbeat", "0", "--seed", "4"]
    args += ["--max-msg-rate", "0", "--msg-burst", "7", "--system", "maintenance"]
    assert config_from_args(parser.parse_args(args)) == SimConfig(
        port=9,
        rate=5.0,
        heartbeat_interval=0.0,
        seed=4,
        max_msg_rate=0.0,
        msg_burst=7,
        system="maintenance",
    )


def test_module_entry_point() -> None:
    """`python -m bridges.kraken.sim --port 0` prints one line, exits 0 on SIGTERM."""

    async def body() -> None:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bridges.kraken.sim",
            "--port",
            "0",
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            assert proc.stdout is not None
            line = (await asyncio.wait_for(proc.stdout.readline(), 6.0)).decode()
            match = re.fullmatch(
                r"kraken simulator listening on (ws://127\.0\.0\.1:\d+/v2)\n", line
            )
            assert match, line
            async with connect(match[1]) as ws:
                assert (await recv(ws))["channel"] == "status"
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(proc.wait(), 5.0) == 0
            assert await proc.stdout.read() == b""
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()

    run(body, timeout=9.0)
