"""Composition decisions and the ``feedgate sim`` entry point."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys

import pytest
from websockets.asyncio.client import connect

from gateway.bridge import Secret
from gateway.config import UpstreamConfig, api_key, is_left_out, load_config, uses_simulator
from tests.support import ROOT


@pytest.mark.parametrize(
    ("mode", "key", "expected"),
    [("auto", None, True), ("auto", "k", False), ("always", "k", True), ("never", None, False)],
)
def test_simulator_choice(mode: str, key: str | None, expected: bool) -> None:
    """auto uses the simulator only without a key; always/never do what they say."""
    upstream = UpstreamConfig(protocol="cryptocompare", url="wss://x/v2", simulator=mode)  # type: ignore[arg-type]
    assert uses_simulator(upstream, None if key is None else Secret(key)) is expected


def test_default_config_with_key_goes_to_the_real_streamer() -> None:
    """With CRYPTOCOMPARE_API_KEY set, the default config's upstream is the real endpoint;
    without it, the upstream is left out rather than simulated."""
    env = {"CRYPTOCOMPARE_API_KEY": "k-123"}
    upstream = load_config(None, env).upstreams["cryptocompare"]
    key = api_key(upstream, env)
    assert key is not None and not uses_simulator(upstream, key) and not is_left_out(upstream, key)
    assert upstream.url == "wss://streamer.cryptocompare.com/v2"
    assert is_left_out(upstream, api_key(upstream, {}))
    assert not uses_simulator(upstream, api_key(upstream, {}))


def test_feedgate_sim_command_serves_the_protocol() -> None:
    """``feedgate sim cryptocompare --port 0`` listens on 127.0.0.1 and sends the welcome."""
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "sim", "cryptocompare", "--port", "0", "--api-key", "k"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("cryptocompare simulator listening on ws://127.0.0.1:")
        url = line.rsplit(" ", 1)[1].strip()

        async def welcome() -> dict[str, object]:
            async with connect(url, additional_headers={"authorization": "Apikey k"}) as ws:
                frame: dict[str, object] = json.loads(await asyncio.wait_for(ws.recv(), 10))
                return frame

        frame = asyncio.run(welcome())
        assert frame["TYPE"] == "20" and frame["MESSAGE"] == "STREAMERWELCOME"
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0
