"""Reconnect timing, as two small pure parts (no asyncio, no clock of its own).

``Backoff`` yields capped exponential delays with full jitter; ``ConnectPacer``
keeps a least interval between connection attempts to one upstream (the
CryptoCompare note asks for at least 5 s). Both take ``now`` from the caller.
"""

from __future__ import annotations

import random


class Backoff:
    """Capped exponential backoff with jitter: attempt n waits U[d/2, d], d = min(cap, base·2ⁿ)."""

    def __init__(self, initial: float, maximum: float, rng: random.Random | None = None) -> None:
        self._initial = initial
        self._maximum = maximum
        self._rng = rng or random.Random()
        self._attempt = 0

    def next_delay(self) -> float:
        """The wait before the next attempt; each call counts one more failure."""
        ceiling = min(self._maximum, self._initial * 2.0 ** min(self._attempt, 32))
        self._attempt += 1
        return ceiling / 2 + self._rng.random() * ceiling / 2

    def reset(self) -> None:
        """A connection worked: start again from the initial delay."""
        self._attempt = 0


class ConnectPacer:
    """Keeps at least ``interval`` seconds between connection attempts."""

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._last: float | None = None

    def wait_before_connect(self, now: float, at_least: float = 0.0) -> float:
        """Seconds to wait so the attempt respects both the pace and ``at_least``."""
        pace = 0.0 if self._last is None else self._last + self._interval - now
        return max(0.0, pace, at_least)

    def connecting(self, now: float) -> None:
        """Record an attempt made at ``now``."""
        self._last = now
