"""Synthetic borough generation: wall time, CPU time, peak memory and rows written, by size.

    python -m benchmarks.synth                      # 250,000 and 1,000,000 residents, 20 quarters
    python -m benchmarks.synth --sizes 250000 --truth-only

Each size runs in a fresh process so its peak resident memory is its own. Output goes to a
temporary folder that is removed afterwards (or to --out, kept).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import json, resource, sys, time
from kinfold.synth import generate
out, residents, quarters, extracts = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
wall, cpu = time.perf_counter(), time.process_time()
result = generate(out, residents=residents, quarters=quarters, seed=1, extracts=extracts)
print(json.dumps({
    "wall": time.perf_counter() - wall,
    "cpu": time.process_time() - cpu,
    "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "rows": result.rows_written,
    "files": len(result.files),
    "eligible": result.eligible_families,
    "improved": result.improved_families,
}))
"""


def measure(out: Path, residents: int, quarters: int, extracts: bool) -> dict[str, float]:
    """Generate one borough in a child process and return what it measured."""
    command = [
        sys.executable,
        "-c",
        CHILD,
        str(out),
        str(residents),
        str(quarters),
        str(int(extracts)),
    ]
    started = time.perf_counter()
    finished = subprocess.run(command, capture_output=True, text=True, check=True)
    measured: dict[str, float] = json.loads(finished.stdout.strip().splitlines()[-1])
    measured["process_wall"] = time.perf_counter() - started  # includes starting Python
    measured["disk_mb"] = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 2**20
    return measured


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="250000,1000000", help="residents, comma separated")
    parser.add_argument("--quarters", type=int, default=20)
    parser.add_argument("--truth-only", action="store_true", help="skip the extracts")
    parser.add_argument("--out", type=Path, help="keep the boroughs under this folder")
    args = parser.parse_args()
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",")]
    root = args.out or Path(tempfile.mkdtemp(prefix="kinfold-bench-synth-"))
    load = os.getloadavg()
    print(f"kinfold synth benchmark: {os.cpu_count()} CPUs, load average {load[0]:.1f} at start, "
          f"Python {sys.version.split()[0]}, {'truth only' if args.truth_only else 'extracts and truth'}")  # fmt: skip
    print()
    print("| residents | quarters | wall time | CPU time | peak RSS | rows written | files | on disk "
          "| eligible families | improved |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    try:
        for residents in sizes:
            out = root / f"borough-{residents}"
            m = measure(out, residents, args.quarters, not args.truth_only)
            print(
                f"| {residents:,} | {args.quarters} | {m['wall']:.0f} s | {m['cpu']:.0f} s "
                f"| {m['peak_mb']:,.0f} MB | {m['rows']:,} | {m['files']:,} | {m['disk_mb']:,.0f} MB "
                f"| {m['eligible']:,} | {m['improved']:,} |",
                flush=True,
            )
            if args.out is None:
                shutil.rmtree(out, ignore_errors=True)
    finally:
        if args.out is None:
            shutil.rmtree(root, ignore_errors=True)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}; "
          f"CPU time of all runs {children.ru_utime + children.ru_stime:.0f} s")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
