"""The single policy decision point: every read of personal data goes through here.

Pages, the API and commands never query personal-data models themselves (the lint rule in
`scripts/lint_model_usage.py` enforces it for views, API handlers and templates). They call these
functions, which gather the facts, ask the policy, write an audit entry for every decision — allow
or deny — and return only what was allowed, each part with the reason it is shown or withheld.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from kinfold.access import engine, facts
from kinfold.access.policy import Action, Decision, Rule
from kinfold.agreements.models import Agreement, DataCategory, Organisation, Share
from kinfold.audit import services as audit
from kinfold.audit.actors import Actor
from kinfold.audit.events import Event
from kinfold.consent.models import Override, Referral
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
    Action.VIEW_CONSENTS: Event.ACCESS_ALLOWED,
    Action.RECORD_CONSENT: Event.ACCESS_ALLOWED,
    Action.PROPOSE_OVERRIDE: Event.ACCESS_ALLOWED,
    Action.DECIDE_OVERRIDE: Event.ACCESS_ALLOWED,
    Action.REVOKE_OVERRIDE: Event.ACCESS_ALLOWED,
    Action.LIST_OVERRIDES: Event.ACCESS_ALLOWED,
    Action.SEND_REFERRAL: Event.ACCESS_ALLOWED,
    Action.LIST_REFERRALS: Event.ACCESS_ALLOWED,
    Action.VIEW_REFERRAL: Event.REFERRAL_VIEWED,
    Action.RESPOND_REFERRAL: Event.ACCESS_ALLOWED,
}


#: The purpose under which partners share flags (DESIGN.md: identification sees flags, not facts).
FLAGS_PURPOSE = "identification"


class NotFound(Exception):
    """No such family or person (or it was erased). Pages answer 404; the attempt is audited."""


def actor_for(user: User) -> Actor:
    return Actor(kind="user", id=user.username, role=user.role, organisation=user.organisation_slug)


# ---------------------------------------------------------------------------- the policies in force


def policy_snapshot() -> engine.Snapshot:
    """The compiled policies in force now: one small query, then the process's cached compile."""
    rows = Agreement.objects.filter(status="approved").values_list(
        "pk", "slug", "version", "policy_sha256"
    )
    found = sorted(rows, key=lambda r: (r[1], r[2]))
    key = tuple((f"{slug}@v{version}", sha) for _, slug, version, sha in found)
    return engine.cached(key, lambda: _enforced([pk for pk, *_ in found]))


def _enforced(pks: list[int]) -> list[engine.Enforced]:
    """Approved versions with their policy text and plain rules. A version without generated
    policy text contributes nothing (fail closed) until `kinfold agreements load` compiles it."""
    shares = (
        Share.objects.filter(agreement_id__in=pks)
        .select_related("agreement", "purpose", "provider", "recipient", "category")
        .order_by("agreement_id", "id")
    )
    rules: dict[int, list[Rule]] = defaultdict(list)
    for share in shares:
        rules[share.agreement_id].append(facts.rule_of(share))
    return [
        engine.Enforced(a.label, a.policy_sha256, a.policy_text, tuple(rules[a.pk]))
        for a in Agreement.objects.filter(pk__in=pks)
        if a.policy_text
    ]


# ---------------------------------------------------------------------------- deciding and recording


@dataclass
class _Pending:
    entry: audit.NewEntry
    allowed: bool


class AuditBatch:
    """Audit entries for one page's decisions, written together (one append, not one each).

    Nothing decided in the batch is returned to the caller before `flush` has written it; if the
    page fails first, its denials are still written (durably) and the allowed reads, never shown,
    are not.
    """

    def __init__(self) -> None:
        self.pending: list[_Pending] = []

    def add(self, entry: audit.NewEntry, allowed: bool) -> None:
        self.pending.append(_Pending(entry, allowed))

    def flush(self, only_denials: bool = False) -> None:
        chosen = [p for p in self.pending if not (only_denials and p.allowed)]
        self.pending = []
        if chosen:
            audit.record_many([p.entry for p in chosen], durable=any(not p.allowed for p in chosen))


@contextmanager
def audit_batch(outer: AuditBatch | None = None) -> Iterator[AuditBatch]:
    """A batch flushed when the block ends (only its denials if the block fails); inside an
    `outer` batch, the outer one, left for its owner to flush."""
    if outer is not None:
        yield outer
        return
    batch = AuditBatch()
    try:
        yield batch
    except BaseException:
        batch.flush(only_denials=True)
        raise
    batch.flush()


def decide(
    user: User,
    action: Action,
    purpose: str,
    *,
    family: Family | None = None,
    person: Person | None = None,
    provider: str = "",
    category: str = "",
    override_record: Override | None = None,
    referral: Referral | None = None,
    snapshot: engine.Snapshot | None = None,
    assigned: bool | None = None,
    known: facts.Known | None = None,
) -> tuple[Decision, audit.NewEntry]:
    """Decide without recording: the decision and the audit entry that must be written for it."""
    snapshot = snapshot or policy_snapshot()
    request = facts.gather(
        user,
        action,
        purpose,
        family=family,
        person=person,
        provider=provider,
        category=category,
        rules=snapshot.rules,
        override_record=override_record,
        referral=referral,
        assigned=assigned,
        known=known,
    )
    decision, disagreement = engine.decide(snapshot, request)
    if referral is not None:
        family = referral.family
    if override_record is not None:
        family = override_record.family
    subjects = [
        s.pid if isinstance(s, Person) else s.fid for s in (family, person) if s is not None
    ]
    resource = ":".join(p for p in (action.value.split(":")[0], provider, category) if p)
    if referral is not None:
        resource = f"referral:{referral.referral_id}"
    elif override_record is not None:
        resource = f"override:{override_record.override_id}"
    details: dict[str, object] = {
        "action": action.value,
        "agreement": decision.agreement,
        "policies": list(decision.policies),
    }
    if disagreement:
        details["disagreement"] = True
    entry = audit.NewEntry(
        actor_for(user),
        _ALLOWED_EVENTS[action] if decision.allowed else Event.ACCESS_DENIED,
        resource=resource,
        subjects=subjects,
        purpose=purpose,
        decision="allow" if decision.allowed else "deny",
        reason=decision.reason[:500],
        basis=decision.basis,
        details=details,
    )
    return decision, entry


def check(
    user: User,
    action: Action,
    purpose: str,
    *,
    batch: AuditBatch | None = None,
    family: Family | None = None,
    person: Person | None = None,
    provider: str = "",
    category: str = "",
    override_record: Override | None = None,
    referral: Referral | None = None,
    snapshot: engine.Snapshot | None = None,
    assigned: bool | None = None,
    known: facts.Known | None = None,
) -> Decision:
    """Decide `user` doing `action` for `purpose`, and write the audit entry either way.

    The entry names the agreement version and the Cedar policies that determined the decision.
    With `batch`, the entry is written when the batch is flushed (a page's decisions together);
    without, at once, and a denial durably (it survives whatever the caller does next).
    """
    decision, entry = decide(
        user,
        action,
        purpose,
        family=family,
        person=person,
        provider=provider,
        category=category,
        override_record=override_record,
        referral=referral,
        snapshot=snapshot,
        assigned=assigned,
        known=known,
    )
    if batch is not None:
        batch.add(entry, decision.allowed)
    else:
        audit.record_many([entry], durable=not decision.allowed)
    return decision


def require(user: User, action: Action, purpose: str, **resource: object) -> Decision:
    """`check`, raising NotPermitted (after the denial is audited) unless allowed."""
    decision = check(user, action, purpose, **resource)  # type: ignore[arg-type]
    if not decision.allowed:
        raise NotPermitted(decision.reason)
    return decision


def require_in(
    batch: AuditBatch | None, user: User, action: Action, purpose: str, **resource: object
) -> Decision:
    """`require` for a page: a refusal is recorded at once (durably) and raised; an allow is
    recorded with the page's other entries when `batch` is flushed (at once without a batch)."""
    if batch is None:
        return require(user, action, purpose, **resource)
    decision, entry = decide(user, action, purpose, **resource)  # type: ignore[arg-type]
    if not decision.allowed:
        audit.record_many([entry], durable=True)
        raise NotPermitted(decision.reason)
    batch.add(entry, True)
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
class PersonDetails:
    """One person's details in one source: shown, or withheld with the decision saying why.

    This is the field-level minimisation: each person's details in each category from each
    partner are decided on their own (consent is each person's own), and a page shows exactly
    `details` (empty when withheld) with `decision.reason` beside it.
    """

    pid: str
    decision: Decision
    details: list[DetailView] = field(default_factory=list)

    @property
    def shown(self) -> bool:
        return self.decision.allowed


@dataclass
class SourceView:
    """What one organisation holds about this family in one category, with the decisions."""

    category: DataCategory
    provider: Organisation
    flags_decision: Decision
    flags: list[FlagView] = field(default_factory=list)
    details_decision: Decision | None = None  # the most permissive of `people`'s decisions
    details: list[DetailView] = field(default_factory=list)
    people: list[PersonDetails] = field(default_factory=list)


@dataclass
class FamilyView:
    fid: str
    purpose: str
    decision: Decision
    members: list[MemberView]
    contact_decision: Decision
    sources: list[SourceView]
    key_worker: str


def find_family(fid: str, user: User, purpose: str) -> Family:
    """Family `fid`, or NotFound after recording the attempt (ids guessed or changed)."""
    family = Family.objects.filter(fid=fid).first()
    if family is None:
        audit_actor_denied_lookup(user, f"family:{fid[:32]}", purpose)
        raise NotFound(fid)
    return family


_family = find_family


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


@dataclass
class _Page:
    """What every decision on one family page shares: who, the policies, the audit batch."""

    user: User
    family: Family
    purpose: str
    snapshot: engine.Snapshot
    assigned: bool
    batch: AuditBatch
    known: facts.Known
    override_purposes: tuple[str, ...] = ()

    def check(
        self, action: Action, purpose: str | None = None, provider: str = "", category: str = ""
    ) -> Decision:
        return check(
            self.user,
            action,
            purpose or self.purpose,
            batch=self.batch,
            family=self.family,
            provider=provider,
            category=category,
            snapshot=self.snapshot,
            assigned=self.assigned,
            known=self.known,
        )

    def decide(
        self, action: Action, purpose: str, person: Person, provider: str, category: str
    ) -> tuple[Decision, audit.NewEntry]:
        return decide(
            self.user,
            action,
            purpose,
            family=self.family,
            person=person,
            provider=provider,
            category=category,
            snapshot=self.snapshot,
            assigned=self.assigned,
            known=self.known,
        )


def _open_page(user: User, fid: str, purpose: str, batch: AuditBatch) -> tuple[_Page, Decision]:
    """Find the family and decide whether the page may open at all: a refusal is recorded at
    once (durably) and raised; an allow joins the page's batch."""
    family = _family(fid, user, purpose)
    snapshot = policy_snapshot()
    known = facts.Known.load(family, referrals=user.role == "partner_practitioner")
    assigned = user.role == "key_worker" and known.is_key_worker(user)
    decision = require_in(
        batch,
        user,
        Action.VIEW_FAMILY,
        purpose,
        family=family,
        snapshot=snapshot,
        assigned=assigned,
        known=known,
    )
    return _Page(user, family, purpose, snapshot, assigned, batch, known), decision


def family_view(user: User, fid: str, purpose: str, batch: AuditBatch | None = None) -> FamilyView:
    """Everything `user` may see of family `fid` for `purpose`, each part decided and audited.

    Raises NotFound for an unknown family and NotPermitted when the family itself is not theirs.
    The page's audit entries are appended together when it is done, or with `batch` (a caller
    deciding more for the same page) when that is flushed.
    Details withheld for `purpose` are shown under an approved override's purpose (safeguarding)
    when one covers them, and then say so.
    """
    with audit_batch(batch) as own:
        page, decision = _open_page(user, fid, purpose, own)
        page.override_purposes = tuple(
            sorted({o.purpose for o in page.known.overrides if o.purpose != purpose})
        )
        members = _members(page.family)
        contact = page.check(Action.VIEW_CONTACT)
        views = [MemberView(p.pid, role, p.year_of_birth) for p, role in members]
        if contact.allowed:
            for view, (person, _) in zip(views, members, strict=True):
                view.identity = _latest_identity(person)
        sources = _sources(page, [p for p, _ in members])
    assignment = (
        Assignment.objects.current().filter(family=page.family).select_related("key_worker").first()
    )
    return FamilyView(
        fid=page.family.fid,
        purpose=purpose,
        decision=decision,
        members=views,
        contact_decision=contact,
        sources=sources,
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


def _sources(page: _Page, persons: list[Person]) -> list[SourceView]:
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
        flags = page.check(
            Action.VIEW_FLAGS, FLAGS_PURPOSE, provider=provider.slug, category=category.slug
        )
        source = SourceView(category=category, provider=provider, flags_decision=flags)
        if flags.allowed:
            source.flags = [FlagView(i.person.pid, i.code, i.date, i.value) for i in items]
        source.people = _details(page, persons, category, provider)
        source.details = [d for p in source.people for d in p.details]
        source.details_decision = _summary(source.people)
        sources.append(source)
    return sources


def _summary(people: list[PersonDetails]) -> Decision:
    if not people:
        return Decision(False, "this organisation shared no details in this category")
    return next((p.decision for p in people if p.decision.allowed), people[0].decision)


def _details(
    page: _Page, persons: list[Person], category: DataCategory, provider: Organisation
) -> list[PersonDetails]:
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
    people = []
    for person in persons:
        if person.pk not in by_person:
            continue
        decision = _detail_decision(page, person, category, provider)
        shown = PersonDetails(person.pid, decision)
        if decision.allowed:
            for detail in by_person[person.pk]:
                try:
                    values = open_detail(detail)
                except KeyDestroyed:
                    continue
                shown.details.append(DetailView(person.pid, detail.record.quarter, values))
        people.append(shown)
    return people


def _detail_decision(
    page: _Page, person: Person, category: DataCategory, provider: Organisation
) -> Decision:
    """The page's purpose first; if that withholds it, an override's purpose that allows it.

    Only the decision that stands is recorded: one entry per person, source and view.
    """
    where = (person, provider.slug, category.slug)
    decision, entry = page.decide(Action.VIEW_DETAIL, page.purpose, *where)
    for purpose in page.override_purposes if not decision.allowed else ():
        alternative, other = page.decide(Action.VIEW_DETAIL, purpose, *where)
        if alternative.allowed:
            decision, entry = alternative, other
            break
    page.batch.add(entry, decision.allowed)
    return decision


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
