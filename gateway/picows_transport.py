"""The ``Transport`` on ``picows``: frames reach the session in a synchronous callback.

``picows`` parses frames in Cython and calls ``on_ws_frame`` for each one, so
the hot path has no await and no per-frame coroutine (DESIGN.md: about 0.55 µs
a frame against about 4.7 µs through ``websockets``). Fragmented messages are
reassembled here; pings are answered by ``picows`` itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Callable

from picows import (
    WSCloseCode,
    WSError,
    WSFrame,
    WSListener,
    WSMsgType,
    WSTransport,
    ws_connect,
)
from picows import (
    WSInvalidStatusError as InvalidStatus,
)

from gateway.bridge import Handshake
from gateway.errors import ConnectError, ConnectionClosed
from gateway.transport import Connection

_DATA = (WSMsgType.TEXT, WSMsgType.BINARY, WSMsgType.CONTINUATION)  # parts of messages
#: The upstream socket's receive buffer. picows grows its read buffer without bound and
#: decodes whatever one read returns in one callback; a loopback socket's autotuned
#: buffer holds megabytes, so a burst would hold the loop (the Redis writer, its reply
#: reader, the health server) for seconds. This bounds one read to about 1 MiB (the
#: kernel doubles the value): tens of milliseconds of frames, and still ~10 MB/s at a
#: 100 ms round trip.
RECEIVE_BUFFER = 512 * 1024


class _Listener(WSListener):
    """Hands each complete message to the session's callback."""

    def __init__(self) -> None:
        self.on_frame: Callable[[bytes], None] | None = None
        self.on_alive: Callable[[], None] | None = None
        self.transport: WSTransport | None = None
        self.closed = asyncio.get_running_loop().create_future()
        self._parts: list[bytes] = []
        self.early: list[bytes] = []  # frames that came before the session's callback
        self.error: BaseException | None = None
        self.close_reason = "connection lost without a close frame"

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind in _DATA:
            if not frame.fin:
                self._parts.append(frame.get_payload_as_bytes())
                return
            payload = frame.get_payload_as_bytes()
            if self._parts:
                self._parts.append(payload)
                payload = b"".join(self._parts)
                self._parts.clear()
            handler = self.on_frame
            if handler is None:
                self.early.append(payload)
                return
            try:
                handler(payload)
            except BaseException as exc:  # surfaced by run(); the session decides
                self.error = exc
                transport.disconnect()
        elif kind == WSMsgType.PING or kind == WSMsgType.PONG:
            if self.on_alive is not None:
                self.on_alive()
        elif kind == WSMsgType.CLOSE:
            code = frame.get_close_code().value
            message = frame.get_close_message()
            self.close_reason = f"closed by the server (code {code} {message!r})"
            transport.send_close(WSCloseCode.OK)
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


class PicowsConnection:
    """A ``Connection`` over a picows transport."""

    def __init__(self, transport: WSTransport, listener: _Listener) -> None:
        self._transport = transport
        self._listener = listener

    async def send(self, frame: str | bytes) -> None:
        if self._transport.is_disconnected:
            raise ConnectionClosed(self._listener.close_reason)
        if isinstance(frame, str):
            self._transport.send(WSMsgType.TEXT, frame.encode())
        else:
            self._transport.send(WSMsgType.BINARY, frame)

    async def run(
        self, on_frame: Callable[[bytes], None], on_alive: Callable[[], None] | None = None
    ) -> None:
        listener = self._listener
        listener.on_alive = on_alive
        early, listener.early = listener.early, []
        for payload in early:
            on_frame(payload)
        listener.on_frame = on_frame
        await listener.closed
        if listener.error is not None:
            raise listener.error
        raise ConnectionClosed(listener.close_reason)

    async def close(self) -> None:
        if not self._transport.is_disconnected:
            self._transport.send_close(WSCloseCode.OK)
            self._transport.disconnect()
        await self._listener.closed

    def abort(self) -> None:
        self._transport.disconnect(graceful=False)


class PicowsTransport:
    """Opens connections with ``picows``."""

    async def connect(
        self, handshake: Handshake, *, max_size: int, open_timeout: float
    ) -> Connection:
        context = ssl.create_default_context() if handshake.url.startswith("wss://") else None
        try:
            transport, listener = await asyncio.wait_for(
                ws_connect(
                    _Listener,
                    handshake.url,
                    ssl_context=context,
                    websocket_handshake_timeout=open_timeout,
                    max_frame_size=max_size,
                    extra_headers=list(handshake.headers),
                    disconnect_on_exception=True,
                    logger_name="feedgate",
                ),
                open_timeout + 1,
            )
        except InvalidStatus as exc:
            status = getattr(getattr(exc, "response", None), "status", None)
            code = int(status) if status is not None else None
            raise ConnectError(f"handshake refused with HTTP {code}", code) from None
        except (OSError, TimeoutError, WSError) as exc:
            raise ConnectError(f"cannot connect: {type(exc).__name__}") from None
        assert isinstance(listener, _Listener)
        sock = transport.underlying_transport.get_extra_info("socket")
        if sock is not None:
            # The server may have closed it already (a refusal frame, then close).
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        return PicowsConnection(transport, listener)
