"""What the public transparency pages show of agreements: nothing personal, all of the rules."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from kinfold.agreements.cedar import SCHEMA
from kinfold.agreements.models import (
    Agreement,
    AgreementEvent,
    DataCategory,
    Organisation,
    Purpose,
    Share,
)


@dataclass
class PublishedShare:
    purpose: str
    level: str
    categories: list[str]
    providers: list[str]
    recipient: str
    roles: list[str]
    basis: str
    conditions: list[str]
    consent_required: bool
    override_required: bool


@dataclass(frozen=True)
class PublishedPolicy:
    """One share of the agreement: what it permits in words, and the Cedar text that enforces it."""

    policy_id: str
    sentence: str
    text: str


@dataclass(frozen=True)
class PublishedPurpose:
    slug: str
    name: str
    policies: list[PublishedPolicy]


@dataclass(frozen=True)
class PublishedVersion:
    version: int
    status: str
    effective: str
    loaded_at: object
    changes: str
    history: list[AgreementEvent]
    is_shown: bool


@dataclass
class PublishedAgreement:
    agreement: Agreement
    parties: list[str]
    shares: list[PublishedShare] = field(default_factory=list)
    retention: list[tuple[str, int]] = field(default_factory=list)
    versions: list[Agreement] = field(default_factory=list)
    policy_text: str = ""
    purposes: list[PublishedPurpose] = field(default_factory=list)
    history: list[PublishedVersion] = field(default_factory=list)
    changes: str = ""
    schema: str = SCHEMA
    signatories: list[tuple[str, str, str]] = field(
        default_factory=list
    )  # role, organisation, date


def published() -> list[Agreement]:
    """Current versions of every agreement, approved or not (a draft is published as a draft)."""
    return list(Agreement.objects.filter(is_current=True).order_by("title"))


def purpose_name(slug: str) -> str:
    purpose = Purpose.objects.filter(slug=slug).first()
    return purpose.name if purpose else slug


def categories() -> list[DataCategory]:
    return list(DataCategory.objects.order_by("name"))


def published_agreement(slug: str, version: int | None = None) -> PublishedAgreement | None:
    versions = list(Agreement.objects.filter(slug=slug).order_by("-version"))
    if not versions:
        return None
    chosen = next((a for a in versions if a.version == version), None) if version else versions[0]
    if chosen is None:
        return None
    grouped: dict[tuple[object, ...], PublishedShare] = {}
    providers: dict[tuple[object, ...], set[str]] = defaultdict(set)
    cats: dict[tuple[object, ...], set[str]] = defaultdict(set)
    shares = (
        Share.objects.filter(agreement=chosen)
        .select_related("purpose", "provider", "recipient", "category", "lawful_basis")
        .prefetch_related("conditions")
    )
    for share in shares.order_by("id"):
        conditions = sorted(c.article for c in share.conditions.all())
        key = (
            share.purpose.name,
            share.level,
            share.recipient.name,
            tuple(share.roles),
            share.lawful_basis.article,
            tuple(conditions),
            share.consent_required,
            share.override_required,
        )
        if key not in grouped:
            grouped[key] = PublishedShare(
                purpose=share.purpose.name,
                level=share.get_level_display(),
                categories=[],
                providers=[],
                recipient=share.recipient.name,
                roles=[r.replace("_", " ") for r in share.roles],
                basis=share.lawful_basis.article,
                conditions=conditions,
                consent_required=share.consent_required,
                override_required=share.override_required,
            )
        providers[key].add(share.provider.name)
        cats[key].add(share.category.name)
    for group, item in grouped.items():
        item.providers = sorted(providers[group])
        item.categories = sorted(cats[group])
    return PublishedAgreement(
        agreement=chosen,
        parties=sorted(o.name for o in chosen.parties.all()),
        shares=list(grouped.values()),
        retention=[
            (r.category.name, r.months)
            for r in chosen.retention.select_related("category").order_by("category__name")
        ],
        versions=versions,
        policy_text=chosen.policy_text,
        purposes=_purposes(chosen),
        history=[_version(v, v.pk == chosen.pk) for v in versions],
        changes=_changes(chosen),
        signatories=_signatories(chosen),
    )


def _signatories(agreement: Agreement) -> list[tuple[str, str, str]]:
    names = dict(Organisation.objects.values_list("slug", "name"))
    document = agreement.document if isinstance(agreement.document, dict) else {}
    return [
        (str(s.get("role", "")), names.get(s.get("organisation", ""), ""), str(s.get("signed", "")))
        for s in document.get("signatories", [])
        if isinstance(s, dict)
    ]


def _changes(agreement: Agreement) -> str:
    head = agreement.document.get("agreement", {}) if isinstance(agreement.document, dict) else {}
    return str(head.get("changes", "")).strip()


def _purposes(agreement: Agreement) -> list[PublishedPurpose]:
    names = dict(Purpose.objects.values_list("slug", "name"))
    grouped: dict[str, list[PublishedPolicy]] = defaultdict(list)
    for policy in agreement.policies or []:
        grouped[policy["purpose"]].append(
            PublishedPolicy(policy["id"], policy["sentence"], policy["text"])
        )
    return [PublishedPurpose(slug, names.get(slug, slug), items) for slug, items in grouped.items()]


def _version(agreement: Agreement, shown: bool) -> PublishedVersion:
    return PublishedVersion(
        version=agreement.version,
        status=agreement.get_status_display(),
        effective=agreement.effective.isoformat(),
        loaded_at=agreement.loaded_at,
        changes=_changes(agreement),
        history=list(agreement.events.order_by("at", "id")),
        is_shown=shown,
    )


def policy_text(slug: str, version: int) -> str | None:
    """The exact Cedar text a version enforces (or enforced), for download."""
    agreement = Agreement.objects.filter(slug=slug, version=version).first()
    return agreement.policy_text if agreement is not None else None
