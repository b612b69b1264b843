"""The main job as ``make run`` runs it: no Redis, no key, no network besides 127.0.0.1."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import redis

from gateway.config import default_config_text, parse_config
from tests.support import GatewayProcess, free_port, wait_for


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_default_config_runs_offline_with_embedded_valkey(tmp_path: Path) -> None:
    """The default config starts Valkey (AOF on disk) and the simulator; data flows and persists."""
    redis_port, health_port = free_port(), free_port()
    text = default_config_text()
    text = text.replace("port = 6399", f"port = {redis_port}")
    text = text.replace('listen = "127.0.0.1:8080"', f'listen = "127.0.0.1:{health_port}"')
    text = text.replace('data_dir = "var/valkey"', f'data_dir = "{tmp_path / "valkey"}"')
    text += "\n[status]\nlog_interval = 0.5\n"
    assert f"port = {redis_port}" in text and str(health_port) in text
    config = parse_config(text, "test", {})
    wanted = {name: up.topics for name, up in config.upstreams.items()}
    assert set(wanted) == {"cryptocompare", "cryptowatch"}
    topics = [t for group in wanted.values() for t in group]
    env = {"CRYPTOCOMPARE_API_KEY": "", "CRYPTOWATCH_API_KEY": ""}

    gateway = GatewayProcess(text, tmp_path, env)
    try:
        report = gateway.wait_ready(health_port, timeout=60)
        for name, group in wanted.items():
            assert sorted(report["upstreams"][name]["subscribed"]) == sorted(group)
        client = redis.Redis(port=redis_port, decode_responses=True)

        def flowing() -> dict[str, int] | None:
            lengths = {t: int(client.xlen(t)) for t in topics}
            return lengths if sum(1 for n in lengths.values() if n > 0) >= 10 else None

        wait_for(flowing, 30, "synthetic data on most topics")
        server_config: Any = client.config_get("appendonly")
        assert server_config["appendonly"] == "yes"
        assert any((tmp_path / "valkey").rglob("*.aof")), "the append-only file is on disk"
        wait_for(lambda: "ev/s" in gateway.log(), 10, "a status line")
        assert "using the built-in cryptocompare simulator" in gateway.log()
        assert "using the built-in cryptowatch simulator" in gateway.log()
        latest = client.get("book:kraken.btceur")
        assert latest is not None and json.loads(latest)["topic"] == "book.kraken.btceur"
        trades_before = int(client.xlen("trades.kraken.btceur"))
        assert trades_before > 0
        client.close()
    finally:
        assert gateway.stop() == 0, gateway.log()
    assert not port_open(redis_port), "the embedded Valkey stops with the gateway"

    again = GatewayProcess(text, tmp_path, env)
    try:
        again.wait_ready(health_port, timeout=60)
        client = redis.Redis(port=redis_port, decode_responses=True)
        assert client.xlen("trades.kraken.btceur") >= trades_before, "streams survive a restart"
        client.close()
    finally:
        assert again.stop() == 0
