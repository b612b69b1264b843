"""Coinbase Advanced Trade market-data WebSocket simulator: a real ``websockets`` server.

Written only from ``shared/protocols/coinbase.md`` (section numbers refer to it); independent
of any client. The market itself lives in :mod:`bridges.coinbase.sim_market`.

Behaviour in short:

* Endpoint ``ws://HOST:PORT`` (the real one, ``wss://advanced-trade-ws.coinbase.com``, has no
  path, §1): path ``/`` only, any query accepted; any other path gets HTTP 404. No key, no
  ``jwt`` (ignored if sent), no permessage-deflate (§9), no server pings (none documented, §2).
* Subscribe/unsubscribe (§3): ``{"type":"subscribe","channel":C,"product_ids":[...]}``, one
  channel per message. Public channels: ``heartbeats`` and ``status`` (product ids ignored; the
  ack lists them with ``[]``; ``status`` is acked but never sends data, its shape is not in the
  note), ``market_trades``, ``ticker``, ``ticker_batch``, ``candles``, ``level2``.
  Any other channel name → ``{"type":"error","message":"authentication failure"}`` (captured).
  An unknown product, a missing or empty ``product_ids`` on a product channel, a malformed or
  non-JSON message, a ``type`` other than (un)subscribe →
  ``{"type":"error","message":"failure to subscribe"}``, and nothing of that message is applied.
  With ``reject_unknown_products=False`` unknown products are silently left out instead (the
  note: "not always rejected loudly"). Unsubscribe without ``product_ids`` drops the channel;
  unsubscribing what is not held is not an error.
* Every accepted (un)subscribe gets a ``subscriptions`` ack listing everything now held on the
  connection (channels sorted, products sorted; ``level2`` under its subscribe name). On
  subscribe, snapshots for the newly added products come first (one frame per product), then the
  ack, as in the captured order (§4). Products already held get no second snapshot; unsubscribe
  then subscribe gives a fresh one (§8's resync, implemented as the note hopes).
* Envelope (§4): ``channel``, ``client_id`` (``""``; left out of ``heartbeats`` and
  ``subscriptions`` messages, as in the captures), ``timestamp`` (send time, nanoseconds),
  ``sequence_num``, ``events``. ``sequence_num`` is per connection, starts at 0 and goes up by 1
  for every enveloped message on it. Error messages carry no envelope and no number.
  :meth:`CoinbaseSimulator.skip_sequence` loses one message on every open connection: the next
  one skips a number, and one unseen change is applied to every book with a level2 subscriber,
  so a client that ignores the gap ends up with a wrong book.
* Channels (§6-§8): ``level2`` data arrives as ``l2_data``, sides ``bid``/``offer``, a full-depth
  snapshot (``book_depth`` levels a side, interleaved and shuffled) then updates with absolute
  ``new_quantity`` (``"0"`` removes); :meth:`~CoinbaseSimulator.send_book_update` with several
  products sends one frame per connection with one event per product it holds.
  ``market_trades``: a snapshot of the last ``trades_snapshot_size`` trades (newest first), then
  updates; ``side`` is the taker's. Every trade also sends a ``ticker`` update (the ticker is
  "sent on every match"); trades are priced at the best bid/offer but do not change the book.
  ``ticker`` and ``ticker_batch`` and ``candles`` (five-minute buckets) start with a snapshot
  too. USDC aliases (§5) are not simulated: ``X-USDC`` is an unknown product unless configured.
* ``heartbeats`` (§2): one message every ``heartbeat_interval`` s to each connection subscribed
  to it; ``heartbeat_counter`` is a server-wide integer, ``current_time`` a Go time string.
* Deadlines (§2): a connection that has not held any subscription ``subscribe_deadline`` s
  after connecting is closed (code 1000); a subscribe that got an error does not count. A
  connection not subscribed to ``heartbeats`` that was sent nothing for ``idle_timeout`` s is
  closed the same way (the note's 60-90 s idle close).
* Rate limits (§9), per client IP over a sliding second: handshakes over
  ``max_connections_per_second`` get HTTP 429; client messages over ``max_messages_per_second``
  get ``{"type":"error","message":"rate limit exceeded"}`` and are not applied (the note gives
  no wording; this one is made up). 0 disables either.
* With ``rate > 0`` a seeded generator sends that many level2 updates / trades per second over
  the active subscriptions (sometimes two products in one l2 frame), plus candles every
  ``candle_interval`` s and ticker_batch every ``ticker_batch_interval`` s.
* ``set_silent(True)``: nothing at all is sent, scripted sends included (they return 0), but
  enveloped messages still use up their ``sequence_num`` (they are lost, as on a bad link), so
  the client sees a gap when the feed resumes. Client requests are still processed.

Run it standalone: ``python -m bridges.coinbase.sim --port 0``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import random
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from http import HTTPStatus
from urllib.parse import urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from bridges.coinbase.sim_config import SimConfig, add_arguments, config_from_args
from bridges.coinbase.sim_market import (
    Event,
    SyntheticMarket,
    go_time,
    rfc3339_nanos,
)
from bridges.simbase import ServedSimulator
from bridges.simcli import run_until_stopped

__all__ = [
    "AUTH_FAILURE",
    "PUBLIC_CHANNELS",
    "RATE_LIMITED",
    "SUBSCRIBE_FAILURE",
    "CoinbaseSimulator",
    "SimConfig",
    "add_arguments",
    "config_from_args",
    "demo",
    "main",
    "run",
]

log = logging.getLogger(__name__)

SUBSCRIBE_FAILURE = "failure to subscribe"
AUTH_FAILURE = "authentication failure"  # what an unknown channel name gets (§3, captured)
RATE_LIMITED = "rate limit exceeded"  # not in the note: made up
PRODUCTLESS_CHANNELS = frozenset({"heartbeats", "status"})
PUBLIC_CHANNELS = PRODUCTLESS_CHANNELS | {
    "market_trades",
    "ticker",
    "ticker_batch",
    "candles",
    "level2",
}
#: Subscribe name → the ``channel`` its messages carry (§8); the others are the same.
WIRE_CHANNELS = {"level2": "l2_data"}
_SUBSCRIBE_NAMES = {wire: name for name, wire in WIRE_CHANNELS.items()}
_NO_CLIENT_ID = frozenset({"heartbeats", "subscriptions"})


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _error(message: str) -> str:
    return _dumps({"type": "error", "message": message})


@dataclass(eq=False)
class _Conn:
    ws: ServerConnection
    ip: str
    last_sent: float  # time.monotonic() of the last frame actually sent
    subs: dict[str, set[str]] = field(default_factory=dict)  # channel → products ("" if none)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # orders frames and numbers
    closed: bool = False
    next_seq: int = 0
    skip: int = 0
    subscribed: bool = False  # has held a subscription (the subscribe deadline is met)


class CoinbaseSimulator(ServedSimulator):
    """A Coinbase Advanced Trade market-data server for tests, benchmarks and demos."""

    def __init__(self, config: SimConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or SimConfig()
        #: Completed WebSocket handshakes (HTTP 404/429 refusals are not counted).
        self.connect_count = 0
        #: Every client message that parsed as a JSON object, in arrival order.
        self.received: list[dict[str, object]] = []
        self._conns: dict[_Conn, None] = {}  # ordered set of open connections
        self._silent = False
        self._market = SyntheticMarket(
            config.seed, config.products, config.book_depth, config.trades_snapshot_size
        )
        self._pick_rng = random.Random(f"coinbase-picks:{config.seed}")
        self._message_times: dict[str, deque[float]] = {}
        self._connection_times: dict[str, deque[float]] = {}
        self._heartbeat_counter = 0
        self._started_ns = time.monotonic_ns()

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        await self._listen(
            self._handler,
            self.config.host,
            self.config.port,
            process_request=self._process_request,
            ping_interval=None,
            close_timeout=2.0,
        )
        self._started_ns = time.monotonic_ns()
        cfg = self.config
        run = self._in_background
        if cfg.heartbeat_interval > 0:
            run(self._heartbeats(), "coinbase-sim-heartbeats")
        if cfg.rate > 0:
            run(self._generate(), "coinbase-sim-generator")
            run(self._every(cfg.candle_interval, "candles", self.send_candle), "candles")
            batch = cfg.ticker_batch_interval
            run(self._every(batch, "ticker_batch", self.send_ticker_batch), "batch")

    @property
    def url(self) -> str:
        return f"ws://{self.config.host}:{self.port}"

    # -- introspection -------------------------------------------------------------------

    def active_subscriptions(self) -> set[tuple[str, str]]:
        """(channel, product_id) over all connections; product_id is "" for heartbeats/status."""
        return {(ch, pid) for conn in self._conns for ch, pids in conn.subs.items() for pid in pids}

    def open_connections(self) -> int:
        return len(self._conns)

    def book(
        self, product_id: str
    ) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        """The simulator's current book: (bids best first, offers best first)."""
        return self._market.product(product_id).book()

    def _state_summary(self) -> str:
        return (
            f"open_connections={self.open_connections()}, "
            f"active_subscriptions={sorted(self.active_subscriptions())}, "
            f"received={len(self.received)}, connect_count={self.connect_count}"
        )

    # -- scripting -----------------------------------------------------------------------

    async def send(self, channel: str, product_id: str, frame: str) -> int:
        """Send raw text as-is to every holder of (channel, product_id); return how many.

        ``channel`` is the subscribe name (``l2_data`` is accepted for ``level2``);
        ``product_id`` is ignored for heartbeats/status. No ``sequence_num`` is used up.
        """
        sent = 0
        for conn in self._holders(channel, [product_id]):
            async with conn.lock:
                if await self._write_raw(conn, frame):
                    sent += 1
        return sent

    async def emit(
        self, channel: str, product_id: str, events: Sequence[Mapping[str, object]]
    ) -> int:
        """Send ``events`` in a full envelope (wire channel name, timestamp, next number)."""
        name = _SUBSCRIBE_NAMES.get(channel, channel)
        return await self._deliver(name, {product_id: _dumps([dict(e) for e in events])[1:-1]})

    async def broadcast(self, frame: str) -> int:
        """Send raw text to every open connection; return how many."""
        sent = 0
        for conn in list(self._conns):
            async with conn.lock:
                if await self._write_raw(conn, frame):
                    sent += 1
        return sent

    async def drop_connections(self) -> None:
        """Abort every client socket: no close frame, the TCP connection just goes away."""
        for conn in list(self._conns):
            self._forget(conn)
            conn.ws.transport.abort()
        self._notify()

    def set_silent(self, silent: bool) -> None:
        """While silent nothing is sent; enveloped messages still use up their numbers."""
        self._silent = silent

    async def skip_sequence(self) -> None:
        """Lose one message on every open connection (see the module docstring)."""
        for conn in self._conns:
            conn.skip += 1
        now = time.time_ns()
        for product_id in sorted(
            {pid for ch, pid in self.active_subscriptions() if ch == "level2"}
        ):
            self._market.product(product_id).update_event(now)

    async def send_trade(self, product_id: str, count: int = 1) -> int:
        """``count`` trades now: a market_trades update plus a ticker update; frames sent.

        The market moves even if nobody holds the product. ValueError for an unknown product.
        """
        market = self._market.product(product_id)
        trade_targets = self._holders("market_trades", [product_id])
        ticker_targets = self._holders("ticker", [product_id])
        trades = market.trades(time.time_ns(), count)
        sent = await self._deliver(
            "market_trades",
            {product_id: _dumps({"type": "update", "trades": trades})},
            trade_targets,
        )
        ticker = _dumps({"type": "update", "tickers": [market.ticker()]})
        return sent + await self._deliver("ticker", {product_id: ticker}, ticker_targets)

    async def send_book_update(self, product_id: str, *more: str) -> int:
        """One l2 update per product (1-3 levels each) in one frame per connection; frames sent."""
        product_ids = list(dict.fromkeys((product_id, *more)))
        markets = [self._market.product(pid) for pid in product_ids]
        targets = self._holders("level2", product_ids)
        now = time.time_ns()
        events = {m.product_id: _dumps(m.update_event(now)) for m in markets}
        return await self._deliver("level2", events, targets)

    async def send_candle(self, product_id: str) -> int:
        """A candles update with the current five-minute candle; connections sent to."""
        market = self._market.product(product_id)
        event = {"type": "update", "candles": [market.candle(time.time_ns())]}
        return await self._deliver("candles", {product_id: _dumps(event)})

    async def send_ticker_batch(self, product_id: str) -> int:
        """A ticker_batch update (no best bid/ask); connections sent to."""
        market = self._market.product(product_id)
        event = {"type": "update", "tickers": [market.ticker(batch=True)]}
        return await self._deliver("ticker_batch", {product_id: _dumps(event)})

    # -- sending internals ----------------------------------------------------------------

    def _forget(self, conn: _Conn) -> None:
        conn.closed = True
        if conn in self._conns:
            del self._conns[conn]
            self._notify()

    def _holders(self, channel: str, product_ids: Sequence[str]) -> list[_Conn]:
        channel = _SUBSCRIBE_NAMES.get(channel, channel)
        if channel in PRODUCTLESS_CHANNELS:
            return [conn for conn in self._conns if channel in conn.subs]
        return [
            conn
            for conn in self._conns
            if any(pid in conn.subs.get(channel, ()) for pid in product_ids)
        ]

    async def _write_raw(self, conn: _Conn, text: str) -> bool:
        """Send one frame as-is (caller holds ``conn.lock``); False if silent or closed."""
        if self._silent or conn.closed:
            return False
        try:
            await conn.ws.send(text)
        except ConnectionClosed:
            return False
        conn.last_sent = time.monotonic()
        return True

    async def _write_envelope(self, conn: _Conn, channel: str, events_json: str) -> bool:
        """Number and send one enveloped message (caller holds ``conn.lock``)."""
        if conn.closed:
            return False
        seq = conn.next_seq + conn.skip
        conn.next_seq, conn.skip = seq + 1, 0
        client_id = "" if channel in _NO_CLIENT_ID else ',"client_id":""'
        text = (
            f'{{"channel":{_dumps(channel)}{client_id},"timestamp":"{_rfc3339_now()}",'
            f'"sequence_num":{seq},"events":{events_json}}}'
        )
        return await self._write_raw(conn, text)

    async def _deliver(
        self, channel: str, events: dict[str, str], targets: list[_Conn] | None = None
    ) -> int:
        """Send each connection one message with the events (JSON by product) it holds."""
        wire = WIRE_CHANNELS.get(channel, channel)
        if targets is None:
            targets = self._holders(channel, list(events))
        sent = 0
        for conn in targets:
            async with conn.lock:
                held = conn.subs.get(channel, set())
                if channel in PRODUCTLESS_CHANNELS:
                    parts = list(events.values()) if held else []
                else:
                    parts = [text for pid, text in events.items() if pid in held]
                if parts and await self._write_envelope(conn, wire, f"[{','.join(parts)}]"):
                    sent += 1
        return sent

    async def _send_error(self, conn: _Conn, message: str) -> None:
        async with conn.lock:
            await self._write_raw(conn, _error(message))

    # -- connections ---------------------------------------------------------------------

    @staticmethod
    def _admit(log_: dict[str, deque[float]], key: str, limit: int) -> bool:
        """Sliding one-second window: record and allow, or refuse without recording."""
        if limit <= 0:
            return True
        now = time.monotonic()
        times = log_.setdefault(key, deque())
        while times and times[0] <= now - 1.0:
            times.popleft()
        if len(times) >= limit:
            return False
        times.append(now)
        return True

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if urlsplit(request.path).path != "/":
            return connection.respond(HTTPStatus.NOT_FOUND, "Not Found\n")
        ip = str(connection.remote_address[0]) if connection.remote_address else ""
        if not self._admit(self._connection_times, ip, self.config.max_connections_per_second):
            return connection.respond(HTTPStatus.TOO_MANY_REQUESTS, "Too Many Requests\n")
        return None

    async def _handler(self, ws: ServerConnection) -> None:
        self.connect_count += 1
        ip = str(ws.remote_address[0]) if ws.remote_address else ""
        conn = _Conn(ws, ip, last_sent=time.monotonic())
        self._conns[conn] = None
        self._notify()
        watchdog = asyncio.create_task(self._watchdog(conn), name="coinbase-sim-watchdog")
        try:
            async for data in ws:
                try:
                    await self._on_message(conn, data)
                except ConnectionClosed:
                    raise
                except Exception:  # a bug here must not take the server down
                    log.exception("coinbase simulator: error handling a client message")
        except ConnectionClosed:
            pass
        finally:
            self._forget(conn)
            watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watchdog

    async def _watchdog(self, conn: _Conn) -> None:
        """Close on a missed subscribe deadline, then on idleness without heartbeats."""
        cfg = self.config
        if cfg.subscribe_deadline > 0:
            await asyncio.sleep(cfg.subscribe_deadline)
            if not conn.subscribed:
                await conn.ws.close(1000)
                return
        if cfg.idle_timeout <= 0:
            return
        while not conn.closed:
            remaining = conn.last_sent + cfg.idle_timeout - time.monotonic()
            if "heartbeats" in conn.subs:
                remaining = cfg.idle_timeout  # heartbeats keep every subscription open
            if remaining > 0:
                await asyncio.sleep(remaining)
                continue
            await conn.ws.close(1000)
            return

    # -- client messages -----------------------------------------------------------------

    async def _on_message(self, conn: _Conn, message: str | bytes) -> None:
        try:
            text = message if isinstance(message, str) else message.decode("utf-8")
            request: object = json.loads(text)
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            request = None
        if isinstance(request, dict):
            self.received.append(request)
            self._notify()
        if not self._admit(self._message_times, conn.ip, self.config.max_messages_per_second):
            await self._send_error(conn, RATE_LIMITED)
            return
        if not isinstance(request, dict):
            await self._send_error(conn, SUBSCRIBE_FAILURE)
            return
        kind, channel = request.get("type"), request.get("channel")
        products = request.get("product_ids")
        if kind not in ("subscribe", "unsubscribe") or not isinstance(channel, str):
            await self._send_error(conn, SUBSCRIBE_FAILURE)
        elif channel not in PUBLIC_CHANNELS:
            await self._send_error(conn, AUTH_FAILURE)
        elif products is not None and (
            not isinstance(products, list) or not all(isinstance(p, str) for p in products)
        ):
            await self._send_error(conn, SUBSCRIBE_FAILURE)
        elif kind == "unsubscribe":
            await self._unsubscribe(conn, channel, products)
        elif channel in PRODUCTLESS_CHANNELS:
            await self._subscribe(conn, channel, [""])
        elif not products:
            await self._send_error(conn, SUBSCRIBE_FAILURE)
        else:
            known = [p for p in dict.fromkeys(products) if self._market.knows(p)]
            if len(known) < len(set(products)) and self.config.reject_unknown_products:
                await self._send_error(conn, SUBSCRIBE_FAILURE)
            else:
                await self._subscribe(conn, channel, known)

    def _ack(self, conn: _Conn) -> str:
        held = {ch: sorted(p for p in conn.subs[ch] if p) for ch in sorted(conn.subs)}
        return _dumps([{"subscriptions": held}])

    def _snapshot(self, channel: str, product_id: str) -> str | None:
        """The events JSON of the first message for a new (channel, product), if any."""
        if channel in PRODUCTLESS_CHANNELS:
            return None
        market = self._market.product(product_id)
        event: Event
        if channel == "level2":
            event = market.snapshot_event()
        elif channel == "market_trades":
            event = market.trades_snapshot_event()
        elif channel == "candles":
            event = {"type": "snapshot", "candles": [market.candle(time.time_ns())]}
        else:
            batch = channel == "ticker_batch"
            event = {"type": "snapshot", "tickers": [market.ticker(batch=batch)]}
        return _dumps([event])

    async def _subscribe(self, conn: _Conn, channel: str, product_ids: list[str]) -> None:
        async with conn.lock:
            if conn.closed:
                return
            held = conn.subs.setdefault(channel, set())
            new = [pid for pid in product_ids if pid not in held]
            # Snapshots are taken and the subscription recorded with no await in between, so
            # a concurrent update is either in the snapshot or sent after it, never both.
            snapshots = [s for s in (self._snapshot(channel, pid) for pid in new) if s]
            held.update(new)
            if not held:
                del conn.subs[channel]
            conn.subscribed = conn.subscribed or bool(conn.subs)
            ack = self._ack(conn)
            self._notify()
            wire = WIRE_CHANNELS.get(channel, channel)
            for events_json in snapshots:
                await self._write_envelope(conn, wire, events_json)
            await self._write_envelope(conn, "subscriptions", ack)

    async def _unsubscribe(self, conn: _Conn, channel: str, products: list[str] | None) -> None:
        async with conn.lock:
            if conn.closed:
                return
            held = conn.subs.get(channel)
            if held is not None:
                if products is None or channel in PRODUCTLESS_CHANNELS:
                    held.clear()
                else:
                    held.difference_update(products)
                if not held:
                    del conn.subs[channel]
            ack = self._ack(conn)
            self._notify()
            await self._write_envelope(conn, "subscriptions", ack)

    # -- background tasks ----------------------------------------------------------------

    async def _heartbeats(self) -> None:
        interval = self.config.heartbeat_interval
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            due += interval
            await asyncio.sleep(max(0.0, due - loop.time()))
            due = max(due, loop.time() - interval)  # do not burst after a stall
            self._heartbeat_counter += 1
            uptime = time.monotonic_ns() - self._started_ns
            beat = {
                "current_time": go_time(time.time_ns(), uptime),
                "heartbeat_counter": self._heartbeat_counter,
            }
            await self._deliver("heartbeats", {"": _dumps(beat)})

    def _held_products(self, channel: str) -> list[str]:
        return sorted({pid for conn in self._conns for pid in conn.subs.get(channel, ())})

    async def _every(
        self, interval: float, channel: str, send: Callable[[str], Awaitable[int]]
    ) -> None:
        while True:
            await asyncio.sleep(interval)
            for product_id in self._held_products(channel):
                await send(product_id)

    async def _generate(self) -> None:
        rate = self.config.rate
        loop = asyncio.get_running_loop()
        tick = min(0.05, max(0.002, 1.0 / rate))
        max_credit = max(1.0, rate * 0.2)  # never burst more than 200 ms worth of messages
        credit, last = 0.0, loop.time()
        rng = self._pick_rng
        while True:
            await asyncio.sleep(tick)
            now = loop.time()
            credit, last = min(credit + (now - last) * rate, max_credit), now
            candidates = sorted(
                (ch, pid)
                for ch in ("level2", "market_trades", "ticker")
                for pid in self._held_products(ch)
            )
            if not candidates:
                credit = 0.0
                continue
            while credit >= 1.0:
                credit -= 1.0
                channel, product_id = candidates[rng.randrange(len(candidates))]
                if channel == "level2":
                    others = [p for c, p in candidates if c == "level2" and p != product_id]
                    if others and rng.random() < 0.2:
                        await self.send_book_update(product_id, rng.choice(others))
                    else:
                        await self.send_book_update(product_id)
                else:
                    await self.send_trade(product_id, rng.choice((1, 1, 1, 2, 3)))
                await asyncio.sleep(0)  # let clients' requests in between messages of a burst


def _rfc3339_now() -> str:
    return rfc3339_nanos(time.time_ns())


# -- command line --------------------------------------------------------------------------


def run(config: SimConfig) -> int:
    """Serve until SIGTERM or Ctrl-C; the entry point of ``feedgate sim coinbase``."""
    return run_until_stopped(lambda: CoinbaseSimulator(config), "coinbase")


def demo(rate: float) -> CoinbaseSimulator:
    """The simulator ``feedgate run`` starts in demo mode: ``rate`` synthetic messages/s."""
    return CoinbaseSimulator(SimConfig(rate=rate))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bridges.coinbase.sim",
        description="Coinbase Advanced Trade market-data WebSocket simulator",
    )
    add_arguments(parser)
    return run(config_from_args(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
