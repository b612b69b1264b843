"""The Redis Streams writer: batches events per loop turn into one pipelined write.

``submit`` is synchronous and never blocks the caller: events join a bounded
buffer and the writer task sends everything buffered as one RESP payload, then
reads all replies in bulk with hiredis. While Redis is unreachable the buffer
keeps filling (up to its bound), and everything is written in order once the
connection is back.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import ssl
import time
from collections import Counter, deque
from collections.abc import Sequence
from operator import attrgetter

import hiredis

from gateway.errors import PublishError
from gateway.events import Event, Gap
from gateway.publish.resp import StreamEncoder, command
from gateway.redisurl import RedisTarget

log = logging.getLogger("feedgate.publish")
_TOPIC = attrgetter("topic")

READ_SIZE = 1 << 20
#: Reply bytes the connection buffers before it stops reading the socket. A turn spent
#: decoding a long burst leaves many replies waiting; a small buffer would stall them.
READ_LIMIT = 16 << 20
#: Errors that mean "not now" rather than "never": the batch is retried, not dropped.
TRANSIENT = ("LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN", "CLUSTERDOWN")
#: Seconds between a lost or refused connection and the next attempt.
RETRY_PAUSE = 0.2
#: Batches written and not yet acknowledged, at most: the pipeline's depth.
MAX_INFLIGHT = 4
#: A loop turn that buffers this many events (a burst read in one go) writes a batch at
#: once, from ``submit``, so Redis works on it while the rest of the burst is decoded...
EAGER_BATCH = 4096
#: ... while fewer than this many batches await replies (which need the turn to end).
MAX_EAGER_INFLIGHT = 64
#: Wait for the socket to drain past this many unsent bytes.
WRITE_HIGH_WATER = 4 * 1024 * 1024


class _Batch:
    """A written batch awaiting its replies."""

    __slots__ = ("commands", "events", "keys")

    def __init__(self, events: list[Event], keys: list[str] | None, commands: int) -> None:
        self.events = events
        self.keys = keys
        self.commands = commands


#: Upper bounds (seconds) of the publish-latency histogram buckets.
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0)


class WriterStats:
    """Counters the status line, health checks, metrics and tests read."""

    def __init__(self) -> None:
        self.written: Counter[str] = Counter()  # acknowledged entries per topic
        self.errors: Counter[str] = Counter()  # entries Redis refused, per topic
        self.dropped: Counter[str] = Counter()  # entries dropped because the buffer was full
        self.last_written_ns: dict[str, int] = {}  # per topic: when its newest entry landed
        self.lag_ns = 0  # receive → acknowledged, for the newest entry of the last batch
        self.batches = 0
        self.last_ack_ns = 0
        self.connect_failures = 0
        self.gaps = 0  # gap events announced for dropped entries
        # Receive → acknowledged of the oldest entry of each batch (the batch's worst case).
        self.latency_counts = [0] * (len(LATENCY_BUCKETS) + 1)
        self.latency_sum = 0.0

    def observe_latency(self, seconds: float) -> None:
        self.latency_counts[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.latency_sum += seconds


class _Dropped:
    """What was dropped on one topic while the buffer was full: for its gap event."""

    __slots__ = ("count", "first", "from_ts", "to_ts")

    def __init__(self, first: Event, ts: int) -> None:
        self.first = first
        self.count = 0
        self.from_ts = ts
        self.to_ts = ts


class StreamWriter:
    """Writes events to Redis Streams over one raw RESP connection."""

    def __init__(
        self,
        target: RedisTarget,
        encoder: StreamEncoder,
        *,
        max_buffer: int = 1_000_000,
        max_buffer_bytes: int = 512 * 1024 * 1024,
        max_batch: int = 20_000,
        connect_timeout: float = 5.0,
    ) -> None:
        self._target = target
        self._encoder = encoder
        self._max_events = max_buffer
        self._max_bytes = max_buffer_bytes
        self._max_buffer = max_buffer
        self._entry_bytes = 256.0  # running mean of an encoded entry's size
        self._dropped: dict[str, _Dropped] = {}
        self._unacked = 0
        self._max_batch = max_batch
        self._connect_timeout = connect_timeout
        self._buffer: deque[Event] = deque()
        self._inflight: deque[_Batch] = deque()  # written, awaiting replies, in order
        self._stream: asyncio.StreamWriter | None = None  # while connected
        self._wakeup = asyncio.Event()  # the pump: new events, or a batch acknowledged
        self._written = asyncio.Event()  # the reply reader: a batch was written
        self._closing = False
        self._done = asyncio.Event()
        self.connected = False
        self.stats = WriterStats()

    # --- producer side (synchronous, hot path) -------------------------------

    def submit(self, events: Sequence[Event]) -> None:
        """Queue events for writing; never awaits. Past the bound the oldest are dropped,
        counted per topic, and announced by a ``gap`` entry once writing resumes."""
        buffer = self._buffer
        buffer.extend(events)
        overflow = len(buffer) - self._max_buffer
        if overflow > 0:
            self._drop(overflow)
        elif len(buffer) >= EAGER_BATCH:
            self._write_eagerly()
        self._wakeup.set()

    def _write_eagerly(self) -> None:
        """Write a full batch now, mid-turn, unless the connection is down or backed up."""
        stream = self._stream
        if (
            stream is not None
            and len(self._inflight) < MAX_EAGER_INFLIGHT
            and stream.transport.get_write_buffer_size() <= WRITE_HIGH_WATER
        ):
            self._write_batch(stream)

    def _drop(self, count: int) -> None:
        buffer = self._buffer
        dropped = self.stats.dropped
        for _ in range(count):
            event = buffer.popleft()
            ts = getattr(event, "ts", 0)
            record = self._dropped.get(event.topic)
            if record is None:
                record = self._dropped[event.topic] = _Dropped(event, ts)
            record.count += 1
            record.to_ts = ts
            dropped[event.topic] += 1
        log.warning("publish buffer full (%d entries): dropped the %d oldest",
                    self._max_buffer, count)  # fmt: skip

    def _announce_drops(self) -> None:
        """Put one gap entry per topic that lost entries at the head of the buffer."""
        gaps: list[Event] = []
        for topic, record in self._dropped.items():
            first = record.first
            gaps.append(
                Gap(topic=topic, source=first.source, exchange=getattr(first, "exchange", ""),
                    base=getattr(first, "base", ""), quote=getattr(first, "quote", ""),
                    ts=record.to_ts, recv_ts=time.time_ns(), reason="publish_buffer_full",
                    from_ts=record.from_ts, to_ts=record.to_ts, dropped=record.count)
            )  # fmt: skip
        self._dropped.clear()
        self.stats.gaps += len(gaps)
        self._buffer.extendleft(reversed(gaps))

    def _learn_entry_size(self, payload_bytes: int, entries: int) -> None:
        """Keep the buffer's byte bound: events = min(max_buffer, max_bytes / mean size)."""
        if entries:
            self._entry_bytes = 0.8 * self._entry_bytes + 0.2 * (payload_bytes / entries)
            self._max_buffer = max(
                1, min(self._max_events, int(self._max_bytes / self._entry_bytes))
            )

    @property
    def pending(self) -> int:
        """Events not yet acknowledged by Redis: buffered or written and awaiting replies."""
        return len(self._buffer) + self._unacked

    # --- writer task ------------------------------------------------------------

    async def run(self) -> None:
        """Connect, write, and reconnect with capped backoff until closed and drained."""
        try:
            await self._run()
        finally:
            self._done.set()

    async def _run(self) -> None:
        delay = 0.1
        while not (self._closing and not self._buffer):
            try:
                reader, writer = await self._connect()
            except (TimeoutError, OSError, PublishError) as exc:
                self.stats.connect_failures += 1
                log.warning("redis unreachable (%s); retrying in %.1fs", exc, delay)
                await self._pause(delay)
                delay = min(delay * 2, 5.0)
                continue
            delay = 0.1
            self.connected = True
            log.info("connected to redis at %s:%d", self._target.host, self._target.port)
            try:
                await self._pump(reader, writer)
            except (OSError, PublishError, asyncio.IncompleteReadError) as exc:
                log.warning("redis connection lost (%s); reconnecting", exc)
            finally:
                self.connected = False
                writer.close()
            if not (self._closing and not self._buffer):
                await self._pause(RETRY_PAUSE)  # e.g. a server still loading its data

    async def _pause(self, delay: float) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._wait_closing(), delay)

    async def _wait_closing(self) -> None:
        while not self._closing:
            self._wakeup.clear()
            await self._wakeup.wait()

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        t = self._target
        context = ssl.create_default_context() if t.tls else None
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(t.host, t.port, ssl=context, limit=READ_LIMIT),
            self._connect_timeout,
        )
        hello: list[bytes] = []
        if t.password is not None:
            if t.username:
                hello.append(command("AUTH", t.username, t.password.reveal()))
            else:
                hello.append(command("AUTH", t.password.reveal()))
        if t.db:
            hello.append(command("SELECT", t.db))
        if hello:
            writer.write(b"".join(hello))
            parser = hiredis.Reader()
            for _ in hello:
                reply = await self._read_one(reader, parser)
                if isinstance(reply, hiredis.ReplyError):
                    writer.close()
                    # The reply names the failure (e.g. WRONGPASS) but never echoes the secret.
                    raise PublishError(f"redis refused the connection setup: {reply}")
        return reader, writer

    @staticmethod
    async def _read_one(reader: asyncio.StreamReader, parser: hiredis.Reader) -> object:
        while (reply := parser.gets()) is False:
            data = await reader.read(READ_SIZE)
            if not data:
                raise PublishError("redis closed the connection")
            parser.feed(data)
        return reply

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Write batches while earlier ones await their replies (a bounded pipeline).

        A batch leaves the buffer when written and is put back, in order, if the
        connection fails before Redis acknowledged it: nothing is lost (at worst
        an entry Redis wrote just before the failure is written again).
        """
        buffer = self._buffer
        inflight = self._inflight
        acks = asyncio.create_task(self._acks(reader, inflight))
        acks.add_done_callback(lambda _: self._wakeup.set())  # its failure wakes the pump
        self._stream = writer
        try:
            while True:
                if self._dropped:
                    self._announce_drops()
                if acks.done():
                    acks.result()  # raises the connection's failure
                    raise PublishError("redis reply reader stopped")
                if not buffer or len(inflight) >= MAX_INFLIGHT:
                    if self._closing and not buffer and not inflight:
                        return
                    self._wakeup.clear()
                    await self._wakeup.wait()  # the reply reader sets it when it ends, too
                    continue
                self._write_batch(writer)
                if writer.transport.get_write_buffer_size() > WRITE_HIGH_WATER:
                    await writer.drain()
        finally:
            self._stream = None
            acks.cancel()
            self._unacked = 0
            for pending in reversed(inflight):  # not acknowledged: retried in order
                buffer.extendleft(reversed(pending.events))
            inflight.clear()

    def _write_batch(self, writer: asyncio.StreamWriter) -> None:
        """Encode the oldest buffered events (up to the batch bound) and write them."""
        buffer = self._buffer
        count = min(len(buffer), self._max_batch)
        if count == len(buffer):  # the usual case: everything buffered, in C
            batch = list(buffer)
            buffer.clear()
        else:
            batch = [buffer.popleft() for _ in range(count)]
        payload, keys = self._encoder.encode(batch)
        commands = count if keys is None else len(keys)
        self._learn_entry_size(len(payload), commands)
        self._inflight.append(_Batch(batch, keys, commands))
        self._unacked += count
        writer.write(payload)
        self._written.set()

    async def _acks(self, reader: asyncio.StreamReader, inflight: deque[_Batch]) -> None:
        """Read replies in bulk, batch by batch, and account for each acknowledged batch."""
        parser = hiredis.Reader()
        written = self._written
        while True:
            if not inflight:
                written.clear()
                await written.wait()
                continue
            batch = inflight[0]
            errors = await self._read_replies(reader, parser, batch.commands)
            transient = next((e for _, e in errors if str(e).startswith(TRANSIENT)), None)
            if transient is not None:
                # Not written: the server is loading or busy. The batch stays in flight,
                # so the pump puts it back in order and it is retried.
                raise PublishError(f"redis cannot write yet ({transient}); retrying the batch")
            inflight.popleft()
            self._unacked -= len(batch.events)
            self._account(batch, errors)
            self._wakeup.set()

    def _account(self, batch: _Batch, errors: list[tuple[int, object]]) -> None:
        stats = self.stats
        events, keys = batch.events, batch.keys
        now = time.time_ns()
        stats.batches += 1
        stats.last_ack_ns = now
        stats.lag_ns = now - getattr(events[-1], "recv_ts", getattr(events[-1], "ts", now))
        stats.observe_latency((now - getattr(events[0], "recv_ts", now)) / 1e9)
        written = stats.written
        last = stats.last_written_ns
        counts = Counter(map(_TOPIC, events) if keys is None else keys)  # counted in C
        written.update(counts)
        last.update(dict.fromkeys(counts, now))
        for index, reply in errors:
            topic = events[index].topic if keys is None else keys[index]
            written[topic] -= 1
            stats.errors[topic] += 1
            log.error("redis refused an entry for %s: %s", topic, reply)

    @staticmethod
    async def _read_replies(
        reader: asyncio.StreamReader, parser: hiredis.Reader, count: int
    ) -> list[tuple[int, object]]:
        errors: list[tuple[int, object]] = []
        seen = 0
        while seen < count:
            reply = parser.gets()
            if reply is False:  # need more bytes; replies of later batches stay parsed
                data = await reader.read(READ_SIZE)
                if not data:
                    raise PublishError("redis closed the connection")
                parser.feed(data)
                continue
            if isinstance(reply, hiredis.ReplyError):
                errors.append((seen, reply))
            seen += 1
        return errors

    async def close(self, timeout: float = 5.0) -> bool:
        """Stop after writing what is buffered, waiting at most ``timeout``; True if drained.

        The caller cancels the ``run`` task afterwards if it has not ended.
        """
        self._closing = True
        self._wakeup.set()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._done.wait(), timeout)
        drained = not self._buffer
        if not drained:
            log.error("shutdown: %d entries were not written to redis", len(self._buffer))
        return drained
