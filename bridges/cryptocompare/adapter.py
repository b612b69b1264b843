"""The sans-I/O CryptoCompare streamer v2 bridge (``shared/protocols/cryptocompare.md``).

Frames in, normalised events and control signals out; subscription requests
in, frames out. Ticker and index updates (TYPE 2/5) are partial: they are
merged into per-topic state as a shallow overwrite that never clears a missing
key (§4), and the whole merged state is published each time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import msgspec

from bridges.common import RecentIds, is_utf8, nanoseconds, plain, syntax_kind
from bridges.cryptocompare import subs
from bridges.cryptocompare.wire import (
    ENVELOPE_DECODER,
    FRAME_DECODER,
    INDEX_FIELDS,
    KNOWN_TYPES,
    REQUEST_ENCODER,
    TICKER_FIELDS,
    BookDeltaMsg,
    BookSnapshotMsg,
    CandleMsg,
    ErrorMsg,
    FullVolumeMsg,
    HeartbeatMsg,
    IndexMsg,
    RateLimitMsg,
    ServerErrorMsg,
    SubRequest,
    SubscribeCompleteMsg,
    TickerMsg,
    TopOfBookMsg,
    TopTierVolumeMsg,
    TradeMsg,
    UnauthorizedMsg,
    UnsubscribeCompleteMsg,
    WelcomeMsg,
)
from gateway.bridge import (
    BookDelta,
    BookSnapshot,
    BridgeSettings,
    DecodeError,
    Handshake,
    Heartbeat,
    QuotaUpdate,
    Signal,
    Subscribed,
    SubscribeFailed,
    Unsubscribed,
    UpstreamError,
    Welcome,
)
from gateway.errors import TopicError
from gateway.events import Candle, Event, Index, Spread, Ticker, Trade, Volume
from gateway.topics import Topic, parse_topic

#: Subscriptions per SubAdd/SubRemove frame; keeps each request frame small.
SUBS_PER_FRAME = 100
#: Least wait after the server says we connect too fast or hold too many sockets (§1, §5).
QUOTA_BACKOFF = 60.0

_DIRECTIONS = {1: "up", 2: "down", 4: "unchanged"}
_QUOTA_MESSAGE = re.compile(r"^TOO_MANY_(SOCKETS|SUBSCRIPTIONS)_MAX_(\d+)_PER_")
_TICKER_VALUES = tuple(TICKER_FIELDS)
_INDEX_VALUES = _TICKER_VALUES + tuple(INDEX_FIELDS)

Market = tuple[str, str, str, str]  # topic, exchange, base, quote


def _direction(flags: int, shift: int) -> str | None:
    """One direction of a FLAGS bitmask (§3.3): bits 1/2/4 shifted by ``shift``."""
    bits = (flags >> shift) & 7
    if bits & 1:
        return "up"
    if bits & 2:
        return "down"
    return _DIRECTIONS.get(bits & 4)


def _text(value: str | int | None) -> str | None:
    return value if value is None or isinstance(value, str) else str(value)


#: Trade flags (§3.1) & 3 → the taker's side: 1 sell, 2 buy (1 wins if both are set).
_TAKER_SIDE = ("unknown", "sell", "buy", "sell")


class CryptoCompareBridge:
    """Bridge for the CryptoCompare streamer v2 JSON protocol."""

    #: CCSEQ never wraps (§3.4).
    book_seq_modulus: int | None = None
    #: Free-key limits from §5; the welcome message replaces them with the account's.
    default_quotas: Mapping[str, float] = MappingProxyType({
        "connections": 1, "subscriptions_per_connection": 600, "subscriptions_total": 600,
        "connects_per_minute": 60, "connects_per_hour": 1200, "messages_per_second": 10,
    })  # fmt: skip

    def __init__(self, settings: BridgeSettings) -> None:
        self.upstream = settings.upstream
        self.source = settings.source or settings.upstream
        self._api_key = settings.api_key
        self._markets: dict[tuple[str, str, str, str], Market] = {}
        self._trade_markets: dict[tuple[str, str, str], Market] = {}  # by (M, FSYM, TSYM)
        self._sub_topics: dict[str, str] = {}
        self._tickers: dict[str, Ticker] = {}
        self._spreads: dict[str, Spread] = {}
        self._recent_trades = RecentIds()
        self._handlers: dict[type[Any], Callable[[Any, int, list[Event], list[Signal]], None]] = {
            TradeMsg: self._on_trade,
            TickerMsg: self._on_ticker,
            IndexMsg: self._on_ticker,
            CandleMsg: self._on_candle,
            TopOfBookMsg: self._on_top_of_book,
            FullVolumeMsg: self._on_volume,
            BookSnapshotMsg: self._on_book_snapshot,
            BookDeltaMsg: self._on_book_delta,
            TopTierVolumeMsg: self._on_volume,
            WelcomeMsg: self._on_welcome,
            SubscribeCompleteMsg: self._on_subscribed,
            UnsubscribeCompleteMsg: self._on_unsubscribed,
            HeartbeatMsg: self._on_heartbeat,
            UnauthorizedMsg: self._on_error,
            RateLimitMsg: self._on_error,
            ServerErrorMsg: self._on_error,
        }

    # --- requests ---------------------------------------------------------------

    def handshake(self, url: str) -> Handshake:
        """The key goes in the ``authorization`` header (§1), never in the URL."""
        if self._api_key:
            return Handshake(url, (("authorization", f"Apikey {self._api_key.reveal()}"),))
        return Handshake(url)

    def check_topic(self, topic: Topic) -> None:
        subs.check(topic)

    def connection_made(self, now_ns: int) -> None:
        """A new connection sends new snapshots: drop the merged state (§4)."""
        self._tickers.clear()
        self._spreads.clear()

    def subscribe(self, topics: Sequence[Topic]) -> list[str | bytes]:
        for topic in topics:
            self._tickers.pop(topic.name, None)
            self._spreads.pop(topic.name, None)
        return self._requests("SubAdd", topics)

    def unsubscribe(self, topics: Sequence[Topic]) -> list[str | bytes]:
        return self._requests("SubRemove", topics)

    def resync(self, topic: str) -> list[str | bytes]:
        """A CCSEQ gap: resubscribe that book alone for a new TYPE 9 snapshot (§3.4)."""
        parsed = parse_topic(topic)
        return self.unsubscribe([parsed]) + self.subscribe([parsed])

    def fetched(
        self, topic: str, status: int, body: bytes, recv_ts: int,
        events: list[Event], signals: list[Signal],
    ) -> None:  # fmt: skip
        """CryptoCompare needs no HTTP requests; an answer here is a bug, reported, not raised."""
        signals.append(DecodeError("unexpected_fetch", f"no request was made for {topic}"))

    def _requests(self, action: str, topics: Sequence[Topic]) -> list[str | bytes]:
        wanted = []
        for topic in topics:
            sub = subs.to_sub(topic)
            self._sub_topics[sub] = topic.name
            wanted.append(sub)
        return [
            REQUEST_ENCODER.encode(SubRequest(action, wanted[i : i + SUBS_PER_FRAME])).decode()
            for i in range(0, len(wanted), SUBS_PER_FRAME)
        ]

    # --- frames -----------------------------------------------------------------

    def feed(
        self, frame: str | bytes, recv_ts: int, events: list[Event], signals: list[Signal]
    ) -> None:
        try:
            message = FRAME_DECODER.decode(frame)
        except UnicodeError as exc:  # invalid UTF-8 inside a string, or an unencodable str
            signals.append(DecodeError("invalid_utf8", str(exc)[:200]))
            return
        except msgspec.ValidationError as exc:
            signals.append(self._classify(frame, exc))
            return
        except msgspec.DecodeError as exc:
            signals.append(DecodeError(syntax_kind(frame), str(exc)))
            return
        handler = self._handlers.get(type(message))
        if handler is not None:
            try:
                handler(message, recv_ts, events, signals)
            except (ValueError, TopicError) as exc:
                signals.append(DecodeError("invalid_message", str(exc)))

    def _classify(self, frame: str | bytes, exc: msgspec.ValidationError) -> DecodeError:
        """Tell an unknown TYPE (ignored by the note's rule) from a malformed known one."""
        if not is_utf8(frame):  # a bad byte in a field the envelope decoder skips
            return DecodeError("invalid_utf8", str(exc)[:200])
        try:
            kind = ENVELOPE_DECODER.decode(frame).TYPE
        except msgspec.MsgspecError:
            return DecodeError("invalid_message", str(exc))
        if kind is None:
            return DecodeError("missing_type", "frame has no TYPE")
        if str(kind) in KNOWN_TYPES:
            return DecodeError("invalid_message", f"TYPE {kind}: {exc}")
        return DecodeError("unknown_type", f"TYPE {kind!s:.20}")

    def _market(
        self, channel: str, exchange: str, base: str, quote: str, interval: str = ""
    ) -> Market:
        """(topic, exchange, base, quote) in feedgate's names, cached per upstream spelling."""
        key = (channel + interval, exchange, base, quote)
        market = self._markets.get(key)
        if market is None:
            topic = Topic(
                channel, subs.exchange_id(exchange), *subs.normalise_pair(base, quote), interval
            )
            market = (topic.name, topic.exchange, topic.base, topic.quote)
            self._markets[key] = market
        return market

    def _on_trade(self, m: TradeMsg, recv_ts: int, events: list[Event], _: list[Signal]) -> None:
        """The hot path of the JSON feed: one call per trade, so kept to plain steps."""
        where = (m.M, m.FSYM, m.TSYM)
        market = self._trade_markets.get(where)
        if market is None:
            market = self._trade_markets[where] = self._market("trades", *where)
        topic, exchange, base, quote = market
        trade_id = m.ID if isinstance(m.ID, str) else str(m.ID)
        if not self._recent_trades.first_time(topic, trade_id):
            return  # replayed on (re)subscribe (§3.1): published already
        flags = int(m.F)
        events.append(
            Trade(
                topic=topic,
                source=self.source,
                exchange=exchange,
                base=base,
                quote=quote,
                ts=nanoseconds(m.TS, m.TSNS or 0),
                recv_ts=recv_ts,
                price=plain(m.P),
                amount=plain(m.Q),
                side=_TAKER_SIDE[flags & 3],
                id=trade_id,
                seq=m.CCSEQ,
                reversed=flags & 8 != 0,
            )
        )

    def _on_ticker(self, m: TickerMsg, recv_ts: int, events: list[Event], _: list[Signal]) -> None:
        is_index = isinstance(m, IndexMsg)
        channel = "index" if is_index else "ticker"
        topic, exchange, base, quote = self._market(channel, m.market, m.from_symbol, m.to_symbol)
        changes: dict[str, Any] = {}
        for name in _INDEX_VALUES if is_index else _TICKER_VALUES:
            value = getattr(m, name)
            if value is not None:
                changes[name] = plain(value)
        if m.last_trade_id is not None:
            changes["last_trade_id"] = _text(m.last_trade_id)
        if is_index and m.last_market is not None:
            changes["last_market"] = m.last_market
        flags = m.flags
        update: dict[str, Any] = {
            "recv_ts": recv_ts,
            "flags": flags,
            "price_dir": _direction(flags, 0),
            "bid_dir": _direction(flags, 3),
            "ask_dir": _direction(flags, 6),
            "median_dir": _direction(flags, 9),
        }
        previous = self._tickers.get(topic)
        if m.last_update is not None:
            update["ts"] = nanoseconds(m.last_update)
        elif previous is None:
            update["ts"] = recv_ts
        state: Ticker
        if previous is None:
            cls = Index if is_index else Ticker
            state = cls(
                topic=topic, source=self.source, exchange=exchange, base=base, quote=quote,
                **update, **changes,
            )  # fmt: skip
        else:
            state = msgspec.structs.replace(previous, **update, **changes)
        self._tickers[topic] = state
        events.append(state)

    def _on_candle(self, m: CandleMsg, recv_ts: int, events: list[Event], _: list[Signal]) -> None:
        interval = subs.INTERVALS.get(m.UNIT)
        if interval is None:
            raise ValueError(f"TYPE 24: unknown UNIT {m.UNIT!r}")
        topic, exchange, base, quote = self._market(
            "ohlc", m.MARKET, m.FROMSYMBOL, m.TOSYMBOL, interval
        )
        events.append(
            Candle(
                topic=topic,
                source=self.source,
                exchange=exchange,
                base=base,
                quote=quote,
                ts=nanoseconds(m.TS),
                recv_ts=recv_ts,
                interval=interval,
                open=plain(m.OPEN),
                high=plain(m.HIGH),
                low=plain(m.LOW),
                close=plain(m.CLOSE),
                volume=plain(m.VOLUMEFROM),
                volume_quote=plain(m.VOLUMETO),
                trades=m.TOTALTRADES,
                first_ts=None if m.FIRSTTS is None else nanoseconds(m.FIRSTTS),
                last_ts=None if m.LASTTS is None else nanoseconds(m.LASTTS),
                first_price=None if m.FIRSTPRICE is None else plain(m.FIRSTPRICE),
                max_price=None if m.MAXPRICE is None else plain(m.MAXPRICE),
                min_price=None if m.MINPRICE is None else plain(m.MINPRICE),
                last_price=None if m.LASTPRICE is None else plain(m.LASTPRICE),
            )
        )

    def _on_top_of_book(
        self, m: TopOfBookMsg, recv_ts: int, events: list[Event], _: list[Signal]
    ) -> None:
        topic, exchange, base, quote = self._market("spread", m.M, m.FSYM, m.TSYM)
        changes: dict[str, Any] = {"recv_ts": recv_ts, "seq": m.CCSEQ}
        reported = 0
        if m.BID:
            level = m.BID[0]
            changes["bid"], changes["bid_size"] = plain(level.P), plain(level.Q)
            reported = max(reported, level.REPORTEDNS or 0)
        if m.ASK:
            level = m.ASK[0]
            changes["ask"], changes["ask_size"] = plain(level.P), plain(level.Q)
            reported = max(reported, level.REPORTEDNS or 0)
        changes["ts"] = nanoseconds(0, reported) if reported else recv_ts
        previous = self._spreads.get(topic)
        if previous is None:
            state = Spread(
                topic=topic, source=self.source, exchange=exchange, base=base, quote=quote,
                **changes,
            )  # fmt: skip
        else:
            state = msgspec.structs.replace(previous, **changes)
        self._spreads[topic] = state
        events.append(state)

    def _on_book_snapshot(
        self, m: BookSnapshotMsg, recv_ts: int, _: list[Event], signals: list[Signal]
    ) -> None:
        topic, exchange, base, quote = self._market("book", m.M, m.FSYM, m.TSYM)
        signals.append(
            BookSnapshot(
                topic=topic, exchange=exchange, base=base, quote=quote,
                ts=nanoseconds(0, m.REPORTEDNS) if m.REPORTEDNS else recv_ts,
                recv_ts=recv_ts, seq=m.CCSEQ,
                bids=tuple((plain(level.P), plain(level.Q)) for level in m.BID),
                asks=tuple((plain(level.P), plain(level.Q)) for level in m.ASK),
            )
        )  # fmt: skip

    def _on_book_delta(
        self, m: BookDeltaMsg, recv_ts: int, _: list[Event], signals: list[Signal]
    ) -> None:
        """One position per frame: ACTION 1/4 set the level, 2 removes it, 3 only moves CCSEQ."""
        if m.SIDE not in (0, 1) or m.ACTION not in (1, 2, 3, 4):
            raise ValueError(f"TYPE 8: SIDE {m.SIDE} / ACTION {m.ACTION} not in the protocol")
        topic, exchange, base, quote = self._market("book", m.M, m.FSYM, m.TSYM)
        level = ((plain(m.P), plain(m.Q)),) if m.ACTION in (1, 4) else ()
        removed = (plain(m.P),) if m.ACTION == 2 else ()
        bid = m.SIDE == 0
        signals.append(
            BookDelta(
                topic=topic, exchange=exchange, base=base, quote=quote,
                ts=nanoseconds(0, m.REPORTEDNS) if m.REPORTEDNS else recv_ts,
                recv_ts=recv_ts, seq=m.CCSEQ,
                bid_set=level if bid else (), bid_remove=removed if bid else (),
                ask_set=() if bid else level, ask_remove=() if bid else removed,
            )
        )  # fmt: skip

    def _on_volume(
        self,
        m: FullVolumeMsg | TopTierVolumeMsg,
        recv_ts: int,
        events: list[Event],
        _: list[Signal],
    ) -> None:
        if isinstance(m, FullVolumeMsg):
            channel, scope, volume = "volume", "all", m.FULLVOLUME
        else:
            channel, scope, volume = "toptiervolume", "toptier", m.TOPTIERFULLVOLUME
        base = subs.normalise_pair(m.SYMBOL, "")[0]
        events.append(
            Volume(
                topic=f"{channel}.{base}",
                source=self.source,
                exchange="",
                base=base,
                quote="",
                ts=recv_ts,
                recv_ts=recv_ts,
                scope=scope,
                volume=plain(volume),
            )
        )

    # --- control ----------------------------------------------------------------

    def _on_welcome(self, m: WelcomeMsg, _: int, __: list[Event], signals: list[Signal]) -> None:
        limits = tuple(
            (name.lower(), value)
            for name in WelcomeMsg.__struct_fields__
            if name != "SERVER_NAME" and (value := getattr(m, name)) is not None
        )
        signals.append(Welcome(str(m.SERVER_NAME), limits))
        quotas = {
            "connections": (m.SOCKETS_ACTIVE or 0) + (m.SOCKETS_REMAINING or 0),
            "connects_per_minute": m.RATELIMIT_MAX_MINUTE,
            "connects_per_hour": m.RATELIMIT_MAX_HOUR,
        }  # the account's real figures override configured ones (§5)
        signals.append(QuotaUpdate(tuple((k, v) for k, v in quotas.items() if v)))

    def _topic_of(self, sub: str) -> str:
        known = self._sub_topics.get(sub)
        return known if known is not None else subs.from_sub(sub).name

    def _on_subscribed(
        self, m: SubscribeCompleteMsg, _: int, __: list[Event], signals: list[Signal]
    ) -> None:
        signals.append(Subscribed(self._topic_of(m.SUB)))

    def _on_unsubscribed(
        self, m: UnsubscribeCompleteMsg, _: int, __: list[Event], signals: list[Signal]
    ) -> None:
        topic = self._topic_of(m.SUB)
        self._tickers.pop(topic, None)
        self._spreads.pop(topic, None)
        signals.append(Unsubscribed(topic))

    def _on_heartbeat(self, _: HeartbeatMsg, __: int, ___: list[Event], s: list[Signal]) -> None:
        s.append(Heartbeat())

    def _on_error(self, m: ErrorMsg, _: int, __: list[Event], signals: list[Signal]) -> None:
        """401/429/500 (§3.8): per-subscription refusals vs connection or account errors."""
        code = f"{type(m).__struct_config__.tag} {m.MESSAGE}".strip()
        if isinstance(m, RateLimitMsg) and (limit := _QUOTA_MESSAGE.match(m.MESSAGE)):
            # TOO_MANY_{SOCKETS,SUBSCRIPTIONS}_MAX_{X}_PER_…: the real limit is X (§3.8)
            name = "connections" if limit.group(1) == "SOCKETS" else "subscriptions_per_connection"
            signals.append(QuotaUpdate(((name, int(limit.group(2))),)))
        about_sub = "~" in m.PARAMETER
        if about_sub and (
            isinstance(m, UnauthorizedMsg)
            or m.MESSAGE in ("INVALID_SUB",)
            or m.MESSAGE.startswith("TOO_MANY_SUBSCRIPTIONS")
        ):
            signals.append(SubscribeFailed(self._topic_of(m.PARAMETER), code, m.INFO or m.MESSAGE))
        elif about_sub and m.MESSAGE == "SUBSCRIPTION_ALREADY_ACTIVE":
            signals.append(Subscribed(self._topic_of(m.PARAMETER)))
        elif about_sub and m.MESSAGE == "SUBSCRIPTION_UNRECOGNIZED":
            signals.append(Unsubscribed(self._topic_of(m.PARAMETER)))
        elif isinstance(m, UnauthorizedMsg):
            signals.append(UpstreamError(code, m.INFO or "the API key was refused", fatal=True))
        elif isinstance(m, RateLimitMsg) and (
            m.MESSAGE.startswith("TOO_MANY_SOCKETS") or m.MESSAGE.startswith("RATE_LIMIT")
        ):
            signals.append(UpstreamError(code, m.INFO or m.MESSAGE, backoff=QUOTA_BACKOFF))
        else:
            signals.append(UpstreamError(code, m.INFO or m.MESSAGE))
