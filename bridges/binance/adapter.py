"""The sans-I/O Binance Spot public market-data bridge (``shared/protocols/binance.md``).

Combined streams (§1): the connection opens ``<url>/stream``, with the streams already
wanted in ``?streams=`` so a planned reconnect's new connection receives data before the
old one is dropped, and every topic is also subscribed with a ``SUBSCRIBE`` request whose
``id`` matches the ack ``{"result":null,"id":n}`` (§4). Frames arrive wrapped as
``{"stream","data"}``; the stream name says what ``data`` is.

Topics → streams:

* ``trades.binance.<pair>`` ← ``<pair>@trade``: one message per trade with its trade id
  ``t`` (§8). ``@aggTrade`` merges the fills of one taker order, so it cannot give "one
  executed trade" per entry. The taker's side comes from ``m`` (buyer is maker → the taker
  sold). Each id is published once (a planned reconnect overlaps two connections).
* ``spread.binance.<pair>`` ← ``<pair>@bookTicker`` (§9): no event time, so ``ts`` is the
  receive time; ``seq`` is the book update id ``u``.
* ``ticker.binance.<pair>`` ← ``<pair>@ticker`` (§9): the 24 h rolling-window statistics
  every 1000 ms, each a whole state (nothing to merge); ``ts`` is the event time ``E``.
* ``ohlc.binance.<pair>.<i>`` ← ``<pair>@kline_<i>`` (§9): every update of the current
  candle (every 2 s) and the closing one (``x:true``); entries upsert on ``ts``, the
  candle's open time.
* ``book.binance.<pair>`` ← ``<pair>@depth@100ms`` plus ``GET /api/v3/depth`` on
  ``rest_url``, synced by the §10 procedure in :mod:`bridges.binance.depth` (how Binance's
  update ids map onto the book engine's sequence is explained there).

Connection lifetime (§2): ``serverShutdown`` asks for a planned reconnect at once; so does
the 24-hour limit, ``ROLLOVER_MARGIN_NS`` before it, judged on the receive times of frames
against ``connection_made`` (the bridge has no clock), and again every
``ROLLOVER_RETRY_NS`` while the old connection lives on. Pings are answered by the
transport (§3).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from urllib.parse import quote

import msgspec

from bridges.binance import depth
from bridges.binance.wire import (
    BOOK_TICKER,
    DEPTH_SNAPSHOT,
    DEPTH_UPDATE,
    ENVELOPE,
    KLINE,
    REQUEST,
    REST_ERROR,
    TICKER,
    TRADE,
    DepthUpdateMsg,
    Envelope,
    Request,
)
from bridges.common import RecentIds, is_utf8, syntax_kind
from bridges.symbols import to_binance
from gateway.bridge import (
    BookDelta,
    BookInvalid,
    BookSnapshot,
    BridgeSettings,
    DecodeError,
    Fetch,
    Handshake,
    Reconnect,
    Signal,
    Subscribed,
    SubscribeFailed,
    Unsubscribed,
    UpstreamError,
)
from gateway.errors import TopicError
from gateway.events import Candle, Event, Spread, Ticker, Trade
from gateway.topics import Topic

EXCHANGE = "binance"
MS = 1_000_000  # ns per ms: Binance times are integer ms (§7)
MINUTE_NS = 60_000 * MS

#: A connection lasts at most 24 h (§2).
CONNECTION_LIFETIME_NS = 24 * 60 * MINUTE_NS
#: Ask for the planned reconnect this long before the 24 h mark: room for a quiet
#: connection's next frame, the connect pacing (``min_connect_interval``,
#: ``connects_per_minute``) and several retries should a new connection fail.
ROLLOVER_MARGIN_NS = 30 * MINUTE_NS
#: While the old connection lives on past the rollover time, ask again this often.
ROLLOVER_RETRY_NS = MINUTE_NS

#: Streams per SUBSCRIBE request. The note gives no maximum for ``params`` (§5,
#: UNCERTAIN); 256 keeps a full connection (1024 streams) to 4 requests, within the
#: 5 messages a second that also count pings and pongs.
STREAMS_PER_REQUEST = 256
#: ``?streams=`` in the connect URL stops before this length; the rest go by SUBSCRIBE.
MAX_URL_STREAMS_CHARS = 4_000

#: REST depth snapshot size. The note's current text asks for 5000 (weight 250); 1000
#: (weight 50, §5) holds far more than the published ``book_depth`` and keeps mass
#: resyncs five times cheaper. Levels beyond it stay unknown until they change (§10).
DEPTH_LIMIT = 1_000
#: Least wait before fetching again after HTTP 429 (back off, per ``Retry-After``, at
#: most the rest of the 1-minute weight window) and 418 (an IP ban), §5.
RATE_LIMITED_NS = MINUTE_NS
BANNED_NS = 5 * MINUTE_NS

#: Kline intervals Binance serves (§9); feedgate's intervals are all among them.
KLINE_INTERVALS = frozenset(
    {"1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d",
     "1w", "1M"}
)  # fmt: skip
CHANNELS = ("trades", "ticker", "spread", "ohlc", "book")


def depth_weight(limit: int) -> int:
    """REQUEST_WEIGHT of ``GET /api/v3/depth`` with ``limit`` (§5)."""
    if limit <= 100:
        return 5
    if limit <= 500:
        return 25
    if limit <= 1000:
        return 50
    return 250


def stream_of(topic: Topic) -> str:
    """The stream name serving ``topic`` (lower case, §1)."""
    symbol = to_binance(topic.base, topic.quote).lower()
    if topic.channel == "trades":
        return f"{symbol}@trade"
    if topic.channel == "ticker":
        return f"{symbol}@ticker"
    if topic.channel == "spread":
        return f"{symbol}@bookTicker"
    if topic.channel == "ohlc":
        return f"{symbol}@kline_{topic.interval}"
    if topic.channel == "book":
        return f"{symbol}@depth@100ms"
    raise TopicError(
        f"topic {topic.name!r}: the Binance bridge serves {', '.join(CHANNELS)}, "
        f"not {topic.channel!r}"
    )


@dataclass(frozen=True, slots=True)
class Route:
    """What one stream feeds: the topic and its market, in feedgate's names."""

    stream: str
    channel: str
    topic: str
    base: str
    quote: str
    interval: str
    symbol: str  # upper case, for REST (§1)


Diff = tuple[DepthUpdateMsg, int]  # a diff event and its frame's receive time


class BinanceBridge:
    """Bridge for Binance Spot public market streams (JSON) with REST depth snapshots."""

    #: The engine seq is a per-symbol counter (see ``bridges.binance.depth``): no wrap.
    book_seq_modulus: int | None = None
    #: §5: 1024 streams per connection (one stream per topic); 300 connection attempts
    #: per 5 minutes per IP, as a per-minute bucket whose burst plus five minutes of
    #: refill stays within 300 (50 + 5 × 50); 5 incoming messages a second; a
    #: REQUEST_WEIGHT budget of 6000 a minute for the depth snapshots.
    default_quotas: Mapping[str, float] = MappingProxyType({
        "subscriptions_per_connection": 1024, "connects_per_minute": 50,
        "messages_per_second": 5, "rest_weight_per_minute": 6000,
    })  # fmt: skip

    def __init__(self, settings: BridgeSettings) -> None:
        self.upstream = settings.upstream
        self.source = settings.source or settings.upstream
        rest = settings.rest_url or "https://data-api.binance.vision"  # §1, §5: no key
        self._rest_url = rest.rstrip("/")
        self._routes: dict[str, Route] = {}  # stream name → route, for every wanted topic
        self._topics: dict[str, Route] = {}  # topic name → route
        self._books: dict[str, depth.DepthSync[Diff]] = {}  # book topic → its sync
        self._pending: dict[int, tuple[str, tuple[str, ...]]] = {}  # id → (method, topics)
        self._next_id = 1
        self._recent = RecentIds()
        self._rollover_at = 2**63  # no connection yet

    # --- requests ---------------------------------------------------------------

    def handshake(self, url: str) -> Handshake:
        """``<url>/stream``, with ``?streams=`` holding the streams wanted so far (§1)."""
        base = url.rstrip("/")
        if not base.endswith("/stream"):
            base += "/stream"
        names: list[str] = []
        size = 0
        for stream in self._routes:
            name = quote(stream, safe="@")
            size += len(name) + 1
            if size > MAX_URL_STREAMS_CHARS:
                break
            names.append(name)
        return Handshake(f"{base}?streams={'/'.join(names)}" if names else base)

    def check_topic(self, topic: Topic) -> None:
        if topic.exchange != EXCHANGE:
            raise TopicError(
                f"topic {topic.name!r}: the Binance bridge serves exchange {EXCHANGE!r} only"
            )
        if topic.channel == "ohlc" and topic.interval not in KLINE_INTERVALS:
            raise TopicError(f"topic {topic.name!r}: Binance has no {topic.interval} klines")
        stream_of(topic)

    def connection_made(self, now_ns: int) -> None:
        """A new connection: no request is pending, every book is rebuilt (§10)."""
        self._pending.clear()
        for sync in self._books.values():
            sync.reset()
        self._rollover_at = now_ns + CONNECTION_LIFETIME_NS - ROLLOVER_MARGIN_NS

    def subscribe(self, topics: Sequence[Topic]) -> list[str | bytes]:
        """SUBSCRIBE requests, as few as possible (§5: 5 messages a second)."""
        routes: list[Route] = []
        for topic in topics:
            stream = stream_of(topic)
            route = Route(
                stream, topic.channel, topic.name, topic.base, topic.quote, topic.interval,
                to_binance(topic.base, topic.quote),
            )  # fmt: skip
            self._routes[stream] = self._topics[topic.name] = route
            if topic.channel == "book":
                self._books.setdefault(topic.name, depth.DepthSync()).reset()
            routes.append(route)
        return self._requests("SUBSCRIBE", routes)

    def unsubscribe(self, topics: Sequence[Topic]) -> list[str | bytes]:
        routes: list[Route] = []
        for topic in topics:
            route = self._topics.pop(topic.name, None)
            if route is not None:
                del self._routes[route.stream]
                routes.append(route)
            self._books.pop(topic.name, None)
        return self._requests("UNSUBSCRIBE", routes)

    def resync(self, topic: str) -> list[str | bytes]:
        """The engine lost this book: buffer again and fetch with the next diff (§10).

        No frames: the WebSocket subscription stays. After the bridge's own
        ``BookInvalid`` the resync is already under way and this changes nothing.
        """
        sync = self._books.get(topic)
        if sync is not None:
            sync.restart()
        return []

    def _requests(self, method: str, routes: list[Route]) -> list[str | bytes]:
        """One request per STREAMS_PER_REQUEST streams; its id remembers its topics."""
        frames: list[str | bytes] = []
        for start in range(0, len(routes), STREAMS_PER_REQUEST):
            batch = routes[start : start + STREAMS_PER_REQUEST]
            request_id = self._next_id
            self._next_id += 1
            self._pending[request_id] = (method, tuple(r.topic for r in batch))
            params = [r.stream for r in batch]
            frames.append(REQUEST.encode(Request(method, params, request_id)).decode())
        return frames

    # --- REST answers -------------------------------------------------------------

    def fetched(
        self, topic: str, status: int, body: bytes, recv_ts: int,
        events: list[Event], signals: list[Signal],
    ) -> None:  # fmt: skip
        """A depth snapshot (§10 steps 3-6), or a failure to retry later."""
        sync = self._books.get(topic)
        if sync is None:
            if not topic.startswith("book."):
                signals.append(DecodeError("unexpected_fetch", f"no request was made for {topic}"))
            return  # unsubscribed since it was asked for
        if sync.phase is not depth.Phase.FETCHING:
            return  # the book was reset since (new connection or subscription)
        if status != 200:
            signals.append(UpstreamError(f"rest {status}", self._rest_failure(status, body)))
            wait = BANNED_NS if status == 418 else RATE_LIMITED_NS if status == 429 else 0
            sync.on_failure(recv_ts, wait)
            return
        try:
            snapshot = DEPTH_SNAPSHOT.decode(body)
        except (msgspec.MsgspecError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
            signals.append(DecodeError("invalid_snapshot", f"{topic}: {exc}"))
            sync.on_failure(recv_ts)
            return
        route = self._topics[topic]
        for action in sync.on_snapshot(snapshot.lastUpdateId, recv_ts):
            if isinstance(action, depth.Start):
                signals.append(
                    BookSnapshot(
                        topic=topic, exchange=EXCHANGE, base=route.base, quote=route.quote,
                        ts=recv_ts, recv_ts=recv_ts, seq=action.seq,
                        bids=snapshot.bids, asks=snapshot.asks,
                    )
                )  # fmt: skip
            else:
                self._book_action(route, action, signals)

    @staticmethod
    def _rest_failure(status: int, body: bytes) -> str:
        if status == 0:
            return f"depth snapshot request failed: {body[:200].decode(errors='replace')}"
        try:
            error = REST_ERROR.decode(body)
            detail = f"{error.code}: {error.msg}" if error.msg else ""
        except (msgspec.MsgspecError, ValueError):
            detail = ""
        return f"depth snapshot answered HTTP {status}" + (f" ({detail})" if detail else "")

    # --- frames -------------------------------------------------------------------

    def feed(
        self, frame: str | bytes, recv_ts: int, events: list[Event], signals: list[Signal]
    ) -> None:
        if recv_ts >= self._rollover_at:
            # §2: disconnected at the 24 h mark; switch over first (make before break).
            self._rollover_at = recv_ts + ROLLOVER_RETRY_NS
            signals.append(Reconnect("connection lifetime (24 h) nearly over", planned=True))
        try:
            envelope = ENVELOPE.decode(frame)
        except msgspec.ValidationError as exc:
            kind = "invalid_message" if is_utf8(frame) else "invalid_utf8"
            signals.append(DecodeError(kind, str(exc)))
            return
        except (msgspec.DecodeError, UnicodeDecodeError) as exc:
            signals.append(DecodeError(syntax_kind(frame), str(exc)))
            return
        stream = envelope.stream
        if stream is not None:
            route = self._routes.get(stream)
            if route is not None:
                self._on_data(route, envelope, recv_ts, events, signals)
            elif stream == "!serverShutdown":
                signals.append(Reconnect("serverShutdown", planned=True))
            # else: a stream no longer wanted (data sent before an UNSUBSCRIBE's ack)
        elif envelope.code is not msgspec.UNSET:
            self._on_error(envelope, signals)
        elif envelope.id is not msgspec.UNSET and envelope.result is not msgspec.UNSET:
            self._on_result(envelope, signals)
        elif envelope.e == "serverShutdown":
            signals.append(Reconnect("serverShutdown", planned=True))  # a raw frame (§2)
        else:
            signals.append(DecodeError("unknown_message", f"{frame[:100]!r}"))

    def _on_data(
        self, route: Route, envelope: Envelope, recv_ts: int,
        events: list[Event], signals: list[Signal],
    ) -> None:  # fmt: skip
        data = envelope.data
        if data is msgspec.UNSET:
            signals.append(DecodeError("invalid_message", f"{route.stream}: no data"))
            return
        channel = route.channel
        try:
            if channel == "trades":
                self._on_trade(route, data, recv_ts, events)
            elif channel == "book":
                self._on_depth(route, data, recv_ts, signals)
            elif channel == "spread":
                self._on_book_ticker(route, data, recv_ts, events)
            elif channel == "ticker":
                self._on_ticker(route, data, recv_ts, events)
            else:
                self._on_kline(route, data, recv_ts, events)
        except UnicodeDecodeError as exc:
            signals.append(DecodeError("invalid_utf8", f"{route.stream}: {exc}"))
        except (msgspec.MsgspecError, ValueError) as exc:
            signals.append(DecodeError("invalid_message", f"{route.stream}: {exc}"))

    def _on_trade(self, route: Route, data: msgspec.Raw, recv_ts: int, events: list[Event]) -> None:
        m = TRADE.decode(data)
        trade_id = str(m.t)
        if not self._recent.first_time(route.topic, trade_id):
            return  # seen on the other connection of a planned reconnect
        events.append(
            Trade(
                topic=route.topic, source=self.source, exchange=EXCHANGE, base=route.base,
                quote=route.quote, ts=m.T * MS, recv_ts=recv_ts, price=m.p, amount=m.q,
                side="sell" if m.m else "buy",  # §8: m = buyer is maker → the taker sold
                id=trade_id,
            )
        )  # fmt: skip

    def _on_book_ticker(
        self, route: Route, data: msgspec.Raw, recv_ts: int, events: list[Event]
    ) -> None:
        m = BOOK_TICKER.decode(data)
        events.append(
            Spread(
                topic=route.topic, source=self.source, exchange=EXCHANGE, base=route.base,
                quote=route.quote, ts=recv_ts, recv_ts=recv_ts, bid=m.b, bid_size=m.B,
                ask=m.a, ask_size=m.A, seq=m.u,
            )
        )  # fmt: skip

    def _on_ticker(
        self, route: Route, data: msgspec.Raw, recv_ts: int, events: list[Event]
    ) -> None:
        """``24hrTicker`` (§9): a whole 24 h state each time (nothing to merge); ``flags`` 0,
        since §9 gives no direction of change."""
        m = TICKER.decode(data)
        events.append(
            Ticker(
                topic=route.topic, source=self.source, exchange=EXCHANGE, base=route.base,
                quote=route.quote, ts=m.E * MS, recv_ts=recv_ts, flags=0, price=m.c,
                bid=m.b, ask=m.a, last_volume=m.Q, last_trade_id=str(m.L), volume_24h=m.v,
                volume_24h_quote=m.q, open_24h=m.o, high_24h=m.h, low_24h=m.l,
            )
        )  # fmt: skip

    def _on_kline(self, route: Route, data: msgspec.Raw, recv_ts: int, events: list[Event]) -> None:
        k = KLINE.decode(data).k
        events.append(
            Candle(
                topic=route.topic, source=self.source, exchange=EXCHANGE, base=route.base,
                quote=route.quote, ts=k.t * MS, recv_ts=recv_ts, interval=route.interval,
                open=k.o, high=k.h, low=k.l, close=k.c, volume=k.v, volume_quote=k.q,
                trades=k.n,
            )
        )  # fmt: skip

    def _on_depth(
        self, route: Route, data: msgspec.Raw, recv_ts: int, signals: list[Signal]
    ) -> None:
        m = DEPTH_UPDATE.decode(data)
        if m.u < m.U:
            raise ValueError(f"first update id U={m.U} after the last u={m.u}")
        sync = self._books.get(route.topic)
        if sync is None:
            return
        for action in sync.on_diff(m.U, m.u, (m, recv_ts), recv_ts):
            self._book_action(route, action, signals)

    def _book_action(self, route: Route, action: depth.Action[Diff], signals: list[Signal]) -> None:
        if isinstance(action, depth.Apply):
            m, recv_ts = action.item
            signals.append(
                BookDelta(
                    topic=route.topic, exchange=EXCHANGE, base=route.base, quote=route.quote,
                    ts=m.E * MS, recv_ts=recv_ts, seq=action.seq, bid_set=m.b, ask_set=m.a,
                )
            )  # fmt: skip
        elif isinstance(action, depth.NeedSnapshot):
            url = f"{self._rest_url}/api/v3/depth?symbol={route.symbol}&limit={DEPTH_LIMIT}"
            signals.append(Fetch(route.topic, url, depth_weight(DEPTH_LIMIT)))
        elif isinstance(action, depth.Lost):
            signals.append(BookInvalid(route.topic, action.reason))

    # --- answers to requests --------------------------------------------------------

    def _on_result(self, envelope: Envelope, signals: list[Signal]) -> None:
        """``{"result":null,"id":n}``: request ``n`` succeeded (§4)."""
        request = self._pop_request(envelope.id)
        if request is None:
            signals.append(DecodeError("unknown_response", f"no request has id {envelope.id!r}"))
            return
        method, topics = request
        signal = Subscribed if method == "SUBSCRIBE" else Unsubscribed
        signals.extend(signal(topic) for topic in topics)

    def _on_error(self, envelope: Envelope, signals: list[Signal]) -> None:
        """``{"code":2,"msg":"…","id":n}`` (§4): refuse that request's topics."""
        code = str(envelope.code)
        request = self._pop_request(envelope.id)
        if request is not None and request[0] == "SUBSCRIBE":
            signals.extend(SubscribeFailed(topic, code, envelope.msg) for topic in request[1])
        else:
            signals.append(UpstreamError(code, envelope.msg or "request refused"))

    def _pop_request(
        self, request_id: int | str | msgspec.UnsetType | None
    ) -> tuple[str, tuple[str, ...]] | None:
        if not isinstance(request_id, int):
            return None
        return self._pending.pop(request_id, None)
