"""Health: readiness from the running parts, and the HTTP endpoints ops watch.

``/healthz`` answers while the process runs; ``/readyz`` answers 200 only when
Redis is reachable and every upstream is connected, subscribed to all its
topics and has sent a frame within its watchdog window. Both answer JSON and
never show a secret (URLs are not included).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from gateway.publish.writer import StreamWriter
from gateway.session import Session

log = logging.getLogger("feedgate.health")

Report = dict[str, Any]
Raw = tuple[str, bytes]  # (content type, body) for endpoints that are not JSON


def readiness(
    sessions: Sequence[Session],
    writer: StreamWriter,
    now_ns: int,
    stale_after: Mapping[str, float] | None = None,
) -> Report:
    """The readiness report: ``ready`` plus the detail behind it.

    ``stale_after`` bounds, per config topic, how old its newest entry may be.
    """
    upstreams: dict[str, Any] = {}
    ready = writer.connected
    last_written = writer.stats.last_written_ns
    stale = {}
    for topic, bound in (stale_after or {}).items():
        written = last_written.get(topic)
        age = None if written is None else (now_ns - written) / 1e9
        if age is None or age > bound:
            stale[topic] = None if age is None else round(age, 3)
    ready = ready and not stale
    for session in sessions:
        state = session.state
        age = (now_ns - state.last_frame_ns) / 1e9 if state.last_frame_ns else None
        missing = sorted(state.required - state.subscribed)
        fresh = age is not None and age <= session.watchdog
        ok = state.connected and not missing and fresh and state.fatal is None
        ready = ready and ok
        upstreams[session.name] = {
            "ready": ok,
            "connected": state.connected,
            "subscribed": sorted(state.subscribed),
            "missing": missing,
            "refused": dict(state.failed),
            "last_frame_age_s": None if age is None else round(age, 3),
            "connects": state.connects,
            "frames": state.frames,
            "decode_errors": dict(state.decode_errors),
            "fatal": state.fatal,
            "limits": dict(state.limits),
            "stale_books": sorted(
                t
                for t in state.subscribed
                if t.startswith("book.") and not session.books.in_sync(t)
            ),
        }
    stats = writer.stats
    return {
        "ready": ready,
        "stale_topics": stale,
        "redis": {
            "connected": writer.connected,
            "pending": writer.pending,
            "lag_ms": round(stats.lag_ns / 1e6, 3),
            "written": sum(stats.written.values()),
            "errors": sum(stats.errors.values()),
            "dropped": sum(stats.dropped.values()),
        },
        "upstreams": upstreams,
    }


class HealthServer:
    """A minimal HTTP/1.1 server for ``/healthz`` and ``/readyz``."""

    def __init__(
        self,
        host: str,
        port: int,
        report: Callable[[], Report],
        extra: dict[str, Callable[[], Report | Raw]] | None = None,
    ) -> None:
        self._host = host
        self._port = port
        self._report = report
        self._extra = extra or {}
        self._server: asyncio.Server | None = None
        self.started_ns = time.time_ns()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self._host, self._port)
        log.info("health endpoints on http://%s:%d/readyz", self._host, self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5.0)
            method, path, *_ = request.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
            status, body = self._route(method, path.split("?", 1)[0])
            if isinstance(body, tuple):
                content_type, payload = body
            else:
                content_type, payload = (
                    "application/json",
                    json.dumps(body, sort_keys=True).encode(),
                )
            writer.write(
                b"HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n"
                b"Connection: close\r\n\r\n%s"
                % (status.encode(), content_type.encode(), len(payload), payload)
            )
            await writer.drain()
        except (OSError, ValueError, TimeoutError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    def _route(self, method: str, path: str) -> tuple[str, Report | Raw]:
        if method != "GET":
            return "405 Method Not Allowed", {"error": "only GET is supported"}
        if path == "/healthz":
            uptime = (time.time_ns() - self.started_ns) / 1e9
            return "200 OK", {"status": "alive", "uptime_s": round(uptime, 1)}
        if path == "/readyz":
            report = self._report()
            return ("200 OK" if report["ready"] else "503 Service Unavailable"), report
        extra = self._extra.get(path)
        if extra is not None:
            return "200 OK", extra()
        known = ["/healthz", "/readyz", *self._extra]
        return "404 Not Found", {"error": f"no such endpoint: {path}", "see": known}
