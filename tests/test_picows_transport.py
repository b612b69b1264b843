"""The picows transport against a real WebSocket server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket

from websockets.asyncio.server import ServerConnection, serve

from gateway.bridge import Handshake
from gateway.picows_transport import RECEIVE_BUFFER, PicowsConnection, PicowsTransport


def test_one_read_is_bounded_and_frames_arrive_whole() -> None:
    """The socket's receive buffer is bounded (one read, one loop turn); a burst arrives whole."""
    frames = [f'{{"n":{n},"pad":"{"x" * 200}"}}' for n in range(20_000)]

    async def blast(ws: ServerConnection) -> None:
        for frame in frames:
            await ws.send(frame)
        await ws.close()

    async def main() -> tuple[int, list[bytes]]:
        async with serve(blast, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            connection = await PicowsTransport().connect(
                Handshake(f"ws://127.0.0.1:{port}"), max_size=1 << 20, open_timeout=5
            )
            assert isinstance(connection, PicowsConnection)
            sock = connection._transport.underlying_transport.get_extra_info("socket")
            got: list[bytes] = []
            sizes: list[int] = []

            def on_frame(payload: bytes) -> None:
                got.append(payload)
                if len(got) == len(frames):  # after the burst: autotuning had its chance
                    sizes.append(sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF))

            try:
                await asyncio.wait_for(connection.run(on_frame), 30)
            except Exception as exc:  # the server's close ends run()
                assert "closed by the server" in str(exc), exc
            return sizes[0], got

    size, got = asyncio.run(main())
    with open("/proc/sys/net/core/rmem_max") as limit:
        assert size == 2 * min(RECEIVE_BUFFER, int(limit.read()))  # Linux doubles what is set
    assert [g.decode() for g in got] == frames
