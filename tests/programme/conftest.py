"""A small hand-built borough for programme tests: households, flags and parent links."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from kinfold.agreements.models import DataCategory, Organisation
from kinfold.ingest.models import Bundle, Indicator, PartnerRecord
from kinfold.people import services
from kinfold.people.models import FamilyMember, Household, HouseholdMember, ParentLink, Person
from kinfold.programme.codes import CONTRACT_CODES, PARTNER_ORGANISATIONS
from kinfold.programme.frameworks import load_framework
from kinfold.programme.models import IdentificationRun, Journey, RunStatus
from kinfold.quarters import Quarter

#: The data category each code's flags are filed under (as the partners' schemas do).
CATEGORY_OF = {
    "police.offence": "police-courts-probation",
    "police.asb_incident": "antisocial-behaviour",
    "yos.youth_offence": "police-courts-probation",
    "probation.supervision": "police-courts-probation",
    "housing.asb_case": "antisocial-behaviour",
    "school.attendance": "education",
    "school.exclusion_fixed": "education",
    "school.exclusion_permanent": "education",
    "school.alternative_provision": "education",
    "csc.child_in_need": "vulnerable-children",
    "csc.child_protection_plan": "vulnerable-children",
    "csc.looked_after": "vulnerable-children",
    "csc.early_help": "vulnerable-children",
    "dwp.out_of_work_benefit": "employment",
    "dwp.into_work": "employment",
    "housing.rent_arrears": "employment",
    "housing.eviction_notice": "employment",
    "police.domestic_incident": "violence-in-the-home",
    "das.marac_referral": "violence-in-the-home",
    "das.support_case": "violence-in-the-home",
    "health.mental_health": "health",
    "health.ae_injury": "health",
    "substance.treatment": "substance-misuse",
}


def mid(quarter: str) -> date:
    """A day in the middle of a quarter."""
    q = Quarter.parse(quarter)
    return date(q.year, 3 * (q.number - 1) + 2, 15)


class Borough:
    """Builds persons, households and flags the way ingest leaves them."""

    def __init__(self) -> None:
        self._households: dict[str, Household] = {}
        self._bundles: dict[tuple[str, str], Bundle] = {}
        self._records = 0

    def person(self, year_of_birth: int, first_seen: str = "2015Q1") -> Person:
        return services.create_person(first_seen, year_of_birth=year_of_birth)

    def household(self, name: str) -> Household:
        if name not in self._households:
            self._households[name] = services.create_household()
        return self._households[name]

    def live(self, person: Person, household: str, *quarters: str) -> None:
        for quarter in quarters:
            HouseholdMember.objects.update_or_create(
                person=person, quarter=quarter, defaults={"household": self.household(household)}
            )

    def family(
        self, household: str, quarters: list[str], adults: int = 1, children: int = 1
    ) -> tuple[list[Person], list[Person]]:
        """A household of adults (born 1980) and children (born 2008) living there throughout."""
        grown = [self.person(1980) for _ in range(adults)]
        kids = [self.person(2008) for _ in range(children)]
        for p in grown + kids:
            self.live(p, household, *quarters)
        return grown, kids

    def flag(
        self, person: Person, code: str, quarter: str, value: float | None = None
    ) -> Indicator:
        provider = PARTNER_ORGANISATIONS[CONTRACT_CODES[code]]
        org = Organisation.objects.get(slug=provider)
        bundle = self._bundles.get((provider, quarter))
        if bundle is None:
            bundle = Bundle.objects.create(
                organisation=org, quarter=quarter, sha256=f"{provider}-{quarter}", file_name="x.csv"
            )
            self._bundles[provider, quarter] = bundle
        self._records += 1
        record = PartnerRecord.objects.create(
            bundle=bundle,
            organisation=org,
            source_ref=f"R{self._records}",
            quarter=quarter,
            person=person,
        )
        return Indicator.objects.create(
            record=record,
            person=person,
            organisation=org,
            category=DataCategory.objects.get(slug=CATEGORY_OF[code]),
            code=code,
            date=mid(quarter),
            value=value,
        )

    def parent_link(self, child: Person, parent: Person, quarter: str) -> None:
        ParentLink.objects.create(
            child=child,
            parent=parent,
            quarter=quarter,
            organisation=Organisation.objects.get(slug="northfield-schools"),
        )


@pytest.fixture
def borough(agreements: None) -> Borough:
    return Borough()


QUARTERS = ["2015Q2", "2015Q3", "2015Q4", "2016Q1", "2016Q2", "2016Q3", "2016Q4", "2017Q1"]


@pytest.fixture
def identify_through() -> Callable[..., None]:
    """Identify each quarter in order up to and including `last`."""
    from kinfold.programme.identification import identify

    def run(last: str, framework: object = None, first: str = "2015Q2") -> None:
        q = Quarter.parse(first)
        while q <= Quarter.parse(last):
            identify(q, framework)  # type: ignore[arg-type]
            q = q + 1

    return run


THROUGH_2016Q3 = ["2015Q2", "2015Q3", "2015Q4", "2016Q1", "2016Q2", "2016Q3"]


@pytest.fixture
def improving(borough: Borough, identify_through: Callable[..., None]) -> Journey:
    """A family identified in 2015Q4 (antisocial behaviour, a child missing school) whose child
    then attends 92%, 95% and 93%: its outcomes are sustained in 2016Q3."""
    (mum,), (kid,) = borough.family("H1", THROUGH_2016Q3)
    borough.flag(mum, "police.asb_incident", "2015Q3")
    borough.flag(kid, "school.attendance", "2015Q4", 80.0)
    for quarter, value in (("2016Q1", 92.0), ("2016Q2", 95.0), ("2016Q3", 93.0)):
        borough.flag(kid, "school.attendance", quarter, value)
    identify_through("2016Q3")
    return Journey.objects.select_related("family").get()


NATIONAL = Path(__file__).resolve().parents[2] / "config" / "frameworks" / "national-2015.toml"


@pytest.fixture
def casework(agreements: None) -> Journey:
    """A journey identified in 2015Q4 whose computed outcome is sustained in 2016Q3, made directly
    (no identification runs), for tests of the state machine and pages."""
    framework = load_framework(NATIONAL)
    family = services.create_family()
    adult = services.create_person("2015Q2", year_of_birth=1980)
    child = services.create_person("2015Q2", year_of_birth=2008)
    for person, role in ((adult, "adult"), (child, "child")):
        FamilyMember.objects.create(family=family, person=person, role=role, quarter="2016Q3")
    IdentificationRun.objects.create(
        run_id=f"test-{family.fid}",
        quarter="2015Q4",
        framework_id=framework.id,
        framework_sha256=framework.sha256,
        framework_path=str(framework.path),
        framework_text=framework.text,
        status=RunStatus.DONE,
    )
    return Journey.objects.create(
        family=family,
        framework_id=framework.id,
        identified_quarter="2015Q4",
        problems=["crime", "education"],
        problem_members={"crime": [adult.pid], "education": [child.pid]},
        assessed_quarter="2016Q3",
        achieved_quarter="2016Q1",
        sustained_quarter="2016Q3",
        outcome_route="problems-cleared",
        last_seen_quarter="2016Q3",
    )


def walk_to_sustained(journey: Journey, key_worker: object, manager: object) -> Journey:
    """Take an identified journey through every step to *sustained*, as the roles would."""
    from kinfold.programme import journey as journeys
    from kinfold.programme import progress
    from tests.factories import give_consent

    journeys.allocate(manager, journey, key_worker)  # type: ignore[arg-type]
    journeys.contact(key_worker, journey)  # type: ignore[arg-type]
    adult = FamilyMember.objects.filter(family=journey.family, role="adult").first()
    assert adult is not None
    give_consent(adult.person, "northfield-schools", "education", by=key_worker)  # type: ignore[arg-type]
    journeys.move(key_worker, journey, "engaged")  # type: ignore[arg-type]
    progress.agree_plan(key_worker, journey)  # type: ignore[arg-type]
    progress.review_progress(key_worker, journey)  # type: ignore[arg-type]
    journeys.move(key_worker, journey, "achieved")  # type: ignore[arg-type]
    journeys.move(manager, journey, "sustained")  # type: ignore[arg-type]
    journey.refresh_from_db()
    return journey
