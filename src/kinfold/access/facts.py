"""Gathering what the policy needs to know about a request, from the database."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from kinfold.access.policy import Action, Request, Rule
from kinfold.agreements.models import Share
from kinfold.consent.models import ConsentRecord, ConsentState
from kinfold.people.models import Family, FamilyMember, Person
from kinfold.staff.models import Assignment, User


def current_rules(organisation_id: int) -> tuple[Rule, ...]:
    """Shares from current, approved agreements that a given organisation receives."""
    shares = (
        Share.objects.filter(
            agreement__is_current=True, agreement__status="approved", recipient_id=organisation_id
        )
        .select_related("agreement", "purpose", "provider", "recipient", "category")
        .order_by("id")
    )
    return tuple(
        Rule(
            agreement=s.agreement.label,
            purpose=s.purpose.slug,
            provider=s.provider.slug,
            recipient=s.recipient.slug,
            roles=frozenset(s.roles),
            category=s.category.slug,
            level=s.level,
            consent_required=s.consent_required,
            override_required=s.override_required,
        )
        for s in shares
    )


def is_assigned(user: User, family: Family | None = None, person: Person | None = None) -> bool:
    """Whether `user` is the current key worker of `family`, or of a family `person` belongs to."""
    assignments = Assignment.objects.current().filter(key_worker=user)
    if family is not None:
        return assignments.filter(family=family).exists()
    if person is not None:
        families = FamilyMember.objects.filter(person=person).values("family_id")
        return assignments.filter(family_id__in=families).exists()
    return False


def valid_consent(person: Person, purpose: str, provider: str, category: str) -> str:
    """The id of a consent in force for this person, purpose, provider and category, or ''."""
    now = timezone.now()
    record = (
        ConsentRecord.objects.filter(
            person=person,
            purpose__slug=purpose,
            organisation__slug=provider,
            category__slug=category,
            state=ConsentState.GIVEN,
            valid_from__lte=now,
        )
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gt=now))
        .order_by("-valid_from")
        .values_list("record_id", flat=True)
        .first()
    )
    return str(record) if record else ""


def gather(
    user: User,
    action: Action,
    purpose: str,
    *,
    family: Family | None = None,
    person: Person | None = None,
    provider: str = "",
    category: str = "",
    rules: tuple[Rule, ...] | None = None,
) -> Request:
    """Build the policy request for `user` doing `action` for `purpose` on the given resource."""
    consent = ""
    if action == Action.VIEW_DETAIL and person is not None:
        consent = valid_consent(person, purpose, provider, category)
    return Request(
        role=user.role,
        organisation=user.organisation_slug,
        action=action,
        purpose=purpose,
        assigned=is_assigned(user, family=family, person=person),
        provider=provider,
        category=category,
        consent=consent,
        rules=rules if rules is not None else current_rules(user.organisation_id),
    )
