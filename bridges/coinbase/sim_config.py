"""Settings and command-line options of the Coinbase simulator (:mod:`bridges.coinbase.sim`).

Defaults follow ``shared/protocols/coinbase.md`` (section numbers refer to it).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from bridges.coinbase.sim_market import DEFAULT_PRODUCTS

__all__ = ["SimConfig", "add_arguments", "config_from_args"]


@dataclass(frozen=True)
class SimConfig:
    """Simulator settings; the semantics are described in :mod:`bridges.coinbase.sim`."""

    host: str = "127.0.0.1"
    port: int = 0  # 0 = pick a free port
    subscribe_deadline: float = 5.0  # §2: subscribe within 5 s or be disconnected; 0 disables
    heartbeat_interval: float = 1.0  # §2: one heartbeats message per second; 0 disables
    idle_timeout: float = 60.0  # §2: "most channels close within 60-90 s"; 0 disables
    rate: float = 0.0  # synthetic level2 updates / trades per second; 0 = tests drive frames
    seed: int = 1
    products: tuple[str, ...] = DEFAULT_PRODUCTS
    book_depth: int = 50  # levels per side in the level2 snapshot
    trades_snapshot_size: int = 50  # trades in the market_trades snapshot
    reject_unknown_products: bool = True  # False: unknown products are silently left out
    max_messages_per_second: int = 8  # §9: client messages per second per IP; 0 disables
    max_connections_per_second: int = 8  # §9: connections per second per IP; 0 disables
    candle_interval: float = 1.0  # §7: candles "updated every second" (only with rate > 0)
    ticker_batch_interval: float = 5.0  # §7: ticker_batch every 5 s (only with rate > 0)

    def __post_init__(self) -> None:
        for name in ("subscribe_deadline", "heartbeat_interval", "idle_timeout", "rate"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if self.candle_interval <= 0 or self.ticker_batch_interval <= 0:
            raise ValueError("candle_interval and ticker_batch_interval must be > 0")
        if self.book_depth < 1 or self.trades_snapshot_size < 0:
            raise ValueError("book_depth must be >= 1 and trades_snapshot_size >= 0")
        if self.max_messages_per_second < 0 or self.max_connections_per_second < 0:
            raise ValueError("rate limits must be >= 0")
        if not self.products:
            raise ValueError("products must not be empty")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the simulator options to ``parser``."""
    default = SimConfig()
    parser.add_argument("--host", default=default.host, help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port; 0 picks a free one")
    parser.add_argument(
        "--rate", type=float, default=0.0, help="synthetic messages per second (0 = none)"
    )
    parser.add_argument("--seed", type=int, default=default.seed, help="market seed")
    parser.add_argument(
        "--heartbeat",
        type=float,
        default=default.heartbeat_interval,
        help="heartbeats channel interval in s (0 = off)",
    )
    parser.add_argument(
        "--subscribe-deadline",
        type=float,
        default=default.subscribe_deadline,
        help="close connections with no subscription after N s (0 = never)",
    )
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=default.idle_timeout,
        help="close connections without heartbeats after N s of silence (0 = never)",
    )
    parser.add_argument(
        "--book-depth", type=int, default=default.book_depth, help="level2 levels per side"
    )
    parser.add_argument(
        "--trades-snapshot",
        type=int,
        default=default.trades_snapshot_size,
        help="trades in the market_trades snapshot",
    )
    parser.add_argument(
        "--product",
        dest="products",
        action="append",
        metavar="ID",
        help="known product id (repeatable; default: BTC-USD ETH-USD BTC-EUR ...)",
    )
    parser.add_argument(
        "--quiet-unknown-products",
        action="store_true",
        help="leave unknown products out of the ack instead of an error",
    )
    parser.add_argument(
        "--max-messages-per-second",
        type=int,
        default=default.max_messages_per_second,
        help="client messages per second per IP (0 = unlimited)",
    )
    parser.add_argument(
        "--max-connections-per-second",
        type=int,
        default=default.max_connections_per_second,
        help="connections per second per IP (0 = unlimited)",
    )


def config_from_args(args: argparse.Namespace) -> SimConfig:
    products: list[str] | None = args.products
    return SimConfig(
        host=args.host,
        port=args.port,
        subscribe_deadline=args.subscribe_deadline,
        heartbeat_interval=args.heartbeat,
        idle_timeout=args.idle_timeout,
        rate=args.rate,
        seed=args.seed,
        products=tuple(products) if products else DEFAULT_PRODUCTS,
        book_depth=args.book_depth,
        trades_snapshot_size=args.trades_snapshot,
        reject_unknown_products=not args.quiet_unknown_products,
        max_messages_per_second=args.max_messages_per_second,
        max_connections_per_second=args.max_connections_per_second,
    )
