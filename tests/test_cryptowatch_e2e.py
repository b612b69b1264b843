"""End to end: Cryptowatch-protocol simulator → ``feedgate run`` → Valkey, books included."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis

from bridges.cryptowatch.sim import CryptowatchSimulator, SimConfig
from proto.cryptowatch import markets_pb2, stream_pb2
from tests.support import GatewayProcess, LoopThread, free_port, gateway_config, serving, wait_for

KEY, SECRET = "XT11G0PE8VX02ZZ49RUR", "c2VjcmV0LWJ5dGVzLWZvci10ZXN0cw=="
TOPICS = ["trades.kraken.btceur", "book.kraken.btceur", "summary.kraken.btceur",
          "ohlc.kraken.btceur.1m", "spread.kraken.btcusd"]  # fmt: skip
CREDENTIALS = 'secret_env = "FEEDGATE_TEST_CW_SECRET"\nwatchdog = 30'


class Running:
    def __init__(
        self, sim: CryptowatchSimulator, loop: LoopThread, gateway: GatewayProcess, port: int
    ) -> None:
        self.sim, self.loop, self.gateway, self.port = sim, loop, gateway, port


@pytest.fixture
def running(redis_url: str, tmp_path: Path) -> Iterator[Running]:
    """The simulator checks HMAC tokens; the gateway gets its key and secret from env."""
    config = SimConfig(credentials={KEY: SECRET}, snapshot_interval=3600, heartbeat_interval=1.0)
    with serving(CryptowatchSimulator(config)) as (sim, loop):
        port = free_port()
        gateway = GatewayProcess(
            gateway_config(
                sim.url, port, TOPICS, protocol="cryptowatch", extra_upstream=CREDENTIALS
            ),
            tmp_path,
            {
                "REDIS_URL": redis_url,
                "FEEDGATE_TEST_CC_KEY": KEY,
                "FEEDGATE_TEST_CW_SECRET": SECRET,
            },
        )
        try:
            gateway.wait_ready(port)
            yield Running(sim, loop, gateway, port)
        finally:
            assert gateway.stop() == 0, gateway.log()
            log = gateway.log()
            assert KEY not in log and SECRET not in log


def entries(client: redis.Redis, topic: str) -> list[dict[str, str]]:
    reply: Any = client.xrange(topic)
    return [fields for _, fields in reply]


def test_trades_arrive_exactly(running: Running, rclient: redis.Redis) -> None:
    """A trade sent by the simulator arrives with its exact strings, side and nanosecond time."""
    message = stream_pb2.StreamMessage()
    update = message.marketUpdate
    update.market.exchangeId, update.market.currencyPairId, update.market.marketId = 4, 232, 86
    trade = update.tradesUpdate.trades.add()
    trade.externalId, trade.priceStr, trade.amountStr = "E-77", "91234.50", "0.00000001"
    trade.timestamp, trade.timestampNano = 1700000000, 1700000000987654321
    trade.orderSide = markets_pb2.Trade.SELLSIDE
    assert running.loop.run(running.sim.send("markets:86:trades", message)) == 1

    def ours() -> dict[str, str] | None:
        return next(
            (e for e in entries(rclient, "trades.kraken.btceur") if e["id"] == "E-77"), None
        )

    entry = wait_for(ours, 15, "the trade")
    entry.pop("recv_ts")
    assert entry == {"kind": "trade", "source": "cc", "exchange": "kraken", "base": "btc",
                     "quote": "eur", "ts": "1700000000987654321", "price": "91234.50",
                     "amount": "0.00000001", "side": "sell", "id": "E-77"}  # fmt: skip


def replay(book_entries: list[dict[str, str]]) -> tuple[list[list[str]], list[list[str]]]:
    """A reference model: apply published snapshots/deltas in order (Decimal prices)."""
    bids: dict[Decimal, list[str]] = {}
    asks: dict[Decimal, list[str]] = {}
    for entry in book_entries:
        if entry["kind"] != "book":
            continue
        if entry["action"] == "snapshot":
            bids.clear()
            asks.clear()
        for side, levels in ((bids, json.loads(entry["bids"])), (asks, json.loads(entry["asks"]))):
            for price, amount in levels:
                if Decimal(amount) == 0:
                    side.pop(Decimal(price), None)
                else:
                    side[Decimal(price)] = [price, amount]
    return ([bids[p] for p in sorted(bids, reverse=True)], [asks[p] for p in sorted(asks)])


def test_book_sequence_gap_and_latest_key(running: Running, rclient: redis.Redis) -> None:
    """Deltas apply in order; an injected gap publishes one gap and stops the book until a snapshot."""
    sim, loop = running.sim, running.loop
    wait_for(lambda: any(e["kind"] == "book" for e in entries(rclient, "book.kraken.btceur")),
             15, "the snapshot sent on subscribe")  # fmt: skip
    for _ in range(5):
        loop.run(sim.send_delta(86))
    wait_for(lambda: len([e for e in entries(rclient, "book.kraken.btceur") if e["kind"] == "book"]) >= 6,
             15, "five deltas")  # fmt: skip
    books = [e for e in entries(rclient, "book.kraken.btceur") if e["kind"] == "book"]
    assert [b["action"] for b in books] == ["snapshot"] + ["delta"] * 5
    seqs = [int(b["seq"]) for b in books]
    assert seqs == list(range(seqs[0], seqs[0] + 6))
    assert all(int(b["prev_seq"]) == int(b["seq"]) - 1 for b in books[1:])
    latest = json.loads(wait_for(lambda: rclient.get("book:kraken.btceur"), 10, "latest key"))  # type: ignore[arg-type]
    assert latest["seq"] == seqs[-1] and latest["in_sync"] is True
    bids, asks = replay(books)
    assert (latest["bids"], latest["asks"]) == (bids[:50], asks[:50])

    loop.run(sim.inject_gap(86))
    loop.run(sim.send_delta(86))
    gap = wait_for(lambda: next((e for e in entries(rclient, "book.kraken.btceur") if e["kind"] == "gap"), None),
                   15, "the gap event")  # fmt: skip
    assert gap["reason"] == f"sequence: expected {seqs[-1] + 1}, got {seqs[-1] + 2}"
    loop.run(sim.send_delta(86))  # still stale: nothing published
    _, report = running.gateway.readyz(running.port)
    assert report["upstreams"]["cc"]["stale_books"] == ["book.kraken.btceur"]
    loop.run(sim.send_snapshot(86))
    wait_for(
        lambda: entries(rclient, "book.kraken.btceur")[-1].get("action") == "snapshot", 15, "resync"
    )
    after = [e for e in entries(rclient, "book.kraken.btceur") if e["kind"] == "book"]
    assert len(after) == len(books) + 1 and int(after[-1]["seq"]) == seqs[-1] + 3
    assert all(e["kind"] != "gap" for e in entries(rclient, "book.kraken.btceur")[len(books) + 2 :])


def test_summary_candles_spread_flow(running: Running, rclient: redis.Redis) -> None:
    """With synthetic traffic each channel reaches its topic with the documented fields."""
    message = stream_pb2.StreamMessage()
    update = message.marketUpdate
    update.market.marketId = 87
    update.orderBookSpreadUpdate.timestamp = 1580810993130
    update.orderBookSpreadUpdate.bid.priceStr, update.orderBookSpreadUpdate.bid.amountStr = (
        "100.1",
        "2",
    )
    update.orderBookSpreadUpdate.ask.priceStr, update.orderBookSpreadUpdate.ask.amountStr = (
        "100.2",
        "1.5",
    )
    assert running.loop.run(running.sim.send("markets:87:book:spread", message)) == 1
    spread = wait_for(lambda: next((e for e in entries(rclient, "spread.kraken.btcusd")
                                    if e["ts"] == "1580810993130000000"), None), 15, "spread")  # fmt: skip
    assert (spread["bid"], spread["bid_size"], spread["ask"], spread["ask_size"]) == (
        "100.1",
        "2",
        "100.2",
        "1.5",
    )

    candle = stream_pb2.StreamMessage()
    candle.marketUpdate.market.marketId = 86
    for period in ("60", "3600"):
        interval = candle.marketUpdate.intervalsUpdate.intervals.add()
        interval.periodName, interval.period = period, int(period)
        interval.closetime, interval.opentime = 1700000060, 1700000000
        (
            interval.ohlc.openStr,
            interval.ohlc.highStr,
            interval.ohlc.lowStr,
            interval.ohlc.closeStr,
        ) = "1", "2", "0.5", "1.5"
        interval.volumeBaseStr, interval.volumeQuoteStr = "3", "4.5"
    assert running.loop.run(running.sim.send("markets:86:ohlc", candle)) == 1
    got = wait_for(lambda: entries(rclient, "ohlc.kraken.btceur.1m"), 15, "the 1m candle")
    assert (
        got[-1]["open"] == "1"
        and got[-1]["interval"] == "1m"
        and got[-1]["ts"] == "1700000000000000000"
    )
    assert rclient.exists("ohlc.kraken.btceur.1h") == 0  # not asked for


def test_bad_secret_is_refused_and_not_retried(
    redis_url: str, rclient: redis.Redis, tmp_path: Path
) -> None:
    """BAD_TOKEN stops the upstream: /readyz and status.cc say so, no reconnect loop."""
    with serving(CryptowatchSimulator(SimConfig(credentials={KEY: SECRET}))) as (sim, _loop):
        port = free_port()
        gateway = GatewayProcess(
            gateway_config(sim.url, port, ["trades.kraken.btceur"], protocol="cryptowatch",
                           extra_upstream=CREDENTIALS),
            tmp_path,
            {"REDIS_URL": redis_url, "FEEDGATE_TEST_CC_KEY": KEY,
             "FEEDGATE_TEST_CW_SECRET": "d3Jvbmctc2VjcmV0"},
        )  # fmt: skip
        try:

            def fatal() -> str | None:
                try:
                    _, report = gateway.readyz(port)
                except OSError:
                    return None
                reason: str | None = report["upstreams"]["cc"]["fatal"]
                return reason

            assert "BAD_TOKEN" in wait_for(fatal, 20, "the refusal")
            states = [e["state"] for e in entries(rclient, "status.cc")]
            assert "fatal" in states and sim.connect_count == 1
        finally:
            assert gateway.stop() == 0
        assert "d3Jvbmctc2VjcmV0" not in gateway.log()


def test_gen2_and_a_refused_subscription(
    redis_url: str, rclient: redis.Redis, tmp_path: Path
) -> None:
    """Gen 2 connects with the key in the URL; a market the server lacks is refused per topic."""
    markets = tmp_path / "markets.csv"
    markets.write_text("id,exchange,pair,active\n86,kraken,btceur,true\n5001,kraken,dogeeur,true\n")
    extra = f'generation = 2\nmarkets_file = "{markets}"\nwatchdog = 30'
    with serving(CryptowatchSimulator(SimConfig(credentials={KEY: SECRET}))) as (sim, _loop):
        port = free_port()
        gateway = GatewayProcess(
            gateway_config(sim.url, port, ["trades.kraken.btceur", "trades.kraken.dogeeur"],
                           protocol="cryptowatch", extra_upstream=extra),
            tmp_path, {"REDIS_URL": redis_url, "FEEDGATE_TEST_CC_KEY": KEY},
        )  # fmt: skip
        try:

            def refused() -> dict[str, Any] | None:
                try:
                    _, report = gateway.readyz(port)
                except OSError:
                    return None
                upstream: dict[str, Any] = report["upstreams"]["cc"]
                return upstream if upstream["refused"] and upstream["subscribed"] else None

            upstream = wait_for(refused, 20, "one subscribed and one refused topic")
            assert upstream["subscribed"] == ["trades.kraken.btceur"]
            reason = upstream["refused"]["trades.kraken.dogeeur"]
            assert reason.startswith("subscribe_failed: ") and "5001" in reason
            assert not any(
                m.HasField("apiAuthentication") for m in sim.received
            )  # gen 2: no auth message
        finally:
            assert gateway.stop() == 0
        assert KEY not in gateway.log()
