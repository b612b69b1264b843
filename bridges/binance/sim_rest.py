"""REST half of the Binance Spot simulator: ``/api/v3/depth`` and ``/api/v3/exchangeInfo``.

Written from ``shared/protocols/binance.md`` only (§5, §6, §10). Replies are plain data
(:class:`RestReply`); :mod:`bridges.binance.sim` turns them into HTTP responses on the
WebSocket port.

* ``GET /api/v3/depth?symbol=BTCUSDT&limit=N``: ``{"lastUpdateId","bids","asks"}`` with at
  most ``N`` levels a side, best first, as ``[price, qty]`` string pairs. ``limit`` defaults to
  100 and is capped at 5000; the book holds about 1000 levels a side, so larger limits return
  the whole book. Weight 5 / 25 / 50 / 250 for limits up to 100 / 500 / 1000 / 5000 (§5).
* ``GET /api/v3/exchangeInfo[?symbol=X]``: ``rateLimits`` and ``symbols[]`` with ``symbol``,
  ``status`` (``TRADING``), ``baseAsset`` and ``quoteAsset`` (§6). Weight 20 (the note gives
  none).
* REQUEST_WEIGHT budget (§5): fixed windows of ``window`` seconds (60 by default) that start
  with the first request after the previous one ended. A request that does not fit gets
  **429** with ``Retry-After`` (whole seconds to the end of the window) and costs nothing. A
  request that again does not fit before that time has passed gets **418** (an IP ban of
  ``ban_seconds``, with ``Retry-After``); every request is refused with 418 until the ban ends.
* ``geo_blocked``: every REST request gets **451** "Service unavailable from a restricted
  location" (§1); WebSocket endpoints are not affected (the note leaves that open).
* Errors are JSON ``{"code","msg"}`` with HTTP 400 (bad parameters, unknown symbol) or 404
  (unknown path). Upper-case symbols only (§1); ``btcusdt`` is an unknown symbol here.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs

from bridges.binance.sim_market import BookState, SymbolMarket
from bridges.binance.sim_streams import CATALOGUE, JsonValue, dumps

DEPTH_PATH = "/api/v3/depth"
EXCHANGE_INFO_PATH = "/api/v3/exchangeInfo"
DEFAULT_DEPTH_LIMIT = 100
MAX_DEPTH_LIMIT = 5_000
EXCHANGE_INFO_WEIGHT = 20
GEO_BLOCKED_MSG = "Service unavailable from a restricted location"


def depth_weight(limit: int) -> int:
    """Request weight of ``GET /api/v3/depth`` for ``limit`` (§5)."""
    if limit <= 100:
        return 5
    if limit <= 500:
        return 25
    if limit <= 1_000:
        return 50
    return 250


@dataclass(frozen=True)
class RestReply:
    status: int
    body: str
    headers: tuple[tuple[str, str], ...] = ()


def _error(status: int, code: int, msg: str, *headers: tuple[str, str]) -> RestReply:
    return RestReply(status, dumps({"code": code, "msg": msg}), headers)


class WeightLimiter:
    """The REQUEST_WEIGHT budget with 429 back-off and 418 bans (see the module docstring)."""

    def __init__(
        self,
        limit: int,
        window: float = 60.0,
        ban_seconds: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit, self.window, self.ban_seconds, self.clock = limit, window, ban_seconds, clock
        self.used = 0
        self._window_end = -math.inf
        self._backoff_until = -math.inf
        self._banned_until = -math.inf

    def admit(self, weight: int) -> tuple[int, int]:
        """(200, 0) if ``weight`` fits and is charged; else (429 or 418, Retry-After seconds)."""
        now = self.clock()
        if now < self._banned_until:
            return 418, max(1, math.ceil(self._banned_until - now))
        if now >= self._window_end:
            self._window_end, self.used = now + self.window, 0
        if self.used + weight <= self.limit:
            self.used += weight
            return 200, 0
        if now < self._backoff_until:  # the client ignored Retry-After
            self._banned_until = now + self.ban_seconds
            return 418, max(1, math.ceil(self.ban_seconds))
        self._backoff_until = self._window_end
        return 429, max(1, math.ceil(self._window_end - now))


class RestApi:
    """Answers REST requests from the simulator's markets."""

    def __init__(
        self,
        markets: Mapping[str, SymbolMarket],
        limiter: WeightLimiter,
        geo_blocked: bool = False,
    ) -> None:
        self.markets = markets
        self.limiter = limiter
        self.geo_blocked = geo_blocked
        #: symbol → frozen book served instead of the live one (hold_rest_snapshot)
        self.held: dict[str, BookState] = {}

    def handle(self, path: str, query: str) -> RestReply:
        if self.geo_blocked:
            return _error(451, 0, GEO_BLOCKED_MSG)
        try:
            params = parse_qs(query, keep_blank_values=True, strict_parsing=False)
        except ValueError:
            params = {}
        args = {key: values[0] for key, values in params.items()}
        if path == DEPTH_PATH:
            return self._depth(args)
        if path == EXCHANGE_INFO_PATH:
            return self._exchange_info(args)
        return _error(404, -1, "Not found.")

    def _charge(self, weight: int) -> RestReply | None:
        status, retry_after = self.limiter.admit(weight)
        if status == 200:
            return None
        header = ("Retry-After", str(retry_after))
        if status == 418:
            return _error(418, -1003, "Way too much request weight used; IP banned.", header)
        return _error(429, -1003, "Too much request weight used; back off.", header)

    def _depth(self, args: dict[str, str]) -> RestReply:
        symbol = args.get("symbol", "")
        if not symbol:
            msg = "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."
            return _error(400, -1102, msg)
        market = self.markets.get(symbol)
        if market is None:
            return _error(400, -1121, "Invalid symbol.")
        raw_limit = args.get("limit", str(DEFAULT_DEPTH_LIMIT))
        if not raw_limit.isascii() or not raw_limit.isdigit() or int(raw_limit) < 1:
            return _error(400, -1100, "Illegal characters found in parameter 'limit'.")
        limit = min(int(raw_limit), MAX_DEPTH_LIMIT)
        refused = self._charge(depth_weight(limit))
        if refused is not None:
            return refused
        state = self.held.get(symbol)
        if state is None:
            state = market.book_at(0)
        return RestReply(200, dumps(market.depth_payload(state, limit)))

    def _exchange_info(self, args: dict[str, str]) -> RestReply:
        wanted: list[str] = list(CATALOGUE)
        if "symbol" in args:
            wanted = [args["symbol"]]
        elif "symbols" in args:
            try:
                listed = json.loads(args["symbols"])
            except ValueError:
                listed = None
            if not isinstance(listed, list) or not all(isinstance(s, str) for s in listed):
                return _error(400, -1100, "Illegal characters found in parameter 'symbols'.")
            wanted = listed
        if any(symbol not in CATALOGUE for symbol in wanted):
            return _error(400, -1121, "Invalid symbol.")
        refused = self._charge(EXCHANGE_INFO_WEIGHT)
        if refused is not None:
            return refused
        symbols: list[JsonValue] = [
            {
                "symbol": info.symbol,
                "status": "TRADING",
                "baseAsset": info.base,
                "quoteAsset": info.quote,
            }
            for info in (CATALOGUE[s] for s in wanted)
        ]
        body: dict[str, JsonValue] = {
            "timezone": "UTC",
            "serverTime": time.time_ns() // 1_000_000,
            "rateLimits": [
                {
                    "rateLimitType": "REQUEST_WEIGHT",
                    "interval": "MINUTE",
                    "intervalNum": 1,
                    "limit": self.limiter.limit,
                }
            ],
            "symbols": symbols,
        }
        return RestReply(200, dumps(body))
