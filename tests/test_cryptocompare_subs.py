"""Unit tests for the topic ↔ CryptoCompare subscription mapping."""

from __future__ import annotations

import pytest

from bridges.cryptocompare import subs
from gateway.errors import TopicError
from gateway.topics import parse_topic

PAIRS = [
    ("trades.kraken.btceur", "0~Kraken~BTC~EUR"),
    ("ticker.binance.btcusdt", "2~Binance~BTC~USDT"),
    ("index.cccagg.btcusd", "5~CCCAGG~BTC~USD"),
    ("ohlc.kraken.btceur.1m", "24~Kraken~BTC~EUR~m"),
    ("ohlc.cccagg.ethusd.1h", "24~CCCAGG~ETH~USD~H"),
    ("ohlc.coinbase.btcusd.1d", "24~Coinbase~BTC~USD~D"),
    ("spread.coinbase.btcusd", "30~Coinbase~BTC~USD"),
    ("volume.btc", "11~BTC"),
    ("toptiervolume.eth", "21~ETH"),
    ("book.binance.btcusdt", "8~Binance~BTC~USDT"),
    ("trades.okx.btcusdt", "0~OKEX~BTC~USDT"),
    ("trades.huobi.ethusdt", "0~HuobiPro~ETH~USDT"),
]


@pytest.mark.parametrize(("topic", "sub"), PAIRS)
def test_mapping_both_ways(topic: str, sub: str) -> None:
    """Each topic maps to its subscription string and back."""
    assert subs.to_sub(parse_topic(topic)) == sub
    assert subs.from_sub(sub).name == topic


@pytest.mark.parametrize(
    ("topic", "message"),
    [
        ("summary.kraken.btceur", "not 'summary'"),
        ("index.kraken.btceur", "index.cccagg"),
        ("ohlc.kraken.btceur.5m", "1m, 1h, 1d only"),
    ],
)
def test_unservable_topics_refused(topic: str, message: str) -> None:
    """Topics CryptoCompare cannot serve are refused with the reason."""
    with pytest.raises(TopicError, match=message):
        subs.check(parse_topic(topic))


@pytest.mark.parametrize(
    "sub", ["0~Kraken~BTC", "24~Kraken~BTC~EUR~W", "99~X", "11~", "0~~BTC~EUR"]
)
def test_malformed_subs_refused(sub: str) -> None:
    """Malformed subscription strings raise TopicError."""
    with pytest.raises(TopicError):
        subs.from_sub(sub)


def test_unlisted_exchange_is_capitalised() -> None:
    """An exchange missing from the table gets a capitalised guess, and maps back."""
    assert subs.to_sub(parse_topic("trades.newdex.btcusd")) == "0~Newdex~BTC~USD"
    assert subs.from_sub("0~Newdex~BTC~USD").name == "trades.newdex.btcusd"
