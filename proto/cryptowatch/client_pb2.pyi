from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ClientMessage(_message.Message):
    __slots__ = ("identification", "subscribe", "unsubscribe", "webAuthentication", "apiAuthentication", "clientSession")
    IDENTIFICATION_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIBE_FIELD_NUMBER: _ClassVar[int]
    UNSUBSCRIBE_FIELD_NUMBER: _ClassVar[int]
    WEBAUTHENTICATION_FIELD_NUMBER: _ClassVar[int]
    APIAUTHENTICATION_FIELD_NUMBER: _ClassVar[int]
    CLIENTSESSION_FIELD_NUMBER: _ClassVar[int]
    identification: ClientIdentificationMessage
    subscribe: ClientSubscribeMessage
    unsubscribe: ClientUnsubscribeMessage
    webAuthentication: WebAuthenticationMessage
    apiAuthentication: APIAuthenticationMessage
    clientSession: ClientSessionMessage
    def __init__(self, identification: _Optional[_Union[ClientIdentificationMessage, _Mapping]] = ..., subscribe: _Optional[_Union[ClientSubscribeMessage, _Mapping]] = ..., unsubscribe: _Optional[_Union[ClientUnsubscribeMessage, _Mapping]] = ..., webAuthentication: _Optional[_Union[WebAuthenticationMessage, _Mapping]] = ..., apiAuthentication: _Optional[_Union[APIAuthenticationMessage, _Mapping]] = ..., clientSession: _Optional[_Union[ClientSessionMessage, _Mapping]] = ...) -> None: ...

class ClientIdentificationMessage(_message.Message):
    __slots__ = ("useragent", "revision", "integration", "locale", "subscriptions", "clientSubscriptions")
    USERAGENT_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    INTEGRATION_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTIONS_FIELD_NUMBER: _ClassVar[int]
    CLIENTSUBSCRIPTIONS_FIELD_NUMBER: _ClassVar[int]
    useragent: str
    revision: str
    integration: str
    locale: str
    subscriptions: _containers.RepeatedScalarFieldContainer[str]
    clientSubscriptions: _containers.RepeatedCompositeFieldContainer[ClientSubscription]
    def __init__(self, useragent: _Optional[str] = ..., revision: _Optional[str] = ..., integration: _Optional[str] = ..., locale: _Optional[str] = ..., subscriptions: _Optional[_Iterable[str]] = ..., clientSubscriptions: _Optional[_Iterable[_Union[ClientSubscription, _Mapping]]] = ...) -> None: ...

class WebAuthenticationMessage(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ClientSessionMessage(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class APIAuthenticationMessage(_message.Message):
    __slots__ = ("token", "nonce", "api_key", "source", "version", "subscriptions", "client_subscriptions")
    class Source(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        UNKNOWN: _ClassVar[APIAuthenticationMessage.Source]
        GOLANG_SDK: _ClassVar[APIAuthenticationMessage.Source]
        JAVASCRIPT_SDK: _ClassVar[APIAuthenticationMessage.Source]
        NODE_SDK: _ClassVar[APIAuthenticationMessage.Source]
        CW_WEB: _ClassVar[APIAuthenticationMessage.Source]
        RUST_SDK: _ClassVar[APIAuthenticationMessage.Source]
    UNKNOWN: APIAuthenticationMessage.Source
    GOLANG_SDK: APIAuthenticationMessage.Source
    JAVASCRIPT_SDK: APIAuthenticationMessage.Source
    NODE_SDK: APIAuthenticationMessage.Source
    CW_WEB: APIAuthenticationMessage.Source
    RUST_SDK: APIAuthenticationMessage.Source
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTIONS_FIELD_NUMBER: _ClassVar[int]
    CLIENT_SUBSCRIPTIONS_FIELD_NUMBER: _ClassVar[int]
    token: str
    nonce: str
    api_key: str
    source: APIAuthenticationMessage.Source
    version: str
    subscriptions: _containers.RepeatedScalarFieldContainer[str]
    client_subscriptions: _containers.RepeatedCompositeFieldContainer[ClientSubscription]
    def __init__(self, token: _Optional[str] = ..., nonce: _Optional[str] = ..., api_key: _Optional[str] = ..., source: _Optional[_Union[APIAuthenticationMessage.Source, str]] = ..., version: _Optional[str] = ..., subscriptions: _Optional[_Iterable[str]] = ..., client_subscriptions: _Optional[_Iterable[_Union[ClientSubscription, _Mapping]]] = ...) -> None: ...

class ClientSubscribeMessage(_message.Message):
    __slots__ = ("subscriptionKeys", "subscriptions")
    SUBSCRIPTIONKEYS_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTIONS_FIELD_NUMBER: _ClassVar[int]
    subscriptionKeys: _containers.RepeatedScalarFieldContainer[str]
    subscriptions: _containers.RepeatedCompositeFieldContainer[ClientSubscription]
    def __init__(self, subscriptionKeys: _Optional[_Iterable[str]] = ..., subscriptions: _Optional[_Iterable[_Union[ClientSubscription, _Mapping]]] = ...) -> None: ...

class ClientUnsubscribeMessage(_message.Message):
    __slots__ = ("subscriptionKeys", "subscriptions")
    SUBSCRIPTIONKEYS_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTIONS_FIELD_NUMBER: _ClassVar[int]
    subscriptionKeys: _containers.RepeatedScalarFieldContainer[str]
    subscriptions: _containers.RepeatedCompositeFieldContainer[ClientSubscription]
    def __init__(self, subscriptionKeys: _Optional[_Iterable[str]] = ..., subscriptions: _Optional[_Iterable[_Union[ClientSubscription, _Mapping]]] = ...) -> None: ...

class ClientSubscription(_message.Message):
    __slots__ = ("stream_subscription", "trade_subscription", "trigger_subscription", "user_push_subscription")
    STREAM_SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TRADE_SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    USER_PUSH_SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    stream_subscription: StreamSubscription
    trade_subscription: TradeSubscription
    trigger_subscription: TriggerSubscription
    user_push_subscription: UserPushSubscription
    def __init__(self, stream_subscription: _Optional[_Union[StreamSubscription, _Mapping]] = ..., trade_subscription: _Optional[_Union[TradeSubscription, _Mapping]] = ..., trigger_subscription: _Optional[_Union[TriggerSubscription, _Mapping]] = ..., user_push_subscription: _Optional[_Union[UserPushSubscription, _Mapping]] = ...) -> None: ...

class StreamSubscription(_message.Message):
    __slots__ = ("resource",)
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    resource: str
    def __init__(self, resource: _Optional[str] = ...) -> None: ...

class TradeSubscription(_message.Message):
    __slots__ = ("marketId", "auth")
    MARKETID_FIELD_NUMBER: _ClassVar[int]
    AUTH_FIELD_NUMBER: _ClassVar[int]
    marketId: str
    auth: TradeSessionAuth
    def __init__(self, marketId: _Optional[str] = ..., auth: _Optional[_Union[TradeSessionAuth, _Mapping]] = ...) -> None: ...

class TradeSessionAuth(_message.Message):
    __slots__ = ("api_key", "api_secret", "customer_id", "key_passphrase")
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    API_SECRET_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_PASSPHRASE_FIELD_NUMBER: _ClassVar[int]
    api_key: str
    api_secret: str
    customer_id: str
    key_passphrase: str
    def __init__(self, api_key: _Optional[str] = ..., api_secret: _Optional[str] = ..., customer_id: _Optional[str] = ..., key_passphrase: _Optional[str] = ...) -> None: ...

class TriggerSubscription(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class UserPushSubscription(_message.Message):
    __slots__ = ("triggered_handlers", "achievements", "balance_update")
    TRIGGERED_HANDLERS_FIELD_NUMBER: _ClassVar[int]
    ACHIEVEMENTS_FIELD_NUMBER: _ClassVar[int]
    BALANCE_UPDATE_FIELD_NUMBER: _ClassVar[int]
    triggered_handlers: TriggeredHandlersSubscription
    achievements: AchievementsSubscription
    balance_update: BalanceUpdateSubscription
    def __init__(self, triggered_handlers: _Optional[_Union[TriggeredHandlersSubscription, _Mapping]] = ..., achievements: _Optional[_Union[AchievementsSubscription, _Mapping]] = ..., balance_update: _Optional[_Union[BalanceUpdateSubscription, _Mapping]] = ...) -> None: ...

class TriggeredHandlersSubscription(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AchievementsSubscription(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class BalanceUpdateSubscription(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
