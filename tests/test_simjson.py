"""The simulators' JSON writer (bridges/simjson.py): exact decimals, compact, valid JSON."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from bridges.simjson import JsonValue, dumps


def test_decimals_keep_exactly_their_digits() -> None:
    """Trailing zeros and tiny amounts survive as written; nothing goes through float."""
    text = dumps({"P": Decimal("91000.50"), "Q": Decimal("0.00000001"), "R": Decimal("1E+2")})
    assert text == '{"P":91000.50,"Q":0.00000001,"R":100}'
    parsed = json.loads(text, parse_float=Decimal)
    assert parsed["P"] == Decimal("91000.50") and str(parsed["P"]) == "91000.50"


def test_compact_nested_and_escaped() -> None:
    value: JsonValue = {"a": [1, True, None, 'x"y\u00e9'], "b": {"c": False}, "d": []}
    text = dumps(value)
    assert " " not in text
    assert json.loads(text) == value


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_decimals_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="non-finite"):
        dumps({"P": Decimal(bad)})
