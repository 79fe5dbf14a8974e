"""Gathering what the policy needs to know about a request, from the database.

Facts are read fresh for every decision, never cached: a consent withdrawn, an override ended or
a referral closed changes the very next decision. (Only the compiled policies are cached, in
`kinfold.access.engine`, keyed by the approved agreement versions.)
"""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from kinfold.access.policy import Action, Request, Rule
from kinfold.agreements.models import Share
from kinfold.consent.models import (
    ConsentRecord,
    ConsentState,
    Override,
    OverrideState,
    Referral,
    ReferralItem,
    ReferralState,
)
from kinfold.people.models import Family, FamilyMember, Person
from kinfold.staff.models import Assignment, User

#: Referral states in which the partner may see what was sent.
OPEN_REFERRAL = (ReferralState.SENT, ReferralState.ACCEPTED)


def current_rules(organisation_id: int) -> tuple[Rule, ...]:
    """Shares from approved agreements that a given organisation receives."""
    shares = (
        Share.objects.filter(agreement__status="approved", recipient_id=organisation_id)
        .select_related("agreement", "purpose", "provider", "recipient", "category")
        .order_by("id")
    )
    return tuple(rule_of(s) for s in shares)


def rule_of(share: Share) -> Rule:
    return Rule(
        agreement=share.agreement.label,
        purpose=share.purpose.slug,
        provider=share.provider.slug,
        recipient=share.recipient.slug,
        roles=frozenset(share.roles),
        category=share.category.slug,
        level=share.level,
        consent_required=share.consent_required,
        override_required=share.override_required,
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


def valid_consent(
    person: Person, purpose: str, provider: str, category: str, *, recipient: str
) -> str:
    """The id of a consent in force for this person, purpose, provider, recipient and category."""
    now = timezone.now()
    record = (
        ConsentRecord.objects.filter(
            person=person,
            purpose__slug=purpose,
            organisation__slug=provider,
            recipient__slug=recipient,
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


def valid_override(
    person: Person | None,
    family: Family | None,
    purpose: str,
    provider: str,
    category: str,
    *,
    recipient: str,
) -> str:
    """The id of an approved, unexpired override covering this, or ''.

    It covers a person if it names them or names no one (the whole family); a partner's
    information if it names that partner, and the council's if it names the partner receiving it.
    """
    if person is None and family is None:
        return ""
    candidates = Override.objects.filter(
        state=OverrideState.APPROVED, expires_at__gt=timezone.now(), purpose__slug=purpose
    )
    if family is not None:
        candidates = candidates.filter(family=family)
    else:
        families = FamilyMember.objects.filter(person=person).values("family_id")
        candidates = candidates.filter(family_id__in=families)
    if person is not None:
        candidates = candidates.filter(Q(person__isnull=True) | Q(person=person))
    else:
        candidates = candidates.filter(person__isnull=True)
    for override_id, categories, partners in candidates.order_by("expires_at").values_list(
        "override_id", "categories", "partners"
    ):
        if category in categories and (provider in partners or recipient in partners):
            return str(override_id)
    return ""


def is_referred(user: User, person: Person | None, category: str) -> bool:
    """An open referral to `user`'s organisation carries this person's `category` information."""
    if person is None:
        return False
    return ReferralItem.objects.filter(
        referral__recipient_id=user.organisation_id,
        referral__state__in=OPEN_REFERRAL,
        person=person,
        category__slug=category,
    ).exists()


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
    override_record: Override | None = None,
    referral: Referral | None = None,
    assigned: bool | None = None,
) -> Request:
    """Build the policy request for `user` doing `action` for `purpose` on the given resource.

    `assigned` may be passed when already known for this page (it is the same for every part).
    """
    if override_record is not None:
        family = override_record.family
    if referral is not None:
        family = referral.family
    consent = override = ""
    referred = False
    organisation = user.organisation_slug
    if action in (Action.VIEW_DETAIL, Action.VIEW_FLAGS) and person is not None:
        consent = valid_consent(person, purpose, provider, category, recipient=organisation)
        override = valid_override(
            person, family, purpose, provider, category, recipient=organisation
        )
    if user.role == "partner_practitioner":
        if referral is not None:
            referred = (
                referral.recipient_id == user.organisation_id and referral.state in OPEN_REFERRAL
            )
        else:
            referred = is_referred(user, person, category)
    if assigned is None:
        assigned = user.role == "key_worker" and is_assigned(user, family=family, person=person)
    contact_released = action == Action.VIEW_CONTACT and family is not None and _released(family)
    return Request(
        role=user.role,
        organisation=organisation,
        action=action,
        purpose=purpose,
        assigned=assigned,
        provider=provider,
        category=category,
        consent=consent,
        override=override,
        rules=rules if rules is not None else current_rules(user.organisation_id),
        referred=referred,
        own_proposal=override_record is not None and override_record.proposed_by_id == user.pk,
        contact_released=contact_released,
    )


def _released(family: Family) -> bool:
    """The programme's fact: the family's journey has reached "contacted" (and not ended)."""
    from kinfold.programme.services import contact_released  # imported late: programme uses access

    return contact_released(family)
