"""The L2 order-book engine every bridge shares: one book plus its sequencing rules.

``OrderBook`` holds the levels; ``BookSync`` decides which snapshots and deltas
may touch it (Cryptowatch note §6, CryptoCompare note §3.4). Pure: no clock, no
I/O. Prices and amounts are compared as ``Decimal``, never float, and the text
is kept exactly as the upstream sent it, so publishing loses no digits.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Literal, TypeAlias

import msgspec

Level: TypeAlias = tuple[str, str]
"""(price text, amount text) exactly as the upstream sent them."""

Side: TypeAlias = Literal["bid", "ask"]

_ZERO = Decimal(0)
_REMOVED = "0"


def _number(text: str, what: str) -> Decimal:
    """``text`` as a finite Decimal; the notes ask for decimals, never floats."""
    try:
        value = Decimal(text)
    except (InvalidOperation, TypeError, ValueError):
        raise ValueError(f"{what} is not a decimal number: {text!r}") from None
    if not value.is_finite():
        raise ValueError(f"{what} is not finite: {text!r}")
    return value


class _BookSide:
    """One side, keyed so that the best level sorts last.

    The key is the price for bids and the negated price for asks, so both sides
    keep one ascending list with the best at the end: ``best`` is O(1), and the
    busy top of the book is the cheap end of the list to insert into.
    """

    __slots__ = ("_keys", "_levels", "_negate")

    def __init__(self, negate: bool) -> None:
        self._negate = negate
        self._levels: dict[Decimal, Level] = {}
        self._keys: list[Decimal] = []  # ascending; best last

    def key(self, price: Decimal) -> Decimal:
        # copy_negate is exact; unary minus would round to the context precision.
        return price.copy_negate() if self._negate else price

    def price(self, key: Decimal) -> Decimal:
        return key.copy_negate() if self._negate else key

    def set(self, key: Decimal, level: Level) -> None:
        if key not in self._levels:
            insort(self._keys, key)
        self._levels[key] = level  # the newest text wins ("100.50" replaces "100.5")

    def remove(self, key: Decimal) -> bool:
        if self._levels.pop(key, None) is None:
            return False
        del self._keys[bisect_left(self._keys, key)]
        return True

    def replace(self, levels: dict[Decimal, Level]) -> None:
        self._levels = levels
        self._keys = sorted(levels)

    def best_key(self) -> Decimal | None:
        return self._keys[-1] if self._keys else None

    def best(self) -> Level | None:
        return self._levels[self._keys[-1]] if self._keys else None

    def levels(self, depth: int | None) -> list[Level]:
        keys = self._keys if depth is None else self._keys[max(0, len(self._keys) - depth) :]
        return [self._levels[key] for key in reversed(keys)]

    def __len__(self) -> int:
        return len(self._keys)


# A delta side after parsing: key → (price text, amount text, or None to remove).
_Changes: TypeAlias = dict[Decimal, tuple[str, str | None]]


class OrderBook:
    """One market's L2 book. Prices are compared as Decimal; the text is kept as received."""

    def __init__(self) -> None:
        self._bids = _BookSide(negate=False)
        self._asks = _BookSide(negate=True)

    def _side(self, side: Side) -> _BookSide:
        if side == "bid":
            return self._bids
        if side == "ask":
            return self._asks
        raise ValueError(f"side must be 'bid' or 'ask', not {side!r}")

    def replace(self, bids: Iterable[Level], asks: Iterable[Level]) -> None:
        """Make the book exactly these levels (a snapshot); zero amounts are left out.

        Everything is parsed before the book changes, so a bad level leaves it as it was.
        """
        new_bids = self._parse_side(self._bids, bids)
        new_asks = self._parse_side(self._asks, asks)
        self._bids.replace(new_bids)
        self._asks.replace(new_asks)

    @staticmethod
    def _parse_side(side: _BookSide, levels: Iterable[Level]) -> dict[Decimal, Level]:
        parsed: dict[Decimal, Level] = {}
        for price, amount in levels:
            key = side.key(_number(price, "price"))
            if _number(amount, "amount") == _ZERO:
                parsed.pop(key, None)
            else:
                parsed[key] = (price, amount)  # a repeated price: the last one wins
        return parsed

    def set_level(self, side: Side, price: str, amount: str) -> None:
        """Insert or replace the level at ``price``; a zero amount removes it."""
        book_side = self._side(side)
        key = book_side.key(_number(price, "price"))
        if _number(amount, "amount") == _ZERO:
            book_side.remove(key)
        else:
            book_side.set(key, (price, amount))

    def remove_level(self, side: Side, price: str) -> None:
        """Delete the level at ``price``; an absent price is a no-op (Cryptowatch §6)."""
        book_side = self._side(side)
        book_side.remove(book_side.key(_number(price, "price")))

    def levels(self, depth: int | None = None) -> tuple[list[Level], list[Level]]:
        """The top ``depth`` levels per side (all when None): bids descending, asks ascending."""
        if depth is not None and depth < 0:
            raise ValueError(f"depth must be >= 0, not {depth}")
        return self._bids.levels(depth), self._asks.levels(depth)

    def best(self) -> tuple[Level | None, Level | None]:
        """The best bid and best ask, or None for an empty side."""
        return self._bids.best(), self._asks.best()

    def crossed(self) -> bool:
        """True when best bid >= best ask: a book that cannot be real, usually a missed delta."""
        bid, ask = self._bids.best_key(), self._asks.best_key()
        if bid is None or ask is None:
            return False
        return self._bids.price(bid) >= self._asks.price(ask)

    def __len__(self) -> int:
        return len(self._bids) + len(self._asks)

    def _clear(self) -> None:
        self._bids.replace({})
        self._asks.replace({})

    def _parse_delta(self, delta: Delta) -> tuple[_Changes, _Changes]:
        """Both sides of a delta, parsed before anything is applied."""
        return (
            _parse_changes(self._bids, delta.bid_set, delta.bid_remove),
            _parse_changes(self._asks, delta.ask_set, delta.ask_remove),
        )

    def _apply_delta(
        self, bids: _Changes, asks: _Changes
    ) -> tuple[tuple[Level, ...], tuple[Level, ...]]:
        """Apply a parsed delta; the changed levels of each side."""
        return _apply_changes(self._bids, bids), _apply_changes(self._asks, asks)


def _parse_changes(side: _BookSide, sets: Iterable[Level], removes: Iterable[str]) -> _Changes:
    """One side of a delta, reduced to its effect per price.

    Cryptowatch §6: the last entry for a price wins and removes come after sets.
    """
    changes: _Changes = {}
    for price, amount in sets:
        key = side.key(_number(price, "price"))
        zero = _number(amount, "amount") == _ZERO
        changes[key] = (price, None if zero else amount)
    for price in removes:
        changes[side.key(_number(price, "price"))] = (price, None)
    return changes


def _apply_changes(side: _BookSide, changes: _Changes) -> tuple[Level, ...]:
    """Apply parsed changes; return the levels that changed, best first, removals as "0"."""
    changed: list[tuple[Decimal, Level]] = []
    for key, (price, amount) in changes.items():
        if amount is None:
            if side.remove(key):  # an absent price is a no-op, not a change
                changed.append((key, (price, _REMOVED)))
        else:
            side.set(key, (price, amount))
            changed.append((key, (price, amount)))
    changed.sort(key=lambda item: item[0], reverse=True)
    return tuple(level for _, level in changed)


class Snapshot(msgspec.Struct, frozen=True):
    """A whole book as of ``seq`` (the seq of the last delta it includes)."""

    seq: int
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]


class Delta(msgspec.Struct, frozen=True):
    """Changes that take the book from ``seq - 1`` to ``seq``."""

    seq: int
    bid_set: tuple[Level, ...] = ()
    bid_remove: tuple[str, ...] = ()
    ask_set: tuple[Level, ...] = ()
    ask_remove: tuple[str, ...] = ()


class Applied(msgspec.Struct, frozen=True):
    """The book changed: a snapshot (whole sides) or a delta (changed levels, removals as "0")."""

    action: str  # "snapshot" or "delta"
    seq: int
    prev_seq: int | None  # the book's seq before this change (None for the first snapshot)
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]


class Gap(msgspec.Struct, frozen=True):
    """The book lost sync: deltas were missed, and it stays stale until the next snapshot."""

    expected: int  # the seq the book needed next
    received: int  # the seq that arrived instead (or the first cached one)


Outcome: TypeAlias = Applied | Gap


class _Parsed:
    """A delta checked on arrival, so a bad one is refused before it reaches the cache."""

    __slots__ = ("asks", "bids", "seq")

    def __init__(self, seq: int, bids: _Changes, asks: _Changes) -> None:
        self.seq = seq
        self.bids = bids
        self.asks = asks


class BookSync:
    """Sequencing state machine for one market: snapshot + deltas with seq == book.seq + 1.

    After a ``Gap`` the book only comes back through a snapshot, so the first
    ``Applied`` after a ``Gap`` is always a snapshot. Malformed numbers raise
    ``ValueError`` and leave the state as it was.
    """

    def __init__(self, *, modulus: int | None = None, cache_limit: int = 50) -> None:
        # modulus=2**32 for Cryptowatch (uint32 seqNum that wraps, §6); None for CCSEQ (§3.4).
        if modulus is not None and modulus < 4:
            raise ValueError(f"modulus must be >= 4, not {modulus}")
        if cache_limit < 1:
            raise ValueError(f"cache_limit must be >= 1, not {cache_limit}")
        self._modulus = modulus
        self.book = OrderBook()
        self._seq: int | None = None
        self._in_sync = False
        # Cryptowatch §6: the latest consecutive deltas (50 there), kept while out of sync.
        self._cache: deque[_Parsed] = deque(maxlen=cache_limit)

    @property
    def in_sync(self) -> bool:
        """True when the book is current: a snapshot plus every delta since."""
        return self._in_sync

    @property
    def seq(self) -> int | None:
        """The seq the book is at (stale when not in sync); None before any snapshot."""
        return self._seq

    def _norm(self, seq: int) -> int:
        return seq if self._modulus is None else seq % self._modulus

    def _ahead(self, base: int, seq: int) -> int:
        """How far ``seq`` is past ``base``; negative when behind. Wrap-safe with a modulus."""
        distance = seq - base
        if self._modulus is not None:
            # Go compares uint32 seqNums with wrapping arithmetic (§6): half the ring each way.
            distance %= self._modulus
            if distance >= self._modulus // 2:
                distance -= self._modulus
        return distance

    def _apply(self, parsed: _Parsed) -> Applied:
        prev = self._seq
        bids, asks = self.book._apply_delta(parsed.bids, parsed.asks)
        self._seq = parsed.seq
        return Applied("delta", parsed.seq, prev, bids, asks)

    def on_delta(self, delta: Delta) -> list[Outcome]:
        """Apply, ignore, or cache one delta; a ``Gap`` when this delta shows one was missed."""
        parsed = _Parsed(self._norm(delta.seq), *self.book._parse_delta(delta))
        if self._in_sync and self._seq is not None:
            ahead = self._ahead(self._seq, parsed.seq)
            if ahead == 1:  # applied only if delta.seqNum == book.seqNum + 1 (§6)
                return [self._apply(parsed)]
            if ahead <= 0:  # a duplicate or an old delta: already in the book
                return []
            # Missed deltas: CryptoCompare §3.4 "a gap means the book is out of sync".
            self._in_sync = False
            self._cache.append(parsed)  # empty while in sync: the delta starts a new run
            return [Gap(expected=self._norm(self._seq + 1), received=parsed.seq)]
        # Out of sync: a delta that is not max+1 flushes the cache and starts a new run (§6).
        if self._cache and self._ahead(self._cache[-1].seq, parsed.seq) != 1:
            self._cache.clear()
        self._cache.append(parsed)  # the deque drops the oldest past cache_limit
        return []

    def on_snapshot(self, snapshot: Snapshot) -> list[Outcome]:
        """Take the snapshot, then whatever cached deltas follow it; a ``Gap`` if they cannot."""
        prev = self._seq
        self.book.replace(snapshot.bids, snapshot.asks)
        # Always accepted: after a backend restart a lower seqNum is not a gap (§6).
        seq = self._seq = self._norm(snapshot.seq)
        self._in_sync = True
        bids, asks = self.book.levels()
        out: list[Outcome] = [Applied("snapshot", seq, prev, tuple(bids), tuple(asks))]
        if not self._cache:
            return out
        first, last = self._cache[0].seq, self._cache[-1].seq
        if self._ahead(seq, first) > 1:
            # Book older than minDelta-1 (§6): deltas between are lost. Keep the run for
            # the next snapshot.
            self._in_sync = False
            out.append(Gap(expected=self._norm(seq + 1), received=first))
            return out
        if self._ahead(seq, last) > 0:  # minDelta-1 <= book.seqNum < maxDelta: catch up (§6)
            out.extend(self._apply(p) for p in self._cache if self._ahead(seq, p.seq) > 0)
        self._cache.clear()  # applied, or the snapshot already includes them all
        return out

    def reset(self) -> None:
        """Forget the book and the cache (resubscribe or reconnect); in sync again at a snapshot."""
        self.book._clear()
        self._seq = None
        self._in_sync = False
        self._cache.clear()
