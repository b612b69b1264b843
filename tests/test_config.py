"""Unit tests for configuration loading: errors name the key, env overrides, no secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import api_key, load_config, parse_config
from gateway.errors import ConfigError
from gateway.redisurl import parse, redact

GOOD = """
[redis]
url = "redis://127.0.0.1:6379/0"

[upstreams.cc]
protocol = "cryptocompare"
url = "ws://127.0.0.1:9/v2"
api_key_env = "MY_CC_KEY"
topics = ["trades.kraken.btceur"]
"""


def test_default_config_is_valid() -> None:
    """The bundled default config loads: the public feeds live, CryptoCompare only with a key."""
    config = load_config(None, {})
    assert {n: u.url for n, u in config.upstreams.items()} == {
        "kraken": "wss://ws.kraken.com/v2",
        "coinbase": "wss://advanced-trade-ws.coinbase.com",
        "binance": "wss://stream.binance.com:9443",
        "cryptocompare": "wss://streamer.cryptocompare.com/v2",
    }
    assert config.upstreams["binance"].rest_url == "https://api.binance.com"
    assert all(u.simulator == "never" for u in config.upstreams.values())
    upstream = config.upstreams["cryptocompare"]
    assert upstream.needs_key and upstream.api_key_env == "CRYPTOCOMPARE_API_KEY"
    assert config.redis.url is None and config.health.listen == "127.0.0.1:8080"


def test_env_overrides_and_secrets(tmp_path: Path) -> None:
    """REDIS_URL overrides [redis] url; the key comes from the named variable only."""
    path = tmp_path / "feedgate.toml"
    path.write_text(GOOD)
    env = {"REDIS_URL": "redis://:pw-s3cret@127.0.0.1:7000/2", "MY_CC_KEY": "k-s3cret"}
    config = load_config(path, env)
    assert config.redis.url == "redis://:pw-s3cret@127.0.0.1:7000/2"
    key = api_key(config.upstreams["cc"], env)
    assert key is not None and key.reveal() == "k-s3cret"
    assert api_key(config.upstreams["cc"], {}) is None
    assert api_key(config.upstreams["cc"], {"MY_CC_KEY": "  "}) is None
    shown = repr(config) + str(config) + repr(key) + str(key)
    assert "s3cret" not in shown and "***" in shown


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[redis]\nurl = 5", "redis.url: Expected `str | null`, got `int`"),
        ("[redis]\nurl = 'http://x'", "redis.url: .*scheme must be redis"),
        ("[health]\nlisten = 'localhost'", "health.listen: expected host:port"),
        ("[streams]\nmaxlen = 0", "streams.maxlen: must be at least 1"),
        ("[streams.maxlen_by_channel]\ntrades = -1", "streams.maxlen_by_channel.trades"),
        ("[nonsense]\na = 1", "Object contains unknown field `nonsense`"),
        ("[upstreams.cc]\nurl = 'ws://x'", "upstreams.cc: Object missing required field `protocol`"),
        ("[upstreams.cc]\nprotocol='x'\nurl='ws://x'\ntopcs=[]", "upstreams.cc: .*unknown field `topcs`"),
        ("[upstreams.cc]\nprotocol='x'\nurl='http://x'", "upstreams.cc.url: must start with ws://"),
        ("[upstreams.cc]\nprotocol='x'\nurl='ws://x'\napi_key_env='abc-123-real-key'",
         "upstreams.cc.api_key_env: must name an environment variable"),
        ("[upstreams.cc]\nprotocol='x'\nurl='ws://x'\ntopics=['trades.kraken.btc']",
         r"upstreams.cc.topics\[0\]: cannot split pair"),
        ("[upstreams.cc]\nprotocol='x'\nurl='ws://x'\nwatchdog=0", "upstreams.cc.watchdog: must be positive"),
        ("[upstreams.cc]\nprotocol='x'\nurl='ws://x'\nsimulator='sometimes'", "upstreams.cc.simulator"),
        ("[upstreams.Bad]\nprotocol='x'\nurl='ws://x'", "upstreams.Bad: upstream names"),
        ("upstreams = 1", "upstreams: expected a table"),
        ("[redis", "not valid TOML"),
    ],
)  # fmt: skip
def test_bad_config_names_the_key(text: str, message: str) -> None:
    """Each mistake fails with the file and the key in the message."""
    with pytest.raises(ConfigError, match=f"^bad.toml: {message}"):
        parse_config(text, "bad.toml", {})


def test_missing_file(tmp_path: Path) -> None:
    """A missing config file is a clear error, not a traceback."""
    with pytest.raises(ConfigError, match="cannot read the config file"):
        load_config(tmp_path / "nope.toml", {})


def test_redis_urls() -> None:
    """Redis URLs parse with TLS, auth and db; the password never shows."""
    target = parse("rediss://user:p%40ss@cache.internal:6380/3")
    assert (target.host, target.port, target.db, target.username, target.tls) == (
        "cache.internal", 6380, 3, "user", True,
    )  # fmt: skip
    assert target.password is not None and target.password.reveal() == "p@ss"
    assert "p@ss" not in repr(target) and "p%40ss" not in repr(target)
    assert redact("redis://user:p%40ss@h:1/0") == "redis://user:***@h:1/0"
    assert redact("redis://h:1/0") == "redis://h:1/0"
    with pytest.raises(ConfigError, match="database number"):
        parse("redis://h/abc")
