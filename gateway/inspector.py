"""``feedgate topics`` and ``feedgate tail``: look at the streams from a terminal."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import redis
from redis.exceptions import RedisError

from gateway.errors import FeedgateError
from gateway.redisurl import redact


def _client(url: str) -> redis.Redis:
    client = redis.Redis.from_url(url, socket_connect_timeout=5, decode_responses=True)
    try:
        client.ping()
    except (RedisError, OSError) as exc:
        raise FeedgateError(f"cannot reach redis at {redact(url)}: {exc}") from None
    return client


def _entry_time(entry_id: str) -> str:
    millis = int(entry_id.split("-", 1)[0])
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(millis / 1000)) + f".{millis % 1000:03d}Z"


def print_topics(url: str) -> int:
    """Every stream with its length and the time of its last entry."""
    client = _client(url)
    names = sorted(client.scan_iter(_type="STREAM", count=1000))
    if not names:
        print("no streams yet")
        return 0
    width = max(len(n) for n in names)
    print(f"{'topic':<{width}}  {'length':>10}  last entry (UTC)")
    for name in names:
        length = client.xlen(name)
        last: Any = client.xrevrange(name, count=1)
        when = _entry_time(last[0][0]) if last else "-"
        print(f"{name:<{width}}  {length:>10}  {when}")
    return 0


def tail(url: str, topic: str, from_start: bool, count: int, as_json: bool) -> int:
    """Print entries of ``topic`` as they arrive; stop after ``count`` if > 0."""
    client = _client(url)
    last_id = "0-0" if from_start else "$"
    seen = 0
    while count <= 0 or seen < count:
        reply: Any = client.xread({topic: last_id}, block=1000, count=100)
        for _, entries in reply or []:
            for entry_id, fields in entries:
                last_id = entry_id
                if as_json:
                    print(json.dumps({"id": entry_id, **fields}))
                else:
                    pairs = " ".join(f"{k}={v}" for k, v in fields.items())
                    print(f"{_entry_time(entry_id)} {entry_id} {pairs}")
                seen += 1
                if 0 < count <= seen:
                    break
            if 0 < count <= seen:
                break
        sys.stdout.flush()
    return 0
