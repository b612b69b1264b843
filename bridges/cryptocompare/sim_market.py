"""Synthetic market for the CryptoCompare streamer v2 simulator.

Written from ``shared/protocols/cryptocompare.md`` only. This module holds:

* the subscription grammar (§2) and the catalogue of markets the simulator knows;
* a deterministic market generator (seeded per market, so the values of one market do not
  depend on which other markets exist) that renders snapshots and live frames for every
  channel: 0 trades, 2 ticker, 5 CCCAGG index, 8/9 order book, 11/21 volume, 24 candles,
  30 top of book;
* :func:`dumps`, a compact JSON writer that renders :class:`~decimal.Decimal` values as JSON
  numbers with exactly the decimals they carry (no float ``repr`` noise).

Timestamps come from the injected clock (``time.time_ns`` by default); every other value is
a pure function of the seed and the sequence of calls.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeAlias

from bridges.simjson import JsonValue, dumps

Frame: TypeAlias = dict[str, JsonValue]

# --------------------------------------------------------------------------------------------
# Catalogue and subscription grammar (§2)
# --------------------------------------------------------------------------------------------

AGGREGATE = "CCCAGG"
EXCHANGE_PAIRS: dict[str, frozenset[tuple[str, str]]] = {
    "Kraken": frozenset({("BTC", "EUR"), ("BTC", "USD"), ("ETH", "EUR"), ("ETH", "USD")}),
    "Coinbase": frozenset({("BTC", "USD"), ("ETH", "USD")}),
    "Binance": frozenset({("BTC", "USDT"), ("ETH", "USDT")}),
    "Bitstamp": frozenset({("BTC", "USD")}),
}
AGGREGATE_PAIRS: frozenset[tuple[str, str]] = frozenset(
    {("BTC", "USD"), ("ETH", "USD"), ("BTC", "EUR")}
)
ASSETS: frozenset[str] = frozenset({"BTC", "ETH"})
PERIODS: dict[str, int] = {"m": 60, "H": 3600, "D": 86400}

#: Channels whose subscription is ``{channel}~{exchange}~{base}~{quote}`` on a real exchange.
EXCHANGE_CHANNELS = frozenset({"0", "2", "8", "30"})

#: Optional ticker fields of TYPE 2 (§3.2), in the order the simulator writes them.
TICKER_FIELDS: tuple[str, ...] = (
    "PRICE",
    "BID",
    "ASK",
    "LASTUPDATE",
    "LASTVOLUME",
    "LASTVOLUMETO",
    "LASTTRADEID",
    "VOLUMEDAY",
    "VOLUMEDAYTO",
    "VOLUME24HOUR",
    "VOLUME24HOURTO",
    "OPENDAY",
    "HIGHDAY",
    "LOWDAY",
    "OPEN24HOUR",
    "HIGH24HOUR",
    "LOW24HOUR",
    "VOLUMEHOUR",
    "VOLUMEHOURTO",
    "OPENHOUR",
    "HIGHHOUR",
    "LOWHOUR",
)
#: Extra fields of TYPE 5 (§3.3) on top of :data:`TICKER_FIELDS`.
INDEX_EXTRA_FIELDS: tuple[str, ...] = (
    "MEDIAN",
    "LASTMARKET",
    "TOPTIERVOLUME24HOUR",
    "TOPTIERVOLUME24HOURTO",
    "CURRENTSUPPLY",
    "CIRCULATINGSUPPLY",
    "MAXSUPPLY",
    "MKTCAPPENALTY",
    "CURRENTSUPPLYMKTCAP",
    "CIRCULATINGSUPPLYMKTCAP",
    "MAXSUPPLYMKTCAP",
)
TICKER_IDENTITY: tuple[str, ...] = ("TYPE", "MARKET", "FROMSYMBOL", "TOSYMBOL", "FLAGS")

# FLAGS bits (§3.3): (UP, DOWN, UNCHANGED) per tracked value.
_FLAG_BITS: dict[str, tuple[int, int, int]] = {
    "PRICE": (1, 2, 4),
    "BID": (8, 16, 32),
    "ASK": (64, 128, 256),
    "MEDIAN": (512, 1024, 2048),
}
_UP, _DOWN, _UNCHANGED = 0, 1, 2


@dataclass(frozen=True)
class Subscription:
    """A parsed, catalogue-checked subscription string."""

    raw: str
    channel: str
    market: str | None  # exchange name or CCCAGG; None for 11/21
    base: str
    quote: str | None
    period: str | None  # only for channel 24


class InvalidSubscription(ValueError):
    """The subscription string is malformed or names an unmapped market; ``info`` is INFO."""

    def __init__(self, info: str) -> None:
        super().__init__(info)
        self.info = info


def _unmapped(base: str) -> InvalidSubscription:
    return InvalidSubscription(
        f"We have not integrated any of the exchanges {base} trades on "
        "or we have not currently mapped it."
    )


def _malformed(expected: str) -> InvalidSubscription:
    return InvalidSubscription(f"Invalid subscription format, expected {expected}.")


def parse_subscription(raw: str) -> Subscription:
    """Parse ``raw`` per §2 and check it against the catalogue; raise InvalidSubscription."""
    parts = raw.split("~")
    channel = parts[0]
    if channel in ("11", "21"):
        if len(parts) != 2:
            raise _malformed(f"{channel}~{{base}}")
        base = parts[1]
        if base not in ASSETS:
            raise _unmapped(base)
        return Subscription(raw, channel, None, base, None, None)
    if channel in EXCHANGE_CHANNELS or channel == "5":
        if len(parts) != 4:
            raise _malformed(f"{channel}~{{exchange}}~{{base}}~{{quote}}")
        _, market, base, quote = parts
        pairs = AGGREGATE_PAIRS if channel == "5" else EXCHANGE_PAIRS.get(market)
        if (channel == "5") != (market == AGGREGATE) or pairs is None:
            raise InvalidSubscription(
                f"We have not integrated the market {market} on channel {channel} "
                "or we have not currently mapped it."
            )
        if (base, quote) not in pairs:
            raise _unmapped(base)
        return Subscription(raw, channel, market, base, quote, None)
    if channel == "24":
        if len(parts) != 5 or parts[4] not in PERIODS:
            raise _malformed(
                "24~{exchange or CCCAGG}~{base}~{quote}~{period} with period m, H or D"
            )
        _, market, base, quote, period = parts
        pairs = AGGREGATE_PAIRS if market == AGGREGATE else EXCHANGE_PAIRS.get(market)
        if pairs is None:
            raise InvalidSubscription(
                f"We have not integrated the market {market} or we have not currently mapped it."
            )
        if (base, quote) not in pairs:
            raise _unmapped(base)
        return Subscription(raw, channel, market, base, quote, period)
    raise InvalidSubscription(f"Unknown subscription channel {channel!r}.")


# --------------------------------------------------------------------------------------------
# Market state
# --------------------------------------------------------------------------------------------

PRICE_EXP = Decimal("0.01")  # prices: 2 decimals
QTY_EXP = Decimal("0.00000001")  # base quantities and volumes: 8 decimals
QUOTE_EXP = Decimal("0.01")  # quote-currency volumes and market caps: 2 decimals
NS = 1_000_000_000

_START_PRICE: dict[tuple[str, str], Decimal] = {
    ("BTC", "USD"): Decimal("97000.00"),
    ("BTC", "EUR"): Decimal("89500.00"),
    ("BTC", "USDT"): Decimal("97020.00"),
    ("ETH", "USD"): Decimal("3400.00"),
    ("ETH", "EUR"): Decimal("3140.00"),
    ("ETH", "USDT"): Decimal("3400.50"),
}
_STEP: dict[str, Decimal] = {"BTC": Decimal("0.50"), "ETH": Decimal("0.05")}
_QTY_SCALE: dict[str, int] = {"BTC": 1, "ETH": 10}
# (current supply, circulating supply, max supply; -1 = unlimited)
_SUPPLY: dict[str, tuple[Decimal, Decimal, Decimal]] = {
    "BTC": (Decimal("19850000"), Decimal("19850000"), Decimal("21000000")),
    "ETH": (Decimal("120600000"), Decimal("120600000"), Decimal("-1")),
}
_MKTCAP_PENALTY = Decimal("0")
_SEQ_EXCHANGES = frozenset({"Binance", "Coinbase"})  # exchanges that carry SEQ on L2 deltas


def _rng_for(seed: int, *parts: str) -> random.Random:
    digest = hashlib.sha256("|".join((str(seed), *parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _direction(old: Decimal, new: Decimal) -> int:
    return _UP if new > old else _DOWN if new < old else _UNCHANGED


def _qty(rng: random.Random, base: str, low: int = 1_000, high: int = 25_000_000) -> Decimal:
    return Decimal(rng.randint(low, high) * _QTY_SCALE[base]) * QTY_EXP


@dataclass
class _Candle:
    seconds: int
    ts: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume_from: Decimal = Decimal(0) * QTY_EXP
    volume_to: Decimal = Decimal(0) * QUOTE_EXP
    total_trades: int = 0
    first_ts: int = 0
    last_ts: int = 0
    first_price: Decimal = Decimal(0)
    max_price: Decimal = Decimal(0)
    min_price: Decimal = Decimal(0)
    last_price: Decimal = Decimal(0)
    emitted_ts: int | None = None  # period of the last live frame sent for this candle

    def roll(self, now_s: int) -> None:
        start = now_s - now_s % self.seconds
        if start > self.ts:
            self.ts = start
            self.open = self.high = self.low = self.close
            self.volume_from = Decimal(0) * QTY_EXP
            self.volume_to = Decimal(0) * QUOTE_EXP
            self.total_trades = 0

    def add(self, price: Decimal, qty: Decimal, ts_s: int) -> None:
        ts_s = max(ts_s, self.ts)
        if self.total_trades == 0:
            self.first_ts = ts_s
            self.first_price = self.max_price = self.min_price = price
        self.last_ts = ts_s
        self.last_price = self.close = price
        self.max_price = max(self.max_price, price)
        self.min_price = min(self.min_price, price)
        self.high = max(self.high, price)
        self.low = min(self.low, price)
        self.volume_from += qty
        self.volume_to = (self.volume_to + qty * price).quantize(QUOTE_EXP)
        self.total_trades += 1


@dataclass(frozen=True)
class _Trade:
    trade_id: int
    price: Decimal
    qty: Decimal
    side: str
    ts_ns: int
    rts_ns: int


class _Market:
    """One exchange pair, or one CCCAGG index pair (``market == "CCCAGG"``)."""

    def __init__(self, seed: int, market: str, base: str, quote: str, now_ns: int) -> None:
        self.market, self.base, self.quote = market, base, quote
        self.is_index = market == AGGREGATE
        rng = self.rng = _rng_for(seed, market, base, quote)
        self.step = _STEP[base]
        price = _START_PRICE[(base, quote)] + self.step * rng.randint(-40, 40)
        self.dirs: dict[str, int] = dict.fromkeys(_FLAG_BITS, _UNCHANGED)
        self.next_trade_id = rng.randint(10_000_000, 90_000_000)
        self.trade_ccseq = rng.randint(1_000_000, 90_000_000)
        self.trades: deque[str] = deque(maxlen=20)
        self.constituents = sorted(
            ex for ex, pairs in EXCHANGE_PAIRS.items() if (base, quote) in pairs
        )
        now_s = now_ns // NS
        self.hour_start = now_s - now_s % 3600
        self.day_start = now_s - now_s % 86400
        day_vol = Decimal(rng.randint(100_000, 2_000_000) * _QTY_SCALE[base]).scaleb(-2)
        vol24 = day_vol * Decimal("1.3")
        vol_hour = (day_vol / 24).quantize(QTY_EXP)
        half = self.step * rng.randint(1, 3)
        num = self.num = {
            "PRICE": price,
            "BID": price - half,
            "ASK": price + half,
            "LASTVOLUME": Decimal(0) * QTY_EXP,
            "LASTVOLUMETO": Decimal(0) * QUOTE_EXP,
            "VOLUMEDAY": day_vol.quantize(QTY_EXP),
            "VOLUMEDAYTO": (day_vol * price).quantize(QUOTE_EXP),
            "VOLUME24HOUR": vol24.quantize(QTY_EXP),
            "VOLUME24HOURTO": (vol24 * price).quantize(QUOTE_EXP),
            "OPENDAY": price + self.step * rng.randint(-200, 200),
            "OPEN24HOUR": price + self.step * rng.randint(-200, 200),
            "VOLUMEHOUR": vol_hour,
            "VOLUMEHOURTO": (vol_hour * price).quantize(QUOTE_EXP),
            "OPENHOUR": price + self.step * rng.randint(-30, 30),
            "MEDIAN": price,
            "TOPTIERVOLUME24HOUR": (vol24 * Decimal("0.6")).quantize(QTY_EXP),
            "TOPTIERVOLUME24HOURTO": (vol24 * Decimal("0.6") * price).quantize(QUOTE_EXP),
        }
        for period, spread in (("DAY", 300), ("24HOUR", 350), ("HOUR", 50)):
            opening = num[f"OPEN{period}"]
            num[f"HIGH{period}"] = max(opening, price) + self.step * rng.randint(0, spread)
            num[f"LOW{period}"] = min(opening, price) - self.step * rng.randint(0, spread)
        self.last_update = now_s
        self.last_trade_id = str(self.next_trade_id - 1)
        self.last_market = self.constituents[0]
        self.candles = {
            unit: _Candle(seconds, now_s - now_s % seconds, price, price, price, price)
            for unit, seconds in PERIODS.items()
        }
        # Order book L2 anchored on the starting price, and an independent top of book.
        self.book: tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]] = ({}, {})
        for level in range(1, 11):
            self.book[0][price - self.step * level] = _qty(rng, base, 100_000, 500_000_000)
            self.book[1][price + self.step * level] = _qty(rng, base, 100_000, 500_000_000)
        self.book_mid = price
        self.l2_seq = rng.randint(1_000_000, 90_000_000)
        self.book_gaps = 0  # deltas to apply without sending (inject_book_gap)
        self.tob: list[tuple[Decimal, Decimal, int]] = [
            (price - half, _qty(rng, base), now_ns),
            (price + half, _qty(rng, base), now_ns),
        ]
        self.tob_seq = rng.randint(1_000_000, 90_000_000)
        # A fresh market has a few trades already (replayed to trade subscribers).
        for _ in range(rng.randint(3, 6)):
            trade = self.trade(now_ns)
            if not self.is_index:
                self.trade_frame(trade)

    # -- shared state changes -----------------------------------------------------------

    def _roll(self, now_s: int) -> None:
        price = self.num["PRICE"]
        for period, start, length in (
            ("HOUR", self.hour_start, 3600),
            ("DAY", self.day_start, 86400),
        ):
            current = now_s - now_s % length
            if current > start:
                self.num[f"OPEN{period}"] = self.num[f"HIGH{period}"] = price
                self.num[f"LOW{period}"] = price
                self.num[f"VOLUME{period}"] = Decimal(0) * QTY_EXP
                self.num[f"VOLUME{period}TO"] = Decimal(0) * QUOTE_EXP
                if period == "HOUR":
                    self.hour_start = current
                else:
                    self.day_start = current
        for candle in self.candles.values():
            candle.roll(now_s)

    def trade(self, now_ns: int) -> _Trade:
        """One trade on this market: moves price, bid/ask, ticker stats and candles."""
        rng, num = self.rng, self.num
        self._roll(now_ns // NS)
        old = num["PRICE"]
        price = max(old + self.step * rng.choice((-3, -2, -1, 0, 0, 1, 2, 3)), self.step)
        qty = _qty(rng, self.base)
        amount = qty * price
        self.dirs["PRICE"] = _direction(old, price)
        half = self.step * rng.randint(1, 3)
        for name, value in (("BID", price - half), ("ASK", price + half)):
            self.dirs[name] = _direction(num[name], value)
            num[name] = value
        num["PRICE"] = price
        num["LASTVOLUME"] = qty
        num["LASTVOLUMETO"] = amount.quantize(QUOTE_EXP)
        for period in ("DAY", "24HOUR", "HOUR"):
            num[f"VOLUME{period}"] += qty
            num[f"VOLUME{period}TO"] = (num[f"VOLUME{period}TO"] + amount).quantize(QUOTE_EXP)
            num[f"HIGH{period}"] = max(num[f"HIGH{period}"], price)
            num[f"LOW{period}"] = min(num[f"LOW{period}"], price)
        trade_id = self.next_trade_id
        self.next_trade_id += rng.randint(1, 3)
        rts_ns = now_ns
        ts_ns = now_ns - rng.randint(1_000_000, 150_000_000)
        self.last_update = ts_ns // NS
        self.last_trade_id = str(trade_id)
        if self.is_index:
            self.last_market = rng.choice(self.constituents)
            num["TOPTIERVOLUME24HOUR"] += qty
            num["TOPTIERVOLUME24HOURTO"] = (num["TOPTIERVOLUME24HOURTO"] + amount).quantize(
                QUOTE_EXP
            )
            if rng.random() < 0.5:
                self._move_median()
        for candle in self.candles.values():
            candle.add(price, qty, ts_ns // NS)
        side = rng.choice(("1", "2", "1", "2", "1", "2", "4"))
        return _Trade(trade_id, price, qty, side, ts_ns, rts_ns)

    def _move_median(self) -> None:
        old = self.num["MEDIAN"]
        new = self.num["PRICE"] + self.step * self.rng.randint(-2, 2)
        if new == old:
            new += self.step
        self.dirs["MEDIAN"] = _direction(old, new)
        self.num["MEDIAN"] = new

    # -- channel 0 -----------------------------------------------------------------------

    def trade_frame(self, trade: _Trade) -> str:
        self.trade_ccseq += 1
        text = dumps(
            {
                "TYPE": "0",
                "M": self.market,
                "FSYM": self.base,
                "TSYM": self.quote,
                "F": trade.side,
                "ID": str(trade.trade_id),
                "TS": trade.ts_ns // NS,
                "Q": trade.qty,
                "P": trade.price,
                "TOTAL": trade.qty * trade.price,
                "RTS": trade.rts_ns // NS,
                "CCSEQ": self.trade_ccseq,
                "TSNS": trade.ts_ns % NS,
                "RTSNS": trade.rts_ns % NS,
            }
        )
        self.trades.append(text)
        return text

    # -- channels 2 and 5 ----------------------------------------------------------------

    def _ticker_values(self) -> Frame:
        values: Frame = {name: self.num[name] for name in TICKER_FIELDS if name in self.num}
        values["LASTUPDATE"] = self.last_update
        values["LASTTRADEID"] = self.last_trade_id
        ordered: Frame = {name: values[name] for name in TICKER_FIELDS}
        if self.is_index:
            price = self.num["PRICE"]
            current, circulating, maximum = _SUPPLY[self.base]
            factor = (Decimal(100) - _MKTCAP_PENALTY) / Decimal(100)
            ordered.update(
                {
                    "MEDIAN": self.num["MEDIAN"],
                    "LASTMARKET": self.last_market,
                    "TOPTIERVOLUME24HOUR": self.num["TOPTIERVOLUME24HOUR"],
                    "TOPTIERVOLUME24HOURTO": self.num["TOPTIERVOLUME24HOURTO"],
                    "CURRENTSUPPLY": current,
                    "CIRCULATINGSUPPLY": circulating,
                    "MAXSUPPLY": maximum,
                    "MKTCAPPENALTY": _MKTCAP_PENALTY,
                    "CURRENTSUPPLYMKTCAP": (price * current * factor).quantize(QUOTE_EXP),
                    "CIRCULATINGSUPPLYMKTCAP": (price * circulating * factor).quantize(QUOTE_EXP),
                    "MAXSUPPLYMKTCAP": maximum
                    if maximum < 0
                    else (price * maximum * factor).quantize(QUOTE_EXP),
                }
            )
        return ordered

    def _ticker_head(self, flags: int) -> Frame:
        return {
            "TYPE": "5" if self.is_index else "2",
            "MARKET": self.market,
            "FROMSYMBOL": self.base,
            "TOSYMBOL": self.quote,
            "FLAGS": flags,
        }

    def ticker_snapshot(self) -> str:
        names = ("PRICE", "BID", "ASK", "MEDIAN") if self.is_index else ("PRICE", "BID", "ASK")
        flags = sum(_FLAG_BITS[name][self.dirs[name]] for name in names)
        return dumps({**self._ticker_head(flags), **self._ticker_values()})

    def ticker_update(self, now_ns: int) -> str:
        """A partial update: identity fields, FLAGS and only the fields that changed."""
        rng, num = self.rng, self.num
        before = self._ticker_values()
        roll = rng.random()
        if roll < 0.55:
            self.trade(now_ns)
        elif roll < 0.8:
            sides = rng.choice((("BID",), ("ASK",), ("BID", "ASK")))
            for name in sides:
                new = num[name] + self.step * rng.choice((-2, -1, 1, 2))
                if name == "BID":
                    new = min(new, num["ASK"] - self.step)
                else:
                    new = max(new, num["BID"] + self.step)
                self.dirs[name] = _direction(num[name], new)
                num[name] = new
        elif self.is_index and roll < 0.9:
            self._move_median()
        else:  # volume-only change: the rolling 24 h window drops old trades
            for prefix in ("VOLUME24HOUR", "TOPTIERVOLUME24HOUR"):
                drop = min(_qty(rng, self.base), num[prefix] / 2).quantize(QTY_EXP)
                num[prefix] -= drop
                num[prefix + "TO"] = max(
                    (num[prefix + "TO"] - drop * num["PRICE"]).quantize(QUOTE_EXP),
                    Decimal(0) * QUOTE_EXP,
                )
        after = self._ticker_values()
        changed = {name: value for name, value in after.items() if before[name] != value}
        flags = 0
        for name in ("PRICE", "MEDIAN") if self.is_index else ("PRICE",):
            flags += _FLAG_BITS[name][self.dirs[name] if name in changed else _UNCHANGED]
        for name in ("BID", "ASK"):
            if name in changed:
                flags += _FLAG_BITS[name][self.dirs[name]]
        return dumps({**self._ticker_head(flags), **changed})

    # -- channel 24 ----------------------------------------------------------------------

    def candle_frame(self, unit: str, now_ns: int, *, live: bool) -> str:
        candle = self.candles[unit]
        candle.roll(now_ns // NS)
        if live:
            action = "A" if candle.emitted_ts != candle.ts else "U"
            candle.emitted_ts = candle.ts
        else:
            action = "A" if candle.total_trades else "I"
        frame: Frame = {
            "TYPE": "24",
            "MARKET": self.market,
            "FROMSYMBOL": self.base,
            "TOSYMBOL": self.quote,
            "TS": candle.ts,
            "UNIT": unit,
            "ACTION": action,
            "OPEN": candle.open,
            "HIGH": candle.high,
            "LOW": candle.low,
            "CLOSE": candle.close,
            "VOLUMEFROM": candle.volume_from,
            "VOLUMETO": candle.volume_to,
            "TOTALTRADES": candle.total_trades,
        }
        if candle.total_trades:
            frame.update(
                {
                    "FIRSTTS": candle.first_ts,
                    "LASTTS": candle.last_ts,
                    "FIRSTPRICE": candle.first_price,
                    "MAXPRICE": candle.max_price,
                    "MINPRICE": candle.min_price,
                    "LASTPRICE": candle.last_price,
                }
            )
        return dumps(frame)

    # -- channel 30 ----------------------------------------------------------------------

    def _short_head(self, type_: str) -> Frame:
        return {"TYPE": type_, "M": self.market, "FSYM": self.base, "TSYM": self.quote}

    def _tob_side(self, side: int) -> list[JsonValue]:
        price, qty, reported = self.tob[side]
        return [{"P": price, "Q": qty, "REPORTEDNS": reported}]

    def tob_snapshot(self) -> str:
        frame = self._short_head("30")
        frame.update({"CCSEQ": self.tob_seq, "BID": self._tob_side(0), "ASK": self._tob_side(1)})
        return dumps(frame)

    def tob_update(self, now_ns: int) -> str:
        rng = self.rng
        side = rng.randrange(2)
        price, _, _ = self.tob[side]
        if rng.random() < 0.5:
            price += self.step * rng.choice((-1, 1))
            if side == 0:
                price = min(price, self.tob[1][0] - self.step)
            else:
                price = max(price, self.tob[0][0] + self.step)
        self.tob[side] = (price, _qty(rng, self.base), now_ns - rng.randint(100_000, 5_000_000))
        self.tob_seq += 1
        frame = self._short_head("30")
        frame["CCSEQ"] = self.tob_seq
        frame["BID" if side == 0 else "ASK"] = self._tob_side(side)
        return dumps(frame)

    # -- channel 8 / 9 -------------------------------------------------------------------

    def book_snapshot(self) -> str:
        bids, asks = self.book
        frame = self._short_head("9")
        frame["CCSEQ"] = self.l2_seq
        frame["BID"] = [{"P": p, "Q": bids[p]} for p in sorted(bids, reverse=True)]
        frame["ASK"] = [{"P": p, "Q": asks[p]} for p in sorted(asks)]
        return dumps(frame)

    def _book_step(self) -> tuple[int, int, Decimal, Decimal]:
        """Change one level of the L2 book and advance CCSEQ; (side, action, price, qty)."""
        rng = self.rng
        side = rng.randrange(2)
        levels = self.book[side]
        roll = rng.random()
        if len(levels) < 5 or (roll < 0.3 and len(levels) < 25):
            sign = -1 if side == 0 else 1
            price = self.book_mid + sign * self.step * rng.randint(1, 30)
            action = 4 if price in levels else 1
            qty = levels[price] = _qty(rng, self.base, 100_000, 500_000_000)
        elif roll < 0.5:
            price = rng.choice(sorted(levels))
            del levels[price]
            action, qty = 2, Decimal(0) * QTY_EXP
        else:
            price = rng.choice(sorted(levels))
            action = 4
            qty = levels[price] = _qty(rng, self.base, 100_000, 500_000_000)
        self.l2_seq += 1
        return side, action, price, qty

    def book_delta(self, now_ns: int) -> str:
        """The next TYPE 8 delta; pending injected gaps are applied first, unseen (§3.4)."""
        while self.book_gaps > 0:
            self.book_gaps -= 1
            self._book_step()  # the book changes but no frame says so: CCSEQ skips a value
        side, action, price, qty = self._book_step()
        delay = self.rng.randint(200_000, 20_000_000)
        frame = self._short_head("8")
        frame.update({"SIDE": side, "ACTION": action, "CCSEQ": self.l2_seq, "P": price, "Q": qty})
        if self.market in _SEQ_EXCHANGES:
            frame["SEQ"] = self.l2_seq * 3 + 17
        frame.update({"REPORTEDNS": now_ns - delay, "DELAYNS": delay})
        return dumps(frame)


class _AssetVolume:
    def __init__(self, seed: int, base: str) -> None:
        self.base = base
        self.rng = _rng_for(seed, "volume", base)
        scale = _QTY_SCALE[base]
        self.full = Decimal(self.rng.randint(30_000_000, 60_000_000) * scale).scaleb(-2)
        self.full = self.full.quantize(QTY_EXP)
        self.top = (self.full * Decimal("0.45")).quantize(QTY_EXP)

    def frame(self, channel: str, *, live: bool) -> str:
        if live:
            delta = _qty(self.rng, self.base) * self.rng.choice((-1, 1, 1))
            if channel == "11":
                self.full = max(self.full + delta, Decimal(0) * QTY_EXP)
            else:
                self.top = max(self.top + delta, Decimal(0) * QTY_EXP)
        if channel == "11":
            return dumps({"TYPE": "11", "SYMBOL": self.base, "FULLVOLUME": self.full})
        return dumps({"TYPE": "21", "SYMBOL": self.base, "TOPTIERFULLVOLUME": self.top})


class SyntheticMarket:
    """All simulated markets; renders the first payload and live frames per subscription."""

    def __init__(self, seed: int, clock_ns: Callable[[], int] = time.time_ns) -> None:
        self.seed = seed
        self.clock_ns = clock_ns
        self._markets: dict[tuple[str, str, str], _Market] = {}
        self._volumes: dict[str, _AssetVolume] = {}

    def _market(self, sub: Subscription) -> _Market:
        assert sub.market is not None and sub.quote is not None
        key = (sub.market, sub.base, sub.quote)
        market = self._markets.get(key)
        if market is None:
            market = self._markets[key] = _Market(self.seed, *key, self.clock_ns())
        return market

    def _volume(self, base: str) -> _AssetVolume:
        volume = self._volumes.get(base)
        if volume is None:
            volume = self._volumes[base] = _AssetVolume(self.seed, base)
        return volume

    def snapshot(self, sub: Subscription) -> list[str]:
        """The first payload for a new subscription (one or more frames)."""
        if sub.channel in ("11", "21"):
            return [self._volume(sub.base).frame(sub.channel, live=False)]
        market = self._market(sub)
        if sub.channel == "0":
            return list(market.trades)
        if sub.channel in ("2", "5"):
            return [market.ticker_snapshot()]
        if sub.channel == "24":
            assert sub.period is not None
            return [market.candle_frame(sub.period, self.clock_ns(), live=False)]
        if sub.channel == "30":
            return [market.tob_snapshot()]
        return [market.book_snapshot()]  # channel 8: TYPE 9 snapshot

    def inject_book_gap(self, sub: Subscription) -> None:
        """The next TYPE 8 delta of ``sub``'s market skips one CCSEQ value."""
        if sub.channel != "8":
            raise InvalidSubscription(f"{sub.raw} is not an order book (8~...) subscription.")
        self._market(sub).book_gaps += 1

    def update(self, sub: Subscription) -> str:
        """One live frame for ``sub`` (advances the market)."""
        if sub.channel in ("11", "21"):
            return self._volume(sub.base).frame(sub.channel, live=True)
        market = self._market(sub)
        now_ns = self.clock_ns()
        if sub.channel == "0":
            return market.trade_frame(market.trade(now_ns))
        if sub.channel in ("2", "5"):
            return market.ticker_update(now_ns)
        if sub.channel == "24":
            assert sub.period is not None
            market.trade(now_ns)
            return market.candle_frame(sub.period, now_ns, live=True)
        if sub.channel == "30":
            return market.tob_update(now_ns)
        return market.book_delta(now_ns)
