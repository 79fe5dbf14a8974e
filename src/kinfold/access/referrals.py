"""Referrals through the access point: sending only what the agreement allows, and the partner's
view of what was sent to them (and nothing else of the family).

Sending checks every item as the partner would see it: a partner practitioner at the recipient,
for the referral's purpose, with the person's consent to that partner or an approved override
naming it. One item refused refuses the referral (fail closed), saying which and why. The partner
then sees each item only while the referral is open and its basis still holds: a consent
withdrawn after sending withholds the item from the next view.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

from kinfold.access import engine, facts
from kinfold.access.policy import Action, Decision, Request
from kinfold.access.services import (
    NotFound,
    actor_for,
    audit_actor_denied_lookup,
    audit_batch,
    check,
    find_family,
    policy_snapshot,
    require,
)
from kinfold.agreements.models import Share
from kinfold.audit import services as audit
from kinfold.audit.events import Event
from kinfold.consent import referrals
from kinfold.consent.models import Referral, ReferralState
from kinfold.errors import KinfoldError, NotPermitted
from kinfold.ingest.models import Indicator
from kinfold.people.models import Family, FamilyMember, Person
from kinfold.staff.models import User

PURPOSES = ("service-coordination", "safeguarding")


class ReferralRefused(NotPermitted):
    """Some items may not be sent; `refused` says which and why (the refusal is recorded)."""

    def __init__(self, refused: list[tuple[str, str, str]]) -> None:
        self.refused = refused
        super().__init__(
            "; ".join(f"{pid} {category}: {reason}" for pid, category, reason in refused)
        )


@dataclass(frozen=True)
class Destination:
    """A partner a referral can go to, for a purpose, and what may be sent to it."""

    slug: str
    name: str
    purpose: str
    provider: str  # whose information it is as sent: the agreement's controller
    categories: list[tuple[str, str]]  # slug, name


def destinations(purpose: str | None = None) -> list[Destination]:
    """Partners the approved agreements let the council refer to, per purpose."""
    shares = (
        Share.objects.filter(agreement__status="approved", purpose__slug__in=PURPOSES)
        .select_related("recipient", "category", "provider", "purpose")
        .order_by("purpose__slug", "recipient__name", "category__name")
    )
    found: dict[tuple[str, str], Destination] = {}
    for share in shares:
        if "partner_practitioner" not in share.roles:
            continue
        if purpose and share.purpose.slug != purpose:
            continue
        key = (share.purpose.slug, share.recipient.slug)
        if key not in found:
            found[key] = Destination(
                share.recipient.slug,
                share.recipient.name,
                share.purpose.slug,
                share.provider.slug,
                [],
            )
        pair = (share.category.slug, share.category.name)
        if pair not in found[key].categories:
            found[key].categories.append(pair)
    # with consent is the usual way; safeguarding (under an override) after it
    return sorted(found.values(), key=lambda d: (d.purpose != "service-coordination", d.name))


def _destination(recipient: str, purpose: str) -> Destination:
    for destination in destinations(purpose):
        if destination.slug == recipient:
            return destination
    raise KinfoldError(
        "no approved agreement lets the council refer to that partner for this", field="recipient"
    )


def _as_partner_sees(
    snapshot: engine.Snapshot,
    known: facts.Known,
    person: Person,
    family: Family,
    d: Destination,
    category: str,
) -> Decision:
    """The decision a practitioner at the recipient would get for this item, once sent."""
    request = Request(
        role="partner_practitioner",
        organisation=d.slug,
        action=Action.VIEW_DETAIL,
        purpose=d.purpose,
        provider=d.provider,
        category=category,
        consent=known.consent(person, d.purpose, d.provider, category, d.slug),
        override=known.override(person, family, d.purpose, d.provider, category, d.slug),
        referred=True,
        rules=snapshot.rules,
    )
    decision, _ = engine.decide(snapshot, request)
    return decision


@dataclass(frozen=True)
class ReferralChoices:
    members: list[tuple[str, str]]  # pid, label
    destinations: list[Destination]


def choices(user: User, fid: str, purpose: str) -> ReferralChoices:
    """Who a referral for family `fid` can go to and whom it can be about; NotPermitted
    (recorded) unless the user may send one."""
    family = find_family(fid, user, purpose)
    require(user, Action.SEND_REFERRAL, purpose, family=family)
    seen: dict[str, str] = {}
    for m in (
        FamilyMember.objects.filter(family=family)
        .select_related("person")
        .order_by("role", "person__pid")
    ):
        seen.setdefault(m.person.pid, f"{m.person.pid} ({m.get_role_display().lower()})")
    return ReferralChoices(list(seen.items()), destinations())


def send(
    user: User,
    fid: str,
    *,
    recipient: str,
    purpose: str,
    items: list[tuple[str, str]],
    message: str,
) -> str:
    """Send a referral of (pid, category) items; returns its id. Fails closed: ReferralRefused
    (recorded) if any item lacks consent or an override, or the agreement does not share it."""
    family = find_family(fid, user, purpose)
    require(user, Action.SEND_REFERRAL, purpose, family=family)
    if not items:
        raise KinfoldError("choose what to send with the referral", field="items")
    d = _destination(recipient, purpose)
    snapshot = policy_snapshot()
    known = facts.Known.load(family=family)
    members = {p.pid: p for p in Person.objects.filter(families__family=family).distinct()}
    checked: list[referrals.Item] = []
    refused: list[tuple[str, str, str]] = []
    for pid, category in sorted(set(items)):
        person = members.get(pid)
        if person is None:
            refused.append((pid, category, "not a member of this family"))
            continue
        decision = _as_partner_sees(snapshot, known, person, family, d, category)
        if not decision.allowed:
            refused.append((pid, category, decision.reason))
            continue
        checked.append(referrals.Item(person, category, decision.basis, decision.agreement))
    if refused:
        audit.record(
            actor_for(user),
            Event.ACCESS_DENIED,
            durable=True,
            resource=f"referral:{recipient}",
            subjects=[family.fid, *sorted({pid for pid, _, _ in refused if pid in members})],
            purpose=purpose,
            decision="deny",
            reason=f"referral refused: {len(refused)} item(s) may not be sent",
            details={"refused": [f"{pid}:{category}" for pid, category, _ in refused][:40]},
        )
        raise ReferralRefused(refused)
    referral = referrals.send(actor_for(user), user, family, recipient, purpose, checked, message)
    return str(referral.referral_id)


# ---------------------------------------------------------------------------- reading referrals


@dataclass(frozen=True)
class ReferralSummary:
    referral_id: str
    recipient: str
    purpose: str
    state: str
    state_label: str
    sent_at: datetime
    people: int
    categories: list[str]


def summary(referral: Referral) -> ReferralSummary:
    items = list(referral.items.all())
    return ReferralSummary(
        referral_id=str(referral.referral_id),
        recipient=referral.recipient.name,
        purpose=referral.purpose.name,
        state=referral.state,
        state_label=referral.get_state_display(),
        sent_at=referral.sent_at,
        people=len({i.person_id for i in items}),
        categories=sorted({i.category.name for i in items}),
    )


def inbox(user: User) -> list[ReferralSummary]:
    """The referrals sent to the user's organisation (a partner's practitioners). Audited."""
    require(user, Action.LIST_REFERRALS, "service-coordination")
    return [summary(r) for r in referrals.referrals_to(user.organisation_id)]


def family_referrals(user: User, fid: str, purpose: str) -> list[ReferralSummary]:
    """The referrals made for one family (its key worker, a team manager)."""
    family = find_family(fid, user, purpose)
    require(user, Action.VIEW_CONSENTS, purpose, family=family)
    return [summary(r) for r in referrals.referrals_of(family)]


@dataclass(frozen=True)
class FlagLine:
    code: str
    when: date
    value: float | None


@dataclass
class ItemView:
    pid: str
    year_of_birth: int | None
    category: str
    decision: Decision
    flags: list[FlagLine] = field(default_factory=list)


@dataclass
class ReferralView:
    referral_id: str
    fid: str  # shown to the family's own staff only
    recipient: str
    purpose: str
    state: str
    state_label: str
    sent_at: datetime
    sent_by: str
    message: str
    answer: str
    items: list[ItemView]
    timeline: list[tuple[str, datetime]]
    as_partner: bool
    can_respond: list[tuple[str, str]]  # (state, button label)
    can_revoke: bool


def _referral(user: User, referral_id: str) -> Referral:
    try:
        key = uuid.UUID(str(referral_id))
    except ValueError:
        key = None
    found = (
        Referral.objects.filter(referral_id=key)
        .select_related("family__data_key", "recipient", "purpose", "sent_by")
        .first()
        if key
        else None
    )
    if found is None:
        audit_actor_denied_lookup(user, f"referral:{str(referral_id)[:40]}", "service-coordination")
        raise NotFound(referral_id)
    return found


def view(user: User, referral_id: str) -> ReferralView:
    """One referral: for the partner it was sent to, only its items, each decided now; for the
    family's key worker, what was sent and what became of it."""
    referral = _referral(user, referral_id)
    require(user, Action.VIEW_REFERRAL, referral.purpose.slug, referral=referral)
    as_partner = user.role == "partner_practitioner"
    items = _items(user, referral) if as_partner else _sent_items(referral)
    moves = [
        (to, label)
        for (frm, to), who in referrals.MOVES.items()
        if frm == referral.state and who == "partner"
        for label in [
            {"accepted": "Accept", "rejected": "Reject", "done": "Record the outcome"}[to]
        ]
    ]
    return ReferralView(
        referral_id=str(referral.referral_id),
        fid="" if as_partner else referral.family.fid,
        recipient=referral.recipient.name,
        purpose=referral.purpose.name,
        state=referral.state,
        state_label=referral.get_state_display(),
        sent_at=referral.sent_at,
        sent_by=f"{referral.sent_by.display_name}, key worker, {referral.sent_by.organisation.name}",
        message=referrals.message_of(referral),
        answer=referrals.answer_of(referral),
        items=items,
        timeline=referrals.timeline(referral),
        as_partner=as_partner,
        can_respond=moves if as_partner else [],
        can_revoke=not as_partner and (referral.state, ReferralState.REVOKED) in referrals.MOVES,
    )


def _items(user: User, referral: Referral) -> list[ItemView]:
    """Each item decided for this partner now; flags shown only for those allowed."""
    provider = _provider(referral)
    snapshot = policy_snapshot()
    known = facts.Known.load(family=referral.family)
    shown: list[ItemView] = []
    rows = referral.items.select_related("person", "category").order_by(
        "person__pid", "category__name"
    )
    with audit_batch() as batch:
        for item in rows:
            decision = check(
                user,
                Action.VIEW_DETAIL,
                referral.purpose.slug,
                batch=batch,
                family=referral.family,
                person=item.person,
                provider=provider,
                category=item.category.slug,
                snapshot=snapshot,
                assigned=False,
                known=known,
            )
            view_ = ItemView(
                item.person.pid, item.person.year_of_birth, item.category.name, decision
            )
            if decision.allowed:
                view_.flags = _flags(item.person, item.category_id)
            shown.append(view_)
    return shown


def _provider(referral: Referral) -> str:
    for destination in destinations(referral.purpose.slug):
        if destination.slug == referral.recipient.slug:
            return destination.provider
    return ""


def _flags(person: Person, category_id: int) -> list[FlagLine]:
    rows = Indicator.objects.filter(person=person, category_id=category_id).order_by("date", "code")
    return [FlagLine(i.code, i.date, i.value) for i in rows]


def _sent_items(referral: Referral) -> list[ItemView]:
    rows = referral.items.select_related("person", "category").order_by(
        "person__pid", "category__name"
    )
    items = []
    for item in rows:
        items.append(
            ItemView(
                item.person.pid,
                item.person.year_of_birth,
                item.category.name,
                Decision(True, f"sent on the basis of {item.basis}", item.basis, item.agreement),
            )
        )
    return items


def respond(user: User, referral_id: str, to: str, note: str = "") -> str:
    """The partner accepts, rejects (saying why) or records the outcome; returns the new state.
    Once rejected or done, the partner no longer sees the referral's items."""
    referral = _referral(user, referral_id)
    require(user, Action.RESPOND_REFERRAL, referral.purpose.slug, referral=referral)
    return str(referrals.move(actor_for(user), user, referral, to, note).state)


def revoke(user: User, referral_id: str, note: str = "") -> None:
    """The family's key worker withdraws a referral: the partner sees nothing of it from now."""
    referral = _referral(user, referral_id)
    require(user, Action.SEND_REFERRAL, referral.purpose.slug, family=referral.family)
    referrals.move(actor_for(user), user, referral, ReferralState.REVOKED, note)
