"""End to end: simulator → ``feedgate run`` (a real subprocess) → Valkey → consumers."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
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

KEY = "test-key-4f1c9e"
TOPICS = [
    "trades.kraken.btceur",
    "index.cccagg.ethusd",
    "ticker.binance.btcusdt",
    "ohlc.kraken.btceur.1m",
    "spread.coinbase.btcusd",
    "volume.btc",
]
NODE_DIR = ROOT / "tests" / "node"


class Running:
    """A simulator and a gateway subprocess wired together for one test."""

    def __init__(
        self, sim: CryptoCompareSimulator, loop: LoopThread, gateway: GatewayProcess, port: int
    ) -> None:
        self.sim, self.loop, self.gateway, self.health_port = sim, loop, gateway, port

    def send(self, sub: str, frame: dict[str, Any] | str) -> None:
        text = frame if isinstance(frame, str) else json.dumps(frame)
        assert self.loop.run(self.sim.send(sub, text)) == 1


@pytest.fixture(params=["picows", "websockets"])
def running(request: pytest.FixtureRequest, redis_url: str, tmp_path: Path) -> Iterator[Running]:
    """Simulator with a key check, gateway with the key from its env, both ready (each transport)."""
    with simulator(SimConfig(api_keys=frozenset({KEY}), heartbeat_interval=1.0)) as (sim, loop):
        port = free_port()
        gateway = GatewayProcess(
            gateway_config(sim.url, port, TOPICS, extra_upstream=f'transport = "{request.param}"'),
            tmp_path,
            {"REDIS_URL": redis_url, "FEEDGATE_TEST_CC_KEY": KEY},
        )
        try:
            gateway.wait_ready(port)
            yield Running(sim, loop, gateway, port)
        finally:
            code = gateway.stop()
            assert code == 0, gateway.log()
            assert KEY not in gateway.log()


def entries(client: redis.Redis, topic: str) -> list[dict[str, str]]:
    reply: Any = client.xrange(topic)
    return [fields for _, fields in reply]


def feedgate(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the feedgate command line as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        capture_output=True, text=True, timeout=30, check=False, cwd=ROOT,
    )  # fmt: skip


def wait_entry(client: redis.Redis, topic: str, **match: str) -> dict[str, str]:
    def find() -> dict[str, str] | None:
        for fields in entries(client, topic):
            if all(fields.get(k) == v for k, v in match.items()):
                return fields
        return None

    return wait_for(find, 15, f"an entry on {topic} with {match}")


def test_every_channel_reaches_redis_exactly(running: Running, rclient: redis.Redis) -> None:
    """Frames sent by the simulator arrive as the documented flat fields, values exact."""
    running.send(
        "0~Kraken~BTC~EUR",
        '{"TYPE":"0","M":"Kraken","FSYM":"BTC","TSYM":"EUR","F":"9","ID":"T-900001",'
        '"TS":1751000100,"Q":0.00000001,"P":91000.50,"TOTAL":0.00091,"RTS":1751000100,'
        '"CCSEQ":77,"TSNS":5}',
    )
    trade = wait_entry(rclient, "trades.kraken.btceur", id="T-900001")
    assert int(trade.pop("recv_ts")) > 1_751_000_100 * 10**9
    assert trade == {
        "kind": "trade", "source": "cc", "exchange": "kraken", "base": "btc", "quote": "eur",
        "ts": "1751000100000000005", "price": "91000.50", "amount": "0.00000001",
        "side": "sell", "id": "T-900001", "seq": "77", "reversed": "true",
    }  # fmt: skip

    # The index snapshot arrived at subscribe; a partial update merges onto it.
    snapshot = wait_for(lambda: entries(rclient, "index.cccagg.ethusd"), 15, "index snapshot")[-1]
    assert snapshot["kind"] == "index" and "price" in snapshot and "volume_24h" in snapshot
    running.send(
        "5~CCCAGG~ETH~USD",
        '{"TYPE":"5","MARKET":"CCCAGG","FROMSYMBOL":"ETH","TOSYMBOL":"USD","FLAGS":2050,'
        '"PRICE":1234.5678,"LASTMARKET":"Kraken"}',
    )
    merged = wait_entry(rclient, "index.cccagg.ethusd", price="1234.5678")
    expected = dict(snapshot)
    expected.update(
        price="1234.5678", last_market="Kraken", flags="2050", price_dir="down",
        median_dir="unchanged",
    )  # fmt: skip
    for key in ("recv_ts", "bid_dir", "ask_dir"):
        expected.pop(key, None)
    merged.pop("recv_ts")
    assert merged == expected

    running.send(
        "24~Kraken~BTC~EUR~m",
        '{"TYPE":"24","MARKET":"Kraken","FROMSYMBOL":"BTC","TOSYMBOL":"EUR","TS":1751000160,'
        '"UNIT":"m","ACTION":"A","OPEN":1.10,"HIGH":2,"LOW":1E-3,"CLOSE":1.5,"VOLUMEFROM":3,'
        '"VOLUMETO":4.5,"TOTALTRADES":7}',
    )
    candle = wait_entry(rclient, "ohlc.kraken.btceur.1m", ts="1751000160000000000")
    candle.pop("recv_ts")
    assert candle == {
        "kind": "ohlc", "source": "cc", "exchange": "kraken", "base": "btc", "quote": "eur",
        "ts": "1751000160000000000", "interval": "1m", "open": "1.10", "high": "2",
        "low": "0.001", "close": "1.5", "volume": "3", "volume_quote": "4.5", "trades": "7",
    }  # fmt: skip

    running.send(
        "30~Coinbase~BTC~USD",
        '{"TYPE":"30","M":"Coinbase","FSYM":"BTC","TSYM":"USD","CCSEQ":999001,'
        '"BID":[{"P":65000.01,"Q":0.5,"REPORTEDNS":1751000161000000000}]}',
    )
    spread = wait_entry(rclient, "spread.coinbase.btcusd", seq="999001")
    assert (spread["bid"], spread["bid_size"], spread["ts"]) == (
        "65000.01",
        "0.5",
        "1751000161000000000",
    )
    assert "ask" in spread  # the other side is kept from the snapshot

    running.send("11~BTC", '{"TYPE":"11","SYMBOL":"BTC","FULLVOLUME":"99999.123456789"}')
    volume = wait_entry(rclient, "volume.btc", volume="99999.123456789")
    assert (volume["kind"], volume["scope"], volume["base"]) == ("volume", "all", "btc")

    statuses = entries(rclient, "status.cc")
    assert {"kind": "status", "state": "connected"}.items() <= statuses[0].items()

    keys: Any = wait_for(lambda: rclient.keys("feedgate:health:*"), 10, "the health hash")
    health: Any = wait_for(
        lambda: (h := rclient.hgetall(keys[0])).get("ready") == "1" and h, 10, "a ready health hash"
    )
    assert int(health["pid"]) == running.gateway.process.pid
    assert 0 < int(rclient.pttl(keys[0])) <= 15_000
    report = json.loads(health["report"])
    assert report["upstreams"]["cc"]["limits"]["sockets_active"] == 1


def test_node_consumer_reads_documented_fields(
    running: Running, redis_url: str, rclient: redis.Redis
) -> None:
    """A Node.js client from npm reads the same flat fields with XREAD."""
    node = shutil.which("node")
    assert node is not None, "node is required for the cross-language test"
    assert (NODE_DIR / "node_modules" / "redis").is_dir(), "run: npm ci --prefix tests/node"
    for n in range(3):
        running.send(
            "0~Kraken~BTC~EUR",
            {"TYPE": "0", "M": "Kraken", "FSYM": "BTC", "TSYM": "EUR", "F": "2",
             "ID": f"N-{n}", "TS": 1751000200 + n, "Q": "0.5", "P": "91000.1"},
        )  # fmt: skip
    wait_entry(rclient, "trades.kraken.btceur", id="N-2")
    total = len(entries(rclient, "trades.kraken.btceur"))
    result = subprocess.run(
        [node, str(NODE_DIR / "consumer.mjs"), redis_url, str(total), "trades.kraken.btceur"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    seen = [json.loads(line) for line in result.stdout.splitlines()]
    ours = [e["fields"] for e in seen if e["fields"]["id"].startswith("N-")]
    assert [f["id"] for f in ours] == ["N-0", "N-1", "N-2"]
    for fields in ours:
        assert set(fields) == {"kind", "source", "exchange", "base", "quote", "ts", "recv_ts",
                               "price", "amount", "side", "id", "reversed"}  # fmt: skip
        assert (fields["price"], fields["amount"], fields["side"]) == ("91000.1", "0.5", "buy")


def test_reconnect_resubscribes_and_announces_gap(running: Running, rclient: redis.Redis) -> None:
    """After the simulator drops the socket, the gateway reconnects, resubscribes, data flows."""
    sim, loop = running.sim, running.loop
    assert sim.connect_count == 1
    loop.run(sim.drop_connections())
    wait_for(lambda: sim.connect_count == 2 and len(loop.call(sim.active_subs)) == len(TOPICS),
             15, "reconnect and resubscription")  # fmt: skip
    running.send(
        "0~Kraken~BTC~EUR",
        {"TYPE": "0", "M": "Kraken", "FSYM": "BTC", "TSYM": "EUR", "F": "1", "ID": "after-1",
         "TS": 1751000300, "Q": 1, "P": 2},
    )  # fmt: skip
    wait_entry(rclient, "trades.kraken.btceur", id="after-1")
    gap = wait_entry(rclient, "trades.kraken.btceur", kind="gap")
    assert gap["reason"] == "reconnect" and int(gap["from_ts"]) <= int(gap["to_ts"])
    states = [e["state"] for e in entries(rclient, "status.cc")]
    assert states[:3] == ["connected", "disconnected", "connected"]
    wait_for(lambda: running.gateway.readyz(running.health_port)[0] == 200, 15, "ready again")


def test_bad_frames_counted_and_session_continues(running: Running, rclient: redis.Redis) -> None:
    """Garbage and unknown TYPEs are counted on /readyz; the next good frame still arrives."""
    for frame in ("this is not json", '{"TYPE":"4242"}', '{"TYPE":"0","M":5}'):
        running.loop.run(running.sim.broadcast(frame))
    running.send(
        "0~Kraken~BTC~EUR",
        {"TYPE": "0", "M": "Kraken", "FSYM": "BTC", "TSYM": "EUR", "F": "2", "ID": "good-1",
         "TS": 1751000400, "Q": 1, "P": 3},
    )  # fmt: skip
    wait_entry(rclient, "trades.kraken.btceur", id="good-1")
    status, report = running.gateway.readyz(running.health_port)
    assert status == 200
    errors = report["upstreams"]["cc"]["decode_errors"]
    assert errors == {"invalid_json": 1, "unknown_type": 1, "invalid_message": 1}
    assert running.sim.connect_count == 1


def test_cli_health_topics_and_tail(running: Running, redis_url: str, rclient: redis.Redis) -> None:
    """``feedgate health`` exits 0 when ready; ``topics`` lists streams; ``tail`` prints entries."""
    health = feedgate("health", "--config", str(running.gateway.config_path))
    assert health.returncode == 0, health.stderr
    running.send(
        "0~Kraken~BTC~EUR",
        {"TYPE": "0", "M": "Kraken", "FSYM": "BTC", "TSYM": "EUR", "F": "2", "ID": "cli-1",
         "TS": 1751000500, "Q": 1, "P": 4},
    )  # fmt: skip
    wait_entry(rclient, "trades.kraken.btceur", id="cli-1")
    topics = feedgate("topics", "--redis", redis_url)
    assert topics.returncode == 0, topics.stderr
    listed = {line.split()[0]: int(line.split()[1]) for line in topics.stdout.splitlines()[1:]}
    assert listed["trades.kraken.btceur"] == rclient.xlen("trades.kraken.btceur")
    assert "status.cc" in listed
    tail = feedgate("tail", "trades.kraken.btceur", "--redis", redis_url, "--from-start",
                    "--count", "1", "--json")  # fmt: skip
    assert tail.returncode == 0, tail.stderr
    first = json.loads(tail.stdout)
    assert first["kind"] in ("trade", "gap") and first["id"]


def test_health_fails_when_not_ready(tmp_path: Path) -> None:
    """``feedgate health`` exits 1 when nothing answers on the readiness port."""
    port = free_port()
    result = feedgate("health", "--url", f"http://127.0.0.1:{port}/readyz")
    assert result.returncode == 1 and "unreachable" in result.stderr
