"""The lifecycle every simulator shares (bridges/simbase.py), checked on all five."""

from __future__ import annotations

import asyncio
import socket

import pytest

from gateway.registry import SIMULATORS, simulator_module

TIMEOUT = 10.0


def _refused(port: int) -> bool:
    """Nothing listens on 127.0.0.1:``port`` any more."""
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.parametrize("protocol", sorted(SIMULATORS))
def test_start_twice_is_refused_and_stop_ends_everything(protocol: str) -> None:
    """A second start fails clearly; stop ends the generators and closes the listener."""

    async def scenario() -> None:
        simulator = simulator_module(protocol).demo(50.0)
        await simulator.start()
        try:
            background = list(simulator._background)
            assert background, "a simulator with a rate runs a generator"
            assert not any(task.done() for task in background)
            with pytest.raises(RuntimeError, match="already started"):
                await simulator.start()
        finally:
            await simulator.stop()
        assert all(task.done() for task in background)
        assert not simulator._background
        assert _refused(simulator.port)
        await simulator.stop()  # a second stop is harmless

    asyncio.run(asyncio.wait_for(scenario(), TIMEOUT))


def test_a_failed_generator_surfaces_at_stop() -> None:
    """A background task that crashed raises from stop, so a test cannot miss it."""

    async def scenario() -> None:
        simulator = simulator_module("cryptocompare").demo(0.0)
        await simulator.start()

        async def broken() -> None:
            raise ValueError("generator bug")

        simulator._in_background(broken(), "broken")
        await asyncio.wait(simulator._background)  # it has failed
        with pytest.raises(ValueError, match="generator bug"):
            await simulator.stop()
        assert _refused(simulator.port)

    asyncio.run(asyncio.wait_for(scenario(), TIMEOUT))
