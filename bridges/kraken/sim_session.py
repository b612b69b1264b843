"""One connection of the Kraken Spot WebSocket v2 simulator, sans-I/O.

Written from ``shared/protocols/kraken.md`` only (section numbers refer to it). A
:class:`Session` holds a connection's subscriptions and message-rate bucket, and turns each
client message into the frames to send back, in order: acks and errors (see
:mod:`~bridges.kraken.sim_requests`), then the snapshots of the new subscriptions (§2, §3).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from bridges.kraken.sim_market import (
    CATALOGUE,
    SyntheticMarket,
    rfc3339,
    unsupported_pair_error,
)
from bridges.kraken.sim_requests import (
    ALREADY_SUBSCRIBED,
    EXCEEDED_MSG_RATE,
    MALFORMED,
    NOT_SUBSCRIBED,
    UNKNOWN_METHOD,
    Envelope,
    EnvelopeError,
    RequestError,
    Subscription,
    ack,
    error,
    parse_channel_request,
    parse_envelope,
    pong,
)


class Session:
    """The protocol state of one connection."""

    def __init__(
        self,
        market: SyntheticMarket,
        *,
        max_msg_rate: float,
        msg_burst: int,
        clock_ns: Callable[[], int] = time.time_ns,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.market = market
        self.subs: dict[tuple[str, str], Subscription] = {}
        #: Latched by the first successful subscription: heartbeats flow from then on (§2).
        self.subscribed = False
        self._rate = max_msg_rate
        self._burst = float(msg_burst)
        self._tokens = self._burst
        self._clock_ns = clock_ns
        self._monotonic = monotonic
        self._refilled = monotonic()

    def _now(self) -> str:
        return rfc3339(self._clock_ns())

    def _allow(self) -> bool:
        """Take one token from the message-rate bucket (§9); False if there is none."""
        if self._rate <= 0:
            return True
        now = self._monotonic()
        self._tokens = min(self._burst, self._tokens + (now - self._refilled) * self._rate)
        self._refilled = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True

    def handle(self, message: str | bytes) -> tuple[dict[str, object] | None, list[str]]:
        """One client message: (the message if it is a JSON object, the frames to send)."""
        time_in = self._now()
        allowed = self._allow()
        try:
            text = message if isinstance(message, str) else message.decode("utf-8")
            request = json.loads(text)
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            request = None
        parsed = request if isinstance(request, dict) else None
        if not allowed:
            return parsed, [EXCEEDED_MSG_RATE]
        if parsed is None:
            return None, [error(Envelope(None, None, time_in), MALFORMED, self._now())]
        return parsed, self._dispatch(parsed, time_in)

    def _dispatch(self, request: dict[str, object], time_in: str) -> list[str]:
        try:
            envelope = parse_envelope(request, time_in)
        except EnvelopeError as exc:
            return [error(exc.envelope, exc.error, self._now())]
        if envelope.method == "ping":
            return [pong(envelope, self._now())]
        if envelope.method not in ("subscribe", "unsubscribe"):
            return [error(envelope, UNKNOWN_METHOD, self._now())]
        try:
            channel_request = parse_channel_request(request.get("params"))
        except RequestError as exc:
            return [error(envelope, exc.error, self._now())]
        subs = [channel_request.subscription(symbol) for symbol in channel_request.symbols]
        if envelope.method == "subscribe":
            return self._subscribe(envelope, subs)
        return self._unsubscribe(envelope, subs)

    def _subscribe(self, envelope: Envelope, subs: list[Subscription]) -> list[str]:
        frames: list[str] = []
        added: list[Subscription] = []
        for sub in subs:
            if sub.symbol not in CATALOGUE:
                frames.append(error(envelope, unsupported_pair_error(sub.symbol), self._now()))
            elif sub.key in self.subs:
                frames.append(error(envelope, ALREADY_SUBSCRIBED, self._now()))
            else:
                self.subs[sub.key] = sub
                added.append(sub)
                frames.append(ack(envelope, sub.result(subscribe=True), self._now()))
        if added:
            self.subscribed = True
        frames += [self.snapshot(sub) for sub in added if sub.snapshot]  # after the acks (§2)
        return frames

    def _unsubscribe(self, envelope: Envelope, subs: list[Subscription]) -> list[str]:
        frames: list[str] = []
        for sub in subs:
            current = self.subs.get(sub.key)
            if sub.symbol not in CATALOGUE:
                frames.append(error(envelope, unsupported_pair_error(sub.symbol), self._now()))
            elif current is None or not current.matches(sub):
                frames.append(error(envelope, NOT_SUBSCRIBED, self._now()))
            else:
                del self.subs[sub.key]
                frames.append(ack(envelope, current.result(subscribe=False), self._now()))
        return frames

    def snapshot(self, sub: Subscription) -> str:
        """The snapshot message of a new subscription (§6, §7, §8)."""
        market = self.market.pair(sub.symbol)
        if sub.channel == "book":
            assert sub.depth is not None
            return market.book_snapshot(sub.depth)
        if sub.channel == "trade":
            return market.trade_snapshot()
        if sub.channel == "ticker":
            return market.ticker("snapshot")
        assert sub.interval is not None
        return market.ohlc(sub.interval, "snapshot")
