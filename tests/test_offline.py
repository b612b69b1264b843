"""Unit tests for the quick start's offline fallback (gateway/offline.py)."""

from __future__ import annotations

import asyncio
import socket

import pytest

from gateway.config import parse_config
from gateway.errors import ConfigError
from gateway.offline import any_reachable, endpoint, endpoints, fallback_to_sim, simulated
from tests.support import free_port

CONFIG = """
[upstreams.kraken]
protocol = "kraken"
url = "ws://127.0.0.1:{kraken}/v2"
topics = ["trades.kraken.btceur"]

[upstreams.binance]
protocol = "binance"
url = "ws://127.0.0.1:{binance}"
topics = ["trades.binance.btcusdt"]

[upstreams.cryptocompare]
protocol = "cryptocompare"
url = "wss://streamer.cryptocompare.com/v2"
api_key_env = "CC_KEY"
needs_key = true
topics = ["index.cccagg.btcusd"]

[upstreams.cw]
protocol = "cryptowatch"
url = "wss://stream.cryptowat.ch"
api_key_env = "CW_KEY"
simulator = "auto"
topics = ["trades.kraken.btcusd"]
"""


def config_for(kraken: int, binance: int) -> str:
    return CONFIG.format(kraken=kraken, binance=binance)


def test_endpoint_defaults_ports_by_scheme() -> None:
    """wss:// defaults to 443, ws:// to 80, an explicit port wins."""
    assert endpoint("wss://ws.kraken.com/v2") == ("ws.kraken.com", 443)
    assert endpoint("ws://127.0.0.1/x") == ("127.0.0.1", 80)
    assert endpoint("wss://stream.binance.com:9443") == ("stream.binance.com", 9443)


def test_endpoints_skip_keyless_and_simulated_upstreams() -> None:
    """Only upstreams that would really connect are probed: no key-less or simulated ones."""
    config = parse_config(config_for(1111, 2222), "test", {})
    assert endpoints(config, {}) == [("127.0.0.1", 1111), ("127.0.0.1", 2222)]
    keyed = {"CC_KEY": "k", "CW_KEY": "w"}
    assert ("streamer.cryptocompare.com", 443) in endpoints(config, keyed)
    assert ("stream.cryptowat.ch", 443) in endpoints(config, keyed)


def test_any_reachable_sees_one_listener() -> None:
    """One listening address among closed ones is enough; none listening is False, quickly."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        listening = server.getsockname()[1]
        closed = free_port()
        assert asyncio.run(any_reachable([("127.0.0.1", closed), ("127.0.0.1", listening)], 5))
    assert not asyncio.run(any_reachable([("127.0.0.1", closed)], 5))


def test_fallback_when_nothing_answers() -> None:
    """No endpoint answers: every runnable upstream becomes simulated and one line says why."""
    config = parse_config(config_for(free_port(), free_port()), "test", {})
    chosen, line = fallback_to_sim(config, {}, timeout=2)
    assert line is not None and "no public feed answered within 2 s" in line
    assert "127.0.0.1:" in line and 'source "sim"' in line
    assert {n: u.simulator for n, u in chosen.upstreams.items()} == {
        "kraken": "always", "binance": "always", "cryptocompare": "never", "cw": "always",
    }  # fmt: skip


def test_no_fallback_when_one_answers() -> None:
    """One endpoint answering keeps the config as it is, with no line."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        config = parse_config(config_for(server.getsockname()[1], free_port()), "test", {})
        chosen, line = fallback_to_sim(config, {}, timeout=2)
    assert line is None and chosen is config


def test_simulated_keeps_keyless_upstreams_left_out() -> None:
    """The offline config does not invent data for an upstream that needs a key it lacks."""
    config = parse_config(config_for(1, 2), "test", {})
    assert simulated(config, {}).upstreams["cryptocompare"].simulator == "never"
    assert simulated(config, {"CC_KEY": "k"}).upstreams["cryptocompare"].simulator == "always"


def test_needs_key_requires_api_key_env() -> None:
    """needs_key without api_key_env is a config error naming the key."""
    text = '[upstreams.x]\nprotocol = "kraken"\nurl = "ws://127.0.0.1:1"\nneeds_key = true\n'
    with pytest.raises(ConfigError, match=r"upstreams\.x\.needs_key"):
        parse_config(text, "test", {})


def test_route_to_a_left_out_upstream_is_refused() -> None:
    """A route naming an upstream left out for want of its key refuses with that reason."""
    from gateway.routing import NoRoute, Router
    from gateway.topics import parse_topic

    refused = Router({}, {"index": "cryptocompare"}, {}).route(parse_topic("index.cccagg.btcusd"))
    assert isinstance(refused, NoRoute) and "not running" in str(refused)


def test_a_hanging_name_lookup_does_not_hold_up_the_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """An offline resolver that never answers: the fallback is decided at the timeout."""
    import threading

    release = threading.Event()
    looked_up: list[str] = []
    finished: list[str] = []
    real = socket.getaddrinfo

    def hanging(host: str, *args: object, **kwargs: object) -> object:
        if host != "feeds.example.invalid":
            return real(host, *args, **kwargs)  # type: ignore[arg-type]
        looked_up.append(host)
        release.wait(10)
        finished.append(host)
        raise socket.gaierror("no resolver")

    monkeypatch.setattr(socket, "getaddrinfo", hanging)
    text = CONFIG.format(kraken=free_port(), binance=free_port()).replace(
        "ws://127.0.0.1:", "ws://feeds.example.invalid:", 1
    )
    config = parse_config(text, "test", {})
    try:
        chosen, line = fallback_to_sim(config, {}, timeout=0.5)
        assert looked_up and not finished, "decided while the lookup still hangs"
        assert line is not None and chosen.upstreams["kraken"].simulator == "always"
    finally:
        release.set()
