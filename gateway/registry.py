"""The one place that maps protocol names to bridges and simulators.

Implementations are imported lazily by name, so the gateway core never imports
a specific bridge, and a protocol's dependencies load only when it is used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from gateway.bridge import Bridge, BridgeSettings
from gateway.errors import ConfigError

#: protocol name → "module:attribute" of its Bridge class.
BRIDGES: dict[str, str] = {
    "cryptocompare": "bridges.cryptocompare.adapter:CryptoCompareBridge",
    "cryptowatch": "bridges.cryptowatch.adapter:CryptowatchBridge",
    "kraken": "bridges.kraken.adapter:KrakenBridge",
    "binance": "bridges.binance.adapter:BinanceBridge",
    "coinbase": "bridges.coinbase.adapter:CoinbaseBridge",
}
#: protocol name → module of its simulator (``CryptoCompareSimulator``-shaped API).
SIMULATORS: dict[str, str] = {
    "cryptocompare": "bridges.cryptocompare.sim",
    "cryptowatch": "bridges.cryptowatch.sim",
    "kraken": "bridges.kraken.sim",
    "binance": "bridges.binance.sim",
    "coinbase": "bridges.coinbase.sim",
}


#: protocol name → "module:function" refreshing its market table from REST.
MARKET_TOOLS: dict[str, str] = {
    "cryptowatch": "bridges.cryptowatch.markets:refresh",
}


def _load(path: str) -> Any:
    module, _, attribute = path.partition(":")
    loaded = importlib.import_module(module)
    return getattr(loaded, attribute) if attribute else loaded


def make_bridge(protocol: str, settings: BridgeSettings) -> Bridge:
    """A new bridge for ``protocol``; raises ConfigError for an unknown protocol."""
    path = BRIDGES.get(protocol)
    if path is None:
        raise ConfigError(
            f"upstreams.{settings.upstream}.protocol: unknown protocol {protocol!r} "
            f"(known: {', '.join(sorted(BRIDGES))})"
        )
    factory: Callable[[BridgeSettings], Bridge] = _load(path)
    return factory(settings)


def simulator_module(protocol: str) -> Any:
    """The simulator module for ``protocol``; raises ConfigError if there is none."""
    path = SIMULATORS.get(protocol)
    if path is None:
        raise ConfigError(f"no built-in simulator speaks the {protocol!r} protocol")
    return _load(path)


def market_refresher(protocol: str) -> Callable[[str, str], int]:
    """The function that rebuilds ``protocol``'s market table (rest_url, out) → count."""
    path = MARKET_TOOLS.get(protocol)
    if path is None:
        raise ConfigError(f"the {protocol!r} protocol has no market table to refresh")
    refresher: Callable[[str, str], int] = _load(path)
    return refresher
