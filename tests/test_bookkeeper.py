"""The book keeper: engine outcomes become book entries, gaps, resyncs and the latest key."""

from __future__ import annotations

import json

from gateway.bookkeeper import BookKeeper, latest_key
from gateway.bridge import BookDelta, BookSnapshot
from gateway.events import Book, Event, Gap, Latest, Spread, Status

MARKET = {"topic": "book.kraken.btceur", "exchange": "kraken", "base": "btc", "quote": "eur"}


def snapshot(
    seq: int, bids: tuple[tuple[str, str], ...], asks: tuple[tuple[str, str], ...]
) -> BookSnapshot:
    return BookSnapshot(**MARKET, ts=seq, recv_ts=seq, seq=seq, bids=bids, asks=asks)


def delta(seq: int, **changes: tuple[tuple[str, str], ...] | tuple[str, ...]) -> BookDelta:
    return BookDelta(**MARKET, ts=seq, recv_ts=seq, seq=seq, **changes)  # type: ignore[arg-type]


def test_applied_changes_become_entries_and_latest() -> None:
    """A snapshot and a delta become book entries; the latest key renders the whole book."""
    keeper = BookKeeper("cw", None, depth=2)
    events: list[Event] = []
    assert not keeper.apply(
        snapshot(10, (("100", "1"), ("99", "2"), ("98", "3")), (("101", "1"),)), events
    )
    assert not keeper.apply(delta(11, bid_set=(("100.5", "4"),), ask_remove=("101",)), events)
    books = [e for e in events if isinstance(e, Book)]
    assert [(b.action, b.seq, b.prev_seq) for b in books] == [
        ("snapshot", 10, None),
        ("delta", 11, 10),
    ]
    assert json.loads(books[0].bids) == [["100", "1"], ["99", "2"], ["98", "3"]]
    assert (json.loads(books[1].bids), json.loads(books[1].asks)) == (
        [["100.5", "4"]],
        [["101", "0"]],
    )
    latest = [e for e in events if isinstance(e, Latest)]
    assert latest[-1].topic == latest_key("book.kraken.btceur") == "book:kraken.btceur"
    state = json.loads(latest[-1].render())
    assert state == {"topic": "book.kraken.btceur", "source": "cw", "seq": 11, "ts": 11, "in_sync": True,
                     "bids": [["100.5", "4"], ["100", "1"]], "asks": []}  # fmt: skip


def test_gap_reported_once_and_asks_for_resync() -> None:
    """A skipped seq publishes one gap on that topic and asks for a resync; stale books publish nothing."""
    keeper = BookKeeper("cc", None)
    events: list[Event] = []
    keeper.apply(snapshot(1, (("10", "1"),), (("11", "1"),)), events)
    events.clear()
    assert keeper.apply(delta(3, bid_set=(("10", "2"),)), events) is True
    assert keeper.apply(delta(4, bid_set=(("10", "3"),)), events) is False
    gaps = [e for e in events if isinstance(e, Gap)]
    assert len(gaps) == 1 and gaps[0].topic == "book.kraken.btceur"
    assert gaps[0].reason == "sequence: expected 2, got 3" and (gaps[0].from_ts, gaps[0].to_ts) == (
        1,
        3,
    )
    assert not any(isinstance(e, Book) for e in events) and not keeper.in_sync("book.kraken.btceur")
    assert keeper.gaps == 1
    events.clear()
    keeper.apply(snapshot(4, (("10", "3"),), (("11", "1"),)), events)
    assert keeper.in_sync("book.kraken.btceur") and [type(e) for e in events] == [Book, Latest]


def test_crossed_book_reported_once() -> None:
    """A crossed book is reported on the status topic once, until it uncrosses."""
    keeper = BookKeeper("cc", None)
    events: list[Event] = []
    keeper.apply(snapshot(1, (("10", "1"),), (("11", "1"),)), events)
    keeper.apply(delta(2, bid_set=(("11.5", "1"),)), events)
    keeper.apply(delta(3, bid_set=(("11.6", "1"),)), events)
    statuses = [e for e in events if isinstance(e, Status)]
    assert len(statuses) == 1 and statuses[0].state == "crossed_book"
    assert (
        statuses[0].message == "best bid 11.6 >= best ask 11"
        or statuses[0].message == "best bid 11.5 >= best ask 11"
    )
    assert keeper.crossed_count == 1


def test_spread_derived_from_the_book_when_asked() -> None:
    """With derive_spread, a change of best bid or ask publishes a spread entry; others do not."""
    keeper = BookKeeper("kr", None, derive_spread=True)
    events: list[Event] = []
    keeper.apply(snapshot(1, (("10", "1"), ("9", "5")), (("11", "2"),)), events)
    keeper.apply(delta(2, bid_set=(("9", "6"),)), events)  # below the best: no new spread
    keeper.apply(delta(3, ask_set=(("10.5", "0.5"),)), events)
    spreads = [e for e in events if isinstance(e, Spread)]
    assert [(s.topic, s.bid, s.bid_size, s.ask, s.ask_size, s.seq) for s in spreads] == [
        ("spread.kraken.btceur", "10", "1", "11", "2", 1),
        ("spread.kraken.btceur", "10", "1", "10.5", "0.5", 3),
    ]
    assert not any(isinstance(e, Spread) for e in _apply_plain())


def _apply_plain() -> list[Event]:
    keeper = BookKeeper("cc", None)
    events: list[Event] = []
    keeper.apply(snapshot(1, (("10", "1"),), (("11", "1"),)), events)
    return events


def test_invalidated_book_publishes_one_gap_then_waits_for_a_snapshot() -> None:
    """A failed integrity check (e.g. a checksum) marks the book stale once, with the reason."""
    keeper = BookKeeper("kr", None)
    events: list[Event] = []
    keeper.apply(snapshot(1, (("10", "1"),), (("11", "1"),)), events)
    events.clear()
    keeper.invalidate("book.kraken.btceur", "checksum mismatch", 99, events)
    keeper.invalidate("book.kraken.btceur", "checksum mismatch", 100, events)  # already stale
    assert [(e.reason, e.to_ts) for e in events if isinstance(e, Gap)] == [
        ("checksum mismatch", 99)
    ]
    assert not keeper.in_sync("book.kraken.btceur")
    keeper.apply(delta(2, bid_set=(("10", "2"),)), events)
    assert not any(isinstance(e, Book) for e in events)
    keeper.apply(snapshot(5, (("10", "3"),), (("11", "1"),)), events)
    assert keeper.in_sync("book.kraken.btceur")
