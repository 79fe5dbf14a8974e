"""Ingest benchmark: a borough's quarters through `kinfold quarter ingest`, timed and scored.

    python -m benchmarks.ingest                                   # 250,000 residents, 3 quarters
    python -m benchmarks.ingest --residents 20000 --quarters 2    # quicker
    python -m benchmarks.ingest --borough var/bench-borough       # reuse a generated borough
    python -m benchmarks.ingest --database-url postgres://postgres@127.0.0.1:5432/bench_ingest

For each quarter: seconds to encode (the partners' side), link (persons and households) and write
(one transaction), peak memory, and accuracy against the synthetic borough's truth — records into
persons (within the quarter and across every quarter so far), the persons rows name as parents
or carers, persons into households, and children to parents. Target (issue 5): ingest and link's
share of a quarter ≲ 3 minutes at 250,000 residents on 2 cores, in under 4 GB. Figures go in
docs/benchmarks.md ("## Ingest").
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import hub


def _borough(path: Path | None, residents: int, quarters: int, seed: int, work: Path) -> Path:
    if path is not None and (path / "manifest.json").exists():
        return path
    from kinfold.synth import generate

    out = path or work / "borough"
    started = time.perf_counter()
    generate(out, residents=residents, quarters=quarters, seed=seed)
    print(
        f"generated {residents:,} residents x {quarters} quarters in {time.perf_counter() - started:.0f}s"
    )
    return out


def _score(report: Any, truth_dir: Path, seen: dict[str, dict[Any, str]]) -> dict[str, Any]:
    from kinfold.ingest import evaluate
    from kinfold.ingest.models import PartnerRecord
    from kinfold.people.models import HouseholdMember, ParentLink

    quarter = report.quarter
    truth = evaluate.read_truth(truth_dir, quarter)
    records, related = evaluate.split_linked(report.linked)
    within = evaluate.person_accuracy(records, truth)
    named = evaluate.all_records_accuracy(records, related, truth)
    stored = PartnerRecord.objects.filter(quarter=quarter).values_list(
        "organisation__partner_id", "source_ref", "person__pid"
    )
    seen["found"].update({(quarter, p, r): pid for p, r, pid in stored})
    seen["truth"].update({(quarter, *k): v for k, v in truth.records.items()})
    # persons merged later go by their survivor's id in the records: re-read every quarter's
    everyone = PartnerRecord.objects.values_list(
        "quarter", "organisation__partner_id", "source_ref", "person__pid"
    )
    seen["found"] = {(q, p, r): pid for q, p, r, pid in everyone}
    across = evaluate.clustering_accuracy(seen["found"], seen["truth"])
    who = evaluate.true_person_of(records, truth, related)
    members = dict(
        HouseholdMember.objects.filter(quarter=quarter).values_list("person__pid", "household__hid")
    )
    homes = evaluate.household_accuracy(members, who, truth)
    links = set(ParentLink.objects.filter(quarter=quarter).values_list("child__pid", "parent__pid"))
    parents = evaluate.parent_link_accuracy(links, who, truth)
    return {
        "records (this quarter)": within,
        "records (every quarter so far)": across,
        "records and named persons": named,
        "households": homes.accuracy,
        "parent links": parents,
        "unplaced": homes.unplaced,
        "placed": homes.placed,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=250_000)
    parser.add_argument("--quarters", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--borough", type=Path, help="a borough folder to reuse (made if absent)")
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temporary folder")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kinfold-bench-ingest-") as temporary:
        work = Path(temporary)
        url = hub.setup(args.database_url, work, "ingest")
        borough = _borough(args.borough, args.residents, args.quarters, args.seed, work)
        hub.fresh_database(work, "ingest")
        from kinfold.ingest import services

        quarters = sorted(p.name for p in (borough / "extracts").iterdir())[: args.quarters]
        print(f"{platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores; "
              f"database {url.split(':', 1)[0]}; borough {borough}")  # fmt: skip
        seen: dict[str, dict[Any, str]] = {"found": {}, "truth": {}}
        rows = []
        for quarter in quarters:
            started = time.perf_counter()
            report = services.ingest_quarter(borough / "extracts" / quarter)
            total = time.perf_counter() - started
            scores = _score(report, borough / "truth", seen)
            rows.append((quarter, report, total, hub.peak_mb(), scores))
            _print_quarter(quarter, report, total, scores)
        _print_table(rows)
    return 0


def _print_quarter(quarter: str, report: Any, total: float, scores: dict[str, Any]) -> None:
    print(
        f"\n{quarter}: {total:.1f}s "
        + ", ".join(f"{k} {v:.1f}s" for k, v in report.seconds.items())
    )
    for line in report.lines()[-3:]:
        print("  " + line)
    for name, accuracy in scores.items():
        if hasattr(accuracy, "precision"):
            print(f"  {name:<32} precision {accuracy.precision:.4f} recall {accuracy.recall:.4f} "
                  f"F1 {accuracy.f1:.4f} ({accuracy.true_positives:,} true pairs found)")  # fmt: skip
    sys.stdout.flush()


def _print_table(rows: list[tuple[str, Any, float, float, dict[str, Any]]]) -> None:
    print("\n| quarter | records | persons | encode | link | write | total | peak MB | "
          "records P / R | across quarters P / R | households P / R | parent links P / R |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for quarter, report, total, peak, s in rows:
        seconds = report.seconds
        cells = [
            quarter,
            f"{report.records:,}",
            f"{report.persons:,}",
            f"{seconds.get('encode', 0):.1f}s",
            f"{seconds.get('link', 0):.1f}s",
            f"{seconds.get('write', 0):.1f}s",
            f"{total:.1f}s",
            f"{peak:,.0f}",
            *(
                f"{s[k].precision:.4f} / {s[k].recall:.4f}"
                for k in (
                    "records (this quarter)",
                    "records (every quarter so far)",
                    "households",
                    "parent links",
                )
            ),
        ]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    raise SystemExit(main())
