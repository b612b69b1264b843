"""Binance Spot public market-stream simulator (a real ``websockets`` server on 127.0.0.1).

Written only from ``shared/protocols/binance.md``; independent of any client code. Section
numbers refer to the note. One port serves both halves:

* WebSocket (§1, §4): ``/ws``, ``/ws/<stream>`` and ``/stream?streams=a/b`` (frames wrapped as
  ``{"stream","data"}``), optional ``timeUnit=MICROSECOND``; SUBSCRIBE, UNSUBSCRIBE,
  LIST_SUBSCRIPTIONS, SET_PROPERTY / GET_PROPERTY ``combined``. Endpoint and request rules,
  error frames and the texts the note does not give: :mod:`bridges.binance.sim_session`.
  Unknown symbols subscribe fine and stay silent (§4 UNCERTAIN).
* REST (§5, §10): ``/api/v3/depth`` and ``/api/v3/exchangeInfo`` with request weights, 429 and
  418 (:mod:`bridges.binance.sim_rest`). Every REST target is recorded in ``rest_requests``.
* Streams and payloads: :mod:`bridges.binance.sim_market`; the ``rate > 0`` live feed and its
  cadences: :mod:`bridges.binance.sim_feed`. With ``rate == 0`` nothing is sent unless a test
  asks (``send_trade``, ``send_depth_update``, ...).

Limits and lifetime: more than ``max_messages_per_second`` incoming text, binary, ping or pong
frames within any 1 s close the connection (1008) and later messages are not processed (§5).
A SUBSCRIBE past ``max_streams_per_connection`` is refused (code 2, ``too many parameters``);
so is a URL with too many streams (HTTP 400). Pings every ``ping_interval`` s (the next one
after the pong); no pong echoing the payload within ``pong_timeout`` s closes the connection
(1011; keepalive is left to ``websockets``, §3). Connections close (1001) after
``connection_lifetime`` s (§2). More than ``max_connection_attempts`` handshakes within
``connection_attempt_window`` s get HTTP 429 (the note gives the limit, not the consequence).
:meth:`~BinanceSimulator.server_shutdown` sends ``serverShutdown`` (``!serverShutdown`` on
combined connections) and closes those connections (1001) after ``shutdown_grace`` s; the note
promises no lead time (§2).

``set_silent(True)`` suppresses every frame (acks, errors, data, ``serverShutdown``); pings
continue. No permessage-deflate (§11). Run it standalone: ``python -m bridges.binance.sim``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from bridges.binance.sim_feed import DIFF_SPEEDS, Feed
from bridges.binance.sim_market import SymbolMarket
from bridges.binance.sim_rest import RestApi, WeightLimiter
from bridges.binance.sim_server import SimConfig, StreamServer, now_us
from bridges.binance.sim_session import WsConnection
from bridges.binance.sim_streams import CATALOGUE, parse_stream, stream_name
from bridges.simcli import run_until_stopped

__all__ = [
    "BinanceSimulator",
    "SimConfig",
    "add_arguments",
    "config_from_args",
    "demo",
    "main",
    "run",
]


_DEFAULT = SimConfig()


class BinanceSimulator(StreamServer):
    """A Binance Spot market-stream and depth-snapshot server for tests, benchmarks and demos."""

    def __init__(self, config: SimConfig = _DEFAULT) -> None:
        now = now_us()
        self._markets = {s: SymbolMarket(info, config.seed, now) for s, info in CATALOGUE.items()}
        limiter = WeightLimiter(
            config.rest_weight_per_minute, config.rest_weight_window, config.rest_ban_seconds
        )
        super().__init__(config, RestApi(self._markets, limiter, config.geo_blocked))

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        await self._listen(
            self._handler,
            self.config.host,
            self.config.port,
            process_request=self._process_request,
            create_connection=WsConnection,
            ping_interval=self.config.ping_interval or None,
            ping_timeout=self.config.pong_timeout or None,
            close_timeout=1.0,
        )
        if self.config.rate > 0:
            feed = Feed(
                self._markets,
                self.config.rate,
                self.config.seed,
                self._active,
                lambda: self._silent,
                self._deliver,
                now_us,
            )
            self._in_background(feed.run(), "binance-sim-feed")

    async def stop(self) -> None:
        """Also ends the per-connection jobs still pending (delayed frames and closes)."""
        jobs = list(self._tasks)
        for job in jobs:
            job.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)
        await super().stop()

    @property
    def url(self) -> str:
        """WebSocket base; clients add ``/ws…`` or ``/stream?streams=…``."""
        return f"ws://{self.config.host}:{self.port}"

    @property
    def rest_url(self) -> str:
        """REST base; clients add ``/api/v3/depth?symbol=…&limit=…``."""
        return f"http://{self.config.host}:{self.port}"

    # -- scripting -----------------------------------------------------------------------

    @property
    def rest_weight_used(self) -> int:
        """REQUEST_WEIGHT used in the current window."""
        return self._rest.limiter.used

    async def send_trade(self, symbol: str) -> int:
        """One trade: a ``trade`` event and its ``aggTrade``; return the frames sent."""
        market = self._market(symbol)
        trades, agg = market.order(now_us())
        sent = await self._deliver(stream_name(market.symbol, "trade"), trades[0])
        return sent + await self._deliver(stream_name(market.symbol, "aggTrade"), agg)

    async def send_book_ticker(self, symbol: str) -> int:
        market = self._market(symbol)
        return await self._deliver(stream_name(market.symbol, "bookTicker"), market.book_ticker())

    async def send_ticker(self, symbol: str) -> int:
        market = self._market(symbol)
        return await self._deliver(stream_name(market.symbol, "ticker"), market.ticker(now_us()))

    async def send_kline(
        self, symbol: str, interval: str = "1m", *, closed: bool = False, utc8: bool = False
    ) -> int:
        """One kline event for the current candle; ``closed=True`` closes it (``x:true``).

        A closed candle is followed by the next one (its ``t`` is this ``T`` + 1), even if
        the wall clock has not reached it. A candle the wall clock has passed rolls over
        silently (no ``x:true`` for it, unlike the generator).
        """
        market = self._market(symbol)
        stream = stream_name(market.symbol, f"kline_{interval}" + ("@+08:00" if utc8 else ""))
        parse_stream(stream)  # InvalidStream (a ValueError) for an unknown interval
        events = market.klines(interval, utc8, now_us(), close=closed, rollover=False)
        sent = 0
        for event in events:
            sent += await self._deliver(stream, event)
        return sent

    async def send_depth_update(self, symbol: str) -> int:
        """Change the book (1-3 update IDs) and send one diff event per depth stream speed.

        ``U`` is the previous event's ``u`` + 1 on each stream (§10).
        """
        market = self._market(symbol)
        market.move_book()
        return await self._flush_depth(market)

    async def skip_depth_updates(self, symbol: str, n: int = 1) -> None:
        """The next diff event's ``U`` jumps by ``n``: ``n`` update IDs are applied unseen.

        Diff events already pending (generator) are sent first so the jump is exactly ``n``.
        """
        if n < 1:
            raise ValueError("n must be >= 1")
        market = self._market(symbol)
        await self._flush_depth(market)
        market.skip(n)

    async def send_event(self, stream: str) -> int:
        """Make the market produce the next event of ``stream`` and send it; frames sent.

        Trades go to ``@trade`` and ``@aggTrade``, diff depth to both speeds; 0 for streams
        the simulator does not model or symbols it does not know.
        """
        parsed = parse_stream(stream)
        symbol = parsed.symbol
        if symbol is None or parsed.kind == "unmodelled":
            return 0
        market = self._markets[symbol]
        if parsed.kind in ("trade", "aggTrade"):
            return await self.send_trade(symbol)
        if parsed.kind == "depth":
            return await self.send_depth_update(symbol)
        if parsed.kind == "kline":
            return await self.send_kline(symbol, parsed.interval, utc8=parsed.utc8)
        if parsed.kind == "partial":
            return await self._deliver(stream, market.partial(parsed.levels))
        if parsed.kind == "ticker":
            return await self.send_ticker(symbol)
        return await self.send_book_ticker(symbol)

    def hold_rest_snapshot(self, symbol: str, behind: int = 0) -> None:
        """Serve a frozen REST snapshot of ``symbol``: the book ``behind`` update IDs ago.

        It stays frozen while the live book moves on, so it gets staler, until
        :meth:`release_rest_snapshot`. ValueError if ``behind`` reaches past the history.
        """
        market = self._market(symbol)
        self._rest.held[market.symbol] = market.book_at(behind)

    def release_rest_snapshot(self, symbol: str) -> None:
        self._rest.held.pop(self._market(symbol).symbol, None)

    def last_update_id(self, symbol: str) -> int:
        """The live book's update ID for ``symbol``."""
        return self._market(symbol).update_id

    # -- internals -----------------------------------------------------------------------

    def _market(self, symbol: str) -> SymbolMarket:
        market = self._markets.get(symbol.upper())
        if market is None:
            raise ValueError(f"unknown symbol {symbol!r}; known: {', '.join(CATALOGUE)}")
        return market

    async def _flush_depth(self, market: SymbolMarket) -> int:
        sent = 0
        for speed, suffix in DIFF_SPEEDS:
            event = market.take_diff(speed, now_us())
            if event is not None:
                sent += await self._deliver(stream_name(market.symbol, suffix), event)
        return sent


# -- command line --------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the simulator options to ``parser``."""
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port; 0 picks a free one")
    parser.add_argument(
        "--rate", type=float, default=0.0, help="synthetic market steps per second (0 = none)"
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the synthetic market")
    parser.add_argument("--ping-interval", type=float, default=20.0, help="s between pings")
    parser.add_argument("--pong-timeout", type=float, default=60.0, help="s to answer a ping")
    parser.add_argument(
        "--max-messages", type=int, default=5, help="incoming messages per second per connection"
    )
    parser.add_argument("--max-streams", type=int, default=1024, help="streams per connection")
    parser.add_argument(
        "--lifetime", type=float, default=86400.0, help="connection lifetime in s (0 = none)"
    )
    parser.add_argument(
        "--shutdown-grace", type=float, default=5.0, help="s from serverShutdown to close"
    )
    parser.add_argument(
        "--rest-weight", type=int, default=6000, help="REST request weight per minute"
    )
    parser.add_argument("--geo-blocked", action="store_true", help="REST answers HTTP 451")


def config_from_args(args: argparse.Namespace) -> SimConfig:
    return SimConfig(
        host=args.host,
        port=args.port,
        ping_interval=args.ping_interval,
        pong_timeout=args.pong_timeout,
        max_messages_per_second=args.max_messages,
        max_streams_per_connection=args.max_streams,
        connection_lifetime=args.lifetime,
        rate=args.rate,
        seed=args.seed,
        shutdown_grace=args.shutdown_grace,
        rest_weight_per_minute=args.rest_weight,
        geo_blocked=args.geo_blocked,
    )


def run(config: SimConfig) -> int:
    """Serve until SIGTERM or Ctrl-C; the entry point of ``feedgate sim binance``."""
    return run_until_stopped(lambda: BinanceSimulator(config), "binance")


def demo(rate: float) -> BinanceSimulator:
    """The simulator ``feedgate run`` starts in demo mode.

    Default limits, and ``rate`` synthetic market steps per second over the active streams.
    """
    return BinanceSimulator(SimConfig(rate=rate))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bridges.binance.sim",
        description="Binance Spot public market-stream simulator (WebSocket + REST depth)",
    )
    add_arguments(parser)
    return run(config_from_args(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
