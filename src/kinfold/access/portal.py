"""The family portal's reads, and the DPO's subject access reads: decided and audited here.

A family member (acting as `Actor.family(pid)`) sees what kinfold holds about them and their
dependent children, who looked at it, and their consents. "Dependent children" are the members
recorded as children in a family where the account holder is recorded as an adult in the same
(latest) quarter; a parent living elsewhere does not see children's data through the portal
(safety: that parent may be the person a family is being protected from). A child's own account
(13 or over) sees only their own data.

Every read is audited; an attempt to reach anything outside the account's scope (an id changed
in the address bar) is refused, recorded durably as a denial, and answered as "not found".
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.apps import apps
from django.utils import timezone

from kinfold.access.facts import is_assigned
from kinfold.access.services import NotFound, actor_for
from kinfold.agreements.models import Purpose
from kinfold.audit import proofs
from kinfold.audit import services as audit
from kinfold.audit.actors import Actor
from kinfold.audit.errors import AuditError
from kinfold.audit.events import Event
from kinfold.audit.models import AuditEntry
from kinfold.consent import services as consent_services
from kinfold.consent.models import ConsentRecord, ConsentState
from kinfold.errors import KinfoldError, NotPermitted
from kinfold.ingest.models import Indicator, SealedDetail
from kinfold.ingest.sealing import open_detail
from kinfold.people import vault
from kinfold.people.keys import KeyDestroyed
from kinfold.people.models import Family, FamilyMember, Identity, Person
from kinfold.staff.models import User

PORTAL_PURPOSE = "subject-rights"
PORTAL_BASIS = "uk-gdpr:article-15"
MIN_CHILD_ACCOUNT_AGE = 13


class ProofNotReady(KinfoldError):
    """The entry is newer than the latest signed checkpoint; its proof follows the next one."""


@dataclass(frozen=True)
class PortalUser:
    """Who is signed in to the portal: a person, by pseudonymous id."""

    pid: str

    @property
    def actor(self) -> Actor:
        return Actor.family(self.pid)


@dataclass(frozen=True)
class Scope:
    """What one account may see: the holder, their dependent children, and their families."""

    holder: Person
    children: tuple[Person, ...]
    families: tuple[Family, ...]

    @property
    def persons(self) -> tuple[Person, ...]:
        return (self.holder, *self.children)

    @property
    def pids(self) -> set[str]:
        return {p.pid for p in self.persons}

    @property
    def fids(self) -> set[str]:
        return {f.fid for f in self.families}

    def relation(self, pid: str) -> str:
        return "you" if pid == self.holder.pid else "your child"


def _latest_membership(person: Person) -> list[FamilyMember]:
    """The person's memberships in each family's latest quarter in which they appear."""
    rows = FamilyMember.objects.filter(person=person).select_related("family")
    latest: dict[int, FamilyMember] = {}
    for row in rows:
        current = latest.get(row.family_id)
        if current is None or row.quarter > current.quarter:
            latest[row.family_id] = row
    return list(latest.values())


def scope_of(person: Person) -> Scope:
    """The persons and families `person` may see through the portal."""
    memberships = _latest_membership(person)
    children: dict[int, Person] = {}
    for membership in memberships:
        if membership.role != FamilyMember.Role.ADULT:
            continue
        for child in FamilyMember.objects.filter(
            family_id=membership.family_id,
            quarter=membership.quarter,
            role=FamilyMember.Role.CHILD,
        ).select_related("person"):
            if child.person_id != person.pk:
                children[child.person_id] = child.person
    return Scope(
        holder=person,
        children=tuple(sorted(children.values(), key=lambda p: p.pid)),
        families=tuple(sorted((m.family for m in memberships), key=lambda f: f.fid)),
    )


def _holder(user: PortalUser) -> Person:
    person = Person.objects.filter(pid=user.pid).select_related("data_key").first()
    if person is None:
        raise NotFound(user.pid)
    return person


def scope(user: PortalUser) -> Scope:
    return scope_of(_holder(user))


def _viewed(user: PortalUser, what: str, sc: Scope, details: dict[str, Any] | None = None) -> None:
    audit.record(
        user.actor,
        Event.PORTAL_VIEWED,
        resource=f"portal:{what}",
        subjects=sorted(sc.pids | sc.fids),
        purpose=PORTAL_PURPOSE,
        decision="allow",
        reason="a family member sees their own information",
        basis=PORTAL_BASIS,
        details=details,
    )


def refuse(user: PortalUser, what: str) -> NotFound:
    """Record an attempt to reach something outside the account's scope; returns NotFound."""
    audit.record(
        user.actor,
        Event.ACCESS_DENIED,
        durable=True,
        resource=f"portal:{re.sub(r'[^A-Za-z0-9:._-]', '_', what)[:150]}",
        subjects=[user.pid],
        purpose=PORTAL_PURPOSE,
        decision="deny",
        reason="not this family member's information",
    )
    return NotFound(what)


# ---------------------------------------------------------------------------- what we hold


@dataclass
class SourceHeld:
    organisation: str
    flags: list[tuple[str, date, float | None]] = field(default_factory=list)  # code, date, value
    details: int = 0  # how many sealed records of detail


@dataclass
class CategoryHeld:
    category: str
    special: str
    sources: list[SourceHeld]


@dataclass
class PersonHeld:
    pid: str
    relation: str
    name: str
    identities: list[tuple[str, dict[str, str]]]  # organisation, fields as it holds them
    categories: list[CategoryHeld]


def _identities(person: Person) -> list[tuple[str, dict[str, str]]]:
    found = []
    rows = Identity.objects.filter(person=person).select_related("organisation", "person__data_key")
    for identity in rows.order_by("organisation__name", "-last_quarter"):
        try:
            found.append((identity.organisation.name, vault.open_identity(identity)))
        except KeyDestroyed:
            continue
    return found


def _categories(person: Person) -> list[CategoryHeld]:
    sources: dict[tuple[str, str], SourceHeld] = {}
    special: dict[str, str] = {}
    indicators = Indicator.objects.filter(person=person).select_related("category", "organisation")
    for flag in indicators.order_by("date", "code"):
        key = (flag.category.name, flag.organisation.name)
        special[flag.category.name] = flag.category.special
        held = sources.setdefault(key, SourceHeld(flag.organisation.name))
        held.flags.append((flag.code, flag.date, flag.value))
    details = SealedDetail.objects.filter(person=person).select_related(
        "category", "record__organisation"
    )
    for detail in details:
        key = (detail.category.name, detail.record.organisation.name)
        special[detail.category.name] = detail.category.special
        sources.setdefault(key, SourceHeld(detail.record.organisation.name)).details += 1
    by_category: dict[str, list[SourceHeld]] = defaultdict(list)
    for (category, _), held in sorted(sources.items()):
        by_category[category].append(held)
    return [CategoryHeld(c, special[c], s) for c, s in by_category.items()]


def _name(identities: list[tuple[str, dict[str, str]]]) -> str:
    for _, fields in identities:
        name = f"{fields.get('given_name', '')} {fields.get('surname', '')}".strip()
        if name:
            return name
    return ""


def holdings(user: PortalUser) -> list[PersonHeld]:
    """What kinfold holds about the account holder and their dependent children. Audited."""
    sc = scope(user)
    held = []
    for person in sc.persons:
        identities = _identities(person)
        held.append(
            PersonHeld(
                pid=person.pid,
                relation=sc.relation(person.pid),
                name=_name(identities),
                identities=identities,
                categories=_categories(person),
            )
        )
    _viewed(user, "holdings", sc)
    return held


def names(user: PortalUser) -> dict[str, str]:
    """pid → display name for the persons in scope (the holder's own family's names)."""
    sc = scope(user)
    return {p.pid: _name(_identities(p)) or sc.relation(p.pid) for p in sc.persons}


# ---------------------------------------------------------------------------- who looked


@dataclass(frozen=True)
class HistoryPage:
    entries: list[AuditEntry]
    next_before: int | None
    override_reasons: dict[str, str] = field(default_factory=dict)  # override id → its reason


def _override_model() -> Any:
    """The consent part's Override model, when it has one (read, never written, here)."""
    try:
        return apps.get_model("consent", "Override")
    except LookupError:
        return None


def withheld_overrides() -> set[str]:
    """Overrides the family must not be told of (a recorded risk): entries based on them are
    left out of the portal altogether, since even "someone looked" could tell."""
    model = _override_model()
    if model is None:
        return set()
    return {
        str(i)
        for i in model.objects.filter(tell_family=False).values_list("override_id", flat=True)
    }


def override_reasons(entries: Iterable[AuditEntry]) -> dict[str, str]:
    """The stated reason (justification) of each override the entries are based on."""
    model = _override_model()
    ids = {e.basis.partition(":")[2] for e in entries if e.basis.startswith("override:")}
    if model is None or not ids:
        return {}
    rows = model.objects.filter(override_id__in=ids, tell_family=True)
    return {str(o): str(j) for o, j in rows.values_list("override_id", "justification")}


def _shown(entry: AuditEntry, sc: Scope, own: str, withheld: set[str] | None = None) -> bool:
    if entry.actor_kind == "family" and entry.actor_id == own:
        return False  # their own visits to the portal
    if withheld and entry.basis.startswith("override:") and entry.basis[9:] in withheld:
        return False
    subjects = set(entry.subject_ids)
    persons = {s for s in subjects if s.startswith("P")}
    if persons:
        return bool(persons & sc.pids)
    return bool(subjects & sc.fids)


def history(user: PortalUser, before: int | None = None, limit: int = 25) -> HistoryPage:
    """Every entry about the account's persons (or their families as a whole), newest first.

    An entry about another adult in the family (their consent, their record) is not shown.
    """
    sc = scope(user)
    withheld = withheld_overrides()
    shown: list[AuditEntry] = []
    cursor = before
    while len(shown) < limit:
        page = audit.entries_about(sc.pids | sc.fids, before=cursor, limit=200)
        for entry in page.entries:
            if _shown(entry, sc, user.pid, withheld):
                shown.append(entry)
                if len(shown) == limit:
                    break
        cursor = page.next_before
        if cursor is None:
            break
    more = len(shown) == limit and (cursor is not None or _older_exists(sc, user, shown, withheld))
    _viewed(user, "access-history", sc, {"before": before})
    return HistoryPage(
        shown, int(shown[-1].seq) if more and shown else None, override_reasons(shown)
    )


def _older_exists(sc: Scope, user: PortalUser, shown: list[AuditEntry], withheld: set[str]) -> bool:
    if not shown:
        return False
    older = audit.entries_about(sc.pids | sc.fids, before=int(shown[-1].seq), limit=200)
    return any(_shown(e, sc, user.pid, withheld) for e in older.entries)


def proof(user: PortalUser, seq: int) -> dict[str, Any]:
    """The inclusion proof of entry `seq`, if it is one the account may see (else NotFound)."""
    sc = scope(user)
    try:
        entry = audit.entry(seq)
    except AuditError:
        raise refuse(user, f"proof:{seq}") from None
    visible = _shown(entry, sc, user.pid, withheld_overrides())
    if not visible:
        raise refuse(user, f"proof:{seq}")
    try:
        document = proofs.inclusion_json(seq)
    except AuditError as exc:
        raise ProofNotReady(str(exc)) from exc
    _viewed(user, "proof", sc, {"entry": seq})
    return document


# ---------------------------------------------------------------------------- consents


@dataclass(frozen=True)
class ConsentHeld:
    record_id: str
    pid: str
    purpose: str
    organisation: str
    category: str
    state: str
    state_label: str
    given_at: datetime
    valid_until: datetime | None
    given_by_parent: bool

    @property
    def can_withdraw(self) -> bool:
        return self.state == ConsentState.GIVEN


def _consents(sc: Scope) -> list[ConsentRecord]:
    return [c for person in sc.persons for c in consent_services.consents_of(person)]


def consents(user: PortalUser) -> list[ConsentHeld]:
    """The consents of the account holder and their dependent children, newest first. Audited."""
    sc = scope(user)
    held = [
        ConsentHeld(
            record_id=str(c.record_id),
            pid=c.person.pid,
            purpose=c.purpose.name,
            organisation=c.organisation.name,
            category=c.category.name,
            state=c.state,
            state_label=c.get_state_display(),
            given_at=c.valid_from,
            valid_until=c.valid_until,
            given_by_parent=c.given_by == "parent",
        )
        for c in _consents(sc)
    ]
    _viewed(user, "consents", sc)
    return held


def consent(user: PortalUser, record_id: str) -> ConsentHeld:
    """One consent in scope, for the withdraw confirmation page (NotFound otherwise)."""
    for held in consents(user):
        if held.record_id == record_id:
            return held
    raise refuse(user, f"consent:{record_id[:40]}")


def withdraw_consent(user: PortalUser, record_id: str, note: str = "") -> ConsentHeld:
    """Withdraw a consent of the holder or their child; takes effect on the next decision."""
    sc = scope(user)
    for record in _consents(sc):
        if str(record.record_id) == record_id:
            consent_services.withdraw(user.actor, record, note or "withdrawn in the family portal")
            return consent(user, record_id)
    raise refuse(user, f"consent:{record_id[:40]}")


def person_in_scope(user: PortalUser, pid: str) -> Person:
    """A person the account may act for (its holder or a dependent child); NotFound otherwise."""
    sc = scope(user)
    for person in sc.persons:
        if person.pid == pid:
            return person
    raise refuse(user, f"person:{pid[:32]}")


# ---------------------------------------------------------------------------- staff side


def _contact_canonical(kind: str, value: str) -> str:
    if kind == "email":
        return value.strip().lower()
    digits = re.sub(r"\D", "", value)
    if digits.startswith("44"):
        digits = "0" + digits[2:]
    return digits


def canonical_contact(kind: str, value: str) -> str:
    """An email address (lower case) or UK mobile number (digits, 07…) in one canonical form."""
    canonical = _contact_canonical(kind, value)
    if kind == "mobile" and not re.fullmatch(r"07\d{9}", canonical):
        raise KinfoldError("enter a UK mobile number, like 07700 900123", field="contact")
    if kind == "email" and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", canonical):
        raise KinfoldError("enter an email address, like name@example.org", field="contact")
    return canonical


def _deny(user: User, what: str, reason: str) -> NotPermitted:
    audit.record(
        actor_for(user),
        Event.ACCESS_DENIED,
        durable=True,
        resource=what,
        purpose=PORTAL_PURPOSE,
        decision="deny",
        reason=reason,
    )
    return NotPermitted(reason)


def person_for_portal(user: User, pid: str, kind: str, contact: str) -> Person:
    """Check that `user` may give person `pid` a portal account with this contact, and that the
    contact is one the vault holds for them. Returns the person; NotPermitted/KinfoldError else.

    The person's key worker, or the DPO (for a subject access request), may do it. A child needs
    to be at least 13 to have an account of their own.
    """
    person = Person.objects.filter(pid=pid).select_related("data_key").first()
    if person is None:
        raise _deny(user, f"person:{pid[:32]}", "no such person")
    if user.role != "dpo" and not (user.role == "key_worker" and is_assigned(user, person=person)):
        raise _deny(user, f"person:{pid}", "only the family's key worker or the DPO can do this")
    canonical = canonical_contact(kind, contact)
    field_name = "email" if kind == "email" else "phone"
    held = {
        _contact_canonical(kind, fields.get(field_name, ""))
        for _, fields in _identities(person)
        if fields.get(field_name)
    }
    if canonical not in held:
        raise KinfoldError(
            f"that {'email address' if kind == 'email' else 'mobile number'} is not one we hold "
            "for this person; check it, or ask the partner who holds it to correct their record",
            field="contact",
        )
    memberships = _latest_membership(person)
    if memberships and all(m.role == FamilyMember.Role.CHILD for m in memberships):
        age = timezone.now().year - person.year_of_birth if person.year_of_birth else None
        if age is None or age < MIN_CHILD_ACCOUNT_AGE:
            raise KinfoldError(
                f"a child needs to be at least {MIN_CHILD_ACCOUNT_AGE} to have their own account; "
                "a parent's account shows their children's information",
                field="pid",
            )
    return person


# ---------------------------------------------------------------------------- subject access


def _require_dpo(user: User, what: str) -> None:
    if user.role != "dpo":
        raise _deny(user, what, "only the data protection officer handles subject access")


def find_persons(user: User, lookups: Iterable[tuple[str, str]]) -> list[Person]:
    """Persons matching every (field, value) by blind index (surname + dob, NHS number, …).

    For the DPO only; the search itself is audited (what was searched by, never the values).
    """
    _require_dpo(user, "person:search")
    lookups = [(f, v) for f, v in lookups if v.strip()]
    if not lookups:
        return []
    found: set[int] | None = None
    for name, value in lookups:
        ids = {p.pk for p in vault.find_persons(name, value)}
        found = ids if found is None else found & ids
    persons = list(Person.objects.filter(pk__in=found or set()).order_by("pid"))
    audit.record(
        actor_for(user),
        Event.ACCESS_ALLOWED,
        resource="person:search",
        subjects=[p.pid for p in persons],
        purpose="oversight",
        decision="allow",
        reason="subject access: finding the requester",
        basis="role:dpo",
        details={"fields": sorted(n for n, _ in lookups), "found": len(persons)},
    )
    return persons


def person_by_pid(user: User, pid: str) -> Person:
    _require_dpo(user, f"person:{pid[:32]}")
    person = Person.objects.filter(pid=pid).first()
    if person is None:
        raise NotFound(pid)
    return person


def _entry_json(entry: AuditEntry) -> dict[str, Any]:
    return {
        "seq": int(entry.seq),
        "time": entry.recorded_at.isoformat(),
        "event": entry.event,
        "actor_kind": entry.actor_kind,
        "actor_role": entry.actor_role,
        "actor_organisation": entry.actor_organisation,
        "purpose": entry.purpose,
        "decision": entry.decision,
        "reason": entry.reason,
        "basis": entry.basis,
    }


def subject_access_data(user: User, person: Person) -> dict[str, Any]:
    """Everything kinfold holds about `person`, as plain JSON-able data (the DPO only).

    Identities and sealed details are opened; the access history is every audit entry about the
    person or their families. The caller audits the release.
    """
    _require_dpo(user, f"person:{person.pid}")
    sc = scope_of(person)
    purposes = {p.slug: p.name for p in Purpose.objects.all()}
    details = []
    rows = SealedDetail.objects.filter(person=person).select_related(
        "record__organisation", "category", "person__data_key", "record__person"
    )
    for detail in rows.order_by("record__quarter", "id"):
        try:
            values = open_detail(detail)
        except KeyDestroyed:
            values = {}
        details.append(
            {
                "organisation": detail.record.organisation.name,
                "category": detail.category.name,
                "quarter": detail.record.quarter,
                "record_reference": detail.record.source_ref,
                "values": values,
            }
        )
    history: list[dict[str, Any]] = []
    cursor: int | None = None
    while True:
        page = audit.entries_about({person.pid} | sc.fids, before=cursor, limit=1000)
        history += [_entry_json(e) for e in page.entries if _shown(e, _solo(person, sc), "")]
        if page.next_before is None:
            break
        cursor = page.next_before
    return {
        "person": {
            "id": person.pid,
            "year_of_birth": person.year_of_birth,
            "month_of_birth": person.month_of_birth,
        },
        "families": [
            {"id": m.family.fid, "role": m.get_role_display(), "quarter": m.quarter}
            for m in _latest_membership(person)
        ],
        "identities": [{"organisation": o, "fields": f} for o, f in _identities(person)],
        "flags": [
            {
                "category": c.category,
                "organisation": s.organisation,
                "code": code,
                "date": day.isoformat(),
                "value": value,
            }
            for c in _categories(person)
            for s in c.sources
            for code, day, value in s.flags
        ],
        "details": details,
        "consents": [
            {
                "id": str(c.record_id),
                "purpose": purposes.get(c.purpose.slug, c.purpose.slug),
                "organisation": c.organisation.name,
                "category": c.category.name,
                "state": c.state,
                "method": c.method,
                "valid_from": c.valid_from.isoformat(),
                "valid_until": c.valid_until.isoformat() if c.valid_until else None,
                "events": [
                    {"state": e.state, "at": e.at.isoformat(), "note": e.note}
                    for e in c.events.all()
                ],
            }
            for c in consent_services.consents_of(person)
        ],
        "access_history": history,
    }


def _solo(person: Person, sc: Scope) -> Scope:
    return Scope(holder=person, children=(), families=sc.families)


def request_text(user: User, person: Person, sealed: bytes, associated: bytes) -> str:
    """Open a family's sealed words (a correction or objection) for the DPO. Audited."""
    from kinfold import crypto
    from kinfold.people.keys import unwrap

    _require_dpo(user, f"person:{person.pid}")
    try:
        text = crypto.open_sealed(
            unwrap(person.data_key), crypto.Sealed.from_bytes(sealed), associated
        ).decode()
    except (KeyDestroyed, crypto.DecryptionError):
        return ""
    audit.record(
        actor_for(user),
        Event.PERSON_VIEWED,
        resource=f"person:{person.pid}",
        subjects=[person.pid],
        purpose="oversight",
        decision="allow",
        reason="reading the family's request",
        basis="role:dpo",
    )
    return text


def demo_candidate() -> tuple[User, str, str, str] | None:
    """For the demo only: an adult in an allocated family with an email in the vault, and the
    family's key worker (who registers the account, as they would in real life)."""
    from kinfold.staff.models import Assignment

    assignments = Assignment.objects.current().select_related("family", "key_worker")
    for assignment in assignments.order_by("family__fid"):
        adults = FamilyMember.objects.filter(
            family=assignment.family, role=FamilyMember.Role.ADULT
        ).select_related("person__data_key")
        for member in adults.order_by("person__pid"):
            for _, fields in _identities(member.person):
                if fields.get("email"):
                    return (
                        assignment.key_worker,
                        member.person.pid,
                        assignment.family.fid,
                        fields["email"],
                    )
    return None
