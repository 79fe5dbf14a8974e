"""Recording consent and its withdrawal: every change an appended event and an audit entry.

A withdrawal takes effect on the very next access decision, because decisions read the record's
current state (`kinfold.access.facts.valid_consent`), never a cached copy.

Children (docs/agreements.md, "Children"): from 16 a young person consents for themselves; under
16 a parent or carer may consent for them, or the child themselves when the key worker judges them
competent to decide (Gillick competence, recorded with who judged it); whenever a parent consents
for a child of 12 or over, the child's own view is recorded beside it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from kinfold.agreements.models import DataCategory, Organisation, Purpose, Share
from kinfold.audit import services as audit
from kinfold.audit.actors import Actor
from kinfold.audit.events import Event
from kinfold.consent.models import (
    ChildView,
    ConsentEvent,
    ConsentMethod,
    ConsentRecord,
    ConsentState,
    GivenBy,
    audit_safe_uuid,
)
from kinfold.errors import KinfoldError
from kinfold.people.models import Family, FamilyMember, Person
from kinfold.staff.models import User

#: The privacy notice version the staff pages and the portal show now (web/privacy.html).
NOTICE_VERSION = "2026-11"
#: From this age a child's own view is recorded whenever a parent consents for them.
CHILD_VIEW_FROM = 12
#: From this age a young person consents for themselves.
OWN_CONSENT_FROM = 16

_EVENTS = {
    ConsentState.GIVEN: Event.FAMILY_CONSENT_GIVEN,
    ConsentState.REFUSED: Event.FAMILY_CONSENT_REFUSED,
    ConsentState.WITHDRAWN: Event.FAMILY_CONSENT_WITHDRAWN,
    ConsentState.EXPIRED: Event.FAMILY_CONSENT_EXPIRED,
}


@dataclass(frozen=True)
class ConsentRequest:
    """What a person agreed to (or refused): one purpose, one partner, one category.

    `organisation` is whose information it is; `recipient` who may see it (by default the
    agreement's controller, the council's key worker; a partner's slug for a referral).
    """

    person: Person
    purpose: str
    organisation: str
    category: str
    method: str = ConsentMethod.WRITTEN
    notice_version: str = ""
    evidence_ref: str = ""
    given_by: str = GivenBy.SELF
    given_by_person: Person | None = None
    family: Family | None = None
    valid_until: datetime | None = None
    recipient: str = ""
    child_view: str = ChildView.NOT_RECORDED
    child_view_note: str = ""
    competent: bool | None = None


def record(
    actor: Actor,
    request: ConsentRequest,
    state: str = ConsentState.GIVEN,
    recorded_by: User | None = None,
) -> ConsentRecord:
    """Record a consent given (or refused) now, with its first event. Audited."""
    return record_many(actor, [request], state, recorded_by)[0]


def record_many(
    actor: Actor,
    requests: list[ConsentRequest],
    state: str = ConsentState.GIVEN,
    recorded_by: User | None = None,
) -> list[ConsentRecord]:
    """Record what one conversation agreed (or refused), all under one receipt. Audited.

    Raises KinfoldError, naming the field, for a method, state, child's consent or scope that
    is not valid; nothing is recorded then.
    """
    if state not in (ConsentState.GIVEN, ConsentState.REFUSED):
        raise KinfoldError(f"a new consent record is given or refused, not {state}")
    if not requests:
        raise KinfoldError("choose at least one kind of information", field="categories")
    checked = [_checked(r, recorded_by) for r in requests]
    receipt = audit_safe_uuid()
    now = timezone.now()
    with transaction.atomic():
        records = [_create(r, age, state, now, receipt, recorded_by) for r, age in checked]
        for consent in records:
            _event(actor, consent, state, now, note="")
    return records


def _checked(
    request: ConsentRequest, recorded_by: User | None
) -> tuple[ConsentRequest, int | None]:
    if request.method not in ConsentMethod.values:
        raise KinfoldError(
            f"consent method must be one of {', '.join(ConsentMethod.values)}", field="method"
        )
    if request.given_by not in GivenBy.values:
        raise KinfoldError("who gave the consent must be the person or a parent", field="given_by")
    if request.child_view not in ChildView.values:
        raise KinfoldError("choose what the child said", field="child_view")
    if not request.recipient:
        request = replace(request, recipient=default_recipient(request.purpose))
    _in_agreement(request)
    age = age_of(request.person)
    _child_rules(request, age, is_child(request.person, request.family, age), recorded_by)
    return request, age


def default_recipient(purpose: str) -> str:
    """Who sees what a consent releases unless it says otherwise: the controller of the approved
    agreement for this purpose (the council, for the key worker)."""
    share = (
        Share.objects.filter(agreement__status="approved", purpose__slug=purpose)
        .values_list("agreement__controller__slug", flat=True)
        .first()
    )
    if share:
        return str(share)
    council = Organisation.objects.filter(kind="council").order_by("pk").first()
    return council.slug if council else ""


def _in_agreement(request: ConsentRequest) -> None:
    """A consent must be to something an approved agreement shares only with consent."""
    shares = Share.objects.filter(
        agreement__status="approved",
        purpose__slug=request.purpose,
        provider__slug=request.organisation,
        recipient__slug=request.recipient,
        category__slug=request.category,
        consent_required=True,
    )
    if not shares.exists():
        raise KinfoldError(
            f"no approved agreement shares {request.category} from {request.organisation} with "
            f"{request.recipient} for {request.purpose} on consent, so a consent would change "
            "nothing",
            field="categories",
        )


def age_of(person: Person) -> int | None:
    """Age in whole years, from the coarse year of birth (the full date is in the vault)."""
    if person.year_of_birth is None:
        return None
    return timezone.now().year - person.year_of_birth


def is_child(person: Person, family: Family | None, age: int | None) -> bool:
    if age is not None:
        return age < 18
    rows = FamilyMember.objects.filter(person=person)
    if family is not None:
        rows = rows.filter(family=family)
    return rows.filter(role=FamilyMember.Role.CHILD).exists()


def _child_rules(
    request: ConsentRequest, age: int | None, child: bool, recorded_by: User | None
) -> None:
    if not child:
        if request.given_by != GivenBy.SELF:
            raise KinfoldError("an adult gives their own consent", field="given_by")
        if request.child_view or request.competent is not None:
            raise KinfoldError("a child's view is recorded only for a child", field="child_view")
        return
    if age is not None and age >= OWN_CONSENT_FROM and request.given_by != GivenBy.SELF:
        raise KinfoldError(
            f"a young person of {OWN_CONSENT_FROM} or over gives their own consent",
            field="given_by",
        )
    under_16 = age is None or age < OWN_CONSENT_FROM
    if request.given_by == GivenBy.SELF and under_16 and not request.competent:
        raise KinfoldError(
            "a child under 16 consents for themselves only when judged competent to decide "
            "(Gillick): record that judgement, or record a parent's consent",
            field="competent",
        )
    if request.given_by == GivenBy.SELF and request.competent and recorded_by is None:
        raise KinfoldError(
            "a competence judgement needs the name of who made it", field="competent"
        )
    if (
        request.given_by == GivenBy.PARENT
        and age is not None
        and age >= CHILD_VIEW_FROM
        and not request.child_view
    ):
        raise KinfoldError(
            f"record the child's own view: they are {age}, and from {CHILD_VIEW_FROM} a child's "
            "view is recorded beside a parent's consent",
            field="child_view",
        )


def _create(
    request: ConsentRequest,
    age: int | None,
    state: str,
    now: datetime,
    receipt: uuid.UUID,
    recorded_by: User | None,
) -> ConsentRecord:
    competent = request.competent if request.given_by == GivenBy.SELF else None
    return ConsentRecord.objects.create(
        receipt_id=receipt,
        person=request.person,
        family=request.family,
        purpose=Purpose.objects.get(slug=request.purpose),
        organisation=Organisation.objects.get(slug=request.organisation),
        recipient=Organisation.objects.get(slug=request.recipient),
        category=DataCategory.objects.get(slug=request.category),
        given_by=request.given_by,
        given_by_person=request.given_by_person,
        method=request.method,
        notice_version=request.notice_version or NOTICE_VERSION,
        evidence_ref=request.evidence_ref,
        valid_from=now,
        valid_until=request.valid_until,
        state=state,
        recorded_by=recorded_by,
        subject_age=age,
        child_view=request.child_view,
        child_view_note=request.child_view_note[:300],
        competent=competent,
        competence_assessed_by=recorded_by if competent else None,
    )


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


def withdraw_record(actor: Actor, record_id: uuid.UUID | str, note: str = "") -> ConsentRecord:
    """`withdraw` by record id (for pages that hold only the id). KinfoldError if unknown."""
    consent = (
        ConsentRecord.objects.filter(record_id=record_id)
        .select_related("person", "family", "purpose", "organisation", "category")
        .first()
    )
    if consent is None:
        raise KinfoldError("no such consent record", field="record_id")
    return withdraw(actor, consent, note)


def expire_due(actor: Actor) -> int:
    """Mark consents past their `valid_until` as expired (decisions already ignore them)."""
    now = timezone.now()
    due = ConsentRecord.objects.filter(state=ConsentState.GIVEN, valid_until__lte=now)
    count = 0
    for consent in due.select_related("person", "family", "purpose", "organisation", "category"):
        with transaction.atomic():
            ConsentRecord.objects.filter(pk=consent.pk).update(state=ConsentState.EXPIRED)
            consent.state = ConsentState.EXPIRED
            _event(actor, consent, ConsentState.EXPIRED, now, "reached the end of its validity")
        count += 1
    return count


def _event(actor: Actor, consent: ConsentRecord, state: str, at: datetime, note: str) -> None:
    ConsentEvent.objects.create(
        record=consent, state=state, at=at, actor=str(actor)[:120], note=note[:500]
    )
    subjects = [consent.person.pid] + ([consent.family.fid] if consent.family else [])
    recipient = consent.recipient.slug if consent.recipient else ""
    audit.record(
        actor,
        _EVENTS[ConsentState(state)],
        resource=f"consent:{consent.record_id}",
        subjects=subjects,
        purpose=consent.purpose.slug,
        basis=f"consent:{consent.record_id}",
        reason=f"{consent.category.slug} from {consent.organisation.slug} to {recipient}"[:500],
        details={
            "method": consent.method,
            "notice_version": consent.notice_version,
            "given_by": consent.given_by,
            "receipt": str(consent.receipt_id),
        },
    )


def consents_of(person: Person) -> list[ConsentRecord]:
    """A person's consent records, newest first, with their events."""
    return list(
        ConsentRecord.objects.filter(person=person)
        .select_related("purpose", "organisation", "recipient", "category")
        .prefetch_related("events")
        .order_by("-valid_from", "-id")
    )


def receipt_records(receipt_id: uuid.UUID | str) -> list[ConsentRecord]:
    """The records given together under one receipt (empty if none)."""
    return list(
        ConsentRecord.objects.filter(receipt_id=receipt_id)
        .select_related(
            "person", "family", "purpose", "organisation", "recipient", "category", "recorded_by"
        )
        .prefetch_related("events")
        .order_by("category__name", "organisation__name", "id")
    )
