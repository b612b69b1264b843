"""Authentication and per-connection subscription state of the Cryptowatch simulator.

Written from ``shared/protocols/cryptowatch.md`` only (section numbers refer to it). No
I/O: the server in :mod:`bridges.cryptowatch.sim` feeds decoded client messages in and writes
the ``StreamMessage``s that come out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeAlias

from bridges.cryptowatch.sim_catalogue import InvalidResource, Topic, resolve_resource
from proto.cryptowatch import client_pb2, stream_pb2

Status: TypeAlias = "stream_pb2.AuthenticationResult.Status"
AUTHENTICATED = stream_pb2.AuthenticationResult.AUTHENTICATED


def make_token(api_key: str, secret: str, nonce: str) -> str:
    """The Gen-1 token (§3): base64 of HMAC-SHA512 keyed with the base64-decoded secret."""
    payload = f"stream_access;access_key_id={api_key};nonce={nonce};".encode()
    digest = hmac.new(base64.b64decode(secret), payload, hashlib.sha512).digest()
    return base64.b64encode(digest).decode()


class Authenticator:
    """The checks of §3; remembers the last accepted nonce per key.

    ``credentials`` maps public keys to base64 secrets; ``None`` is demo mode, where every
    key is accepted and nothing is checked.
    """

    def __init__(
        self,
        credentials: Mapping[str, str] | None,
        window: float,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.credentials = credentials
        self.window_ns = int(window * 1e9)
        self.clock_ns = clock_ns
        self.last_nonce: dict[str, int] = {}

    def check_key(self, api_key: str | None) -> Status:
        """Gen 2: the key in the URL is all there is to check."""
        if self.credentials is None or (api_key is not None and api_key in self.credentials):
            return AUTHENTICATED
        return stream_pb2.AuthenticationResult.INVALID_PUBLIC_KEY

    def check(self, auth: client_pb2.APIAuthenticationMessage) -> Status:
        """Gen 1: key, then token, then nonce order, then freshness."""
        results = stream_pb2.AuthenticationResult
        if self.credentials is None:
            return AUTHENTICATED
        secret = self.credentials.get(auth.api_key)
        if secret is None:
            return results.INVALID_PUBLIC_KEY
        expected = make_token(auth.api_key, secret, auth.nonce)
        if not hmac.compare_digest(expected.encode(), auth.token.encode()):
            return results.BAD_TOKEN
        if not (auth.nonce.isascii() and auth.nonce.isdigit()):
            return results.BAD_NONCE
        nonce = int(auth.nonce)
        if nonce <= self.last_nonce.get(auth.api_key, -1):
            return results.BAD_NONCE
        if abs(self.clock_ns() - nonce) > self.window_ns:  # nonces are Unix ns (§3)
            return results.TOKEN_EXPIRED
        self.last_nonce[auth.api_key] = nonce
        return AUTHENTICATED


def auth_result(status: Status) -> stream_pb2.StreamMessage:
    return stream_pb2.StreamMessage(
        authenticationResult=stream_pb2.AuthenticationResult(status=status)
    )


def stream_subscription(resource: str) -> client_pb2.ClientSubscription:
    stream = client_pb2.StreamSubscription(resource=resource)
    return client_pb2.ClientSubscription(stream_subscription=stream)


def requested(
    request: client_pb2.ClientSubscribeMessage | client_pb2.ClientUnsubscribeMessage,
) -> list[client_pb2.ClientSubscription]:
    """The subscriptions of a (un)subscribe message; deprecated string keys count as resources."""
    return [*request.subscriptions, *map(stream_subscription, request.subscriptionKeys)]


def initial_subscriptions(
    auth: client_pb2.APIAuthenticationMessage,
) -> list[client_pb2.ClientSubscription]:
    """The subscriptions carried in a Gen-1 auth message (§3 step 5)."""
    return [*auth.client_subscriptions, *map(stream_subscription, auth.subscriptions)]


def _resolve(sub: client_pb2.ClientSubscription) -> tuple[str, frozenset[Topic]]:
    body = sub.WhichOneof("body")
    if body == "stream_subscription":
        resource = sub.stream_subscription.resource
        return resource, resolve_resource(resource)
    if body == "trade_subscription":
        market = sub.trade_subscription.marketId
        raise InvalidResource(f"trade subscription to market {market}: trading is not simulated")
    raise InvalidResource(f"unsupported subscription type {body}")


@dataclass(frozen=True)
class Subscription:
    message: client_pb2.ClientSubscription  # as the client sent it
    topics: frozenset[Topic]


class Session:
    """What one connection is subscribed to; builds the results of §2."""

    def __init__(self) -> None:
        self.subs: dict[str, Subscription] = {}  # resource -> subscription, in order
        self.coverage: frozenset[Topic] = frozenset()  # union of every subscription's topics

    def subscribe(
        self, subs: Sequence[client_pb2.ClientSubscription]
    ) -> tuple[stream_pb2.StreamMessage, list[int]]:
        """The SubscriptionResult, and the markets owed a snapshot (new book:snapshots)."""
        result = stream_pb2.SubscriptionResult()
        snapshots: dict[int, None] = {}
        for sub in subs:
            try:
                resource, topics = _resolve(sub)
            except InvalidResource as exc:
                result.failed.add(error=str(exc), subscription=sub)
                continue
            if resource not in self.subs:  # subscribing twice succeeds and changes nothing
                self.subs[resource] = Subscription(sub, topics)
                books = sorted(ident for _, ident, subject in topics if subject == "book:snapshots")
                snapshots.update(dict.fromkeys(books))
            result.subscriptions.append(sub)
        self._refresh(result.status)
        return stream_pb2.StreamMessage(subscriptionResult=result), list(snapshots)

    def unsubscribe(
        self, subs: Sequence[client_pb2.ClientSubscription]
    ) -> stream_pb2.StreamMessage:
        result = stream_pb2.UnsubscriptionResult()
        for sub in subs:
            if sub.WhichOneof("body") != "stream_subscription":
                result.failed.add(error="unsupported subscription type", subscription=sub)
            elif self.subs.pop(sub.stream_subscription.resource, None) is None:
                error = f"not subscribed to {sub.stream_subscription.resource}"
                result.failed.add(error=error, subscription=sub)
            else:
                result.subscriptions.append(sub)
        self._refresh(result.status)
        return stream_pb2.StreamMessage(unsubscriptionResult=result)

    def _refresh(self, status: stream_pb2.SubscriptionStatus) -> None:
        self.coverage = frozenset(t for sub in self.subs.values() for t in sub.topics)
        status.subscriptions.extend(sub.message for sub in self.subs.values())
