"""One exception tree for feedgate.

Third-party exceptions (websockets, redis, msgspec) are translated into these
where they enter, so callers handle feedgate's failures without importing the
libraries that caused them.
"""

from __future__ import annotations


class FeedgateError(Exception):
    """Base of every error feedgate raises on purpose."""


class ConfigError(FeedgateError):
    """The configuration is invalid; the message names the key and the problem."""


class TopicError(FeedgateError, ValueError):
    """A topic name is malformed, or no upstream can serve it."""


class TransportError(FeedgateError):
    """The upstream connection failed or closed."""


class ConnectError(TransportError):
    """Opening the upstream connection failed.

    ``status`` is the HTTP status of a refused WebSocket handshake, if any.
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ConnectionClosed(TransportError):
    """The upstream connection closed (cleanly or not)."""


class PublishError(FeedgateError):
    """Writing to Redis failed."""
