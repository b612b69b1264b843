"""Cryptowatch stream API simulator (a real ``websockets`` server on 127.0.0.1).

Written only from ``shared/protocols/cryptowatch.md`` (section numbers refer to it) and
the generated classes in ``proto/cryptowatch``; independent of the client it tests. The real
service is shut down (§7), so this is the peer feedgate's Cryptowatch bridge is tested against.
The pure parts live beside it: :mod:`~bridges.cryptowatch.sim_catalogue` (ids, resource
grammar), :mod:`~bridges.cryptowatch.sim_market` (synthetic markets) and
:mod:`~bridges.cryptowatch.sim_session` (auth checks, per-connection subscriptions).

Behaviour in short:

* Endpoints (§0): ``/`` is Gen 1, ``/connect?apikey=KEY&format=binary`` is Gen 2. Gen 2 without
  ``format=binary`` is refused with HTTP 400: the proto3-JSON encoding is not simulated
  (feedgate speaks binary only). Any other path gets HTTP 404.
* Gen 1 (§3): the first client message must be ``ClientMessage{apiAuthentication}``; it is
  checked in this order: unknown ``api_key`` → INVALID_PUBLIC_KEY; token not
  ``base64(HMAC-SHA512(base64decode(secret), "stream_access;access_key_id=K;nonce=N;"))`` →
  BAD_TOKEN; nonce not a decimal integer or not larger than the last one accepted for that key
  → BAD_NONCE; nonce (Unix ns) more than ``token_window`` seconds away from now, in either
  direction → TOKEN_EXPIRED. A failure sends the ``AuthenticationResult`` and closes with 1000.
  On success: AUTHENTICATED, then (only if the auth message carried any) a
  ``SubscriptionResult`` for its ``client_subscriptions``. A first message that is another
  ``ClientMessage`` closes with 1008; no first message within 30 s closes with 1008 too.
* Gen 2: a known key (any key, or none, in demo mode) gets AUTHENTICATED unprompted; otherwise
  INVALID_PUBLIC_KEY and close 1000. Demo mode (``credentials=None``) skips every check.
* ``ClientSubscribeMessage`` / ``ClientUnsubscribeMessage`` (§1, §5): answered with one
  ``SubscriptionResult`` / ``UnsubscriptionResult`` each: ``subscriptions`` that succeeded,
  ``failed`` with an ``error`` text, ``status`` = everything now subscribed. Deprecated string
  keys are treated as stream resources. Subscribing twice to a resource succeeds and changes
  nothing; trade and user-push subscriptions fail (trading is not simulated). Deprecated
  result fields (``subscribed``, ``keys``, ``key``) stay empty. A later apiAuthentication,
  or any other body, is ignored.
* A connection gets each update once even if several of its resources cover it (e.g.
  ``markets:86:trades`` and ``exchanges:4:trades``).
* Order books (§6): a ``book:snapshots`` subscription gets one snapshot per market right after
  its ``SubscriptionResult``, then one every ``snapshot_interval``; ``book:deltas`` gets no
  snapshot. Every change of a book is a delta with seqNum + 1 (int32 on the wire, wrapping);
  a snapshot's seqNum is that of the last delta it includes. ``inject_gap`` applies one change
  without sending it; ``reset_sequence`` lowers seqNum and sends a snapshot at once (to
  ``book:snapshots`` subscribers only).
* With ``rate > 0`` a generator picks active (market, subject) topics at random (seeded) and
  sends updates; every 50th pick sends 3-5 updates of that topic at once, wrapped per
  connection in one ``bulkMessage`` (§2).
* Heartbeat: the raw 1-byte ``0x01`` binary frame every ``heartbeat_interval`` s after auth.
* Undecodable client bytes close the connection with 1003 (as the Go SDK does the other way
  round, §6). Text frames are decoded like binary ones (the Go SDK sends text, §0). All server
  frames are binary, except ``broadcast(str)``.
* Per connection, frames are queued in order and written by one task; a queue over 10000 frames
  drops the excess and then reports ``missedMessages`` (§2). No ``bandwidthUpdate`` is sent.
* ``set_silent(True)``: nothing at all is sent, scripted sends included (they return 0); the
  market still moves, so a delta made while silent is lost like on a dead link. Client
  messages are still processed. WebSocket pings (every 30 s) are left to ``websockets``.

Run it standalone: ``python -m bridges.cryptowatch.sim --port 0``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import contextlib
import logging
import random
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TypeAlias
from urllib.parse import parse_qs, urlsplit

from google.protobuf.message import DecodeError
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from bridges.cryptowatch.sim_catalogue import Topic
from bridges.cryptowatch.sim_market import SyntheticMarkets
from bridges.cryptowatch.sim_session import (
    AUTHENTICATED,
    Authenticator,
    Session,
    Status,
    auth_result,
    initial_subscriptions,
    make_token,
    requested,
)
from bridges.simbase import ServedSimulator
from bridges.simcli import run_until_stopped
from proto.cryptowatch import client_pb2, stream_pb2

__all__ = [
    "CryptowatchSimulator",
    "SimConfig",
    "add_arguments",
    "config_from_args",
    "demo",
    "main",
    "make_token",
    "run",
]

log = logging.getLogger(__name__)

HEARTBEAT = b"\x01"
AUTH_TIMEOUT = 30.0  # Gen 1: seconds to wait for the apiAuthentication message
MAX_OUTBOX = 10_000  # frames queued per connection before they are dropped (missedMessages)
BULK_EVERY = 50  # every Nth synthetic pick is sent as bulkMessages


@dataclass(frozen=True)
class SimConfig:
    """Simulator settings; see the module docstring for the semantics."""

    host: str = "127.0.0.1"
    port: int = 0  # 0 = pick a free port
    credentials: Mapping[str, str] | None = None  # key -> base64 secret; None = demo mode
    token_window: float = 30.0  # a nonce further than this from now -> TOKEN_EXPIRED
    snapshot_interval: float = 60.0  # periodic book snapshots; 0 disables
    heartbeat_interval: float = 10.0  # the 1-byte 0x01 frame; 0 disables
    rate: float = 0.0  # synthetic updates per second over active subscriptions
    seed: int = 1

    def __post_init__(self) -> None:
        if self.token_window <= 0:
            raise ValueError("token_window must be > 0")
        if min(self.snapshot_interval, self.heartbeat_interval, self.rate) < 0:
            raise ValueError("snapshot_interval, heartbeat_interval and rate must be >= 0")
        for key, secret in (self.credentials or {}).items():
            try:
                base64.b64decode(secret, validate=True)
            except binascii.Error:
                raise ValueError(f"the secret of key {key!r} is not base64") from None


@dataclass(frozen=True)
class _Close:
    code: int
    reason: str


_Out: TypeAlias = "bytes | str | _Close"


@dataclass(eq=False)
class _Conn:
    ws: ServerConnection
    outbox: asyncio.Queue[_Out] = field(default_factory=asyncio.Queue)
    session: Session = field(default_factory=Session)
    authenticated: bool = False
    closing: bool = False  # a close is queued or the socket is gone: queue nothing more
    missed: int = 0


def _frame(message: stream_pb2.StreamMessage) -> bytes:
    return message.SerializeToString()


class CryptowatchSimulator(ServedSimulator):
    """A Cryptowatch stream server for tests, benchmarks and demos."""

    def __init__(
        self, config: SimConfig = SimConfig(), *, clock_ns: Callable[[], int] = time.time_ns
    ) -> None:
        super().__init__()
        self.config = config
        #: Completed WebSocket handshakes, including connections then refused.
        self.connect_count = 0
        #: Every client message that decoded as a ClientMessage, in arrival order.
        self.received: list[client_pb2.ClientMessage] = []
        self._conns: dict[_Conn, None] = {}  # every open connection, authenticated or not
        self._silent = False
        self._markets = SyntheticMarkets(config.seed, clock_ns)
        self._auth = Authenticator(config.credentials, config.token_window, clock_ns)
        self._pick_rng = random.Random(f"cw-picks-{config.seed}")
        self._picks = 0
        self._bulk: dict[_Conn, list[bytes]] | None = None  # collecting a bulk step

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
            self._in_background(self._generate(), "cw-sim-generator")
        if self.config.snapshot_interval > 0:
            self._in_background(self._snapshots(), "cw-sim-snapshots")

    @property
    def url(self) -> str:
        """The Gen-1 endpoint; Gen 2 is :meth:`gen2_url`."""
        return f"ws://{self.config.host}:{self.port}"

    def gen2_url(self, api_key: str) -> str:
        return f"{self.url}/connect?apikey={api_key}&format=binary"

    # -- introspection and scripting ---------------------------------------------------

    def active_resources(self) -> set[str]:
        return {resource for conn in self._authed() for resource in conn.session.subs}

    def open_connections(self) -> int:
        """Open connections that passed authentication."""
        return len(self._authed())

    def _state_summary(self) -> str:
        return (
            f"open_connections={self.open_connections()}, "
            f"active_resources={sorted(self.active_resources())}, "
            f"received={len(self.received)}, connect_count={self.connect_count}"
        )

    async def send(self, resource: str, message: stream_pb2.StreamMessage | bytes) -> int:
        """Send to every connection subscribed to exactly ``resource``; return how many."""
        data = message if isinstance(message, bytes) else _frame(message)
        targets = [conn for conn in self._authed() if resource in conn.session.subs]
        return sum(self._push(conn, data) for conn in targets)

    async def broadcast(self, data: bytes | str) -> int:
        """Send to every authenticated connection (``str`` as a text frame); return how many."""
        return sum(self._push(conn, data) for conn in self._authed())

    async def drop_connections(self) -> None:
        """Abort every client socket: no close frame, the TCP connection just goes away."""
        for conn in list(self._conns):
            self._forget(conn)
            conn.ws.transport.abort()

    def set_silent(self, silent: bool) -> None:
        """While silent nothing is sent at all: no results, data or heartbeats."""
        self._silent = silent

    async def send_snapshot(self, market_id: int) -> int:
        """Send the market's book now to its ``book:snapshots`` subscribers; return how many."""
        snapshot = self._markets.snapshot(market_id)
        return self._deliver(("markets", market_id, "book:snapshots"), snapshot)

    async def send_delta(self, market_id: int) -> int:
        """Move the book by one delta (seqNum + 1) and send it to ``book:deltas`` subscribers."""
        return self._deliver(("markets", market_id, "book:deltas"), self._markets.delta(market_id))

    async def inject_gap(self, market_id: int) -> None:
        """The next delta of that market skips one seqNum (the skipped change is applied)."""
        self._markets.inject_gap(market_id)

    async def reset_sequence(self, market_id: int) -> None:
        """A backend reset (§6): seqNum restarts lower and a snapshot is sent at once."""
        self._markets.reset_sequence(market_id)
        await self.send_snapshot(market_id)

    # -- internals: queueing -----------------------------------------------------------

    def _authed(self) -> list[_Conn]:
        return [conn for conn in self._conns if conn.authenticated and not conn.closing]

    def _forget(self, conn: _Conn) -> None:
        conn.closing = True
        if conn in self._conns:
            del self._conns[conn]
            self._notify()

    def _push(self, conn: _Conn, data: bytes | str) -> bool:
        """Queue one frame; False if silent, closing or over the queue limit."""
        if self._silent or conn.closing:
            return False
        if self._bulk is not None and isinstance(data, bytes):
            self._bulk.setdefault(conn, []).append(data)
        elif conn.outbox.qsize() >= MAX_OUTBOX:
            conn.missed += 1
            return False
        else:
            conn.outbox.put_nowait(data)
        return True

    def _close(self, conn: _Conn, code: int, reason: str) -> None:
        """Queue a close after the frames already queued; nothing more is queued after it."""
        if not conn.closing:
            conn.outbox.put_nowait(_Close(code, reason))
            conn.closing = True
            self._notify()

    def _deliver(self, topic: Topic, message: stream_pb2.StreamMessage) -> int:
        """Send ``message`` once to each connection whose resources cover ``topic``."""
        data: bytes | None = None
        sent = 0
        for conn in self._authed():
            if topic in conn.session.coverage:
                data = data if data is not None else _frame(message)
                sent += self._push(conn, data)
        return sent

    async def _writer(self, conn: _Conn) -> None:
        """The only task that writes to ``conn.ws``: frames go out in queue order."""
        try:
            while True:
                item = await conn.outbox.get()
                if isinstance(item, _Close):
                    await conn.ws.close(item.code, item.reason)
                    return
                await conn.ws.send(item)
                if conn.missed and conn.outbox.empty():
                    missed = stream_pb2.MissedMessages(numMissedMessages=conn.missed)
                    conn.missed = 0
                    await conn.ws.send(_frame(stream_pb2.StreamMessage(missedMessages=missed)))
        except ConnectionClosed:
            return

    # -- internals: connection lifecycle and authentication ------------------------------

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        if url.path == "/":
            return None
        if url.path == "/connect":
            if parse_qs(url.query).get("format") != ["binary"]:
                text = "This simulator speaks format=binary only (proto3 JSON is not simulated).\n"
                return connection.respond(HTTPStatus.BAD_REQUEST, text)
            return None
        return connection.respond(HTTPStatus.NOT_FOUND, "Not Found\n")

    async def _handler(self, ws: ServerConnection) -> None:
        self.connect_count += 1
        conn = _Conn(ws)
        self._conns[conn] = None
        self._notify()
        writer = asyncio.create_task(self._writer(conn), name="cw-sim-writer")
        heartbeat: asyncio.Task[None] | None = None
        try:
            if await self._authenticate(conn):
                if self.config.heartbeat_interval > 0:
                    heartbeat = asyncio.create_task(self._heartbeat(conn), name="cw-sim-beat")
                async for data in ws:
                    if not self._on_message(conn, data):
                        break
        except ConnectionClosed:
            pass
        finally:
            if conn.closing and conn in self._conns:  # let the writer send the close frame
                await asyncio.wait([writer], timeout=5.0)
            self._forget(conn)
            for task in (writer, heartbeat):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

    async def _authenticate(self, conn: _Conn) -> bool:
        """Gen 1 or Gen 2 (§0, §3); True once AUTHENTICATED is queued."""
        assert conn.ws.request is not None
        url = urlsplit(conn.ws.request.path)
        if url.path == "/connect":
            keys = parse_qs(url.query).get("apikey")
            return self._auth_done(conn, self._auth.check_key(keys[0] if keys else None), [])
        try:
            data = await asyncio.wait_for(conn.ws.recv(), AUTH_TIMEOUT)
        except TimeoutError:
            self._close(conn, 1008, "no authentication message")
            return False
        message = self._decode(conn, data)
        if message is None:
            return False
        if message.WhichOneof("body") != "apiAuthentication":
            self._close(conn, 1008, "the first message must be apiAuthentication")
            return False
        auth = message.apiAuthentication
        return self._auth_done(conn, self._auth.check(auth), initial_subscriptions(auth))

    def _auth_done(
        self, conn: _Conn, status: Status, subs: Sequence[client_pb2.ClientSubscription]
    ) -> bool:
        self._push(conn, _frame(auth_result(status)))
        if status != AUTHENTICATED:
            self._close(conn, 1000, "authentication failed")
            return False
        conn.authenticated = True
        if subs:
            self._subscribe(conn, subs)
        self._notify()
        return True

    async def _heartbeat(self, conn: _Conn) -> None:
        while True:
            await asyncio.sleep(self.config.heartbeat_interval)
            self._push(conn, HEARTBEAT)

    # -- internals: client messages ------------------------------------------------------

    def _decode(self, conn: _Conn, data: bytes | str) -> client_pb2.ClientMessage | None:
        """Parse a client frame (text frames too, §0); garbage queues a 1003 close."""
        message = client_pb2.ClientMessage()
        try:
            message.ParseFromString(data.encode() if isinstance(data, str) else data)
        except DecodeError:
            self._close(conn, 1003, "could not decode ClientMessage")
            return None
        self.received.append(message)
        self._notify()
        return message

    def _on_message(self, conn: _Conn, data: bytes | str) -> bool:
        """Handle one message after authentication; False when the connection must close."""
        message = self._decode(conn, data)
        if message is None:
            return False
        body = message.WhichOneof("body")
        try:
            if body == "subscribe":
                self._subscribe(conn, requested(message.subscribe))
            elif body == "unsubscribe":
                self._push(conn, _frame(conn.session.unsubscribe(requested(message.unsubscribe))))
                self._notify()
            else:  # a second apiAuthentication, identification, web-only bodies, or none
                log.debug("cryptowatch simulator: ignoring a %s message", body)
        except Exception:  # a bug here must not take the server down
            log.exception("cryptowatch simulator: error handling a client message")
        return True

    def _subscribe(self, conn: _Conn, subs: Sequence[client_pb2.ClientSubscription]) -> None:
        """The result, then one snapshot per newly subscribed book:snapshots market (§6)."""
        result, snapshots = conn.session.subscribe(subs)
        self._push(conn, _frame(result))
        for market_id in snapshots:
            self._push(conn, _frame(self._markets.snapshot(market_id)))
        self._notify()

    # -- internals: synthetic traffic ------------------------------------------------------

    async def _snapshots(self) -> None:
        """A snapshot of every subscribed book once per ``snapshot_interval`` (§6)."""
        while True:
            await asyncio.sleep(self.config.snapshot_interval)
            books = {
                ident
                for conn in self._authed()
                for _, ident, subject in conn.session.coverage
                if subject == "book:snapshots"
            }
            for market_id in sorted(books):
                await self.send_snapshot(market_id)

    async def _generate(self) -> None:
        rate = self.config.rate
        loop = asyncio.get_running_loop()
        tick = min(0.05, max(0.002, 1.0 / rate))
        max_credit = max(1.0, rate * 0.2)  # never burst more than 200 ms worth of updates
        credit, last = 0.0, loop.time()
        while True:
            await asyncio.sleep(tick)
            now = loop.time()
            credit, last = min(credit + (now - last) * rate, max_credit), now
            topics = self._candidates()
            if self._silent or not topics:
                credit = 0.0
                continue
            while credit >= 1.0:
                credit -= 1.0
                self._pick(topics)

    def _candidates(self) -> list[Topic]:
        """Active topics; a snapshot subscription moves its book (snapshots are periodic)."""
        found = {
            (kind, ident, "book:deltas" if subject == "book:snapshots" else subject)
            for conn in self._authed()
            for kind, ident, subject in conn.session.coverage
        }
        return sorted(found)

    def _pick(self, topics: list[Topic]) -> None:
        """One synthetic step; every BULK_EVERY-th sends 3-5 updates as bulkMessages (§2)."""
        self._picks += 1
        topic = topics[self._pick_rng.randrange(len(topics))]
        if self._picks % BULK_EVERY:
            self._emit(topic)
            return
        self._bulk = {}
        try:
            for _ in range(self._pick_rng.randint(3, 5)):
                self._emit(topic)
        finally:
            bulk, self._bulk = self._bulk, None
        for conn, frames in bulk.items():
            if len(frames) == 1:
                self._push(conn, frames[0])
            else:
                wrapped = stream_pb2.BulkMessage(messages=frames)
                self._push(conn, _frame(stream_pb2.StreamMessage(bulkMessage=wrapped)))

    def _emit(self, topic: Topic) -> None:
        for target, message in self._markets.update(topic):
            self._deliver(target, message)


# -- command line --------------------------------------------------------------------------


def _credential(text: str) -> tuple[str, str]:
    key, sep, secret = text.partition(":")
    if not sep or not key or not secret:
        raise argparse.ArgumentTypeError("expected KEY:SECRET (the secret in base64)")
    return key, secret


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the simulator options to ``parser``."""
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port; 0 picks a free one")
    parser.add_argument(
        "--rate", type=float, default=0.0, help="synthetic updates per second (0 = none)"
    )
    parser.add_argument(
        "--credential",
        dest="credentials",
        action="append",
        type=_credential,
        metavar="KEY:SECRET",
        help="accepted key and its base64 secret (repeatable); none given = demo mode",
    )
    parser.add_argument(
        "--snapshot-interval", type=float, default=60.0, help="book snapshot period in s (0 = off)"
    )
    parser.add_argument(
        "--heartbeat", type=float, default=10.0, help="0x01 heartbeat interval in s (0 = off)"
    )
    parser.add_argument(
        "--token-window", type=float, default=30.0, help="nonce freshness window in s"
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the synthetic markets")


def config_from_args(args: argparse.Namespace) -> SimConfig:
    pairs: list[tuple[str, str]] | None = args.credentials
    return SimConfig(
        host=args.host,
        port=args.port,
        credentials=dict(pairs) if pairs else None,
        token_window=args.token_window,
        snapshot_interval=args.snapshot_interval,
        heartbeat_interval=args.heartbeat,
        rate=args.rate,
        seed=args.seed,
    )


def run(config: SimConfig) -> int:
    """Serve until SIGTERM or Ctrl-C; the entry point of ``feedgate sim cryptowatch``."""
    return run_until_stopped(lambda: CryptowatchSimulator(config), "cryptowatch")


def demo(rate: float) -> CryptowatchSimulator:
    """A simulator in demo mode (any key, no token check) with ``rate`` synthetic updates/s."""
    return CryptowatchSimulator(SimConfig(rate=rate))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bridges.cryptowatch.sim", description="Cryptowatch stream API simulator"
    )
    add_arguments(parser)
    return run(config_from_args(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
