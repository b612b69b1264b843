"""msgspec Structs mirroring the Binance Spot public streams and the REST depth snapshot.

Source: ``shared/protocols/binance.md``. Frames come from combined streams, wrapped as
``{"stream": …, "data": …}`` (§1); the wrapper says what ``data`` is (``@bookTicker`` has
no ``e``), so one typed Decoder per stream kind decodes ``data`` after the envelope. Only
the fields feedgate reads are declared.

Prices and quantities are JSON strings (§7) and stay exactly as received; the ``Dec``
constraint accepts only plain positional decimals, so nothing downstream (the book engine,
consumers) ever meets ``"abc"``, ``"NaN"`` or ``"1e5"``.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

#: A decimal string as Binance sends them (§7): plain digits, an optional fraction.
Dec = Annotated[str, msgspec.Meta(pattern=r"^-?[0-9]+(\.[0-9]+)?$")]
#: One ``[price, quantity]`` level (§10); quantity ``"0"`` removes the level.
Level = tuple[Dec, Dec]
#: An integer ms time (§7) whose ns value still fits the events' signed 64-bit ``ts``.
Millis = Annotated[int, msgspec.Meta(ge=0, le=(2**63 - 1) // 1_000_000)]


class Envelope(msgspec.Struct, frozen=True):
    """Any server frame: a combined-stream event, a request's answer, or an error (§1, §4).

    ``UNSET`` tells an absent key from a JSON ``null`` (``{"result":null,"id":1}``).
    """

    stream: str | None = None
    data: msgspec.Raw | msgspec.UnsetType = msgspec.UNSET
    result: msgspec.Raw | msgspec.UnsetType = msgspec.UNSET
    id: int | str | msgspec.UnsetType | None = msgspec.UNSET
    code: int | msgspec.UnsetType | None = msgspec.UNSET
    msg: str = ""
    e: str | None = None  # a raw (unwrapped) event's type, e.g. serverShutdown (§2)


class TradeMsg(msgspec.Struct, frozen=True):
    """``<symbol>@trade`` (§8); ``m`` true means the buyer was the maker (the taker sold)."""

    t: int
    p: Dec
    q: Dec
    T: int
    m: bool


class BookTickerMsg(msgspec.Struct, frozen=True):
    """``<symbol>@bookTicker`` (§9): best bid/ask; no ``e``, no ``E``; ``u`` is the book id."""

    u: int
    b: Dec
    B: Dec
    a: Dec
    A: Dec


class TickerMsg(msgspec.Struct, frozen=True):
    """``<symbol>@ticker`` (§9): 24 h rolling-window statistics, sent every 1000 ms.

    ``c``/``Q`` last price and quantity, ``b``/``a`` best bid and ask, ``o, h, l`` the
    window's open, high and low, ``v``/``q`` its base and quote volume, ``L`` the last
    trade id, ``E`` the event time.
    """

    E: Millis
    c: Dec
    Q: Dec
    b: Dec
    a: Dec
    o: Dec
    h: Dec
    l: Dec  # noqa: E741 - Binance's field name
    v: Dec
    q: Dec
    L: int


class Kline(msgspec.Struct, frozen=True):
    """The ``k`` object of a kline event (§9); ``t`` is the open time, ``x`` closed."""

    t: int
    o: Dec
    c: Dec
    h: Dec
    l: Dec  # noqa: E741 - Binance's field name
    v: Dec
    q: Dec
    n: int
    x: bool


class KlineMsg(msgspec.Struct, frozen=True):
    """``<symbol>@kline_<i>`` (§9)."""

    k: Kline


class DepthUpdateMsg(msgspec.Struct, frozen=True):
    """``<symbol>@depth@100ms`` (§10): update ids ``U``..``u``, absolute quantities."""

    E: int
    U: int
    u: int
    b: tuple[Level, ...]
    a: tuple[Level, ...]


class DepthSnapshotMsg(msgspec.Struct, frozen=True):
    """The body of ``GET /api/v3/depth`` (§10 step 2)."""

    lastUpdateId: int
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]


class RestErrorMsg(msgspec.Struct, frozen=True):
    """A REST error body, ``{"code": -1121, "msg": "Invalid symbol."}``."""

    code: int | None = None
    msg: str = ""


class Request(msgspec.Struct, frozen=True):
    """A client request (§4): ``{"method":"SUBSCRIBE","params":[…],"id":1}``."""

    method: str
    params: list[str]
    id: int


ENVELOPE = msgspec.json.Decoder(Envelope)
TRADE = msgspec.json.Decoder(TradeMsg)
BOOK_TICKER = msgspec.json.Decoder(BookTickerMsg)
TICKER = msgspec.json.Decoder(TickerMsg)
KLINE = msgspec.json.Decoder(KlineMsg)
DEPTH_UPDATE = msgspec.json.Decoder(DepthUpdateMsg)
DEPTH_SNAPSHOT = msgspec.json.Decoder(DepthSnapshotMsg)
REST_ERROR = msgspec.json.Decoder(RestErrorMsg)
REQUEST = msgspec.json.Encoder()
