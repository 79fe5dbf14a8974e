"""Loading the agreements folder into the database, compiling each version into the Cedar
policies that enforce it, and moving versions through their life (draft → approved → retired).

Every change is audited and kept in the version's public history (`AgreementEvent`). At most one
version of an agreement is approved at a time: approving a version retires the one it replaces.
Only approved versions are enforced, and the access decision point reads which those are on every
decision, so an approval or retirement takes effect on the very next decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from kinfold.agreements import cedar
from kinfold.agreements.documents import AgreementDoc, Register, load_register
from kinfold.agreements.models import (
    Agreement,
    AgreementEvent,
    DataCategory,
    LawfulBasis,
    Organisation,
    Purpose,
    Retention,
    Share,
)
from kinfold.audit import services as audit
from kinfold.audit.actors import Actor
from kinfold.audit.events import Event
from kinfold.errors import ConfigError


@dataclass(frozen=True)
class LoadReport:
    loaded: tuple[str, ...]  # slug@vN newly loaded
    unchanged: tuple[str, ...]


def load_folder(actor: Actor, folder: Path | None = None) -> LoadReport:
    """Validate the whole folder, then load what is new, all or nothing.

    A version already loaded must be byte-for-byte what was loaded before: changing an agreement
    means a new version number, so every past decision keeps naming the text it used.
    """
    folder = folder or Path(settings.AGREEMENTS_DIR)
    register = load_register(folder)
    with transaction.atomic():
        _load_vocabulary(register)
        loaded, unchanged = [], []
        for doc in sorted(register.agreements, key=lambda d: (d.slug, d.version)):
            existing = Agreement.objects.filter(slug=doc.slug, version=doc.version).first()
            if existing is None:
                agreement = _load_agreement(doc, register)
                loaded.append(agreement.label)
                audit.record(
                    actor,
                    Event.AGREEMENT_LOADED,
                    resource=f"agreement:{agreement.label}",
                    reason=f"loaded from {doc.path.name} (status {doc.status})",
                    details={
                        "sha256": doc.sha256,
                        "status": doc.status,
                        "policy_sha256": agreement.policy_sha256,
                    },
                )
                _history(agreement, "loaded", actor, f"from {doc.path.name}, status {doc.status}")
                if doc.status == "approved":
                    _approve(actor, agreement, f"approved in {doc.path.name}")
                continue
            if existing.source_sha256 != doc.sha256:
                _follow_file_status(actor, existing, doc)
            if not existing.policy_text:
                _compile_existing(actor, existing, doc, register)
            unchanged.append(existing.label)
        _mark_current()
    return LoadReport(tuple(loaded), tuple(unchanged))


def approve(actor: Actor, slug: str, version: int, note: str = "") -> Agreement:
    """Approve a draft version: it is enforced from the next decision, and the version it
    replaces is retired. Audited. Raises ConfigError unless the version is a draft."""
    with transaction.atomic():
        agreement = _version(slug, version)
        if agreement.status != "draft":
            raise ConfigError(
                f"{agreement.label} is {agreement.status}; only a draft can be approved",
                field="status",
            )
        _approve(actor, agreement, note or "approved")
    return agreement


def retire(actor: Actor, slug: str, version: int, note: str = "") -> Agreement:
    """Retire a version: it stops being enforced at the next decision. Audited."""
    with transaction.atomic():
        agreement = _version(slug, version)
        if agreement.status == "retired":
            raise ConfigError(f"{agreement.label} is already retired", field="status")
        _retire(actor, agreement, note or "retired")
    return agreement


def enforced() -> list[Agreement]:
    """The approved versions: what the access decision point enforces right now."""
    return list(Agreement.objects.filter(status="approved").order_by("slug", "version"))


def _version(slug: str, version: int) -> Agreement:
    agreement = Agreement.objects.select_for_update().filter(slug=slug, version=version).first()
    if agreement is None:
        raise ConfigError(f"no agreement '{slug}' version {version} has been loaded")
    return agreement


def _approve(actor: Actor, agreement: Agreement, note: str) -> None:
    for older in Agreement.objects.filter(slug=agreement.slug, status="approved").exclude(
        pk=agreement.pk
    ):
        _retire(actor, older, f"replaced by version {agreement.version}")
    now = timezone.now()
    Agreement.objects.filter(pk=agreement.pk).update(status="approved", approved_at=now)
    agreement.status, agreement.approved_at = "approved", now
    audit.record(
        actor,
        Event.AGREEMENT_APPROVED,
        resource=f"agreement:{agreement.label}",
        reason=note[:500],
        details={"policy_sha256": agreement.policy_sha256},
    )
    _history(agreement, "approved", actor, note)


def _retire(actor: Actor, agreement: Agreement, note: str) -> None:
    now = timezone.now()
    Agreement.objects.filter(pk=agreement.pk).update(status="retired", retired_at=now)
    agreement.status, agreement.retired_at = "retired", now
    audit.record(
        actor,
        Event.AGREEMENT_RETIRED,
        resource=f"agreement:{agreement.label}",
        reason=note[:500],
    )
    _history(agreement, "retired", actor, note)


#: The moves a file's status may make for a version already loaded (never backwards).
_FORWARD = {("draft", "approved"), ("draft", "retired"), ("approved", "retired")}


def _follow_file_status(actor: Actor, existing: Agreement, doc: AgreementDoc) -> None:
    """A loaded version's file may change only its status, and only forwards."""
    before, after = _without_status(existing.document), _without_status(_jsonable(doc.raw))
    if before != after:
        raise ConfigError(
            f"version {doc.version} of '{doc.slug}' was already loaded with different "
            "text; give the changed agreement a new version number",
            file=doc.path,
            field="agreement.version",
        )
    if (existing.status, doc.status) in _FORWARD:
        if doc.status == "approved":
            _approve(actor, existing, f"approved in {doc.path.name}")
        else:
            _retire(actor, existing, f"retired in {doc.path.name}")
    # A file behind the register (approved here by `kinfold agreements approve`) changes nothing.
    Agreement.objects.filter(pk=existing.pk).update(
        source_sha256=doc.sha256, source_file=doc.path.name, document=_jsonable(doc.raw)
    )


def _without_status(document: object) -> object:
    if not isinstance(document, dict):
        return document
    head = dict(document.get("agreement", {}))
    head.pop("status", None)
    return {**document, "agreement": head}


def _compile_existing(
    actor: Actor, agreement: Agreement, doc: AgreementDoc, register: Register
) -> None:
    """Versions loaded before policies were generated get theirs now (same text, same sha)."""
    _store_policy(agreement, cedar.compile_agreement(doc, register))
    agreement.save(update_fields=["policy_text", "policy_sha256", "policy_schema", "policies"])
    _history(agreement, "compiled", actor, f"policy {agreement.policy_sha256[:12]}")


def _store_policy(agreement: Agreement, compiled: cedar.CompiledAgreement) -> None:
    agreement.policy_text = compiled.text
    agreement.policy_sha256 = compiled.sha256
    agreement.policy_schema = cedar.SCHEMA
    agreement.policies = [
        {
            "id": p.policy_id,
            "purpose": p.purpose,
            "level": p.level,
            "sentence": p.sentence,
            "text": p.text,
        }
        for p in compiled.policies
    ]


def _history(agreement: Agreement, kind: str, actor: Actor, note: str) -> None:
    """The public history names a role or a job, never a person."""
    who = (
        actor.role.replace("_", " ") if actor.kind == "user" else f"{actor.id}, run {actor.run_id}"
    )
    AgreementEvent.objects.create(
        agreement=agreement,
        kind=kind,
        at=timezone.now(),
        actor=(who or actor.kind)[:120],
        note=note[:300],
    )


def _load_vocabulary(register: Register) -> None:
    for slug, term in register.organisations.items():
        Organisation.objects.update_or_create(
            slug=slug,
            defaults={
                "name": term.name,
                "kind": term.extra.get("kind", ""),
                "partner_id": term.extra.get("partner", ""),
            },
        )
    for slug, term in register.categories.items():
        DataCategory.objects.update_or_create(
            slug=slug,
            defaults={
                "name": term.name,
                "description": term.extra.get("description", ""),
                "fides_key": term.extra.get("fides_key", ""),
                "special": term.extra.get("special", ""),
            },
        )
    for slug, term in register.purposes.items():
        Purpose.objects.update_or_create(
            slug=slug, defaults={"name": term.name, "fides_key": term.extra.get("fides_key", "")}
        )
    for kind, terms in (("basis", register.bases), ("condition", register.conditions)):
        for slug, term in terms.items():
            LawfulBasis.objects.update_or_create(
                slug=slug,
                defaults={
                    "kind": kind,
                    "name": term.name,
                    "article": term.extra.get("article", ""),
                },
            )


def _load_agreement(doc: AgreementDoc, register: Register) -> Agreement:
    orgs = {o.slug: o for o in Organisation.objects.all()}
    categories = {c.slug: c for c in DataCategory.objects.all()}
    purposes = {p.slug: p for p in Purpose.objects.all()}
    bases = {b.slug: b for b in LawfulBasis.objects.all()}
    agreement = Agreement.objects.create(
        slug=doc.slug,
        version=doc.version,
        title=doc.title,
        effective=doc.effective,
        review_date=doc.review_date,
        controller=orgs[doc.controller],
        summary=doc.summary,
        dpia_summary=doc.dpia_summary,
        document=_jsonable(doc.raw),
        source_file=doc.path.name,
        source_sha256=doc.sha256,
        # a version enters as a draft; `_approve` makes it approved (audited), whatever the file says
        status="draft" if doc.status == "approved" else doc.status,
    )
    _store_policy(agreement, cedar.compile_agreement(doc, register))
    agreement.save(update_fields=["policy_text", "policy_sha256", "policy_schema", "policies"])
    agreement.parties.set([orgs[p] for p in doc.parties])
    for purpose in doc.purposes:
        for share in purpose.shares:
            for provider in share.providers:
                for category in share.categories:
                    row = Share.objects.create(
                        agreement=agreement,
                        purpose=purposes[share.purpose],
                        provider=orgs[provider],
                        recipient=orgs[share.recipient],
                        roles=list(share.roles),
                        category=categories[category],
                        level=share.level,
                        lawful_basis=bases[share.lawful_basis],
                        consent_required=share.consent_required,
                        override_required=share.override_required,
                    )
                    row.conditions.set([bases[c] for c in share.conditions])
    Retention.objects.bulk_create(
        Retention(agreement=agreement, category=categories[c], months=m)
        for c, m in doc.retention_months.items()
    )
    return agreement


def _mark_current() -> None:
    """The newest version of each agreement is the current one."""
    Agreement.objects.update(is_current=False)
    for slug in Agreement.objects.values_list("slug", flat=True).distinct():
        newest = Agreement.objects.filter(slug=slug).order_by("-version").first()
        if newest is not None:
            Agreement.objects.filter(pk=newest.pk).update(is_current=True)


def _jsonable(value: Any) -> Any:
    """TOML dates become ISO strings so the document can be stored as JSON."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return value
