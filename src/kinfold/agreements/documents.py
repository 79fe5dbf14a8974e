"""Reading the agreements folder: vocabulary, organisations and agreements, validated. No Django.

Every error names the file and the key (``purposes[1].shares[0].categories``) so whoever edits an
agreement can find the mistake. Validation is whole-folder: an agreement may only name
organisations, categories, purposes, bases and conditions the folder defines, and special-category
data must carry a matching Article 9 / Article 10 condition.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from kinfold.errors import ConfigError

STATUSES = ("draft", "approved", "retired")
LEVELS = ("flags", "details")
ROLES = ("key_worker", "team_manager", "analyst", "partner_practitioner", "dpo", "admin")
_DURATION = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?$")


@dataclass(frozen=True)
class Term:
    slug: str
    name: str
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ShareDoc:
    purpose: str
    providers: tuple[str, ...]
    recipient: str
    roles: tuple[str, ...]
    categories: tuple[str, ...]
    level: str
    conditions: tuple[str, ...]
    lawful_basis: str
    consent_required: bool
    override_required: bool


@dataclass(frozen=True)
class PurposeDoc:
    purpose: str
    lawful_basis: str
    consent_required: bool
    override_required: bool
    description: str
    shares: tuple[ShareDoc, ...]


@dataclass(frozen=True)
class AgreementDoc:
    path: Path
    sha256: str
    raw: dict[str, Any]
    slug: str
    version: int
    title: str
    status: str
    effective: date
    review_date: date
    controller: str
    parties: tuple[str, ...]
    summary: str
    dpia_summary: str
    changes: str  # what this version changes from the one before, in plain English
    signatories: tuple[dict[str, Any], ...]
    purposes: tuple[PurposeDoc, ...]
    retention_months: dict[str, int]


@dataclass(frozen=True)
class Register:
    """Everything in an agreements folder, validated together."""

    categories: dict[str, Term]
    purposes: dict[str, Term]
    bases: dict[str, Term]
    conditions: dict[str, Term]
    organisations: dict[str, Term]
    agreements: tuple[AgreementDoc, ...]


class _Reader:
    """Typed access to a parsed TOML table that names the file and key path in every error."""

    def __init__(self, path: Path, data: Any, where: str = "") -> None:
        self.path, self.data, self.where = path, data, where

    def _key(self, key: str | int) -> str:
        if isinstance(key, int):
            return f"{self.where}[{key}]"
        return f"{self.where}.{key}" if self.where else key

    def fail(self, message: str, key: str | int | None = None) -> ConfigError:
        return ConfigError(
            message, file=self.path, field=self._key(key) if key is not None else self.where or None
        )

    def child(self, key: str | int) -> _Reader:
        try:
            value = self.data[key]
        except (KeyError, IndexError, TypeError):
            raise self.fail("is missing", key) from None
        return _Reader(self.path, value, self._key(key))

    def optional(self, key: str) -> _Reader | None:
        return self.child(key) if isinstance(self.data, dict) and key in self.data else None

    def table(self) -> dict[str, Any]:
        if not isinstance(self.data, dict):
            raise self.fail("must be a table")
        return self.data

    def items(self) -> list[_Reader]:
        if not isinstance(self.data, list):
            raise self.fail("must be a list")
        return [self.child(i) for i in range(len(self.data))]

    def text(self, key: str, default: str | None = None) -> str:
        if default is not None and key not in self.table():
            return default
        value = self.child(key).data
        if not isinstance(value, str) or not value.strip():
            raise self.fail("must be non-empty text", key)
        return value.strip()

    def integer(self, key: str) -> int:
        value = self.child(key).data
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise self.fail("must be a whole number of 1 or more", key)
        return value

    def boolean(self, key: str, default: bool | None = None) -> bool:
        if default is not None and key not in self.table():
            return default
        value = self.child(key).data
        if not isinstance(value, bool):
            raise self.fail("must be true or false", key)
        return value

    def day(self, key: str) -> date:
        value = self.child(key).data
        if not isinstance(value, date):
            raise self.fail("must be a date like 2026-03-31", key)
        return value

    def texts(self, key: str, default: tuple[str, ...] | None = None) -> tuple[str, ...]:
        if default is not None and key not in self.table():
            return default
        value = self.child(key).data
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise self.fail("must be a non-empty list of text", key)
        return tuple(value)


def _load_toml(path: Path) -> tuple[dict[str, Any], str]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", file=path) from exc
    try:
        return tomllib.loads(raw.decode("utf-8")), hashlib.sha256(raw).hexdigest()
    except UnicodeDecodeError as exc:
        raise ConfigError("is not UTF-8 text", file=path) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"is not valid TOML: {exc}", file=path) from exc


_SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")


def _terms(reader: _Reader, section: str, extra: tuple[str, ...] = ()) -> dict[str, Term]:
    table = reader.child(section)
    terms = {}
    for slug in table.table():
        if not _SLUG.fullmatch(slug):
            # slugs are named in the generated Cedar policies and in URLs
            raise table.fail("must be lower-case letters, digits and hyphens", slug)
        entry = table.child(slug)
        entry.table()
        values = {k: entry.text(k) for k in extra if k in entry.table()}
        terms[slug] = Term(slug=slug, name=entry.text("name"), extra=values)
    return terms


def _months(reader: _Reader, key: str) -> int:
    text = reader.text(key)
    match = _DURATION.match(text)
    if not match or not any(match.groups()):
        raise reader.fail("must be an ISO 8601 duration in years and months, like P6Y or P18M", key)
    years, months = (int(g) if g else 0 for g in match.groups())
    return years * 12 + months


def load_register(folder: Path) -> Register:
    """Read and validate a whole agreements folder; raises ConfigError naming file and key."""
    if not folder.is_dir():
        raise ConfigError("agreements folder not found", file=folder)
    vocab_path, orgs_path = folder / "vocabulary.toml", folder / "organisations.toml"
    vocab = _Reader(vocab_path, _load_toml(vocab_path)[0])
    orgs = _Reader(orgs_path, _load_toml(orgs_path)[0])
    register = Register(
        categories=_terms(vocab, "categories", ("fides_key", "special", "description")),
        purposes=_terms(vocab, "purposes", ("fides_key",)),
        bases=_terms(vocab, "bases", ("article",)),
        conditions=_terms(vocab, "conditions", ("article",)),
        organisations=_terms(orgs, "organisations", ("kind", "partner")),
        agreements=(),
    )
    for slug, category in register.categories.items():
        if category.extra.get("special", "") not in ("", "article-9", "article-10"):
            raise vocab.fail("must be article-9 or article-10", f"categories.{slug}.special")
    agreements = tuple(
        _agreement(path, register)
        for path in sorted(folder.glob("*.toml"))
        if path.name not in {"vocabulary.toml", "organisations.toml"}
    )
    seen: dict[tuple[str, int], Path] = {}
    for doc in agreements:
        if (doc.slug, doc.version) in seen:
            raise ConfigError(
                f"agreement '{doc.slug}' version {doc.version} is also in {seen[doc.slug, doc.version]}",
                file=doc.path,
                field="agreement.version",
            )
        seen[doc.slug, doc.version] = doc.path
    return Register(**{**register.__dict__, "agreements": agreements})


def _agreement(path: Path, register: Register) -> AgreementDoc:
    data, sha = _load_toml(path)
    top = _Reader(path, data)
    head = top.child("agreement")
    head.table()
    orgs = register.organisations

    def known(
        reader: _Reader, key: str, values: tuple[str, ...], vocabulary: dict[str, Term], what: str
    ) -> None:
        for value in values:
            if value not in vocabulary:
                raise reader.fail(f"names unknown {what} '{value}'", key)

    parties = head.texts("parties")
    known(head, "parties", parties, orgs, "organisation")
    controller = head.text("controller")
    known(head, "controller", (controller,), orgs, "organisation")
    status = head.text("status")
    if status not in STATUSES:
        raise head.fail(f"must be one of {', '.join(STATUSES)}", "status")

    purposes = tuple(_purpose(p, register, parties) for p in top.child("purposes").items())
    retention = {}
    retention_table = top.child("retention")
    for category in retention_table.table():
        if category not in register.categories:
            raise retention_table.fail(f"names unknown data category '{category}'", category)
        retention[category] = _months(retention_table, category)
    shared = {c for p in purposes for s in p.shares for c in s.categories}
    missing = sorted(shared - set(retention))
    if missing:
        raise retention_table.fail(f"has no retention period for {', '.join(missing)}")
    signatories = (
        tuple(s.table() for s in top.child("signatories").items()) if "signatories" in data else ()
    )
    for i, _signatory in enumerate(signatories):
        reader = top.child("signatories").child(i)
        known(reader, "organisation", (reader.text("organisation"),), orgs, "organisation")
        reader.text("role")
    return AgreementDoc(
        path=path,
        sha256=sha,
        raw=data,
        slug=head.text("id"),
        version=head.integer("version"),
        title=head.text("title"),
        status=status,
        effective=head.day("effective"),
        review_date=head.day("review_date"),
        controller=controller,
        parties=parties,
        summary=head.text("summary"),
        dpia_summary=head.text("dpia_summary", ""),
        changes=head.text("changes", ""),
        signatories=signatories,
        purposes=purposes,
        retention_months=retention,
    )


def _purpose(reader: _Reader, register: Register, parties: tuple[str, ...]) -> PurposeDoc:
    slug = reader.text("purpose")
    if slug not in register.purposes:
        raise reader.fail(f"names unknown purpose '{slug}'", "purpose")
    basis = reader.text("lawful_basis")
    if basis not in register.bases:
        raise reader.fail(f"names unknown Article 6 basis '{basis}'", "lawful_basis")
    consent_required = reader.boolean("consent_required")
    override_required = reader.boolean("override_required", False)
    shares = tuple(
        _share(s, register, parties, slug, basis, consent_required, override_required)
        for s in reader.child("shares").items()
    )
    return PurposeDoc(
        purpose=slug,
        lawful_basis=basis,
        consent_required=consent_required,
        override_required=override_required,
        description=reader.text("description", ""),
        shares=shares,
    )


def _share(
    reader: _Reader,
    register: Register,
    parties: tuple[str, ...],
    purpose: str,
    basis: str,
    consent_required: bool,
    override_required: bool,
) -> ShareDoc:
    providers = reader.texts("from")
    recipient = reader.text("to")
    for key, values in (("from", providers), ("to", (recipient,))):
        for org in values:
            if org not in parties:
                raise reader.fail(f"'{org}' is not a party to this agreement", key)
    roles = reader.texts("roles")
    for role in roles:
        if role not in ROLES:
            raise reader.fail(f"names unknown role '{role}' (one of {', '.join(ROLES)})", "roles")
    categories = reader.texts("categories")
    for category in categories:
        if category not in register.categories:
            raise reader.fail(f"names unknown data category '{category}'", "categories")
    level = reader.text("level")
    if level not in LEVELS:
        raise reader.fail(f"must be one of {', '.join(LEVELS)}", "level")
    conditions = reader.texts("conditions", ())
    for condition in conditions:
        if condition not in register.conditions:
            raise reader.fail(f"names unknown condition '{condition}'", "conditions")
    for category in categories:
        special = register.categories[category].extra.get("special", "")
        if special and not any(c.startswith(special) for c in conditions):
            raise reader.fail(
                f"shares {category} ({special.replace('-', ' ').title()} data) without an "
                f"{special.replace('-', ' ').title()} condition",
                "conditions",
            )
    return ShareDoc(
        purpose=purpose,
        providers=providers,
        recipient=recipient,
        roles=roles,
        categories=categories,
        level=level,
        conditions=conditions,
        lawful_basis=basis,
        consent_required=consent_required,
        override_required=override_required,
    )
