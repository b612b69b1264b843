"""Consumers' requests for topics, over Redis (the protocol is in ``docs/control.md``).

A consumer adds an entry to the ``feedgate:control`` stream (``op`` lease or
release, ``client``, ``topics``, ``ttl``, ``req``); the gateway answers per
topic on ``feedgate:reply:<client>``. Leases live in the ``feedgate:leases``
hash, so demand is rebuilt from Redis after a restart; each request's effects
and the read cursor are written in one MULTI/EXEC, so no request is acted on
twice. A lease expires at its entry's time plus ``ttl``: processing an entry
again gives the same answer.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Mapping
from typing import Any

import msgspec
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from gateway.core.demand import Demand
from gateway.core.quota import Refused
from gateway.errors import TopicError
from gateway.routing import NoRoute, Router
from gateway.topics import parse_topic
from gateway.upstreams import TopicState, UpstreamPool

log = logging.getLogger("feedgate.control")

CONTROL = "feedgate:control"
CURSOR = "feedgate:control:cursor"
LEASES = "feedgate:leases"
REPLY = "feedgate:reply:"
#: Why a topic is refused; the reply's ``reason`` is one of these.
REASONS = ("unknown_topic", "no_upstream", "quota", "upstream_refused", "malformed_request")

_CLIENT = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
MAX_TOPICS = 100
REPLY_TTL_S = 3600
REPLY_MAXLEN = 1000


class Request(msgspec.Struct, frozen=True):
    """One validated control entry."""

    op: str
    client: str
    topics: tuple[str, ...]
    ttl: float
    req: str


class BadRequest(Exception):
    """The entry cannot be acted on; ``client`` is who to tell, if known."""

    def __init__(self, message: str, client: str | None) -> None:
        super().__init__(message)
        self.client = client


def parse_request(fields: Mapping[str, str], default_ttl: float, max_ttl: float) -> Request:
    """Validate a control entry; raises BadRequest saying what is wrong."""
    client = fields.get("client", "")
    known = client if _CLIENT.match(client) else None
    if known is None:
        raise BadRequest("client must be 1-64 of A-Z a-z 0-9 _ . : -", None)
    op = fields.get("op", "")
    if op not in ("lease", "release"):
        raise BadRequest(f"op must be lease or release, not {op[:20]!r}", known)
    topics = tuple(t for t in re.split(r"[\s,]+", fields.get("topics", "")) if t)
    if not topics or len(topics) > MAX_TOPICS:
        raise BadRequest(f"topics must name 1 to {MAX_TOPICS} topics", known)
    try:
        ttl = float(fields.get("ttl", default_ttl))
    except ValueError:
        raise BadRequest("ttl must be a number of seconds", known) from None
    if not 1 <= ttl <= max_ttl:
        raise BadRequest(f"ttl must be between 1 and {max_ttl:g} seconds", known)
    return Request(op, client, topics, ttl, fields.get("req", "")[:64])


def entry_time(entry_id: str) -> float:
    """Seconds since the epoch from a stream entry id (``<ms>-<seq>``)."""
    return int(entry_id.split("-", 1)[0]) / 1000


class ControlPlane:
    """Reads consumers' requests and keeps upstream subscriptions to their demand."""

    def __init__(
        self,
        url: str,
        router: Router,
        pools: Mapping[str, UpstreamPool],
        demand: Demand,
        *,
        default_ttl: float = 30.0,
        max_ttl: float = 3600.0,
        tick: float = 0.5,
    ) -> None:
        self._redis = aioredis.Redis.from_url(url, decode_responses=True, socket_timeout=10)
        self._router = router
        self._pools = pools
        self.demand = demand
        self._default_ttl = default_ttl
        self._max_ttl = max_ttl
        self._tick = tick
        self._cursor = "0-0"
        self._told: dict[tuple[str, str], str] = {}
        self.processed = 0
        self.malformed = 0

    async def close(self) -> None:
        await self._redis.aclose()

    # --- the loop -----------------------------------------------------------------

    async def run(self) -> None:
        """Restore demand, then process requests and lease expiry until cancelled."""
        while True:
            try:
                await self._restore()
                break
            except (RedisError, OSError) as exc:
                log.warning("control: redis not reachable (%s); retrying", exc)
                await asyncio.sleep(1.0)
        while True:
            try:
                reply: Any = await self._redis.xread(
                    {CONTROL: self._cursor}, count=100, block=int(self._tick * 1000)
                )
                for _, entries in reply or []:
                    for entry_id, fields in entries:
                        await self._process(entry_id, fields)
                await self._maintain(time.time())
            except (RedisError, OSError) as exc:
                log.warning("control: redis error (%s); retrying", exc)
                await asyncio.sleep(1.0)

    async def _restore(self) -> None:
        """Demand from the leases hash, the cursor from its key (a restart loses nothing)."""
        cursor: Any = await self._redis.get(CURSOR)
        self._cursor = cursor or "0-0"
        stored: Any = await self._redis.hgetall(LEASES)
        now = time.time()
        for key, expires_ms in stored.items():
            topic, _, client = key.partition(" ")
            self.demand.lease(client, [topic], int(expires_ms) / 1000, now)
        for name in sorted(self.demand.topics() - set(self._router.assigned)):
            await self._place(name)
        if stored:
            log.info("control: restored %d leases on %d topics", len(stored),
                     len({k.partition(' ')[0] for k in stored}))  # fmt: skip

    async def _place(self, name: str) -> tuple[str, str, str]:
        """Route and subscribe a topic: (status, reason, detail)."""
        try:
            topic = parse_topic(name)
        except TopicError as exc:
            return "refused", "unknown_topic", str(exc)
        route = self._router.route(topic)
        if isinstance(route, NoRoute):
            return "refused", "no_upstream", route.detail
        refused = await self._pools[route].add(topic)
        if isinstance(refused, Refused):
            return "refused", "quota", f"{refused.quota}: {refused.detail}"
        self._router.assign(name, route)
        return "accepted", "", route

    # --- requests -----------------------------------------------------------------

    async def _process(self, entry_id: str, fields: dict[str, str]) -> None:
        replies: list[tuple[str, dict[str, str]]] = []
        writes: dict[str, int] = {}
        deletes: list[str] = []
        try:
            request = parse_request(fields, self._default_ttl, self._max_ttl)
        except BadRequest as exc:
            self.malformed += 1
            log.warning("control: malformed request %s: %s", entry_id, exc)
            if exc.client is not None:
                replies.append((exc.client, {"req": fields.get("req", "")[:64], "topic": "",
                                             "status": "refused", "reason": "malformed_request",
                                             "detail": str(exc)}))  # fmt: skip
        else:
            now = time.time()
            if request.op == "lease":
                expires = entry_time(entry_id) + request.ttl
                for name in request.topics:
                    status, reason, detail = await self._lease(request.client, name, expires, now)
                    if status != "refused":
                        writes[f"{name} {request.client}"] = int(expires * 1000)
                    answer = self._reply(request.req, name, status, reason, detail, expires)
                    replies.append((request.client, answer))
            else:
                dropped = set(self.demand.release(request.client, request.topics, now))
                for name in request.topics:
                    deletes.append(f"{name} {request.client}")
                    self._told.pop((name, request.client), None)
                    status = "released" if name in dropped else "not_held"
                    replies.append((request.client, self._reply(request.req, name, status)))
        await self._commit(entry_id, writes, deletes, replies)
        self.processed += 1

    async def _lease(
        self, client: str, name: str, expires: float, now: float
    ) -> tuple[str, str, str]:
        if name in self._router.assigned:
            status, reason, detail = "accepted", "", ""
        else:
            status, reason, detail = await self._place(name)
            if status == "refused":
                return status, reason, detail
        self.demand.lease(client, [name], expires, now)
        state, upstream_detail = self._state(name)
        if state == TopicState.ACTIVE:
            self._told[(name, client)] = "active"
            return "active", "", ""
        if state == TopicState.REFUSED:
            return "refused", "upstream_refused", upstream_detail
        self._told[(name, client)] = "accepted"
        return status, reason, detail if status != "accepted" else ""

    def _state(self, name: str) -> tuple[str, str]:
        upstream = self._router.assigned.get(name)
        if upstream is None:
            return TopicState.PENDING, ""
        return self._pools[upstream].state_of(name)

    @staticmethod
    def _reply(
        req: str, topic: str, status: str, reason: str = "", detail: str = "",
        expires: float | None = None,
    ) -> dict[str, str]:  # fmt: skip
        fields = {"req": req, "topic": topic, "status": status, "reason": reason, "detail": detail}
        if expires is not None and status != "refused":
            fields["expires_ms"] = str(int(expires * 1000))
        return fields

    async def _commit(
        self,
        cursor: str | None,
        writes: dict[str, int],
        deletes: list[str],
        replies: list[tuple[str, dict[str, str]]],
    ) -> None:
        """Leases, replies and the cursor in one transaction."""
        async with self._redis.pipeline(transaction=True) as pipe:
            if writes:
                pipe.hset(LEASES, mapping=writes)  # type: ignore[arg-type]
            if deletes:
                pipe.hdel(LEASES, *deletes)
            for client, fields in replies:
                key = REPLY + client
                pipe.xadd(key, fields, maxlen=REPLY_MAXLEN, approximate=True)  # type: ignore[arg-type]
                pipe.expire(key, REPLY_TTL_S)
            if cursor is not None:
                pipe.set(CURSOR, cursor)
            await pipe.execute()
        if cursor is not None:
            self._cursor = cursor

    # --- expiry, grace, upstream answers ---------------------------------------------

    async def _maintain(self, now: float) -> None:
        replies: list[tuple[str, dict[str, str]]] = []
        deletes: list[str] = []
        for lease in self.demand.expire(now):
            deletes.append(f"{lease.topic} {lease.client}")
            self._told.pop((lease.topic, lease.client), None)
            replies.append((lease.client, self._reply("", lease.topic, "expired")))
        for (name, client), told in list(self._told.items()):
            if self._state(name)[0] == TopicState.ACTIVE and told != "active":
                self._told[(name, client)] = "active"
                replies.append((client, self._reply("", name, "active")))
        for name in list(self._router.assigned):
            state, detail = self._state(name)
            if state != TopicState.REFUSED or name in self.demand.pinned:
                continue
            # The upstream said no: tell every holder, and free the slot at once.
            for client in self.demand.holders(name):
                self._told.pop((name, client), None)
                self.demand.release(client, [name], now)
                deletes.append(f"{name} {client}")
                replies.append((client, self._reply("", name, "refused", "upstream_refused",
                                                    detail)))  # fmt: skip
            await self._unplace(name)
        for name in self.demand.removable(now):
            await self._unplace(name)
        if replies or deletes:
            await self._commit(None, {}, deletes, replies)

    async def _unplace(self, name: str) -> None:
        upstream = self._router.assigned.get(name)
        self.demand.forget(name)
        if upstream is not None:
            self._router.release(name)
            await self._pools[upstream].remove(name)
            log.info("control: %s unsubscribed from %s (no lease left)", name, upstream)

    # --- visibility -------------------------------------------------------------------

    def subscriptions(self) -> list[dict[str, Any]]:
        """Each topic with its upstream, connection, state, pin, holders and grace."""
        rows = []
        for name in sorted(self.demand.topics() | set(self._router.assigned)):
            upstream = self._router.assigned.get(name)
            pool = self._pools.get(upstream) if upstream else None
            state, detail = pool.state_of(name) if pool else (TopicState.PENDING, "")
            grace = self.demand.grace_until(name)
            rows.append({
                "topic": name,
                "upstream": upstream,
                "connection": pool.placement.get(name) if pool else None,
                "state": state,
                "detail": detail,
                "pinned": name in self.demand.pinned,
                "holders": {c: int(e * 1000) for c, e in self.demand.holders(name).items()},
                "grace_until_ms": None if grace is None else int(grace * 1000),
            })  # fmt: skip
        return rows
