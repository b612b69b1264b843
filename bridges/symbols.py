"""Venue symbol spellings ↔ feedgate's (base, quote): the one normalisation table.

Each venue writes a market its own way — Kraken v2 ``BTC/EUR`` (and rejects
``XBT``), Coinbase ``BTC-USD``, Binance ``BTCUSDT`` in payloads and REST but
``btcusdt`` in stream names. Every bridge converts through here, and asset
aliases (``XBT`` → ``btc``) come from ``gateway.topics``, so one market has one
topic whichever venue publishes it.
"""

from __future__ import annotations

from gateway.topics import normalise_asset, split_pair

#: Assets a venue spells differently from feedgate on the wire, per venue.
VENUE_ASSETS: dict[str, dict[str, str]] = {
    "kraken": {},  # v2 takes BTC and DOGE; only legacy REST names use XBT/XDG
    "coinbase": {},
    "binance": {},
}


def to_kraken(base: str, quote: str) -> str:
    """``btc``, ``eur`` → ``BTC/EUR`` (shared/protocols/kraken.md §4)."""
    return f"{base.upper()}/{quote.upper()}"


def from_kraken(symbol: str) -> tuple[str, str]:
    """``BTC/EUR`` (or legacy ``XBT/EUR``) → (``btc``, ``eur``)."""
    base, sep, quote = symbol.partition("/")
    if not sep or not base or not quote:
        raise ValueError(f"not a Kraken v2 symbol: {symbol!r}")
    return normalise_asset(base), normalise_asset(quote)


def to_coinbase(base: str, quote: str) -> str:
    """``btc``, ``usd`` → ``BTC-USD`` (shared/protocols/coinbase.md §5)."""
    return f"{base.upper()}-{quote.upper()}"


def from_coinbase(product_id: str) -> tuple[str, str]:
    """``BTC-USD`` → (``btc``, ``usd``); split on the first ``-``."""
    base, sep, quote = product_id.partition("-")
    if not sep or not base or not quote or "-" in quote:
        raise ValueError(f"not a Coinbase spot product id: {product_id!r}")
    return normalise_asset(base), normalise_asset(quote)


def to_binance(base: str, quote: str) -> str:
    """``btc``, ``usdt`` → ``BTCUSDT`` (payloads and REST; streams use ``.lower()``)."""
    return f"{base}{quote}".upper()


def from_binance(symbol: str, known: dict[str, tuple[str, str]] | None = None) -> tuple[str, str]:
    """``BTCUSDT`` → (``btc``, ``usdt``).

    Binance symbols cannot be split by rule (shared/protocols/binance.md §6): use
    ``known`` (from exchangeInfo, or from the topics subscribed) first, and the
    quote-suffix table only as a fallback.
    """
    if known is not None:
        found = known.get(symbol.upper())
        if found is not None:
            return found
    base, quote = split_pair(symbol.lower())
    return normalise_asset(base), normalise_asset(quote)
