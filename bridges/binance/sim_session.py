"""Connection-level protocol of the Binance Spot simulator: endpoints, requests, limits.

Written from ``shared/protocols/binance.md`` only (§1, §4, §5). Pure functions and small
classes used by :mod:`bridges.binance.sim`:

* :func:`parse_endpoint`: ``/ws``, ``/ws/<stream>`` (also ``/ws/a/b``) and
  ``/stream?streams=a/b``, with ``timeUnit`` (§1). Stream names may be percent-encoded; ``+``
  in the query stays a literal ``+`` (so ``@kline_1m@+08:00`` works unencoded).
* :func:`decode` and :func:`validate`: a client message to a :class:`ClientRequest`, or a
  :class:`RequestError` carrying the error frame to send (§4).
* :func:`stream_params` and :func:`property_request`: the params of SUBSCRIBE / UNSUBSCRIBE and
  of SET_PROPERTY / GET_PROPERTY.
* :class:`MessageWindow` and :class:`WsConnection`: the 5 incoming frames a second limit, which
  counts text, binary, ping and pong frames alike (§5).

Error frames are ``{"code","msg","id"}`` as the note shows them, with ``id`` whenever a valid
one was read (never for code 3 or a bad id). ``id`` must be present and be a signed 64-bit
integer, 1-36 ASCII letters or digits, or null. Line and column in the messages follow serde:
the end of the message for ``missing field method``, just after the method's value for
``unknown variant``. Texts the note does not give, all code 2:
``Invalid request: unknown stream <name>`` (a name outside the stream grammar) and
``Invalid request: params must be an array of strings``. ``too many parameters`` answers
LIST_SUBSCRIPTIONS with params, GET/SET_PROPERTY with extra params, and a SUBSCRIBE that
would pass the stream limit. A message that is JSON but not an object gets
``missing field method``; unknown top-level keys are ignored.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import unquote

from websockets.asyncio.server import ServerConnection
from websockets.frames import Frame, Opcode
from websockets.protocol import Event

from bridges.binance.sim_streams import InvalidStream, JsonValue, Payload, Stream, parse_stream

METHODS = ("SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS", "SET_PROPERTY", "GET_PROPERTY")
TOO_MANY = "Invalid request: too many parameters"
BAD_ID = "Invalid request: request ID must be an unsigned integer"
BAD_PROPERTY_NAME = "Invalid request: property name must be a string"
BAD_PARAMS = "Invalid request: params must be an array of strings"
UNKNOWN_PROPERTY = "Unknown property"
NOT_BOOLEAN = "Invalid value type: expected Boolean"
_ID = re.compile(r"[A-Za-z0-9]{1,36}")
_COUNTED = frozenset({Opcode.TEXT, Opcode.BINARY, Opcode.PING, Opcode.PONG})
_TIME_UNITS = {"MILLISECOND": False, "millisecond": False, "MICROSECOND": True, "microsecond": True}


def error_frame(code: int, msg: str, *request_id: JsonValue) -> Payload:
    """An error frame; pass ``request_id`` when a valid id was read."""
    frame: Payload = {"code": code, "msg": msg}
    if request_id:
        frame["id"] = request_id[0]
    return frame


class RequestError(Exception):
    """The request is refused; ``frame`` is the error frame to send."""

    def __init__(self, frame: Payload) -> None:
        super().__init__(frame.get("msg"))
        self.frame = frame


# -- endpoints ---------------------------------------------------------------------------------


class Rejected(Exception):
    """The WebSocket handshake is refused with ``status`` and the plain-text ``text``."""

    def __init__(self, status: HTTPStatus, text: str) -> None:
        super().__init__(text)
        self.status, self.text = status, text


@dataclass(frozen=True)
class Endpoint:
    streams: tuple[Stream, ...]
    combined: bool
    micro: bool  # timeUnit=MICROSECOND


def parse_endpoint(target: str, max_streams: int) -> Endpoint:
    """The endpoint of a WebSocket request target; Rejected (400 or 404) if it is not one."""
    path, _, query = target.partition("?")
    args: dict[str, str] = {}
    for part in query.split("&"):
        key, eq, value = part.partition("=")
        if eq:
            args.setdefault(unquote(key), unquote(value))
    time_unit = args.get("timeUnit", "MILLISECOND")
    if time_unit not in _TIME_UNITS:
        raise Rejected(HTTPStatus.BAD_REQUEST, f"Invalid timeUnit {time_unit}\n")
    if path == "/stream":
        combined, names = True, args.get("streams", "").split("/")
    elif path == "/ws" or path.startswith("/ws/"):
        combined, names = False, [unquote(part) for part in path[4:].split("/")]
    else:
        raise Rejected(HTTPStatus.NOT_FOUND, "Not Found\n")
    streams: dict[str, Stream] = {}
    for name in names:
        if name and name not in streams:
            try:
                streams[name] = parse_stream(name)
            except InvalidStream:
                text = f"Invalid request: unknown stream {name}\n"
                raise Rejected(HTTPStatus.BAD_REQUEST, text) from None
    if max_streams and len(streams) > max_streams:
        raise Rejected(HTTPStatus.BAD_REQUEST, f"{TOO_MANY}\n")
    return Endpoint(tuple(streams.values()), combined, _TIME_UNITS[time_unit])


# -- requests ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClientRequest:
    method: str
    params: object
    id: JsonValue


def _position(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of the character before ``index`` (serde's convention)."""
    return text.count("\n", 0, index) + 1, index - (text.rfind("\n", 0, index) + 1)


def _missing_method(text: str) -> str:
    line, column = _position(text, len(text.rstrip()))
    return f"Invalid request: missing field method at line {line} column {column}"


def _unknown_method(text: str, method: object) -> str:
    shown = method if isinstance(method, str) else json.dumps(method)
    end = len(text.rstrip())
    match = re.search(r'"method"\s*:\s*', text)
    if match is not None:
        with contextlib.suppress(ValueError):
            end = json.JSONDecoder().raw_decode(text, match.end())[1]
    line, column = _position(text, end)
    return (
        f"Invalid request: unknown variant {shown}, expected one of "
        f"{', '.join(METHODS)} at line {line} column {column}"
    )


def valid_id(value: object) -> bool:
    """A signed 64-bit integer, 1-36 ASCII letters or digits, or null (§4)."""
    if value is None:
        return True
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def decode(message: str | bytes) -> tuple[object, str]:
    """The parsed JSON and its text; RequestError (code 3) if it is not JSON."""
    try:
        text = message if isinstance(message, str) else message.decode("utf-8")
        return json.loads(text), text
    except json.JSONDecodeError as exc:
        msg = f"Invalid JSON: expected value at line {exc.lineno} column {exc.colno}"
        raise RequestError(error_frame(3, msg)) from None
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise RequestError(
            error_frame(3, "Invalid JSON: expected value at line 1 column 1")
        ) from None


def validate(request: object, text: str) -> ClientRequest:
    """Check ``id`` and ``method`` of a decoded message; RequestError (code 2) if invalid."""
    if not isinstance(request, dict):
        raise RequestError(error_frame(2, _missing_method(text)))
    if "id" not in request or not valid_id(request["id"]):
        raise RequestError(error_frame(2, BAD_ID))
    rid: JsonValue = request["id"]
    if "method" not in request:
        raise RequestError(error_frame(2, _missing_method(text), rid))
    method = request["method"]
    if method not in METHODS:
        raise RequestError(error_frame(2, _unknown_method(text, method), rid))
    return ClientRequest(str(method), request.get("params"), rid)


def stream_params(request: ClientRequest) -> dict[str, Stream]:
    """The streams of a SUBSCRIBE / UNSUBSCRIBE, in order; RequestError if invalid."""
    params = request.params
    if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
        raise RequestError(error_frame(2, BAD_PARAMS, request.id))
    streams: dict[str, Stream] = {}
    for name in params:
        try:
            streams[name] = parse_stream(name)
        except InvalidStream:
            msg = f"Invalid request: unknown stream {name}"
            raise RequestError(error_frame(2, msg, request.id)) from None
    return streams


def property_request(request: ClientRequest, combined: bool) -> tuple[Payload, bool]:
    """The reply to SET_PROPERTY / GET_PROPERTY and the connection's new ``combined`` value."""
    params, rid = request.params, request.id
    set_ = request.method == "SET_PROPERTY"
    if not isinstance(params, list) or not params or not isinstance(params[0], str):
        return error_frame(2, BAD_PROPERTY_NAME, rid), combined
    if len(params) > (2 if set_ else 1):
        return error_frame(2, TOO_MANY, rid), combined
    if params[0] != "combined":
        return error_frame(0, UNKNOWN_PROPERTY, rid), combined
    if not set_:
        return {"result": combined, "id": rid}, combined
    if len(params) < 2 or not isinstance(params[1], bool):
        return error_frame(1, NOT_BOOLEAN, rid), combined
    return {"result": None, "id": rid}, params[1]


# -- message-rate limit ------------------------------------------------------------------------


class MessageWindow:
    """Counts incoming frames; calls ``on_exceeded`` once when over ``limit`` in 1 s (§5)."""

    def __init__(self, limit: int, on_exceeded: Callable[[], object]) -> None:
        self.limit, self.on_exceeded = limit, on_exceeded
        self.times: deque[float] = deque()
        self.exceeded = False

    def hit(self) -> None:
        if self.limit <= 0 or self.exceeded:
            return
        now = time.monotonic()
        self.times.append(now)
        while self.times[0] <= now - 1.0:
            self.times.popleft()
        if len(self.times) > self.limit:
            self.exceeded = True
            self.on_exceeded()


class WsConnection(ServerConnection):
    """A server connection that counts every incoming data, ping and pong frame.

    A fragmented message counts once (continuation frames are not counted).
    """

    window: MessageWindow | None = None
    endpoint: Endpoint | None = None

    def process_event(self, event: Event) -> None:
        if isinstance(event, Frame) and event.opcode in _COUNTED and self.window is not None:
            self.window.hit()
        super().process_event(event)


def wrap(stream: str, data: str) -> str:
    """A combined-stream frame around the JSON text ``data`` (§1)."""
    return f'{{"stream":{json.dumps(stream, ensure_ascii=False)},"data":{data}}}'
