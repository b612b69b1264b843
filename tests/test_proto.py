"""The generated protobuf modules match their .proto sources (not stale)."""

from __future__ import annotations

from pathlib import Path

from gateway.protogen import generate, sources
from tests.support import ROOT


def test_generated_modules_are_fresh(tmp_path: Path) -> None:
    """Regenerating into a scratch directory gives byte-identical modules."""
    generate(tmp_path)
    for source in sources():
        for suffix in ("_pb2.py", "_pb2.pyi"):
            module = source.with_name(source.stem + suffix)
            fresh = (tmp_path / module).read_bytes()
            assert (ROOT / module).read_bytes() == fresh, f"{module} is stale: run `make proto`"
