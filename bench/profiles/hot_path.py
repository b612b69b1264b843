"""In-process profile target: the CryptoCompare JSON hot path, feed → RESP encode.

Run under a profiler: ``python -m pyinstrument -r text --show-all bench/profiles/hot_path.py``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bridges.cryptocompare.adapter import CryptoCompareBridge
from gateway.bridge import BridgeSettings, Signal
from gateway.events import Event
from gateway.publish.resp import StreamEncoder

FRAMES = 300_000
TEMPLATE = (
    '{"TYPE":"0","M":"Kraken","FSYM":"BTC","TSYM":"EUR","F":"2","ID":"%d","TS":1751000100,'
    '"Q":0.015,"P":91000.5,"TOTAL":1365.0075,"RTS":1751000100,"CCSEQ":%d,"TSNS":120000000,'
    '"RTSNS":180000000}'
)


def main() -> None:
    frames = [(TEMPLATE % (i, i)).encode() for i in range(FRAMES)]
    bridge = CryptoCompareBridge(BridgeSettings(upstream="cc"))
    encoder = StreamEncoder(lambda channel: 1_000_000)
    buffer: list[Event] = []
    events: list[Event] = []
    signals: list[Signal] = []
    started = time.perf_counter()
    for frame in frames:
        bridge.feed(frame, 1_751_000_100_000_000_000, events, signals)
        buffer.extend(events)
        events.clear()
        if len(buffer) >= 1000:
            encoder.encode(buffer)
            buffer.clear()
    per_event = (time.perf_counter() - started) / FRAMES * 1e6
    print(f"{FRAMES} frames: {per_event:.2f} µs per event (decode + normalise + encode)")


if __name__ == "__main__":
    main()
