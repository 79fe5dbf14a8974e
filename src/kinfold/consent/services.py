"""Recording consent and its withdrawal: every change an appended event and an audit entry.

A withdrawal takes effect on the very next access decision, because decisions read the record's
current state (`kinfold.access.facts.valid_consent`), never a cached copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from kinfold.agreements.models import DataCategory, Organisation, Purpose
from kinfold.audit import services as audit
from kinfold.audit.actors import Actor
from kinfold.audit.events import Event
from kinfold.consent.models import ConsentEvent, ConsentMethod, ConsentRecord, ConsentState
from kinfold.errors import KinfoldError
from kinfold.people.models import Family, Person
from kinfold.staff.models import User

_EVENTS = {
    ConsentState.GIVEN: Event.FAMILY_CONSENT_GIVEN,
    ConsentState.REFUSED: Event.FAMILY_CONSENT_REFUSED,
    ConsentState.WITHDRAWN: Event.FAMILY_CONSENT_WITHDRAWN,
    ConsentState.EXPIRED: Event.FAMILY_CONSENT_EXPIRED,
}


@dataclass(frozen=True)
class ConsentRequest:
    """What a person agreed to (or refused): one purpose, one partner, one category."""

    person: Person
    purpose: str
    organisation: str
    category: str
    method: str = ConsentMethod.WRITTEN
    notice_version: str = ""
    evidence_ref: str = ""
    given_by: str = "self"
    given_by_person: Person | None = None
    family: Family | None = None
    valid_until: datetime | None = None


def record(
    actor: Actor,
    request: ConsentRequest,
    state: str = ConsentState.GIVEN,
    recorded_by: User | None = None,
) -> ConsentRecord:
    """Record a consent given (or refused) now, with its first event. Audited."""
    if state not in (ConsentState.GIVEN, ConsentState.REFUSED):
        raise KinfoldError(f"a new consent record is given or refused, not {state}")
    if request.method not in ConsentMethod.values:
        raise KinfoldError(
            f"consent method must be one of {', '.join(ConsentMethod.values)}", field="method"
        )
    now = timezone.now()
    with transaction.atomic():
        consent = ConsentRecord.objects.create(
            person=request.person,
            family=request.family,
            purpose=Purpose.objects.get(slug=request.purpose),
            organisation=Organisation.objects.get(slug=request.organisation),
            category=DataCategory.objects.get(slug=request.category),
            given_by=request.given_by,
            given_by_person=request.given_by_person,
            method=request.method,
            notice_version=request.notice_version,
            evidence_ref=request.evidence_ref,
            valid_from=now,
            valid_until=request.valid_until,
            state=state,
            recorded_by=recorded_by,
        )
        _event(actor, consent, state, now, note="")
    return consent


def withdraw(actor: Actor, consent: ConsentRecord, note: str = "") -> ConsentRecord:
    """Withdraw a consent; effective for the next decision. Withdrawing twice changes nothing."""
    if consent.state == ConsentState.WITHDRAWN:
        return consent
    now = timezone.now()
    with transaction.atomic():
        ConsentRecord.objects.filter(pk=consent.pk).update(state=ConsentState.WITHDRAWN)
        consent.state = ConsentState.WITHDRAWN
        _event(actor, consent, ConsentState.WITHDRAWN, now, note)
    return consent


def _event(actor: Actor, consent: ConsentRecord, state: str, at: datetime, note: str) -> None:
    ConsentEvent.objects.create(
        record=consent, state=state, at=at, actor=str(actor)[:120], note=note[:500]
    )
    subjects = [consent.person.pid] + ([consent.family.fid] if consent.family else [])
    audit.record(
        actor,
        _EVENTS[ConsentState(state)],
        resource=f"consent:{consent.record_id}",
        subjects=subjects,
        purpose=consent.purpose.slug,
        basis=f"consent:{consent.record_id}",
        reason=f"{consent.category.slug} from {consent.organisation.slug}",
        details={"method": consent.method, "notice_version": consent.notice_version},
    )


def consents_of(person: Person) -> list[ConsentRecord]:
    """A person's consent records, newest first, with their events."""
    return list(
        ConsentRecord.objects.filter(person=person)
        .select_related("purpose", "organisation", "category")
        .prefetch_related("events")
        .order_by("-valid_from")
    )
