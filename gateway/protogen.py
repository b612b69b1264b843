"""Regenerates the Python modules in ``proto/`` from the ``.proto`` sources.

``make proto`` runs it; ``tests/test_proto.py`` runs it into a scratch
directory and fails when the committed modules differ (stale).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def sources(root: Path = ROOT) -> list[Path]:
    """Every .proto file under proto/, relative to the repository root."""
    return sorted(p.relative_to(root) for p in (root / "proto").rglob("*.proto"))


def generate(out: Path, root: Path = ROOT) -> None:
    """Write ``*_pb2.py`` and ``*_pb2.pyi`` for every source under ``out``."""
    from grpc_tools import protoc  # a dev dependency

    out.mkdir(parents=True, exist_ok=True)
    args = ["protoc", f"-I{root}", f"--python_out={out}", f"--pyi_out={out}"]
    code = protoc.main([*args, *(str(root / s) for s in sources(root))])
    if code != 0:
        raise SystemExit(f"protoc failed with exit code {code}")


if __name__ == "__main__":
    generate(ROOT)
    print(f"regenerated {len(sources())} proto modules", file=sys.stderr)
