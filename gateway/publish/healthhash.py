"""The ``feedgate:health:<instance>`` hash: liveness that consumers can read in Redis.

Refreshed every few seconds with a TTL, so it disappears by itself when the
gateway dies. Off the hot path, so it uses redis-py.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger("feedgate.health")

KEY_PREFIX = "feedgate:health:"


class HealthHash:
    """Keeps one health hash fresh."""

    def __init__(
        self, url: str, instance: str, report: Callable[[], dict[str, Any]], ttl: float
    ) -> None:
        self.key = KEY_PREFIX + instance
        self._client = aioredis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._report = report
        self._ttl_ms = int(ttl * 1000)
        self._started_ms = time.time_ns() // 1_000_000

    async def refresh(self) -> None:
        """Write the current report; a Redis failure is logged, never raised."""
        report = self._report()
        fields = {
            "ready": "1" if report["ready"] else "0",
            "pid": str(os.getpid()),
            "started_ms": str(self._started_ms),
            "updated_ms": str(time.time_ns() // 1_000_000),
            "report": json.dumps(report, sort_keys=True),
        }
        try:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.hset(self.key, mapping=fields)  # type: ignore[arg-type]  # invariant key type
                pipe.pexpire(self.key, self._ttl_ms)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            log.debug("health hash not refreshed: %s", exc)

    async def close(self) -> None:
        await self._client.aclose()
