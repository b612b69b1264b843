from proto.cryptowatch import client_pb2 as _client_pb2
from proto.cryptowatch import markets_pb2 as _markets_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StreamMessage(_message.Message):
    __slots__ = ("authenticationResult", "marketUpdate", "pairUpdate", "assetUpdate", "subscriptionResult", "unsubscriptionResult", "missedMessages", "indexUpdate", "bandwidthUpdate", "heartbeat", "bulkMessage", "gtsUpdate", "listingsUpdate", "nftCollectionUpdate")
    AUTHENTICATIONRESULT_FIELD_NUMBER: _ClassVar[int]
    MARKETUPDATE_FIELD_NUMBER: _ClassVar[int]
    PAIRUPDATE_FIELD_NUMBER: _ClassVar[int]
    ASSETUPDATE_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTIONRESULT_FIELD_NUMBER: _ClassVar[int]
    UNSUBSCRIPTIONRESULT_FIELD_NUMBER: _ClassVar[int]
    MISSEDMESSAGES_FIELD_NUMBER: _ClassVar[int]
    INDEXUPDATE_FIELD_NUMBER: _ClassVar[int]
    BANDWIDTHUPDATE_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    BULKMESSAGE_FIELD_NUMBER: _ClassVar[int]
    GTSUPDATE_FIELD_NUMBER: _ClassVar[int]
    LISTINGSUPDATE_FIELD_NUMBER: _ClassVar[int]
    NFTCOLLECTIONUPDATE_FIELD_NUMBER: _ClassVar[int]
    authenticationResult: AuthenticationResult
    marketUpdate: _markets_pb2.MarketUpdateMessage
    pairUpdate: _markets_pb2.PairUpdateMessage
    assetUpdate: _markets_pb2.AssetUpdateMessage
    subscriptionResult: SubscriptionResult
    unsubscriptionResult: UnsubscriptionResult
    missedMessages: MissedMessages
    indexUpdate: _markets_pb2.IndexUpdateMessage
    bandwidthUpdate: BandwidthUpdate
    heartbeat: Heartbeat
    bulkMessage: BulkMessage
    gtsUpdate: _markets_pb2.GTSeriesUpdateMessage
    listingsUpdate: ListingsUpdate
    nftCollectionUpdate: _markets_pb2.NFTCollectionStatsUpdateMessage
    def __init__(self, authenticationResult: _Optional[_Union[AuthenticationResult, _Mapping]] = ..., marketUpdate: _Optional[_Union[_markets_pb2.MarketUpdateMessage, _Mapping]] = ..., pairUpdate: _Optional[_Union[_markets_pb2.PairUpdateMessage, _Mapping]] = ..., assetUpdate: _Optional[_Union[_markets_pb2.AssetUpdateMessage, _Mapping]] = ..., subscriptionResult: _Optional[_Union[SubscriptionResult, _Mapping]] = ..., unsubscriptionResult: _Optional[_Union[UnsubscriptionResult, _Mapping]] = ..., missedMessages: _Optional[_Union[MissedMessages, _Mapping]] = ..., indexUpdate: _Optional[_Union[_markets_pb2.IndexUpdateMessage, _Mapping]] = ..., bandwidthUpdate: _Optional[_Union[BandwidthUpdate, _Mapping]] = ..., heartbeat: _Optional[_Union[Heartbeat, _Mapping]] = ..., bulkMessage: _Optional[_Union[BulkMessage, _Mapping]] = ..., gtsUpdate: _Optional[_Union[_markets_pb2.GTSeriesUpdateMessage, _Mapping]] = ..., listingsUpdate: _Optional[_Union[ListingsUpdate, _Mapping]] = ..., nftCollectionUpdate: _Optional[_Union[_markets_pb2.NFTCollectionStatsUpdateMessage, _Mapping]] = ...) -> None: ...

class AuthenticationResult(_message.Message):
    __slots__ = ("status",)
    class Status(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        UNKNOWN: _ClassVar[AuthenticationResult.Status]
        AUTHENTICATED: _ClassVar[AuthenticationResult.Status]
        BAD_NONCE: _ClassVar[AuthenticationResult.Status]
        BAD_TOKEN: _ClassVar[AuthenticationResult.Status]
        TOKEN_EXPIRED: _ClassVar[AuthenticationResult.Status]
        READONLY_KEY: _ClassVar[AuthenticationResult.Status]
        ACCESS_DENIED: _ClassVar[AuthenticationResult.Status]
        INVALID_PUBLIC_KEY: _ClassVar[AuthenticationResult.Status]
    UNKNOWN: AuthenticationResult.Status
    AUTHENTICATED: AuthenticationResult.Status
    BAD_NONCE: AuthenticationResult.Status
    BAD_TOKEN: AuthenticationResult.Status
    TOKEN_EXPIRED: AuthenticationResult.Status
    READONLY_KEY: AuthenticationResult.Status
    ACCESS_DENIED: AuthenticationResult.Status
    INVALID_PUBLIC_KEY: AuthenticationResult.Status
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: AuthenticationResult.Status
    def __init__(self, status: _Optional[_Union[AuthenticationResult.Status, str]] = ...) -> None: ...

class SubscriptionResult(_message.Message):
    __slots__ = ("subscribed", "failed", "status", "subscriptions")
    SUBSCRIBED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTIONS_FIELD_NUMBER: _ClassVar[int]
    subscribed: _containers.RepeatedScalarFieldContainer[str]
    failed: _containers.RepeatedCompositeFieldContainer[SubscribeError]
    status: SubscriptionStatus
    subscriptions: _containers.RepeatedCompositeFieldContainer[_client_pb2.ClientSubscription]
    def __init__(self, subscribed: _Optional[_Iterable[str]] = ..., failed: _Optional[_Iterable[_Union[SubscribeError, _Mapping]]] = ..., status: _Optional[_Union[SubscriptionStatus, _Mapping]] = ..., subscriptions: _Optional[_Iterable[_Union[_client_pb2.ClientSubscription, _Mapping]]] = ...) -> None: ...

class UnsubscriptionResult(_message.Message):
    __slots__ = ("unsubscribed", "failed", "status", "subscriptions")
    UNSUBSCRIBED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTIONS_FIELD_NUMBER: _ClassVar[int]
    unsubscribed: _containers.RepeatedScalarFieldContainer[str]
    failed: _containers.RepeatedCompositeFieldContainer[UnsubscribeError]
    status: SubscriptionStatus
    subscriptions: _containers.RepeatedCompositeFieldContainer[_client_pb2.ClientSubscription]
    def __init__(self, unsubscribed: _Optional[_Iterable[str]] = ..., failed: _Optional[_Iterable[_Union[UnsubscribeError, _Mapping]]] = ..., status: _Optional[_Union[SubscriptionStatus, _Mapping]] = ..., subscriptions: _Optional[_Iterable[_Union[_client_pb2.ClientSubscription, _Mapping]]] = ...) -> None: ...

class SubscribeError(_message.Message):
    __slots__ = ("key", "error", "subscription")
    KEY_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    key: str
    error: str
    subscription: _client_pb2.ClientSubscription
    def __init__(self, key: _Optional[str] = ..., error: _Optional[str] = ..., subscription: _Optional[_Union[_client_pb2.ClientSubscription, _Mapping]] = ...) -> None: ...

class UnsubscribeError(_message.Message):
    __slots__ = ("key", "error", "subscription")
    KEY_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    key: str
    error: str
    subscription: _client_pb2.ClientSubscription
    def __init__(self, key: _Optional[str] = ..., error: _Optional[str] = ..., subscription: _Optional[_Union[_client_pb2.ClientSubscription, _Mapping]] = ...) -> None: ...

class SubscriptionStatus(_message.Message):
    __slots__ = ("keys", "subscriptions")
    KEYS_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTIONS_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedScalarFieldContainer[str]
    subscriptions: _containers.RepeatedCompositeFieldContainer[_client_pb2.ClientSubscription]
    def __init__(self, keys: _Optional[_Iterable[str]] = ..., subscriptions: _Optional[_Iterable[_Union[_client_pb2.ClientSubscription, _Mapping]]] = ...) -> None: ...

class MissedMessages(_message.Message):
    __slots__ = ("numMissedMessages",)
    NUMMISSEDMESSAGES_FIELD_NUMBER: _ClassVar[int]
    numMissedMessages: int
    def __init__(self, numMissedMessages: _Optional[int] = ...) -> None: ...

class BandwidthUpdate(_message.Message):
    __slots__ = ("ok", "bytesRemaining", "bytesUsed")
    OK_FIELD_NUMBER: _ClassVar[int]
    BYTESREMAINING_FIELD_NUMBER: _ClassVar[int]
    BYTESUSED_FIELD_NUMBER: _ClassVar[int]
    ok: bool
    bytesRemaining: int
    bytesUsed: int
    def __init__(self, ok: _Optional[bool] = ..., bytesRemaining: _Optional[int] = ..., bytesUsed: _Optional[int] = ...) -> None: ...

class Heartbeat(_message.Message):
    __slots__ = ("time",)
    TIME_FIELD_NUMBER: _ClassVar[int]
    time: int
    def __init__(self, time: _Optional[int] = ...) -> None: ...

class BulkMessage(_message.Message):
    __slots__ = ("messages",)
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, messages: _Optional[_Iterable[bytes]] = ...) -> None: ...

class ListingsUpdate(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
