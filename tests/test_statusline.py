"""Unit tests for the status line's rates and formatting."""

from __future__ import annotations

from gateway.session import SessionState
from gateway.statusline import RateMeter, format_status


def test_rates_from_cumulative_counters() -> None:
    """Rates are the counter deltas over the elapsed time, per topic."""
    meter = RateMeter()
    assert meter.rates({"a": 10}, 100.0) == {}
    assert meter.rates({"a": 30, "b": 5}, 102.0) == {"a": 10.0, "b": 2.5}


def test_line_shows_topics_lag_and_upstreams() -> None:
    """The line names busiest topics first, the lag, and each upstream's state."""
    state = SessionState(["trades.kraken.btceur", "volume.btc"])
    state.connected = True
    state.subscribed = {"trades.kraken.btceur"}
    line = format_status({"volume.btc": 1.0, "trades.kraken.btceur": 12.5}, 1.25, 3, True,
                         [("cc", state)])  # fmt: skip
    assert line == (
        "feedgate 13.5 ev/s | redis ok lag 1.2 ms pending 3 | cc:subscribing(1/2) |"
        " trades.kraken.btceur 12.5/s volume.btc 1.0/s"
    )
    state.fatal = "401"
    assert "cc:FATAL(1/2)" in format_status({}, 0, 0, False, [("cc", state)], width=200)
    assert len(format_status({"x" * 300: 1.0}, 0, 0, True, [], width=80)) == 80
