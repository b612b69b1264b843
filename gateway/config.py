"""feedgate's configuration: one TOML file plus environment overrides.

This is the only module that reads files or environment variables for
configuration. Every table is a frozen msgspec Struct that refuses unknown
keys, so a typo fails at start with a message naming the key. Secrets are
never stored inline: an upstream names the environment variable that holds
its key (``api_key_env``), and the key is read only when a session starts.
Every key is documented in ``docs/config.md``.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Literal

import msgspec

from gateway.bridge import Secret
from gateway.errors import ConfigError
from gateway.redisurl import parse as parse_redis_url
from gateway.redisurl import redact
from gateway.topics import parse_topic

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class EmbeddedRedis(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The Valkey server feedgate starts when no Redis URL is configured."""

    port: int = 6399
    data_dir: str = "var/valkey"
    appendonly: bool = True


class RedisConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Where events are published. ``REDIS_URL`` overrides ``url``."""

    url: str | None = None
    embedded: EmbeddedRedis = msgspec.field(default_factory=EmbeddedRedis)
    max_buffer: int = 1_000_000  # events held while Redis is slow or down
    max_buffer_bytes: int = 512 * 1024 * 1024  # the same bound in bytes (approximate)
    max_batch: int = 20_000

    def __repr__(self) -> str:
        url = None if self.url is None else redact(self.url)
        return f"RedisConfig(url={url!r}, embedded={self.embedded!r})"


class HealthConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The HTTP health endpoints and the health hash kept in Redis."""

    listen: str = "127.0.0.1:8080"
    instance: str = ""  # empty: the host name
    hash_interval: float = 5.0
    hash_ttl: float = 15.0


class StreamsConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Stream retention: ``XADD … MAXLEN ~ n`` per channel."""

    maxlen: int = 100_000
    maxlen_by_channel: dict[str, int] = msgspec.field(default_factory=dict)
    encoding_by_channel: dict[str, Literal["flat", "protobuf"]] = msgspec.field(
        default_factory=dict
    )

    def maxlen_for(self, channel: str) -> int:
        """The retention bound for streams of ``channel``."""
        return self.maxlen_by_channel.get(channel, self.maxlen)


def uses_protobuf(config: Config, source: str, channel: str) -> bool:
    """Whether entries from ``source`` on ``channel`` are protobuf (a channel setting wins)."""
    by_channel = config.streams.encoding_by_channel.get(channel)
    if by_channel is not None:
        return by_channel == "protobuf"
    upstream = config.upstreams.get(source)
    return upstream is not None and upstream.encoding == "protobuf"


class StatusConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The live status line on standard error."""

    enabled: bool = True
    interval: float = 1.0  # seconds between refreshes on a terminal
    log_interval: float = 10.0  # seconds between lines when not a terminal


class QuotaConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Limits of one upstream key; unset ones take the protocol's documented defaults."""

    connections: int | None = None
    subscriptions_per_connection: int | None = None
    subscriptions_total: int | None = None
    connects_per_minute: int | None = None
    connects_per_hour: int | None = None
    messages_per_second: float | None = None
    rest_weight_per_minute: int | None = None


class ControlConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Consumers' requests for topics over Redis (docs/control.md)."""

    enabled: bool = True
    default_ttl: float = 30.0  # lease seconds when a request gives no ttl
    max_ttl: float = 3600.0
    grace: float = 30.0  # seconds a topic stays subscribed after its last lease ends
    tick: float = 0.5  # seconds between expiry checks


class UpstreamConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One upstream connection: its protocol, endpoint, credentials and topics."""

    protocol: str
    url: str
    topics: list[str] = msgspec.field(default_factory=list)
    api_key_env: str | None = None
    secret_env: str | None = None  # Cryptowatch: the HMAC secret's variable
    generation: int = 1  # Cryptowatch: 1 = HMAC auth message, 2 = key in the URL
    markets_file: str | None = None  # Cryptowatch: a refreshed markets table (CSV)
    rest_url: str | None = None  # Binance: REST base for depth snapshots
    book_depth: int = 50  # levels per side kept in the book:<exchange>.<pair> key
    subscription_depth: int | None = None  # Kraken: book levels subscribed (10/25/100/500/1000)
    spread_from_book: bool = False  # publish spread.* from the book's top on each change
    encoding: Literal["flat", "protobuf"] = "flat"  # stream entries of this upstream's topics
    quotas: QuotaConfig = msgspec.field(default_factory=QuotaConfig)
    stale_after: float | None = None  # /readyz fails if a config topic has no entry this long
    transport: Literal["picows", "websockets"] = "picows"  # the WebSocket client library
    simulator: Literal["auto", "always", "never"] = "never"
    needs_key: bool = False  # no key in api_key_env: leave the upstream out (logged)
    simulator_rate: float = 20.0
    watchdog: float = 70.0
    min_connect_interval: float = 5.0
    backoff_initial: float = 1.0
    backoff_max: float = 60.0
    open_timeout: float = 10.0
    max_frame_bytes: int = 4 * 1024 * 1024


class Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The whole configuration."""

    redis: RedisConfig = msgspec.field(default_factory=RedisConfig)
    health: HealthConfig = msgspec.field(default_factory=HealthConfig)
    streams: StreamsConfig = msgspec.field(default_factory=StreamsConfig)
    status: StatusConfig = msgspec.field(default_factory=StatusConfig)
    control: ControlConfig = msgspec.field(default_factory=ControlConfig)
    routes: dict[str, str] = msgspec.field(default_factory=dict)
    upstreams: dict[str, UpstreamConfig] = msgspec.field(default_factory=dict)


def default_config_text() -> str:
    """The bundled default configuration (``gateway/default.toml``)."""
    return resources.files("gateway").joinpath("default.toml").read_text(encoding="utf-8")


def load_config(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Read, validate and apply environment overrides; raises ConfigError naming the key."""
    env = os.environ if environ is None else environ
    if path is None:
        source, text = "default config", default_config_text()
    else:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{source}: cannot read the config file: {exc.strerror}") from exc
    return parse_config(text, source, env)


def parse_config(text: str, source: str, environ: Mapping[str, str]) -> Config:
    """Parse TOML text into a validated Config."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from exc
    upstreams = data.pop("upstreams", {})
    if not isinstance(upstreams, dict):
        raise ConfigError(f"{source}: upstreams: expected a table of [upstreams.<name>] tables")
    try:
        config = msgspec.convert(data, Config)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{source}: {_key_message(str(exc), '')}") from None
    converted: dict[str, UpstreamConfig] = {}
    for name, table in upstreams.items():
        try:
            converted[name] = msgspec.convert(table, UpstreamConfig)
        except msgspec.ValidationError as exc:
            message = _key_message(str(exc), f"upstreams.{name}")
            raise ConfigError(f"{source}: {message}") from None
    config = msgspec.structs.replace(config, upstreams=converted)
    redis_url = environ.get("REDIS_URL") or None
    if redis_url is not None:
        config = msgspec.structs.replace(
            config, redis=msgspec.structs.replace(config.redis, url=redis_url)
        )
    _validate(config, source)
    return config


def _key_message(message: str, prefix: str) -> str:
    """Rewrite msgspec's ``… - at `$.a.b``` into ``prefix.a.b: …`` so the key comes first."""
    text, sep, where = message.rpartition(" - at `$")
    key = where.rstrip("`") if sep else ""
    key = f"{prefix}{key}" if prefix else key.lstrip(".")
    if not sep and not prefix:
        return message
    return f"{key or prefix}: {text if sep else message}"


def _validate(config: Config, source: str) -> None:
    def fail(key: str, problem: str) -> None:
        raise ConfigError(f"{source}: {key}: {problem}")

    if config.redis.url is not None:
        try:
            parse_redis_url(config.redis.url)
        except ConfigError as exc:
            fail("redis.url", str(exc))
    if not 0 < config.redis.embedded.port < 65536:
        fail("redis.embedded.port", "must be a TCP port (1-65535)")
    if config.redis.max_buffer < 1 or config.redis.max_batch < 1:
        fail("redis.max_buffer", "max_buffer and max_batch must be at least 1")
    if config.redis.max_buffer_bytes < 1024:
        fail("redis.max_buffer_bytes", "must be at least 1024")
    host, _, port = config.health.listen.rpartition(":")
    if not host or not port.isdigit() or int(port) > 65535:
        fail("health.listen", f"expected host:port, got {config.health.listen!r}")
    if config.streams.maxlen < 1:
        fail("streams.maxlen", "must be at least 1")
    for channel, maxlen in config.streams.maxlen_by_channel.items():
        if maxlen < 1:
            fail(f"streams.maxlen_by_channel.{channel}", "must be at least 1")
    if config.status.interval <= 0 or config.status.log_interval <= 0:
        fail("status.interval", "intervals must be positive")
    control = config.control
    if control.grace < 0 or control.tick <= 0 or not 1 <= control.default_ttl <= control.max_ttl:
        fail("control", "need grace >= 0, tick > 0 and 1 <= default_ttl <= max_ttl")
    for pattern, target in config.routes.items():
        if target not in config.upstreams:
            fail(f"routes.{pattern}", f"no upstream named {target!r}")
        if not re.fullmatch(r"\*|[a-z]+(\.[a-z0-9]+)?", pattern):
            fail(f"routes.{pattern}", "keys are <channel>, <channel>.<exchange> or *")
    pinned: dict[str, str] = {}
    for name, upstream in config.upstreams.items():
        for topic in upstream.topics:
            other = pinned.setdefault(topic, name)
            if other != name:
                problem = (
                    f"{topic} is already published by upstream {other!r} (one upstream a topic)"
                )
                fail(f"upstreams.{name}.topics", problem)
        for field in upstream.quotas.__struct_fields__:
            value = getattr(upstream.quotas, field)
            if value is not None and value <= 0:
                fail(f"upstreams.{name}.quotas.{field}", "must be positive")
    for name, upstream in config.upstreams.items():
        key = f"upstreams.{name}"
        if not re.fullmatch(r"[a-z0-9_-]+", name):
            fail(key, "upstream names are lower-case letters, digits, '-' and '_'")
        if not upstream.url.startswith(("ws://", "wss://")):
            fail(f"{key}.url", f"must start with ws:// or wss://, got {upstream.url!r}")
        for field in ("api_key_env", "secret_env"):
            name_of_var = getattr(upstream, field)
            if name_of_var is not None and not _ENV_NAME.match(name_of_var):
                fail(f"{key}.{field}", "must name an environment variable, not hold a key")
        if upstream.needs_key and upstream.api_key_env is None:
            fail(f"{key}.needs_key", "needs api_key_env: the variable that holds the key")
        if upstream.generation not in (1, 2):
            fail(f"{key}.generation", "must be 1 (HMAC auth message) or 2 (key in the URL)")
        if upstream.stale_after is not None and upstream.stale_after <= 0:
            fail(f"{key}.stale_after", "must be positive")
        if upstream.book_depth < 1:
            fail(f"{key}.book_depth", "must be at least 1")
        for field in ("watchdog", "min_connect_interval", "backoff_initial", "backoff_max",
                      "open_timeout"):  # fmt: skip
            if getattr(upstream, field) <= 0:
                fail(f"{key}.{field}", "must be positive")
        if upstream.backoff_max < upstream.backoff_initial:
            fail(f"{key}.backoff_max", "must be at least backoff_initial")
        if upstream.max_frame_bytes < 1024:
            fail(f"{key}.max_frame_bytes", "must be at least 1024")
        for index, topic in enumerate(upstream.topics):
            try:
                parse_topic(topic)
            except ValueError as exc:
                fail(f"{key}.topics[{index}]", str(exc))


def api_key(upstream: UpstreamConfig, environ: Mapping[str, str] | None = None) -> Secret | None:
    """The upstream's key from the environment variable it names, if set and non-empty."""
    return _secret(upstream.api_key_env, environ)


def uses_simulator(upstream: UpstreamConfig, key: Secret | None) -> bool:
    """Whether this upstream is served by the built-in simulator instead of its URL."""
    return upstream.simulator == "always" or (upstream.simulator == "auto" and key is None)


def is_left_out(upstream: UpstreamConfig, key: Secret | None) -> bool:
    """A keyed upstream (``needs_key``) without its key does not run at all."""
    return upstream.needs_key and key is None and upstream.simulator != "always"


def api_secret(upstream: UpstreamConfig, environ: Mapping[str, str] | None = None) -> Secret | None:
    """The upstream's HMAC secret from the variable ``secret_env`` names, if set."""
    return _secret(upstream.secret_env, environ)


def _secret(variable: str | None, environ: Mapping[str, str] | None) -> Secret | None:
    if variable is None:
        return None
    value = (os.environ if environ is None else environ).get(variable, "").strip()
    return Secret(value) if value else None
