"""Compiled encoders for the flat entry layout: one generated function per event type.

The generic loop in ``gateway.publish.resp`` spends most of its time in
per-field Python overhead. Each function here is generated once, at start, from
the event Struct's fields: one f-string builds the whole command as ``str``,
and a batch is encoded to bytes in one go. RESP lengths are byte lengths, so
the result is only valid when the batch is ASCII; the caller checks
``str.isascii()`` and falls back to the generic encoder otherwise. Both give
byte-identical output (``tests/test_resp.py`` checks it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import msgspec.inspect as mi

from gateway.events import Event

FlatEncoder = Callable[[Event, str], str]
"""(event, XADD prefix as str) → the whole command as str."""

NativeLayout = tuple[bytes, tuple[tuple[str, bytes, int], ...]]
"""(the ``kind`` pair, (attribute, pre-encoded field name, 0 str | 1 int | 2 bool) …)."""
NativeEncoder = Callable[
    [Sequence[Event], dict[str, bytes], dict[type, NativeLayout]], bytes | None
]
"""(events, XADD prefix by topic, layout by type) → the pipeline, or None: not for C."""
_NATIVE_KINDS = {"str": 0, "int": 1, "bool": 2}


def _kind_of(annotation: mi.Type) -> tuple[str, bool]:
    """('str' | 'int' | 'bool', optional?) of a field's type."""
    optional = False
    if isinstance(annotation, mi.UnionType):
        inner = [t for t in annotation.types if not isinstance(t, mi.NoneType)]
        optional = len(inner) != len(annotation.types)
        if len(inner) != 1:
            raise TypeError(f"unsupported field type {annotation}")
        annotation = inner[0]
    if isinstance(annotation, mi.StrType):
        return "str", optional
    if isinstance(annotation, mi.BoolType):
        return "bool", optional
    if isinstance(annotation, mi.IntType):
        return "int", optional
    raise TypeError(f"unsupported field type {annotation}")


def _bulk(name: str) -> str:
    return f"${len(name)}\\r\\n{name}\\r\\n"


def _bulk_bytes(name: str) -> bytes:
    raw = name.encode()
    return b"$%d\r\n%s\r\n" % (len(raw), raw)


def compile_flat(cls: type[Event]) -> FlatEncoder:
    """Generate the flat encoder of one event type."""
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    tag = cls.__struct_config__.tag
    assert isinstance(tag, str)
    lines = ["def encode(e, prefix):", f'    body = "{_bulk("kind")}{_bulk(tag)}"']
    required = 0
    run: list[str] = []  # consecutive required pieces, joined into one f-string

    def flush() -> None:
        if run:
            lines.append(f'    body += f"{"".join(run)}"')
            run.clear()

    for index, field in enumerate(info.fields):
        if field.name == "topic":
            continue
        kind, is_optional = _kind_of(field.type)
        var = f"v{index}"
        get = f"e.{field.name}"
        value = {
            "str": get,
            "int": f"str({get})",
            "bool": f"('true' if {get} else 'false')",
        }[kind]
        piece = f"{_bulk(field.name)}${{len({var})}}\\r\\n{{{var}}}\\r\\n"
        if is_optional:  # declaration order is kept: the generic encoder's order
            flush()
            lines += [
                f"    {var} = {get}",
                f"    if {var} is not None:",
                f"        {var} = {value.replace(get, var)}",
                f'        body += f"{piece}"',
                "        n += 2",
            ]
        else:
            lines.insert(2, f"    {var} = {value}")
            required += 1
            run.append(piece)
    flush()
    lines.insert(2, f"    n = {8 + 2 * required}")
    lines.append('    return f"*{n}\\r\\n{prefix}{body}"')
    namespace: dict[str, object] = {}
    exec("\n".join(lines), namespace)
    encoder = namespace["encode"]
    assert callable(encoder)
    return encoder


def compile_all(types: tuple[type[Event], ...]) -> dict[type[Event], FlatEncoder]:
    return {cls: compile_flat(cls) for cls in types}


def native_layouts(types: tuple[type[Event], ...]) -> dict[type, NativeLayout]:
    """What the C encoder needs per event type, in declaration order (``topic`` left out)."""
    layouts: dict[type, NativeLayout] = {}
    for cls in types:
        info = mi.type_info(cls)
        assert isinstance(info, mi.StructType)
        tag = cls.__struct_config__.tag
        assert isinstance(tag, str)
        fields = tuple(
            (f.name, _bulk_bytes(f.name), _NATIVE_KINDS[_kind_of(f.type)[0]])
            for f in info.fields
            if f.name != "topic"
        )
        layouts[cls] = (_bulk_bytes("kind") + _bulk_bytes(tag), fields)
    return layouts


def native_encoder() -> NativeEncoder | None:
    """The C encoder (``_flatc``), or None where it was not built (no compiler)."""
    try:
        from gateway.publish import _flatc  # type: ignore[attr-defined]
    except ImportError:
        return None
    encode: NativeEncoder = _flatc.encode
    return encode
