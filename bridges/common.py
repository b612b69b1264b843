"""Small sans-I/O helpers that more than one bridge needs."""

from __future__ import annotations

from collections import deque
from decimal import Decimal

#: Decimals outside 10**±MAX_MAGNITUDE are refused: no price or amount is that big or
#: small, and printing ``1e999999999`` positionally would take a gigabyte.
MAX_MAGNITUDE = 60
#: Nanosecond timestamps must fit a signed 64-bit integer (events.proto, Redis clients).
MAX_NS = 2**63 - 1


def plain(value: Decimal) -> str:
    """A decimal in plain positional notation, digits as received (``1E-8`` → ``0.00000001``).

    Raises ValueError for NaN, infinities and absurd magnitudes.
    """
    text = str(value)  # ~4x cheaper than format(); positional unless it shows an exponent
    if len(text) <= MAX_MAGNITUDE and "E" not in text and text[-1].isdigit():
        return text  # finite (not NaN/Infinity), no exponent: exactly format(value, "f")
    if not value.is_finite() or not -MAX_MAGNITUDE <= value.adjusted() <= MAX_MAGNITUDE:
        raise ValueError(f"not a usable decimal: {value!s:.40}")
    return format(value, "f")


def plain_text(text: str) -> str:
    """A decimal string kept as received when already plain; otherwise checked and made plain."""
    digits = text[1:] if text[:1] == "-" else text
    if (
        digits.isascii()
        and digits.replace(".", "", 1).isdigit()
        and digits[0] != "."
        and digits[-1] != "."
    ):
        return text
    try:
        return plain(Decimal(text))
    except ArithmeticError:
        raise ValueError(f"not a decimal: {text[:40]!r}") from None


def syntax_kind(frame: str | bytes) -> str:
    """``invalid_utf8`` or ``invalid_json``: the DecodeError kind of an unparsable frame.

    Decided from the frame itself, not from the decoder's exception: msgspec reports a
    bad byte inside a string as UnicodeDecodeError in some releases and as DecodeError
    in others, and skips unknown fields without checking their bytes at all.
    """
    if isinstance(frame, bytes):
        try:
            frame.decode()
        except UnicodeDecodeError:
            return "invalid_utf8"
    return "invalid_json"


def is_utf8(frame: str | bytes) -> bool:
    """False for a bytes frame that is not valid UTF-8."""
    return syntax_kind(frame) != "invalid_utf8"


def nanoseconds(seconds: int, nanos: int = 0) -> int:
    """``seconds`` plus ``nanos`` as integer ns; ValueError outside the int64 range."""
    value = seconds * 1_000_000_000 + nanos
    if not 0 <= value <= MAX_NS:
        raise ValueError(f"timestamp out of range: {seconds}s + {nanos}ns")
    return value


class RecentIds:
    """Remembers the last ``size`` ids per key, so replayed trades are published once."""

    __slots__ = ("_order", "_seen", "_size")

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._seen: dict[str, set[str]] = {}
        self._order: dict[str, deque[str]] = {}

    def first_time(self, key: str, item: str) -> bool:
        """True the first time ``item`` is seen for ``key`` (within the window)."""
        seen = self._seen.get(key)
        if seen is None:
            seen = self._seen[key] = set()
            self._order[key] = deque()
        if item in seen:
            return False
        order = self._order[key]
        seen.add(item)
        order.append(item)
        if len(order) > self._size:
            seen.discard(order.popleft())
        return True
