"""Shared demand end to end: Python and Node.js consumers lease topics over Redis."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from bridges.cryptocompare.sim import CryptoCompareSimulator, SimConfig
from tests.support import (
    ROOT,
    GatewayProcess,
    LoopThread,
    free_port,
    gateway_config,
    simulator,
    wait_for,
)

CONTROL = "\n[control]\ngrace = 1.0\ntick = 0.2\n"


class Consumer:
    """A Python consumer speaking the control protocol with plain redis-py."""

    def __init__(self, url: str, client: str) -> None:
        self.client = client
        self.redis = redis.Redis.from_url(url, decode_responses=True)
        self._renewing = threading.Event()
        self._thread: threading.Thread | None = None

    def lease(self, topics: list[str], ttl: float = 3, req: str = "") -> None:
        self.redis.xadd("feedgate:control", {"op": "lease", "client": self.client,
                                             "topics": " ".join(topics), "ttl": str(ttl), "req": req})  # fmt: skip

    def release(self, topics: list[str]) -> None:
        self.redis.xadd(
            "feedgate:control", {"op": "release", "client": self.client, "topics": " ".join(topics)}
        )

    def keep_renewing(self, topics: list[str], ttl: float = 3) -> None:
        """Renew every ttl/3 seconds from a thread, as a live consumer does."""
        self._renewing.set()

        def loop() -> None:
            while self._renewing.is_set():
                self.lease(topics, ttl, "renew")
                self._stop_wait(ttl / 3)

        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()

    def _stop_wait(self, seconds: float) -> None:
        stopped = threading.Event()
        stopped.wait(seconds)  # the consumer's own renewal cadence, not a test synchronisation

    def stop_renewing(self) -> None:
        self._renewing.clear()
        if self._thread is not None:
            self._thread.join(10)

    def replies(self) -> list[dict[str, str]]:
        reply: Any = self.redis.xrange(f"feedgate:reply:{self.client}")
        return [fields for _, fields in reply]

    def status(self, topic: str) -> str | None:
        found = [r["status"] for r in self.replies() if r["topic"] == topic]
        return found[-1] if found else None


def sub_requests(sim: CryptoCompareSimulator, action: str, sub: str) -> int:
    subs: list[Any] = [m.get("subs") for m in sim.received if m.get("action") == action]
    return sum(1 for found in subs if isinstance(found, list) and sub in found)


@pytest.fixture
def cc(redis_url: str) -> Iterator[tuple[CryptoCompareSimulator, LoopThread]]:
    with simulator(SimConfig(max_subs_per_socket=3, heartbeat_interval=1.0)) as running:
        yield running


def start(sim: CryptoCompareSimulator, redis_url: str, workdir: Path) -> tuple[GatewayProcess, int]:
    port = free_port()
    config = gateway_config(sim.url, port, ["trades.kraken.btceur"]) + CONTROL
    gateway = GatewayProcess(config, workdir, {"REDIS_URL": redis_url, "FEEDGATE_TEST_CC_KEY": "k"})
    gateway.wait_ready(port)
    return gateway, port


def subscriptions(gateway: GatewayProcess, port: int) -> dict[str, Any]:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/subscriptions", timeout=5) as reply:
        body: dict[str, Any] = json.loads(reply.read())
    return body


def test_overlapping_leases_share_one_subscription(
    cc: tuple[CryptoCompareSimulator, LoopThread], redis_url: str, tmp_path: Path
) -> None:
    """Python and Node consumers overlap; the upstream sees one subscription, dropped after both go."""
    sim, loop = cc
    node = shutil.which("node")
    assert node is not None and (ROOT / "tests/node/node_modules/redis").is_dir()
    gateway, port = start(sim, redis_url, tmp_path)
    alice = Consumer(redis_url, "alice")
    try:
        alice.keep_renewing(["trades.coinbase.btcusd"], ttl=3)
        wait_for(lambda: alice.status("trades.coinbase.btcusd") == "active", 15, "alice active")
        bob = subprocess.Popen(
            [node, str(ROOT / "tests/node/control.mjs"), redis_url, "bob", "2", "3",
             "trades.coinbase.btcusd", "index.cccagg.btcusd"],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        out, _ = bob.communicate(timeout=30)
        assert bob.returncode == 0
        bob_replies = [json.loads(line) for line in out.splitlines()]
        assert {(r["topic"], r["status"]) for r in bob_replies} >= {
            ("trades.coinbase.btcusd", "active"), ("index.cccagg.btcusd", "active"),
        }  # fmt: skip
        assert sub_requests(sim, "SubAdd", "0~Coinbase~BTC~USD") == 1  # shared, subscribed once
        rows = {r["topic"]: r for r in subscriptions(gateway, port)["topics"]}
        assert rows["trades.kraken.btceur"]["pinned"] is True
        assert set(rows["trades.coinbase.btcusd"]["holders"]) >= {"alice"}
        listed = subprocess.run(
            [sys.executable, "-m", "gateway.cli", "topics", "--demand", "--config", str(gateway.config_path)],
            capture_output=True, text=True, timeout=30, check=True, cwd=ROOT,
        ).stdout  # fmt: skip
        lines = {line.split()[0]: line.split()[1:] for line in listed.splitlines()[1:]}
        assert lines["trades.kraken.btceur"][:4] == ["cc", "0", "active", "pinned"]
        assert lines["trades.coinbase.btcusd"][2:4] == ["active", "alice"]

        # bob stopped renewing: his lease expires; index goes after the grace, coinbase stays.
        wait_for(
            lambda: sub_requests(sim, "SubRemove", "5~CCCAGG~BTC~USD") == 1,
            20,
            "index unsubscribed",
        )
        assert sub_requests(sim, "SubRemove", "0~Coinbase~BTC~USD") == 0
        assert "0~Coinbase~BTC~USD" in loop.call(sim.active_subs)

        alice.stop_renewing()
        wait_for(
            lambda: sub_requests(sim, "SubRemove", "0~Coinbase~BTC~USD") == 1,
            20,
            "coinbase unsubscribed",
        )
        assert alice.status("trades.coinbase.btcusd") == "expired"
        assert sub_requests(sim, "SubRemove", "0~Kraken~BTC~EUR") == 0  # pinned
    finally:
        alice.stop_renewing()
        assert gateway.stop() == 0


def test_quota_refusals_and_restart(
    cc: tuple[CryptoCompareSimulator, LoopThread],
    redis_url: str,
    rclient: redis.Redis,
    tmp_path: Path,
) -> None:
    """Over the upstream's quota: refused with its name; running topics flow; a restart keeps demand."""
    sim, loop = cc
    gateway, port = start(sim, redis_url, tmp_path)
    alice = Consumer(redis_url, "alice")
    held = ["trades.coinbase.btcusd", "trades.binance.btcusdt"]
    try:
        alice.keep_renewing(held, ttl=6)
        wait_for(lambda: all(alice.status(t) == "active" for t in held), 15, "two active topics")
        alice.lease(["index.cccagg.btcusd"], req="over")  # the 4th sub on a 3-sub socket
        wait_for(
            lambda: alice.status("index.cccagg.btcusd") == "refused", 15, "the upstream's refusal"
        )
        refusal = [r for r in alice.replies() if r["topic"] == "index.cccagg.btcusd"][-1]
        assert refusal["reason"] == "upstream_refused"
        assert "TOO_MANY_SUBSCRIPTIONS_MAX_3_PER_SOCKET" in refusal["detail"]
        alice.lease(["index.cccagg.ethusd"], req="learned")  # now refused by feedgate itself
        wait_for(lambda: alice.status("index.cccagg.ethusd") == "refused", 15, "the quota refusal")
        own = [r for r in alice.replies() if r["topic"] == "index.cccagg.ethusd"][-1]
        assert (
            own["reason"] == "quota"
            and own["detail"].startswith("connections:")
            and own["req"] == "learned"
        )
        assert sub_requests(sim, "SubAdd", "5~CCCAGG~ETH~USD") == 0

        frame = {"TYPE": "0", "M": "Coinbase", "FSYM": "BTC", "TSYM": "USD", "F": "1", "ID": "q-1",
                 "TS": 1751000100, "Q": 1, "P": 2}  # fmt: skip
        assert loop.run(sim.send("0~Coinbase~BTC~USD", json.dumps(frame))) == 1
        wait_for(lambda: any(f.get("id") == "q-1" for _, f in rclient.xrange("trades.coinbase.btcusd")),  # type: ignore[union-attr]
                 15, "running topics keep flowing")  # fmt: skip

        alice.lease(["nonsense.x"], req="bad")
        alice.redis.xadd(
            "feedgate:control", {"op": "grab", "client": "alice", "topics": "x", "req": "m"}
        )
        wait_for(
            lambda: any(r["reason"] == "malformed_request" for r in alice.replies()),
            15,
            "malformed",
        )
        assert [r["reason"] for r in alice.replies() if r["topic"] == "nonsense.x"] == [
            "unknown_topic"
        ]

        assert gateway.stop() == 0
        adds_before = sub_requests(sim, "SubAdd", "0~Coinbase~BTC~USD")
        gateway, port = start(sim, redis_url, tmp_path)
        wait_for(lambda: sub_requests(sim, "SubAdd", "0~Coinbase~BTC~USD") == adds_before + 1, 15,
                 "the restarted gateway resubscribes the leased topic")  # fmt: skip
        rows = {r["topic"]: r for r in subscriptions(gateway, port)["topics"]}
        assert "alice" in rows["trades.binance.btcusdt"]["holders"]
        assert (
            rows["trades.binance.btcusdt"]["upstream"] == "cc"
            and rows["trades.binance.btcusdt"]["connection"] == 0
        )
    finally:
        alice.stop_renewing()
        assert gateway.stop() == 0


def test_full_connection_spills_onto_a_new_one(redis_url: str, tmp_path: Path) -> None:
    """Past subscriptions_per_connection a second connection opens; past connections, refused."""
    with simulator(SimConfig(max_sockets_per_key=2, heartbeat_interval=1.0)) as (sim, loop):
        port = free_port()
        quotas = "[upstreams.cc.quotas]\nconnections = 2\nsubscriptions_per_connection = 2\n"
        config = gateway_config(sim.url, port, ["trades.kraken.btceur"]) + CONTROL + quotas
        gateway = GatewayProcess(
            config, tmp_path, {"REDIS_URL": redis_url, "FEEDGATE_TEST_CC_KEY": "k"}
        )
        alice = Consumer(redis_url, "alice")
        try:
            gateway.wait_ready(port)
            wanted = ["trades.coinbase.btcusd", "trades.binance.btcusdt", "trades.coinbase.ethusd"]
            alice.lease([*wanted, "trades.binance.ethusdt"], ttl=60)
            wait_for(
                lambda: alice.status("trades.binance.ethusdt") == "refused",
                15,
                "the fourth refused",
            )
            wait_for(lambda: all(alice.status(t) == "active" for t in wanted), 15, "three active")
            assert loop.call(sim.open_connections) == 2 and sim.connect_count == 2
            refusal = [r for r in alice.replies() if r["topic"] == "trades.binance.ethusdt"][-1]
            assert refusal["reason"] == "quota" and refusal["detail"].startswith("connections:")
            rows = {r["topic"]: r for r in subscriptions(gateway, port)["topics"]}
            assert [rows[t]["connection"] for t in ["trades.kraken.btceur", *wanted]] == [
                0,
                0,
                1,
                1,
            ]
            alice.release(["trades.binance.btcusdt", "trades.coinbase.ethusd"])
            wait_for(
                lambda: loop.call(sim.open_connections) == 1, 20, "the emptied connection closes"
            )
            assert sub_requests(sim, "SubRemove", "0~Kraken~BTC~EUR") == 0
        finally:
            assert gateway.stop() == 0
