"""The main job as ``make run`` runs it: the default config, ``--fallback-to-sim``.

No test reaches a public endpoint: the default config's URLs are pointed at
127.0.0.1, either at closed ports (an offline machine) or at the simulators.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import redis

from bridges.binance.sim import BinanceSimulator
from bridges.binance.sim_server import SimConfig as BinanceConfig
from bridges.coinbase.sim import CoinbaseSimulator
from bridges.coinbase.sim import SimConfig as CoinbaseConfig
from bridges.kraken.sim import KrakenSimulator
from bridges.kraken.sim import SimConfig as KrakenConfig
from gateway.config import default_config_text, parse_config
from tests.support import GatewayProcess, free_port, serving, wait_for

PUBLIC = {
    "kraken": ('url = "wss://ws.kraken.com/v2"', None),
    "coinbase": ('url = "wss://advanced-trade-ws.coinbase.com"', None),
    "binance": ('url = "wss://stream.binance.com:9443"', 'rest_url = "https://api.binance.com"'),
}
FALLBACK_LINE = re.compile(r"no public feed answered within 5 s \(.*\): running the built-in sim")


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def local_default_config(tmp_path: Path, urls: dict[str, tuple[str, str | None]]) -> str:
    """The bundled default config with its ports, data dir and public endpoints made local."""
    text = default_config_text()
    redis_port, health_port = free_port(), free_port()
    replacements = {
        "port = 6399": f"port = {redis_port}",
        'listen = "127.0.0.1:8080"': f'listen = "127.0.0.1:{health_port}"',
        'data_dir = "var/valkey"': f'data_dir = "{tmp_path / "valkey"}"',
    }
    for name, (url_line, rest_line) in PUBLIC.items():
        url, rest = urls[name]
        replacements[url_line] = f'url = "{url}"'
        if rest_line is not None and rest is not None:
            replacements[rest_line] = f'rest_url = "{rest}"'
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    assert "wss://" not in text.replace("wss://streamer.cryptocompare.com", "")
    return text + "\n[status]\nlog_interval = 0.5\n"


def ports_of(text: str) -> tuple[int, int]:
    config = parse_config(text, "test", {})
    return config.redis.embedded.port, int(config.health.listen.rpartition(":")[2])


def closed_endpoints() -> dict[str, tuple[str, str | None]]:
    """Endpoints on 127.0.0.1 where nothing listens: what an offline machine sees."""
    return {
        name: (f"ws://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}")
        for name in PUBLIC
    }


def every_entry(client: redis.Redis, topics: list[str]) -> Iterator[dict[str, str]]:
    for topic in topics:
        entries: Any = client.xrange(topic)
        for _, fields in entries:
            yield fields


def test_offline_falls_back_to_labelled_simulators(tmp_path: Path) -> None:
    """Offline, make run says so in one line, serves the simulators (source sim) and persists."""
    text = local_default_config(tmp_path, closed_endpoints())
    redis_port, health_port = ports_of(text)
    config = parse_config(text, "test", {})
    public = {n: up.topics for n, up in config.upstreams.items() if n in PUBLIC}
    topics = [t for group in public.values() for t in group]
    env = {"CRYPTOCOMPARE_API_KEY": ""}

    gateway = GatewayProcess(text, tmp_path, env, ("--fallback-to-sim",))
    try:
        report = gateway.wait_ready(health_port, timeout=60)
        assert set(report["upstreams"]) == set(PUBLIC), "cryptocompare is left out without a key"
        for name, group in public.items():
            assert sorted(report["upstreams"][name]["subscribed"]) == sorted(group)
        log = gateway.log()
        assert len(FALLBACK_LINE.findall(log)) == 1, log
        assert "cryptocompare: no CRYPTOCOMPARE_API_KEY set" in log
        client = redis.Redis(port=redis_port, decode_responses=True)

        def flowing() -> dict[str, int] | None:
            lengths = {t: int(client.xlen(t)) for t in topics}
            return lengths if all(lengths.values()) else None

        wait_for(flowing, 60, "simulated data on every topic")
        sources = {fields["source"] for fields in every_entry(client, topics)}
        assert sources == {"sim"}, "simulated data is never labelled as market data"
        latest = client.get("book:kraken.btceur")
        assert latest is not None and json.loads(latest)["source"] == "sim"
        server_config: Any = client.config_get("appendonly")
        assert server_config["appendonly"] == "yes"
        assert any((tmp_path / "valkey").rglob("*.aof")), "the append-only file is on disk"
        wait_for(lambda: "ev/s" in gateway.log(), 10, "a status line")
        trades_before = int(client.xlen("trades.kraken.btceur"))
        client.close()
    finally:
        assert gateway.stop() == 0, gateway.log()
    assert not port_open(redis_port), "the embedded Valkey stops with the gateway"

    again = GatewayProcess(text, tmp_path, env, ("--fallback-to-sim",))
    try:
        again.wait_ready(health_port, timeout=60)
        client = redis.Redis(port=redis_port, decode_responses=True)
        assert client.xlen("trades.kraken.btceur") >= trades_before, "streams survive a restart"
        client.close()
    finally:
        assert again.stop() == 0


def test_reachable_feeds_are_used_not_simulated(tmp_path: Path) -> None:
    """With the endpoints answering, --fallback-to-sim changes nothing: source is the upstream."""
    with ExitStack() as stack:
        kraken, _ = stack.enter_context(serving(KrakenSimulator(KrakenConfig(rate=50.0))))
        coinbase, _ = stack.enter_context(serving(CoinbaseSimulator(CoinbaseConfig(rate=50.0))))
        binance, _ = stack.enter_context(serving(BinanceSimulator(BinanceConfig(rate=50.0))))
        urls = {
            "kraken": (kraken.url, None),
            "coinbase": (coinbase.url, None),
            "binance": (binance.url, binance.rest_url),
        }
        text = local_default_config(tmp_path, urls)
        redis_port, health_port = ports_of(text)
        gateway = GatewayProcess(text, tmp_path, {"CRYPTOCOMPARE_API_KEY": ""},
                                 ("--fallback-to-sim",))  # fmt: skip
        try:
            gateway.wait_ready(health_port, timeout=60)
            client = redis.Redis(port=redis_port, decode_responses=True)
            trades = ["trades.kraken.btceur", "trades.coinbase.btcusd", "trades.binance.btcusdt"]
            wait_for(lambda: all(client.xlen(t) for t in trades), 30, "trades from every feed")
            for topic in trades:
                first: Any = client.xrange(topic, count=1)
                _, fields = first[0]
                assert fields["source"] == topic.split(".")[1], fields
            client.close()
            assert not FALLBACK_LINE.search(gateway.log())
        finally:
            assert gateway.stop() == 0, gateway.log()


def test_plain_run_never_falls_back(tmp_path: Path) -> None:
    """feedgate run without --fallback-to-sim keeps retrying the real endpoints, unsimulated."""
    text = local_default_config(tmp_path, closed_endpoints())
    redis_port, health_port = ports_of(text)
    gateway = GatewayProcess(text, tmp_path, {"CRYPTOCOMPARE_API_KEY": ""})
    try:
        wait_for(lambda: gateway.log().count("failed") >= 3, 30, "failed connects to each feed")
        status, body = wait_for(lambda: _readyz(gateway, health_port), 30, "/readyz")
        assert status == 503 and not body["ready"]
        assert "simulator" not in gateway.log() and not FALLBACK_LINE.search(gateway.log())
        client = redis.Redis(port=redis_port, decode_responses=True)
        assert client.xlen("trades.kraken.btceur") == 0
        client.close()
    finally:
        assert gateway.stop() == 0, gateway.log()


def _readyz(gateway: GatewayProcess, port: int) -> tuple[int, dict[str, Any]] | None:
    try:
        return gateway.readyz(port)
    except OSError:
        return None
