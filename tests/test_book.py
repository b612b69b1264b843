"""Unit and property tests for the order-book engine and its sequencing (gateway.core.book)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.core.book import (
    Applied,
    BookSync,
    Delta,
    Gap,
    Level,
    OrderBook,
    Outcome,
    Snapshot,
)

U32 = 2**32
DecLevels = list[tuple[Decimal, Decimal]]
DecBook = tuple[DecLevels, DecLevels]


def dec(levels: Iterable[Level]) -> DecLevels:
    """Levels as Decimal pairs, for comparing by value rather than text."""
    return [(Decimal(p), Decimal(a)) for p, a in levels]


def book_value(book: OrderBook) -> DecBook:
    """The whole book by Decimal value."""
    bids, asks = book.levels()
    return dec(bids), dec(asks)


def snap(seq: int, bids: Sequence[Level] = (), asks: Sequence[Level] = ()) -> Snapshot:
    """A snapshot from lists."""
    return Snapshot(seq, tuple(bids), tuple(asks))


def bid(seq: int, price: str = "100", amount: str = "1") -> Delta:
    """A delta that sets one bid."""
    return Delta(seq, bid_set=((price, amount),))


def state(sync: BookSync) -> tuple[bool, int | None]:
    """(in_sync, seq) in one value."""
    return sync.in_sync, sync.seq


def seqs(outcomes: list[Outcome]) -> list[int]:
    """The seq of each Applied outcome."""
    return [o.seq for o in outcomes if isinstance(o, Applied)]


# -- OrderBook ---------------------------------------------------------------------------


def test_set_remove_and_len() -> None:
    """set_level inserts and replaces, remove_level deletes, len counts both sides."""
    book = OrderBook()
    book.set_level("bid", "100", "1")
    book.set_level("bid", "101", "2")
    book.set_level("ask", "102", "3")
    book.set_level("bid", "100", "5")
    assert len(book) == 3
    assert book.levels() == ([("101", "2"), ("100", "5")], [("102", "3")])
    book.remove_level("bid", "101")
    book.remove_level("ask", "999")  # absent: no-op
    assert book.levels() == ([("100", "5")], [("102", "3")])
    assert len(book) == 2


def test_zero_amount_removes_level() -> None:
    """An amount that is Decimal zero, in any spelling, removes the level."""
    book = OrderBook()
    book.set_level("ask", "5", "1")
    book.set_level("ask", "5", "0.000")
    book.set_level("ask", "6", "0")  # absent and zero: nothing inserted
    assert len(book) == 0


def test_prices_equal_by_decimal_value() -> None:
    """'91000.50' and '91000.5' are one level; the newest text is kept."""
    book = OrderBook()
    book.set_level("bid", "91000.50", "1")
    book.set_level("bid", "91000.5", "2.0")
    assert book.levels() == ([("91000.5", "2.0")], [])
    book.remove_level("bid", "91000.500")
    assert len(book) == 0
    book.set_level("ask", "1E+2", "1")
    book.set_level("ask", "100.0", "3")
    assert book.levels() == ([], [("100.0", "3")])


def test_replace_takes_whole_sides() -> None:
    """replace drops the old book; zero amounts are left out and a repeated price keeps the last."""
    book = OrderBook()
    book.set_level("bid", "1", "1")
    book.replace([("10", "1"), ("11", "0"), ("9", "2"), ("10.0", "4")], [("12", "1"), ("13", "2")])
    assert book.levels() == ([("10.0", "4"), ("9", "2")], [("12", "1"), ("13", "2")])


def test_levels_sorted_with_depth() -> None:
    """Bids come out descending, asks ascending, cut to depth."""
    book = OrderBook()
    for price in ["3", "1", "2.5", "10"]:
        book.set_level("bid", price, "1")
        book.set_level("ask", str(Decimal(price) + 20), "1")
    bids, asks = book.levels()
    assert [p for p, _ in bids] == ["10", "3", "2.5", "1"]
    assert [p for p, _ in asks] == ["21", "22.5", "23", "30"]
    assert book.levels(2) == ([("10", "1"), ("3", "1")], [("21", "1"), ("22.5", "1")])
    assert book.levels(0) == ([], [])
    assert book.levels(99) == book.levels()
    with pytest.raises(ValueError):
        book.levels(-1)


def test_best_and_crossed() -> None:
    """best gives the top of each side; crossed compares them as Decimal."""
    book = OrderBook()
    assert book.best() == (None, None)
    assert not book.crossed()
    book.set_level("bid", "9.5", "1")
    book.set_level("bid", "9", "1")
    assert book.best() == (("9.5", "1"), None)
    assert not book.crossed()
    book.set_level("ask", "10", "2")
    book.set_level("ask", "11", "2")
    assert book.best() == (("9.5", "1"), ("10", "2"))
    assert not book.crossed()
    book.set_level("bid", "10.00", "1")  # equal as Decimal: crossed
    assert book.crossed()
    book.remove_level("bid", "10")
    book.remove_level("ask", "10")
    assert book.best() == (("9.5", "1"), ("11", "2"))
    assert not book.crossed()
    book.set_level("bid", "100", "1")  # textually "100" < "11", as Decimal it is above
    assert book.crossed()


def test_bad_numbers_rejected() -> None:
    """Non-numeric or non-finite text raises ValueError and leaves the book as it was."""
    book = OrderBook()
    book.set_level("bid", "1", "1")
    for price, amount in [("abc", "1"), ("1", "x"), ("NaN", "1"), ("1", "Infinity"), ("", "1")]:
        with pytest.raises(ValueError):
            book.set_level("bid", price, amount)
    with pytest.raises(ValueError):
        book.replace([("2", "1"), ("bad", "1")], [])
    with pytest.raises(ValueError):
        book.set_level("buy", "1", "1")  # type: ignore[arg-type]
    assert book.levels() == ([("1", "1")], [])


PRICES = [Decimal(v) for v in ["99", "99.5", "100", "100.25", "101", "102.5"]]


def spellings(value: Decimal) -> list[str]:
    """Different texts of one price: '100', '100.0', '100.00'."""
    base = format(value, "f")
    padded = base + ("0" if "." in base else ".0")
    return [base, padded, padded + "0"]


price_texts = st.sampled_from([text for value in PRICES for text in spellings(value)])
amount_texts = st.sampled_from(["0", "0.000", "1", "1.50", "2", "0.125", "3.0"])


class Model:
    """A naive reference book: two dicts by Decimal, sorted on demand."""

    def __init__(self) -> None:
        self.bids: dict[Decimal, Decimal] = {}
        self.asks: dict[Decimal, Decimal] = {}

    def set(self, side: dict[Decimal, Decimal], price: str, amount: str) -> None:
        if Decimal(amount) == 0:
            side.pop(Decimal(price), None)
        else:
            side[Decimal(price)] = Decimal(amount)

    def apply(self, delta: Delta) -> None:
        """Entries in order, sets then removes, exactly as the notes say."""
        for side, sets, removes in (
            (self.bids, delta.bid_set, delta.bid_remove),
            (self.asks, delta.ask_set, delta.ask_remove),
        ):
            for price, amount in sets:
                self.set(side, price, amount)
            for price in removes:
                side.pop(Decimal(price), None)

    def value(self) -> DecBook:
        return sorted(self.bids.items(), reverse=True), sorted(self.asks.items())

    def levels(self) -> tuple[list[Level], list[Level]]:
        """The book as text levels, for building snapshots."""
        bids, asks = self.value()
        return [(str(p), str(a)) for p, a in bids], [(str(p), str(a)) for p, a in asks]


ops = st.lists(
    st.tuples(st.sampled_from(["bid", "ask"]), st.booleans(), price_texts, amount_texts),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(ops)
def test_book_matches_naive_model(operations: list[tuple[str, bool, str, str]]) -> None:
    """Any sequence of sets and removes leaves the book equal to a naive sorted model."""
    book, model = OrderBook(), Model()
    for side, remove, price, amount in operations:
        target = model.bids if side == "bid" else model.asks
        if remove:
            book.remove_level("bid" if side == "bid" else "ask", price)
            target.pop(Decimal(price), None)
        else:
            book.set_level("bid" if side == "bid" else "ask", price, amount)
            model.set(target, price, amount)
        assert book_value(book) == model.value()
        bids, asks = model.value()
        best_bid, best_ask = book.best()
        assert (best_bid and dec([best_bid])[0]) == (bids[0] if bids else None)
        assert (best_ask and dec([best_ask])[0]) == (asks[0] if asks else None)
        assert book.crossed() == bool(bids and asks and bids[0][0] >= asks[0][0])
        assert len(book) == len(bids) + len(asks)


# -- One delta ---------------------------------------------------------------------------


def test_delta_last_wins_and_removes_after_sets() -> None:
    """Within one delta the last entry for a price wins, and removes apply after sets."""
    sync = BookSync()
    sync.on_snapshot(snap(1, [("100", "1"), ("99", "1")], [("101", "1")]))
    out = sync.on_delta(
        Delta(
            2,
            bid_set=(("98", "1"), ("98.0", "7"), ("99", "2"), ("97", "1")),
            bid_remove=("97.00", "50"),  # set then removed; 50 is absent
            ask_set=(("102", "0"), ("102", "4"), ("101", "3"), ("101", "0")),
        )
    )
    assert sync.book.levels() == (
        [("100", "1"), ("99", "2"), ("98.0", "7")],
        [("102", "4")],
    )
    # The changed levels, best first; removals as "0"; the absent removal is no change.
    assert out == [
        Applied("delta", 2, 1, (("99", "2"), ("98.0", "7")), (("101", "0"), ("102", "4")))
    ]


def test_bad_delta_refused_without_change() -> None:
    """A delta with a malformed number raises and changes neither book nor seq."""
    sync = BookSync()
    sync.on_snapshot(snap(1, [("100", "1")]))
    with pytest.raises(ValueError):
        sync.on_delta(Delta(2, bid_set=(("101", "1"),), ask_set=(("x", "1"),)))
    assert state(sync) == (True, 1)
    assert sync.book.levels() == ([("100", "1")], [])
    assert sync.on_delta(bid(2, "101"))[0] == Applied("delta", 2, 1, (("101", "1"),), ())


# -- Sequencing --------------------------------------------------------------------------


def test_in_order_deltas_apply() -> None:
    """A snapshot, then deltas with seq + 1 each, all apply."""
    sync = BookSync()
    assert state(sync) == (False, None)
    out = sync.on_snapshot(snap(10, [("100", "1")], [("101", "2")]))
    assert out == [Applied("snapshot", 10, None, (("100", "1"),), (("101", "2"),))]
    assert state(sync) == (True, 10)
    assert sync.on_delta(bid(11, "99")) == [Applied("delta", 11, 10, (("99", "1"),), ())]
    assert sync.on_delta(Delta(12, ask_remove=("101",))) == [
        Applied("delta", 12, 11, (), (("101", "0"),))
    ]
    assert sync.seq == 12
    assert sync.book.levels() == ([("100", "1"), ("99", "1")], [])


def test_duplicate_and_old_deltas_ignored() -> None:
    """A delta at or behind the book's seq is ignored without a gap."""
    sync = BookSync()
    sync.on_snapshot(snap(10))
    sync.on_delta(bid(11, "1"))
    assert sync.on_delta(bid(11, "2")) == []
    assert sync.on_delta(bid(5, "3")) == []
    assert state(sync) == (True, 11)
    assert sync.book.levels() == ([("1", "1")], [])


def test_deltas_before_first_snapshot_are_cached() -> None:
    """Deltas that arrive before the first snapshot catch up after it."""
    sync = BookSync()
    assert sync.on_delta(bid(5, "5")) == []
    assert sync.on_delta(bid(6, "6")) == []
    out = sync.on_snapshot(snap(5, [("5", "1")]))
    assert [(o.action, o.seq, o.prev_seq) for o in out if isinstance(o, Applied)] == [
        ("snapshot", 5, None),
        ("delta", 6, 5),
    ]
    assert state(sync) == (True, 6)


def test_gap_reported_once_then_cache_applied_after_snapshot() -> None:
    """A skipped seq gives one Gap; later deltas are cached and applied after a snapshot."""
    sync = BookSync()
    sync.on_snapshot(snap(10, [("100", "1")]))
    assert sync.on_delta(bid(12, "12")) == [Gap(expected=11, received=12)]
    assert state(sync) == (False, 10)
    assert sync.on_delta(bid(13, "13")) == []  # no second Gap while out of sync
    assert sync.on_delta(bid(14, "14")) == []
    out = sync.on_snapshot(snap(12, [("100", "1"), ("11", "1"), ("12", "1")]))
    assert out == [
        Applied("snapshot", 12, 10, (("100", "1"), ("12", "1"), ("11", "1")), ()),
        Applied("delta", 13, 12, (("13", "1"),), ()),
        Applied("delta", 14, 13, (("14", "1"),), ()),
    ]
    assert state(sync) == (True, 14)
    assert sync.on_delta(bid(15, "15"))[0] == Applied("delta", 15, 14, (("15", "1"),), ())


def test_snapshot_older_than_cache_is_a_gap() -> None:
    """A snapshot from before the first cached delta - 1 leaves the book out of sync, one Gap."""
    sync = BookSync()
    sync.on_snapshot(snap(10))
    sync.on_delta(bid(20))
    sync.on_delta(bid(21))
    out = sync.on_snapshot(snap(15))
    assert out == [Applied("snapshot", 15, 10, (), ()), Gap(expected=16, received=20)]
    assert state(sync) == (False, 15)
    # The run is kept: a later snapshot inside it catches up.
    sync.on_delta(bid(22, "22"))
    out = sync.on_snapshot(snap(21, [("100", "1")]))
    assert seqs(out) == [21, 22] and state(sync) == (True, 22)


def test_cache_overflow_gap_after_snapshot() -> None:
    """Past cache_limit the oldest deltas are dropped, so an older snapshot reports a Gap."""
    sync = BookSync(cache_limit=3)
    sync.on_snapshot(snap(1))
    assert sync.on_delta(bid(3)) == [Gap(expected=2, received=3)]
    for seq in range(4, 8):  # cache keeps 5, 6, 7
        assert sync.on_delta(bid(seq)) == []
    out = sync.on_snapshot(snap(3))
    assert out[-1] == Gap(expected=4, received=5)
    assert state(sync) == (False, 3)
    out = sync.on_snapshot(snap(4))  # minCached - 1: catches up
    assert seqs(out) == [4, 5, 6, 7] and state(sync) == (True, 7)


def test_non_consecutive_delta_flushes_cache() -> None:
    """Out of sync, a delta that is not last + 1 starts a new run; the old run is gone."""
    sync = BookSync()
    sync.on_snapshot(snap(1))
    sync.on_delta(bid(3))
    sync.on_delta(bid(4))
    assert sync.on_delta(bid(9)) == []  # flush: the run is now [9]
    out = sync.on_snapshot(snap(4))
    assert out[-1] == Gap(expected=5, received=9)
    assert sync.on_delta(bid(10)) == []  # run [9, 10]
    assert sync.on_delta(bid(10)) == []  # a repeat is not last + 1 either: run [10]
    out = sync.on_snapshot(snap(8))
    assert out[-1] == Gap(expected=9, received=10)
    out = sync.on_snapshot(snap(9))
    assert seqs(out) == [9, 10] and state(sync) == (True, 10)


def test_snapshot_at_or_past_cache_drops_it() -> None:
    """A snapshot that already includes every cached delta is in sync and drops the cache."""
    sync = BookSync()
    sync.on_snapshot(snap(1))
    sync.on_delta(bid(3, "3"))
    sync.on_delta(bid(4, "4"))
    out = sync.on_snapshot(snap(4, [("9", "9")]))
    assert out == [Applied("snapshot", 4, 1, (("9", "9"),), ())]
    assert state(sync) == (True, 4) and sync.book.levels() == ([("9", "9")], [])
    sync.on_delta(bid(6))
    out = sync.on_snapshot(snap(30))
    assert len(out) == 1 and state(sync) == (True, 30)
    assert sync.on_delta(bid(31))[0] == Applied("delta", 31, 30, (("100", "1"),), ())


def test_lower_seq_snapshot_is_not_a_gap() -> None:
    """After reset, or a backend restart, a snapshot with a lower seq is simply taken."""
    sync = BookSync()
    sync.on_snapshot(snap(500, [("1", "1")]))
    sync.on_delta(bid(501))
    out = sync.on_snapshot(snap(3, [("2", "2")]))  # backend restart while in sync
    assert out == [Applied("snapshot", 3, 501, (("2", "2"),), ())]
    assert state(sync) == (True, 3)
    assert sync.on_delta(bid(4)) == [Applied("delta", 4, 3, (("100", "1"),), ())]

    sync.reset()
    assert state(sync) == (False, None) and len(sync.book) == 0
    out = sync.on_snapshot(snap(2, [("3", "3")]))
    assert out == [Applied("snapshot", 2, None, (("3", "3"),), ())]
    assert state(sync) == (True, 2)


def test_reset_forgets_cache() -> None:
    """reset drops cached deltas, so they never reach a later snapshot."""
    sync = BookSync()
    sync.on_delta(bid(5, "5"))
    sync.on_delta(bid(6, "6"))
    sync.reset()
    out = sync.on_snapshot(snap(5))
    assert out == [Applied("snapshot", 5, None, (), ())]
    assert sync.seq == 5


def test_uint32_wrap() -> None:
    """With modulus 2**32, seq 2**32-1 is followed by 0, and comparisons wrap too."""
    sync = BookSync(modulus=U32)
    sync.on_snapshot(snap(U32 - 2))
    assert seqs(sync.on_delta(bid(U32 - 1, "1"))) == [U32 - 1]
    assert sync.on_delta(bid(0, "2")) == [Applied("delta", 0, U32 - 1, (("2", "1"),), ())]
    assert sync.on_delta(bid(1, "3"))[0] == Applied("delta", 1, 0, (("3", "1"),), ())
    assert sync.on_delta(bid(U32 - 1, "9")) == []  # behind across the wrap: old
    assert sync.on_delta(bid(3)) == [Gap(expected=2, received=3)]
    # A cache that wraps, applied after a snapshot from before the wrap.
    sync.reset()
    sync.on_delta(bid(U32 - 1, "7"))
    sync.on_delta(bid(0, "8"))
    out = sync.on_snapshot(snap(U32 - 2))
    assert seqs(out) == [U32 - 2, U32 - 1, 0] and state(sync) == (True, 0)
    # Without a modulus, the same numbers are plain ints: a gap.
    plain = BookSync()
    plain.on_snapshot(snap(U32 - 1))
    assert plain.on_delta(bid(0)) == []
    assert plain.on_delta(bid(U32 + 1)) == [Gap(expected=U32, received=U32 + 1)]


def test_int32_seq_is_normalised() -> None:
    """A seqNum decoded as int32 (negative above 2**31) means the same uint32 value."""
    sync = BookSync(modulus=U32)
    out = sync.on_snapshot(snap(-2))
    assert seqs(out) == [U32 - 2]
    assert sync.on_delta(bid(-1))[0] == Applied("delta", U32 - 1, U32 - 2, (("100", "1"),), ())
    assert seqs(sync.on_delta(bid(0))) == [0]


def test_bad_arguments() -> None:
    """A cache_limit below 1 or a tiny modulus is refused."""
    with pytest.raises(ValueError):
        BookSync(cache_limit=0)
    with pytest.raises(ValueError):
        BookSync(modulus=1)


# -- Property: the book is never silently wrong ------------------------------------------

# One delta as entries (0 bid set, 1 bid remove, 2 ask set, 3 ask remove); one draw per entry.
delta_entries = st.lists(st.tuples(st.integers(0, 3), price_texts, amount_texts), max_size=8)


def make_delta(seq: int, entries: list[tuple[int, str, str]]) -> Delta:
    """A delta from drawn entries, keeping their order within each field."""
    sets: tuple[list[Level], list[Level]] = ([], [])
    removes: tuple[list[str], list[str]] = ([], [])
    for kind, price, amount in entries:
        if kind % 2 == 0:
            sets[kind // 2].append((price, amount))
        else:
            removes[kind // 2].append(price)
    return Delta(seq, tuple(sets[0]), tuple(removes[0]), tuple(sets[1]), tuple(removes[1]))


Message = Snapshot | Delta


class History:
    """A true feed: messages in order, and the true book at each seq."""

    def __init__(self, messages: list[Message], truth: dict[int, DecBook]) -> None:
        self.messages = messages
        self.truth = truth


@st.composite
def histories(draw: st.DrawFn, modulus: int | None) -> History:
    """An initial snapshot, then deltas with seq + 1 each and now and then a snapshot."""

    def wrap(seq: int) -> int:
        return seq % modulus if modulus else seq

    seq = draw(st.integers(U32 - 25, U32 - 1) if modulus else st.integers(0, 10**9))
    model = Model()
    for _ in range(draw(st.integers(0, 4))):
        model.set(model.bids, draw(price_texts), draw(amount_texts))
        model.set(model.asks, draw(price_texts), draw(amount_texts))
    messages: list[Message] = [snap(wrap(seq), *model.levels())]
    truth = {wrap(seq): model.value()}
    for entries in draw(st.lists(delta_entries, min_size=10, max_size=40)):
        seq += 1
        delta = make_delta(wrap(seq), entries)
        model.apply(delta)
        messages.append(delta)
        truth[wrap(seq)] = model.value()
        if draw(st.integers(0, 7)) == 0:
            messages.append(snap(wrap(seq), *model.levels()))
    return History(messages, truth)


def corrupt(messages: list[Message], plan: list[str]) -> list[Message]:
    """Drop, duplicate, or swap with the one before, one action per message."""
    out: list[Message] = []
    for message, action in zip(messages, plan, strict=True):
        if action == "drop":
            continue
        out.append(message)
        if action == "dup":
            out.append(message)
        elif action == "swap" and len(out) >= 2:
            out[-1], out[-2] = out[-2], out[-1]
    return out


class Consumer:
    """A downstream reader that rebuilds the book from Applied outcomes alone."""

    def __init__(self) -> None:
        self.model = Model()
        self.awaiting_snapshot = True

    def take(self, outcome: Outcome) -> None:
        if isinstance(outcome, Gap):
            self.awaiting_snapshot = True
            return
        if outcome.action == "snapshot":
            self.model = Model()
            self.awaiting_snapshot = False
        else:
            assert not self.awaiting_snapshot, "a delta after a Gap, before a snapshot"
        for price, amount in outcome.bids:
            self.model.set(self.model.bids, price, amount)
        for price, amount in outcome.asks:
            self.model.set(self.model.asks, price, amount)


def ahead(base: int, seq: int, modulus: int | None) -> int:
    """How far seq is past base, in the test's own wrap arithmetic."""
    if modulus is None:
        return seq - base
    distance = (seq - base) % modulus
    return distance - modulus if distance >= modulus // 2 else distance


def feed(
    sync: BookSync, delivery: list[Message], history: History, modulus: int | None
) -> list[Outcome]:
    """Feed every message, checking after each step that nothing went silently wrong."""
    consumer = Consumer()
    everything: list[Outcome] = []
    for message in delivery:
        was_in_sync = sync.in_sync
        out = sync.on_snapshot(message) if isinstance(message, Snapshot) else sync.on_delta(message)
        everything.extend(out)
        gaps = [o for o in out if isinstance(o, Gap)]
        assert len(gaps) <= 1 and (not gaps or out[-1] is gaps[0])
        if gaps:
            assert not sync.in_sync
            # A real gap: what arrived (or was cached) is past what the book needed.
            assert ahead(gaps[0].expected, gaps[0].received, modulus) > 0
        if was_in_sync and not sync.in_sync:
            assert gaps, "lost sync without a Gap"
        if not sync.in_sync and any(isinstance(o, Applied) for o in out):
            assert gaps, "a snapshot left the book out of sync without a Gap"
        for o in out:
            if isinstance(o, Applied) and o.action == "delta":
                assert o.prev_seq is not None and ahead(o.prev_seq, o.seq, modulus) == 1
            consumer.take(o)
        if sync.seq is not None:
            # Even when stale, the book is the true book at its own seq; in sync it is current.
            assert book_value(sync.book) == history.truth[sync.seq]
            assert consumer.model.value() == history.truth[sync.seq]
        if sync.in_sync:
            assert sync.seq is not None
    return everything


actions = st.sampled_from(["keep", "keep", "keep", "keep", "keep", "drop", "dup", "swap"])


@pytest.mark.parametrize("modulus", [None, U32])
@settings(max_examples=200, deadline=None)
@given(data=st.data(), cache_limit=st.integers(1, 8))
def test_corrupted_delivery_never_silently_wrong(
    modulus: int | None, data: st.DataObject, cache_limit: int
) -> None:
    """Dropped, repeated and swapped messages: in sync means correct; losing sync means a Gap."""
    history = data.draw(histories(modulus))
    n = len(history.messages)
    plan = data.draw(st.lists(actions, min_size=n, max_size=n))
    sync = BookSync(modulus=modulus, cache_limit=cache_limit)
    feed(sync, corrupt(history.messages, plan), history, modulus)


@pytest.mark.parametrize("modulus", [None, U32])
@settings(max_examples=200, deadline=None)
@given(data=st.data(), cache_limit=st.integers(1, 8))
def test_clean_delivery_never_gaps(
    modulus: int | None, data: st.DataObject, cache_limit: int
) -> None:
    """Delivered in order, the feed never reports a Gap and ends equal to the truth."""
    history = data.draw(histories(modulus))
    sync = BookSync(modulus=modulus, cache_limit=cache_limit)
    outcomes = feed(sync, history.messages, history, modulus)
    assert not any(isinstance(o, Gap) for o in outcomes)
    assert sync.in_sync
    last = history.messages[-1].seq
    assert sync.seq == last
    assert book_value(sync.book) == history.truth[last]
