"""Topic ↔ CryptoCompare subscription string, both ways (§2 of the protocol note).

``trades.kraken.btceur`` ↔ ``0~Kraken~BTC~EUR``; exchange spellings come from
the one table below, asset spellings from ``gateway.topics``.
"""

from __future__ import annotations

from gateway.errors import TopicError
from gateway.topics import Topic, normalise_asset, normalise_exchange

#: CryptoCompare's spelling of each exchange, keyed by feedgate's exchange id.
EXCHANGES: dict[str, str] = {
    "cccagg": "CCCAGG",
    "kraken": "Kraken",
    "coinbase": "Coinbase",
    "binance": "Binance",
    "bitstamp": "Bitstamp",
    "bitfinex": "Bitfinex",
    "gemini": "Gemini",
    "okx": "OKEX",
    "bybit": "Bybit",
    "kucoin": "Kucoin",
    "huobi": "HuobiPro",
    "gateio": "Gateio",
    "bitflyer": "bitFlyer",
    "upbit": "Upbit",
    "bithumb": "Bithumb",
    "cryptocom": "CryptoDotCom",
    "bitget": "Bitget",
    "mexc": "MEXC",
    "lmax": "LMAX",
}
#: feedgate's exchange id for each CryptoCompare spelling.
EXCHANGE_IDS: dict[str, str] = {cc: ours for ours, cc in EXCHANGES.items()}

#: Channel → the TYPE digits of its subscription string.
CHANNEL_TYPES: dict[str, str] = {
    "trades": "0",
    "ticker": "2",
    "index": "5",
    "volume": "11",
    "toptiervolume": "21",
    "ohlc": "24",
    "spread": "30",
    "book": "8",
}
TYPE_CHANNELS: dict[str, str] = {t: c for c, t in CHANNEL_TYPES.items()}

#: Candle interval → the period letter of a TYPE 24 subscription (§3.6).
PERIODS: dict[str, str] = {"1m": "m", "1h": "H", "1d": "D"}
INTERVALS: dict[str, str] = {p: i for i, p in PERIODS.items()}


def exchange_id(cc_name: str) -> str:
    """feedgate's id for a CryptoCompare exchange name (``OKEX`` → ``okx``)."""
    known = EXCHANGE_IDS.get(cc_name)
    return known if known is not None else normalise_exchange(cc_name)


def cc_exchange(exchange: str) -> str:
    """CryptoCompare's spelling of an exchange id; unlisted ids are capitalised.

    The server answers an unmapped spelling with ``500 INVALID_SUB``, which
    feedgate reports on the topic's status, so a wrong guess is visible.
    """
    return EXCHANGES.get(exchange) or exchange.capitalize()


def check(topic: Topic) -> None:
    """Raise TopicError if CryptoCompare cannot serve ``topic``."""
    if topic.channel not in CHANNEL_TYPES:
        raise TopicError(
            f"{topic.name}: cryptocompare serves the channels "
            f"{', '.join(sorted(CHANNEL_TYPES))}, not {topic.channel!r}"
        )
    if topic.channel == "index" and topic.exchange != "cccagg":
        raise TopicError(f"{topic.name}: cryptocompare's index channel is index.cccagg.<pair>")
    if topic.channel == "ohlc" and topic.interval not in PERIODS:
        raise TopicError(f"{topic.name}: cryptocompare candles come in {', '.join(PERIODS)} only")


def to_sub(topic: Topic) -> str:
    """The subscription string for a topic (checked first)."""
    check(topic)
    kind = CHANNEL_TYPES[topic.channel]
    if topic.channel in ("volume", "toptiervolume"):
        return f"{kind}~{topic.base.upper()}"
    sub = f"{kind}~{cc_exchange(topic.exchange)}~{topic.base.upper()}~{topic.quote.upper()}"
    return f"{sub}~{PERIODS[topic.interval]}" if topic.channel == "ohlc" else sub


def from_sub(sub: str) -> Topic:
    """The topic a subscription string stands for; raises TopicError if malformed."""
    parts = sub.split("~")
    channel = TYPE_CHANNELS.get(parts[0])
    if channel is None or any(not p for p in parts):
        raise TopicError(f"not a cryptocompare subscription feedgate knows: {sub!r}")
    if channel in ("volume", "toptiervolume"):
        if len(parts) != 2:
            raise TopicError(f"{sub!r}: expected {parts[0]}~<asset>")
        return Topic(channel, "", normalise_asset(parts[1]), "")
    want = 5 if channel == "ohlc" else 4
    if len(parts) != want:
        raise TopicError(f"{sub!r}: expected {want} fields separated by '~'")
    interval = ""
    if channel == "ohlc":
        interval = INTERVALS.get(parts[4], "")
        if not interval:
            raise TopicError(f"{sub!r}: the period must be one of {', '.join(INTERVALS)}")
    return Topic(
        channel,
        exchange_id(parts[1]),
        normalise_asset(parts[2]),
        normalise_asset(parts[3]),
        interval,
    )


def normalise_pair(base: str, quote: str) -> tuple[str, str]:
    """Canonical (base, quote) from CryptoCompare's ``FSYM``/``TSYM``."""
    return normalise_asset(base), normalise_asset(quote)
