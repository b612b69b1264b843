"""Profile the running gateway end to end: ``python -m bench.profiles.e2e [cc|cw]``.

The same set-up as the harness's throughput figure (Valkey, the blaster, feedgate as a
subprocess on its own core), with ``py-spy record`` attached to the gateway while it
reads a blast. Writes ``bench/profiles/<protocol>_e2e.txt``: the functions by share of
samples, own time and inclusive, so the whole process is seen (WebSocket client, event
loop, bridge, encoder, writer), not only the in-process hot path.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from bench.run import TOPIC, Cores, Sizes, Valkey, feedgate, wait_for_entries

HERE = Path(__file__).resolve().parent


def _function(frame: str) -> str:
    """``name (path/to/file.py:12)`` → ``name (file.py)``: samples summed per function."""
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rsplit('/', 1)[-1].split(':')[0]})"


def summarise(collapsed: Path, top: int = 40) -> str:
    """Own and inclusive sample shares per function from py-spy's collapsed stacks."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        frames = [_function(f) for f in stack.split(";")]
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    lines = [f"{total} samples", "", "own time:"]
    lines += [f"  {n / total:6.1%}  {name}" for name, n in own.most_common(top)]
    lines += ["", "inclusive:"]
    lines += [f"  {n / total:6.1%}  {name}" for name, n in inclusive.most_common(top)]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("protocol", choices=("cc", "cw"), nargs="?", default="cc")
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument(
        "--pace",
        type=int,
        default=0,
        metavar="RATE",
        help="profile a paced run at RATE events/s for 8 s instead of a blast",
    )
    args = parser.parse_args()
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    sizes = Sizes(0, args.events, 20_000, (), 0.0, 0.0, 0, 0, 1)
    cores = Cores()
    cores.pin_self()
    valkey = Valkey()
    out = HERE / f"{args.protocol}_e2e{f'_paced_{args.pace}' if args.pace else ''}.txt"
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        pre_built = sizes.warmup + sizes.events
        with feedgate(args.protocol, sizes, valkey, workdir, cores, pre_built) as (
            gateway, blaster, per_frame,
        ):  # fmt: skip
            client = valkey.client
            blaster.command(f"BLAST {sizes.warmup // per_frame}")
            blaster.sent(120.0)
            base = wait_for_entries(client, TOPIC, sizes.warmup, "warm-up", gateway.pid)
            raw = workdir / "stacks.txt"
            recorder = subprocess.Popen(
                [spy, "record", "--pid", str(gateway.pid), "--format", "raw", "--rate", "250",
                 "--nonblocking", "--output", str(raw)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            if args.pace:
                blaster.command(f"PACE {args.pace} 8")
                expected = base + args.pace * 8 // per_frame * per_frame
                wait_for_entries(client, TOPIC, expected, "paced run", gateway.pid)
            else:
                blaster.command(f"BLAST {sizes.events // per_frame}")
                blaster.sent(600.0)
                wait_for_entries(client, TOPIC, base + sizes.events, "blast", gateway.pid)
            recorder.send_signal(2)
            recorder.wait(60)
            out.write_text(summarise(raw))
    valkey.close()
    print(out.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
