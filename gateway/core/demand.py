"""Who wants which topic: leases, reference counts, pinned topics and the grace period.

Pure: every method takes ``now`` (seconds). A topic is wanted while it is
pinned (in the config file) or any client holds an unexpired lease on it, and
for ``grace`` seconds after the last lease ends, so a consumer that restarts
quickly does not cost an unsubscribe and a resubscribe.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec


class Lease(msgspec.Struct, frozen=True):
    """One client's hold on one topic, until ``expires`` (seconds since the epoch)."""

    topic: str
    client: str
    expires: float


class Demand:
    """Leases and pins; answers which topics must be subscribed."""

    def __init__(self, grace: float, pinned: Iterable[str] = ()) -> None:
        self.grace = grace
        self.pinned = set(pinned)
        self._holders: dict[str, dict[str, float]] = {}
        self._idle_since: dict[str, float] = {}

    def lease(self, client: str, topics: Iterable[str], expires: float, now: float) -> list[str]:
        """Hold or renew ``topics`` for ``client`` until ``expires``; returns newly wanted ones."""
        new = []
        for topic in topics:
            holders = self._holders.setdefault(topic, {})
            was_wanted = self.is_wanted(topic, now)
            holders[client] = max(expires, holders.get(client, 0.0))
            self._idle_since.pop(topic, None)
            if not was_wanted:
                new.append(topic)
        return new

    def release(self, client: str, topics: Iterable[str], now: float) -> list[str]:
        """Drop ``client``'s leases on ``topics``; returns the topics it really held."""
        dropped = []
        for topic in topics:
            holders = self._holders.get(topic)
            if holders is not None and holders.pop(client, None) is not None:
                dropped.append(topic)
                self._settle(topic, now)
        return dropped

    def expire(self, now: float) -> list[Lease]:
        """Remove and return the leases that ran out by ``now``."""
        gone = []
        for topic, holders in list(self._holders.items()):
            for client, expires in list(holders.items()):
                if expires <= now:
                    del holders[client]
                    gone.append(Lease(topic, client, expires))
            self._settle(topic, now)
        return gone

    def _settle(self, topic: str, now: float) -> None:
        if not self._holders.get(topic):
            self._holders.pop(topic, None)
            self._idle_since.setdefault(topic, now)

    def is_wanted(self, topic: str, now: float) -> bool:
        if topic in self.pinned or self._holders.get(topic):
            return True
        idle = self._idle_since.get(topic)
        return idle is not None and now < idle + self.grace

    def removable(self, now: float) -> list[str]:
        """Topics whose grace period is over: unsubscribe them, then call ``forget``."""
        return sorted(
            t for t, idle in self._idle_since.items()
            if t not in self.pinned and now >= idle + self.grace
        )  # fmt: skip

    def forget(self, topic: str) -> None:
        self._idle_since.pop(topic, None)

    def holders(self, topic: str) -> dict[str, float]:
        """Client → lease expiry for ``topic``."""
        return dict(self._holders.get(topic, {}))

    def grace_until(self, topic: str) -> float | None:
        idle = self._idle_since.get(topic)
        return None if idle is None else idle + self.grace

    def topics(self) -> set[str]:
        """Every topic that is pinned, held, or in its grace period."""
        return self.pinned | set(self._holders) | set(self._idle_since)

    def leases(self) -> list[Lease]:
        return [Lease(t, c, e) for t, hs in self._holders.items() for c, e in hs.items()]
