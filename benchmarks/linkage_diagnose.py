"""Where kinfold's persons go wrong on a synthetic borough quarter, against the truth.

    python -m benchmarks.linkage_diagnose BOROUGH_FOLDER [--quarter 2015Q2] [--two-quarters]
        [--reencode] [--examples 5] [--settings FILE]

Encodes every partner's extract (cached under benchmarks/out/linkage/diagnose/, made again with
``--reencode`` or when the linkage code changed), resolves the quarter as the hub does and breaks
the pairwise errors down: missed pairs (false negatives) and wrong pairs (false positives) by
partner pair, by the recording errors on the two records, by which fields the records hold, and
for wrong pairs by how the two true people are related (twins, the same name and birthday,
household members, parent and child …). Also counts, per record, whether it was split from its
person or merged into another (pair counts weigh big clusters quadratically; records do not).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from itertools import combinations
from pathlib import Path
from typing import Any

from benchmarks.linkage_tools import partner_extracts
from kinfold.linkage import (
    EncodedTable,
    PersonIndex,
    Settings,
    cluster_accuracy,
    encode,
    read_rows,
    resolve_persons,
)

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "benchmarks" / "out" / "linkage" / "diagnose"
SECRET = b"diagnose-secret-0123456789abcdef"
Key = tuple[str, str]


def code_version() -> str:
    """A digest of the linkage code that makes encodings (a changed encoder re-encodes)."""
    digest = hashlib.sha256()
    folder = ROOT / "src" / "kinfold" / "linkage"
    for path in sorted([*folder.glob("_*.py"), folder / "settings.toml", *folder.glob("data/*")]):
        if path.name in {"_encode.py", "_normalise.py", "_bloom.py", "_keys.py", "_columns.py"} or (
            path.suffix in {".toml", ".txt"}
        ):
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def encoded_quarter(
    borough: Path, quarter: str, settings: Settings, reencode: bool
) -> list[EncodedTable]:
    folder = CACHE / f"{borough.name}-{code_version()}-{settings.encoding_fingerprint()}" / quarter
    folder.mkdir(parents=True, exist_ok=True)
    tables = []
    extracts = partner_extracts(borough / "extracts" / quarter, ROOT / "config" / "schemas")
    for partner, path, column_map in extracts:
        cached = folder / f"{partner}.kfe"
        if cached.exists() and not reencode:
            tables.append(EncodedTable.read(cached))
            continue
        rows = read_rows(path, column_map, allow_no_rows=True)
        table = encode(
            rows, column_map, SECRET, settings, source=partner, bad_values="blank", file=path
        )
        table.write(cached)
        tables.append(table)
    return tables


def plaintext(borough: Path, quarter: str) -> dict[Key, dict[str, str]]:
    """Each record's identity fields as the partner wrote them (for coverage and examples)."""
    found: dict[Key, dict[str, str]] = {}
    extracts = partner_extracts(borough / "extracts" / quarter, ROOT / "config" / "schemas")
    for partner, path, column_map in extracts:
        for raw in read_rows(path, column_map, allow_no_rows=True):
            record = (raw.get(column_map.record_id or "") or "").strip()
            found[(partner, record)] = {
                name: source.value(raw) for name, source in column_map.fields.items()
            }
    return found


def truth(borough: Path) -> tuple[dict[tuple[str, str, str], dict[str, str]], dict[str, Any]]:
    records: dict[tuple[str, str, str], dict[str, str]] = {}
    with (borough / "truth" / "records.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            records[(row["quarter"], row["partner"], row["record_id"])] = row
    persons: dict[str, dict[str, str]] = {}
    with (borough / "truth" / "persons.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            persons[row["person_id"]] = row
    homes: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    with (borough / "truth" / "membership.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            homes[row["person_id"]]["household"].add(row["household_id"])
            homes[row["person_id"]]["uprn"].add(row["uprn"])
    return records, {"persons": persons, "homes": homes}


def coverage(values: Mapping[str, str]) -> str:
    """Which of dob / address / reference a record holds: 'name+dob+addr+ref' and so on."""
    parts = ["name" if values.get("given_name") or values.get("surname") else "noname"]
    if values.get("dob"):
        parts.append("dob")
    if values.get("address") or values.get("postcode"):
        parts.append("addr")
    if any(values.get(r) for r in ("nhs_number", "ni_number", "upn", "uprn")):
        parts.append("ref")
    return "+".join(parts)


def relation(a: str, b: str, people: dict[str, Any]) -> str:
    """How two different true people are related, as far as the truth says."""
    persons, homes = people["persons"], people["homes"]
    pa, pb = persons.get(a, {}), persons.get(b, {})
    if pa.get("twin_of") == b or pb.get("twin_of") == a:
        return "twins"
    if pa.get("same_name_as") == b or pb.get("same_name_as") == a:
        return "same name and birthday"
    if b in (pa.get("mother_id"), pa.get("father_id")) or a in (
        pb.get("mother_id"),
        pb.get("father_id"),
    ):
        same = homes[a]["household"] & homes[b]["household"]
        return "parent and child" + (" (same home)" if same else "")
    if (pa.get("mother_id") and pa.get("mother_id") == pb.get("mother_id")) or (
        pa.get("father_id") and pa.get("father_id") == pb.get("father_id")
    ):
        return "siblings"
    if homes[a]["household"] & homes[b]["household"]:
        return "same household"
    if homes[a]["uprn"] & homes[b]["uprn"]:
        return "same home, other time"
    same_name = pa.get("given_name") == pb.get("given_name") and pa.get("surname") == pb.get(
        "surname"
    )
    if same_name and pa.get("dob") == pb.get("dob"):
        return "unrelated, same name and dob"
    if same_name:
        return "unrelated, same name"
    if pa.get("surname") == pb.get("surname"):
        return "unrelated, same surname"
    return "unrelated"


def errors_of(row: Mapping[str, str]) -> list[str]:
    return [e for e in row.get("errors", "").split(";") if e]


def diagnose(
    found: Mapping[Key, str],
    quarter: str,
    records: Mapping[tuple[str, str, str], Mapping[str, str]],
    people: dict[str, Any],
    plain: Mapping[Key, Mapping[str, str]],
    examples: int,
) -> dict[str, Any]:
    real = {k: records[(quarter, *k)]["person_id"] for k in found}
    accuracy = cluster_accuracy(found, real)
    by_person: dict[str, list[Key]] = defaultdict(list)
    by_cluster: dict[str, list[Key]] = defaultdict(list)
    for key, person in real.items():
        by_person[person].append(key)
    for key, cluster in found.items():
        by_cluster[cluster].append(key)
    report: dict[str, Any] = {
        "records": len(found),
        "precision": accuracy.precision,
        "recall": accuracy.recall,
        "f1": accuracy.f1,
        "tp": accuracy.true_positives,
        "fp": accuracy.false_positives,
        "fn": accuracy.false_negatives,
    }
    cross = cross_partner(found, real)
    report["cross-partner only"] = cross
    # missed pairs
    fn_partners: Counter[str] = Counter()
    fn_errors: Counter[str] = Counter()
    fn_cover: Counter[str] = Counter()
    fn_examples: list[Any] = []
    for members in by_person.values():
        for a, b in combinations(sorted(members), 2):
            if found[a] == found[b]:
                continue
            fn_partners[" / ".join(sorted((a[0], b[0])))] += 1
            ea, eb = errors_of(records[(quarter, *a)]), errors_of(records[(quarter, *b)])
            for e in set(ea) | set(eb) or {"(none)"}:
                fn_errors[e] += 1
            fn_cover[" / ".join(sorted((coverage(plain[a]), coverage(plain[b]))))] += 1
            if len(fn_examples) < examples:
                fn_examples.append((a, dict(plain[a]), ea, b, dict(plain[b]), eb))
    # wrong pairs
    fp_partners: Counter[str] = Counter()
    fp_relation: Counter[str] = Counter()
    fp_cover: Counter[str] = Counter()
    fp_errors: Counter[str] = Counter()
    fp_examples: list[Any] = []
    for members in by_cluster.values():
        for a, b in combinations(sorted(members), 2):
            pa, pb = real[a], real[b]
            if pa == pb:
                continue
            fp_partners[" / ".join(sorted((a[0], b[0])))] += 1
            fp_relation[relation(pa, pb, people)] += 1
            fp_cover[" / ".join(sorted((coverage(plain[a]), coverage(plain[b]))))] += 1
            ea, eb = errors_of(records[(quarter, *a)]), errors_of(records[(quarter, *b)])
            for e in set(ea) | set(eb) or {"(none)"}:
                fp_errors[e] += 1
            if len(fp_examples) < examples:
                fp_examples.append(
                    (a, dict(plain[a]), pa, b, dict(plain[b]), pb, relation(pa, pb, people))
                )
    report["missed pairs"] = {
        "by partners": dict(fn_partners.most_common(15)),
        "by recording error (either record)": dict(fn_errors.most_common()),
        "by coverage": dict(fn_cover.most_common(12)),
        "examples": fn_examples,
    }
    report["wrong pairs"] = {
        "by partners": dict(fp_partners.most_common(15)),
        "by relation": dict(fp_relation.most_common()),
        "by recording error (either record)": dict(fp_errors.most_common()),
        "by coverage": dict(fp_cover.most_common(12)),
        "examples": fp_examples,
    }
    report["per record"] = record_view(by_person, by_cluster, found, real, records, quarter, plain)
    report["name-only records"] = name_only(found, real, plain)
    return report


def _name_key(values: Mapping[str, str]) -> tuple[str, str]:
    from kinfold.linkage import _normalise as norm

    given = norm.given_name(values.get("given_name") or "")[1]
    return given, norm.surname(values.get("surname") or "")


def name_only(
    found: Mapping[Key, str], real: Mapping[Key, str], plain: Mapping[Key, Mapping[str, str]]
) -> dict[str, Any]:
    """Records with a name and nothing else (no date of birth, address, postcode or reference
    number): how many could be placed at all, how many share their name with another person who
    has records this quarter (then no one can tell which of them it is), and what was done."""
    people_by_name: dict[tuple[str, str], set[str]] = defaultdict(set)
    for key, values in plain.items():
        people_by_name[_name_key(values)].add(real[key])
    records_of: dict[str, list[Key]] = defaultdict(list)
    for key, person in real.items():
        records_of[person].append(key)
    members: dict[str, list[Key]] = defaultdict(list)
    for key, cluster in found.items():
        members[cluster].append(key)
    outcome: Counter[str] = Counter()
    for key, values in plain.items():
        if coverage(values) != "name":
            continue
        person = real[key]
        others = [k for k in records_of[person] if k != key]
        namesakes = people_by_name[_name_key(values)] - {person}
        kind = "a namesake has records" if namesakes else "no namesake in the data"
        if not others:
            kind += ", the person's only record"
        together = [k for k in members[found[key]] if k != key]
        right = sum(1 for k in together if real[k] == person)
        wrong = len(together) - right
        if not together:
            done = "left alone" + (" (right)" if not others else f" (misses {len(others)})")
        elif wrong:
            done = f"joined another person ({wrong} wrong pairs, {right} right)"
        else:
            done = "joined its person" + (" (all)" if right == len(others) else " (part)")
        outcome[f"{kind}: {done}"] += 1
    return {"total": sum(outcome.values()), **dict(sorted(outcome.items()))}


def cross_partner(found: Mapping[Key, str], real: Mapping[Key, str]) -> dict[str, float]:
    """Pairwise accuracy over pairs of records from different partners only."""

    def pairs(clusters: Mapping[Key, str]) -> set[tuple[Key, Key]]:
        groups: dict[str, list[Key]] = defaultdict(list)
        for k, c in clusters.items():
            groups[c].append(k)
        out = set()
        for members in groups.values():
            for a, b in combinations(sorted(members), 2):
                if a[0] != b[0]:
                    out.add((a, b))
        return out

    made, true = pairs(found), pairs(real)
    tp = len(made & true)
    p = tp / len(made) if made else 1.0
    r = tp / len(true) if true else 1.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}


def record_view(
    by_person: Mapping[str, list[Key]],
    by_cluster: Mapping[str, list[Key]],
    found: Mapping[Key, str],
    real: Mapping[Key, str],
    records: Mapping[tuple[str, str, str], Mapping[str, str]],
    quarter: str,
    plain: Mapping[Key, Mapping[str, str]],
) -> dict[str, Any]:
    """Per record: split off its person (not with the majority of its person's records) or
    holding another person (its cluster has records of a person whose majority is elsewhere)."""
    split: Counter[str] = Counter()
    split_cover: Counter[str] = Counter()
    for members in by_person.values():
        if len(members) < 2:
            continue
        majority = Counter(found[k] for k in members).most_common(1)[0][0]
        for k in members:
            if found[k] != majority:
                split[k[0]] += 1
                split_cover[f"{k[0]}: {coverage(plain[k])}"] += 1
    merged: Counter[str] = Counter()
    for members in by_cluster.values():
        people = Counter(real[k] for k in members)
        if len(people) < 2:
            continue
        main = people.most_common(1)[0][0]
        for k in members:
            if real[k] != main:
                merged[k[0]] += 1
    return {
        "records split from their person, by partner": dict(split.most_common()),
        "split records by partner and coverage": dict(split_cover.most_common(15)),
        "records merged into another person, by partner": dict(merged.most_common()),
    }


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.linkage_diagnose")
    parser.add_argument("borough", type=Path)
    parser.add_argument("--quarter", default="2015Q2")
    parser.add_argument("--two-quarters", action="store_true", help="the quarter and the next")
    parser.add_argument("--reencode", action="store_true")
    parser.add_argument("--examples", type=int, default=0)
    parser.add_argument("--settings", type=Path)
    parser.add_argument("--json", type=Path, help="write the full report here")
    args = parser.parse_args(list(argv) if argv is not None else None)
    settings = Settings.load(args.settings) if args.settings else Settings.default()
    records, people = truth(args.borough)
    quarters = sorted(p.name for p in (args.borough / "extracts").iterdir())
    chosen = quarters[quarters.index(args.quarter) :][: 2 if args.two_quarters else 1]
    index = PersonIndex.new(b"diagnose-namespace-0123456789abc")
    out = {}
    previous: dict[str, set[str]] = {}
    for quarter in chosen:
        tables = encoded_quarter(args.borough, quarter, settings, args.reencode)
        started = time.perf_counter()
        result = resolve_persons(tables, index, quarter=quarter, settings=settings)
        seconds = time.perf_counter() - started
        index = result.index
        report = diagnose(
            result.persons,
            quarter,
            records,
            people,
            plaintext(args.borough, quarter),
            args.examples,
        )
        report["seconds (resolve only)"] = round(seconds, 2)
        ids: dict[str, set[str]] = defaultdict(set)
        for key, person in result.persons.items():
            ids[records[(quarter, *key)]["person_id"]].add(person)
        seen = [p for p in ids if p in previous]
        if seen:
            report["kept their id"] = (
                f"{sum(1 for p in seen if ids[p] & previous[p])} of {len(seen)}"
            )
        previous = ids
        out[quarter] = report
    text = json.dumps(out, indent=1, default=str)
    if args.json:
        args.json.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
