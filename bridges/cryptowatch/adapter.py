"""The sans-I/O Cryptowatch stream bridge (``shared/protocols/cryptowatch.md``).

Protobuf frames in (binary; the 1-byte ``0x01`` heartbeat dropped first),
normalised events and signals out. Gen 1 authenticates with an HMAC token in
the first ``ClientMessage``, which also carries the initial subscriptions;
gen 2 puts the key in the URL. Order books are reported as snapshot and delta
signals for the book engine, with ``seqNum`` read as a uint32 (§6).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from google.protobuf.message import DecodeError as ProtobufDecodeError

from bridges.common import nanoseconds, plain, plain_text
from bridges.cryptowatch.auth import token
from bridges.cryptowatch.markets import MarketTable
from bridges.cryptowatch.resources import PERIODS, resources
from gateway.bridge import (
    BookDelta,
    BookSnapshot,
    BridgeSettings,
    DecodeError,
    Handshake,
    Heartbeat,
    Level,
    Signal,
    Subscribed,
    SubscribeFailed,
    Unsubscribed,
    UpstreamError,
    Welcome,
)
from gateway.errors import TopicError
from gateway.events import Candle, Event, Gap, Spread, Summary, Trade
from gateway.topics import Topic, split_pair
from proto.cryptowatch import client_pb2, markets_pb2, stream_pb2

HEARTBEAT = b"\x01"
VERSION = "feedgate/0.1"

_Status = stream_pb2.AuthenticationResult.Status
#: Statuses after which retrying cannot help (§6: BAD_TOKEN stops the Go SDK).
FATAL = frozenset({_Status.BAD_TOKEN, _Status.INVALID_PUBLIC_KEY, _Status.ACCESS_DENIED})
#: Statuses that mean "authenticated" for a stream connection.
ACCEPTED = frozenset({_Status.AUTHENTICATED, _Status.READONLY_KEY})
#: Least wait before retrying after BAD_NONCE / TOKEN_EXPIRED.
RETRY_BACKOFF = 1.0

_SIDES = {markets_pb2.Trade.BUYSIDE: "buy", markets_pb2.Trade.SELLSIDE: "sell"}

Market = tuple[str, str, str, str]  # exchange, pair, base, quote


def _num(text: str, *fallbacks: float) -> str:
    """The decimal string (made plain if needed), else the first non-zero historical
    float field (§2); ValueError for anything that is not a finite decimal."""
    if text:
        return plain_text(text)
    for value in fallbacks:
        if value:
            if not math.isfinite(value):
                raise ValueError(f"not a finite number: {value!r}")
            return plain(Decimal(repr(value)))
    return "0"


def _opt(text: str, *fallbacks: float) -> str | None:
    return _num(text, *fallbacks) if text or any(fallbacks) else None


class CryptowatchBridge:
    """Bridge for the Cryptowatch stream API (protobuf)."""

    #: seqNum is a uint32 that can wrap (§6).
    book_seq_modulus: int | None = 2**32
    #: The note documents no stream quotas; these are conservative guesses.
    default_quotas: Mapping[str, float] = MappingProxyType({
        "connections": 5, "subscriptions_per_connection": 1000, "subscriptions_total": 5000,
        "connects_per_minute": 30, "messages_per_second": 10,
    })  # fmt: skip

    def __init__(self, settings: BridgeSettings) -> None:
        self.upstream = settings.upstream
        self.source = settings.source or settings.upstream
        self._api_key = settings.api_key
        self._secret = settings.secret
        self._generation = settings.generation
        self._table = (
            MarketTable.from_file(settings.markets_file)
            if settings.markets_file
            else MarketTable.bundled()
        )
        self._topic_resources: dict[str, tuple[str, ...]] = {}
        self._resource_topics: dict[str, str] = {}
        self._confirmed: set[str] = set()
        self._markets: dict[int, Market] = {}
        self._nonce = ""
        self._authenticated = False
        self._auth_sent = False
        self._last_recv_ts = 0
        self._handlers: dict[str, Callable[[Any, int, list[Event], list[Signal]], None]] = {
            "authenticationResult": self._on_auth,
            "marketUpdate": self._on_market_update,
            "subscriptionResult": self._on_subscription_result,
            "unsubscriptionResult": self._on_unsubscription_result,
            "bandwidthUpdate": self._on_bandwidth,
            "heartbeat": self._on_heartbeat,
            "bulkMessage": self._on_bulk,
        }
        self._updates: dict[str, Callable[[Any, Market, int, list[Event], list[Signal]], None]] = {
            "tradesUpdate": self._on_trades,
            "summaryUpdate": self._on_summary,
            "intervalsUpdate": self._on_intervals,
            "orderBookUpdate": self._on_book_snapshot,
            "orderBookDeltaUpdate": self._on_book_delta,
            "orderBookSpreadUpdate": self._on_spread,
        }

    # --- requests ---------------------------------------------------------------

    def handshake(self, url: str) -> Handshake:
        """Gen 2 carries the public key in the URL (§0); gen 1 authenticates in-band."""
        if self._generation == 2:
            key = self._api_key.reveal() if self._api_key else ""
            return Handshake(f"{url.rstrip('/')}/connect?apikey={key}&format=binary")
        return Handshake(url)

    def check_topic(self, topic: Topic) -> None:
        resources(topic, self._table)

    def connection_made(self, now_ns: int) -> None:
        """The gen-1 nonce is the connect time in Unix nanoseconds (§3)."""
        self._nonce = str(now_ns)
        self._authenticated = self._auth_sent = False
        self._confirmed.clear()

    def subscribe(self, topics: Sequence[Topic]) -> list[str | bytes]:
        wanted = self._track(topics)
        subscriptions = [self._subscription(r) for r in wanted]
        if self._generation == 1 and not self._auth_sent:
            self._auth_sent = True
            return [self._auth_message(subscriptions)]
        message = client_pb2.ClientMessage()
        message.subscribe.subscriptions.extend(subscriptions)
        return [message.SerializeToString()]

    def unsubscribe(self, topics: Sequence[Topic]) -> list[str | bytes]:
        gone = [r for topic in topics for r in self._topic_resources.get(topic.name, ())]
        message = client_pb2.ClientMessage()
        message.unsubscribe.subscriptions.extend(self._subscription(r) for r in gone)
        return [message.SerializeToString()]

    def resync(self, topic: str) -> list[str | bytes]:
        """A seqNum gap: wait for the next periodic snapshot (§6), no request needed."""
        return []

    def fetched(
        self, topic: str, status: int, body: bytes, recv_ts: int,
        events: list[Event], signals: list[Signal],
    ) -> None:  # fmt: skip
        """Cryptowatch needs no HTTP requests; an answer here is a bug, reported, not raised."""
        signals.append(DecodeError("unexpected_fetch", f"no request was made for {topic}"))

    def _track(self, topics: Sequence[Topic]) -> list[str]:
        wanted: list[str] = []
        for topic in topics:
            found = resources(topic, self._table)
            self._topic_resources[topic.name] = found
            for resource in found:
                self._resource_topics.setdefault(resource, topic.name)
                if resource not in wanted:
                    wanted.append(resource)
        return wanted

    @staticmethod
    def _subscription(resource: str) -> client_pb2.ClientSubscription:
        subscription = client_pb2.ClientSubscription()
        subscription.stream_subscription.resource = resource
        return subscription

    def _auth_message(self, subscriptions: list[client_pb2.ClientSubscription]) -> bytes:
        key = self._api_key.reveal() if self._api_key else ""
        secret = self._secret.reveal() if self._secret else ""
        message = client_pb2.ClientMessage()
        auth = message.apiAuthentication
        auth.api_key = key
        auth.nonce = self._nonce
        auth.token = token(key, secret, self._nonce) if secret else ""
        auth.source = client_pb2.APIAuthenticationMessage.UNKNOWN
        auth.version = VERSION
        auth.client_subscriptions.extend(subscriptions)
        return bytes(message.SerializeToString())

    # --- frames -----------------------------------------------------------------

    def feed(
        self, frame: str | bytes, recv_ts: int, events: list[Event], signals: list[Signal]
    ) -> None:
        previous, self._last_recv_ts = self._last_recv_ts, recv_ts
        if isinstance(frame, str):
            frame = frame.encode("utf-8", "surrogatepass")
        if frame == HEARTBEAT:
            signals.append(Heartbeat())  # not a StreamMessage: drop before decoding (§8)
            return
        try:
            message = stream_pb2.StreamMessage.FromString(frame)
        except ProtobufDecodeError as exc:
            signals.append(DecodeError("invalid_protobuf", str(exc)))
            return
        self._dispatch(message, recv_ts, previous, events, signals)

    def _dispatch(
        self,
        message: stream_pb2.StreamMessage,
        recv_ts: int,
        previous_ts: int,
        events: list[Event],
        signals: list[Signal],
    ) -> None:
        body = message.WhichOneof("body")
        if body is None:
            signals.append(DecodeError("empty_message", "StreamMessage without a body"))
            return
        if body == "missedMessages":
            self._on_missed(message.missedMessages, previous_ts or recv_ts, recv_ts, events)
            return
        handler = self._handlers.get(body)
        if handler is not None:
            try:
                handler(getattr(message, body), recv_ts, events, signals)
            except (ValueError, TopicError) as exc:
                signals.append(DecodeError("invalid_message", f"{body}: {exc}"))

    def _on_bulk(
        self, bulk: stream_pb2.BulkMessage, recv_ts: int, events: list[Event], signals: list[Signal]
    ) -> None:
        """A throttled batch: each element is a serialized StreamMessage (§2)."""
        for raw in bulk.messages:
            try:
                inner = stream_pb2.StreamMessage.FromString(raw)
            except ProtobufDecodeError as exc:
                signals.append(DecodeError("invalid_protobuf", f"in bulkMessage: {exc}"))
                continue
            if inner.WhichOneof("body") == "bulkMessage":
                signals.append(DecodeError("invalid_message", "bulkMessage nested in bulkMessage"))
                continue
            self._dispatch(inner, recv_ts, recv_ts, events, signals)

    def _on_heartbeat(self, _: object, __: int, ___: list[Event], signals: list[Signal]) -> None:
        signals.append(Heartbeat())

    def _on_auth(
        self, result: stream_pb2.AuthenticationResult, _: int, __: list[Event], s: list[Signal]
    ) -> None:
        status = result.status
        name = stream_pb2.AuthenticationResult.Status.Name(status)
        if status in ACCEPTED:
            self._authenticated = True
            s.append(Welcome("cryptowatch", (("authenticated", 1),)))
        elif status in FATAL:
            s.append(UpstreamError(f"auth {name}", f"authentication refused: {name}", fatal=True))
        else:
            s.append(UpstreamError(f"auth {name}", f"authentication failed: {name}; retrying",
                                   backoff=RETRY_BACKOFF))  # fmt: skip

    def _on_subscription_result(
        self, result: stream_pb2.SubscriptionResult, _: int, __: list[Event], s: list[Signal]
    ) -> None:
        for subscription in result.subscriptions:
            self._confirmed.add(subscription.stream_subscription.resource)
        done = {self._resource_topics.get(sub.stream_subscription.resource)
                for sub in result.subscriptions}  # fmt: skip
        for topic in sorted(t for t in done if t is not None):
            if all(r in self._confirmed for r in self._topic_resources.get(topic, ())):
                s.append(Subscribed(topic))
        for failure in result.failed:
            resource = failure.subscription.stream_subscription.resource or failure.key
            topic = self._resource_topics.get(resource, resource)
            s.append(SubscribeFailed(topic, "subscribe_failed", failure.error or "refused"))

    def _on_unsubscription_result(
        self, result: stream_pb2.UnsubscriptionResult, _: int, __: list[Event], s: list[Signal]
    ) -> None:
        gone = set()
        for subscription in result.subscriptions:
            resource = subscription.stream_subscription.resource
            self._confirmed.discard(resource)
            gone.add(self._resource_topics.get(resource))
        for topic in sorted(t for t in gone if t is not None):
            s.append(Unsubscribed(topic))

    def _on_missed(
        self, missed: stream_pb2.MissedMessages, from_ts: int, recv_ts: int, events: list[Event]
    ) -> None:
        """The server's buffer overflowed: every topic on this connection may miss data."""
        for topic_name in sorted(self._topic_resources):
            _, exchange, pair = topic_name.split(".")[:3]
            base, quote = split_pair(pair)
            events.append(
                Gap(topic=topic_name, source=self.source, exchange=exchange, base=base,
                    quote=quote, ts=recv_ts, recv_ts=recv_ts, reason="missed_messages",
                    from_ts=from_ts, to_ts=recv_ts, dropped=missed.numMissedMessages)
            )  # fmt: skip

    def _on_bandwidth(
        self, update: stream_pb2.BandwidthUpdate, _: int, __: list[Event], s: list[Signal]
    ) -> None:
        if not update.ok:
            s.append(UpstreamError("bandwidth", f"bandwidth allowance used up "
                                   f"({update.bytesUsed} bytes used)", fatal=True))  # fmt: skip

    # --- market updates ---------------------------------------------------------

    def _market(self, market_id: int) -> Market:
        market = self._markets.get(market_id)
        if market is None:
            row = self._table.by_id.get(market_id)
            if row is None:
                raise ValueError(f"unknown market id {market_id} (not in the markets table)")
            base, quote = split_pair(row.pair)
            market = self._markets[market_id] = (row.exchange, row.pair, base, quote)
        return market

    def _on_market_update(
        self,
        update: markets_pb2.MarketUpdateMessage,
        recv_ts: int,
        events: list[Event],
        signals: list[Signal],
    ) -> None:
        kind = update.WhichOneof("Update")
        handler = self._updates.get(kind) if kind else None
        if handler is None:
            return  # sparkline / liquidity: not published
        try:
            market = self._market(update.market.marketId)
        except ValueError as exc:
            signals.append(DecodeError("unknown_market", str(exc)))
            return
        handler(getattr(update, kind), market, recv_ts, events, signals)

    def _on_trades(
        self, update: markets_pb2.TradesUpdate, market: Market, recv_ts: int,
        events: list[Event], _: list[Signal],
    ) -> None:  # fmt: skip
        exchange, pair, base, quote = market
        topic = f"trades.{exchange}.{pair}"
        source = self.source
        for trade in update.trades:
            if trade.timestampNano > 0:
                ts = nanoseconds(0, trade.timestampNano)
            elif trade.timestamp:
                ts = nanoseconds(trade.timestamp)
            else:
                ts = nanoseconds(0, trade.timestampMillis * 1_000_000)
            events.append(
                Trade(
                    topic=topic, source=source, exchange=exchange, base=base, quote=quote,
                    ts=ts, recv_ts=recv_ts,
                    price=_num(trade.priceStr, trade.priceDouble, trade.price),
                    amount=_num(trade.amountBaseStr or trade.amountStr, trade.amountDouble,
                                trade.amount),
                    side=_SIDES.get(trade.orderSide, "unknown"),
                    id=trade.externalId or str(trade.id),
                )
            )  # fmt: skip

    def _on_summary(
        self, s: markets_pb2.SummaryUpdate, market: Market, recv_ts: int,
        events: list[Event], _: list[Signal],
    ) -> None:  # fmt: skip
        exchange, pair, base, quote = market
        events.append(
            Summary(
                topic=f"summary.{exchange}.{pair}", source=self.source, exchange=exchange,
                base=base, quote=quote, ts=recv_ts, recv_ts=recv_ts,
                last=_opt(s.lastStr, s.last), high=_opt(s.highStr, s.high),
                low=_opt(s.lowStr, s.low),
                volume=_opt(s.volumeBaseStrV2 or s.volumeBaseStr, s.volumeBase),
                volume_quote=_opt(s.volumeQuoteStr, s.volumeQuote),
                change_absolute=_opt(s.changeAbsoluteStr, s.changeAbsolute),
                change_percent=_opt(s.changePercentStr, s.changePercent),
                trades=s.numTrades or None,
            )
        )  # fmt: skip

    def _on_intervals(
        self, update: markets_pb2.IntervalsUpdate, market: Market, recv_ts: int,
        events: list[Event], _: list[Signal],
    ) -> None:  # fmt: skip
        """One update may hold several periods; each goes to its own ``ohlc`` topic if wanted."""
        exchange, pair, base, quote = market
        for candle in update.intervals:
            interval = PERIODS.get(candle.periodName or str(candle.period))
            topic = f"ohlc.{exchange}.{pair}.{interval}"
            if interval is None or topic not in self._topic_resources:
                continue
            ohlc = candle.ohlc
            start = candle.opentime or (candle.closetime - candle.period)
            events.append(
                Candle(
                    topic=topic, source=self.source, exchange=exchange, base=base,
                    quote=quote, ts=nanoseconds(start), recv_ts=recv_ts, interval=interval,
                    open=_num(ohlc.openStr, ohlc.open), high=_num(ohlc.highStr, ohlc.high),
                    low=_num(ohlc.lowStr, ohlc.low), close=_num(ohlc.closeStr, ohlc.close),
                    volume=_num(candle.volumeBaseStrV2 or candle.volumeBaseStr, candle.volumeBase),
                    volume_quote=_num(candle.volumeQuoteStr, candle.volumeQuote),
                )
            )  # fmt: skip

    def _on_spread(
        self, update: markets_pb2.OrderBookSpreadUpdate, market: Market, recv_ts: int,
        events: list[Event], _: list[Signal],
    ) -> None:  # fmt: skip
        exchange, pair, base, quote = market
        bid, ask = update.bid, update.ask
        events.append(
            Spread(
                topic=f"spread.{exchange}.{pair}", source=self.source, exchange=exchange,
                base=base, quote=quote,
                ts=nanoseconds(0, update.timestamp * 1_000_000) if update.timestamp else recv_ts,
                recv_ts=recv_ts,
                bid=_opt(bid.priceStr, bid.price), bid_size=_opt(bid.amountStr, bid.amount),
                ask=_opt(ask.priceStr, ask.price), ask_size=_opt(ask.amountStr, ask.amount),
            )
        )  # fmt: skip

    @staticmethod
    def _levels(orders: Sequence[markets_pb2.Order]) -> tuple[Level, ...]:
        return tuple((_num(o.priceStr, o.price), _num(o.amountStr, o.amount)) for o in orders)

    def _on_book_snapshot(
        self, update: markets_pb2.OrderBookUpdate, market: Market, recv_ts: int,
        _: list[Event], signals: list[Signal],
    ) -> None:  # fmt: skip
        exchange, pair, base, quote = market
        signals.append(
            BookSnapshot(
                topic=f"book.{exchange}.{pair}", exchange=exchange, base=base, quote=quote,
                ts=recv_ts, recv_ts=recv_ts, seq=update.seqNum & 0xFFFFFFFF,
                bids=self._levels(update.bids), asks=self._levels(update.asks),
            )
        )  # fmt: skip

    def _on_book_delta(
        self, update: markets_pb2.OrderBookDeltaUpdate, market: Market, recv_ts: int,
        _: list[Event], signals: list[Signal],
    ) -> None:  # fmt: skip
        exchange, pair, base, quote = market
        bids, asks = update.bids, update.asks
        signals.append(
            BookDelta(
                topic=f"book.{exchange}.{pair}", exchange=exchange, base=base, quote=quote,
                ts=recv_ts, recv_ts=recv_ts, seq=update.seqNum & 0xFFFFFFFF,
                bid_set=self._levels(bids.set), ask_set=self._levels(asks.set),
                bid_remove=tuple(plain_text(p) for p in bids.removeStr)
                + tuple(_num("", p) for p in bids.remove),
                ask_remove=tuple(plain_text(p) for p in asks.removeStr)
                + tuple(_num("", p) for p in asks.remove),
            )
        )  # fmt: skip
