"""CryptoCompare streamer v2 protocol simulator (a real ``websockets`` server on 127.0.0.1).

Written only from ``shared/protocols/cryptocompare.md``; independent of the client code.

Behaviour in short (section numbers refer to the note):

* Endpoint path ``/v2`` (``/v2/`` also accepted; any other path gets HTTP 404). The key comes
  from ``?api_key=KEY`` or the ``authorization: Apikey KEY`` header; the query wins if both are
  given (§1). Keys are never logged or printed. With ``require_key=False`` a missing key is
  accepted, but a key that is given and not in ``api_keys`` still gets 401.
* Every completed WebSocket handshake counts in ``connect_count``, including connections that
  are then refused with 401 or 429.
* Refused connections get exactly one frame (401 ``UNAUTHORIZED`` or 429
  ``TOO_MANY_SOCKETS_MAX_{X}_PER_CLIENT``, no welcome before it) and a normal close (1000).
  Accepted ones get TYPE 20 ``STREAMERWELCOME`` first. The socket quota counts open sockets per
  key; key-less sockets (``require_key=False``) are not subject to it. Opening-rate limits are
  reported in the welcome but never enforced.
* ``SubAdd``/``SubRemove`` per §2 and §3.8; per sub the first payload, then TYPE 16, and TYPE 3
  after the batch; TYPE 17s then TYPE 18 for removals. Errors echo the sub in ``PARAMETER``.
* With ``rate > 0`` a generator picks active subs at random (seeded) and sends live frames
  (see :mod:`bridges.cryptocompare.sim_market`).
* Order book ``8~…`` subs (§3.4): a TYPE 9 snapshot with the current CCSEQ on subscribe, then
  TYPE 8 deltas with CCSEQ + 1 each, from the generator or from
  :meth:`CryptoCompareSimulator.send_book_delta`; :meth:`~CryptoCompareSimulator.inject_book_gap`
  makes the next delta skip one CCSEQ value (the skipped change is applied to the book unseen).
* TYPE 999 heartbeats per connection every ``heartbeat_interval`` seconds.
* ``set_silent(True)`` suppresses every frame, scripted ``send``/``broadcast`` included (they
  return 0); client requests are still processed, so subscriptions change silently.
* WebSocket pings every 30 s (10 s pong timeout) are left to ``websockets``; they are not
  affected by :meth:`CryptoCompareSimulator.set_silent`. No permessage-deflate.

Run it standalone: ``python -m bridges.cryptocompare.sim --port 0``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import logging
import random
import sys
import time
import zlib
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.protocol import State

from bridges.cryptocompare.sim_market import (
    InvalidSubscription,
    Subscription,
    SyntheticMarket,
    parse_subscription,
)
from bridges.simbase import ServedSimulator
from bridges.simcli import run_until_stopped
from bridges.simjson import JsonValue, dumps

__all__ = [
    "CryptoCompareSimulator",
    "SimConfig",
    "add_arguments",
    "config_from_args",
    "main",
]

log = logging.getLogger(__name__)

UNAUTHORIZED_INFO = "We only support JSON format with a valid api_key."
TOO_MANY_SOCKETS_INFO = "You have reached your maximum sockets open for your subscription"
TOO_MANY_SUBS_INFO = "You have reached your maximum subscriptions per socket for your subscription"
LOADCOMPLETE_INFO = "All your valid subs have been loaded."
# RATELIMIT_MAX_* reported in the welcome (§5) and the window of each, in seconds.
RATE_LIMITS: tuple[tuple[str, int, int], ...] = (
    ("SECOND", 30, 1),
    ("MINUTE", 60, 60),
    ("HOUR", 1200, 3600),
    ("DAY", 10000, 86400),
    ("MONTH", 20000, 30 * 86400),
)


@dataclass(frozen=True)
class SimConfig:
    """Simulator settings; see the module docstring for the semantics."""

    host: str = "127.0.0.1"
    port: int = 0  # 0 = pick a free port
    api_keys: frozenset[str] | None = None  # None: any non-empty key is valid
    require_key: bool = True  # False: connections without a key are accepted (demo mode)
    max_sockets_per_key: int = 1
    max_subs_per_socket: int = 600
    heartbeat_interval: float = 30.0  # TYPE 999 every N s per connection; 0 disables
    rate: float = 0.0  # synthetic market messages per second over all active subs
    seed: int = 1

    def __post_init__(self) -> None:
        if self.max_sockets_per_key < 1 or self.max_subs_per_socket < 1:
            raise ValueError("max_sockets_per_key and max_subs_per_socket must be >= 1")
        if self.heartbeat_interval < 0 or self.rate < 0:
            raise ValueError("heartbeat_interval and rate must be >= 0")


@dataclass(eq=False)
class _Conn:
    ws: ServerConnection
    key: str | None
    socket_id: str
    subs: dict[str, Subscription] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # orders frames per socket
    closed: bool = False


def _frame(type_: str, message: str, **fields: JsonValue) -> str:
    return dumps({"TYPE": type_, "MESSAGE": message, **fields})


def _extract_key(request: Request) -> str | None:
    values = parse_qs(urlsplit(request.path).query, keep_blank_values=True).get("api_key")
    if values:
        return values[0] or None
    scheme, _, rest = request.headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() == "apikey" and rest.strip():
        return rest.strip()
    return None


class CryptoCompareSimulator(ServedSimulator):
    """A CryptoCompare streamer v2 server for tests, benchmarks and demos."""

    def __init__(self, config: SimConfig = SimConfig()) -> None:
        super().__init__()
        self.config = config
        #: Completed WebSocket handshakes, including connections refused with 401/429.
        self.connect_count = 0
        #: Every client message that parsed as a JSON object, in arrival order.
        self.received: list[dict[str, object]] = []
        self._conns: dict[_Conn, None] = {}  # ordered set of accepted, open connections
        self._silent = False
        self._market = SyntheticMarket(config.seed)
        self._pick_rng = random.Random(config.seed)
        self._id_rng = random.Random(f"socket-ids-{config.seed}")
        self._opens: dict[str | None, deque[float]] = {}
        self._started_at = time.monotonic()

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
        self._started_at = time.monotonic()
        if self.config.rate > 0:
            self._in_background(self._generate(), "cc-sim-generator")

    @property
    def url(self) -> str:
        return f"ws://{self.config.host}:{self.port}/v2"

    # -- introspection and scripting -------------------------------------------------------

    def active_subs(self) -> set[str]:
        return {raw for conn in self._conns for raw in conn.subs}

    def open_connections(self) -> int:
        return len(self._conns)

    def _state_summary(self) -> str:
        return (
            f"open_connections={self.open_connections()}, "
            f"active_subs={sorted(self.active_subs())}, received={len(self.received)}, "
            f"connect_count={self.connect_count}"
        )

    async def send(self, sub: str, frame: str) -> int:
        """Send raw text to every connection on which ``sub`` is active; return how many."""
        return await self._deliver(sub, frame)

    async def broadcast(self, frame: str) -> int:
        """Send raw text to every open (accepted) connection; return how many."""
        sent = 0
        for conn in list(self._conns):
            if await self._send_frame(conn, frame):
                sent += 1
        return sent

    async def drop_connections(self) -> None:
        """Abort every client socket: no close frame, the TCP connection just goes away."""
        for conn in list(self._conns):
            self._forget(conn)
            conn.ws.transport.abort()
        self._notify()

    def set_silent(self, silent: bool) -> None:
        """While silent, no frame at all is sent: no welcome, replies, heartbeats or data."""
        self._silent = silent

    async def send_book_delta(self, sub: str) -> None:
        """Send one TYPE 8 delta (CCSEQ + 1) for the ``8~…`` sub ``sub`` now.

        Lets tests drive the book with ``rate=0``. The market moves even when no connection
        holds ``sub`` or the simulator is silent; the delta is then lost, as on a real link.
        Raises ValueError (InvalidSubscription) if ``sub`` is not a valid ``8~…`` sub.
        """
        parsed = self._book_sub(sub)
        targets = self._holders(sub)  # chosen before the book moves, see _generate
        await self._deliver(sub, self._market.update(parsed), targets)

    async def inject_book_gap(self, sub: str) -> None:
        """The next TYPE 8 delta sent for the ``8~…`` sub ``sub`` skips one CCSEQ value.

        The skipped change is applied to the book, so a fresh TYPE 9 snapshot after a
        resubscribe holds it. Calls add up: two calls skip two values.
        """
        self._market.inject_book_gap(self._book_sub(sub))

    @staticmethod
    def _book_sub(sub: str) -> Subscription:
        parsed = parse_subscription(sub)
        if parsed.channel != "8":
            raise InvalidSubscription(f"{sub} is not an order book (8~...) subscription.")
        return parsed

    # -- internals -----------------------------------------------------------------------

    def _forget(self, conn: _Conn) -> None:
        conn.closed = True
        if conn in self._conns:
            del self._conns[conn]
            self._notify()

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if urlsplit(request.path).path not in ("/v2", "/v2/"):
            return connection.respond(HTTPStatus.NOT_FOUND, "Not Found\n")
        return None

    async def _write(self, conn: _Conn, text: str) -> bool:
        """Send one frame (caller holds ``conn.lock``); False if silent or closed."""
        if self._silent or conn.closed:
            return False
        try:
            await conn.ws.send(text)
        except ConnectionClosed:
            return False
        return True

    async def _send_frame(self, conn: _Conn, text: str) -> bool:
        async with conn.lock:
            return await self._write(conn, text)

    def _holders(self, sub: str) -> list[_Conn]:
        return [conn for conn in self._conns if sub in conn.subs]

    async def _deliver(self, sub: str, text: str, targets: list[_Conn] | None = None) -> int:
        """Send ``text`` to the connections holding ``sub`` (among ``targets`` if given)."""
        sent = 0
        for conn in list(self._conns) if targets is None else targets:
            if sub not in conn.subs:
                continue
            async with conn.lock:
                if sub in conn.subs and await self._write(conn, text):
                    sent += 1
        return sent

    async def _refuse(self, ws: ServerConnection, text: str) -> None:
        if not self._silent:
            with contextlib.suppress(ConnectionClosed):
                await ws.send(text)
        # Returning from the handler closes the connection with code 1000.

    def _key_valid(self, key: str) -> bool:
        return self.config.api_keys is None or key in self.config.api_keys

    def _welcome(self, conn: _Conn) -> str:
        now = time.monotonic()
        opens = self._opens.setdefault(conn.key, deque())
        opens.append(now)
        while opens and opens[0] <= now - RATE_LIMITS[-1][2]:
            opens.popleft()
        active = sum(1 for other in self._conns if other.key == conn.key)
        fields: dict[str, JsonValue] = {
            "SERVER_UPTIME_SECONDS": int(now - self._started_at),
            "SERVER_NAME": "01",
            "SERVER_TIME_MS": time.time_ns() // 1_000_000,
            "CLIENT_ID": zlib.crc32(conn.key.encode()) % 900_000 + 100_000 if conn.key else 0,
            "DATA_FORMAT": "JSON",
            "SOCKET_ID": conn.socket_id,
            "SOCKETS_ACTIVE": active,
            "SOCKETS_REMAINING": max(0, self.config.max_sockets_per_key - active),
        }
        for name, limit, _ in RATE_LIMITS:
            fields[f"RATELIMIT_MAX_{name}"] = limit
        for name, limit, window in RATE_LIMITS:
            used = sum(1 for t in opens if t > now - window)
            fields[f"RATELIMIT_REMAINING_{name}"] = max(0, limit - used)
        return _frame("20", "STREAMERWELCOME", **fields)

    async def _handler(self, ws: ServerConnection) -> None:
        self.connect_count += 1
        self._notify()
        assert ws.request is not None
        key = _extract_key(ws.request)
        if (key is None and self.config.require_key) or (
            key is not None and not self._key_valid(key)
        ):
            await self._refuse(
                ws, _frame("401", "UNAUTHORIZED", PARAMETER="format", INFO=UNAUTHORIZED_INFO)
            )
            return
        limit = self.config.max_sockets_per_key
        if key is not None:
            active = sum(1 for c in self._conns if c.key == key and c.ws.state is State.OPEN)
            if active >= limit:
                message = f"TOO_MANY_SOCKETS_MAX_{limit}_PER_CLIENT"
                await self._refuse(ws, _frame("429", message, INFO=TOO_MANY_SOCKETS_INFO))
                return
        socket_id = base64.b64encode(self._id_rng.randbytes(15)).decode()
        conn = _Conn(ws, key, socket_id)
        self._conns[conn] = None
        heartbeat: asyncio.Task[None] | None = None
        try:
            async with conn.lock:  # the welcome is the first frame on the socket
                await self._write(conn, self._welcome(conn))
            self._notify()
            if self.config.heartbeat_interval > 0:
                heartbeat = asyncio.create_task(self._heartbeat(conn), name="cc-sim-heartbeat")
            async for data in ws:
                try:
                    await self._on_message(conn, data)
                except ConnectionClosed:
                    raise
                except Exception:  # a bug here must not take the server down
                    log.exception("cryptocompare simulator: error handling a client message")
        except ConnectionClosed:
            pass
        finally:
            self._forget(conn)
            if heartbeat is not None:
                heartbeat.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await heartbeat

    async def _heartbeat(self, conn: _Conn) -> None:
        interval = self.config.heartbeat_interval
        while not conn.closed:
            await asyncio.sleep(interval)
            beat = dumps({"TYPE": "999", "MESSAGE": "HEARTBEAT", "TIMEMS": time.time_ns() // 10**6})
            await self._send_frame(conn, beat)

    async def _on_message(self, conn: _Conn, message: str | bytes) -> None:
        try:
            text = message if isinstance(message, str) else message.decode("utf-8")
            request = json.loads(text)
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            info = "The message you sent is not valid JSON."
            await self._send_frame(conn, _frame("500", "INVALID_JSON", INFO=info))
            return
        if not isinstance(request, dict):
            await self._invalid_parameter(conn, "action", "The message must be a JSON object.")
            return
        self.received.append(request)
        self._notify()
        action, subs = request.get("action"), request.get("subs")
        if action not in ("SubAdd", "SubRemove"):
            await self._invalid_parameter(conn, "action", "action must be SubAdd or SubRemove.")
        elif not isinstance(subs, list) or not all(isinstance(s, str) for s in subs):
            await self._invalid_parameter(conn, "subs", "subs must be an array of strings.")
        elif action == "SubAdd":
            await self._sub_add(conn, subs)
        else:
            await self._sub_remove(conn, subs)

    async def _invalid_parameter(self, conn: _Conn, parameter: str, info: str) -> None:
        frame = _frame("500", "INVALID_PARAMETER", PARAMETER=parameter, INFO=info)
        await self._send_frame(conn, frame)

    async def _sub_add(self, conn: _Conn, subs: list[str]) -> None:
        limit = self.config.max_subs_per_socket
        for raw in subs:
            try:
                sub = parse_subscription(raw)
            except InvalidSubscription as exc:
                frame = _frame("500", "INVALID_SUB", PARAMETER=raw, INFO=exc.info)
                await self._send_frame(conn, frame)
                continue
            if raw in conn.subs:
                info = "You are already subscribed to this sub."
                frame = _frame("500", "SUBSCRIPTION_ALREADY_ACTIVE", PARAMETER=raw, INFO=info)
                await self._send_frame(conn, frame)
                continue
            if len(conn.subs) >= limit:
                message = f"TOO_MANY_SUBSCRIPTIONS_MAX_{limit}_PER_SOCKET"
                frame = _frame("429", message, PARAMETER=raw, INFO=TOO_MANY_SUBS_INFO)
                await self._send_frame(conn, frame)
                continue
            async with conn.lock:  # snapshot, then 16, before any live frame for this sub
                if conn.closed:
                    return
                first_payload = self._market.snapshot(sub)
                conn.subs[raw] = sub
                self._notify()
                for text in first_payload:
                    await self._write(conn, text)
                await self._write(conn, _frame("16", "SUBSCRIBECOMPLETE", SUB=raw))
        await self._send_frame(conn, _frame("3", "LOADCOMPLETE", INFO=LOADCOMPLETE_INFO))

    async def _sub_remove(self, conn: _Conn, subs: list[str]) -> None:
        valid = invalid = 0
        for raw in subs:
            async with conn.lock:
                if conn.subs.pop(raw, None) is not None:
                    valid += 1
                    self._notify()
                    await self._write(conn, _frame("17", "UNSUBSCRIBECOMPLETE", SUB=raw))
                else:
                    invalid += 1
                    info = "You are not subscribed to this sub."
                    frame = _frame("500", "SUBSCRIPTION_UNRECOGNIZED", PARAMETER=raw, INFO=info)
                    await self._write(conn, frame)
        summary = _frame(
            "18",
            "UNSUBSCRIBEALLCOMPLETE",
            INFO=f"Removed {valid} subs.",
            INFO_OBJ={"valid": valid, "invalid": invalid},
        )
        await self._send_frame(conn, summary)

    async def _generate(self) -> None:
        rate = self.config.rate
        loop = asyncio.get_running_loop()
        tick = min(0.05, max(0.002, 1.0 / rate))
        max_credit = max(1.0, rate * 0.2)  # never burst more than 200 ms worth of frames
        credit, last = 0.0, loop.time()
        while True:
            await asyncio.sleep(tick)
            now = loop.time()
            credit, last = min(credit + (now - last) * rate, max_credit), now
            active = {raw: sub for conn in self._conns for raw, sub in conn.subs.items()}
            if self._silent or not active:
                credit = 0.0
                continue
            order = sorted(active)
            while credit >= 1.0:
                credit -= 1.0
                sub = active[order[self._pick_rng.randrange(len(order))]]
                # Recipients are fixed before the market moves: a connection that subscribes
                # while this frame is in flight gets a snapshot that already includes it, so
                # it must not get the frame too (it would repeat a CCSEQ).
                targets = self._holders(sub.raw)
                await self._deliver(sub.raw, self._market.update(sub), targets)


# -- command line --------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the simulator options to ``parser``."""
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port; 0 picks a free one")
    parser.add_argument(
        "--rate", type=float, default=0.0, help="synthetic messages per second (0 = none)"
    )
    parser.add_argument(
        "--api-key",
        dest="api_keys",
        action="append",
        metavar="KEY",
        help="accepted API key (repeatable); none given = any non-empty key",
    )
    parser.add_argument(
        "--no-require-key", action="store_true", help="accept connections without a key"
    )
    parser.add_argument(
        "--heartbeat", type=float, default=30.0, help="TYPE 999 interval in s (0 = off)"
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the synthetic market")
    parser.add_argument("--max-sockets", type=int, default=1, help="open sockets per key")
    parser.add_argument("--max-subs", type=int, default=600, help="subscriptions per socket")


def config_from_args(args: argparse.Namespace) -> SimConfig:
    keys: list[str] | None = args.api_keys
    return SimConfig(
        host=args.host,
        port=args.port,
        api_keys=frozenset(keys) if keys else None,
        require_key=not args.no_require_key,
        max_sockets_per_key=args.max_sockets,
        max_subs_per_socket=args.max_subs,
        heartbeat_interval=args.heartbeat,
        rate=args.rate,
        seed=args.seed,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bridges.cryptocompare.sim",
        description="CryptoCompare streamer v2 simulator",
    )
    add_arguments(parser)
    return run(config_from_args(parser.parse_args(argv)))


def run(config: SimConfig) -> int:
    """Serve until SIGTERM or Ctrl-C; the entry point of ``feedgate sim cryptocompare``."""
    return run_until_stopped(lambda: CryptoCompareSimulator(config), "cryptocompare")


def demo(rate: float) -> CryptoCompareSimulator:
    """The simulator ``feedgate run`` starts when no API key is configured.

    It accepts connections without a key and generates ``rate`` synthetic
    market messages per second over the active subscriptions.
    """
    return CryptoCompareSimulator(SimConfig(require_key=False, rate=rate))


if __name__ == "__main__":
    sys.exit(main())
