"""Identification and outcomes against the synthetic borough's ground truth.

The synthetic borough (`kinfold synth --out DIR`) writes which families were really eligible and
when, and which really improved and stayed improved (``truth/families.csv``), who really belonged
to which family each quarter (``truth/membership.csv``) and which person each partner record is
about (``truth/records.csv``). Identification is scored by mapping each family kinfold identified
to a true family through its members at the quarter it was identified:

- kinfold's persons map to true persons by their records (the majority, where linkage merged);
- a kinfold family maps to the true family most of its members belonged to that quarter;
- *precision*: identified families that map to a truly eligible family, each true family counted
  once (a second kinfold family for the same true family is a false positive);
- *recall*: truly eligible families (up to the last quarter identified) that some identified
  family maps to;
- *improved*: how many identified families kinfold found improved and stayed improved, against
  how many truly did.
"""

from __future__ import annotations

import csv
import tomllib
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from django.db import transaction

from kinfold.agreements.models import DataCategory, Organisation
from kinfold.ingest.models import Bundle, Indicator, PartnerRecord
from kinfold.people.models import (
    DataKey,
    FamilyMember,
    Household,
    HouseholdMember,
    ParentLink,
    Person,
)
from kinfold.programme.models import Journey


@dataclass(frozen=True)
class Found:
    fid: str
    identified: str
    sustained: str
    members: tuple[str, ...]  # pids of its household members at the identified quarter


@dataclass(frozen=True)
class TrueFamily:
    family_id: str
    eligible: str
    improved: str


@dataclass(frozen=True)
class Score:
    identified: int
    truly_eligible: int
    true_positives: int
    improved_found: int
    improved_truth: int
    agreeing_improved: int

    @property
    def precision(self) -> float:
        return self.true_positives / self.identified if self.identified else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.truly_eligible if self.truly_eligible else 1.0

    @property
    def improved_error(self) -> float:
        """Relative difference between improved families found and truly improved."""
        if not self.improved_truth:
            return 0.0 if not self.improved_found else 1.0
        return abs(self.improved_found - self.improved_truth) / self.improved_truth

    def lines(self) -> list[str]:
        return [
            (
                f"identified {self.identified:,}, truly eligible {self.truly_eligible:,}, "
                f"matched {self.true_positives:,}: precision {self.precision:.4f}, "
                f"recall {self.recall:.4f}"
            ),
            (
                f"improved and stayed improved: found {self.improved_found:,}, truly "
                f"{self.improved_truth:,} (difference {self.improved_error:.2%}; "
                f"{self.agreeing_improved:,} families both)"
            ),
        ]


def read_families(truth_dir: Path) -> dict[str, TrueFamily]:
    with (truth_dir / "families.csv").open(newline="", encoding="utf-8") as handle:
        return {
            row["family_id"]: TrueFamily(
                row["family_id"], row["eligible_quarter"], row["improved_quarter"]
            )
            for row in csv.DictReader(handle)
        }


def read_membership(truth_dir: Path, quarters: set[str]) -> dict[str, dict[str, str]]:
    """quarter → true person → the true family they lived in."""
    found: dict[str, dict[str, str]] = {q: {} for q in quarters}
    with (truth_dir / "membership.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            family = row["family_id"]
            if not family:
                continue
            for q in quarters:
                if row["from_quarter"] <= q <= row["to_quarter"]:
                    found[q].setdefault(row["person_id"], family)
    return found


def true_persons(truth_dir: Path) -> dict[str, str]:
    """kinfold pid → the true person most of its records are about."""
    truth: dict[tuple[str, str, str], str] = {}
    with (truth_dir / "records.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            truth[row["quarter"], row["partner"], row["record_id"]] = row["person_id"]
    votes: dict[str, Counter[str]] = defaultdict(Counter)
    for quarter, partner, ref, pid in PartnerRecord.objects.filter(
        person__isnull=False
    ).values_list("quarter", "organisation__partner_id", "source_ref", "person__pid"):
        person = truth.get((quarter, partner, ref))
        if person is not None:
            votes[pid][person] += 1
    return {pid: counts.most_common(1)[0][0] for pid, counts in votes.items()}


def identified(framework_id: str = "national-2015") -> list[Found]:
    """Every family kinfold identified under the framework, with its members then."""
    journeys = list(
        Journey.objects.filter(framework_id=framework_id).values_list(
            "family_id", "family__fid", "identified_quarter", "sustained_quarter"
        )
    )
    members: dict[tuple[int, str], list[str]] = defaultdict(list)
    for family, quarter, pid in (
        FamilyMember.objects.filter(family_id__in=[j[0] for j in journeys])
        .exclude(role=FamilyMember.Role.PARENT_ELSEWHERE)
        .values_list("family_id", "quarter", "person__pid")
    ):
        members[family, quarter].append(pid)
    return [
        Found(fid, quarter, sustained, tuple(sorted(members[family, quarter])))
        for family, fid, quarter, sustained in journeys
    ]


def score(
    found: list[Found],
    families: dict[str, TrueFamily],
    membership: dict[str, dict[str, str]],
    persons: dict[str, str],
    last_quarter: str,
) -> Score:
    """Score identification and improvement (see the module doc)."""
    matched: dict[str, Found] = {}
    true_positives = 0
    for family in sorted(found, key=lambda f: (f.identified, f.fid)):
        true_family = _true_family(family, membership, persons)
        truth = families.get(true_family or "")
        if truth is None or not truth.eligible or true_family in matched:
            continue
        matched[true_family] = family  # type: ignore[index]
        true_positives += 1
    eligible = [f for f in families.values() if f.eligible and f.eligible <= last_quarter]
    improved_truth = [f for f in eligible if f.improved and f.improved <= last_quarter]
    both = sum(
        1 for f in improved_truth if f.family_id in matched and matched[f.family_id].sustained
    )
    return Score(
        identified=len(found),
        truly_eligible=len(eligible),
        true_positives=true_positives,
        improved_found=sum(1 for f in found if f.sustained and f.sustained <= last_quarter),
        improved_truth=len(improved_truth),
        agreeing_improved=both,
    )


def _true_family(
    found: Found, membership: dict[str, dict[str, str]], persons: dict[str, str]
) -> str | None:
    at = membership.get(found.identified, {})
    votes = Counter(
        at[persons[pid]] for pid in found.members if pid in persons and persons[pid] in at
    )
    return votes.most_common(1)[0][0] if votes else None


def evaluate(
    truth_dir: str | Path,
    last_quarter: str,
    framework_id: str = "national-2015",
    *,
    perfect: bool = False,
) -> Score:
    """Score what is in the database against the truth in `truth_dir` (`perfect`: the database
    was filled by `load_truth`, whose persons are the true ones)."""
    truth_dir = Path(truth_dir)
    found = identified(framework_id)
    quarters = {f.identified for f in found}
    persons = (
        {pid: pid[1:] for pid in Person.objects.values_list("pid", flat=True)}
        if perfect
        else true_persons(truth_dir)
    )
    return score(
        found,
        read_families(truth_dir),
        read_membership(truth_dir, quarters),
        persons,
        last_quarter,
    )


# ---------------------------------------------------------------------------- perfect linkage


def _categories(schemas_dir: Path) -> dict[str, str]:
    """Indicator code → data category, as the partners' extract schemas file them."""
    found: dict[str, str] = {}
    for path in sorted(schemas_dir.glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        for indicator in data.get("indicators", []):
            found.setdefault(indicator["code"], indicator["category"])
    return found


def load_truth(
    truth_dir: str | Path, schemas_dir: str | Path, quarters: list[str], everyone: bool = False
) -> None:
    """Fill an empty database as a perfect ingest would: every record put in its true person,
    persons in their true homes (households keyed by UPRN, as ingest keys them), children linked
    to the parents their records name, every true event a flag.

    Household members are, as ingest sees them, the persons with a record that quarter (or, with
    `everyone`, every resident). Used to measure identification apart from linkage.
    """
    truth_dir = Path(truth_dir)
    wanted = set(quarters)
    categories = _categories(Path(schemas_dir))
    organisations = dict(
        Organisation.objects.exclude(partner_id="").values_list("partner_id", "pk")
    )
    category_ids = dict(DataCategory.objects.values_list("slug", "pk"))
    with transaction.atomic():
        persons = _load_persons(truth_dir)
        seen = _load_records(truth_dir, wanted, persons, organisations, categories, category_ids)
        _load_households(truth_dir, wanted, persons, None if everyone else seen)


def _rows(truth_dir: Path, name: str) -> Iterator[dict[str, str]]:
    with (truth_dir / name).open(newline="", encoding="utf-8") as handle:
        yield from csv.DictReader(handle)


def _load_persons(truth_dir: Path) -> dict[str, int]:
    rows = list(_rows(truth_dir, "persons.csv"))
    keys = DataKey.objects.bulk_create([DataKey(wrapped=b"") for _ in rows], batch_size=2000)
    Person.objects.bulk_create(
        [
            Person(
                pid=f"P{row['person_id']}",
                data_key=key,
                first_seen=row["first_quarter"],
                year_of_birth=int(row["dob"][:4]) if row["dob"] else None,
                month_of_birth=int(row["dob"][5:7]) if row["dob"] else None,
            )
            for row, key in zip(rows, keys, strict=True)
        ],
        batch_size=2000,
    )
    return dict(Person.objects.values_list("pid", "pk"))


def _load_records(
    truth_dir: Path,
    quarters: set[str],
    persons: dict[str, int],
    organisations: dict[str, int],
    categories: dict[str, str],
    category_ids: dict[str, int],
) -> set[tuple[str, int]]:
    """Records, flags and parent links; returns the (quarter, person) pairs with a record."""
    bundles: dict[tuple[str, str], int] = {}
    records: dict[tuple[str, str, str], PartnerRecord] = {}
    links: set[tuple[int, int, str, int]] = set()
    for row in _rows(truth_dir, "records.csv"):
        if row["quarter"] not in quarters or row["duplicate_of"]:
            continue
        key = (row["partner"], row["quarter"])
        if key not in bundles:
            bundles[key] = Bundle.objects.create(
                organisation_id=organisations[row["partner"]],
                quarter=row["quarter"],
                file_name=f"truth-{row['partner']}.csv",
                sha256=f"truth-{row['partner']}-{row['quarter']}",
            ).pk
        person = persons[f"P{row['person_id']}"]
        records[row["quarter"], row["partner"], row["record_id"]] = PartnerRecord(
            bundle_id=bundles[key],
            organisation_id=organisations[row["partner"]],
            source_ref=row["record_id"],
            quarter=row["quarter"],
            person_id=person,
        )
        related = persons.get(f"P{row['related_person_id']}") if row["related_person_id"] else None
        if related is not None:
            links.add((person, related, row["quarter"], organisations[row["partner"]]))
    PartnerRecord.objects.bulk_create(list(records.values()), batch_size=2000)
    flags = []
    for row in _rows(truth_dir, "events.csv"):
        record = records.get((row["quarter"], row["partner"], row["record_id"]))
        if record is None:
            continue
        flags.append(
            Indicator(
                record=record,
                person_id=int(record.person_id or 0),
                organisation_id=record.organisation_id,
                category_id=category_ids[categories[row["code"]]],
                code=row["code"],
                date=date.fromisoformat(row["date"]),
                value=float(row["value"]) if row["value"] else None,
            )
        )
    Indicator.objects.bulk_create(flags, batch_size=2000)
    ParentLink.objects.bulk_create(
        [ParentLink(child_id=c, parent_id=p, quarter=q, organisation_id=o) for c, p, q, o in links],
        batch_size=2000,
        ignore_conflicts=True,
    )
    return {(r.quarter, r.person_id) for r in records.values() if r.person_id is not None}


def _load_households(
    truth_dir: Path,
    quarters: set[str],
    persons: dict[str, int],
    seen: set[tuple[str, int]] | None,
) -> None:
    homes: dict[str, int] = {}
    members = []
    for row in _rows(truth_dir, "membership.csv"):
        person = persons[f"P{row['person_id']}"]
        for quarter in sorted(q for q in quarters if row["from_quarter"] <= q <= row["to_quarter"]):
            if seen is not None and (quarter, person) not in seen:
                continue
            if row["uprn"] not in homes:
                homes[row["uprn"]] = Household.objects.create(hid=f"H{row['uprn']}").pk
            members.append(
                HouseholdMember(person_id=person, household_id=homes[row["uprn"]], quarter=quarter)
            )
    HouseholdMember.objects.bulk_create(members, batch_size=5000, ignore_conflicts=True)
