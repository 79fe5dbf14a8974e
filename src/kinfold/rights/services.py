"""Families' rights: corrections and objections from the portal, subject access for the DPO.

Objections upheld exclude a person from identification: the programme's identification query
joins on `objecting_person_ids()` ("people who have objected are excluded inside the query").
"""

from __future__ import annotations

import calendar
import hashlib
import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

from kinfold import crypto
from kinfold.access import portal as access_portal
from kinfold.access.services import NotFound, actor_for
from kinfold.agreements.models import DataCategory
from kinfold.audit import services as audit
from kinfold.audit.events import Event
from kinfold.errors import KinfoldError, NotPermitted
from kinfold.people import keys
from kinfold.people.services import new_pseudonym
from kinfold.rights.models import Erasure, FamilyRequest, SubjectAccessRequest
from kinfold.staff.models import User

EXTENSION_MONTHS = 2


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or that month's last day (ICO: one calendar month)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _require_dpo(user: User) -> None:
    if user.role != "dpo":
        raise NotPermitted("only the data protection officer handles requests")


# ---------------------------------------------------------------------------- objections


def objecting_person_ids() -> QuerySet[FamilyRequest, int]:
    """Primary keys of `people.Person` rows with an upheld objection, as a subquery to join on:
    ``Person.objects.exclude(pk__in=objecting_person_ids())``."""
    return (
        FamilyRequest.objects.filter(
            kind=FamilyRequest.Kind.OBJECTION, status=FamilyRequest.Status.UPHELD
        )
        .values_list("person_id", flat=True)
        .distinct()
    )


def objecting_pids() -> set[str]:
    """Pseudonymous ids of persons with an upheld objection."""
    return set(
        FamilyRequest.objects.filter(
            kind=FamilyRequest.Kind.OBJECTION, status=FamilyRequest.Status.UPHELD
        ).values_list("person__pid", flat=True)
    )


# ---------------------------------------------------------------------------- family requests


def _associated(ref: str, pid: str) -> bytes:
    return f"rights-request|{ref}|{pid}".encode()


def submit_request(
    user: access_portal.PortalUser, pid: str, kind: str, category: str, text: str
) -> str:
    """A correction request or objection from the portal, about the holder or their child.

    The family's words are sealed under that person's key. Returns the reference. Audited."""
    if kind not in FamilyRequest.Kind.values:
        raise KinfoldError("choose a correction or an objection", field="kind")
    person = access_portal.person_in_scope(user, pid)
    ref = new_pseudonym("RQ-", 8)
    sealed = crypto.seal(keys.unwrap(person.data_key), text.encode(), _associated(ref, pid))
    now = timezone.now()
    with transaction.atomic():
        FamilyRequest.objects.create(
            ref=ref,
            kind=kind,
            person=person,
            made_by=user.pid,
            category=DataCategory.objects.filter(slug=category).first() if category else None,
            sealed_text=sealed.to_bytes(),
            received_at=now,
            due_by=add_months(timezone.localdate(now), 1),
        )
        audit.record(
            user.actor,
            Event.OBJECTION_RECEIVED if kind == "objection" else Event.CORRECTION_REQUESTED,
            resource=f"rights-request:{ref}",
            subjects=sorted({pid, user.pid}),
            purpose=access_portal.PORTAL_PURPOSE,
            details={"category": category or "all"},
        )
    return ref


def requests(user: User, status: str | None = FamilyRequest.Status.OPEN) -> list[FamilyRequest]:
    _require_dpo(user)
    query = FamilyRequest.objects.select_related("person", "category")
    if status:
        query = query.filter(status=status)
    return list(query.order_by("due_by"))


@dataclass(frozen=True)
class RequestView:
    request: FamilyRequest
    text: str


def request_view(user: User, ref: str) -> RequestView:
    _require_dpo(user)
    found = FamilyRequest.objects.select_related("person__data_key", "category").filter(ref=ref)
    item = found.first()
    if item is None:
        raise NotFound(ref)
    text = access_portal.request_text(
        user, item.person, bytes(item.sealed_text), _associated(item.ref, item.person.pid)
    )
    return RequestView(item, text)


_DECISIONS = {
    ("objection", "upheld"): Event.OBJECTION_UPHELD,
    ("objection", "refused"): Event.OBJECTION_REFUSED,
    ("correction", "upheld"): Event.CORRECTION_MADE,
    ("correction", "refused"): Event.CORRECTION_REFUSED,
}


def decide_request(user: User, ref: str, outcome: str, note: str) -> FamilyRequest:
    """Uphold (objection upheld / correction made) or refuse an open request. Audited.

    An upheld objection takes effect at once: `objecting_person_ids()` includes the person."""
    _require_dpo(user)
    item = FamilyRequest.objects.select_related("person").filter(ref=ref).first()
    if item is None:
        raise NotFound(ref)
    if item.status != FamilyRequest.Status.OPEN:
        raise KinfoldError("this request has already been decided", field="outcome")
    if outcome not in ("upheld", "refused"):
        raise KinfoldError("choose upheld or refused", field="outcome")
    if not note.strip():
        raise KinfoldError("say why (it is part of the answer to the family)", field="note")
    with transaction.atomic():
        FamilyRequest.objects.filter(pk=item.pk).update(
            status=outcome, decided_at=timezone.now(), decided_by=user.username, decision_note=note
        )
        audit.record(
            actor_for(user),
            _DECISIONS[(item.kind, outcome)],
            resource=f"rights-request:{ref}",
            subjects=[item.person.pid],
            purpose="oversight",
            decision="allow" if outcome == "upheld" else "deny",
            reason=f"{item.kind} {outcome} by the data protection officer",
        )
    item.refresh_from_db()
    return item


# ---------------------------------------------------------------------------- subject access


def open_subject_access(user: User, pid: str, verified_by: str) -> SubjectAccessRequest:
    """Open a subject access request for person `pid`: due one calendar month from today."""
    _require_dpo(user)
    person = access_portal.person_by_pid(user, pid)
    if not verified_by.strip():
        raise KinfoldError("say how you checked who is asking", field="verified_by")
    now = timezone.now()
    with transaction.atomic():
        sar = SubjectAccessRequest.objects.create(
            ref=new_pseudonym("SAR-", 8),
            person=person,
            received_at=now,
            due_by=add_months(timezone.localdate(now), 1),
            verified_by=verified_by[:200],
            opened_by=user,
        )
        audit.record(
            actor_for(user),
            Event.SUBJECT_ACCESS_REQUESTED,
            resource=f"subject-access:{sar.ref}",
            subjects=[person.pid],
            purpose="oversight",
            basis="uk-gdpr:article-15",
            details={"due_by": sar.due_by.isoformat()},
        )
    return sar


def subject_access(user: User, ref: str) -> SubjectAccessRequest:
    _require_dpo(user)
    sar = SubjectAccessRequest.objects.select_related("person").filter(ref=ref).first()
    if sar is None:
        raise NotFound(ref)
    return sar


def subject_access_requests(user: User) -> list[SubjectAccessRequest]:
    _require_dpo(user)
    return list(SubjectAccessRequest.objects.select_related("person").order_by("status", "due_by"))


def extend_subject_access(user: User, ref: str, reason: str) -> SubjectAccessRequest:
    """Extend the deadline by two further months (Art 12(3): complex or numerous requests)."""
    sar = subject_access(user, ref)
    if sar.extended_to is not None:
        raise KinfoldError("this request has already been extended", field="reason")
    if sar.status != SubjectAccessRequest.Status.OPEN:
        raise KinfoldError("this request has already been answered", field="reason")
    if not reason.strip():
        raise KinfoldError("give the reason (the requester must be told it)", field="reason")
    with transaction.atomic():
        sar.extended_to = add_months(sar.due_by, EXTENSION_MONTHS)
        sar.extension_reason = reason[:500]
        sar.save(update_fields=["extended_to", "extension_reason"])
        audit.record(
            actor_for(user),
            Event.SUBJECT_ACCESS_EXTENDED,
            resource=f"subject-access:{sar.ref}",
            subjects=[sar.person.pid],
            purpose="oversight",
            details={"extended_to": sar.extended_to.isoformat()},
        )
    return sar


def deadline_state(sar: SubjectAccessRequest, today: date | None = None) -> str:
    """ "answered", "overdue", "due soon" (within 7 days) or "on time"."""
    if sar.status == SubjectAccessRequest.Status.RELEASED:
        return "answered"
    today = today or timezone.localdate()
    deadline = sar.extended_to or sar.due_by
    if today > deadline:
        return "overdue"
    return "due soon" if deadline - today <= timedelta(days=7) else "on time"


def export(user: User, ref: str) -> dict[str, Any]:
    """Everything held about the request's person, as the JSON document released. Audited."""
    sar = subject_access(user, ref)
    data = access_portal.subject_access_data(user, sar.person)
    erasure = Erasure.objects.filter(subject=sar.person.pid).first()
    document = {
        "format": "kinfold-subject-access/v1",
        "request": {
            "reference": sar.ref,
            "received": sar.received_at.isoformat(),
            "due_by": (sar.extended_to or sar.due_by).isoformat(),
        },
        "controller": "kinfold",
        "erased": erasure.erased_at.isoformat() if erasure else None,
        **data,
        "requests": [
            {"reference": r.ref, "kind": r.kind, "status": r.status}
            for r in FamilyRequest.objects.filter(person=sar.person).order_by("received_at")
        ],
    }
    audit.record(
        actor_for(user),
        Event.SUBJECT_ACCESS_EXPORTED,
        resource=f"subject-access:{sar.ref}",
        subjects=[sar.person.pid],
        purpose="oversight",
        basis="uk-gdpr:article-15",
        details={"sha256": digest(document)},
    )
    return document


def digest(document: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def export_html(document: dict[str, Any]) -> str:
    """The same document as a readable page (print it to PDF from the browser)."""
    return render_to_string(
        "rights/subject_access_export.html",
        {
            "doc": document,
            "held_names": document["identities"],
            "shared_details": document["details"],
        },
    )


def release(user: User, ref: str) -> SubjectAccessRequest:
    """Mark the request answered: the export is released to the requester. Audited."""
    sar = subject_access(user, ref)
    if sar.status == SubjectAccessRequest.Status.RELEASED:
        raise KinfoldError("this request has already been answered")
    document = export(user, ref)
    late = timezone.localdate() > (sar.extended_to or sar.due_by)
    with transaction.atomic():
        sar.status = SubjectAccessRequest.Status.RELEASED
        sar.released_at = timezone.now()
        sar.released_by = user.username
        sar.export_sha256 = digest(document)
        sar.save(update_fields=["status", "released_at", "released_by", "export_sha256"])
        audit.record(
            actor_for(user),
            Event.SUBJECT_ACCESS_FULFILLED,
            resource=f"subject-access:{sar.ref}",
            subjects=[sar.person.pid],
            purpose="oversight",
            basis="uk-gdpr:article-15",
            details={"sha256": sar.export_sha256, "late": late},
        )
    return sar


def oversight_viewed(user: User, findings: int) -> None:
    """The DPO looked at the unusual-access findings (audited like any other reading)."""
    _require_dpo(user)
    audit.record(
        actor_for(user),
        Event.OVERSIGHT_VIEWED,
        resource="oversight",
        purpose="oversight",
        decision="allow",
        basis="role:dpo",
        details={"findings": findings},
    )
