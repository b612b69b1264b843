"""CryptoCompare order books end to end: TYPE 9 + 8 → book entries; a CCSEQ gap resubscribes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import redis

from bridges.cryptocompare.sim import SimConfig
from tests.support import GatewayProcess, free_port, gateway_config, simulator, wait_for

SUB = "8~Binance~BTC~USDT"
TOPIC = "book.binance.btcusdt"


def entries(client: redis.Redis, topic: str) -> list[dict[str, str]]:
    reply: Any = client.xrange(topic)
    return [fields for _, fields in reply]


def books(client: redis.Redis) -> list[dict[str, str]]:
    return [e for e in entries(client, TOPIC) if e["kind"] == "book"]


def test_ccseq_gap_resubscribes_that_book_alone(
    redis_url: str, rclient: redis.Redis, tmp_path: Path
) -> None:
    """Deltas chain on CCSEQ; a skipped one publishes a gap and resubscribes only that book."""
    with simulator(SimConfig()) as (sim, loop):
        port = free_port()
        gateway = GatewayProcess(
            gateway_config(sim.url, port, [TOPIC, "trades.kraken.btceur"]),
            tmp_path, {"REDIS_URL": redis_url, "FEEDGATE_TEST_CC_KEY": "k"},
        )  # fmt: skip
        try:
            gateway.wait_ready(port)
            wait_for(lambda: books(rclient), 15, "the TYPE 9 snapshot")
            for _ in range(3):
                loop.run(sim.send_book_delta(SUB))

            def four() -> list[dict[str, str]] | None:
                found = books(rclient)
                return found if len(found) >= 4 else None

            first = wait_for(four, 15, "three deltas")
            assert [b["action"] for b in first] == ["snapshot", "delta", "delta", "delta"]
            seqs = [int(b["seq"]) for b in first]
            assert seqs == list(range(seqs[0], seqs[0] + 4))
            for entry in first[1:]:
                changed = json.loads(entry["bids"]) + json.loads(entry["asks"])
                assert len(changed) == 1  # TYPE 8 changes one position

            loop.run(sim.inject_book_gap(SUB))
            loop.run(sim.send_book_delta(SUB))
            gap = wait_for(lambda: next((e for e in entries(rclient, TOPIC) if e["kind"] == "gap"), None),
                           15, "the gap")  # fmt: skip
            assert gap["reason"] == f"sequence: expected {seqs[-1] + 1}, got {seqs[-1] + 2}"
            resync = wait_for(lambda: [b for b in books(rclient)[4:] if b["action"] == "snapshot"],
                              15, "the new snapshot after resubscribing")  # fmt: skip
            assert int(resync[0]["seq"]) >= seqs[-1] + 2
            actions = [(m.get("action"), m.get("subs")) for m in sim.received]
            assert actions[-2:] == [("SubRemove", [SUB]), ("SubAdd", [SUB])]
            assert sim.connect_count == 1  # the socket was never reconnected
            latest = json.loads(rclient.get("book:binance.btcusdt") or "{}")
            assert latest["seq"] == int(books(rclient)[-1]["seq"]) and latest["in_sync"] is True
        finally:
            assert gateway.stop() == 0
