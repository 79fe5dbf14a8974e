"""A quarter's ingest against the synthetic borough: what is written, once, and where."""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from django.db import connection

from kinfold.agreements.models import Share
from kinfold.audit.models import AuditEntry
from kinfold.crypto import DecryptionError
from kinfold.errors import InputError
from kinfold.ingest import hub
from kinfold.ingest.models import Bundle, Indicator, LinkageState, PartnerRecord, SealedDetail
from kinfold.ingest.report import IngestReport
from kinfold.ingest.sealing import open_detail
from kinfold.linkage import PersonIndex
from kinfold.people import keys, vault
from kinfold.people.models import (
    HouseholdAddress,
    HouseholdMember,
    Identity,
    ParentLink,
    Person,
)
from tests.ingest.conftest import FIRST, SECOND, snapshot

Ingest = Callable[..., IngestReport]
Copy = Callable[..., Path]


def test_a_quarter_becomes_records_flags_details_households_and_links(
    ingest: Ingest, borough: Path
) -> None:
    report = ingest(borough / "extracts" / FIRST)
    assert not report.already_ingested
    assert {p.partner for p in report.partners} == {
        "csc", "das", "dwp", "health", "housing", "police", "probation", "schools",
        "substance", "yos",
    }  # fmt: skip
    assert PartnerRecord.objects.filter(quarter=FIRST).count() == report.records > 0
    assert Indicator.objects.count() == sum(p.indicators for p in report.partners) > 0
    assert SealedDetail.objects.count() == sum(p.details for p in report.partners) > 0
    assert HouseholdMember.objects.filter(quarter=FIRST).count() == report.household_members > 0
    assert ParentLink.objects.filter(quarter=FIRST).count() == report.parent_links > 0
    assert LinkageState.objects.get(quarter=FIRST).persons >= report.persons


def test_person_ids_are_made_under_a_key_derived_from_the_vault_master_key(
    ingest: Ingest, borough: Path, settings: object
) -> None:
    """The same data under the same keys gives the same person ids (repeatable runs, and the
    choices ordered by id with them); another council's keys give unrelated ids."""
    ingest(borough / "extracts" / FIRST)
    state = LinkageState.objects.get(quarter=FIRST)
    namespace = PersonIndex.from_bytes(bytes(state.index)).namespace
    assert namespace == hub.person_namespace()
    assert namespace not in (settings.KEYS.vault_master_key, hub.transport_public_key())  # type: ignore[attr-defined]
    settings.KEYS = replace(settings.KEYS, vault_master_key=bytes(32))  # type: ignore[attr-defined]
    assert hub.person_namespace() != namespace


def test_an_address_keeps_its_household_id_into_the_next_quarter(
    ingest: Ingest, borough: Path
) -> None:
    """Each way of writing an address (a keyed token) is remembered with the household it was
    found in; next quarter a household whose tokens were all one household's before, and no
    other household's now, has that household's id again."""
    ingest(borough / "extracts" / FIRST)
    first = dict(HouseholdAddress.objects.values_list("token", "household__hid"))
    assert first
    assert set(HouseholdAddress.objects.values_list("quarter", flat=True)) == {FIRST}
    ingest(borough / "extracts" / SECOND)
    now: dict[str, set[str]] = defaultdict(set)  # household id this quarter → its ids before
    for token, hid in HouseholdAddress.objects.filter(quarter=SECOND).values_list(
        "token", "household__hid"
    ):
        if token in first:
            now[hid].add(first[token])
    claimed = Counter(old for olds in now.values() for old in olds)
    alone = {hid: next(iter(olds)) for hid, olds in now.items() if len(olds) == 1}
    checked = [(hid, old) for hid, old in alone.items() if claimed[old] == 1]
    assert len(checked) > 100
    assert all(hid == old for hid, old in checked)


def test_every_record_and_flag_belongs_to_a_person_with_a_year_of_birth_from_the_extract(
    ingest: Ingest, borough: Path
) -> None:
    ingest(borough / "extracts" / FIRST)
    assert not PartnerRecord.objects.filter(person__isnull=True).exists()
    school_pupils = Person.objects.filter(records__organisation__slug="northfield-schools")
    assert school_pupils.exists()
    assert not school_pupils.filter(year_of_birth__isnull=True).exists()
    assert school_pupils.filter(year_of_birth__gte=1995).count() == school_pupils.count()
    # and the month, for ages at a quarter's end (the day stays in the vault)
    assert not school_pupils.filter(month_of_birth__isnull=True).exists()
    assert set(school_pupils.values_list("month_of_birth", flat=True)) <= set(range(1, 13))
    assert len(set(school_pupils.values_list("month_of_birth", flat=True))) > 6


def test_ingesting_the_same_files_again_changes_nothing(ingest: Ingest, borough: Path) -> None:
    ingest(borough / "extracts" / FIRST)
    before = snapshot()
    index = LinkageState.objects.get(quarter=FIRST).index_sha256
    again = ingest(borough / "extracts" / FIRST)
    assert again.already_ingested
    assert snapshot() == before
    assert LinkageState.objects.get(quarter=FIRST).index_sha256 == index


def test_the_same_bundles_sent_again_change_nothing(
    ingest: Ingest, borough: Path, tmp_path: Path
) -> None:
    ingest(borough / "extracts" / FIRST)
    before = snapshot()
    bundles = tmp_path / "partner-side" / "bundles" / FIRST
    assert sorted(p.name for p in bundles.glob("*.kfb"))
    assert ingest(bundles).already_ingested
    assert snapshot() == before


def test_a_quarter_already_ingested_from_other_files_is_refused(
    ingest: Ingest, quarter_copy: Copy
) -> None:
    folder = quarter_copy(FIRST)
    ingest(folder)
    police = folder / "police.csv"
    police.write_bytes(police.read_bytes().replace(b"\r\n", b"\n").rstrip(b"\n") + b"\n")
    before = snapshot()
    with pytest.raises(InputError, match="already ingested from other files"):
        ingest(folder)
    assert snapshot() == before


def test_quarters_are_ingested_in_order(ingest: Ingest, borough: Path) -> None:
    ingest(borough / "extracts" / SECOND)
    before = snapshot()
    with pytest.raises(InputError, match="in order"):
        ingest(borough / "extracts" / FIRST)
    assert snapshot() == before


def test_a_failure_half_way_leaves_the_database_as_it_was(
    ingest: Ingest, borough: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot()

    def fail(self: object) -> None:
        assert PartnerRecord.objects.exists()  # the records were written by now
        raise RuntimeError("the disk filled up")

    monkeypatch.setattr(hub._Writer, "_parent_links", fail)
    with pytest.raises(RuntimeError, match="disk filled up"):
        ingest(borough / "extracts" / FIRST)
    assert snapshot() == before


def test_persons_keep_their_ids_from_one_quarter_to_the_next(ingest: Ingest, borough: Path) -> None:
    ingest(borough / "extracts" / FIRST)
    first = dict(
        PartnerRecord.objects.filter(
            quarter=FIRST, organisation__slug="northfield-schools"
        ).values_list("source_ref", "person__pid")
    )
    ingest(borough / "extracts" / SECOND)
    second = dict(
        PartnerRecord.objects.filter(
            quarter=SECOND, organisation__slug="northfield-schools"
        ).values_list("source_ref", "person__pid")
    )
    both = set(first) & set(second)
    assert len(both) > 100  # pupils on roll in both quarters
    same = sum(first[pupil] == second[pupil] for pupil in both)
    assert same / len(both) >= 0.99


def test_a_flag_in_a_category_the_agreement_does_not_allow_is_dropped_and_reported(
    ingest: Ingest, borough: Path
) -> None:
    Share.objects.filter(
        provider__slug="northfield-schools", category__slug="education", level="flags"
    ).delete()
    report = ingest(borough / "extracts" / FIRST)
    schools = next(p for p in report.partners if p.partner == "schools")
    assert schools.dropped_indicators.get("school.attendance", 0) == schools.records > 0
    assert not Indicator.objects.filter(organisation__slug="northfield-schools").exists()
    assert Indicator.objects.filter(organisation__slug="dwp-northfield").exists()
    assert SealedDetail.objects.filter(record__organisation__slug="northfield-schools").exists()
    assert "not allowed by the agreement" in schools.summary()


def test_detail_in_a_category_the_agreement_does_not_share_is_dropped(
    ingest: Ingest, borough: Path
) -> None:
    Share.objects.filter(
        provider__slug="northfield-schools", category__slug="education", level="details"
    ).delete()
    report = ingest(borough / "extracts" / FIRST)
    schools = next(p for p in report.partners if p.partner == "schools")
    assert schools.dropped_detail.get("education", 0) == schools.records
    assert not SealedDetail.objects.filter(record__organisation__slug="northfield-schools").exists()
    assert Indicator.objects.filter(organisation__slug="northfield-schools").exists()


def test_a_partner_no_agreement_covers_is_refused(ingest: Ingest, quarter_copy: Copy) -> None:
    Share.objects.filter(provider__slug="northfield-recovery").delete()
    folder = quarter_copy(FIRST, partners=("substance", "police"))
    before = snapshot()
    with pytest.raises(InputError, match="no approved agreement") as caught:
        ingest(folder)
    assert "substance.csv" in str(caught.value)
    assert snapshot() == before


def test_sealed_details_open_under_the_persons_key_and_say_what_the_extract_said(
    ingest: Ingest, borough: Path
) -> None:
    ingest(borough / "extracts" / FIRST)
    detail = SealedDetail.objects.filter(record__organisation__slug="northfield-police").first()
    assert detail is not None
    values = open_detail(detail)
    assert "OFFENCE_DESC" in values or "OCC_REF" in values


def test_identities_are_sealed_in_the_vault_and_open_to_what_the_partner_holds(
    ingest: Ingest, borough: Path
) -> None:
    ingest(borough / "extracts" / FIRST)
    identity = Identity.objects.filter(organisation__slug="dwp-northfield").first()
    assert identity is not None
    opened = vault.open_identity(identity)
    assert {"given_name", "surname", "dob", "ni_number"} <= set(opened)
    assert opened["dob"][4] == "-"  # kept as an ISO date whatever the partner wrote
    found = vault.find_persons("ni_number", opened["ni_number"])
    assert identity.person in list(found)


def _names_in(extract: Path, column: str, count: int) -> list[str]:
    import csv

    with extract.open(encoding="utf-8-sig", newline="") as handle:
        values = [row[column] for row in csv.DictReader(handle) if len(row[column]) > 5]
    return values[:count]


def test_no_clear_identity_is_written_anywhere_but_the_vault(ingest: Ingest, borough: Path) -> None:
    extracts = borough / "extracts" / FIRST
    ingest(extracts)
    clear = [
        *_names_in(extracts / "schools.csv", "Legal Surname", 5),
        *_names_in(extracts / "schools.csv", "Contact Forename", 5),
        *_names_in(extracts / "dwp.csv", "NINO", 5),
        *_names_in(extracts / "police.csv", "ADDRESS", 3),
    ]
    assert len(clear) >= 15
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT * FROM "{table}"')
            dump = repr(cursor.fetchall())
            for value in clear:
                assert value not in dump, f"{value!r} found in clear in {table}"


def test_the_audit_log_records_the_ingest_under_the_job_with_no_personal_data(
    ingest: Ingest, borough: Path
) -> None:
    report = ingest(borough / "extracts" / FIRST)
    events = list(
        AuditEntry.objects.filter(actor_id="quarter-ingest").values_list("event", flat=True)
    )
    assert events.count("quarter:ingested") == 1
    assert events.count("quarter:linked") == 1
    assert events.count("quarter:extract:encoded") == len(report.partners)
    assert (
        AuditEntry.objects.filter(actor_id="quarter-ingest")
        .exclude(actor_run_id="test-run")
        .count()
        == 0
    )


def test_bundles_record_each_source_file_once(ingest: Ingest, borough: Path) -> None:
    report = ingest(borough / "extracts" / FIRST)
    bundles = Bundle.objects.filter(quarter=FIRST)
    assert bundles.count() == len(report.partners)
    schools = bundles.get(organisation__slug="northfield-schools")
    assert schools.file_name == "schools.csv"
    assert schools.manifest["source"]["rows"] == schools.rows
    assert len(schools.sha256) == 64


def test_a_person_whose_data_was_erased_gets_a_new_key_for_what_arrives_later(
    ingest: Ingest, borough: Path
) -> None:
    ingest(borough / "extracts" / FIRST)
    on_roll_later = set(_names_in(borough / "extracts" / SECOND / "schools.csv", "Pupil ID", 10**6))
    pupil = next(
        r
        for r in PartnerRecord.objects.filter(
            quarter=FIRST, organisation__slug="northfield-schools"
        ).order_by("pk")
        if r.source_ref in on_roll_later
    )
    person = pupil.person
    assert person is not None
    old_key = person.data_key
    keys.destroy(old_key, "retention period ended")
    report = ingest(borough / "extracts" / SECOND)
    assert report.rekeyed_persons >= 1
    person.refresh_from_db()
    assert person.data_key_id != old_key.pk
    later = SealedDetail.objects.filter(person=person, record__quarter=SECOND).first()
    assert later is not None
    assert open_detail(later)  # sealed under the new key
    earlier = SealedDetail.objects.filter(person=person, record__quarter=FIRST).first()
    assert earlier is not None
    with pytest.raises(DecryptionError):
        open_detail(earlier)  # what the destroyed key sealed stays unreadable


def test_a_daughter_with_her_mothers_name_and_address_is_not_taken_for_her(
    ingest: Ingest, quarter_copy: Copy
) -> None:
    """A school names a pupil's mother at the family's address, and she has no records of her
    own. Next quarter her baby daughter, on the health visiting caseload at that address, has
    her name: on name and address the baby's record matches the remembered contact, who has no
    date of birth to disagree with, and the mother would become her own daughter. Someone named
    as a child's parent or carer is born before the child (linking.parents_born), so the baby
    is a person of her own and not the pupil's parent."""
    ingest(quarter_copy(FIRST))
    folder = quarter_copy(SECOND)
    others = " ".join(
        file.read_text(encoding="utf-8").lower()
        for file in folder.glob("*.csv")
        if file.stem != "schools"
    )
    with (folder / "schools.csv").open(encoding="utf-8-sig", newline="") as handle:
        pupil = next(
            row
            for row in csv.DictReader(handle)
            if row["Contact Relationship"] == "Mother"
            and row["Contact Address"] == row["Address"]
            and row["Contact Surname"].lower() not in others
        )
    baby = [
        "ATT9999999901", "", pupil["Contact Forename"], pupil["Contact Surname"], "2014-03-01",
        "female", pupil["Address"], pupil["Postcode"], "Health visiting contact",
        "2015-08-01 10:00", "Healthy child review",
    ]  # fmt: skip
    with (folder / "health.csv").open("a", encoding="utf-8", newline="") as out:
        csv.writer(out, lineterminator="\n").writerow(baby)
    ingest(folder)
    child = PartnerRecord.objects.get(
        organisation__partner_id="schools", source_ref=pupil["Pupil ID"], quarter=SECOND
    ).person
    daughter = PartnerRecord.objects.get(
        organisation__partner_id="health", source_ref="ATT9999999901"
    ).person
    parents = set(
        ParentLink.objects.filter(child=child, quarter=SECOND).values_list("parent", flat=True)
    )
    assert parents, "the school's contact is linked as the pupil's parent"
    assert daughter.pk not in parents
    assert daughter.year_of_birth == 2014


def test_a_police_record_with_no_date_of_birth_is_not_a_young_childs(
    ingest: Ingest, quarter_copy: Copy
) -> None:
    """A child of two on the health visiting caseload, and next quarter a police offence of
    someone of the same name at the same address that gives no date of birth: on name and
    address the record matches the child, who would then be placed wherever the offender is
    and make a family there. Nobody under 10 commits an offence (``ages.AGE_LIMITS``), so the
    record is a person of its own."""
    ingest(quarter_copy(FIRST))
    folder = quarter_copy(SECOND)
    everyone = " ".join(
        file.read_text(encoding="utf-8").lower()
        for quarter in (FIRST, SECOND)
        for file in (folder.parent / quarter).glob("*.csv")
    )
    with (folder.parent / FIRST / "health.csv").open(encoding="utf-8-sig", newline="") as handle:
        child = next(
            row
            for row in csv.DictReader(handle)
            if row["birth_date"] >= "2013-01-01"
            and everyone.count(f"{row['given_name']},{row['family_name']}".lower()) == 1
        )
    offence = [
        "NF/15/9999999-1", "NF/15/9999999", "20/08/2015", "CRIME", "SUSPECT",
        child["family_name"].upper(), child["given_name"].upper(), "", child["gender"][0].upper(),
        child["address_line"].upper(), child["post_code"], "Theft from a shop", "Charged",
    ]  # fmt: skip
    with (folder / "police.csv").open("a", encoding="utf-8", newline="") as out:
        csv.writer(out, lineterminator="\r\n").writerow(offence)
    ingest(folder)
    toddler = PartnerRecord.objects.get(
        organisation__partner_id="health", source_ref=child["attendance_id"]
    ).person
    offender = PartnerRecord.objects.get(
        organisation__partner_id="police", source_ref="NF/15/9999999-1"
    ).person
    assert offender.pk != toddler.pk
    assert toddler.year_of_birth == int(child["birth_date"][:4])
