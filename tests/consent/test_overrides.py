"""Lawful overrides: two people, a fixed scope and expiry the database keeps, the family told."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from kinfold.access import facts
from kinfold.audit.actors import Actor
from kinfold.audit.models import AuditEntry
from kinfold.consent import overrides
from kinfold.consent.models import Override, OverrideState
from kinfold.errors import KinfoldError
from kinfold.people.models import Family, FamilyMember
from kinfold.staff.models import User


def actor(user: User) -> Actor:
    return Actor(kind="user", id=user.username, role=user.role, organisation="northfield-council")


def propose(user: User, family: Family, **changes: object) -> Override:
    terms: dict[str, object] = {
        "categories": ["health"],
        "partners": ["northfield-nhs-trust"],
        "justification": "A child is at risk of serious harm and asking would alert the person.",
        "expires_at": timezone.now() + timedelta(days=7),
    } | changes
    return overrides.propose(actor(user), user, family, **terms)  # type: ignore[arg-type]


PROPOSALS = [
    ("no categories", {"categories": []}, "categories"),
    ("no partners", {"partners": []}, "partners"),
    ("naming one's own organisation", {"partners": ["northfield-council"]}, "partners"),
    ("an unknown category", {"categories": ["gossip"]}, "categories"),
    ("a thin justification", {"justification": "because"}, "justification"),
    ("already expired", {"expires_at": timezone.now() - timedelta(minutes=1)}, "expires_at"),
    ("longer than 90 days", {"expires_at": timezone.now() + timedelta(days=91)}, "expires_at"),
    ("not told, without a reason", {"tell_family": False}, "not_told_reason"),
]


@pytest.mark.parametrize(
    ("description", "changes", "field"), PROPOSALS, ids=[c[0] for c in PROPOSALS]
)
def test_a_proposal_needs_a_scope_a_reason_and_an_end(
    key_worker: User, family: Family, description: str, changes: dict[str, object], field: str
) -> None:
    with pytest.raises(KinfoldError) as caught:
        propose(key_worker, family, **changes)
    assert caught.value.location.field == field
    assert not Override.objects.exists()


def test_only_key_workers_and_managers_propose_and_only_managers_and_the_dpo_decide(
    family: Family, analyst: User, key_worker: User, other_key_worker: User, dpo: User
) -> None:
    with pytest.raises(KinfoldError, match="only a key worker or a team manager"):
        propose(analyst, family)
    override = propose(key_worker, family)
    with pytest.raises(KinfoldError, match="only a team manager or the data protection officer"):
        overrides.decide(actor(other_key_worker), other_key_worker, override, True, "")
    decided = overrides.decide(actor(dpo), dpo, override, True, "")
    assert decided.state == OverrideState.APPROVED
    assert decided.decided_by == dpo


def test_the_proposer_cannot_decide_in_the_service_or_the_database(
    family: Family, manager: User, dpo: User
) -> None:
    override = propose(manager, family)
    with pytest.raises(KinfoldError, match="a different person"):
        overrides.decide(actor(manager), manager, override, True, "")
    with pytest.raises(IntegrityError), transaction.atomic():
        Override.objects.filter(pk=override.pk).update(
            state=OverrideState.APPROVED, decided_by=manager, decided_at=timezone.now()
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Override.objects.filter(pk=override.pk).update(state=OverrideState.APPROVED)
    override.refresh_from_db()
    assert override.state == OverrideState.PROPOSED


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("categories", ["health", "education"]),
        ("partners", ["northfield-nhs-trust", "northfield-police"]),
        ("expires_at", timezone.now() + timedelta(days=60)),
        ("person_id", None),
        ("justification", "something else entirely, and longer"),
    ],
)
def test_an_approved_override_never_widens_itself(
    family: Family, key_worker: User, manager: User, column: str, value: object
) -> None:
    parent = FamilyMember.objects.filter(family=family, role="adult").first()
    assert parent is not None
    override = propose(key_worker, family, person=parent.person)
    overrides.decide(actor(manager), manager, override, True, "")
    with pytest.raises(IntegrityError, match="cannot change"), transaction.atomic():
        Override.objects.filter(pk=override.pk).update(**{column: value})
    override.refresh_from_db()
    assert override.categories == ["health"]
    assert override.state == OverrideState.APPROVED


def test_a_change_is_a_new_proposal_that_ends_the_one_it_replaces(
    family: Family, key_worker: User, manager: User
) -> None:
    first = propose(key_worker, family)
    overrides.decide(actor(manager), manager, first, True, "")
    wider = propose(key_worker, family, categories=["health", "substance-misuse"], replaces=first)
    assert Override.objects.get(pk=first.pk).state == OverrideState.APPROVED
    overrides.decide(actor(manager), manager, wider, True, "second person agrees")
    assert Override.objects.get(pk=first.pk).state == OverrideState.REVOKED
    assert Override.objects.get(pk=wider.pk).state == OverrideState.APPROVED


def test_facts_see_only_approved_unexpired_overrides_in_scope(
    family: Family, key_worker: User, manager: User
) -> None:
    override = propose(key_worker, family)
    parent = FamilyMember.objects.filter(family=family, role="adult").first()
    assert parent is not None
    person = parent.person

    def covers(category: str = "health", provider: str = "northfield-nhs-trust") -> str:
        return facts.valid_override(
            person, family, "safeguarding", provider, category, recipient="northfield-council"
        )

    assert covers() == ""  # proposed only
    overrides.decide(actor(manager), manager, override, True, "")
    assert covers() == str(override.override_id)
    assert covers(category="education") == ""
    assert covers(provider="northfield-police") == ""
    assert (
        facts.valid_override(
            person,
            family,
            "service-coordination",
            "northfield-nhs-trust",
            "health",
            recipient="northfield-council",
        )
        == ""
    ), "an override is for its own purpose"
    Override.objects.filter(pk=override.pk).update(state=OverrideState.EXPIRED)
    assert covers() == ""


def past_due(user: User, family: Family, state: str) -> Override:
    """An override whose end has passed (made directly: its expiry can never be moved)."""
    from kinfold.agreements.models import Purpose

    return Override.objects.create(
        family=family,
        purpose=Purpose.objects.get(slug="safeguarding"),
        categories=["health"],
        partners=["northfield-nhs-trust"],
        justification="A child is at risk of serious harm and asking would alert the person.",
        expires_at=timezone.now() - timedelta(minutes=1),
        proposed_by=user,
        proposed_at=timezone.now() - timedelta(days=2),
        state=state,
    )


def test_expiry_before_a_decision_and_after_approval(
    family: Family, key_worker: User, manager: User
) -> None:
    stale = past_due(key_worker, family, OverrideState.PROPOSED)
    decided = overrides.decide(actor(manager), manager, stale, True, "")
    assert decided.state == OverrideState.EXPIRED
    live = propose(key_worker, family)
    overrides.decide(actor(manager), manager, live, True, "")
    lapsed = past_due(key_worker, family, OverrideState.PROPOSED)
    Override.objects.filter(pk=lapsed.pk).update(
        state=OverrideState.APPROVED, decided_by=manager, decided_at=timezone.now()
    )
    assert overrides.expire_due(Actor.system("consent-expire", "test")) == 1
    assert Override.objects.get(pk=lapsed.pk).state == OverrideState.EXPIRED
    assert Override.objects.get(pk=live.pk).state == OverrideState.APPROVED
    assert AuditEntry.objects.filter(event="override:expired").count() == 2


def test_the_family_is_told_unless_a_reason_is_recorded(
    family: Family, key_worker: User, manager: User
) -> None:
    told = propose(key_worker, family)
    hidden = propose(
        key_worker,
        family,
        tell_family=False,
        not_told_reason="Telling the father would put the mother at risk.",
    )
    overrides.decide(actor(manager), manager, told, True, "")
    overrides.decide(actor(manager), manager, hidden, True, "")
    assert AuditEntry.objects.filter(
        event="override:family-told", resource=f"override:{told.override_id}"
    ).exists()
    assert AuditEntry.objects.filter(
        event="override:family-not-told", resource=f"override:{hidden.override_id}"
    ).exists()
    assert overrides.withheld_from_family() == {str(hidden.override_id)}


def test_a_rejection_needs_reasons_and_ending_is_recorded(
    family: Family, key_worker: User, manager: User
) -> None:
    override = propose(key_worker, family)
    with pytest.raises(KinfoldError, match="say why"):
        overrides.decide(actor(manager), manager, override, False, " ")
    overrides.decide(actor(manager), manager, override, True, "")
    ended = overrides.end(actor(key_worker), key_worker, override, "risk has passed")
    assert ended.state == OverrideState.REVOKED
    assert ended.ended_by == key_worker
    with pytest.raises(KinfoldError, match="already"):
        overrides.end(actor(key_worker), key_worker, override, "again")
    assert AuditEntry.objects.filter(event="override:revoked").count() == 1
