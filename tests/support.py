"""Test helpers: real servers on 127.0.0.1, started and ended by the tests that use them."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from concurrent.futures import Future
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar

from bridges.cryptocompare.sim import CryptoCompareSimulator, SimConfig

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(
    predicate: Callable[[], T | None], timeout: float = 20.0, what: str = "condition"
) -> T:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


class LoopThread:
    """An asyncio loop in a background thread, for in-process servers in sync tests."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout)

    def call(self, fn: Callable[[], T]) -> T:
        async def wrapper() -> T:
            return fn()

        return self.run(wrapper())

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


class Simulator(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


S = TypeVar("S", bound=Simulator)


@contextmanager
def serving(sim: S) -> Iterator[tuple[S, LoopThread]]:
    """Any protocol simulator, running in its own loop thread until the block ends."""
    loop = LoopThread()
    loop.run(sim.start())
    try:
        yield sim, loop
    finally:
        loop.run(sim.stop())
        loop.close()


def simulator(
    config: SimConfig | None = None,
) -> AbstractContextManager[tuple[CryptoCompareSimulator, LoopThread]]:
    """A CryptoCompare-protocol simulator running in its own loop thread."""
    return serving(CryptoCompareSimulator(config or SimConfig()))


def sim_call(loop: LoopThread, coro: Awaitable[T]) -> T:
    async def wrapper() -> T:
        return await coro

    return loop.run(wrapper())


class GatewayProcess:
    """``feedgate run`` as a real subprocess, ended by PID when the test is done."""

    def __init__(
        self,
        config_text: str,
        workdir: Path,
        env: dict[str, str] | None = None,
        args: tuple[str, ...] = (),
    ) -> None:
        self.workdir = workdir
        self.config_path = workdir / "feedgate.toml"
        self.config_path.write_text(config_text)
        self.log_path = workdir / "gateway.log"
        full_env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL",)}
        full_env.update(env or {})
        full_env["PYTHONPATH"] = str(ROOT)
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "run", "--config", str(self.config_path), *args],
            cwd=workdir,
            env=full_env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def readyz(self, port: int) -> tuple[int, dict[str, Any]]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as reply:
                return reply.status, json.loads(reply.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def wait_ready(self, port: int, timeout: float = 30.0) -> dict[str, Any]:
        def ready() -> dict[str, Any] | None:
            if self.process.poll() is not None:
                raise AssertionError(f"gateway exited early:\n{self.log()}")
            try:
                status, body = self.readyz(port)
            except OSError:
                return None
            return body if status == 200 else None

        try:
            return wait_for(ready, timeout, "the gateway to be ready")
        except AssertionError:
            print(self.log())
            raise

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM by PID, then wait; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._log.close()
        return self.process.returncode


def gateway_config(
    sim_url: str,
    health_port: int,
    topics: list[str],
    *,
    extra_upstream: str = "",
    redis: str = "",
    protocol: str = "cryptocompare",
) -> str:
    """A config for one upstream (``cc``) served by the test's simulator."""
    topic_list = ", ".join(json.dumps(t) for t in topics)
    return f"""
{redis}
[health]
listen = "127.0.0.1:{health_port}"
hash_interval = 0.5

[status]
log_interval = 0.5

[upstreams.cc]
protocol = "{protocol}"
url = "{sim_url}"
api_key_env = "FEEDGATE_TEST_CC_KEY"
topics = [{topic_list}]
min_connect_interval = 0.2
backoff_initial = 0.1
backoff_max = 1.0
{extra_upstream}
"""
