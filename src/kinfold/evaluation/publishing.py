"""The publishing guard: nothing personal leaves kinfold by accident.

Everything kinfold publishes — the transparency pages, the privacy notice, public statistics,
files marked for release — passes `check_text` (or `check_file`) before it leaves. Two kinds of
check, both offline:

- **pattern recognisers** for UK identifiers: NHS numbers (modulus 11), National Insurance
  numbers (allocated prefixes only), Unique Pupil Numbers (check letter), postcodes with a house
  number before them, email addresses and UK phone numbers;
- **the vault**: every name and address kinfold holds. The vault is encrypted, so rather than
  decrypting it on every request, candidate words and phrases from the page are normalised and
  HMAC'd exactly as the vault's blind indexes are (``people.vault.INDEXED_FIELDS`` includes
  ``given_name``, ``surname`` and ``address``), and looked up. A full name (given name next to a
  surname of the same person), a title with a surname ("Mrs Example"), or an address is a hit.

A hit blocks the release: pages answer "withheld for checking" (`middleware`), files raise
`PublicationBlocked`, and either way the DPO is told (an audit entry and a `PublicationBlock`).
Findings name the *kind* of thing found and where, never the value itself.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from kinfold import crypto
from kinfold.audit import services as audit
from kinfold.audit.actors import Actor, new_run_id
from kinfold.audit.events import Event
from kinfold.errors import KinfoldError
from kinfold.evaluation.models import PublicationBlock
from kinfold.people.models import BlindIndex

# ---------------------------------------------------------------------------- recognisers

_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)
# UK numbers: +44 or 0, then 9 to 10 digits, with spaces, hyphens or brackets between groups.
_PHONE = re.compile(
    r"(?<![\w+/])(?:\+44\s?(?:\(0\)\s?)?|0044\s?|\(?0)\d(?:[\s\-)]{0,2}\d){8,9}(?![\w/])"
)
_NHS = re.compile(r"(?<![\w/+])(\d{3})([\s-]?)(\d{3})\2(\d{4})(?![\w/+])")
_NI = re.compile(
    r"(?<![A-Za-z0-9/+])([A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]) ?(\d{2}) ?(\d{2}) ?(\d{2}) ?([A-D])"
    r"(?![A-Za-z0-9/+])",
    re.IGNORECASE,
)
_NI_UNALLOCATED = {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}
_UPN = re.compile(r"(?<![A-Za-z0-9/+])([A-Za-z])(\d{11})([0-9A-Za-z])(?![A-Za-z0-9/+])")
_UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"
_POSTCODE = re.compile(
    r"(?<![A-Za-z0-9])[A-Z]{1,2}\d[A-Z\d]? ?\d[ABD-HJLNP-UW-Z]{2}(?![A-Za-z0-9])", re.IGNORECASE
)
# A house number (or "Flat 3") followed by a word, shortly before a postcode.
_HOUSE = re.compile(r"(?:(?<![\w/])\d{1,4}[A-Za-z]?,?\s+[A-Za-z]|\bflat\s+\d)", re.IGNORECASE)
_HOUSE_WINDOW = 80
# Hashes, signatures and keys (base64 or hex, 32+ characters) are not personal data, and random
# characters inside them must not look like an identifier.
_OPAQUE = re.compile(r"[A-Za-z0-9+/]{32,}={0,2}")
_TITLES = {"mr", "mrs", "ms", "miss", "mx", "dr", "master"}


def valid_nhs_number(digits: str) -> bool:
    """True for a ten-digit NHS number whose check digit (modulus 11) is right."""
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


def valid_ni_number(text: str) -> bool:
    """True for a National Insurance number with an allocatable prefix and suffix A to D."""
    value = text.replace(" ", "").upper()
    match = _NI.fullmatch(value)
    return bool(match) and match.group(1).upper() not in _NI_UNALLOCATED  # type: ignore[union-attr]


def upn_check_letter(body: str) -> str:
    """The check letter of a UPN's last twelve characters (DfE: weights 2 to 13, modulus 23)."""
    total = 0
    for weight, char in enumerate(body.upper(), start=2):
        total += weight * (int(char) if char.isdigit() else _UPN_LETTERS.index(char))
    return _UPN_LETTERS[total % 23]


def valid_upn(text: str) -> bool:
    """True for a Unique Pupil Number (permanent or temporary) whose check letter is right."""
    value = text.strip().upper()
    if len(value) != 13 or not value[1:12].isdigit():
        return False
    last = value[12]
    if not (last.isdigit() or last in _UPN_LETTERS) or value[0] not in _UPN_LETTERS:
        return False
    return upn_check_letter(value[1:]) == value[0]


def valid_uk_phone(text: str) -> bool:
    """A UK number: 0 then 9 to 10 digits (or +44 / 0044 then 9 to 10), starting 1, 2, 3, 7 or 8."""
    digits = re.sub(r"\D", "", text)
    if text.strip().startswith("+44") or digits.startswith("0044"):
        digits = "0" + digits[4 if digits.startswith("0044") else 2 :].lstrip("0")
    return digits.startswith("0") and len(digits) in (10, 11) and digits[1] in "12378"


@dataclass(frozen=True)
class Finding:
    """One thing that looks personal: what kind, and where (character offset); never the value."""

    kind: str
    offset: int


def _pattern_findings(text: str) -> Iterator[Finding]:
    for m in _EMAIL.finditer(text):
        if m.group(0).lower() not in _allowed():
            yield Finding("email address", m.start())
    for m in _PHONE.finditer(text):
        if valid_uk_phone(m.group(0)) and m.group(0).strip() not in _allowed():
            yield Finding("phone number", m.start())
    for m in _NHS.finditer(text):
        if valid_nhs_number(m.group(1) + m.group(3) + m.group(4)):
            yield Finding("NHS number", m.start())
    for m in _NI.finditer(text):
        if valid_ni_number(m.group(0)):
            yield Finding("National Insurance number", m.start())
    for m in _UPN.finditer(text):
        if valid_upn(m.group(0)):
            yield Finding("Unique Pupil Number", m.start())
    for m in _POSTCODE.finditer(text):
        before = text[max(0, m.start() - _HOUSE_WINDOW) : m.start()]
        if _HOUSE.search(before.split("\n")[-1] if "\n" in before else before):
            yield Finding("address with a postcode", m.start())


def _allowed() -> set[str]:
    """The council's own published contact points (setting KINFOLD_PUBLISHED_CONTACTS)."""
    return {c.lower() for c in getattr(settings, "KINFOLD_PUBLISHED_CONTACTS", ())}


# ---------------------------------------------------------------------------- the vault

_WORD = re.compile(r"\S+")
_EDGE = ".,;:!?()[]{}\"'\u201c\u201d\u2018\u2019<>|"
_MAX_NAME_WORDS = 3
_MAX_ADDRESS_WORDS = 10
_LOOKUP_BATCH = 500


@dataclass
class _Candidates:
    """Digests of candidate phrases: digest → [(field, start word, end word)]."""

    spans: dict[str, list[tuple[str, int, int]]] = field(default_factory=lambda: defaultdict(list))
    words: list[tuple[int, str]] = field(default_factory=list)  # (offset, word)

    def add(self, name: str, start: int, end: int, phrase: str) -> None:
        key = settings.KEYS.blind_index_key
        self.spans[crypto.blind_index(key, name, phrase)].append((name, start, end))


def _candidates(text: str) -> _Candidates:
    found = _Candidates()
    offset = 0
    for line in text.split("\n"):
        base = len(found.words)
        line_words = [(m.start() + offset, m.group(0)) for m in _WORD.finditer(line)]
        found.words.extend(line_words)
        stripped = [w.strip(_EDGE) for _, w in line_words]
        for i in range(len(line_words)):
            for n in range(1, _MAX_NAME_WORDS + 1):
                if i + n > len(line_words):
                    break
                phrase = " ".join(stripped[i : i + n])
                if phrase and any(c.isalpha() for c in phrase):
                    found.add("given_name", base + i, base + i + n, phrase)
                    found.add("surname", base + i, base + i + n, phrase)
            first = stripped[i]
            if first[:1].isdigit() or first.lower() in ("flat", "apartment", "unit"):
                for n in range(2, _MAX_ADDRESS_WORDS + 1):
                    if i + n > len(line_words):
                        break
                    raw = " ".join(w for _, w in line_words[i : i + n])
                    found.add("address", base + i, base + i + n, raw.rstrip(_EDGE))
        offset += len(line) + 1
    return found


def _vault_hits(candidates: _Candidates) -> dict[str, set[tuple[str, int, int, int]]]:
    """Which candidate spans the vault knows: digest → {(field, start, end, person id)}."""
    digests = list(candidates.spans)
    hits: dict[str, set[tuple[str, int, int, int]]] = defaultdict(set)
    for i in range(0, len(digests), _LOOKUP_BATCH):
        rows = BlindIndex.objects.filter(
            digest__in=digests[i : i + _LOOKUP_BATCH],
            field__in=("given_name", "surname", "address"),
        ).values_list("digest", "field", "identity__person_id")
        for digest, name, person in rows:
            for span_field, start, end in candidates.spans[digest]:
                if span_field == name:
                    hits[name].add((name, start, end, int(person)))
    return hits


def _vault_findings(text: str) -> Iterator[Finding]:
    candidates = _candidates(text)
    if not candidates.spans:
        return
    hits = _vault_hits(candidates)
    words = candidates.words
    given = {(s, e, p) for _, s, e, p in hits.get("given_name", ())}
    surnames = {(s, e, p) for _, s, e, p in hits.get("surname", ())}
    given_starts = {(s, p) for s, _, p in given}
    given_ends = {(e, p) for _, e, p in given}
    for start, end, person in sorted(surnames):
        title = words[start - 1][1].strip(_EDGE).lower() if start > 0 else ""
        if (start, person) in given_ends or (end, person) in given_starts or title in _TITLES:
            yield Finding("name held in the vault", words[start][0])
    for _, start, _end, _person in sorted(hits.get("address", ())):
        yield Finding("address held in the vault", words[start][0])


# ---------------------------------------------------------------------------- checking


@dataclass(frozen=True)
class Verdict:
    findings: tuple[Finding, ...]

    @property
    def clean(self) -> bool:
        return not self.findings

    @property
    def kinds(self) -> list[str]:
        return sorted({f.kind for f in self.findings})


def check_text(text: str) -> Verdict:
    """Everything in `text` that looks personal (patterns and the vault's names and addresses)."""
    text = _OPAQUE.sub(" ", text)
    found = list(_pattern_findings(text))
    found += _vault_findings(text)
    return Verdict(tuple(sorted(set(found), key=lambda f: (f.offset, f.kind))))


class _TextExtractor(HTMLParser):
    """The text a reader (or a screen reader, or a search engine) gets from an HTML page."""

    _ATTRIBUTES = {"alt", "title", "aria-label", "value", "content", "placeholder", "href"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in self._ATTRIBUTES and value:
                if name == "href" and not value.startswith(("mailto:", "tel:")):
                    continue
                self.parts.append("\n" + value.split(":", 1)[-1] + "\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_endtag(self, tag: str) -> None:
        self.parts.append("\n")


def text_of(content: bytes | str, content_type: str = "text/html") -> str:
    """The readable text of a response or file: HTML is reduced to its text and attributes."""
    text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
    if "html" in content_type:
        extractor = _TextExtractor()
        extractor.feed(text)
        extractor.close()
        return "".join(extractor.parts)
    return text


def check_content(content: bytes | str, content_type: str = "text/html") -> Verdict:
    return check_text(text_of(content, content_type))


# ---------------------------------------------------------------------------- blocking


class PublicationBlocked(KinfoldError):
    """A release was refused because it looks like it holds personal data; the DPO is told."""

    exit_status = 6


def guard_actor() -> Actor:
    return Actor.system("publishing-guard", new_run_id())


def record_block(what: str, content: bytes | str, verdict: Verdict) -> PublicationBlock:
    """Tell the DPO (once per distinct content of the same page, not once per request)."""
    raw = content.encode() if isinstance(content, str) else content
    digest = hashlib.sha256(raw).hexdigest()
    now = timezone.now()
    existing = PublicationBlock.objects.filter(
        what=what[:300], content_sha256=digest, resolved_at__isnull=True
    ).first()
    if existing is not None:
        PublicationBlock.objects.filter(pk=existing.pk).update(
            times=existing.times + 1, last_at=now
        )
        return existing
    with transaction.atomic(durable=not transaction.get_connection().in_atomic_block):
        block = PublicationBlock.objects.create(
            what=what[:300], content_sha256=digest, kinds=verdict.kinds, first_at=now, last_at=now
        )
        audit.record(
            guard_actor(),
            Event.PUBLICATION_BLOCKED,
            resource=f"publication:{block.pk}",
            decision="deny",
            reason="looks like it holds personal data: " + ", ".join(verdict.kinds),
            details={"what": _safe_label(what), "kinds": verdict.kinds, "sha256": digest},
        )
    return block


def _safe_label(what: str) -> str:
    """A path or file name for the log, reduced to characters that cannot carry a name."""
    return re.sub(r"[^A-Za-z0-9/_.:-]", "_", what)[:150]


def check_file(file: Path) -> Verdict:
    """Check a file marked for release (CSV, JSON, text, HTML, Markdown or XLSX)."""
    if file.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        book = load_workbook(file, read_only=True, data_only=True)
        try:  # a read-only workbook holds its file open until closed
            lines = (
                "\t".join("" if v is None else str(v) for v in row)
                for sheet in book.worksheets
                for row in sheet.iter_rows(values_only=True)
            )
            return check_text("\n".join(lines))
        finally:
            book.close()
    content_type = "text/html" if file.suffix.lower() in (".html", ".htm") else "text/plain"
    return check_content(file.read_bytes(), content_type)


def release_files(actor: Actor, files: Iterable[Path]) -> list[Path]:
    """Check every file marked for release; all are released only if every one is clean.

    Raises PublicationBlocked (after telling the DPO) naming each file that was held back.
    """
    files = list(files)
    blocked = []
    for file in files:
        verdict = check_file(file)
        if not verdict.clean:
            record_block(f"file:{file.name}", file.read_bytes(), verdict)
            blocked.append(f"{file.name} ({', '.join(verdict.kinds)})")
    if blocked:
        raise PublicationBlocked(
            "withheld for checking, the data protection officer has been told: "
            + "; ".join(blocked)
        )
    for file in files:
        audit.record(
            actor,
            Event.PUBLICATION_RELEASED,
            resource=f"publication:file:{_safe_label(file.name)}",
            decision="allow",
            reason="passed the publishing guard",
            details={"sha256": hashlib.sha256(file.read_bytes()).hexdigest()},
        )
    return files


def open_blocks(limit: int = 50) -> list[PublicationBlock]:
    """Releases held back and not yet resolved, newest first (for the DPO)."""
    return list(
        PublicationBlock.objects.filter(resolved_at__isnull=True).order_by("-last_at")[:limit]
    )


def resolve_block(actor: Actor, block_id: int, note: str) -> None:
    """The DPO has dealt with a held-back release (the content was fixed or never published)."""
    with transaction.atomic():
        updated = PublicationBlock.objects.filter(pk=block_id, resolved_at__isnull=True).update(
            resolved_at=timezone.now(), resolved_by=actor.id, resolution=note[:500]
        )
        if updated:
            audit.record(
                actor,
                Event.PUBLICATION_RELEASED,
                resource=f"publication:{block_id}",
                reason="block resolved by the data protection officer",
            )
