"""Kraken v2 end to end: simulator → ``feedgate run`` (a real subprocess) → Valkey.

An observer (a plain WebSocket client of the same simulator) sees the very frames the
gateway is sent, so published values are compared with the wire text, not with the
bridge's own reading of it.
"""

from __future__ import annotations

import asyncio
import calendar
import json
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis
from websockets.asyncio.client import ClientConnection, connect

from bridges.kraken.sim import KrakenSimulator, SimConfig
from tests.support import GatewayProcess, LoopThread, free_port, gateway_config, serving, wait_for

TOPICS = [
    "trades.kraken.btceur",
    "book.kraken.btceur",
    "book.kraken.ethusd",
    "ticker.kraken.btcusd",
    "spread.kraken.btcusd",
    "ohlc.kraken.btceur.1m",
]
BTC_BOOK = "book.kraken.btceur"
ETH_BOOK = "book.kraken.ethusd"
DEPTH = 25  # the bridge's default subscription depth

Entry = dict[str, str]


class Observer:
    """A second client of the simulator, recording every frame with decimals as wire text."""

    def __init__(self, loop: LoopThread, url: str) -> None:
        self.loop, self.url = loop, url
        self.frames: list[dict[str, Any]] = []
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None

    def open(self, *requests: dict[str, Any]) -> None:
        async def start() -> None:
            self._ws = await connect(self.url)
            for request in requests:
                await self._ws.send(json.dumps(request))
            self._reader = asyncio.create_task(self._read(self._ws))

        self.loop.run(start())

    async def _read(self, ws: ClientConnection) -> None:
        async for message in ws:
            self.frames.append(json.loads(message, parse_float=str))

    def close(self) -> None:
        async def stop() -> None:
            if self._ws is not None:
                await self._ws.close()
            if self._reader is not None:
                await asyncio.gather(self._reader, return_exceptions=True)

        self.loop.run(stop())

    def data(self, channel: str, kind: str | None = None) -> list[dict[str, Any]]:
        """Every data item of ``channel`` messages (of one ``type`` if given), in order."""
        return [
            item
            for frame in self.frames
            if frame.get("channel") == channel and kind in (None, frame.get("type"))
            for item in frame["data"]
        ]


class Running:
    """The simulator, its loop thread and a ready gateway wired to it."""

    def __init__(self, sim: KrakenSimulator, loop: LoopThread, gateway: GatewayProcess) -> None:
        self.sim, self.loop, self.gateway = sim, loop, gateway

    def book_update(self, symbol: str, times: int = 1) -> None:
        for _ in range(times):
            assert self.loop.run(self.sim.send_book_update(symbol)) == 1

    def trade(self, symbol: str, count: int = 1) -> None:
        assert self.loop.run(self.sim.send_trade(symbol, count)) >= 1


@pytest.fixture(params=["picows", "websockets"])
def running(request: pytest.FixtureRequest, redis_url: str, tmp_path: Path) -> Iterator[Running]:
    """A Kraken simulator and a gateway subscribed to every Kraken channel, both ready
    (with each WebSocket client the gateway can use)."""
    with serving(KrakenSimulator(SimConfig(heartbeat_interval=0.5))) as (sim, loop):
        port = free_port()
        transport = f'transport = "{request.param}"'
        gateway = GatewayProcess(
            gateway_config(sim.url, port, TOPICS, protocol="kraken", extra_upstream=transport),
            tmp_path,
            {"REDIS_URL": redis_url},
        )
        try:
            gateway.wait_ready(port)
            yield Running(sim, loop, gateway)
        finally:
            assert gateway.stop() == 0, gateway.log()
            assert "bad frame" not in gateway.log()  # no DecodeError on the whole run


def entries(client: redis.Redis, topic: str) -> list[Entry]:
    reply: Any = client.xrange(topic)
    return [fields for _, fields in reply]


def books(client: redis.Redis, topic: str) -> list[Entry]:
    return [e for e in entries(client, topic) if e["kind"] == "book"]


def wait_count(client: redis.Redis, topic: str, count: int, kind: str = "book") -> list[Entry]:
    def enough() -> list[Entry] | None:
        found = [e for e in entries(client, topic) if e["kind"] == kind]
        return found if len(found) >= count else None

    return wait_for(enough, 15, f"{count} {kind} entries on {topic}")


def ns(timestamp: str) -> int:
    """RFC 3339 with microseconds → ns, by the standard library (not the bridge's parser)."""
    moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    return calendar.timegm(moment.utctimetuple()) * 10**9 + moment.microsecond * 1000


def plain(text: str) -> str:
    """Wire number text in positional notation (``1e-08`` → ``0.00000001``), digits kept."""
    return format(Decimal(text), "f")


def replay(book_entries: list[Entry]) -> tuple[list[list[str]], list[list[str]]]:
    """A reference model: apply published snapshots and deltas in order."""
    bids: dict[Decimal, list[str]] = {}
    asks: dict[Decimal, list[str]] = {}
    for entry in book_entries:
        if entry["action"] == "snapshot":
            bids.clear()
            asks.clear()
        for side, levels in ((bids, json.loads(entry["bids"])), (asks, json.loads(entry["asks"]))):
            for price, amount in levels:
                if Decimal(amount) == 0:
                    side.pop(Decimal(price), None)
                else:
                    side[Decimal(price)] = [price, amount]
    return [bids[p] for p in sorted(bids, reverse=True)], [asks[p] for p in sorted(asks)]


def latest(client: redis.Redis, topic: str) -> dict[str, Any]:
    return dict(json.loads(client.get("book:" + topic.split(".", 1)[1]) or "{}"))


def wait_latest(client: redis.Redis, topic: str, seq: int) -> dict[str, Any]:
    """The latest-book key once it holds the book as of ``seq``."""

    def current() -> dict[str, Any] | None:
        key = latest(client, topic)
        return key if key.get("seq") == seq else None

    return wait_for(current, 10, f"the latest key of {topic} at seq {seq}")


def wire_levels(levels: list[dict[str, str]]) -> list[list[str]]:
    return [[level["price"], level["qty"]] for level in levels]


def consecutive(book_entries: list[Entry]) -> bool:
    seqs = [int(e["seq"]) for e in book_entries]
    return seqs == list(range(seqs[0], seqs[0] + len(seqs)))


def test_trades_ticker_spread_candles_exact(running: Running, rclient: redis.Redis) -> None:
    """Every trade once, with the wire's digits; ticker, spread and candles as sent."""
    sim, loop = running.sim, running.loop
    snapshot = wait_count(rclient, "trades.kraken.btceur", 50, "trade")
    observer = Observer(loop, sim.url)
    try:
        observer.open(
            {"method": "subscribe", "params": {"channel": "trade", "symbol": ["BTC/EUR"],
                                               "snapshot": True}},
            {"method": "subscribe", "params": {"channel": "ohlc", "symbol": ["BTC/EUR"],
                                               "interval": 1, "snapshot": False}},
            {"method": "subscribe", "params": {"channel": "ticker", "symbol": ["BTC/USD"],
                                               "event_trigger": "bbo", "snapshot": False}},
        )  # fmt: skip
        wait_for(lambda: len(observer.data("trade")) >= 50, 10, "the observer's trade snapshot")
        running.trade("BTC/EUR", 3)
        running.trade("BTC/EUR")
        crafted = (
            '{"channel":"trade","type":"update","data":[{"symbol":"BTC/EUR","side":"buy",'
            '"price":58231.40,"qty":1e-08,"ord_type":"limit","trade_id":18446744073709551617,'
            '"timestamp":"2026-11-20T10:00:01.123456Z"}]}'
        )
        assert loop.run(sim.send("trade", "BTC/EUR", crafted)) == 2
        for _ in range(20):  # no book subscriber: only the bbo tickers go out
            loop.run(sim.send_book_update("BTC/USD"))
        published = wait_count(rclient, "trades.kraken.btceur", 55, "trade")
        wait_for(lambda: len(observer.data("trade")) >= 55, 10, "the observer's trades")

        # trades: exactly the observed wire trades, in order, once each
        assert published[:50] == snapshot
        seen = [(str(t["trade_id"]), plain(t["price"]), plain(t["qty"]), t["side"],
                 ns(t["timestamp"])) for t in observer.data("trade")]  # fmt: skip
        assert [(e["id"], e["price"], e["amount"], e["side"], int(e["ts"]))
                for e in published] == seen  # fmt: skip
        assert published[-1] | {"recv_ts": ""} == {
            "kind": "trade", "source": "cc", "exchange": "kraken", "base": "btc",
            "quote": "eur", "ts": "1795168801123456000", "recv_ts": "", "price": "58231.40",
            "amount": "0.00000001", "side": "buy", "id": "18446744073709551617",
        }  # fmt: skip

        # candles: the running candle after the last real trade, as the observer saw it
        wire = observer.data("ohlc")[-1]
        candle = wait_for(
            lambda: next((e for e in reversed(entries(rclient, "ohlc.kraken.btceur.1m"))
                          if e["trades"] == str(wire["trades"])), None),
            10, "the last candle",
        )  # fmt: skip
        assert (candle["ts"], candle["interval"]) == (str(ns(wire["interval_begin"])), "1m")
        assert [candle[k] for k in ("open", "high", "low", "close", "volume")] == [
            wire[k] for k in ("open", "high", "low", "close", "volume")
        ]
        assert Decimal(candle["volume_quote"]) == Decimal(wire["vwap"]) * Decimal(wire["volume"])

        # ticker and spread: one shared bbo subscription (the gateway asked for both)
        tickers = observer.data("ticker")
        assert tickers, "the book updates moved no best bid or ask"
        wire = tickers[-1]
        ticker = wait_for(
            lambda: next((e for e in reversed(entries(rclient, "ticker.kraken.btcusd"))
                          if e["ts"] == str(ns(wire["timestamp"]))), None),
            10, "the last ticker",
        )  # fmt: skip
        assert [
            ticker[k] for k in ("price", "bid", "ask", "volume_24h", "high_24h", "low_24h")
        ] == [wire[k] for k in ("last", "bid", "ask", "volume", "high", "low")]
        spread = entries(rclient, "spread.kraken.btcusd")[-1]
        assert [spread[k] for k in ("bid", "bid_size", "ask", "ask_size", "ts")] == [
            wire["bid"], wire["bid_qty"], wire["ask"], wire["ask_qty"], ticker["ts"],
        ]  # fmt: skip
    finally:
        observer.close()


def test_books_replay_to_the_latest_key(running: Running, rclient: redis.Redis) -> None:
    """Snapshot plus verified deltas replay to the latest key, which equals a fresh snapshot."""
    sim, loop = running.sim, running.loop
    wait_count(rclient, BTC_BOOK, 1)
    wait_count(rclient, ETH_BOOK, 1)
    for _ in range(30):
        running.book_update("BTC/EUR")
        running.book_update("ETH/USD")
    for topic in (BTC_BOOK, ETH_BOOK):
        published = wait_count(rclient, topic, 31)
        assert [e["action"] for e in published] == ["snapshot"] + ["delta"] * 30
        assert consecutive(published)
        key = wait_latest(rclient, topic, int(published[-1]["seq"]))
        assert key["in_sync"] is True
        bids, asks = replay(published)
        assert (key["bids"], key["asks"]) == (bids, asks)
        assert len(bids) == len(asks) == DEPTH  # truncated to the subscribed depth

    observer = Observer(loop, sim.url)
    try:
        observer.open({"method": "subscribe",
                       "params": {"channel": "book", "symbol": ["BTC/EUR"], "depth": DEPTH}})  # fmt: skip
        wire = wait_for(lambda: observer.data("book", "snapshot"), 10, "a fresh snapshot")[0]
    finally:
        observer.close()
    key = latest(rclient, BTC_BOOK)
    assert (key["bids"], key["asks"]) == (wire_levels(wire["bids"]), wire_levels(wire["asks"]))
    assert entries(rclient, BTC_BOOK) == books(rclient, BTC_BOOK)  # no gap anywhere


def test_checksum_mismatch_resyncs_that_book_alone(running: Running, rclient: redis.Redis) -> None:
    """A bad checksum: one gap, unsubscribe + subscribe of BTC/EUR only, a new snapshot."""
    sim, loop = running.sim, running.loop
    wait_count(rclient, BTC_BOOK, 1)
    wait_count(rclient, ETH_BOOK, 1)
    running.book_update("BTC/EUR", 3)
    before = wait_count(rclient, BTC_BOOK, 4)
    eth_before = len(wait_count(rclient, ETH_BOOK, 1))
    asked = len(sim.received)

    loop.run(sim.corrupt_next_checksum("BTC/EUR"))
    running.book_update("BTC/EUR")
    gap = wait_count(rclient, BTC_BOOK, 1, "gap")[0]
    assert gap["reason"].startswith("checksum mismatch: expected ")
    assert int(gap["from_ts"]) == int(before[-1]["ts"]) <= int(gap["to_ts"])
    resync = wait_count(rclient, BTC_BOOK, 5)[4]
    assert resync["action"] == "snapshot" and int(resync["seq"]) == int(before[-1]["seq"]) + 1

    requests = [(m["method"], m["params"]) for m in sim.received[asked:]]
    assert requests == [
        ("unsubscribe", {"channel": "book", "symbol": ["BTC/EUR"], "depth": DEPTH}),
        ("subscribe", {"channel": "book", "symbol": ["BTC/EUR"], "depth": DEPTH, "snapshot": True}),
    ]
    assert ("book", "ETH/USD") in sim.active_subscriptions()
    running.book_update("ETH/USD", 2)
    running.book_update("BTC/EUR", 2)
    eth = wait_count(rclient, ETH_BOOK, eth_before + 2)
    assert consecutive(eth) and all(e["kind"] == "book" for e in entries(rclient, ETH_BOOK))
    after = wait_count(rclient, BTC_BOOK, 7)
    assert [e["action"] for e in after[4:]] == ["snapshot", "delta", "delta"]
    assert consecutive(after[4:])
    assert [e["kind"] for e in entries(rclient, BTC_BOOK)].count("gap") == 1
    key = wait_latest(rclient, BTC_BOOK, int(after[-1]["seq"]))
    assert key["in_sync"] is True and (key["bids"], key["asks"]) == replay(after[4:])
    assert sim.connect_count == 1  # healed without reconnecting


def test_dropped_connection_reconnects_with_a_gap(running: Running, rclient: redis.Redis) -> None:
    """A dropped socket: a reconnect gap on every topic, then data flows again, trades once."""
    sim, loop = running.sim, running.loop
    wait_count(rclient, "trades.kraken.btceur", 50, "trade")
    wait_count(rclient, BTC_BOOK, 1)
    running.trade("BTC/EUR", 2)
    wait_count(rclient, "trades.kraken.btceur", 52, "trade")

    loop.run(sim.drop_connections())
    for topic in TOPICS:
        gap = wait_count(rclient, topic, 1, "gap")[0]
        assert gap["reason"] == "reconnect"
    wait_for(lambda: sim.connect_count == 2 and len(sim.active_subscriptions()) == 5, 15,
             "the resubscribed connection")  # fmt: skip
    wait_count(rclient, BTC_BOOK, 2)  # the new connection's snapshot

    running.trade("BTC/EUR")
    running.book_update("BTC/EUR")
    published = wait_count(rclient, "trades.kraken.btceur", 53, "trade")
    ids = [e["id"] for e in published]
    assert len(ids) == len(set(ids)) == 53  # the replayed snapshot was published once
    btc = wait_count(rclient, BTC_BOOK, 3)
    assert [e["action"] for e in btc[1:]] == ["snapshot", "delta"]
    kinds = [e["kind"] for e in entries(rclient, BTC_BOOK)]
    assert kinds == ["book", "gap", "book", "book"]
