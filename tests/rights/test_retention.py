"""Retention and erasure: what has expired is crypto-shredded, for good — even against a backup
restored afterwards — and the audit log says so without being touched."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from django.core import serializers
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from kinfold import crypto, keystore
from kinfold.audit.models import AuditEntry
from kinfold.audit.verification import verify_log
from kinfold.ingest.models import Indicator, PartnerRecord, SealedDetail
from kinfold.people import keys, services, vault
from kinfold.people.models import BlindIndex, DataKey, Family, Identity, Person
from kinfold.rights import retention
from kinfold.rights.models import Erasure
from kinfold.staff.models import Assignment
from tests.factories import add_member, add_record

pytestmark = pytest.mark.django_db

LONG_AFTER = date(2019, 1, 1)  # the family fixture's flags are from February 2016; retention P2Y


@pytest.fixture
def epochs(settings: object, tmp_path: Path) -> Path:
    """Data keys wrapped under key epochs kept in a store outside the database."""
    path = tmp_path / "keystore.json"
    settings.KINFOLD_KEYSTORE_FILE = str(path)  # type: ignore[attr-defined]
    return path


def end_allocation(family: Family) -> None:
    Assignment.objects.filter(family=family).update(ended_at=timezone.now())


def persons_of(family: Family) -> list[Person]:
    return list(Person.objects.filter(families__family=family).distinct())


def test_periods_come_from_the_current_agreement(agreements: None) -> None:
    months = retention.retention_months()
    assert months["education"] == 24
    assert months["social-care"] == 72


def test_nothing_expires_within_retention(family: Family) -> None:
    end_allocation(family)
    assert retention.plan(date(2017, 6, 1)).persons == []


def test_an_open_allocation_holds_the_data(family: Family) -> None:
    plan = retention.plan(LONG_AFTER)
    assert plan.persons == []
    assert set(plan.held.values()) == {"a key worker is working with the family"}


def test_expired_data_is_erased_and_cannot_be_decrypted(family: Family) -> None:
    end_allocation(family)
    members = persons_of(family)
    identities = list(Identity.objects.filter(person__in=members).select_related("person"))
    sealed = [(i.person, bytes(i.sealed), i.organisation, i.fingerprint) for i in identities]
    entries_before = AuditEntry.objects.count()

    report = retention.run(LONG_AFTER)

    assert sorted(p.pid for p in report.plan.persons) == sorted(p.pid for p in members)
    assert report.plan.families == [family.fid]
    for person in members:
        person.refresh_from_db()
        with pytest.raises(keys.KeyDestroyed):
            keys.unwrap(person.data_key)
        assert Erasure.objects.filter(subject=person.pid).exists()
    family.refresh_from_db()
    with pytest.raises(keys.KeyDestroyed):
        keys.unwrap(family.data_key)
    # the wrapped key is gone from the live database: nothing sealed under it opens again
    for person, blob, organisation, fingerprint in sealed:
        person.data_key.refresh_from_db()
        assert bytes(person.data_key.wrapped) == b""
        assert person.data_key.destroyed_at is not None
        assert blob  # the ciphertext a stolen copy of the table would hold is useless without it
        assert organisation
        assert fingerprint
    assert not Identity.objects.filter(person__in=members).exists()
    assert not BlindIndex.objects.filter(identity__person__in=members).exists()
    assert not Indicator.objects.filter(person__in=members).exists()
    assert not SealedDetail.objects.filter(person__in=members).exists()
    assert not PartnerRecord.objects.filter(person__in=members).exists()
    assert list(vault.find_persons("surname", "Example")) == []
    counts = (
        Erasure.objects.get(subject=members[0].pid).flag_counts
        or Erasure.objects.get(subject=members[1].pid).flag_counts
    )
    assert set(counts) <= {"education", "health"}

    # the log is appended to, never changed: erasure entries name pseudonyms and categories only
    assert AuditEntry.objects.count() > entries_before
    done = AuditEntry.objects.filter(event="rights:erasure:done")
    assert done.count() == len(members) + 1
    assert all("Example" not in str(e.details) + e.reason for e in done)
    assert verify_log().ok

    again = retention.run(LONG_AFTER)  # idempotent
    assert again.plan.persons == []
    assert again.plan.families == []


def _backup() -> str:
    """A copy of the vault's tables as a database backup would hold them."""
    rows = [
        *DataKey.objects.all(),
        *Person.objects.all(),
        *Identity.objects.all(),
        *BlindIndex.objects.all(),
    ]
    return serializers.serialize("json", rows)


def _restore(backup: str) -> None:
    for restored in serializers.deserialize("json", backup):
        restored.save()


def test_a_backup_restored_after_erasure_cannot_resurrect_it(epochs: Path, family: Family) -> None:
    survivor_family = services.create_family("F7SURVIVORFAM")
    survivor = add_member(
        survivor_family, "adult", identity={"given_name": "Ash", "surname": "Stays"}
    )
    add_record(
        survivor, "northfield-schools", "education", "school.attendance", day=date(2018, 9, 1)
    )
    end_allocation(family)
    erased = persons_of(family)
    backup = _backup()
    assert keystore.current()[0] == 1

    report = retention.run(LONG_AFTER)
    assert report.epochs_destroyed == [1]
    assert survivor.pid not in {p.pid for p in report.plan.persons}

    _restore(backup)  # the whole vault as it was before the run, wrapped keys included
    for person in erased:
        identity = Identity.objects.filter(person=person).select_related("person__data_key").first()
        assert identity is not None  # the restored rows are back...
        with pytest.raises(crypto.DecryptionError):  # ...and cannot be opened
            vault.open_identity(identity)
        wrapped = bytes(DataKey.objects.get(pk=person.data_key_id).wrapped)
        assert keystore.epoch_of(wrapped) == 1
        with pytest.raises(keystore.EpochDestroyed):
            keystore.unwrap(wrapped, str(person.data_key_id))
        with pytest.raises(crypto.DecryptionError):  # nor does the master key open it directly
            crypto.unwrap_key(
                keystore.settings.KEYS.vault_master_key,
                wrapped[keystore.HEADER_BYTES :],
                str(person.data_key_id),
            )
    store = json.loads(epochs.read_text())
    assert set(store["epochs"]) == {"2"}
    assert store["destroyed"] == [1]


def test_without_key_epochs_a_restored_backup_would_resurrect_the_erased(family: Family) -> None:
    """Why the key store exists: wrapped only by the master key, the backup's keys still open."""
    end_allocation(family)
    backup = _backup()
    retention.run(LONG_AFTER)
    _restore(backup)
    identity = Identity.objects.select_related("person__data_key").first()
    assert identity is not None
    assert vault.open_identity(identity)  # resurrected: the operator guide's warning stands


def test_survivors_stay_readable_across_the_epoch_change(epochs: Path, family: Family) -> None:
    survivor_family = services.create_family("F7SURVIVORFAM")
    survivor = add_member(
        survivor_family, "adult", identity={"given_name": "Ash", "surname": "Stays"}
    )
    add_record(
        survivor, "northfield-schools", "education", "school.attendance", day=date(2018, 9, 1)
    )
    end_allocation(family)
    retention.run(LONG_AFTER)
    identity = Identity.objects.select_related("person__data_key").get(person=survivor)
    assert vault.open_identity(identity)["surname"] == "Stays"
    assert keystore.epoch_of(bytes(identity.person.data_key.wrapped)) == 2


def test_the_command(family: Family, capsys: pytest.CaptureFixture[str]) -> None:
    end_allocation(family)
    call_command("retention", "run", "--dry-run", "--as-of", "2019-01-01")
    out = capsys.readouterr().out
    assert "would erase 2 person(s) and 1 family" in out
    assert not Erasure.objects.exists()
    with pytest.raises(CommandError, match="--as-of must be a date"):
        call_command("retention", "run", "--as-of", "soon")
