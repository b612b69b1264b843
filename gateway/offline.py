"""The quick start's offline fallback: no public feed reachable → the simulators instead.

``feedgate run --fallback-to-sim`` (what ``make run`` runs) first tries a TCP connection
to every upstream endpoint the config would use. If none answers within a few seconds
(an offline machine), it says so in one plain line and serves every upstream from its
built-in simulator, so data flows anyway, each entry with ``source = sim``. Plain
``feedgate run`` never does this: an unreachable upstream is retried with backoff and
``/readyz`` says so.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

import msgspec

from gateway.config import Config, api_key, is_left_out, uses_simulator

#: Seconds the start-up probe waits for any endpoint to accept a connection.
PROBE_TIMEOUT = 5.0


def endpoint(url: str) -> tuple[str, int]:
    """(host, port) a ``ws://`` or ``wss://`` URL connects to."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "wss" else 80)
    return parts.hostname or "", port


def endpoints(config: Config, environ: Mapping[str, str] | None = None) -> list[tuple[str, int]]:
    """The endpoints the config would connect to (simulated and left-out upstreams aside)."""
    found: list[tuple[str, int]] = []
    for upstream in config.upstreams.values():
        key = api_key(upstream, environ)
        if is_left_out(upstream, key) or uses_simulator(upstream, key):
            continue
        address = endpoint(upstream.url)
        if address not in found:
            found.append(address)
    return found


async def any_reachable(addresses: Sequence[tuple[str, int]], timeout: float) -> bool:
    """True as soon as one address accepts a TCP connection, False if none does in time."""

    async def attempt(host: str, port: int) -> bool:
        try:
            _, writer = await asyncio.open_connection(host, port)
        except OSError:
            return False
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True

    pending = {asyncio.ensure_future(attempt(host, port)) for host, port in addresses}
    try:
        async with asyncio.timeout(timeout):
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                if any(task.result() for task in done):
                    return True
    except TimeoutError:
        pass
    finally:
        for task in pending:
            task.cancel()
    return False


def _probe(addresses: Sequence[tuple[str, int]], timeout: float) -> bool:
    """any_reachable on a loop of its own, closed without waiting for name lookups still
    running in its executor (asyncio.run would: an offline resolver can take far longer
    than ``timeout`` to give up)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(any_reachable(addresses, timeout))
    finally:
        loop.close()


def simulated(config: Config, environ: Mapping[str, str] | None = None) -> Config:
    """The same config with every upstream that would run served by its simulator
    (one left out for want of its key stays left out)."""
    upstreams = {
        name: upstream
        if is_left_out(upstream, api_key(upstream, environ))
        else msgspec.structs.replace(upstream, simulator="always")
        for name, upstream in config.upstreams.items()
    }
    return msgspec.structs.replace(config, upstreams=upstreams)


def fallback_to_sim(
    config: Config, environ: Mapping[str, str] | None = None, timeout: float = PROBE_TIMEOUT
) -> tuple[Config, str | None]:
    """The config to run, and the one line to print when it had to fall back."""
    addresses = endpoints(config, environ)
    if not addresses or _probe(addresses, timeout):
        return config, None
    names = ", ".join(f"{host}:{port}" for host, port in addresses)
    line = (
        f"feedgate: no public feed answered within {timeout:g} s ({names}): running the "
        'built-in simulators instead; every entry they feed has source "sim"'
    )
    return simulated(config, environ), line
