"""Unit tests for the pure reconnect timing parts, with an injected clock and RNG."""

from __future__ import annotations

import random

from gateway.core.backoff import Backoff, ConnectPacer


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


def test_pacer_keeps_least_interval() -> None:
    """The pacer waits out the least interval between attempts, or a longer demand."""
    pacer = ConnectPacer(5.0)
    assert pacer.wait_before_connect(100.0) == 0.0
    pacer.connecting(100.0)
    assert pacer.wait_before_connect(101.5) == 3.5
    assert pacer.wait_before_connect(101.5, at_least=60.0) == 60.0
    assert pacer.wait_before_connect(106.0) == 0.0
