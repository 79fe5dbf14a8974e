"""Consent receipts: what a person agreed to, for them to keep (HTML, PDF and JSON).

The JSON follows the structure of ISO/IEC TS 27560 (consent record information structure): a
header (record id, time, the person by pseudonym, jurisdiction, schema), the notice shown, the
parties (controller, who recorded it, who gave it, a child's own view), the processing (for each
item: purpose, category, whose information, who receives it, lawful basis and condition,
retention, validity) and the events (given, refused, withdrawn, expired). Everything in it is
what the person was told or said; nothing from partners' records.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kinfold.agreements.models import Retention, Share
from kinfold.consent.models import ChildView, ConsentRecord, ConsentState
from kinfold.consent.services import receipt_records

SCHEMA = "ISO/IEC TS 27560:2023 consent record information structure; kinfold profile 1"
JURISDICTION = "GB (UK GDPR, Data Protection Act 2018)"
NOTICE_URL = "/privacy/"


@dataclass(frozen=True)
class ReceiptItem:
    record_id: str
    purpose: str
    category: str
    special: str
    provider: str
    recipient: str
    state: str
    state_label: str
    valid_until: datetime | None
    basis: str
    conditions: list[str]
    retention_months: int | None

    @property
    def in_force(self) -> bool:
        return self.state == ConsentState.GIVEN


@dataclass(frozen=True)
class ReceiptEvent:
    at: datetime
    state: str
    category: str
    provider: str
    by: str


@dataclass(frozen=True)
class ReceiptGroup:
    """Items alike but for the partner whose information they cover: one line for a person."""

    category: str
    purpose: str
    recipient: str
    providers: list[str]
    state: str
    state_label: str
    valid_until: datetime | None
    basis: str
    conditions: list[str]
    retention_months: int | None

    @property
    def in_force(self) -> bool:
        return self.state == ConsentState.GIVEN


@dataclass(frozen=True)
class HistoryLine:
    at: datetime
    state: str
    category: str
    partners: int


@dataclass
class Receipt:
    receipt_id: str
    person: str  # pseudonymous id
    family: str
    given_at: datetime
    method: str
    notice_version: str
    evidence_ref: str
    given_by: str
    subject_age: int | None
    child_view: str
    child_view_note: str
    competent: bool | None
    recorded_by: str  # role and organisation, as the family knows them
    controller: str
    items: list[ReceiptItem] = field(default_factory=list)
    events: list[ReceiptEvent] = field(default_factory=list)
    document: dict[str, Any] = field(default_factory=dict)

    @property
    def refused(self) -> bool:
        return all(i.state == ConsentState.REFUSED for i in self.items)

    @property
    def groups(self) -> list[ReceiptGroup]:
        grouped: dict[tuple[str, str, str, str, object], list[ReceiptItem]] = {}
        for i in self.items:
            key = (i.category, i.purpose, i.recipient, i.state, i.valid_until)
            grouped.setdefault(key, []).append(i)
        return [
            ReceiptGroup(
                category=first.category,
                purpose=first.purpose,
                recipient=first.recipient,
                providers=sorted(i.provider for i in items),
                state=first.state,
                state_label=first.state_label,
                valid_until=first.valid_until,
                basis=first.basis,
                conditions=sorted({c for i in items for c in i.conditions}),
                retention_months=first.retention_months,
            )
            for items in grouped.values()
            for first in items[:1]
        ]

    @property
    def history(self) -> list[HistoryLine]:
        """Events as the person lived them: one line per change to a kind of information."""
        grouped: dict[tuple[datetime, str, str], int] = {}
        for e in self.events:
            key = (e.at.replace(microsecond=0), e.state, e.category)
            grouped[key] = grouped.get(key, 0) + 1
        return [HistoryLine(at, state, cat, n) for (at, state, cat), n in grouped.items()]


def receipt(receipt_id: uuid.UUID | str) -> Receipt | None:
    """The receipt for records given together, or None if there is no such receipt."""
    records = receipt_records(receipt_id)
    if not records:
        return None
    first = records[0]
    recorder = first.recorded_by
    made = Receipt(
        receipt_id=str(first.receipt_id),
        person=first.person.pid,
        family=first.family.fid if first.family else "",
        given_at=first.valid_from,
        method=first.get_method_display(),
        notice_version=first.notice_version,
        evidence_ref=first.evidence_ref,
        given_by=first.get_given_by_display(),
        subject_age=first.subject_age,
        child_view=ChildView(first.child_view).label if first.child_view else "",
        child_view_note=first.child_view_note,
        competent=first.competent,
        recorded_by=(
            f"{recorder.get_role_display()}, {recorder.organisation.name}" if recorder else ""
        ),
        controller=_controller(first),
        items=[_item(r) for r in records],
        events=sorted(
            (
                ReceiptEvent(
                    e.at, ConsentState(e.state).label, r.category.name, r.organisation.name, e.actor
                )
                for r in records
                for e in r.events.all()
            ),
            key=lambda e: e.at,
        ),
    )
    made.document = _document(made, records)
    return made


def _shares(record: ConsentRecord) -> list[Share]:
    return list(
        Share.objects.filter(
            agreement__status="approved",
            purpose_id=record.purpose_id,
            provider_id=record.organisation_id,
            recipient_id=record.recipient_id,
            category_id=record.category_id,
        )
        .select_related("lawful_basis", "agreement")
        .prefetch_related("conditions")
    )


def _controller(record: ConsentRecord) -> str:
    share = _shares(record)
    return share[0].agreement.controller.name if share else ""


def _item(record: ConsentRecord) -> ReceiptItem:
    shares = _shares(record)
    retention = (
        Retention.objects.filter(agreement=shares[0].agreement, category_id=record.category_id)
        .values_list("months", flat=True)
        .first()
        if shares
        else None
    )
    return ReceiptItem(
        record_id=str(record.record_id),
        purpose=record.purpose.name,
        category=record.category.name,
        special=record.category.special,
        provider=record.organisation.name,
        recipient=record.recipient.name if record.recipient else "",
        state=record.state,
        state_label=record.get_state_display(),
        valid_until=record.valid_until,
        basis=shares[0].lawful_basis.article if shares else "",
        conditions=sorted({c.article for s in shares for c in s.conditions.all()}),
        retention_months=retention,
    )


def _party(slug: str, name: str) -> dict[str, str]:
    return {"id": slug, "name": name}


def _document(made: Receipt, records: list[ConsentRecord]) -> dict[str, Any]:
    """The machine-readable receipt (ISO/IEC TS 27560 structure)."""
    first = records[0]
    return {
        "header": {
            "schema": SCHEMA,
            "receipt_id": made.receipt_id,
            "created": made.given_at.isoformat(),
            "subject": {"pseudonymous_id": made.person, "family": made.family},
            "jurisdiction": JURISDICTION,
            "language": "en-GB",
        },
        "notice": {"version": made.notice_version, "url": NOTICE_URL},
        "parties": {
            "controller": made.controller,
            "recorded_by": made.recorded_by,
            "given_by": first.given_by,
            "given_by_person": first.given_by_person.pid if first.given_by_person else None,
            "child": None
            if made.subject_age is None or made.subject_age >= 18
            else {
                "age": made.subject_age,
                "own_view": first.child_view or None,
                "judged_competent": first.competent,
            },
        },
        "method": {"medium": first.method, "evidence_reference": made.evidence_ref or None},
        "processing": [
            {
                "record_id": str(r.record_id),
                "purpose": {
                    "id": r.purpose.slug,
                    "name": r.purpose.name,
                    "fides_key": r.purpose.fides_key,
                },
                "data_category": {
                    "id": r.category.slug,
                    "name": r.category.name,
                    "fides_key": r.category.fides_key,
                    "special_category": r.category.special or None,
                },
                "source": _party(r.organisation.slug, r.organisation.name),
                "recipient": _party(r.recipient.slug, r.recipient.name) if r.recipient else None,
                "lawful_basis": item.basis or None,
                "conditions": item.conditions,
                "retention_months": item.retention_months,
                "valid_from": r.valid_from.isoformat(),
                "valid_until": r.valid_until.isoformat() if r.valid_until else None,
                "state": r.state,
            }
            for r, item in zip(records, made.items, strict=True)
        ],
        "events": [
            {
                "record_id": str(r.record_id),
                "type": e.state,
                "at": e.at.isoformat(),
                "by": e.actor,
                "note": e.note or None,
            }
            for r in records
            for e in r.events.all()
        ],
    }


# ---------------------------------------------------------------------------- PDF


def as_pdf(made: Receipt) -> bytes:
    """The receipt as a plain, printable PDF (text only; no library needed)."""
    lines = [
        ("h", "Consent receipt"),
        ("p", f"Receipt {made.receipt_id}"),
        ("p", f"Recorded {made.given_at:%d %B %Y at %H:%M} by {made.recorded_by}"),
        ("p", f"Person {made.person}" + (f", family {made.family}" if made.family else "")),
        ("p", f"Given by: {made.given_by}. How: {made.method}."),
        ("p", f"Privacy notice shown: version {made.notice_version}"),
    ]
    if made.evidence_ref:
        lines.append(("p", f"Evidence reference: {made.evidence_ref}"))
    if made.child_view:
        lines.append(("p", f"The child's own view (aged {made.subject_age}): {made.child_view}"))
    if made.competent:
        lines.append(("p", "The child was judged competent to decide for themselves."))
    lines.append(("h2", "What was agreed" if not made.refused else "What was refused"))
    for group in made.groups:
        until = f", until {group.valid_until:%d %B %Y}" if group.valid_until else ""
        lines.append(("b", f"{group.category}: {group.state_label}{until}"))
        lines.append(("p", f"To {group.recipient}, for {group.purpose.lower()}, from:"))
        lines.append(("p", ", ".join(group.providers) + "."))
        if group.basis:
            lines.append(
                ("p", f"Lawful basis: {group.basis}" + "".join(f"; {c}" for c in group.conditions))
            )
        if group.retention_months:
            lines.append(("p", f"Kept for {group.retention_months} months."))
    lines.append(("h2", "History"))
    for line in made.history:
        partners = f"{line.partners} partner{'s' if line.partners != 1 else ''}"
        lines.append(("p", f"{line.at:%d %B %Y %H:%M}  {line.state}: {line.category} ({partners})"))
    lines.append(("h2", "Changing your mind"))
    lines.append(
        (
            "p",
            (
                "You can withdraw your consent at any time: ask your key worker, or use the "
                "family portal. It stops sharing from that moment."
            ),
        )
    )
    return _pdf(lines)


_SIZES = {"h": 18, "h2": 13, "b": 11, "p": 10}
_PAGE_W, _PAGE_H, _MARGIN = 595, 842, 56


def _wrap(text: str, size: int) -> list[str]:
    width = int((_PAGE_W - 2 * _MARGIN) / (size * 0.5))
    out: list[str] = []
    line = ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            out.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return [*out, line] if line else out


def _escape(text: str) -> bytes:
    data = text.encode("cp1252", "replace")
    return data.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _pdf(lines: list[tuple[str, str]]) -> bytes:
    pages: list[list[bytes]] = [[]]
    y = _PAGE_H - _MARGIN
    for kind, text in lines:
        size = _SIZES[kind]
        font = b"/F2" if kind in ("h", "h2", "b") else b"/F1"
        if kind in ("h2",):
            y -= 8
        for part in _wrap(text, size):
            if y < _MARGIN + size:
                pages.append([])
                y = _PAGE_H - _MARGIN
            pages[-1].append(
                b"BT %s %d Tf %d %d Td (%s) Tj ET" % (font, size, _MARGIN, y, _escape(part))
            )
            y -= int(size * 1.4)
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",  # pages, filled below
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
    ]
    kids = []
    for content in pages:
        stream = b"\n".join(content)
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents %d 0 R "
            b"/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> >>"
            % (_PAGE_W, _PAGE_H, len(objects))
        )
        kids.append(len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids),
        len(kids),
    )
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)
