"""Catalogue, stream grammar and rendering helpers of the Binance Spot simulator.

Written from ``shared/protocols/binance.md`` only:

* the symbols the simulator trades (§6), upper case in payloads and REST, lower case in
  stream names (§1);
* :func:`parse_stream`, the stream-name grammar (§1, §8-§10): ``@trade``, ``@aggTrade``,
  ``@bookTicker``, ``@ticker``, ``@depth`` / ``@depth@100ms``, ``@depth<5|10|20>[@100ms]``,
  ``@kline_<i>[@+08:00]``, and the streams the note names without payloads, which are accepted
  and never fed; ``!ticker@arr`` was retired (§9) and is invalid, as is anything else;
* :func:`dumps` (compact JSON), :func:`scale_times` (the µs/ms switch of ``timeUnit``, §1) and
  :func:`interval_bounds` (kline open and close times, §9).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeAlias

JsonValue: TypeAlias = str | int | bool | list["JsonValue"] | dict[str, "JsonValue"] | None
Payload: TypeAlias = dict[str, JsonValue]

US_PER_MS = 1_000
DAY_MS = 86_400_000

# --------------------------------------------------------------------------------------------
# Catalogue (§6)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SymbolInfo:
    """One tradable symbol: upper-case name, assets, starting price, tick and lot sizes."""

    symbol: str
    base: str
    quote: str
    price: Decimal
    tick: Decimal
    lot: Decimal


CATALOGUE: dict[str, SymbolInfo] = {
    info.symbol: info
    for info in (
        SymbolInfo("BTCUSDT", "BTC", "USDT", Decimal("97000.00"), Decimal("0.01"), Decimal("1e-5")),
        SymbolInfo("ETHUSDT", "ETH", "USDT", Decimal("3400.00"), Decimal("0.01"), Decimal("1e-4")),
        SymbolInfo("BTCEUR", "BTC", "EUR", Decimal("89500.00"), Decimal("0.01"), Decimal("1e-5")),
        SymbolInfo("ETHBTC", "ETH", "BTC", Decimal("0.03500"), Decimal("1e-5"), Decimal("1e-4")),
    )
}

# --------------------------------------------------------------------------------------------
# Stream grammar (§1, §8, §9, §10)
# --------------------------------------------------------------------------------------------

#: Kline intervals (§9) and their length in ms; ``None`` for the calendar month.
KLINE_INTERVALS: dict[str, int | None] = {
    "1s": 1_000,
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "2h": 7_200_000,
    "4h": 14_400_000,
    "6h": 21_600_000,
    "8h": 28_800_000,
    "12h": 43_200_000,
    "1d": DAY_MS,
    "3d": 3 * DAY_MS,
    "1w": 7 * DAY_MS,
    "1M": None,
}
UTC8 = "@+08:00"
UTC8_OFFSET_MS = 8 * 3_600_000

#: Streams the note names but the simulator has no data for: accepted, then silent.
_UNMODELLED_SYMBOL = re.compile(r"miniTicker|avgPrice|referencePrice|blockTrade|ticker_(1h|4h|1d)")
_UNMODELLED_GLOBAL = re.compile(r"!miniTicker@arr|!ticker_(1h|4h|1d)@arr")
_PARTIAL = re.compile(r"depth(5|10|20)(@100ms)?")
_KLINE = re.compile(r"kline_([0-9]+[smhdwM])(@\+08:00)?")


class InvalidStream(ValueError):
    """A stream name outside the grammar (an unknown symbol is not invalid, see §4)."""


@dataclass(frozen=True)
class Stream:
    """A parsed stream name.

    ``kind`` is one of ``trade``, ``aggTrade``, ``bookTicker``, ``ticker``, ``depth`` (diff),
    ``partial`` (``@depth<N>``), ``kline`` or ``unmodelled``. ``symbol`` is the catalogue key
    (upper case) or None: for global streams and for symbols the catalogue does not know, which
    the simulator accepts and never feeds (§4 UNCERTAIN).
    """

    name: str
    kind: str
    symbol: str | None = None
    speed_ms: int = 1_000  # depth and partial: 1000 or 100
    levels: int = 0  # partial
    interval: str = ""  # kline
    utc8: bool = False  # kline: @+08:00


def parse_stream(name: str) -> Stream:
    """Parse ``name`` per the note; raise InvalidStream if it is not a stream name at all."""
    if _UNMODELLED_GLOBAL.fullmatch(name):
        return Stream(name, "unmodelled")
    symbol_part, at, rest = name.partition("@")
    if not at or not symbol_part or not rest or any(c in symbol_part for c in "!/ \t\r\n"):
        raise InvalidStream(name)
    # Stream names carry the lower-case symbol (§1); anything else is an unknown symbol.
    upper = symbol_part.upper()
    symbol = upper if symbol_part == symbol_part.lower() and upper in CATALOGUE else None
    if rest in ("trade", "aggTrade", "bookTicker", "ticker"):
        return Stream(name, rest, symbol)
    if rest in ("depth", "depth@100ms"):
        return Stream(name, "depth", symbol, speed_ms=100 if rest.endswith("ms") else 1_000)
    if match := _PARTIAL.fullmatch(rest):
        speed = 100 if match.group(2) else 1_000
        return Stream(name, "partial", symbol, speed_ms=speed, levels=int(match.group(1)))
    if (match := _KLINE.fullmatch(rest)) and match.group(1) in KLINE_INTERVALS:
        return Stream(name, "kline", symbol, interval=match.group(1), utc8=bool(match.group(2)))
    if _UNMODELLED_SYMBOL.fullmatch(rest):
        return Stream(name, "unmodelled", symbol)
    raise InvalidStream(name)


def stream_name(symbol: str, suffix: str) -> str:
    """``btcusdt@trade`` from ``BTCUSDT`` and ``trade`` (full Unicode lowercasing, §6)."""
    return f"{symbol.lower()}@{suffix}"


# --------------------------------------------------------------------------------------------
# Rendering helpers
# --------------------------------------------------------------------------------------------


def dumps(value: JsonValue) -> str:
    """Compact JSON as Binance sends it (no spaces, UTF-8 text)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


_TIME_KEYS = ("E", "T", "O", "C")
_KLINE_TIME_KEYS = ("t", "T")


def scale_times(payload: Payload, micro: bool) -> Payload:
    """``payload`` (times in µs) with its time fields in ms unless ``micro`` (§1, §7)."""
    if micro:
        return payload
    out = dict(payload)
    for key in _TIME_KEYS:
        value = out.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            out[key] = value // US_PER_MS
    kline = out.get("k")
    if isinstance(kline, dict):
        kline = dict(kline)
        for key in _KLINE_TIME_KEYS:
            value = kline.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                kline[key] = value // US_PER_MS
        out["k"] = kline
    return out


def interval_bounds(interval: str, utc8: bool, t_us: int) -> tuple[int, int]:
    """First and last µs of the ``interval`` kline holding ``t_us`` (§9; weeks start Monday)."""
    offset = UTC8_OFFSET_MS if utc8 else 0
    t = t_us // US_PER_MS + offset
    length = KLINE_INTERVALS[interval]
    if length is None:  # calendar month
        day = dt.date(1970, 1, 1) + dt.timedelta(days=t // DAY_MS)
        first = dt.date(day.year, day.month, 1)
        following = dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
        epoch = dt.date(1970, 1, 1)
        start = (first - epoch).days * DAY_MS
        end = (following - epoch).days * DAY_MS
    elif interval == "1w":  # 1970-01-01 was a Thursday: weeks are anchored on 1970-01-05
        anchor = 4 * DAY_MS
        start = (t - anchor) // length * length + anchor
        end = start + length
    else:
        start = t // length * length
        end = start + length
    return (start - offset) * US_PER_MS, (end - offset) * US_PER_MS - 1
