"""Sealing a partner record's detail under the person's data key, and opening it (access only)."""

from __future__ import annotations

import json
from collections.abc import Mapping

from kinfold import crypto
from kinfold.ingest.models import PartnerRecord, SealedDetail
from kinfold.people import keys


def _associated_data(record: PartnerRecord, category_slug: str) -> bytes:
    person = record.person.pid if record.person else ""
    return detail_associated_data(
        person, record.organisation_id, record.source_ref, record.quarter, category_slug
    )


def detail_associated_data(
    pid: str, organisation_id: int, source_ref: str, quarter: str, category_slug: str
) -> bytes:
    """What a sealed detail is bound to: its person, source, record, quarter and category."""
    return f"detail|{pid}|{organisation_id}|{source_ref}|{quarter}|{category_slug}".encode()


def seal_values(associated_data: bytes, values: Mapping[str, str], clear_key: bytes) -> bytes:
    """Seal one category of detail bound to ``associated_data`` (for bulk writers that hold no
    PartnerRecord instances; `seal_detail` is the same for one record)."""
    payload = json.dumps(dict(values), sort_keys=True).encode()
    return crypto.seal(clear_key, payload, associated_data).to_bytes()


def seal_detail(
    record: PartnerRecord, category_slug: str, values: Mapping[str, str], clear_key: bytes
) -> bytes:
    """The sealed bytes for one category of a record's detail."""
    return seal_values(_associated_data(record, category_slug), values, clear_key)


def open_detail(detail: SealedDetail) -> dict[str, str]:
    """Decrypt one sealed detail. Raises after erasure. Call only from `kinfold.access`."""
    record = detail.record
    key = keys.unwrap(detail.person.data_key)
    blob = crypto.open_sealed(
        key,
        crypto.Sealed.from_bytes(bytes(detail.sealed)),
        _associated_data(record, detail.category.slug),
    )
    values: dict[str, str] = json.loads(blob)
    return values
