"""Making persons and families with their own data keys and opaque ids."""

from __future__ import annotations

import secrets

from kinfold.people import keys
from kinfold.people.models import Family, Household, Person

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


def new_pseudonym(prefix: str, length: int = 12) -> str:
    """A random opaque id like `F7K2M9QX4TBA`: no order, no meaning, nothing to re-identify."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def create_person(
    first_seen: str, pid: str | None = None, year_of_birth: int | None = None
) -> Person:
    key, _ = keys.new_key()
    return Person.objects.create(
        pid=pid or new_pseudonym("P"),
        data_key=key,
        first_seen=first_seen,
        year_of_birth=year_of_birth,
    )


def create_family(fid: str | None = None) -> Family:
    key, _ = keys.new_key()
    return Family.objects.create(fid=fid or new_pseudonym("F"), data_key=key)


def create_household(hid: str | None = None) -> Household:
    return Household.objects.create(hid=hid or new_pseudonym("H"))
