"""Synthetic live feed of the Binance Spot simulator (``rate > 0``).

Written from ``shared/protocols/binance.md`` only (§8-§10). ``rate`` times a second the feed
picks a symbol with active streams (seeded) and makes one market step: a taker order with 1-3
fills (``@trade`` per fill, one ``@aggTrade``) or a book change of 1-3 update IDs (with a
real-time ``@bookTicker`` when the top of the book moved). Timed streams go out on the note's
cadence, the first one at once: diff and partial depth every 1000 ms or 100 ms (diff events
only when the book changed), klines every 2000 ms (1000 ms for ``1s``; a candle that ended,
by the clock or by a trade, gets its closing ``x:true`` event first), ``@ticker`` every
1000 ms. Diff changes of a speed nobody holds are dropped, so a new subscriber's first event
is recent.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping

from bridges.binance.sim_market import SymbolMarket
from bridges.binance.sim_streams import Payload, Stream, stream_name

DIFF_SPEEDS = ((1_000, "depth"), (100, "depth@100ms"))
_TIMED_KINDS = frozenset({"depth", "partial", "kline", "ticker"})


class Feed:
    """Drives the markets and sends through ``deliver(stream, payload)``."""

    def __init__(
        self,
        markets: Mapping[str, SymbolMarket],
        rate: float,
        seed: int,
        active: Callable[[], dict[str, Stream]],
        silent: Callable[[], bool],
        deliver: Callable[[str, Payload], Awaitable[int]],
        clock_us: Callable[[], int],
    ) -> None:
        self.markets, self.rate = markets, rate
        self.active, self.silent, self.deliver, self.clock_us = active, silent, deliver, clock_us
        self.pick_rng = random.Random(f"binance-pick|{seed}")
        self.due: dict[str, float] = {}

    async def run(self) -> None:
        rate = self.rate
        loop = asyncio.get_running_loop()
        tick = min(0.02, max(0.002, 1.0 / rate))
        max_credit = max(1.0, rate * 0.2)  # never burst more than 200 ms worth of steps
        credit, last = 0.0, loop.time()
        while True:
            await asyncio.sleep(tick)
            now = loop.time()
            credit, last = min(credit + (now - last) * rate, max_credit), now
            active = {
                name: stream
                for name, stream in self.active().items()
                if stream.symbol is not None and stream.kind != "unmodelled"
            }
            if self.silent() or not active:
                credit = 0.0
                self.due.clear()
                continue
            symbols = sorted({s.symbol for s in active.values() if s.symbol is not None})
            while credit >= 1.0:
                credit -= 1.0
                await self.step(self.markets[symbols[self.pick_rng.randrange(len(symbols))]])
            await self.timed(now, active)

    async def step(self, market: SymbolMarket) -> None:
        """One market step: a taker order (1-3 fills) or a book change."""
        if market.rng.random() < 0.35:
            trades, agg = market.order(self.clock_us(), market.rng.randint(1, 3))
            for trade in trades:
                await self.deliver(stream_name(market.symbol, "trade"), trade)
            await self.deliver(stream_name(market.symbol, "aggTrade"), agg)
        elif market.move_book():
            await self.deliver(stream_name(market.symbol, "bookTicker"), market.book_ticker())

    def _period(self, stream: Stream) -> float:
        if stream.kind == "kline":
            return 1.0 if stream.interval == "1s" else 2.0
        if stream.kind == "ticker":
            return 1.0
        return stream.speed_ms / 1000

    async def timed(self, now: float, active: dict[str, Stream]) -> None:
        """Send the timed streams that are due."""
        for name in [n for n in self.due if n not in active]:
            del self.due[name]
        for market in self.markets.values():
            for speed, suffix in DIFF_SPEEDS:
                if stream_name(market.symbol, suffix) not in active:
                    market.take_diff(speed, 0)  # nobody holds it: drop the changes
        for name, stream in active.items():
            if stream.kind not in _TIMED_KINDS or stream.symbol is None:
                continue
            period = self._period(stream)
            due = self.due.setdefault(name, now)  # first event right away
            if now < due:
                continue
            self.due[name] = max(due + period, now)
            market, now_us = self.markets[stream.symbol], self.clock_us()
            if stream.kind == "depth":
                event = market.take_diff(stream.speed_ms, now_us)
                if event is not None:
                    await self.deliver(name, event)
            elif stream.kind == "partial":
                await self.deliver(name, market.partial(stream.levels))
            elif stream.kind == "ticker":
                await self.deliver(name, market.ticker(now_us))
            else:
                for event in market.klines(stream.interval, stream.utc8, now_us):
                    await self.deliver(name, event)
