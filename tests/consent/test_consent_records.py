"""Consent records: ISO/IEC TS 27560's parts, the rules for children, withdrawal and expiry."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from kinfold.audit.actors import Actor
from kinfold.audit.models import AuditEntry
from kinfold.consent import services
from kinfold.consent.models import ConsentRecord, ConsentState
from kinfold.errors import KinfoldError
from kinfold.people import services as people
from kinfold.people.models import Family, FamilyMember, Person
from kinfold.staff.models import User
from tests.factories import add_member

ACTOR = Actor(kind="user", id="kw.amara", role="key_worker", organisation="northfield-council")


def person_aged(family: Family, age: int | None, role: str = "child") -> Person:
    person = add_member(family, role)
    person.year_of_birth = None if age is None else timezone.now().year - age
    person.save(update_fields=["year_of_birth"])
    return person


def ask(person: Person, family: Family | None = None, **changes: object) -> services.ConsentRequest:
    base: dict[str, object] = {
        "person": person,
        "purpose": "service-coordination",
        "organisation": "northfield-schools",
        "category": "education",
        "family": family,
    }
    return services.ConsentRequest(**(base | changes))  # type: ignore[arg-type]


@pytest.fixture
def home(agreements: None) -> Family:
    return people.create_family("F7CONSENTFAM")


CHILD_CASES = [
    # (description, age, role, changes, allowed, field named when refused)
    ("an adult consents for themselves", 40, "adult", {}, True, ""),
    (
        "a parent cannot consent for an adult",
        40,
        "adult",
        {"given_by": "parent"},
        False,
        "given_by",
    ),
    ("a 17-year-old consents for themselves", 17, "child", {}, True, ""),
    (
        "a parent cannot consent for a 16-year-old",
        16,
        "child",
        {"given_by": "parent"},
        False,
        "given_by",
    ),
    ("a parent consents for an 8-year-old", 8, "child", {"given_by": "parent"}, True, ""),
    (
        "a parent consenting for a 13-year-old must record the child's view",
        13,
        "child",
        {"given_by": "parent"},
        False,
        "child_view",
    ),
    (
        "a parent consents for a 13-year-old who agrees",
        13,
        "child",
        {"given_by": "parent", "child_view": "agrees"},
        True,
        "",
    ),
    (
        "a 14-year-old alone, not judged competent",
        14,
        "child",
        {},
        False,
        "competent",
    ),
    (
        "a 14-year-old judged competent (Gillick) consents for themselves",
        14,
        "child",
        {"competent": True},
        True,
        "",
    ),
    (
        "a child's view is not recorded for an adult",
        40,
        "adult",
        {"child_view": "agrees"},
        False,
        "child_view",
    ),
    (
        "an unknown age, a child by the family record",
        None,
        "child",
        {"given_by": "parent"},
        True,
        "",
    ),
    ("an unknown method", 40, "adult", {"method": "telepathy"}, False, "method"),
]


@pytest.mark.parametrize(
    ("description", "age", "role", "changes", "allowed", "field"),
    CHILD_CASES,
    ids=[c[0] for c in CHILD_CASES],
)
def test_who_may_consent(
    home: Family,
    key_worker: User,
    description: str,
    age: int | None,
    role: str,
    changes: dict[str, object],
    allowed: bool,
    field: str,
) -> None:
    person = person_aged(home, age, role)
    request = ask(person, home, **changes)
    if allowed:
        record = services.record(ACTOR, request, recorded_by=key_worker)
        assert record.subject_age == age
        if changes.get("competent"):
            assert record.competent is True
            assert record.competence_assessed_by == key_worker
    else:
        with pytest.raises(KinfoldError) as caught:
            services.record(ACTOR, request, recorded_by=key_worker)
        assert caught.value.location.field == field
        assert not ConsentRecord.objects.exists()


def test_a_consent_must_be_to_something_the_agreement_shares_on_consent(home: Family) -> None:
    adult = person_aged(home, 40, "adult")
    for changes in (
        {"category": "health"},  # schools do not share health
        {"purpose": "identification"},  # flags need no consent
        {"recipient": "northfield-police"},  # the council does not refer education to police
    ):
        with pytest.raises(KinfoldError, match="would change nothing"):
            services.record(ACTOR, ask(adult, home, **changes))


def test_records_given_together_share_a_receipt_and_default_to_the_council(home: Family) -> None:
    adult = person_aged(home, 40, "adult")
    records = services.record_many(
        ACTOR,
        [ask(adult, home), ask(adult, home, organisation="northfield-childrens-services")],
    )
    assert len({r.receipt_id for r in records}) == 1
    assert {r.recipient.slug for r in records} == {"northfield-council"}
    assert {r.notice_version for r in records} == {services.NOTICE_VERSION}
    assert AuditEntry.objects.filter(event="family:consent:given").count() == 2
    assert services.receipt_records(records[0].receipt_id) == sorted(
        records, key=lambda r: (r.category.name, r.organisation.name, r.pk)
    )


def test_withdrawal_is_an_appended_event_and_audited_once(home: Family) -> None:
    adult = person_aged(home, 40, "adult")
    record = services.record(ACTOR, ask(adult, home))
    family_actor = Actor.family(adult.pid)
    services.withdraw(family_actor, record, "changed my mind")
    services.withdraw(family_actor, record, "again")
    record.refresh_from_db()
    assert record.state == ConsentState.WITHDRAWN
    assert [e.state for e in record.events.all()] == ["given", "withdrawn"]
    entries = AuditEntry.objects.filter(event="family:consent:withdrawn")
    assert entries.count() == 1
    assert entries.get().actor_kind == "family"
    assert services.withdraw_record(ACTOR, record.record_id).state == ConsentState.WITHDRAWN
    with pytest.raises(KinfoldError, match="no such consent"):
        services.withdraw_record(ACTOR, uuid.uuid4())


def test_expiry_is_recorded_for_consents_past_their_end(home: Family) -> None:
    adult = person_aged(home, 40, "adult")
    soon = services.record(
        ACTOR, ask(adult, home, valid_until=timezone.now() + timedelta(seconds=1))
    )
    later = services.record(
        ACTOR, ask(adult, home, valid_until=timezone.now() + timedelta(days=30))
    )
    ConsentRecord.objects.filter(pk=soon.pk).update(valid_until=timezone.now() - timedelta(days=1))
    assert services.expire_due(Actor.system("consent-expire", "test")) == 1
    soon.refresh_from_db()
    later.refresh_from_db()
    assert (soon.state, later.state) == (ConsentState.EXPIRED, ConsentState.GIVEN)
    assert soon.events.last().state == "expired"  # type: ignore[union-attr]
    assert services.expire_due(Actor.system("consent-expire", "test")) == 0


def test_consent_ids_never_look_like_personal_data_to_the_audit_guard(home: Family) -> None:
    from kinfold.audit import privacy
    from kinfold.consent.models import audit_safe_uuid

    assert all(not privacy.looks_personal(f"consent:{audit_safe_uuid()}") for _ in range(3000))
    adult = person_aged(home, 40, "adult")
    record = services.record(ACTOR, ask(adult, home))
    assert not privacy.looks_personal(f"consent:{record.record_id}")


def test_consents_of_lists_newest_first(home: Family) -> None:
    adult = person_aged(home, 40, "adult")
    first = services.record(ACTOR, ask(adult, home))
    second = services.record(ACTOR, ask(adult, home, category="social-care"))
    assert [c.pk for c in services.consents_of(adult)] == [second.pk, first.pk]
    assert FamilyMember.objects.filter(person=adult).exists()
