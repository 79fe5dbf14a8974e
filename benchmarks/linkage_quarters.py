"""kinfold across a borough's quarters, as the hub runs it: every partner's extract encoded, the
quarter resolved against the person index of the quarter before. Prints JSON: per quarter the
pairwise accuracy of that quarter's persons and how many people seen before kept their id.

    python -m benchmarks.linkage_quarters BOROUGH_FOLDER
"""

from __future__ import annotations

import csv
import json
import sys
import time
from pathlib import Path

from benchmarks.linkage_tools import encode_extracts
from kinfold.linkage import (
    PersonIndex,
    cluster_accuracy,
    new_secret,
    resolve_persons,
)

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    borough = Path(sys.argv[1])
    truth: dict[tuple[str, str, str], str] = {}
    with (borough / "truth" / "records.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            truth[(row["quarter"], row["partner"], row["record_id"])] = row["person_id"]
    secret, index = new_secret(), PersonIndex.new()
    previous: dict[str, set[str]] = {}
    found = []
    for quarter in sorted(p.name for p in (borough / "extracts").iterdir()):
        started = time.perf_counter()
        tables = encode_extracts(
            borough / "extracts" / quarter, ROOT / "config" / "schemas", secret
        )
        result = resolve_persons(tables, index, quarter=quarter)
        seconds = time.perf_counter() - started
        index = PersonIndex.from_bytes(result.index.to_bytes())
        real = {k: truth[(quarter, k[0], k[1])] for k in result.persons}
        accuracy = cluster_accuracy(result.persons, real)
        ids: dict[str, set[str]] = {}
        for key, person in result.persons.items():
            ids.setdefault(real[key], set()).add(person)
        seen = [p for p in ids if p in previous]
        kept = sum(1 for p in seen if ids[p] & previous[p])
        found.append(
            {
                "quarter": quarter,
                "records": len(result.persons),
                "precision": accuracy.precision,
                "recall": accuracy.recall,
                "f1": accuracy.f1,
                "kept": f"{kept:,} of {len(seen):,}" if seen else "—",
                "seconds": seconds,
            }
        )
        previous = ids
    print(json.dumps({"quarters": found}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
