"""Against the synthetic borough's ground truth: are records put into the right persons, persons
into the right households, and children linked to the right parents?

The borough is small and its partners' files hold the recording errors real ones do (typos,
nicknames, swapped names, stale addresses, missing dates of birth, duplicates). The benchmark
(`python -m benchmarks.ingest`) measures the same at full size; docs/benchmarks.md has the figures.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from kinfold.ingest import evaluate
from kinfold.ingest.models import PartnerRecord
from kinfold.ingest.report import IngestReport
from kinfold.people.models import HouseholdMember, ParentLink
from tests.ingest.conftest import FIRST, SECOND

Ingest = Callable[..., IngestReport]


def found_records(quarter: str) -> dict[tuple[str, str], str]:
    """(partner, record id) → person id, as ingest left them."""
    rows = PartnerRecord.objects.filter(quarter=quarter).values_list(
        "organisation__partner_id", "source_ref", "person__pid"
    )
    return {(partner, ref): pid for partner, ref, pid in rows}


@pytest.fixture
def two_quarters(ingest: Ingest, borough: Path) -> tuple[Path, IngestReport]:
    """Both quarters ingested; the truth folder and the second quarter's report."""
    ingest(borough / "extracts" / FIRST)
    return borough / "truth", ingest(borough / "extracts" / SECOND)


def test_records_are_put_into_the_right_persons_across_quarters(
    two_quarters: tuple[Path, IngestReport],
) -> None:
    truth_dir, _ = two_quarters
    found: dict[tuple[str, str, str], str] = {}
    truth: dict[tuple[str, str, str], str] = {}
    for quarter in (FIRST, SECOND):
        real = evaluate.read_truth(truth_dir, quarter)
        found.update({(quarter, *k): v for k, v in found_records(quarter).items()})
        truth.update({(quarter, *k): v for k, v in real.records.items()})
    assert set(found) == set(truth)  # every record the partners sent, and no other
    accuracy = evaluate.clustering_accuracy(found, truth)
    assert accuracy.true_positives > 500  # pupils seen twice, people known to two partners
    assert accuracy.precision >= 0.97
    assert accuracy.recall >= 0.97


def test_parents_and_carers_named_on_rows_are_linked_like_anyone_else(
    two_quarters: tuple[Path, IngestReport],
) -> None:
    truth_dir, report = two_quarters
    real = evaluate.read_truth(truth_dir, SECOND)
    records, related = evaluate.split_linked(report.linked)
    assert len(related) > 500
    accuracy = evaluate.all_records_accuracy(records, related, real)
    assert accuracy.precision >= 0.85
    assert accuracy.recall >= 0.97


def test_persons_are_placed_in_the_households_they_live_in(
    two_quarters: tuple[Path, IngestReport],
) -> None:
    truth_dir, report = two_quarters
    real = evaluate.read_truth(truth_dir, SECOND)
    members = dict(
        HouseholdMember.objects.filter(quarter=SECOND).values_list("person__pid", "household__hid")
    )
    records, related = evaluate.split_linked(report.linked)
    who = evaluate.true_person_of(records, real, related)
    score = evaluate.household_accuracy(members, who, real)
    assert score.placed > 1000
    assert score.unplaced <= score.placed * 0.01
    assert score.accuracy.precision >= 0.97
    assert score.accuracy.recall >= 0.95


def test_children_are_linked_to_the_parents_partners_name(
    two_quarters: tuple[Path, IngestReport],
) -> None:
    truth_dir, report = two_quarters
    real = evaluate.read_truth(truth_dir, SECOND)
    links = set(ParentLink.objects.filter(quarter=SECOND).values_list("child__pid", "parent__pid"))
    records, related = evaluate.split_linked(report.linked)
    who = evaluate.true_person_of(records, real, related)
    accuracy = evaluate.parent_link_accuracy(links, who, real)
    assert accuracy.true_positives > 300
    assert accuracy.precision >= 0.95
    assert accuracy.recall >= 0.95


def test_a_child_and_the_parent_its_row_names_are_never_one_person(
    two_quarters: tuple[Path, IngestReport],
) -> None:
    _, report = two_quarters
    own = [
        (record, named)
        for record, named in _named_pairs(report)
        if report.linked.get(record) == report.linked.get(named)
    ]
    assert not own


def _named_pairs(report: IngestReport) -> list[tuple[tuple[str, str], tuple[str, str]]]:
    pairs = []
    for source, key in report.linked:
        if source.endswith("~related"):
            record = key.split("/", 1)[1].rsplit("/", 1)[0]
            pairs.append(((source.removesuffix("~related"), record), (source, key)))
    assert pairs
    return pairs
