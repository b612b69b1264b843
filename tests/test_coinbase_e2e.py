"""End to end: Coinbase simulator → ``feedgate run`` (a real subprocess) → Valkey."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis
from websockets.asyncio.client import connect

from bridges.coinbase.sim import CoinbaseSimulator, SimConfig
from tests.support import GatewayProcess, LoopThread, free_port, gateway_config, serving, wait_for

TRADES, TICKER = "trades.coinbase.btcusd", "ticker.coinbase.btcusd"
BOOKS = {"book.coinbase.btcusd": "BTC-USD", "book.coinbase.ethusd": "ETH-USD"}
TOPICS = [TRADES, *BOOKS, TICKER]
#: Coinbase snapshots hold the whole book and can run to several MB (§2).
UPSTREAM = "max_frame_bytes = 16777216\nspread_from_book = true"
MiB = 1024 * 1024

Side = dict[Decimal, Decimal]


class Running:
    """A simulator and a gateway subprocess wired together for one test."""

    def __init__(
        self, sim: CoinbaseSimulator, loop: LoopThread, gateway: GatewayProcess, port: int
    ) -> None:
        self.sim, self.loop, self.gateway, self.port = sim, loop, gateway, port

    def true_book(self, product: str) -> tuple[Side, Side]:
        """The simulator's book, read on its own loop thread."""
        bids, asks = self.loop.call(lambda: self.sim.book(product))
        return dict(bids), dict(asks)

    def received(self) -> list[dict[str, Any]]:
        return self.loop.call(lambda: [dict(m) for m in self.sim.received])


def start(
    sim: CoinbaseSimulator, topics: list[str], redis_url: str, tmp_path: Path, extra: str = ""
) -> tuple[GatewayProcess, int]:
    port = free_port()
    upstream = f"{UPSTREAM}\n{extra}"
    config = gateway_config(sim.url, port, topics, protocol="coinbase", extra_upstream=upstream)
    gateway = GatewayProcess(config, tmp_path, {"REDIS_URL": redis_url})
    gateway.wait_ready(port)
    return gateway, port


@pytest.fixture
def running(redis_url: str, tmp_path: Path) -> Iterator[Running]:
    """The simulator with its documented limits (8 connections/s, 8 messages/s), a gateway."""
    with serving(CoinbaseSimulator(SimConfig())) as (sim, loop):
        gateway, port = start(sim, TOPICS, redis_url, tmp_path)
        try:
            yield Running(sim, loop, gateway, port)
        finally:
            assert gateway.stop() == 0, gateway.log()


def entries(client: redis.Redis, topic: str, kind: str | None = None) -> list[dict[str, str]]:
    reply: Any = client.xrange(topic)
    return [fields for _, fields in reply if kind is None or fields["kind"] == kind]


def replay(book_entries: list[dict[str, str]]) -> tuple[Side, Side] | None:
    """The book the entries describe, in Decimal; checks every delta follows its predecessor."""
    bids: Side | None = None
    asks: Side = {}
    seq: int | None = None
    for entry in book_entries:
        if entry["action"] == "snapshot":
            bids, asks = {}, {}
        else:
            assert bids is not None, "a delta before any snapshot"
            assert int(entry["prev_seq"]) == seq, entry
        assert bids is not None
        for side, name in ((bids, "bids"), (asks, "asks")):
            for price, amount in json.loads(entry[name]):
                if Decimal(amount) == 0:
                    side.pop(Decimal(price), None)
                else:
                    side[Decimal(price)] = Decimal(amount)
        seq = int(entry["seq"])
    return None if bids is None else (bids, asks)


def books_match(running: Running, client: redis.Redis) -> bool:
    """Every book's replayed entries equal the simulator's true book."""
    return all(
        replay(entries(client, topic, "book")) == running.true_book(product)
        for topic, product in BOOKS.items()
    )


def snapshot_trades(client: redis.Redis) -> Callable[[], list[dict[str, str]] | None]:
    """A predicate: the trades entries once the subscribe snapshot is all there."""

    def found() -> list[dict[str, str]] | None:
        trades = entries(client, TRADES, "trade")
        return trades if len(trades) >= SimConfig().trades_snapshot_size else None

    return found


def churn(running: Running, rounds: int = 5) -> None:
    for _ in range(rounds):
        running.loop.run(running.sim.send_book_update("BTC-USD", "ETH-USD"))


def test_trades_ticker_and_books_arrive_exactly(running: Running, rclient: redis.Redis) -> None:
    """Exact trade and ticker entries; books replay to the true book; latest key and spread."""
    snapshot = wait_for(snapshot_trades(rclient), 15, "the trades snapshot")
    assert len(snapshot) == running.sim.config.trades_snapshot_size
    assert [int(t["ts"]) for t in snapshot] == sorted(int(t["ts"]) for t in snapshot)
    trade = {"trade_id": "E2E-1", "product_id": "BTC-USD", "price": "91234.56",
             "size": "0.00150000", "side": "SELL", "time": "2026-11-20T10:00:01.123456Z"}  # fmt: skip
    running.loop.run(running.sim.emit("market_trades", "BTC-USD",
                                      [{"type": "update", "trades": [trade]}]))  # fmt: skip
    found = wait_for(lambda: [t for t in entries(rclient, TRADES) if t.get("id") == "E2E-1"],
                     15, "the emitted trade")  # fmt: skip
    assert int(found[0].pop("recv_ts")) > 0
    assert found == [
        {"kind": "trade", "source": "cc", "exchange": "coinbase", "base": "btc", "quote": "usd",
         "ts": "1795168801123456000", "price": "91234.56", "amount": "0.00150000",
         "side": "sell", "id": "E2E-1"}
    ]  # fmt: skip

    ticker = {"type": "ticker", "product_id": "BTC-USD", "price": "91000.10",
              "volume_24_h": "1234.50000000", "low_24_h": "90000", "high_24_h": "92000.01",
              "low_52_w": "40000", "high_52_w": "99000", "price_percent_chg_24_h": "-0.5",
              "best_bid": "90999.99", "best_bid_quantity": "1", "best_ask": "91000.2",
              "best_ask_quantity": "2"}  # fmt: skip
    running.loop.run(running.sim.emit("ticker", "BTC-USD",
                                      [{"type": "update", "tickers": [ticker]}]))  # fmt: skip
    found = wait_for(lambda: [t for t in entries(rclient, TICKER) if t["price"] == "91000.10"],
                     15, "the emitted ticker")  # fmt: skip
    assert int(found[0].pop("ts")) > 0 and int(found[0].pop("recv_ts")) > 0
    assert found == [
        {"kind": "ticker", "source": "cc", "exchange": "coinbase", "base": "btc", "quote": "usd",
         "flags": "0", "price": "91000.10", "bid": "90999.99", "ask": "91000.2",
         "volume_24h": "1234.50000000", "high_24h": "92000.01", "low_24h": "90000"}
    ]  # fmt: skip

    churn(running)
    wait_for(lambda: books_match(running, rclient), 15, "books equal to the simulator's")
    for topic in BOOKS:
        actions = [b["action"] for b in entries(rclient, topic, "book")]
        assert actions == ["snapshot"] + ["delta"] * 5
    bids, asks = running.true_book("BTC-USD")
    last_seq = int(entries(rclient, "book.coinbase.btcusd", "book")[-1]["seq"])

    def latest() -> dict[str, Any] | None:  # written in the same batch as the last entry
        found: dict[str, Any] = json.loads(rclient.get("book:coinbase.btcusd") or "{}")
        return found if found.get("seq") == last_seq else None

    book = wait_for(latest, 15, "the latest-book key")
    assert book["in_sync"] is True
    assert [(Decimal(p), Decimal(a)) for p, a in book["bids"]] == sorted(bids.items())[::-1][:50]
    assert [(Decimal(p), Decimal(a)) for p, a in book["asks"]] == sorted(asks.items())[:50]

    def top() -> tuple[Decimal, Decimal] | None:  # spread from the book, not the ticker
        found = entries(rclient, "spread.coinbase.btcusd")
        best = (Decimal(found[-1]["bid"]), Decimal(found[-1]["ask"])) if found else None
        return best if best == (max(bids), min(asks)) else None

    wait_for(top, 15, "the spread derived from the book")


def test_sequence_gap_resyncs_every_book(running: Running, rclient: redis.Redis) -> None:
    """A lost message: a gap on each book, level2 resubscribed for each, books true again."""
    wait_for(lambda: books_match(running, rclient), 15, "the first snapshots")
    running.loop.run(running.sim.skip_sequence())  # also changes each book unseen
    churn(running, 1)

    def gaps() -> list[dict[str, str]] | None:
        found = [g for t in BOOKS for g in entries(rclient, t, "gap")]
        return found if len(found) == len(BOOKS) else None

    for gap in wait_for(gaps, 15, "a gap on each book"):
        assert gap["reason"].startswith("sequence_num gap: expected ")
    trade_gaps = entries(rclient, TRADES, "gap")  # lost trades never come back
    assert [g["reason"] for g in trade_gaps] == [gap["reason"]]
    assert entries(rclient, TICKER, "gap") == []

    def resubscribed() -> bool:
        requests = [(m["type"], m.get("product_ids")) for m in running.received()
                    if m.get("channel") == "level2"]  # fmt: skip
        pairs = [(("unsubscribe", [p]), ("subscribe", [p])) for p in BOOKS.values()]
        return len(requests) == 5 and all(  # the first subscribe, then one pair per book
            off in requests and on in requests and requests.index(off) < requests.index(on)
            for off, on in pairs
        )

    wait_for(resubscribed, 15, "unsubscribe + subscribe level2 for each book")

    def resynced() -> bool:
        return all(
            [b["action"] for b in entries(rclient, t, "book")].count("snapshot") == 2 for t in BOOKS
        ) and books_match(running, rclient)

    wait_for(resynced, 15, "new snapshots equal to the true books")
    churn(running)
    wait_for(lambda: books_match(running, rclient), 15, "updates applied after the resync")
    assert running.sim.connect_count == 1  # resynced on the same socket


def test_reconnect_announces_gap_and_resumes(running: Running, rclient: redis.Redis) -> None:
    """A dropped connection: a reconnect gap on every topic, then data flows again."""
    wait_for(lambda: books_match(running, rclient), 15, "the first snapshots")
    before = wait_for(snapshot_trades(rclient), 15, "the trades snapshot")
    running.loop.run(running.sim.send_trade("BTC-USD", 3))
    wait_for(lambda: len(entries(rclient, TRADES, "trade")) == len(before) + 3, 15, "3 trades")
    running.loop.run(running.sim.drop_connections())

    def reconnect_gaps() -> bool:
        return all(
            any(g["reason"] == "reconnect" for g in entries(rclient, t, "gap")) for t in TOPICS
        )

    wait_for(reconnect_gaps, 20, "a reconnect gap on every topic")
    wait_for(lambda: running.sim.connect_count == 2 and books_match(running, rclient), 20,
             "new snapshots after reconnecting")  # fmt: skip
    running.loop.run(running.sim.send_trade("BTC-USD"))

    def one_more() -> list[dict[str, str]] | None:
        found = entries(rclient, TRADES, "trade")
        return found if len(found) == len(before) + 4 else None

    ids = [t["id"] for t in wait_for(one_more, 15, "one new trade")]
    assert len(set(ids)) == len(ids)  # the replayed snapshot was published once
    churn(running)
    wait_for(lambda: books_match(running, rclient), 15, "updates applied after reconnecting")


@pytest.mark.parametrize("transport", ["picows", "websockets"])
def test_multi_megabyte_snapshot_is_applied(
    transport: str, redis_url: str, rclient: redis.Redis, tmp_path: Path
) -> None:
    """A level2 snapshot over 4 MB passes with max_frame_bytes = 16 MiB and is applied whole."""
    with serving(CoinbaseSimulator(SimConfig(book_depth=25_000))) as (sim, loop):

        async def snapshot_size() -> int:
            async with connect(sim.url, max_size=None, compression=None) as ws:
                await ws.send('{"type":"subscribe","product_ids":["BTC-USD"],"channel":"level2"}')
                frame = await ws.recv()
                assert '"type":"snapshot"' in str(frame)
                return len(frame)

        assert loop.run(snapshot_size()) > 4 * MiB
        topics = ["book.coinbase.btcusd"]
        gateway, _ = start(sim, topics, redis_url, tmp_path, f'transport = "{transport}"')
        try:
            books = wait_for(lambda: entries(rclient, "book.coinbase.btcusd", "book"), 30,
                             "the big snapshot")  # fmt: skip
            bids, asks = loop.call(lambda: sim.book("BTC-USD"))
            assert len(bids) + len(asks) == 50_000
            assert replay(books) == (dict(bids), dict(asks))
        finally:
            assert gateway.stop() == 0, gateway.log()
