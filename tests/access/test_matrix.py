"""The access matrix: roles by purposes by categories by consent states by override states.

Every combination is decided by the real decision point (facts read from the database, Cedar and
the reference reading) and compared with the agreement as a person would read it, written out
below by hand from agreements/northfield-supporting-families.toml (version 2):

- details, for coordinating support: the family's own key worker, with the person's consent in
  force for that category from that partner (an override for safeguarding does not stand in here:
  it is for another purpose);
- details, for safeguarding: the family's own key worker or a team manager, with an approved,
  unexpired override covering that person, category and partner; consent does not stand in;
- details for any other purpose: no one;
- flags, for identification: the family's own key worker, team managers and analysts, whatever
  the consent; for any other purpose, no one (evaluation and claims use the council's own data).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone

from kinfold.access import facts
from kinfold.access import services as access
from kinfold.access.policy import Action
from kinfold.consent.models import ConsentState, Override, OverrideState
from kinfold.people import services as people
from kinfold.people.models import Family, Person
from kinfold.staff.models import Assignment, User
from tests.factories import add_member, give_consent

#: One partner per category that the agreement names for identification, coordination and
#: safeguarding alike, so every purpose is tested on the same (provider, category).
PROVIDERS = {
    "social-care": "northfield-childrens-services",
    "police-courts-probation": "northfield-police",
    "employment": "dwp-northfield",
    "antisocial-behaviour": "northfield-homes",
    "violence-in-the-home": "northfield-da-service",
    "substance-misuse": "northfield-recovery",
    "education": "northfield-schools",
    "vulnerable-children": "northfield-childrens-services",
    "health": "northfield-nhs-trust",
}
PURPOSES = [
    "identification",
    "service-coordination",
    "safeguarding",
    "evaluation",
    "payment-by-results",
    "oversight",
]
ROLES = [
    "key_worker",
    "other_key_worker",
    "manager",
    "analyst",
    "partner",
    "dpo",
    "administrator",
]
CONSENT_STATES = ["none", "given", "withdrawn", "refused", "expired", "another-partner"]
OVERRIDE_STATES = [
    "none",
    "proposed",
    "approved",
    "rejected",
    "expired",
    "revoked",
    "another-person",
]


def consent_in_force(state: str) -> bool:
    return state == "given"


def override_in_force(state: str) -> bool:
    return state == "approved"


def expected_details(role: str, purpose: str, consent: str, override: str) -> bool:
    if purpose == "service-coordination":
        return role == "key_worker" and consent_in_force(consent)
    if purpose == "safeguarding":
        return role in ("key_worker", "manager") and override_in_force(override)
    return False


def expected_flags(role: str, purpose: str) -> bool:
    return purpose == "identification" and role in ("key_worker", "manager", "analyst")


@pytest.fixture
def staff(
    key_worker: User,
    other_key_worker: User,
    manager: User,
    analyst: User,
    partner: User,
    dpo: User,
    administrator: User,
) -> dict[str, User]:
    return {
        "key_worker": key_worker,
        "other_key_worker": other_key_worker,
        "manager": manager,
        "analyst": analyst,
        "partner": partner,
        "dpo": dpo,
        "administrator": administrator,
    }


@pytest.fixture
def household(staff: dict[str, User]) -> tuple[Family, Person, Person]:
    family = people.create_family("F7MATRIXFAM01")
    person = add_member(family, "adult")
    other = add_member(family, "adult")
    Assignment.objects.create(
        family=family, key_worker=staff["key_worker"], assigned_by=staff["manager"]
    )
    return family, person, other


def set_consent(state: str, person: Person, by: User) -> None:
    if state == "none":
        return
    for category, provider in PROVIDERS.items():
        if state == "another-partner":
            provider = "northfield-police" if provider != "northfield-police" else "northfield-yos"
        record = give_consent(person, provider, category, by=by)
        if state in ("withdrawn", "refused"):
            record.state = ConsentState.WITHDRAWN if state == "withdrawn" else ConsentState.REFUSED
            record.save(update_fields=["state"])
        elif state == "expired":
            record.valid_until = timezone.now() - timedelta(minutes=1)
            record.save(update_fields=["valid_until"])


def set_override(
    state: str, family: Family, person: Person, other: Person, staff: dict[str, User]
) -> None:
    if state == "none":
        return
    now = timezone.now()
    override = Override.objects.create(
        family=family,
        person=other if state == "another-person" else person,
        purpose_id=_purpose_id("safeguarding"),
        categories=list(PROVIDERS),
        partners=sorted(set(PROVIDERS.values())),
        justification="A recorded risk of serious harm to a child in this family.",
        expires_at=now + (timedelta(minutes=-1) if state == "expired" else timedelta(days=5)),
        proposed_by=staff["key_worker"],
        proposed_at=now - timedelta(hours=1),
    )
    if state == "proposed":
        return
    decided = {
        "approved": OverrideState.APPROVED,
        "another-person": OverrideState.APPROVED,
        "expired": OverrideState.APPROVED,  # approved, but past its end
        "rejected": OverrideState.REJECTED,
        "revoked": OverrideState.REVOKED,
    }[state]
    Override.objects.filter(pk=override.pk).update(
        state=decided, decided_by=staff["manager"], decided_at=now
    )


def _purpose_id(slug: str) -> int:
    from kinfold.agreements.models import Purpose

    return Purpose.objects.get(slug=slug).pk


Decide = Callable[[User, Action, str, str, str], bool]


@pytest.fixture
def decide(household: tuple[Family, Person, Person], staff: dict[str, User]) -> Decide:
    """Decide as a family page does: the family's facts read once, then every part from them
    (read lazily, after the test has put the consents and overrides in place)."""
    family, person, _ = household
    snapshot = access.policy_snapshot()
    known: list[facts.Known] = []

    def run(user: User, action: Action, purpose: str, category: str, provider: str) -> bool:
        if not known:
            known.append(facts.Known.load(family=family))
        decision, _entry = access.decide(
            user,
            action,
            purpose,
            family=family,
            person=person,
            provider=provider,
            category=category,
            snapshot=snapshot,
            known=known[0],
        )
        return decision.allowed

    return run


@pytest.mark.parametrize("consent", CONSENT_STATES)
def test_details_matrix(
    consent: str,
    household: tuple[Family, Person, Person],
    staff: dict[str, User],
) -> None:
    """Each consent state, and inside it each override state in turn (set up, decided, removed)."""
    family, person, other = household
    set_consent(consent, person, staff["key_worker"])
    snapshot = access.policy_snapshot()
    wrong = []
    for override in OVERRIDE_STATES:
        set_override(override, family, person, other, staff)
        known = facts.Known.load(family=family)
        for role in ROLES:
            for purpose in PURPOSES:
                for category, provider in PROVIDERS.items():
                    decision, _ = access.decide(
                        staff[role],
                        Action.VIEW_DETAIL,
                        purpose,
                        family=family,
                        person=person,
                        provider=provider,
                        category=category,
                        snapshot=snapshot,
                        known=known,
                    )
                    if decision.allowed != expected_details(role, purpose, consent, override):
                        wrong.append((override, role, purpose, category, decision.allowed))
        Override.objects.filter(family=family).delete()
    count = len(OVERRIDE_STATES) * len(ROLES) * len(PURPOSES) * len(PROVIDERS)
    assert wrong == [], f"{len(wrong)} of {count} decisions differ, e.g. {wrong[:5]}"


@pytest.mark.parametrize("consent", ["none", "given"])
def test_flags_matrix(
    consent: str, household: tuple[Family, Person, Person], staff: dict[str, User], decide: Decide
) -> None:
    _, person, _ = household
    set_consent(consent, person, staff["key_worker"])
    wrong = []
    for role in ROLES:
        for purpose in PURPOSES:
            for category, provider in PROVIDERS.items():
                allowed = decide(staff[role], Action.VIEW_FLAGS, purpose, category, provider)
                if allowed != expected_flags(role, purpose):
                    wrong.append((role, purpose, category, allowed))
    assert wrong == [], f"{len(wrong)} decisions differ from the agreement, e.g. {wrong[:5]}"


def test_the_matrix_is_not_all_one_answer(
    household: tuple[Family, Person, Person], staff: dict[str, User], decide: Decide
) -> None:
    """A guard on the guard: with consent and an override in force, some allow and some deny."""
    family, person, other = household
    set_consent("given", person, staff["key_worker"])
    set_override("approved", family, person, other, staff)
    answers = {
        decide(staff[r], Action.VIEW_DETAIL, p, "health", PROVIDERS["health"])
        for r in ROLES
        for p in PURPOSES
    }
    assert answers == {True, False}


@pytest.mark.parametrize(
    ("consent", "override"), [("given", "none"), ("withdrawn", "approved"), ("none", "expired")]
)
def test_facts_read_per_decision_agree_with_a_page_reading(
    consent: str,
    override: str,
    household: tuple[Family, Person, Person],
    staff: dict[str, User],
    decide: Decide,
) -> None:
    """A single decision (facts read just for it) and a page's decisions (read once) agree."""
    family, person, other = household
    set_consent(consent, person, staff["key_worker"])
    set_override(override, family, person, other, staff)
    for role in ROLES:
        for purpose in ("service-coordination", "safeguarding"):
            for category in ("health", "education"):
                alone, _ = access.decide(
                    staff[role],
                    Action.VIEW_DETAIL,
                    purpose,
                    person=person,
                    provider=PROVIDERS[category],
                    category=category,
                )
                paged = decide(
                    staff[role], Action.VIEW_DETAIL, purpose, category, PROVIDERS[category]
                )
                assert alone.allowed == paged, (role, purpose, category)
