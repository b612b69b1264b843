"""The docker-compose file and image definition, checked with a real YAML parser."""

from __future__ import annotations

import re
from typing import Any

import yaml

from gateway.config import load_config
from tests.support import ROOT


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def test_redis_service_persists_and_is_checked() -> None:
    """Redis 7 runs with appendonly on a named volume, with a healthcheck."""
    redis = compose()["services"]["redis"]
    assert re.match(r"redis:7(\.|-|$)", redis["image"])
    command = redis["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert redis["volumes"] == ["redis-data:/data"] and "redis-data" in compose()["volumes"]
    assert redis["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]


def test_feedgate_service_wiring() -> None:
    """feedgate builds from the Dockerfile, waits for healthy Redis, and checks itself."""
    feedgate = compose()["services"]["feedgate"]
    assert feedgate["build"]["dockerfile"] == "Dockerfile"
    assert (ROOT / feedgate["build"]["context"] / "Dockerfile").is_file()
    assert feedgate["depends_on"]["redis"]["condition"] == "service_healthy"
    env = feedgate["environment"]
    assert env["REDIS_URL"] == "redis://redis:6379/0"
    assert (
        env["CRYPTOCOMPARE_API_KEY"] == "${CRYPTOCOMPARE_API_KEY:-}"
    )  # from the host, never inline
    test = feedgate["healthcheck"]["test"]
    assert test[:3] == ["CMD", "feedgate", "health"]
    assert all(p.startswith("127.0.0.1:") for p in feedgate["ports"])
    consumer = compose()["services"]["consumer"]
    assert consumer["depends_on"]["feedgate"]["condition"] == "service_healthy"


def test_dockerfile_matches_the_project() -> None:
    """The image copies what exists, runs feedgate with the bundled config, and checks health."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    copied = re.findall(r"^COPY (\S+)", dockerfile, re.M)
    for source in copied:
        assert (ROOT / source).exists(), source
    assert {"gateway", "bridges", "proto", "pyproject.toml"} <= set(copied)  # every package
    assert 'CMD ["feedgate", "run", "--config", "/etc/feedgate/feedgate.toml"]' in dockerfile
    assert 'CMD ["feedgate", "health", "--config", "/etc/feedgate/feedgate.toml"]' in dockerfile
    config = load_config(ROOT / "docker" / "feedgate.toml", {"REDIS_URL": "redis://redis:6379/0"})
    assert config.health.listen == "0.0.0.0:8080"
    assert config.upstreams["cryptocompare"].api_key_env == "CRYPTOCOMPARE_API_KEY"
