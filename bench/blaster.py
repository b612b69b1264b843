"""A minimal upstream on 127.0.0.1 that sends trade frames as fast as its client reads them.

It speaks just enough of three protocols for one client to connect and subscribe:

* ``cc``: CryptoCompare streamer v2 (JSON). TYPE 20 welcome on connect; each ``SubAdd`` is
  answered with a TYPE 16 per sub and a TYPE 3; trades are TYPE 0 frames, one per frame.
* ``cw``: Cryptowatch stream (protobuf). ``ClientMessage{apiAuthentication}`` is answered with
  ``AuthenticationResult{AUTHENTICATED}`` and a ``SubscriptionResult`` echoing the
  subscriptions; trades are ``StreamMessage{marketUpdate{market{marketId: 86},
  tradesUpdate{...}}}`` with ``--per-frame`` trades each.
* ``binance``: Binance spot combined streams (what cryptofeed's ``Binance`` feed uses): the
  WebSocket at ``/stream?streams=btceur@aggTrade`` and, on the same port, the REST
  ``GET /api/v3/exchangeInfo`` that cryptofeed loads its symbols from.

Every trade frame is built, and framed as a WebSocket frame, at start-up: during a run the
blaster only hands the ready bytes to the socket (``transport.writelines``, waiting on the
connection's flow control), so it costs next to no CPU and never holds the client back.
Writing pre-built frames straight to the transport is valid WebSocket: server frames are
unmasked and each write is a whole frame; ``websockets`` pings are off so nothing interleaves.

Control is line-based: the blaster prints ``READY <port>`` and, once its client has
subscribed, ``SUBSCRIBED``. On standard input it takes:

* ``BLAST <frames>``: send the next ``<frames>`` pre-built frames at once; replies
  ``SENT <frames> <t0_ns> <t1_ns>`` (first write, last write; wall clock).
* ``PACE <events_per_s> <seconds>``: (``cc`` and ``cw``) build fresh frames, then send them at
  that rate in bursts of whatever is due, waking every millisecond. Each burst is stamped
  just before it is written with the wall-clock time in nanoseconds: in ``TS``/``TSNS`` for
  CryptoCompare (so the entry's ``ts`` field is the send time) and in every trade's
  ``timestampNano`` for Cryptowatch. Replies ``SENT <frames> <t0_ns> <t1_ns>``.
* ``QUIT``: close and exit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
import time
from collections.abc import Sequence
from http import HTTPStatus
from urllib.parse import urlsplit

from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

NS = 1_000_000_000
#: The market the gateway side subscribes to: Kraken BTC/EUR (Cryptowatch market id 86).
CW_MARKET_ID = 86
CC_SUB = "0~Kraken~BTC~EUR"
BINANCE_SYMBOL = "BTCEUR"
BINANCE_STREAM = "btceur@aggTrade"
#: Frames handed to the transport per ``writelines`` call before waiting on flow control.
CHUNK = 512
#: A fixed trade time for pre-built (unstamped) frames.
BASE_TS_NS = 1_751_000_100_120_000_000
#: Placeholder for ``timestampNano`` in stamped Cryptowatch frames; like any time from
#: 1972 to 2262 it encodes as a 9-byte varint, so the send time overwrites it in place.
CW_SENTINEL = 0x1A5A5A5A5A5A5A5A
CC_STAMP = b'"TS":1000000000,"TSNS":999999999'  # the stamped region of a CryptoCompare frame


def ws_frame(payload: bytes, *, binary: bool) -> bytes:
    """``payload`` as one unmasked, final WebSocket frame (text or binary)."""
    head = 0x82 if binary else 0x81
    size = len(payload)
    if size < 126:
        header = bytes((head, size))
    elif size < 65536:
        header = bytes((head, 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((head, 127)) + size.to_bytes(8, "big")
    return header + payload


def varint(value: int) -> bytes:
    """Protobuf base-128 varint encoding of a non-negative integer."""
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _price(i: int) -> str:
    return f"{91000 + i % 997}.{i % 10}"


def _amount(i: int) -> str:
    return f"0.{1500 + i % 8000:05d}"


def cc_trade(i: int, ts_ns: int = BASE_TS_NS) -> bytes:
    """A CryptoCompare TYPE 0 trade frame (one trade), ID ``i``."""
    seconds, nanos = divmod(ts_ns, NS)
    return (
        f'{{"TYPE":"0","M":"Kraken","FSYM":"BTC","TSYM":"EUR","F":"{1 + i % 2}",'
        f'"ID":"{i}","TS":{seconds},"Q":{_amount(i)},"P":{_price(i)},"TOTAL":1365.0075,'
        f'"RTS":{seconds},"CCSEQ":{i},"TSNS":{nanos},"RTSNS":{nanos}}}'
    ).encode()


def cc_trade_stamped(i: int) -> bytes:
    """A TYPE 0 frame whose ``"TS":…,"TSNS":…`` region (``CC_STAMP``) is overwritten later."""
    return (
        f'{{"TYPE":"0","M":"Kraken","FSYM":"BTC","TSYM":"EUR","F":"{1 + i % 2}",'
        f'"ID":"L{i:012d}",{CC_STAMP.decode()},"Q":{_amount(i)},"P":{_price(i)},'
        f'"TOTAL":1365.0075,"CCSEQ":{i}}}'
    ).encode()


def cc_stamp(now_ns: int) -> bytes:
    """The bytes replacing ``CC_STAMP``: TSNS left-justified, padded with JSON whitespace."""
    seconds, nanos = divmod(now_ns, NS)
    stamp = b'"TS":%d,"TSNS":%-9d' % (seconds, nanos)
    if len(stamp) != len(CC_STAMP):
        raise ValueError("send time out of the stamp's range")
    return stamp


def cw_trades(first_id: int, count: int, ts_ns: int | None = BASE_TS_NS) -> bytes:
    """A Cryptowatch ``StreamMessage`` with ``count`` trades of market 86 (ids from ``first_id``).

    ``ts_ns=None`` puts ``CW_SENTINEL`` in every ``timestampNano``, to be stamped later.
    """
    from proto.cryptowatch import markets_pb2, stream_pb2

    stamp = CW_SENTINEL if ts_ns is None else ts_ns
    update = markets_pb2.TradesUpdate()
    for i in range(first_id, first_id + count):
        update.trades.append(
            markets_pb2.Trade(
                externalId=str(i) if ts_ns is not None else f"L{i:012d}",
                timestamp=BASE_TS_NS // NS,
                timestampNano=stamp,
                priceStr=_price(i),
                amountStr=_amount(i),
                amountBaseStr=_amount(i),
                amountQuoteStr="1365.0075",
                orderSide=markets_pb2.Trade.BUYSIDE if i % 2 else markets_pb2.Trade.SELLSIDE,
            )
        )
    message = stream_pb2.StreamMessage(
        marketUpdate=markets_pb2.MarketUpdateMessage(
            market=markets_pb2.Market(marketId=CW_MARKET_ID), tradesUpdate=update
        )
    )
    return bytes(message.SerializeToString())


def binance_trade(i: int, ts_ns: int = BASE_TS_NS) -> bytes:
    """A Binance combined-stream ``aggTrade`` frame, aggregate trade id ``i``."""
    ms = ts_ns // 1_000_000
    return (
        f'{{"stream":"{BINANCE_STREAM}","data":{{"e":"aggTrade","E":{ms},"s":"{BINANCE_SYMBOL}",'
        f'"a":{i},"p":"{_price(i)}","q":"{_amount(i)}","f":{i},"l":{i},"T":{ms},'
        f'"m":{"true" if i % 2 else "false"},"M":true}}}}'
    ).encode()


EXCHANGE_INFO = {
    "timezone": "UTC",
    "serverTime": BASE_TS_NS // 1_000_000,
    "symbols": [
        {
            "symbol": BINANCE_SYMBOL,
            "status": "TRADING",
            "baseAsset": "BTC",
            "quoteAsset": "EUR",
            "filters": [{"filterType": "PRICE_FILTER", "tickSize": "0.01"}],
        }
    ],
}


class Stamped:
    """Frames for a paced run, with where each one's send time goes."""

    def __init__(self, protocol: str, events: int, per_frame: int, first_id: int) -> None:
        self.frames: list[bytearray] = []
        self.offsets: list[tuple[int, ...]] = []
        if protocol == "cc":
            marker = CC_STAMP
            payloads = [cc_trade_stamped(first_id + i) for i in range(events)]
        elif protocol == "cw":
            marker = b"\x50" + varint(CW_SENTINEL)  # field 10 (timestampNano), varint
            payloads = [
                cw_trades(first_id + i, min(per_frame, events - i), None)
                for i in range(0, events, per_frame)
            ]
        else:
            raise ValueError(f"no paced mode for {protocol}")
        self.protocol = protocol
        skip = 0 if protocol == "cc" else 1  # the stamp starts after the field tag
        for payload in payloads:
            frame = bytearray(ws_frame(payload, binary=protocol == "cw"))
            found: list[int] = []
            start = frame.find(marker)
            while start >= 0:
                found.append(start + skip)
                start = frame.find(marker, start + len(marker))
            if not found:
                raise AssertionError("stamp placeholder not found in a frame")
            self.frames.append(frame)
            self.offsets.append(tuple(found))

    def stamp(self, now_ns: int) -> bytes:
        """The bytes that carry ``now_ns`` in this protocol's placeholder."""
        if self.protocol == "cc":
            return cc_stamp(now_ns)
        encoded = varint(now_ns)
        if len(encoded) != 9:
            raise ValueError("send time out of the 9-byte varint range")
        return encoded


class Blaster:
    """One server, one client at a time, frames built up front."""

    def __init__(self, protocol: str, events: int, per_frame: int) -> None:
        self.protocol = protocol
        self.per_frame = per_frame
        self.client: ServerConnection | None = None
        self.subscribed = asyncio.Event()
        self.frames = self._build(events)
        self.position = 0
        self.next_id = 10**9  # paced runs use ids of their own

    def _build(self, events: int) -> list[bytes]:
        if self.protocol == "cc":
            return [ws_frame(cc_trade(i), binary=False) for i in range(1, events + 1)]
        if self.protocol == "binance":
            return [ws_frame(binance_trade(i), binary=False) for i in range(1, events + 1)]
        step = self.per_frame
        return [
            ws_frame(cw_trades(i, min(step, events + 1 - i)), binary=True)
            for i in range(1, events + 1, step)
        ]

    # -- server --------------------------------------------------------------------------

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        path = urlsplit(request.path).path
        if self.protocol == "binance" and path == "/api/v3/exchangeInfo":
            body = json.dumps(EXCHANGE_INFO).encode()
            headers = Headers(
                [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
            )
            return Response(HTTPStatus.OK, "OK", headers, body)
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return connection.respond(HTTPStatus.NOT_FOUND, "Not Found\n")
        return None

    async def handler(self, ws: ServerConnection) -> None:
        path = ws.request.path if ws.request else "?"
        print(f"blaster: client connected ({path})", file=sys.stderr, flush=True)
        self.client = ws
        try:
            if self.protocol == "cc":
                await self._cryptocompare(ws)
            elif self.protocol == "cw":
                await self._cryptowatch(ws)
            else:
                self._ready(ws)
                await ws.wait_closed()
        except ConnectionClosed:
            pass
        finally:
            print(f"blaster: client gone ({ws.close_code} {ws.close_reason!r})", file=sys.stderr,
                  flush=True)  # fmt: skip
            if self.client is ws:
                self.client = None

    def _ready(self, ws: ServerConnection) -> None:
        if not self.subscribed.is_set():
            self.subscribed.set()
            print("SUBSCRIBED", flush=True)

    async def _cryptocompare(self, ws: ServerConnection) -> None:
        welcome = {"TYPE": "20", "MESSAGE": "STREAMERWELCOME", "SERVER_NAME": "bench",
                   "SOCKETS_ACTIVE": 1, "SOCKETS_REMAINING": 0, "RATELIMIT_MAX_MINUTE": 60,
                   "RATELIMIT_MAX_HOUR": 1200}  # fmt: skip
        await ws.send(json.dumps(welcome))
        async for message in ws:
            request = json.loads(message)
            if request.get("action") != "SubAdd":
                continue
            for sub in request.get("subs", []):
                await ws.send(json.dumps({"TYPE": "16", "MESSAGE": "SUBSCRIBECOMPLETE",
                                          "SUB": sub}))  # fmt: skip
            await ws.send(json.dumps({"TYPE": "3", "MESSAGE": "LOADCOMPLETE"}))
            self._ready(ws)

    async def _cryptowatch(self, ws: ServerConnection) -> None:
        from proto.cryptowatch import client_pb2, stream_pb2

        async for message in ws:
            data = message.encode() if isinstance(message, str) else message
            request = client_pb2.ClientMessage.FromString(data)
            kind = request.WhichOneof("body")
            if kind == "apiAuthentication":
                result = stream_pb2.StreamMessage()
                result.authenticationResult.status = stream_pb2.AuthenticationResult.AUTHENTICATED
                await ws.send(result.SerializeToString())
                subs = list(request.apiAuthentication.client_subscriptions)
            elif kind == "subscribe":
                subs = list(request.subscribe.subscriptions)
            else:
                continue
            if subs:
                reply = stream_pb2.StreamMessage()
                reply.subscriptionResult.subscriptions.extend(subs)
                await ws.send(reply.SerializeToString())
                self._ready(ws)

    # -- sending -------------------------------------------------------------------------

    def _client(self) -> ServerConnection:
        if self.client is None:
            raise RuntimeError("no client connected")
        return self.client

    async def blast(self, count: int) -> tuple[int, int, int]:
        """Send the next ``count`` pre-built frames as fast as the client takes them."""
        ws = self._client()
        frames = self.frames[self.position : self.position + count]
        self.position += len(frames)
        transport = ws.transport
        t0 = time.time_ns()
        for i in range(0, len(frames), CHUNK):
            transport.writelines(frames[i : i + CHUNK])
            await ws.drain()
        return len(frames), t0, time.time_ns()

    async def pace(self, rate: float, seconds: float) -> tuple[int, int, int]:
        """Send ``rate * seconds`` events at ``rate`` events/s, stamped per burst."""
        events = int(rate * seconds)
        stamped = Stamped(self.protocol, events, self.per_frame, self.next_id)
        self.next_id += events
        ws = self._client()
        transport = ws.transport
        frames, offsets = stamped.frames, stamped.offsets
        frame_rate = rate / (self.per_frame if self.protocol == "cw" else 1)
        total = len(frames)
        sent = 0
        t0 = time.time_ns()
        start = time.monotonic()
        while sent < total:
            due = min(total, int((time.monotonic() - start) * frame_rate) + 1)
            if due > sent:
                stamp = stamped.stamp(time.time_ns())
                width = len(stamp)
                for index in range(sent, due):
                    frame = frames[index]
                    for offset in offsets[index]:
                        frame[offset : offset + width] = stamp
                transport.writelines(frames[sent:due])
                sent = due
            await asyncio.sleep(0.001)
        t1 = time.time_ns()
        await ws.drain()
        return total, t0, t1


async def _commands(loop: asyncio.AbstractEventLoop) -> asyncio.Queue[str]:
    """Standard input lines as a queue (read by a daemon thread; EOF reads as QUIT)."""
    queue: asyncio.Queue[str] = asyncio.Queue()

    def reader() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(queue.put_nowait, line.strip())
        loop.call_soon_threadsafe(queue.put_nowait, "QUIT")

    threading.Thread(target=reader, daemon=True, name="stdin").start()
    return queue


async def main_async(args: argparse.Namespace) -> None:
    blaster = Blaster(args.protocol, args.events, args.per_frame)
    async with serve(
        blaster.handler,
        "127.0.0.1",
        args.port,
        process_request=blaster.process_request,
        compression=None,
        ping_interval=None,
        max_size=None,
        write_limit=1 << 20,
    ) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"READY {port}", flush=True)
        queue = await _commands(asyncio.get_running_loop())
        while True:
            command, *rest = (await queue.get()).split() or [""]
            if command == "QUIT":
                break
            try:
                if command == "BLAST":
                    result = await blaster.blast(int(rest[0]))
                elif command == "PACE":
                    result = await blaster.pace(float(rest[0]), float(rest[1]))
                else:
                    print(f"ERROR unknown command {command!r}", flush=True)
                    continue
            except (RuntimeError, ValueError, ConnectionClosed) as exc:
                print(f"ERROR {type(exc).__name__}: {exc}", flush=True)
                continue
            print("SENT {} {} {}".format(*result), flush=True)
        if blaster.client is not None:
            await blaster.client.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.blaster", description=__doc__)
    parser.add_argument("--protocol", choices=("cc", "cw", "binance"), required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--events", type=int, default=0, help="trades to pre-build")
    parser.add_argument("--per-frame", type=int, default=1, help="trades per frame (cw)")
    args = parser.parse_args(argv)
    if args.protocol != "cw":
        args.per_frame = 1
    try:
        import uvloop

        uvloop.run(main_async(args))
    except ImportError:  # pragma: no cover - uvloop is a project dependency
        asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
