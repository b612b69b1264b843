"""Fuzz tests for the bridges' ``feed``: bad frames become signals, never exceptions.

Each bridge (CryptoCompare JSON, Cryptowatch protobuf) is fed arbitrary bytes and
text, structure-aware frames (valid envelopes with fields of random values and
types) and valid frames mutated by truncation, byte flips, inserts and deletes.
Whatever arrives, ``feed`` must not raise, and what it returns must be fit to
publish: well-typed event Structs whose decimal fields are finite decimals in
plain positional notation, integer timestamps, known signal types, and
``DecodeError`` kinds from a small fixed set (they are counter names).

The bugs this fuzzing found (huge exponents, NaN strings, invalid UTF-8 inside a
string, non-plain decimal strings, timestamps beyond int64) are fixed; the tests
at the end of this file keep them fixed. The property checks tolerate no bad
output (``KNOWN_VIOLATIONS``) and no exception (``known_crash``).

``tests/fuzz/fuzz_decoders.py`` runs the same idea for a million frames.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, TypeAlias, cast

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridges.cryptocompare import subs
from bridges.cryptocompare.adapter import CryptoCompareBridge
from bridges.cryptocompare.wire import ServerFrame
from bridges.cryptowatch.adapter import CryptowatchBridge
from gateway.bridge import (
    BookDelta,
    BookSnapshot,
    Bridge,
    BridgeSettings,
    DecodeError,
    Heartbeat,
    QuotaUpdate,
    Secret,
    Signal,
    Subscribed,
    SubscribeFailed,
    Unsubscribed,
    UpstreamError,
    Welcome,
)
from gateway.events import EVENT_TYPES, Event, MarketEvent
from gateway.topics import parse_topic
from proto.cryptowatch import client_pb2, markets_pb2, stream_pb2
from tests.wire import data, message, uint

RECV = 1_751_000_999_000_000_000
INT64 = (-(2**63), 2**63 - 1)
UINT64 = (0, 2**64 - 1)
INT32 = (-(2**31), 2**31 - 1)

FUZZ = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

#: Largest decimal exponent generated (beyond the bridges' own bound of 10**±60, so
#: refusals are exercised too; huge ones have their own regression test below).
EXPONENT_BOUND = 400

#: Every ``DecodeError.kind`` each bridge emits (read from the adapters); they are
#: counter names on /readyz, so a new one must be added here on purpose.
CC_KINDS = frozenset(
    {"invalid_json", "invalid_utf8", "invalid_message", "missing_type", "unknown_type"}
)
CW_KINDS = frozenset({"invalid_protobuf", "empty_message", "invalid_message", "unknown_market"})

#: Bad decimal output a bridge is allowed to produce, by class (see ``classify``): none.
KNOWN_VIOLATIONS: dict[str, frozenset[str]] = {"cc": frozenset(), "cw": frozenset()}
STRICT: frozenset[str] = frozenset()

KNOWN_SIGNALS: tuple[type[Signal], ...] = (
    Welcome, QuotaUpdate, Heartbeat, Subscribed, Unsubscribed, SubscribeFailed,
    UpstreamError, BookSnapshot, BookDelta, DecodeError,
)  # fmt: skip

#: String fields of events that are not decimals; every other ``str`` field is one.
NOT_DECIMAL = frozenset({
    "topic", "source", "exchange", "base", "quote", "side", "id", "last_trade_id",
    "price_dir", "bid_dir", "ask_dir", "median_dir", "last_market", "interval", "scope",
    "action", "bids", "asks", "reason", "state", "code", "message", "subject",
})  # fmt: skip
DECIMAL_FIELDS: dict[type[Event], tuple[str, ...]] = {
    cls: tuple(
        f.name
        for f in msgspec.structs.fields(cls)
        if f.type in (str, str | None) and f.name not in NOT_DECIMAL
    )
    for cls in EVENT_TYPES
}
PLAIN = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


# --- the properties ---------------------------------------------------------------


def classify(text: str) -> str | None:
    """None for a finite decimal in plain positional notation, else what is wrong with it."""
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        return "not_decimal"
    if not value.is_finite():
        return "non_finite"
    if not PLAIN.fullmatch(text):
        return "not_plain"  # an exponent, spaces, underscores or non-ASCII digits
    return None


def _check_decimal(text: object, where: str, allowed: frozenset[str]) -> None:
    assert isinstance(text, str), f"{where}: {text!r} is not a string"
    problem = classify(text)
    assert problem is None or problem in allowed, f"{where}: {text[:80]!r} is {problem}"


def check_outputs(
    upstream: str,
    events: Sequence[Event],
    signals: Sequence[Signal],
    kinds: frozenset[str],
    allowed: frozenset[str],
) -> None:
    """Everything ``feed`` returned is well-typed and fit to publish."""
    for event in events:
        cls = type(event)
        assert cls in EVENT_TYPES, f"not an event type: {cls.__name__}"
        # Struct constructors do not check types; a JSON round trip through the type does.
        assert msgspec.json.decode(msgspec.json.encode(event), type=cls) == event
        assert event.source == upstream
        if isinstance(event, MarketEvent):
            assert type(event.ts) is int and type(event.recv_ts) is int
            assert event.recv_ts == RECV
        for name in DECIMAL_FIELDS[cls]:
            value = getattr(event, name)
            if value is not None:
                _check_decimal(value, f"{cls.__name__}.{name}", allowed)
    for signal in signals:
        cls_s = type(signal)
        assert cls_s in KNOWN_SIGNALS, f"not a known signal: {cls_s.__name__}"
        assert msgspec.json.decode(msgspec.json.encode(signal), type=cls_s) == signal
        if isinstance(signal, DecodeError):
            assert signal.kind in kinds, f"unexpected DecodeError kind {signal.kind!r}"
        elif isinstance(signal, BookSnapshot | BookDelta):
            assert type(signal.ts) is int and type(signal.recv_ts) is int
            assert type(signal.seq) is int
            if isinstance(signal, BookSnapshot):
                levels = signal.bids + signal.asks
                removed: tuple[str, ...] = ()
            else:
                levels = signal.bid_set + signal.ask_set
                removed = signal.bid_remove + signal.ask_remove
            for price, amount in levels:
                _check_decimal(price, f"{cls_s.__name__} price", allowed)
                _check_decimal(amount, f"{cls_s.__name__} amount", allowed)
            for price in removed:
                _check_decimal(price, f"{cls_s.__name__} removed price", allowed)


def known_crash(upstream: str, frame: str | bytes, exc: Exception) -> bool:
    """Exceptions a bridge may raise from ``feed``: none (all were fixed)."""
    return False


def feed_and_check(
    bridge: Bridge,
    upstream: str,
    frames: Sequence[str | bytes],
    kinds: frozenset[str],
    allowed: frozenset[str],
) -> tuple[list[Event], list[Signal]]:
    """Feed every frame to one bridge (state carries over), then check all it returned."""
    events: list[Event] = []
    signals: list[Signal] = []
    for frame in frames:
        try:
            bridge.feed(frame, RECV, events, signals)
        except Exception as exc:
            if not known_crash(upstream, frame, exc):
                raise
    check_outputs(upstream, events, signals, kinds, allowed)
    return events, signals


# --- bridges under test -------------------------------------------------------------

CC_TOPICS = (
    "trades.kraken.btceur", "ticker.kraken.btceur", "index.cccagg.btcusd", "ohlc.kraken.btceur.1m",
    "spread.kraken.btceur", "book.kraken.btceur", "volume.btc", "toptiervolume.btc",
)  # fmt: skip
CW_TOPICS = (
    "trades.kraken.btceur", "trades.kraken.btcusd", "trades.bitfinex.btcusd",
    "summary.kraken.btceur", "ohlc.kraken.btceur.1m", "ohlc.kraken.btceur.1h",
    "book.kraken.btceur", "spread.kraken.btceur",
)  # fmt: skip


def cc_bridge() -> CryptoCompareBridge:
    """A connected CryptoCompare bridge subscribed to a topic of every channel."""
    bridge = CryptoCompareBridge(BridgeSettings(upstream="cc"))
    bridge.connection_made(0)
    bridge.subscribe([parse_topic(t) for t in CC_TOPICS])
    return bridge


def cw_bridge() -> CryptowatchBridge:
    """A connected gen-1 Cryptowatch bridge subscribed to a topic of every channel."""
    bridge = CryptowatchBridge(
        BridgeSettings(upstream="cw", api_key=Secret("foo"), secret=Secret("YmFy"))
    )
    bridge.connection_made(1)
    bridge.subscribe([parse_topic(t) for t in CW_TOPICS])
    return bridge


# --- shared strategies --------------------------------------------------------------


DIGITS = "0123456789"


@st.composite
def number_literal(draw: st.DrawFn, exponent: bool = True) -> str:
    """A JSON number's text: sign, digits, fraction, and an exponent within the bound."""
    text = draw(st.sampled_from(["", "-"])) + str(draw(st.integers(0, 10**30)))
    if draw(st.booleans()):
        text += "." + draw(st.text(DIGITS, min_size=1, max_size=30))
    if exponent and draw(st.integers(0, 3)) == 0:
        value = draw(st.integers(-EXPONENT_BOUND, EXPONENT_BOUND))
        sign = "+" if value >= 0 and draw(st.booleans()) else ""
        text += f"{draw(st.sampled_from('eE'))}{sign}{value}"
    return text


#: Strings a sloppy upstream might send for a number.
ODD_NUMBERS = (
    "NaN", "nan", "-NaN", "sNaN", "Infinity", "-Infinity", "inf", "-inf", "1_000", " 1.5 ",
    "0x10", "", "abc", "١٢٣", "1e", ".5", "5.", "+1", "--1", "1.2.3", "0E-10", "-0",
)  # fmt: skip

json_leaf: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
any_json: st.SearchStrategy[Any] = st.recursive(
    json_leaf,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def mutated(draw: st.DrawFn, frames: st.SearchStrategy[bytes]) -> bytes:
    """A frame damaged by 1-4 truncations, byte flips, inserts, deletes or duplications."""
    frame = bytearray(draw(frames))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(("truncate", "flip", "insert", "delete", "duplicate")))
        at = draw(st.integers(0, len(frame)))
        if op == "truncate":
            del frame[at:]
        elif op == "flip" and at < len(frame):
            frame[at] ^= draw(st.integers(1, 255))
        elif op == "insert":
            frame[at:at] = draw(st.binary(min_size=1, max_size=4))
        elif op == "delete":
            del frame[at : at + draw(st.integers(1, 8))]
        else:
            frame[at:at] = frame[at : at + draw(st.integers(1, 16))]
    return bytes(frame)


# --- CryptoCompare frames -------------------------------------------------------------

CC_MARKETS = (*subs.EXCHANGES.values(), "CCCAGG", "kraken", "", "Kr@ken!", "ÄÖ")
CC_SYMBOLS = ("BTC", "EUR", "USD", "XBT", "ETH", "USDT", "", "b.t", "ß")
CC_SUBS = (
    *(subs.to_sub(parse_topic(t)) for t in CC_TOPICS),
    "0~Kraken~BTC", "~", "5~CCCAGG~BTC~USD~x", "24~Kraken~BTC~EUR~W", "11~BTC~X", "0~~BTC~EUR",
)  # fmt: skip
CC_MESSAGES = (
    "INVALID_SUB", "SUBSCRIPTION_ALREADY_ACTIVE", "SUBSCRIPTION_UNRECOGNIZED",
    "TOO_MANY_SOCKETS_MAX_1_PER_CLIENT", "TOO_MANY_SUBSCRIPTIONS_MAX_300_PER_SOCKET",
    "RATE_LIMIT_EXCEEDED", "FORCE_DISCONNECT", "",
)  # fmt: skip
BY_NAME: dict[str, st.SearchStrategy[Any]] = {
    **dict.fromkeys(
        ("M", "MARKET", "LASTMARKET"), st.sampled_from(CC_MARKETS) | st.text(max_size=8)
    ),
    **dict.fromkeys(
        ("FSYM", "TSYM", "FROMSYMBOL", "TOSYMBOL", "SYMBOL"),
        st.sampled_from(CC_SYMBOLS) | st.text(max_size=6),
    ),
    "UNIT": st.sampled_from(("m", "H", "D", "W", "")),
    **dict.fromkeys(("SUB", "PARAMETER"), st.sampled_from(CC_SUBS) | st.text(max_size=12)),
    "MESSAGE": st.sampled_from(CC_MESSAGES) | st.text(max_size=12),
    **dict.fromkeys(("ID", "LASTTRADEID"), st.integers(*INT64) | st.text(max_size=10)),
    "F": st.sampled_from(("1", "2", "4", "9", "12", "x", "")) | st.integers(-1, 64),
    **dict.fromkeys(("SIDE", "ACTION"), st.integers(-1, 5)),
}
cc_int: st.SearchStrategy[Any] = st.one_of(
    st.integers(0, 2**32),
    st.integers(*INT64),
    st.integers(-(10**30), 10**30),
    st.integers(0, 2**40).map(str),  # numbers as strings (strict=False)
)


def cc_decimal(wide: bool) -> st.SearchStrategy[Any]:
    """A decimal field: a JSON number (kept as written) or a number in a string."""
    options: list[st.SearchStrategy[Any]] = [
        number_literal().map(lambda t: msgspec.Raw(t.encode())),
        number_literal(),
        st.integers(-(2**80), 2**80).map(lambda n: msgspec.Raw(str(n).encode())),
    ]
    if wide:
        options += [st.sampled_from(ODD_NUMBERS), any_json]
    return st.one_of(options)


def cc_level(wide: bool) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"P": cc_decimal(wide), "Q": cc_decimal(wide)}, optional={"REPORTEDNS": cc_int}
    )


def cc_value(name: str, kind: Any, wide: bool) -> st.SearchStrategy[Any]:
    """Values for one field of a wire Struct, by name, then by declared type."""
    if name in BY_NAME:
        plausible = BY_NAME[name]
    elif Decimal in (kind, *getattr(kind, "__args__", ())):
        plausible = cc_decimal(wide)
    elif name in ("BID", "ASK"):
        plausible = st.lists(cc_level(wide), max_size=3)
    elif int in (kind, *getattr(kind, "__args__", ())):
        plausible = cc_int
    else:
        plausible = st.text(max_size=12)
    return plausible | any_json if wide else plausible


def cc_frame_strategy(cls: Any, wide: bool) -> st.SearchStrategy[dict[str, Any]]:
    """A frame of one TYPE; wide frames may drop required fields and add wrong types."""
    fields = msgspec.structs.fields(cls)
    required = {f.encode_name: cc_value(f.encode_name, f.type, wide) for f in fields if f.required}
    optional = {
        f.encode_name: cc_value(f.encode_name, f.type, wide) for f in fields if not f.required
    }
    if wide:
        optional.update(required)
        required = {}
        optional["EXTRA"] = any_json
    tag = cls.__struct_config__.tag
    type_value: st.SearchStrategy[Any] = st.just(tag)
    if wide:  # the TYPE as a number, unknown, or of the wrong type
        type_value = st.one_of(
            st.just(tag), st.just(int(tag)), st.sampled_from(("7", "abc", "")), any_json
        )
    return st.fixed_dictionaries({**required, "TYPE": type_value}, optional=optional)


CC_CLASSES: tuple[Any, ...] = ServerFrame.__args__  # type: ignore[attr-defined]


def cc_frames(wide: bool) -> st.SearchStrategy[bytes]:
    """Encoded CryptoCompare frames of every known TYPE."""
    frames = st.one_of([cc_frame_strategy(cls, wide) for cls in CC_CLASSES])
    return frames.map(msgspec.json.encode)


def as_text_sometimes(frames: st.SearchStrategy[bytes]) -> st.SearchStrategy[str | bytes]:
    """CryptoCompare frames arrive as text; bytes are fed too (invalid UTF-8 is a kind)."""
    return st.one_of(frames, frames.map(lambda b: b.decode("utf-8", "replace")))


# --- CryptoCompare tests ----------------------------------------------------------------


@FUZZ
@given(st.lists(st.binary(max_size=512), min_size=1, max_size=4))
def test_cc_arbitrary_bytes(frames: list[bytes]) -> None:
    """Arbitrary bytes never raise and give only counted decode errors."""
    feed_and_check(cc_bridge(), "cc", frames, CC_KINDS, STRICT)


@FUZZ
@given(st.lists(st.text(max_size=512), min_size=1, max_size=4))
def test_cc_arbitrary_text(frames: list[str]) -> None:
    """Arbitrary text never raises."""
    feed_and_check(cc_bridge(), "cc", frames, CC_KINDS, STRICT)


@FUZZ
@given(st.lists(any_json.map(msgspec.json.encode), min_size=1, max_size=4))
def test_cc_arbitrary_json(frames: list[bytes]) -> None:
    """Any JSON document (arrays, scalars, objects of any shape) never raises."""
    feed_and_check(cc_bridge(), "cc", frames, CC_KINDS, STRICT)


@FUZZ
@given(st.lists(as_text_sometimes(cc_frames(wide=True)), min_size=1, max_size=3))
def test_cc_structured_frames(frames: list[str | bytes]) -> None:
    """Frames of every TYPE with fields of random JSON types never raise; output is valid."""
    feed_and_check(cc_bridge(), "cc", frames, CC_KINDS, KNOWN_VIOLATIONS["cc"])


@FUZZ
@given(st.lists(as_text_sometimes(cc_frames(wide=False)), min_size=1, max_size=3))
def test_cc_well_formed_frames(frames: list[str | bytes]) -> None:
    """Frames with well-typed fields and finite numbers give strictly valid output."""
    feed_and_check(cc_bridge(), "cc", frames, CC_KINDS, STRICT)


@FUZZ
@given(st.lists(mutated(cc_frames(wide=False)), min_size=1, max_size=3))
def test_cc_mutated_frames(frames: list[bytes]) -> None:
    """Well-formed frames truncated or with bytes flipped never raise."""
    feed_and_check(cc_bridge(), "cc", frames, CC_KINDS, KNOWN_VIOLATIONS["cc"])


# --- Cryptowatch frames -----------------------------------------------------------------

CW_MARKET_IDS = (86, 87, 1, 2)
CW_RESOURCES = (
    "markets:86:trades", "markets:86:book:snapshots", "markets:86:book:deltas",
    "markets:86:summary", "markets:86:ohlc", "markets:86:book:spread", "markets:87:trades",
    "markets:1:trades", "markets:999:trades", "",
)  # fmt: skip
PERIOD_NAMES = ("60", "3600", "180", "604800_Monday", "", "x")


CW_PLAIN = st.builds(
    lambda sign, whole, fraction: f"{sign}{whole}{fraction and '.'}{fraction}",
    st.sampled_from(("", "-")), st.integers(0, 10**20), st.text(DIGITS, max_size=12),
)  # fmt: skip


def cw_decimal(wide: bool) -> st.SearchStrategy[str]:
    """A ``*Str`` field: plain decimals or empty (well-formed), or anything (wide)."""
    plain = CW_PLAIN
    if not wide:
        return plain | st.just("")
    return st.one_of(plain, st.just(""), number_literal(), st.sampled_from(ODD_NUMBERS),
                     st.text(max_size=10))  # fmt: skip


def cw_float(wide: bool, width: int) -> st.SearchStrategy[float]:
    """A historical float field: finite (well-formed), or also NaN and infinities (wide)."""
    return st.floats(width=width, allow_nan=wide, allow_infinity=wide)  # type: ignore[arg-type]


@st.composite
def cw_order(draw: st.DrawFn, wide: bool) -> markets_pb2.Order:
    return markets_pb2.Order(
        price=draw(cw_float(wide, 32)), amount=draw(cw_float(wide, 32)),
        priceStr=draw(cw_decimal(wide)), amountStr=draw(cw_decimal(wide)),
    )  # fmt: skip


@st.composite
def cw_trade(draw: st.DrawFn, wide: bool) -> markets_pb2.Trade:
    i64 = st.integers(*INT64)
    return markets_pb2.Trade(
        id=draw(i64), timestamp=draw(i64), price=draw(cw_float(wide, 32)),
        amount=draw(cw_float(wide, 32)), timestampMillis=draw(i64),
        priceDouble=draw(cw_float(wide, 64)), amountDouble=draw(cw_float(wide, 64)),
        priceStr=draw(cw_decimal(wide)), amountStr=draw(cw_decimal(wide)),
        timestampNano=draw(i64), externalId=draw(st.text(max_size=8)),
        orderSide=cast(markets_pb2.Trade.OrderSide, draw(st.integers(0, 3))),
        amountBaseStr=draw(cw_decimal(wide)),
    )  # fmt: skip


@st.composite
def cw_interval(draw: st.DrawFn, wide: bool) -> markets_pb2.Interval:
    f32 = cw_float(wide, 32)
    ohlc = markets_pb2.Interval.OHLC(
        open=draw(f32), high=draw(f32), low=draw(f32), close=draw(f32),
        openStr=draw(cw_decimal(wide)), highStr=draw(cw_decimal(wide)),
        lowStr=draw(cw_decimal(wide)), closeStr=draw(cw_decimal(wide)),
    )  # fmt: skip
    return markets_pb2.Interval(
        closetime=draw(st.integers(*INT64)), ohlc=ohlc, volumeBase=draw(f32),
        period=draw(st.sampled_from((60, 3600, 0, -1)) | st.integers(*INT32)),
        volumeQuote=draw(f32), volumeBaseStr=draw(cw_decimal(wide)),
        volumeQuoteStr=draw(cw_decimal(wide)), periodName=draw(st.sampled_from(PERIOD_NAMES)),
        opentime=draw(st.integers(*INT64)), volumeBaseStrV2=draw(cw_decimal(wide)),
    )  # fmt: skip


@st.composite
def cw_market_update(draw: st.DrawFn, wide: bool) -> markets_pb2.MarketUpdateMessage:
    """A market update of any kind for a known or unknown market id."""
    update = markets_pb2.MarketUpdateMessage()
    update.market.marketId = draw(st.sampled_from(CW_MARKET_IDS) | st.integers(*UINT64))
    orders = st.lists(cw_order(wide), max_size=3)
    f32 = cw_float(wide, 32)
    kind = draw(st.sampled_from(("trades", "summary", "intervals", "book", "delta", "spread",
                                 "sparkline", "liquidity", "none")))  # fmt: skip
    if kind == "trades":
        update.tradesUpdate.trades.extend(draw(st.lists(cw_trade(wide), max_size=3)))
    elif kind == "summary":
        s = update.summaryUpdate
        s.last, s.high, s.low, s.volumeBase = (draw(f32) for _ in range(4))
        s.changeAbsolute, s.changePercent, s.volumeQuote = (draw(f32) for _ in range(3))
        s.numTrades = draw(st.integers(*INT32))
        s.lastStr, s.highStr, s.lowStr, s.volumeBaseStr = (draw(cw_decimal(wide)) for _ in range(4))
        s.volumeQuoteStr, s.changeAbsoluteStr = draw(cw_decimal(wide)), draw(cw_decimal(wide))
        s.changePercentStr, s.volumeBaseStrV2 = draw(cw_decimal(wide)), draw(cw_decimal(wide))
    elif kind == "intervals":
        update.intervalsUpdate.intervals.extend(draw(st.lists(cw_interval(wide), max_size=3)))
    elif kind == "book":
        book = update.orderBookUpdate
        book.bids.extend(draw(orders))
        book.asks.extend(draw(orders))
        book.seqNum = draw(st.integers(*INT32))
    elif kind == "delta":
        delta = update.orderBookDeltaUpdate
        for side in (delta.bids, delta.asks):
            side.set.extend(draw(orders))
            side.remove.extend(draw(st.lists(f32, max_size=2)))
            removed = cw_decimal(wide) if wide else CW_PLAIN  # "" is a value here, not absence
            side.removeStr.extend(draw(st.lists(removed, max_size=2)))
        delta.seqNum = draw(st.integers(*INT32))
    elif kind == "spread":
        spread = update.orderBookSpreadUpdate
        spread.timestamp = draw(st.integers(*INT64))
        spread.bid.CopyFrom(draw(cw_order(wide)))
        spread.ask.CopyFrom(draw(cw_order(wide)))
    elif kind == "sparkline":
        update.sparklineUpdate.priceStr = draw(cw_decimal(wide))
    elif kind == "liquidity":
        update.orderBookLiquidityUpdate.bid.bip25.totalBase = draw(cw_decimal(wide))
    return update


def cw_subscription(resource: str) -> client_pb2.ClientSubscription:
    subscription = client_pb2.ClientSubscription()
    subscription.stream_subscription.resource = resource
    return subscription


@st.composite
def cw_message(draw: st.DrawFn, wide: bool, bulk: bool = True) -> stream_pb2.StreamMessage:
    """A StreamMessage with a random body; bulk messages hold serialized inner ones."""
    msg = stream_pb2.StreamMessage()
    bodies = ["auth", "market", "market", "market", "sub", "unsub", "missed", "bandwidth",
              "heartbeat", "pair", "empty"] + (["bulk"] if bulk else [])  # fmt: skip
    body = draw(st.sampled_from(bodies))
    resources = st.sampled_from(CW_RESOURCES) | st.text(max_size=12)
    if body == "auth":
        status = draw(st.integers(0, 9))  # 8, 9: not in the enum
        msg.authenticationResult.status = cast(stream_pb2.AuthenticationResult.Status, status)
    elif body == "market":
        msg.marketUpdate.CopyFrom(draw(cw_market_update(wide)))
    elif body in ("sub", "unsub"):
        result = msg.subscriptionResult if body == "sub" else msg.unsubscriptionResult
        result.subscriptions.extend(
            cw_subscription(r) for r in draw(st.lists(resources, max_size=3))
        )
        for resource in draw(st.lists(resources, max_size=2)):
            failed = result.failed.add()
            failed.key, failed.error = draw(resources), draw(st.text(max_size=10))
            failed.subscription.CopyFrom(cw_subscription(resource))
    elif body == "missed":
        msg.missedMessages.numMissedMessages = draw(st.integers(*INT64))
    elif body == "bandwidth":
        msg.bandwidthUpdate.ok = draw(st.booleans())
        msg.bandwidthUpdate.bytesUsed = draw(st.integers(*INT64))
    elif body == "heartbeat":
        msg.heartbeat.time = draw(st.integers(*INT64))
    elif body == "pair":
        msg.pairUpdate.pair = draw(st.integers(*UINT64))
        msg.pairUpdate.vwapUpdate.vwap = draw(cw_float(wide, 64))
    elif body == "bulk":
        inner = cw_message(wide, bulk=False).map(lambda m: m.SerializeToString())
        nested = st.just(stream_pb2.StreamMessage(bulkMessage=stream_pb2.BulkMessage()))
        parts = st.one_of(
            inner, st.binary(max_size=32), nested.map(lambda m: m.SerializeToString())
        )
        msg.bulkMessage.messages.extend(draw(st.lists(parts, max_size=4)))
    return msg


def cw_frames(wide: bool) -> st.SearchStrategy[bytes]:
    """Serialized StreamMessages, and sometimes the 1-byte heartbeat frame."""
    return st.one_of(cw_message(wide).map(lambda m: m.SerializeToString()), st.just(b"\x01"))


# --- Cryptowatch tests -------------------------------------------------------------------


@FUZZ
@given(st.lists(st.binary(max_size=512), min_size=1, max_size=4))
def test_cw_arbitrary_bytes(frames: list[bytes]) -> None:
    """Arbitrary bytes never raise and give only counted decode errors."""
    feed_and_check(cw_bridge(), "cw", frames, CW_KINDS, KNOWN_VIOLATIONS["cw"])


@FUZZ
@given(st.lists(st.text(max_size=512), min_size=1, max_size=4))
def test_cw_arbitrary_text(frames: list[str]) -> None:
    """Arbitrary text frames (decoded from their UTF-8 bytes) never raise."""
    feed_and_check(cw_bridge(), "cw", frames, CW_KINDS, KNOWN_VIOLATIONS["cw"])


@FUZZ
@given(st.lists(cw_frames(wide=True), min_size=1, max_size=3))
def test_cw_structured_frames(frames: list[bytes]) -> None:
    """StreamMessages of every body with random field values never raise; output is valid."""
    feed_and_check(cw_bridge(), "cw", frames, CW_KINDS, KNOWN_VIOLATIONS["cw"])


@FUZZ
@given(st.lists(cw_frames(wide=False), min_size=1, max_size=3))
def test_cw_well_formed_frames(frames: list[bytes]) -> None:
    """Plain decimal strings and finite floats give strictly valid output."""
    feed_and_check(cw_bridge(), "cw", frames, CW_KINDS, STRICT)


@FUZZ
@given(st.lists(mutated(cw_frames(wide=False)), min_size=1, max_size=3))
def test_cw_mutated_frames(frames: list[bytes]) -> None:
    """Well-formed frames truncated or with bytes flipped never raise."""
    feed_and_check(cw_bridge(), "cw", frames, CW_KINDS, KNOWN_VIOLATIONS["cw"])


# --- regressions: bugs this fuzzing found in the bridges, now fixed ---------------------

FeedResult: TypeAlias = tuple[list[Event], list[Signal]]


def feed_once(bridge: Bridge, frame: str | bytes) -> FeedResult:
    events: list[Event] = []
    signals: list[Signal] = []
    bridge.feed(frame, RECV, events, signals)
    return events, signals


def decimal_outputs(events: Sequence[Event]) -> list[str]:
    return [
        value
        for event in events
        for name in DECIMAL_FIELDS[type(event)]
        if isinstance(value := getattr(event, name), str)
    ]


def test_cc_huge_exponent_does_not_raise() -> None:
    """A JSON number with an 11-digit exponent must give a DecodeError, not an exception."""
    _, signals = feed_once(cc_bridge(), '{"TYPE":"11","SYMBOL":"BTC","FULLVOLUME":1e99999999999}')
    assert any(isinstance(s, DecodeError) for s in signals)


def test_cc_huge_exponent_is_bounded() -> None:
    """A tiny frame must not expand into a value larger than a whole frame may be (4 MiB)."""
    frame = '{"TYPE":"11","SYMBOL":"BTC","FULLVOLUME":1e9999999}'
    events, _ = feed_once(cc_bridge(), frame)
    assert all(len(v) <= 4 * 1024 * 1024 for v in decimal_outputs(events))


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-inf", "sNaN"])
def test_cc_non_finite_decimal_strings(text: str) -> None:
    """A number sent as the string "NaN" or "Infinity" must not be published as a volume."""
    events, _ = feed_once(cc_bridge(), f'{{"TYPE":"11","SYMBOL":"BTC","FULLVOLUME":"{text}"}}')
    assert all(classify(v) is None for v in decimal_outputs(events))


@pytest.mark.parametrize(
    "frame", [b'{"TYPE":"\xb0"}', b'{"TYPE":"16","SUB":"\xb0"}', b'{"TYPE":"0","M":"\xb0"}']
)
def test_cc_invalid_utf8_in_a_string_does_not_raise(frame: bytes) -> None:
    """A binary frame with invalid UTF-8 inside a JSON string must give a DecodeError."""
    _, signals = feed_once(cc_bridge(), frame)
    assert any(isinstance(s, DecodeError) and s.kind in CC_KINDS for s in signals)


@pytest.mark.parametrize(
    ("make", "frame"), [(cc_bridge, '{"TYPE":"\ud800"}'), (cw_bridge, "\ud800")], ids=["cc", "cw"]
)
def test_lone_surrogate_text_does_not_raise(make: Callable[[], Bridge], frame: str) -> None:
    """A text frame that cannot be encoded as UTF-8 must give a DecodeError.

    websockets rejects such frames before they reach a bridge, so this breaks the
    Bridge contract ("never raise") rather than anything reachable from the network.
    """
    _, signals = feed_once(make(), frame)
    assert any(isinstance(s, DecodeError) for s in signals)


def cw_trade_frame(trade: bytes) -> bytes:
    """StreamMessage{marketUpdate{market{marketId 86}, tradesUpdate{trades{<trade>}}}}."""
    return data(2, message(data(9, uint(5, 86)), data(4, data(1, trade))))


@pytest.mark.parametrize("text", ["1E-8", "abc", "NaN", " 1"])
def test_cw_decimal_strings_pass_through(text: str) -> None:
    """A priceStr that is not a plain decimal must not be published as the price."""
    events, _ = feed_once(cw_bridge(), cw_trade_frame(data(8, text)))
    assert all(classify(v) is None for v in decimal_outputs(events))


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_cw_nan_float_fallback(value: float) -> None:
    """A NaN or infinite priceDouble (with no priceStr) must not be published as the price."""
    events, _ = feed_once(
        cw_bridge(), cw_trade_frame(markets_pb2.Trade(priceDouble=value).SerializeToString())
    )
    assert all(classify(v) is None for v in decimal_outputs(events))


@pytest.mark.parametrize(
    ("make", "frame"),
    [
        (
            cc_bridge,
            '{"TYPE":"0","M":"Kraken","FSYM":"BTC","TSYM":"EUR","ID":1,"TS":10000000000,"Q":1,"P":1}',
        ),
        (cw_bridge, cw_trade_frame(message(uint(2, 10_000_000_000), data(8, "1"), data(9, "1")))),
    ],
    ids=["cc", "cw"],
)
def test_ts_fits_int64(make: Callable[[], Bridge], frame: str | bytes) -> None:
    """Timestamps must fit the int64 of feedgate's protobuf encoding (year 2262 at most)."""
    events, signals = feed_once(make(), frame)
    assert all(INT64[0] <= e.ts <= INT64[1] for e in events if isinstance(e, MarketEvent))
    assert not events and any(isinstance(s, DecodeError) for s in signals)  # refused, counted
