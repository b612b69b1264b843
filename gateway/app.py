"""The composition root: wires sessions, publisher, health and status; owns shutdown.

Lifecycle: start (embedded Redis, simulators, writer, sessions, health), run
until SIGTERM/SIGINT, then stop reading, flush what is buffered to Redis
within a bounded time, and close everything it started. A second signal exits
at once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from gateway.bridge import BridgeSettings
from gateway.config import (
    Config,
    UpstreamConfig,
    api_key,
    api_secret,
    is_left_out,
    uses_protobuf,
    uses_simulator,
)
from gateway.control import ControlPlane
from gateway.core.demand import Demand
from gateway.core.quota import Quotas
from gateway.embedded import EmbeddedValkey
from gateway.errors import ConfigError
from gateway.health import HealthServer, readiness
from gateway.metrics import CONTENT_TYPE, GatewayCollector, render
from gateway.publish.healthhash import HealthHash
from gateway.publish.resp import StreamEncoder
from gateway.publish.writer import StreamWriter
from gateway.redisurl import parse as parse_redis_url
from gateway.redisurl import redact
from gateway.registry import make_bridge, simulator_module
from gateway.routing import Router
from gateway.session import Session, SessionPolicy
from gateway.statusline import RateMeter, format_status
from gateway.topics import parse_topic
from gateway.transport import Transport, WebsocketsTransport
from gateway.upstreams import UpstreamPool

log = logging.getLogger("feedgate")

#: Seconds SIGTERM waits for buffered events to reach Redis.
FLUSH_TIMEOUT = 10.0
#: Seconds shutdown waits for the remaining tasks after cancelling them.
SHUTDOWN_GRACE = 3.0


def policy_of(upstream: UpstreamConfig) -> SessionPolicy:
    """The session timing and size limits an upstream's config asks for."""
    return SessionPolicy(
        **{name: getattr(upstream, name) for name in SessionPolicy.__struct_fields__}
    )


def quotas_of(upstream: UpstreamConfig, defaults: Mapping[str, float]) -> Quotas:
    """Configured limits over the protocol's documented ones."""
    values: dict[str, Any] = {k: v for k, v in defaults.items() if k in Quotas.__struct_fields__}
    for name in upstream.quotas.__struct_fields__:
        value = getattr(upstream.quotas, name)
        if value is not None:
            values[name] = value
    return Quotas(**values)


def make_transport(name: str) -> Transport:
    """The WebSocket client an upstream asked for (both pass the same tests)."""
    if name == "websockets":
        return WebsocketsTransport()
    from gateway.picows_transport import PicowsTransport

    return PicowsTransport()


#: The ``source`` of every entry a built-in simulator's data became.
SIMULATED_SOURCE = "sim"


class Gateway:
    """One running gateway process."""

    def __init__(self, config: Config, environ: Mapping[str, str] | None = None) -> None:
        self.config = config
        self._environ = os.environ if environ is None else environ
        self._stop = asyncio.Event()
        self._embedded: EmbeddedValkey | None = None
        self._simulators: list[Any] = []
        self.pools: dict[str, UpstreamPool] = {}
        self.control: ControlPlane | None = None
        self.writer: StreamWriter | None = None
        self._router: Router | None = None

    def _owner(self, topic: str) -> str:
        """The upstream a topic's entries come from, whose ``encoding`` applies to them.

        Not the entries' ``source``: that is ``sim`` for every simulated upstream.
        """
        if topic.startswith("status."):
            return topic.removeprefix("status.")
        router = self._router
        return (router.assigned.get(topic) if router is not None else None) or ""

    @property
    def sessions(self) -> list[Session]:
        """Every upstream connection, shards included."""
        return [s for pool in self.pools.values() for s in pool.sessions]

    def request_stop(self) -> None:
        """Begin a graceful shutdown (first signal); a second one exits at once."""
        if self._stop.is_set():
            log.warning("second signal: exiting now")
            os._exit(1)
        log.info("stopping: flushing buffered events to redis")
        self._stop.set()

    async def run(self) -> int:
        try:
            return await self._run()
        finally:
            for simulator in self._simulators:
                await simulator.stop()
            if self._embedded is not None:
                await asyncio.to_thread(self._embedded.stop)

    async def _run(self) -> int:
        config = self.config
        redis_url = config.redis.url
        if redis_url is None:
            self._embedded = EmbeddedValkey(config.redis.embedded)
            redis_url = await asyncio.to_thread(self._embedded.start)
        log.info("publishing to %s", redact(redis_url))
        writer = StreamWriter(
            parse_redis_url(redis_url),
            StreamEncoder(
                config.streams.maxlen_for,
                lambda topic, ch: uses_protobuf(config, self._owner(topic), ch),
            ),
            max_buffer=config.redis.max_buffer,
            max_buffer_bytes=config.redis.max_buffer_bytes,
            max_batch=config.redis.max_batch,
        )
        self.writer = writer
        pinned: dict[str, str] = {}
        for name, upstream in config.upstreams.items():
            if is_left_out(upstream, api_key(upstream, self._environ)):
                log.info("%s: no %s set, so this upstream is left out (needs_key)",
                         name, upstream.api_key_env)  # fmt: skip
                continue
            self.pools[name] = await self._pool(name, upstream, writer)
            pinned.update(dict.fromkeys(upstream.topics, name))
        router = self._router = Router(self.pools, config.routes, pinned)
        demand = Demand(config.control.grace, pinned)
        if config.control.enabled:
            self.control = ControlPlane(
                redis_url, router, self.pools, demand,
                default_ttl=config.control.default_ttl, max_ttl=config.control.max_ttl,
                tick=config.control.tick,
            )  # fmt: skip

        stale_after = {
            t: up.stale_after for up in config.upstreams.values() if up.stale_after
            for t in up.topics
        }  # fmt: skip

        def report() -> dict[str, Any]:
            return readiness(self.sessions, writer, time.time_ns(), stale_after)

        def subscriptions() -> dict[str, Any]:
            rows = self.control.subscriptions() if self.control else []
            return {
                "topics": rows,
                "upstreams": {name: pool.describe() for name, pool in self.pools.items()},
            }

        host, _, port = config.health.listen.rpartition(":")
        collector = GatewayCollector(writer, lambda: self.pools)

        def metrics() -> tuple[str, bytes]:
            return CONTENT_TYPE, render(collector)

        health = HealthServer(
            host, int(port), report, {"/subscriptions": subscriptions, "/metrics": metrics}
        )
        await health.start()
        instance = config.health.instance or socket.gethostname()
        health_hash = HealthHash(redis_url, instance, report, config.health.hash_ttl)

        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.request_stop)

        tasks = [asyncio.create_task(writer.run(), name="writer")]
        for pool in self.pools.values():
            pool.start()
        if self.control is not None:
            tasks.append(asyncio.create_task(self.control.run(), name="control"))
        helpers = [
            asyncio.create_task(self._every(config.health.hash_interval, health_hash.refresh)),
        ]
        if config.status.enabled:
            helpers.append(asyncio.create_task(self._status_line(writer)))
        try:
            await self._stop.wait()
        finally:
            for task in helpers:
                task.cancel()
            await asyncio.gather(*(p.stop() for p in self.pools.values()), return_exceptions=True)
            drained = await writer.close(FLUSH_TIMEOUT)
            for task in tasks:
                task.cancel()
            # Bounded: a task that swallowed its cancellation must not hold the exit.
            _, stuck = await asyncio.wait([*tasks, *helpers], timeout=SHUTDOWN_GRACE)
            for task in stuck:
                log.warning("shutdown: task %s did not stop in time", task.get_name())
            await health.close()
            await health_hash.close()
            if self.control is not None:
                await self.control.close()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signum)
        log.info("stopped (%s)", "all events written" if drained else "some events NOT written")
        return 0 if drained else 1

    async def _pool(
        self, name: str, upstream: UpstreamConfig, writer: StreamWriter
    ) -> UpstreamPool:
        """The upstream's connections, with its config topics placed (pinned)."""
        key = api_key(upstream, self._environ)
        url, rest_url = upstream.url, upstream.rest_url
        source: str | None = None  # the upstream's name
        if uses_simulator(upstream, key):
            source = SIMULATED_SOURCE  # simulated data is never mistaken for market data
            simulator = simulator_module(upstream.protocol).demo(upstream.simulator_rate)
            await simulator.start()
            self._simulators.append(simulator)
            url, key = simulator.url, None
            rest_url = getattr(simulator, "rest_url", None)
            why = f"no {upstream.api_key_env} set" if upstream.simulator == "auto" else "config"
            log.info("%s: %s, using the built-in %s simulator at %s", name, why,
                     upstream.protocol, url)  # fmt: skip
        settings = BridgeSettings(
            upstream=name,
            source=source,
            api_key=key,
            secret=None if key is None else api_secret(upstream, self._environ),
            generation=upstream.generation,
            markets_file=upstream.markets_file,
            rest_url=rest_url,
            subscription_depth=upstream.subscription_depth,
        )
        try:
            probe = make_bridge(upstream.protocol, settings)
        except ValueError as exc:  # an option the bridge refuses (e.g. a Kraken book depth)
            raise ConfigError(f"upstreams.{name}: {exc}") from None
        pool = UpstreamPool(
            name,
            lambda: make_bridge(upstream.protocol, settings),
            url,
            writer.submit,
            transport=make_transport(upstream.transport),
            policy=policy_of(upstream),
            quotas=quotas_of(upstream, probe.default_quotas),
            source=source,
        )
        for topic in upstream.topics:
            refused = await pool.add(parse_topic(topic), required=True)
            if refused is not None:
                raise ConfigError(
                    f"upstreams.{name}.topics: {topic} is over the quota {refused.quota} "
                    f"({refused.detail}); raise upstreams.{name}.quotas or drop topics"
                )
        return pool

    async def _every(self, seconds: float, action: Callable[[], Awaitable[None]]) -> None:
        """Run ``action`` every ``seconds`` until shutdown (which need not cancel it)."""
        while not self._stop.is_set():
            await action()
            if await self._stopped_within(seconds):
                return

    async def _stopped_within(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self._stop.wait(), seconds)
        except TimeoutError:
            return False
        return True

    async def _status_line(self, writer: StreamWriter) -> None:
        meter = RateMeter()
        stream = sys.stderr
        tty = stream.isatty()
        interval = self.config.status.interval if tty else self.config.status.log_interval
        meter.rates(writer.stats.written, time.monotonic())
        while True:
            await asyncio.sleep(interval)
            rates = meter.rates(writer.stats.written, time.monotonic())
            width = os.get_terminal_size(stream.fileno()).columns if tty else None
            line = format_status(
                rates,
                writer.stats.lag_ns / 1e6,
                writer.pending,
                writer.connected,
                [(s.name, s.state) for s in self.sessions],
                width,
            )
            stream.write(f"\r\x1b[K{line}" if tty else f"{line}\n")
            stream.flush()


def run(config: Config) -> int:
    """Run the gateway on uvloop until stopped; returns the exit code."""
    import uvloop

    gateway = Gateway(config)
    return uvloop.run(gateway.run())


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # The websockets library logs handshake details at DEBUG; keep it quiet.
    logging.getLogger("websockets").setLevel(logging.WARNING)


__all__ = ["Gateway", "configure_logging", "run"]
