"""One upstream (one key): its connections, where each topic lives, and its quotas.

The pool places each topic on a connection with room (``gateway.core.quota``),
opens another connection when one is full and the quota allows (sharding), and
refuses with the quota's name when it does not, without touching what runs.
Every connection of the pool shares one connect gate and one control-message
budget, because the upstream counts them per key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from gateway.bridge import Bridge
from gateway.core.quota import Quotas, Refused, place
from gateway.core.ratelimit import ConnectGate, TokenBucket
from gateway.session import EventSink, Session, SessionPolicy
from gateway.topics import Topic
from gateway.transport import Transport

log = logging.getLogger("feedgate.upstreams")


class TopicState:
    """Where a topic stands on its upstream."""

    PENDING = "pending"
    ACTIVE = "active"
    REFUSED = "refused"


class UpstreamPool:
    """The connections of one upstream and the topics placed on them."""

    def __init__(
        self,
        name: str,
        make_bridge: Callable[[], Bridge],
        url: str,
        sink: EventSink,
        *,
        transport: Transport,
        policy: SessionPolicy,
        quotas: Quotas,
        source: str | None = None,
    ) -> None:
        self.name = name
        self.source = source
        self._make_bridge = make_bridge
        self._url = url
        self._sink = sink
        self._transport = transport
        self._policy = policy
        self.quotas = quotas
        now = time.monotonic()
        self.gate = ConnectGate(
            policy.min_connect_interval, quotas.connects_per_minute, quotas.connects_per_hour, now
        )
        # Burst 1: messages evenly spaced, so no one-second window ever holds more
        # than the limit (Binance counts in a sliding second).
        self.messages = TokenBucket(quotas.messages_per_second, 1)
        weight = quotas.rest_weight_per_minute
        self.rest = TokenBucket(weight / 60.0, weight) if weight else None
        self.probe = make_bridge()  # answers check_topic without a connection
        self.shards: dict[int, Session] = {}
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._next_id = 0
        self.placement: dict[str, int] = {}
        self._lock = asyncio.Lock()
        self._running = False

    # --- lifecycle ----------------------------------------------------------------

    def start(self) -> None:
        self._running = True
        for shard_id, session in self.shards.items():
            self._launch(shard_id, session)

    def _launch(self, shard_id: int, session: Session) -> None:
        self._tasks[shard_id] = asyncio.create_task(session.run(), name=f"session:{session.name}")

    async def stop(self) -> None:
        self._running = False
        await asyncio.gather(*(s.stop() for s in self.shards.values()), return_exceptions=True)
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    @property
    def sessions(self) -> list[Session]:
        return [self.shards[i] for i in sorted(self.shards)]

    # --- demand -------------------------------------------------------------------

    def check(self, topic: Topic) -> None:
        """Raise TopicError if this upstream cannot serve ``topic``."""
        self.probe.check_topic(topic)

    async def add(self, topic: Topic, required: bool = False) -> Refused | None:
        """Place ``topic`` on a connection; a Refused names the quota in the way."""
        async with self._lock:
            if topic.name in self.placement:
                return None
            order = sorted(self.shards)
            where = place([len(self.shards[i].topics) for i in order], self.quotas)
            if isinstance(where, Refused):
                log.warning("%s: refusing %s: quota %s (%s)", self.name, topic.name,
                            where.quota, where.detail)  # fmt: skip
                return where
            if where == len(order):
                session = self._open_shard(topic, required)
                shard_id = self._next_id - 1
                if self._running:
                    self._launch(shard_id, session)
            else:
                shard_id = order[where]
                session = self.shards[shard_id]
                if required:
                    session.state.required.add(topic.name)
                await session.add([topic])
            self.placement[topic.name] = shard_id
            return None

    def _open_shard(self, topic: Topic, required: bool) -> Session:
        shard_id = self._next_id
        self._next_id += 1
        name = self.name if shard_id == 0 else f"{self.name}#{shard_id}"
        session = Session(
            name,
            self._make_bridge(),
            self._url,
            [topic],
            self._sink,
            transport=self._transport,
            policy=self._policy,
            gate=self.gate,
            messages=self.messages,
            rest=self.rest,
            on_quota=self.tighten,
            required=[topic.name] if required else [],
            upstream=self.name,
            source=self.source,
        )
        self.shards[shard_id] = session
        log.info("%s: connection %d opened for %s", self.name, shard_id, topic.name)
        return session

    async def remove(self, topic: str) -> None:
        """Unsubscribe ``topic``; a connection left with nothing to hold is closed."""
        async with self._lock:
            shard_id = self.placement.pop(topic, None)
            if shard_id is None:
                return
            session = self.shards[shard_id]
            await session.remove([topic])
            if not session.topics and shard_id != min(self.shards):
                del self.shards[shard_id]
                task = self._tasks.pop(shard_id, None)
                await session.stop()
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                log.info("%s: connection %d closed (no topics left)", self.name, shard_id)

    def state_of(self, topic: str) -> tuple[str, str]:
        """(state, detail) of a placed topic: pending, active, or refused with the reason."""
        shard_id = self.placement.get(topic)
        if shard_id is None:
            return TopicState.PENDING, "not placed"
        state = self.shards[shard_id].state
        if topic in state.subscribed:
            return TopicState.ACTIVE, ""
        if topic in state.failed:
            return TopicState.REFUSED, state.failed[topic]
        if state.fatal is not None:
            return TopicState.REFUSED, state.fatal
        return TopicState.PENDING, "waiting for the upstream"

    def tighten(self, limits: dict[str, int]) -> None:
        """The upstream told its real limits: they replace the configured ones."""
        changed = []
        for name in ("connections", "subscriptions_per_connection", "subscriptions_total"):
            value = limits.get(name)
            if value and value != getattr(self.quotas, name):
                setattr(self.quotas, name, value)
                changed.append(f"{name}={value}")
        minute, hour = limits.get("connects_per_minute"), limits.get("connects_per_hour")
        if minute or hour:
            self.quotas.connects_per_minute = minute or self.quotas.connects_per_minute
            self.quotas.connects_per_hour = hour or self.quotas.connects_per_hour
            self.gate.set_limits(
                self.quotas.connects_per_minute, self.quotas.connects_per_hour, time.monotonic()
            )
        if changed:
            log.info("%s: quotas from the upstream: %s", self.name, ", ".join(changed))

    def describe(self) -> dict[str, object]:
        return {
            "connections": len(self.shards),
            "quotas": {f: getattr(self.quotas, f) for f in self.quotas.__struct_fields__},
            "subscriptions": {str(i): len(s.topics) for i, s in sorted(self.shards.items())},
        }
