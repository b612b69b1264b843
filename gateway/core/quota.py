"""Subscription quotas and where the next subscription goes (connection sharding).

Pure: the caller says how many subscriptions each open connection holds; the
answer is a connection index (``len(loads)`` means "open a new one") or a
refusal naming the quota that stops it. Hitting a quota never moves what is
already placed.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec


class Quotas(msgspec.Struct, kw_only=True):
    """One upstream key's limits (mutable: upstream answers can tighten them)."""

    connections: int = 1
    subscriptions_per_connection: int = 600
    subscriptions_total: int = 100_000
    connects_per_minute: int | None = None
    connects_per_hour: int | None = None
    messages_per_second: float = 10.0
    rest_weight_per_minute: int | None = None  # REST request weight (e.g. Binance depth)


class Refused(msgspec.Struct, frozen=True):
    """No room: ``quota`` names the limit, ``detail`` says the numbers."""

    quota: str
    detail: str


def place(loads: Sequence[int], quotas: Quotas) -> int | Refused:
    """Where one more subscription goes, given each connection's current count."""
    total = sum(loads)
    if total >= quotas.subscriptions_total:
        return Refused("subscriptions_total", f"{total} of {quotas.subscriptions_total} in use")
    for index, load in enumerate(loads):
        if load < quotas.subscriptions_per_connection:
            return index
    if len(loads) < quotas.connections:
        return len(loads)
    return Refused(
        "connections",
        f"{len(loads)} connection(s) of {quotas.connections} allowed, each holding "
        f"{quotas.subscriptions_per_connection} subscriptions "
        f"(subscriptions_per_connection)",
    )
