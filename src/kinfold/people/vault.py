"""The identity vault: sealing clear identities under each person's key, and opening them.

Opening is for `kinfold.access` only (the lint rule `scripts/lint_model_usage.py` keeps views,
API handlers and templates away from it): every release of an identity is decided and audited there.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping

from django.conf import settings

from kinfold import crypto
from kinfold.agreements.models import Organisation
from kinfold.people import keys
from kinfold.people.models import BlindIndex, Identity, Person

#: Identity fields given a blind index for exact look-ups.
INDEXED_FIELDS = (
    "surname",
    "dob",
    "postcode",
    "nhs_number",
    "ni_number",
    "upn",
    "email",
    "phone",
    # for the publishing guard (kinfold.evaluation.publishing): names and addresses on a page
    "given_name",
    "address",
)


def _associated_data(person: Person, organisation: Organisation, fingerprint: str) -> bytes:
    return f"identity|{person.pid}|{organisation.slug}|{fingerprint}".encode()


def fingerprint(fields: Mapping[str, str]) -> str:
    """Keyed digest of a whole identity, so an unchanged identity is stored once."""
    canonical = json.dumps(
        {k: crypto.normalise_for_index(v) for k, v in sorted(fields.items()) if v}, sort_keys=True
    )
    return hmac.new(
        settings.KEYS.blind_index_key, b"identity\x00" + canonical.encode(), hashlib.sha256
    ).hexdigest()


def store(
    person: Person,
    organisation: Organisation,
    source_ref: str,
    quarter: str,
    fields: Mapping[str, str],
    clear_key: bytes | None = None,
) -> Identity:
    """Seal `fields` for `person` as `organisation` holds them; an unchanged identity is kept once."""
    digest = fingerprint(fields)
    existing = Identity.objects.filter(
        person=person, organisation=organisation, fingerprint=digest
    ).first()
    if existing is not None:
        if existing.last_quarter < quarter:
            Identity.objects.filter(pk=existing.pk).update(last_quarter=quarter)
        return existing
    key = clear_key if clear_key is not None else keys.unwrap(person.data_key)
    payload = json.dumps({k: v for k, v in fields.items() if v}, sort_keys=True).encode()
    sealed = crypto.seal(key, payload, _associated_data(person, organisation, digest))
    identity = Identity.objects.create(
        person=person,
        organisation=organisation,
        fingerprint=digest,
        source_ref=source_ref,
        first_quarter=quarter,
        last_quarter=quarter,
        sealed=sealed.to_bytes(),
    )
    BlindIndex.objects.bulk_create(
        BlindIndex(
            identity=identity,
            field=name,
            digest=crypto.blind_index(settings.KEYS.blind_index_key, name, fields[name]),
        )
        for name in INDEXED_FIELDS
        if fields.get(name)
    )
    return identity


def open_identity(identity: Identity) -> dict[str, str]:
    """Decrypt one identity. Raises `keys.KeyDestroyed` after erasure. Call only from access."""
    key = keys.unwrap(identity.person.data_key)
    blob = crypto.open_sealed(
        key,
        crypto.Sealed.from_bytes(bytes(identity.sealed)),
        _associated_data(identity.person, identity.organisation, identity.fingerprint),
    )
    data: dict[str, str] = json.loads(blob)
    return data


def find_persons(field: str, value: str) -> Iterable[Person]:
    """Persons with an identity whose `field` equals `value` (after normalisation), by blind index."""
    digest = crypto.blind_index(settings.KEYS.blind_index_key, field, value)
    return Person.objects.filter(
        identities__blind_indexes__field=field, identities__blind_indexes__digest=digest
    ).distinct()
