"""The bulk writers ingest uses keep the single-row rules: one key per person, an identity sealed
once per fingerprint, blind indexes; and a merge moves everything onto the surviving person."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st

from kinfold.ingest import hub, merges
from kinfold.ingest.models import Indicator, PartnerRecord, SealedDetail
from kinfold.ingest.sealing import open_detail
from kinfold.people import bulk, keys, vault
from kinfold.people.models import Household, HouseholdMember, Identity, ParentLink, Person
from tests.factories import add_record, organisation

IDENTITY = {
    "given_name": "Zainab",
    "surname": "Okonkwo-Reyes",
    "dob": "1988-10-03",
    "postcode": "NF9 9ZZ",
    "ni_number": "ZX123456C",
}


def make(*pids: str) -> dict[str, Person]:
    cache = bulk.KeyCache()
    made = bulk.create_persons([bulk.NewPerson(pid, "2016Q1", 1988) for pid in pids], cache)
    return {pid: Person.objects.get(pk=pk) for pid, pk in made.items()}


def test_persons_are_made_each_with_their_own_key(agreements: None) -> None:
    cache = bulk.KeyCache()
    made = bulk.create_persons(
        [bulk.NewPerson(f"PTEST{i}", "2016Q1", 1990 + i) for i in range(5)], cache
    )
    persons = {p.pid: p for p in Person.objects.filter(pk__in=made.values())}
    assert sorted(persons) == [f"PTEST{i}" for i in range(5)]
    assert [persons[f"PTEST{i}"].year_of_birth for i in range(5)] == [1990, 1991, 1992, 1993, 1994]
    clear = [keys.unwrap(p.data_key) for p in persons.values()]
    assert len(set(clear)) == 5
    assert all(cache.get(p.pk) == keys.unwrap(p.data_key) for p in persons.values())


def test_keys_wrapped_under_a_key_epoch_unwrap_as_the_people_part_does(
    agreements: None, settings: Any, tmp_path: Path
) -> None:
    settings.KINFOLD_KEYSTORE_FILE = str(tmp_path / "keystore.json")
    person = make("PEPOCH1")["PEPOCH1"]
    assert bytes(person.data_key.wrapped).startswith(b"\x00KE1")
    cache = bulk.KeyCache()
    assert bulk.load_keys([person.pk], cache) == []
    assert cache.get(person.pk) == keys.unwrap(person.data_key)


def test_an_identity_is_sealed_once_and_opens_like_one_the_vault_stored(agreements: None) -> None:
    person = make("PVAULT1")["PVAULT1"]
    police = organisation("northfield-police")
    cache = bulk.KeyCache()
    bulk.load_keys([person.pk], cache)
    writer = bulk.VaultWriter("2016Q1", cache)
    writer.add(person.pk, person.pid, police, "REF-1", IDENTITY)
    writer.add(person.pk, person.pid, police, "REF-2", IDENTITY)  # the same, twice in a quarter
    writer.flush()
    assert (writer.created, Identity.objects.count()) == (1, 1)
    identity = Identity.objects.get()
    assert vault.open_identity(identity) == IDENTITY
    assert list(vault.find_persons("ni_number", "ZX123456C")) == [person]
    # the single-row vault recognises it as the same identity
    assert vault.store(person, police, "REF-3", "2016Q1", IDENTITY).pk == identity.pk
    later = bulk.VaultWriter("2016Q2", cache)
    later.add(person.pk, person.pid, police, "REF-1", IDENTITY)
    later.flush()
    assert (later.created, later.seen_again) == (0, 1)
    assert Identity.objects.get().last_quarter == "2016Q2"


def test_raw_inserts_return_ids_in_the_order_given(agreements: None) -> None:
    ids = bulk.insert_returning_ids(
        Household, ("hid", "created_at"), [(f"HORDER{i}", _now()) for i in range(1200)]
    )
    assert len(ids) == 1200
    found = dict(Household.objects.filter(pk__in=ids).values_list("pk", "hid"))
    assert [found[i] for i in ids] == [f"HORDER{i}" for i in range(1200)]


def _now() -> Any:
    from django.utils import timezone

    return timezone.now()


@pytest.fixture
def two(agreements: None) -> tuple[Person, Person]:
    persons = make("PRETIRED", "PSURVIVE")
    return persons["PRETIRED"], persons["PSURVIVE"]


def test_a_merge_moves_records_flags_details_identities_and_homes_to_the_survivor(
    two: tuple[Person, Person],
) -> None:
    retired, survivor = two
    record = add_record(retired, "northfield-police", "police-courts-probation", "police.offence",
                        {"OFFENCE_DESC": "Theft"})  # fmt: skip
    police, dwp = organisation("northfield-police"), organisation("dwp-northfield")
    vault.store(retired, police, "REF-1", "2016Q1", IDENTITY)
    vault.store(survivor, police, "REF-9", "2016Q2", IDENTITY)  # the same identity: kept once
    vault.store(retired, dwp, "CLAIM-1", "2016Q1", {**IDENTITY, "surname": "Reyes"})
    home, other = Household.objects.create(hid="HONE"), Household.objects.create(hid="HTWO")
    HouseholdMember.objects.create(person=retired, household=home, quarter="2015Q4")
    HouseholdMember.objects.create(person=retired, household=home, quarter="2016Q1")
    HouseholdMember.objects.create(person=survivor, household=other, quarter="2016Q1")
    ParentLink.objects.create(child=retired, parent=survivor, quarter="2016Q1", organisation=police)

    merges.move_persons([(retired.pk, survivor.pk)], bulk.KeyCache())

    assert PartnerRecord.objects.get(pk=record.pk).person_id == survivor.pk
    assert set(Indicator.objects.values_list("person_id", flat=True)) == {survivor.pk}
    detail = SealedDetail.objects.get()
    assert detail.person_id == survivor.pk
    assert open_detail(detail) == {"OFFENCE_DESC": "Theft"}
    assert not Identity.objects.filter(person=retired).exists()
    opened = sorted(
        vault.open_identity(i)["surname"] for i in Identity.objects.filter(person=survivor)
    )
    assert opened == ["Okonkwo-Reyes", "Reyes"]
    assert Identity.objects.get(person=survivor, organisation=police).first_quarter == "2016Q1"
    assert dict(
        HouseholdMember.objects.filter(person=survivor).values_list("quarter", "household__hid")
    ) == {
        "2015Q4": "HONE",
        "2016Q1": "HTWO",
    }
    assert not ParentLink.objects.exists()  # a person is not their own parent
    assert list(vault.find_persons("surname", "Reyes")) == [survivor]


@examples(max_examples=200, deadline=None)
@given(
    fields=st.dictionaries(
        st.sampled_from(["given_name", "surname", "dob", "address", "postcode", "phone"]),
        st.text(min_size=0, max_size=20),
    )
)
def test_the_cached_fingerprint_is_the_vaults(fields: dict[str, str]) -> None:
    assert bulk.fingerprint(fields) == vault.fingerprint(fields)


def test_two_persons_merged_into_one_keep_one_home_a_quarter_and_no_link_to_themselves(
    agreements: None,
) -> None:
    persons = make("PFIRST", "PSECOND", "PSURVIVOR", "POTHER")
    first, second, survivor, other = (
        persons[p] for p in ("PFIRST", "PSECOND", "PSURVIVOR", "POTHER")
    )
    police = organisation("northfield-police")
    home = Household.objects.create(hid="HHOME")
    for person in (first, second):
        HouseholdMember.objects.create(person=person, household=home, quarter="2016Q1")
    ParentLink.objects.create(child=first, parent=second, quarter="2016Q1", organisation=police)
    ParentLink.objects.create(child=other, parent=first, quarter="2016Q1", organisation=police)
    ParentLink.objects.create(child=other, parent=second, quarter="2016Q1", organisation=police)

    merges.move_persons([(first.pk, survivor.pk), (second.pk, survivor.pk)], bulk.KeyCache())

    assert list(HouseholdMember.objects.values_list("person__pid", "quarter")) == [
        ("PSURVIVOR", "2016Q1")
    ]
    assert list(ParentLink.objects.values_list("child__pid", "parent__pid")) == [
        ("POTHER", "PSURVIVOR")
    ]


def test_the_hub_vetoes_merging_known_persons_it_placed_in_two_households_at_once(
    agreements: None,
) -> None:
    """What the hub tells linkage (``resolve_persons(persons_apart=…)``): of a group linkage would
    merge, the pairs ingest placed in different households in the same quarter."""
    persons = make("PMOTHER", "PNAMESAKE", "PMOVED")
    one, two = Household.objects.create(hid="HONE"), Household.objects.create(hid="HTWO")
    HouseholdMember.objects.create(person=persons["PMOTHER"], household=one, quarter="2016Q1")
    HouseholdMember.objects.create(person=persons["PNAMESAKE"], household=two, quarter="2016Q1")
    HouseholdMember.objects.create(person=persons["PMOVED"], household=two, quarter="2015Q4")

    placed_apart = hub._PlacedApart()

    assert placed_apart([["PMOTHER", "PNAMESAKE", "PMOVED"], ["PNEW", "PMOVED"]]) == [
        ("PMOTHER", "PNAMESAKE")
    ]


def test_a_child_left_where_the_family_lived_goes_with_it_and_an_adult_stays(
    agreements: None,
) -> None:
    """The hub reads each person's homes over the last year and who of them is a child
    (``_recent_homes``), and places persons (``_households_of``): a child under 16 whose
    household has moved on without them goes with it; an adult in the same position may truly
    have stayed (a separation), so their records decide."""
    persons = make("PMOTHER", "PSON", "PLODGER", "PNEIGHBOUR")
    Person.objects.filter(pid="PSON").update(year_of_birth=2008)
    old, other = Household.objects.create(hid="HOLD"), Household.objects.create(hid="HOTHER")
    for pid in ("PMOTHER", "PSON", "PLODGER"):
        HouseholdMember.objects.create(person=persons[pid], household=old, quarter="2015Q4")
    HouseholdMember.objects.create(person=persons["PNEIGHBOUR"], household=other, quarter="2014Q4")

    recent = hub._recent_homes("2016Q1")
    # a year back, 2015Q1 to 2015Q4: a home in 2014Q4 is too long ago to count
    assert recent.homes == {pid: [("2015Q4", "HOLD")] for pid in ("PMOTHER", "PSON", "PLODGER")}
    assert recent.children == {"PSON"}

    def placed(**homes: str) -> dict[str, str]:
        of_record = {("police", pid): hid for pid, hid in homes.items()}
        # read again each time: the last case adds homes
        return hub._households_of(
            {r: r[1] for r in of_record}, of_record, hub._recent_homes("2016Q1")
        )

    # the lodger stayed: the son's records decide
    assert placed(PMOTHER="HNEW", PSON="HOLD", PLODGER="HOLD")["PSON"] == "HOLD"
    # both adults moved on together: the son goes with them
    assert placed(PMOTHER="HNEW", PSON="HOLD", PLODGER="HNEW")["PSON"] == "HNEW"
    # an adult left behind stays
    assert placed(PMOTHER="HNEW", PSON="HNEW", PLODGER="HOLD")["PLODGER"] == "HOLD"
    # records giving a home the person has left: they stay where they moved to
    HouseholdMember.objects.create(person=persons["PNEIGHBOUR"], household=old, quarter="2015Q2")
    HouseholdMember.objects.create(person=persons["PNEIGHBOUR"], household=other, quarter="2015Q3")
    assert placed(PNEIGHBOUR="HOLD") == {"PNEIGHBOUR": "HOTHER"}
