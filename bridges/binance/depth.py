"""Diff-depth sync of one Binance symbol with a REST snapshot (``binance.md`` §10).

Pure: no I/O and no clock. The caller passes each diff event's update ids with its
receive time, and the REST answer; the machine answers with actions: fetch a snapshot,
start the book at a snapshot, apply a diff under the next engine sequence number, or
declare the book lost. The procedure, as the note gives it (rewritten 2024-12-16, gap
rule corrected 2025-11-12):

1. Buffer the diff events; the first one's ``U`` is noted.
2. Fetch the snapshot (``lastUpdateId``).
3. ``lastUpdateId < U`` of the first buffered event: the snapshot is too old, fetch again.
4. Drop buffered events with ``u <= lastUpdateId``.
5. The book is the snapshot; book id = ``lastUpdateId``.
6. Each buffered, then live, event: ``u < bookId`` → ignore; ``U > bookId + 1`` → events
   were missed: start again from 1 (this symbol only); else apply and set ``bookId = u``.

Two readings where the note leaves room. An event with ``u == bookId`` is ignored too: it
is the event just applied (quantities are absolute, so applying it again would change
nothing but would publish an empty delta). While buffering, an event that does not follow
the previous one (``U > u_prev + 1``) clears the buffer: what came before the hole can
never be bridged, so step 3 must judge the snapshot against the first event after it.

Sequence numbers: the shared book engine applies a delta only when ``seq == seq_book + 1``,
but Binance's ids advance by the number of changes in an event (``U..u``). So the book
starts at ``seq = lastUpdateId`` and each applied event takes the next number
(``lastUpdateId + 1``, ``+ 2``, …): Binance's ids decide *what* is applied (step 6); the
engine's seq only numbers what was applied, gap-free, so the engine never sees a hole the
bridge did not report itself.

Failed or unusable snapshots (an HTTP error, a body that does not decode, a snapshot that
is too old) are fetched again with the first diff event that arrives after a capped
exponential delay, measured on the events' receive times: no clock, no hammering of the
REST budget, and each retry sees a stream that has moved on.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass
from typing import Generic, TypeAlias, TypeVar

T = TypeVar("T")

MS = 1_000_000
#: First retry delay after an unusable snapshot; it doubles per failure up to RETRY_MAX_NS.
RETRY_BASE_NS = 250 * MS
RETRY_MAX_NS = 30_000 * MS
#: Diff events kept while a snapshot is on its way; the oldest go first (a hole then
#: shows in step 3 or 6 and the symbol fetches again).
BUFFER_LIMIT = 5_000


class Phase(enum.Enum):
    BUFFERING = "buffering"  # no snapshot asked for yet (or waiting to ask again)
    FETCHING = "fetching"  # a snapshot request is out
    SYNCED = "synced"  # the book is live


@dataclass(frozen=True, slots=True)
class NeedSnapshot:
    """Fetch the REST snapshot now."""


@dataclass(frozen=True, slots=True)
class Start:
    """Set the book to the snapshot just received, at engine seq ``seq``."""

    seq: int


@dataclass(frozen=True, slots=True)
class Apply(Generic[T]):
    """Apply ``item`` (a diff event) to the book as engine seq ``seq``."""

    item: T
    seq: int


@dataclass(frozen=True, slots=True)
class Lost:
    """Events were missed: the book is invalid until a new snapshot (``reason`` says why)."""

    reason: str


Action: TypeAlias = NeedSnapshot | Start | Apply[T] | Lost


class DepthSync(Generic[T]):
    """The §10 state machine for one symbol; ``T`` is the caller's diff event type."""

    __slots__ = ("_buffer", "_failures", "_phase", "_retry_at", "book_id", "seq")

    def __init__(self, buffer_limit: int = BUFFER_LIMIT) -> None:
        self._buffer: deque[tuple[int, int, T]] = deque(maxlen=buffer_limit)
        self._phase = Phase.BUFFERING
        self._retry_at = 0  # the first event at or after this receive time asks again
        self._failures = 0
        #: Binance's id of the last change in the book (``bookId``), once synced.
        self.book_id = 0
        #: The engine's seq of the book, once synced.
        self.seq = 0

    @property
    def phase(self) -> Phase:
        return self._phase

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    @property
    def first_buffered(self) -> int | None:
        """``U`` of the first buffered event (step 1), or None."""
        return self._buffer[0][0] if self._buffer else None

    def reset(self) -> None:
        """A new subscription or connection: forget everything (§10: rebuild every book)."""
        self._buffer.clear()
        self._phase = Phase.BUFFERING
        self._retry_at = 0
        self._failures = 0

    def restart(self) -> bool:
        """Drop a live book (the engine lost it): buffer again, fetch with the next event.

        False, and nothing changes, when a resync is already under way.
        """
        if self._phase is not Phase.SYNCED:
            return False
        self._buffer.clear()
        self._phase = Phase.BUFFERING
        self._retry_at = 0
        return True

    # --- events --------------------------------------------------------------------

    def on_diff(self, first: int, last: int, item: T, now: int) -> list[Action[T]]:
        """One diff event ``U``=``first`` .. ``u``=``last`` (the caller checks first <= last)."""
        if self._phase is Phase.SYNCED:
            book_id = self.book_id
            if last <= book_id:
                return []  # step 6: already in the book (a duplicate or an old event)
            if first > book_id + 1:  # step 6, the corrected rule: U > bookId + 1
                reason = f"missed update ids {book_id + 1}-{first - 1}"
                self._buffer.clear()
                self._buffer.append((first, last, item))
                self._phase = Phase.FETCHING  # back to steps 1-2 for this symbol only
                return [Lost(reason), NeedSnapshot()]
            self.book_id = last
            self.seq += 1
            return [Apply(item, self.seq)]
        buffer = self._buffer
        if buffer:
            previous = buffer[-1][1]
            if last <= previous:
                return []  # a duplicate of a buffered event
            if first > previous + 1:
                buffer.clear()  # a hole: nothing before it can be bridged
        buffer.append((first, last, item))
        if self._phase is Phase.BUFFERING and now >= self._retry_at:
            self._phase = Phase.FETCHING
            return [NeedSnapshot()]
        return []

    def on_snapshot(self, last_update_id: int, now: int) -> list[Action[T]]:
        """The REST snapshot arrived (steps 3-6); [] if none was asked for or it is too old."""
        if self._phase is not Phase.FETCHING:
            return []  # a stale answer: this symbol was reset since it was asked for
        buffer = self._buffer
        if not buffer or last_update_id < buffer[0][0]:
            self.on_failure(now)  # step 3: too old, fetch again (after the retry delay)
            return []
        pending = [event for event in buffer if event[1] > last_update_id]  # step 4
        buffer.clear()
        self.book_id = self.seq = last_update_id  # step 5
        self._phase = Phase.SYNCED
        self._failures = 0
        out: list[Action[T]] = [Start(last_update_id)]
        for first, last, item in pending:  # step 6 over the buffered events, then live ones
            out += self.on_diff(first, last, item, now)  # after a Lost these buffer again
        return out

    def on_failure(self, now: int, at_least: int = 0) -> None:
        """The snapshot could not be used: ask again with the first event after a delay."""
        if self._phase is not Phase.FETCHING:
            return
        self._failures += 1
        delay = min(RETRY_MAX_NS, RETRY_BASE_NS << min(self._failures - 1, 16))
        self._retry_at = now + max(delay, at_least)
        self._phase = Phase.BUFFERING
