"""Token buckets and the connect gate: pure rate limits that take ``now`` from the caller."""

from __future__ import annotations

from collections.abc import Sequence


class TokenBucket:
    """``rate`` tokens a second up to ``burst``; taking a token that is not there waits."""

    def __init__(self, rate: float, burst: float, now: float = 0.0) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a token bucket needs rate > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._at = now

    def _refill(self, now: float) -> None:
        if now > self._at:
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now

    def wait_time(self, now: float, n: float = 1.0) -> float:
        """Seconds until ``n`` tokens are there (0 when they are now)."""
        self._refill(now)
        missing = n - self._tokens
        return 0.0 if missing <= 0 else missing / self.rate

    def try_take(self, now: float, n: float = 1.0) -> bool:
        """Take ``n`` tokens if they are there; False (and nothing taken) otherwise."""
        self._refill(now)
        if self._tokens < n:
            return False
        self._tokens -= n
        return True

    def take(self, now: float, n: float = 1.0) -> None:
        """Take ``n`` tokens, going into debt if needed (the caller waited ``wait_time``)."""
        self._refill(now)
        self._tokens -= n

    def drain(self, now: float) -> None:
        """Empty the bucket: the upstream said we went too fast (429 feedback)."""
        self._refill(now)
        self._tokens = min(self._tokens, 0.0)


class ConnectGate:
    """When one upstream (one key) may open its next connection.

    Combines a least interval between connects with per-minute and per-hour
    buckets; shared by every connection of that upstream.
    """

    def __init__(
        self,
        min_interval: float,
        per_minute: int | None = None,
        per_hour: int | None = None,
        now: float = 0.0,
    ) -> None:
        self.min_interval = min_interval
        self._last: float | None = None
        self._buckets: list[TokenBucket] = []
        self.set_limits(per_minute, per_hour, now)

    def set_limits(self, per_minute: int | None, per_hour: int | None, now: float) -> None:
        """Replace the per-minute/per-hour limits (e.g. from CryptoCompare's welcome)."""
        buckets: list[TokenBucket] = []
        if per_minute:
            buckets.append(TokenBucket(per_minute / 60.0, per_minute, now))
        if per_hour:
            buckets.append(TokenBucket(per_hour / 3600.0, per_hour, now))
        self._buckets = buckets

    @property
    def buckets(self) -> Sequence[TokenBucket]:
        return self._buckets

    def delay(self, now: float) -> float:
        """Seconds to wait before the next connect is allowed."""
        pace = 0.0 if self._last is None else self._last + self.min_interval - now
        return max([0.0, pace, *(b.wait_time(now) for b in self._buckets)])

    def connecting(self, now: float) -> None:
        """Record a connect made at ``now``."""
        self._last = now
        for bucket in self._buckets:
            bucket.take(now)

    def refused(self, now: float) -> None:
        """The upstream refused a connect for going too fast: spend what is left."""
        for bucket in self._buckets:
            bucket.drain(now)
