"""Upstream faults against the real gateway process: refused key, refused sub, silence."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import redis

from bridges.cryptocompare.sim import SimConfig
from tests.support import GatewayProcess, free_port, gateway_config, simulator, wait_for


def status_entries(client: redis.Redis) -> list[dict[str, str]]:
    reply: Any = client.xrange("status.cc")
    return [fields for _, fields in reply]


def test_refused_key_is_fatal_and_reported(
    redis_url: str, rclient: redis.Redis, tmp_path: Path
) -> None:
    """A 401 stops retrying that upstream, shows on /readyz and status.cc; the process lives."""
    with simulator(SimConfig(api_keys=frozenset({"the-right-key"}))) as (sim, _loop):
        port = free_port()
        gateway = GatewayProcess(
            gateway_config(sim.url, port, ["trades.kraken.btceur"]),
            tmp_path,
            {"REDIS_URL": redis_url, "FEEDGATE_TEST_CC_KEY": "wrong-key-77f0"},
        )
        try:

            def fatal() -> dict[str, Any] | None:
                try:
                    status, report = gateway.readyz(port)
                except OSError:
                    return None
                upstream = report["upstreams"]["cc"]
                return report if status == 503 and upstream["fatal"] else None

            report = wait_for(fatal, 20, "the refused key to be reported")
            assert "401 UNAUTHORIZED" in report["upstreams"]["cc"]["fatal"]
            assert report["redis"]["connected"] is True
            states = wait_for(
                lambda: [e for e in status_entries(rclient) if e["state"] == "fatal"],
                10,
                "fatal status",
            )
            assert "api_key" in states[0]["message"]
            assert sim.connect_count == 1  # no retry loop against a refused key
        finally:
            assert gateway.stop() == 0
        assert "wrong-key-77f0" not in gateway.log()
        assert "wrong-key-77f0" not in json.dumps(status_entries(rclient))


def test_refused_subscription_reported_per_topic(
    redis_url: str, rclient: redis.Redis, tmp_path: Path
) -> None:
    """An INVALID_SUB names the topic and the server's text; the other topics still work."""
    with simulator(SimConfig()) as (sim, loop):
        port = free_port()
        gateway = GatewayProcess(
            gateway_config(sim.url, port, ["trades.kraken.btceur", "trades.kraken.zzzeur"]),
            tmp_path,
            {"REDIS_URL": redis_url, "FEEDGATE_TEST_CC_KEY": "any-key"},
        )
        try:

            def refused() -> dict[str, Any] | None:
                try:
                    _, report = gateway.readyz(port)
                except OSError:
                    return None
                up = report["upstreams"]["cc"]
                return report if up["refused"] and up["subscribed"] else None

            report = wait_for(refused, 20, "the refusal on /readyz")
            upstream = report["upstreams"]["cc"]
            assert report["ready"] is False
            assert upstream["subscribed"] == ["trades.kraken.btceur"]
            assert list(upstream["refused"]) == ["trades.kraken.zzzeur"]
            assert upstream["refused"]["trades.kraken.zzzeur"].startswith("500 INVALID_SUB: ")
            failed = [e for e in status_entries(rclient) if e["state"] == "subscribe_failed"]
            assert (
                failed[0]["subject"] == "trades.kraken.zzzeur"
                and failed[0]["code"] == "500 INVALID_SUB"
            )
            frame = {"TYPE": "0", "M": "Kraken", "FSYM": "BTC", "TSYM": "EUR", "F": "2",
                     "ID": "ok-1", "TS": 1751000100, "Q": 1, "P": 1}  # fmt: skip
            assert loop.run(sim.send("0~Kraken~BTC~EUR", json.dumps(frame))) == 1
            wait_for(lambda: any(f.get("id") == "ok-1" for _, f in rclient.xrange("trades.kraken.btceur")),  # type: ignore[union-attr]
                     10, "the good topic's trade")  # fmt: skip
        finally:
            assert gateway.stop() == 0


def test_silent_upstream_triggers_watchdog(
    redis_url: str, rclient: redis.Redis, tmp_path: Path
) -> None:
    """No frame within the watchdog window: the gateway drops the socket and reconnects."""
    with simulator(SimConfig(heartbeat_interval=0)) as (sim, loop):
        port = free_port()
        gateway = GatewayProcess(
            gateway_config(sim.url, port, ["volume.btc"], extra_upstream="watchdog = 1.0"),
            tmp_path,
            {"REDIS_URL": redis_url, "FEEDGATE_TEST_CC_KEY": "k"},
        )
        try:
            gateway.wait_ready(port)
            loop.call(lambda: sim.set_silent(True))
            wait_for(lambda: sim.connect_count >= 2, 20, "the watchdog reconnect")
            loop.call(lambda: sim.set_silent(False))
            states = wait_for(
                lambda: [e for e in status_entries(rclient) if e["state"] == "watchdog"],
                10,
                "watchdog status",
            )
            assert states[0]["message"].startswith("no frame for ")
        finally:
            assert gateway.stop() == 0


def test_redis_cli_reads_entries(redis_url: str, rclient: redis.Redis, tmp_path: Path) -> None:
    """redis-cli, a consumer with no knowledge of feedgate, reads the flat fields."""
    cli = shutil.which("redis-cli")
    if cli is None:
        # CI installs it (.ci/run); elsewhere a machine without it skips this one test.
        assert not os.environ.get("CI"), "redis-cli is needed (Debian package redis-tools)"
        pytest.skip("redis-cli not installed (Debian package redis-tools)")
    with simulator(SimConfig()) as (sim, loop):
        port = free_port()
        gateway = GatewayProcess(
            gateway_config(sim.url, port, ["trades.coinbase.ethusd"]),
            tmp_path,
            {"REDIS_URL": redis_url, "FEEDGATE_TEST_CC_KEY": "k"},
        )
        try:
            gateway.wait_ready(port)
            frame = {"TYPE": "0", "M": "Coinbase", "FSYM": "ETH", "TSYM": "USD", "F": "1",
                     "ID": "cli-7", "TS": 1751000100, "Q": "2.50", "P": 3000.25}  # fmt: skip
            assert loop.run(sim.send("0~Coinbase~ETH~USD", json.dumps(frame))) == 1
            wait_for(lambda: any(f.get("id") == "cli-7" for _, f in rclient.xrange("trades.coinbase.ethusd")),  # type: ignore[union-attr]
                     10, "the trade")  # fmt: skip
            out = subprocess.run(
                [cli, "-u", redis_url, "--no-raw", "XREVRANGE", "trades.coinbase.ethusd", "+", "-", "COUNT", "1"],
                capture_output=True, text=True, timeout=30, check=True,
            ).stdout  # fmt: skip
            values = [line.split('"')[1] for line in out.splitlines() if '"' in line]
            fields = dict(zip(values[1::2], values[2::2], strict=True))
            assert {k: fields[k] for k in ("kind", "exchange", "price", "amount", "side", "id")} == {
                "kind": "trade", "exchange": "coinbase", "price": "3000.25", "amount": "2.50",
                "side": "sell", "id": "cli-7",
            }  # fmt: skip
        finally:
            assert gateway.stop() == 0
