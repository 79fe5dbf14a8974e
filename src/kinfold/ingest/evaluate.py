"""Measuring ingest against the synthetic borough's ground truth. Plain Python, no Django.

The synthetic borough (``kinfold synth --out DIR``) writes, beside the extracts, which person each
partner record is really about (``truth/records.csv``: quarter, partner, record_id → person_id, and
related_person_id for the parent or carer a row names) and who really lives with whom
(``truth/membership.csv``: person, household, from and to quarter). These functions score what
ingest made of the extracts:

- **person linkage**: pairwise precision and recall over records — two records put in one person
  should be one true person, and two records of one true person should be put in one person;
- **households**: the same over persons — two persons placed in one household should really
  live together that quarter, and two persons who do should be placed together.

Counting is by contingency table (never by listing pairs), so a full-size borough scores in
seconds.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kinfold.ingest.partner import RELATED_SOURCE
from kinfold.linkage import Accuracy

RecordKey = tuple[str, str]


def clustering_accuracy(found: Mapping[Any, Any], truth: Mapping[Any, Any]) -> Accuracy:
    """Pairwise accuracy of a clustering (item → cluster) against the true one, over the items
    both know. Pairs are counted from cluster sizes, not listed."""
    items = [item for item in found if item in truth]
    if not items:
        return Accuracy(0, 0, 0)
    _, f = np.unique(np.array([str(found[i]) for i in items]), return_inverse=True)
    _, t = np.unique(np.array([str(truth[i]) for i in items]), return_inverse=True)
    made = _pairs(np.bincount(f))
    true = _pairs(np.bincount(t))
    both = _pairs(np.unique(f.astype(np.int64) * (int(t.max()) + 1) + t, return_counts=True)[1])
    return Accuracy(both, made - both, true - both)


def _pairs(sizes: np.ndarray) -> int:
    sizes = sizes.astype(np.int64)
    return int((sizes * (sizes - 1) // 2).sum())


@dataclass(frozen=True)
class QuarterTruth:
    """One quarter's truth: records → persons, related records → persons, persons → households."""

    records: dict[RecordKey, str]
    related: dict[RecordKey, str]  # (partner, record id) → the person the row names as related
    households: dict[str, str]


def read_truth(truth_dir: str | Path, quarter: str) -> QuarterTruth:
    """Read ``records.csv`` and ``membership.csv`` for one quarter."""
    folder = Path(truth_dir)
    records: dict[RecordKey, str] = {}
    related: dict[RecordKey, str] = {}
    with (folder / "records.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["quarter"] != quarter:
                continue
            key = (row["partner"], row["record_id"])
            records[key] = row["person_id"]
            if row.get("related_person_id"):
                related[key] = row["related_person_id"]
    households: dict[str, str] = {}
    with (folder / "membership.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["from_quarter"] <= quarter <= row["to_quarter"]:
                households[row["person_id"]] = row["household_id"]
    return QuarterTruth(records, related, households)


def person_accuracy(found: Mapping[RecordKey, str], truth: QuarterTruth) -> Accuracy:
    """How well records were put into persons (pairs of records), this quarter's records only."""
    return clustering_accuracy(found, truth.records)


def split_linked(
    linked: Mapping[RecordKey, str],
) -> tuple[dict[RecordKey, str], dict[RecordKey, str]]:
    """A quarter's linkage (``IngestReport.linked``: (source, key) → person) as the partners'
    own records, and the persons their rows name — both by (partner, record id)."""
    records: dict[RecordKey, str] = {}
    related: dict[RecordKey, str] = {}
    for (source, key), person in linked.items():
        if source.endswith(RELATED_SOURCE):
            # key is <quarter>/<record id>/<n>
            record = key.split("/", 1)[1].rsplit("/", 1)[0]
            related.setdefault((source.removesuffix(RELATED_SOURCE), record), person)
        else:
            records[(source, key)] = person
    return records, related


def true_person_of(
    found: Mapping[RecordKey, str],
    truth: QuarterTruth,
    related: Mapping[RecordKey, str] | None = None,
) -> dict[str, str]:
    """Each found person's true person: the one most of its records (and, if given, the rows
    naming them) are about."""
    votes: dict[str, Counter[str]] = {}
    for record, person in found.items():
        if record in truth.records:
            votes.setdefault(person, Counter())[truth.records[record]] += 1
    for record, person in (related or {}).items():
        if record in truth.related:
            votes.setdefault(person, Counter())[truth.related[record]] += 1
    return {person: counts.most_common(1)[0][0] for person, counts in votes.items()}


def all_records_accuracy(
    records: Mapping[RecordKey, str], related: Mapping[RecordKey, str], truth: QuarterTruth
) -> Accuracy:
    """Person accuracy over the partners' records and the persons their rows name together."""
    found = {("record", *k): v for k, v in records.items()}
    found.update({("named", *k): v for k, v in related.items()})
    real: dict[tuple[str, str, str], str] = {("record", *k): v for k, v in truth.records.items()}
    real.update({("named", *k): v for k, v in truth.related.items()})
    return clustering_accuracy(found, real)


@dataclass(frozen=True)
class HouseholdScore:
    """Household accuracy over the true persons found this quarter."""

    accuracy: Accuracy  # pairs of persons living together
    placed: int  # true persons found and given a household
    unplaced: int  # true persons found (with a true household) but given none


def household_accuracy(
    found_households: Mapping[str, str],
    true_person: Mapping[str, str],
    truth: QuarterTruth,
) -> HouseholdScore:
    """Score persons → households (found person id → household id) against the true homes.

    Found persons are mapped to true persons by ``true_person`` (see :func:`true_person_of`);
    when two found persons are one true person, the first seen is scored.
    """
    placed: dict[str, str] = {}
    for person, household in found_households.items():
        real = true_person.get(person)
        if real is not None and real in truth.households:
            placed.setdefault(real, household)
    seen = {p for p in true_person.values() if p in truth.households}
    accuracy = clustering_accuracy(placed, truth.households)
    return HouseholdScore(accuracy, len(placed), len(seen - set(placed)))


def parent_link_accuracy(
    found_links: set[tuple[str, str]],
    true_person: Mapping[str, str],
    truth: QuarterTruth,
) -> Accuracy:
    """Score (child person, parent person) links against the true (child, related person) pairs of
    the records that name a related person."""
    made = {(true_person.get(c, "?" + c), true_person.get(p, "?" + p)) for c, p in found_links}
    real = {(truth.records[r], person) for r, person in truth.related.items() if r in truth.records}
    both = len(made & real)
    return Accuracy(both, len(made) - both, len(real) - both)
