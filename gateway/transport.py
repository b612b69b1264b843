"""The upstream transport interface, and its implementation on ``websockets``.

The session runner talks to a ``Transport``; only this module imports the
WebSocket library, and it translates that library's exceptions into
``gateway.errors`` where they enter. A faster client can implement the same
two small protocols.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import websockets
from websockets.asyncio.client import ClientConnection, connect

from gateway.bridge import Handshake
from gateway.errors import ConnectError, ConnectionClosed


class Connection(Protocol):
    """One open upstream connection."""

    async def send(self, frame: str | bytes) -> None:
        """Send one frame (text for ``str``, binary for ``bytes``)."""
        ...

    async def run(
        self, on_frame: Callable[[bytes], None], on_alive: Callable[[], None] | None = None
    ) -> None:
        """Call ``on_frame`` with each frame's payload until the connection ends.

        ``on_alive`` is called on control frames (pings) where the client library
        shows them, so a feed with only pings is not taken for dead.

        Payloads are undecoded bytes, text frames included: the bridge decodes
        them (msgspec checks UTF-8), so a bad frame is counted, not fatal.
        Ends by raising ``ConnectionClosed``; an exception from ``on_frame``
        closes the connection and is raised from here.
        """
        ...

    async def close(self) -> None:
        """Close politely."""
        ...

    def abort(self) -> None:
        """Drop the connection at once (watchdog, shutdown)."""
        ...


class Transport(Protocol):
    """Opens upstream connections."""

    async def connect(
        self, handshake: Handshake, *, max_size: int, open_timeout: float
    ) -> Connection:
        """Open a connection; raises ``ConnectError``."""
        ...


class WebsocketsConnection:
    """A ``Connection`` over a websockets client connection."""

    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws

    async def send(self, frame: str | bytes) -> None:
        try:
            await self._ws.send(frame)
        except websockets.ConnectionClosed as exc:
            raise ConnectionClosed(_closed_reason(exc)) from None

    async def run(
        self, on_frame: Callable[[bytes], None], on_alive: Callable[[], None] | None = None
    ) -> None:
        recv = self._ws.recv  # websockets answers pings internally and does not show them
        try:
            while True:
                frame = await recv(decode=False)
                on_frame(frame if isinstance(frame, bytes) else frame.encode())
        except websockets.ConnectionClosed as exc:
            raise ConnectionClosed(_closed_reason(exc)) from None

    async def close(self) -> None:
        await self._ws.close()

    def abort(self) -> None:
        self._ws.transport.abort()


def _closed_reason(exc: websockets.ConnectionClosed) -> str:
    if exc.rcvd is not None:
        return f"closed by the server (code {exc.rcvd.code} {exc.rcvd.reason!r})".strip()
    if exc.sent is not None:
        return f"closed by feedgate (code {exc.sent.code} {exc.sent.reason!r})"
    return "connection lost without a close frame"


class WebsocketsTransport:
    """Opens connections with the ``websockets`` asyncio client."""

    async def connect(
        self, handshake: Handshake, *, max_size: int, open_timeout: float
    ) -> Connection:
        """``max_size`` is a hard cap that closes the connection; the session counts and
        skips frames over its own, smaller, limit."""
        try:
            ws = await connect(
                handshake.url,
                additional_headers=list(handshake.headers),
                max_size=max_size,
                open_timeout=open_timeout,
                ping_interval=None,  # the server pings; liveness is the session's watchdog
                close_timeout=2,
                user_agent_header="feedgate",
            )
        except websockets.InvalidStatus as exc:
            status = exc.response.status_code
            raise ConnectError(f"handshake refused with HTTP {status}", status) from None
        except (OSError, TimeoutError, websockets.InvalidHandshake) as exc:
            raise ConnectError(f"cannot connect: {type(exc).__name__}: {exc}") from None
        return WebsocketsConnection(ws)
