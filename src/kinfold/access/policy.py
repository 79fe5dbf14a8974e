"""The policy: a plain reading of the agreements and the house rules, as a pure function.

`evaluate(request)` decides from facts alone (no database), so the same facts always give the
same answer. It is the *reference reading*: the engine the access point enforces is Cedar
(`kinfold.access.engine`, running the policies generated from each approved agreement beside
`house.cedar`), and the two are compared request by request, in the tests on thousands of generated
requests and at run time on every decision (an allow needs both). This reading also supplies the
words: a denial says what would be needed ("needs consent for health data"). Deny by default:
every path that does not end in an explicit allow is a deny with the reason a person would need.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from kinfold.agreements.documents import AgreementDoc


class Action(StrEnum):
    LIST_FAMILIES = "family:list"
    VIEW_FAMILY = "family:view"  # the family exists, its members by pseudonym, who works with it
    VIEW_FLAGS = "family:flags:view"  # dated indicator codes in one category
    VIEW_CONTACT = "family:contact:view"  # names and contact details from the vault
    VIEW_DETAIL = "record:detail:view"  # a partner's sealed detail in one category
    ASSIGN = "family:assign"
    VIEW_AUDIT_LOG = "audit:view"
    VIEW_CONSENTS = "family:consent:view"  # who agreed to what, in a family
    RECORD_CONSENT = "family:consent:record"  # record a consent or refusal, or a withdrawal
    PROPOSE_OVERRIDE = "override:propose"
    DECIDE_OVERRIDE = "override:decide"  # approve or reject someone else's proposal
    REVOKE_OVERRIDE = "override:revoke"
    LIST_OVERRIDES = "override:list"
    SEND_REFERRAL = "referral:send"  # send a referral, or revoke one sent
    LIST_REFERRALS = "referral:list"
    VIEW_REFERRAL = "referral:view"
    RESPOND_REFERRAL = "referral:respond"  # accept, reject, or record the outcome


#: What each role may do at all, before agreements and facts are considered.
ROLE_ACTIONS: dict[str, frozenset[Action]] = {
    "key_worker": frozenset(
        {
            Action.LIST_FAMILIES,
            Action.VIEW_FAMILY,
            Action.VIEW_FLAGS,
            Action.VIEW_CONTACT,
            Action.VIEW_DETAIL,
            Action.VIEW_CONSENTS,
            Action.RECORD_CONSENT,
            Action.PROPOSE_OVERRIDE,
            Action.REVOKE_OVERRIDE,
            Action.SEND_REFERRAL,
            Action.VIEW_REFERRAL,
        }
    ),
    "team_manager": frozenset(
        {
            Action.LIST_FAMILIES,
            Action.VIEW_FAMILY,
            Action.VIEW_FLAGS,
            Action.ASSIGN,
            Action.VIEW_DETAIL,
            Action.VIEW_CONSENTS,
            Action.PROPOSE_OVERRIDE,
            Action.DECIDE_OVERRIDE,
            Action.REVOKE_OVERRIDE,
            Action.LIST_OVERRIDES,
        }
    ),
    "analyst": frozenset({Action.LIST_FAMILIES, Action.VIEW_FAMILY, Action.VIEW_FLAGS}),
    "partner_practitioner": frozenset(
        {
            Action.VIEW_DETAIL,
            Action.LIST_REFERRALS,
            Action.VIEW_REFERRAL,
            Action.RESPOND_REFERRAL,
        }
    ),
    "dpo": frozenset(
        {
            Action.VIEW_AUDIT_LOG,
            Action.DECIDE_OVERRIDE,
            Action.REVOKE_OVERRIDE,
            Action.LIST_OVERRIDES,
        }
    ),
    "admin": frozenset(),
}

#: Roles whose work is with assigned families only.
ASSIGNMENT_BOUND = frozenset({"key_worker"})
#: Roles who see a family only through a referral sent to their organisation.
REFERRAL_BOUND = frozenset({"partner_practitioner"})
#: Actions that are about no one family (lists and registers): no assignment or referral needed.
UNBOUND_ACTIONS = frozenset(
    {Action.LIST_FAMILIES, Action.VIEW_AUDIT_LOG, Action.LIST_OVERRIDES, Action.LIST_REFERRALS}
)

_UNBOUND_REASONS = {
    Action.VIEW_AUDIT_LOG: "the data protection officer oversees the audit log",
    Action.LIST_FAMILIES: "you see the families your role works with",
    Action.LIST_OVERRIDES: "managers and the data protection officer oversee every override",
    Action.LIST_REFERRALS: "you see the referrals sent to your organisation",
}


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
    referred: bool = False  # an open referral sends this to the requester's organisation
    own_proposal: bool = False  # deciding on an override the requester proposed
    contact_released: bool = False  # the family's programme journey has reached "contacted"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    basis: str = (
        ""  # what made it lawful: consent:<id>, override:<id>, agreement:<slug@vN>, role:<r>
    )
    agreement: str = ""
    policies: tuple[str, ...] = ()  # the Cedar policies that determined it (their @id)

    def __bool__(self) -> bool:
        return self.allowed


def deny(reason: str, agreement: str = "") -> Decision:
    return Decision(False, reason, agreement=agreement)


def evaluate(request: Request) -> Decision:
    """Decide one request. Pure: same request, same decision."""
    if request.action not in ROLE_ACTIONS.get(request.role, frozenset()):
        return deny(f"a {request.role.replace('_', ' ')} cannot do this ({request.action})")
    if request.action in UNBOUND_ACTIONS:
        return Decision(True, _UNBOUND_REASONS[request.action], f"role:{request.role}")
    if request.role in ASSIGNMENT_BOUND and not request.assigned:
        return deny("you are not this family's key worker")
    if request.role in REFERRAL_BOUND and not request.referred:
        return deny("no open referral sends this to your organisation")
    if request.action == Action.DECIDE_OVERRIDE and request.own_proposal:
        return deny("you proposed this override: a different person must decide it")
    if request.action == Action.VIEW_CONTACT and not request.contact_released:
        return deny("contact details are released once the family is contacted in the programme")
    if request.action == Action.VIEW_FLAGS:
        return _by_agreement(request, "flags")
    if request.action == Action.VIEW_DETAIL:
        return _by_agreement(request, "details")
    if request.action == Action.VIEW_FAMILY:
        return _view_family(request)
    return _by_role(request)


def _by_role(request: Request) -> Decision:
    """Kinfold's own rules for work that no agreement governs (consent, overrides, referrals)."""
    if request.action == Action.ASSIGN:
        return Decision(True, "team managers allocate families to key workers", "role:team_manager")
    if request.role in ASSIGNMENT_BOUND:
        return Decision(True, "you are this family's key worker", "assignment")
    if request.role in REFERRAL_BOUND:
        return Decision(True, "a referral sends this to your organisation", "referral")
    return Decision(True, f"a {request.role.replace('_', ' ')} may do this", f"role:{request.role}")


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
                True, "the person consented to this", f"consent:{request.consent}", rule.agreement
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


def rules_from(doc: AgreementDoc) -> tuple[Rule, ...]:
    """The plain reading of an agreement document: one Rule per provider and category of a share."""
    label = f"{doc.slug}@v{doc.version}"
    return tuple(
        Rule(
            agreement=label,
            purpose=share.purpose,
            provider=provider,
            recipient=share.recipient,
            roles=frozenset(share.roles),
            category=category,
            level=share.level,
            consent_required=share.consent_required,
            override_required=share.override_required,
        )
        for purpose in doc.purposes
        for share in purpose.shares
        for provider in share.providers
        for category in share.categories
    )
