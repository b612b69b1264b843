"""Unit tests for the RESP encoding of events as XADD commands."""

from __future__ import annotations

import typing

import hiredis
import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.events import EVENT_TYPES, Event, Index, Status, Trade
from gateway.publish.flat import native_encoder
from gateway.publish.resp import StreamEncoder, command


def decode_commands(payload: bytes) -> list[list[bytes]]:
    """Parse pipelined RESP commands back (a command is an array of bulk strings)."""
    reader = hiredis.Reader()
    reader.feed(payload)
    commands = []
    while (item := reader.gets()) is not False:
        commands.append(item)
    return commands


TRADE = Trade(
    topic="trades.kraken.btceur", source="cc", exchange="kraken", base="btc", quote="eur",
    ts=1751000100120000000, recv_ts=1751000100200000000, price="91000.5", amount="0.015",
    side="buy", id="70011223", seq=None, reversed=True,
)  # fmt: skip


def test_trade_entry_layout() -> None:
    """A trade becomes XADD topic MAXLEN ~ n * with kind first and None fields left out."""
    encoder = StreamEncoder(lambda channel: {"trades": 5000}.get(channel, 10))
    assert decode_commands(encoder.encode([TRADE])[0]) == [
        [b"XADD", b"trades.kraken.btceur", b"MAXLEN", b"~", b"5000", b"*",
         b"kind", b"trade", b"source", b"cc", b"exchange", b"kraken", b"base", b"btc",
         b"quote", b"eur", b"ts", b"1751000100120000000", b"recv_ts", b"1751000100200000000",
         b"price", b"91000.5", b"amount", b"0.015", b"side", b"buy", b"id", b"70011223",
         b"reversed", b"true"],
    ]  # fmt: skip


def test_batches_keep_order_and_unicode() -> None:
    """Several events encode as one pipeline in order; non-ASCII text is UTF-8 with byte lengths."""
    status = Status(topic="status.cc", source="cc", ts=1, state="error", message="prix → 5 €")
    index = Index(
        topic="index.cccagg.btcusd", source="cc", exchange="cccagg", base="btc", quote="usd",
        ts=2, recv_ts=3, flags=1, price_dir="up", price="1E+3", median="5",
    )  # fmt: skip
    commands = decode_commands(StreamEncoder(lambda _: 7).encode([status, TRADE, index])[0])
    assert [c[1] for c in commands] == [
        b"status.cc",
        b"trades.kraken.btceur",
        b"index.cccagg.btcusd",
    ]
    assert commands[0][6:] == [
        b"kind", b"status", b"source", b"cc", b"ts", b"1", b"state", b"error", b"code", b"",
        b"message", "prix → 5 €".encode(),
    ]  # fmt: skip
    fields = dict(zip(commands[2][6::2], commands[2][7::2], strict=True))
    assert fields[b"kind"] == b"index" and fields[b"median"] == b"5" and fields[b"flags"] == b"1"
    assert b"bid" not in fields


def test_command_helper() -> None:
    """command() builds one RESP array."""
    assert command("AUTH", "user", 5) == b"*3\r\n$4\r\nAUTH\r\n$4\r\nuser\r\n$1\r\n5\r\n"


_TEXT = st.text(max_size=12)
_ASCII = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=12)


def _events(text: st.SearchStrategy[str]) -> st.SearchStrategy[Event]:
    """Any event type with random field values (optional ones sometimes None)."""

    def build(cls: type[Event]) -> st.SearchStrategy[Event]:
        hints = typing.get_type_hints(cls)
        fields: dict[str, st.SearchStrategy[object]] = {}
        for name in cls.__struct_fields__:
            hint = hints[name]
            args = typing.get_args(hint)
            base = next((a for a in args if a is not type(None)), hint) if args else hint
            value: st.SearchStrategy[object] = (
                st.booleans()
                if base is bool
                else st.integers(-(2**63), 2**63 - 1)
                if base is int
                else text
            )
            fields[name] = st.one_of(st.none(), value) if type(None) in args else value
        fields["topic"] = st.sampled_from(["trades.kraken.btceur", "status.cc", "book.x.btcusd"])
        return st.builds(cls, **fields)

    return st.one_of(*(build(cls) for cls in EVENT_TYPES))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_events(_ASCII), _events(_TEXT)), min_size=1, max_size=20))
def test_compiled_encoder_is_byte_identical(events: list[Event]) -> None:
    """The C and the compiled fast paths write exactly what the field-by-field encoder writes."""
    encoder = StreamEncoder(lambda channel: 1000 if channel == "trades" else 7)
    python = StreamEncoder(lambda channel: 1000 if channel == "trades" else 7, native=False)
    assert python.encode(events) == encoder._encode_generic(events)
    assert encoder.encode(events) == encoder._encode_generic(events)  # topics now known
    assert encoder.encode(events) == encoder._encode_generic(events)  # the C path
    fast = encoder._encode_fast(events)
    if all((isinstance(v, str) and v.isascii()) or not isinstance(v, str)
           for e in events for v in msgspec.structs.astuple(e)):  # fmt: skip
        assert fast == encoder._encode_generic(events)  # ASCII batches take the fast path


def test_native_encoder_is_built_and_used() -> None:
    """The development install builds the C encoder, and a known topic's batch goes through it."""
    assert native_encoder() is not None, "gateway/publish/_flatc.c was not built (pip install -e .)"
    encoder = StreamEncoder(lambda channel: 5000)
    first = encoder.encode([TRADE])
    calls: list[int] = []
    native = encoder._native
    assert native is not None

    def counting(*args: typing.Any) -> bytes | None:
        calls.append(len(args[0]))
        return native(*args)

    encoder._native = counting
    assert encoder.encode([TRADE, TRADE]) == (first[0] * 2, None)
    assert calls == [2]


def test_native_encoder_refuses_wrong_types() -> None:
    """A str field holding a non-str is a TypeError in C too, not a corrupt command."""
    encoder = StreamEncoder(lambda channel: 5000)
    encoder.encode([TRADE])
    bad = msgspec.structs.replace(TRADE, price=1.5)
    with pytest.raises(TypeError):
        encoder.encode([bad])


def test_native_encoder_big_integers() -> None:
    """Integers beyond 64 bits are written in full, as the Python encoders write them."""
    encoder = StreamEncoder(lambda channel: 5000)
    big = msgspec.structs.replace(TRADE, seq=2**70, ts=-(2**63))
    encoder.encode([TRADE])
    assert encoder.encode([big]) == encoder._encode_generic([big])
    assert b"$22\r\n1180591620717411303424\r\n" in encoder.encode([big])[0]
