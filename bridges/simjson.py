"""The JSON the simulators send: compact, with prices and amounts as exact numbers.

The real streamers write decimals as JSON numbers with exactly the digits they mean
(``91000.50``, ``0.015``), so a simulator writes ``Decimal`` values as plain numbers
with their own decimals, never through ``float``; ``json`` cannot do that.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TypeAlias

JsonValue: TypeAlias = (
    str | int | Decimal | bool | list["JsonValue"] | dict[str, "JsonValue"] | None
)


def _encode(value: JsonValue, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(json.dumps(value))
    elif isinstance(value, bool):
        out.append("true" if value else "false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"non-finite Decimal {value!r}")
        out.append(format(value, "f"))
    elif value is None:
        out.append("null")
    elif isinstance(value, list):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _encode(item, out)
        out.append("]")
    else:
        out.append("{")
        for i, (key, item) in enumerate(value.items()):
            if i:
                out.append(",")
            out.append(json.dumps(key))
            out.append(":")
            _encode(item, out)
        out.append("}")


def dumps(value: JsonValue) -> str:
    """Compact JSON; Decimals are written as plain numbers with exactly their own decimals."""
    out: list[str] = []
    _encode(value, out)
    return "".join(out)
