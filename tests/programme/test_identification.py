"""Identification runs on a hand-built borough: who is found, with what evidence, and re-runs."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kinfold.people.models import Family, FamilyMember
from kinfold.programme.identification import identify
from kinfold.programme.models import (
    EligibleFamily,
    IdentificationRun,
    Journey,
    ProblemEvidence,
    RunStatus,
)
from tests.programme.conftest import Borough

pytestmark = pytest.mark.django_db


def test_family_with_two_problems_is_identified(
    borough: Borough, identify_through: Callable[..., None]
) -> None:
    quarters = ["2015Q2", "2015Q3", "2015Q4"]
    (mum,), (kid,) = borough.family("H1", quarters)
    (dad,), (kid2,) = borough.family("H2", quarters)
    borough.flag(mum, "police.asb_incident", "2015Q3")
    borough.flag(kid, "school.attendance", "2015Q4", 80.0)
    borough.flag(dad, "police.offence", "2015Q4")
    borough.flag(kid2, "school.attendance", "2015Q4", 95.0)

    identify_through("2015Q4")

    run = IdentificationRun.objects.get(quarter="2015Q4", status=RunStatus.DONE)
    eligible = list(EligibleFamily.objects.filter(run=run))
    assert len(eligible) == 1
    assert eligible[0].problems == ["crime", "education"]
    members = set(
        FamilyMember.objects.filter(family=eligible[0].family, quarter="2015Q4").values_list(
            "person__pid", flat=True
        )
    )
    assert members == {mum.pid, kid.pid}
    evidence = {
        (e.problem, e.code, e.person.pid, e.organisation.slug)
        for e in ProblemEvidence.objects.all()
    }
    assert evidence == {
        ("crime", "police.asb_incident", mum.pid, "northfield-police"),
        ("education", "school.attendance", kid.pid, "northfield-schools"),
    }
    journey = Journey.objects.get()
    assert journey.identified_quarter == "2015Q4"
    assert journey.problem_members == {"crime": [mum.pid], "education": [kid.pid]}


def test_rerunning_a_quarter_gives_the_same_answer_and_no_duplicates(
    borough: Borough, identify_through: Callable[..., None]
) -> None:
    quarters = ["2015Q2", "2015Q3", "2015Q4"]
    (mum,), (kid,) = borough.family("H1", quarters)
    borough.flag(mum, "police.asb_incident", "2015Q3")
    borough.flag(kid, "csc.child_in_need", "2015Q4")
    identify_through("2015Q4")
    before = _answer()
    families = Family.objects.count()
    members = FamilyMember.objects.count()

    identify("2015Q4")

    assert _answer() == before
    assert Family.objects.count() == families
    assert FamilyMember.objects.count() == members
    assert Journey.objects.count() == 1
    assert EligibleFamily.objects.count() == 1
    assert (
        IdentificationRun.objects.filter(quarter="2015Q4", status=RunStatus.SUPERSEDED).count() == 1
    )


def _answer() -> set[tuple[str, tuple[str, ...], tuple[tuple[str, str, str], ...]]]:
    found = set()
    for row in EligibleFamily.objects.filter(run__status=RunStatus.DONE):
        evidence = tuple(sorted((e.problem, e.code, e.person.pid) for e in row.evidence.all()))
        found.add((row.family.fid, tuple(row.problems), evidence))
    return found
