"""What every protocol simulator shares: the async context, its port, and waiting on state."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import TracebackType
from typing import Self


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
