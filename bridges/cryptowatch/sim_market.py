"""Synthetic markets for the Cryptowatch simulator (pure: no I/O, no asyncio).

Written from ``shared/protocols/cryptowatch.md`` only (section numbers refer to it). One
deterministic market per catalogue id (seeded per market, so one market's values do not depend
on which others exist) renders ``StreamMessage{marketUpdate}``: trades, the 24 h summary,
candles for several periods, order book snapshots and deltas on a seqNum chain (§6) and
spreads; :class:`SyntheticMarkets` also renders ``StreamMessage{pairUpdate}`` for the pair
subjects.

Prices and amounts are Decimals written with ``format(d, "f")``: decimal strings with a fixed
number of decimals per market, never float noise. Timestamps come from the injected clock;
every other value is a pure function of the seed and the sequence of calls.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeAlias

from bridges.cryptowatch.sim_catalogue import MARKETS, MarketInfo, Topic
from proto.cryptowatch import markets_pb2, stream_pb2

# --------------------------------------------------------------------------------------------
# Market state
# --------------------------------------------------------------------------------------------

NS = 1_000_000_000
AMOUNT_EXP = Decimal("0.00000001")  # base amounts and volumes: 8 decimals
QUOTE_EXP = Decimal("0.01")  # quote amounts and volumes: 2 decimals
RATIO_EXP = Decimal("0.000001")
#: Candle periods in seconds (§2 Interval.periodName, without "604800_Monday").
PERIODS = (60, 180, 300, 900, 1800, 3600, 7200, 14400, 21600, 43200, 86400, 259200, 604800)
PERFORMANCE_WINDOWS = ("24h", "1w", "1m", "3m", "6m", "ytd", "1y", "2y", "3y", "4y", "5y")
MIN_LEVELS, START_LEVELS, MAX_LEVELS = 5, 15, 30

_START_PRICE: dict[str, Decimal] = {
    "btcusd": Decimal("97000.0"),
    "btceur": Decimal("89500.0"),
    "btcusdt": Decimal("97020.0"),
    "ethusd": Decimal("3400.00"),
    "ltcusd": Decimal("101.00"),
}
_STEP: dict[int, Decimal] = {60: Decimal("0.1"), 62: Decimal("0.01"), 77: Decimal("0.01")}
_AMOUNT_SCALE: dict[int, int] = {60: 1, 62: 100, 77: 20}

Side: TypeAlias = dict[Decimal, Decimal]
Touched: TypeAlias = dict[Decimal, Decimal | None]  # price -> new amount, None = removed


def _rng_for(seed: int, *parts: str) -> random.Random:
    digest = hashlib.sha256("|".join((str(seed), *parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _s(value: Decimal) -> str:
    return format(value, "f")


def _order(price: Decimal, amount: Decimal) -> markets_pb2.Order:
    return markets_pb2.Order(priceStr=_s(price), amountStr=_s(amount))


def _int32(value: int) -> int:
    """seqNum is int32 on the wire but a wrapping uint32 to clients (§6)."""
    return (value + 2**31) % 2**32 - 2**31


@dataclass
class _Candle:
    period: int
    start: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume_base: Decimal
    volume_quote: Decimal

    def roll(self, now_s: int) -> None:
        start = now_s - now_s % self.period
        if start > self.start:
            self.start = start
            self.open = self.high = self.low = self.close
            self.volume_base = Decimal(0) * AMOUNT_EXP
            self.volume_quote = Decimal(0) * QUOTE_EXP

    def add(self, price: Decimal, amount: Decimal) -> None:
        self.close = price
        self.high = max(self.high, price)
        self.low = min(self.low, price)
        self.volume_base += amount
        self.volume_quote = (self.volume_quote + price * amount).quantize(QUOTE_EXP)

    def interval(self) -> markets_pb2.Interval:
        ohlc = markets_pb2.Interval.OHLC(
            openStr=_s(self.open),
            highStr=_s(self.high),
            lowStr=_s(self.low),
            closeStr=_s(self.close),
        )
        return markets_pb2.Interval(
            closetime=self.start + self.period,
            opentime=self.start,
            ohlc=ohlc,
            period=self.period,
            periodName=str(self.period),
            volumeBaseStr=_s(self.volume_base),
            volumeBaseStrV2=_s(self.volume_base),
            volumeQuoteStr=_s(self.volume_quote),
        )


class SyntheticMarket:
    """One market: an order book with a seqNum chain, trades, 24 h stats and candles."""

    def __init__(self, info: MarketInfo, seed: int, now_ns: int) -> None:
        self.info = info
        rng = self.rng = _rng_for(seed, "market", str(info.id))
        self.step = _STEP[info.base_id]
        self.scale = _AMOUNT_SCALE[info.base_id]
        mid = _START_PRICE[info.pair] + self.step * rng.randint(-500, 500)
        half = self.step * rng.randint(1, 3)
        self.bids: Side = {}
        self.asks: Side = {}
        for levels, sign in ((self.bids, -1), (self.asks, 1)):
            price = mid + sign * half
            for _ in range(START_LEVELS):
                levels[price] = self._amount(100_000, 300_000_000)
                price += sign * self.step * rng.randint(1, 3)
        self.seq = rng.randint(1_000, 99_999)
        self.gaps = 0  # deltas to apply without sending (inject_gap)
        self.trade_id = rng.randint(10_000_000, 90_000_000)
        self.last_trade_ns = 0
        self.last = mid
        self.open24 = mid + self.step * rng.randint(-3_000, 3_000)
        self.high = max(self.open24, mid) + self.step * rng.randint(0, 2_000)
        self.low = min(self.open24, mid) - self.step * rng.randint(0, 2_000)
        self.volume_base = self._amount(10**10, 5 * 10**11)
        self.volume_quote = (self.volume_base * mid).quantize(QUOTE_EXP)
        self.num_trades = rng.randint(5_000, 200_000)
        now_s = now_ns // NS
        self.candles: dict[int, _Candle] = {}
        for period in PERIODS:
            spread = min(period // 60, 200)
            opening = mid + self.step * rng.randint(-spread, spread)
            volume = self._amount(10**6, 10**8 * min(period // 60, 100))
            self.candles[period] = _Candle(
                period,
                now_s - now_s % period,
                opening,
                max(opening, mid) + self.step * rng.randint(0, spread),
                min(opening, mid) - self.step * rng.randint(0, spread),
                mid,
                volume,
                (volume * mid).quantize(QUOTE_EXP),
            )

    def _amount(self, low: int, high: int) -> Decimal:
        return Decimal(self.rng.randint(low, high) * self.scale) * AMOUNT_EXP

    def _ref(self) -> markets_pb2.Market:
        info = self.info
        return markets_pb2.Market(
            exchangeId=info.exchange_id, currencyPairId=info.pair_id, marketId=info.id
        )

    def _best(self) -> tuple[Decimal, Decimal]:
        bid = max(self.bids) if self.bids else self.last - self.step
        ask = min(self.asks) if self.asks else self.last + self.step
        return bid, ask

    # -- order book (§2 OrderBookUpdate / OrderBookDeltaUpdate, §6 sequencing) -------------

    def book_snapshot(self) -> markets_pb2.MarketUpdateMessage:
        """The full book; seqNum is that of the last delta it includes (§6)."""
        update = markets_pb2.OrderBookUpdate(
            bids=[_order(p, self.bids[p]) for p in sorted(self.bids, reverse=True)],
            asks=[_order(p, self.asks[p]) for p in sorted(self.asks)],
            seqNum=self.seq,
        )
        return markets_pb2.MarketUpdateMessage(market=self._ref(), orderBookUpdate=update)

    def book_delta(self) -> markets_pb2.MarketUpdateMessage:
        """The next delta (seqNum + 1); pending injected gaps are applied first, unseen."""
        while self.gaps > 0:
            self.gaps -= 1
            self._book_change()  # the book changes but no delta says so: seqNum skips one
        bids, asks = self._book_change()
        update = markets_pb2.OrderBookDeltaUpdate(seqNum=self.seq)
        if bids:  # an untouched side is left out
            update.bids.CopyFrom(_deltas(bids, descending=True))
        if asks:
            update.asks.CopyFrom(_deltas(asks, descending=False))
        return markets_pb2.MarketUpdateMessage(market=self._ref(), orderBookDeltaUpdate=update)

    def _book_change(self) -> tuple[Touched, Touched]:
        """Change 1-3 levels and advance seqNum; the book never crosses."""
        rng = self.rng
        touched: tuple[Touched, Touched] = ({}, {})
        for _ in range(rng.randint(1, 3)):
            side = rng.randrange(2)
            levels = self.asks if side else self.bids
            roll = rng.random()
            if len(levels) < MIN_LEVELS or (roll < 0.4 and len(levels) < MAX_LEVELS):
                bid, ask = self._best()  # a new level never reaches the other side's best
                offset = self.step * rng.randint(1, 20)
                price = bid + offset if side else ask - offset
            elif roll < 0.7 and len(levels) > MIN_LEVELS:
                price = rng.choice(sorted(levels))
                del levels[price]
                touched[side][price] = None
                continue
            else:
                price = rng.choice(sorted(levels))
            amount = levels[price] = self._amount(100_000, 300_000_000)
            touched[side][price] = amount
        self.seq = _int32(self.seq + 1)
        return touched

    def reset_sequence(self) -> None:
        """A backend restart (§6): seqNum restarts at a lower value (0 stays 0)."""
        self.seq = self.rng.randint(0, min(self.seq - 1, 999)) if self.seq > 0 else 0

    def spread(self, now_ns: int) -> markets_pb2.MarketUpdateMessage:
        bid, ask = self._best()
        update = markets_pb2.OrderBookSpreadUpdate(
            timestamp=now_ns // 1_000_000,  # milliseconds (§2)
            bid=_order(bid, self.bids.get(bid, Decimal(0) * AMOUNT_EXP)),
            ask=_order(ask, self.asks.get(ask, Decimal(0) * AMOUNT_EXP)),
        )
        return markets_pb2.MarketUpdateMessage(market=self._ref(), orderBookSpreadUpdate=update)

    # -- trades, summary, candles --------------------------------------------------------

    def trade(self, now_ns: int) -> markets_pb2.Trade:
        """One trade at the best bid or ask; updates the 24 h stats and the candles."""
        rng = self.rng
        buy = rng.random() < 0.5
        bid, ask = self._best()
        price = ask if buy else bid
        amount = self._amount(1_000, 50_000_000)
        self.trade_id += rng.randint(1, 3)
        ts_ns = max(now_ns - rng.randint(1_000_000, 50_000_000), self.last_trade_ns + 1)
        self.last_trade_ns = ts_ns
        self.last = price
        self.high, self.low = max(self.high, price), min(self.low, price)
        self.volume_base += amount
        self.volume_quote = (self.volume_quote + price * amount).quantize(QUOTE_EXP)
        self.num_trades += 1
        for candle in self.candles.values():
            candle.roll(ts_ns // NS)
            candle.add(price, amount)
        return markets_pb2.Trade(
            externalId=str(self.trade_id),
            timestamp=ts_ns // NS,
            timestampNano=ts_ns,
            priceStr=_s(price),
            amountStr=_s(amount),
            amountBaseStr=_s(amount),
            amountQuoteStr=_s((price * amount).quantize(QUOTE_EXP)),
            orderSide=markets_pb2.Trade.BUYSIDE if buy else markets_pb2.Trade.SELLSIDE,
        )

    def trades(self, now_ns: int) -> markets_pb2.MarketUpdateMessage:
        update = markets_pb2.TradesUpdate(
            trades=[self.trade(now_ns) for _ in range(self.rng.randint(1, 3))]
        )
        return markets_pb2.MarketUpdateMessage(market=self._ref(), tradesUpdate=update)

    def summary(self) -> markets_pb2.MarketUpdateMessage:
        change = self.last - self.open24
        update = markets_pb2.SummaryUpdate(
            numTrades=min(self.num_trades, 2**31 - 1),
            lastStr=_s(self.last),
            highStr=_s(self.high),
            lowStr=_s(self.low),
            volumeBaseStr=_s(self.volume_base),
            volumeBaseStrV2=_s(self.volume_base),
            volumeQuoteStr=_s(self.volume_quote),
            changeAbsoluteStr=_s(change),
            changePercentStr=_s((change / self.open24).quantize(RATIO_EXP)),  # a fraction
        )
        return markets_pb2.MarketUpdateMessage(market=self._ref(), summaryUpdate=update)

    def intervals(self, now_ns: int) -> markets_pb2.MarketUpdateMessage:
        """Candles for "60" and two other periods in one update (as in captures, §2)."""
        periods = sorted((60, *self.rng.sample(PERIODS[1:], 2)))
        update = markets_pb2.IntervalsUpdate()
        for period in periods:
            candle = self.candles[period]
            candle.roll(now_ns // NS)
            update.intervals.append(candle.interval())
        return markets_pb2.MarketUpdateMessage(market=self._ref(), intervalsUpdate=update)


def _deltas(touched: Touched, *, descending: bool) -> markets_pb2.OrderBookDeltaUpdate.OrderDeltas:
    """Final state per touched price: a price is either set or removed, never both (§6)."""
    prices = sorted(touched, reverse=descending)
    amounts = [(p, touched[p]) for p in prices]
    return markets_pb2.OrderBookDeltaUpdate.OrderDeltas(
        set=[_order(p, a) for p, a in amounts if a is not None],
        removeStr=[_s(p) for p, a in amounts if a is None],
    )


# --------------------------------------------------------------------------------------------
# All markets
# --------------------------------------------------------------------------------------------


def _market_update(message: markets_pb2.MarketUpdateMessage) -> stream_pb2.StreamMessage:
    return stream_pb2.StreamMessage(marketUpdate=message)


class SyntheticMarkets:
    """Every market of :data:`MARKETS`, created on first use; renders StreamMessages."""

    def __init__(self, seed: int, clock_ns: Callable[[], int] = time.time_ns) -> None:
        self.seed = seed
        self.clock_ns = clock_ns
        self._markets: dict[int, SyntheticMarket] = {}
        self._pair_rngs: dict[int, random.Random] = {}

    def market(self, market_id: int) -> SyntheticMarket:
        """The market with that id; ValueError for an id not in the catalogue."""
        market = self._markets.get(market_id)
        if market is None:
            if market_id not in MARKETS:
                raise ValueError(f"unknown market {market_id}")
            market = SyntheticMarket(MARKETS[market_id], self.seed, self.clock_ns())
            self._markets[market_id] = market
        return market

    def snapshot(self, market_id: int) -> stream_pb2.StreamMessage:
        return _market_update(self.market(market_id).book_snapshot())

    def delta(self, market_id: int) -> stream_pb2.StreamMessage:
        return _market_update(self.market(market_id).book_delta())

    def inject_gap(self, market_id: int) -> None:
        self.market(market_id).gaps += 1

    def reset_sequence(self, market_id: int) -> None:
        self.market(market_id).reset_sequence()

    def update(self, topic: Topic) -> list[tuple[Topic, stream_pb2.StreamMessage]]:
        """One synthetic step for ``topic``: the messages it produces and where they go.

        Every change of a book is a delta sent on ``book:deltas``, so picking
        ``book:snapshots`` or ``book:spread`` also yields the delta that moved the book.
        """
        kind, ident, subject = topic
        if kind == "pairs":
            return [(topic, self.pair_update(ident, subject))]
        market = self.market(ident)
        now_ns = self.clock_ns()
        if subject == "trades":
            return [(topic, _market_update(market.trades(now_ns)))]
        if subject == "summary":
            market.trade(now_ns)  # a trade the summary counts, not sent on its own
            return [(topic, _market_update(market.summary()))]
        if subject == "ohlc":
            market.trade(now_ns)
            return [(topic, _market_update(market.intervals(now_ns)))]
        out = [(("markets", ident, "book:deltas"), self.delta(ident))]
        if subject == "book:spread":
            out.append((topic, _market_update(market.spread(now_ns))))
        return out

    def pair_update(self, pair_id: int, subject: str) -> stream_pb2.StreamMessage:
        """vwap, performance or trendline of a pair, from its markets' 24 h stats."""
        markets = [self.market(m.id) for m in MARKETS.values() if m.pair_id == pair_id]
        rng = self._pair_rngs.setdefault(pair_id, _rng_for(self.seed, "pair", str(pair_id)))
        now_ns = self.clock_ns()
        base = sum((m.volume_base for m in markets), Decimal(0))
        quote = sum((m.volume_quote for m in markets), Decimal(0))
        step = markets[0].step
        update = markets_pb2.PairUpdateMessage(pair=pair_id)
        if subject == "vwap":
            vwap = float((quote / base).quantize(step))  # a double on the wire (§2)
            update.vwapUpdate.CopyFrom(
                markets_pb2.PairVwapUpdate(vwap=vwap, timestamp=now_ns // NS, timestampNano=now_ns)
            )
        elif subject == "performance":
            update.performanceUpdate.CopyFrom(
                markets_pb2.PairPerformanceUpdate(
                    window=rng.choice(PERFORMANCE_WINDOWS),
                    performance=round(rng.uniform(-0.25, 0.25), 6),
                )
            )
        else:
            price = sum((m.last for m in markets), Decimal(0)) / len(markets)
            update.trendlineUpdate.CopyFrom(
                markets_pb2.PairTrendlineUpdate(
                    window=rng.choice(PERFORMANCE_WINDOWS),
                    time=now_ns // NS,
                    price=_s(price.quantize(step)),
                    volume=_s(base),
                )
            )
        return stream_pb2.StreamMessage(pairUpdate=update)
