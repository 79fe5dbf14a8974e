"""Cedar and the plain-Python reading agree on every request: the shipped agreements, and random ones.

The access point enforces Cedar (the policies generated from each agreement beside the house
rules) and allows only when the reference reading (`kinfold.access.policy.evaluate`) allows too.
These tests generate thousands of requests and check that the two never differ, so the published
policy text is exactly what the plain reading says, and a disagreement at run time is a bug.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kinfold.access import engine
from kinfold.access.policy import Action, Request, evaluate, rules_from
from kinfold.agreements.cedar import SCHEMA, compile_agreement
from kinfold.agreements.documents import (
    LEVELS,
    ROLES,
    AgreementDoc,
    PurposeDoc,
    ShareDoc,
    load_register,
)

REPO_AGREEMENTS = Path(__file__).resolve().parents[2] / "agreements"
REGISTER = load_register(REPO_AGREEMENTS)
ORGS = sorted(REGISTER.organisations)
CATEGORIES = sorted(REGISTER.categories)
PURPOSES = sorted(REGISTER.purposes)


def snapshot_of(*docs: AgreementDoc) -> engine.Snapshot:
    return engine.build(
        engine.Enforced(
            f"{d.slug}@v{d.version}",
            "sha",
            compile_agreement(d, REGISTER).text,
            rules_from(d),
        )
        for d in docs
    )


SHIPPED = snapshot_of(*(d for d in REGISTER.agreements if d.status == "approved"))

requests = st.builds(
    Request,
    role=st.sampled_from([*ROLES, "visitor"]),
    organisation=st.sampled_from([*ORGS, "acme-data-broker"]),
    action=st.sampled_from(list(Action)),
    purpose=st.sampled_from([*PURPOSES, "marketing"]),
    assigned=st.booleans(),
    provider=st.sampled_from([*ORGS, "acme-data-broker"]),
    category=st.sampled_from([*CATEGORIES, "gossip"]),
    consent=st.sampled_from(["", "consent-1"]),
    override=st.sampled_from(["", "override-1"]),
    referred=st.booleans(),
    own_proposal=st.booleans(),
    contact_released=st.booleans(),
)


def assert_agree(snapshot: engine.Snapshot, request: Request) -> None:
    request = replace(request, rules=snapshot.rules)
    reference = evaluate(request)
    cedar = engine.ask_cedar(snapshot, request)
    assert cedar.errors == (), cedar.errors
    assert cedar.allowed == reference.allowed, (request, reference, cedar)
    if cedar.allowed and request.action in (Action.VIEW_FLAGS, Action.VIEW_DETAIL):
        # an allow of shared data names the agreement version that allowed it
        assert any(p.startswith(reference.agreement + "/") for p in cedar.policies)


@settings(max_examples=4000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests)
def test_cedar_agrees_with_the_reading_of_the_shipped_agreement(request: Request) -> None:
    assert_agree(SHIPPED, request)


def _shares(purpose: str, consent: bool, override: bool) -> st.SearchStrategy[ShareDoc]:
    return st.builds(
        ShareDoc,
        purpose=st.just(purpose),
        providers=st.lists(st.sampled_from(ORGS), min_size=1, max_size=3, unique=True).map(tuple),
        recipient=st.sampled_from(ORGS),
        roles=st.lists(st.sampled_from(ROLES), min_size=1, max_size=3, unique=True).map(tuple),
        categories=st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=4, unique=True).map(
            tuple
        ),
        level=st.sampled_from(LEVELS),
        conditions=st.just(()),
        lawful_basis=st.just("article-6-1-e"),
        consent_required=st.just(consent),
        override_required=st.just(override),
    )


@st.composite
def agreements(draw: st.DrawFn, version: int = 1) -> AgreementDoc:
    purposes = []
    for purpose in draw(st.lists(st.sampled_from(PURPOSES), min_size=1, max_size=3, unique=True)):
        consent, override = draw(st.booleans()), draw(st.booleans())
        shares = tuple(draw(st.lists(_shares(purpose, consent, override), min_size=1, max_size=3)))
        purposes.append(PurposeDoc(purpose, "article-6-1-e", consent, override, "", shares))
    base = REGISTER.agreements[0]
    return replace(
        base,
        slug=draw(st.sampled_from(["dsa-one", "dsa-two"])),
        version=version,
        purposes=tuple(purposes),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    docs=st.lists(agreements(), min_size=1, max_size=2, unique_by=lambda d: d.slug),
    batch=st.lists(requests, min_size=40, max_size=40),
)
def test_cedar_agrees_with_the_reading_of_any_agreement(
    docs: list[AgreementDoc], batch: list[Request]
) -> None:
    """Random agreements (any roles, levels, consent and override terms), 40 requests each."""
    snapshot = snapshot_of(*docs)
    for request in batch:
        assert_agree(snapshot, request)


def test_rule_targeted_requests_agree() -> None:
    """Every rule of the shipped agreement, in every fact state: random requests rarely hit
    exactly a share's provider and category, so walk them all."""
    count = 0
    for rule in SHIPPED.rules:
        action = Action.VIEW_FLAGS if rule.level == "flags" else Action.VIEW_DETAIL
        for role in [*ROLES, "visitor"]:
            for consent in ("", "c"):
                for override in ("", "o"):
                    for bound in (False, True):
                        request = Request(
                            role=role,
                            organisation=rule.recipient,
                            action=action,
                            purpose=rule.purpose,
                            assigned=bound,
                            referred=bound,
                            provider=rule.provider,
                            category=rule.category,
                            consent=consent,
                            override=override,
                        )
                        assert_agree(SHIPPED, request)
                        count += 1
    assert count > 10_000


@pytest.mark.parametrize(
    ("description", "changes", "allowed"),
    [
        ("consented detail for an assigned key worker", {"consent": "c"}, True),
        ("the same without consent", {}, False),
        ("the same, not assigned", {"consent": "c", "assigned": False}, False),
        ("an override stands in for consent", {"override": "o"}, True),
        ("health details to a team manager for coordination", {"role": "team_manager"}, False),
    ],
)
def test_decisions_name_the_policy_and_version(
    description: str, changes: dict[str, object], allowed: bool
) -> None:
    base = Request(
        role="key_worker",
        organisation="northfield-council",
        action=Action.VIEW_DETAIL,
        purpose="service-coordination",
        assigned=True,
        provider="northfield-nhs-trust",
        category="health",
        rules=SHIPPED.rules,
    )
    decision, disagreement = engine.decide(SHIPPED, replace(base, **changes))  # type: ignore[arg-type]
    assert not disagreement
    assert decision.allowed is allowed
    if allowed:
        assert decision.agreement == "northfield-supporting-families@v2"
        assert decision.policies == ("northfield-supporting-families@v2/service-coordination/3",)
    else:
        assert "northfield-supporting-families@v2/service-coordination/3" not in decision.policies


def test_a_house_forbid_is_named_when_it_refuses() -> None:
    request = Request(
        role="key_worker",
        organisation="northfield-council",
        action=Action.VIEW_DETAIL,
        purpose="service-coordination",
        assigned=False,
        provider="northfield-nhs-trust",
        category="health",
        consent="c",
        rules=SHIPPED.rules,
    )
    decision, _ = engine.decide(SHIPPED, request)
    assert not decision.allowed
    assert decision.policies == ("house/key-worker-assigned",)
    assert "not this family's key worker" in decision.reason


def test_a_disagreement_refuses_and_is_flagged() -> None:
    """If the reading and Cedar ever differ, the request is refused, never allowed."""
    request = Request(
        role="key_worker",
        organisation="northfield-council",
        action=Action.VIEW_DETAIL,
        purpose="service-coordination",
        assigned=True,
        provider="northfield-nhs-trust",
        category="health",
        consent="c",
    )
    no_agreements = engine.build([])
    # Cedar (no agreement policies) denies; a reading that still has the rules would allow.
    reference = evaluate(replace(request, rules=SHIPPED.rules))
    assert reference.allowed
    cedar = engine.ask_cedar(no_agreements, request)
    assert not cedar.allowed
    tampered = replace(no_agreements, rules=SHIPPED.rules)
    decision, disagreement = engine.decide(tampered, replace(request, rules=SHIPPED.rules))
    assert disagreement
    assert not decision.allowed
    assert decision.reason == engine.DISAGREEMENT


def test_every_action_is_in_the_schema_with_its_resource_type() -> None:
    for action in Action:
        line = next(ln for ln in SCHEMA.splitlines() if f'"{action.value}"' in ln)
        block = SCHEMA[SCHEMA.index(line) :]
        applies = block[block.index("appliesTo") : block.index("}")]
        assert f"resource: {engine.RESOURCE_TYPES[action]}," in applies, action
