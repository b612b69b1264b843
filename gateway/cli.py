"""The ``feedgate`` command: argument parsing only; the work lives elsewhere."""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence

from gateway.config import Config, load_config
from gateway.errors import FeedgateError
from gateway.registry import MARKET_TOOLS, SIMULATORS, market_refresher, simulator_module


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="feedgate", description="Bridge crypto market-data feeds to Redis Streams."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run the gateway")
    _config_option(run)
    run.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR")
    run.add_argument(
        "--fallback-to-sim",
        action="store_true",
        help="if no upstream endpoint answers within 5 s at start (offline), say so and run "
        "the built-in simulators instead (entries get source = sim); make run uses this",
    )

    sim = commands.add_parser(
        "sim",
        help="run an upstream protocol simulator on 127.0.0.1",
        description="Run a protocol simulator; `feedgate sim PROTOCOL --help` lists its options.",
    )
    sim.add_argument("protocol", choices=sorted(SIMULATORS))
    sim.add_argument("options", nargs=argparse.REMAINDER, help="the simulator's own options")

    markets = commands.add_parser(
        "markets", help="rebuild a protocol's market table from its REST API (markets_file)"
    )
    markets.add_argument("protocol", choices=sorted(MARKET_TOOLS))
    markets.add_argument(
        "--rest-url", required=True, help="REST base, e.g. https://api.cryptowat.ch"
    )
    markets.add_argument("--out", required=True, metavar="FILE", help="CSV file to write")

    health = commands.add_parser("health", help="exit 0 if the gateway is ready, else 1")
    _config_option(health)
    health.add_argument("--url", help="readiness URL (default: from health.listen)")
    health.add_argument("--timeout", type=float, default=3.0)
    health.add_argument("-v", "--verbose", action="store_true", help="print the report")

    topics = commands.add_parser("topics", help="list streams with length and last entry time")
    _config_option(topics)
    _redis_option(topics)
    topics.add_argument(
        "--demand",
        action="store_true",
        help="show the running gateway's subscriptions: upstream, state, lease holders",
    )
    topics.add_argument("--url", help="subscriptions URL (default: from health.listen)")

    tail = commands.add_parser("tail", help="print new entries of a topic as they arrive")
    tail.add_argument("topic")
    _config_option(tail)
    _redis_option(tail)
    tail.add_argument("--from-start", action="store_true", help="print existing entries first")
    tail.add_argument("--count", type=int, default=0, help="exit after N entries (0: never)")
    tail.add_argument("--json", action="store_true", help="one JSON object per entry")
    return parser


def _config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="TOML config (default: built in)")


def _redis_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--redis", metavar="URL", help="Redis URL (default: REDIS_URL, config)")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _dispatch(args)
    except FeedgateError as exc:
        print(f"feedgate: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "sim":
        module = simulator_module(args.protocol)
        parser = argparse.ArgumentParser(prog=f"feedgate sim {args.protocol}")
        module.add_arguments(parser)
        return int(module.run(module.config_from_args(parser.parse_args(args.options))))
    if args.command == "markets":
        count = market_refresher(args.protocol)(args.rest_url, args.out)
        print(f"wrote {count} markets to {args.out}", file=sys.stderr)
        return 0
    config = load_config(args.config)
    if args.command == "run":
        from gateway import app

        if args.fallback_to_sim:
            from gateway.offline import fallback_to_sim

            config, line = fallback_to_sim(config)
            if line is not None:
                print(line, file=sys.stderr, flush=True)
        app.configure_logging(args.log_level)
        return app.run(config)
    if args.command == "health":
        return _health(config, args)
    if args.command == "topics" and args.demand:
        return _demand(args.url or _health_url(config, "/subscriptions"))
    from gateway import inspector  # redis-py is only needed by these commands

    url = args.redis or _redis_url(config)
    if args.command == "topics":
        return inspector.print_topics(url)
    return inspector.tail(url, args.topic, args.from_start, args.count, args.json)


def _redis_url(config: Config) -> str:
    if config.redis.url is not None:
        return config.redis.url
    return f"redis://127.0.0.1:{config.redis.embedded.port}/0"


def _health_url(config: Config, path: str) -> str:
    host, _, port = config.health.listen.rpartition(":")
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    return f"http://{host}:{port}{path}"


def _demand(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            body = json.loads(response.read())
    except (OSError, ValueError) as exc:
        print(f"feedgate topics --demand: {url} unreachable: {exc}", file=sys.stderr)
        return 1
    rows = body["topics"]
    if not rows:
        print("no topics")
        return 0
    now_ms = time.time() * 1000
    width = max(len(r["topic"]) for r in rows)
    print(f"{'topic':<{width}}  {'upstream':<14} {'conn':>4}  {'state':<8} holders")
    for row in rows:
        holders = ", ".join(
            f"{client} ({(expires - now_ms) / 1000:.0f}s)"
            for client, expires in sorted(row["holders"].items())
        )
        if row["pinned"]:
            holders = "pinned" + (f", {holders}" if holders else "")
        conn = "-" if row["connection"] is None else str(row["connection"])
        print(f"{row['topic']:<{width}}  {row['upstream'] or '-':<14} {conn:>4}  "
              f"{row['state']:<8} {holders}")  # fmt: skip
    return 0


def _health(config: Config, args: argparse.Namespace) -> int:
    url = args.url or _health_url(config, "/readyz")
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=args.timeout) as response:
            body = response.read()
            ok = response.status == 200
    except urllib.error.HTTPError as exc:
        body, ok = exc.read(), False
    except (OSError, ValueError) as exc:
        print(f"feedgate health: {url} unreachable: {exc}", file=sys.stderr)
        return 1
    if args.verbose:
        print(json.dumps(json.loads(body or b"{}"), indent=2, sort_keys=True))
    elapsed = (time.monotonic() - started) * 1000
    print(f"{'ready' if ok else 'NOT ready'} ({url}, {elapsed:.0f} ms)", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
