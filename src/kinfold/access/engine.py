"""Cedar, in process: the engine the access decision point enforces.

A `PolicySet` snapshot is the house rules (`kinfold.access.house`) plus the generated policies of
every approved agreement version, parsed once and cached in this process under a key naming
those versions and their policy hashes. The key is read from the database before each page's
decisions, so an approval or retirement in any process takes effect on the next decision here.

Each decision asks Cedar *and* the reference reading (`kinfold.access.policy.evaluate`) and
allows only when both allow: a disagreement (a bug in the compiler, the house text or the
reading) can refuse a request, never widen one, and is flagged in the audit entry. Cedar names
the policies that determined the decision (their `@id`), which name the agreement version.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import cedarpy

from kinfold.access.house import HOUSE_POLICY
from kinfold.access.policy import Action, Decision, Request, Rule, evaluate
from kinfold.agreements.cedar import SCHEMA

#: The Cedar resource type each action applies to (the schema says the same).
RESOURCE_TYPES: dict[Action, str] = {
    Action.LIST_FAMILIES: "Register",
    Action.VIEW_AUDIT_LOG: "Register",
    Action.LIST_OVERRIDES: "Register",
    Action.LIST_REFERRALS: "Register",
    Action.VIEW_FAMILY: "Family",
    Action.VIEW_CONTACT: "Family",
    Action.ASSIGN: "Family",
    Action.VIEW_CONSENTS: "Family",
    Action.RECORD_CONSENT: "Family",
    Action.PROPOSE_OVERRIDE: "Family",
    Action.SEND_REFERRAL: "Family",
    Action.VIEW_FLAGS: "Data",
    Action.VIEW_DETAIL: "Data",
    Action.DECIDE_OVERRIDE: "Override",
    Action.REVOKE_OVERRIDE: "Override",
    Action.VIEW_REFERRAL: "Referral",
    Action.RESPOND_REFERRAL: "Referral",
}
ROLES = ("key_worker", "team_manager", "analyst", "partner_practitioner", "dpo", "admin")
DISAGREEMENT = "refused: the enforced policy and its reference reading disagree (reported)"
_CACHE_SIZE = 8


@dataclass(frozen=True)
class Enforced:
    """One approved agreement version as the engine needs it."""

    label: str
    policy_sha256: str
    policy_text: str
    rules: tuple[Rule, ...]


@dataclass
class Snapshot:
    """The compiled policies in force, with the plain rules they were generated beside."""

    key: tuple[tuple[str, str], ...]
    labels: tuple[str, ...]
    rules: tuple[Rule, ...]
    text: str
    policy_set: Any
    schema: Any
    entities: Any
    _known: set[str] = field(default_factory=set)
    _extended: dict[tuple[str, str], Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _by_source: dict[tuple[str, str, str, str], tuple[Rule, ...]] = field(default_factory=dict)

    def rules_for(self, request: Request) -> tuple[Rule, ...]:
        """The rules the reading could match for this request (same purpose, provider, recipient
        and category): it then scans a handful instead of every rule in force."""
        if not self._by_source and self.rules:
            index: dict[tuple[str, str, str, str], list[Rule]] = {}
            for r in self.rules:
                index.setdefault((r.purpose, r.provider, r.recipient, r.category), []).append(r)
            self._by_source = {k: tuple(v) for k, v in index.items()}
        key = (request.purpose, request.provider, request.organisation, request.category)
        return self._by_source.get(key, ())

    def entities_for(self, principal: str, data: str) -> Any:
        """The entity store, with this principal and data entity added if not already in it."""
        missing = tuple(uid for uid in (principal, data) if uid and uid not in self._known)
        if not missing:
            return self.entities
        key = (principal, data)
        with self._lock:
            if key not in self._extended:
                if len(self._extended) > 256:
                    self._extended.clear()
                delta = [_entity_json(uid) for uid in missing]
                self._extended[key] = self.entities.with_added_json_str(json.dumps(delta))
            return self._extended[key]


def build(enforced: Iterable[Enforced]) -> Snapshot:
    """Parse the house rules and these agreements' policies into one snapshot (no database)."""
    versions = sorted(enforced, key=lambda e: e.label)
    text = "\n".join([HOUSE_POLICY, *(e.policy_text for e in versions)])
    rules = tuple(rule for e in versions for rule in e.rules)
    orgs = sorted({r.provider for r in rules} | {r.recipient for r in rules})
    categories = sorted({r.category for r in rules})
    uids = [_staff_id(role, org) for role in ROLES for org in orgs]
    uids += [_data_id(org, category) for org in orgs for category in categories]
    schema = cedarpy.Schema.from_str(SCHEMA)
    entities = cedarpy.Entities.from_json_str(json.dumps([_entity_json(u) for u in uids]), schema)
    return Snapshot(
        key=tuple((e.label, e.policy_sha256) for e in versions),
        labels=tuple(e.label for e in versions),
        rules=rules,
        text=text,
        policy_set=cedarpy.PolicySet.from_str(text),
        schema=schema,
        entities=entities,
        _known=set(uids),
    )


_cache: dict[tuple[tuple[str, str], ...], Snapshot] = {}
_cache_lock = threading.Lock()


def cached(key: tuple[tuple[str, str], ...], load: Any) -> Snapshot:
    """The snapshot for `key`, built with `load()` (→ Enforced versions) the first time."""
    snapshot = _cache.get(key)
    if snapshot is not None:
        return snapshot
    with _cache_lock:
        if key not in _cache:
            if len(_cache) >= _CACHE_SIZE:
                _cache.clear()
            _cache[key] = build(load())
        return _cache[key]


def clear_cache() -> None:
    """Forget every compiled snapshot (tests; the key already changes with the agreements)."""
    with _cache_lock:
        _cache.clear()


# ---------------------------------------------------------------------------- one decision


@dataclass(frozen=True)
class CedarResult:
    allowed: bool
    policies: tuple[str, ...]  # the @id of each determining policy
    errors: tuple[str, ...]


def cedar_request(request: Request) -> dict[str, Any]:
    """The Cedar request for a kinfold Request: principal, action, resource and the facts."""
    kind = RESOURCE_TYPES.get(request.action, "Register")
    resource_id = _data_key(request.provider, request.category) if kind == "Data" else kind.lower()
    return {
        "principal": {"type": "Kinfold::Staff", "id": _key(request.role, request.organisation)},
        "action": {"type": "Kinfold::Action", "id": str(request.action)},
        "resource": {"type": f"Kinfold::{kind}", "id": resource_id},
        "context": {
            "purpose": {"__entity": {"type": "Kinfold::Purpose", "id": request.purpose}},
            "assigned": request.assigned,
            "referred": request.referred,
            "consent": bool(request.consent),
            "override": bool(request.override),
            "own_proposal": request.own_proposal,
            "contact_released": request.contact_released,
        },
    }


def ask_cedar(snapshot: Snapshot, request: Request) -> CedarResult:
    """Cedar's decision alone (deny on any error: a request that cannot be evaluated is refused)."""
    principal = _staff_id(request.role, request.organisation)
    data = (
        _data_id(request.provider, request.category)
        if RESOURCE_TYPES.get(request.action) == "Data"
        else ""
    )
    result = cedarpy.is_authorized(
        cedar_request(request),
        snapshot.policy_set,
        snapshot.entities_for(principal, data),
        schema=snapshot.schema,
    )
    ids = result.diagnostics.id_annotations_by_reason
    policies = tuple(sorted(ids.get(r, r) for r in result.diagnostics.reasons))
    return CedarResult(result.allowed, policies, tuple(result.diagnostics.errors))


def decide(snapshot: Snapshot, request: Request) -> tuple[Decision, bool]:
    """The enforced decision and whether Cedar and the reference reading disagreed.

    Words (reason, basis) come from the reference reading; the determining policies, and from
    them the agreement version, come from Cedar.
    """
    reference = evaluate(replace(request, rules=snapshot.rules_for(request)))
    cedar = ask_cedar(snapshot, request)
    agreement = next((p.split("/")[0] for p in cedar.policies if "@v" in p), reference.agreement)
    if cedar.allowed and reference.allowed:
        return replace(reference, agreement=agreement, policies=cedar.policies), False
    if not cedar.allowed and not reference.allowed:
        return replace(reference, policies=cedar.policies), False
    return Decision(False, DISAGREEMENT, agreement=agreement, policies=cedar.policies), True


# ---------------------------------------------------------------------------- entity ids


def _key(role: str, organisation: str) -> str:
    return f"{role}@{organisation}"


def _data_key(provider: str, category: str) -> str:
    return f"{provider}/{category}"


def _staff_id(role: str, organisation: str) -> str:
    return f"Staff|{_key(role, organisation)}"


def _data_id(provider: str, category: str) -> str:
    return f"Data|{_data_key(provider, category)}"


def _ref(kind: str, slug: str) -> dict[str, dict[str, str]]:
    return {"__entity": {"type": f"Kinfold::{kind}", "id": slug}}


def _entity_json(uid: str) -> dict[str, Any]:
    kind, key = uid.split("|", 1)
    if kind == "Staff":
        role, organisation = key.split("@", 1)
        return {
            "uid": {"type": "Kinfold::Staff", "id": key},
            "attrs": {},
            "parents": [
                {"type": "Kinfold::Role", "id": role},
                {"type": "Kinfold::Organisation", "id": organisation},
            ],
        }
    provider, category = key.split("/", 1)
    return {
        "uid": {"type": "Kinfold::Data", "id": key},
        "attrs": {
            "provider": _ref("Organisation", provider),
            "category": _ref("Category", category),
        },
        "parents": [],
    }
