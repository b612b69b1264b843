"""Tests for the Cryptowatch stream simulator (bridges/cryptowatch/sim.py)."""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
import sys
import time
from collections.abc import Callable, Coroutine, Iterable
from decimal import Decimal
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import (
    ConnectionClosed,
    ConnectionClosedError,
    ConnectionClosedOK,
    InvalidStatus,
)

from bridges.cryptowatch.sim import (
    CryptowatchSimulator,
    SimConfig,
    add_arguments,
    config_from_args,
    demo,
    make_token,
)
from bridges.cryptowatch.sim_catalogue import MARKETS, InvalidResource, resolve_resource
from bridges.cryptowatch.sim_market import SyntheticMarkets
from bridges.cryptowatch.sim_session import Authenticator
from proto.cryptowatch import client_pb2, markets_pb2, stream_pb2
from tests.support import ROOT

KEY, SECRET = "foo", "YmFy"  # the note's test vector (§3)
CREDS = {KEY: SECRET}
TIMEOUT = 2.0
Status = stream_pb2.AuthenticationResult
DECIMAL = re.compile(r"-?\d+(\.\d+)?")
Book = tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]


def run(test: Callable[[], Coroutine[Any, Any, None]], timeout: float = 8.0) -> None:
    asyncio.run(asyncio.wait_for(test(), timeout))


def sub(resource: str) -> client_pb2.ClientSubscription:
    stream = client_pb2.StreamSubscription(resource=resource)
    return client_pb2.ClientSubscription(stream_subscription=stream)


def resources(subs: Iterable[client_pb2.ClientSubscription]) -> list[str]:
    return [s.stream_subscription.resource for s in subs]


def auth_frame(
    *resources: str, key: str = KEY, secret: str = SECRET, nonce: str | None = None
) -> bytes:
    nonce = nonce if nonce is not None else str(time.time_ns())
    auth = client_pb2.APIAuthenticationMessage(
        api_key=key,
        nonce=nonce,
        token=make_token(key, secret, nonce),
        source=client_pb2.APIAuthenticationMessage.GOLANG_SDK,
        version="2.0.0-beta.6",
        client_subscriptions=[sub(r) for r in resources],
    )
    return client_pb2.ClientMessage(apiAuthentication=auth).SerializeToString()


def subscribe_frame(*resources: str) -> bytes:
    request = client_pb2.ClientSubscribeMessage(subscriptions=[sub(r) for r in resources])
    return client_pb2.ClientMessage(subscribe=request).SerializeToString()


def unsubscribe_frame(*resources: str) -> bytes:
    request = client_pb2.ClientUnsubscribeMessage(subscriptions=[sub(r) for r in resources])
    return client_pb2.ClientMessage(unsubscribe=request).SerializeToString()


async def recv(ws: ClientConnection, *, heartbeats: bool = False) -> stream_pb2.StreamMessage:
    """The next StreamMessage; 0x01 heartbeats are skipped unless ``heartbeats``."""
    while True:
        data = await asyncio.wait_for(ws.recv(), TIMEOUT)
        assert isinstance(data, bytes), data  # every server frame is binary
        if data == b"\x01" and not heartbeats:
            continue
        return stream_pb2.StreamMessage.FromString(data)


async def login(ws: ClientConnection, *resources: str) -> None:
    """Gen-1 auth with the test vector's key; consumes AUTHENTICATED and the result."""
    await ws.send(auth_frame(*resources))
    assert (await recv(ws)).authenticationResult.status == Status.AUTHENTICATED
    if resources:
        assert (await recv(ws)).WhichOneof("body") == "subscriptionResult"


def unbulk(message: stream_pb2.StreamMessage) -> list[stream_pb2.StreamMessage]:
    if message.WhichOneof("body") != "bulkMessage":
        return [message]
    return [stream_pb2.StreamMessage.FromString(m) for m in message.bulkMessage.messages]


def book_of(update: markets_pb2.OrderBookUpdate) -> Book:
    bids = [Decimal(o.priceStr) for o in update.bids]
    asks = [Decimal(o.priceStr) for o in update.asks]
    assert bids == sorted(bids, reverse=True) and asks == sorted(asks)
    assert bids[0] < asks[0]
    return (
        {Decimal(o.priceStr): Decimal(o.amountStr) for o in update.bids},
        {Decimal(o.priceStr): Decimal(o.amountStr) for o in update.asks},
    )


def apply_delta(book: Book, delta: markets_pb2.OrderBookDeltaUpdate) -> None:
    """§6: set inserts or replaces by price, then removeStr deletes by price."""
    for levels, side in zip(book, (delta.bids, delta.asks), strict=True):
        assert not {o.priceStr for o in side.set} & set(side.removeStr)  # set or removed, not both
        for order in side.set:
            levels[Decimal(order.priceStr)] = Decimal(order.amountStr)
        for price in side.removeStr:
            levels.pop(Decimal(price), None)


async def book_message(ws: ClientConnection) -> markets_pb2.MarketUpdateMessage:
    update = (await recv(ws)).marketUpdate
    assert update.WhichOneof("Update") in ("orderBookUpdate", "orderBookDeltaUpdate"), update
    assert (update.market.exchangeId, update.market.currencyPairId) == (4, 9)
    assert update.market.marketId == 87
    return update


# -- authentication ------------------------------------------------------------------------


def test_token_vector() -> None:
    """make_token reproduces the note's vector; the Authenticator accepts it once."""
    nonce = "1531344872326000000"
    token = (
        "55v1hv+29RY+xdtJBnFeyoFLjY4r+d8kmx761jCPWi5NgJJPqjPBp5SdqXjrTy/wBoRIcwGAUFVtpGrY7QAOLw=="
    )
    assert make_token(KEY, SECRET, nonce) == token
    auth = client_pb2.APIAuthenticationMessage(api_key=KEY, nonce=nonce, token=token)
    checker = Authenticator(CREDS, 30.0, clock_ns=lambda: int(nonce) + 29 * 10**9)
    assert checker.check(auth) == Status.AUTHENTICATED
    assert checker.check(auth) == Status.BAD_NONCE
    late = Authenticator(CREDS, 30.0, clock_ns=lambda: int(nonce) + 31 * 10**9)
    assert late.check(auth) == Status.TOKEN_EXPIRED


def test_gen1_success_answers_initial_subscriptions() -> None:
    """Gen 1: AUTHENTICATED, a SubscriptionResult for the auth's subscriptions, a snapshot."""

    async def body() -> None:
        async with (
            CryptowatchSimulator(SimConfig(credentials=CREDS)) as sim,
            connect(sim.url) as ws,
        ):
            wanted = ["markets:86:trades", "markets:999:trades", "markets:87:book:snapshots"]
            await ws.send(auth_frame(*wanted))
            first = await recv(ws)
            assert first.authenticationResult.status == Status.AUTHENTICATED
            result = (await recv(ws)).subscriptionResult
            ok = ["markets:86:trades", "markets:87:book:snapshots"]
            assert resources(result.subscriptions) == ok
            assert resources(result.status.subscriptions) == ok
            [failed] = result.failed
            assert failed.error == "unknown market 999"
            assert failed.subscription.stream_subscription.resource == "markets:999:trades"
            snapshot = (await book_message(ws)).orderBookUpdate
            assert len(snapshot.bids) >= 5 and len(snapshot.asks) >= 5
            assert sim.active_resources() == set(ok) and sim.open_connections() == 1
            [message] = sim.received
            assert message.apiAuthentication.api_key == KEY
            assert sim.connect_count == 1

    run(body)


@pytest.mark.parametrize(
    ("key", "secret", "nonce_offset_s", "nonce", "status"),
    [
        ("nobody", SECRET, 0, None, Status.INVALID_PUBLIC_KEY),
        (KEY, "YmF6", 0, None, Status.BAD_TOKEN),  # signed with base64("baz")
        (KEY, SECRET, -60, None, Status.TOKEN_EXPIRED),
        (KEY, SECRET, 0, "soon", Status.BAD_NONCE),
    ],
)
def test_gen1_refusals(
    key: str, secret: str, nonce_offset_s: int, nonce: str | None, status: int
) -> None:
    """A refused Gen-1 auth gets its AuthenticationResult, then a close with 1000."""

    async def body() -> None:
        async with CryptowatchSimulator(SimConfig(credentials=CREDS)) as sim:
            async with connect(sim.url) as ws:
                value = nonce or str(time.time_ns() + nonce_offset_s * 10**9)
                await ws.send(auth_frame(key=key, secret=secret, nonce=value))
                assert (await recv(ws)).authenticationResult.status == status
                with pytest.raises(ConnectionClosedOK):
                    await recv(ws)
                assert ws.close_code == 1000
            assert sim.connect_count == 1 and sim.open_connections() == 0

    run(body)


def test_gen1_replayed_nonce() -> None:
    """A nonce not larger than the last one accepted for the key gets BAD_NONCE."""

    async def body() -> None:
        async with CryptowatchSimulator(SimConfig(credentials=CREDS)) as sim:
            frame = auth_frame()
            async with connect(sim.url) as ws:
                await ws.send(frame)
                assert (await recv(ws)).authenticationResult.status == Status.AUTHENTICATED
            async with connect(sim.url) as ws:
                await ws.send(frame)
                assert (await recv(ws)).authenticationResult.status == Status.BAD_NONCE
                with pytest.raises(ConnectionClosedOK):
                    await recv(ws)

    run(body)


def test_gen1_first_message_must_authenticate() -> None:
    """A first message that is not apiAuthentication closes 1008; garbage closes 1003."""

    async def body() -> None:
        async with CryptowatchSimulator(SimConfig(credentials=CREDS)) as sim:
            for frame, code in (
                (subscribe_frame("markets:86:trades"), 1008),
                (b"\x0a\x05ab", 1003),
            ):
                async with connect(sim.url) as ws:
                    await ws.send(frame)
                    with pytest.raises(ConnectionClosed):
                        await recv(ws)
                    assert ws.close_code == code
            assert len(sim.received) == 1 and sim.open_connections() == 0

    run(body)


def test_gen2_handshake() -> None:
    """Gen 2: a known key gets AUTHENTICATED unprompted, an unknown one INVALID_PUBLIC_KEY."""

    async def body() -> None:
        async with CryptowatchSimulator(SimConfig(credentials=CREDS)) as sim:
            async with connect(sim.gen2_url(KEY)) as ws:
                assert (await recv(ws)).authenticationResult.status == Status.AUTHENTICATED
                await ws.send(subscribe_frame("markets:1:trades"))
                result = (await recv(ws)).subscriptionResult
                assert resources(result.subscriptions) == ["markets:1:trades"]
            async with connect(sim.gen2_url("nobody")) as ws:
                status = (await recv(ws)).authenticationResult.status
                assert status == Status.INVALID_PUBLIC_KEY
                with pytest.raises(ConnectionClosedOK):
                    await recv(ws)
                assert ws.close_code == 1000
            for path, code in (("/connect?apikey=foo", 400), ("/v2", 404)):
                with pytest.raises(InvalidStatus) as refused:
                    async with connect(sim.url + path):
                        pass
                assert refused.value.response.status_code == code
        async with demo(0.0) as sim, connect(sim.gen2_url("anything")) as ws:
            assert (await recv(ws)).authenticationResult.status == Status.AUTHENTICATED

    run(body)


# -- subscriptions -------------------------------------------------------------------------


def test_subscribe_and_unsubscribe_results() -> None:
    """Results list what succeeded, what failed (with a reason) and the whole current set."""

    async def body() -> None:
        async with CryptowatchSimulator() as sim, connect(sim.url) as ws:
            await login(ws)
            trade = client_pb2.ClientSubscription(
                trade_subscription=client_pb2.TradeSubscription(marketId="86")
            )
            request = client_pb2.ClientSubscribeMessage(
                subscriptions=[sub("markets:86:trades"), sub("markets:999:ohlc"), trade],
                subscriptionKeys=["exchanges:4:book:spread", "instruments:9:nonsense"],
            )
            await ws.send(client_pb2.ClientMessage(subscribe=request).SerializeToString())
            result = (await recv(ws)).subscriptionResult
            ok = ["markets:86:trades", "exchanges:4:book:spread"]
            assert resources(result.subscriptions) == ok
            assert resources(result.status.subscriptions) == ok
            errors = [f.error for f in result.failed]
            assert errors[0] == "unknown market 999"
            assert "trading is not simulated" in errors[1]
            assert "unknown subject 'nonsense'" in errors[2]
            assert result.failed[1].subscription.trade_subscription.marketId == "86"
            assert sim.active_resources() == set(ok)
            # Protobuf sent in a text frame (the Go SDK's habit) is accepted too.
            await ws.send(unsubscribe_frame("markets:86:trades", "markets:1:summary").decode())
            gone = (await recv(ws)).unsubscriptionResult
            assert resources(gone.subscriptions) == ["markets:86:trades"]
            [failed] = gone.failed
            assert failed.error == "not subscribed to markets:1:summary"
            assert resources(gone.status.subscriptions) == ["exchanges:4:book:spread"]
            assert sim.active_resources() == {"exchanges:4:book:spread"}
            kinds = [m.WhichOneof("body") for m in sim.received]
            assert kinds == ["apiAuthentication", "subscribe", "unsubscribe"]

    run(body)


@pytest.mark.parametrize(
    ("resource", "markets"),
    [
        ("markets:86:trades", {86}),
        ("markets:*:summary", set(MARKETS)),
        ("exchanges:4:book:deltas", {86, 87, 88}),
        ("instruments:232:book:snapshots", {86}),
        ("pairs:9:ohlc", {1, 87, 579}),
        ("assets:60:book:spread", {1, 86, 87, 579, 1001}),
    ],
)
def test_resource_grammar(resource: str, markets: set[int]) -> None:
    """§5 resources expand to the catalogue markets they cover."""
    subject = resource.split(":", 2)[2]
    assert resolve_resource(resource) == {("markets", m, subject) for m in markets}


@pytest.mark.parametrize(
    ("resource", "error"),
    [
        ("markets:999:trades", "unknown market 999"),
        ("exchanges:5:trades", "unknown exchange 5"),
        ("exchanges:*:trades", "'*' is only valid in the markets scope"),
        ("markets:86:liquidity", "unknown subject 'liquidity'"),
        ("markets:86", "malformed resource"),
        ("planets:3:trades", "unknown scope 'planets'"),
        ("markets:8x:trades", "bad id '8x'"),
        ("assets:98:trades", "no markets with base asset 98"),
    ],
)
def test_resource_errors(resource: str, error: str) -> None:
    """Resources the simulator cannot serve are refused with a readable reason."""
    with pytest.raises(InvalidResource, match=re.escape(error)):
        resolve_resource(resource)


def test_pair_subjects() -> None:
    """pairs:<id>:vwap|performance|trendline resolve to pair topics and render pairUpdates."""
    markets = SyntheticMarkets(seed=1)
    for subject in ("vwap", "performance", "trendline"):
        [topic] = resolve_resource(f"pairs:9:{subject}")
        [(target, message)] = markets.update(topic)
        assert target == ("pairs", 9, subject) and message.pairUpdate.pair == 9
        assert message.pairUpdate.WhichOneof("Update") == f"{subject}Update"


# -- synthetic data ------------------------------------------------------------------------


def check_trade(trade: markets_pb2.Trade) -> None:
    assert DECIMAL.fullmatch(trade.priceStr) and DECIMAL.fullmatch(trade.amountStr)
    assert trade.amountBaseStr == trade.amountStr and trade.externalId.isdigit()
    assert trade.timestamp == trade.timestampNano // 10**9
    assert abs(trade.timestampNano - time.time_ns()) < 5 * 10**9
    assert trade.orderSide in (markets_pb2.Trade.BUYSIDE, markets_pb2.Trade.SELLSIDE)


def check_intervals(update: markets_pb2.IntervalsUpdate) -> None:
    assert len(update.intervals) >= 2
    periods = [i.period for i in update.intervals]
    assert 60 in periods and len(set(periods)) == len(periods)
    for candle in update.intervals:
        assert candle.periodName == str(candle.period)
        assert candle.closetime - candle.opentime == candle.period
        assert candle.opentime % candle.period == 0
        ohlc = candle.ohlc
        prices = [Decimal(p) for p in (ohlc.openStr, ohlc.highStr, ohlc.lowStr, ohlc.closeStr)]
        assert prices[1] == max(prices) and prices[2] == min(prices)
        assert DECIMAL.fullmatch(candle.volumeBaseStr) and DECIMAL.fullmatch(candle.volumeQuoteStr)


def check_summary(update: markets_pb2.SummaryUpdate) -> None:
    assert update.numTrades > 0
    fields = [update.lastStr, update.highStr, update.lowStr, update.volumeBaseStr]
    fields += [update.volumeQuoteStr, update.changeAbsoluteStr, update.changePercentStr]
    assert all(DECIMAL.fullmatch(value) for value in fields)
    assert Decimal(update.lowStr) <= Decimal(update.lastStr) <= Decimal(update.highStr)


def test_synthetic_updates_carry_ids_and_strings() -> None:
    """With rate > 0 trades, summary, ohlc and spread arrive for market 86 with string fields."""

    async def body() -> None:
        async with (
            CryptowatchSimulator(SimConfig(rate=400.0)) as sim,
            connect(sim.url) as ws,
        ):
            subjects = ("trades", "summary", "ohlc", "book:spread")
            await login(ws, *(f"markets:86:{s}" for s in subjects))
            seen: set[str] = set()
            while seen != {"tradesUpdate", "summaryUpdate", "intervalsUpdate", "spread"}:
                for message in unbulk(await recv(ws)):
                    update = message.marketUpdate
                    market = update.market
                    assert (market.exchangeId, market.currencyPairId, market.marketId) == (
                        4,
                        232,
                        86,
                    )
                    kind = update.WhichOneof("Update")
                    if kind == "tradesUpdate":
                        assert update.tradesUpdate.trades
                        for trade in update.tradesUpdate.trades:
                            check_trade(trade)
                    elif kind == "summaryUpdate":
                        check_summary(update.summaryUpdate)
                    elif kind == "intervalsUpdate":
                        check_intervals(update.intervalsUpdate)
                    else:
                        assert kind == "orderBookSpreadUpdate", kind
                        spread = update.orderBookSpreadUpdate
                        assert abs(spread.timestamp - time.time() * 1000) < 5000  # ms
                        assert Decimal(spread.bid.priceStr) < Decimal(spread.ask.priceStr)
                        kind = "spread"
                    seen.add(kind)

    run(body)


def test_snapshot_and_deltas_stay_in_sequence() -> None:
    """send_delta advances seqNum by 1; the deltas applied to a snapshot give the next one."""

    async def body() -> None:
        async with CryptowatchSimulator() as sim, connect(sim.url) as ws:
            await login(ws, "markets:87:book:snapshots", "markets:87:book:deltas")
            first = (await book_message(ws)).orderBookUpdate
            book, seq = book_of(first), first.seqNum
            for _ in range(40):
                assert await sim.send_delta(87) == 1
                delta = (await book_message(ws)).orderBookDeltaUpdate
                assert delta.seqNum == seq + 1
                seq = delta.seqNum
                apply_delta(book, delta)
            assert await sim.send_snapshot(87) == 1
            snapshot = (await book_message(ws)).orderBookUpdate
            assert snapshot.seqNum == seq
            assert book_of(snapshot) == book
            assert await sim.send_delta(1) == 0  # nobody subscribed to market 1

    run(body)


def test_inject_gap_skips_exactly_one() -> None:
    """After inject_gap the next delta skips one seqNum; later ones follow on by 1."""

    async def body() -> None:
        async with CryptowatchSimulator() as sim, connect(sim.url) as ws:
            await login(ws, "markets:87:book:snapshots", "markets:87:book:deltas")
            seq = (await book_message(ws)).orderBookUpdate.seqNum
            await sim.send_delta(87)
            await sim.inject_gap(87)
            await sim.send_delta(87)
            await sim.send_delta(87)
            await sim.send_snapshot(87)
            updates = [await book_message(ws) for _ in range(4)]
            seqs = [u.orderBookDeltaUpdate.seqNum for u in updates[:3]]
            assert seqs == [seq + 1, seq + 3, seq + 4]
            assert updates[3].orderBookUpdate.seqNum == seq + 4  # the skipped change is in it

    run(body)


def test_reset_sequence_sends_lower_snapshot() -> None:
    """reset_sequence: the next message is a snapshot with a lower seqNum, then deltas follow."""

    async def body() -> None:
        async with CryptowatchSimulator() as sim, connect(sim.url) as ws:
            await login(ws, "markets:87:book:snapshots", "markets:87:book:deltas")
            seq = (await book_message(ws)).orderBookUpdate.seqNum
            await sim.send_delta(87)
            assert (await book_message(ws)).orderBookDeltaUpdate.seqNum == seq + 1
            await sim.reset_sequence(87)
            await sim.send_delta(87)
            snapshot = (await book_message(ws)).orderBookUpdate
            assert 0 <= snapshot.seqNum < seq
            delta = (await book_message(ws)).orderBookDeltaUpdate
            assert delta.seqNum == snapshot.seqNum + 1

    run(body)


def test_periodic_snapshots() -> None:
    """book:snapshots subscribers get a snapshot every snapshot_interval."""

    async def body() -> None:
        config = SimConfig(snapshot_interval=0.05)
        async with CryptowatchSimulator(config) as sim, connect(sim.url) as ws:
            await login(ws, "exchanges:4:book:snapshots")
            markets = [(await recv(ws)).marketUpdate.market.marketId for _ in range(6)]
            assert markets == [86, 87, 88] * 2

    run(body)


def test_live_deltas_and_bulk_messages() -> None:
    """With rate > 0 some updates come wrapped in bulkMessage; seqNum never breaks."""

    async def body() -> None:
        async with (
            CryptowatchSimulator(SimConfig(rate=2000.0)) as sim,
            connect(sim.url) as ws,
        ):
            await login(ws, "markets:87:book:snapshots", "markets:87:book:deltas")
            first = (await book_message(ws)).orderBookUpdate
            book, seq = book_of(first), first.seqNum
            bulks = 0
            while bulks < 2:
                message = await recv(ws)
                parts = unbulk(message)
                if len(parts) > 1:
                    bulks += 1
                    assert 3 <= len(parts) <= 5
                for part in parts:
                    delta = part.marketUpdate.orderBookDeltaUpdate
                    assert part.marketUpdate.market.marketId == 87
                    assert delta.seqNum == seq + 1
                    seq = delta.seqNum
                    apply_delta(book, delta)
            assert max(book[0]) < min(book[1])

    run(body)


# -- connection control --------------------------------------------------------------------


def test_heartbeat_byte() -> None:
    """The heartbeat is a raw 1-byte 0x01 binary frame."""

    async def body() -> None:
        config = SimConfig(heartbeat_interval=0.05)
        async with CryptowatchSimulator(config) as sim, connect(sim.url) as ws:
            await ws.send(auth_frame())
            assert (await recv(ws)).authenticationResult.status == Status.AUTHENTICATED
            for _ in range(2):
                assert await asyncio.wait_for(ws.recv(), TIMEOUT) == b"\x01"

    run(body)


def test_send_broadcast_and_silence() -> None:
    """send() reaches subscribers of that exact resource; set_silent suppresses everything."""

    async def body() -> None:
        async with (
            CryptowatchSimulator() as sim,
            connect(sim.url) as ws_a,
            connect(sim.gen2_url(KEY)) as ws_b,
        ):
            await login(ws_a, "markets:86:trades")
            assert (await recv(ws_b)).authenticationResult.status == Status.AUTHENTICATED
            await sim.wait_until(lambda: sim.open_connections() == 2)
            missed = stream_pb2.StreamMessage(
                missedMessages=stream_pb2.MissedMessages(numMissedMessages=7)
            )
            assert await sim.send("markets:86:trades", missed) == 1
            assert await sim.send("exchanges:4:trades", missed) == 0
            assert (await recv(ws_a)).missedMessages.numMissedMessages == 7
            sim.set_silent(True)
            assert await sim.broadcast(b"lost") == 0
            sim.set_silent(False)
            assert await sim.broadcast(b"\x01") == 2
            assert await sim.broadcast("text") == 2
            for ws in (ws_a, ws_b):
                assert await asyncio.wait_for(ws.recv(), TIMEOUT) == b"\x01"
                assert await asyncio.wait_for(ws.recv(), TIMEOUT) == "text"

    run(body)


def test_drop_connections() -> None:
    """drop_connections() cuts the TCP connection: no close frame; the client can reconnect."""

    async def body() -> None:
        async with CryptowatchSimulator() as sim:
            async with connect(sim.url) as ws:
                await login(ws, "markets:86:trades")
                await sim.drop_connections()
                assert sim.open_connections() == 0 and sim.active_resources() == set()
                with pytest.raises(ConnectionClosedError) as closed:
                    await recv(ws)
                assert closed.value.rcvd is None
            async with connect(sim.url) as ws:
                await login(ws)
            assert sim.connect_count == 2

    run(body)


def test_wait_until_and_stop() -> None:
    """wait_until names the state on timeout; stop() leaves no task behind."""

    async def body() -> None:
        before = asyncio.all_tasks()
        config = SimConfig(rate=100.0, heartbeat_interval=0.01, snapshot_interval=0.01)
        sim = CryptowatchSimulator(config)
        await sim.start()
        with pytest.raises(TimeoutError, match="open_connections=0"):
            await sim.wait_until(lambda: sim.open_connections() == 3, timeout=0.05)
        async with connect(sim.url) as ws:
            await login(ws, "markets:*:trades", "markets:86:book:snapshots")
            await sim.stop()
            with pytest.raises(ConnectionClosedOK):
                while True:
                    await recv(ws)
            assert ws.close_code == 1001
        await sim.stop()  # idempotent
        assert asyncio.all_tasks() == before

    run(body)


def test_markets_are_deterministic() -> None:
    """The same seed gives the same books whatever else was created; another seed differs."""
    one, two = SyntheticMarkets(seed=5), SyntheticMarkets(seed=5)
    two.snapshot(1)
    two.delta(1)
    for _ in range(3):
        assert one.delta(86) == two.delta(86)
    assert one.snapshot(86) == two.snapshot(86)
    assert SyntheticMarkets(seed=6).snapshot(86) != SyntheticMarkets(seed=5).snapshot(86)


# -- command line --------------------------------------------------------------------------


def test_config_from_args() -> None:
    """The CLI options map onto SimConfig."""
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert config_from_args(parser.parse_args([])) == SimConfig()
    args = parser.parse_args(
        [
            *("--port", "9", "--rate", "5", "--credential", "foo:YmFy"),
            *("--credential", "bar:YmF6", "--snapshot-interval", "2", "--heartbeat", "0"),
            *("--seed", "4", "--token-window", "10"),
        ]
    )
    assert config_from_args(args) == SimConfig(
        port=9,
        rate=5.0,
        credentials={"foo": "YmFy", "bar": "YmF6"},
        snapshot_interval=2.0,
        heartbeat_interval=0.0,
        seed=4,
        token_window=10.0,
    )
    with pytest.raises(ValueError, match="not base64"):
        SimConfig(credentials={"foo": "not base64!"})


def test_module_entry_point() -> None:
    """`python -m bridges.cryptowatch.sim --port 0` prints one line and exits 0 on SIGTERM."""

    async def body() -> None:
        proc = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "bridges.cryptowatch.sim", "--port", "0"),
            *("--credential", f"{KEY}:{SECRET}"),
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            assert proc.stdout is not None
            line = (await asyncio.wait_for(proc.stdout.readline(), 6.0)).decode()
            match = re.fullmatch(
                r"cryptowatch simulator listening on (ws://127\.0\.0\.1:\d+)\n", line
            )
            assert match, line
            async with connect(match[1]) as ws:
                await login(ws, "markets:86:trades")
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(proc.wait(), 5.0) == 0
            assert await proc.stdout.read() == b""
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()

    run(body, timeout=9.0)
