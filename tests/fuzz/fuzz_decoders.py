"""Feed about a million generated frames to each bridge decoder and report every crash.

The bounded hypothesis tests in ``tests/test_fuzz_bridges.py`` run with the suite;
this script is the long run, by hand, from the repository root::

    python -m tests.fuzz.fuzz_decoders                                 # both, 1,000,000 each
    python -m tests.fuzz.fuzz_decoders --decoder cryptowatch --frames 200000 --seed 7

Frames mix random bytes, random text, structure-aware frames (CryptoCompare JSON
objects of a known TYPE with fields of random JSON types; Cryptowatch
StreamMessages filled field by field from the protobuf descriptors) and valid
frames from the simulators, mutated (truncated, bytes flipped, inserted, deleted,
duplicated, spliced; for JSON also numbers swapped for odd ones).

A crash is any exception escaping ``feed`` (the Bridge contract says it never
raises). Each distinct crash site is printed once with the frame in hex (cut to
``--show-bytes``) and the traceback; a progress line with frames/s and RSS comes
every ~5 s; the summary gives throughput (overall, and of ``feed`` alone), the
slowest frame, and counts suspicious output (decimal fields that are not finite
plain decimals or are over 4096 characters, unexpected DecodeError kinds), which
only changes the exit status with ``--strict-output``. Exit status: 0 clean,
1 if anything crashed, 130 if interrupted (the summary still prints).

Generated decimal exponents stay within ``--max-exponent`` (default 400): beyond
about 1e7 the CryptoCompare bridge spends seconds and gigabytes per frame (pinned
by ``test_cc_huge_exponent_*``), which would stall the run rather than fuzz it.
Byte mutations can still lengthen an exponent now and then; those frames show up
as "decimal over 4096 chars" and as the slowest feed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, cast

import msgspec
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from bridges.cryptocompare import subs
from bridges.cryptocompare.adapter import CryptoCompareBridge
from bridges.cryptocompare.sim_market import SyntheticMarket, parse_subscription
from bridges.cryptocompare.wire import ServerFrame
from bridges.cryptowatch.adapter import CryptowatchBridge
from bridges.cryptowatch.sim_market import SyntheticMarkets
from gateway.bridge import (
    BookDelta,
    BookSnapshot,
    Bridge,
    BridgeSettings,
    DecodeError,
    Secret,
    Signal,
)
from gateway.events import EVENT_TYPES, Event
from gateway.topics import parse_topic
from proto.cryptowatch import stream_pb2

PROGRESS_SECONDS = 5.0
#: Decimal text longer than this is reported: it comes from an exponent, not from a price.
HUGE_DECIMAL = 4096
RECONNECT_EVERY = 10_000  # frames between connection_made + subscribe, as after a reconnect
PLAIN = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
KINDS = {
    "cryptocompare": frozenset(
        {"invalid_json", "invalid_utf8", "invalid_message", "missing_type", "unknown_type"}
    ),
    "cryptowatch": frozenset(
        {"invalid_protobuf", "empty_message", "invalid_message", "unknown_market"}
    ),
}
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
ODD_NUMBERS = (
    "NaN", "nan", "-NaN", "sNaN", "Infinity", "-Infinity", "inf", "1_000", " 1.5 ", "0x10", "",
    "abc", "١٢٣", "1e", ".5", "5.", "+1", "--1", "1.2.3", "0E-10", "-0", "1e400", "1E-400",
    "99999999999999999999999999999999", "-0.000000000000000000000001",
)  # fmt: skip
INTERESTING_BYTES = (0x00, 0x01, 0x7F, 0x80, 0xFF, 0x22, 0x5C, 0x7B, 0x7D, 0x08, 0x0A, 0x12)


# --- generic random helpers --------------------------------------------------------------


def random_bytes(rng: random.Random, max_size: int = 256) -> bytes:
    return rng.randbytes(min(int(rng.expovariate(1 / 32)), max_size))


def random_text(rng: random.Random, max_size: int = 64) -> str:
    """Text from ASCII, Latin-1, other planes and JSON's own punctuation (no surrogates)."""
    pools = (
        (0x20, 0x7E), (0x00, 0x1F), (0xA0, 0x17F), (0x400, 0x4FF), (0x4E00, 0x4FFF),
        (0x1F300, 0x1F6FF),
    )  # fmt: skip
    size = min(int(rng.expovariate(1 / 8)), max_size)
    return "".join(chr(rng.randint(*rng.choice(pools))) for _ in range(size))


def number_literal(rng: random.Random, max_exponent: int, exponent: bool = True) -> str:
    """A JSON number's text: sign, digits, optional fraction and exponent."""
    text = rng.choice(("", "-")) + str(rng.choice((0, rng.randint(1, 10**6), rng.getrandbits(100))))
    if rng.random() < 0.5:
        text += "." + "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 30)))
    if exponent and rng.random() < 0.25:
        value = rng.randint(-max_exponent, max_exponent)
        text += rng.choice("eE") + ("+" if value >= 0 and rng.random() < 0.5 else "") + str(value)
    return text


def random_int(rng: random.Random) -> int:
    return rng.choice((
        rng.randint(0, 2**32), rng.randint(-(2**63), 2**63 - 1), rng.randint(-(10**30), 10**30),
        0, -1, 2**63, 2**64 - 1,
    ))  # fmt: skip


def mutate(rng: random.Random, frame: bytes, corpus: list[bytes]) -> bytes:
    """1-4 byte-level mutations: truncate, flip, insert, delete, duplicate, splice."""
    data = bytearray(frame)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(7)
        at = rng.randint(0, len(data))
        if op == 0:
            del data[at:]
        elif op == 1 and data:
            data[min(at, len(data) - 1)] ^= rng.randint(1, 255)
        elif op == 2:
            data[at:at] = rng.randbytes(rng.randint(1, 4))
        elif op == 3:
            del data[at : at + rng.randint(1, 8)]
        elif op == 4:
            data[at:at] = data[at : at + rng.randint(1, 16)]
        elif op == 5 and data:
            data[min(at, len(data) - 1)] = rng.choice(INTERESTING_BYTES)
        else:
            other = rng.choice(corpus)
            data[at:] = other[rng.randint(0, len(other)) :]
    return bytes(data)


# --- CryptoCompare ------------------------------------------------------------------------

CC_SUBS = (
    "0~Kraken~BTC~EUR", "0~Coinbase~BTC~USD", "2~Kraken~BTC~EUR", "2~Binance~BTC~USDT",
    "5~CCCAGG~BTC~USD", "8~Kraken~BTC~EUR", "11~BTC", "21~ETH", "24~Kraken~BTC~EUR~m",
    "24~CCCAGG~BTC~USD~H", "30~Coinbase~BTC~USD",
)  # fmt: skip
CC_TOPICS = (
    "trades.kraken.btceur", "trades.coinbase.btcusd", "ticker.kraken.btceur",
    "ticker.binance.btcusdt", "index.cccagg.btcusd", "book.kraken.btceur", "volume.btc",
    "toptiervolume.eth", "ohlc.kraken.btceur.1m", "ohlc.cccagg.btcusd.1h", "spread.coinbase.btcusd",
)  # fmt: skip
CC_CONTROL = (
    '{"TYPE":"20","MESSAGE":"STREAMERWELCOME","SERVER_NAME":"ccc-streamer01","SOCKETS_ACTIVE":1,'
    '"SOCKETS_REMAINING":0,"RATELIMIT_MAX_MINUTE":60,"RATELIMIT_MAX_HOUR":1200}',
    '{"TYPE":"16","MESSAGE":"SUBSCRIBECOMPLETE","SUB":"0~Kraken~BTC~EUR"}',
    '{"TYPE":"17","MESSAGE":"UNSUBSCRIBECOMPLETE","SUB":"0~Kraken~BTC~EUR"}',
    '{"TYPE":"3","MESSAGE":"LOADCOMPLETE","INFO":"All your valid subs have been loaded."}',
    '{"TYPE":"18","MESSAGE":"UNSUBSCRIBEALLCOMPLETE"}',
    '{"TYPE":"999","MESSAGE":"HEARTBEAT","TIMEMS":1751000000000}',
    '{"TYPE":"500","MESSAGE":"INVALID_SUB","PARAMETER":"0~Nope~BTC~EUR","INFO":"not mapped"}',
    '{"TYPE":"401","MESSAGE":"UNAUTHORIZED","PARAMETER":"format","INFO":"bad key"}',
    '{"TYPE":"429","MESSAGE":"TOO_MANY_SOCKETS_MAX_1_PER_CLIENT","PARAMETER":"","INFO":""}',
    '{"TYPE":"429","MESSAGE":"TOO_MANY_SUBSCRIPTIONS_MAX_300_PER_SOCKET","PARAMETER":"2~Kraken~BTC~EUR"}',
)  # fmt: skip
CC_NAMES: dict[str, tuple[str, ...]] = {
    "market": (*subs.EXCHANGES.values(), "CCCAGG", "kraken", "", "Kr@ken!", "ÄÖ"),
    "symbol": ("BTC", "EUR", "USD", "XBT", "ETH", "USDT", "", "b.t", "ß"),
    "UNIT": ("m", "H", "D", "W", ""),
    "sub": (*CC_SUBS, "0~Kraken~BTC", "~", "5~CCCAGG~BTC~USD~x", "11~BTC~X", "0~~BTC~EUR"),
    "MESSAGE": (
        "INVALID_SUB", "SUBSCRIPTION_ALREADY_ACTIVE", "SUBSCRIPTION_UNRECOGNIZED",
        "TOO_MANY_SOCKETS_MAX_1_PER_CLIENT", "TOO_MANY_SUBSCRIPTIONS_MAX_300_PER_SOCKET",
        "RATE_LIMIT_EXCEEDED", "",
    ),
    "F": ("1", "2", "4", "9", "12", "x", ""),
}  # fmt: skip
CC_ROLE = {
    **dict.fromkeys(("M", "MARKET", "LASTMARKET"), "market"),
    **dict.fromkeys(("FSYM", "TSYM", "FROMSYMBOL", "TOSYMBOL", "SYMBOL"), "symbol"),
    **dict.fromkeys(("SUB", "PARAMETER"), "sub"),
    "UNIT": "UNIT", "MESSAGE": "MESSAGE", "F": "F",
}  # fmt: skip
#: TYPE → [(wire name, "decimal" | "int" | "levels" | "text", required)]
CC_SHAPES: dict[str, list[tuple[str, str, bool]]] = {}
for _cls in ServerFrame.__args__:  # type: ignore[attr-defined]
    _shape = []
    for _f in msgspec.structs.fields(_cls):
        _types = (_f.type, *getattr(_f.type, "__args__", ()))
        _kind = (
            "decimal" if Decimal in _types
            else "levels" if _f.encode_name in ("BID", "ASK")
            else "int" if int in _types and str not in _types
            else "text"
        )  # fmt: skip
        _shape.append((_f.encode_name, _kind, _f.required))
    CC_SHAPES[_cls.__struct_config__.tag] = _shape


def any_json(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.randrange(8 if depth < 2 else 6)
    if roll == 0:
        return None
    if roll == 1:
        return rng.random() < 0.5
    if roll == 2:
        return random_int(rng)
    if roll == 3:
        return rng.choice((rng.uniform(-1e6, 1e6), 1e308, -0.0, 5e-324))
    if roll in (4, 5):
        return random_text(rng, 16)
    if roll == 6:
        return [any_json(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {random_text(rng, 6): any_json(rng, depth + 1) for _ in range(rng.randint(0, 3))}


class CryptoCompareFrames:
    """Frame generator for the CryptoCompare JSON decoder."""

    name = "cryptocompare"
    upstream = "cc"

    def __init__(self, rng: random.Random, max_exponent: int) -> None:
        self.rng = rng
        self.max_exponent = max_exponent
        clock = iter(range(1_751_000_000_000_000_000, 2**62, 1_000_000_000))
        market = SyntheticMarket(rng.getrandbits(32), lambda: next(clock))
        corpus = [frame.encode() for frame in CC_CONTROL]
        for raw in CC_SUBS:
            sub = parse_subscription(raw)
            corpus += [frame.encode() for frame in market.snapshot(sub)]
            corpus += [market.update(sub).encode() for _ in range(100)]
        self.corpus = corpus

    def bridge(self) -> Bridge:
        return CryptoCompareBridge(BridgeSettings(upstream=self.upstream))

    def topics(self) -> tuple[str, ...]:
        return CC_TOPICS

    def decimal(self) -> Any:
        rng = self.rng
        roll = rng.random()
        if roll < 0.45:
            return msgspec.Raw(number_literal(rng, self.max_exponent).encode())
        if roll < 0.75:
            return number_literal(rng, self.max_exponent)
        if roll < 0.9:
            return rng.choice(ODD_NUMBERS)
        return any_json(rng)

    def value(self, name: str, kind: str) -> Any:
        rng = self.rng
        if rng.random() < 0.1:
            return any_json(rng)
        role = CC_ROLE.get(name)
        if role is not None and rng.random() < 0.8:
            return rng.choice(CC_NAMES[role])
        if kind == "decimal":
            return self.decimal()
        if kind == "int":
            number = random_int(rng)
            return str(number) if rng.random() < 0.1 else number
        if kind == "levels":
            return [
                {"P": self.decimal(), "Q": self.decimal(), "REPORTEDNS": random_int(rng)}
                for _ in range(rng.randint(0, 3))
            ]
        return random_int(rng) if rng.random() < 0.2 else random_text(rng, 12)

    def structured(self) -> bytes:
        """A JSON object of one known TYPE (sometimes mangled), fields of random values."""
        rng = self.rng
        tag = rng.choice(tuple(CC_SHAPES))
        frame: dict[str, Any] = {}
        for name, kind, required in CC_SHAPES[tag]:
            if rng.random() < (0.95 if required else 0.5):
                frame[name] = self.value(name, kind)
        frame["TYPE"] = rng.choice((tag,) * 8 + (int(tag), "7", "", None))
        if rng.random() < 0.1:
            frame[random_text(rng, 6)] = any_json(rng)
        items = list(frame.items())
        if rng.random() < 0.3:
            rng.shuffle(items)  # TYPE not first takes msgspec's slower tag lookup
        return msgspec.json.encode(dict(items))

    def mutated(self) -> bytes:
        """A simulator frame with byte mutations, or with one number swapped for an odd one."""
        rng = self.rng
        frame = rng.choice(self.corpus)
        if rng.random() < 0.3:
            numbers = list(re.finditer(rb"-?[0-9][0-9.eE+-]*", frame))
            if numbers:
                hit = rng.choice(numbers)
                odd = rng.choice((
                    json.dumps(rng.choice(ODD_NUMBERS)), number_literal(rng, self.max_exponent),
                    "null", "[]", "{}", "true", str(random_int(rng)),
                ))  # fmt: skip
                return frame[: hit.start()] + odd.encode() + frame[hit.end() :]
        return mutate(rng, frame, self.corpus)

    def frame(self) -> str | bytes:
        """One frame; CryptoCompare sends text, so most arrive as str."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.1:
            return random_bytes(rng)
        if roll < 0.2:
            return random_text(rng, 256)
        raw = self.structured() if roll < 0.55 else self.mutated()
        return raw.decode("utf-8", "replace") if rng.random() < 0.5 else raw


# --- Cryptowatch --------------------------------------------------------------------------

CW_TOPICS = (
    "trades.kraken.btceur", "trades.kraken.btcusd", "trades.bitfinex.btcusd",
    "summary.kraken.btceur", "ohlc.kraken.btceur.1m", "ohlc.kraken.btceur.1h",
    "book.kraken.btceur", "spread.kraken.btceur", "book.bitfinex.btcusd",
)  # fmt: skip
CW_RESOURCES = (
    "markets:86:trades", "markets:86:book:snapshots", "markets:86:book:deltas",
    "markets:86:summary", "markets:86:ohlc", "markets:86:book:spread", "markets:87:trades",
    "markets:1:trades", "markets:999:trades", "",
)  # fmt: skip
CW_MARKET_IDS = (86, 87, 1, 2, 88, 999)
_T = FieldDescriptor
_Status = stream_pb2.AuthenticationResult.Status


class CryptowatchFrames:
    """Frame generator for the Cryptowatch protobuf decoder."""

    name = "cryptowatch"
    upstream = "cw"

    def __init__(self, rng: random.Random, max_exponent: int) -> None:
        self.rng = rng
        self.max_exponent = max_exponent
        clock = iter(range(1_751_000_000_000_000_000, 2**62, 1_000_000_000))
        markets = SyntheticMarkets(rng.getrandbits(32), lambda: next(clock))
        corpus: list[bytes] = [b"\x01"]
        for market_id in (86, 87, 1):
            corpus.append(markets.snapshot(market_id).SerializeToString())
            for subject in ("trades", "summary", "ohlc", "book:deltas", "book:spread"):
                for _ in range(40):
                    for _, msg in markets.update(("markets", market_id, subject)):
                        corpus.append(msg.SerializeToString())
        for status in range(8):
            auth = stream_pb2.AuthenticationResult(status=cast(_Status, status))
            corpus.append(_serialize(stream_pb2.StreamMessage(authenticationResult=auth)))
        result = stream_pb2.SubscriptionResult()
        for resource in CW_RESOURCES:
            result.subscriptions.add().stream_subscription.resource = resource
        failed = result.failed.add()
        failed.error, failed.subscription.stream_subscription.resource = "nope", "markets:2:trades"
        missed = stream_pb2.MissedMessages(numMissedMessages=5)
        bandwidth = stream_pb2.BandwidthUpdate(ok=False, bytesUsed=9)
        bulk = stream_pb2.BulkMessage(messages=corpus[1:6])
        corpus += [
            _serialize(stream_pb2.StreamMessage(subscriptionResult=result)),
            _serialize(stream_pb2.StreamMessage(missedMessages=missed)),
            _serialize(stream_pb2.StreamMessage(bandwidthUpdate=bandwidth)),
            _serialize(stream_pb2.StreamMessage(bulkMessage=bulk)),
        ]
        self.corpus = corpus

    def bridge(self) -> Bridge:
        return CryptowatchBridge(
            BridgeSettings(upstream=self.upstream, api_key=Secret("foo"), secret=Secret("YmFy"))
        )

    def topics(self) -> tuple[str, ...]:
        return CW_TOPICS

    def string(self, name: str) -> str:
        rng = self.rng
        if name.endswith("Str") or name.endswith("StrV2"):
            roll = rng.random()
            if roll < 0.5:
                return number_literal(rng, self.max_exponent, exponent=False)
            if roll < 0.65:
                return ""
            if roll < 0.8:
                return number_literal(rng, self.max_exponent)
            return rng.choice(ODD_NUMBERS)
        if name == "resource":
            return rng.choice(CW_RESOURCES)
        if name == "periodName":
            return rng.choice(("60", "3600", "180", "604800_Monday", "", "x"))
        return random_text(rng, 12)

    def scalar(self, fd: FieldDescriptor) -> Any:
        rng = self.rng
        kind = fd.type
        if kind == _T.TYPE_STRING:
            return self.string(fd.name)
        if kind == _T.TYPE_BYTES:
            return random_bytes(rng, 64)
        if kind == _T.TYPE_BOOL:
            return rng.random() < 0.5
        if kind in (_T.TYPE_FLOAT, _T.TYPE_DOUBLE):
            return rng.choice((
                rng.uniform(-1e6, 1e6), 0.0, float("nan"), float("inf"), -float("inf"), 1e-45,
                3.4e38, rng.random(),
            ))  # fmt: skip
        if kind == _T.TYPE_ENUM:
            assert fd.enum_type is not None
            return rng.choice((*(v.number for v in fd.enum_type.values), rng.randint(-5, 20)))
        if fd.name == "marketId":
            return rng.choice((*CW_MARKET_IDS, rng.getrandbits(64)))
        bits, signed = {
            _T.TYPE_INT32: (32, True), _T.TYPE_SINT32: (32, True), _T.TYPE_SFIXED32: (32, True),
            _T.TYPE_UINT32: (32, False), _T.TYPE_FIXED32: (32, False),
            _T.TYPE_UINT64: (64, False), _T.TYPE_FIXED64: (64, False),
        }.get(kind, (64, True))  # fmt: skip
        value = rng.choice((0, 1, rng.randint(0, 10**6), rng.getrandbits(bits)))
        if signed:
            value -= (value >> (bits - 1)) << bits  # reinterpret as two's complement
        return value

    def fill(self, msg: Message, depth: int = 0) -> None:
        """Set a random subset of ``msg``'s fields (one member per oneof), recursively."""
        rng = self.rng
        descriptor = msg.DESCRIPTOR
        chosen = [oneof.fields[rng.randrange(len(oneof.fields))] for oneof in descriptor.oneofs]
        plain = [fd for fd in descriptor.fields if fd.containing_oneof is None]
        for fd in cast(list[FieldDescriptor], plain + chosen):  # upb or pure-Python
            if fd.containing_oneof is None and rng.random() < 0.35:
                continue
            count = rng.randint(0, 3) if fd.is_repeated else 1
            for _ in range(count):
                if fd.type == _T.TYPE_MESSAGE:
                    if depth >= 5:
                        break
                    target = getattr(msg, fd.name)
                    child = target.add() if fd.is_repeated else target
                    self.fill(child, depth + 1)
                    child.SetInParent()  # present even when no field of it was set
                elif fd.is_repeated:
                    getattr(msg, fd.name).append(self.scalar(fd))
                else:
                    setattr(msg, fd.name, self.scalar(fd))

    def structured(self) -> bytes:
        """A StreamMessage with a random body (half of them market updates), filled at random."""
        msg = stream_pb2.StreamMessage()
        if self.rng.random() < 0.5:  # half market updates: most of the decoding code is theirs
            self.fill(msg.marketUpdate, depth=1)
            msg.marketUpdate.SetInParent()
        else:
            self.fill(msg)
        if msg.WhichOneof("body") == "bulkMessage":
            del msg.bulkMessage.messages[:]
            for _ in range(self.rng.randint(0, 4)):
                inner = stream_pb2.StreamMessage()
                self.fill(inner, depth=1)
                msg.bulkMessage.messages.append(inner.SerializeToString())
        return bytes(msg.SerializeToString())

    def frame(self) -> str | bytes:
        """One frame: mostly binary; text frames are decoded from their bytes too."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.15:
            return random_bytes(rng)
        if roll < 0.2:
            return random_text(rng, 64)
        if roll < 0.55:
            return self.structured()
        return mutate(rng, rng.choice(self.corpus), self.corpus)


def _serialize(msg: Message) -> bytes:
    return bytes(msg.SerializeToString())


# --- the run -------------------------------------------------------------------------------


def classify(text: object) -> str | None:
    """None for a finite decimal in plain positional notation, else what is wrong with it."""
    if not isinstance(text, str):
        return "not_str"
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        return "not_decimal"
    if not value.is_finite():
        return "non_finite"
    return None if PLAIN.fullmatch(text) else "not_plain"


@dataclass
class Report:
    """What one decoder's run found."""

    frames: int = 0
    feed_seconds: float = 0.0
    crashes: Counter[str] = field(default_factory=Counter)
    issues: Counter[str] = field(default_factory=Counter)
    issue_examples: dict[str, str] = field(default_factory=dict)
    kinds: Counter[str] = field(default_factory=Counter)
    slowest: tuple[float, str] = (0.0, "")
    started: float = 0.0
    interrupted: bool = False


def describe(frame: str | bytes, limit: int) -> str:
    raw = frame if isinstance(frame, bytes) else frame.encode("utf-8", "surrogatepass")
    kind = "bytes" if isinstance(frame, bytes) else "text"
    cut = "" if len(raw) <= limit else f" …(+{len(raw) - limit} bytes)"
    return f"{kind}[{len(raw)}] {raw[:limit].hex()}{cut}"


def inspect_output(
    name: str, events: list[Event], signals: list[Signal], report: Report, frame: str | bytes
) -> None:
    """Count output that breaks the event contract (not a crash, but worth knowing)."""

    def issue(what: str, where: str, value: object) -> None:
        report.issues[what] += 1
        if what not in report.issue_examples:
            shown = repr(value)[:40]
            report.issue_examples[what] = f"{where}={shown} from {describe(frame, 96)}"

    for event in events:
        for attr in DECIMAL_FIELDS.get(type(event), ()):
            value = getattr(event, attr)
            if value is not None and (problem := classify(value)):
                issue(f"decimal {problem}", f"{type(event).__name__}.{attr}", value)
            elif isinstance(value, str) and len(value) > HUGE_DECIMAL:
                issue(f"decimal over {HUGE_DECIMAL} chars", f"{type(event).__name__}.{attr}", value)
    for signal in signals:
        if isinstance(signal, DecodeError):
            report.kinds[signal.kind] += 1
            if signal.kind not in KINDS[name]:
                issue("unknown DecodeError kind", "kind", signal.kind)
        elif isinstance(signal, BookSnapshot | BookDelta):
            levels = (
                signal.bids + signal.asks
                if isinstance(signal, BookSnapshot)
                else signal.bid_set + signal.ask_set
            )
            for price, amount in levels:
                for value in (price, amount):
                    if problem := classify(value):
                        issue(f"decimal {problem}", f"{type(signal).__name__} level", value)


def rss_mb() -> float:
    try:
        with open(f"/proc/{os.getpid()}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def run(
    gen: CryptoCompareFrames | CryptowatchFrames, frames: int, args: argparse.Namespace
) -> Report:
    """Feed ``frames`` generated frames to one bridge; print crashes and progress."""
    report = Report()
    try:
        feed_frames(gen, frames, args, report)
    except KeyboardInterrupt:
        report.interrupted = True
        print("\ninterrupted: the summary covers the frames fed so far", flush=True)
    return summarise(gen.name, report)


def feed_frames(
    gen: CryptoCompareFrames | CryptowatchFrames,
    frames: int,
    args: argparse.Namespace,
    report: Report,
) -> None:
    topics = [parse_topic(t) for t in gen.topics()]
    bridge = gen.bridge()
    events: list[Event] = []
    signals: list[Signal] = []
    started = last_print = report.started = time.monotonic()
    clock = time.perf_counter
    recv_ts = 1_751_000_999_000_000_000
    for index in range(frames):
        if index % RECONNECT_EVERY == 0:
            bridge.connection_made(recv_ts)
            bridge.subscribe(topics)
        frame = gen.frame()
        recv_ts += 1_000_000
        before = clock()
        try:
            bridge.feed(frame, recv_ts, events, signals)
        except Exception as exc:
            spent = clock() - before
            tb = traceback.extract_tb(exc.__traceback__)
            where = f"{tb[-1].filename}:{tb[-1].lineno}" if tb else "?"
            site = f"{type(exc).__name__} at {where}"
            report.crashes[site] += 1
            if report.crashes[site] <= args.show:
                print(f"\n*** CRASH #{sum(report.crashes.values())} in {gen.name} frame {index}: "
                      f"{site}\n    frame: {describe(frame, args.show_bytes)}", flush=True)  # fmt: skip
                traceback.print_exception(exc, file=sys.stdout)
            bridge = gen.bridge()  # the old one's state may be half-updated
            bridge.connection_made(recv_ts)
            bridge.subscribe(topics)
        else:
            spent = clock() - before
            inspect_output(gen.name, events, signals, report, frame)
        events.clear()
        signals.clear()
        report.feed_seconds += spent
        if spent > report.slowest[0]:
            report.slowest = (spent, describe(frame, 64))
        report.frames = index + 1
        if index & 1023 == 0 and (now := time.monotonic()) - last_print >= PROGRESS_SECONDS:
            last_print = now
            print(f"[{gen.name}] {report.frames:>9,} frames  {report.frames / (now - started):>8,.0f}"
                  f" frames/s  crashes {sum(report.crashes.values())}  RSS {rss_mb():.0f} MB",
                  flush=True)  # fmt: skip


def summarise(name: str, report: Report) -> Report:
    """Print throughput, the slowest frame, decode-error kinds, crash sites and output issues."""
    elapsed = max(time.monotonic() - report.started, 1e-9)
    print(f"\n[{name}] done: {report.frames:,} frames in {elapsed:.1f}s = "
          f"{report.frames / elapsed:,.0f} frames/s overall (generation included); feed alone "
          f"{report.frames / max(report.feed_seconds, 1e-9):,.0f} frames/s; RSS {rss_mb():.0f} MB")  # fmt: skip
    print(f"[{name}] slowest feed: {report.slowest[0] * 1000:.2f} ms for {report.slowest[1]}")
    print(f"[{name}] DecodeError kinds: {dict(report.kinds.most_common())}")
    for site, count in report.crashes.most_common():
        print(f"[{name}] CRASH x{count}: {site}")
    for what, count in report.issues.most_common():
        print(f"[{name}] output issue x{count}: {what}  e.g. {report.issue_examples[what]}")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--decoder", choices=("cryptocompare", "cryptowatch", "all"), default="all")
    parser.add_argument("--frames", type=int, default=1_000_000, help="frames per decoder")
    parser.add_argument("--seed", type=int, default=None, help="default: random, printed")
    parser.add_argument("--max-exponent", type=int, default=400,
                        help="largest decimal exponent generated (see the docstring)")  # fmt: skip
    parser.add_argument("--show", type=int, default=1, help="examples printed per crash site")
    parser.add_argument("--show-bytes", type=int, default=256, help="frame bytes printed")
    parser.add_argument("--strict-output", action="store_true",
                        help="exit 1 on output issues too, not only on crashes")  # fmt: skip
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().getrandbits(32)
    print(f"seed {seed} (rerun with --seed {seed})", flush=True)
    decoders: list[Callable[[random.Random, int], CryptoCompareFrames | CryptowatchFrames]] = []
    if args.decoder in ("cryptocompare", "all"):
        decoders.append(CryptoCompareFrames)
    if args.decoder in ("cryptowatch", "all"):
        decoders.append(CryptowatchFrames)
    failed = False
    for make in decoders:
        report = run(make(random.Random(seed), args.max_exponent), args.frames, args)
        failed |= bool(report.crashes) or (args.strict_output and bool(report.issues))
        if report.interrupted:
            return 130
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
