"""Unit tests for the helpers bridges share (bridges/common.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridges.common import MAX_MAGNITUDE, is_utf8, plain, syntax_kind


def reference_plain(value: Decimal) -> str | None:
    """The rule plain() implements, written the slow and obvious way (None: refused)."""
    if not value.is_finite() or not -MAX_MAGNITUDE <= value.adjusted() <= MAX_MAGNITUDE:
        return None
    return format(value, "f")


_SCALED = st.builds(
    lambda digits, exponent: Decimal(digits).scaleb(exponent),
    st.integers(-(10**70), 10**70),
    st.integers(-80, 80),
)


@settings(max_examples=3000, deadline=None)
@given(st.decimals(allow_nan=True, allow_infinity=True) | _SCALED)
def test_plain_matches_the_rule(value: Decimal) -> None:
    """plain()'s fast path gives format(value, "f") exactly, and refuses what the rule refuses."""
    expected = reference_plain(value)
    if expected is None:
        with pytest.raises(ValueError):
            plain(value)
    else:
        assert plain(value) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("91000.50", "91000.50"), ("1E-8", "0.00000001"), ("-0.000", "-0.000"), ("1E+3", "1000")],
)
def test_plain_examples(text: str, expected: str) -> None:
    """Digits stay as received; exponents are written out positionally."""
    assert plain(Decimal(text)) == expected


@pytest.mark.parametrize("text", ["NaN", "-Infinity", "sNaN", "1E+61", "1" * 62])
def test_plain_refuses(text: str) -> None:
    """NaN, infinities and absurd magnitudes are refused."""
    with pytest.raises(ValueError):
        plain(Decimal(text))


def test_syntax_kind_reads_the_frame() -> None:
    """Bad UTF-8 anywhere in a bytes frame is invalid_utf8, whatever the decoder said."""
    assert syntax_kind(b'{"a":"\x80"}') == "invalid_utf8"
    assert syntax_kind(b'{"a":') == "invalid_json"
    assert syntax_kind('{"a":') == "invalid_json"
    assert not is_utf8(b"\xff") and is_utf8(b"{}") and is_utf8("é")
