"""Kraken Spot WebSocket v2 public market-data simulator (a real ``websockets`` server).

Written only from ``shared/protocols/kraken.md`` (section numbers refer to it); independent of
any Kraken client. The pure parts live beside it: :mod:`~bridges.kraken.sim_market` (catalogue,
JSON numbers, checksum, synthetic markets), :mod:`~bridges.kraken.sim_requests` (request
checks, acks and errors) and :mod:`~bridges.kraken.sim_session` (one connection's state).

Behaviour in short:

* Endpoint ``/v2`` (``/v2/`` also accepted; any other path gets HTTP 404), plain ``ws://`` on
  127.0.0.1 (§1). Every completed handshake counts in ``connect_count``.
* The first frame on a connection is ``status`` (§2): version ``2.0.10``, ``system`` from the
  config, ``api_version`` ``v2`` and a seeded ``connection_id`` above 2**53, written exactly.
* ``{"channel":"heartbeat"}`` every ``heartbeat_interval`` s, whatever else is sent (the captured
  1 Hz, §2), from the first successful subscription of the connection until it closes, even
  after everything is unsubscribed again.
* ``{"method":"ping","req_id":N}`` gets ``pong`` with the same ``req_id`` and ``time_in`` /
  ``time_out`` (§2). WebSocket protocol pings (every 30 s) are left to ``websockets``.
* ``subscribe`` / ``unsubscribe`` (§3): one ack or error per symbol, in request order; then, for
  the new subscriptions with ``snapshot`` true, one snapshot each, in the same order: ``book``
  (the top ``depth`` levels a side, checksum), ``trade`` (the last 50 trades), ``ticker``,
  ``ohlc`` (4 closed candles and the running one). See :mod:`~bridges.kraken.sim_requests` for
  the checks and error texts. A connection holds at most one subscription per (channel, symbol).
* Symbols (§4): ``BTC/EUR``, ``BTC/USD``, ``ETH/EUR``, ``ETH/USD``, ``ETH/BTC``, ``DOGE/USD``;
  anything else (``XBT/EUR``, ``btc/eur``) gets ``Currency pair not supported {symbol}``.
* Numbers (§5): bare JSON numbers at the pair's precision, trailing zeros kept, never in
  exponent notation; timestamps RFC 3339 with microseconds.
* Market data: :meth:`KrakenSimulator.send_trade` makes trades (trade update, plus a ticker update
  for ``event_trigger`` ``trades`` and the running candle for every ``ohlc`` subscriber);
  :meth:`KrakenSimulator.send_book_update` moves the book (one update per subscriber, rendered
  for its depth, plus a ticker update for ``bbo`` subscribers if the top of the book changed).
  With ``rate > 0`` a generator does the same for randomly picked active subscriptions.
  :meth:`KrakenSimulator.corrupt_next_checksum` makes the next book update carry a wrong
  checksum (the book itself stays right, so a resubscribe heals it).
* Rate limit (§9): per connection, a token bucket of ``msg_burst`` client messages refilled at
  ``max_msg_rate`` per second; a message over it is not processed and gets
  ``{"Error":"Exceeded msg rate"}``. The connection stays open.
* Bad input never closes the connection: text that is not a JSON object gets
  ``Malformed request`` (binary frames are read as UTF-8 text).
* ``set_silent(True)`` suppresses every frame, scripted sends included (they return 0); requests
  are still processed and the market still moves, as on a dead link. ``drop_connections``
  aborts every socket without a close frame (1006 on the client). A client that falls more
  than 10000 frames behind is dropped the same way.

Run it standalone: ``python -m bridges.kraken.sim --port 0``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from bridges.kraken.sim_market import BookStep, Frame, PairMarket, SyntheticMarket
from bridges.kraken.sim_requests import Subscription
from bridges.kraken.sim_session import Session
from bridges.simbase import ServedSimulator
from bridges.simcli import run_until_stopped
from bridges.simjson import dumps

__all__ = [
    "KrakenSimulator",
    "SimConfig",
    "add_arguments",
    "config_from_args",
    "demo",
    "main",
    "run",
]

log = logging.getLogger(__name__)

VERSION = "2.0.10"  # the captured server version (§2)
SYSTEM_STATES: tuple[str, ...] = ("online", "maintenance", "cancel_only", "post_only")
HEARTBEAT = dumps({"channel": "heartbeat"})
MAX_OUTBOX = 10_000  # frames queued for one connection before it is dropped


@dataclass(frozen=True)
class SimConfig:
    """Simulator settings; see the module docstring for the semantics."""

    host: str = "127.0.0.1"
    port: int = 0  # 0 = pick a free port
    heartbeat_interval: float = 1.0  # §2: about once a second; 0 disables
    rate: float = 0.0  # synthetic market messages per second over active subscriptions
    seed: int = 1
    max_msg_rate: float = 20.0  # client messages per second per connection; 0 = no limit
    msg_burst: int = 20  # token-bucket size of the message-rate limit
    system: str = "online"  # the status message's ``system``

    def __post_init__(self) -> None:
        if min(self.heartbeat_interval, self.rate, self.max_msg_rate) < 0:
            raise ValueError("heartbeat_interval, rate and max_msg_rate must be >= 0")
        if self.msg_burst < 1:
            raise ValueError("msg_burst must be >= 1")
        if self.system not in SYSTEM_STATES:
            raise ValueError(f"system must be one of {', '.join(SYSTEM_STATES)}")


@dataclass(eq=False)
class _Conn:
    ws: ServerConnection
    connection_id: int
    session: Session
    outbox: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    beating: asyncio.Event = field(default_factory=asyncio.Event)  # heartbeats have started
    closing: bool = False


class KrakenSimulator(ServedSimulator):
    """A Kraken Spot WebSocket v2 public server for tests, benchmarks and demos."""

    def __init__(
        self, config: SimConfig = SimConfig(), *, clock_ns: Callable[[], int] = time.time_ns
    ) -> None:
        super().__init__()
        self.config = config
        #: Completed WebSocket handshakes.
        self.connect_count = 0
        #: Every client message that parsed as a JSON object, in arrival order.
        self.received: list[dict[str, object]] = []
        self._clock_ns = clock_ns
        self._conns: dict[_Conn, None] = {}  # ordered set of open connections
        self._silent = False
        self._market = SyntheticMarket(config.seed, clock_ns)
        self._pick_rng = random.Random(f"kraken-picks-{config.seed}")
        self._id_rng = random.Random(f"kraken-connection-ids-{config.seed}")

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        await self._listen(
            self._handler,
            self.config.host,
            self.config.port,
            process_request=self._process_request,
            ping_interval=30.0,
            ping_timeout=10.0,
            close_timeout=2.0,
        )
        if self.config.rate > 0:
            self._in_background(self._generate(), "kraken-sim-generator")

    @property
    def url(self) -> str:
        return f"ws://{self.config.host}:{self.port}/v2"

    # -- introspection and scripting ---------------------------------------------------

    def active_subscriptions(self) -> set[tuple[str, str]]:
        """(channel, symbol) of every subscription on an open connection."""
        return {key for conn in self._open() for key in conn.session.subs}

    def open_connections(self) -> int:
        return len(self._open())

    def _state_summary(self) -> str:
        return (
            f"open_connections={self.open_connections()}, "
            f"active_subscriptions={sorted(self.active_subscriptions())}, "
            f"received={len(self.received)}, connect_count={self.connect_count}"
        )

    async def send(self, channel: str, symbol: str, frame: str) -> int:
        """Send raw text to every connection subscribed to (channel, symbol); return how many."""
        return sum(self._push(conn, frame) for conn in self._holders(channel, symbol))

    async def broadcast(self, frame: str) -> int:
        """Send raw text to every open connection; return how many."""
        return sum(self._push(conn, frame) for conn in self._open())

    async def drop_connections(self) -> None:
        """Abort every client socket: no close frame, the TCP connection just goes away."""
        for conn in list(self._conns):
            self._forget(conn)
            conn.ws.transport.abort()

    def set_silent(self, silent: bool) -> None:
        """While silent nothing is sent at all: no status, replies, heartbeats or data."""
        self._silent = silent

    async def send_trade(self, symbol: str, count: int = 1) -> int:
        """Make ``count`` trades now, in one trade message; return how many connections got it.

        Ticker (``event_trigger`` ``trades``) and ohlc subscribers of ``symbol`` get their
        update too. ValueError for a symbol outside the catalogue.
        """
        if count < 1:
            raise ValueError("count must be >= 1")
        return self._emit_trades(self._market.pair(symbol), count)

    async def send_book_update(self, symbol: str) -> int:
        """Move ``symbol``'s book once (inside the top 10 levels, maybe deeper too) and send
        each book subscriber its update; return how many got one. ValueError if unknown."""
        return self._emit_book(self._market.pair(symbol))

    async def corrupt_next_checksum(self, symbol: str) -> None:
        """The next book update of ``symbol`` carries a wrong checksum (the book stays right)."""
        self._market.pair(symbol).corrupt_pending = True

    # -- internals: queueing -----------------------------------------------------------

    def _open(self) -> list[_Conn]:
        return [conn for conn in self._conns if not conn.closing]

    def _holders(self, channel: str, symbol: str) -> list[_Conn]:
        return [conn for conn in self._open() if (channel, symbol) in conn.session.subs]

    def _subs(self, channel: str, symbol: str) -> list[Subscription]:
        found = (conn.session.subs.get((channel, symbol)) for conn in self._open())
        return [sub for sub in found if sub is not None]

    def _forget(self, conn: _Conn) -> None:
        conn.closing = True
        if conn in self._conns:
            del self._conns[conn]
            self._notify()

    def _push(self, conn: _Conn, text: str) -> bool:
        """Queue one frame; False if silent or closing. A client too far behind is dropped."""
        if self._silent or conn.closing:
            return False
        if conn.outbox.qsize() >= MAX_OUTBOX:
            log.warning("kraken simulator: a client is %d frames behind, dropping it", MAX_OUTBOX)
            self._forget(conn)
            conn.ws.transport.abort()
            return False
        conn.outbox.put_nowait(text)
        return True

    async def _writer(self, conn: _Conn) -> None:
        """The only task that writes to ``conn.ws``: frames go out in queue order."""
        with contextlib.suppress(ConnectionClosed):
            while True:
                await conn.ws.send(await conn.outbox.get())

    # -- internals: connections and requests -------------------------------------------

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if urlsplit(request.path).path not in ("/v2", "/v2/"):
            return connection.respond(HTTPStatus.NOT_FOUND, "Not Found\n")
        return None

    def _status(self, conn: _Conn) -> str:
        entry: Frame = {
            "version": VERSION,
            "system": self.config.system,
            "api_version": "v2",
            "connection_id": conn.connection_id,
        }
        return dumps({"channel": "status", "type": "update", "data": [entry]})

    async def _handler(self, ws: ServerConnection) -> None:
        self.connect_count += 1
        connection_id = self._id_rng.randrange(2**60, 2**64)
        session = Session(
            self._market,
            max_msg_rate=self.config.max_msg_rate,
            msg_burst=self.config.msg_burst,
            clock_ns=self._clock_ns,
        )
        conn = _Conn(ws, connection_id, session)
        self._conns[conn] = None
        self._push(conn, self._status(conn))  # the first frame (§2)
        self._notify()
        tasks = [asyncio.create_task(self._writer(conn), name="kraken-sim-writer")]
        if self.config.heartbeat_interval > 0:
            tasks.append(asyncio.create_task(self._heartbeat(conn), name="kraken-sim-beat"))
        try:
            async for message in ws:
                try:
                    self._on_message(conn, message)
                except Exception:  # a bug here must not take the connection down
                    log.exception("kraken simulator: error handling a client message")
        except ConnectionClosed:
            pass
        finally:
            self._forget(conn)
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _heartbeat(self, conn: _Conn) -> None:
        await conn.beating.wait()
        while not conn.closing:
            await asyncio.sleep(self.config.heartbeat_interval)
            self._push(conn, HEARTBEAT)

    def _on_message(self, conn: _Conn, message: str | bytes) -> None:
        request, frames = conn.session.handle(message)
        if request is not None:
            self.received.append(request)
        for text in frames:  # all queued at once: no market step can come in between
            self._push(conn, text)
        if conn.session.subscribed:
            conn.beating.set()
        self._notify()

    # -- internals: market events ------------------------------------------------------

    def _emit_trades(self, market: PairMarket, count: int) -> int:
        symbol = market.symbol
        for candle_sub in self._subs("ohlc", symbol):  # candles must exist to count the trades
            assert candle_sub.interval is not None
            market.candles_for(candle_sub.interval)
        now = self._clock_ns()
        trades = [market.trade(now) for _ in range(count)]
        message = market.trade_message(trades)
        sent = sum(self._push(conn, message) for conn in self._holders("trade", symbol))
        ticker: str | None = None
        ohlc: dict[int, str] = {}
        for conn in self._open():
            sub = conn.session.subs.get(("ticker", symbol))
            if sub is not None and sub.event_trigger == "trades":
                ticker = ticker or market.ticker("update")
                self._push(conn, ticker)
            sub = conn.session.subs.get(("ohlc", symbol))
            if sub is not None and sub.interval is not None:
                if sub.interval not in ohlc:
                    ohlc[sub.interval] = market.ohlc(sub.interval, "update")
                self._push(conn, ohlc[sub.interval])
        return sent

    def _emit_book(self, market: PairMarket) -> int:
        symbol = market.symbol
        depths = [sub.depth or 0 for sub in self._subs("book", symbol)]
        step: BookStep = market.book_step(max(depths, default=0))
        frames: dict[int, str | None] = {}
        ticker: str | None = None
        sent = 0
        for conn in self._open():
            sub = conn.session.subs.get(("book", symbol))
            if sub is not None and sub.depth is not None:
                if sub.depth not in frames:
                    frames[sub.depth] = market.book_update(step, sub.depth)
                text = frames[sub.depth]
                if text is not None and self._push(conn, text):
                    sent += 1
            sub = conn.session.subs.get(("ticker", symbol))
            if sub is not None and sub.event_trigger == "bbo" and step.top_changed:
                ticker = ticker or market.ticker("update")
                self._push(conn, ticker)
        return sent

    async def _generate(self) -> None:
        rate = self.config.rate
        loop = asyncio.get_running_loop()
        tick = min(0.05, max(0.002, 1.0 / rate))
        max_credit = max(1.0, rate * 0.2)  # never burst more than 200 ms worth of messages
        credit, last = 0.0, loop.time()
        while True:
            await asyncio.sleep(tick)
            now = loop.time()
            credit, last = min(credit + (now - last) * rate, max_credit), now
            active = sorted(self.active_subscriptions())
            if self._silent or not active:
                credit = 0.0
                continue
            rng = self._pick_rng
            while credit >= 1.0:
                credit -= 1.0
                channel, symbol = active[rng.randrange(len(active))]
                market = self._market.pair(symbol)
                if channel == "book" or (channel == "ticker" and rng.random() < 0.5):
                    self._emit_book(market)
                else:  # one message may batch several trades (§6)
                    self._emit_trades(market, 1 if rng.random() < 0.8 else rng.randint(2, 4))


# -- command line --------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the simulator options to ``parser``."""
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port; 0 picks a free one")
    parser.add_argument(
        "--rate", type=float, default=0.0, help="synthetic messages per second (0 = none)"
    )
    parser.add_argument(
        "--heartbeat", type=float, default=1.0, help="heartbeat interval in s (0 = off)"
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the synthetic market")
    parser.add_argument(
        "--max-msg-rate",
        type=float,
        default=20.0,
        help="client messages per second per connection (0 = no limit)",
    )
    parser.add_argument(
        "--msg-burst", type=int, default=20, help="burst size of the message-rate limit"
    )
    parser.add_argument(
        "--system", choices=SYSTEM_STATES, default="online", help="the status message's system"
    )


def config_from_args(args: argparse.Namespace) -> SimConfig:
    return SimConfig(
        host=args.host,
        port=args.port,
        heartbeat_interval=args.heartbeat,
        rate=args.rate,
        seed=args.seed,
        max_msg_rate=args.max_msg_rate,
        msg_burst=args.msg_burst,
        system=args.system,
    )


def run(config: SimConfig) -> int:
    """Serve until SIGTERM or Ctrl-C; the entry point of ``feedgate sim kraken``."""
    return run_until_stopped(lambda: KrakenSimulator(config), "kraken")


def demo(rate: float) -> KrakenSimulator:
    """A simulator generating ``rate`` synthetic market messages per second."""
    return KrakenSimulator(SimConfig(rate=rate))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bridges.kraken.sim",
        description="Kraken Spot WebSocket v2 public market-data simulator",
    )
    add_arguments(parser)
    return run(config_from_args(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
