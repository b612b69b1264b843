"""Cryptowatch market identity: market id ↔ (exchange, pair), from a data table.

The bundled ``markets.csv`` holds the ids the protocol note confirms
(``shared/protocols/cryptowatch.md`` §5). A fuller table can be made from the
REST ``/markets`` endpoint (``feedgate cryptowatch-markets``) and named in the
upstream's ``markets_file``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

import msgspec

from gateway.errors import ConfigError


class MarketRow(msgspec.Struct, frozen=True):
    """One market: Cryptowatch's id, exchange symbol and pair symbol."""

    id: int
    exchange: str
    pair: str
    active: bool = True


class _RestMarkets(msgspec.Struct):
    """The REST ``/markets`` answer: ``{"result": [{id, exchange, pair, active, route}]}``."""

    result: list[MarketRow]


class MarketTable:
    """Lookups both ways between market ids and (exchange, pair)."""

    def __init__(self, rows: Iterable[MarketRow]) -> None:
        self.rows = sorted(rows, key=lambda row: row.id)
        self.by_id = {row.id: row for row in self.rows}
        self.by_name = {(row.exchange, row.pair): row for row in self.rows}

    def __len__(self) -> int:
        return len(self.rows)

    @classmethod
    def bundled(cls) -> MarketTable:
        text = resources.files("bridges.cryptowatch").joinpath("markets.csv").read_text()
        return cls.from_csv(text, "bundled markets.csv")

    @classmethod
    def from_file(cls, path: str | Path) -> MarketTable:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"markets_file {str(path)!r}: {exc.strerror}") from exc
        return cls.from_csv(text, str(path))

    @classmethod
    def from_csv(cls, text: str, source: str) -> MarketTable:
        rows = []
        for number, record in enumerate(csv.DictReader(io.StringIO(text)), start=2):
            try:
                rows.append(
                    MarketRow(
                        id=int(record["id"]),
                        exchange=record["exchange"].strip().lower(),
                        pair=record["pair"].strip().lower(),
                        active=record.get("active", "true").strip().lower() == "true",
                    )
                )
            except (KeyError, ValueError, AttributeError) as exc:
                raise ConfigError(f"{source} line {number}: bad market row ({exc})") from None
        return cls(rows)

    @classmethod
    def from_rest(cls, body: bytes) -> MarketTable:
        """Parse the REST ``/markets`` JSON (extra fields such as ``route`` ignored)."""
        try:
            return cls(msgspec.json.decode(body, type=_RestMarkets).result)
        except msgspec.MsgspecError as exc:
            raise ConfigError(f"not a Cryptowatch /markets answer: {exc}") from None

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["id", "exchange", "pair", "active"])
        for row in self.rows:
            writer.writerow([row.id, row.exchange, row.pair, "true" if row.active else "false"])
        return out.getvalue()


def refresh(rest_url: str, out: str | Path, timeout: float = 30.0) -> int:
    """Fetch ``<rest_url>/markets`` and write the table as CSV; returns the market count.

    The tool behind ``feedgate markets cryptowatch``; the service itself was
    shut down in 2023, so point ``rest_url`` at a compatible server.
    """
    import urllib.error
    import urllib.request

    url = rest_url.rstrip("/") + "/markets"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            body = reply.read()
    except (urllib.error.URLError, OSError) as exc:
        raise ConfigError(f"cannot fetch {url}: {exc}") from None
    table = MarketTable.from_rest(body)
    Path(out).write_text(table.to_csv(), encoding="utf-8")
    return len(table)
