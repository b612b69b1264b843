"""The import rules of STYLE.md, checked on the source: who may import what."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from tests.support import ROOT

STDLIB = set(sys.stdlib_module_names)
CONTRACT = {"gateway.events", "gateway.bridge", "gateway.errors", "gateway.topics"}


def imports(path: Path) -> set[str]:
    """Every module a file imports (absolute names)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def top(name: str) -> str:
    return name.split(".", 1)[0]


@pytest.mark.parametrize("path", modules("bridges"), ids=lambda p: str(p.relative_to(ROOT)))
def test_bridges_import_only_the_contract(path: Path) -> None:
    """Bridges use the contract, msgspec, protobuf and proto; simulators may add websockets."""
    allowed_third_party = {"msgspec", "proto", "google"}  # google: the protobuf runtime
    if path.name.startswith("sim"):
        allowed_third_party.add("websockets")
    for name in imports(path):
        if top(name) in STDLIB or top(name) in allowed_third_party or top(name) == "__future__":
            continue
        # The order-book engine is pure (stdlib + msgspec): a bridge that must check a
        # checksum over its own copy of the book (Kraken) uses the same engine.
        if top(name) == "bridges" or name in CONTRACT or name == "gateway.core.book":
            continue
        pytest.fail(f"{path.relative_to(ROOT)} imports {name}")


@pytest.mark.parametrize("path", modules("gateway"), ids=lambda p: str(p.relative_to(ROOT)))
def test_gateway_layers(path: Path) -> None:
    """The contract is stdlib+msgspec; core is pure; one module each owns websockets and redis."""
    rel = path.relative_to(ROOT).as_posix()
    names = imports(path)
    module = rel[:-3].replace("/", ".")
    assert not any(top(n) == "bridges" for n in names), f"{rel} imports a bridge"
    if module in CONTRACT:
        bad = {
            n
            for n in names
            if top(n) not in STDLIB | {"msgspec", "__future__"} and n not in CONTRACT
        }
        assert not bad, f"contract module {rel} imports {bad}"
    if rel.startswith("gateway/core/"):
        assert "asyncio" not in {top(n) for n in names}, f"pure core module {rel} imports asyncio"
    if "websockets" in {top(n) for n in names}:
        assert rel == "gateway/transport.py", f"{rel} imports websockets"
    if "picows" in {top(n) for n in names}:
        assert rel == "gateway/picows_transport.py", f"{rel} imports picows"
    if {top(n) for n in names} & {"redis", "hiredis"}:
        # The publisher, the control plane and the CLI's inspector are the Redis clients.
        assert rel.startswith("gateway/publish/") or rel in (
            "gateway/inspector.py",
            "gateway/control.py",
        ), rel
