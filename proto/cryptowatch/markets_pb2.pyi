from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MarketUpdateMessage(_message.Message):
    __slots__ = ("market", "orderBookUpdate", "orderBookDeltaUpdate", "tradesUpdate", "intervalsUpdate", "summaryUpdate", "sparklineUpdate", "orderBookSpreadUpdate", "orderBookLiquidityUpdate")
    MARKET_FIELD_NUMBER: _ClassVar[int]
    ORDERBOOKUPDATE_FIELD_NUMBER: _ClassVar[int]
    ORDERBOOKDELTAUPDATE_FIELD_NUMBER: _ClassVar[int]
    TRADESUPDATE_FIELD_NUMBER: _ClassVar[int]
    INTERVALSUPDATE_FIELD_NUMBER: _ClassVar[int]
    SUMMARYUPDATE_FIELD_NUMBER: _ClassVar[int]
    SPARKLINEUPDATE_FIELD_NUMBER: _ClassVar[int]
    ORDERBOOKSPREADUPDATE_FIELD_NUMBER: _ClassVar[int]
    ORDERBOOKLIQUIDITYUPDATE_FIELD_NUMBER: _ClassVar[int]
    market: Market
    orderBookUpdate: OrderBookUpdate
    orderBookDeltaUpdate: OrderBookDeltaUpdate
    tradesUpdate: TradesUpdate
    intervalsUpdate: IntervalsUpdate
    summaryUpdate: SummaryUpdate
    sparklineUpdate: SparklineUpdate
    orderBookSpreadUpdate: OrderBookSpreadUpdate
    orderBookLiquidityUpdate: OrderBookLiquidityUpdate
    def __init__(self, market: _Optional[_Union[Market, _Mapping]] = ..., orderBookUpdate: _Optional[_Union[OrderBookUpdate, _Mapping]] = ..., orderBookDeltaUpdate: _Optional[_Union[OrderBookDeltaUpdate, _Mapping]] = ..., tradesUpdate: _Optional[_Union[TradesUpdate, _Mapping]] = ..., intervalsUpdate: _Optional[_Union[IntervalsUpdate, _Mapping]] = ..., summaryUpdate: _Optional[_Union[SummaryUpdate, _Mapping]] = ..., sparklineUpdate: _Optional[_Union[SparklineUpdate, _Mapping]] = ..., orderBookSpreadUpdate: _Optional[_Union[OrderBookSpreadUpdate, _Mapping]] = ..., orderBookLiquidityUpdate: _Optional[_Union[OrderBookLiquidityUpdate, _Mapping]] = ...) -> None: ...

class Market(_message.Message):
    __slots__ = ("exchange", "currencyPair", "exchangeId", "currencyPairId", "marketId")
    EXCHANGE_FIELD_NUMBER: _ClassVar[int]
    CURRENCYPAIR_FIELD_NUMBER: _ClassVar[int]
    EXCHANGEID_FIELD_NUMBER: _ClassVar[int]
    CURRENCYPAIRID_FIELD_NUMBER: _ClassVar[int]
    MARKETID_FIELD_NUMBER: _ClassVar[int]
    exchange: str
    currencyPair: str
    exchangeId: int
    currencyPairId: int
    marketId: int
    def __init__(self, exchange: _Optional[str] = ..., currencyPair: _Optional[str] = ..., exchangeId: _Optional[int] = ..., currencyPairId: _Optional[int] = ..., marketId: _Optional[int] = ...) -> None: ...

class Order(_message.Message):
    __slots__ = ("price", "amount", "priceStr", "amountStr")
    PRICE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    PRICESTR_FIELD_NUMBER: _ClassVar[int]
    AMOUNTSTR_FIELD_NUMBER: _ClassVar[int]
    price: float
    amount: float
    priceStr: str
    amountStr: str
    def __init__(self, price: _Optional[float] = ..., amount: _Optional[float] = ..., priceStr: _Optional[str] = ..., amountStr: _Optional[str] = ...) -> None: ...

class OrderBookUpdate(_message.Message):
    __slots__ = ("bids", "asks", "aggregationModulus", "aggregationModulusStr", "seqNum")
    BIDS_FIELD_NUMBER: _ClassVar[int]
    ASKS_FIELD_NUMBER: _ClassVar[int]
    AGGREGATIONMODULUS_FIELD_NUMBER: _ClassVar[int]
    AGGREGATIONMODULUSSTR_FIELD_NUMBER: _ClassVar[int]
    SEQNUM_FIELD_NUMBER: _ClassVar[int]
    bids: _containers.RepeatedCompositeFieldContainer[Order]
    asks: _containers.RepeatedCompositeFieldContainer[Order]
    aggregationModulus: float
    aggregationModulusStr: str
    seqNum: int
    def __init__(self, bids: _Optional[_Iterable[_Union[Order, _Mapping]]] = ..., asks: _Optional[_Iterable[_Union[Order, _Mapping]]] = ..., aggregationModulus: _Optional[float] = ..., aggregationModulusStr: _Optional[str] = ..., seqNum: _Optional[int] = ...) -> None: ...

class OrderBookDeltaUpdate(_message.Message):
    __slots__ = ("bids", "asks", "aggregationModulus", "aggregationModulusStr", "seqNum")
    class OrderDeltas(_message.Message):
        __slots__ = ("set", "delta", "remove", "removeStr")
        SET_FIELD_NUMBER: _ClassVar[int]
        DELTA_FIELD_NUMBER: _ClassVar[int]
        REMOVE_FIELD_NUMBER: _ClassVar[int]
        REMOVESTR_FIELD_NUMBER: _ClassVar[int]
        set: _containers.RepeatedCompositeFieldContainer[Order]
        delta: _containers.RepeatedCompositeFieldContainer[Order]
        remove: _containers.RepeatedScalarFieldContainer[float]
        removeStr: _containers.RepeatedScalarFieldContainer[str]
        def __init__(self, set: _Optional[_Iterable[_Union[Order, _Mapping]]] = ..., delta: _Optional[_Iterable[_Union[Order, _Mapping]]] = ..., remove: _Optional[_Iterable[float]] = ..., removeStr: _Optional[_Iterable[str]] = ...) -> None: ...
    BIDS_FIELD_NUMBER: _ClassVar[int]
    ASKS_FIELD_NUMBER: _ClassVar[int]
    AGGREGATIONMODULUS_FIELD_NUMBER: _ClassVar[int]
    AGGREGATIONMODULUSSTR_FIELD_NUMBER: _ClassVar[int]
    SEQNUM_FIELD_NUMBER: _ClassVar[int]
    bids: OrderBookDeltaUpdate.OrderDeltas
    asks: OrderBookDeltaUpdate.OrderDeltas
    aggregationModulus: float
    aggregationModulusStr: str
    seqNum: int
    def __init__(self, bids: _Optional[_Union[OrderBookDeltaUpdate.OrderDeltas, _Mapping]] = ..., asks: _Optional[_Union[OrderBookDeltaUpdate.OrderDeltas, _Mapping]] = ..., aggregationModulus: _Optional[float] = ..., aggregationModulusStr: _Optional[str] = ..., seqNum: _Optional[int] = ...) -> None: ...

class OrderBookSpreadUpdate(_message.Message):
    __slots__ = ("timestamp", "bid", "ask")
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    BID_FIELD_NUMBER: _ClassVar[int]
    ASK_FIELD_NUMBER: _ClassVar[int]
    timestamp: int
    bid: Order
    ask: Order
    def __init__(self, timestamp: _Optional[int] = ..., bid: _Optional[_Union[Order, _Mapping]] = ..., ask: _Optional[_Union[Order, _Mapping]] = ...) -> None: ...

class OrderBookLiquidityUpdate(_message.Message):
    __slots__ = ("timestamp", "bid", "ask")
    class Sum(_message.Message):
        __slots__ = ("totalBase", "totalQuote")
        TOTALBASE_FIELD_NUMBER: _ClassVar[int]
        TOTALQUOTE_FIELD_NUMBER: _ClassVar[int]
        totalBase: str
        totalQuote: str
        def __init__(self, totalBase: _Optional[str] = ..., totalQuote: _Optional[str] = ...) -> None: ...
    class Side(_message.Message):
        __slots__ = ("bip25", "bip50", "bip75", "bip100", "bip150", "bip200", "bip250", "bip300", "bip400", "bip500")
        BIP25_FIELD_NUMBER: _ClassVar[int]
        BIP50_FIELD_NUMBER: _ClassVar[int]
        BIP75_FIELD_NUMBER: _ClassVar[int]
        BIP100_FIELD_NUMBER: _ClassVar[int]
        BIP150_FIELD_NUMBER: _ClassVar[int]
        BIP200_FIELD_NUMBER: _ClassVar[int]
        BIP250_FIELD_NUMBER: _ClassVar[int]
        BIP300_FIELD_NUMBER: _ClassVar[int]
        BIP400_FIELD_NUMBER: _ClassVar[int]
        BIP500_FIELD_NUMBER: _ClassVar[int]
        bip25: OrderBookLiquidityUpdate.Sum
        bip50: OrderBookLiquidityUpdate.Sum
        bip75: OrderBookLiquidityUpdate.Sum
        bip100: OrderBookLiquidityUpdate.Sum
        bip150: OrderBookLiquidityUpdate.Sum
        bip200: OrderBookLiquidityUpdate.Sum
        bip250: OrderBookLiquidityUpdate.Sum
        bip300: OrderBookLiquidityUpdate.Sum
        bip400: OrderBookLiquidityUpdate.Sum
        bip500: OrderBookLiquidityUpdate.Sum
        def __init__(self, bip25: _Optional[_Union[OrderBookLiquidityUpdate.Sum, _Mapping]] = ..., bip50: _Optional[_Union[OrderBookLiquidityUpdate.Sum, _Mapping]] = ..., bip75: _Optional[_Union[OrderBookLiquidityUpdate.Sum, _Mapping]] = ..., bip100: _Optional[_Union[OrderBookLiquidityUpdate.Sum, _Mapping]] = ..., bip150: _Optional[_Union[OrderBookLiquidityUpdate.Sum, _Mapping]] = ..., bip200: _Optional[_Union[OrderBookLiquidityUpdate.Sum, _Mapping]] = ..., bip250: _Optional[_Union[OrderBookLiquidityUpdate.Sum, _Mapping]] = ..., bip300: _Optional[_Union[OrderBookLiquidityUpdate.Sum, _Mapping]] = ..., bip400: _Optional[_Union[OrderBookLiquidityUpdate.Sum, _Mapping]] = ..., bip500: _Optional[_Union[OrderBookLiquidityUpdate.Sum, _Mapping]] = ...) -> None: ...
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    BID_FIELD_NUMBER: _ClassVar[int]
    ASK_FIELD_NUMBER: _ClassVar[int]
    timestamp: int
    bid: OrderBookLiquidityUpdate.Side
    ask: OrderBookLiquidityUpdate.Side
    def __init__(self, timestamp: _Optional[int] = ..., bid: _Optional[_Union[OrderBookLiquidityUpdate.Side, _Mapping]] = ..., ask: _Optional[_Union[OrderBookLiquidityUpdate.Side, _Mapping]] = ...) -> None: ...

class TradesUpdate(_message.Message):
    __slots__ = ("trades",)
    TRADES_FIELD_NUMBER: _ClassVar[int]
    trades: _containers.RepeatedCompositeFieldContainer[Trade]
    def __init__(self, trades: _Optional[_Iterable[_Union[Trade, _Mapping]]] = ...) -> None: ...

class Trade(_message.Message):
    __slots__ = ("id", "timestamp", "price", "amount", "timestampMillis", "priceDouble", "amountDouble", "priceStr", "amountStr", "timestampNano", "externalId", "orderSide", "amountQuoteStr", "amountBaseStr", "amountContractsStr", "amountSettlementStr", "amountUSDStr")
    class OrderSide(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        UNKNOWN: _ClassVar[Trade.OrderSide]
        BUYSIDE: _ClassVar[Trade.OrderSide]
        SELLSIDE: _ClassVar[Trade.OrderSide]
    UNKNOWN: Trade.OrderSide
    BUYSIDE: Trade.OrderSide
    SELLSIDE: Trade.OrderSide
    class Side(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        BUY: _ClassVar[Trade.Side]
        SELL: _ClassVar[Trade.Side]
    BUY: Trade.Side
    SELL: Trade.Side
    ID_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMPMILLIS_FIELD_NUMBER: _ClassVar[int]
    PRICEDOUBLE_FIELD_NUMBER: _ClassVar[int]
    AMOUNTDOUBLE_FIELD_NUMBER: _ClassVar[int]
    PRICESTR_FIELD_NUMBER: _ClassVar[int]
    AMOUNTSTR_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMPNANO_FIELD_NUMBER: _ClassVar[int]
    EXTERNALID_FIELD_NUMBER: _ClassVar[int]
    ORDERSIDE_FIELD_NUMBER: _ClassVar[int]
    AMOUNTQUOTESTR_FIELD_NUMBER: _ClassVar[int]
    AMOUNTBASESTR_FIELD_NUMBER: _ClassVar[int]
    AMOUNTCONTRACTSSTR_FIELD_NUMBER: _ClassVar[int]
    AMOUNTSETTLEMENTSTR_FIELD_NUMBER: _ClassVar[int]
    AMOUNTUSDSTR_FIELD_NUMBER: _ClassVar[int]
    id: int
    timestamp: int
    price: float
    amount: float
    timestampMillis: int
    priceDouble: float
    amountDouble: float
    priceStr: str
    amountStr: str
    timestampNano: int
    externalId: str
    orderSide: Trade.OrderSide
    amountQuoteStr: str
    amountBaseStr: str
    amountContractsStr: str
    amountSettlementStr: str
    amountUSDStr: str
    def __init__(self, id: _Optional[int] = ..., timestamp: _Optional[int] = ..., price: _Optional[float] = ..., amount: _Optional[float] = ..., timestampMillis: _Optional[int] = ..., priceDouble: _Optional[float] = ..., amountDouble: _Optional[float] = ..., priceStr: _Optional[str] = ..., amountStr: _Optional[str] = ..., timestampNano: _Optional[int] = ..., externalId: _Optional[str] = ..., orderSide: _Optional[_Union[Trade.OrderSide, str]] = ..., amountQuoteStr: _Optional[str] = ..., amountBaseStr: _Optional[str] = ..., amountContractsStr: _Optional[str] = ..., amountSettlementStr: _Optional[str] = ..., amountUSDStr: _Optional[str] = ...) -> None: ...

class IntervalsUpdate(_message.Message):
    __slots__ = ("intervals",)
    INTERVALS_FIELD_NUMBER: _ClassVar[int]
    intervals: _containers.RepeatedCompositeFieldContainer[Interval]
    def __init__(self, intervals: _Optional[_Iterable[_Union[Interval, _Mapping]]] = ...) -> None: ...

class Interval(_message.Message):
    __slots__ = ("closetime", "ohlc", "volumeBase", "period", "volumeQuote", "volumeBaseStr", "volumeQuoteStr", "periodName", "opentime", "label", "openInterestStr", "volumeBaseStrV2", "volumeContractsStr", "volumeSettlementStr", "volumeUSDStr")
    class OHLC(_message.Message):
        __slots__ = ("open", "high", "low", "close", "openStr", "highStr", "lowStr", "closeStr")
        OPEN_FIELD_NUMBER: _ClassVar[int]
        HIGH_FIELD_NUMBER: _ClassVar[int]
        LOW_FIELD_NUMBER: _ClassVar[int]
        CLOSE_FIELD_NUMBER: _ClassVar[int]
        OPENSTR_FIELD_NUMBER: _ClassVar[int]
        HIGHSTR_FIELD_NUMBER: _ClassVar[int]
        LOWSTR_FIELD_NUMBER: _ClassVar[int]
        CLOSESTR_FIELD_NUMBER: _ClassVar[int]
        open: float
        high: float
        low: float
        close: float
        openStr: str
        highStr: str
        lowStr: str
        closeStr: str
        def __init__(self, open: _Optional[float] = ..., high: _Optional[float] = ..., low: _Optional[float] = ..., close: _Optional[float] = ..., openStr: _Optional[str] = ..., highStr: _Optional[str] = ..., lowStr: _Optional[str] = ..., closeStr: _Optional[str] = ...) -> None: ...
    CLOSETIME_FIELD_NUMBER: _ClassVar[int]
    OHLC_FIELD_NUMBER: _ClassVar[int]
    VOLUMEBASE_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    VOLUMEQUOTE_FIELD_NUMBER: _ClassVar[int]
    VOLUMEBASESTR_FIELD_NUMBER: _ClassVar[int]
    VOLUMEQUOTESTR_FIELD_NUMBER: _ClassVar[int]
    PERIODNAME_FIELD_NUMBER: _ClassVar[int]
    OPENTIME_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    OPENINTERESTSTR_FIELD_NUMBER: _ClassVar[int]
    VOLUMEBASESTRV2_FIELD_NUMBER: _ClassVar[int]
    VOLUMECONTRACTSSTR_FIELD_NUMBER: _ClassVar[int]
    VOLUMESETTLEMENTSTR_FIELD_NUMBER: _ClassVar[int]
    VOLUMEUSDSTR_FIELD_NUMBER: _ClassVar[int]
    closetime: int
    ohlc: Interval.OHLC
    volumeBase: float
    period: int
    volumeQuote: float
    volumeBaseStr: str
    volumeQuoteStr: str
    periodName: str
    opentime: int
    label: str
    openInterestStr: str
    volumeBaseStrV2: str
    volumeContractsStr: str
    volumeSettlementStr: str
    volumeUSDStr: str
    def __init__(self, closetime: _Optional[int] = ..., ohlc: _Optional[_Union[Interval.OHLC, _Mapping]] = ..., volumeBase: _Optional[float] = ..., period: _Optional[int] = ..., volumeQuote: _Optional[float] = ..., volumeBaseStr: _Optional[str] = ..., volumeQuoteStr: _Optional[str] = ..., periodName: _Optional[str] = ..., opentime: _Optional[int] = ..., label: _Optional[str] = ..., openInterestStr: _Optional[str] = ..., volumeBaseStrV2: _Optional[str] = ..., volumeContractsStr: _Optional[str] = ..., volumeSettlementStr: _Optional[str] = ..., volumeUSDStr: _Optional[str] = ...) -> None: ...

class SummaryUpdate(_message.Message):
    __slots__ = ("last", "high", "low", "volumeBase", "changeAbsolute", "changePercent", "numTrades", "volumeQuote", "lastStr", "highStr", "lowStr", "volumeBaseStr", "volumeQuoteStr", "changeAbsoluteStr", "changePercentStr", "openInterestStr", "volumeBaseStrV2", "volumeContractsStr", "volumeSettlementStr", "volumeUSDStr")
    LAST_FIELD_NUMBER: _ClassVar[int]
    HIGH_FIELD_NUMBER: _ClassVar[int]
    LOW_FIELD_NUMBER: _ClassVar[int]
    VOLUMEBASE_FIELD_NUMBER: _ClassVar[int]
    CHANGEABSOLUTE_FIELD_NUMBER: _ClassVar[int]
    CHANGEPERCENT_FIELD_NUMBER: _ClassVar[int]
    NUMTRADES_FIELD_NUMBER: _ClassVar[int]
    VOLUMEQUOTE_FIELD_NUMBER: _ClassVar[int]
    LASTSTR_FIELD_NUMBER: _ClassVar[int]
    HIGHSTR_FIELD_NUMBER: _ClassVar[int]
    LOWSTR_FIELD_NUMBER: _ClassVar[int]
    VOLUMEBASESTR_FIELD_NUMBER: _ClassVar[int]
    VOLUMEQUOTESTR_FIELD_NUMBER: _ClassVar[int]
    CHANGEABSOLUTESTR_FIELD_NUMBER: _ClassVar[int]
    CHANGEPERCENTSTR_FIELD_NUMBER: _ClassVar[int]
    OPENINTERESTSTR_FIELD_NUMBER: _ClassVar[int]
    VOLUMEBASESTRV2_FIELD_NUMBER: _ClassVar[int]
    VOLUMECONTRACTSSTR_FIELD_NUMBER: _ClassVar[int]
    VOLUMESETTLEMENTSTR_FIELD_NUMBER: _ClassVar[int]
    VOLUMEUSDSTR_FIELD_NUMBER: _ClassVar[int]
    last: float
    high: float
    low: float
    volumeBase: float
    changeAbsolute: float
    changePercent: float
    numTrades: int
    volumeQuote: float
    lastStr: str
    highStr: str
    lowStr: str
    volumeBaseStr: str
    volumeQuoteStr: str
    changeAbsoluteStr: str
    changePercentStr: str
    openInterestStr: str
    volumeBaseStrV2: str
    volumeContractsStr: str
    volumeSettlementStr: str
    volumeUSDStr: str
    def __init__(self, last: _Optional[float] = ..., high: _Optional[float] = ..., low: _Optional[float] = ..., volumeBase: _Optional[float] = ..., changeAbsolute: _Optional[float] = ..., changePercent: _Optional[float] = ..., numTrades: _Optional[int] = ..., volumeQuote: _Optional[float] = ..., lastStr: _Optional[str] = ..., highStr: _Optional[str] = ..., lowStr: _Optional[str] = ..., volumeBaseStr: _Optional[str] = ..., volumeQuoteStr: _Optional[str] = ..., changeAbsoluteStr: _Optional[str] = ..., changePercentStr: _Optional[str] = ..., openInterestStr: _Optional[str] = ..., volumeBaseStrV2: _Optional[str] = ..., volumeContractsStr: _Optional[str] = ..., volumeSettlementStr: _Optional[str] = ..., volumeUSDStr: _Optional[str] = ...) -> None: ...

class SparklineUpdate(_message.Message):
    __slots__ = ("time", "price", "priceStr")
    TIME_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    PRICESTR_FIELD_NUMBER: _ClassVar[int]
    time: int
    price: float
    priceStr: str
    def __init__(self, time: _Optional[int] = ..., price: _Optional[float] = ..., priceStr: _Optional[str] = ...) -> None: ...

class PairUpdateMessage(_message.Message):
    __slots__ = ("pair", "vwapUpdate", "performanceUpdate", "trendlineUpdate")
    PAIR_FIELD_NUMBER: _ClassVar[int]
    VWAPUPDATE_FIELD_NUMBER: _ClassVar[int]
    PERFORMANCEUPDATE_FIELD_NUMBER: _ClassVar[int]
    TRENDLINEUPDATE_FIELD_NUMBER: _ClassVar[int]
    pair: int
    vwapUpdate: PairVwapUpdate
    performanceUpdate: PairPerformanceUpdate
    trendlineUpdate: PairTrendlineUpdate
    def __init__(self, pair: _Optional[int] = ..., vwapUpdate: _Optional[_Union[PairVwapUpdate, _Mapping]] = ..., performanceUpdate: _Optional[_Union[PairPerformanceUpdate, _Mapping]] = ..., trendlineUpdate: _Optional[_Union[PairTrendlineUpdate, _Mapping]] = ...) -> None: ...

class PairVwapUpdate(_message.Message):
    __slots__ = ("vwap", "timestamp", "timestampNano")
    VWAP_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMPNANO_FIELD_NUMBER: _ClassVar[int]
    vwap: float
    timestamp: int
    timestampNano: int
    def __init__(self, vwap: _Optional[float] = ..., timestamp: _Optional[int] = ..., timestampNano: _Optional[int] = ...) -> None: ...

class PairPerformanceUpdate(_message.Message):
    __slots__ = ("window", "performance")
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    PERFORMANCE_FIELD_NUMBER: _ClassVar[int]
    window: str
    performance: float
    def __init__(self, window: _Optional[str] = ..., performance: _Optional[float] = ...) -> None: ...

class PairTrendlineUpdate(_message.Message):
    __slots__ = ("window", "time", "price", "volume")
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    window: str
    time: int
    price: str
    volume: str
    def __init__(self, window: _Optional[str] = ..., time: _Optional[int] = ..., price: _Optional[str] = ..., volume: _Optional[str] = ...) -> None: ...

class AssetUpdateMessage(_message.Message):
    __slots__ = ("asset", "usdVolumeUpdate")
    ASSET_FIELD_NUMBER: _ClassVar[int]
    USDVOLUMEUPDATE_FIELD_NUMBER: _ClassVar[int]
    asset: int
    usdVolumeUpdate: AssetUSDVolumeUpdate
    def __init__(self, asset: _Optional[int] = ..., usdVolumeUpdate: _Optional[_Union[AssetUSDVolumeUpdate, _Mapping]] = ...) -> None: ...

class AssetUSDVolumeUpdate(_message.Message):
    __slots__ = ("volume",)
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    volume: str
    def __init__(self, volume: _Optional[str] = ...) -> None: ...

class IndexUpdateMessage(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GTSeriesUpdateMessage(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class NFTCollectionStatsUpdateMessage(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
