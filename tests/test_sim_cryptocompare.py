"""Tests for the CryptoCompare streamer v2 simulator (bridges/cryptocompare/sim.py)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import re
import signal
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, ConnectionClosedError, ConnectionClosedOK

from bridges.cryptocompare.sim import (
    CryptoCompareSimulator,
    SimConfig,
    add_arguments,
    config_from_args,
)
from bridges.cryptocompare.sim_market import (
    INDEX_EXTRA_FIELDS,
    TICKER_FIELDS,
    InvalidSubscription,
    parse_subscription,
)

KEY = "test-key"
TIMEOUT = 2.0
ROOT = Path(__file__).resolve().parent.parent
TICKER_IDENTITY = {"TYPE", "MARKET", "FROMSYMBOL", "TOSYMBOL", "FLAGS"}
TWO_DECIMALS = re.compile(r'"(PRICE|BID|ASK|MEDIAN|P)":(-?\d+\.\d{2})[,}\]]')

Frame = dict[str, Any]


def run(test: Callable[[], Coroutine[Any, Any, None]], timeout: float = 8.0) -> None:
    asyncio.run(asyncio.wait_for(test(), timeout))


def keyed(sim: CryptoCompareSimulator, key: str = KEY) -> str:
    return f"{sim.url}?api_key={key}"


async def recv_raw(ws: ClientConnection, timeout: float = TIMEOUT) -> tuple[str, Frame]:
    raw = await asyncio.wait_for(ws.recv(), timeout)
    assert isinstance(raw, str)
    frame = json.loads(raw)
    assert isinstance(frame, dict)
    assert isinstance(frame["TYPE"], str) and frame["TYPE"].isdigit(), raw
    return raw, frame


async def recv_frame(ws: ClientConnection, timeout: float = TIMEOUT) -> Frame:
    return (await recv_raw(ws, timeout))[1]


async def recv_until(ws: ClientConnection, type_: str) -> list[Frame]:
    frames = [await recv_frame(ws)]
    while frames[-1]["TYPE"] != type_:
        frames.append(await recv_frame(ws))
    return frames


async def welcomed(ws: ClientConnection) -> Frame:
    frame = await recv_frame(ws)
    assert frame["TYPE"] == "20", frame
    return frame


async def request(ws: ClientConnection, action: str, *subs: str) -> None:
    await ws.send(json.dumps({"action": action, "subs": list(subs)}))


def test_welcome_fields() -> None:
    """The first frame is TYPE 20 with every documented field as the right JSON type."""

    async def body() -> None:
        async with CryptoCompareSimulator() as sim, connect(keyed(sim)) as ws:
            welcome = await welcomed(ws)
            assert welcome["MESSAGE"] == "STREAMERWELCOME"
            assert welcome["DATA_FORMAT"] == "JSON"
            assert isinstance(welcome["SERVER_NAME"], str)
            assert isinstance(welcome["SOCKET_ID"], str) and welcome["SOCKET_ID"]
            numbers = ["SERVER_UPTIME_SECONDS", "SERVER_TIME_MS", "CLIENT_ID"]
            numbers += ["SOCKETS_ACTIVE", "SOCKETS_REMAINING"]
            for period in ("SECOND", "MINUTE", "HOUR", "DAY", "MONTH"):
                numbers += [f"RATELIMIT_MAX_{period}", f"RATELIMIT_REMAINING_{period}"]
            for name in numbers:
                assert type(welcome[name]) is int, name
            assert welcome["SOCKETS_ACTIVE"] == 1 and welcome["SOCKETS_REMAINING"] == 0
            assert welcome["RATELIMIT_MAX_SECOND"] == 30
            assert welcome["RATELIMIT_REMAINING_SECOND"] == 29
            assert sim.connect_count == 1 and sim.open_connections() == 1
            assert KEY not in json.dumps(welcome)

    run(body)


def test_unauthorized_without_key() -> None:
    """Without a key the server sends TYPE 401 and closes the socket."""

    async def body() -> None:
        async with CryptoCompareSimulator() as sim, connect(sim.url) as ws:
            frame = await recv_frame(ws)
            assert frame == {
                "TYPE": "401",
                "MESSAGE": "UNAUTHORIZED",
                "PARAMETER": "format",
                "INFO": "We only support JSON format with a valid api_key.",
            }
            with pytest.raises(ConnectionClosedOK):
                await recv_frame(ws)
            assert sim.connect_count == 1 and sim.open_connections() == 0

    run(body)


def test_key_via_header_and_query() -> None:
    """A listed key is accepted in the query or the Apikey header; other keys get 401."""

    async def body() -> None:
        config = SimConfig(api_keys=frozenset({"good"}), max_sockets_per_key=2)
        async with CryptoCompareSimulator(config) as sim:
            header = {"authorization": "Apikey good"}
            async with connect(sim.url, additional_headers=header) as ws1:
                await welcomed(ws1)
                async with connect(keyed(sim, "good")) as ws2:
                    await welcomed(ws2)
                    assert sim.open_connections() == 2
            for url, headers in (
                (keyed(sim, "bad"), {}),
                (sim.url, {"authorization": "Apikey bad"}),
                (keyed(sim, ""), {}),
            ):
                async with connect(url, additional_headers=headers) as ws:
                    assert (await recv_frame(ws))["TYPE"] == "401"

    run(body)


def test_demo_mode_accepts_missing_key() -> None:
    """With require_key=False a connection without any key is welcomed."""

    async def body() -> None:
        config = SimConfig(require_key=False)
        async with CryptoCompareSimulator(config) as sim, connect(sim.url) as ws:
            await welcomed(ws)

    run(body)


def test_wrong_path_is_rejected() -> None:
    """Only /v2 is served; another path fails the HTTP handshake."""

    async def body() -> None:
        async with CryptoCompareSimulator() as sim:
            with pytest.raises(Exception, match="404"):
                await connect(f"ws://127.0.0.1:{sim.port}/v3?api_key={KEY}")
            assert sim.connect_count == 0

    run(body)


def test_subadd_ticker_snapshot_then_16_then_3() -> None:
    """SubAdd on a ticker gives the full snapshot, then TYPE 16, then TYPE 3."""

    async def body() -> None:
        async with CryptoCompareSimulator() as sim, connect(keyed(sim)) as ws:
            await welcomed(ws)
            sub = "2~Binance~BTC~USDT"
            await request(ws, "SubAdd", sub)
            raw, snapshot = await recv_raw(ws)
            assert snapshot["TYPE"] == "2"
            assert (snapshot["MARKET"], snapshot["FROMSYMBOL"]) == ("Binance", "BTC")
            assert snapshot["TOSYMBOL"] == "USDT"
            assert set(snapshot) == TICKER_IDENTITY | set(TICKER_FIELDS)
            assert type(snapshot["FLAGS"]) is int
            assert isinstance(snapshot["LASTTRADEID"], str)
            assert snapshot["BID"] < snapshot["ASK"]
            assert len(TWO_DECIMALS.findall(raw)) == 3
            assert await recv_frame(ws) == {
                "TYPE": "16",
                "MESSAGE": "SUBSCRIBECOMPLETE",
                "SUB": sub,
            }
            assert await recv_frame(ws) == {
                "TYPE": "3",
                "MESSAGE": "LOADCOMPLETE",
                "INFO": "All your valid subs have been loaded.",
            }
            assert sim.active_subs() == {sub}
            assert sim.received == [{"action": "SubAdd", "subs": [sub]}]

    run(body)


def test_index_snapshot_has_every_field() -> None:
    """A CCCAGG (TYPE 5) snapshot carries the ticker fields plus MEDIAN, TOPTIER and supply."""

    async def body() -> None:
        async with CryptoCompareSimulator() as sim, connect(keyed(sim)) as ws:
            await welcomed(ws)
            await request(ws, "SubAdd", "5~CCCAGG~ETH~USD")
            snapshot, done, _ = await recv_until(ws, "3")
            assert snapshot["TYPE"] == "5" and snapshot["MARKET"] == "CCCAGG"
            expected = TICKER_IDENTITY | set(TICKER_FIELDS) | set(INDEX_EXTRA_FIELDS)
            assert set(snapshot) == expected
            assert isinstance(snapshot["LASTMARKET"], str)
            assert snapshot["MAXSUPPLY"] == -1  # ETH: unlimited
            assert done["TYPE"] == "16"

    run(body)


def test_first_payload_per_channel() -> None:
    """Trades replay up to 20 trades; 24, 30, 8 (TYPE 9), 11 and 21 send their own snapshot."""

    async def body() -> None:
        async with CryptoCompareSimulator() as sim, connect(keyed(sim)) as ws:
            await welcomed(ws)
            subs = ["0~Kraken~ETH~EUR", "24~Coinbase~ETH~USD~H", "30~Bitstamp~BTC~USD"]
            subs += ["8~Binance~ETH~USDT", "11~BTC", "21~ETH"]
            await request(ws, "SubAdd", *subs)
            frames = await recv_until(ws, "3")
            completes = [f["SUB"] for f in frames if f["TYPE"] == "16"]
            assert completes == subs
            trades = list(itertools.takewhile(lambda f: f["TYPE"] == "0", frames))
            assert 1 <= len(trades) <= 20
            for before, after in itertools.pairwise(trades):
                assert after["CCSEQ"] == before["CCSEQ"] + 1
                assert int(after["ID"]) > int(before["ID"])
            for trade in trades:
                assert trade["TYPE"] == "0" and trade["M"] == "Kraken"
                assert isinstance(trade["F"], str) and isinstance(trade["ID"], str)
                assert {"TS", "TSNS", "Q", "P", "TOTAL", "RTS", "CCSEQ"} <= set(trade)
                assert abs(trade["TOTAL"] - trade["Q"] * trade["P"]) < 1e-6
            by_type = {f["TYPE"]: f for f in frames}
            candle = by_type["24"]
            assert candle["UNIT"] == "H" and candle["ACTION"] in ("I", "A")
            assert candle["TS"] % 3600 == 0
            tob = by_type["30"]
            assert len(tob["BID"]) == 1 and len(tob["ASK"]) == 1
            assert set(tob["BID"][0]) == {"P", "Q", "REPORTEDNS"}
            assert tob["BID"][0]["P"] < tob["ASK"][0]["P"] and isinstance(tob["CCSEQ"], int)
            book = by_type["9"]
            assert book["M"] == "Binance" and isinstance(book["CCSEQ"], int)
            assert all(set(level) == {"P", "Q"} for level in book["BID"] + book["ASK"])
            assert book["BID"][0]["P"] < book["ASK"][0]["P"]
            assert by_type["11"]["SYMBOL"] == "BTC" and by_type["11"]["FULLVOLUME"] > 0
            assert by_type["21"]["SYMBOL"] == "ETH" and by_type["21"]["TOPTIERFULLVOLUME"] > 0

    run(body)


@pytest.mark.parametrize(
    ("sub", "valid"),
    [
        ("0~Coinbase~BTC~USD", True),
        ("2~Binance~BTC~USDT", True),
        ("5~CCCAGG~BTC~EUR", True),
        ("8~Binance~BTC~USDT", True),
        ("11~BTC", True),
        ("21~ETH", True),
        ("24~CCCAGG~BTC~USD~m", True),
        ("24~Kraken~ETH~EUR~D", True),
        ("30~Coinbase~BTC~USD", True),
        ("24~CCCAGG~BTC~USD", False),  # period missing
        ("24~CCCAGG~BTC~USD~h", False),
        ("24~CCCAGG~BTC~USD~*", False),
        ("5~Kraken~BTC~USD", False),  # 5 is CCCAGG only
        ("5~CCCAGG~ETH~EUR", False),  # not in the CCCAGG catalogue
        ("2~CCCAGG~BTC~USD", False),
        ("0~kraken~BTC~EUR", False),  # exchange names are case-sensitive
        ("0~Kraken~btc~EUR", False),
        ("0~*~BTC~USD", False),
        ("0~Kraken~BTC~EUR~", False),
        ("11~BTC~USD", False),
        ("21~DOGE", False),
        ("1~Kraken~BTC~EUR", False),
        ("", False),
    ],
)
def test_subscription_grammar(sub: str, valid: bool) -> None:
    """The §2 grammar and the market catalogue decide which subs are accepted."""
    if valid:
        assert parse_subscription(sub).raw == sub
    else:
        with pytest.raises(InvalidSubscription):
            parse_subscription(sub)


def test_invalid_sub() -> None:
    """An unmapped pair gets 500 INVALID_SUB with the sub as PARAMETER; the batch still ends."""

    async def body() -> None:
        async with CryptoCompareSimulator() as sim, connect(keyed(sim)) as ws:
            await welcomed(ws)
            await request(ws, "SubAdd", "5~CCCAGG~ZZZ~USD")
            error, done = await recv_until(ws, "3")
            assert error["TYPE"] == "500" and error["MESSAGE"] == "INVALID_SUB"
            assert error["PARAMETER"] == "5~CCCAGG~ZZZ~USD"
            assert error["INFO"] == (
                "We have not integrated any of the exchanges ZZZ trades on "
                "or we have not currently mapped it."
            )
            assert done["MESSAGE"] == "LOADCOMPLETE"
            assert sim.active_subs() == set()

    run(body)


def test_duplicate_sub() -> None:
    """Adding an active sub again gives 500 SUBSCRIPTION_ALREADY_ACTIVE and no snapshot."""

    async def body() -> None:
        async with CryptoCompareSimulator() as sim, connect(keyed(sim)) as ws:
            await welcomed(ws)
            await request(ws, "SubAdd", "11~BTC")
            await recv_until(ws, "3")
            await request(ws, "SubAdd", "11~BTC")
            error, done = await recv_until(ws, "3")
            assert error["TYPE"] == "500"
            assert error["MESSAGE"] == "SUBSCRIPTION_ALREADY_ACTIVE"
            assert error["PARAMETER"] == "11~BTC"
            assert done["TYPE"] == "3"

    run(body)


def test_subremove_counts() -> None:
    """SubRemove answers 17 per active sub, 500 for the others, then 18 with the counts."""

    async def body() -> None:
        async with CryptoCompareSimulator() as sim, connect(keyed(sim)) as ws:
            await welcomed(ws)
            subs = ["11~BTC", "21~BTC"]
            await request(ws, "SubAdd", *subs)
            await recv_until(ws, "3")
            await request(ws, "SubRemove", *subs, "0~Kraken~BTC~USD")
            removed_a, removed_b, error, summary = await recv_until(ws, "18")
            assert [removed_a["SUB"], removed_b["SUB"]] == subs
            assert removed_a["TYPE"] == removed_b["TYPE"] == "17"
            assert removed_a["MESSAGE"] == "UNSUBSCRIBECOMPLETE"
            assert error["MESSAGE"] == "SUBSCRIPTION_UNRECOGNIZED"
            assert error["PARAMETER"] == "0~Kraken~BTC~USD"
            assert summary == {
                "TYPE": "18",
                "MESSAGE": "UNSUBSCRIBEALLCOMPLETE",
                "INFO": "Removed 2 subs.",
                "INFO_OBJ": {"valid": 2, "invalid": 1},
            }
            assert sim.active_subs() == set()

    run(body)


def test_too_many_sockets() -> None:
    """A second socket on the same key gets 429 TOO_MANY_SOCKETS and is closed."""

    async def body() -> None:
        async with CryptoCompareSimulator() as sim:
            async with connect(keyed(sim)) as first:
                await welcomed(first)
                async with connect(keyed(sim)) as second:
                    frame = await recv_frame(second)
                    assert frame == {
                        "TYPE": "429",
                        "MESSAGE": "TOO_MANY_SOCKETS_MAX_1_PER_CLIENT",
                        "INFO": "You have reached your maximum sockets open for your subscription",
                    }
                    with pytest.raises(ConnectionClosed):
                        await recv_frame(second)
                async with connect(keyed(sim, "other-key")) as other:
                    await welcomed(other)
            await sim.wait_until(lambda: sim.open_connections() == 0)
            async with connect(keyed(sim)) as again:
                await welcomed(again)
            assert sim.connect_count == 4

    run(body)


def test_too_many_subs() -> None:
    """Past max_subs_per_socket a sub gets 429 with PARAMETER and is not activated."""

    async def body() -> None:
        config = SimConfig(max_subs_per_socket=2)
        async with CryptoCompareSimulator(config) as sim, connect(keyed(sim)) as ws:
            await welcomed(ws)
            await request(ws, "SubAdd", "11~BTC", "11~ETH", "21~BTC")
            frames = await recv_until(ws, "3")
            assert [f["TYPE"] for f in frames] == ["11", "16", "11", "16", "429", "3"]
            refused = frames[4]
            assert refused["MESSAGE"] == "TOO_MANY_SUBSCRIPTIONS_MAX_2_PER_SOCKET"
            assert refused["PARAMETER"] == "21~BTC" and refused["INFO"]
            assert sim.active_subs() == {"11~BTC", "11~ETH"}

    run(body)


def test_heartbeat() -> None:
    """Each connection gets TYPE 999 HEARTBEAT frames with TIMEMS at the configured interval."""

    async def body() -> None:
        config = SimConfig(heartbeat_interval=0.05)
        async with CryptoCompareSimulator(config) as sim, connect(keyed(sim)) as ws:
            await welcomed(ws)
            for _ in range(2):
                beat = await recv_frame(ws, timeout=1.0)
                assert beat["TYPE"] == "999" and beat["MESSAGE"] == "HEARTBEAT"
                assert type(beat["TIMEMS"]) is int and beat["TIMEMS"] > 1_600_000_000_000

    run(body)


def test_send_reaches_only_subscribed_connections() -> None:
    """send() goes to sockets with that sub active only; broadcast() goes to all."""

    async def body() -> None:
        async with (
            CryptoCompareSimulator() as sim,
            connect(keyed(sim, "a")) as ws_a,
            connect(keyed(sim, "b")) as ws_b,
        ):
            await welcomed(ws_a)
            await welcomed(ws_b)
            await request(ws_a, "SubAdd", "11~BTC")
            await request(ws_b, "SubAdd", "11~ETH")
            await recv_until(ws_a, "3")
            await recv_until(ws_b, "3")
            scripted = '{"TYPE":"11","SYMBOL":"BTC","FULLVOLUME":1.5}'
            assert await sim.send("11~BTC", scripted) == 1
            assert await sim.send("0~Kraken~BTC~EUR", scripted) == 0
            marker = '{"TYPE":"999","MESSAGE":"HEARTBEAT","TIMEMS":1}'
            assert await sim.broadcast(marker) == 2
            assert await asyncio.wait_for(ws_a.recv(), TIMEOUT) == scripted
            assert await asyncio.wait_for(ws_a.recv(), TIMEOUT) == marker
            assert await asyncio.wait_for(ws_b.recv(), TIMEOUT) == marker

    run(body)


def test_drop_connections_aborts_without_close_frame() -> None:
    """drop_connections() cuts the TCP connection: the client gets no close frame."""

    async def body() -> None:
        async with CryptoCompareSimulator() as sim:
            async with connect(keyed(sim)) as ws:
                await welcomed(ws)
                await request(ws, "SubAdd", "11~BTC")
                await recv_until(ws, "3")
                await sim.drop_connections()
                assert sim.open_connections() == 0 and sim.active_subs() == set()
                with pytest.raises(ConnectionClosedError) as closed:
                    await recv_frame(ws)
                assert closed.value.rcvd is None
            async with connect(keyed(sim)) as ws:  # the key's socket slot is free again
                await welcomed(ws)
            assert sim.connect_count == 2

    run(body)


def test_synthetic_partial_updates() -> None:
    """With rate > 0, ticker/index updates carry identity fields, FLAGS and only some fields."""

    async def body() -> None:
        config = SimConfig(rate=400.0, seed=7)
        async with CryptoCompareSimulator(config) as sim, connect(keyed(sim)) as ws:
            await welcomed(ws)
            await request(ws, "SubAdd", "2~Coinbase~BTC~USD", "5~CCCAGG~BTC~USD")
            await recv_until(ws, "3")
            updates: list[Frame] = []
            while len(updates) < 40:
                raw, frame = await recv_raw(ws)
                assert frame["TYPE"] in ("2", "5"), raw
                for _, value in re.findall(r'"(PRICE|BID|ASK|MEDIAN)":([-\d.eE+]+)', raw):
                    assert re.fullmatch(r"\d+\.\d{2}", value), raw
                updates.append(frame)
            for frame in updates:
                assert set(frame) >= TICKER_IDENTITY
                full = set(TICKER_FIELDS)
                if frame["TYPE"] == "5":
                    full |= set(INDEX_EXTRA_FIELDS)
                optional = set(frame) - TICKER_IDENTITY
                assert optional and optional < full, frame
                flags = frame["FLAGS"]
                assert type(flags) is int
                assert bin(flags & 7).count("1") == 1  # exactly one price bit
                if frame["TYPE"] == "5":
                    assert bin(flags & (512 | 1024 | 2048)).count("1") == 1
                if "BID" in frame:
                    assert bin(flags & (8 | 16 | 32)).count("1") == 1
                if "ASK" in frame:
                    assert bin(flags & (64 | 128 | 256)).count("1") == 1
            assert any("PRICE" in f for f in updates)
            assert any("PRICE" not in f for f in updates)

    run(body)


def test_synthetic_sequences() -> None:
    """Live trades, top-of-book and L2 deltas continue their CCSEQ chain by +1; candles update."""

    async def body() -> None:
        config = SimConfig(rate=500.0, seed=3)
        subs = ["0~Coinbase~BTC~USD", "30~Coinbase~BTC~USD", "8~Binance~BTC~USDT"]
        subs.append("24~Kraken~BTC~EUR~m")
        async with CryptoCompareSimulator(config) as sim, connect(keyed(sim)) as ws:
            await welcomed(ws)
            await request(ws, "SubAdd", *subs)
            last: dict[str, int] = {}
            last_id = 0
            for frame in await recv_until(ws, "3"):
                if frame["TYPE"] in ("0", "30", "9"):
                    last["8" if frame["TYPE"] == "9" else frame["TYPE"]] = frame["CCSEQ"]
                if frame["TYPE"] == "0":
                    last_id = int(frame["ID"])
            seen: set[str] = set()
            for _ in range(80):
                frame = await recv_frame(ws)
                type_ = frame["TYPE"]
                seen.add(type_)
                if type_ in last:
                    assert frame["CCSEQ"] == last[type_] + 1, frame
                    last[type_] = frame["CCSEQ"]
                if type_ == "0":
                    assert int(frame["ID"]) > last_id
                    last_id = int(frame["ID"])
                    assert frame["F"] in ("1", "2", "4")
                elif type_ == "30":
                    assert len({"BID", "ASK"} & set(frame)) == 1
                elif type_ == "8":
                    assert frame["SIDE"] in (0, 1) and frame["ACTION"] in (1, 2, 4)
                    assert frame["ACTION"] != 2 or frame["Q"] == 0
                else:
                    assert type_ == "24" and frame["ACTION"] in ("A", "U")
                    assert frame["TOTALTRADES"] >= 1 and frame["HIGH"] >= frame["LOW"]
                    assert {"FIRSTTS", "LASTTS", "FIRSTPRICE", "LASTPRICE"} <= set(frame)
            assert seen == {"0", "30", "8", "24"}

    run(body)


BOOK_SUB = "8~Kraken~BTC~USD"


def apply_l2(book: dict[int, dict[float, float]], frame: Frame) -> None:
    """Apply one TYPE 8 delta (SIDE 0 bid / 1 ask; ACTION 1 add, 2 remove, 4 update)."""
    levels = book[frame["SIDE"]]
    if frame["ACTION"] == 2:
        del levels[frame["P"]]
    else:
        assert (frame["P"] in levels) == (frame["ACTION"] == 4), frame
        levels[frame["P"]] = frame["Q"]


def l2_book(snapshot: Frame) -> dict[int, dict[float, float]]:
    assert snapshot["TYPE"] == "9"
    bids = [level["P"] for level in snapshot["BID"]]
    asks = [level["P"] for level in snapshot["ASK"]]
    assert bids == sorted(bids, reverse=True) and asks == sorted(asks)
    return {
        0: {level["P"]: level["Q"] for level in snapshot["BID"]},
        1: {level["P"]: level["Q"] for level in snapshot["ASK"]},
    }


async def book_snapshot(ws: ClientConnection, sub: str = BOOK_SUB) -> Frame:
    await request(ws, "SubAdd", sub)
    snapshot, complete, done = await recv_until(ws, "3")
    assert (complete["TYPE"], complete["SUB"], done["TYPE"]) == ("16", sub, "3")
    return snapshot


async def resubscribe(ws: ClientConnection, sub: str = BOOK_SUB) -> Frame:
    await request(ws, "SubRemove", sub)
    await recv_until(ws, "18")
    return await book_snapshot(ws, sub)


def test_book_snapshot_then_live_deltas() -> None:
    """With rate > 0 an 8~ sub gets TYPE 9, 16, 3, then TYPE 8 deltas at CCSEQ + 1 each."""

    async def body() -> None:
        async with CryptoCompareSimulator(SimConfig(rate=400.0)) as sim, connect(keyed(sim)) as ws:
            await welcomed(ws)
            snapshot = await book_snapshot(ws)
            assert (snapshot["M"], snapshot["FSYM"], snapshot["TSYM"]) == ("Kraken", "BTC", "USD")
            book, seq = l2_book(snapshot), snapshot["CCSEQ"]
            for _ in range(40):
                delta = await recv_frame(ws)
                assert delta["TYPE"] == "8" and delta["M"] == "Kraken"
                assert delta["CCSEQ"] == seq + 1, (delta, seq)
                seq = delta["CCSEQ"]
                apply_l2(book, delta)
            assert max(book[0]) < min(book[1])

    run(body)


def test_send_book_delta_replays_the_book() -> None:
    """send_book_delta drives deltas with rate=0; applied to the snapshot they give the next one."""

    async def body() -> None:
        async with CryptoCompareSimulator() as sim, connect(keyed(sim)) as ws:
            await welcomed(ws)
            snapshot = await book_snapshot(ws)
            book, seq = l2_book(snapshot), snapshot["CCSEQ"]
            actions: set[int] = set()
            for _ in range(30):
                await sim.send_book_delta(BOOK_SUB)
                delta = await recv_frame(ws)
                assert delta["TYPE"] == "8" and delta["CCSEQ"] == seq + 1
                assert {"SIDE", "ACTION", "P", "Q", "REPORTEDNS", "DELAYNS"} <= set(delta)
                assert delta["ACTION"] != 2 or delta["Q"] == 0
                seq = delta["CCSEQ"]
                actions.add(delta["ACTION"])
                apply_l2(book, delta)
            assert actions == {1, 2, 4}
            fresh = await resubscribe(ws)
            assert fresh["CCSEQ"] == seq
            assert l2_book(fresh) == book

    run(body)


def test_inject_book_gap_skips_one_ccseq() -> None:
    """After inject_book_gap the next delta skips exactly one CCSEQ; the chain then goes on."""

    async def body() -> None:
        async with CryptoCompareSimulator() as sim, connect(keyed(sim)) as ws:
            await welcomed(ws)
            other = "8~Coinbase~BTC~USD"
            seq = (await book_snapshot(ws))["CCSEQ"]
            other_seq = (await book_snapshot(ws, other))["CCSEQ"]
            await sim.inject_book_gap(BOOK_SUB)
            seen: list[tuple[str, int]] = []
            for sub in (other, BOOK_SUB, BOOK_SUB, other):
                await sim.send_book_delta(sub)
                delta = await recv_frame(ws)
                seen.append((delta["M"], delta["CCSEQ"]))
            assert seen == [
                ("Coinbase", other_seq + 1),
                ("Kraken", seq + 2),
                ("Kraken", seq + 3),
                ("Coinbase", other_seq + 2),
            ]
            assert (await resubscribe(ws))["CCSEQ"] == seq + 3  # the skipped change is in the book

    run(body)


def test_inject_book_gap_with_live_deltas() -> None:
    """With rate > 0 exactly one later delta jumps by 2; every other step is + 1."""

    async def body() -> None:
        async with CryptoCompareSimulator(SimConfig(rate=400.0)) as sim, connect(keyed(sim)) as ws:
            await welcomed(ws)
            seq = (await book_snapshot(ws))["CCSEQ"]
            steps: list[int] = []
            for i in range(30):
                if i == 5:
                    await sim.inject_book_gap(BOOK_SUB)
                delta = await recv_frame(ws)
                steps.append(delta["CCSEQ"] - seq)
                seq = delta["CCSEQ"]
            assert sorted(steps) == [1] * 29 + [2]
            assert steps.index(2) >= 5

    run(body)


def test_book_helpers_need_an_order_book_sub() -> None:
    """send_book_delta and inject_book_gap reject subs that are not valid 8~ subs."""

    async def body() -> None:
        async with CryptoCompareSimulator() as sim:
            for bad in ("0~Coinbase~BTC~USD", "8~Nowhere~BTC~USD", "8~Kraken~BTC"):
                with pytest.raises(ValueError):
                    await sim.send_book_delta(bad)
                with pytest.raises(ValueError):
                    await sim.inject_book_gap(bad)
            await sim.send_book_delta(BOOK_SUB)  # nobody subscribed: the book still moves

    run(body)


def test_invalid_json_keeps_connection_open() -> None:
    """Bad JSON gets 500 INVALID_JSON, bad shapes 500 INVALID_PARAMETER; the socket stays usable."""

    async def body() -> None:
        async with CryptoCompareSimulator() as sim, connect(keyed(sim)) as ws:
            await welcomed(ws)
            await ws.send("{not json")
            error = await recv_frame(ws)
            assert error["TYPE"] == "500" and error["MESSAGE"] == "INVALID_JSON"
            for garbage in (b"\xff\xfe", "[" * 100_000, ""):
                await ws.send(garbage)
                assert (await recv_frame(ws))["MESSAGE"] == "INVALID_JSON"
            for bad in (
                {"action": "SubAll", "subs": ["11~BTC"]},
                {"subs": ["11~BTC"]},
                {"action": "SubAdd", "subs": "11~BTC"},
                {"action": "SubAdd", "subs": [1]},
                [1, 2],
            ):
                await ws.send(json.dumps(bad))
                frame = await recv_frame(ws)
                assert frame["TYPE"] == "500" and frame["MESSAGE"] == "INVALID_PARAMETER"
            await request(ws, "SubAdd", "11~ETH")
            assert [f["TYPE"] for f in await recv_until(ws, "3")] == ["11", "16", "3"]
            assert sim.open_connections() == 1
            assert len(sim.received) == 5  # JSON objects only

    run(body)


def test_set_silent_suppresses_everything() -> None:
    """While silent nothing is sent, not even heartbeats; afterwards frames flow again."""

    async def body() -> None:
        config = SimConfig(heartbeat_interval=0.05)
        async with CryptoCompareSimulator(config) as sim, connect(keyed(sim)) as ws:
            await welcomed(ws)
            sim.set_silent(True)
            with contextlib.suppress(TimeoutError):  # only beats already in flight may come
                while True:
                    assert (await recv_frame(ws, timeout=0.15))["TYPE"] == "999"
            await request(ws, "SubAdd", "11~BTC")
            await sim.wait_until(lambda: sim.active_subs() == {"11~BTC"})
            assert await sim.broadcast("{}") == 0
            assert await sim.send("11~BTC", "{}") == 0
            with pytest.raises(TimeoutError):
                await recv_frame(ws, timeout=0.15)
            sim.set_silent(False)
            assert (await recv_frame(ws))["TYPE"] == "999"

    run(body)


def test_wait_until_timeout_message() -> None:
    """wait_until raises TimeoutError naming the state when the predicate stays false."""

    async def body() -> None:
        async with CryptoCompareSimulator() as sim:
            with pytest.raises(TimeoutError, match="open_connections=0"):
                await sim.wait_until(lambda: sim.open_connections() == 3, timeout=0.05)

    run(body)


def test_stop_closes_clients_frees_port_and_tasks() -> None:
    """stop() closes clients with 1001, frees the port and leaves no task behind."""

    async def body() -> None:
        before = asyncio.all_tasks()
        sim = CryptoCompareSimulator(SimConfig(heartbeat_interval=0.01, rate=200.0))
        await sim.start()
        port = sim.port
        async with connect(keyed(sim)) as ws:
            await welcomed(ws)
            await request(ws, "SubAdd", "11~BTC")
            await recv_until(ws, "3")
            await sim.stop()
            with pytest.raises(ConnectionClosedOK):
                while True:
                    await recv_frame(ws)
            assert ws.close_code == 1001
        await sim.stop()  # idempotent
        assert sim.open_connections() == 0
        assert asyncio.all_tasks() == before
        async with CryptoCompareSimulator(SimConfig(port=port)) as again:
            assert again.port == port

    run(body)


def test_config_from_args() -> None:
    """The CLI options map onto SimConfig."""
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert config_from_args(parser.parse_args([])) == SimConfig()
    args = parser.parse_args(
        [
            *("--port", "9", "--rate", "5", "--api-key", "a", "--api-key", "b"),
            *("--no-require-key", "--heartbeat", "0", "--seed", "4"),
            *("--max-sockets", "3", "--max-subs", "7"),
        ]
    )
    assert config_from_args(args) == SimConfig(
        port=9,
        rate=5.0,
        api_keys=frozenset({"a", "b"}),
        require_key=False,
        heartbeat_interval=0.0,
        seed=4,
        max_sockets_per_key=3,
        max_subs_per_socket=7,
    )


def test_module_entry_point() -> None:
    """`python -m bridges.cryptocompare.sim --port 0` prints one line, exits 0 on SIGTERM."""

    async def body() -> None:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bridges.cryptocompare.sim",
            "--port",
            "0",
            "--api-key",
            "cli-key",
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            assert proc.stdout is not None
            line = (await asyncio.wait_for(proc.stdout.readline(), 6.0)).decode()
            match = re.fullmatch(
                r"cryptocompare simulator listening on (ws://127\.0\.0\.1:\d+/v2)\n", line
            )
            assert match, line
            async with connect(f"{match[1]}?api_key=cli-key") as ws:
                await welcomed(ws)
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(proc.wait(), 5.0) == 0
            assert await proc.stdout.read() == b""
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()

    run(body, timeout=9.0)
