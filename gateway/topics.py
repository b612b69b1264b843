"""Topic names and the exchange/asset normalisation table.

A topic is ``{channel}.{exchange}.{pair}`` in lower case, with ``.{interval}``
after the pair for candles (``ohlc.kraken.btceur.1m``). Volume topics name an
asset only (``volume.btc``). Upstream spellings (``XBT``, ``Kraken``) become
canonical ones here, through one table, so every bridge publishes the same
names for the same market.
"""

from __future__ import annotations

import re
from functools import lru_cache

import msgspec

from gateway.errors import TopicError

#: Channels that name a market: ``{channel}.{exchange}.{pair}``.
MARKET_CHANNELS = frozenset({"trades", "ticker", "index", "ohlc", "spread", "book", "summary"})
#: Channels that name an asset only: ``{channel}.{asset}``.
ASSET_CHANNELS = frozenset({"volume", "toptiervolume"})
CHANNELS = MARKET_CHANNELS | ASSET_CHANNELS

#: Candle intervals feedgate names, in seconds.
INTERVALS: dict[str, int] = {
    "1m": 60,
    "3m": 180,
    "5m": 300,
    "15m": 900,
    "30m": 1800,
    "1h": 3600,
    "2h": 7200,
    "4h": 14400,
    "6h": 21600,
    "12h": 43200,
    "1d": 86400,
    "3d": 259200,
    "1w": 604800,
}

#: Upstream asset spellings that differ from the canonical symbol.
ASSET_ALIASES: dict[str, str] = {
    "xbt": "btc",
    "xxbt": "btc",
    "xdg": "doge",
    "xxdg": "doge",
    "xeth": "eth",
    "zeur": "eur",
    "zusd": "usd",
    "zgbp": "gbp",
    "zjpy": "jpy",
    "zcad": "cad",
}

#: Quote assets a concatenated pair (``btcusdt``) can end in, longest first.
QUOTE_ASSETS: tuple[str, ...] = tuple(
    sorted(
        {
            "usdt",
            "usdc",
            "fdusd",
            "tusd",
            "busd",
            "dai",
            "pyusd",
            "usd",
            "eur",
            "gbp",
            "jpy",
            "cad",
            "aud",
            "chf",
            "krw",
            "try",
            "brl",
            "btc",
            "eth",
            "bnb",
            "sol",
        },
        key=lambda q: (-len(q), q),
    )
)

_NAME = re.compile(r"^[a-z0-9]+$")


class Topic(msgspec.Struct, frozen=True):
    """A parsed topic name. ``exchange`` and ``quote`` are empty for asset channels."""

    channel: str
    exchange: str
    base: str
    quote: str
    interval: str = ""

    @property
    def name(self) -> str:
        """The topic's canonical string form, which is also its stream key."""
        if self.channel in ASSET_CHANNELS:
            return f"{self.channel}.{self.base}"
        name = f"{self.channel}.{self.exchange}.{self.base}{self.quote}"
        return f"{name}.{self.interval}" if self.interval else name

    def __str__(self) -> str:
        return self.name


def normalise_asset(symbol: str) -> str:
    """Canonical lower-case asset symbol (``XBT`` → ``btc``)."""
    lowered = symbol.lower()
    return ASSET_ALIASES.get(lowered, lowered)


def normalise_exchange(name: str) -> str:
    """Canonical exchange id: lower case, letters and digits only (``Coinbase`` → ``coinbase``)."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def split_pair(pair: str) -> tuple[str, str]:
    """Split a concatenated pair such as ``btcusdt`` into (base, quote).

    The quote is the longest known quote asset the pair ends with.
    """
    for quote in QUOTE_ASSETS:
        if pair.endswith(quote) and len(pair) > len(quote):
            return pair[: -len(quote)], quote
    raise TopicError(
        f"cannot split pair {pair!r}: it does not end in a known quote asset "
        f"({', '.join(QUOTE_ASSETS)})"
    )


@lru_cache(maxsize=65536)
def market_topic(channel: str, exchange: str, base: str, quote: str, interval: str = "") -> str:
    """The topic name for a market, from upstream spellings (cached: called per event)."""
    return Topic(
        channel,
        normalise_exchange(exchange),
        normalise_asset(base),
        normalise_asset(quote),
        interval,
    ).name


def parse_topic(text: str) -> Topic:
    """Parse and validate a topic name; raises TopicError saying what is wrong."""
    parts = text.split(".")
    channel = parts[0]
    if channel not in CHANNELS:
        raise TopicError(
            f"topic {text!r}: unknown channel {channel!r} (known: {', '.join(sorted(CHANNELS))})"
        )
    for part in parts[1:]:
        if not _NAME.match(part):
            raise TopicError(f"topic {text!r}: part {part!r} must be lower-case letters and digits")
    if channel in ASSET_CHANNELS:
        if len(parts) != 2:
            raise TopicError(f"topic {text!r}: expected {channel}.<asset>")
        return Topic(channel, "", normalise_asset(parts[1]), "")
    if channel == "ohlc":
        if len(parts) != 4:
            raise TopicError(f"topic {text!r}: expected ohlc.<exchange>.<pair>.<interval>")
        if parts[3] not in INTERVALS:
            raise TopicError(
                f"topic {text!r}: unknown interval {parts[3]!r} (known: {', '.join(INTERVALS)})"
            )
    elif len(parts) != 3:
        raise TopicError(f"topic {text!r}: expected {channel}.<exchange>.<pair>")
    base, quote = split_pair(parts[2])
    topic = Topic(
        channel,
        parts[1],
        normalise_asset(base),
        normalise_asset(quote),
        parts[3] if channel == "ohlc" else "",
    )
    if topic.name != text:
        raise TopicError(f"topic {text!r}: not canonical; write it as {topic.name!r}")
    return topic
