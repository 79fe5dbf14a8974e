"""Canonical entry bytes: what each Merkle leaf hashes. Pure Python, no Django.

An entry's canonical bytes are the UTF-8 encoding of one JSON object, written the RFC 8785 (JCS)
way: keys sorted, no whitespace, strings escaped only where JSON requires it (non-ASCII stays as
UTF-8). kinfold keeps every value a string, an integer within ±(2^53-1), a boolean, null, a list
or an object, never a float, so Python's ``json.dumps(obj, sort_keys=True, separators=(",", ":"),
ensure_ascii=False)`` and any JCS library produce the same bytes. The object is::

    {"actor": {"id", "kind", "organisation", "role", "run_id"},
     "basis", "decision", "details": {...}, "event", "purpose", "reason", "resource",
     "seq": <leaf index from 0>, "subjects": [sorted pseudonymous ids],
     "time": "YYYY-MM-DDTHH:MM:SS.ffffffZ", "v": 1}

The leaf hash is SHA-256(0x00 ‖ canonical bytes) (RFC 9162 §2.1.1). Empty fields are "".
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from json.encoder import encode_basestring as _quote
from typing import Any, NamedTuple

CANONICAL_VERSION = 1
MAX_SAFE_INTEGER = 2**53 - 1


class EntryFields(NamedTuple):
    """Everything an entry's leaf hash commits to, in storage form."""

    seq: int
    time: str
    actor_kind: str
    actor_id: str
    actor_role: str
    actor_organisation: str
    actor_run_id: str
    event: str
    resource: str
    subjects: tuple[str, ...]
    purpose: str
    decision: str
    reason: str
    basis: str
    details: Mapping[str, Any]


def timestamp(value: datetime) -> str:
    """An entry's time as canonical text: UTC, microseconds, a trailing Z."""
    if value.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return utc_text(value.astimezone(UTC).replace(tzinfo=None))


def utc_text(naive_utc: datetime) -> str:
    """`timestamp` for a naive datetime already in UTC (as SQLite hands it back)."""
    return naive_utc.isoformat(timespec="microseconds") + "Z"


def as_object(fields: EntryFields) -> dict[str, Any]:
    """The entry as the JSON object its canonical bytes encode (what the portal and proofs show)."""
    return {
        "actor": {
            "id": fields.actor_id,
            "kind": fields.actor_kind,
            "organisation": fields.actor_organisation,
            "role": fields.actor_role,
            "run_id": fields.actor_run_id,
        },
        "basis": fields.basis,
        "decision": fields.decision,
        "details": dict(fields.details),
        "event": fields.event,
        "purpose": fields.purpose,
        "reason": fields.reason,
        "resource": fields.resource,
        "seq": fields.seq,
        "subjects": list(fields.subjects),
        "time": fields.time,
        "v": CANONICAL_VERSION,
    }


def canonical_json(value: Any) -> bytes:
    """Any kinfold JSON value (no floats) as canonical UTF-8 bytes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_bytes(fields: EntryFields, details_json: str | None = None) -> bytes:
    """`canonical_json(as_object(fields))`, written out directly because verification runs it
    a million times; the test suite holds the two equal. `details_json` is
    `canonical_json(fields.details)` as text, when the caller has it already."""
    if details_json is None:
        details_json = canonical_json(fields.details).decode() if fields.details else "{}"
    subjects = ",".join(_quote(s) for s in fields.subjects)
    return (
        f'{{"actor":{{"id":{_quote(fields.actor_id)},"kind":{_quote(fields.actor_kind)},'
        f'"organisation":{_quote(fields.actor_organisation)},"role":{_quote(fields.actor_role)},'
        f'"run_id":{_quote(fields.actor_run_id)}}},"basis":{_quote(fields.basis)},'
        f'"decision":{_quote(fields.decision)},"details":{details_json},'
        f'"event":{_quote(fields.event)},'
        f'"purpose":{_quote(fields.purpose)},"reason":{_quote(fields.reason)},'
        f'"resource":{_quote(fields.resource)},"seq":{int(fields.seq)},"subjects":[{subjects}],'
        f'"time":{_quote(fields.time)},"v":{CANONICAL_VERSION}}}'
    ).encode()


def subjects_from_storage(text: str) -> tuple[str, ...]:
    """Subjects are stored space-separated and sorted; ids never contain spaces."""
    return tuple(text.split()) if text else ()


def subjects_to_storage(subjects: Sequence[str]) -> str:
    return " ".join(subjects)
