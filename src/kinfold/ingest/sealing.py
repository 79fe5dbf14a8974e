"""Sealing a partner record's detail under the person's data key, and opening it (access only)."""

from __future__ import annotations

import json
from collections.abc import Mapping

from kinfold import crypto
from kinfold.ingest.models import PartnerRecord, SealedDetail
from kinfold.people import keys


def _associated_data(record: PartnerRecord, category_slug: str) -> bytes:
    person = record.person.pid if record.person else ""
    return f"detail|{person}|{record.organisation_id}|{record.source_ref}|{record.quarter}|{category_slug}".encode()


def seal_detail(
    record: PartnerRecord, category_slug: str, values: Mapping[str, str], clear_key: bytes
) -> bytes:
    """The sealed bytes for one category of a record's detail."""
    payload = json.dumps(dict(values), sort_keys=True).encode()
    return crypto.seal(clear_key, payload, _associated_data(record, category_slug)).to_bytes()


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
