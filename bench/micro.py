"""Decode micro-benchmarks: one bridge's frames → events → RESP bytes, in-process.

For each bridge, the frames the blaster sends (the same bytes, without the WebSocket
framing) go through ``Bridge.feed`` (decode + normalise into ``Trade`` events), then the
events through ``StreamEncoder.encode`` in batches of ``BATCH`` (the XADD pipeline the
writer sends). No socket, no Redis, no event loop: this is the CPU floor of the hot path
per event. Each figure is the best of ``repeat`` runs over fresh bridge objects.

Run alone: ``python -m bench.micro [--events N] [--repeat R]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from bench.blaster import cc_trade, cw_trades
from gateway.bridge import Bridge, BridgeSettings, Signal
from gateway.events import Event
from gateway.publish.resp import StreamEncoder

#: Events per ``StreamEncoder.encode`` call.
BATCH = 1000
CW_PER_FRAME = 10


def _bridge(protocol: str) -> Bridge:
    settings = BridgeSettings(upstream="bench")
    if protocol == "cc":
        from bridges.cryptocompare.adapter import CryptoCompareBridge

        return CryptoCompareBridge(settings)
    from bridges.cryptowatch.adapter import CryptowatchBridge

    return CryptowatchBridge(settings)


def _frames(protocol: str, events: int) -> list[bytes]:
    if protocol == "cc":
        return [cc_trade(i) for i in range(1, events + 1)]
    return [
        cw_trades(i, min(CW_PER_FRAME, events + 1 - i)) for i in range(1, events + 1, CW_PER_FRAME)
    ]


def _once(protocol: str, frames: Sequence[bytes]) -> tuple[int, int, int, int]:
    """(events, decode ns, encode ns, RESP bytes) for one pass over ``frames``."""
    bridge = _bridge(protocol)
    encoder = StreamEncoder(lambda channel: 1_000_000)
    events: list[Event] = []
    signals: list[Signal] = []
    recv_ts = time.time_ns()
    feed = bridge.feed
    t0 = time.perf_counter_ns()
    for frame in frames:
        feed(frame, recv_ts, events, signals)
    t1 = time.perf_counter_ns()
    size = 0
    for i in range(0, len(events), BATCH):
        size += len(encoder.encode(events[i : i + BATCH])[0])
    t2 = time.perf_counter_ns()
    if signals:
        raise AssertionError(f"{protocol}: unexpected signals, e.g. {signals[0]!r}")
    return len(events), t1 - t0, t2 - t1, size


def bench(protocol: str, events: int, repeat: int) -> dict[str, Any]:
    """Best-of-``repeat`` µs per event for decode+normalise, encode, and both."""
    frames = _frames(protocol, events)
    runs = []
    for _ in range(repeat):
        gc.collect()
        runs.append(_once(protocol, frames))
    count = runs[0][0]
    if count != events:
        raise AssertionError(f"{protocol}: {count} events from {events} trades")
    decode = min(r[1] for r in runs) / count / 1000
    encode = min(r[2] for r in runs) / count / 1000
    total = min(r[1] + r[2] for r in runs) / count / 1000
    return {
        "events": count,
        "frames": len(frames),
        "trades_per_frame": 1 if protocol == "cc" else CW_PER_FRAME,
        "frame_bytes_avg": round(sum(map(len, frames)) / len(frames), 1),
        "resp_bytes_per_event": round(runs[0][3] / count, 1),
        "repeat": repeat,
        "decode_us_per_event": round(decode, 3),
        "encode_us_per_event": round(encode, 3),
        "total_us_per_event": round(total, 3),
        "events_per_s_one_core": round(1e6 / total),
    }


NAMES: dict[str, str] = {
    "cc": "cryptocompare JSON, 1 trade/frame",
    "cw": f"cryptowatch protobuf, {CW_PER_FRAME} trades/frame",
}


def run(events: int, repeat: int, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Both bridges; returns ``{"cc": {...}, "cw": {...}}``."""
    results: dict[str, Any] = {}
    for protocol, name in NAMES.items():
        log(f"micro: {name}, {events} events x {repeat}")
        results[protocol] = {"name": name, **bench(protocol, events, repeat)}
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.micro", description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.events, args.repeat), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
