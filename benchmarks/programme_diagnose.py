"""What identification's false positives and false negatives are made of, against the truth.

    python -m benchmarks.programme_diagnose --borough var/acc-borough-20k --quarters 8 \
        --work var/diag/observed --data observed --save var/diag/observed.json
    PYTHONHASHSEED=0 python -m benchmarks.programme_diagnose --borough var/acc-borough-20k \
        --work var/diag/pipeline --fresh --compare var/diag/observed.json

Runs the quarters (as `benchmarks.programme` does) into a database kept in ``--work`` (reused
when it already holds the runs, unless ``--fresh``; with ``--reidentify``, only identification
runs again on the quarters it holds), then lists each false positive and false
negative family with why: for an identified family, each member, the true family that person lives
in, the flags behind each problem and whose they truly are, and for a parent living elsewhere the
child's rows that linked them and whom those rows truly name; for a missed family, its members,
where kinfold placed them, their problem events, and (``--compare``) whether another run — say,
with perfect linkage — missed it too. The partners' secret is kept in ``--work``/partners, so with
``PYTHONHASHSEED`` fixed a run is repeatable and two versions of the code can be compared.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def _prepare(args: argparse.Namespace) -> None:
    from benchmarks import hub
    from benchmarks import programme as bench

    args.work.mkdir(parents=True, exist_ok=True)
    hub.setup(None, args.work, "programme")
    from kinfold.programme.models import IdentificationRun

    quarters = bench._quarters(args.borough, args.quarters)
    database = hub.sqlite_file(args.work, "programme")
    done = False
    if database.exists() and not args.fresh:
        try:
            done = IdentificationRun.objects.filter(quarter=quarters[-1], status="done").exists()
        except Exception:  # an empty or old file: run again
            done = False
    if not done:
        hub.fresh_database(args.work, "programme")
        bench._run(args.data, args.borough, quarters, args.work)
    elif args.reidentify:
        _reidentify(quarters)
    args.quarter_list = quarters


def _reidentify(quarters: list[str]) -> None:
    """Forget the families and identification runs, and identify each quarter again on the
    data already ingested (ingest does not read families): a change to identification alone is
    measured in minutes, where running the quarters again takes half an hour at 250,000. The
    data is then as the last quarter's ingest left it (later quarters' merges have rewritten
    earlier quarters' persons), so the figures differ a little from a run of the quarters in
    turn: compare a change against the same database identified again without it."""
    import time

    from kinfold.people.models import Family
    from kinfold.programme.identification import identify
    from kinfold.programme.models import IdentificationRun

    started = time.perf_counter()
    IdentificationRun.objects.all().delete()
    Family.objects.all().delete()
    for quarter in quarters:
        identify(quarter)
    print(f"identified {len(quarters)} quarters again in {time.perf_counter() - started:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--borough", type=Path, required=True)
    parser.add_argument("--quarters", type=int, default=8)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--data", choices=("pipeline", "observed"), default="pipeline")
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument(
        "--reidentify",
        action="store_true",
        help="keep the ingested quarters in --work, run identification on them again",
    )
    parser.add_argument("--save", type=Path, help="write the outcome per true family (JSON)")
    parser.add_argument("--compare", type=Path, help="a --save of another run (say, observed)")
    parser.add_argument("--examples", type=int, default=100)
    args = parser.parse_args(argv)
    _prepare(args)
    report = diagnose(args.borough / "truth", args.quarter_list[-1], args.data != "pipeline")
    if args.compare:
        report.compare(json.loads(args.compare.read_text()))
    report.print(args.examples)
    if args.save:
        args.save.write_text(json.dumps(report.summary(), indent=1, sort_keys=True))
    return 0


# ---------------------------------------------------------------------------- the truth


def _rows(truth: Path, name: str) -> Iterator[dict[str, str]]:
    with (truth / name).open(newline="", encoding="utf-8") as handle:
        yield from csv.DictReader(handle)


@dataclass
class Truth:
    persons: dict[str, dict[str, str]]
    #: quarter → true person → (resident family, role, uprn, parent elsewhere of)
    at: dict[str, dict[str, tuple[str, str, str, str]]]
    families: dict[str, dict[str, str]]
    #: (quarter, partner, record id) → (true person, the person the row names, if any)
    records: dict[tuple[str, str, str], tuple[str, str]]
    problems: dict[tuple[str, str], set[str]]  # (quarter, family) → problems
    events: list[dict[str, str]]

    @classmethod
    def read(cls, truth: Path, quarters: list[str]) -> Truth:
        at: dict[str, dict[str, tuple[str, str, str, str]]] = {q: {} for q in quarters}
        for row in _rows(truth, "membership.csv"):
            for q in quarters:
                if row["from_quarter"] <= q <= row["to_quarter"]:
                    at[q].setdefault(
                        row["person_id"],
                        (row["family_id"], row["role"], row["uprn"], row["parent_elsewhere_of"]),
                    )
        problems: dict[tuple[str, str], set[str]] = defaultdict(set)
        for row in _rows(truth, "problems.csv"):
            problems[row["quarter"], row["family_id"]].add(row["problem"])
        return cls(
            persons={r["person_id"]: r for r in _rows(truth, "persons.csv")},
            at=at,
            families={r["family_id"]: r for r in _rows(truth, "families.csv")},
            records={
                (r["quarter"], r["partner"], r["record_id"]): (
                    r["person_id"],
                    r["related_person_id"],
                )
                for r in _rows(truth, "records.csv")
            },
            problems=problems,
            events=[r for r in _rows(truth, "events.csv") if r["quarter"] in at and r["problem"]],
        )

    def family_of(self, quarter: str, person: str) -> tuple[str, str]:
        """(resident family, family they are a parent elsewhere of) at the quarter."""
        found = self.at.get(quarter, {}).get(person)
        return (found[0], found[3]) if found else ("", "")

    def in_family(self, quarter: str, person: str, family: str) -> bool:
        return bool(family) and family in self.family_of(quarter, person)

    def relation(self, a: str, b: str) -> str:
        """How true person a relates to true person b (for wrong links)."""
        pa, pb = self.persons.get(a, {}), self.persons.get(b, {})
        if not pa or not pb:
            return "?"
        if pa.get("twin_of") == b or pb.get("twin_of") == a:
            return "twin"
        if b in (pa.get("mother_id"), pa.get("father_id")):
            return "parent"
        if a in (pb.get("mother_id"), pb.get("father_id")):
            return "child"
        if pa.get("mother_id") and pa.get("mother_id") == pb.get("mother_id"):
            return "sibling"
        if (pa["given_name"], pa["surname"]) == (pb["given_name"], pb["surname"]):
            return "namesake"
        if pa["surname"] == pb["surname"]:
            return "same surname"
        return "unrelated"


# ---------------------------------------------------------------------------- kinfold's side


@dataclass
class Kinfold:
    pid_of: dict[int, str]
    true_of: dict[str, str]  # pid → majority true person
    votes: dict[str, Counter[str]]  # pid → true persons of its records
    home: dict[tuple[str, str], str]  # (quarter, pid) → household hid
    first_record: dict[str, str] = field(default_factory=dict)  # pid → first quarter with a record

    @classmethod
    def read(cls, truth: Truth) -> Kinfold:
        from kinfold.ingest.models import PartnerRecord
        from kinfold.people.models import HouseholdMember, Person

        pid_of = dict(Person.objects.values_list("pk", "pid"))
        votes: dict[str, Counter[str]] = defaultdict(Counter)
        first_record: dict[str, str] = {}
        for quarter, partner, ref, person in PartnerRecord.objects.filter(
            person__isnull=False
        ).values_list("quarter", "organisation__partner_id", "source_ref", "person_id"):
            pid = pid_of[person]
            first_record[pid] = min(first_record.get(pid, quarter), quarter)
            row = truth.records.get((quarter, partner, ref))
            if row is not None:
                votes[pid_of[person]][row[0]] += 1
        # persons known only as a parent or carer named on rows: who the rows name
        from kinfold.people.models import Identity

        named: dict[str, Counter[str]] = defaultdict(Counter)
        for person, partner, ref, quarter in Identity.objects.filter(
            source_ref__contains="/"
        ).values_list("person_id", "organisation__partner_id", "source_ref", "first_quarter"):
            row = truth.records.get((quarter, partner, ref.rsplit("/", 1)[0]))
            if row is not None and row[1]:
                named[pid_of[person]][row[1]] += 1
        for pid, counted in named.items():
            if pid not in votes:
                votes[pid] = counted
        home = {
            (q, pid_of[p]): h
            for q, p, h in HouseholdMember.objects.values_list(
                "quarter", "person_id", "household__hid"
            )
        }
        return cls(
            pid_of,
            {pid: c.most_common(1)[0][0] for pid, c in votes.items()},
            votes,
            home,
            first_record,
        )

    @staticmethod
    def records_of(person: int, code: str, day: Any) -> list[tuple[str, str, str]]:
        """(quarter, partner, record id) of the records behind one of a person's flags."""
        from kinfold.ingest.models import Indicator

        return list(
            Indicator.objects.filter(person_id=person, code=code, date=day).values_list(
                "record__quarter", "record__organisation__partner_id", "record__source_ref"
            )
        )


# ---------------------------------------------------------------------------- diagnosis


@dataclass
class Case:
    kind: str  # "false positive" / "false negative"
    family: str  # kinfold fid or true family id
    cause: str
    lines: list[str] = field(default_factory=list)


@dataclass
class Report:
    cases: list[Case]
    score: Any
    outcome: dict[str, str]  # true family → found / missed (for eligible ones)

    def summary(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "causes": [(c.kind, c.family, c.cause) for c in self.cases],
        }

    def compare(self, other: dict[str, Any]) -> None:
        for case in self.cases:
            if case.kind == "false negative":
                seen = other["outcome"].get(case.family, "?")
                case.lines.insert(0, f"  in the compared run: {seen}")
                if seen == "missed":
                    case.cause = "also missed there: " + case.cause

    def print(self, examples: int) -> None:
        for line in self.score.lines():
            print(line)
        for kind in ("false positive", "false negative"):
            counted = Counter(c.cause for c in self.cases if c.kind == kind)
            print(f"\n{kind}s: {sum(counted.values())}")
            for cause, n in counted.most_common():
                print(f"  {n:3d}  {cause}")
        for case in self.cases[:examples]:
            print(f"\n{case.kind} {case.family}: {case.cause}")
            for line in case.lines:
                print(line)


def diagnose(truth_dir: Path, last: str, perfect: bool) -> Report:
    from kinfold.programme import accuracy
    from kinfold.quarters import Quarter, quarter_range

    first = min(r.quarter for r in _identified_runs())
    quarters = [
        str(q)
        for q in quarter_range(
            Quarter.parse(first), Quarter.parse(last).index - Quarter.parse(first).index + 1
        )
    ]
    truth = Truth.read(truth_dir, quarters)
    kin = Kinfold.read(truth)
    if perfect:
        kin.true_of = {pid: pid[1:] for pid in kin.pid_of.values()}
    found = accuracy.identified()
    membership = accuracy.read_membership(truth_dir, {f.identified for f in found})
    score = accuracy.score(found, accuracy.read_families(truth_dir), membership, kin.true_of, last)
    cases: list[Case] = []
    matched: dict[str, str] = {}
    for family in sorted(found, key=lambda f: (f.identified, f.fid)):
        true_family = accuracy._true_family(family, membership, kin.true_of)
        eligible = bool(true_family and truth.families.get(true_family, {}).get("eligible_quarter"))
        if eligible and true_family not in matched:
            matched[true_family] = family.fid  # type: ignore[index]
            continue
        cases.append(_false_positive(family, true_family, eligible, matched, truth, kin))
    outcome = {}
    for fid, row in truth.families.items():
        if row["eligible_quarter"] and row["eligible_quarter"] <= last:
            outcome[fid] = "found" if fid in matched else "missed"
            if fid not in matched:
                cases.append(_false_negative(fid, row, truth, kin, found, last))
    return Report(cases, score, outcome)


def _identified_runs() -> list[Any]:
    from kinfold.programme.models import IdentificationRun

    return list(IdentificationRun.objects.filter(status="done"))


def _members(fid: str, quarter: str) -> list[tuple[str, str]]:
    from kinfold.people.models import FamilyMember

    return sorted(
        FamilyMember.objects.filter(family__fid=fid, quarter=quarter).values_list(
            "person__pid", "role"
        )
    )


def _evidence(fid: str, quarter: str) -> list[tuple[str, str, str, Any, str, int]]:
    from kinfold.programme.models import ProblemEvidence

    return list(
        ProblemEvidence.objects.filter(
            eligible__family__fid=fid, eligible__run__quarter=quarter, eligible__run__status="done"
        )
        .values_list("problem", "person__pid", "code", "date", "quarter", "person_id")
        .order_by("quarter", "problem")
    )


def _describe(pid: str, role: str, quarter: str, truth: Truth, kin: Kinfold, target: str) -> str:
    person = kin.true_of.get(pid, "?")
    resident, elsewhere = truth.family_of(quarter, person)
    purity = kin.votes.get(pid, Counter())
    mixed = "" if len(purity) <= 1 else f" MIXED {dict(purity)}"
    place = truth.at.get(quarter, {}).get(person)
    uprn = place[2] if place else "-"
    tag = "ok" if target and target in (resident, elsewhere) else "OUTSIDER"
    p = truth.persons.get(person, {})
    return (
        f"  {tag:8s} {pid} as {role:16s} true {person} ({p.get('given_name', '')} "
        f"{p.get('surname', '')} {p.get('dob', '')}) lives in family {resident or '-'}"
        f"{' parent elsewhere of ' + elsewhere if elsewhere else ''} uprn {uprn} "
        f"kinfold home {kin.home.get((quarter, pid), '-')}{mixed}"
    )


def _links(parent: str, children: list[str], quarter: str, truth: Truth, kin: Kinfold) -> list[str]:
    """Where a parent link came from: the child's records of that partner and quarter, and the
    person the truth says they name."""
    from kinfold.ingest.models import PartnerRecord
    from kinfold.people.models import ParentLink

    lines = []
    for child, org, q in ParentLink.objects.filter(
        parent__pid=parent, child__pid__in=children, quarter__lte=quarter
    ).values_list("child__pid", "organisation__partner_id", "quarter"):
        named = set()
        for ref in PartnerRecord.objects.filter(
            person__pid=child, organisation__partner_id=org, quarter=q
        ).values_list("source_ref", flat=True):
            row = truth.records.get((q, org, ref))
            if row:
                named.add(row)
        described = ", ".join(
            f"record of {c} names {r or '-'} ({truth.relation(kin.true_of.get(parent, ''), r) if r else '-'} "
            f"of the linked person; mother {truth.persons.get(c, {}).get('mother_id')}, father "
            f"{truth.persons.get(c, {}).get('father_id')})"
            for c, r in sorted(named)
        )
        lines.append(f"      link {child} → {parent} by {org} in {q}: {described}")
    return lines


def _false_positive(
    family: Any,
    true_family: str | None,
    eligible: bool,
    matched: dict[str, str],
    truth: Truth,
    kin: Kinfold,
) -> Case:
    q = family.identified
    target = true_family or ""
    eligible_then = truth.families.get(target, {}).get("eligible_quarter", "-") or "never"
    lines = [f"  identified {q}; maps to true family {target or '-'} (eligible {eligible_then})"]
    members = _members(family.fid, q)
    for pid, role in members:
        lines.append(_describe(pid, role, q, truth, kin, target))
        if role == "parent_elsewhere":
            lines.extend(_links(pid, [m for m, r in members if r == "child"], q, truth, kin))
    # the flags behind each problem, and whether they belong to the true family
    good: dict[str, int] = Counter()
    bad: dict[str, list[str]] = defaultdict(list)
    for problem, pid, code, day, quarter, person_id in _evidence(family.fid, q):
        records = kin.records_of(person_id, code, day)
        owners = {truth.records[r][0] for r in records if r in truth.records}
        roles = dict(_members(family.fid, quarter))
        role = roles.get(pid, "?")
        inside = [o for o in owners if truth.in_family(quarter, o, target)]
        if inside:
            good[problem] += 1
            why = "ok"
        else:
            owner = next(iter(owners), "?")
            if owner != kin.true_of.get(pid):
                why = f"wrong link: flag of {owner} ({truth.relation(owner, kin.true_of.get(pid, ''))} of the person's majority {kin.true_of.get(pid)})"
            elif role == "parent_elsewhere":
                r_family, r_else = truth.family_of(quarter, owner)
                why = f"parent elsewhere who is not (lives in {r_family or '-'}, parent elsewhere of {r_else or '-'})"
            else:
                r_family, r_else = truth.family_of(quarter, owner)
                why = f"{role} placed in the household, truly in {r_family or '-'}{' (elsewhere of ' + r_else + ')' if r_else else ''}"
            bad[problem].append(why)
        lines.append(f"    {problem:12s} {quarter} {pid} {code} {day}: {why}")
    if true_family and eligible:
        cause = "a second kinfold family for one true family"
        first = matched.get(true_family, "")
        lines.append(f"  first found as {first}; its membership by quarter:")
        from kinfold.people.models import FamilyMember

        by_quarter: dict[str, list[str]] = defaultdict(list)
        for fq, pid, role in FamilyMember.objects.filter(family__fid=first).values_list(
            "quarter", "person__pid", "role"
        ):
            by_quarter[fq].append(
                f"{pid}:{role[0]}:{kin.true_of.get(pid, '?')}@{kin.home.get((fq, pid), '-')}"
            )
        for fq in sorted(by_quarter):
            lines.append(f"    {fq}: {' '.join(sorted(by_quarter[fq]))}")
        mine: dict[str, list[str]] = defaultdict(list)
        for fq, pid, role in FamilyMember.objects.filter(family__fid=family.fid).values_list(
            "quarter", "person__pid", "role"
        ):
            mine[fq].append(
                f"{pid}:{role[0]}:{kin.true_of.get(pid, '?')}@{kin.home.get((fq, pid), '-')}"
            )
        lines.append("  this one's membership by quarter:")
        for fq in sorted(mine):
            lines.append(f"    {fq}: {' '.join(sorted(mine[fq]))}")
    elif len(good) >= 2:
        cause = "true members' flags, yet the true family is not eligible (history or rules)"
    else:
        reasons = sorted({w.split(":")[0].split(" (")[0] for ws in bad.values() for w in ws})
        cause = "; ".join(reasons) or "?"
        if not true_family:
            cause = "no true family: " + cause
    return Case("false positive", family.fid, cause, lines)


def _false_negative(
    fid: str, row: dict[str, str], truth: Truth, kin: Kinfold, found: list[Any], last: str
) -> Case:
    q = row["eligible_quarter"]
    lines = [f"  eligible {q} with problems {row['eligible_problems']}"]
    members = [p for p, (f, *_r) in truth.at.get(q, {}).items() if f == fid]
    elsewhere = [p for p, v in truth.at.get(q, {}).items() if v[3] == fid]
    by_true: dict[str, list[str]] = defaultdict(list)
    for pid, person in kin.true_of.items():
        by_true[person].append(pid)
    for person in members + elsewhere:
        p = truth.persons[person]
        place = truth.at[q][person]
        pids = by_true.get(person, [])
        homes = [kin.home.get((q, pid), "-") for pid in pids]
        lines.append(
            f"    true {person} {place[1]:11s}{' elsewhere' if person in elsewhere else ''} "
            f"{p['given_name']} {p['surname']} {p['dob']} uprn {place[2]}: kinfold {pids or 'none'} homes {homes}"
        )
    # the true problem events over the window, and where kinfold placed their person
    window = [qq for qq in truth.at if qq <= q][-4:]
    for event in truth.events:
        if event["quarter"] not in window or not event["problem"]:
            continue
        if not truth.in_family(event["quarter"], event["person_id"], fid):
            continue
        pids = by_true.get(event["person_id"], [])
        lines.append(
            f"      {event['quarter']} problem {event['problem']} {event['code']} {event['value']} "
            f"of {event['person_id']} ({event['partner']}): kinfold {pids or 'none'}"
        )
    holders = []
    for f in found:
        overlap = [m for m in f.members if kin.true_of.get(m) in members]
        if overlap:
            holders.append(f"{f.fid}@{f.identified} ({len(overlap)}/{len(f.members)} members)")
    children = [p for p in members if truth.at[q][p][1] == "child"]
    known = [
        c
        for c in children
        if any(kin.first_record.get(pid, "9") <= last for pid in by_true.get(c, []))
    ]
    if children and not known:
        ages = sorted(int(q[:4]) - int(truth.persons[c]["dob"][:4]) for c in children)
        kind = (
            "a baby or toddler"
            if ages[-1] <= 4
            else "aged 18 or 19 (at college)"
            if ages[0] >= 18
            else f"aged {ages}"
        )
        cause = f"no partner has a record of its dependent child ({kind})"
    elif holders:
        lines.append("  its members are in identified families: " + ", ".join(holders))
        cause = "its members identified within another family"
    elif not any(by_true.get(p) for p in members):
        cause = "no member in partners' data"
    else:
        cause = "not identified"
    return Case("false negative", fid, cause, lines)


if __name__ == "__main__":
    sys.exit(main())
