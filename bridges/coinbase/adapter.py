"""The sans-I/O Coinbase Advanced Trade market-data bridge (``shared/protocols/coinbase.md``).

Public channels, no key. The session sends ``subscribe`` right after connecting
(the 5 s rule, §2); the first request of every connection also turns on
``heartbeats``, which keeps idle subscriptions open and is not a topic.

* ``market_trades`` → ``trades.coinbase.<pair>``: each trade once (the recent-trades
  snapshot sent on every subscribe is deduplicated by ``trade_id``), oldest first.
* ``ticker`` → ``ticker.coinbase.<pair>``: trade-driven, so it is no BBO feed (§7);
  a top of book comes from the book instead (the upstream's ``spread_from_book``).
* ``candles`` → ``ohlc.coinbase.<pair>.5m``: five-minute buckets only (§7).
* ``level2`` (data on ``l2_data``, sides ``bid``/``offer``) → ``book.coinbase.<pair>``:
  the feed has no per-product sequence, so the bridge numbers each product's
  snapshot and updates consecutively for the book engine. ``sequence_num`` counts
  every message on the connection (§4): a jump means something was lost somewhere,
  so every book on the connection is declared invalid and resubscribed (§8).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import msgspec

from bridges.coinbase.wire import (
    ENVELOPE_DECODER,
    KNOWN_CHANNELS,
    MESSAGE_DECODER,
    REQUEST_ENCODER,
    TICKER_FIELDS,
    WIRE_CHANNELS,
    CandlesMessage,
    HeartbeatsMessage,
    L2Message,
    Request,
    SubscriptionsMessage,
    TickerMessage,
    TradeEntry,
    TradesMessage,
    decimal_text,
    rfc3339_ns,
    split_levels,
)
from bridges.common import RecentIds, is_utf8, syntax_kind
from bridges.symbols import to_coinbase
from gateway.bridge import (
    BookDelta,
    BookInvalid,
    BookSnapshot,
    BridgeSettings,
    DecodeError,
    Handshake,
    Heartbeat,
    Reconnect,
    Signal,
    Subscribed,
    SubscribeFailed,
    Unsubscribed,
    UpstreamError,
)
from gateway.errors import TopicError
from gateway.events import Candle, Event, Gap, Ticker, Trade
from gateway.topics import Topic, parse_topic

NS = 1_000_000_000
EXCHANGE = "coinbase"
#: feedgate channel → Coinbase subscribe name (§6-§8).
CHANNELS: dict[str, str] = {
    "trades": "market_trades",
    "ticker": "ticker",
    "ohlc": "candles",
    "book": "level2",
}
CANDLE_INTERVAL = "5m"  # §7: five-minute buckets only
#: ``-USDC`` products that are markets of their own on market-data channels (§5).
USDC_MARKETS = frozenset({("usdt", "usdc"), ("eurc", "usdc")})
#: Trade ids remembered per topic: a resubscribe replays the recent trades (§6).
RECENT_TRADES = 1024

_TAKER_SIDES = {"BUY": "buy", "SELL": "sell"}
_SUBSCRIBE_NAMES = {wire: name for name, wire in WIRE_CHANNELS.items()}
_SECONDS = re.compile(r"[0-9]{1,12}")

Route = tuple[str, str, str]  # topic, base, quote
Key = tuple[str, str]  # (subscribe name, product id)


class _Book:
    """One level2 product on this connection; ``live`` once its snapshot arrived."""

    __slots__ = ("base", "live", "quote", "topic")

    def __init__(self, topic: str, base: str, quote: str) -> None:
        self.topic, self.base, self.quote = topic, base, quote
        self.live = False


class CoinbaseBridge:
    """Bridge for the Coinbase Advanced Trade market-data WebSocket (JSON)."""

    #: The bridge numbers book updates itself, from 1, and never wraps.
    book_seq_modulus: int | None = None
    #: §9. Messages: 8/s per IP, counted by the server; 6/s evenly spaced leaves room for
    #: network jitter and for other clients on the same IP. Connects: 8/s per IP (the
    #: per-second pacing is ``min_connect_interval``). Products per connection are not
    #: documented: one public client keeps about 30 a socket (§8), which also bounds a
    #: gap's blast radius; ``connections`` is a guess.
    default_quotas: Mapping[str, float] = MappingProxyType({
        "connections": 10, "subscriptions_per_connection": 30, "subscriptions_total": 300,
        "connects_per_minute": 480, "messages_per_second": 6,
    })  # fmt: skip

    def __init__(self, settings: BridgeSettings) -> None:
        self.upstream = settings.upstream
        self.source = settings.source or settings.upstream
        self._routes: dict[tuple[str, str], Route] = {}  # (wire channel, product) → route
        self._recent_trades = RecentIds(RECENT_TRADES)
        self._book_seqs: dict[str, int] = {}  # product → last seq given; kept across connections
        self._handlers: dict[type[Any], Callable[[Any, int, list[Event], list[Signal]], None]] = {
            L2Message: self._on_l2,
            TradesMessage: self._on_trades,
            TickerMessage: self._on_ticker,
            CandlesMessage: self._on_candles,
            HeartbeatsMessage: self._on_heartbeat,
            SubscriptionsMessage: self._on_subscriptions,
        }
        self.connection_made(0)

    # --- requests ---------------------------------------------------------------

    def handshake(self, url: str) -> Handshake:
        """Market data needs no key and no header (§1, §11)."""
        return Handshake(url)

    def check_topic(self, topic: Topic) -> None:
        name = topic.name
        if topic.exchange != EXCHANGE:
            raise TopicError(f"{name}: the coinbase protocol serves coinbase markets only")
        if topic.channel == "spread":
            raise TopicError(
                f"{name}: coinbase has no top-of-book channel (its ticker is trade-driven); "
                f"subscribe book.coinbase.{topic.base}{topic.quote} with spread_from_book = true"
            )
        if topic.channel not in CHANNELS:
            raise TopicError(
                f"{name}: coinbase serves the channels {', '.join(sorted(CHANNELS))}, "
                f"not {topic.channel!r}"
            )
        if topic.channel == "ohlc" and topic.interval != CANDLE_INTERVAL:
            raise TopicError(f"{name}: coinbase candles come in {CANDLE_INTERVAL} only")
        if topic.quote == "usdc" and (topic.base, topic.quote) not in USDC_MARKETS:
            raise TopicError(
                f"{name}: coinbase market data for -USDC products is the -USD product's; "
                f"use {topic.channel}.coinbase.{topic.base}usd"
            )

    def connection_made(self, now_ns: int) -> None:
        """Everything below is per connection, ``sequence_num`` included (§4)."""
        self._last_seq: int | None = None
        self._last_recv_ts = now_ns
        self._heartbeats = False
        self._wanted: dict[Key, str] = {}  # → topic
        self._leaving: dict[Key, str] = {}  # unsubscribed, not yet gone from an ack
        self._confirmed: set[str] = set()
        self._failed: set[str] = set()
        self._held: dict[str, set[str]] = {}  # the last ack's list, by subscribe name
        self._outstanding = 0  # requests sent and not yet answered by an ack or an error
        self._errors: list[str] = []
        self._books: dict[str, _Book] = {}  # product → book state
        self._tickers: dict[str, Ticker] = {}

    def subscribe(self, topics: Sequence[Topic]) -> list[str | bytes]:
        """One request per channel (§3); the connection's first one adds ``heartbeats`` (§2)."""
        frames: list[str | bytes] = []
        if not self._heartbeats:
            self._heartbeats = True
            frames.append(self._request("subscribe", "heartbeats", None))
        for channel, keys in self._group(topics).items():
            for key, topic in keys:
                self._wanted[key] = topic.name
                self._leaving.pop(key, None)
                self._failed.discard(topic.name)
                self._tickers.pop(topic.name, None)
                if channel == "level2":
                    self._books[key[1]] = _Book(topic.name, topic.base, topic.quote)
            frames.append(self._request("subscribe", channel, [k[1] for k, _ in keys]))
        return frames

    def unsubscribe(self, topics: Sequence[Topic]) -> list[str | bytes]:
        frames: list[str | bytes] = []
        for channel, keys in self._group(topics).items():
            for key, topic in keys:
                self._wanted.pop(key, None)
                self._leaving[key] = topic.name
                self._confirmed.discard(topic.name)
                self._failed.discard(topic.name)
                if channel == "level2":
                    self._books.pop(key[1], None)
            frames.append(self._request("unsubscribe", channel, [k[1] for k, _ in keys]))
        return frames

    def resync(self, topic: str) -> list[str | bytes]:
        """Unsubscribe and subscribe ``level2`` for that product: a new snapshot (§8)."""
        try:
            parsed = parse_topic(topic)
        except TopicError:
            return []
        book = self._books.get(to_coinbase(parsed.base, parsed.quote))
        if parsed.channel != "book" or book is None:
            return []  # only books resync; one no longer held needs nothing
        book.live = False  # its updates are ignored until the new snapshot
        product = [to_coinbase(parsed.base, parsed.quote)]
        return [
            self._request("unsubscribe", "level2", product),
            self._request("subscribe", "level2", product),
        ]

    def fetched(
        self, topic: str, status: int, body: bytes, recv_ts: int,
        events: list[Event], signals: list[Signal],
    ) -> None:  # fmt: skip
        """Coinbase needs no HTTP requests; an answer here is a bug, reported, not raised."""
        signals.append(DecodeError("unexpected_fetch", f"no request was made for {topic}"))

    def _group(self, topics: Sequence[Topic]) -> dict[str, list[tuple[Key, Topic]]]:
        """Topics by subscribe name, each product once; routes remembered for the data."""
        grouped: dict[str, list[tuple[Key, Topic]]] = {}
        for topic in topics:
            channel = CHANNELS.get(topic.channel)
            if channel is None or topic.exchange != EXCHANGE:
                continue  # refused by check_topic; nothing to send
            product = to_coinbase(topic.base, topic.quote)
            self._routes[(WIRE_CHANNELS[channel], product)] = (topic.name, topic.base, topic.quote)
            keys = grouped.setdefault(channel, [])
            if all(k[1] != product for k, _ in keys):
                keys.append(((channel, product), topic))
        return grouped

    def _request(self, kind: str, channel: str, products: list[str] | None) -> str:
        self._outstanding += 1  # each one is answered by an ack or an error (§3)
        return REQUEST_ENCODER.encode(Request(kind, products, channel)).decode()

    # --- frames -----------------------------------------------------------------

    def feed(
        self, frame: str | bytes, recv_ts: int, events: list[Event], signals: list[Signal]
    ) -> None:
        try:
            message = MESSAGE_DECODER.decode(frame)
        except msgspec.ValidationError as exc:
            self._on_undecoded(frame, exc, recv_ts, events, signals)
        except (msgspec.DecodeError, UnicodeDecodeError) as exc:
            signals.append(DecodeError(syntax_kind(frame), str(exc)))
        else:
            if message.sequence_num is not None:
                self._check_sequence(message.sequence_num, recv_ts, events, signals)
            self._handlers[type(message)](message, recv_ts, events, signals)
        self._last_recv_ts = recv_ts

    def _on_undecoded(
        self,
        frame: str | bytes,
        exc: msgspec.ValidationError,
        recv_ts: int,
        events: list[Event],
        signals: list[Signal],
    ) -> None:
        """Errors (no envelope, §3), unknown channels, and malformed known messages."""
        try:
            envelope = ENVELOPE_DECODER.decode(frame)
        except (msgspec.MsgspecError, UnicodeDecodeError):
            kind = "invalid_message" if is_utf8(frame) else "invalid_utf8"
            signals.append(DecodeError(kind, str(exc)))
            return
        if envelope.type == "error":
            self._on_error(envelope.message or envelope.reason or "error", signals)
            return
        if envelope.channel is None:
            if envelope.type is None:
                signals.append(DecodeError("invalid_message", "neither channel nor type"))
            else:
                signals.append(DecodeError("unknown_type", f"type {envelope.type[:20]!r}"))
            return
        if envelope.sequence_num is not None:  # it still used up its number (§4)
            self._check_sequence(envelope.sequence_num, recv_ts, events, signals)
        channel = envelope.channel[:40]
        if channel not in KNOWN_CHANNELS:
            signals.append(DecodeError("unknown_channel", f"channel {channel!r}"))
            return
        signals.append(DecodeError("invalid_message", f"{channel}: {exc}"))
        if channel == "l2_data":  # book changes were lost, for products unknown
            self._invalidate_books(f"undecodable l2_data message: {exc}", signals)
        elif channel == "subscriptions" and self._outstanding > 0:
            self._outstanding -= 1  # it answered a request all the same
            if self._outstanding == 0:
                self._settle(signals)

    def _check_sequence(
        self, seq: int, recv_ts: int, events: list[Event], signals: list[Signal]
    ) -> None:
        """§4: one number per message on the connection; a jump means a lost message."""
        last, self._last_seq = self._last_seq, seq
        if last is None or seq == last + 1:
            return
        reason = f"sequence_num gap: expected {last + 1}, got {seq}"
        for (channel, product), topic in self._wanted.items():
            if channel == "market_trades":  # lost trades never come back
                _, base, quote = self._routes[("market_trades", product)]
                events.append(
                    Gap(topic=topic, source=self.source, exchange=EXCHANGE, base=base,
                        quote=quote, ts=recv_ts, recv_ts=recv_ts, reason=reason,
                        from_ts=self._last_recv_ts, to_ts=recv_ts)
                )  # fmt: skip
        self._invalidate_books(reason, signals)

    def _invalidate_books(self, reason: str, signals: list[Signal]) -> None:
        """Every book on the connection is suspect (§4): resync them all (§8).

        The session resyncs only books that are in sync, so a book still waiting for a
        snapshot (which the lost message may have been) cannot come back that way:
        then the connection is dropped and everything resubscribed, as C7's client does.
        """
        waiting = sorted(b.topic for b in self._books.values()
                         if not b.live and b.topic not in self._failed)  # fmt: skip
        if waiting:
            for book in self._books.values():
                book.live = False
            signals.append(
                Reconnect(f"{reason} while {', '.join(waiting)} waited for a snapshot", False)
            )
            return
        for book in self._books.values():
            if book.live:
                book.live = False
                signals.append(BookInvalid(book.topic, reason))

    # --- data -------------------------------------------------------------------

    def _ts(self, text: str, recv_ts: int) -> int:
        """The envelope's send time (§4), else the receive time."""
        if not text:
            return recv_ts
        try:
            return rfc3339_ns(text)
        except ValueError:
            return recv_ts

    def _on_l2(self, m: L2Message, recv_ts: int, _: list[Event], signals: list[Signal]) -> None:
        ts = self._ts(m.timestamp, recv_ts)
        for event in m.events:  # one frame may carry several products (§8)
            book = self._books.get(event.product_id)
            if book is None:
                continue  # not held on this connection (an unsubscribe in flight)
            try:
                if event.type not in ("snapshot", "update"):
                    raise ValueError(f"unknown event type {event.type[:20]!r}")
                bids, asks = split_levels(event.updates)
            except ValueError as exc:
                signals.append(DecodeError("invalid_message", f"l2_data {book.topic}: {exc}"))
                if book.live:
                    book.live = False
                    signals.append(BookInvalid(book.topic, f"invalid l2_data event: {exc}"))
                continue
            if event.type == "update" and not book.live:
                continue  # before its (new) snapshot: the snapshot will include it (§8)
            seq = self._book_seqs[event.product_id] = self._book_seqs.get(event.product_id, 0) + 1
            if event.type == "snapshot":
                book.live = True
                signals.append(
                    BookSnapshot(topic=book.topic, exchange=EXCHANGE, base=book.base,
                                 quote=book.quote, ts=ts, recv_ts=recv_ts, seq=seq,
                                 bids=bids, asks=asks)
                )  # fmt: skip
            else:  # absolute sizes, "0" removes: the engine reads both from a set (§8)
                signals.append(
                    BookDelta(topic=book.topic, exchange=EXCHANGE, base=book.base,
                              quote=book.quote, ts=ts, recv_ts=recv_ts, seq=seq,
                              bid_set=bids, ask_set=asks)
                )  # fmt: skip

    def _route(self, channel: str, product: str, signals: list[Signal]) -> Route | None:
        route = self._routes.get((channel, product))
        if route is None:
            signals.append(DecodeError("unknown_product", f"{channel} for {product[:40]!r}"))
        return route

    def _on_trades(
        self, m: TradesMessage, recv_ts: int, events: list[Event], signals: list[Signal]
    ) -> None:
        for event in m.events:
            parsed: list[tuple[int, TradeEntry]] = []
            for trade in event.trades:
                try:
                    parsed.append((rfc3339_ns(trade.time), trade))
                except ValueError as exc:
                    signals.append(DecodeError("invalid_message", f"market_trades: {exc}"))
            if len(parsed) > 1 and parsed[0][0] > parsed[-1][0]:
                parsed.reverse()  # the snapshot lists the newest first: publish in time order
            parsed.sort(key=lambda item: item[0])
            for ts, trade in parsed:
                self._trade(trade, ts, recv_ts, events, signals)

    def _trade(
        self, t: TradeEntry, ts: int, recv_ts: int, events: list[Event], signals: list[Signal]
    ) -> None:
        route = self._route("market_trades", t.product_id, signals)
        if route is None:
            return
        topic, base, quote = route
        try:
            price, amount = decimal_text(t.price, "price"), decimal_text(t.size, "size")
        except ValueError as exc:
            signals.append(DecodeError("invalid_message", f"market_trades {topic}: {exc}"))
            return
        if not self._recent_trades.first_time(topic, t.trade_id):
            return  # replayed by the snapshot after a (re)subscribe (§6)
        events.append(
            Trade(topic=topic, source=self.source, exchange=EXCHANGE, base=base, quote=quote,
                  ts=ts, recv_ts=recv_ts, price=price, amount=amount,
                  side=_TAKER_SIDES.get(t.side.upper(), "unknown"), id=t.trade_id)
        )  # fmt: skip

    def _on_ticker(
        self, m: TickerMessage, recv_ts: int, events: list[Event], signals: list[Signal]
    ) -> None:
        """Each entry is the whole ticker; merged anyway so a missing field keeps its value."""
        ts = self._ts(m.timestamp, recv_ts)
        for event in m.events:
            for entry in event.tickers:
                route = self._route("ticker", entry.product_id, signals)
                if route is None:
                    continue
                topic, base, quote = route
                try:
                    changes = {name: decimal_text(value, name) for name in TICKER_FIELDS
                               if (value := getattr(entry, name)) is not None}  # fmt: skip
                except ValueError as exc:
                    signals.append(DecodeError("invalid_message", f"ticker {topic}: {exc}"))
                    continue
                previous = self._tickers.get(topic)
                state = (
                    Ticker(topic=topic, source=self.source, exchange=EXCHANGE, base=base,
                           quote=quote, ts=ts, recv_ts=recv_ts, flags=0, **changes)
                    if previous is None
                    else msgspec.structs.replace(previous, ts=ts, recv_ts=recv_ts, **changes)
                )  # fmt: skip
                self._tickers[topic] = state
                events.append(state)

    def _on_candles(
        self, m: CandlesMessage, recv_ts: int, events: list[Event], signals: list[Signal]
    ) -> None:
        """The current candle, again and again: consumers upsert by ``ts`` (§7)."""
        for event in m.events:
            for c in event.candles:
                route = self._route("candles", c.product_id, signals)
                if route is None:
                    continue
                topic, base, quote = route
                try:
                    start = str(c.start)
                    if not _SECONDS.fullmatch(start):
                        raise ValueError(f"start is not UNIX seconds: {start[:20]!r}")
                    values = [decimal_text(v, "candle") for v in (c.open, c.high, c.low, c.close,
                                                          c.volume)]  # fmt: skip
                except ValueError as exc:
                    signals.append(DecodeError("invalid_message", f"candles {topic}: {exc}"))
                    continue
                events.append(
                    Candle(topic=topic, source=self.source, exchange=EXCHANGE, base=base,
                           quote=quote, ts=int(start) * NS, recv_ts=recv_ts,
                           interval=CANDLE_INTERVAL, open=values[0], high=values[1],
                           low=values[2], close=values[3], volume=values[4],
                           volume_quote=None)  # no quote volume on this feed
                )  # fmt: skip

    # --- control ----------------------------------------------------------------

    def _on_heartbeat(
        self, _: HeartbeatsMessage, __: int, ___: list[Event], s: list[Signal]
    ) -> None:
        s.append(Heartbeat())

    def _on_subscriptions(
        self, m: SubscriptionsMessage, _: int, __: list[Event], signals: list[Signal]
    ) -> None:
        """The ack lists everything held (§3): confirm what is there, settle when all answered."""
        held: dict[str, set[str]] = {}
        for event in m.events:
            for name, products in event.subscriptions.items():
                held.setdefault(_SUBSCRIBE_NAMES.get(name, name), set()).update(products)
        self._held = held
        self._outstanding = max(0, self._outstanding - 1)
        for (channel, product), topic in self._wanted.items():
            if product in held.get(channel, ()):
                if topic not in self._confirmed:
                    self._confirmed.add(topic)
                    self._failed.discard(topic)
                    signals.append(Subscribed(topic))
            else:
                self._confirmed.discard(topic)  # e.g. between a resync's two requests
        for key, topic in list(self._leaving.items()):
            if key[1] not in held.get(key[0], ()):
                del self._leaving[key]
                signals.append(Unsubscribed(topic))
        if self._outstanding == 0:
            self._settle(signals)

    def _on_error(self, text: str, signals: list[Signal]) -> None:
        """``{"type":"error"}`` names no request (§3): it answers one of those outstanding."""
        if self._outstanding == 0:
            signals.append(UpstreamError("error", text))
            return
        self._outstanding -= 1
        self._errors.append(text)
        if self._outstanding == 0:
            self._settle(signals)

    def _settle(self, signals: list[Signal]) -> None:
        """Every request is answered: whatever is wanted and not held was refused.

        A bad product is not always rejected loudly (§3), so the ack list is the
        judge; the server's error text, if any came, is the reason given.
        """
        errors = list(dict.fromkeys(self._errors))
        self._errors.clear()
        reason = "; ".join(errors)
        missing = [
            topic
            for (channel, product), topic in self._wanted.items()
            if product not in self._held.get(channel, ()) and topic not in self._failed
        ]
        for topic in missing:
            self._failed.add(topic)
            code = "error" if errors else "not_subscribed"
            signals.append(SubscribeFailed(topic, code, reason or "not in the subscriptions ack"))
        if errors and not missing:
            signals.append(UpstreamError("error", reason))
