"""The single policy decision point: every read of personal data goes through here.

Pages, the API and commands never query personal-data models themselves (the lint rule in
`scripts/lint_model_usage.py` enforces it for views, API handlers and templates). They call these
functions, which gather the facts, ask the policy, write an audit entry for every decision — allow
or deny — and return only what was allowed, each part with the reason it is shown or withheld.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from kinfold.access import facts
from kinfold.access.policy import Action, Decision, Rule, evaluate
from kinfold.agreements.models import DataCategory, Organisation
from kinfold.audit import services as audit
from kinfold.audit.actors import Actor
from kinfold.audit.events import Event
from kinfold.errors import NotPermitted
from kinfold.ingest.models import Indicator, SealedDetail
from kinfold.ingest.sealing import open_detail
from kinfold.people import vault
from kinfold.people.keys import KeyDestroyed
from kinfold.people.models import Family, FamilyMember, Person
from kinfold.staff.models import Assignment, User

_ALLOWED_EVENTS = {
    Action.LIST_FAMILIES: Event.FAMILY_LISTED,
    Action.VIEW_FAMILY: Event.FAMILY_VIEWED,
    Action.VIEW_FLAGS: Event.FAMILY_FLAGS_VIEWED,
    Action.VIEW_CONTACT: Event.FAMILY_CONTACT_VIEWED,
    Action.VIEW_DETAIL: Event.RECORD_DETAIL_VIEWED,
    Action.ASSIGN: Event.ACCESS_ALLOWED,
    Action.VIEW_AUDIT_LOG: Event.AUDIT_VIEWED,
}


#: The purpose under which partners share flags (DESIGN.md: identification sees flags, not facts).
FLAGS_PURPOSE = "identification"


class NotFound(Exception):
    """No such family or person (or it was erased). Pages answer 404; the attempt is audited."""


def actor_for(user: User) -> Actor:
    return Actor(kind="user", id=user.username, role=user.role, organisation=user.organisation_slug)


def check(
    user: User,
    action: Action,
    purpose: str,
    *,
    family: Family | None = None,
    person: Person | None = None,
    provider: str = "",
    category: str = "",
    rules: tuple[Rule, ...] | None = None,
) -> Decision:
    """Decide `user` doing `action` for `purpose`, and write the audit entry either way."""
    request = facts.gather(
        user,
        action,
        purpose,
        family=family,
        person=person,
        provider=provider,
        category=category,
        rules=rules,
    )
    decision = evaluate(request)
    subjects = [
        s.pid if isinstance(s, Person) else s.fid for s in (family, person) if s is not None
    ]
    resource = ":".join(p for p in (action.value.split(":")[0], provider, category) if p)
    audit.record(
        actor_for(user),
        _ALLOWED_EVENTS[action] if decision.allowed else Event.ACCESS_DENIED,
        durable=not decision.allowed,
        resource=resource,
        subjects=subjects,
        purpose=purpose,
        decision="allow" if decision.allowed else "deny",
        reason=decision.reason,
        basis=decision.basis,
        details={"action": action.value, "agreement": decision.agreement},
    )
    return decision


def require(user: User, action: Action, purpose: str, **resource: object) -> Decision:
    """`check`, raising NotPermitted (after the denial is audited) unless allowed."""
    decision = check(user, action, purpose, **resource)  # type: ignore[arg-type]
    if not decision.allowed:
        raise NotPermitted(decision.reason)
    return decision


def audit_actor_denied_lookup(user: User, what: str, purpose: str) -> None:
    """Record an attempt to reach something that does not exist (ids guessed or changed)."""
    audit.record(
        actor_for(user),
        Event.ACCESS_DENIED,
        durable=True,
        resource=what,
        purpose=purpose,
        decision="deny",
        reason="no such record, or not one you can see",
    )


# ---------------------------------------------------------------------------- lists


@dataclass(frozen=True)
class FamilySummary:
    fid: str
    members: int
    key_worker: str
    assigned_to_you: bool


def families_for(user: User, purpose: str) -> list[FamilySummary]:
    """The families `user` may list for `purpose`: a key worker's own; every family for managers."""
    check(user, Action.LIST_FAMILIES, purpose)
    families: QuerySet[Family] = Family.objects.all()
    if user.role == "key_worker":
        families = families.filter(assignments__key_worker=user, assignments__ended_at__isnull=True)
    elif user.role not in ("team_manager", "analyst"):
        families = families.none()
    current = {a.family_id: a for a in Assignment.objects.current().select_related("key_worker")}
    summaries = []
    for family in families.order_by("fid").distinct():
        assignment = current.get(family.pk)
        summaries.append(
            FamilySummary(
                fid=family.fid,
                members=FamilyMember.objects.filter(family=family)
                .values("person")
                .distinct()
                .count(),
                key_worker=assignment.key_worker.display_name if assignment else "",
                assigned_to_you=bool(assignment and assignment.key_worker_id == user.pk),
            )
        )
    return summaries


# ---------------------------------------------------------------------------- one family


@dataclass
class MemberView:
    pid: str
    role: str
    year_of_birth: int | None
    identity: dict[str, str] | None = None


@dataclass
class FlagView:
    pid: str
    code: str
    date: date
    value: float | None


@dataclass
class DetailView:
    pid: str
    quarter: str
    values: dict[str, str]


@dataclass
class SourceView:
    """What one organisation holds about this family in one category, with the decisions."""

    category: DataCategory
    provider: Organisation
    flags_decision: Decision
    flags: list[FlagView] = field(default_factory=list)
    details_decision: Decision | None = None
    details: list[DetailView] = field(default_factory=list)


@dataclass
class FamilyView:
    fid: str
    purpose: str
    decision: Decision
    members: list[MemberView]
    contact_decision: Decision
    sources: list[SourceView]
    key_worker: str


def _family(fid: str, user: User, purpose: str) -> Family:
    family = Family.objects.filter(fid=fid).first()
    if family is None:
        audit_actor_denied_lookup(user, f"family:{fid[:32]}", purpose)
        raise NotFound(fid)
    return family


def _members(family: Family) -> list[tuple[Person, str]]:
    latest = (
        FamilyMember.objects.filter(family=family)
        .order_by("-quarter")
        .values_list("quarter", flat=True)
        .first()
    )
    rows = (
        FamilyMember.objects.filter(family=family, quarter=latest)
        .select_related("person__data_key")
        .order_by("role", "person__pid")
    )
    return [(row.person, row.get_role_display()) for row in rows]


def family_view(user: User, fid: str, purpose: str) -> FamilyView:
    """Everything `user` may see of family `fid` for `purpose`, each part decided and audited.

    Raises NotFound for an unknown family and NotPermitted when the family itself is not theirs.
    """
    family = _family(fid, user, purpose)
    rules = facts.current_rules(user.organisation_id)
    decision = require(user, Action.VIEW_FAMILY, purpose, family=family, rules=rules)
    members = _members(family)
    contact = check(user, Action.VIEW_CONTACT, purpose, family=family, rules=rules)
    views = [MemberView(p.pid, role, p.year_of_birth) for p, role in members]
    if contact.allowed:
        for view, (person, _) in zip(views, members, strict=True):
            view.identity = _latest_identity(person)
    assignment = (
        Assignment.objects.current().filter(family=family).select_related("key_worker").first()
    )
    return FamilyView(
        fid=family.fid,
        purpose=purpose,
        decision=decision,
        members=views,
        contact_decision=contact,
        sources=_sources(user, family, [p for p, _ in members], purpose, rules),
        key_worker=assignment.key_worker.display_name if assignment else "",
    )


def _latest_identity(person: Person) -> dict[str, str] | None:
    identity = (
        person.identities.select_related("organisation", "person__data_key")
        .order_by("-last_quarter", "-id")
        .first()
    )
    if identity is None:
        return None
    try:
        return vault.open_identity(identity)
    except KeyDestroyed:
        return None


def _sources(
    user: User, family: Family, persons: list[Person], purpose: str, rules: tuple[Rule, ...]
) -> list[SourceView]:
    by_source: dict[tuple[int, int], list[Indicator]] = defaultdict(list)
    indicators = (
        Indicator.objects.filter(person__in=persons)
        .select_related("person", "category", "organisation")
        .order_by("date", "code")
    )
    for indicator in indicators:
        by_source[indicator.organisation_id, indicator.category_id].append(indicator)
    sources = []
    for items in sorted(
        by_source.values(), key=lambda i: (i[0].category.name, i[0].organisation.name)
    ):
        category, provider = items[0].category, items[0].organisation
        # Flags are what the family was identified by: they are shared for identification,
        # whatever the viewer's own purpose; the details behind them follow the viewer's purpose.
        flags = check(
            user,
            Action.VIEW_FLAGS,
            FLAGS_PURPOSE,
            family=family,
            provider=provider.slug,
            category=category.slug,
            rules=rules,
        )
        source = SourceView(category=category, provider=provider, flags_decision=flags)
        if flags.allowed:
            source.flags = [FlagView(i.person.pid, i.code, i.date, i.value) for i in items]
        source.details_decision, source.details = _details(
            user, family, persons, purpose, rules, category, provider
        )
        sources.append(source)
    return sources


def _details(
    user: User,
    family: Family,
    persons: list[Person],
    purpose: str,
    rules: tuple[Rule, ...],
    category: DataCategory,
    provider: Organisation,
) -> tuple[Decision, list[DetailView]]:
    """Details are decided person by person: consent is each person's own."""
    details = (
        SealedDetail.objects.filter(
            person__in=persons, category=category, record__organisation=provider
        )
        .select_related("person__data_key", "record", "category")
        .order_by("record__quarter", "id")
    )
    by_person: dict[int, list[SealedDetail]] = defaultdict(list)
    for detail in details:
        by_person[detail.person_id].append(detail)
    shown: list[DetailView] = []
    first_decision: Decision | None = None
    for person in persons:
        if person.pk not in by_person:
            continue
        decision = check(
            user,
            Action.VIEW_DETAIL,
            purpose,
            person=person,
            provider=provider.slug,
            category=category.slug,
            rules=rules,
        )
        if first_decision is None or (decision.allowed and not first_decision.allowed):
            first_decision = decision
        if not decision.allowed:
            continue
        for detail in by_person[person.pk]:
            try:
                shown.append(DetailView(person.pid, detail.record.quarter, open_detail(detail)))
            except KeyDestroyed:
                continue
    if first_decision is None:
        first_decision = Decision(False, "this organisation shared no details in this category")
    return first_decision, shown


# ---------------------------------------------------------------------------- the audit log


@dataclass(frozen=True)
class AuditFilters:
    actor: str = ""
    event: str = ""
    subject: str = ""
    decision: str = ""
    since: date | None = None
    until: date | None = None


def audit_log(user: User, filters: AuditFilters, before: int | None = None) -> audit.EntryPage:
    """A page of the audit log for the DPO, newest first (the view itself is audited)."""
    require(user, Action.VIEW_AUDIT_LOG, "oversight")
    tz = timezone.get_current_timezone()
    return audit.entries(
        actor=filters.actor or None,
        event=filters.event or None,
        subject=filters.subject or None,
        decision=filters.decision or None,
        since=datetime.combine(filters.since, time.min, tz) if filters.since else None,
        until=datetime.combine(filters.until + timedelta(days=1), time.min, tz)
        if filters.until
        else None,
        before=before,
        limit=50,
    )


def record_refused_page(user: User, path: str) -> None:
    """A signed-in user reached a page their role does not use: refused, and recorded."""
    audit.record(
        actor_for(user),
        Event.ACCESS_DENIED,
        durable=True,
        resource=f"page:{path[:180]}",
        decision="deny",
        reason="this page is not for your role",
    )
