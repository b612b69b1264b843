"""Catalogue and subscription resources of the Cryptowatch simulator (pure, no I/O).

Written from ``shared/protocols/cryptowatch.md`` only (§5):

* the markets, exchanges, pairs (instruments) and assets the simulator knows, with numeric ids:
  those of §5 where the note gives them, invented ones otherwise (marked below);
* the resource grammar ``<scope>:<id>:<subject>``, resolved by :func:`resolve_resource` into
  :data:`Topic` tuples such as ``("markets", 86, "trades")`` or ``("pairs", 9, "vwap")``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

# --------------------------------------------------------------------------------------------
# Catalogue (§5)
# --------------------------------------------------------------------------------------------

#: Exchanges by id. 1 and 4 are from §5; 27 and 45 are invented.
EXCHANGES: dict[int, str] = {1: "bitfinex", 4: "kraken", 27: "coinbase-pro", 45: "binance"}
#: Assets by id. 60, 77 and 98 are from §5; 62 (ltc), 99 (eur) and 300 (usdt) are invented.
ASSETS: dict[int, str] = {60: "btc", 62: "ltc", 77: "eth", 98: "usd", 99: "eur", 300: "usdt"}


@dataclass(frozen=True)
class PairInfo:
    id: int
    symbol: str
    base_id: int
    quote_id: int


@dataclass(frozen=True)
class MarketInfo:
    id: int
    exchange_id: int
    pair_id: int

    @property
    def exchange(self) -> str:
        return EXCHANGES[self.exchange_id]

    @property
    def pair(self) -> str:
        return PAIRS[self.pair_id].symbol

    @property
    def base_id(self) -> int:
        return PAIRS[self.pair_id].base_id


#: Currency pairs ("instruments") by id. 9, 231 and 232 are from §5; 10 and 125 are invented.
PAIRS: dict[int, PairInfo] = {
    p.id: p
    for p in (
        PairInfo(9, "btcusd", 60, 98),
        PairInfo(10, "ltcusd", 62, 98),
        PairInfo(125, "ethusd", 77, 98),
        PairInfo(231, "btcusdt", 60, 300),
        PairInfo(232, "btceur", 60, 99),
    )
}
#: Markets by id. 1, 2, 86 and 87 are from §5; 88, 579, 580 and 1001 are invented.
MARKETS: dict[int, MarketInfo] = {
    m.id: m
    for m in (
        MarketInfo(1, 1, 9),  # bitfinex btcusd
        MarketInfo(2, 1, 10),  # bitfinex ltcusd
        MarketInfo(86, 4, 232),  # kraken btceur
        MarketInfo(87, 4, 9),  # kraken btcusd
        MarketInfo(88, 4, 125),  # kraken ethusd
        MarketInfo(579, 27, 9),  # coinbase-pro btcusd
        MarketInfo(580, 27, 125),  # coinbase-pro ethusd
        MarketInfo(1001, 45, 231),  # binance btcusdt
    )
}

# --------------------------------------------------------------------------------------------
# Resources (§5)
# --------------------------------------------------------------------------------------------

#: ``(kind, id, subject)``: kind is "markets" (id = market id) or "pairs" (id = pair id).
Topic: TypeAlias = tuple[str, int, str]

MARKET_SUBJECTS = ("trades", "summary", "ohlc", "book:snapshots", "book:deltas", "book:spread")
PAIR_SUBJECTS = ("vwap", "performance", "trendline")
SCOPES = ("markets", "exchanges", "instruments", "pairs", "assets")


class InvalidResource(ValueError):
    """A resource the simulator cannot serve; the message is the SubscribeError text."""


def _select(scope: str, number: int) -> list[int]:
    """The market ids a numeric scope id stands for."""
    if scope == "markets":
        if number not in MARKETS:
            raise InvalidResource(f"unknown market {number}")
        return [number]
    if scope == "exchanges":
        if number not in EXCHANGES:
            raise InvalidResource(f"unknown exchange {number}")
        return [m.id for m in MARKETS.values() if m.exchange_id == number]
    if scope in ("instruments", "pairs"):
        if number not in PAIRS:
            raise InvalidResource(f"unknown instrument {number}")
        return [m.id for m in MARKETS.values() if m.pair_id == number]
    if number not in ASSETS:
        raise InvalidResource(f"unknown asset {number}")
    found = [m.id for m in MARKETS.values() if m.base_id == number]
    if not found:
        raise InvalidResource(f"no markets with base asset {number}")
    return found


def resolve_resource(resource: str) -> frozenset[Topic]:
    """The topics ``resource`` covers; raises InvalidResource with a readable reason."""
    scope, _, rest = resource.partition(":")
    ident, _, subject = rest.partition(":")
    if not ident or not subject:
        raise InvalidResource(f"malformed resource {resource!r}: expected <scope>:<id>:<subject>")
    if scope not in SCOPES:
        raise InvalidResource(f"unknown scope {scope!r} in {resource!r}")
    if ident == "*":
        if scope != "markets":
            raise InvalidResource(f"'*' is only valid in the markets scope: {resource!r}")
    elif not (ident.isascii() and ident.isdigit()):
        raise InvalidResource(f"bad id {ident!r} in {resource!r}")
    if subject in PAIR_SUBJECTS and scope in ("instruments", "pairs") and ident != "*":
        if int(ident) not in PAIRS:
            raise InvalidResource(f"unknown instrument {int(ident)}")
        return frozenset({("pairs", int(ident), subject)})
    if subject not in MARKET_SUBJECTS:
        raise InvalidResource(f"unknown subject {subject!r} in {resource!r}")
    ids = sorted(MARKETS) if ident == "*" else _select(scope, int(ident))
    return frozenset(("markets", market_id, subject) for market_id in ids)
