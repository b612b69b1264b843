"""Connection side of the Binance Spot simulator: settings, open connections, delivery.

Written from ``shared/protocols/binance.md`` only. :class:`StreamServer` keeps the open
connections, answers their requests (§4, via :mod:`bridges.binance.sim_session`), enforces the
per-connection limits (§2, §3, §5), serves REST on the same port (via
:mod:`bridges.binance.sim_rest`) and delivers frames: wrapped as ``{"stream","data"}`` on
combined connections (§1), with time fields in ms or µs as each connection asked.
:class:`bridges.binance.sim.BinanceSimulator` adds the lifecycle and the market.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode
from websockets.http11 import Request, Response

from bridges.binance.sim_rest import RestApi, RestReply
from bridges.binance.sim_session import (
    TOO_MANY,
    ClientRequest,
    Endpoint,
    MessageWindow,
    Rejected,
    RequestError,
    WsConnection,
    decode,
    error_frame,
    parse_endpoint,
    property_request,
    stream_params,
    validate,
    wrap,
)
from bridges.binance.sim_streams import Payload, Stream, dumps, scale_times
from bridges.simbase import ServedSimulator

log = logging.getLogger("bridges.binance.sim")


@dataclass(frozen=True)
class SimConfig:
    """Simulator settings; semantics in :mod:`bridges.binance.sim`. 0 disables a limit."""

    host: str = "127.0.0.1"
    port: int = 0  # 0 = pick a free port
    ping_interval: float = 20.0  # §3
    pong_timeout: float = 60.0  # §3
    max_messages_per_second: int = 5  # §5, incoming frames per connection
    max_streams_per_connection: int = 1024  # §5
    connection_lifetime: float = 86400.0  # §2, 24 h
    rate: float = 0.0  # synthetic market steps per second; 0 = tests drive frames
    seed: int = 1
    shutdown_grace: float = 5.0  # serverShutdown → close; the note gives no lead time (§2)
    max_connection_attempts: int = 300  # §5, per connection_attempt_window
    connection_attempt_window: float = 300.0
    rest_weight_per_minute: int = 6000  # §5 REQUEST_WEIGHT
    rest_weight_window: float = 60.0
    rest_ban_seconds: float = 120.0  # 418 ban length (the note gives none)
    geo_blocked: bool = False  # REST answers 451 (§1)

    def __post_init__(self) -> None:
        numbers = [v for k, v in vars(self).items() if k not in ("host", "seed", "geo_blocked")]
        if any(value < 0 for value in numbers) or self.rest_weight_window <= 0:
            raise ValueError("simulator limits and intervals must be >= 0")


@dataclass(eq=False)
class Conn:
    ws: WsConnection
    streams: dict[str, Stream]  # in subscription order
    combined: bool
    micro: bool
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # orders frames per connection
    closed: bool = False
    expiry: asyncio.Task[None] | None = None


def now_us() -> int:
    return time.time_ns() // 1_000


class StreamServer(ServedSimulator):
    """Open connections, their requests and limits, REST replies and frame delivery."""

    def __init__(self, config: SimConfig, rest: RestApi) -> None:
        super().__init__()
        self.config = config
        #: Completed WebSocket handshakes.
        self.connect_count = 0
        #: Every client message that parsed as a JSON object, in arrival order.
        self.received: list[dict[str, object]] = []
        #: Every REST request target (path and query), in arrival order.
        self.rest_requests: list[str] = []
        self._rest = rest
        self._conns: dict[Conn, None] = {}  # ordered set of open connections
        self._tasks: set[asyncio.Task[None]] = set()
        self._silent = False
        self._attempts: deque[float] = deque()

    # -- introspection -----------------------------------------------------------------

    def active_streams(self) -> set[str]:
        return {name for conn in self._conns for name in conn.streams}

    def _active(self) -> dict[str, Stream]:
        return {name: s for conn in self._conns for name, s in conn.streams.items()}

    def open_connections(self) -> int:
        return len(self._conns)

    def _state_summary(self) -> str:
        return (
            f"open_connections={self.open_connections()}, "
            f"active_streams={sorted(self.active_streams())}, "
            f"received={len(self.received)}, rest_requests={len(self.rest_requests)}, "
            f"connect_count={self.connect_count}"
        )

    # -- scripting -----------------------------------------------------------------------

    async def send(self, stream: str, data: dict[str, Any] | str) -> int:
        """Send ``data`` (sent as is) to every connection holding ``stream``; return how many.

        Combined connections get it wrapped as ``{"stream":…,"data":…}``, raw ones unwrapped.
        """
        text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
        return await self._deliver(stream, text)

    async def broadcast(self, frame: str) -> int:
        """Send raw text to every open connection; return how many."""
        sent = 0
        for conn in list(self._conns):
            if await self._send_frame(conn, frame):
                sent += 1
        return sent

    async def drop_connections(self) -> None:
        """Abort every connection: no close frame, the TCP connection just goes away."""
        for conn in list(self._conns):
            self._forget(conn)
            conn.ws.transport.abort()
        self._notify()

    async def server_shutdown(self, grace: float | None = None) -> None:
        """Send ``serverShutdown`` (§2) to every connection; close them (1001) after ``grace``.

        ``grace`` defaults to ``config.shutdown_grace``. New connections are accepted as usual.
        """
        payload: Payload = {"e": "serverShutdown", "E": now_us()}
        targets = list(self._conns)
        for conn in targets:
            data = dumps(scale_times(payload, conn.micro))
            await self._send_frame(conn, wrap("!serverShutdown", data) if conn.combined else data)
        delay = self.config.shutdown_grace if grace is None else grace
        for conn in targets:
            self._spawn(self._close_later(conn.ws, delay, CloseCode.GOING_AWAY, "Server shutdown"))

    def set_silent(self, silent: bool) -> None:
        """While silent, no frame at all is sent: no acks, errors, data or events."""
        self._silent = silent

    # -- internals -----------------------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _forget(self, conn: Conn) -> None:
        conn.closed = True
        if conn in self._conns:
            del self._conns[conn]
            self._notify()

    async def _close_later(self, ws: ServerConnection, delay: float, code: int, why: str) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        await ws.close(code, why)

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        assert isinstance(connection, WsConnection)
        path = urlsplit(request.path).path
        if path in ("/ws", "/stream") or path.startswith("/ws/"):
            try:
                connection.endpoint = self._admit(request.path)
            except Rejected as reject:
                return connection.respond(reject.status, reject.text)
            connection.window = MessageWindow(
                self.config.max_messages_per_second,
                lambda: self._spawn(
                    self._close_later(
                        connection, 0, CloseCode.POLICY_VIOLATION, "Too many messages"
                    )
                ),
            )
            return None
        self.rest_requests.append(request.path)
        self._notify()
        split = urlsplit(request.path)
        return self._http(connection, self._rest.handle(split.path, split.query))

    def _admit(self, target: str) -> Endpoint:
        limit = self.config.max_connection_attempts
        if limit:
            now = time.monotonic()
            self._attempts.append(now)
            while self._attempts[0] <= now - self.config.connection_attempt_window:
                self._attempts.popleft()
            if len(self._attempts) > limit:
                raise Rejected(HTTPStatus.TOO_MANY_REQUESTS, "Too many connection attempts\n")
        return parse_endpoint(target, self.config.max_streams_per_connection)

    @staticmethod
    def _http(connection: ServerConnection, reply: RestReply) -> Response:
        response = connection.respond(reply.status, reply.body)
        del response.headers["Content-Type"]
        response.headers["Content-Type"] = "application/json;charset=UTF-8"
        for name, value in reply.headers:
            response.headers[name] = value
        return response

    async def _write(self, conn: Conn, text: str) -> bool:
        """Send one frame (caller holds ``conn.lock``); False if silent or closed."""
        if self._silent or conn.closed:
            return False
        try:
            await conn.ws.send(text)
        except ConnectionClosed:
            return False
        return True

    async def _send_frame(self, conn: Conn, text: str) -> bool:
        async with conn.lock:
            return await self._write(conn, text)

    async def _reply(self, conn: Conn, frame: Payload) -> None:
        await self._send_frame(conn, dumps(frame))

    async def _deliver(self, stream: str, payload: Payload | str) -> int:
        """Send to every connection holding ``stream``; a str is sent as is, a dict rendered
        with the connection's time unit. Wrapped on combined connections."""
        rendered: dict[tuple[bool, bool], str] = {}
        sent = 0
        for conn in list(self._conns):
            if stream not in conn.streams:
                continue
            key = (conn.micro, conn.combined)
            text = rendered.get(key)
            if text is None:
                data = payload if isinstance(payload, str) else dumps(scale_times(payload, key[0]))
                text = rendered[key] = wrap(stream, data) if conn.combined else data
            async with conn.lock:
                if stream in conn.streams and await self._write(conn, text):
                    sent += 1
        return sent

    async def _handler(self, ws: ServerConnection) -> None:
        assert isinstance(ws, WsConnection) and ws.endpoint is not None
        self.connect_count += 1
        endpoint = ws.endpoint
        conn = Conn(ws, {s.name: s for s in endpoint.streams}, endpoint.combined, endpoint.micro)
        self._conns[conn] = None
        self._notify()
        if self.config.connection_lifetime > 0:
            lifetime = self.config.connection_lifetime
            why = "Connection lifetime exceeded"
            conn.expiry = self._spawn(self._close_later(ws, lifetime, CloseCode.GOING_AWAY, why))
        try:
            async for message in ws:
                if ws.window is not None and ws.window.exceeded:
                    continue  # over the rate limit: being closed, nothing more is processed
                try:
                    await self._on_message(conn, message)
                except ConnectionClosed:
                    raise
                except Exception:  # a bug here must not take the server down
                    log.exception("binance simulator: error handling a client message")
        except ConnectionClosed:
            pass
        finally:
            self._forget(conn)
            if conn.expiry is not None:
                conn.expiry.cancel()

    async def _on_message(self, conn: Conn, message: str | bytes) -> None:
        try:
            decoded, text = decode(message)
            if isinstance(decoded, dict):
                self.received.append(decoded)
                self._notify()
            request = validate(decoded, text)
            if request.method in ("SUBSCRIBE", "UNSUBSCRIBE"):
                await self._subscribe(conn, request, stream_params(request))
            elif request.method == "LIST_SUBSCRIPTIONS":
                if request.params is not None and request.params != []:
                    raise RequestError(error_frame(2, TOO_MANY, request.id))
                await self._reply(conn, {"result": list(conn.streams), "id": request.id})
            else:
                async with conn.lock:
                    reply, conn.combined = property_request(request, conn.combined)
                    await self._write(conn, dumps(reply))
        except RequestError as refused:
            await self._reply(conn, refused.frame)

    async def _subscribe(
        self, conn: Conn, request: ClientRequest, streams: dict[str, Stream]
    ) -> None:
        async with conn.lock:  # the ack goes out before any data of a new stream
            if request.method == "SUBSCRIBE":
                new = [name for name in streams if name not in conn.streams]
                limit = self.config.max_streams_per_connection
                if limit and len(conn.streams) + len(new) > limit:
                    await self._write(conn, dumps(error_frame(2, TOO_MANY, request.id)))
                    return
                for name in new:
                    conn.streams[name] = streams[name]
            else:
                for name in streams:
                    conn.streams.pop(name, None)
            self._notify()
            await self._write(conn, dumps({"result": None, "id": request.id}))
