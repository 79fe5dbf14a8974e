"""Decided and audited reads for the programme: identification's flags, and programme pages.

Identification is a system job, not a person: it reads flags under the `identification` purpose,
and only the flags that an approved agreement shares with the council for that purpose (a partner
whose agreement lapsed stops counting at the next run). `identification_sources` says which, and
`record_identification_read` writes the audit entry for what the job read.

Programme pages show a family's journey with the flags behind each problem: `programme_family`
decides the page (as `family_view` does) and which sources' flags it may show, every decision
audited; pages then show only evidence from allowed sources, with the reason for the rest.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from kinfold.access import facts
from kinfold.access.policy import Action, Decision
from kinfold.access.services import (
    FLAGS_PURPOSE,
    NotFound,
    actor_for,
    audit_actor_denied_lookup,
    check,
    require,
)
from kinfold.agreements.models import Organisation
from kinfold.audit import services as audit
from kinfold.audit.actors import Actor
from kinfold.audit.events import Event
from kinfold.errors import NotPermitted
from kinfold.people.models import Family, FamilyMember
from kinfold.staff.models import User

#: The role whose shares identification runs under: the council's programme analysts.
IDENTIFICATION_ROLE = "analyst"

Source = tuple[str, str]  # (provider organisation slug, category slug)


def identification_sources(council: Organisation) -> dict[Source, str]:
    """Sources whose flags approved agreements share with `council` for identification.

    Returns (provider, category) → the agreement label that shares it.
    """
    found: dict[Source, str] = {}
    for rule in facts.current_rules(council.pk):
        if (
            rule.purpose == FLAGS_PURPOSE
            and rule.level == "flags"
            and IDENTIFICATION_ROLE in rule.roles
        ):
            found.setdefault((rule.provider, rule.category), rule.agreement)
    return found


def record_identification_read(
    actor: Actor,
    quarter: str,
    framework: str,
    sources: dict[Source, str],
    flags_read: int,
    persons_read: int,
) -> None:
    """Audit what an identification run read: how many flags of how many persons, under which
    agreements. Subjects are named on the entries for the families identified, not here."""
    agreements = sorted(set(sources.values()))
    audit.record(
        actor,
        Event.IDENTIFICATION_FLAGS_READ,
        resource=f"quarter:{quarter}:flags",
        purpose=FLAGS_PURPOSE,
        decision="allow",
        reason="identification reads flags that approved agreements share for it",
        basis=("agreement:" + ",".join(agreements))[:200] if agreements else "",
        details={
            "framework": framework,
            "flags": flags_read,
            "persons": persons_read,
            "sources": len(sources),
        },
    )


@dataclass
class ProgrammeFamily:
    """What a programme page may show of one family, decided and audited."""

    fid: str
    family: Family
    purpose: str
    decision: Decision
    members: list[tuple[str, str, int | None]]  # pid, role, year of birth
    flags_allowed: set[Source] = field(default_factory=set)
    flags_withheld: dict[Source, str] = field(default_factory=dict)

    def may_show(self, provider: str, category: str) -> bool:
        return (provider, category) in self.flags_allowed

    def withheld_reason(self, provider: str, category: str) -> str:
        return self.flags_withheld.get((provider, category), "")


def programme_family(
    user: User, fid: str, purpose: str, sources: Iterable[Source] = ()
) -> ProgrammeFamily:
    """Decide `user` viewing family `fid` on a programme page, and the flags of `sources`.

    Raises NotFound (audited) for an unknown family, NotPermitted when it is not theirs. Flags are
    decided under the identification purpose, whatever the viewer's own (as on the family page).
    """
    family = Family.objects.filter(fid=fid).first()
    if family is None:
        audit_actor_denied_lookup(user, f"family:{fid[:32]}", purpose)
        raise NotFound(fid)
    decision = require(user, Action.VIEW_FAMILY, purpose, family=family)
    view = ProgrammeFamily(fid, family, purpose, decision, _members(family))
    for provider, category in sorted(set(sources)):
        flags = check(
            user,
            Action.VIEW_FLAGS,
            FLAGS_PURPOSE,
            family=family,
            provider=provider,
            category=category,
        )
        if flags.allowed:
            view.flags_allowed.add((provider, category))
        else:
            view.flags_withheld[provider, category] = flags.reason
    return view


def _members(family: Family) -> list[tuple[str, str, int | None]]:
    latest = (
        FamilyMember.objects.filter(family=family)
        .order_by("-quarter")
        .values_list("quarter", flat=True)
        .first()
    )
    rows = (
        FamilyMember.objects.filter(family=family, quarter=latest)
        .select_related("person")
        .order_by("role", "person__pid")
    )
    return [(r.person.pid, r.get_role_display(), r.person.year_of_birth) for r in rows]


def list_programme_families(user: User, purpose: str) -> Decision:
    """Decide (and audit) `user` listing programme families; raises NotPermitted if refused."""
    return require(user, Action.LIST_FAMILIES, purpose)


#: Who works with payment-by-results claims: analysts prepare them, team managers sign them off,
#: and the data protection officer (with team managers) spot-checks the internal-audit sample.
CLAIM_ROLES = frozenset({"analyst", "team_manager"})
SPOT_CHECK_ROLES = frozenset({"team_manager", "dpo"})
CLAIMS_PURPOSE = "payment-by-results"


def claims_access(
    user: User, resource: str, subjects: list[str], *, spot_check: bool = False
) -> Decision:
    """Decide (and audit) `user` seeing claims: pseudonymous family ids, amounts, evidence packs.

    Analysts and team managers see claims as they see identified families; the DPO sees the
    internal-audit sample for oversight. Anyone else is refused, and the refusal is recorded.
    """
    roles = SPOT_CHECK_ROLES | CLAIM_ROLES if spot_check else CLAIM_ROLES
    if user.role not in roles:
        audit.record(
            actor_for(user),
            Event.ACCESS_DENIED,
            durable=True,
            resource=resource[:200],
            purpose=CLAIMS_PURPOSE,
            decision="deny",
            reason="your role does not work with payment-by-results claims",
        )
        raise NotPermitted("your role does not work with payment-by-results claims")
    decision = Decision(True, "payment by results is part of your role", f"role:{user.role}")
    audit.record(
        actor_for(user),
        Event.CLAIM_VIEWED,
        resource=resource[:200],
        subjects=subjects,
        purpose="oversight" if user.role == "dpo" else CLAIMS_PURPOSE,
        decision="allow",
        reason=decision.reason,
        basis=decision.basis,
    )
    return decision
