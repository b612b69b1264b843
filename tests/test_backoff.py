"""Unit tests for the pure reconnect timing parts, with an injected clock and RNG."""

from __future__ import annotations

import random

from gateway.core.backoff import Backoff


def test_backoff_grows_capped_with_jitter() -> None:
    """Delays double up to the cap and stay within [d/2, d]."""
    backoff = Backoff(1.0, 8.0, random.Random(7))
    delays = [backoff.next_delay() for _ in range(8)]
    for attempt, delay in enumerate(delays):
        ceiling = min(8.0, 2.0**attempt)
        assert ceiling / 2 <= delay <= ceiling
    assert len(set(delays)) == len(delays)  # jittered, not a fixed ladder
    backoff.reset()
    assert 0.5 <= backoff.next_delay() <= 1.0
