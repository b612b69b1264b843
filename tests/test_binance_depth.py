"""Unit tests for the Binance diff-depth sync state machine (``binance.md`` §10)."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bridges.binance.depth import (
    RETRY_BASE_NS,
    RETRY_MAX_NS,
    Action,
    Apply,
    DepthSync,
    Lost,
    NeedSnapshot,
    Phase,
    Start,
)

T0 = 1_763_600_000_000_000_000
MS = 1_000_000


def event(sync: DepthSync[str], first: int, last: int, now: int = T0) -> list[object]:
    return list(sync.on_diff(first, last, f"{first}-{last}", now))


def phase(sync: DepthSync[Any]) -> Phase:
    """The phase, read anew each time (a property access would stay narrowed for mypy)."""
    return sync.phase


def synced_at(book_id: int) -> DepthSync[str]:
    """A sync whose book is live at ``book_id`` (one event buffered, snapshot taken)."""
    sync: DepthSync[str] = DepthSync()
    assert event(sync, book_id, book_id) == [NeedSnapshot()]
    assert sync.on_snapshot(book_id, T0) == [Start(book_id)]
    return sync


def test_first_event_asks_for_one_snapshot() -> None:
    """Step 1-2: the first diff event asks for the snapshot; later ones are only buffered."""
    sync: DepthSync[str] = DepthSync()
    assert phase(sync) is Phase.BUFFERING
    assert event(sync, 157, 160) == [NeedSnapshot()]
    assert phase(sync) is Phase.FETCHING
    assert event(sync, 161, 161) == []
    assert event(sync, 162, 170) == []
    assert (sync.buffered, sync.first_buffered) == (3, 157)


def test_snapshot_older_than_the_first_buffered_event_is_fetched_again() -> None:
    """Step 3: lastUpdateId < U of the first event → no book; fetch again later."""
    sync: DepthSync[str] = DepthSync()
    event(sync, 157, 160)
    assert sync.on_snapshot(150, T0) == []
    assert phase(sync) is Phase.BUFFERING
    assert event(sync, 161, 162, T0 + RETRY_BASE_NS - 1) == []  # not before the retry delay
    assert event(sync, 163, 163, T0 + RETRY_BASE_NS) == [NeedSnapshot()]
    assert sync.on_snapshot(161, T0 + RETRY_BASE_NS) == [
        Start(161),
        Apply("161-162", 162),  # straddles 161: applied whole (absolute quantities)
        Apply("163-163", 163),
    ]
    assert (phase(sync), sync.book_id, sync.seq) == (Phase.SYNCED, 163, 163)


def test_snapshot_just_before_the_first_event_counts_as_too_old() -> None:
    """Step 3 read literally: lastUpdateId == U - 1 is still < U, so it is fetched again."""
    sync: DepthSync[str] = DepthSync()
    event(sync, 157, 160)
    assert sync.on_snapshot(156, T0) == []
    assert phase(sync) is Phase.BUFFERING


def test_first_event_brackets_last_update_id() -> None:
    """Steps 4-6: events with u <= lastUpdateId go; the straddling one applies; seqs count."""
    sync: DepthSync[str] = DepthSync()
    event(sync, 100, 105)
    event(sync, 106, 110)
    event(sync, 111, 112)
    event(sync, 113, 120)
    assert sync.on_snapshot(107, T0) == [
        Start(107),
        Apply("106-110", 108),
        Apply("111-112", 109),
        Apply("113-120", 110),
    ]
    assert sync.book_id == 120  # Binance's id of the last change in the book
    assert sync.seq == 110  # the engine's seq: lastUpdateId + events applied


def test_snapshot_newer_than_every_buffered_event() -> None:
    """A snapshot past the buffer starts the book alone; live events then bracket it."""
    sync: DepthSync[str] = DepthSync()
    event(sync, 100, 105)
    assert sync.on_snapshot(130, T0) == [Start(130)]
    assert event(sync, 106, 125) == []  # old: u < bookId
    assert event(sync, 126, 130) == []  # u == bookId: already in the book
    assert event(sync, 128, 134) == [Apply("128-134", 131)]  # U <= bookId + 1 <= u
    assert event(sync, 135, 135) == [Apply("135-135", 132)]


def test_next_event_at_book_id_plus_one_is_not_a_gap() -> None:
    """The corrected rule (2025-11-12): U == bookId + 1 is the normal next event."""
    sync = synced_at(200)
    assert event(sync, 201, 203) == [Apply("201-203", 201)]
    assert event(sync, 204, 204) == [Apply("204-204", 202)]
    assert phase(sync) is Phase.SYNCED


def test_gap_invalidates_and_refetches() -> None:
    """U > bookId + 1: the book is lost, the gap event is buffered and a snapshot fetched."""
    sync = synced_at(200)
    event(sync, 201, 203)
    assert event(sync, 205, 207) == [Lost("missed update ids 204-204"), NeedSnapshot()]
    assert (phase(sync), sync.first_buffered, sync.buffered) == (Phase.FETCHING, 205, 1)
    assert event(sync, 208, 209) == []  # buffered while the snapshot is on its way
    assert sync.on_snapshot(207, T0) == [Start(207), Apply("208-209", 208)]


def test_duplicate_and_old_events_are_ignored() -> None:
    """Duplicates and events already in the book or the buffer change nothing."""
    sync: DepthSync[str] = DepthSync()
    event(sync, 100, 105)
    assert event(sync, 100, 105) == []
    assert event(sync, 101, 103) == []
    assert sync.buffered == 1
    sync.on_snapshot(104, T0)
    assert event(sync, 100, 105) == []
    assert event(sync, 90, 99) == []
    assert sync.seq == 105


def test_hole_in_the_buffer_restarts_it() -> None:
    """Events before a hole can never be bridged: step 3 judges from the first after it."""
    sync: DepthSync[str] = DepthSync()
    event(sync, 100, 105)
    event(sync, 110, 112)
    assert (sync.first_buffered, sync.buffered) == (110, 1)
    assert sync.on_snapshot(106, T0) == []  # older than 110: too old
    assert event(sync, 113, 114, T0 + RETRY_BASE_NS) == [NeedSnapshot()]
    assert sync.on_snapshot(112, T0) == [Start(112), Apply("113-114", 113)]


def test_retry_delay_doubles_up_to_a_cap() -> None:
    """Unusable snapshots back off exponentially on receive times; at_least raises it."""
    sync: DepthSync[str] = DepthSync()
    now, update_id = T0, 1
    event(sync, update_id, update_id, now)
    delays: list[int] = []
    for _ in range(10):
        sync.on_failure(now)
        delay = min(RETRY_MAX_NS, RETRY_BASE_NS << len(delays))
        update_id += 1
        assert event(sync, update_id, update_id, now + delay - 1) == []
        update_id += 1
        assert event(sync, update_id, update_id, now + delay) == [NeedSnapshot()]
        delays.append(delay)
        now += delay
    assert delays[:3] == [RETRY_BASE_NS, 2 * RETRY_BASE_NS, 4 * RETRY_BASE_NS]
    assert delays[-1] == RETRY_MAX_NS
    hour = 3_600_000 * MS
    sync.on_failure(now, at_least=hour)
    assert event(sync, update_id + 1, update_id + 1, now + hour - 1) == []
    assert event(sync, update_id + 2, update_id + 2, now + hour) == [NeedSnapshot()]
    sync.on_snapshot(update_id + 2, now)
    assert phase(sync) is Phase.SYNCED
    sync.restart()
    event(sync, update_id + 3, update_id + 3, now)
    sync.on_failure(now)  # the success reset the backoff
    assert event(sync, update_id + 4, update_id + 4, now + RETRY_BASE_NS) == [NeedSnapshot()]


def test_stale_answers_and_failures_outside_a_fetch_change_nothing() -> None:
    """A snapshot or failure nobody is waiting for leaves the state alone."""
    sync: DepthSync[str] = DepthSync()
    assert sync.on_snapshot(10, T0) == []
    sync.on_failure(T0)
    assert event(sync, 11, 11) == [NeedSnapshot()]  # no retry delay was set
    sync.on_snapshot(11, T0)
    assert sync.on_snapshot(50, T0) == []
    assert (phase(sync), sync.book_id) == (Phase.SYNCED, 11)


def test_restart_only_drops_a_live_book() -> None:
    """restart() resyncs a live book; during a resync it is a no-op; reset() forgets all."""
    sync = synced_at(10)
    assert sync.restart() is True
    assert phase(sync) is Phase.BUFFERING
    assert event(sync, 11, 11) == [NeedSnapshot()]
    assert sync.restart() is False
    assert phase(sync) is Phase.FETCHING
    sync.reset()
    assert (phase(sync), sync.buffered) == (Phase.BUFFERING, 0)


def test_buffer_is_bounded() -> None:
    """Past the limit the oldest buffered events go first."""
    sync: DepthSync[str] = DepthSync(buffer_limit=3)
    for i in range(1, 6):
        event(sync, i, i)
    assert (sync.buffered, sync.first_buffered) == (3, 3)
    assert sync.on_snapshot(3, T0) == [Start(3), Apply("4-4", 4), Apply("5-5", 5)]


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_live_book_always_equals_the_true_book(data: st.DataObject) -> None:
    """Whatever is lost, repeated or late, a live book holds every change up to book_id."""
    changes = data.draw(st.integers(20, 120))
    cuts = sorted(data.draw(st.sets(st.integers(1, changes - 1), max_size=changes // 2)))
    bounds = [0, *cuts, changes]
    sync: DepthSync[tuple[int, int]] = DepthSync()
    book: list[int] = []  # the update ids whose changes the reconstructed book holds
    seq: int | None = None  # the engine's seq, which must go up by one per delta

    def follow(actions: list[Action[tuple[int, int]]]) -> None:
        nonlocal book, seq
        for action in actions:
            if isinstance(action, Start):
                book, seq = list(range(1, action.seq + 1)), action.seq
            elif isinstance(action, Apply):
                first, last = action.item
                assert seq is not None and action.seq == seq + 1
                assert first <= book[-1] + 1 < last + 1  # no hole, something new
                book.extend(range(book[-1] + 1, last + 1))
                seq = action.seq

    now = T0
    for first, last in itertools.pairwise(bounds):
        if data.draw(st.integers(0, 5), label="lose") == 0:
            continue
        for _ in range(2 if data.draw(st.integers(0, 9), label="repeat") == 0 else 1):
            now += RETRY_MAX_NS  # past any retry delay
            follow(sync.on_diff(first + 1, last, (first + 1, last), now))
        if phase(sync) is Phase.FETCHING and data.draw(st.booleans(), label="answer"):
            lag = data.draw(st.integers(0, 3), label="REST lag")
            follow(sync.on_snapshot(max(1, last - lag), now))
        if phase(sync) is Phase.SYNCED:
            assert book == list(range(1, sync.book_id + 1))
