# mypy: ignore-errors
# (This driver runs in the peer venv bench/.venv-peer, with cryptofeed, which ships no type
# information; the project's mypy does not see that venv.)
"""The peer: cryptofeed's Binance feed into its Redis Streams backend, all on 127.0.0.1.

Run by ``bench/run.py`` with the peer venv's Python (``bench/.venv-peer``, cryptofeed
installed from PyPI). cryptofeed's ``Binance`` class reads its WebSocket address from
``Binance.websocket_endpoints`` and loads its symbols (``/api/v3/exchangeInfo``) from
``Binance.rest_endpoints``; both class attributes are replaced here, before any feed object
exists, with the bench blaster's address on 127.0.0.1. cryptofeed 2.4 refuses ``ws://``
addresses (``WSAsyncConn`` insists on ``wss://``), so that one check is lifted too; the
blaster speaks plain ``ws://`` to feedgate as well, so neither side pays for TLS.

As a guard, every HTTP request (``requests``, ``aiohttp``) and every WebSocket connect the
process makes is checked: anything not addressed to 127.0.0.1 is refused with an error.

Trades go to ``cryptofeed.backends.redis.TradeStream`` (``XADD trades-BINANCE-BTC-EUR``),
with cryptofeed's default settings: uvloop, the backend writer in the same process.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from urllib.parse import urlsplit

LOOPBACK = "127.0.0.1"


def _check(url: str) -> None:
    host = urlsplit(str(url)).hostname
    if host != LOOPBACK:
        raise ConnectionRefusedError(f"bench peer: refusing to reach {url!r} (127.0.0.1 only)")


def _guard_network() -> None:
    """Refuse any HTTP request or WebSocket connect that is not to 127.0.0.1."""
    import aiohttp
    import cryptofeed.connection as connection
    import requests

    original_request = requests.Session.request

    def request(self, method, url, *args, **kwargs):
        _check(url)
        return original_request(self, method, url, *args, **kwargs)

    requests.Session.request = request

    original_aiohttp = aiohttp.ClientSession._request

    async def aiohttp_request(self, method, url, *args, **kwargs):
        _check(url)
        return await original_aiohttp(self, method, url, *args, **kwargs)

    aiohttp.ClientSession._request = aiohttp_request

    original_connect = connection.connect

    def ws_connect(uri, *args, **kwargs):
        _check(uri)
        return original_connect(uri, *args, **kwargs)

    connection.connect = ws_connect


def _point_at(base: str) -> None:
    """Binance's WebSocket and REST endpoints → the local blaster at ``base`` (host:port)."""
    from cryptofeed.connection import (
        AsyncConnection,
        RestEndpoint,
        Routes,
        WebsocketEndpoint,
        WSAsyncConn,
    )
    from cryptofeed.exchanges import Binance

    Binance.websocket_endpoints = [WebsocketEndpoint(f"ws://{base}")]
    Binance.rest_endpoints = [
        RestEndpoint(
            f"http://{base}",
            routes=Routes(
                "/api/v3/exchangeInfo",
                l2book="/api/v3/depth?symbol={}&limit={}",
                authentication="/api/v3/userDataStream",
            ),
        )
    ]

    def ws_init(self, address, conn_id, authentication=None, subscription=None, **kwargs):
        # WSAsyncConn.__init__ of cryptofeed 2.4.1 without its ``wss://`` check.
        self.address = address
        AsyncConnection.__init__(
            self,
            f"{conn_id}.ws.{self.conn_count}",
            authentication=authentication,
            subscription=subscription,
        )
        self.ws_kwargs = kwargs

    WSAsyncConn.__init__ = ws_init


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--upstream", required=True, help="host:port of the blaster (127.0.0.1)")
    parser.add_argument("--redis-port", type=int, required=True)
    parser.add_argument("--log", default="cryptofeed.log", help="cryptofeed's log file")
    args = parser.parse_args()
    _check(f"ws://{args.upstream}")

    _guard_network()
    _point_at(args.upstream)

    from cryptofeed import FeedHandler
    from cryptofeed.backends.redis import TradeStream
    from cryptofeed.defines import TRADES
    from cryptofeed.exchanges import Binance

    handler = FeedHandler(
        config={"uvloop": True, "log": {"filename": args.log, "level": "WARNING"}}
    )
    feed = Binance(
        symbols=["BTC-EUR"],
        channels=[TRADES],
        callbacks={TRADES: TradeStream(host=LOOPBACK, port=args.redis_port)},
    )
    for address in (feed.address, feed.rest_endpoints[0].address):
        _check(address)
    handler.add_feed(feed)
    # FeedHandler installed uvloop's policy; uvloop >= 0.22 no longer makes a loop on the
    # first get_event_loop() as cryptofeed 2.4.1 expects, so make it here.
    asyncio.set_event_loop(asyncio.new_event_loop())
    print("PEER STARTING", flush=True)
    handler.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
