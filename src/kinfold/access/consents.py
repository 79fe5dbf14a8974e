"""Consent through the access point: recording, withdrawing, listing, and the consent receipt.

Pages hold family and person ids only; these functions find the records, ask the policy (key
workers record and withdraw consent for their own families; they and team managers see it), write
the audit entry, and call `kinfold.consent.services` for the change itself.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from kinfold.access import overrides, referrals
from kinfold.access.policy import Action
from kinfold.access.services import (
    AuditBatch,
    NotFound,
    actor_for,
    audit_actor_denied_lookup,
    find_family,
    require,
    require_in,
)
from kinfold.agreements.models import DataCategory, Organisation, Share
from kinfold.audit import services as audit
from kinfold.audit.actors import Actor
from kinfold.audit.events import Event
from kinfold.consent import overrides as override_records
from kinfold.consent import receipts
from kinfold.consent import referrals as referral_records
from kinfold.consent import services as consent
from kinfold.consent.models import ConsentMethod, ConsentRecord, ConsentState, GivenBy
from kinfold.errors import KinfoldError
from kinfold.people.models import Family, FamilyMember, Person
from kinfold.staff.models import User

#: The purpose under which details follow consent (the agreement says which shares need it).
CONSENT_PURPOSE = "service-coordination"


@dataclass(frozen=True)
class ConsentRow:
    record_id: str
    receipt_id: str
    pid: str
    purpose: str
    category: str
    provider: str
    recipient: str
    state: str
    state_label: str
    given_at: datetime
    valid_until: datetime | None
    given_by_parent: bool

    @property
    def can_withdraw(self) -> bool:
        return self.state == ConsentState.GIVEN


@dataclass(frozen=True)
class Member:
    pid: str
    role: str
    age: int | None
    is_child: bool


@dataclass(frozen=True)
class Choice:
    slug: str
    name: str
    special: str = ""


@dataclass
class ConsentOptions:
    """What a consent for this family can cover, as the approved agreement allows."""

    members: list[Member]
    recipients: list[Choice]  # who may see it: the council first, then partners (referrals)
    categories: dict[str, list[Choice]]  # recipient → categories shared with it on consent
    providers: dict[str, dict[str, list[Choice]]]  # recipient → category → providers
    own: str = ""  # the recording organisation: its key worker sees what a consent releases
    notice_version: str = consent.NOTICE_VERSION
    methods: list[tuple[str, str]] = field(
        default_factory=lambda: [(m.value, m.label) for m in ConsentMethod]
    )


def _consent_shares(purpose: str) -> list[Share]:
    return list(
        Share.objects.filter(
            agreement__status="approved", purpose__slug=purpose, consent_required=True
        )
        .select_related("provider", "recipient", "category")
        .order_by("recipient__name", "category__name", "provider__name")
    )


def options(user: User, fid: str, purpose: str = CONSENT_PURPOSE) -> ConsentOptions:
    """The members and the (recipient, category, provider) choices for recording consent."""
    family = find_family(fid, user, purpose)
    require(user, Action.RECORD_CONSENT, purpose, family=family)
    recipients: dict[str, Choice] = {}
    categories: dict[str, dict[str, Choice]] = defaultdict(dict)
    providers: dict[str, dict[str, dict[str, Choice]]] = defaultdict(lambda: defaultdict(dict))
    for share in _consent_shares(purpose):
        r, c, p = share.recipient, share.category, share.provider
        recipients[r.slug] = Choice(r.slug, r.name)
        categories[r.slug][c.slug] = Choice(c.slug, c.name, c.special)
        providers[r.slug][c.slug][p.slug] = Choice(p.slug, p.name)
    own = user.organisation_slug
    order = sorted(recipients.values(), key=lambda c: (c.slug != own, c.name))
    return ConsentOptions(
        members=_members(family),
        recipients=order,
        categories={r: sorted(v.values(), key=lambda c: c.name) for r, v in categories.items()},
        providers={
            r: {c: sorted(p.values(), key=lambda x: x.name) for c, p in v.items()}
            for r, v in providers.items()
        },
        own=own,
    )


def _members(family: Family) -> list[Member]:
    latest = (
        FamilyMember.objects.filter(family=family)
        .order_by("-quarter")
        .values_list("quarter", flat=True)
        .first()
    )
    rows = FamilyMember.objects.filter(family=family, quarter=latest).select_related("person")
    members = []
    for row in rows.order_by("role", "person__pid"):
        age = consent.age_of(row.person)
        members.append(
            Member(
                row.person.pid,
                row.get_role_display(),
                age,
                consent.is_child(row.person, family, age),
            )
        )
    return members


@dataclass(frozen=True)
class ConsentForm:
    """What the key worker recorded (pages build this from a validated form)."""

    pid: str
    recipient: str
    categories: list[str]
    providers: list[str]  # empty: every partner the agreement names for those categories
    method: str
    given_by: str = GivenBy.SELF
    given_by_pid: str = ""
    child_view: str = ""
    child_view_note: str = ""
    competent: bool | None = None
    notice_version: str = consent.NOTICE_VERSION
    evidence_ref: str = ""
    valid_until: datetime | None = None
    refused: bool = False
    purpose: str = CONSENT_PURPOSE


def record(user: User, fid: str, form: ConsentForm) -> str:
    """Record a consent (or refusal) for a member of family `fid`; returns the receipt id.

    One record per category and partner, all under one receipt. Raises KinfoldError (naming the
    field) when the form does not fit the agreement or the rules for children.
    """
    family = find_family(fid, user, form.purpose)
    require(user, Action.RECORD_CONSENT, form.purpose, family=family)
    person = _member(family, form.pid, "pid")
    parent = _member(family, form.given_by_pid, "given_by_pid") if form.given_by_pid else None
    pairs = []
    for share in _consent_shares(form.purpose):
        if share.recipient.slug != form.recipient or share.category.slug not in form.categories:
            continue
        if form.providers and share.provider.slug not in form.providers:
            continue
        pairs.append((share.category.slug, share.provider.slug))
    if not pairs:
        raise KinfoldError(
            "choose at least one kind of information and partner", field="categories"
        )
    requests = [
        consent.ConsentRequest(
            person=person,
            purpose=form.purpose,
            organisation=provider,
            category=category,
            recipient=form.recipient,
            method=form.method,
            notice_version=form.notice_version,
            evidence_ref=form.evidence_ref,
            given_by=form.given_by,
            given_by_person=parent,
            family=family,
            valid_until=form.valid_until,
            child_view=form.child_view,
            child_view_note=form.child_view_note,
            competent=form.competent,
        )
        for category, provider in sorted(set(pairs))
    ]
    state = ConsentState.REFUSED if form.refused else ConsentState.GIVEN
    records = consent.record_many(actor_for(user), requests, state, recorded_by=user)
    return str(records[0].receipt_id)


def _member(family: Family, pid: str, field_name: str) -> Person:
    person = Person.objects.filter(pid=pid, families__family=family).distinct().first()
    if person is None:
        raise KinfoldError("choose a member of this family", field=field_name)
    return person


def _record(user: User, record_id: str, purpose: str) -> ConsentRecord:
    key = _uuid(record_id)
    found = None
    if key is not None:
        found = (
            ConsentRecord.objects.filter(record_id=key)
            .select_related("person", "family", "purpose", "organisation", "recipient", "category")
            .first()
        )
    if found is None:
        audit_actor_denied_lookup(user, f"consent:{record_id[:40]}", purpose)
        raise NotFound(record_id)
    return found


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(text))
    except ValueError:
        return None


def _family_of(record: ConsentRecord) -> Family | None:
    if record.family_id:
        return record.family
    membership = FamilyMember.objects.filter(person=record.person).select_related("family").first()
    return membership.family if membership else None


def _siblings(record_: ConsentRecord) -> list[ConsentRecord]:
    """The consents given with this one for the same person, category and recipient (one line
    on the family page: 'education, from these partners, to the key worker')."""
    return list(
        ConsentRecord.objects.filter(
            receipt_id=record_.receipt_id,
            person_id=record_.person_id,
            category_id=record_.category_id,
            recipient_id=record_.recipient_id,
            state=record_.state,
        )
        .select_related("person", "family", "purpose", "organisation", "recipient", "category")
        .order_by("organisation__name")
    )


def rows_for_withdrawal(user: User, record_id: str) -> list[ConsentRow]:
    """What withdrawing this consent withdraws, for the 'are you sure' page (its key worker)."""
    record_ = _record(user, record_id, CONSENT_PURPOSE)
    require(user, Action.RECORD_CONSENT, record_.purpose.slug, family=_family_of(record_))
    return [_row(r) for r in _siblings(record_)]


def withdraw(user: User, record_id: str, note: str = "") -> list[ConsentRow]:
    """Withdraw a consent (with those given with it for the same category and recipient) on the
    family's behalf; the next decision already refuses."""
    record_ = _record(user, record_id, CONSENT_PURPOSE)
    require(user, Action.RECORD_CONSENT, record_.purpose.slug, family=_family_of(record_))
    withdrawn = []
    for sibling in _siblings(record_):
        consent.withdraw(actor_for(user), sibling, note or "withdrawn through the key worker")
        withdrawn.append(_row(sibling))
    return withdrawn


def family_consents(user: User, fid: str, purpose: str = CONSENT_PURPOSE) -> list[ConsentRow]:
    """Every consent of the family's members, newest first (key worker, team manager)."""
    family = find_family(fid, user, purpose)
    require(user, Action.VIEW_CONSENTS, purpose, family=family)
    persons = FamilyMember.objects.filter(family=family).values("person_id")
    records = (
        ConsentRecord.objects.filter(person_id__in=persons)
        .select_related("person", "purpose", "organisation", "recipient", "category")
        .order_by("-valid_from", "category__name", "organisation__name")
    )
    return [_row(r) for r in records]


def _row(record_: ConsentRecord) -> ConsentRow:
    return ConsentRow(
        record_id=str(record_.record_id),
        receipt_id=str(record_.receipt_id),
        pid=record_.person.pid,
        purpose=record_.purpose.name,
        category=record_.category.name,
        provider=record_.organisation.name,
        recipient=record_.recipient.name if record_.recipient else "",
        state=record_.state,
        state_label=record_.get_state_display(),
        given_at=record_.valid_from,
        valid_until=record_.valid_until,
        given_by_parent=record_.given_by == GivenBy.PARENT,
    )


# ---------------------------------------------------------------------------- receipts


def receipt_for_staff(user: User, receipt_id: str) -> receipts.Receipt:
    """A receipt, for the key worker (or team manager) of the person's family. Audited."""
    key = _uuid(receipt_id)
    first = None
    if key is not None:
        first = (
            ConsentRecord.objects.filter(receipt_id=key)
            .select_related("person", "family", "purpose")
            .first()
        )
    if first is None:
        audit_actor_denied_lookup(user, f"consent-receipt:{receipt_id[:40]}", CONSENT_PURPOSE)
        raise NotFound(receipt_id)
    require(user, Action.VIEW_CONSENTS, first.purpose.slug, family=_family_of(first))
    made = receipts.receipt(receipt_id)
    if made is None:  # pragma: no cover - the record was just found
        raise NotFound(receipt_id)
    return made


def receipt_for_family(actor: Actor, pids: set[str], receipt_id: str) -> receipts.Receipt:
    """A receipt for a family member through the portal: `pids` are the persons their account
    may see (the holder and their dependent children). NotFound, recorded, for any other."""
    made = receipts.receipt(receipt_id) if _uuid(receipt_id) else None
    if made is None or made.person not in pids:
        audit.record(
            actor,
            Event.ACCESS_DENIED,
            durable=True,
            resource=f"consent-receipt:{str(receipt_id)[:40]}",
            purpose="subject-rights",
            decision="deny",
            reason="not this family member's consent receipt",
        )
        raise NotFound(receipt_id)
    audit.record(
        actor,
        Event.PORTAL_VIEWED,
        resource=f"consent-receipt:{made.receipt_id}",
        subjects=[made.person, *([made.family] if made.family else [])],
        purpose="subject-rights",
        decision="allow",
        reason="a family member sees their own consent receipt",
        basis="uk-gdpr:article-15",
    )
    return made


def categories() -> list[Choice]:
    return [Choice(c.slug, c.name, c.special) for c in DataCategory.objects.order_by("name")]


def organisations() -> dict[str, str]:
    return dict(Organisation.objects.values_list("slug", "name"))


# ---------------------------------------------------------------------------- a family's grounds


@dataclass
class FamilySharing:
    """On what grounds a family's information is shared: its consents, overrides, referrals."""

    consents: list[ConsentRow]
    overrides: list[overrides.OverrideRow]
    referrals: list[referrals.ReferralSummary]


def family_sharing(
    user: User, fid: str, purpose: str, batch: AuditBatch | None = None
) -> FamilySharing:
    """Everything the family page shows about consent, overrides and referrals: one decision
    (recorded with the page's other entries when `batch` is given)."""
    family = find_family(fid, user, purpose)
    require_in(batch, user, Action.VIEW_CONSENTS, purpose, family=family)
    persons = FamilyMember.objects.filter(family=family).values("person_id")
    records = (
        ConsentRecord.objects.filter(person_id__in=persons)
        .select_related("person", "purpose", "organisation", "recipient", "category")
        .order_by("-valid_from", "category__name", "organisation__name")
    )
    return FamilySharing(
        consents=[_row(r) for r in records],
        overrides=[overrides.row(o, user) for o in override_records.overrides_of(family)],
        referrals=[referrals.summary(r) for r in referral_records.referrals_of(family)],
    )
