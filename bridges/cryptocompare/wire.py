"""msgspec Structs mirroring the CryptoCompare streamer v2 frames.

Source: ``shared/protocols/cryptocompare.md``. One frozen Struct per message
type, tagged on the string ``TYPE``; only the fields feedgate reads are
declared. Prices and amounts decode straight from the JSON number's text into
``Decimal`` (never through float), and the decoder runs with ``strict=False``
so numbers sent as strings are accepted (§3, "numbers as strings").
"""

from __future__ import annotations

from decimal import Decimal
from typing import Union

import msgspec

# Wire name of each ticker/index field, keyed by the normalised event field (§3.2, §3.3).
TICKER_FIELDS: dict[str, str] = {
    "price": "PRICE",
    "bid": "BID",
    "ask": "ASK",
    "last_volume": "LASTVOLUME",
    "last_volume_quote": "LASTVOLUMETO",
    "volume_day": "VOLUMEDAY",
    "volume_day_quote": "VOLUMEDAYTO",
    "volume_24h": "VOLUME24HOUR",
    "volume_24h_quote": "VOLUME24HOURTO",
    "open_day": "OPENDAY",
    "high_day": "HIGHDAY",
    "low_day": "LOWDAY",
    "open_24h": "OPEN24HOUR",
    "high_24h": "HIGH24HOUR",
    "low_24h": "LOW24HOUR",
    "volume_hour": "VOLUMEHOUR",
    "volume_hour_quote": "VOLUMEHOURTO",
    "open_hour": "OPENHOUR",
    "high_hour": "HIGHHOUR",
    "low_hour": "LOWHOUR",
}
INDEX_FIELDS: dict[str, str] = {
    "median": "MEDIAN",
    "top_tier_volume_24h": "TOPTIERVOLUME24HOUR",
    "top_tier_volume_24h_quote": "TOPTIERVOLUME24HOURTO",
    "current_supply": "CURRENTSUPPLY",
    "circulating_supply": "CIRCULATINGSUPPLY",
    "max_supply": "MAXSUPPLY",
    "mktcap_penalty": "MKTCAPPENALTY",
    "current_supply_mktcap": "CURRENTSUPPLYMKTCAP",
    "circulating_supply_mktcap": "CIRCULATINGSUPPLYMKTCAP",
    "max_supply_mktcap": "MAXSUPPLYMKTCAP",
}
_IDENTITY = {
    "market": "MARKET",
    "from_symbol": "FROMSYMBOL",
    "to_symbol": "TOSYMBOL",
    "flags": "FLAGS",
    "last_update": "LASTUPDATE",
    "last_trade_id": "LASTTRADEID",
    "last_market": "LASTMARKET",
}
_TICKER_RENAME = {**_IDENTITY, **TICKER_FIELDS}
_INDEX_RENAME = {**_TICKER_RENAME, **INDEX_FIELDS}


class TradeMsg(msgspec.Struct, tag="0", tag_field="TYPE", frozen=True):
    """TYPE 0: one complete trade (§3.1)."""

    M: str
    FSYM: str
    TSYM: str
    ID: str | int
    TS: int
    Q: Decimal
    P: Decimal
    F: str | int = "4"
    TSNS: int | None = None
    CCSEQ: int | None = None


class TickerMsg(msgspec.Struct, tag="2", rename=_TICKER_RENAME, tag_field="TYPE", frozen=True):
    """TYPE 2: a single-exchange ticker, full snapshot then partial updates (§3.2, §4)."""

    market: str
    from_symbol: str
    to_symbol: str
    flags: int = 0
    last_update: int | None = None
    last_trade_id: str | int | None = None
    last_market: str | None = None
    price: Decimal | None = None
    bid: Decimal | None = None
    ask: Decimal | None = None
    last_volume: Decimal | None = None
    last_volume_quote: Decimal | None = None
    volume_day: Decimal | None = None
    volume_day_quote: Decimal | None = None
    volume_24h: Decimal | None = None
    volume_24h_quote: Decimal | None = None
    open_day: Decimal | None = None
    high_day: Decimal | None = None
    low_day: Decimal | None = None
    open_24h: Decimal | None = None
    high_24h: Decimal | None = None
    low_24h: Decimal | None = None
    volume_hour: Decimal | None = None
    volume_hour_quote: Decimal | None = None
    open_hour: Decimal | None = None
    high_hour: Decimal | None = None
    low_hour: Decimal | None = None


class IndexMsg(TickerMsg, tag="5", rename=_INDEX_RENAME, frozen=True):
    """TYPE 5: the CCCAGG aggregate index: ticker fields plus index fields (§3.3)."""

    median: Decimal | None = None
    top_tier_volume_24h: Decimal | None = None
    top_tier_volume_24h_quote: Decimal | None = None
    current_supply: Decimal | None = None
    circulating_supply: Decimal | None = None
    max_supply: Decimal | None = None
    mktcap_penalty: Decimal | None = None
    current_supply_mktcap: Decimal | None = None
    circulating_supply_mktcap: Decimal | None = None
    max_supply_mktcap: Decimal | None = None


class CandleMsg(msgspec.Struct, tag="24", tag_field="TYPE", frozen=True):
    """TYPE 24: one whole OHLC candle (§3.6)."""

    MARKET: str
    FROMSYMBOL: str
    TOSYMBOL: str
    TS: int
    UNIT: str
    OPEN: Decimal
    HIGH: Decimal
    LOW: Decimal
    CLOSE: Decimal
    VOLUMEFROM: Decimal
    VOLUMETO: Decimal
    TOTALTRADES: int | None = None
    FIRSTTS: int | None = None
    LASTTS: int | None = None
    FIRSTPRICE: Decimal | None = None
    MAXPRICE: Decimal | None = None
    MINPRICE: Decimal | None = None
    LASTPRICE: Decimal | None = None


class Level(msgspec.Struct, frozen=True):
    """One price level of a top-of-book side (§3.7)."""

    P: Decimal
    Q: Decimal
    REPORTEDNS: int | None = None


class TopOfBookMsg(msgspec.Struct, tag="30", tag_field="TYPE", frozen=True):
    """TYPE 30: best bid and/or ask; later frames carry one side (§3.7)."""

    M: str
    FSYM: str
    TSYM: str
    CCSEQ: int | None = None
    BID: list[Level] | None = None
    ASK: list[Level] | None = None


class FullVolumeMsg(msgspec.Struct, tag="11", tag_field="TYPE", frozen=True):
    """TYPE 11: 24-hour base volume over every exchange (§3.5)."""

    SYMBOL: str
    FULLVOLUME: Decimal


class TopTierVolumeMsg(msgspec.Struct, tag="21", tag_field="TYPE", frozen=True):
    """TYPE 21: the same, top-tier exchanges only (§3.5)."""

    SYMBOL: str
    TOPTIERFULLVOLUME: Decimal


class BookDeltaMsg(msgspec.Struct, tag="8", tag_field="TYPE", frozen=True):
    """TYPE 8: one order-book position changed (§3.4); ``CCSEQ`` goes up by one."""

    M: str
    FSYM: str
    TSYM: str
    SIDE: int  # 0 bid, 1 ask
    ACTION: int  # 1 add, 2 remove, 3 no action, 4 change
    CCSEQ: int
    P: Decimal
    Q: Decimal = Decimal(0)
    REPORTEDNS: int | None = None


class BookLevel(msgspec.Struct, frozen=True):
    """One level of a TYPE 9 snapshot."""

    P: Decimal
    Q: Decimal


class BookSnapshotMsg(msgspec.Struct, tag="9", tag_field="TYPE", frozen=True):
    """TYPE 9: the full book after subscribing, with the starting ``CCSEQ`` (§3.4)."""

    M: str
    FSYM: str
    TSYM: str
    CCSEQ: int
    BID: list[BookLevel] = msgspec.field(default_factory=list)
    ASK: list[BookLevel] = msgspec.field(default_factory=list)
    REPORTEDNS: int | None = None


class WelcomeMsg(msgspec.Struct, tag="20", tag_field="TYPE", frozen=True):
    """TYPE 20 STREAMERWELCOME: the first frame, with the account's quotas (§1)."""

    SERVER_NAME: str | int = ""
    SOCKETS_ACTIVE: int | None = None
    SOCKETS_REMAINING: int | None = None
    RATELIMIT_MAX_SECOND: int | None = None
    RATELIMIT_MAX_MINUTE: int | None = None
    RATELIMIT_MAX_HOUR: int | None = None
    RATELIMIT_MAX_DAY: int | None = None
    RATELIMIT_MAX_MONTH: int | None = None
    RATELIMIT_REMAINING_SECOND: int | None = None
    RATELIMIT_REMAINING_MINUTE: int | None = None
    RATELIMIT_REMAINING_HOUR: int | None = None
    RATELIMIT_REMAINING_DAY: int | None = None
    RATELIMIT_REMAINING_MONTH: int | None = None


class SubscribeCompleteMsg(msgspec.Struct, tag="16", tag_field="TYPE", frozen=True):
    """TYPE 16: one subscription is active and its first payload was sent."""

    SUB: str


class UnsubscribeCompleteMsg(msgspec.Struct, tag="17", tag_field="TYPE", frozen=True):
    """TYPE 17: one subscription was removed."""

    SUB: str


class LoadCompleteMsg(msgspec.Struct, tag="3", tag_field="TYPE", frozen=True):
    """TYPE 3: every subscription of a SubAdd batch is done."""


class UnsubscribeAllCompleteMsg(msgspec.Struct, tag="18", tag_field="TYPE", frozen=True):
    """TYPE 18: every removal of a SubRemove batch is done."""


class HeartbeatMsg(msgspec.Struct, tag="999", tag_field="TYPE", frozen=True):
    """TYPE 999: application heartbeat (§3.9)."""


class ErrorMsg(msgspec.Struct, frozen=True):
    """Fields of the 401 / 429 / 500 error frames (§3.8)."""

    MESSAGE: str = ""
    PARAMETER: str = ""
    INFO: str = ""


class UnauthorizedMsg(ErrorMsg, tag="401", tag_field="TYPE", frozen=True):
    """TYPE 401: key missing or invalid, or no access to the requested data."""


class RateLimitMsg(ErrorMsg, tag="429", tag_field="TYPE", frozen=True):
    """TYPE 429: a connection or subscription quota was exceeded."""


class ServerErrorMsg(ErrorMsg, tag="500", tag_field="TYPE", frozen=True):
    """TYPE 500: a bad request, an invalid sub, or a forced disconnect."""


ServerFrame = Union[  # noqa: UP007 - msgspec needs a runtime union object
    TradeMsg,
    TickerMsg,
    IndexMsg,
    CandleMsg,
    TopOfBookMsg,
    FullVolumeMsg,
    TopTierVolumeMsg,
    BookDeltaMsg,
    BookSnapshotMsg,
    WelcomeMsg,
    SubscribeCompleteMsg,
    UnsubscribeCompleteMsg,
    LoadCompleteMsg,
    UnsubscribeAllCompleteMsg,
    HeartbeatMsg,
    UnauthorizedMsg,
    RateLimitMsg,
    ServerErrorMsg,
]

KNOWN_TYPES = frozenset({"0", "2", "5", "8", "9", "11", "16", "17", "18", "20", "21", "24", "3",
                         "30", "401", "429", "500", "999"})  # fmt: skip


class Envelope(msgspec.Struct, frozen=True):
    """Just the discriminator, to classify a frame that failed to decode."""

    TYPE: str | int | None = None


class SubRequest(msgspec.Struct, frozen=True):
    """A client action frame: ``{"action": "SubAdd"|"SubRemove", "subs": [...]}`` (§2)."""

    action: str
    subs: list[str]


FRAME_DECODER = msgspec.json.Decoder(ServerFrame, strict=False)
ENVELOPE_DECODER = msgspec.json.Decoder(Envelope)
REQUEST_ENCODER = msgspec.json.Encoder()
