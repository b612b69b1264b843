"""Tests for the Coinbase Advanced Trade simulator (bridges/coinbase/sim.py)."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import re
import signal
import sys
from collections.abc import Callable, Coroutine
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosedError, ConnectionClosedOK, InvalidStatus

from bridges.coinbase.sim import (
    CoinbaseSimulator,
    SimConfig,
    add_arguments,
    config_from_args,
    demo,
)
from bridges.coinbase.sim_market import fmt_decimal

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 3.0
NANOS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z")
MICROS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")
GO_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} \+0000 UTC m=\+\d+\.\d{9}")
DECIMAL = re.compile(r"-?(0|[1-9]\d*)(\.\d*[1-9])?")  # no exponent, no trailing zeros
EIGHT = re.compile(r"-?\d+\.\d{8}")
TICKER_FIELDS = [
    "type",
    "product_id",
    "price",
    "volume_24_h",
    "low_24_h",
    "high_24_h",
    "low_52_w",
    "high_52_w",
    "price_percent_chg_24_h",
    "best_bid",
    "best_bid_quantity",
    "best_ask",
    "best_ask_quantity",
]
ERR_SUBSCRIBE = {"type": "error", "message": "failure to subscribe"}
ERR_AUTH = {"type": "error", "message": "authentication failure"}

Frame = dict[str, Any]
Book = dict[str, dict[str, dict[Decimal, Decimal]]]  # product → side → price → quantity


def run(test: Callable[[], Coroutine[Any, Any, None]], timeout: float = 8.0) -> None:
    asyncio.run(asyncio.wait_for(test(), timeout))


def quiet(**overrides: Any) -> SimConfig:
    """A config with no heartbeats and no deadlines, unless overridden."""
    settings: dict[str, Any] = {"heartbeat_interval": 0, "subscribe_deadline": 0}
    settings["idle_timeout"] = 0
    settings.update(overrides)
    return SimConfig(**settings)


async def recv(ws: ClientConnection, timeout: float = TIMEOUT) -> Frame:
    raw = await asyncio.wait_for(ws.recv(), timeout)
    assert isinstance(raw, str)
    frame = json.loads(raw)
    assert isinstance(frame, dict)
    return frame


async def request(
    ws: ClientConnection, channel: str, *products: str, kind: str = "subscribe"
) -> None:
    message: Frame = {"type": kind, "channel": channel}
    if products:
        message["product_ids"] = list(products)
    await ws.send(json.dumps(message))


async def until_ack(ws: ClientConnection) -> list[Frame]:
    """Frames up to and including the next ``subscriptions`` ack."""
    frames = [await recv(ws)]
    while frames[-1].get("channel") != "subscriptions":
        frames.append(await recv(ws))
    return frames


async def subscribe(ws: ClientConnection, channel: str, *products: str) -> list[Frame]:
    await request(ws, channel, *products)
    return await until_ack(ws)


def apply(book: Book, frame: Frame) -> None:
    assert frame["channel"] == "l2_data"
    for event in frame["events"]:
        sides = book.setdefault(event["product_id"], {"bid": {}, "offer": {}})
        if event["type"] == "snapshot":
            sides["bid"].clear()
            sides["offer"].clear()
        for update in event["updates"]:
            qty = Decimal(update["new_quantity"])
            if qty == 0:
                del sides[update["side"]][Decimal(update["price_level"])]
            else:
                sides[update["side"]][Decimal(update["price_level"])] = qty


def sim_book(sim: CoinbaseSimulator, product: str) -> dict[str, dict[Decimal, Decimal]]:
    bids, offers = sim.book(product)
    return {"bid": dict(bids), "offer": dict(offers)}


def test_subscribe_ack_follows_snapshot() -> None:
    """A subscribe gets its snapshot first, then a `subscriptions` ack listing everything held."""

    async def body() -> None:
        async with CoinbaseSimulator(quiet(book_depth=3)) as sim, connect(sim.url) as ws:
            snapshot, ack = await subscribe(ws, "level2", "BTC-USD")
            assert list(snapshot) == ["channel", "client_id", "timestamp", "sequence_num", "events"]
            assert snapshot["channel"] == "l2_data" and snapshot["client_id"] == ""
            assert snapshot["sequence_num"] == 0 and NANOS.fullmatch(snapshot["timestamp"])
            assert snapshot["events"][0]["type"] == "snapshot"
            assert list(ack) == ["channel", "timestamp", "sequence_num", "events"]
            assert ack["sequence_num"] == 1
            assert ack["events"] == [{"subscriptions": {"level2": ["BTC-USD"]}}]
            (ack,) = await subscribe(ws, "heartbeats")
            subscriptions = {"heartbeats": [], "level2": ["BTC-USD"]}
            assert ack["sequence_num"] == 2 and ack["events"] == [{"subscriptions": subscriptions}]
            frames = await subscribe(ws, "level2", "ETH-USD", "BTC-USD")
            assert [f["channel"] for f in frames] == ["l2_data", "subscriptions"]  # ETH only
            assert frames[0]["events"][0]["product_id"] == "ETH-USD"
            subscriptions["level2"] = ["BTC-USD", "ETH-USD"]
            assert frames[1]["events"] == [{"subscriptions": subscriptions}]
            assert sim.active_subscriptions() == {
                ("heartbeats", ""),
                ("level2", "BTC-USD"),
                ("level2", "ETH-USD"),
            }
            assert sim.received[0] == {
                "type": "subscribe",
                "channel": "level2",
                "product_ids": ["BTC-USD"],
            }

    run(body)


def test_unsubscribe_acks_and_resubscribe_snapshot() -> None:
    """Unsubscribe by product or by channel is acked; subscribing again sends a new snapshot."""

    async def body() -> None:
        async with CoinbaseSimulator(quiet(book_depth=3)) as sim, connect(sim.url) as ws:
            await subscribe(ws, "level2", "BTC-USD", "ETH-USD")
            await subscribe(ws, "market_trades", "BTC-USD")
            await request(ws, "level2", "ETH-USD", kind="unsubscribe")
            (ack,) = await until_ack(ws)
            expected = {"level2": ["BTC-USD"], "market_trades": ["BTC-USD"]}
            assert ack["events"] == [{"subscriptions": expected}]
            await request(ws, "level2", kind="unsubscribe")  # no product_ids: whole channel
            (ack,) = await until_ack(ws)
            assert ack["events"] == [{"subscriptions": {"market_trades": ["BTC-USD"]}}]
            await request(ws, "market_trades", "BTC-USD", kind="unsubscribe")
            (ack,) = await until_ack(ws)
            assert ack["events"] == [{"subscriptions": {}}]
            assert sim.active_subscriptions() == set()
            snapshot, _ = await subscribe(ws, "level2", "BTC-USD")
            assert snapshot["events"][0]["type"] == "snapshot"

    run(body)


def test_subscribe_deadline_disconnects() -> None:
    """A connection that does not subscribe within the deadline is closed."""

    async def body() -> None:
        config = quiet(subscribe_deadline=0.2)
        async with CoinbaseSimulator(config) as sim, connect(sim.url) as ws:
            with pytest.raises(ConnectionClosedOK) as closed:
                await recv(ws)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000
            await sim.wait_until(lambda: sim.open_connections() == 0)
            assert sim.connect_count == 1

    run(body)


def test_subscribed_connection_outlives_deadline() -> None:
    """A failed subscribe does not meet the deadline; a good one keeps the connection open."""

    async def body() -> None:
        config = quiet(subscribe_deadline=0.4, heartbeat_interval=0.05)
        async with CoinbaseSimulator(config) as sim, connect(sim.url) as ws:
            await request(ws, "level2", "NOPE-USD")
            assert await recv(ws) == ERR_SUBSCRIBE
            await subscribe(ws, "heartbeats")
            loop = asyncio.get_running_loop()
            until = loop.time() + 0.6  # past the deadline, measured on received heartbeats
            while loop.time() < until:
                assert (await recv(ws))["channel"] == "heartbeats"
            assert sim.open_connections() == 1

    run(body)


def test_heartbeats() -> None:
    """Heartbeats: one per interval, integer counter + 1, Go current_time, no client_id."""

    async def body() -> None:
        async with (
            CoinbaseSimulator(quiet(heartbeat_interval=0.05)) as sim,
            connect(sim.url) as ws,
        ):
            (ack,) = await subscribe(ws, "heartbeats")
            beats = [await recv(ws) for _ in range(3)]
            for beat in beats:
                assert list(beat) == ["channel", "timestamp", "sequence_num", "events"]
                assert beat["channel"] == "heartbeats" and NANOS.fullmatch(beat["timestamp"])
                (event,) = beat["events"]
                assert GO_TIME.fullmatch(event["current_time"]), event
                assert type(event["heartbeat_counter"]) is int
            counters = [b["events"][0]["heartbeat_counter"] for b in beats]
            assert counters == list(range(counters[0], counters[0] + 3))
            seqs = [b["sequence_num"] for b in beats]
            assert seqs == [ack["sequence_num"] + 1 + i for i in range(3)]

    run(body)


def test_sequence_num_per_connection_across_channels() -> None:
    """sequence_num starts at 0 per connection and goes up by 1 over every channel."""

    async def body() -> None:
        config = quiet(book_depth=5, trades_snapshot_size=2, heartbeat_interval=0.02)
        async with CoinbaseSimulator(config) as sim, connect(sim.url) as a, connect(sim.url) as b:
            frames: list[Frame] = []
            for channel in ("level2", "market_trades", "ticker", "candles"):
                frames += await subscribe(a, channel, "BTC-USD", "ETH-USD")
            await request(a, "user")  # an error: no envelope, no number
            assert await recv(a) == ERR_AUTH
            frames += await subscribe(a, "heartbeats")
            (other,) = await subscribe(b, "heartbeats")
            assert other["sequence_num"] == 0  # b has its own counter
            for _ in range(3):
                await sim.send_trade("ETH-USD")
                await sim.send_book_update("BTC-USD")
                await sim.send_candle("BTC-USD")
            while len(frames) < 40:
                frames.append(await recv(a))
            assert [f["sequence_num"] for f in frames] == list(range(40))
            channels = {f["channel"] for f in frames}
            assert channels >= {"l2_data", "market_trades", "ticker", "candles", "heartbeats"}

    run(body)


def test_market_trades_snapshot_and_updates() -> None:
    """market_trades: recent trades newest first, then updates; strings, BUY/SELL, RFC 3339."""

    async def body() -> None:
        config = quiet(trades_snapshot_size=5)
        async with CoinbaseSimulator(config) as sim, connect(sim.url) as ws:
            snapshot, _ = await subscribe(ws, "market_trades", "BTC-USD")
            (event,) = snapshot["events"]
            assert event["type"] == "snapshot" and len(event["trades"]) == 5
            ids = [int(t["trade_id"]) for t in event["trades"]]
            assert ids == sorted(ids, reverse=True)
            assert await sim.send_trade("BTC-USD", count=2) == 1  # not on ticker: one frame
            update = await recv(ws)
            assert update["channel"] == "market_trades" and update["client_id"] == ""
            (event,) = update["events"]
            assert event["type"] == "update" and len(event["trades"]) == 2
            assert int(event["trades"][0]["trade_id"]) == ids[0] + 1
            bids, offers = sim.book("BTC-USD")
            for trade in [*snapshot["events"][0]["trades"], *event["trades"]]:
                assert list(trade) == ["trade_id", "product_id", "price", "size", "side", "time"]
                assert all(isinstance(v, str) for v in trade.values())
                assert trade["product_id"] == "BTC-USD" and trade["side"] in ("BUY", "SELL")
                assert DECIMAL.fullmatch(trade["price"]) and EIGHT.fullmatch(trade["size"])
                assert MICROS.fullmatch(trade["time"])
            for trade in event["trades"]:  # the taker side: BUY lifts the offer
                best = offers[0][0] if trade["side"] == "BUY" else bids[0][0]
                assert trade["price"] == fmt_decimal(best)

    run(body)


def test_ticker_and_ticker_batch() -> None:
    """ticker: snapshot, then one update per trade with the book's BBO; ticker_batch has none."""

    async def body() -> None:
        async with CoinbaseSimulator(quiet()) as sim, connect(sim.url) as ws:
            snapshot, _ = await subscribe(ws, "ticker", "ETH-USD")
            (event,) = snapshot["events"]
            assert snapshot["channel"] == "ticker" and event["type"] == "snapshot"
            (ticker,) = event["tickers"]
            assert list(ticker) == TICKER_FIELDS and ticker["type"] == "ticker"
            assert all(isinstance(v, str) for v in ticker.values())
            bids, offers = sim.book("ETH-USD")
            assert (ticker["best_bid"], ticker["best_bid_quantity"]) == tuple(
                map(fmt_decimal, bids[0])
            )
            assert (ticker["best_ask"], ticker["best_ask_quantity"]) == tuple(
                map(fmt_decimal, offers[0])
            )
            assert await sim.send_trade("ETH-USD") == 1
            update = await recv(ws)
            assert update["channel"] == "ticker" and update["events"][0]["type"] == "update"
            await subscribe(ws, "market_trades", "ETH-USD")
            assert await sim.send_trade("ETH-USD") == 2  # market_trades, then ticker
            trade, tick = await recv(ws), await recv(ws)
            assert (trade["channel"], tick["channel"]) == ("market_trades", "ticker")
            assert (
                tick["events"][0]["tickers"][0]["price"]
                == trade["events"][0]["trades"][-1]["price"]
            )
            batch, _ = await subscribe(ws, "ticker_batch", "ETH-USD")
            assert batch["channel"] == "ticker_batch"
            assert list(batch["events"][0]["tickers"][0]) == TICKER_FIELDS[:9]
            assert await sim.send_ticker_batch("ETH-USD") == 1
            assert (await recv(ws))["events"][0]["type"] == "update"

    run(body)


def test_candles() -> None:
    """candles: five-minute buckets with start in UNIX seconds as a string, snapshot then updates."""

    async def body() -> None:
        async with CoinbaseSimulator(quiet()) as sim, connect(sim.url) as ws:
            snapshot, _ = await subscribe(ws, "candles", "BTC-EUR")
            assert snapshot["channel"] == "candles"
            assert snapshot["events"][0]["type"] == "snapshot"
            await sim.send_trade("BTC-EUR")
            assert await sim.send_candle("BTC-EUR") == 1
            update = await recv(ws)
            (event,) = update["events"]
            assert event["type"] == "update"
            (candle,) = event["candles"]
            assert list(candle) == ["start", "open", "high", "low", "close", "volume", "product_id"]
            assert all(isinstance(v, str) for v in candle.values())
            assert candle["product_id"] == "BTC-EUR" and int(candle["start"]) % 300 == 0
            low, high = Decimal(candle["low"]), Decimal(candle["high"])
            assert (
                low <= Decimal(candle["open"]) <= high and low <= Decimal(candle["close"]) <= high
            )

    run(body)


def test_level2_snapshot_then_updates() -> None:
    """level2 arrives as l2_data: an interleaved, unsorted bid/offer snapshot, then updates."""

    async def body() -> None:
        async with CoinbaseSimulator(quiet(book_depth=40)) as sim, connect(sim.url) as ws:
            snapshot, _ = await subscribe(ws, "level2", "BTC-USD")
            (event,) = snapshot["events"]
            updates = event["updates"]
            assert event["product_id"] == "BTC-USD" and len(updates) == 80
            sides = [u["side"] for u in updates]
            assert set(sides) == {"bid", "offer"}
            assert sum(a != b for a, b in itertools.pairwise(sides)) > 5  # interleaved
            bid_prices = [Decimal(u["price_level"]) for u in updates if u["side"] == "bid"]
            assert bid_prices != sorted(bid_prices) and bid_prices != sorted(
                bid_prices, reverse=True
            )
            for update in updates:
                assert list(update) == ["side", "event_time", "price_level", "new_quantity"]
                assert MICROS.fullmatch(update["event_time"])
                assert DECIMAL.fullmatch(update["price_level"])
                assert DECIMAL.fullmatch(update["new_quantity"])
            book: Book = {}
            apply(book, snapshot)
            for _ in range(60):
                assert await sim.send_book_update("BTC-USD") == 1
                frame = await recv(ws)
                assert frame["events"][0]["type"] == "update"
                apply(book, frame)
            assert book["BTC-USD"] == sim_book(sim, "BTC-USD")
            assert max(book["BTC-USD"]["bid"]) < min(book["BTC-USD"]["offer"])

    run(body)


def test_level2_frame_with_several_products() -> None:
    """One l2_data frame can carry events for several products; each holder gets its own."""

    async def body() -> None:
        config = quiet(book_depth=5)
        async with CoinbaseSimulator(config) as sim, connect(sim.url) as a, connect(sim.url) as b:
            await subscribe(a, "level2", "BTC-USD", "ETH-USD")
            await subscribe(b, "level2", "ETH-USD")
            assert await sim.send_book_update("BTC-USD", "ETH-USD") == 2
            both, one = await recv(a), await recv(b)
            assert [e["product_id"] for e in both["events"]] == ["BTC-USD", "ETH-USD"]
            assert [e["product_id"] for e in one["events"]] == ["ETH-USD"]
            assert one["events"][0] == both["events"][1]

    run(body)


def test_multi_megabyte_snapshot() -> None:
    """A deep book makes a level2 snapshot of several MB (clients must raise max_size)."""

    async def body() -> None:
        config = quiet(book_depth=15_000)
        async with CoinbaseSimulator(config) as sim, connect(sim.url, max_size=None) as ws:
            await request(ws, "level2", "BTC-USD")
            raw = await asyncio.wait_for(ws.recv(), 10.0)
            assert isinstance(raw, str) and len(raw) > 2_500_000
            book: Book = {}
            apply(book, json.loads(raw))
            assert len(book["BTC-USD"]["bid"]) == len(book["BTC-USD"]["offer"]) == 15_000
            assert book["BTC-USD"] == sim_book(sim, "BTC-USD")
            assert (await recv(ws))["channel"] == "subscriptions"

    run(body, timeout=15.0)


def test_skip_sequence_makes_a_gap_and_loses_a_change() -> None:
    """skip_sequence: the next number skips one and the book changes unseen; a resubscribe heals."""

    async def body() -> None:
        async with CoinbaseSimulator(quiet(book_depth=10)) as sim, connect(sim.url) as ws:
            book: Book = {}
            snapshot, ack = await subscribe(ws, "level2", "BTC-USD")
            apply(book, snapshot)
            await sim.skip_sequence()
            await sim.send_book_update("BTC-USD")
            frame = await recv(ws)
            assert frame["sequence_num"] == ack["sequence_num"] + 2
            apply(book, frame)
            assert book["BTC-USD"] != sim_book(sim, "BTC-USD")
            await sim.send_book_update("BTC-USD")
            assert (await recv(ws))["sequence_num"] == frame["sequence_num"] + 1
            await request(ws, "level2", "BTC-USD", kind="unsubscribe")
            await until_ack(ws)
            snapshot, _ = await subscribe(ws, "level2", "BTC-USD")
            apply(book, snapshot)
            assert book["BTC-USD"] == sim_book(sim, "BTC-USD")

    run(body)


def test_unknown_product_and_channel_errors() -> None:
    """Unknown products get "failure to subscribe" (nothing applied); unknown channels, auth failure."""

    async def body() -> None:
        async with CoinbaseSimulator(quiet()) as sim, connect(sim.url) as ws:
            await request(ws, "level2", "BTC-USD", "NOPE-USD")
            assert await recv(ws) == ERR_SUBSCRIBE
            await request(ws, "level2_batch", "BTC-USD")
            assert await recv(ws) == ERR_AUTH
            await request(ws, "user")
            assert await recv(ws) == ERR_AUTH
            (ack,) = await subscribe(ws, "heartbeats")
            assert ack["sequence_num"] == 0  # errors carry no sequence_num
            assert sim.active_subscriptions() == {("heartbeats", "")}

    run(body)


def test_unknown_product_left_out_quietly() -> None:
    """With reject_unknown_products=False an unknown product is just missing from the ack."""

    async def body() -> None:
        config = quiet(reject_unknown_products=False, book_depth=2)
        async with CoinbaseSimulator(config) as sim, connect(sim.url) as ws:
            snapshot, ack = await subscribe(ws, "level2", "NOPE-USD", "BTC-USD")
            assert snapshot["events"][0]["product_id"] == "BTC-USD"
            assert ack["events"] == [{"subscriptions": {"level2": ["BTC-USD"]}}]
            assert sim.active_subscriptions() == {("level2", "BTC-USD")}
            with pytest.raises(ValueError):
                await sim.send_book_update("NOPE-USD")

    run(body)


def test_bad_client_input_never_crashes() -> None:
    """Malformed messages get "failure to subscribe" and the connection keeps working."""

    async def body() -> None:
        config = quiet(max_messages_per_second=0)
        async with CoinbaseSimulator(config) as sim, connect(sim.url) as ws:
            bad: list[str | bytes] = [
                "not json",
                b"\xff\xfe",
                "[1, 2]",
                '"subscribe"',
                '{"type": "subscribe"}',
                '{"type": "subscribe", "channel": 7}',
                '{"type": "hello", "channel": "level2", "product_ids": ["BTC-USD"]}',
                '{"type": "subscribe", "channel": "level2"}',
                '{"type": "subscribe", "channel": "level2", "product_ids": []}',
                '{"type": "subscribe", "channel": "level2", "product_ids": "BTC-USD"}',
                '{"type": "subscribe", "channel": "level2", "product_ids": [1]}',
                '{"type": "unsubscribe", "channel": "level2", "product_ids": {}}',
                "[" * 100_000,
            ]
            for message in bad:
                await ws.send(message)
                assert await recv(ws) == ERR_SUBSCRIBE, message
            (ack,) = await subscribe(ws, "heartbeats")
            assert ack["sequence_num"] == 0
            assert len(sim.received) == 9  # the JSON objects among them, plus the subscribe

    run(body)


def test_message_rate_limit() -> None:
    """Client messages over the per-second limit get an error and are not applied."""

    async def body() -> None:
        config = quiet(max_messages_per_second=3)
        async with CoinbaseSimulator(config) as sim, connect(sim.url) as ws:
            for channel in ("heartbeats", "status", "heartbeats", "status"):
                await request(ws, channel)
            frames = [await recv(ws) for _ in range(4)]
            assert [f.get("channel") for f in frames[:3]] == ["subscriptions"] * 3
            assert frames[3] == {"type": "error", "message": "rate limit exceeded"}
            assert len(sim.received) == 4

    run(body)


def test_connection_rate_limit() -> None:
    """Handshakes over the per-second limit are refused with HTTP 429."""

    async def body() -> None:
        config = quiet(max_connections_per_second=2)
        async with CoinbaseSimulator(config) as sim, connect(sim.url), connect(sim.url):
            with pytest.raises(InvalidStatus) as refused:
                async with connect(sim.url):
                    pass
            assert refused.value.response.status_code == 429
            assert sim.connect_count == 2

    run(body)


def test_drop_connections() -> None:
    """drop_connections aborts sockets without a close frame; clients can reconnect."""

    async def body() -> None:
        async with CoinbaseSimulator(quiet()) as sim:
            async with connect(sim.url) as ws:
                await subscribe(ws, "heartbeats")
                await sim.drop_connections()
                with pytest.raises(ConnectionClosedError) as closed:
                    await recv(ws)
                assert closed.value.rcvd is None
            assert sim.open_connections() == 0 and sim.active_subscriptions() == set()
            async with connect(sim.url) as ws:
                (ack,) = await subscribe(ws, "heartbeats")
                assert ack["sequence_num"] == 0  # a new connection starts again at 0
            assert sim.connect_count == 2

    run(body)


def test_idle_connection_without_heartbeats_is_closed() -> None:
    """Without a heartbeats subscription a connection sent nothing for idle_timeout is closed."""

    async def body() -> None:
        config = quiet(idle_timeout=0.5, book_depth=2)
        async with (
            CoinbaseSimulator(config) as sim,
            connect(sim.url) as idle,
            connect(sim.url) as kept,
        ):
            await subscribe(kept, "heartbeats")  # heartbeat_interval=0: none are sent
            await subscribe(idle, "level2", "BTC-USD")
            with pytest.raises(ConnectionClosedOK):
                await recv(idle)
            await sim.wait_until(lambda: sim.open_connections() == 1)
            await subscribe(kept, "level2", "BTC-USD")

    run(body)


def test_silent_loses_messages_and_numbers() -> None:
    """While silent nothing is sent, but numbers are used up: the client sees a gap after."""

    async def body() -> None:
        async with CoinbaseSimulator(quiet(book_depth=3)) as sim, connect(sim.url) as ws:
            _, ack = await subscribe(ws, "level2", "BTC-USD")
            sim.set_silent(True)
            assert await sim.send_book_update("BTC-USD") == 0
            assert await sim.broadcast("{}") == 0
            sim.set_silent(False)
            assert await sim.send_book_update("BTC-USD") == 1
            assert (await recv(ws))["sequence_num"] == ack["sequence_num"] + 2

    run(body)


def test_send_emit_broadcast() -> None:
    """send() is raw (no number used), emit() envelopes with the wire channel, broadcast() all."""

    async def body() -> None:
        config = quiet(book_depth=2)
        async with CoinbaseSimulator(config) as sim, connect(sim.url) as a, connect(sim.url) as b:
            _, ack = await subscribe(a, "level2", "BTC-USD")
            await subscribe(b, "heartbeats")
            assert await sim.send("level2", "BTC-USD", '{"raw":1}') == 1
            assert await recv(a) == {"raw": 1}
            assert await sim.send("l2_data", "ETH-USD", "{}") == 0
            event = {"type": "update", "product_id": "BTC-USD", "updates": []}
            assert await sim.emit("level2", "BTC-USD", [event]) == 1
            frame = await recv(a)
            assert frame["channel"] == "l2_data" and frame["events"] == [event]
            assert frame["sequence_num"] == ack["sequence_num"] + 1
            beat = {"current_time": "x", "heartbeat_counter": 7}
            assert await sim.emit("heartbeats", "", [beat]) == 1
            assert (await recv(b))["events"] == [beat]
            assert await sim.broadcast('{"all":true}') == 2
            assert await recv(a) == await recv(b) == {"all": True}

    run(body)


def test_other_paths_get_404() -> None:
    """The endpoint has no path: only / is served."""

    async def body() -> None:
        async with CoinbaseSimulator(quiet()) as sim:
            assert re.fullmatch(r"ws://127\.0\.0\.1:\d+", sim.url)
            with pytest.raises(InvalidStatus) as refused:
                async with connect(f"{sim.url}/ws"):
                    pass
            assert refused.value.response.status_code == 404
            assert sim.connect_count == 0

    run(body)


def test_stop_closes_clients() -> None:
    """stop() closes client sockets with 1001 and can be awaited twice."""

    async def body() -> None:
        sim = CoinbaseSimulator(quiet())
        await sim.start()
        async with connect(sim.url) as ws:
            await subscribe(ws, "heartbeats")
            await sim.stop()
            with pytest.raises(ConnectionClosedOK) as closed:
                await recv(ws)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
        await sim.stop()

    run(body)


def test_deterministic_from_seed() -> None:
    """The same seed gives the same books, trades and updates (wall-clock times aside)."""

    def strip(frame: Frame) -> str:
        text = json.dumps(frame["events"])
        return re.sub(r'"(event_time|time|timestamp|start)": "[^"]*"', "", text)

    async def frames(seed: int) -> list[str]:
        config = quiet(seed=seed, book_depth=20, trades_snapshot_size=3)
        async with CoinbaseSimulator(config) as sim, connect(sim.url) as ws:
            out = [strip(f) for f in await subscribe(ws, "level2", "BTC-USD", "ETH-USD")]
            out += [strip(f) for f in await subscribe(ws, "market_trades", "BTC-USD")]
            for _ in range(5):
                await sim.send_book_update("ETH-USD")
                await sim.send_trade("BTC-USD")
                out += [strip(await recv(ws)), strip(await recv(ws))]
            return out

    async def body() -> None:
        first, again, other = await frames(7), await frames(7), await frames(8)
        assert first == again
        assert first != other

    run(body)


def test_generator_with_rate() -> None:
    """With rate > 0 synthetic frames flow on subscribed channels, numbered without gaps."""

    async def body() -> None:
        async with (
            CoinbaseSimulator(quiet(rate=400.0, book_depth=5)) as sim,
            connect(sim.url) as ws,
        ):
            frames = await subscribe(ws, "level2", "BTC-USD", "ETH-USD")
            frames += await subscribe(ws, "market_trades", "BTC-USD")
            while len(frames) < 60:
                frames.append(await recv(ws))
            assert [f["sequence_num"] for f in frames] == list(range(60))
            channels = [f["channel"] for f in frames]
            assert set(channels) == {"l2_data", "market_trades", "subscriptions"}
            assert channels.count("l2_data") > 2  # updates, not just the two snapshots
        assert demo(5.0).config.rate == 5.0

    run(body)


def test_config_from_args() -> None:
    """The CLI options map onto SimConfig."""
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert config_from_args(parser.parse_args([])) == SimConfig()
    args = parser.parse_args(
        [
            *("--port", "9", "--rate", "5", "--seed", "3", "--heartbeat", "0"),
            *("--subscribe-deadline", "2", "--idle-timeout", "0", "--book-depth", "7"),
            *("--trades-snapshot", "4", "--product", "BTC-USD", "--product", "SOL-USD"),
            *("--quiet-unknown-products", "--max-messages-per-second", "0"),
            *("--max-connections-per-second", "1"),
        ]
    )
    assert config_from_args(args) == SimConfig(
        port=9,
        rate=5.0,
        seed=3,
        heartbeat_interval=0.0,
        subscribe_deadline=2.0,
        idle_timeout=0.0,
        book_depth=7,
        trades_snapshot_size=4,
        products=("BTC-USD", "SOL-USD"),
        reject_unknown_products=False,
        max_messages_per_second=0,
        max_connections_per_second=1,
    )


def test_module_entry_point() -> None:
    """`python -m bridges.coinbase.sim --port 0` prints one line, exits 0 on SIGTERM."""

    async def body() -> None:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bridges.coinbase.sim",
            "--port",
            "0",
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            assert proc.stdout is not None
            line = (await asyncio.wait_for(proc.stdout.readline(), 6.0)).decode()
            match = re.fullmatch(r"coinbase simulator listening on (ws://127\.0\.0\.1:\d+)\n", line)
            assert match, line
            async with connect(match[1]) as ws:
                (ack,) = await subscribe(ws, "heartbeats")
                assert ack["sequence_num"] == 0
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(proc.wait(), 5.0) == 0
            assert await proc.stdout.read() == b""
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()

    run(body, timeout=9.0)
