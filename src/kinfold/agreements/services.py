"""Loading the agreements folder into the database, as one audited transaction."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction

from kinfold.agreements.documents import AgreementDoc, Register, load_register
from kinfold.agreements.models import (
    Agreement,
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
        for doc in register.agreements:
            existing = Agreement.objects.filter(slug=doc.slug, version=doc.version).first()
            if existing is not None:
                if existing.source_sha256 != doc.sha256:
                    raise ConfigError(
                        f"version {doc.version} of '{doc.slug}' was already loaded with different "
                        "text; give the changed agreement a new version number",
                        file=doc.path,
                        field="agreement.version",
                    )
                unchanged.append(existing.label)
                continue
            agreement = _load_agreement(doc)
            loaded.append(agreement.label)
            audit.record(
                actor,
                Event.AGREEMENT_LOADED,
                resource=f"agreement:{agreement.label}",
                reason=f"loaded from {doc.path.name} (status {doc.status})",
                details={"sha256": doc.sha256, "status": doc.status},
            )
        _mark_current()
    return LoadReport(tuple(loaded), tuple(unchanged))


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


def _load_agreement(doc: AgreementDoc) -> Agreement:
    orgs = {o.slug: o for o in Organisation.objects.all()}
    categories = {c.slug: c for c in DataCategory.objects.all()}
    purposes = {p.slug: p for p in Purpose.objects.all()}
    bases = {b.slug: b for b in LawfulBasis.objects.all()}
    agreement = Agreement.objects.create(
        slug=doc.slug,
        version=doc.version,
        title=doc.title,
        status=doc.status,
        effective=doc.effective,
        review_date=doc.review_date,
        controller=orgs[doc.controller],
        summary=doc.summary,
        dpia_summary=doc.dpia_summary,
        document=_jsonable(doc.raw),
        source_file=doc.path.name,
        source_sha256=doc.sha256,
    )
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


def _jsonable(value: object) -> object:
    """TOML dates become ISO strings so the document can be stored as JSON."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return value
