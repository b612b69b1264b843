"""Reconnect delays: capped exponential backoff with jitter (pure, no clock).

The least interval and budgets between connects of one upstream live in
``gateway.core.ratelimit.ConnectGate``.
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
