"""Binance end to end: the simulator → ``feedgate run`` (a subprocess) → Valkey.

The simulator is driven by the test (``rate == 0``): trades, book tickers, klines and 24 h
tickers are sent as exact hand-made payloads where the entry is compared field by field, and diff
depth comes from the simulator's own market, whose live book is the reference the
gateway's book must equal (read through the simulator's REST depth endpoint).
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis

from bridges.binance.sim import BinanceSimulator, SimConfig
from tests.support import GatewayProcess, LoopThread, free_port, gateway_config, serving, wait_for

BTC_BOOK = "book.binance.btcusdt"
ETH_BOOK = "book.binance.ethusdt"
TRADES = "trades.binance.btcusdt"
SPREAD = "spread.binance.btcusdt"
OHLC = "ohlc.binance.btcusdt.1m"
TICKER = "ticker.binance.btcusdt"
TOPICS = [TRADES, BTC_BOOK, ETH_BOOK, SPREAD, OHLC, TICKER]
DEPTH = 50  # book_depth: levels a side in the book:<exchange>.<pair> key


@dataclass
class Running:
    sim: BinanceSimulator
    loop: LoopThread
    gateway: GatewayProcess
    port: int
    client: redis.Redis

    def send(self, stream: str, payload: dict[str, Any]) -> None:
        assert self.loop.run(self.sim.send(stream, payload)) == 1

    def depth(self, symbol: str, times: int = 1) -> None:
        for _ in range(times):
            assert self.loop.run(self.sim.send_depth_update(symbol)) >= 1

    def entries(self, topic: str) -> list[dict[str, str]]:
        reply: Any = self.client.xrange(topic)
        return [fields for _, fields in reply]

    def books(self, topic: str) -> list[dict[str, str]]:
        return [e for e in self.entries(topic) if e["kind"] == "book"]

    def gaps(self, topic: str) -> list[dict[str, str]]:
        return [e for e in self.entries(topic) if e["kind"] == "gap"]

    def depth_requests(self, symbol: str) -> list[str]:
        return [r for r in self.sim.rest_requests if f"symbol={symbol}&limit=1000" in r]

    def readyz(self) -> dict[str, Any]:
        return self.gateway.readyz(self.port)[1]


@pytest.fixture
def running(redis_url: str, rclient: redis.Redis, tmp_path: Path) -> Iterator[Running]:
    """A simulator (long shutdown grace: only the gateway closes a shut-down connection)
    and a gateway holding every Binance channel, both ready."""
    with serving(BinanceSimulator(SimConfig(shutdown_grace=60.0))) as (sim, loop):
        port = free_port()
        extra = f'rest_url = "{sim.rest_url}"\nwatchdog = 30.0'
        config = gateway_config(sim.url, port, TOPICS, protocol="binance", extra_upstream=extra)
        gateway = GatewayProcess(config, tmp_path, {"REDIS_URL": redis_url})
        try:
            gateway.wait_ready(port)
            yield Running(sim, loop, gateway, port, rclient)
        finally:
            code = gateway.stop()
            assert code == 0, gateway.log()


def replay(entries: list[dict[str, str]]) -> tuple[dict[Decimal, str], dict[Decimal, str]]:
    """The book the entries describe: a snapshot replaces it, a delta sets or removes levels."""
    bids: dict[Decimal, str] = {}
    asks: dict[Decimal, str] = {}
    previous: int | None = None
    for entry in entries:
        seq = int(entry["seq"])
        if entry["action"] == "snapshot":
            bids.clear()
            asks.clear()
        else:
            assert previous is not None and seq == previous + 1, (previous, entry)
        previous = seq
        for side, levels in ((bids, entry["bids"]), (asks, entry["asks"])):
            for price, amount in json.loads(levels):
                if Decimal(amount) == 0:
                    side.pop(Decimal(price), None)
                else:
                    side[Decimal(price)] = amount
    return bids, asks


def top(bids: dict[Decimal, str], asks: dict[Decimal, str]) -> dict[str, list[list[str]]]:
    """The best DEPTH levels a side, as ``[price text, amount text]``, best first."""
    best_bids = sorted(bids, reverse=True)[:DEPTH]
    best_asks = sorted(asks)[:DEPTH]
    return {
        "bids": [[format(p, "f"), bids[p]] for p in best_bids],
        "asks": [[format(p, "f"), asks[p]] for p in best_asks],
    }


def as_decimals(book: dict[str, Any]) -> dict[str, list[tuple[Decimal, Decimal]]]:
    """The bids and asks of a book (a latest key, a REST body) as Decimal pairs."""
    return {side: [(Decimal(p), Decimal(a)) for p, a in book[side]] for side in ("bids", "asks")}


def live_book(running: Running, symbol: str) -> dict[str, list[list[str]]]:
    """The simulator's live book (its REST endpoint), best DEPTH levels a side."""
    url = f"{running.sim.rest_url}/api/v3/depth?symbol={symbol}&limit={DEPTH}"
    with urllib.request.urlopen(url, timeout=5) as reply:
        body = json.loads(reply.read())
    return {"bids": body["bids"], "asks": body["asks"]}


def synced(running: Running, topic: str, symbol: str, deltas_after: int = 0) -> dict[str, Any]:
    """Wait until the latest-book key is in sync, matches its entries and the live book.

    The simulator's book stands still meanwhile (the test drives it), so it is read once.
    """
    key = "book:" + topic.split(".", 1)[1]
    live = as_decimals(live_book(running, symbol))

    def check() -> dict[str, Any] | None:
        raw = running.client.get(key)
        books = running.books(topic)
        if raw is None or len(books) < deltas_after + 1:
            return None
        latest = json.loads(str(raw))
        if not latest["in_sync"] or latest["seq"] != int(books[-1]["seq"]):
            return None
        if as_decimals(top(*replay(books))) != as_decimals(latest):
            return None
        return latest if as_decimals(latest) == live else None

    return wait_for(check, 15, f"{topic} in sync with the simulator's book")


def test_entries_are_exact(running: Running) -> None:
    """Trades (side from the maker flag, each id once), spread, candles, ticker keep every digit."""
    trade = {"e": "trade", "E": 1763600000123, "s": "BTCUSDT", "t": 5123456789,
             "p": "91234.56000000", "q": "0.00150000", "T": 1763600000121, "m": True, "M": True}  # fmt: skip
    running.send("btcusdt@trade", trade)
    running.send("btcusdt@trade", trade)  # a replay: published once
    running.send("btcusdt@trade", {**trade, "t": 5123456790, "q": "2.10000000", "m": False})
    entries = wait_for(lambda: e if len(e := running.entries(TRADES)) >= 2 else None, 15, "trades")
    for entry in entries:
        assert int(entry.pop("recv_ts")) > 1763600000121 * 10**6
    base = {"kind": "trade", "source": "cc", "exchange": "binance", "base": "btc",
            "quote": "usdt", "ts": "1763600000121000000", "price": "91234.56000000"}  # fmt: skip
    assert entries == [
        {**base, "amount": "0.00150000", "side": "sell", "id": "5123456789"},
        {**base, "amount": "2.10000000", "side": "buy", "id": "5123456790"},
    ]

    running.send("btcusdt@bookTicker",
                 {"u": 400900217, "s": "BTCUSDT", "b": "91234.50000000", "B": "31.21000000",
                  "a": "91234.51000000", "A": "0.00000001"})  # fmt: skip
    spread = wait_for(lambda: running.entries(SPREAD), 15, "the spread")[0]
    assert int(spread.pop("recv_ts")) == int(spread.pop("ts"))  # bookTicker has no time
    assert spread == {
        "kind": "spread", "source": "cc", "exchange": "binance", "base": "btc", "quote": "usdt",
        "bid": "91234.50000000", "bid_size": "31.21000000", "ask": "91234.51000000",
        "ask_size": "0.00000001", "seq": "400900217",
    }  # fmt: skip

    kline = {"t": 1763599980000, "T": 1763600039999, "s": "BTCUSDT", "i": "1m", "f": 100,
             "L": 200, "o": "91000.10000000", "c": "91234.56000000", "h": "91300.00000000",
             "l": "90999.99000000", "v": "12.34500000", "n": 101, "x": False,
             "q": "1126000.12345678", "V": "6.1", "Q": "556000.1", "B": "0"}  # fmt: skip
    event = {"e": "kline", "E": 1763600000123, "s": "BTCUSDT"}
    running.send("btcusdt@kline_1m", {**event, "k": kline})
    running.send("btcusdt@kline_1m", {**event, "k": {**kline, "c": "91200.00000000", "x": True}})
    candles = wait_for(lambda: c if len(c := running.entries(OHLC)) >= 2 else None, 15, "candles")
    for candle in candles:
        candle.pop("recv_ts")
    expected = {
        "kind": "ohlc", "source": "cc", "exchange": "binance", "base": "btc", "quote": "usdt",
        "ts": "1763599980000000000", "interval": "1m", "open": "91000.10000000",
        "high": "91300.00000000", "low": "90999.99000000", "close": "91234.56000000",
        "volume": "12.34500000", "volume_quote": "1126000.12345678", "trades": "101",
    }  # fmt: skip
    assert candles == [expected, {**expected, "close": "91200.00000000"}]  # upsert on ts

    running.send("btcusdt@ticker",
                 {"e": "24hrTicker", "E": 1763600000456, "s": "BTCUSDT", "p": "234.46000000",
                  "P": "0.258", "w": "91100.12345678", "x": "90999.99000000",
                  "c": "91234.56000000", "Q": "2.10000000", "b": "91234.50000000",
                  "B": "31.21000000", "a": "91234.51000000", "A": "0.00000001",
                  "o": "91000.10000000", "h": "91500.0", "l": "90500.00000000",
                  "v": "12345.67800000", "q": "1124690123.45678900", "O": 1763513600456,
                  "C": 1763600000456, "F": 5100000000, "L": 5123456790, "n": 23456791})  # fmt: skip
    ticker = wait_for(lambda: running.entries(TICKER), 15, "the ticker")[0]
    assert int(ticker.pop("recv_ts")) > 1763600000456 * 10**6
    assert ticker == {
        "kind": "ticker", "source": "cc", "exchange": "binance", "base": "btc", "quote": "usdt",
        "ts": "1763600000456000000", "flags": "0", "price": "91234.56000000",
        "bid": "91234.50000000", "ask": "91234.51000000", "last_volume": "2.10000000",
        "last_trade_id": "5123456790", "volume_24h": "12345.67800000",
        "volume_24h_quote": "1124690123.45678900", "open_24h": "91000.10000000",
        "high_24h": "91500.0", "low_24h": "90500.00000000",
    }  # fmt: skip
    assert running.readyz()["upstreams"]["cc"]["decode_errors"] == {}


def test_books_sync_and_a_gap_resyncs_that_symbol_alone(running: Running) -> None:
    """Books follow the simulator's; a skipped diff gaps and re-fetches BTCUSDT only."""
    running.depth("BTCUSDT")
    running.depth("ETHUSDT")
    wait_for(lambda: running.books(BTC_BOOK) and running.books(ETH_BOOK), 15, "both snapshots")
    running.depth("BTCUSDT", 5)
    running.depth("ETHUSDT", 3)
    first = synced(running, BTC_BOOK, "BTCUSDT", 5)
    synced(running, ETH_BOOK, "ETHUSDT", 3)
    assert running.books(BTC_BOOK)[0]["action"] == "snapshot"
    assert len(running.depth_requests("BTCUSDT")) == 1
    assert len(running.depth_requests("ETHUSDT")) == 1
    assert running.gaps(BTC_BOOK) == [] and running.gaps(ETH_BOOK) == []

    running.loop.run(running.sim.skip_depth_updates("BTCUSDT", 1))
    running.depth("BTCUSDT")
    gap = wait_for(lambda: running.gaps(BTC_BOOK), 15, "the gap")
    wait_for(lambda: len(running.depth_requests("BTCUSDT")) == 2, 15, "BTCUSDT re-fetched")
    running.depth("ETHUSDT", 2)  # the other book goes on meanwhile
    running.depth("BTCUSDT", 3)
    latest = synced(running, BTC_BOOK, "BTCUSDT")
    eth = synced(running, ETH_BOOK, "ETHUSDT")

    assert len(gap) == 1 and gap[0]["reason"].startswith("missed update ids")
    assert latest["seq"] != first["seq"]
    after_gap = running.entries(BTC_BOOK)
    cut = next(i for i, e in enumerate(after_gap) if e["kind"] == "gap")
    actions = [e["action"] for e in after_gap[cut + 1 :]]
    assert actions[0] == "snapshot" and set(actions[1:]) <= {"delta"}
    assert running.gaps(BTC_BOOK) == gap  # exactly one
    assert running.gaps(ETH_BOOK) == []
    assert len(running.depth_requests("ETHUSDT")) == 1  # ETHUSDT was never re-fetched
    assert int(eth["seq"]) == int(running.books(ETH_BOOK)[0]["seq"]) + 5
    assert running.sim.connect_count == 1
    assert running.readyz()["upstreams"]["cc"]["decode_errors"] == {}


def test_server_shutdown_switches_connections_without_a_gap(running: Running) -> None:
    """serverShutdown: a new connection opens before the old one closes; no reconnect gap."""
    running.depth("BTCUSDT")
    wait_for(lambda: running.books(BTC_BOOK), 15, "the snapshot")
    running.depth("BTCUSDT")
    synced(running, BTC_BOOK, "BTCUSDT", 1)
    assert running.loop.run(running.sim.send_trade("BTCUSDT")) == 1
    wait_for(lambda: running.entries(TRADES), 15, "a trade")

    running.loop.run(running.sim.server_shutdown())
    # The simulator would close the old connection only after 60 s: the gateway closed it.
    wait_for(lambda: running.sim.connect_count == 2 and running.sim.open_connections() == 1,
             15, "the switch to a new connection")  # fmt: skip
    assert "planned reconnect (serverShutdown): new connection open" in running.gateway.log()
    wait_for(lambda: len(running.sim.active_streams()) == len(TOPICS), 15, "resubscribed")

    assert running.loop.run(running.sim.send_trade("BTCUSDT")) == 1
    wait_for(lambda: len(running.entries(TRADES)) == 2, 15, "a trade on the new connection")
    running.depth("BTCUSDT", 2)  # every book is rebuilt on a new connection (§10)
    wait_for(lambda: len(running.depth_requests("BTCUSDT")) == 2, 15, "a new snapshot")
    running.depth("BTCUSDT")
    synced(running, BTC_BOOK, "BTCUSDT")
    for topic in TOPICS:
        assert [g for g in running.gaps(topic) if g["reason"] == "reconnect"] == [], topic
    assert running.sim.connect_count == 2


def test_dropped_connection_announces_a_gap_and_recovers(running: Running) -> None:
    """A dropped connection: a reconnect gap on each topic, then data flows again."""
    running.depth("BTCUSDT")
    wait_for(lambda: running.books(BTC_BOOK), 15, "the snapshot")
    running.depth("BTCUSDT")
    synced(running, BTC_BOOK, "BTCUSDT", 1)
    running.loop.run(running.sim.drop_connections())

    def gapped() -> bool:
        return all(running.gaps(topic) for topic in TOPICS)

    wait_for(gapped, 15, "a gap on every topic")
    for topic in TOPICS:
        assert [g["reason"] for g in running.gaps(topic)] == ["reconnect"], topic
    wait_for(lambda: len(running.sim.active_streams()) == len(TOPICS), 15, "resubscribed")
    assert running.loop.run(running.sim.send_trade("BTCUSDT")) == 1
    wait_for(lambda: running.entries(TRADES), 15, "a trade after the reconnect")
    running.depth("BTCUSDT", 2)
    synced(running, BTC_BOOK, "BTCUSDT")
    assert running.sim.connect_count == 2
