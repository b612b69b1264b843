"""The sans-I/O Kraken Spot WebSocket v2 bridge (``shared/protocols/kraken.md``).

Frames in, normalised events and control signals out; wanted topics in, request
frames out. Topics map to v2 channels:

* ``trades.kraken.<pair>`` ← ``trade`` with ``snapshot: true`` (§6); the last 50
  trades it replays on every (re)subscribe are published once (``RecentIds``).
* ``ticker.kraken.<pair>`` ← ``ticker`` (§7), every message being the full state.
* ``spread.kraken.<pair>`` ← ``ticker`` with ``event_trigger: "bbo"`` (§7): v2 has no
  spread channel, and the bbo ticker is the venue's own top-of-book feed. One
  connection holds one ticker subscription per symbol, so when both topics of a pair
  are wanted they share a ``bbo`` subscription (the ticker topic then updates on every
  top-of-book change rather than on every trade).
* ``ohlc.kraken.<pair>.<interval>`` ← ``ohlc`` (§7), for the intervals feedgate names.
* ``book.kraken.<pair>`` ← ``book`` at ``book_depth`` (§8). The bridge keeps its own
  copy of each book, truncated to the depth after every message, and checks the
  CRC32 of its top 10 levels from the exact wire digits. Verified changes go out as
  ``BookSnapshot``/``BookDelta`` signals with a per-market sequence number assigned
  here (there is none on the wire); a mismatch is a ``BookInvalid``, and that
  market's frames are ignored until the snapshot its resync brings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Context, Decimal
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import msgspec

from bridges.common import RecentIds, is_utf8, syntax_kind
from bridges.kraken.checksum import Changes, CheckedBook
from bridges.kraken.wire import (
    CHANNEL_DECODER,
    ENVELOPE_DECODER,
    KNOWN_CHANNELS,
    REQUEST_ENCODER,
    RESPONSE_DECODER,
    BookEntry,
    BookMsg,
    CandleEntry,
    HeartbeatMsg,
    OhlcMsg,
    Params,
    Request,
    Response,
    StatusMsg,
    TickerEntry,
    TickerMsg,
    TradeEntry,
    TradeMsg,
    levels,
    number,
    optional,
    rfc3339_ns,
)
from bridges.symbols import from_kraken, to_kraken
from gateway.bridge import (
    BookDelta,
    BookInvalid,
    BookSnapshot,
    BridgeSettings,
    DecodeError,
    Handshake,
    Heartbeat,
    Level,
    Reconnect,
    Signal,
    Subscribed,
    SubscribeFailed,
    Unsubscribed,
    UpstreamError,
    Welcome,
)
from gateway.errors import TopicError
from gateway.events import Candle, Event, Spread, Ticker, Trade
from gateway.topics import Topic

EXCHANGE = "kraken"
PATH = "/v2"  # §1: wss://ws.kraken.com/v2

#: feedgate channel → v2 channel (§3, §6-§8).
CHANNELS: dict[str, str] = {
    "trades": "trade",
    "ticker": "ticker",
    "spread": "ticker",
    "ohlc": "ohlc",
    "book": "book",
}
#: feedgate interval → v2 ``interval`` in minutes (§7). 21600 (15 days) has no feedgate name.
INTERVALS: dict[str, int] = {
    "1m": 1, "5m": 5, "15m": 15, "30m": 30, "1h": 60, "4h": 240, "1d": 1440, "1w": 10080,
}  # fmt: skip
INTERVAL_NAMES: dict[int, str] = {minutes: name for name, minutes in INTERVALS.items()}
#: §8: any other depth is refused, not rounded.
BOOK_DEPTHS = (10, 25, 100, 500, 1000)
DEFAULT_BOOK_DEPTH = 25
#: Symbols per request: §9 asks for one request per channel; this only bounds frame size.
SYMBOLS_PER_REQUEST = 50
#: After this many snapshots in a row fail the checksum, the book is given up (§8: nautilus
#: stops after 3 mismatches in a row rather than resubscribing forever).
MAX_SNAPSHOT_MISMATCHES = 3
#: Least wait before reconnecting after ``Exceeded msg rate`` (§9).
RATE_BACKOFF = 10.0
INT32_MAX = 2**31 - 1

#: Refusal texts (§3) that concern one symbol of a request; any other refuses the request.
PER_SYMBOL_ERRORS = ("Already subscribed", "Currency pair not supported")
#: Stable codes for the refusal texts the note lists (§3); the text itself is the reason.
ERROR_CODES: dict[str, str] = {
    "Already subscribed": "already_subscribed",
    "Currency pair not supported": "unsupported_pair",
    "Subscription depth not supported": "unsupported_depth",
    "Subscription ohlc interval not supported": "unsupported_interval",
    "Malformed request": "malformed_request",
    "Event(s) not found": "unknown_event",
}

_WIDE = Context(prec=200)  # vwap x volume, exact for any wire-sized operands

SubKey = tuple[str, str, int]  # (v2 channel, symbol, interval minutes or 0)
Market = tuple[str, str, str]  # topic, base, quote


def error_code(text: str) -> str:
    """A short stable code for a refusal text (§3); ``refused`` when it is not a known one."""
    for prefix, code in ERROR_CODES.items():
        if text.startswith(prefix):
            return code
    return "refused"


class _Pending:
    """A request awaiting its per-symbol replies: symbol → the topics its ack confirms."""

    __slots__ = ("method", "symbols")

    def __init__(self, method: str, symbols: dict[str, tuple[str, ...]]) -> None:
        self.method = method
        self.symbols = symbols  # in request order, which is the order of the replies (§3)


class _Book:
    """One market's checked book and whether it is current."""

    __slots__ = ("base", "checked", "live", "quote", "topic")

    def __init__(self, topic: str, base: str, quote: str, depth: int) -> None:
        self.topic, self.base, self.quote = topic, base, quote
        self.checked = CheckedBook(depth)
        self.live = False  # True from a verified snapshot until a mismatch


class KrakenBridge:
    """Bridge for the Kraken Spot WebSocket v2 public market data (JSON)."""

    #: Sequence numbers are assigned here per market and never wrap.
    book_seq_modulus: int | None = None
    #: §9 documents no caps; these are conservative guesses (nautilus paces at 20 req/s,
    #: and reconnect storms get HTTP 429 from Cloudflare).
    default_quotas: Mapping[str, float] = MappingProxyType({
        "connections": 5, "subscriptions_per_connection": 200, "subscriptions_total": 1000,
        "connects_per_minute": 10, "messages_per_second": 10,
    })  # fmt: skip

    def __init__(self, settings: BridgeSettings, *, book_depth: int | None = None) -> None:
        if book_depth is None:
            book_depth = settings.subscription_depth or DEFAULT_BOOK_DEPTH
        if book_depth not in BOOK_DEPTHS:
            raise ValueError(
                f"subscription_depth must be one of {BOOK_DEPTHS} (§8), not {book_depth}"
            )
        self.upstream = settings.upstream
        self.source = settings.source or settings.upstream
        self.book_depth = book_depth
        # Per connection (connection_made clears them):
        self._wanted: dict[str, Topic] = {}
        self._subs: dict[SubKey, set[str]] = {}  # server subscription → topics it serves
        self._triggers: dict[str, str] = {}  # symbol → event_trigger of its ticker subscription
        self._pending: dict[int, _Pending] = {}
        self._books: dict[str, _Book] = {}
        # Across connections:
        self._seq: dict[str, int] = {}
        self._mismatches: dict[str, int] = {}
        self._recent_trades = RecentIds()
        self._markets: dict[tuple[str, str, str], Market] = {}
        self._req_id = 0
        self._handlers: dict[type[Any], Callable[[Any, int, list[Event], list[Signal]], None]] = {
            TradeMsg: self._on_trades,
            TickerMsg: self._on_ticker,
            OhlcMsg: self._on_ohlc,
            BookMsg: self._on_book,
            HeartbeatMsg: self._on_heartbeat,
            StatusMsg: self._on_status,
        }

    # --- requests ---------------------------------------------------------------

    def handshake(self, url: str) -> Handshake:
        """Adds the ``/v2`` path (§1) to a bare host URL; a URL with a path is kept as is."""
        parts = urlsplit(url)
        if parts.path in ("", "/"):
            url = urlunsplit(parts._replace(path=PATH))
        return Handshake(url)

    def check_topic(self, topic: Topic) -> None:
        if topic.channel not in CHANNELS:
            raise TopicError(
                f"{topic.name}: the kraken protocol serves the channels "
                f"{', '.join(sorted(CHANNELS))}, not {topic.channel!r}"
            )
        if topic.exchange != EXCHANGE:
            raise TopicError(
                f"{topic.name}: the kraken protocol serves kraken markets only, "
                f"not {topic.exchange!r}"
            )
        if topic.channel == "ohlc" and topic.interval not in INTERVALS:
            raise TopicError(
                f"{topic.name}: kraken candles come in {', '.join(INTERVALS)} only (§7)"
            )

    def connection_made(self, now_ns: int) -> None:
        """Nothing resumes on a new connection (§2): subscriptions and books start over."""
        self._wanted.clear()
        self._subs.clear()
        self._triggers.clear()
        self._pending.clear()
        self._books.clear()

    def subscribe(self, topics: Sequence[Topic]) -> list[str | bytes]:
        """One request per channel and options, with ``snapshot: true`` (§3, §6)."""
        existed: dict[SubKey, bool] = {}
        for topic in topics:
            key = self._key(topic)
            served = self._subs.get(key)
            existed.setdefault(key, bool(served))
            if served is None:
                served = self._subs[key] = set()
            served.add(topic.name)
            self._wanted[topic.name] = topic
            if topic.channel == "book":
                self._books.pop(key[1], None)  # frames count from the new snapshot only
        unsubs = _Batch("unsubscribe")
        subs = _Batch("subscribe")
        for key, had in existed.items():
            channel, symbol, interval = key
            served = self._subs[key]
            if had:  # re-request (new options, or just an ack for an added topic)
                unsubs.add(channel, interval, self._triggers.get(symbol), symbol, ())
            trigger = None
            if channel == "ticker":
                trigger = self._triggers[symbol] = _trigger(served)
            subs.add(channel, interval, trigger, symbol, tuple(sorted(served)))
        return self._frames(unsubs) + self._frames(subs)

    def unsubscribe(self, topics: Sequence[Topic]) -> list[str | bytes]:
        """Drop topics; a ticker shared by ticker and spread topics changes its trigger."""
        removed: dict[SubKey, list[str]] = {}
        for topic in topics:
            self._wanted.pop(topic.name, None)
            key = self._key(topic)
            served = self._subs.get(key)
            if served is None or topic.name not in served:
                continue
            served.discard(topic.name)
            removed.setdefault(key, []).append(topic.name)
            if topic.channel == "book":
                self._books.pop(key[1], None)
        unsubs = _Batch("unsubscribe")
        subs = _Batch("subscribe")
        for key, names in removed.items():
            channel, symbol, interval = key
            served = self._subs[key]
            if not served:
                del self._subs[key]
                unsubs.add(channel, interval, self._triggers.pop(symbol, None), symbol, names)
            elif channel == "ticker" and _trigger(served) != self._triggers.get(symbol):
                unsubs.add(channel, interval, self._triggers.get(symbol), symbol, names)
                trigger = self._triggers[symbol] = _trigger(served)
                subs.add(channel, interval, trigger, symbol, tuple(sorted(served)))
        return self._frames(unsubs) + self._frames(subs)

    def resync(self, topic: str) -> list[str | bytes]:
        """§8: unsubscribe that book alone, then subscribe it again with a snapshot."""
        wanted = self._wanted.get(topic)
        if wanted is None or wanted.channel != "book":
            return []
        symbol = to_kraken(wanted.base, wanted.quote)
        state = self._books.get(symbol)
        if state is not None:
            state.live = False
        unsubs, subs = _Batch("unsubscribe"), _Batch("subscribe")
        unsubs.add("book", 0, None, symbol, ())
        subs.add("book", 0, None, symbol, (topic,))
        return self._frames(unsubs) + self._frames(subs)

    def fetched(
        self, topic: str, status: int, body: bytes, recv_ts: int,
        events: list[Event], signals: list[Signal],
    ) -> None:  # fmt: skip
        """Kraken needs no HTTP requests; an answer here is a bug, reported, not raised."""
        signals.append(DecodeError("unexpected_fetch", f"no request was made for {topic}"))

    def _key(self, topic: Topic) -> SubKey:
        self.check_topic(topic)
        interval = INTERVALS[topic.interval] if topic.channel == "ohlc" else 0
        return (CHANNELS[topic.channel], to_kraken(topic.base, topic.quote), interval)

    def _frames(self, batch: _Batch) -> list[str | bytes]:
        frames: list[str | bytes] = []
        for (channel, interval, trigger), symbols in batch.groups.items():
            names = list(symbols)
            for start in range(0, len(names), SYMBOLS_PER_REQUEST):
                chunk = {name: symbols[name] for name in names[start : start + SYMBOLS_PER_REQUEST]}
                frames.append(self._request(batch.method, channel, interval, trigger, chunk))
        return frames

    def _request(
        self,
        method: str,
        channel: str,
        interval: int,
        trigger: str | None,
        symbols: dict[str, tuple[str, ...]],
    ) -> str:
        self._req_id = self._req_id % INT32_MAX + 1  # an int32 (§3)
        self._pending[self._req_id] = _Pending(method, symbols)
        subscribing = method == "subscribe"
        params = Params(
            channel=channel,
            symbol=list(symbols),
            depth=self.book_depth if channel == "book" else None,
            interval=interval or None,
            event_trigger=trigger if subscribing else None,
            snapshot=True if subscribing else None,
        )
        return REQUEST_ENCODER.encode(Request(method, params, self._req_id)).decode()

    # --- frames -----------------------------------------------------------------

    def feed(
        self, frame: str | bytes, recv_ts: int, events: list[Event], signals: list[Signal]
    ) -> None:
        try:
            message = CHANNEL_DECODER.decode(frame)
        except msgspec.ValidationError as exc:
            self._not_a_channel(frame, exc, signals)
            return
        except (msgspec.DecodeError, UnicodeDecodeError) as exc:
            signals.append(DecodeError(syntax_kind(frame), str(exc)))
            return
        try:
            self._handlers[type(message)](message, recv_ts, events, signals)
        except (ValueError, ArithmeticError) as exc:  # feed never raises
            signals.append(DecodeError("invalid_message", str(exc)))

    def _not_a_channel(
        self, frame: str | bytes, exc: msgspec.ValidationError, signals: list[Signal]
    ) -> None:
        """A reply to a request, an unknown channel, or a malformed known one."""
        if not is_utf8(frame):  # a bad byte in a field the decoders below skip
            signals.append(DecodeError("invalid_utf8", str(exc)))
            return
        try:
            envelope = ENVELOPE_DECODER.decode(frame)
        except UnicodeDecodeError as error:
            signals.append(DecodeError("invalid_utf8", str(error)))
            return
        except msgspec.MsgspecError:
            signals.append(DecodeError("invalid_message", str(exc)))
            return
        channel = envelope.channel
        if channel is not None:
            if isinstance(channel, str) and channel not in KNOWN_CHANNELS:
                signals.append(DecodeError("unknown_type", f"channel {channel[:40]!r}"))
            else:
                signals.append(DecodeError("invalid_message", f"channel {channel!r:.40}: {exc}"))
            return
        try:
            response = RESPONSE_DECODER.decode(frame)
        except (msgspec.MsgspecError, UnicodeDecodeError) as error:
            signals.append(DecodeError("invalid_message", f"reply: {error}"))
            return
        self._on_response(response, signals)

    def _market(self, channel: str, symbol: str, interval: str = "") -> Market:
        """(topic, base, quote) for a v2 symbol, cached; ValueError if it is not one."""
        key = (channel, symbol, interval)
        market = self._markets.get(key)
        if market is None:
            base, quote = from_kraken(symbol)
            market = (Topic(channel, EXCHANGE, base, quote, interval).name, base, quote)
            self._markets[key] = market
        return market

    def _each(
        self,
        entries: Sequence[Any],
        handler: Callable[[Any, int, list[Event], list[Signal]], None],
        recv_ts: int,
        events: list[Event],
        signals: list[Signal],
    ) -> None:
        """Iterate ``data[]`` (§8: never index ``[0]``); a bad entry spoils only itself."""
        for entry in entries:
            try:
                handler(entry, recv_ts, events, signals)
            except (ValueError, ArithmeticError) as exc:
                signals.append(DecodeError("invalid_message", f"{entry.symbol[:40]}: {exc}"))

    def _on_trades(self, m: TradeMsg, recv_ts: int, ev: list[Event], sig: list[Signal]) -> None:
        self._each(m.data, self._on_trade, recv_ts, ev, sig)

    def _on_trade(self, e: TradeEntry, recv_ts: int, events: list[Event], _: list[Signal]) -> None:
        topic, base, quote = self._market("trades", e.symbol)
        if topic not in self._wanted:
            return
        trade = Trade(
            topic=topic, source=self.source, exchange=EXCHANGE, base=base, quote=quote,
            ts=rfc3339_ns(e.timestamp), recv_ts=recv_ts, price=number(e.price),
            amount=number(e.qty), side=e.side if e.side in ("buy", "sell") else "unknown",
            id=str(e.trade_id),
        )  # fmt: skip
        if self._recent_trades.first_time(topic, trade.id):  # §6: a resubscribe replays 50
            events.append(trade)

    def _on_ticker(self, m: TickerMsg, recv_ts: int, ev: list[Event], sig: list[Signal]) -> None:
        self._each(m.data, self._on_ticker_entry, recv_ts, ev, sig)

    def _on_ticker_entry(
        self, e: TickerEntry, recv_ts: int, events: list[Event], _: list[Signal]
    ) -> None:
        served = self._subs.get(("ticker", e.symbol, 0))
        if not served:
            return
        ts = recv_ts if e.timestamp is None else rfc3339_ns(e.timestamp)
        topic, base, quote = self._market("ticker", e.symbol)
        common: dict[str, Any] = {
            "source": self.source, "exchange": EXCHANGE, "base": base, "quote": quote,
            "ts": ts, "recv_ts": recv_ts,
        }  # fmt: skip
        if topic in served:
            events.append(
                Ticker(
                    topic=topic, **common, flags=0, price=optional(e.last), bid=optional(e.bid),
                    ask=optional(e.ask), volume_24h=optional(e.volume), high_24h=optional(e.high),
                    low_24h=optional(e.low),
                )
            )  # fmt: skip
        spread = self._market("spread", e.symbol)[0]
        if spread in served:
            events.append(
                Spread(
                    topic=spread, **common, bid=optional(e.bid), bid_size=optional(e.bid_qty),
                    ask=optional(e.ask), ask_size=optional(e.ask_qty),
                )
            )  # fmt: skip

    def _on_ohlc(self, m: OhlcMsg, recv_ts: int, ev: list[Event], sig: list[Signal]) -> None:
        self._each(m.data, self._on_candle, recv_ts, ev, sig)

    def _on_candle(
        self, e: CandleEntry, recv_ts: int, events: list[Event], _: list[Signal]
    ) -> None:
        interval = INTERVAL_NAMES.get(e.interval)
        if interval is None:
            raise ValueError(f"ohlc interval {e.interval} has no feedgate name")
        topic, base, quote = self._market("ohlc", e.symbol, interval)
        if topic not in self._wanted:
            return
        volume, vwap = number(e.volume), number(e.vwap)  # both checked before multiplying
        # v2 sends no quote volume; vwap x volume is the nearest (vwap is rounded, §7).
        quote_volume = number(_WIDE.multiply(Decimal(vwap), e.volume))
        events.append(
            Candle(
                topic=topic, source=self.source, exchange=EXCHANGE, base=base, quote=quote,
                ts=rfc3339_ns(e.interval_begin), recv_ts=recv_ts, interval=interval,
                open=number(e.open), high=number(e.high), low=number(e.low), close=number(e.close),
                volume=volume, volume_quote=quote_volume, trades=e.trades,
            )
        )  # fmt: skip

    # --- books (§8) ---------------------------------------------------------------

    def _on_book(self, m: BookMsg, recv_ts: int, ev: list[Event], sig: list[Signal]) -> None:
        if m.type == "snapshot":
            self._each(m.data, self._on_book_snapshot, recv_ts, ev, sig)
        elif m.type == "update":
            self._each(m.data, self._on_book_update, recv_ts, ev, sig)
        else:
            sig.append(DecodeError("invalid_message", f"book message type {m.type[:20]!r}"))

    def _on_book_snapshot(
        self, e: BookEntry, recv_ts: int, _: list[Event], signals: list[Signal]
    ) -> None:
        topic, base, quote = self._market("book", e.symbol)
        if topic not in self._wanted:
            return
        bids, asks = levels(e.bids), levels(e.asks)
        previous = self._books.get(e.symbol)
        was_live = previous is not None and previous.live
        state = self._books[e.symbol] = _Book(topic, base, quote, self.book_depth)
        state.checked.apply(bids, asks)
        got = state.checked.checksum()
        if got != e.checksum:
            self._snapshot_mismatch(topic, e.checksum, got, was_live, signals)
            return
        self._mismatches.pop(topic, None)
        state.live = True
        seq = self._seq[topic] = self._seq.get(topic, 0) + 1
        book_bids, book_asks = state.checked.levels()
        signals.append(
            BookSnapshot(
                topic=topic, exchange=EXCHANGE, base=base, quote=quote,
                ts=recv_ts if e.timestamp is None else rfc3339_ns(e.timestamp),
                recv_ts=recv_ts, seq=seq, bids=tuple(book_bids), asks=tuple(book_asks),
            )
        )  # fmt: skip

    def _snapshot_mismatch(
        self, topic: str, expected: int, got: int, was_live: bool, signals: list[Signal]
    ) -> None:
        """A snapshot that fails its own checksum.

        The session resyncs a ``BookInvalid`` book only while its copy is in sync, which
        it is not while waiting for this snapshot: a planned reconnect asks again instead,
        and after ``MAX_SNAPSHOT_MISMATCHES`` in a row the book is given up (§8, nautilus).
        """
        reason = f"checksum mismatch: expected {expected}, got {got}"
        signals.append(BookInvalid(topic, reason))
        if was_live:
            return  # the session's copy was in sync: BookInvalid resyncs it
        count = self._mismatches[topic] = self._mismatches.get(topic, 0) + 1
        if count < MAX_SNAPSHOT_MISMATCHES:
            signals.append(Reconnect(f"{topic}: snapshot {reason}", planned=True))
        else:
            signals.append(
                SubscribeFailed(topic, "checksum_mismatch", f"{count} snapshots in a row: {reason}")
            )

    def _on_book_update(
        self, e: BookEntry, recv_ts: int, _: list[Event], signals: list[Signal]
    ) -> None:
        state = self._books.get(e.symbol)
        if state is None or not state.live:
            return  # waiting for the snapshot of a (re)subscribe (§8)
        try:
            bids, asks = levels(e.bids), levels(e.asks)
            ts = recv_ts if e.timestamp is None else rfc3339_ns(e.timestamp)
        except ValueError as exc:  # the book cannot follow a message it cannot read
            state.live = False
            signals.append(BookInvalid(state.topic, f"unreadable update: {exc}"))
            raise
        bid_changes, ask_changes = state.checked.apply(bids, asks)
        got = state.checked.checksum()
        if got != e.checksum:
            state.live = False
            state.checked = CheckedBook(self.book_depth)  # §8: drop it until the new snapshot
            signals.append(
                BookInvalid(state.topic, f"checksum mismatch: expected {e.checksum}, got {got}")
            )
            return
        self._mismatches.pop(state.topic, None)
        if not bid_changes and not ask_changes:
            return
        seq = self._seq[state.topic] = self._seq[state.topic] + 1
        signals.append(
            BookDelta(
                topic=state.topic, exchange=EXCHANGE, base=state.base, quote=state.quote,
                ts=ts, recv_ts=recv_ts, seq=seq,
                bid_set=_sets(bid_changes), bid_remove=_removes(bid_changes),
                ask_set=_sets(ask_changes), ask_remove=_removes(ask_changes),
            )
        )  # fmt: skip

    # --- control ----------------------------------------------------------------

    def _on_heartbeat(self, _: HeartbeatMsg, __: int, ___: list[Event], s: list[Signal]) -> None:
        s.append(Heartbeat())

    def _on_status(self, m: StatusMsg, _: int, __: list[Event], signals: list[Signal]) -> None:
        """The first frame of a connection (§2); ``connection_id`` is kept exact."""
        for entry in m.data:
            signals.append(
                Welcome(
                    f"kraken {entry.version} {entry.system} api {entry.api_version} "
                    f"connection_id {entry.connection_id}"
                )
            )
            if entry.system == "maintenance":
                signals.append(UpstreamError("maintenance", "Kraken reports system maintenance"))

    def _on_response(self, r: Response, signals: list[Signal]) -> None:
        if r.rate_error is not None:
            # §9: the v1-shaped refusal names no request; start over, more slowly.
            signals.append(UpstreamError("exceeded_msg_rate", r.rate_error, backoff=RATE_BACKOFF))
            signals.append(Reconnect(f"upstream: {r.rate_error}", planned=False))
        elif r.method == "pong":
            signals.append(Heartbeat())
        elif r.success is False or r.error is not None:
            self._on_refusal(r, signals)
        elif r.success and r.result is not None and r.method in ("subscribe", "unsubscribe"):
            self._on_ack(r, r.result.channel, r.result.symbol, r.result.interval or 0, signals)
        else:
            kind = "missing_type" if r.method is None else "unknown_type"
            signals.append(DecodeError(kind, f"reply with method {r.method!r:.40}"))

    def _on_ack(
        self, r: Response, channel: str, symbol: str, interval: int, signals: list[Signal]
    ) -> None:
        """One ack per symbol (§3): confirm the topics that request was for."""
        topics: tuple[str, ...] | None = None
        req_id = -1 if r.req_id is None else r.req_id
        pending = self._pending.get(req_id)
        if pending is not None and pending.method == r.method:
            topics = pending.symbols.pop(symbol, None)
            if not pending.symbols:
                del self._pending[req_id]
        subscribed = r.method == "subscribe"
        if topics is None:  # not ours by req_id: go by what the ack names
            topics = tuple(self._subs.get((channel, symbol, interval), ())) if subscribed else ()
        for name in topics:
            if subscribed and name in self._wanted:
                signals.append(Subscribed(name))
            elif not subscribed and name not in self._wanted:
                signals.append(Unsubscribed(name))

    def _on_refusal(self, r: Response, signals: list[Signal]) -> None:
        """§3: always check ``success``; the error names no symbol, so go by request order."""
        text = r.error or "refused without a reason"
        req_id = -1 if r.req_id is None else r.req_id
        pending = self._pending.get(req_id)
        if pending is None:
            signals.append(UpstreamError(error_code(text), text))
            return
        order = list(pending.symbols)
        named = [symbol for symbol in order if text.endswith(f" {symbol}")]
        if named:
            refused = named[:1]
        elif text.startswith(PER_SYMBOL_ERRORS):
            refused = order[:1]
        else:
            refused = order  # the whole request (a bad depth, interval, or request)
        code = error_code(text)
        for symbol in refused:
            for name in pending.symbols.pop(symbol):
                if pending.method != "subscribe":
                    if name not in self._wanted:
                        signals.append(Unsubscribed(name))
                elif name in self._wanted:
                    # "Already subscribed" included: the connection holds that channel and
                    # symbol with other options (an ohlc interval), never a re-request (those
                    # unsubscribe first).
                    signals.append(SubscribeFailed(name, code, text))
        if not pending.symbols:
            del self._pending[req_id]


class _Batch:
    """Requests being built: (channel, interval, trigger) → symbol → topics to confirm."""

    __slots__ = ("groups", "method")

    def __init__(self, method: str) -> None:
        self.method = method
        self.groups: dict[tuple[str, int, str | None], dict[str, tuple[str, ...]]] = {}

    def add(
        self,
        channel: str,
        interval: int,
        trigger: str | None,
        symbol: str,
        topics: Sequence[str],
    ) -> None:
        group_trigger = trigger if self.method == "subscribe" else None
        self.groups.setdefault((channel, interval, group_trigger), {})[symbol] = tuple(topics)


def _trigger(topics: set[str]) -> str:
    """§7: ``bbo`` when a spread topic needs every top-of-book change, else ``trades``."""
    return "bbo" if any(name.startswith("spread.") for name in topics) else "trades"


def _sets(changes: Changes) -> tuple[Level, ...]:
    return tuple((price, qty) for price, qty in changes.values() if qty is not None)


def _removes(changes: Changes) -> tuple[str, ...]:
    return tuple(price for price, qty in changes.values() if qty is None)
