"""Programme benchmark: whole quarters (ingest, link, identify) for a borough, timed, and
identification scored against the synthetic borough's ground truth.

    python -m benchmarks.programme                                  # 250,000 residents, 20 quarters
    python -m benchmarks.programme --residents 20000 --quarters 8   # quicker
    python -m benchmarks.programme --borough var/bench-borough      # reuse a generated borough
    python -m benchmarks.programme --data observed                  # skip ingest: perfect linkage
    python -m benchmarks.programme --processes                      # each command its own process
    python -m benchmarks.programme --database-url postgres://postgres@127.0.0.1:5432/bench_programme

`--data` chooses what identification runs on:

- `pipeline` (the default): partners' extracts through `kinfold quarter ingest` (encode, link,
  write), then `kinfold quarter identify`, quarter by quarter — what a council runs;
- `observed`: the truth loaded as a perfect ingest would leave it (every record in its true
  person, persons in their true homes, only people some partner sent a record about): what
  identification could do with perfect linkage;
- `complete`: as `observed`, with every resident in their home every quarter (and so with
  `KINFOLD_UNSEEN_AT_HOME_QUARTERS` and `KINFOLD_UNSEEN_FAMILY_QUARTERS` at 0): checks the
  programme's own rules against the reference rules.

With `--processes` each quarter's `kinfold quarter ingest` and `kinfold quarter identify` run as
separate commands, as an operator runs them, and the memory column is the largest peak of any one
command so far (otherwise it is this process's peak, which grows as quarters accumulate).

Targets (issue 5): a full quarter in under 5 minutes on 2 cores in under 4 GB; 20 quarters in
under an hour; precision and recall of at least 0.98 and the number of families that improved
and stayed improved within 2%. Figures go in docs/benchmarks.md ("## Programme").
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import hub


def _borough(path: Path | None, residents: int, quarters: int, seed: int, work: Path) -> Path:
    from kinfold.synth import generate

    out = path or work / "borough"
    if (out / "manifest.json").exists():
        print(f"reusing the borough in {out}")
        return out
    started = time.perf_counter()
    generate(out, residents=residents, seed=seed, quarters=quarters)
    print(
        f"generated {residents:,} residents, {quarters} quarters in {time.perf_counter() - started:.0f} s"
    )
    return out


def _quarters(borough: Path, count: int | None) -> list[str]:
    found = sorted(p.name for p in (borough / "extracts").iterdir() if p.is_dir())
    if not found:  # a truth-only borough
        import json

        manifest = json.loads((borough / "manifest.json").read_text())
        from kinfold.quarters import Quarter, quarter_range

        first = Quarter.parse(manifest.get("start", "2015Q2"))
        found = [str(q) for q in quarter_range(first, int(manifest.get("quarters", 20)))]
    return found[:count] if count else found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=250_000)
    parser.add_argument("--quarters", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--borough", type=Path, help="a borough folder to reuse (made if absent)")
    parser.add_argument("--data", choices=("pipeline", "observed", "complete"), default="pipeline")
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temporary folder")
    parser.add_argument(
        "--processes",
        action="store_true",
        help="run each quarter's commands as `kinfold` processes",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kinfold-bench-programme-") as tmp:
        work = Path(tmp)
        url = hub.setup(args.database_url, work, "programme")
        borough = _borough(args.borough, args.residents, args.quarters, args.seed, work)
        hub.fresh_database(work, "programme")
        print(
            f"kinfold programme benchmark: {args.data}, {url.split(':')[0]}, Python "
            f"{platform.python_version()}, {os.cpu_count()} cores"
        )
        rows = _run(args.data, borough, _quarters(borough, args.quarters), work, args.processes)
    _print_table(rows)
    return 0


def _command(*args: str) -> None:
    """Run one `kinfold` command in its own process, as an operator would."""
    import subprocess

    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    subprocess.run(
        [sys.executable, "-m", "kinfold", *args], check=True, env=env, stdout=subprocess.DEVNULL
    )


def _children_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def _run(
    data: str, borough: Path, quarters: list[str], work: Path, processes: bool = False
) -> list[tuple[str, ...]]:
    from kinfold.ingest import services as ingest
    from kinfold.programme import accuracy
    from kinfold.programme.identification import identify

    rows: list[tuple[str, ...]] = []
    if data == "complete":
        # Every resident is in the data every quarter: nobody needs presuming at home.
        from django.conf import settings

        settings.KINFOLD_UNSEEN_AT_HOME_QUARTERS = 0
        settings.KINFOLD_UNSEEN_FAMILY_QUARTERS = 0
    if data != "pipeline":
        started = time.perf_counter()
        schemas = Path(__file__).resolve().parents[1] / "config" / "schemas"
        accuracy.load_truth(borough / "truth", schemas, quarters, everyone=data == "complete")
        print(
            f"loaded the truth as a perfect ingest would in {time.perf_counter() - started:.0f} s"
        )
    begun = time.perf_counter()
    done: list[str] = []
    for quarter in quarters:
        ingest_s = 0.0
        if data == "pipeline":
            started = time.perf_counter()
            try:
                if processes:
                    _command("quarter", "ingest", str(borough / "extracts" / quarter))
                else:
                    ingest.ingest_quarter(
                        borough / "extracts" / quarter, partner_dir=work / "partners"
                    )
            except Exception as exc:  # report what was measured before the failure
                print(f"ingest of {quarter} failed, stopping: {type(exc).__name__}: {exc}")
                break
            ingest_s = time.perf_counter() - started
        started = time.perf_counter()
        if processes:
            from kinfold.programme.models import IdentificationRun

            _command("quarter", "identify", quarter)
            run = IdentificationRun.objects.filter(quarter=quarter).order_by("-created_at").first()
            assert run is not None
        else:
            run = identify(quarter)
        identify_s = time.perf_counter() - started
        counts = run.counts
        row = (
            quarter,
            f"{ingest_s:.1f}",
            f"{identify_s:.1f}",
            f"{ingest_s + identify_s:.1f}",
            f"{_children_peak_mb() if processes else hub.peak_mb():,.0f}",
            f"{counts['households']:,}",
            f"{counts['families_formed']:,}",
            f"{counts['flags_read']:,}",
            f"{counts['eligible']:,}",
            f"{counts['newly_identified']:,}",
        )
        rows.append(row)
        done.append(quarter)
        print("  ".join(row), flush=True)
    total = time.perf_counter() - begun
    if not done:
        return rows
    score = accuracy.evaluate(borough / "truth", done[-1], perfect=data != "pipeline")
    print(f"{len(done)} quarters in {total / 60:.1f} minutes; peak RSS {hub.peak_mb():,.0f} MB")
    for line in score.lines():
        print(line)
    return rows


def _print_table(rows: list[tuple[str, ...]]) -> None:
    print()
    print(
        "| quarter | ingest s | identify s | quarter s | peak RSS MB | households "
        "| families formed | flags read | eligible | newly identified |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    sys.exit(main())
