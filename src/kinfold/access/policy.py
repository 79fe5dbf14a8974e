"""The policy: a plain reading of the agreements and the house rules, as a pure function.

`evaluate(request)` decides from facts alone (no database), so the same facts always give the
same answer, and any other engine (the Cedar policies generated from agreements) can be checked
against this reading request by request. Deny by default: every path that does not end in an
explicit allow is a deny with the reason a person would need to understand it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Action(StrEnum):
    LIST_FAMILIES = "family:list"
    VIEW_FAMILY = "family:view"  # the family exists, its members by pseudonym, who works with it
    VIEW_FLAGS = "family:flags:view"  # dated indicator codes in one category
    VIEW_CONTACT = "family:contact:view"  # names and contact details from the vault
    VIEW_DETAIL = "record:detail:view"  # a partner's sealed detail in one category
    ASSIGN = "family:assign"
    VIEW_AUDIT_LOG = "audit:view"


#: What each role may do at all, before agreements and facts are considered.
ROLE_ACTIONS: dict[str, frozenset[Action]] = {
    "key_worker": frozenset(
        {
            Action.LIST_FAMILIES,
            Action.VIEW_FAMILY,
            Action.VIEW_FLAGS,
            Action.VIEW_CONTACT,
            Action.VIEW_DETAIL,
        }
    ),
    "team_manager": frozenset(
        {
            Action.LIST_FAMILIES,
            Action.VIEW_FAMILY,
            Action.VIEW_FLAGS,
            Action.ASSIGN,
            Action.VIEW_DETAIL,
        }
    ),
    "analyst": frozenset({Action.LIST_FAMILIES, Action.VIEW_FAMILY, Action.VIEW_FLAGS}),
    "partner_practitioner": frozenset(),
    "dpo": frozenset({Action.VIEW_AUDIT_LOG}),
    "admin": frozenset(),
}

#: Roles whose work is with assigned families only.
ASSIGNMENT_BOUND = frozenset({"key_worker"})


@dataclass(frozen=True)
class Rule:
    """One share from an approved agreement, as it applies to a request."""

    agreement: str  # slug@vN
    purpose: str
    provider: str
    recipient: str
    roles: frozenset[str]
    category: str
    level: str  # flags | details
    consent_required: bool
    override_required: bool


@dataclass(frozen=True)
class Request:
    """Everything the policy needs to know, gathered beforehand by `kinfold.access.facts`."""

    role: str
    organisation: str
    action: Action
    purpose: str
    assigned: bool = False  # the requester is this family's current key worker
    provider: str = ""  # for flags/details: whose data
    category: str = ""
    consent: str = ""  # id of a valid consent covering (person, purpose, provider, category)
    override: str = ""  # id of an approved, unexpired override covering it
    rules: tuple[Rule, ...] = field(default=())


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    basis: str = (
        ""  # what made it lawful: consent:<id>, override:<id>, agreement:<slug@vN>, role:<r>
    )
    agreement: str = ""

    def __bool__(self) -> bool:
        return self.allowed


def deny(reason: str, agreement: str = "") -> Decision:
    return Decision(False, reason, agreement=agreement)


def evaluate(request: Request) -> Decision:
    """Decide one request. Pure: same request, same decision."""
    if request.action not in ROLE_ACTIONS.get(request.role, frozenset()):
        return deny(f"a {request.role.replace('_', ' ')} cannot do this ({request.action})")
    if request.action == Action.VIEW_AUDIT_LOG:
        return Decision(True, "the data protection officer oversees the audit log", "role:dpo")
    if request.action == Action.LIST_FAMILIES:
        return Decision(True, "you see the families your role works with", f"role:{request.role}")
    if request.role in ASSIGNMENT_BOUND and not request.assigned:
        return deny("you are not this family's key worker")
    if request.action == Action.ASSIGN:
        return Decision(True, "team managers allocate families to key workers", "role:team_manager")
    if request.action == Action.VIEW_FAMILY:
        return _view_family(request)
    if request.action == Action.VIEW_CONTACT:
        return Decision(True, "you are this family's key worker", "assignment")
    if request.action == Action.VIEW_FLAGS:
        return _by_agreement(request, "flags")
    if request.action == Action.VIEW_DETAIL:
        return _by_agreement(request, "details")
    return deny("no rule allows this")


def _view_family(request: Request) -> Decision:
    if request.assigned:
        return Decision(True, "you are this family's key worker", "assignment")
    return Decision(
        True,
        f"a {request.role.replace('_', ' ')} sees identified families by pseudonym",
        f"role:{request.role}",
    )


def _by_agreement(request: Request, level: str) -> Decision:
    matching = [
        r
        for r in request.rules
        if r.purpose == request.purpose
        and r.provider == request.provider
        and r.recipient == request.organisation
        and r.category == request.category
        and r.level == level
    ]
    if not matching:
        return deny(
            f"no approved agreement shares {request.category} {level} from {request.provider} "
            f"for {request.purpose}"
        )
    with_role = [r for r in matching if request.role in r.roles]
    if not with_role:
        return deny(
            f"the agreement does not share {request.category} {level} with your role",
            matching[0].agreement,
        )
    for rule in with_role:
        decision = _conditions_met(request, rule)
        if decision.allowed:
            return decision
    return _conditions_met(request, with_role[0])


def _conditions_met(request: Request, rule: Rule) -> Decision:
    label = request.category.replace("-", " ")
    if rule.override_required:
        if request.override:
            return Decision(
                True,
                "an approved override covers this",
                f"override:{request.override}",
                rule.agreement,
            )
        return deny(f"needs an approved override for {label} data", rule.agreement)
    if rule.consent_required:
        if request.consent:
            return Decision(
                True, "the family consented to this", f"consent:{request.consent}", rule.agreement
            )
        if request.override:
            return Decision(
                True,
                "an approved override covers this",
                f"override:{request.override}",
                rule.agreement,
            )
        return deny(f"needs consent for {label} data", rule.agreement)
    return Decision(
        True,
        f"the agreement shares {label} {rule.level} for {rule.purpose}",
        f"agreement:{rule.agreement}",
        rule.agreement,
    )
