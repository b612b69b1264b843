"""The live status line: events per second per topic, Redis lag, upstream state."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from gateway.session import SessionState


class RateMeter:
    """Turns cumulative per-topic counters into rates between two readings."""

    def __init__(self) -> None:
        self._last: Counter[str] = Counter()
        self._last_at: float | None = None

    def rates(self, totals: Mapping[str, int], now: float) -> dict[str, float]:
        """Events per second per topic since the previous call (empty on the first)."""
        previous, previous_at = self._last, self._last_at
        self._last, self._last_at = Counter(totals), now
        if previous_at is None or now <= previous_at:
            return {}
        span = now - previous_at
        return {topic: (count - previous[topic]) / span for topic, count in totals.items()}


def format_status(
    rates: Mapping[str, float],
    lag_ms: float,
    pending: int,
    redis_ok: bool,
    upstreams: Sequence[tuple[str, SessionState]],
    width: int | None = None,
) -> str:
    """One line: total rate, per-topic rates (busiest first), lag, upstream states."""
    total = sum(rates.values())
    ups = " ".join(
        f"{name}:{_upstream_word(state)}({len(state.subscribed)}/{len(state.wanted)})"
        for name, state in upstreams
    )
    head = (
        f"feedgate {total:,.1f} ev/s | redis {'ok' if redis_ok else 'DOWN'} lag {lag_ms:.1f} ms"
        f" pending {pending} | {ups} |"
    )
    busiest = sorted(rates.items(), key=lambda item: (-item[1], item[0]))
    line = head + "".join(f" {topic} {rate:.1f}/s" for topic, rate in busiest if rate > 0)
    if width is not None and len(line) > width:
        line = line[: max(width - 1, 0)] + "…"
    return line


def _upstream_word(state: SessionState) -> str:
    if state.fatal is not None:
        return "FATAL"
    if not state.connected:
        return "down"
    return "ok" if set(state.wanted) <= state.subscribed else "subscribing"
