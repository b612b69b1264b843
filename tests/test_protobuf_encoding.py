"""The optional protobuf encoding: schema in step with the events, exact round trips."""

from __future__ import annotations

import pathlib
from typing import Any

import hiredis
import msgspec
import pytest
import redis

from gateway.config import parse_config, uses_protobuf
from gateway.events import EVENT_TYPES, Book, Event, Index, Status, Trade
from gateway.publish.protobuf import ENVELOPE, ProtobufEncoder
from gateway.publish.resp import StreamEncoder
from proto.feedgate import events_pb2
from tests.support import GatewayProcess, free_port, wait_for


@pytest.mark.parametrize("cls", EVENT_TYPES, ids=lambda c: c.__name__)
def test_every_event_field_is_in_the_proto(cls: type[Event]) -> None:
    """Each Struct field has a same-named field in the envelope or the kind's body message."""
    tag = cls.__struct_config__.tag
    assert isinstance(tag, str)
    envelope = events_pb2.Event.DESCRIPTOR
    body = envelope.fields_by_name[tag].message_type
    assert body is not None
    for name in cls.__struct_fields__:
        holder = envelope if name in ENVELOPE else body
        assert name in holder.fields_by_name, f"{cls.__name__}.{name} missing from {holder.name}"


def test_round_trip_keeps_every_value() -> None:
    """Decoding the bytes gives back the same values, unset optionals stay unset."""
    trade = Trade(topic="trades.kraken.btceur", source="cc", exchange="kraken", base="btc",
                  quote="eur", ts=1, recv_ts=2, price="0.00000001", amount="12.50", side="buy",
                  id="x", reversed=False)  # fmt: skip
    decoded = events_pb2.Event.FromString(ProtobufEncoder().encode(trade))
    assert decoded.WhichOneof("body") == "trade"
    assert (decoded.topic, decoded.exchange, decoded.ts, decoded.recv_ts) == (
        "trades.kraken.btceur",
        "kraken",
        1,
        2,
    )
    assert (decoded.trade.price, decoded.trade.amount, decoded.trade.side) == (
        "0.00000001",
        "12.50",
        "buy",
    )
    assert not decoded.trade.HasField("seq") and decoded.trade.HasField("reversed")
    index = Index(topic="index.cccagg.btcusd", source="cc", exchange="cccagg", base="btc",
                  quote="usd", ts=3, recv_ts=4, flags=2049, price="1", median="2")  # fmt: skip
    decoded = events_pb2.Event.FromString(ProtobufEncoder().encode(index))
    assert decoded.WhichOneof("body") == "index"
    assert (decoded.index.flags, decoded.index.median, decoded.index.HasField("bid")) == (
        2049,
        "2",
        False,
    )
    status = Status(topic="status.cc", source="cc", ts=5, state="connected")
    assert (
        events_pb2.Event.FromString(ProtobufEncoder().encode(status)).WhichOneof("body") == "status"
    )


def test_stream_entry_is_kind_and_pb() -> None:
    """A protobuf topic's XADD carries kind and pb only; other topics stay flat."""
    book = Book(topic="book.kraken.btceur", source="cw", exchange="kraken", base="btc",
                quote="eur", ts=1, recv_ts=2, action="snapshot", seq=7, bids="[]", asks="[]")  # fmt: skip
    status = Status(topic="status.cw", source="cw", ts=5, state="connected")
    encoder = StreamEncoder(lambda _: 100, lambda topic, channel: channel == "book")
    reader = hiredis.Reader()
    reader.feed(encoder.encode([book, status])[0])
    first, second = reader.gets(), reader.gets()
    assert first[:8] == [
        b"XADD",
        b"book.kraken.btceur",
        b"MAXLEN",
        b"~",
        b"100",
        b"*",
        b"kind",
        b"book",
    ]
    assert first[8] == b"pb" and len(first) == 10
    message = events_pb2.Event.FromString(first[9])
    assert (message.book.seq, message.book.action) == (7, "snapshot")
    assert second[6:10] == [b"kind", b"status", b"source", b"cw"]


def test_encoding_choice_per_upstream_and_channel() -> None:
    """encoding is set per upstream; streams.encoding_by_channel overrides it."""
    config = parse_config(
        """
[streams.encoding_by_channel]
trades = "flat"
status = "protobuf"

[upstreams.cw]
protocol = "cryptowatch"
url = "ws://127.0.0.1:1"
encoding = "protobuf"
""",
        "x.toml",
        {},
    )
    assert uses_protobuf(config, "cw", "book") and not uses_protobuf(config, "cw", "trades")
    assert uses_protobuf(config, "other", "status") and not uses_protobuf(config, "other", "book")
    assert msgspec.structs.asdict(config.upstreams["cw"])["encoding"] == "protobuf"


def test_simulated_upstream_keeps_its_encoding(redis_url: str, tmp_path: pathlib.Path) -> None:
    """An upstream's encoding holds when its simulator serves it, though source says sim."""
    health = free_port()
    text = f"""
[health]
listen = "127.0.0.1:{health}"

[upstreams.kraken]
protocol = "kraken"
url = "ws://127.0.0.1:1/v2"
simulator = "always"
simulator_rate = 200.0
encoding = "protobuf"
topics = ["trades.kraken.btcusd"]
"""
    gateway = GatewayProcess(text, tmp_path, {"REDIS_URL": redis_url})
    client = redis.Redis.from_url(redis_url)
    try:
        gateway.wait_ready(health, timeout=60)
        entries: Any = wait_for(
            lambda: client.xrange("trades.kraken.btcusd", count=5), 30, "simulated trades"
        )
        status: Any = wait_for(lambda: client.xrange("status.kraken", count=1), 30, "a status")
    finally:
        client.close()
        assert gateway.stop() == 0, gateway.log()
    for _, fields in entries + status:
        assert set(fields) == {b"kind", b"pb"}, fields
        event = events_pb2.Event()
        event.ParseFromString(fields[b"pb"])
        assert event.source == "sim"
