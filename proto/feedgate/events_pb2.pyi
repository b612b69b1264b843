from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Event(_message.Message):
    __slots__ = ("topic", "source", "exchange", "base", "quote", "ts", "recv_ts", "trade", "ticker", "index", "ohlc", "spread", "volume", "summary", "book", "gap", "status")
    TOPIC_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    EXCHANGE_FIELD_NUMBER: _ClassVar[int]
    BASE_FIELD_NUMBER: _ClassVar[int]
    QUOTE_FIELD_NUMBER: _ClassVar[int]
    TS_FIELD_NUMBER: _ClassVar[int]
    RECV_TS_FIELD_NUMBER: _ClassVar[int]
    TRADE_FIELD_NUMBER: _ClassVar[int]
    TICKER_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    OHLC_FIELD_NUMBER: _ClassVar[int]
    SPREAD_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    BOOK_FIELD_NUMBER: _ClassVar[int]
    GAP_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    topic: str
    source: str
    exchange: str
    base: str
    quote: str
    ts: int
    recv_ts: int
    trade: Trade
    ticker: Ticker
    index: Ticker
    ohlc: Candle
    spread: Spread
    volume: Volume
    summary: Summary
    book: Book
    gap: Gap
    status: Status
    def __init__(self, topic: _Optional[str] = ..., source: _Optional[str] = ..., exchange: _Optional[str] = ..., base: _Optional[str] = ..., quote: _Optional[str] = ..., ts: _Optional[int] = ..., recv_ts: _Optional[int] = ..., trade: _Optional[_Union[Trade, _Mapping]] = ..., ticker: _Optional[_Union[Ticker, _Mapping]] = ..., index: _Optional[_Union[Ticker, _Mapping]] = ..., ohlc: _Optional[_Union[Candle, _Mapping]] = ..., spread: _Optional[_Union[Spread, _Mapping]] = ..., volume: _Optional[_Union[Volume, _Mapping]] = ..., summary: _Optional[_Union[Summary, _Mapping]] = ..., book: _Optional[_Union[Book, _Mapping]] = ..., gap: _Optional[_Union[Gap, _Mapping]] = ..., status: _Optional[_Union[Status, _Mapping]] = ...) -> None: ...

class Trade(_message.Message):
    __slots__ = ("price", "amount", "side", "id", "seq", "reversed")
    PRICE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    REVERSED_FIELD_NUMBER: _ClassVar[int]
    price: str
    amount: str
    side: str
    id: str
    seq: int
    reversed: bool
    def __init__(self, price: _Optional[str] = ..., amount: _Optional[str] = ..., side: _Optional[str] = ..., id: _Optional[str] = ..., seq: _Optional[int] = ..., reversed: _Optional[bool] = ...) -> None: ...

class Ticker(_message.Message):
    __slots__ = ("flags", "price_dir", "bid_dir", "ask_dir", "median_dir", "price", "bid", "ask", "last_volume", "last_volume_quote", "last_trade_id", "volume_day", "volume_day_quote", "volume_24h", "volume_24h_quote", "open_day", "high_day", "low_day", "open_24h", "high_24h", "low_24h", "volume_hour", "volume_hour_quote", "open_hour", "high_hour", "low_hour", "median", "last_market", "top_tier_volume_24h", "top_tier_volume_24h_quote", "current_supply", "circulating_supply", "max_supply", "mktcap_penalty", "current_supply_mktcap", "circulating_supply_mktcap", "max_supply_mktcap")
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    PRICE_DIR_FIELD_NUMBER: _ClassVar[int]
    BID_DIR_FIELD_NUMBER: _ClassVar[int]
    ASK_DIR_FIELD_NUMBER: _ClassVar[int]
    MEDIAN_DIR_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    BID_FIELD_NUMBER: _ClassVar[int]
    ASK_FIELD_NUMBER: _ClassVar[int]
    LAST_VOLUME_FIELD_NUMBER: _ClassVar[int]
    LAST_VOLUME_QUOTE_FIELD_NUMBER: _ClassVar[int]
    LAST_TRADE_ID_FIELD_NUMBER: _ClassVar[int]
    VOLUME_DAY_FIELD_NUMBER: _ClassVar[int]
    VOLUME_DAY_QUOTE_FIELD_NUMBER: _ClassVar[int]
    VOLUME_24H_FIELD_NUMBER: _ClassVar[int]
    VOLUME_24H_QUOTE_FIELD_NUMBER: _ClassVar[int]
    OPEN_DAY_FIELD_NUMBER: _ClassVar[int]
    HIGH_DAY_FIELD_NUMBER: _ClassVar[int]
    LOW_DAY_FIELD_NUMBER: _ClassVar[int]
    OPEN_24H_FIELD_NUMBER: _ClassVar[int]
    HIGH_24H_FIELD_NUMBER: _ClassVar[int]
    LOW_24H_FIELD_NUMBER: _ClassVar[int]
    VOLUME_HOUR_FIELD_NUMBER: _ClassVar[int]
    VOLUME_HOUR_QUOTE_FIELD_NUMBER: _ClassVar[int]
    OPEN_HOUR_FIELD_NUMBER: _ClassVar[int]
    HIGH_HOUR_FIELD_NUMBER: _ClassVar[int]
    LOW_HOUR_FIELD_NUMBER: _ClassVar[int]
    MEDIAN_FIELD_NUMBER: _ClassVar[int]
    LAST_MARKET_FIELD_NUMBER: _ClassVar[int]
    TOP_TIER_VOLUME_24H_FIELD_NUMBER: _ClassVar[int]
    TOP_TIER_VOLUME_24H_QUOTE_FIELD_NUMBER: _ClassVar[int]
    CURRENT_SUPPLY_FIELD_NUMBER: _ClassVar[int]
    CIRCULATING_SUPPLY_FIELD_NUMBER: _ClassVar[int]
    MAX_SUPPLY_FIELD_NUMBER: _ClassVar[int]
    MKTCAP_PENALTY_FIELD_NUMBER: _ClassVar[int]
    CURRENT_SUPPLY_MKTCAP_FIELD_NUMBER: _ClassVar[int]
    CIRCULATING_SUPPLY_MKTCAP_FIELD_NUMBER: _ClassVar[int]
    MAX_SUPPLY_MKTCAP_FIELD_NUMBER: _ClassVar[int]
    flags: int
    price_dir: str
    bid_dir: str
    ask_dir: str
    median_dir: str
    price: str
    bid: str
    ask: str
    last_volume: str
    last_volume_quote: str
    last_trade_id: str
    volume_day: str
    volume_day_quote: str
    volume_24h: str
    volume_24h_quote: str
    open_day: str
    high_day: str
    low_day: str
    open_24h: str
    high_24h: str
    low_24h: str
    volume_hour: str
    volume_hour_quote: str
    open_hour: str
    high_hour: str
    low_hour: str
    median: str
    last_market: str
    top_tier_volume_24h: str
    top_tier_volume_24h_quote: str
    current_supply: str
    circulating_supply: str
    max_supply: str
    mktcap_penalty: str
    current_supply_mktcap: str
    circulating_supply_mktcap: str
    max_supply_mktcap: str
    def __init__(self, flags: _Optional[int] = ..., price_dir: _Optional[str] = ..., bid_dir: _Optional[str] = ..., ask_dir: _Optional[str] = ..., median_dir: _Optional[str] = ..., price: _Optional[str] = ..., bid: _Optional[str] = ..., ask: _Optional[str] = ..., last_volume: _Optional[str] = ..., last_volume_quote: _Optional[str] = ..., last_trade_id: _Optional[str] = ..., volume_day: _Optional[str] = ..., volume_day_quote: _Optional[str] = ..., volume_24h: _Optional[str] = ..., volume_24h_quote: _Optional[str] = ..., open_day: _Optional[str] = ..., high_day: _Optional[str] = ..., low_day: _Optional[str] = ..., open_24h: _Optional[str] = ..., high_24h: _Optional[str] = ..., low_24h: _Optional[str] = ..., volume_hour: _Optional[str] = ..., volume_hour_quote: _Optional[str] = ..., open_hour: _Optional[str] = ..., high_hour: _Optional[str] = ..., low_hour: _Optional[str] = ..., median: _Optional[str] = ..., last_market: _Optional[str] = ..., top_tier_volume_24h: _Optional[str] = ..., top_tier_volume_24h_quote: _Optional[str] = ..., current_supply: _Optional[str] = ..., circulating_supply: _Optional[str] = ..., max_supply: _Optional[str] = ..., mktcap_penalty: _Optional[str] = ..., current_supply_mktcap: _Optional[str] = ..., circulating_supply_mktcap: _Optional[str] = ..., max_supply_mktcap: _Optional[str] = ...) -> None: ...

class Candle(_message.Message):
    __slots__ = ("interval", "open", "high", "low", "close", "volume", "volume_quote", "trades", "first_ts", "last_ts", "first_price", "max_price", "min_price", "last_price")
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    OPEN_FIELD_NUMBER: _ClassVar[int]
    HIGH_FIELD_NUMBER: _ClassVar[int]
    LOW_FIELD_NUMBER: _ClassVar[int]
    CLOSE_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    VOLUME_QUOTE_FIELD_NUMBER: _ClassVar[int]
    TRADES_FIELD_NUMBER: _ClassVar[int]
    FIRST_TS_FIELD_NUMBER: _ClassVar[int]
    LAST_TS_FIELD_NUMBER: _ClassVar[int]
    FIRST_PRICE_FIELD_NUMBER: _ClassVar[int]
    MAX_PRICE_FIELD_NUMBER: _ClassVar[int]
    MIN_PRICE_FIELD_NUMBER: _ClassVar[int]
    LAST_PRICE_FIELD_NUMBER: _ClassVar[int]
    interval: str
    open: str
    high: str
    low: str
    close: str
    volume: str
    volume_quote: str
    trades: int
    first_ts: int
    last_ts: int
    first_price: str
    max_price: str
    min_price: str
    last_price: str
    def __init__(self, interval: _Optional[str] = ..., open: _Optional[str] = ..., high: _Optional[str] = ..., low: _Optional[str] = ..., close: _Optional[str] = ..., volume: _Optional[str] = ..., volume_quote: _Optional[str] = ..., trades: _Optional[int] = ..., first_ts: _Optional[int] = ..., last_ts: _Optional[int] = ..., first_price: _Optional[str] = ..., max_price: _Optional[str] = ..., min_price: _Optional[str] = ..., last_price: _Optional[str] = ...) -> None: ...

class Spread(_message.Message):
    __slots__ = ("bid", "bid_size", "ask", "ask_size", "seq")
    BID_FIELD_NUMBER: _ClassVar[int]
    BID_SIZE_FIELD_NUMBER: _ClassVar[int]
    ASK_FIELD_NUMBER: _ClassVar[int]
    ASK_SIZE_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    bid: str
    bid_size: str
    ask: str
    ask_size: str
    seq: int
    def __init__(self, bid: _Optional[str] = ..., bid_size: _Optional[str] = ..., ask: _Optional[str] = ..., ask_size: _Optional[str] = ..., seq: _Optional[int] = ...) -> None: ...

class Volume(_message.Message):
    __slots__ = ("scope", "volume")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    scope: str
    volume: str
    def __init__(self, scope: _Optional[str] = ..., volume: _Optional[str] = ...) -> None: ...

class Summary(_message.Message):
    __slots__ = ("last", "high", "low", "volume", "volume_quote", "change_absolute", "change_percent", "trades")
    LAST_FIELD_NUMBER: _ClassVar[int]
    HIGH_FIELD_NUMBER: _ClassVar[int]
    LOW_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    VOLUME_QUOTE_FIELD_NUMBER: _ClassVar[int]
    CHANGE_ABSOLUTE_FIELD_NUMBER: _ClassVar[int]
    CHANGE_PERCENT_FIELD_NUMBER: _ClassVar[int]
    TRADES_FIELD_NUMBER: _ClassVar[int]
    last: str
    high: str
    low: str
    volume: str
    volume_quote: str
    change_absolute: str
    change_percent: str
    trades: int
    def __init__(self, last: _Optional[str] = ..., high: _Optional[str] = ..., low: _Optional[str] = ..., volume: _Optional[str] = ..., volume_quote: _Optional[str] = ..., change_absolute: _Optional[str] = ..., change_percent: _Optional[str] = ..., trades: _Optional[int] = ...) -> None: ...

class Book(_message.Message):
    __slots__ = ("action", "seq", "prev_seq", "bids", "asks")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    PREV_SEQ_FIELD_NUMBER: _ClassVar[int]
    BIDS_FIELD_NUMBER: _ClassVar[int]
    ASKS_FIELD_NUMBER: _ClassVar[int]
    action: str
    seq: int
    prev_seq: int
    bids: str
    asks: str
    def __init__(self, action: _Optional[str] = ..., seq: _Optional[int] = ..., prev_seq: _Optional[int] = ..., bids: _Optional[str] = ..., asks: _Optional[str] = ...) -> None: ...

class Gap(_message.Message):
    __slots__ = ("reason", "from_ts", "to_ts", "dropped")
    REASON_FIELD_NUMBER: _ClassVar[int]
    FROM_TS_FIELD_NUMBER: _ClassVar[int]
    TO_TS_FIELD_NUMBER: _ClassVar[int]
    DROPPED_FIELD_NUMBER: _ClassVar[int]
    reason: str
    from_ts: int
    to_ts: int
    dropped: int
    def __init__(self, reason: _Optional[str] = ..., from_ts: _Optional[int] = ..., to_ts: _Optional[int] = ..., dropped: _Optional[int] = ...) -> None: ...

class Status(_message.Message):
    __slots__ = ("state", "code", "message", "subject")
    STATE_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    state: str
    code: str
    message: str
    subject: str
    def __init__(self, state: _Optional[str] = ..., code: _Optional[str] = ..., message: _Optional[str] = ..., subject: _Optional[str] = ...) -> None: ...
