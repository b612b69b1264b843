"""Unit tests for topic names and the normalisation table."""

from __future__ import annotations

import pytest

from gateway.errors import TopicError
from gateway.topics import Topic, market_topic, normalise_asset, parse_topic, split_pair


@pytest.mark.parametrize(
    ("name", "topic"),
    [
        ("trades.kraken.btceur", Topic("trades", "kraken", "btc", "eur")),
        ("ticker.binance.btcusdt", Topic("ticker", "binance", "btc", "usdt")),
        ("index.cccagg.ethbtc", Topic("index", "cccagg", "eth", "btc")),
        ("ohlc.kraken.btceur.1m", Topic("ohlc", "kraken", "btc", "eur", "1m")),
        ("spread.coinbase.solusdc", Topic("spread", "coinbase", "sol", "usdc")),
        ("volume.btc", Topic("volume", "", "btc", "")),
    ],
)
def test_parse_round_trips(name: str, topic: Topic) -> None:
    """Canonical names parse into their parts and print back unchanged."""
    assert parse_topic(name) == topic
    assert topic.name == name == str(topic)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("quotes.kraken.btceur", "unknown channel 'quotes'"),
        ("trades.Kraken.btceur", "lower-case letters and digits"),
        ("trades.kraken", "expected trades.<exchange>.<pair>"),
        ("trades.kraken.btceur.1m", "expected trades.<exchange>.<pair>"),
        ("ohlc.kraken.btceur", "expected ohlc.<exchange>.<pair>.<interval>"),
        ("ohlc.kraken.btceur.2m", "unknown interval '2m'"),
        ("trades.kraken.xbteur", "write it as 'trades.kraken.btceur'"),
        ("trades.kraken.foobar", "does not end in a known quote asset"),
        ("volume.btc.usd", "expected volume.<asset>"),
        ("trades..btceur", "must be lower-case"),
    ],
)
def test_bad_names_say_what_is_wrong(name: str, message: str) -> None:
    """Every malformed name raises TopicError naming the problem."""
    with pytest.raises(TopicError, match=message.replace(".", r"\.").replace("(", r"\(")):
        parse_topic(name)


def test_normalisation_table() -> None:
    """Upstream spellings map to one canonical name."""
    assert normalise_asset("XBT") == "btc"
    assert normalise_asset("XDG") == "doge"
    assert market_topic("trades", "Kraken", "XBT", "ZEUR") == "trades.kraken.btceur"
    assert split_pair("ethusdt") == ("eth", "usdt")
    assert split_pair("btcusd") == ("btc", "usd")
