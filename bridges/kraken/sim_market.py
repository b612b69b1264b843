"""Synthetic market for the Kraken Spot WebSocket v2 simulator.

Written from ``shared/protocols/kraken.md`` only (section numbers refer to it). This module holds:

* the catalogue of pairs the simulator knows, with their price and qty precisions (§4, §5);
* :func:`dumps`, a compact JSON writer that renders :class:`~decimal.Decimal` values as bare
  JSON numbers with exactly their own decimals, trailing zeros included and never in exponent
  notation, and ``int`` values exactly (a ``connection_id`` above 2**53 stays exact) (§2, §5);
* :func:`book_checksum`, the CRC32 over the top 10 levels a side (§8);
* a deterministic market per pair (seeded per pair, so one pair's values do not depend on which
  other pairs are in use): an L2 book 1005 to 1100 levels deep a side (so depth 1000 is always
  full), the last 50 trades, 24 h ticker statistics and OHLC candles, with renderers for every
  channel's snapshot and update. Trades do not consume book liquidity.

Book updates (§8) are rendered per subscribed depth as the difference between that depth's view
of the book before and after a step: levels that changed inside the new view, ``qty`` 0 for
levels of the old view that were deleted, and levels that moved up into the view to refill it.
A level that only falls out of scope gets no delete. A price changed twice in one step appears
twice, in order, and the levels of a message come in a scrambled (but deterministic) order.
Every book step changes the top 10 levels, so every subscriber of the pair gets a frame.

Timestamps come from the injected clock (``time.time_ns`` by default); every other value is a
pure function of the seed and the sequence of calls.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import math
import random
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TypeAlias

from bridges.simjson import JsonValue, dumps

Frame: TypeAlias = dict[str, JsonValue]
Level: TypeAlias = tuple[Decimal, Decimal]  # (price, qty)

BID, ASK = 0, 1
BOOK_DEPTHS: tuple[int, ...] = (10, 25, 100, 500, 1000)  # §8
DEFAULT_DEPTH = 10
OHLC_INTERVALS: tuple[int, ...] = (1, 5, 15, 30, 60, 240, 1440, 10080, 21600)  # §7, minutes
CHECKSUM_LEVELS = 10  # §8: always 10 a side, whatever the depth
TRADE_SNAPSHOT = 50  # §6: the last 50 trades
OHLC_SNAPSHOT = 5  # candles in an ohlc snapshot: 4 closed ones and the running one
MAX_DEPTH = max(BOOK_DEPTHS)
INITIAL_LEVELS = 1050  # per side; the book is kept between MIN_LEVELS and MAX_LEVELS deep
MIN_LEVELS = MAX_DEPTH + 5
MAX_LEVELS = 1100
NS = 1_000_000_000

# --------------------------------------------------------------------------------------------
# Catalogue (§4)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    """One v2 pair: ``BASE/QUOTE``, its precisions and its synthetic scale."""

    symbol: str
    price_precision: int
    qty_precision: int
    start_price: Decimal
    qty_range: tuple[int, int]  # typical order sizes, in units of 10**-qty_precision

    @property
    def base(self) -> str:
        return self.symbol.partition("/")[0]

    @property
    def quote(self) -> str:
        return self.symbol.partition("/")[2]

    @property
    def tick(self) -> Decimal:
        return Decimal(1).scaleb(-self.price_precision)

    @property
    def lot(self) -> Decimal:
        return Decimal(1).scaleb(-self.qty_precision)


CATALOGUE: dict[str, Pair] = {
    pair.symbol: pair
    for pair in (
        Pair("BTC/EUR", 1, 8, Decimal("58230.0"), (1_000, 300_000_000)),
        Pair("BTC/USD", 1, 8, Decimal("62807.0"), (1_000, 300_000_000)),
        Pair("ETH/EUR", 2, 8, Decimal("2480.00"), (10_000, 4_000_000_000)),
        Pair("ETH/USD", 2, 8, Decimal("2710.00"), (10_000, 4_000_000_000)),
        Pair("ETH/BTC", 5, 8, Decimal("0.03137"), (10_000, 4_000_000_000)),
        Pair("DOGE/USD", 7, 8, Decimal("0.1234567"), (100_000_000, 5_000_000_000_000)),
    )
}


def unsupported_pair_error(symbol: str) -> str:
    """The refusal text for a symbol outside the catalogue, ``XBT/…`` included (§3, §4)."""
    return f"Currency pair not supported {symbol}"


# --------------------------------------------------------------------------------------------
# Timestamps and the checksum
# --------------------------------------------------------------------------------------------


def rfc3339(ns: int) -> str:
    """``2026-11-20T10:00:01.123456Z``: RFC 3339, UTC, microseconds (§5)."""
    seconds, rest = divmod(ns, NS)
    stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{rest // 1000:06d}Z"


def checksum_digits(text: str) -> str:
    """A wire number's checksum text: drop ``.``, then strip leading zeros; all zeros → ``0``."""
    return text.replace(".", "").lstrip("0") or "0"


def book_checksum(asks: Iterable[tuple[str, str]], bids: Iterable[tuple[str, str]]) -> int:
    """CRC32 of the top 10 asks (lowest first) then the top 10 bids (highest first) (§8).

    Both arguments are ``(price_text, qty_text)`` pairs as printed on the wire, best first;
    only the first 10 of each are used, and a side with fewer levels uses what it has.
    """
    parts: list[str] = []
    for side in (asks, bids):
        for price, qty in itertools.islice(side, CHECKSUM_LEVELS):
            parts.append(checksum_digits(price))
            parts.append(checksum_digits(qty))
    return zlib.crc32("".join(parts).encode("ascii")) & 0xFFFFFFFF


def _rng_for(seed: int, *parts: str) -> random.Random:
    digest = hashlib.sha256("|".join((str(seed), *parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _frame(channel: str, type_: str, data: list[JsonValue]) -> str:
    return dumps({"channel": channel, "type": type_, "data": data})


# --------------------------------------------------------------------------------------------
# Book
# --------------------------------------------------------------------------------------------


class Book:
    """An L2 book: per side a price → qty map and the sorted prices (ascending)."""

    def __init__(self) -> None:
        self.levels: tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]] = ({}, {})
        self.prices: tuple[list[Decimal], list[Decimal]] = ([], [])

    def size(self, side: int) -> int:
        return len(self.prices[side])

    def top(self, side: int, n: int) -> list[Level]:
        """The best ``n`` levels of ``side``, best first."""
        prices, levels = self.prices[side], self.levels[side]
        chosen = prices[max(0, len(prices) - n) :][::-1] if side == BID else prices[:n]
        return [(price, levels[price]) for price in chosen]

    def price_at(self, side: int, rank: int) -> Decimal:
        prices = self.prices[side]
        return prices[len(prices) - 1 - rank] if side == BID else prices[rank]

    def rank_of(self, side: int, price: Decimal) -> int:
        """How many levels of ``side`` are strictly better than ``price``."""
        prices = self.prices[side]
        if side == BID:
            return len(prices) - bisect.bisect_right(prices, price)
        return bisect.bisect_left(prices, price)

    def set(self, side: int, price: Decimal, qty: Decimal) -> None:
        """Insert, update or (``qty`` 0) delete one level."""
        levels, prices = self.levels[side], self.prices[side]
        if qty == 0:
            if levels.pop(price, None) is not None:
                del prices[bisect.bisect_left(prices, price)]
        else:
            if price not in levels:
                bisect.insort(prices, price)
            levels[price] = qty


@dataclass
class BookStep:
    """One change of a pair's book (one update message per subscribed depth)."""

    number: int
    view: int  # the deepest depth the step can be rendered for
    before: tuple[list[Level], list[Level]]  # the top ``view`` levels a side, before
    after: tuple[list[Level], list[Level]]  # ... and after
    history: dict[tuple[int, Decimal], list[Decimal]]  # every qty set, in order; 0 = deleted
    checksum: int  # as sent: wrong on purpose after corrupt_next_checksum
    timestamp: str

    @property
    def top_changed(self) -> bool:
        """The best bid or best ask (price or qty) changed: a ``bbo`` ticker event (§7)."""
        return any(self.before[s][:1] != self.after[s][:1] for s in (BID, ASK))


# --------------------------------------------------------------------------------------------
# Trades, ticker and candles
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Trade:
    side: str  # the taker's side (§6)
    price: Decimal
    qty: Decimal
    ord_type: str  # the taker's order type
    trade_id: int
    timestamp: str


@dataclass
class Candle:
    begin_s: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    cost: Decimal  # sum of price * qty, for the vwap
    trades: int

    def add(self, price: Decimal, qty: Decimal) -> None:
        self.high = max(self.high, price)
        self.low = min(self.low, price)
        self.close = price
        self.volume += qty
        self.cost += price * qty
        self.trades += 1


@dataclass
class Candles:
    """One interval's running candle and the closed ones before it."""

    interval: int  # minutes
    current: Candle
    closed: deque[Candle] = field(default_factory=lambda: deque(maxlen=OHLC_SNAPSHOT - 1))

    @property
    def seconds(self) -> int:
        return self.interval * 60

    def add(self, price: Decimal, qty: Decimal, now_s: int) -> None:
        """A trade: a newer interval closes the running candle first (§7)."""
        begin = now_s - now_s % self.seconds
        if begin > self.current.begin_s:
            self.closed.append(self.current)
            zero = self.current.volume * 0
            self.current = Candle(begin, price, price, price, price, zero, zero, 0)
        self.current.add(price, qty)


# --------------------------------------------------------------------------------------------
# One pair
# --------------------------------------------------------------------------------------------


class PairMarket:
    """The synthetic state of one pair; every render is a JSON text ready to send."""

    def __init__(self, seed: int, pair: Pair, clock_ns: Callable[[], int]) -> None:
        self.pair = pair
        self.symbol = pair.symbol
        self.seed = seed
        self.clock_ns = clock_ns
        self.tick = pair.tick
        self.zero_qty = Decimal(0).quantize(pair.lot)
        self.book_rng = _rng_for(seed, pair.symbol, "book")
        self.trade_rng = _rng_for(seed, pair.symbol, "trades")
        self.book = Book()
        self.book_steps = 0
        self.corrupt_pending = False
        self.book_ns = clock_ns()
        self._build_book()
        self.trades: deque[Trade] = deque(maxlen=TRADE_SNAPSHOT)
        self.candles: dict[int, Candles] = {}
        self._build_ticker()
        self.next_trade_id = self.trade_rng.randint(10_000_000, 90_000_000)
        gaps = [self.trade_rng.randint(200_000_000, 3_000_000_000) for _ in range(TRADE_SNAPSHOT)]
        ago = sum(gaps)
        for gap in gaps:  # a history for the trade snapshot (§6), oldest first
            self.trade(self.book_ns - ago)
            ago -= gap

    # -- setup --------------------------------------------------------------------------

    def _qty(self, rng: random.Random) -> Decimal:
        """An order size: log-uniform in the pair's range, now and then a tiny one (§5)."""
        low, high = self.pair.qty_range
        if rng.random() < 0.05:
            units = rng.randint(1, 9_999)  # 0.00000001 .. 0.00009999: a float prints 5.1e-05
        else:
            units = int(math.exp(rng.uniform(math.log(low), math.log(high))))
        return Decimal(units).scaleb(-self.pair.qty_precision)

    def _build_book(self) -> None:
        rng, tick = self.book_rng, self.tick
        mid = self.pair.start_price + tick * rng.randint(-200, 200)
        for side, sign in ((BID, -1), (ASK, 1)):
            price = mid
            for _ in range(INITIAL_LEVELS):
                price += sign * tick * rng.randint(1, 3)
                self.book.set(side, price, self._qty(rng))

    def _build_ticker(self) -> None:
        rng = self.trade_rng
        mid = (self.best(BID) + self.best(ASK)) / 2
        self.open_24h = (mid * (1 + Decimal(rng.randint(-400, 400)) / 10_000)).quantize(self.tick)
        low_, high_ = min(self.open_24h, mid), max(self.open_24h, mid)
        self.low_24h = (low_ * (1 - Decimal(rng.randint(0, 300)) / 10_000)).quantize(self.tick)
        self.high_24h = (high_ * (1 + Decimal(rng.randint(0, 300)) / 10_000)).quantize(self.tick)
        low, high = self.pair.qty_range
        self.volume_24h = Decimal(rng.randint(low, high) * 2_000).scaleb(-self.pair.qty_precision)
        self.cost_24h = self.volume_24h * (self.open_24h + mid) / 2
        self.last = mid.quantize(self.tick)

    def best(self, side: int) -> Decimal:
        return self.book.price_at(side, 0)

    # -- book -------------------------------------------------------------------------------

    def checksum(self) -> int:
        asks, bids = (
            [(format(p, "f"), format(q, "f")) for p, q in self.book.top(side, CHECKSUM_LEVELS)]
            for side in (ASK, BID)
        )
        return book_checksum(asks, bids)

    def book_snapshot(self, depth: int) -> str:
        """The ``snapshot`` message for one depth: best first, with the checksum (§8)."""
        entry: Frame = {
            "symbol": self.symbol,
            "bids": self._levels(self.book.top(BID, depth)),
            "asks": self._levels(self.book.top(ASK, depth)),
            "checksum": self.checksum(),
            "timestamp": rfc3339(self.book_ns),
        }
        return _frame("book", "snapshot", [entry])

    @staticmethod
    def _levels(levels: Iterable[Level]) -> list[JsonValue]:
        return [{"price": price, "qty": qty} for price, qty in levels]

    def book_step(self, view: int = MAX_DEPTH) -> BookStep:
        """Change 1-3 levels at once; at least one change is inside the top 10 levels.

        The step can be rendered (:meth:`book_update`) for depths up to ``view``.
        """
        rng = self.book_rng
        view = max(view, CHECKSUM_LEVELS)
        before = (self.book.top(BID, view), self.book.top(ASK, view))
        history: dict[tuple[int, Decimal], list[Decimal]] = {}
        changes = 1 + (rng.random() < 0.35) + (rng.random() < 0.15)
        for i in range(changes):
            self._change(history, near_top=i == 0)
        while all(
            self.book.top(s, CHECKSUM_LEVELS) == before[s][:CHECKSUM_LEVELS] for s in (BID, ASK)
        ):  # a later change undid the first one: every depth must see something
            self._change(history, near_top=True)
        self.book_steps += 1
        self.book_ns = self.clock_ns()
        checksum = self.checksum()
        if self.corrupt_pending:
            self.corrupt_pending = False
            checksum = (checksum + 1) & 0xFFFFFFFF
        after = (self.book.top(BID, view), self.book.top(ASK, view))
        return BookStep(
            self.book_steps, view, before, after, history, checksum, rfc3339(self.book_ns)
        )

    def _change(self, history: dict[tuple[int, Decimal], list[Decimal]], near_top: bool) -> None:
        rng, book, tick = self.book_rng, self.book, self.tick
        side = rng.randrange(2)
        size = book.size(side)
        if near_top:
            rank = rng.randrange(-1, CHECKSUM_LEVELS - 1)  # -1: improve the best price
        else:
            rank = min(int(rng.expovariate(1 / 15)), 200)
        roll = rng.random()
        action = "qty" if roll < 0.45 else "insert" if roll < 0.75 else "delete"
        if action == "delete" and size <= MIN_LEVELS:
            action = "insert"
        elif action == "insert" and size >= MAX_LEVELS:
            action = "delete"
        sign = -1 if side == BID else 1  # towards worse prices
        price: Decimal | None = None
        if action == "insert":
            if rank < 0:
                candidate = self.best(side) - sign * tick * rng.randint(1, 3)
                opposite = self.best(1 - side)
                crossed = candidate >= opposite if side == BID else candidate <= opposite
                price = None if crossed else candidate
            else:
                price = book.price_at(side, rank) + sign * tick
            if price is not None and (price <= 0 or price in book.levels[side]):
                price = None
        rank = max(rank, 0)
        if price is None:  # not an insert, or no free price there: change an existing level
            price = book.price_at(side, rank)
        qty = self.zero_qty if action == "delete" else self._qty(rng)
        book.set(side, price, qty)
        history.setdefault((side, price), []).append(qty)

    def book_update(self, step: BookStep, depth: int) -> str | None:
        """The ``update`` message of ``step`` for one depth; None if nothing changed in view."""
        if depth > step.view:
            raise ValueError(f"this book step can be rendered up to depth {step.view}")
        entries: list[list[JsonValue]] = [[], []]
        for side in (BID, ASK):
            old = dict(step.before[side][:depth])
            new_view = step.after[side][:depth]
            deleted = {p for (s, p), qtys in step.history.items() if s == side and qtys[-1] == 0}
            changed: list[Level] = [(p, self.zero_qty) for p in old if p in deleted]
            changed += [(p, q) for p, q in new_view if old.get(p) != q]
            changed.sort(key=lambda level: zlib.crc32(f"{step.number}:{level[0]}".encode()))
            for price, qty in changed:
                for earlier in step.history.get((side, price), [])[:-1]:
                    entries[side].append({"price": price, "qty": earlier})
                entries[side].append({"price": price, "qty": qty})
        if not entries[BID] and not entries[ASK]:
            return None
        entry: Frame = {
            "symbol": self.symbol,
            "bids": entries[BID],
            "asks": entries[ASK],
            "checksum": step.checksum,
            "timestamp": step.timestamp,
        }
        return _frame("book", "update", [entry])

    # -- trades, ticker, ohlc ---------------------------------------------------------

    def trade(self, now_ns: int) -> Trade:
        """One trade at the best price of the side the taker hits; moves ticker and candles."""
        rng = self.trade_rng
        side = rng.choice(("buy", "sell"))
        price = self.best(ASK if side == "buy" else BID)
        qty = self._qty(rng)
        trade = Trade(
            side,
            price,
            qty,
            "market" if rng.random() < 0.7 else "limit",
            self.next_trade_id,
            rfc3339(now_ns),
        )
        self.next_trade_id += 1
        self.trades.append(trade)
        self.last = price
        self.volume_24h += qty
        self.cost_24h += price * qty
        self.low_24h = min(self.low_24h, price)
        self.high_24h = max(self.high_24h, price)
        for candles in self.candles.values():
            candles.add(price, qty, now_ns // NS)
        return trade

    @staticmethod
    def _trade_entry(symbol: str, trade: Trade) -> Frame:
        return {
            "symbol": symbol,
            "side": trade.side,
            "price": trade.price,
            "qty": trade.qty,
            "ord_type": trade.ord_type,
            "trade_id": trade.trade_id,
            "timestamp": trade.timestamp,
        }

    def trade_message(self, trades: Iterable[Trade], type_: str = "update") -> str:
        return _frame("trade", type_, [self._trade_entry(self.symbol, t) for t in trades])

    def trade_snapshot(self) -> str:
        """The last 50 trades, oldest first (§6)."""
        return self.trade_message(self.trades, "snapshot")

    def ticker(self, type_: str) -> str:
        """The ticker message: 24 h rolling statistics and the current best bid and ask (§7)."""
        bid, bid_qty = self.book.top(BID, 1)[0]
        ask, ask_qty = self.book.top(ASK, 1)[0]
        change = self.last - self.open_24h
        entry: Frame = {
            "symbol": self.symbol,
            "bid": bid,
            "bid_qty": bid_qty,
            "ask": ask,
            "ask_qty": ask_qty,
            "last": self.last,
            "volume": self.volume_24h,
            "vwap": (self.cost_24h / self.volume_24h).quantize(self.tick),
            "low": self.low_24h,
            "high": self.high_24h,
            "change": change,
            "change_pct": (change * 100 / self.open_24h).quantize(Decimal("0.01")),
            "timestamp": rfc3339(self.clock_ns()),
        }
        return _frame("ticker", type_, [entry])

    def candles_for(self, interval: int) -> Candles:
        """The candles of ``interval`` (created on first use with a seeded history)."""
        candles = self.candles.get(interval)
        if candles is None:
            rng = _rng_for(self.seed, self.symbol, f"ohlc-{interval}")
            seconds = interval * 60
            now_s = self.clock_ns() // NS
            begin = now_s - now_s % seconds
            history: list[Candle] = []
            close = self.last
            for k in range(OHLC_SNAPSHOT):  # built backwards from the last price
                open_ = (close * (1 + Decimal(rng.randint(-50, 50)) / 10_000)).quantize(self.tick)
                spread = max(open_, close) * Decimal(rng.randint(0, 30)) / 10_000
                high = (max(open_, close) + spread).quantize(self.tick)
                low = (min(open_, close) - spread).quantize(self.tick)
                volume = self._qty(rng) * rng.randint(1, 40)
                trades = rng.randint(1, 60)
                cost = volume * (open_ + close) / 2
                history.append(
                    Candle(begin - k * seconds, open_, high, low, close, volume, cost, trades)
                )
                close = open_
            history.reverse()
            candles = self.candles[interval] = Candles(interval, history[-1])
            candles.closed.extend(history[:-1])
        return candles

    def _candle_entry(self, interval: int, candle: Candle) -> Frame:
        vwap = candle.cost / candle.volume if candle.volume else candle.close
        return {
            "symbol": self.symbol,
            "open": candle.open,
            "high": candle.high,
            "low": candle.low,
            "close": candle.close,
            "vwap": vwap.quantize(self.tick),
            "trades": candle.trades,
            "volume": candle.volume.quantize(self.pair.lot),
            "interval_begin": rfc3339(candle.begin_s * NS),
            "interval": interval,
            "timestamp": rfc3339((candle.begin_s + interval * 60) * NS),  # the candle's end
        }

    def ohlc(self, interval: int, type_: str) -> str:
        """A snapshot (closed candles, then the running one) or an update (running one) (§7)."""
        candles = self.candles_for(interval)
        chosen = [*candles.closed, candles.current] if type_ == "snapshot" else [candles.current]
        return _frame("ohlc", type_, [self._candle_entry(interval, c) for c in chosen])


class SyntheticMarket:
    """Every pair of the catalogue, created on first use."""

    def __init__(self, seed: int, clock_ns: Callable[[], int] = time.time_ns) -> None:
        self.seed = seed
        self.clock_ns = clock_ns
        self._pairs: dict[str, PairMarket] = {}

    def pair(self, symbol: str) -> PairMarket:
        """The market of ``symbol``; ValueError for a symbol outside the catalogue."""
        market = self._pairs.get(symbol)
        if market is None:
            pair = CATALOGUE.get(symbol)
            if pair is None:
                raise ValueError(unsupported_pair_error(symbol))
            market = self._pairs[symbol] = PairMarket(self.seed, pair, self.clock_ns)
        return market
