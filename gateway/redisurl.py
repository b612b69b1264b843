"""Redis URLs: parsing for the raw publisher connection, and redaction for logs."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit, urlunsplit

import msgspec

from gateway.bridge import Secret
from gateway.errors import ConfigError


class RedisTarget(msgspec.Struct, frozen=True):
    """Where the publisher connects; ``password`` never shows in a repr."""

    host: str
    port: int
    db: int = 0
    username: str | None = None
    password: Secret | None = None
    tls: bool = False


def redact(url: str) -> str:
    """The URL with any password replaced by ``***`` (safe to log or show)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def parse(url: str) -> RedisTarget:
    """Parse ``redis://[user:pass@]host[:port][/db]`` or ``rediss://…`` (TLS)."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise ConfigError(f"redis url {redact(url)!r}: scheme must be redis:// or rediss://")
    try:
        port = parts.port or 6379
    except ValueError as exc:
        raise ConfigError(f"redis url {redact(url)!r}: bad port") from exc
    path = parts.path.strip("/")
    if path and not path.isdigit():
        raise ConfigError(f"redis url {redact(url)!r}: the path must be a database number")
    return RedisTarget(
        host=parts.hostname or "127.0.0.1",
        port=port,
        db=int(path) if path else 0,
        username=unquote(parts.username) if parts.username else None,
        password=Secret(unquote(parts.password)) if parts.password else None,
        tls=parts.scheme == "rediss",
    )
