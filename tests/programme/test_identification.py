"""Identification runs on a hand-built borough: who is found, with what evidence, and re-runs."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kinfold.people.models import Family, FamilyMember
from kinfold.programme.identification import identify
from kinfold.programme.models import (
    EligibleFamily,
    FamilyQuarter,
    IdentificationRun,
    Journey,
    ProblemEvidence,
    RunStatus,
)
from tests.programme.conftest import QUARTERS, Borough

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


def test_a_parent_living_elsewhere_joins_the_childs_family(
    borough: Borough, identify_through: Callable[..., None]
) -> None:
    quarters = ["2015Q2", "2015Q3"]
    (mum,), (kid,) = borough.family("H1", quarters)
    dad = borough.person(1979)
    borough.live(dad, "H2", *quarters)
    borough.parent_link(kid, dad, "2015Q2")
    borough.flag(dad, "police.offence", "2015Q3")
    borough.flag(kid, "csc.child_in_need", "2015Q3")

    identify_through("2015Q3")

    eligible = EligibleFamily.objects.get(run__status=RunStatus.DONE)
    roles = dict(
        FamilyMember.objects.filter(family=eligible.family, quarter="2015Q3").values_list(
            "person__pid", "role"
        )
    )
    assert roles == {mum.pid: "adult", kid.pid: "child", dad.pid: "parent_elsewhere"}
    assert eligible.problems == ["crime", "children-need-help"]


@pytest.mark.parametrize("youngest_in", ["H1", "H3"])
def test_a_parent_named_by_children_of_two_families_joins_the_youngest_childs(
    borough: Borough, identify_through: Callable[..., None], youngest_in: str
) -> None:
    """One person's flags do not make two households eligible: the parent joins the family of the
    youngest child who names them, wherever that household sorts."""
    quarters = ["2015Q2", "2015Q3"]
    dad = borough.person(1975)
    borough.live(dad, "H2", *quarters)
    kids = {}
    for home, born in (("H1", 2004), ("H3", 2004)):
        mum, kid = borough.person(1980), borough.person(2010 if home == youngest_in else born)
        for person in (mum, kid):
            borough.live(person, home, *quarters)
        borough.parent_link(kid, dad, "2015Q2")
        borough.flag(kid, "csc.child_in_need", "2015Q3")
        kids[home] = kid
    borough.flag(dad, "police.offence", "2015Q3")

    identify_through("2015Q3")

    eligible = EligibleFamily.objects.get(run__status=RunStatus.DONE)
    members = set(
        FamilyMember.objects.filter(family=eligible.family, quarter="2015Q3").values_list(
            "person__pid", flat=True
        )
    )
    assert kids[youngest_in].pid in members
    assert dad.pid in members


@pytest.mark.parametrize(
    ("born", "at_school", "family"),
    [
        (1999, False, True),  # 16 in 2015Q4: a dependent child
        (1996, True, True),  # 19 and at school: dependent until 20
        (1996, None, True),  # 19 and at college: participation tracking, no attendance value
        (1996, False, False),  # 19 and not in education: an adult
        (1994, True, False),  # 21: an adult, school or not
    ],
)
def test_who_is_a_dependent_child(
    borough: Borough,
    identify_through: Callable[..., None],
    born: int,
    at_school: bool | None,
    family: bool,
) -> None:
    quarters = ["2015Q3", "2015Q4"]
    mum = borough.person(1975)
    young = borough.person(born)
    for person in (mum, young):
        borough.live(person, "H1", *quarters)
    borough.flag(mum, "health.mental_health", "2015Q4")
    borough.flag(mum, "dwp.out_of_work_benefit", "2015Q4")
    if at_school is not False:
        borough.flag(young, "school.attendance", "2015Q4", 96.0 if at_school else None)

    identify_through("2015Q4", first="2015Q3")

    assert EligibleFamily.objects.filter(run__status=RunStatus.DONE).exists() is family


def test_a_family_keeps_its_id_when_the_household_moves(
    borough: Borough, identify_through: Callable[..., None]
) -> None:
    (mum,), (kid,) = borough.family("H1", ["2015Q2", "2015Q3"])
    for person in (mum, kid):
        borough.live(person, "H9", "2015Q4")
    borough.flag(mum, "police.asb_incident", "2015Q3")
    borough.flag(kid, "csc.early_help", "2015Q3")

    identify_through("2015Q4")

    family = Journey.objects.get().family
    assert set(FamilyMember.objects.filter(family=family).values_list("quarter", flat=True)) == {
        "2015Q2",
        "2015Q3",
        "2015Q4",
    }
    assert Family.objects.count() == 1


def test_children_identified_before_are_the_same_family_when_they_turn_up_again(
    borough: Borough, identify_through: Callable[..., None]
) -> None:
    """Children of an identified family who turn up, after a year without records, in a home the
    family was never seen in are that family again, not a second family for the same children."""
    (mum,), (kid,) = borough.family("H1", ["2015Q2"])
    borough.flag(mum, "police.asb_incident", "2015Q2")
    borough.flag(kid, "csc.early_help", "2015Q2")
    neighbour = borough.person(1950)
    borough.live(neighbour, "H7", *QUARTERS[:6])  # partners send something every quarter
    carer = borough.person(1975)
    borough.live(kid, "H2", "2016Q3")
    borough.live(carer, "H2", "2016Q3")
    borough.flag(carer, "dwp.out_of_work_benefit", "2016Q3")
    borough.flag(kid, "school.exclusion_fixed", "2016Q3")

    identify_through("2016Q3")

    assert Journey.objects.count() == 1
    family = Journey.objects.get().family
    assert set(
        FamilyMember.objects.filter(family=family, quarter="2016Q3").values_list(
            "person__pid", flat=True
        )
    ) == {kid.pid, carer.pid}
    assert EligibleFamily.objects.filter(run__quarter="2016Q3", first_identified=False).exists()


def test_a_child_of_a_family_followed_this_quarter_is_not_identified_again_elsewhere(
    borough: Borough, identify_through: Callable[..., None]
) -> None:
    """One of the children placed at another address (a stale one, say) with an adult whose flags
    would make that household eligible: the children are already in a family the programme
    follows this quarter, so no second family is identified for them."""
    (mum,), (kid, sibling) = borough.family("H1", ["2015Q2", "2015Q3"], children=2)
    borough.flag(mum, "police.asb_incident", "2015Q2")
    borough.flag(kid, "csc.early_help", "2015Q2")
    lodger = borough.person(1970)
    borough.live(sibling, "H2", "2015Q3")
    borough.live(lodger, "H2", "2015Q3")
    borough.flag(lodger, "dwp.out_of_work_benefit", "2015Q3")
    borough.flag(lodger, "health.mental_health", "2015Q3")
    borough.flag(mum, "police.asb_incident", "2015Q3")

    identify_through("2015Q3")

    assert Journey.objects.count() == 1
    assert not EligibleFamily.objects.filter(run__quarter="2015Q3", first_identified=True).exists()


def test_problems_count_for_the_family_as_it_was_each_quarter(
    borough: Borough, identify_through: Callable[..., None]
) -> None:
    """A lodger's offence before they joined the household is not the family's."""
    (_mum,), (kid,) = borough.family("H1", ["2015Q2", "2015Q3"])
    lodger = borough.person(1990)
    borough.live(lodger, "H5", "2015Q2")
    borough.live(lodger, "H1", "2015Q3")
    borough.flag(lodger, "police.offence", "2015Q2")
    borough.flag(kid, "csc.child_in_need", "2015Q3")

    identify_through("2015Q3")

    assert not EligibleFamily.objects.exists()


def test_a_flag_on_someone_too_young_for_it_does_not_count_and_is_reported(
    borough: Borough, identify_through: Callable[..., None]
) -> None:
    """An offence on a seven-year-old is a namesake's police record linked to the child: with
    the school's record alone the family has one problem, not two. The run says a flag was
    left out. The same offence on the mother makes the family eligible."""
    (mum,), (kid,) = borough.family("H1", ["2015Q2", "2015Q3"])  # the child born 2008
    borough.flag(kid, "school.attendance", "2015Q3", 80.0)
    borough.flag(kid, "police.offence", "2015Q3")

    identify_through("2015Q3")

    run = IdentificationRun.objects.get(quarter="2015Q3", status=RunStatus.DONE)
    assert run.counts["flags_outside_ages"] == 1
    assert not EligibleFamily.objects.filter(run=run).exists()

    borough.flag(mum, "police.offence", "2015Q3")
    identify_through("2015Q3", first="2015Q3")
    run = IdentificationRun.objects.get(quarter="2015Q3", status=RunStatus.DONE)
    assert EligibleFamily.objects.filter(run=run).count() == 1


def test_a_person_who_objected_is_left_out_inside_the_query(
    borough: Borough, identify_through: Callable[..., None]
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from kinfold.rights.models import FamilyRequest

    quarters = ["2015Q2", "2015Q3"]
    (mum,), (kid,) = borough.family("H1", quarters)
    borough.flag(mum, "police.asb_incident", "2015Q3")
    borough.flag(kid, "csc.child_in_need", "2015Q3")
    FamilyRequest.objects.create(
        ref="R1",
        kind=FamilyRequest.Kind.OBJECTION,
        person=kid,
        made_by=kid.pid,
        sealed_text=b"",
        received_at=timezone.now(),
        due_by=timezone.now().date(),
        status=FamilyRequest.Status.UPHELD,
    )
    with CaptureQueriesContext(connection) as queries:
        identify_through("2015Q3")

    assert not EligibleFamily.objects.exists()
    reads = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith("SELECT")
        and 'SELECT 1 AS "a"' not in q["sql"]  # whether a quarter has data at all
        and ("people_householdmember" in q["sql"] or "ingest_indicator" in q["sql"])
    ]
    assert reads
    assert all("rights_familyrequest" in sql for sql in reads)


def test_flags_no_agreement_shares_for_identification_are_not_read(
    borough: Borough, identify_through: Callable[..., None]
) -> None:
    from kinfold.agreements.models import Share

    quarters = ["2015Q2", "2015Q3"]
    (mum,), (kid,) = borough.family("H1", quarters)
    borough.flag(mum, "health.mental_health", "2015Q3")
    borough.flag(kid, "csc.child_in_need", "2015Q3")
    Share.objects.filter(
        purpose__slug="identification", provider__slug="northfield-nhs-trust"
    ).delete()

    identify_through("2015Q3")

    assert not EligibleFamily.objects.exists()


def test_quarters_are_identified_in_order(borough: Borough) -> None:
    from kinfold.errors import KinfoldError

    borough.family("H1", ["2015Q2", "2015Q3"])
    with pytest.raises(KinfoldError, match="identify quarters in order"):
        identify("2015Q3")
    with pytest.raises(KinfoldError, match="no household data for 2016Q1"):
        identify("2016Q1")
    assert IdentificationRun.objects.filter(status=RunStatus.FAILED).count() == 2


def test_identification_is_audited_with_the_family_and_its_members(
    borough: Borough, identify_through: Callable[..., None]
) -> None:
    from kinfold.audit.models import AuditEntry

    (mum,), (kid,) = borough.family("H1", ["2015Q2"])
    borough.flag(mum, "police.asb_incident", "2015Q2")
    borough.flag(kid, "csc.child_in_need", "2015Q2")
    identify_through("2015Q2")

    fid = Journey.objects.get().family.fid
    entry = AuditEntry.objects.get(event="family:identified")
    assert set(entry.subject_ids) == {fid, mum.pid, kid.pid}
    assert entry.actor_kind == "system"
    assert entry.actor_id == "quarter-identify"
    read = AuditEntry.objects.get(event="quarter:identification:flags-read")
    assert read.purpose == "identification"
    assert read.details["flags"] == 2


@pytest.mark.django_db(transaction=True)
def test_a_run_started_from_the_web_runs_in_the_background(
    agreements: None, analyst: object
) -> None:
    import threading

    from kinfold.programme import jobs
    from kinfold.programme.identification import active_framework, start_run
    from kinfold.quarters import Quarter

    borough = Borough()
    (mum,), (kid,) = borough.family("H1", ["2015Q2"])
    borough.flag(mum, "police.asb_incident", "2015Q2")
    borough.flag(kid, "csc.child_in_need", "2015Q2")
    run = start_run(Quarter(2015, 2), active_framework(), analyst)  # type: ignore[arg-type]

    jobs.launch(run)
    worker = next(t for t in threading.enumerate() if t.name == f"identify-{run.run_id}")
    worker.join(timeout=60)

    run.refresh_from_db()
    assert run.status == RunStatus.DONE
    assert run.progress == 100
    assert run.counts["eligible"] == 1


@pytest.mark.parametrize("carry", [None, 1])
def test_a_family_nobody_sent_anything_about_is_kept_only_as_the_setting_says(
    borough: Borough, identify_through: Callable[..., None], settings: object, carry: int | None
) -> None:
    """Partners' extracts list every dependent child every quarter, so by default a followed
    family nobody sent anything about has gone; a council whose extracts do not can keep it."""
    if carry is not None:
        settings.KINFOLD_UNSEEN_FAMILY_QUARTERS = carry  # type: ignore[attr-defined]
    (mum,), (kid,) = borough.family("H1", ["2015Q2"])
    borough.flag(mum, "police.offence", "2015Q2")
    borough.flag(kid, "csc.child_in_need", "2015Q2")
    other = borough.person(1970)
    borough.live(other, "H9", "2015Q3")
    borough.flag(other, "police.offence", "2015Q3")

    identify_through("2015Q3")

    family = EligibleFamily.objects.get(run__quarter="2015Q2").family
    kept = FamilyQuarter.objects.filter(family=family, quarter="2015Q3").exists()
    assert kept is (carry is not None)
    assert FamilyQuarter.objects.filter(family=family, quarter="2015Q2").exists()
