"""One upstream connection: connect, subscribe, pump frames, reconnect.

The session shuttles frames between a ``Transport`` connection and a sans-I/O
``Bridge`` and hands the bridge's events to the sink (the publisher) without
awaiting anything per event. It knows no venue: reconnect pacing, backoff and
the watchdog are generic, and what a frame means is the bridge's business.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Sequence

import msgspec

from gateway.bookkeeper import BookKeeper
from gateway.bridge import (
    BookDelta,
    BookInvalid,
    BookSnapshot,
    Bridge,
    DecodeError,
    Fetch,
    Heartbeat,
    QuotaUpdate,
    Reconnect,
    Signal,
    Subscribed,
    SubscribeFailed,
    Unsubscribed,
    UpstreamError,
    Welcome,
)
from gateway.core.backoff import Backoff
from gateway.core.ratelimit import ConnectGate, TokenBucket
from gateway.errors import ConnectError, ConnectionClosed
from gateway.events import Event, Gap, Status
from gateway.topics import Topic
from gateway.transport import Connection, Transport


def http_get(url: str, timeout: float) -> tuple[int, bytes]:
    """A blocking GET (run in a thread): (status, body); status 0 when it failed outright."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            return int(reply.status), bytes(reply.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (OSError, ValueError) as exc:
        return 0, str(exc).encode()


EventSink = Callable[[list[Event]], None]
"""Takes a batch of events; must copy what it keeps (the list is reused)."""

#: The transport closes a connection on frames over this many times the limit; frames
#: between the limit and that are counted as ``oversize`` and skipped.
HARD_FRAME_FACTOR = 4

#: Least seconds between two log lines about the same kind of bad frame.
DECODE_LOG_INTERVAL = 60.0


class SessionPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """Timing and size limits of one upstream session."""

    watchdog: float = 70.0
    min_connect_interval: float = 5.0
    backoff_initial: float = 1.0
    backoff_max: float = 60.0
    open_timeout: float = 10.0
    max_frame_bytes: int = 4 * 1024 * 1024
    book_depth: int = 50
    spread_from_book: bool = False


class SessionState:
    """What health checks, the status line and tests read about a session."""

    def __init__(self, topics: Sequence[str], required: Sequence[str] | None = None) -> None:
        self.wanted = set(topics)  # topics this connection should hold
        self.required = set(topics if required is None else required)  # for readiness
        self.connected = False
        self.subscribed: set[str] = set()
        self.failed: dict[str, str] = {}
        self.last_frame_ns = 0
        self.connects = 0
        self.frames = 0
        self.fatal: str | None = None
        self.limits: dict[str, int] = {}
        self.decode_errors: Counter[str] = Counter()
        self.gaps = 0  # gap events announced after reconnects


class _Fatal(Exception):
    """Retrying this upstream cannot help; the session stops."""


class Session:
    """Runs one upstream connection until stopped or fatally refused."""

    def __init__(
        self,
        name: str,
        bridge: Bridge,
        url: str,
        topics: Sequence[Topic],
        sink: EventSink,
        *,
        transport: Transport,
        policy: SessionPolicy,
        rng: random.Random | None = None,
        gate: ConnectGate | None = None,
        messages: TokenBucket | None = None,
        on_quota: Callable[[dict[str, int]], None] | None = None,
        rest: TokenBucket | None = None,
        required: Sequence[str] | None = None,
        upstream: str | None = None,
        source: str | None = None,
    ) -> None:
        self.name = name
        self.upstream = upstream or name
        self.source = source or self.upstream  # "sim" when a built-in simulator serves it
        self._bridge = bridge
        self._url = url
        self._topics = {t.name: t for t in topics}
        self._sink = sink
        self._transport = transport
        self._policy = policy
        self._backoff = Backoff(policy.backoff_initial, policy.backoff_max, rng)
        # Shared by every connection of one upstream (one key): connect pacing and
        # budgets, and the control-message rate.
        self._gate = gate or ConnectGate(policy.min_connect_interval, now=time.monotonic())
        self._messages = messages
        self._on_quota = on_quota
        self._stop = asyncio.Event()
        self._connection: Connection | None = None
        self._outbox: list[str | bytes] = []
        self._successor: Connection | None = None
        self._switching: asyncio.Task[None] | None = None
        self._fetches: set[asyncio.Task[None]] = set()
        self._rest = rest
        self._outbox_ready = asyncio.Event()
        self._at_least = 0.0
        self._decode_logged: dict[str, float] = {}
        self.books = BookKeeper(
            self.source,
            bridge.book_seq_modulus,
            policy.book_depth,
            policy.spread_from_book,
            upstream=self.upstream,
        )
        self.watchdog = policy.watchdog
        self.state = SessionState(list(self._topics), required)
        self.log = logging.getLogger(f"feedgate.session.{name}")
        for topic in self._topics.values():
            bridge.check_topic(topic)

    # --- demand -------------------------------------------------------------------

    @property
    def topics(self) -> list[str]:
        return list(self._topics)

    async def add(self, topics: Sequence[Topic]) -> None:
        """Hold more topics: subscribed now if connected, else on the next connect."""
        new = [t for t in topics if t.name not in self._topics]
        for topic in new:
            self._bridge.check_topic(topic)
            self._topics[topic.name] = topic
            self.state.wanted.add(topic.name)
        connection = self._connection
        if new and connection is not None:
            await self._send(connection, self._bridge.subscribe(new))

    async def remove(self, topics: Sequence[str]) -> None:
        """Drop topics: unsubscribed now if connected."""
        gone = [self._topics.pop(name) for name in topics if name in self._topics]
        state = self.state
        for topic in gone:
            state.wanted.discard(topic.name)
            state.required.discard(topic.name)
            state.subscribed.discard(topic.name)
            state.failed.pop(topic.name, None)
        connection = self._connection
        if gone and connection is not None:
            await self._send(connection, self._bridge.unsubscribe(gone))

    async def _send(self, connection: Connection, frames: Sequence[str | bytes]) -> None:
        """Send control frames within the upstream's messages-per-second budget."""
        for frame in frames:
            bucket = self._messages
            if bucket is not None:
                wait = bucket.wait_time(time.monotonic())
                if wait > 0:
                    await asyncio.sleep(wait)
                bucket.take(time.monotonic())
            await connection.send(frame)

    # --- lifecycle ----------------------------------------------------------------

    async def run(self) -> None:
        """Connect and pump until ``stop``; reconnect with paced, jittered backoff."""
        delay = 0.0
        down_since: int | None = None
        while not self._stop.is_set():
            wait = max(self._gate.delay(time.monotonic()), delay, self._at_least)
            self._at_least = 0.0
            if wait > 0:
                self.log.info("connecting in %.1fs", wait)
                if await self._stopped_within(wait):
                    break
                delay = 0.0
                continue  # look again: another connection of this upstream may have connected
            self._gate.connecting(time.monotonic())
            try:
                connection = await self._transport.connect(
                    self._bridge.handshake(self._url),
                    max_size=HARD_FRAME_FACTOR * self._policy.max_frame_bytes,
                    open_timeout=self._policy.open_timeout,
                )
            except ConnectError as exc:
                self.log.warning("connect to %s failed: %s", self._url, exc)
                self._status("connect_failed", message=str(exc))
                if exc.status in (401, 403):
                    self._give_up(f"handshake refused with HTTP {exc.status}")
                    break
                if exc.status == 429:
                    self._at_least = self._policy.backoff_max
                    self._gate.refused(time.monotonic())
                delay = self._backoff.next_delay()
                continue
            except Exception:
                # A transport bug must not end this upstream silently: log, count, retry.
                self.log.exception("internal error while connecting; retrying")
                self.state.decode_errors["internal_error"] += 1
                self._status("connect_failed", message="internal error")
                delay = self._backoff.next_delay()
                continue
            try:
                await self._serve(connection, down_since)
            except _Fatal:
                break
            except ConnectionClosed as exc:
                if not self._stop.is_set():
                    self.log.warning("connection lost: %s", exc)
                    self._status("disconnected", message=str(exc))
            except Exception:
                # A bug must not end the process: log it, count it, reconnect.
                self.log.exception("internal error on this connection; reconnecting")
                self.state.decode_errors["internal_error"] += 1
                self._status("disconnected", message="internal error")
            finally:
                current = self._connection or connection  # a planned switch replaces it
                self._connection = None
                self.state.connected = False
                self.state.subscribed.clear()
                with contextlib.suppress(Exception):
                    current.abort()
            down_since = time.time_ns()
            delay = self._backoff.next_delay()
        self._status("stopped")

    async def stop(self) -> None:
        """Stop: unsubscribe everything, then close the connection politely (bounded)."""
        self._stop.set()
        connection = self._connection
        if connection is not None:
            with contextlib.suppress(Exception):
                frames = self._bridge.unsubscribe(list(self._topics.values()))
                async with asyncio.timeout(2.0):
                    for frame in frames:
                        await connection.send(frame)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), 2.0)

    async def _stopped_within(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self._stop.wait(), seconds)
        except TimeoutError:
            return False
        return True

    def _give_up(self, reason: str) -> None:
        self.state.fatal = reason
        self.log.error("giving up on this upstream: %s", reason)
        self._status("fatal", message=reason)

    # --- one connection -----------------------------------------------------------

    async def _serve(self, connection: Connection, down_since: int | None) -> None:
        """Serve a connection; after a planned switch, go on with its successor."""
        state = self.state
        state.connected = True
        prepared = False
        while True:
            self._connection = connection
            state.connects += 1
            state.last_frame_ns = time.time_ns()
            self.log.info("connected to %s", self._url)
            self._status("connected")
            if not prepared:  # a planned switch already subscribed its successor
                await self._prepare(connection)
            if down_since is not None:
                self._announce_gap(down_since, time.time_ns())
            watchdog = asyncio.create_task(self._watchdog(connection))
            sender = asyncio.create_task(self._sender(connection))
            try:
                await connection.run(self._receiver(connection), self._alive)
            except ConnectionClosed:
                if self._successor is None:
                    raise
            finally:
                watchdog.cancel()
                sender.cancel()
            successor, self._successor = self._successor, None
            if successor is None:
                return
            # Planned switch: the new connection was opened and subscribed before this
            # one closed, and its frames waited in its buffer: nothing missed, no gap.
            connection, down_since, prepared = successor, None, True

    async def _prepare(self, connection: Connection) -> None:
        """A new connection: fresh per-connection state, then every topic subscribed."""
        self._bridge.connection_made(time.time_ns())
        self.books.reset()
        self._outbox.clear()  # frames queued for the previous connection are void
        try:
            if self._topics:
                await self._send(connection, self._bridge.subscribe(list(self._topics.values())))
        except ConnectionClosed:
            pass  # the receiver still reads what arrived first, e.g. the reason for closing

    async def _switch(self, reason: str) -> None:
        """Make before break: connect anew, then close the old connection."""
        old = self._connection
        try:
            wait = self._gate.delay(time.monotonic())
            if wait > 0:
                await asyncio.sleep(wait)
            self._gate.connecting(time.monotonic())
            successor = await self._transport.connect(
                self._bridge.handshake(self._url),
                max_size=HARD_FRAME_FACTOR * self._policy.max_frame_bytes,
                open_timeout=self._policy.open_timeout,
            )
        except ConnectError as exc:
            self.log.warning("planned reconnect (%s): new connection failed: %s", reason, exc)
            return  # the old one closes by itself; the normal reconnect takes over
        if self._connection is not old or old is None:
            successor.abort()
            return
        self.log.info("planned reconnect (%s): new connection open, closing the old one", reason)
        self._status("reconnecting", message=reason)
        self._successor = successor
        self._connection = successor  # from here the old connection's frames are ignored
        await self._prepare(successor)
        old.abort()

    def _receiver(self, connection: Connection) -> Callable[[bytes], None]:
        """The per-frame callback: the hot path, with no await in it at all.

        The transport calls it for each frame; events go to the sink, and the
        frames a signal asks for (book resyncs) wait in the outbox for the sender.
        """
        bridge = self._bridge
        sink = self._sink
        state = self.state
        clock = time.time_ns
        limit = self._policy.max_frame_bytes
        events: list[Event] = []
        signals: list[Signal] = []

        def on_frame(frame: bytes) -> None:
            if self._connection is not connection:
                return  # the old connection after a planned switch
            now = clock()
            state.last_frame_ns = now
            state.frames += 1
            if len(frame) > limit:
                self._count_decode_error("oversize", f"{len(frame)} bytes > {limit}")
                return
            bridge.feed(frame, now, events, signals)
            if events:
                sink(events)
                events.clear()
            if signals:
                try:
                    frames = self._handle(signals, connection)
                finally:
                    signals.clear()
                if frames:
                    self._outbox.extend(frames)
                    self._outbox_ready.set()

        return on_frame

    def _alive(self) -> None:
        """The transport saw a control frame (a ping): the connection is alive."""
        self.state.last_frame_ns = time.time_ns()

    async def _sender(self, connection: Connection) -> None:
        """Sends what signals queued (off the hot path, paced like every control frame)."""
        while True:
            await self._outbox_ready.wait()
            self._outbox_ready.clear()
            frames, self._outbox = self._outbox, []
            if frames:
                await self._send(connection, frames)

    async def _watchdog(self, connection: Connection) -> None:
        limit = self._policy.watchdog
        period = min(1.0, limit / 4)
        while True:
            await asyncio.sleep(period)
            silent = (time.time_ns() - self.state.last_frame_ns) / 1e9
            if silent > limit:
                self.log.warning("no frame for %.1fs (watchdog %.1fs): reconnecting", silent, limit)
                self._status("watchdog", message=f"no frame for {silent:.1f}s")
                connection.abort()
                return

    # --- signals ------------------------------------------------------------------

    def _handle(self, signals: list[Signal], connection: Connection) -> list[str | bytes]:
        """Act on control signals; returns frames to send (book resyncs)."""
        state = self.state
        frames: list[str | bytes] = []
        book_events: list[Event] = []
        for signal in signals:
            match signal:
                case BookSnapshot() | BookDelta():
                    try:
                        if self.books.apply(signal, book_events):
                            frames += self._bridge.resync(signal.topic)
                    except ValueError as exc:
                        self._count_decode_error("invalid_book_level", str(exc))
                case Heartbeat():
                    pass
                case Subscribed(topic=topic):
                    state.subscribed.add(topic)
                    state.failed.pop(topic, None)
                    self._backoff.reset()
                case Unsubscribed(topic=topic):
                    state.subscribed.discard(topic)
                case SubscribeFailed(topic=topic, code=code, reason=reason):
                    state.failed[topic] = f"{code}: {reason}"
                    self.log.warning("upstream refused %s: %s: %s", topic, code, reason)
                    self._status("subscribe_failed", code=code, message=reason, subject=topic)
                case Welcome(server=server, limits=limits):
                    state.limits = dict(limits)
                    self.log.info("welcome from server %r; limits %s", server, state.limits)
                case BookInvalid(topic=topic, reason=reason):
                    if self.books.in_sync(topic):
                        frames += self._bridge.resync(topic)
                    self.books.invalidate(topic, reason, time.time_ns(), book_events)
                case Fetch():
                    self._start_fetch(signal, connection)
                case Reconnect(reason=reason, planned=planned):
                    if not planned:
                        self.log.info("upstream asks to reconnect: %s", reason)
                        connection.abort()
                    elif self._switching is None or self._switching.done():
                        self._switching = asyncio.create_task(self._switch(reason))
                case QuotaUpdate(limits=limits):
                    if self._on_quota is not None:
                        self._on_quota(dict(limits))
                case UpstreamError(code=code, message=message, fatal=fatal, backoff=backoff):
                    self.log.error("upstream error %s: %s", code, message)
                    self._status("error", code=code, message=message)
                    self._at_least = max(self._at_least, backoff)
                    if backoff:
                        self._gate.refused(time.monotonic())
                    if fatal:
                        self._give_up(f"{code}: {message}")
                        connection.abort()
                        raise _Fatal(message)
                case DecodeError(kind=kind, detail=detail):
                    self._count_decode_error(kind, detail)
        if book_events:
            self._sink(book_events)
        return frames

    def _start_fetch(self, request: Fetch, connection: Connection) -> None:
        task = asyncio.create_task(self._fetch(request, connection))
        self._fetches.add(task)
        task.add_done_callback(self._fetches.discard)

    async def _fetch(self, request: Fetch, connection: Connection) -> None:
        """Do a bridge's HTTP GET within the REST budget, then hand it the answer."""
        bucket = self._rest
        if bucket is not None:
            wait = bucket.wait_time(time.monotonic(), request.weight)
            if wait > 0:
                await asyncio.sleep(wait)
            bucket.take(time.monotonic(), request.weight)
        status, body = await asyncio.to_thread(http_get, request.url, self._policy.open_timeout)
        if status == 429 or status == 418:
            self.log.warning("REST %s answered %d: backing off", request.topic, status)
            if bucket is not None:
                bucket.drain(time.monotonic())
        if self._connection is not connection:
            return  # that connection is gone; its successor asks again
        events: list[Event] = []
        signals: list[Signal] = []
        self._bridge.fetched(request.topic, status, body, time.time_ns(), events, signals)
        if events:
            self._sink(events)
        if signals:
            frames = self._handle(signals, connection)
            if frames:
                self._outbox.extend(frames)
                self._outbox_ready.set()

    def _count_decode_error(self, kind: str, detail: str) -> None:
        """Count every bad frame; log the first of a kind, then at most once a minute."""
        count = self.state.decode_errors
        count[kind] += 1
        now = time.monotonic()
        last = self._decode_logged.get(kind)
        if last is None or now - last >= DECODE_LOG_INTERVAL:
            self._decode_logged[kind] = now
            self.log.warning("bad frame (%s, %d so far): %.200s", kind, count[kind], detail)

    # --- events the session itself publishes ---------------------------------------

    def _status(
        self, state: str, *, code: str = "", message: str = "", subject: str | None = None
    ) -> None:
        now = time.time_ns()
        self._sink(
            [
                Status(
                    topic=f"status.{self.upstream}",
                    source=self.source,
                    ts=now,
                    state=state,
                    code=code,
                    message=message,
                    subject=subject,
                )
            ]
        )

    def _announce_gap(self, from_ts: int, to_ts: int) -> None:
        """After a reconnect, tell every topic's readers data may be missing."""
        self.state.gaps += len(self._topics)
        self._sink(
            [
                Gap(
                    topic=topic.name,
                    source=self.source,
                    exchange=topic.exchange,
                    base=topic.base,
                    quote=topic.quote,
                    ts=to_ts,
                    recv_ts=to_ts,
                    reason="reconnect",
                    from_ts=from_ts,
                    to_ts=to_ts,
                )
                for topic in self._topics.values()
            ]
        )
