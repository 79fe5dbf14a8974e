"""Lawful overrides through the access point: propose, decide, end, and the register.

The policy says who may do each step (house rules: key workers and managers propose; managers and
the DPO decide and see every override; whoever proposed cannot decide). `kinfold.consent.overrides`
enforces the same second-person rule again, and the database a third time.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from kinfold.access.policy import Action
from kinfold.access.services import (
    NotFound,
    actor_for,
    audit_actor_denied_lookup,
    find_family,
    require,
)
from kinfold.agreements.models import DataCategory, Organisation, Share
from kinfold.consent import overrides
from kinfold.consent.models import Override, OverrideState
from kinfold.errors import KinfoldError
from kinfold.people.models import FamilyMember, Person
from kinfold.staff.models import User

OVERSIGHT = "oversight"


@dataclass(frozen=True)
class OverrideRow:
    override_id: str
    fid: str
    pid: str  # empty: the whole family
    purpose: str
    categories: list[str]
    partners: list[str]
    justification: str
    expires_at: datetime
    state: str
    state_label: str
    proposed_by: str
    proposed_at: datetime
    decided_by: str
    decided_at: datetime | None
    decision_note: str
    tell_family: bool
    not_told_reason: str
    ended_note: str
    can_decide: bool
    can_end: bool
    replaces: str

    @property
    def short_id(self) -> str:
        return self.override_id[:8]


def _names(slugs: list[str], model: type[DataCategory] | type[Organisation]) -> list[str]:
    names = dict(model.objects.filter(slug__in=slugs).values_list("slug", "name"))
    return [names.get(s, s) for s in slugs]


def row(override: Override, user: User) -> OverrideRow:
    open_ = override.state in (OverrideState.PROPOSED, OverrideState.APPROVED)
    return OverrideRow(
        override_id=str(override.override_id),
        fid=override.family.fid,
        pid=override.person.pid if override.person else "",
        purpose=override.purpose.name,
        categories=_names(list(override.categories), DataCategory),
        partners=_names(list(override.partners), Organisation),
        justification=override.justification,
        expires_at=override.expires_at,
        state=override.state,
        state_label=override.get_state_display(),
        proposed_by=_who(override.proposed_by),
        proposed_at=override.proposed_at,
        decided_by=_who(override.decided_by),
        decided_at=override.decided_at,
        decision_note=override.decision_note,
        tell_family=override.tell_family,
        not_told_reason=override.not_told_reason,
        ended_note=override.end_note,
        can_decide=override.state == OverrideState.PROPOSED
        and user.role in overrides.DECIDER_ROLES
        and override.proposed_by_id != user.pk,
        can_end=open_ and user.role in ("key_worker", "team_manager", "dpo"),
        replaces=str(override.replaces.override_id)[:8] if override.replaces else "",
    )


def _who(user: User | None) -> str:
    if user is None:
        return ""
    return f"{user.display_name} ({user.get_role_display().lower()})"


@dataclass(frozen=True)
class OverrideForm:
    categories: list[str]
    partners: list[str]
    justification: str
    expires_at: datetime
    pid: str = ""  # empty: the whole family
    purpose: str = "safeguarding"
    tell_family: bool = True
    not_told_reason: str = ""
    replaces: str = ""


def propose(user: User, fid: str, form: OverrideForm) -> OverrideRow:
    """Propose an override for family `fid`; nothing is shared until someone else approves it."""
    family = find_family(fid, user, form.purpose)
    require(user, Action.PROPOSE_OVERRIDE, form.purpose, family=family)
    person = None
    if form.pid:
        person = Person.objects.filter(pid=form.pid, families__family=family).distinct().first()
        if person is None:
            raise KinfoldError("choose a member of this family", field="pid")
    replaces = None
    if form.replaces:
        replaces = _override(user, form.replaces)
    override = overrides.propose(
        actor_for(user),
        user,
        family,
        categories=form.categories,
        partners=form.partners,
        justification=form.justification,
        expires_at=form.expires_at,
        purpose=form.purpose,
        person=person,
        tell_family=form.tell_family,
        not_told_reason=form.not_told_reason,
        replaces=replaces,
    )
    return row(override, user)


def _override(user: User, override_id: str) -> Override:
    try:
        key = uuid.UUID(str(override_id))
    except ValueError:
        key = None
    found = (
        Override.objects.filter(override_id=key)
        .select_related("family", "person", "purpose", "proposed_by", "decided_by", "replaces")
        .first()
        if key
        else None
    )
    if found is None:
        audit_actor_denied_lookup(user, f"override:{str(override_id)[:40]}", OVERSIGHT)
        raise NotFound(override_id)
    return found


def register(user: User) -> list[OverrideRow]:
    """Every override, newest first: the DPO's and team managers' oversight. Audited."""
    require(user, Action.LIST_OVERRIDES, OVERSIGHT)
    return [row(o, user) for o in overrides.register()]


def detail(user: User, override_id: str) -> OverrideRow:
    """One override, for those who decide and oversee them. Audited."""
    override = _override(user, override_id)
    require(user, Action.LIST_OVERRIDES, OVERSIGHT, family=override.family)
    return row(override, user)


def family_overrides(user: User, fid: str, purpose: str) -> list[OverrideRow]:
    """The overrides of one family (its key worker, a team manager)."""
    family = find_family(fid, user, purpose)
    require(user, Action.VIEW_CONSENTS, purpose, family=family)
    return [row(o, user) for o in overrides.overrides_of(family)]


def decide(user: User, override_id: str, approve: bool, note: str) -> OverrideRow:
    """Approve or reject a proposal, as a second person (the policy and the database check)."""
    override = _override(user, override_id)
    require(user, Action.DECIDE_OVERRIDE, override.purpose.slug, override_record=override)
    return row(overrides.decide(actor_for(user), user, override, approve, note), user)


def end(user: User, override_id: str, note: str) -> OverrideRow:
    """End an override early, or withdraw a proposal."""
    override = _override(user, override_id)
    require(user, Action.REVOKE_OVERRIDE, override.purpose.slug, override_record=override)
    return row(overrides.end(actor_for(user), user, override, note), user)


@dataclass(frozen=True)
class ProposalChoices:
    members: list[tuple[str, str]]  # pid, label
    categories: list[tuple[str, str]]
    partners: list[tuple[str, str]]


def proposal_choices(user: User, fid: str, purpose: str = "safeguarding") -> ProposalChoices:
    """What a proposal for family `fid` can name; NotPermitted (recorded) unless the user may
    propose one. Partners are those the approved agreement names for the purpose."""
    family = find_family(fid, user, purpose)
    require(user, Action.PROPOSE_OVERRIDE, purpose, family=family)
    shares = Share.objects.filter(agreement__status="approved", purpose__slug=purpose)
    own = user.organisation_slug
    partners: dict[str, str] = {}
    for provider, recipient in shares.values_list("provider__slug", "recipient__slug"):
        for slug in (provider, recipient):
            if slug != own:
                partners[slug] = slug
    names = dict(Organisation.objects.filter(slug__in=partners).values_list("slug", "name"))
    members = (
        FamilyMember.objects.filter(family=family)
        .select_related("person")
        .order_by("role", "person__pid")
    )
    seen: dict[str, str] = {}
    for m in members:
        seen.setdefault(m.person.pid, f"{m.person.pid} ({m.get_role_display().lower()})")
    return ProposalChoices(
        members=list(seen.items()),
        categories=list(DataCategory.objects.order_by("name").values_list("slug", "name")),
        partners=sorted(((s, names.get(s, s)) for s in partners), key=lambda p: p[1]),
    )
