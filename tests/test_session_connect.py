"""The session runner survives a transport that fails in an unexpected way while connecting."""

from __future__ import annotations

import asyncio

from bridges.cryptocompare.adapter import CryptoCompareBridge
from bridges.cryptocompare.sim import CryptoCompareSimulator, SimConfig
from gateway.bridge import BridgeSettings, Handshake, Secret
from gateway.events import Event, Status
from gateway.picows_transport import PicowsTransport
from gateway.session import Session, SessionPolicy
from gateway.topics import parse_topic
from gateway.transport import Connection


class FlakyTransport:
    """picows, except that the first connect raises what no transport should."""

    def __init__(self) -> None:
        self.attempts = 0
        self._real = PicowsTransport()

    async def connect(
        self, handshake: Handshake, *, max_size: int, open_timeout: float
    ) -> Connection:
        self.attempts += 1
        if self.attempts == 1:
            raise RuntimeError("a transport bug")
        return await self._real.connect(handshake, max_size=max_size, open_timeout=open_timeout)


def test_unexpected_connect_error_is_reported_and_retried() -> None:
    """A bug in connect is logged, counted and reported; the session retries and subscribes."""

    async def main() -> tuple[list[Event], Session, FlakyTransport]:
        sim = CryptoCompareSimulator(SimConfig(api_keys=frozenset({"k"}), heartbeat_interval=0))
        await sim.start()
        published: list[Event] = []
        transport = FlakyTransport()
        session = Session(
            "cc",
            CryptoCompareBridge(BridgeSettings(upstream="cc", api_key=Secret("k"))),
            sim.url,
            [parse_topic("trades.kraken.btceur")],
            published.extend,
            transport=transport,
            policy=SessionPolicy(min_connect_interval=0.05, backoff_initial=0.05),
        )
        task = asyncio.create_task(session.run())
        try:
            async with asyncio.timeout(15):
                while "trades.kraken.btceur" not in session.state.subscribed:
                    await asyncio.sleep(0.01)
        finally:
            await session.stop()
            await asyncio.wait_for(task, 10)
            await sim.stop()
        return published, session, transport

    published, session, transport = asyncio.run(main())
    assert transport.attempts == 2
    assert session.state.decode_errors["internal_error"] == 1
    failed = [e for e in published if isinstance(e, Status) and e.state == "connect_failed"]
    assert [e.message for e in failed] == ["internal error"]
