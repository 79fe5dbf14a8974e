"""Lawful overrides: sharing without consent to protect someone, decided by a second person.

One person proposes (a key worker or a manager) with a justification, a scope (one person or the
whole family; the purpose; the categories; the partners) and an expiry; a different person with a
team manager's or the DPO's role approves or rejects it. The database refuses an approver who is
the proposer, and refuses any change to the scope or expiry (migration 0004): an override never
widens itself; a change is a new proposal that names the one it replaces, which ends when the new
one is approved. The family is told, unless a recorded reason says telling them would put someone
at risk; the DPO sees every override.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from kinfold.agreements.models import DataCategory, Organisation, Purpose
from kinfold.audit import services as audit
from kinfold.audit.actors import Actor
from kinfold.audit.events import Event
from kinfold.consent.models import Override, OverrideState
from kinfold.errors import KinfoldError
from kinfold.people.models import Family, FamilyMember, Person
from kinfold.staff.models import User

PROPOSER_ROLES = ("key_worker", "team_manager")
DECIDER_ROLES = ("team_manager", "dpo")
#: The longest an override may last; a longer need is a new proposal, decided again.
MAX_DAYS = 90
MIN_JUSTIFICATION = 20


def propose(
    actor: Actor,
    proposer: User,
    family: Family,
    *,
    categories: Iterable[str],
    partners: Iterable[str],
    justification: str,
    expires_at: datetime,
    purpose: str = "safeguarding",
    person: Person | None = None,
    tell_family: bool = True,
    not_told_reason: str = "",
    replaces: Override | None = None,
) -> Override:
    """Propose an override; nothing is shared until a second person approves it. Audited."""
    if proposer.role not in PROPOSER_ROLES:
        raise KinfoldError("only a key worker or a team manager can propose an override")
    cats, orgs = _scope(categories, partners, proposer)
    _check_terms(justification, expires_at, tell_family, not_told_reason, purpose)
    if (
        person is not None
        and not FamilyMember.objects.filter(family=family, person=person).exists()
    ):
        raise KinfoldError("that person is not in this family", field="person")
    if replaces is not None and replaces.family_id != family.pk:
        raise KinfoldError("an override can only replace one for the same family", field="replaces")
    with transaction.atomic():
        override = Override.objects.create(
            family=family,
            person=person,
            purpose=Purpose.objects.get(slug=purpose),
            categories=cats,
            partners=orgs,
            justification=justification.strip(),
            expires_at=expires_at,
            tell_family=tell_family,
            not_told_reason=not_told_reason.strip() if not tell_family else "",
            replaces=replaces,
            proposed_by=proposer,
            proposed_at=timezone.now(),
        )
        _audit(actor, Event.OVERRIDE_PROPOSED, override, "proposed, waiting for a second person")
    return override


def _scope(
    categories: Iterable[str], partners: Iterable[str], proposer: User
) -> tuple[list[str], list[str]]:
    cats = sorted(set(categories))
    orgs = sorted(set(partners))
    if not cats:
        raise KinfoldError("choose the kinds of information it covers", field="categories")
    if not orgs:
        raise KinfoldError("choose the partners it covers", field="partners")
    known_cats = set(DataCategory.objects.filter(slug__in=cats).values_list("slug", flat=True))
    if unknown := set(cats) - known_cats:
        raise KinfoldError(
            f"unknown data category {', '.join(sorted(unknown))}", field="categories"
        )
    known_orgs = set(Organisation.objects.filter(slug__in=orgs).values_list("slug", flat=True))
    if unknown := set(orgs) - known_orgs:
        raise KinfoldError(f"unknown organisation {', '.join(sorted(unknown))}", field="partners")
    if proposer.organisation_slug in orgs:
        # naming one's own organisation would release every partner's information to it
        raise KinfoldError("name the partners, not your own organisation", field="partners")
    return cats, orgs


def _check_terms(
    justification: str, expires_at: datetime, tell_family: bool, not_told_reason: str, purpose: str
) -> None:
    if len(justification.strip()) < MIN_JUSTIFICATION:
        raise KinfoldError(
            "say why sharing without consent is necessary to protect someone", field="justification"
        )
    now = timezone.now()
    if expires_at <= now:
        raise KinfoldError("the expiry must be in the future", field="expires_at")
    if expires_at > now + timedelta(days=MAX_DAYS):
        raise KinfoldError(f"an override lasts at most {MAX_DAYS} days", field="expires_at")
    if not tell_family and not not_told_reason.strip():
        raise KinfoldError(
            "record why telling the family would put someone at risk", field="not_told_reason"
        )
    if not Purpose.objects.filter(slug=purpose).exists():
        raise KinfoldError(f"unknown purpose {purpose}", field="purpose")


def decide(actor: Actor, decider: User, override: Override, approve: bool, note: str) -> Override:
    """Approve or reject a proposal, as a different person with a manager's or DPO's role."""
    if decider.role not in DECIDER_ROLES:
        raise KinfoldError("only a team manager or the data protection officer decides overrides")
    if decider.pk == override.proposed_by_id:
        raise KinfoldError("you proposed this override: a different person must decide it")
    with transaction.atomic():
        current = Override.objects.select_for_update().get(pk=override.pk)
        if current.state != OverrideState.PROPOSED:
            raise KinfoldError(f"this override is already {current.get_state_display().lower()}")
        if current.expires_at <= timezone.now():
            _set_state(current, OverrideState.EXPIRED)
            _audit(actor, Event.OVERRIDE_EXPIRED, current, "expired before it was decided")
            return current
        if not approve and not note.strip():
            raise KinfoldError("say why the override is rejected", field="note")
        state = OverrideState.APPROVED if approve else OverrideState.REJECTED
        _set_state(current, state, decided_by=decider, decided_at=timezone.now(), note=note)
        if approve:
            _audit(actor, Event.OVERRIDE_APPROVED, current, note or "approved")
            _tell_family(actor, current)
            if current.replaces_id:
                _end_replaced(actor, decider, current)
        else:
            _audit(actor, Event.OVERRIDE_REJECTED, current, note)
    return current


def end(actor: Actor, user: User, override: Override, note: str) -> Override:
    """End an override early (or withdraw a proposal): narrowing is always allowed."""
    with transaction.atomic():
        current = Override.objects.select_for_update().get(pk=override.pk)
        if current.state not in (OverrideState.PROPOSED, OverrideState.APPROVED):
            raise KinfoldError(f"this override is already {current.get_state_display().lower()}")
        Override.objects.filter(pk=current.pk).update(
            state=OverrideState.REVOKED, ended_by=user, ended_at=timezone.now(), end_note=note
        )
        current.refresh_from_db()
        _audit(actor, Event.OVERRIDE_REVOKED, current, note or "ended early")
    return current


def expire_due(actor: Actor) -> int:
    """Mark approved or proposed overrides past their expiry as expired (decisions already
    ignore them)."""
    count = 0
    due = Override.objects.filter(
        state__in=(OverrideState.APPROVED, OverrideState.PROPOSED), expires_at__lte=timezone.now()
    )
    for override in due.select_related("family", "person", "purpose"):
        with transaction.atomic():
            _set_state(override, OverrideState.EXPIRED)
            _audit(actor, Event.OVERRIDE_EXPIRED, override, "reached its expiry")
        count += 1
    return count


def overrides_of(family: Family) -> list[Override]:
    return list(
        Override.objects.filter(family=family)
        .select_related("person", "purpose", "proposed_by", "decided_by", "ended_by")
        .order_by("-proposed_at", "-id")
    )


def register() -> list[Override]:
    """Every override, newest first (the DPO's and managers' oversight)."""
    return list(
        Override.objects.select_related(
            "family", "person", "purpose", "proposed_by", "decided_by", "ended_by"
        ).order_by("-proposed_at", "-id")
    )


def withheld_from_family() -> set[str]:
    """Ids of overrides the family must not be told of (a recorded risk). The family portal
    leaves out audit entries whose basis is `override:<one of these>`."""
    return {
        str(i)
        for i in Override.objects.filter(tell_family=False).values_list("override_id", flat=True)
    }


def _set_state(
    override: Override,
    state: str,
    *,
    decided_by: User | None = None,
    decided_at: datetime | None = None,
    note: str = "",
) -> None:
    changes: dict[str, object] = {"state": state}
    if decided_by is not None:
        changes.update(decided_by=decided_by, decided_at=decided_at, decision_note=note)
    Override.objects.filter(pk=override.pk).update(**changes)
    override.refresh_from_db()


def _tell_family(actor: Actor, override: Override) -> None:
    if override.tell_family:
        _audit(actor, Event.OVERRIDE_FAMILY_TOLD, override, "the family is told of this override")
    else:
        _audit(
            actor,
            Event.OVERRIDE_FAMILY_NOT_TOLD,
            override,
            "not told: a recorded reason says telling would put someone at risk",
        )


def _end_replaced(actor: Actor, decider: User, override: Override) -> None:
    if override.replaces_id is None:
        return
    replaced = Override.objects.filter(
        pk=override.replaces_id, state__in=(OverrideState.PROPOSED, OverrideState.APPROVED)
    ).first()
    if replaced is not None:
        Override.objects.filter(pk=replaced.pk).update(
            state=OverrideState.REVOKED,
            ended_by=decider,
            ended_at=timezone.now(),
            end_note=f"replaced by override {str(override.override_id)[:8]}",
        )
        replaced.refresh_from_db()
        _audit(actor, Event.OVERRIDE_REVOKED, replaced, "replaced by a new override")


def _audit(actor: Actor, event: Event, override: Override, reason: str) -> None:
    subjects = [override.family.fid] + ([override.person.pid] if override.person else [])
    audit.record(
        actor,
        event,
        resource=f"override:{override.override_id}",
        subjects=subjects,
        purpose=override.purpose.slug,
        reason=reason[:500],
        basis=f"override:{override.override_id}",
        details={
            "categories": list(override.categories),
            "partners": list(override.partners),
            "expires": override.expires_at.isoformat(),
            "tell_family": override.tell_family,
        },
    )
