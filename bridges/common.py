"""Small sans-I/O helpers that more than one bridge needs."""

from __future__ import annotations

from collections import deque
from decimal import Decimal


def plain(value: Decimal) -> str:
    """A decimal in plain positional notation, digits as received (``1E-8`` → ``0.00000001``)."""
    return format(value, "f")


class RecentIds:
    """Remembers the last ``size`` ids per key, so replayed trades are published once."""

    __slots__ = ("_order", "_seen", "_size")

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._seen: dict[str, set[str]] = {}
        self._order: dict[str, deque[str]] = {}

    def first_time(self, key: str, item: str) -> bool:
        """True the first time ``item`` is seen for ``key`` (within the window)."""
        seen = self._seen.get(key)
        if seen is None:
            seen = self._seen[key] = set()
            self._order[key] = deque()
        if item in seen:
            return False
        order = self._order[key]
        seen.add(item)
        order.append(item)
        if len(order) > self._size:
            seen.discard(order.popleft())
        return True
