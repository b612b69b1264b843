"""Topic ↔ Cryptowatch stream resource (``shared/protocols/cryptowatch.md`` §5).

``trades.kraken.btceur`` ↔ ``markets:86:trades``; a book topic needs two
resources (snapshots and deltas); every candle interval of a market shares
``markets:<id>:ohlc``.
"""

from __future__ import annotations

from bridges.cryptowatch.markets import MarketTable
from gateway.errors import TopicError
from gateway.topics import Topic

#: Channel → the market subjects that serve it.
SUBJECTS: dict[str, tuple[str, ...]] = {
    "trades": ("trades",),
    "summary": ("summary",),
    "ohlc": ("ohlc",),
    "book": ("book:snapshots", "book:deltas"),
    "spread": ("book:spread",),
}

#: Candle ``periodName`` (seconds) → feedgate interval.
PERIODS: dict[str, str] = {
    "60": "1m", "180": "3m", "300": "5m", "900": "15m", "1800": "30m", "3600": "1h",
    "7200": "2h", "14400": "4h", "21600": "6h", "43200": "12h", "86400": "1d",
    "259200": "3d", "604800": "1w",
}  # fmt: skip
SERVED_INTERVALS = frozenset(PERIODS.values())


def resources(topic: Topic, table: MarketTable) -> tuple[str, ...]:
    """The stream resources a topic needs; raises TopicError if Cryptowatch cannot serve it."""
    subjects = SUBJECTS.get(topic.channel)
    if subjects is None:
        raise TopicError(
            f"{topic.name}: cryptowatch serves the channels {', '.join(sorted(SUBJECTS))}, "
            f"not {topic.channel!r}"
        )
    if topic.channel == "ohlc" and topic.interval not in SERVED_INTERVALS:
        raise TopicError(f"{topic.name}: cryptowatch has no {topic.interval} candles")
    row = table.by_name.get((topic.exchange, topic.base + topic.quote))
    if row is None:
        raise TopicError(
            f"{topic.name}: no Cryptowatch market for {topic.exchange} "
            f"{topic.base}{topic.quote} in the markets table ({len(table)} markets); "
            "refresh it with `feedgate cryptowatch-markets` and set markets_file"
        )
    return tuple(f"markets:{row.id}:{subject}" for subject in subjects)
