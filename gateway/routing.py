"""Which upstream publishes a topic: exactly one at a time.

Order of precedence: the upstream whose config lists the topic (pinned);
then the ``[routes]`` table, most specific key first (``channel.exchange``
before ``channel``, then ``*``); then the first upstream in config order that
can serve it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import msgspec

from gateway.errors import TopicError
from gateway.topics import Topic
from gateway.upstreams import UpstreamPool


class NoRoute(msgspec.Struct, frozen=True):
    """No upstream serves the topic; ``detail`` says why per upstream."""

    detail: str


class Router:
    """Picks the upstream for each topic and remembers the choice while it is wanted."""

    def __init__(
        self,
        pools: Mapping[str, UpstreamPool],
        routes: Mapping[str, str],
        pinned: Mapping[str, str],
    ) -> None:
        self._pools = pools
        self._order: Sequence[str] = list(pools)
        self._routes = dict(routes)
        self.assigned: dict[str, str] = dict(pinned)

    def route(self, topic: Topic) -> str | NoRoute:
        """The upstream for ``topic`` (checked against its bridge), or why there is none."""
        known = self.assigned.get(topic.name)
        if known is not None:
            return known
        routed = self._from_table(topic)
        candidates = [routed] if routed is not None else list(self._order)
        reasons = []
        for name in candidates:
            pool = self._pools.get(name)
            if pool is None:  # configured but left out (needs_key and no key)
                reasons.append(f"{name}: not running (its key is not set)")
                continue
            try:
                pool.check(topic)
            except TopicError as exc:
                reasons.append(f"{name}: {exc}")
                continue
            return name
        return NoRoute("; ".join(reasons) or "no upstream is configured")

    def _from_table(self, topic: Topic) -> str | None:
        for key in (f"{topic.channel}.{topic.exchange}", topic.channel, "*"):
            upstream = self._routes.get(key)
            if upstream is not None:
                return upstream
        return None

    def assign(self, topic: str, upstream: str) -> None:
        self.assigned[topic] = upstream

    def release(self, topic: str) -> None:
        self.assigned.pop(topic, None)
