"""The Kraken v2 book checksum, and a book kept the way it needs (kraken.md §8).

Levels are ``(price, qty)`` text exactly as printed on the wire: the bridge decodes
each JSON number into a ``Decimal`` from its text and prints it with
``format(d, "f")``, which gives the same digits back, trailing zeros included (§5).
The checksum is a CRC32 over the top 10 levels a side, so the book must be cut to
the subscribed depth after every message (``CheckedBook``).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from decimal import Decimal
from itertools import islice

from gateway.core.book import Level, OrderBook, Side

#: §8: the checksum always covers 10 levels a side, whatever the subscribed depth.
CHECKSUM_LEVELS = 10


def digits(text: str) -> str:
    """A number's checksum text: drop ``.``, then strip leading zeros; all zeros → ``0``.

    ``"45285.2"`` → ``"452852"``, ``"0.00100000"`` → ``"100000"``, ``"45281.0"`` → ``"452810"``.
    """
    return text.replace(".", "").lstrip("0") or "0"


def checksum_text(asks: Iterable[tuple[str, str]], bids: Iterable[tuple[str, str]]) -> str:
    """The string the CRC32 is taken of: top 10 asks (lowest first), then top 10 bids
    (highest first), price then qty per level; a shorter side uses what it has."""
    parts: list[str] = []
    for side in (asks, bids):
        for price, qty in islice(side, CHECKSUM_LEVELS):
            parts.append(digits(price))
            parts.append(digits(qty))
    return "".join(parts)


def book_checksum(asks: Iterable[tuple[str, str]], bids: Iterable[tuple[str, str]]) -> int:
    """``crc32(asks_string + bids_string)`` as an unsigned 32-bit value (zlib, IEEE)."""
    return zlib.crc32(checksum_text(asks, bids).encode("ascii")) & 0xFFFFFFFF


ParsedLevel = tuple[Decimal, str, str, bool]
"""One wire level, checked: (price, price text, qty text, qty is zero)."""
Changes = dict[Decimal, tuple[str, str | None]]
"""What a message did to one side: price → (price text, qty text, or None: removed)."""


class CheckedBook:
    """One market's book kept as Kraken's checksum sees it (§8).

    Levels are applied in array order (an update may repeat a price; the last one
    wins), then each side is cut to the subscribed depth: Kraken sends no delete for a
    level that only falls out of scope, and a book that keeps it matches the checksum
    less and less often. The text of each level is kept exactly as received.
    """

    __slots__ = ("_book", "_counts", "depth")

    def __init__(self, depth: int) -> None:
        self.depth = depth
        self._book = OrderBook()
        self._counts: dict[Side, int] = {"bid": 0, "ask": 0}

    def apply(
        self, bids: Iterable[ParsedLevel], asks: Iterable[ParsedLevel]
    ) -> tuple[Changes, Changes]:
        """Apply one message's levels and truncate; the net change per side."""
        bid_changes: Changes = {}
        ask_changes: Changes = {}
        self._apply("bid", bids, bid_changes)
        self._apply("ask", asks, ask_changes)
        self._truncate(bid_changes, ask_changes)
        return bid_changes, ask_changes

    def checksum(self) -> int:
        """The CRC32 of the top 10 levels a side, as the book stands."""
        bids, asks = self._book.levels(CHECKSUM_LEVELS)
        return book_checksum(asks, bids)

    def levels(self) -> tuple[list[Level], list[Level]]:
        """Every level: bids highest first, asks lowest first."""
        return self._book.levels()

    def _apply(self, side: Side, levels: Iterable[ParsedLevel], changes: Changes) -> None:
        book = self._book
        for price, price_text, qty_text, zero in levels:
            before = len(book)
            book.set_level(side, price_text, qty_text)
            self._counts[side] += len(book) - before
            changes[price] = (price_text, None if zero else qty_text)

    def _truncate(self, bid_changes: Changes, ask_changes: Changes) -> None:
        depth, counts = self.depth, self._counts
        if counts["bid"] <= depth and counts["ask"] <= depth:
            return
        bids, asks = self._book.levels()
        sides: tuple[tuple[Side, list[Level], Changes], ...] = (
            ("bid", bids, bid_changes),
            ("ask", asks, ask_changes),
        )
        for side, levels, changes in sides:
            for price_text, _ in levels[depth:]:
                self._book.remove_level(side, price_text)
                changes[Decimal(price_text)] = (price_text, None)
            counts[side] = min(len(levels), depth)
