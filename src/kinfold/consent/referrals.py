"""Referrals to partners: sent → accepted or rejected (with a reason) → done (an outcome), or
revoked by the key worker at any point before it is done.

This module keeps the record and its history; what may be sent is decided before it is called
(`kinfold.access.referrals`, which checks each item against the agreement and the person's consent
or an approved override, failing closed). The key worker's message and the partner's answer are
free text about a family: they are sealed under the family's data key, so erasing the family
erases them too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from kinfold import crypto
from kinfold.agreements.models import DataCategory, Organisation, Purpose
from kinfold.audit import services as audit
from kinfold.audit.actors import Actor
from kinfold.audit.events import Event
from kinfold.consent.models import Referral, ReferralEvent, ReferralItem, ReferralState
from kinfold.errors import KinfoldError
from kinfold.people import keys
from kinfold.people.models import Family, Person
from kinfold.staff.models import User

#: state → the states it may move to, and who moves it ("partner" or "sender").
MOVES: dict[tuple[str, str], str] = {
    (ReferralState.SENT, ReferralState.ACCEPTED): "partner",
    (ReferralState.SENT, ReferralState.REJECTED): "partner",
    (ReferralState.ACCEPTED, ReferralState.DONE): "partner",
    (ReferralState.SENT, ReferralState.REVOKED): "sender",
    (ReferralState.ACCEPTED, ReferralState.REVOKED): "sender",
}
_EVENTS = {
    ReferralState.ACCEPTED: Event.REFERRAL_ACCEPTED,
    ReferralState.REJECTED: Event.REFERRAL_DECLINED,
    ReferralState.DONE: Event.REFERRAL_CLOSED,
    ReferralState.REVOKED: Event.REFERRAL_REVOKED,
}
#: The partner must say why when rejecting, and what happened when done.
NEEDS_NOTE = {ReferralState.REJECTED: "say why", ReferralState.DONE: "record the outcome"}


@dataclass(frozen=True)
class Item:
    """One person's information in one category, with the basis it was checked against."""

    person: Person
    category: str
    basis: str  # consent:<id> | override:<id>
    agreement: str  # slug@vN


def send(
    actor: Actor,
    sender: User,
    family: Family,
    recipient: str,
    purpose: str,
    items: list[Item],
    message: str,
) -> Referral:
    """Record a referral whose items have been checked. Audited."""
    if not items:
        raise KinfoldError("choose what to send with the referral", field="items")
    if not message.strip():
        raise KinfoldError("say what you are asking the partner to do", field="message")
    now = timezone.now()
    with transaction.atomic():
        referral = Referral(
            family=family,
            purpose=Purpose.objects.get(slug=purpose),
            recipient=Organisation.objects.get(slug=recipient),
            sent_by=sender,
            sent_at=now,
            message_sealed=b"",
        )
        referral.message_sealed = _seal(referral, "message", message.strip())
        referral.save()
        categories = {c.slug: c for c in DataCategory.objects.all()}
        ReferralItem.objects.bulk_create(
            ReferralItem(
                referral=referral,
                person=i.person,
                category=categories[i.category],
                basis=i.basis,
                agreement=i.agreement,
            )
            for i in items
        )
        ReferralEvent.objects.create(
            referral=referral, state=ReferralState.SENT, at=now, actor=str(actor)[:120]
        )
        audit.record(
            actor,
            Event.REFERRAL_MADE,
            resource=f"referral:{referral.referral_id}",
            subjects=[family.fid, *sorted({i.person.pid for i in items})],
            purpose=purpose,
            reason=f"referred to {recipient}",
            basis=",".join(sorted({i.basis for i in items}))[:200],
            details={
                "recipient": recipient,
                "items": [f"{i.person.pid}:{i.category}" for i in items][:40],
                "agreement": items[0].agreement,
            },
        )
    return referral


def move(actor: Actor, user: User, referral: Referral, to: str, note: str = "") -> Referral:
    """Move a referral on (accept, reject, done, revoke). KinfoldError for a move not allowed."""
    with transaction.atomic():
        current = (
            Referral.objects.select_for_update()
            .select_related("family", "purpose")
            .get(pk=referral.pk)
        )
        who = MOVES.get((current.state, to))
        if who is None:
            raise KinfoldError(f"a referral that is {current.state} cannot become {to}")
        if who == "sender" and user.role != "key_worker":
            raise KinfoldError("only the family's key worker can withdraw a referral")
        if who == "partner" and user.organisation_id != current.recipient_id:
            raise KinfoldError("only the partner the referral was sent to can answer it")
        if to in NEEDS_NOTE and not note.strip():
            raise KinfoldError(NEEDS_NOTE[ReferralState(to)], field="note")
        now = timezone.now()
        changes: dict[str, object] = {"state": to}
        if who == "partner":
            changes.update(answered_by=user, answered_at=now)
            if note.strip():
                changes["answer_sealed"] = _seal(current, "answer", note.strip())
        Referral.objects.filter(pk=current.pk).update(**changes)
        current.refresh_from_db()
        ReferralEvent.objects.create(referral=current, state=to, at=now, actor=str(actor)[:120])
        audit.record(
            actor,
            _EVENTS[ReferralState(to)],
            resource=f"referral:{current.referral_id}",
            subjects=[current.family.fid],
            purpose=current.purpose.slug,
            reason=f"referral {ReferralState(to).label.lower()}",
        )
    return current


def message_of(referral: Referral) -> str:
    return _open(referral, "message", bytes(referral.message_sealed))


def answer_of(referral: Referral) -> str:
    sealed = bytes(referral.answer_sealed or b"")
    return _open(referral, "answer", sealed) if sealed else ""


def referrals_of(family: Family) -> list[Referral]:
    return list(
        Referral.objects.filter(family=family)
        .select_related("recipient", "purpose", "sent_by")
        .prefetch_related("items__category", "items__person")
        .order_by("-sent_at", "-id")
    )


def referrals_to(organisation_id: int) -> list[Referral]:
    return list(
        Referral.objects.filter(recipient_id=organisation_id)
        .select_related("recipient", "purpose", "family")
        .prefetch_related("items__category")
        .order_by("-sent_at", "-id")
    )


def _associated(referral: Referral, part: str) -> bytes:
    return f"referral|{referral.referral_id}|{referral.family.fid}|{part}".encode()


def _seal(referral: Referral, part: str, text: str) -> bytes:
    key = keys.unwrap(referral.family.data_key)
    return crypto.seal(key, text.encode(), _associated(referral, part)).to_bytes()


def _open(referral: Referral, part: str, sealed: bytes) -> str:
    try:
        key = keys.unwrap(referral.family.data_key)
        return crypto.open_sealed(
            key, crypto.Sealed.from_bytes(sealed), _associated(referral, part)
        ).decode()
    except crypto.DecryptionError:
        return ""


def timeline(referral: Referral) -> list[tuple[str, datetime]]:
    return [(ReferralState(e.state).label, e.at) for e in referral.events.order_by("at", "id")]
