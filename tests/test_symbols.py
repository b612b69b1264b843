"""The venue symbol table, both ways."""

from __future__ import annotations

import pytest

from bridges import symbols


def test_kraken() -> None:
    """Kraken v2 is BASE/QUOTE; legacy XBT maps to btc."""
    assert symbols.to_kraken("btc", "eur") == "BTC/EUR"
    assert symbols.from_kraken("BTC/EUR") == ("btc", "eur")
    assert symbols.from_kraken("XBT/EUR") == ("btc", "eur")
    with pytest.raises(ValueError):
        symbols.from_kraken("BTCEUR")


def test_coinbase() -> None:
    """Coinbase is BASE-QUOTE; derivatives with more parts are refused."""
    assert symbols.to_coinbase("eth", "usd") == "ETH-USD"
    assert symbols.from_coinbase("ETH-USD") == ("eth", "usd")
    with pytest.raises(ValueError):
        symbols.from_coinbase("BTC-PERP-INTX")


def test_binance() -> None:
    """Binance runs base and quote together: known splits first, then quote suffixes."""
    assert symbols.to_binance("btc", "usdt") == "BTCUSDT"
    assert symbols.from_binance("BTCUSDT") == ("btc", "usdt")
    assert symbols.from_binance("ETHBTC") == ("eth", "btc")
    assert symbols.from_binance("WEIRDUSD", {"WEIRDUSD": ("weirdu", "sd")}) == ("weirdu", "sd")
