"""Synthetic market for the Binance Spot simulator.

Written from ``shared/protocols/binance.md`` only. One deterministic market per symbol
(seeded per symbol, so one symbol's values do not depend on which other symbols are used):
an L2 book with update IDs, trades, klines and the 24 h ticker, rendered as the payloads of
§8-§10.

Every price and quantity is a JSON string with 8 decimals and every ID an integer (§7). Times
are kept in µs (the caller renders them in ms unless the connection asked for
``timeUnit=MICROSECOND``). Timestamps come from the caller (wall clock); every other value is
a pure function of the seed and the sequence of calls.
"""

from __future__ import annotations

import bisect
import random
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal

from bridges.binance.sim_streams import (
    DAY_MS,
    US_PER_MS,
    JsonValue,
    Payload,
    SymbolInfo,
    interval_bounds,
)

EIGHT = Decimal("0.00000001")  # every decimal string carries 8 decimals (§7, §8 example)
BOOK_LEVELS = 1_000  # initial levels per side; the REST snapshot returns at most this many
MIN_LEVELS = 500  # below this a side only grows
TOP = 20  # book changes touch the best TOP levels of a side
HISTORY = 10_000  # update IDs kept to rebuild an older book (hold_rest_snapshot)

# --------------------------------------------------------------------------------------------
# Market state
# --------------------------------------------------------------------------------------------


@dataclass
class _Pending:
    """Book changes not yet sent on one diff-depth stream speed (U = first)."""

    first: int
    levels: tuple[dict[int, int], dict[int, int]] = field(default_factory=lambda: ({}, {}))


@dataclass
class _Candle:
    start: int  # µs
    end: int  # µs, inclusive
    open: int  # ticks
    high: int
    low: int
    close: int
    volume: int = 0  # lots
    quote: Decimal = Decimal(0)
    taker_volume: int = 0
    taker_quote: Decimal = Decimal(0)
    count: int = 0
    first_id: int = -1
    last_id: int = -1


@dataclass(frozen=True)
class BookState:
    """A whole book at one update ID (used for REST snapshots)."""

    last_update_id: int
    bids: dict[int, int]
    asks: dict[int, int]


class SymbolMarket:
    """One symbol: book, trades, candles and 24 h statistics, driven by a seeded RNG."""

    def __init__(self, info: SymbolInfo, seed: int, now_us: int) -> None:
        self.info = info
        self.symbol = info.symbol
        self.rng = rng = random.Random(f"binance|{seed}|{info.symbol}")
        mid = int(info.price / info.tick) + rng.randint(-400, 400)
        best_bid = mid - rng.randint(1, 3)
        best_ask = mid + rng.randint(1, 3)
        self.lot_scale = 10 if info.base == "ETH" else 1
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self.bid_ticks: list[int] = []  # ascending; best bid last
        self.ask_ticks: list[int] = []  # ascending; best ask first
        tick = best_bid
        for _ in range(BOOK_LEVELS):
            self.bids[tick] = self._depth_lots()
            tick -= rng.randint(1, 3)
        tick = best_ask
        for _ in range(BOOK_LEVELS):
            self.asks[tick] = self._depth_lots()
            tick += rng.randint(1, 3)
        self.bid_ticks = sorted(self.bids)
        self.ask_ticks = sorted(self.asks)
        self.update_id = rng.randint(10_000_000_000, 80_000_000_000)
        self.history: deque[tuple[int, int, int, int]] = deque(maxlen=HISTORY)
        self.pending: dict[int, _Pending] = {
            speed: _Pending(self.update_id + 1) for speed in (1_000, 100)
        }
        self.next_trade_id = rng.randint(1_000_000_000, 5_000_000_000)
        self.next_agg_id = rng.randint(500_000_000, 2_000_000_000)
        self.last_price = mid
        self.last_qty = self._trade_lots()
        self.candles: dict[tuple[str, bool], _Candle] = {}
        # Candles a trade rolled over before their closing event went out (a few per key).
        self.closed: dict[tuple[str, bool], deque[_Candle]] = {}
        # 24 h rolling statistics (§9 @ticker), seeded; ranges of a few percent.
        percent = max(1, mid // 100)
        self.day_open = mid + rng.randint(-3 * percent, 3 * percent)
        self.prev_close = self.day_open + rng.randint(-percent // 10, percent // 10)
        self.day_high = max(self.day_open, mid) + rng.randint(0, 2 * percent)
        self.day_low = min(self.day_open, mid) - rng.randint(0, 2 * percent)
        day_count = rng.randint(200_000, 2_000_000)
        self.day_first_id = self.next_trade_id - day_count
        self.day_volume = day_count * rng.randint(20, 80) * self.lot_scale
        avg = Decimal(self.day_open + mid) / 2 * info.tick
        self.day_quote = (Decimal(self.day_volume) * info.lot * avg).quantize(EIGHT)
        self.created_us = now_us

    # -- rendering ---------------------------------------------------------------------

    def px(self, ticks: int) -> str:
        return format((ticks * self.info.tick).quantize(EIGHT), "f")

    def qty(self, lots: int) -> str:
        return format((lots * self.info.lot).quantize(EIGHT), "f")

    def _levels(self, book: dict[int, int], ticks: list[int], limit: int) -> list[JsonValue]:
        return [[self.px(t), self.qty(book[t])] for t in ticks[:limit]]

    def depth_payload(self, state: BookState, limit: int) -> Payload:
        """The REST ``/api/v3/depth`` body (§5, §10): lastUpdateId, bids (best first), asks."""
        bids = sorted(state.bids, reverse=True)
        asks = sorted(state.asks)
        return {
            "lastUpdateId": state.last_update_id,
            "bids": self._levels(state.bids, bids, limit),
            "asks": self._levels(state.asks, asks, limit),
        }

    # -- book --------------------------------------------------------------------------

    def _depth_lots(self) -> int:
        return self.rng.randint(1, 200_000) * self.lot_scale

    def _trade_lots(self) -> int:
        return self.rng.randint(1, 5_000) * self.lot_scale

    def best(self) -> tuple[int, int]:
        return self.bid_ticks[-1], self.ask_ticks[0]

    def _set_level(self, side: int, tick: int, lots: int) -> None:
        book, ticks = (self.bids, self.bid_ticks) if side == 0 else (self.asks, self.ask_ticks)
        old = book.get(tick, 0)
        if lots:
            if not old:
                bisect.insort(ticks, tick)
            book[tick] = lots
        elif old:
            del book[tick]
            del ticks[bisect.bisect_left(ticks, tick)]
        self.update_id += 1
        self.history.append((self.update_id, side, tick, old))
        for pending in self.pending.values():
            pending.levels[side][tick] = lots

    def _one_change(self) -> None:
        """Apply one book change; it takes exactly one update ID."""
        rng = self.rng
        side = rng.randrange(2)
        ticks = self.bid_ticks if side == 0 else self.ask_ticks
        top = ticks[-TOP:] if side == 0 else ticks[:TOP]
        roll = rng.random()
        if roll < 0.2 or len(ticks) <= 1:
            best_bid, best_ask = self.best()
            if side == 0:
                tick = min(best_bid + rng.randint(-TOP, 2), best_ask - 1)
            else:
                tick = max(best_ask + rng.randint(-2, TOP), best_bid + 1)
            self._set_level(side, tick, self._depth_lots())
        elif roll < 0.45 and len(ticks) > MIN_LEVELS:
            self._set_level(side, top[rng.randrange(len(top))], 0)
        else:
            self._set_level(side, top[rng.randrange(len(top))], self._depth_lots())

    def move_book(self, changes: int | None = None) -> bool:
        """Apply ``changes`` (default 1-3, seeded) book changes; True if the top moved."""
        before = self._top()
        for _ in range(self.rng.randint(1, 3) if changes is None else changes):
            self._one_change()
        return self._top() != before

    def _top(self) -> tuple[int, int, int, int]:
        bid, ask = self.best()
        return bid, self.bids[bid], ask, self.asks[ask]

    def take_diff(self, speed_ms: int, now_us: int) -> Payload | None:
        """The next ``depthUpdate`` (§10) for the diff stream of ``speed_ms``, or None."""
        pending = self.pending[speed_ms]
        if pending.first > self.update_id:
            return None
        bids, asks = pending.levels
        payload: Payload = {
            "e": "depthUpdate",
            "E": now_us,
            "s": self.symbol,
            "U": pending.first,
            "u": self.update_id,
            "b": [[self.px(t), self.qty(bids[t])] for t in sorted(bids, reverse=True)],
            "a": [[self.px(t), self.qty(asks[t])] for t in sorted(asks)],
        }
        self.pending[speed_ms] = _Pending(self.update_id + 1)
        return payload

    def skip(self, n: int) -> None:
        """Apply ``n`` changes that no diff event will carry: the next U jumps by ``n``.

        The caller sends pending diff events first, so the jump is exactly ``n``.
        """
        for _ in range(n):
            self._one_change()
        for speed in self.pending:
            self.pending[speed] = _Pending(self.update_id + 1)

    def book_at(self, behind: int = 0) -> BookState:
        """The whole book as it was ``behind`` update IDs ago; ValueError if too old."""
        if behind < 0:
            raise ValueError("behind must be >= 0")
        target = self.update_id - behind
        bids, asks = dict(self.bids), dict(self.asks)
        if behind:
            if not self.history or self.history[0][0] > target + 1:
                raise ValueError(f"{self.symbol}: the book history does not reach {behind} back")
            for update_id, side, tick, old in reversed(self.history):
                if update_id <= target:
                    break
                book = bids if side == 0 else asks
                if old:
                    book[tick] = old
                else:
                    book.pop(tick, None)
        return BookState(target, bids, asks)

    def book_ticker(self) -> Payload:
        """``@bookTicker`` (§9): no ``e``, no ``E``; ``u`` is the book update ID."""
        bid, ask = self.best()
        return {
            "u": self.update_id,
            "s": self.symbol,
            "b": self.px(bid),
            "B": self.qty(self.bids[bid]),
            "a": self.px(ask),
            "A": self.qty(self.asks[ask]),
        }

    def partial(self, levels: int) -> Payload:
        """``@depth<N>`` (§10): a top-N snapshot with no symbol and no event type."""
        bids = self.bid_ticks[-levels:][::-1]
        return {
            "lastUpdateId": self.update_id,
            "bids": self._levels(self.bids, bids, levels),
            "asks": self._levels(self.asks, self.ask_ticks, levels),
        }

    # -- trades, candles, 24 h ticker ----------------------------------------------------

    def order(self, now_us: int, fills: int = 1) -> tuple[list[Payload], Payload]:
        """One taker order: its ``trade`` events (one per fill) and its ``aggTrade`` (§8).

        ``m`` is true when the buyer was the maker (the taker sold at the best bid). The
        book is not touched: trades and book changes are independent in this market.
        """
        rng = self.rng
        taker_sold = rng.random() < 0.5
        bid, ask = self.best()
        price = bid if taker_sold else ask
        trade_time = now_us - rng.randint(0, 3_000)
        trades: list[Payload] = []
        first = self.next_trade_id
        total = 0
        for _ in range(max(1, fills)):
            lots = self._trade_lots()
            trade_id = self.next_trade_id
            self.next_trade_id += 1
            total += lots
            self._record_trade(trade_id, price, lots, not taker_sold, trade_time)
            trades.append(
                {
                    "e": "trade",
                    "E": now_us,
                    "s": self.symbol,
                    "t": trade_id,
                    "p": self.px(price),
                    "q": self.qty(lots),
                    "T": trade_time,
                    "m": taker_sold,
                    "M": True,
                }
            )
        agg: Payload = {
            "e": "aggTrade",
            "E": now_us,
            "s": self.symbol,
            "a": self.next_agg_id,
            "p": self.px(price),
            "q": self.qty(total),
            "f": first,
            "l": self.next_trade_id - 1,
            "T": trade_time,
            "m": taker_sold,
            "M": True,
        }
        self.next_agg_id += 1
        return trades, agg

    def _record_trade(
        self, trade_id: int, price: int, lots: int, taker_bought: bool, t_us: int
    ) -> None:
        quote = Decimal(price) * self.info.tick * Decimal(lots) * self.info.lot
        self.last_price, self.last_qty = price, lots
        self.day_high, self.day_low = max(self.day_high, price), min(self.day_low, price)
        self.day_volume += lots
        self.day_quote += quote
        for key, candle in list(self.candles.items()):
            if t_us > candle.end:
                candle = self._roll(key, t_us)
            if candle.count == 0:
                candle.first_id = trade_id
            candle.last_id = trade_id
            candle.count += 1
            candle.close = price
            candle.high, candle.low = max(candle.high, price), min(candle.low, price)
            candle.volume += lots
            candle.quote += quote
            if taker_bought:
                candle.taker_volume += lots
                candle.taker_quote += quote

    def _roll(self, key: tuple[str, bool], t_us: int) -> _Candle:
        start, end = interval_bounds(key[0], key[1], t_us)
        price = self.last_price
        old = self.candles.get(key)
        if old is not None:
            price = old.close
            self.closed.setdefault(key, deque(maxlen=4)).append(old)
        candle = self.candles[key] = _Candle(start, end, price, price, price, price)
        return candle

    def _kline(self, key: tuple[str, bool], candle: _Candle, closed: bool, now_us: int) -> Payload:
        return {
            "e": "kline",
            "E": now_us,
            "s": self.symbol,
            "k": {
                "t": candle.start,
                "T": candle.end,
                "s": self.symbol,
                "i": key[0],
                "f": candle.first_id,
                "L": candle.last_id,
                "o": self.px(candle.open),
                "c": self.px(candle.close),
                "h": self.px(candle.high),
                "l": self.px(candle.low),
                "v": self.qty(candle.volume),
                "n": candle.count,
                "x": closed,
                "q": format(candle.quote.quantize(EIGHT), "f"),
                "V": self.qty(candle.taker_volume),
                "Q": format(candle.taker_quote.quantize(EIGHT), "f"),
                "B": "0",
            },
        }

    def klines(
        self, interval: str, utc8: bool, now_us: int, close: bool = False, rollover: bool = True
    ) -> list[Payload]:
        """Kline events (§9) for one interval, current candle last.

        If the wall clock has passed the candle's end, the candle rolls over first. With
        ``rollover`` the final ``x:true`` events of the candles that rolled over since the last
        call (by the clock or by a trade) come first; without, they are dropped. ``close``
        sends the current candle as closed (``x:true``) and starts the next one at its end + 1.
        """
        key = (interval, utc8)
        candle = self.candles.get(key)
        if candle is None or now_us > candle.end:
            candle = self._roll(key, now_us)
        done = self.closed.pop(key, ())
        out = [self._kline(key, old, True, now_us) for old in done] if rollover else []
        out.append(self._kline(key, candle, close, now_us))
        if close:
            self._roll(key, candle.end + 1)
            self.closed.pop(key, None)  # just sent as closed
        return out

    def ticker(self, now_us: int) -> Payload:
        """``@ticker`` (§9): the 24 h rolling-window statistics."""
        bid, ask = self.best()
        change = (self.last_price - self.day_open) * self.info.tick
        percent = change * 100 / (self.day_open * self.info.tick)
        vwap = self.day_quote / (Decimal(self.day_volume) * self.info.lot)
        return {
            "e": "24hrTicker",
            "E": now_us,
            "s": self.symbol,
            "p": format(change.quantize(EIGHT), "f"),
            "P": format(percent.quantize(Decimal("0.001")), "f"),
            "w": format(vwap.quantize(EIGHT), "f"),
            "x": self.px(self.prev_close),
            "c": self.px(self.last_price),
            "Q": self.qty(self.last_qty),
            "b": self.px(bid),
            "B": self.qty(self.bids[bid]),
            "a": self.px(ask),
            "A": self.qty(self.asks[ask]),
            "o": self.px(self.day_open),
            "h": self.px(self.day_high),
            "l": self.px(self.day_low),
            "v": self.qty(self.day_volume),
            "q": format(self.day_quote.quantize(EIGHT), "f"),
            "O": now_us - DAY_MS * US_PER_MS,
            "C": now_us,
            "F": self.day_first_id,
            "L": self.next_trade_id - 1,
            "n": self.next_trade_id - self.day_first_id,
        }
