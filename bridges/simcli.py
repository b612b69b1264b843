"""The command-line life every protocol simulator shares: serve until SIGTERM or Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol


class _Listening(Protocol):
    @property
    def url(self) -> str: ...


def run_until_stopped(make: Callable[[], AbstractAsyncContextManager[Any]], name: str) -> int:
    """Start the simulator ``make`` builds, print one ``<name> simulator listening on URL``
    line (tests and scripts read the URL from it), and serve until SIGTERM or Ctrl-C."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError):  # no signal handlers on some platforms
                loop.add_signal_handler(signum, stop.set)
        async with make() as sim:
            listening: _Listening = sim
            print(f"{name} simulator listening on {listening.url}", flush=True)
            await stop.wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
    return 0
