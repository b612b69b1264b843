"""Order books for one upstream: sequencing, book events, gaps, the latest-book key.

Bridges report snapshots and deltas as signals; the book engine
(``gateway.core.book``) applies them in sequence. Every applied change becomes
a ``book`` entry; a sequence gap marks only that market's book stale,
publishes a ``gap`` on its topic and asks the session to resync that market
alone. The newest book of each market is also kept whole under the key
``book:<exchange>.<pair>`` so a late consumer can start without waiting for the
next snapshot.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from gateway.bridge import BookDelta, BookSnapshot, Level
from gateway.core.book import Applied, BookSync, Delta, Gap, Snapshot
from gateway.events import Book, Event, Latest, Spread, Status
from gateway.events import Gap as GapEvent
from gateway.topics import split_pair

log = logging.getLogger("feedgate.books")


def latest_key(topic: str) -> str:
    """``book.kraken.btceur`` → ``book:kraken.btceur``."""
    return "book:" + topic.split(".", 1)[1]


class BookKeeper:
    """Keeps the books of one upstream's markets in sequence."""

    def __init__(
        self,
        source: str,
        modulus: int | None,
        depth: int = 50,
        derive_spread: bool = False,
        *,
        upstream: str | None = None,
    ) -> None:
        self._source = source
        self._status_topic = f"status.{upstream or source}"
        self._modulus = modulus
        self._depth = depth
        self._derive_spread = derive_spread
        self._tops: dict[str, tuple[Level | None, Level | None]] = {}
        self._books: dict[str, BookSync] = {}
        self._last_ts: dict[str, int] = {}
        self._crossed: set[str] = set()
        self.gaps = 0
        self.crossed_count = 0

    def reset(self) -> None:
        """A new connection: every book waits for its next snapshot."""
        for sync in self._books.values():
            sync.reset()

    def invalidate(self, topic: str, reason: str, now: int, events: list[Event]) -> None:
        """The bridge found the book wrong (e.g. a checksum): stale until its next snapshot."""
        sync = self._books.get(topic)
        if sync is None or not sync.in_sync:
            return  # already waiting for a snapshot: one gap per loss
        sync.reset()
        self.gaps += 1
        _, exchange, pair = topic.split(".", 2)
        log.warning("%s: book invalid (%s); resyncing that market", topic, reason)
        base, quote = split_pair(pair)
        events.append(
            GapEvent(topic=topic, source=self._source, exchange=exchange, base=base, quote=quote,
                     ts=now, recv_ts=now, reason=reason,
                     from_ts=self._last_ts.get(topic, now), to_ts=now)
        )  # fmt: skip

    def in_sync(self, topic: str) -> bool:
        sync = self._books.get(topic)
        return sync is not None and sync.in_sync

    def apply(self, update: BookSnapshot | BookDelta, events: list[Event]) -> bool:
        """Apply one update, appending its events; True when the book needs a resync.

        Raises ValueError for a level whose price or amount is not a decimal.
        """
        topic = update.topic
        sync = self._books.get(topic)
        if sync is None:
            sync = self._books[topic] = BookSync(modulus=self._modulus)
        if isinstance(update, BookSnapshot):
            outcomes = sync.on_snapshot(Snapshot(update.seq, update.bids, update.asks))
        else:
            outcomes = sync.on_delta(
                Delta(update.seq, update.bid_set, update.bid_remove, update.ask_set,
                      update.ask_remove)
            )  # fmt: skip
        resync = False
        applied = False
        for outcome in outcomes:
            if isinstance(outcome, Applied):
                applied = True
                events.append(self._book_event(update, outcome))
            elif isinstance(outcome, Gap):
                resync = True
                self.gaps += 1
                log.warning("%s: book sequence gap (expected %d, got %d); resyncing that market",
                            topic, outcome.expected, outcome.received)  # fmt: skip
                events.append(self._gap_event(update, outcome))
        if applied:
            self._last_ts[topic] = update.ts
            events.append(
                Latest(topic=latest_key(topic), source=self._source,
                       render=self._renderer(topic, sync))
            )  # fmt: skip
            self._check_crossed(topic, sync, update.ts, events)
            if self._derive_spread:
                self._spread(update, sync, events)
        return resync

    def _book_event(self, update: BookSnapshot | BookDelta, outcome: Applied) -> Book:
        return Book(
            topic=update.topic,
            source=self._source,
            exchange=update.exchange,
            base=update.base,
            quote=update.quote,
            ts=update.ts,
            recv_ts=update.recv_ts,
            action=outcome.action,
            seq=outcome.seq,
            prev_seq=outcome.prev_seq,
            bids=json.dumps([list(level) for level in outcome.bids], separators=(",", ":")),
            asks=json.dumps([list(level) for level in outcome.asks], separators=(",", ":")),
        )

    def _gap_event(self, update: BookSnapshot | BookDelta, gap: Gap) -> GapEvent:
        return GapEvent(
            topic=update.topic,
            source=self._source,
            exchange=update.exchange,
            base=update.base,
            quote=update.quote,
            ts=update.ts,
            recv_ts=update.recv_ts,
            reason=f"sequence: expected {gap.expected}, got {gap.received}",
            from_ts=self._last_ts.get(update.topic, update.ts),
            to_ts=update.ts,
        )

    def _renderer(self, topic: str, sync: BookSync) -> Callable[[], bytes]:
        depth = self._depth

        def render() -> bytes:
            bids, asks = sync.book.levels(depth)
            return json.dumps(
                {"topic": topic, "source": self._source, "seq": sync.seq,
                 "ts": self._last_ts.get(topic), "in_sync": sync.in_sync,
                 "bids": bids, "asks": asks},
                separators=(",", ":"),
            ).encode()  # fmt: skip

        return render

    def _spread(
        self, update: BookSnapshot | BookDelta, sync: BookSync, events: list[Event]
    ) -> None:
        """For upstreams without a spread channel: publish the top of book when it changes."""
        top = sync.book.best()
        if self._tops.get(update.topic) == top:
            return
        self._tops[update.topic] = top
        bid, ask = top
        events.append(
            Spread(
                topic="spread." + update.topic.split(".", 1)[1], source=self._source,
                exchange=update.exchange, base=update.base, quote=update.quote, ts=update.ts,
                recv_ts=update.recv_ts, bid=bid[0] if bid else None,
                bid_size=bid[1] if bid else None, ask=ask[0] if ask else None,
                ask_size=ask[1] if ask else None, seq=sync.seq,
            )
        )  # fmt: skip

    def _check_crossed(self, topic: str, sync: BookSync, ts: int, events: list[Event]) -> None:
        """Report a book that turns crossed (best bid ≥ best ask) once, until it uncrosses."""
        if sync.book.crossed():
            if topic not in self._crossed:
                self._crossed.add(topic)
                self.crossed_count += 1
                bid, ask = sync.book.best()
                message = f"best bid {bid[0] if bid else '-'} >= best ask {ask[0] if ask else '-'}"
                log.warning("%s: crossed book: %s", topic, message)
                events.append(
                    Status(topic=self._status_topic, source=self._source, ts=ts,
                           state="crossed_book", message=message, subject=topic)
                )  # fmt: skip
        else:
            self._crossed.discard(topic)
