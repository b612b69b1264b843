"""Synthetic market for the Coinbase Advanced Trade simulator (:mod:`bridges.coinbase.sim`).

Written from ``shared/protocols/coinbase.md`` only (section numbers refer to it). This module
holds the pure parts: the product catalogue, one seeded market per product (a full-depth L2
book, recent trades, 24 h / 52 w statistics and the current five-minute candle), the event
bodies of every simulated channel, and the wire formats of decimals and times.

* Decimals are JSON strings (§6). Book prices and sizes have no fixed scale: trailing zeros
  are dropped (``"79944"``, ``"0.048"``, §8). Trade sizes and volumes carry 8 decimals as in
  the §6 example (``"0.00150000"``).
* Envelope ``timestamp``: RFC 3339 UTC with nanoseconds (§4). Trade ``time`` and level
  ``event_time``: RFC 3339 UTC with microseconds (§6). Candle ``start``: UNIX seconds as a
  string (§7). Heartbeat ``current_time``: Go's ``time.Time`` string (§2).
* Each product's market is seeded from ``(seed, product_id)``, so its values do not depend on
  which other products exist. Apart from wall-clock times every value is a pure function of
  the seed and of the sequence of calls; snapshot ordering uses its own generator, so taking a
  snapshot does not change the market's path.
"""

from __future__ import annotations

import bisect
import random
import time
from collections import deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from decimal import Decimal

__all__ = [
    "CANDLE_SECONDS",
    "DEFAULT_PRODUCTS",
    "Event",
    "ProductMarket",
    "SyntheticMarket",
    "fmt_decimal",
    "go_time",
    "rfc3339_micros",
    "rfc3339_nanos",
]

Event = dict[str, object]

#: Products the simulator knows by default: the note's examples (§3, §5) plus two derivatives
#: (``BTC-PERP-INTX`` appears in the captured ack, §3) to exercise the split on the first ``-``.
DEFAULT_PRODUCTS: tuple[str, ...] = (
    "BTC-USD",
    "ETH-USD",
    "BTC-EUR",
    "ETH-EUR",
    "USDT-USD",
    "BTC-PERP-INTX",
    "ETH-PERP-INTX",
)
_BASE_PRICES: dict[str, str] = {
    "BTC-USD": "91234.56",
    "ETH-USD": "3123.45",
    "BTC-EUR": "84321.09",
    "ETH-EUR": "2876.54",
    "USDT-USD": "1.0001",
    "BTC-PERP-INTX": "91240.0",
    "ETH-PERP-INTX": "3124.0",
}
CANDLE_SECONDS = 300  # candles are five-minute buckets only (§7)
_EIGHT = Decimal("0.00000001")
_SIDES = ("bid", "offer")


# -- wire formats -------------------------------------------------------------------------------


def fmt_decimal(value: Decimal) -> str:
    """A decimal string without exponent and without trailing zeros (``"79944"``, ``"0.048"``)."""
    text = f"{value.normalize():f}"
    return "0" if text in ("-0", "0") else text


def _fmt8(value: Decimal) -> str:
    return f"{value.quantize(_EIGHT):f}"


def _utc(ns: int) -> tuple[str, int]:
    seconds, frac = divmod(ns, 1_000_000_000)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S"), frac


def rfc3339_nanos(ns: int) -> str:
    """``2026-11-20T10:00:00.123456789Z`` (the envelope ``timestamp``, §4)."""
    stamp, frac = _utc(ns)
    return f"{stamp}.{frac:09d}Z"


def rfc3339_micros(ns: int) -> str:
    """``2026-11-20T10:00:01.123456Z`` (trade ``time``, level ``event_time``, §6, §8)."""
    stamp, frac = _utc(ns)
    return f"{stamp}.{frac // 1000:06d}Z"


def go_time(ns: int, uptime_ns: int) -> str:
    """``2026-09-07 23:37:22.674409 +0000 UTC m=+139651.272674714`` (heartbeat, §2)."""
    stamp, frac = _utc(ns)
    up_s, up_frac = divmod(max(0, uptime_ns), 1_000_000_000)
    return f"{stamp.replace('T', ' ')}.{frac // 1000:06d} +0000 UTC m=+{up_s}.{up_frac:09d}"


# -- one product --------------------------------------------------------------------------------


class ProductMarket:
    """One product's seeded market: book, recent trades, statistics and the current candle."""

    def __init__(self, product_id: str, seed: int, depth: int, history: int, now_ns: int) -> None:
        self.product_id = product_id
        self.depth = depth
        self._rng = random.Random(f"coinbase:{seed}:{product_id}")
        self._shuffle_rng = random.Random(f"coinbase-shuffle:{seed}:{product_id}")
        rng = self._rng
        base = Decimal(_BASE_PRICES.get(product_id) or str(rng.randint(10, 1000)))
        self.tick = Decimal("0.01") if base >= 10 else Decimal("0.00001")
        mid = (base * Decimal(1 + rng.uniform(-0.01, 0.01))).quantize(self.tick)
        # Sorted ascending price lists plus price → (quantity, last change in ns) per side.
        self._prices: dict[str, list[Decimal]] = {"bid": [], "offer": []}
        self._levels: dict[str, dict[Decimal, tuple[Decimal, int]]] = {"bid": {}, "offer": {}}
        self._fill("bid", mid, -1, now_ns)
        self._fill("offer", mid + self.tick * rng.randint(1, 3), 1, now_ns)
        self.last_price = mid
        drift = Decimal(1 + rng.uniform(-0.04, 0.04))
        self.open_24h = (mid * drift).quantize(self.tick)
        self.low_24h = min(mid, self.open_24h) - self.tick * rng.randint(1, 500)
        self.high_24h = max(mid, self.open_24h) + self.tick * rng.randint(1, 500)
        self.low_52w = (self.low_24h * Decimal("0.55")).quantize(self.tick)
        self.high_52w = (self.high_24h * Decimal("1.35")).quantize(self.tick)
        self.volume_24h = Decimal(rng.randint(1_000_000, 90_000_000_000)).scaleb(-6)
        self._next_trade_id = rng.randint(100_000_000, 900_000_000)
        self._trades: deque[Event] = deque(maxlen=history)
        self._candle_start = -1
        self._candle: dict[str, Decimal] = {}
        for i in range(history):  # one trade a second up to now
            self._trade(now_ns - (history - i) * 1_000_000_000)
        self._roll_candle(now_ns)

    # -- book ---------------------------------------------------------------------------

    def _random_qty(self) -> Decimal:
        return Decimal(self._rng.randint(1, 99_999)).scaleb(-self._rng.choice((2, 3, 4, 5, 6, 8)))

    def _fill(self, side: str, start: Decimal, direction: int, now_ns: int) -> None:
        price, levels = start, self._levels[side]
        for _ in range(self.depth):
            if price <= 0:
                break
            levels[price] = (self._random_qty(), now_ns - self._rng.randint(0, 60_000_000_000))
            price += direction * self.tick * self._rng.randint(1, 3)
        self._prices[side] = sorted(levels)

    def best(self, side: str) -> tuple[Decimal, Decimal]:
        """(price, quantity) of the best bid or offer."""
        prices = self._prices[side]
        price = prices[-1] if side == "bid" else prices[0]
        return price, self._levels[side][price][0]

    def book(self) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        """(bids best first, offers best first) as (price, quantity) pairs."""
        bids = [(p, self._levels["bid"][p][0]) for p in reversed(self._prices["bid"])]
        offers = [(p, self._levels["offer"][p][0]) for p in self._prices["offer"]]
        return bids, offers

    def _set(self, side: str, price: Decimal, qty: Decimal, now_ns: int) -> Event:
        prices, levels = self._prices[side], self._levels[side]
        if qty == 0:
            del levels[price]
            del prices[bisect.bisect_left(prices, price)]
        else:
            if price not in levels:
                bisect.insort(prices, price)
            levels[price] = (qty, now_ns)
        return self._entry(side, price, qty, now_ns)

    @staticmethod
    def _entry(side: str, price: Decimal, qty: Decimal, time_ns: int) -> Event:
        return {
            "side": side,
            "event_time": rfc3339_micros(time_ns),
            "price_level": fmt_decimal(price),
            "new_quantity": fmt_decimal(qty),
        }

    def snapshot_event(self) -> Event:
        """The ``type:"snapshot"`` l2 event: the whole book, sides interleaved, unsorted (§8)."""
        entries = [(side, price) for side in _SIDES for price in self._prices[side]]
        self._shuffle_rng.shuffle(entries)
        updates = []
        for side, price in entries:
            qty, changed = self._levels[side][price]
            updates.append(self._entry(side, price, qty, changed))
        return {"type": "snapshot", "product_id": self.product_id, "updates": updates}

    def _free_price(self, side: str) -> Decimal | None:
        """An empty price on ``side`` that keeps the book uncrossed (may improve the best)."""
        other = self.best("offer" if side == "bid" else "bid")[0]
        direction = -1 if side == "bid" else 1
        for _ in range(8):
            price = other + direction * self.tick * (1 + self._rng.randint(0, 40))
            if price > 0 and price not in self._levels[side]:
                return price
        return None

    def update_event(self, now_ns: int) -> Event:
        """Change 1-3 levels (new absolute quantity, "0" removes) and return the l2 event."""
        rng, changes, touched = self._rng, [], set()
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            side = rng.choice(_SIDES)
            prices = self._prices[side]
            top = prices[-20:] if side == "bid" else prices[:20]
            roll = rng.random()
            price: Decimal | None
            if roll < 0.25 and len(prices) > 1:
                price, qty = rng.choice(top), Decimal(0)
            elif roll < 0.5:
                price, qty = self._free_price(side), self._random_qty()
            else:
                price, qty = rng.choice(top), self._random_qty()
            if price is None or (side, price) in touched:
                continue
            touched.add((side, price))
            changes.append(self._set(side, price, qty, now_ns))
            if len(prices) > self.depth:  # keep the depth bounded: the worst level goes
                worst = prices[0] if side == "bid" else prices[-1]
                if (side, worst) not in touched:
                    touched.add((side, worst))
                    changes.append(self._set(side, worst, Decimal(0), now_ns))
        if not changes:  # always change something
            side = rng.choice(_SIDES)
            price, _ = self.best(side)
            changes.append(self._set(side, price, self._random_qty(), now_ns))
        return {"type": "update", "product_id": self.product_id, "updates": changes}

    # -- trades, ticker, candles -------------------------------------------------------------

    def _trade(self, now_ns: int) -> Event:
        side = self._rng.choice(("BUY", "SELL"))
        # ``side`` is the taker's (§6): a BUY lifts the best offer, a SELL hits the best bid.
        price = self.best("offer" if side == "BUY" else "bid")[0]
        size = Decimal(self._rng.randint(1, 50_000_000)).scaleb(-8)
        self._next_trade_id += 1
        trade: Event = {
            "trade_id": str(self._next_trade_id),
            "product_id": self.product_id,
            "price": fmt_decimal(price),
            "size": _fmt8(size),
            "side": side,
            "time": rfc3339_micros(now_ns),
        }
        self._trades.append(trade)
        self.last_price = price
        self.low_24h, self.high_24h = min(self.low_24h, price), max(self.high_24h, price)
        self.low_52w, self.high_52w = min(self.low_52w, price), max(self.high_52w, price)
        self.volume_24h += size
        self._roll_candle(now_ns)
        candle = self._candle
        candle["high"], candle["low"] = max(candle["high"], price), min(candle["low"], price)
        candle["close"] = price
        candle["volume"] += size
        return trade

    def trades(self, now_ns: int, count: int = 1) -> list[Event]:
        """``count`` new trades (oldest first); they move the ticker and the candle."""
        return [self._trade(now_ns) for _ in range(count)]

    def trades_snapshot_event(self) -> Event:
        """The ``type:"snapshot"`` market_trades event: recent trades, newest first (§6)."""
        return {"type": "snapshot", "trades": list(reversed(self._trades))}

    def ticker(self, batch: bool = False) -> Event:
        """One ``events[].tickers[]`` entry; ``batch`` omits best bid/ask (ticker_batch, §7)."""
        change = (self.last_price - self.open_24h) / self.open_24h * 100
        entry: Event = {
            "type": "ticker",
            "product_id": self.product_id,
            "price": fmt_decimal(self.last_price),
            "volume_24_h": _fmt8(self.volume_24h),
            "low_24_h": fmt_decimal(self.low_24h),
            "high_24_h": fmt_decimal(self.high_24h),
            "low_52_w": fmt_decimal(self.low_52w),
            "high_52_w": fmt_decimal(self.high_52w),
            "price_percent_chg_24_h": _fmt8(change),
        }
        if not batch:
            (bid, bid_qty), (ask, ask_qty) = self.best("bid"), self.best("offer")
            entry["best_bid"] = fmt_decimal(bid)
            entry["best_bid_quantity"] = fmt_decimal(bid_qty)
            entry["best_ask"] = fmt_decimal(ask)
            entry["best_ask_quantity"] = fmt_decimal(ask_qty)
        return entry

    def _roll_candle(self, now_ns: int) -> None:
        now_s = now_ns // 1_000_000_000
        start = now_s - now_s % CANDLE_SECONDS
        if start > self._candle_start:
            price = self.last_price
            self._candle_start = start
            self._candle = {"open": price, "high": price, "low": price, "close": price}
            self._candle["volume"] = Decimal(0)

    def candle(self, now_ns: int) -> Event:
        """The current five-minute candle as one ``events[].candles[]`` entry (§7)."""
        self._roll_candle(now_ns)
        c = self._candle
        return {
            "start": str(self._candle_start),
            "open": fmt_decimal(c["open"]),
            "high": fmt_decimal(c["high"]),
            "low": fmt_decimal(c["low"]),
            "close": fmt_decimal(c["close"]),
            "volume": _fmt8(c["volume"]),
            "product_id": self.product_id,
        }


# -- all products -------------------------------------------------------------------------------


class SyntheticMarket:
    """The catalogue and one lazily created :class:`ProductMarket` per known product."""

    def __init__(
        self,
        seed: int,
        products: Iterable[str] = DEFAULT_PRODUCTS,
        depth: int = 50,
        history: int = 50,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.seed, self.depth, self.history, self.clock = seed, depth, history, clock
        self.products: tuple[str, ...] = tuple(dict.fromkeys(products))
        self._markets: dict[str, ProductMarket] = {}

    def knows(self, product_id: str) -> bool:
        return product_id in self.products

    def product(self, product_id: str) -> ProductMarket:
        """The market of ``product_id``; ValueError if the product is not in the catalogue."""
        market = self._markets.get(product_id)
        if market is None:
            if product_id not in self.products:
                raise ValueError(f"unknown product {product_id!r}")
            market = ProductMarket(product_id, self.seed, self.depth, self.history, self.clock())
            self._markets[product_id] = market
        return market
