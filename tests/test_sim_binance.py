"""Tests for the Binance Spot simulator (bridges/binance/sim.py)."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import re
import signal
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import (
    ConnectionClosedError,
    ConnectionClosedOK,
    InvalidStatus,
)

from bridges.binance.sim import (
    BinanceSimulator,
    SimConfig,
    add_arguments,
    config_from_args,
    demo,
)
from bridges.binance.sim_streams import InvalidStream, interval_bounds, parse_stream
from tests.support import ROOT

TIMEOUT = 2.0
DECIMAL = re.compile(r"-?\d+\.\d{8}")
METHODS = "SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS, SET_PROPERTY, GET_PROPERTY"
CHATTY = SimConfig(max_messages_per_second=0)  # tests that send many requests
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy

Frame = dict[str, Any]
Book = dict[str, dict[Decimal, Decimal]]


def run(test: Callable[[], Coroutine[Any, Any, None]], timeout: float = 8.0) -> None:
    asyncio.run(asyncio.wait_for(test(), timeout))


async def recv_json(ws: ClientConnection, timeout: float = TIMEOUT) -> Frame:
    raw = await asyncio.wait_for(ws.recv(), timeout)
    assert isinstance(raw, str)
    frame = json.loads(raw)
    assert isinstance(frame, dict), raw
    return frame


async def call(ws: ClientConnection, method: str, params: Any = None, rid: Any = 1) -> Frame:
    request: Frame = {"method": method, "id": rid}
    if params is not None:
        request["params"] = params
    await ws.send(json.dumps(request))
    return await recv_json(ws)


def _get(url: str) -> tuple[int, dict[str, str], Any]:
    try:
        with _OPENER.open(url, timeout=5) as reply:
            return reply.status, dict(reply.headers), json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read())


async def rest(sim: BinanceSimulator, path: str) -> tuple[int, dict[str, str], Any]:
    return await asyncio.to_thread(_get, sim.rest_url + path)


async def snapshot(sim: BinanceSimulator, symbol: str = "BTCUSDT", limit: int = 5000) -> Frame:
    status, _, body = await rest(sim, f"/api/v3/depth?symbol={symbol}&limit={limit}")
    assert status == 200, body
    assert isinstance(body, dict)
    return body


def to_book(snap: Frame) -> Book:
    return {side: {Decimal(p): Decimal(q) for p, q in snap[side]} for side in ("bids", "asks")}


def apply(book: Book, event: Frame) -> None:
    for key, side in (("b", "bids"), ("a", "asks")):
        for price, qty in event[key]:
            if Decimal(qty) == 0:
                book[side].pop(Decimal(price), None)
            else:
                book[side][Decimal(price)] = Decimal(qty)


def test_config_defaults_follow_the_note() -> None:
    """Defaults are the note's limits: 20 s pings, 1 min pong, 5 msg/s, 1024 streams, 24 h."""
    config = SimConfig()
    assert (config.ping_interval, config.pong_timeout) == (20.0, 60.0)
    assert config.max_messages_per_second == 5
    assert config.max_streams_per_connection == 1024
    assert config.connection_lifetime == 86400.0
    assert config.rest_weight_per_minute == 6000
    assert config.max_connection_attempts == 300
    with pytest.raises(ValueError):
        SimConfig(rate=-1)


def test_stream_grammar() -> None:
    """Stream names parse per the note; unknown symbols are valid but unfed, bad names raise."""
    assert parse_stream("btcusdt@depth@100ms").speed_ms == 100
    assert parse_stream("btcusdt@depth20@100ms").levels == 20
    kline = parse_stream("ethbtc@kline_1M@+08:00")
    assert (kline.kind, kline.interval, kline.utc8, kline.symbol) == ("kline", "1M", True, "ETHBTC")
    assert parse_stream("xyzusdt@trade").symbol is None
    assert parse_stream("BTCUSDT@trade").symbol is None  # stream names are lower case
    assert parse_stream("!miniTicker@arr").kind == "unmodelled"
    for bad in ("btcusdt@foo", "btcusdt", "@trade", "!ticker@arr", "btcusdt@kline_2m"):
        with pytest.raises(InvalidStream):
            parse_stream(bad)


def test_kline_interval_bounds() -> None:
    """Candles align on UTC boundaries, weeks on Monday, months on the 1st; +08:00 shifts them."""
    t_us = 1_700_000_000_123_456  # 2023-11-14 22:13:20.123 UTC, a Tuesday
    assert interval_bounds("1m", False, t_us) == (1_699_999_980_000_000, 1_700_000_039_999_999)
    start, end = interval_bounds("1d", True, t_us)  # UTC+8 day starts at 16:00 UTC
    assert (start // 1000 + 8 * 3_600_000) % 86_400_000 == 0 and end == start + 86_400_000_000 - 1
    assert interval_bounds("1w", False, t_us)[0] == 1_699_833_600_000_000  # Monday 2023-11-13
    month = interval_bounds("1M", False, t_us)
    assert month == (1_698_796_800_000_000, 1_701_388_800_000_000 - 1)  # November 2023


def test_combined_and_raw_endpoints() -> None:
    """Combined frames are wrapped with the stream name, raw ones are the bare payload."""

    async def body() -> None:
        async with BinanceSimulator() as sim:
            combined_url = f"{sim.url}/stream?streams=btcusdt@trade/ethusdt@bookTicker"
            async with (
                connect(combined_url) as combined,
                connect(f"{sim.url}/ws/btcusdt@trade") as raw,
            ):
                await sim.wait_until(lambda: sim.open_connections() == 2)
                assert sim.active_streams() == {"btcusdt@trade", "ethusdt@bookTicker"}
                assert sim.connect_count == 2
                assert await sim.send_trade("BTCUSDT") == 2
                wrapped = await recv_json(combined)
                assert set(wrapped) == {"stream", "data"}
                assert wrapped["stream"] == "btcusdt@trade"
                assert await recv_json(raw) == wrapped["data"]
                assert await sim.send_book_ticker("ETHUSDT") == 1
                ticker = await recv_json(combined)
                assert ticker["stream"] == "ethusdt@bookTicker"
                assert ticker["data"]["s"] == "ETHUSDT"

    run(body)


def test_subscribe_unsubscribe_and_list() -> None:
    """SUBSCRIBE/UNSUBSCRIBE ack with result null; LIST_SUBSCRIPTIONS lists in order; ids echo."""

    async def body() -> None:
        async with BinanceSimulator(CHATTY) as sim, connect(f"{sim.url}/ws") as ws:
            ack = await call(ws, "SUBSCRIBE", ["btcusdt@trade", "ethbtc@depth@100ms"], 1)
            assert ack == {"result": None, "id": 1}
            assert sim.active_streams() == {"btcusdt@trade", "ethbtc@depth@100ms"}
            listed = await call(ws, "LIST_SUBSCRIPTIONS", rid="abc123")
            assert listed == {"result": ["btcusdt@trade", "ethbtc@depth@100ms"], "id": "abc123"}
            assert await call(ws, "UNSUBSCRIBE", ["btcusdt@trade"], None) == {
                "result": None,
                "id": None,
            }
            assert await call(ws, "LIST_SUBSCRIPTIONS", rid=-(2**63)) == {
                "result": ["ethbtc@depth@100ms"],
                "id": -(2**63),
            }
            # An unknown symbol subscribes fine and then stays silent (the note's UNCERTAIN).
            assert await call(ws, "SUBSCRIBE", ["xyzusdt@trade"], 5) == {"result": None, "id": 5}
            assert await sim.send_event("xyzusdt@trade") == 0
            assert await sim.send_depth_update("ETHBTC") == 1
            event = await recv_json(ws)
            assert event["e"] == "depthUpdate" and event["s"] == "ETHBTC"
            assert sim.received[0] == {
                "method": "SUBSCRIBE",
                "params": ["btcusdt@trade", "ethbtc@depth@100ms"],
                "id": 1,
            }

    run(body)


def test_request_errors() -> None:
    """Bad requests get the note's error frames; the connection survives all of them."""
    cases: list[tuple[str | bytes, Frame]] = [
        ("not json", {"code": 3, "msg": "Invalid JSON: expected value at line 1 column 1"}),
        (b"\xff\xfe", {"code": 3, "msg": "Invalid JSON: expected value at line 1 column 1"}),
        ("[" * 100_000, {"code": 3, "msg": "Invalid JSON: expected value at line 1 column 1"}),
        (
            '{"method":"SUBSCRIBEX","id":7}',
            {
                "code": 2,
                "msg": f"Invalid request: unknown variant SUBSCRIBEX, expected one of {METHODS} at line 1 column 22",
                "id": 7,
            },
        ),
        (
            '{"params":[],"id":8}',
            {
                "code": 2,
                "msg": "Invalid request: missing field method at line 1 column 20",
                "id": 8,
            },
        ),
        (
            '{"method":"LIST_SUBSCRIPTIONS"}',
            {"code": 2, "msg": "Invalid request: request ID must be an unsigned integer"},
        ),
        (
            '{"method":"LIST_SUBSCRIPTIONS","id":18446744073709551616}',
            {"code": 2, "msg": "Invalid request: request ID must be an unsigned integer"},
        ),
        (
            '{"method":"LIST_SUBSCRIPTIONS","id":"not-alnum"}',
            {"code": 2, "msg": "Invalid request: request ID must be an unsigned integer"},
        ),
        (
            '{"method":"GET_PROPERTY","params":["compressed"],"id":9}',
            {"code": 0, "msg": "Unknown property", "id": 9},
        ),
        (
            '{"method":"SET_PROPERTY","params":["combined","yes"],"id":10}',
            {"code": 1, "msg": "Invalid value type: expected Boolean", "id": 10},
        ),
        (
            '{"method":"SET_PROPERTY","params":[1,true],"id":11}',
            {"code": 2, "msg": "Invalid request: property name must be a string", "id": 11},
        ),
        (
            '{"method":"GET_PROPERTY","params":["combined","x"],"id":12}',
            {"code": 2, "msg": "Invalid request: too many parameters", "id": 12},
        ),
        (
            '{"method":"SUBSCRIBE","params":["btcusdt@nope"],"id":13}',
            {"code": 2, "msg": "Invalid request: unknown stream btcusdt@nope", "id": 13},
        ),
        (
            '{"method":"SUBSCRIBE","params":"btcusdt@trade","id":14}',
            {"code": 2, "msg": "Invalid request: params must be an array of strings", "id": 14},
        ),
        (
            "[1,2]",
            {"code": 2, "msg": "Invalid request: missing field method at line 1 column 5"},
        ),
    ]

    async def body() -> None:
        async with BinanceSimulator(CHATTY) as sim, connect(f"{sim.url}/ws") as ws:
            for message, expected in cases:
                await ws.send(message)
                assert await recv_json(ws) == expected, message
            assert await call(ws, "LIST_SUBSCRIPTIONS", rid=99) == {"result": [], "id": 99}
            assert sim.open_connections() == 1

    run(body)


def test_set_property_combined() -> None:
    """SET_PROPERTY combined true wraps the frames of a raw connection; GET_PROPERTY reads it."""

    async def body() -> None:
        async with BinanceSimulator(CHATTY) as sim, connect(f"{sim.url}/ws/btcusdt@trade") as ws:
            assert await call(ws, "GET_PROPERTY", ["combined"], 1) == {"result": False, "id": 1}
            assert await call(ws, "SET_PROPERTY", ["combined", True], 2) == {
                "result": None,
                "id": 2,
            }
            assert await call(ws, "GET_PROPERTY", ["combined"], 3) == {"result": True, "id": 3}
            await sim.send_trade("BTCUSDT")
            frame = await recv_json(ws)
            assert frame["stream"] == "btcusdt@trade" and frame["data"]["e"] == "trade"

    run(body)


def test_message_rate_limit() -> None:
    """A sixth message (or ping) within a second closes the connection with 1008."""

    async def body() -> None:
        async with BinanceSimulator() as sim:
            async with connect(f"{sim.url}/ws") as ws:
                for rid in range(5):
                    assert await call(ws, "LIST_SUBSCRIPTIONS", rid=rid) == {
                        "result": [],
                        "id": rid,
                    }
                await ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 5}))
                with pytest.raises(ConnectionClosedError) as closed:
                    await recv_json(ws)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
                assert len(sim.received) == 5  # the sixth was not processed
            async with connect(f"{sim.url}/ws") as ws:
                for _ in range(6):  # PING frames count too
                    await ws.ping()
                with pytest.raises(ConnectionClosedError) as closed:
                    await recv_json(ws)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
            await sim.wait_until(lambda: sim.open_connections() == 0)

    run(body)


def test_stream_limit() -> None:
    """Past max_streams_per_connection a URL gets HTTP 400 and a SUBSCRIBE an error."""

    async def body() -> None:
        async with BinanceSimulator(SimConfig(max_streams_per_connection=2)) as sim:
            with pytest.raises(InvalidStatus) as refused:
                await connect(f"{sim.url}/stream?streams=btcusdt@trade/ethusdt@trade/ethbtc@trade")
            assert refused.value.response.status_code == 400
            async with connect(f"{sim.url}/stream?streams=btcusdt@trade/ethusdt@trade") as ws:
                error = await call(ws, "SUBSCRIBE", ["ethbtc@trade"], 1)
                assert error == {"code": 2, "msg": "Invalid request: too many parameters", "id": 1}
                # Streams already held do not count again.
                assert await call(ws, "SUBSCRIBE", ["btcusdt@trade"], 2) == {
                    "result": None,
                    "id": 2,
                }
                listed = await call(ws, "LIST_SUBSCRIPTIONS", rid=3)
                assert listed["result"] == ["btcusdt@trade", "ethusdt@trade"]

    run(body)


def test_bad_urls() -> None:
    """Unknown stream names and time units get HTTP 400, other paths a REST 404."""

    async def body() -> None:
        async with BinanceSimulator() as sim:
            for path, status in (
                ("/ws/btcusdt@nope", 400),
                ("/stream?streams=!ticker@arr", 400),
                ("/ws/btcusdt@trade?timeUnit=NANOSECOND", 400),
                ("/websocket", 404),
            ):
                with pytest.raises(InvalidStatus) as refused:
                    await connect(sim.url + path)
                assert refused.value.response.status_code == status, path
            # Percent-encoded names and an unknown symbol are accepted.
            async with connect(f"{sim.url}/stream?streams=btcusdt%40trade%2Fxyzbtc@trade"):
                await sim.wait_until(
                    lambda: sim.active_streams() == {"btcusdt@trade", "xyzbtc@trade"}
                )

    run(body)


def test_trade_frames() -> None:
    """Trades carry the note's fields as strings/ints; m says who was maker; ids are consecutive."""

    async def body() -> None:
        async with BinanceSimulator() as sim:
            url = f"{sim.url}/stream?streams=btcusdt@trade/btcusdt@aggTrade/btcusdt@bookTicker"
            async with connect(url) as ws:
                await sim.send_book_ticker("BTCUSDT")
                top = (await recv_json(ws))["data"]
                ids = []
                for _ in range(3):
                    assert await sim.send_trade("btcusdt") == 2
                    trade = (await recv_json(ws))["data"]
                    agg = (await recv_json(ws))["data"]
                    assert set(trade) == {"e", "E", "s", "t", "p", "q", "T", "m", "M"}
                    assert set(agg) == {"e", "E", "s", "a", "p", "q", "f", "l", "T", "m", "M"}
                    assert (trade["e"], agg["e"], trade["s"]) == ("trade", "aggTrade", "BTCUSDT")
                    assert DECIMAL.fullmatch(trade["p"]) and DECIMAL.fullmatch(trade["q"])
                    assert type(trade["t"]) is int and type(trade["E"]) is int
                    assert trade["T"] <= trade["E"] and 10**12 < trade["E"] < 10**13  # ms
                    assert type(trade["m"]) is bool
                    # m: the buyer was the maker, so the taker sold into the best bid.
                    assert trade["p"] == (top["b"] if trade["m"] else top["a"])
                    assert agg["f"] == agg["l"] == trade["t"] and agg["q"] == trade["q"]
                    ids.append(trade["t"])
                assert ids == list(range(ids[0], ids[0] + 3))

    run(body)


def test_book_ticker_kline_and_ticker_frames() -> None:
    """bookTicker has no e/E; klines follow trades and close with x:true; ticker is 24hrTicker."""

    async def body() -> None:
        async with BinanceSimulator() as sim:
            streams = "ethusdt@bookTicker/ethusdt@kline_1M/ethusdt@trade/ethusdt@ticker"
            async with connect(f"{sim.url}/stream?streams={streams}") as ws:
                await sim.send_book_ticker("ETHUSDT")
                book = (await recv_json(ws))["data"]
                assert set(book) == {"u", "s", "b", "B", "a", "A"}
                assert book["u"] == sim.last_update_id("ETHUSDT")
                assert Decimal(book["b"]) < Decimal(book["a"])
                await sim.send_kline("ETHUSDT", "1M")
                first = (await recv_json(ws))["data"]
                assert (first["e"], first["s"], first["k"]["x"], first["k"]["n"]) == (
                    "kline",
                    "ETHUSDT",
                    False,
                    0,
                )
                assert set(first["k"]) == set("tTsifLochlvnxqVQB")
                await sim.send_trade("ETHUSDT")
                trade = (await recv_json(ws))["data"]
                await sim.send_kline("ETHUSDT", "1M", closed=True)
                closed = (await recv_json(ws))["data"]["k"]
                assert closed["x"] is True and closed["n"] == 1
                assert closed["f"] == closed["L"] == trade["t"]
                assert closed["c"] == trade["p"] and closed["v"] == trade["q"]
                assert closed["V"] == (trade["q"] if not trade["m"] else "0.00000000")
                await sim.send_kline("ETHUSDT", "1M")
                following = (await recv_json(ws))["data"]["k"]
                assert following["t"] == closed["T"] + 1 and following["o"] == closed["c"]
                assert following["x"] is False and following["n"] == 0
                await sim.send_ticker("ETHUSDT")
                ticker = (await recv_json(ws))["data"]
                assert ticker["e"] == "24hrTicker" and ticker["c"] == trade["p"]
                assert ticker["L"] == trade["t"] and ticker["C"] - ticker["O"] == 86_400_000
                for key in "pwxcQbBaAohlvq":
                    assert DECIMAL.fullmatch(ticker[key]), key

    run(body)


#: Every field §9 lists for ``@ticker``, in its order.
TICKER_KEYS = {"e", "E", "s", "p", "P", "w", "x", "c", "Q", "b", "B", "a", "A", "o", "h", "l",
               "v", "q", "O", "C", "F", "L", "n"}  # fmt: skip


def test_ticker_frame_has_the_note_fields_and_follows_trades() -> None:
    """@ticker is a whole 24hrTicker (§9): every listed field, consistent, updated by trades."""

    async def body() -> None:
        async with BinanceSimulator() as sim:
            streams = "btcusdt@ticker/btcusdt@trade/btcusdt@bookTicker"
            async with connect(f"{sim.url}/stream?streams={streams}") as ws:
                await sim.send_ticker("BTCUSDT")
                before = await recv_json(ws)
                assert before["stream"] == "btcusdt@ticker"
                await sim.send_trade("BTCUSDT")
                trade = (await recv_json(ws))["data"]
                await sim.send_book_ticker("BTCUSDT")
                top = (await recv_json(ws))["data"]
                await sim.send_ticker("BTCUSDT")
                ticker = (await recv_json(ws))["data"]
            assert set(ticker) == TICKER_KEYS
            assert (ticker["e"], ticker["s"]) == ("24hrTicker", "BTCUSDT")
            for key in "EOCFLn":
                assert type(ticker[key]) is int, key
            for key in "pwxcQbBaAohlvq":
                assert DECIMAL.fullmatch(ticker[key]), key
            assert re.fullmatch(r"-?\d+\.\d{3}", ticker["P"])
            dec = {k: Decimal(ticker[k]) for k in "pwcQbBaAohlvq"}
            assert dec["c"] - dec["o"] == dec["p"]
            assert dec["l"] <= min(dec["o"], dec["c"]) and max(dec["o"], dec["c"]) <= dec["h"]
            assert dec["l"] <= dec["w"] <= dec["h"]
            assert ticker["C"] - ticker["O"] == 86_400_000
            assert ticker["n"] == ticker["L"] - ticker["F"] + 1
            assert (ticker["c"], ticker["Q"], ticker["L"]) == (trade["p"], trade["q"], trade["t"])
            assert dec["v"] - Decimal(before["data"]["v"]) == Decimal(trade["q"])
            assert (ticker["b"], ticker["B"], ticker["a"], ticker["A"]) == (
                top["b"], top["B"], top["a"], top["A"]
            )  # fmt: skip

    run(body)


def test_generator_sends_the_ticker_every_second() -> None:
    """With rate > 0 @ticker goes out at once, then every 1000 ms (§9), not per market step."""

    async def body() -> None:
        config = SimConfig(rate=200)
        async with BinanceSimulator(config) as sim, connect(f"{sim.url}/ws/ethusdt@ticker") as ws:
            first = await recv_json(ws, timeout=3.0)
            second = await recv_json(ws, timeout=3.0)
        assert first["e"] == second["e"] == "24hrTicker" and set(second) == TICKER_KEYS
        assert 990 <= second["E"] - first["E"] < 3_000
        assert second["L"] >= first["L"]

    run(body)


def test_time_unit_microsecond() -> None:
    """timeUnit=MICROSECOND turns E and T into µs; the same event is in ms elsewhere."""

    async def body() -> None:
        async with BinanceSimulator() as sim:
            micro_url = f"{sim.url}/ws/btcusdt@trade?timeUnit=MICROSECOND"
            async with connect(micro_url) as micro, connect(f"{sim.url}/ws/btcusdt@trade") as milli:
                await sim.send_trade("BTCUSDT")
                fine, coarse = await recv_json(micro), await recv_json(milli)
                assert fine["E"] // 1000 == coarse["E"] and fine["T"] // 1000 == coarse["T"]
                assert 10**15 < fine["E"] < 10**16

    run(body)


def test_depth_sync_from_snapshot() -> None:
    """Diff events continue the REST snapshot's lastUpdateId; applying them rebuilds the book."""

    async def body() -> None:
        async with BinanceSimulator() as sim:
            url = f"{sim.url}/stream?streams=btcusdt@depth@100ms/btcusdt@depth"
            async with connect(url) as ws:
                assert await sim.send_depth_update("BTCUSDT") == 2
                slow, fast = await recv_json(ws), await recv_json(ws)
                assert (slow["stream"], fast["stream"]) == ("btcusdt@depth", "btcusdt@depth@100ms")
                buffered = [fast["data"]]
                snap = await snapshot(sim)
                last = snap["lastUpdateId"]
                assert last >= buffered[0]["U"]  # step 3: the snapshot is not too old
                live = [e for e in buffered if e["u"] > last]  # step 4
                book = to_book(snap)
                for _ in range(4):
                    await sim.send_depth_update("BTCUSDT")
                    for _ in range(2):
                        frame = await recv_json(ws)
                        if frame["stream"] == "btcusdt@depth@100ms":
                            live.append(frame["data"])
                assert live[0]["U"] == last + 1
                for event in live:
                    assert event["e"] == "depthUpdate" and event["s"] == "BTCUSDT"
                    assert event["U"] == last + 1 and event["u"] >= event["U"]  # step 6
                    for price, qty in event["b"] + event["a"]:
                        assert DECIMAL.fullmatch(price) and DECIMAL.fullmatch(qty)
                    apply(book, event)
                    last = event["u"]
                assert to_book(await snapshot(sim)) == book
                assert (await snapshot(sim))["lastUpdateId"] == last

    run(body)


def test_skip_depth_updates() -> None:
    """skip_depth_updates(n) makes the next U jump by n; the skipped changes are in the book."""

    async def body() -> None:
        async with BinanceSimulator() as sim, connect(f"{sim.url}/ws/ethbtc@depth@100ms") as ws:
            await sim.send_depth_update("ETHBTC")
            before = await recv_json(ws)
            await sim.skip_depth_updates("ETHBTC", 3)
            await sim.send_depth_update("ETHBTC")
            after = await recv_json(ws)
            assert after["U"] == before["u"] + 1 + 3  # the gap a client must detect (step 6)
            assert (await snapshot(sim, "ETHBTC"))["lastUpdateId"] == after["u"]
            await sim.send_depth_update("ETHBTC")
            assert (await recv_json(ws))["U"] == after["u"] + 1  # continuous again

    run(body)


def test_hold_rest_snapshot() -> None:
    """A held snapshot stays frozen (too old for the buffered events) until released."""

    async def body() -> None:
        async with BinanceSimulator() as sim, connect(f"{sim.url}/ws/btcusdt@depth@100ms") as ws:
            first = await snapshot(sim)
            sim.hold_rest_snapshot("BTCUSDT")
            await sim.send_depth_update("BTCUSDT")
            event1 = await recv_json(ws)
            await sim.send_depth_update("BTCUSDT")
            event2 = await recv_json(ws)
            held = await snapshot(sim)
            assert held == first
            assert held["lastUpdateId"] + 1 == event1["U"]  # stale: lastUpdateId < U, refetch
            sim.release_rest_snapshot("BTCUSDT")
            assert (await snapshot(sim))["lastUpdateId"] == event2["u"]
            # behind=N rebuilds the book as it was N update IDs ago.
            sim.hold_rest_snapshot("BTCUSDT", behind=event2["u"] - first["lastUpdateId"])
            assert await snapshot(sim) == first
            sim.hold_rest_snapshot("BTCUSDT", behind=event2["u"] - event1["u"])
            middle = await snapshot(sim)
            expected = to_book(first)
            apply(expected, event1)
            assert middle["lastUpdateId"] == event1["u"] and to_book(middle) == expected
            with pytest.raises(ValueError):
                sim.hold_rest_snapshot("BTCUSDT", behind=10**9)
            with pytest.raises(ValueError):
                sim.hold_rest_snapshot("DOGEUSDT")

    run(body)


def test_server_shutdown_then_close() -> None:
    """serverShutdown reaches raw and combined connections; they close (1001) after the grace."""

    async def body() -> None:
        async with BinanceSimulator(SimConfig(shutdown_grace=0.2)) as sim:
            combined_url = f"{sim.url}/stream?streams=btcusdt@trade"
            async with connect(combined_url) as combined, connect(f"{sim.url}/ws") as raw:
                await sim.wait_until(lambda: sim.open_connections() == 2)
                await sim.server_shutdown()
                wrapped = await recv_json(combined)
                assert wrapped["stream"] == "!serverShutdown"
                assert set(wrapped["data"]) == {"e", "E"}
                assert wrapped["data"]["e"] == "serverShutdown"
                event = await recv_json(raw)
                assert event["e"] == "serverShutdown" and type(event["E"]) is int
                async with connect(f"{sim.url}/ws"):  # a reconnect during the grace works
                    for ws in (combined, raw):
                        with pytest.raises(ConnectionClosedOK) as closed:
                            await recv_json(ws)
                        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
                    assert sim.open_connections() >= 1
            assert sim.connect_count == 3

    run(body)


def test_server_shutdown_then_drop() -> None:
    """With a long grace the test ends the old connections itself with drop_connections."""

    async def body() -> None:
        async with BinanceSimulator() as sim, connect(f"{sim.url}/ws") as ws:
            await sim.server_shutdown()
            assert (await recv_json(ws))["e"] == "serverShutdown"
            await sim.drop_connections()
            with pytest.raises(ConnectionClosedError) as closed:
                await recv_json(ws)
            assert closed.value.rcvd is None  # no close frame: the TCP connection vanished
            assert sim.open_connections() == 0

    run(body)


def test_connection_lifetime() -> None:
    """A connection is closed (1001) when its lifetime ends."""

    async def body() -> None:
        async with BinanceSimulator(SimConfig(connection_lifetime=0.2)) as sim:
            async with connect(f"{sim.url}/ws/btcusdt@trade") as ws:
                with pytest.raises(ConnectionClosedOK) as closed:
                    await recv_json(ws, timeout=3.0)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
            await sim.wait_until(lambda: sim.open_connections() == 0)
            assert sim.connect_count == 1

    run(body)


def test_pong_deadline() -> None:
    """A client that never answers the server's pings is disconnected after the pong timeout."""

    async def body() -> None:
        config = SimConfig(ping_interval=0.1, pong_timeout=0.2)
        async with BinanceSimulator(config) as sim:
            ws = await connect(f"{sim.url}/ws")
            try:
                await sim.wait_until(lambda: sim.open_connections() == 1)
                ws.transport.pause_reading()  # pings go unanswered
                await sim.wait_until(lambda: sim.open_connections() == 0, timeout=5.0)
            finally:
                ws.transport.abort()

    run(body)


def test_connection_attempt_limit() -> None:
    """Past max_connection_attempts a handshake gets HTTP 429."""

    async def body() -> None:
        async with BinanceSimulator(SimConfig(max_connection_attempts=2)) as sim:
            for _ in range(2):
                async with connect(f"{sim.url}/ws"):
                    pass
            with pytest.raises(InvalidStatus) as refused:
                await connect(f"{sim.url}/ws")
            assert refused.value.response.status_code == 429

    run(body)


def test_send_broadcast_and_silence() -> None:
    """send wraps for combined connections only; broadcast reaches all; silence sends nothing."""

    async def body() -> None:
        async with BinanceSimulator() as sim:
            combined_url = f"{sim.url}/stream?streams=btcusdt@trade"
            async with (
                connect(combined_url) as combined,
                connect(f"{sim.url}/ws/btcusdt@trade") as raw,
            ):
                await sim.wait_until(lambda: sim.open_connections() == 2)
                assert await sim.send("btcusdt@trade", {"x": 1}) == 2
                assert await recv_json(combined) == {"stream": "btcusdt@trade", "data": {"x": 1}}
                assert await recv_json(raw) == {"x": 1}
                assert await sim.send("ethusdt@trade", "{}") == 0
                assert await sim.broadcast('{"hello":true}') == 2
                assert await recv_json(combined) == await recv_json(raw) == {"hello": True}
                sim.set_silent(True)
                assert await sim.send_trade("BTCUSDT") == 0
                sim.set_silent(False)
                assert await sim.send_trade("BTCUSDT") == 2

    run(body)


def test_rest_weight_429_then_418() -> None:
    """Depth weight follows the limit; over budget gets 429 + Retry-After, ignoring it 418."""

    async def body() -> None:
        async with BinanceSimulator(SimConfig(rest_weight_per_minute=40)) as sim:
            await snapshot(sim, limit=100)
            assert sim.rest_weight_used == 5
            await snapshot(sim, limit=500)
            assert sim.rest_weight_used == 30
            status, headers, error = await rest(sim, "/api/v3/depth?symbol=BTCUSDT&limit=1000")
            assert status == 429 and int(headers["Retry-After"]) >= 1
            assert error["code"] == -1003 and sim.rest_weight_used == 30
            status, headers, _ = await rest(sim, "/api/v3/depth?symbol=BTCUSDT&limit=1000")
            assert status == 418 and int(headers["Retry-After"]) >= 1
            status, _, _ = await rest(sim, "/api/v3/depth?symbol=BTCUSDT&limit=5")
            assert status == 418  # banned, even for a request that would fit
            assert sim.rest_requests[0] == "/api/v3/depth?symbol=BTCUSDT&limit=100"
            assert len(sim.rest_requests) == 5

    run(body)


def test_rest_errors_and_exchange_info() -> None:
    """Bad REST requests get 400/404 JSON errors; exchangeInfo maps symbols to assets."""

    async def body() -> None:
        async with BinanceSimulator() as sim:
            for path, status, code in (
                ("/api/v3/depth?symbol=DOGEUSDT", 400, -1121),
                ("/api/v3/depth?symbol=btcusdt", 400, -1121),  # REST symbols are upper case
                ("/api/v3/depth", 400, -1102),
                ("/api/v3/depth?symbol=BTCUSDT&limit=abc", 400, -1100),
                ("/api/v3/nothing", 404, -1),
            ):
                got, headers, error = await rest(sim, path)
                assert (got, error["code"]) == (status, code), path
                assert headers["Content-Type"].startswith("application/json")
            default = await rest(sim, "/api/v3/depth?symbol=ETHUSDT")
            assert default[0] == 200 and len(default[2]["bids"]) == 100
            huge = await snapshot(sim, "ETHUSDT", limit=100_000)  # capped at 5000
            assert len(huge["asks"]) <= 5000 and sim.rest_weight_used == 5 + 250
            assert all(DECIMAL.fullmatch(p) and DECIMAL.fullmatch(q) for p, q in huge["bids"])
            prices = [Decimal(p) for p, _ in huge["bids"]]
            assert prices == sorted(prices, reverse=True)
            status, _, info = await rest(sim, "/api/v3/exchangeInfo")
            assert status == 200
            assets = {
                s["symbol"]: (s["baseAsset"], s["quoteAsset"], s["status"]) for s in info["symbols"]
            }
            assert assets == {
                "BTCUSDT": ("BTC", "USDT", "TRADING"),
                "ETHUSDT": ("ETH", "USDT", "TRADING"),
                "BTCEUR": ("BTC", "EUR", "TRADING"),
                "ETHBTC": ("ETH", "BTC", "TRADING"),
            }
            assert info["rateLimits"][0]["limit"] == 6000
        async with BinanceSimulator(SimConfig(geo_blocked=True)) as blocked:
            status, _, error = await rest(blocked, "/api/v3/depth?symbol=BTCUSDT")
            assert status == 451 and "restricted location" in error["msg"]

    run(body)


def test_generator_feeds_active_streams() -> None:
    """With rate > 0 trades, book tickers and continuous diff events flow without scripting."""

    async def body() -> None:
        async with BinanceSimulator(SimConfig(rate=400)) as sim:
            streams = "btcusdt@trade/btcusdt@bookTicker/btcusdt@depth@100ms/btcusdt@depth5@100ms"
            async with connect(f"{sim.url}/stream?streams={streams}") as ws:
                seen: dict[str, list[Frame]] = {}
                while len(seen.get("btcusdt@depth@100ms", [])) < 4 or len(seen) < 4:
                    frame = await recv_json(ws)
                    seen.setdefault(frame["stream"], []).append(frame["data"])
                diffs = seen["btcusdt@depth@100ms"]
                for prev, event in itertools.pairwise(diffs):
                    assert event["U"] == prev["u"] + 1
                trade_ids = [t["t"] for t in seen["btcusdt@trade"]]
                assert trade_ids == list(range(trade_ids[0], trade_ids[0] + len(trade_ids)))
                partial = seen["btcusdt@depth5@100ms"][0]
                assert set(partial) == {"lastUpdateId", "bids", "asks"}
                assert len(partial["bids"]) == 5

    run(body)


def test_deterministic_from_seed() -> None:
    """The same seed gives the same book and trades (timestamps aside); another seed differs."""

    async def trade_and_book(seed: int) -> tuple[Frame, Frame]:
        async with BinanceSimulator(SimConfig(seed=seed)) as sim:
            async with connect(f"{sim.url}/ws/ethusdt@trade") as ws:
                await sim.send_trade("ETHUSDT")
                trade = await recv_json(ws)
            del trade["E"], trade["T"]
            return trade, await snapshot(sim, "ETHUSDT", limit=20)

    async def body() -> None:
        first, again, other = [await trade_and_book(seed) for seed in (7, 7, 8)]
        assert first == again
        assert first[1] != other[1]

    run(body)


def test_demo_and_arguments() -> None:
    """demo() feeds at the given rate; the CLI options map onto SimConfig."""
    assert demo(25.0).config.rate == 25.0
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    config = config_from_args(
        parser.parse_args(["--rate", "3", "--lifetime", "60", "--max-streams", "9"])
    )
    assert (config.rate, config.connection_lifetime, config.max_streams_per_connection) == (
        3.0,
        60.0,
        9,
    )
    assert config.host == "127.0.0.1" and config.port == 0


def test_cli_prints_url_and_exits_on_sigterm() -> None:
    """`python -m bridges.binance.sim --port 0` prints one line and exits 0 on SIGTERM."""

    async def body() -> None:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bridges.binance.sim",
            "--port",
            "0",
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            assert proc.stdout is not None
            line = (await asyncio.wait_for(proc.stdout.readline(), 6.0)).decode()
            match = re.fullmatch(r"binance simulator listening on (ws://127\.0\.0\.1:\d+)\n", line)
            assert match, line
            async with connect(f"{match.group(1)}/ws") as ws:
                await ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 1}))
                assert await recv_json(ws) == {"result": [], "id": 1}
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(proc.wait(), 5.0) == 0
            assert await proc.stdout.read() == b""
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()

    run(body, timeout=9.0)


def test_never_crashes_on_a_closed_peer() -> None:
    """Sends to a connection that vanished mid-way are dropped; the server keeps serving."""

    async def body() -> None:
        async with BinanceSimulator() as sim:
            ws = await connect(f"{sim.url}/ws/btcusdt@trade")
            await sim.wait_until(lambda: sim.open_connections() == 1)
            ws.transport.abort()
            for _ in range(3):
                await sim.send_trade("BTCUSDT")
            await sim.wait_until(lambda: sim.open_connections() == 0)
            async with connect(f"{sim.url}/ws/btcusdt@trade") as again:
                assert await sim.send_trade("BTCUSDT") == 1
                assert (await recv_json(again))["e"] == "trade"

    run(body)


def test_generator_closes_klines() -> None:
    """With rate > 0 a kline ends with an x:true event and the next candle follows it."""

    async def body() -> None:
        config = SimConfig(rate=200)
        async with BinanceSimulator(config) as sim, connect(f"{sim.url}/ws/btceur@kline_1s") as ws:
            event = await recv_json(ws, timeout=3.0)
            while not event["k"]["x"]:
                event = await recv_json(ws, timeout=3.0)
            closed = event["k"]
            assert closed["T"] - closed["t"] == 999 and closed["i"] == "1s"
            following = (await recv_json(ws, timeout=3.0))["k"]
            assert following["x"] is False and following["t"] > closed["T"]
            assert (following["t"] - closed["T"] - 1) % 1000 == 0

    run(body)
