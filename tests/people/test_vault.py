"""The identity vault: clear identities only sealed, exact look-ups by blind index, and erasure."""

from __future__ import annotations

import pytest
from django.db import connection

from kinfold import crypto
from kinfold.people import keys, vault
from kinfold.people.models import BlindIndex, Identity
from tests.factories import PersonFactory, organisation

IDENTITY = {
    "given_name": "Zainab",
    "surname": "Okonkwo-Reyes",
    "dob": "1988-10-03",
    "postcode": "NF9 9ZZ",
    "email": "zainab.or@example.org",
}


@pytest.fixture
def stored(agreements: None) -> Identity:
    return vault.store(
        PersonFactory(), organisation("northfield-police"), "OCC-1", "2016Q1", IDENTITY
    )


def test_no_clear_identity_is_stored_anywhere_in_the_database(stored: Identity) -> None:
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        for table in tables:
            cursor.execute(f'SELECT * FROM "{table}"')
            dump = repr(cursor.fetchall())
            for value in ("Zainab", "Okonkwo", "1988-10-03", "NF9 9ZZ", "example.org"):
                if value == "example.org" and table == "staff_user":
                    continue
                assert value not in dump, f"{value!r} found in clear in {table}"


def test_the_identity_opens_for_its_person_and_round_trips(stored: Identity) -> None:
    assert vault.open_identity(stored) == IDENTITY


def test_blind_index_finds_the_person_whatever_the_case_and_spacing(stored: Identity) -> None:
    assert list(vault.find_persons("surname", " okonkwo-REYES ")) == [stored.person]
    assert list(vault.find_persons("surname", "Okonkwo")) == []
    indexed = {f for f in vault.INDEXED_FIELDS if IDENTITY.get(f)}
    assert {"surname", "dob", "postcode", "email"} <= indexed
    assert (
        set(BlindIndex.objects.filter(identity=stored).values_list("field", flat=True)) == indexed
    )


def test_an_unchanged_identity_is_kept_once(stored: Identity) -> None:
    again = vault.store(stored.person, stored.organisation, "OCC-2", "2016Q2", IDENTITY)
    assert again.pk == stored.pk
    again.refresh_from_db()
    assert again.last_quarter == "2016Q2"


def test_a_sealed_identity_copied_to_another_person_does_not_open(stored: Identity) -> None:
    other = PersonFactory()
    copy = vault.store(other, stored.organisation, "OCC-3", "2016Q1", {"given_name": "X"})
    Identity.objects.filter(pk=copy.pk).update(sealed=stored.sealed)
    copy.refresh_from_db()
    with pytest.raises(crypto.DecryptionError):
        vault.open_identity(copy)


def test_destroying_the_data_key_makes_the_identity_unreadable_for_good(stored: Identity) -> None:
    sealed_before = bytes(stored.sealed)
    keys.destroy(stored.person.data_key, "retention period ended")
    stored.refresh_from_db()
    with pytest.raises(keys.KeyDestroyed):
        vault.open_identity(stored)
    assert bytes(stored.sealed) == sealed_before  # the ciphertext remains, useless without the key
