"""The policy as a pure function: deny by default, and a reason for every decision."""

from __future__ import annotations

import pytest

from kinfold.access.policy import Action, Request, Rule, evaluate

COUNCIL = "northfield-council"
SCHOOLS = "northfield-schools"
HEALTH = "northfield-nhs-trust"

RULES = (
    Rule(
        "dsa@v1",
        "service-coordination",
        SCHOOLS,
        COUNCIL,
        frozenset({"key_worker"}),
        "education",
        "details",
        True,
        False,
    ),
    Rule(
        "dsa@v1",
        "service-coordination",
        HEALTH,
        COUNCIL,
        frozenset({"key_worker"}),
        "health",
        "details",
        True,
        False,
    ),
    Rule(
        "dsa@v1",
        "identification",
        SCHOOLS,
        COUNCIL,
        frozenset({"key_worker", "team_manager", "analyst"}),
        "education",
        "flags",
        False,
        False,
    ),
    Rule(
        "dsa@v1",
        "safeguarding",
        HEALTH,
        COUNCIL,
        frozenset({"key_worker"}),
        "health",
        "details",
        False,
        True,
    ),
)


def request(**overrides: object) -> Request:
    base: dict[str, object] = {
        "role": "key_worker",
        "organisation": COUNCIL,
        "action": Action.VIEW_DETAIL,
        "purpose": "service-coordination",
        "assigned": True,
        "provider": SCHOOLS,
        "category": "education",
        "rules": RULES,
    }
    return Request(**(base | overrides))  # type: ignore[arg-type]


CASES = [
    # (description, request changes, allowed, words in the reason or basis)
    ("consented detail for own family", {"consent": "c-1"}, True, "consent:c-1"),
    ("detail without consent", {}, False, "needs consent for education data"),
    (
        "detail of a family not assigned",
        {"consent": "c-1", "assigned": False},
        False,
        "not this family's key worker",
    ),
    (
        "category the agreement does not share",
        {"category": "social-care", "consent": "c-1"},
        False,
        "no approved agreement",
    ),
    (
        "provider the agreement does not name",
        {"provider": "acme", "consent": "c-1"},
        False,
        "no approved agreement",
    ),
    (
        "another organisation's staff",
        {"organisation": "northfield-police", "consent": "c-1"},
        False,
        "no approved agreement",
    ),
    (
        "a role the share does not include",
        {"role": "team_manager", "consent": "c-1"},
        False,
        "does not share education details with your role",
    ),
    ("analyst never sees details", {"role": "analyst", "consent": "c-1"}, False, "cannot do this"),
    ("DPO never sees family data", {"role": "dpo", "consent": "c-1"}, False, "cannot do this"),
    (
        "partner practitioner sees nothing without a referral",
        {"role": "partner_practitioner", "consent": "c-1"},
        False,
        "no open referral",
    ),
    ("admin sees nothing", {"role": "admin", "consent": "c-1"}, False, "cannot do this"),
    (
        "flags for identification",
        {"action": Action.VIEW_FLAGS, "purpose": "identification"},
        True,
        "agreement:dsa@v1",
    ),
    (
        "manager sees flags of any family",
        {
            "role": "team_manager",
            "assigned": False,
            "action": Action.VIEW_FLAGS,
            "purpose": "identification",
        },
        True,
        "agreement:dsa@v1",
    ),
    (
        "safeguarding detail needs an override",
        {"purpose": "safeguarding", "provider": HEALTH, "category": "health"},
        False,
        "needs an approved override",
    ),
    (
        "safeguarding detail with an override",
        {"purpose": "safeguarding", "provider": HEALTH, "category": "health", "override": "o-9"},
        True,
        "override:o-9",
    ),
    (
        "consent does not stand in for an override",
        {"purpose": "safeguarding", "provider": HEALTH, "category": "health", "consent": "c-1"},
        False,
        "override",
    ),
    ("no rules at all: deny", {"rules": (), "consent": "c-1"}, False, "no approved agreement"),
    (
        "contact details for own family, once contacted",
        {"action": Action.VIEW_CONTACT, "contact_released": True},
        True,
        "assignment",
    ),
    (
        "contact details before the family is contacted",
        {"action": Action.VIEW_CONTACT},
        False,
        "once the family is contacted",
    ),
    (
        "contact details of another family",
        {"action": Action.VIEW_CONTACT, "assigned": False},
        False,
        "not this family's key worker",
    ),
    (
        "manager never sees contact details",
        {"role": "team_manager", "action": Action.VIEW_CONTACT},
        False,
        "cannot do this",
    ),
    (
        "the DPO reads the audit log",
        {"role": "dpo", "action": Action.VIEW_AUDIT_LOG},
        True,
        "role:dpo",
    ),
    (
        "a key worker does not read the audit log",
        {"action": Action.VIEW_AUDIT_LOG},
        False,
        "cannot do this",
    ),
    (
        "unknown role: deny",
        {"role": "volunteer", "action": Action.VIEW_FAMILY},
        False,
        "cannot do this",
    ),
]


@pytest.mark.parametrize(
    ("description", "changes", "allowed", "words"), CASES, ids=[c[0] for c in CASES]
)
def test_policy_decisions(
    description: str, changes: dict[str, object], allowed: bool, words: str
) -> None:
    decision = evaluate(request(**changes))
    assert decision.allowed is allowed
    assert words in f"{decision.reason} {decision.basis}"
    assert decision.reason, "every decision says why"
