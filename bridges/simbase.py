"""What every protocol simulator shares: the async context, its port, and waiting on state."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from types import TracebackType
from typing import Any, Self

from websockets.asyncio.server import Server, ServerConnection, serve


class SimulatorBase:
    """Lifecycle and scripting helpers; subclasses start/stop their own server.

    A subclass sets ``_port`` once listening, keeps ``_changed`` as an
    ``asyncio.Event`` and calls ``_notify()`` on every state change, and says in
    ``_state_summary`` what ``wait_until`` reports when it times out.
    """

    _port: int | None
    _changed: asyncio.Event

    async def start(self) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("simulator not started")
        return self._port

    def _notify(self) -> None:
        """Wake every ``wait_until``: the simulator's state changed."""
        self._changed.set()
        self._changed = asyncio.Event()

    def _state_summary(self) -> str:
        return ""

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until ``predicate()`` is true; re-checked on every simulator state change."""
        try:
            async with asyncio.timeout(timeout):
                while not predicate():
                    await self._changed.wait()
        except TimeoutError:
            name = getattr(predicate, "__qualname__", repr(predicate))
            raise TimeoutError(
                f"wait_until({name}) still false after {timeout}s: {self._state_summary()}"
            ) from None


class ServedSimulator(SimulatorBase):
    """A simulator that is one ``websockets`` server and the background tasks feeding it.

    A subclass's ``start`` calls ``_listen`` with its handler and options, then starts
    its generators with ``_in_background``; ``stop`` ends both the same way for all.
    """

    def __init__(self) -> None:
        self._server: Server | None = None
        self._port: int | None = None
        self._changed = asyncio.Event()
        self._background: list[asyncio.Task[None]] = []

    async def _listen(
        self,
        handler: Callable[[ServerConnection], Awaitable[None]],
        host: str,
        port: int,
        **options: Any,
    ) -> None:
        """Start listening; frames go out uncompressed, as the real servers send them."""
        if self._server is not None:
            raise RuntimeError("simulator already started")
        self._server = await serve(handler, host, port, compression=None, **options)
        self._port = int(self._server.sockets[0].getsockname()[1])

    def _in_background(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        """Run a generator (trades, heartbeats, snapshots) until ``stop``."""
        self._background.append(asyncio.create_task(coro, name=name))

    async def stop(self) -> None:
        """End the background tasks, then close every client socket (1001) and the listener.

        A background task that failed raises its error here, once everything is closed,
        so a test sees it and no listener is left behind.
        """
        tasks, self._background = self._background, []
        for task in tasks:
            task.cancel()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()
        self._notify()
        for outcome in outcomes:
            if isinstance(outcome, Exception):
                raise outcome
