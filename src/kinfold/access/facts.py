"""Gathering what the policy needs to know about a request, from the database.

Facts are read when a decision (or one page's decisions) is made, never kept across requests: a
consent withdrawn, an override ended or a referral closed changes the very next decision. A page
that decides many parts of one family reads the family's facts once (`Known.load`: four small
queries) and decides every part from that one reading, so every part of the page agrees with the
others. (Only the compiled policies are cached between requests, in `kinfold.access.engine`, keyed
by the approved agreement versions.)
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, models
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from kinfold.access.policy import Action, Request, Rule
from kinfold.agreements.models import DataCategory, Organisation, Purpose, Share
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

ConsentKey = tuple[int, str, str, str, str]  # person id, purpose, provider, recipient, category


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


@dataclass(frozen=True)
class _Override:
    override_id: str
    family_id: int
    person_id: int | None
    purpose: str
    categories: frozenset[str]
    partners: frozenset[str]


@dataclass
class Known:
    """The facts about some families, read at one moment, for the decisions made from them."""

    at: datetime
    family_ids: frozenset[int]
    key_workers: dict[int, set[int]] = field(default_factory=dict)  # family id → user ids
    consents: dict[ConsentKey, str] = field(default_factory=dict)  # → record id in force
    overrides: list[_Override] = field(default_factory=list)  # approved and unexpired
    referred: dict[int, set[tuple[int, str]]] = field(default_factory=dict)  # org → items

    @classmethod
    def load(
        cls, family: Family | None = None, person: Person | None = None, referrals: bool = True
    ) -> Known:
        """Read the facts about `family` (or every family `person` is in, and the person).

        `referrals=False` skips what only partners' practitioners need (open referrals). Four
        plain SQL reads: this runs before every page of decisions, and the ORM's query building
        cost more than the queries themselves (docs/benchmarks.md, "Access decisions").
        """
        now = timezone.now()
        with connection.cursor() as cursor:
            if family is not None:
                family_ids = frozenset({family.pk})
            elif person is not None:
                cursor.execute(
                    f"SELECT family_id FROM {_table(FamilyMember)} WHERE person_id = %s",  # noqa: S608 - table names from model metadata; values are bound parameters
                    [person.pk],
                )
                family_ids = frozenset(row[0] for row in cursor.fetchall())
            else:
                family_ids = frozenset()
            known = cls(now, family_ids)
            persons, params = known._persons(person)
            known._load_assignments(cursor)
            known._load_consents(cursor, persons, params)
            known._load_overrides(cursor)
            if referrals:
                known._load_referrals(cursor, persons, params)
        return known

    def _in(self) -> tuple[str, list[int]]:
        ids = sorted(self.family_ids) or [0]  # no family: a condition nothing meets
        return ", ".join(["%s"] * len(ids)), ids

    def _persons(self, person: Person | None) -> tuple[str, list[Any]]:
        """SQL for 'the person is a member of these families, or is this person'."""
        marks, ids = self._in()
        members = f"SELECT person_id FROM {_table(FamilyMember)} WHERE family_id IN ({marks})"  # noqa: S608 - table names from model metadata; values are bound parameters
        return f"(x.person_id IN ({members}) OR x.person_id = %s)", [
            *ids,
            person.pk if person is not None else 0,
        ]

    def _load_assignments(self, cursor: CursorWrapper) -> None:
        marks, ids = self._in()
        cursor.execute(
            f"SELECT family_id, key_worker_id FROM {_table(Assignment)} "  # noqa: S608 - table names from model metadata; values are bound parameters
            f"WHERE ended_at IS NULL AND family_id IN ({marks})",
            ids,
        )
        for family_id, user_id in cursor.fetchall():
            self.key_workers.setdefault(family_id, set()).add(user_id)

    def _load_consents(self, cursor: CursorWrapper, persons: str, params: list[Any]) -> None:
        at = connection.ops.adapt_datetimefield_value(self.at)
        org, cat, purpose = _table(Organisation), _table(DataCategory), _table(Purpose)
        cursor.execute(
            "SELECT x.person_id, p.slug, o.slug, r.slug, k.slug, x.record_id "  # noqa: S608 - table names from model metadata; values are bound parameters
            f"FROM {_table(ConsentRecord)} x "
            f"JOIN {purpose} p ON p.id = x.purpose_id "
            f"JOIN {org} o ON o.id = x.organisation_id "
            f"JOIN {org} r ON r.id = x.recipient_id "
            f"JOIN {cat} k ON k.id = x.category_id "
            f"WHERE x.state = %s AND x.valid_from <= %s "
            f"AND (x.valid_until IS NULL OR x.valid_until > %s) AND {persons} "
            "ORDER BY x.valid_from",
            [ConsentState.GIVEN.value, at, at, *params],
        )
        for person_id, purpose_slug, provider, recipient, category, record_id in cursor.fetchall():
            key = (person_id, purpose_slug, provider, recipient, category)
            self.consents[key] = str(_uuid(record_id))

    def _load_overrides(self, cursor: CursorWrapper) -> None:
        marks, ids = self._in()
        at = connection.ops.adapt_datetimefield_value(self.at)
        cursor.execute(
            "SELECT x.override_id, x.family_id, x.person_id, p.slug, x.categories, x.partners "  # noqa: S608 - table names from model metadata; values are bound parameters
            f"FROM {_table(Override)} x JOIN {_table(Purpose)} p ON p.id = x.purpose_id "
            f"WHERE x.state = %s AND x.expires_at > %s AND x.family_id IN ({marks}) "
            "ORDER BY x.expires_at",
            [OverrideState.APPROVED.value, at, *ids],
        )
        for override_id, family_id, person_id, purpose, categories, partners in cursor.fetchall():
            self.overrides.append(
                _Override(
                    str(_uuid(override_id)),
                    family_id,
                    person_id,
                    purpose,
                    frozenset(_json_list(categories)),
                    frozenset(_json_list(partners)),
                )
            )

    def _load_referrals(self, cursor: CursorWrapper, persons: str, params: list[Any]) -> None:
        open_states = [s.value for s in OPEN_REFERRAL]
        cursor.execute(
            "SELECT f.recipient_id, x.person_id, k.slug "  # noqa: S608 - table names from model metadata; values are bound parameters
            f"FROM {_table(ReferralItem)} x "
            f"JOIN {_table(Referral)} f ON f.id = x.referral_id "
            f"JOIN {_table(DataCategory)} k ON k.id = x.category_id "
            f"WHERE f.state IN (%s, %s) AND {persons}",
            [*open_states, *params],
        )
        found: dict[int, set[tuple[int, str]]] = defaultdict(set)
        for organisation_id, person_id, category in cursor.fetchall():
            found[organisation_id].add((person_id, category))
        self.referred = dict(found)

    # ---------------------------------------------------------------- questions

    def is_key_worker(self, user: User) -> bool:
        return any(user.pk in users for users in self.key_workers.values())

    def consent(
        self, person: Person | None, purpose: str, provider: str, category: str, recipient: str
    ) -> str:
        if person is None:
            return ""
        return self.consents.get((person.pk, purpose, provider, recipient, category), "")

    def override(
        self,
        person: Person | None,
        family: Family | None,
        purpose: str,
        provider: str,
        category: str,
        recipient: str,
    ) -> str:
        """An approved, unexpired override covering this, or ''.

        It covers a person if it names them or names no one (the whole family); a partner's
        information if it names that partner, and the council's if it names the partner
        receiving it.
        """
        for o in self.overrides:
            if family is not None and o.family_id != family.pk:
                continue
            if o.person_id is not None and (person is None or o.person_id != person.pk):
                continue
            if o.purpose != purpose or category not in o.categories:
                continue
            if provider in o.partners or recipient in o.partners:
                return o.override_id
        return ""

    def is_referred(self, organisation_id: int, person: Person | None, category: str) -> bool:
        if person is None:
            return False
        return (person.pk, category) in self.referred.get(organisation_id, set())


def _table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _uuid(value: Any) -> uuid.UUID:
    """A UUID as either database hands it back (SQLite: 32 hex digits; PostgreSQL: a UUID)."""
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _json_list(value: Any) -> list[str]:
    """A JSON list as either database hands it back (SQLite: text; PostgreSQL: parsed)."""
    loaded = json.loads(value) if isinstance(value, str | bytes) else value
    return [str(v) for v in loaded or []]


# ---------------------------------------------------------------------------- one-off questions


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
    return Known.load(person=person).consent(person, purpose, provider, category, recipient)


def valid_override(
    person: Person | None,
    family: Family | None,
    purpose: str,
    provider: str,
    category: str,
    *,
    recipient: str,
) -> str:
    """The id of an approved, unexpired override covering this, or ''."""
    if person is None and family is None:
        return ""
    known = Known.load(family=family, person=person)
    return known.override(person, family, purpose, provider, category, recipient)


# ---------------------------------------------------------------------------- the request


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
    known: Known | None = None,
) -> Request:
    """Build the policy request for `user` doing `action` for `purpose` on the given resource.

    `known` is the page's reading of the family's facts; without it they are read now.
    """
    if override_record is not None:
        family = override_record.family
    if referral is not None:
        family = referral.family
    organisation = user.organisation_slug
    data = action in (Action.VIEW_DETAIL, Action.VIEW_FLAGS) and person is not None
    needs_known = data or (user.role == "key_worker" and assigned is None)
    needs_known = needs_known or (user.role == "partner_practitioner" and referral is None)
    if known is None and needs_known and (family is not None or person is not None):
        known = Known.load(family, person, referrals=user.role == "partner_practitioner")
    consent = override = ""
    if data and known is not None:
        consent = known.consent(person, purpose, provider, category, organisation)
        override = known.override(person, family, purpose, provider, category, organisation)
    referred = False
    if user.role == "partner_practitioner":
        if referral is not None:
            referred = (
                referral.recipient_id == user.organisation_id and referral.state in OPEN_REFERRAL
            )
        elif known is not None:
            referred = known.is_referred(user.organisation_id, person, category)
    if assigned is None:
        assigned = user.role == "key_worker" and known is not None and known.is_key_worker(user)
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
