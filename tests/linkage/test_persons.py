"""Persons across sources and quarters: ids that stay put, new ids for new people, households."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pytest

from kinfold.errors import InputError
from kinfold.linkage import (
    Births,
    ColumnMap,
    PersonIndex,
    encode,
    households,
    near_remembered,
    resolve_persons,
)
from tests.linkage.conftest import LEFT_PEOPLE, OTHER_SECRET, RIGHT_PEOPLE, SECRET, encode_rows

NAMESPACE = b"northfield-person-ids-namespace!"
POLICE = LEFT_PEOPLE  # L1..L6
SCHOOLS = RIGHT_PEOPLE[:4]  # R1..R4: the same people as L1..L4, recorded differently


def _quarter_one() -> tuple[PersonIndex, dict[tuple[str, str], str]]:
    result = resolve_persons(
        [encode_rows(POLICE, source="police"), encode_rows(SCHOOLS, source="schools")],
        PersonIndex.new(NAMESPACE),
        quarter="2015Q2",
    )
    return result.index, result.persons


def test_one_quarter_resolves_each_person_once() -> None:
    _, persons = _quarter_one()
    for n in range(1, 5):
        assert persons[("police", f"L{n}")] == persons[("schools", f"R{n}")]
    assert len(set(persons.values())) == 6


def test_person_ids_are_opaque_pseudonyms() -> None:
    _, persons = _quarter_one()
    for person_id in persons.values():
        assert re.fullmatch(r"P[A-Z2-7]{13}", person_id)


def test_ids_are_deterministic_and_unrelated_across_namespaces() -> None:
    _, first = _quarter_one()
    _, again = _quarter_one()
    assert first == again
    other = resolve_persons(
        [encode_rows(POLICE, source="police"), encode_rows(SCHOOLS, source="schools")],
        PersonIndex.new(b"another-council-namespace-bytes!"),
        quarter="2015Q2",
    )
    assert not set(other.persons.values()) & set(first.values())


def test_ids_stay_stable_into_the_next_quarter_across_partners_and_moves() -> None:
    index, q1 = _quarter_one()
    moved = [
        dict(LEFT_PEOPLE[0], ref="H1", address="88 Canal Street", postcode="NF9 9ZZ"),  # moved
        dict(RIGHT_PEOPLE[1], ref="H2"),
        dict(LEFT_PEOPLE[4], ref="H5"),
        {
            "ref": "H9",
            "forename": "Priya",
            "surname": "Shah",
            "dob": "1999-09-09",
            "sex": "F",
            "address": "2 Canal Street",
            "postcode": "NF9 9ZZ",
        },
    ]
    q2 = resolve_persons(
        [encode_rows(moved, source="housing"), encode_rows(SCHOOLS, source="schools")],
        PersonIndex.from_bytes(index.to_bytes()),
        quarter="2015Q3",
    )
    assert q2.person_of("housing", "H1") == q1[("police", "L1")]  # new partner, new address
    assert q2.person_of("housing", "H2") == q1[("police", "L2")]
    assert q2.person_of("housing", "H5") == q1[("police", "L5")]
    for n in range(1, 5):
        assert q2.person_of("schools", f"R{n}") == q1[("schools", f"R{n}")]
    assert q2.person_of("housing", "H9") not in q1.values()
    assert q2.new_persons == [q2.person_of("housing", "H9")]
    assert len(q2.index) == 7  # six remembered, one new
    assert q2.index.resolved == ("2015Q2", "2015Q3")


def test_a_partner_record_id_seen_again_keeps_its_person() -> None:
    index, q1 = _quarter_one()
    renamed = [
        dict(
            LEFT_PEOPLE[5],
            forename="Tony",
            surname="Brown",
            dob="1933-01-01",
            address="1 Other Road",
            postcode="NF8 1AA",
        )
    ]
    q2 = resolve_persons([encode_rows(renamed, source="police")], index, quarter="2015Q3")
    assert q2.person_of("police", "L6") == q1[("police", "L6")]


def test_new_evidence_joining_two_known_persons_merges_them_deterministically() -> None:
    # quarter one: the same woman, once with only a name and date of birth, once with only a
    # name and address, so nothing joins the two records
    column_map = ColumnMap.parse(
        "given_name=forename,surname=surname,dob=dob,address=address,postcode=postcode,id=ref"
    )
    a = {
        "ref": "A",
        "forename": "Grace",
        "surname": "Adeyemi",
        "dob": "1970-04-04",
        "address": "",
        "postcode": "",
    }
    b = {
        "ref": "B",
        "forename": "Ada",
        "surname": "Adeyemi",
        "dob": "",
        "address": "9 Quay Road",
        "postcode": "NF2 2QQ",
    }
    q1 = resolve_persons(
        [
            encode([a], column_map, SECRET, source="das"),
            encode([b], column_map, SECRET, source="dwp"),
        ],
        PersonIndex.new(NAMESPACE),
        quarter="2015Q2",
    )
    first, second = q1.person_of("das", "A"), q1.person_of("dwp", "B")
    assert first != second
    both = {
        "ref": "C",
        "forename": "Grace",
        "surname": "Adeyemi",
        "dob": "1970-04-04",
        "address": "9 Quay Road",
        "postcode": "NF2 2QQ",
    }
    q2 = resolve_persons(
        [encode([both], column_map, SECRET, source="health")], q1.index, quarter="2015Q3"
    )
    survivor = q2.person_of("health", "C")
    assert survivor == min(first, second)  # equal standing: the smaller id survives
    retired = max(first, second)
    assert q2.merged == {retired: survivor}
    assert q2.index.current(retired) == survivor


def test_a_merge_the_caller_knows_joins_two_people_is_not_made() -> None:
    """As above, but the caller knows the two persons are two people (the hub placed them at two
    addresses in one quarter): the record that looks like both joins one of them, nobody is
    merged, and the caller was asked about exactly that merge."""
    column_map = ColumnMap.parse(
        "given_name=forename,surname=surname,dob=dob,address=address,postcode=postcode,id=ref"
    )
    name = {"forename": "Grace", "surname": "Adeyemi"}
    born = {"dob": "1970-04-04", "address": "", "postcode": ""}
    home = {"dob": "", "address": "9 Quay Road", "postcode": "NF2 2QQ"}
    q1 = resolve_persons(
        [
            encode([{"ref": "A", **name, **born}], column_map, SECRET, source="das"),
            encode(
                [{"ref": "B", **name, **home, "forename": "Ada"}], column_map, SECRET, source="dwp"
            ),
        ],
        PersonIndex.new(NAMESPACE),
        quarter="2015Q2",
    )
    first, second = q1.person_of("das", "A"), q1.person_of("dwp", "B")
    assert first != second
    asked: list[list[str]] = []

    def two_people(groups: Sequence[Sequence[str]]) -> list[tuple[str, str]]:
        asked.extend(sorted(group) for group in groups)
        return [(first, second)]

    both = {"ref": "C", **name, **home, "dob": "1970-04-04"}
    q2 = resolve_persons(
        [encode([both], column_map, SECRET, source="health")],
        q1.index,
        quarter="2015Q3",
        persons_apart=two_people,
    )
    assert q2.merged == {}
    assert q2.person_of("health", "C") in {first, second}
    assert asked == [sorted([first, second])]


def test_the_index_round_trips_through_bytes_and_files(tmp_path: Path) -> None:
    index, _ = _quarter_one()
    index.write(tmp_path / "persons.idx")
    back = PersonIndex.read(tmp_path / "persons.idx")
    assert back.namespace == index.namespace
    assert back.person_ids() == index.person_ids()
    assert back.resolved == index.resolved
    assert back.memory is not None
    assert back.memory.record_ids.tolist() == index.memory.record_ids.tolist()  # type: ignore[union-attr]


def test_a_file_that_is_not_an_index_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x.idx").write_bytes(b"not an index")
    with pytest.raises(InputError, match="is not a kinfold person index"):
        PersonIndex.read(tmp_path / "x.idx")


def test_the_index_keeps_only_recent_records_per_person_and_source() -> None:
    index = PersonIndex.new(NAMESPACE)
    for quarter in ("2015Q2", "2015Q3", "2015Q4"):
        index = resolve_persons(
            [encode_rows(POLICE, source="police")], index, quarter=quarter
        ).index
    assert index.memory is not None
    assert len(index.memory) == 2 * len(POLICE)  # keep_per_source = 2
    assert set(index.quarters.tolist()) == {"2015Q3", "2015Q4"}


def test_a_new_secret_falls_back_to_partner_record_ids_and_says_so() -> None:
    index, q1 = _quarter_one()
    q2 = resolve_persons(
        [encode_rows(POLICE, source="police", secret=OTHER_SECRET)], index, quarter="2015Q3"
    )
    assert q2.notes
    assert q2.person_of("police", "L3") == q1[("police", "L3")]


def test_a_record_said_to_continue_a_remembered_one_joins_its_person() -> None:
    """``continues`` joins a record of this quarter to a remembered one as a record id seen
    again does: a mother named only by name and address, who has moved and married, is no
    longer linkable on her encodings, but the caller knows she is the one named there before."""
    mother = {"forename": "Julia", "surname": "Lewandowska", "dob": "", "sex": "F"}
    before = [dict(mother, ref="2015Q4/P1/0", address="20 Mill Street", postcode="NF8 8AF")]
    q1 = resolve_persons(
        [encode_rows(before, source="schools~related")],
        PersonIndex.new(NAMESPACE),
        quarter="2015Q4",
    )
    after = [
        dict(
            mother,
            surname="Nowak",
            ref="2016Q1/P1/0",
            address="15 Poplar Lodge",
            postcode="NF9 4AY",
        )
    ]
    tables = [encode_rows(after, source="schools~related")]
    alone = resolve_persons(tables, PersonIndex.from_bytes(q1.index.to_bytes()), quarter="2016Q1")
    joined = resolve_persons(
        tables,
        PersonIndex.from_bytes(q1.index.to_bytes()),
        quarter="2016Q1",
        continues=[
            (("schools~related", "2016Q1/P1/0"), ("schools~related", "2015Q4/P1/0")),
            (("schools~related", "2016Q1/P9/0"), ("schools~related", "2015Q4/P9/0")),  # unknown
        ],
    )
    first = q1.persons[("schools~related", "2015Q4/P1/0")]
    assert alone.person_of("schools~related", "2016Q1/P1/0") != first
    assert joined.person_of("schools~related", "2016Q1/P1/0") == first


def test_nobody_joins_a_person_born_before_them_by_the_latest_year_births_allow() -> None:
    """``births``: a mother named by a school at her address, with no date of birth, and her
    daughter of the same name at that address, born 2014, match on name and address; the caller
    knows the mother was born by 1998 (her pupil was born in 2010), so the daughter is not her —
    whether the mother is this quarter's record or a known person, and whichever way round."""
    olivia = {"forename": "Olivia", "surname": "Smith", "address": "7 Queens Grove"}
    mother = dict(olivia, ref="2016Q2/P1/0", dob="", sex="", postcode="NF7 7AH")
    daughter = dict(olivia, ref="HV1", dob="2014-10-11", sex="F", postcode="NF7 7AH")
    contact, baby = ("schools~related", "2016Q2/P1/0"), ("health", "HV1")
    tables = [
        encode_rows([mother], source="schools~related"),
        encode_rows([daughter], source="health"),
    ]
    index = PersonIndex.new(NAMESPACE)
    same = resolve_persons(tables, index, quarter="2016Q2")
    assert same.persons[contact] == same.persons[baby]
    born = Births(years={baby: 2014}, latest={contact: 1998})
    apart = resolve_persons(tables, index, quarter="2016Q2", births=born)
    assert apart.persons[contact] != apart.persons[baby]
    elsewhere = Births(years={baby: 2014}, latest={("schools~related", "another"): 1998})
    other = resolve_persons(tables, index, quarter="2016Q2", births=elsewhere)
    assert other.persons[contact] == other.persons[baby]
    q1 = resolve_persons(tables[:1], index, quarter="2016Q2")
    known = q1.persons[contact]
    for births, joined in (
        (None, True),
        (Births(years={baby: 2014}, known_latest={known: 1998}), False),
        (Births(years={baby: 1980}, known_latest={known: 1998}), True),
        (Births(latest={baby: 1998}, known_years={known: 2014}), False),
    ):
        q2 = resolve_persons(
            tables[1:],
            PersonIndex.from_bytes(q1.index.to_bytes()),
            quarter="2016Q3",
            births=births,
        )
        assert (q2.persons[baby] == known) is joined, births


def test_records_whose_years_of_birth_are_far_apart_are_not_joined_given_a_spread() -> None:
    """``Births.spread``: a mother named with her date of birth on a children's services row and a
    jobcentre claim of a woman with her name born 16 years earlier on the same day of the month
    pass linkage on name and a partly agreeing date; with a spread of 10 years they are two."""
    isla = {"forename": "Isla", "surname": "Evans", "sex": "F", "postcode": ""}
    carer = dict(isla, ref="C1/0", dob="1979-11-20", address="")
    claim = dict(isla, ref="D1", dob="1963-11-20", address="7 Willow Road")
    tables = [encode_rows([carer], source="csc~related"), encode_rows([claim], source="dwp")]
    keys = ("csc~related", "C1/0"), ("dwp", "D1")
    years = {keys[0]: 1979, keys[1]: 1963}
    index = PersonIndex.new(NAMESPACE)
    for births, joined in (
        (None, True),
        (Births(years=years), True),
        (Births(years=years, spread=20), True),
        (Births(years=years, spread=10), False),
    ):
        found = resolve_persons(tables, index, quarter="2015Q2", births=births).persons
        assert (found[keys[0]] == found[keys[1]]) is joined, births


def test_a_remembered_record_left_unlinked_is_not_joined_by_a_later_one() -> None:
    """``unlinked`` names remembered records too: a name-only case kept apart last quarter does
    not become the person a later record of that name joins."""
    meena = {"forename": "Meena", "surname": "Shah", "dob": "", "sex": "F"}
    q1 = resolve_persons(
        [encode_rows([dict(meena, ref="DA1", address="", postcode="")], source="das")],
        PersonIndex.new(NAMESPACE),
        quarter="2016Q3",
    )
    later = [dict(meena, ref="2016Q4/S1/0", address="13 Mandela Lodge", postcode="NF6 5AW")]
    tables = [encode_rows(later, source="schools~related")]
    case = q1.persons[("das", "DA1")]
    joined = resolve_persons(tables, PersonIndex.from_bytes(q1.index.to_bytes()), quarter="2016Q4")
    kept = resolve_persons(
        tables,
        PersonIndex.from_bytes(q1.index.to_bytes()),
        quarter="2016Q4",
        unlinked=[("das", "DA1")],
    )
    assert joined.person_of("schools~related", "2016Q4/S1/0") == case
    assert kept.person_of("schools~related", "2016Q4/S1/0") != case


def test_a_link_the_caller_says_rests_on_too_little_is_not_made() -> None:
    """``not_linked`` drops the scored link between a record of this quarter and a remembered one:
    a school's contact and a police record that share only a common name. The contact is then a
    person of its own — unless it shares more with another of that person's records."""
    chiamaka = {"forename": "Chiamaka", "surname": "Okafor", "sex": "F"}
    q1 = resolve_persons(
        [
            encode_rows(
                [dict(chiamaka, ref="N1", dob="1991-04-06", address="", postcode="")],
                source="police",
            )
        ],
        PersonIndex.new(NAMESPACE),
        quarter="2018Q3",
    )
    contact = [
        dict(chiamaka, ref="2019Q1/S1/0", dob="", address="15 School Close", postcode="NF4 4AU")
    ]
    tables = [encode_rows(contact, source="schools~related")]
    pair = (("schools~related", "2019Q1/S1/0"), ("police", "N1"))
    known = q1.persons[("police", "N1")]
    linked = resolve_persons(tables, PersonIndex.from_bytes(q1.index.to_bytes()), quarter="2019Q1")
    assert linked.person_of("schools~related", "2019Q1/S1/0") == known
    dropped = resolve_persons(
        tables, PersonIndex.from_bytes(q1.index.to_bytes()), quarter="2019Q1", not_linked=[pair]
    )
    assert dropped.person_of("schools~related", "2019Q1/S1/0") != known
    # a police record at the contact's address this quarter, of that person, still joins them
    police = [
        dict(chiamaka, ref="N2", dob="1991-04-06", address="15 School Close", postcode="NF4 4AU")
    ]
    both = resolve_persons(
        [*tables, encode_rows(police, source="police")],
        PersonIndex.from_bytes(q1.index.to_bytes()),
        quarter="2019Q1",
        not_linked=[pair],
    )
    assert both.person_of("schools~related", "2019Q1/S1/0") == known


def test_records_kept_apart_unless_known_to_be_one_persons_join_when_they_are() -> None:
    """``apart_unless_known``: a school names Anjali Jama at her new address (named there on the
    same row before: ``continues``), and her police record, born 1970, still gives the old one. Kept
    apart, the police record became a second Anjali at the old address; both being surely the
    known Anjali's, they are one person. Where only one of them is known, they stay apart."""
    anjali = {"forename": "Anjali", "surname": "Jama", "sex": "F"}
    old = {"address": "5 Oak Road", "postcode": "NF1 1AB"}
    q1 = resolve_persons(
        [
            encode_rows([dict(anjali, ref="N1", dob="1970-10-03", **old)], source="police"),
            encode_rows([dict(anjali, ref="2017Q2/S1/0", dob="", **old)], source="schools~related"),
        ],
        PersonIndex.new(NAMESPACE),
        quarter="2017Q2",
    )
    known = q1.persons[("police", "N1")]
    assert q1.persons[("schools~related", "2017Q2/S1/0")] == known
    tables = [
        encode_rows([dict(anjali, ref="N7", dob="1970-10-03", **old)], source="police"),
        encode_rows(
            [dict(anjali, ref="2017Q3/S1/0", dob="", address="9 Elm Road", postcode="NF3 3AB")],
            source="schools~related",
        ),
    ]
    contact, record = ("schools~related", "2017Q3/S1/0"), ("police", "N7")
    continues = [(contact, ("schools~related", "2017Q2/S1/0"))]

    def resolve(**rules: object) -> tuple[str, str]:
        found = resolve_persons(
            tables, PersonIndex.from_bytes(q1.index.to_bytes()), quarter="2017Q3", **rules
        )
        return found.persons[contact], found.persons[record]

    hard = resolve(continues=continues, apart=[(contact, record)])
    assert hard[0] == known
    assert hard[1] != known
    assert resolve(continues=continues, apart_unless_known=[(contact, record)]) == (known, known)
    # the contact not known to be hers: kept apart
    loose = resolve(apart_unless_known=[(contact, record)])
    assert loose[0] != loose[1]


def test_tables_need_distinct_source_names() -> None:
    with pytest.raises(InputError, match="its own source name"):
        resolve_persons(
            [encode_rows(POLICE, source="x"), encode_rows(SCHOOLS, source="x")],
            PersonIndex.new(NAMESPACE),
            quarter="2015Q2",
        )


def test_households_group_records_at_the_same_address() -> None:
    rows = [
        {
            "ref": "1",
            "forename": "Ann",
            "surname": "Lee",
            "dob": "1980-01-01",
            "sex": "F",
            "address": "12 High Street",
            "postcode": "NF1 2AB",
        },
        {
            "ref": "2",
            "forename": "Ben",
            "surname": "Lee",
            "dob": "2010-01-01",
            "sex": "M",
            "address": "12 High St",
            "postcode": "nf1 2ab",
        },  # same address, written differently
        {
            "ref": "3",
            "forename": "Cal",
            "surname": "Lee",
            "dob": "2012-01-01",
            "sex": "M",
            "address": "12 High Street, Flat A",
            "postcode": "NF1 2AB",
        },  # close: fuzzy join
        {
            "ref": "4",
            "forename": "Dee",
            "surname": "Ray",
            "dob": "1970-01-01",
            "sex": "F",
            "address": "14 High Street",
            "postcode": "NF1 2AB",
        },  # next door
        {
            "ref": "5",
            "forename": "Eve",
            "surname": "Ray",
            "dob": "1971-01-01",
            "sex": "F",
            "address": "",
            "postcode": "",
        },  # no address: no household
    ]
    found = households([encode_rows(rows, source="schools")], namespace=NAMESPACE)
    of = found.of_record
    assert of[("schools", "1")] == of[("schools", "2")] == of[("schools", "3")]
    assert of[("schools", "4")] != of[("schools", "1")]
    assert ("schools", "5") not in of
    assert re.fullmatch(r"H[A-Z2-7]{13}", of[("schools", "1")])


def test_an_address_written_with_its_area_and_town_is_the_same_household() -> None:
    """A housing system writes the area and town after the street; a school does not. For a short
    address the extra words alone put Dice far below the fuzzy threshold (about 0.56), so the
    share of the shorter address found in the longer decides, numbers and postcode permitting."""
    person = {"forename": "Kavita", "surname": "Patel", "dob": "2001-07-07", "sex": "F"}
    rows = [
        {"ref": "1", **person, "address": "19 Tagore Walk", "postcode": "NF2 2AA"},
        {
            "ref": "2",
            **person,
            "address": "19 Tagore Walk, Eastbury, Northfield",
            "postcode": "NF2 2AA",
        },
        {"ref": "4", **person, "address": "21 Tagore Walk, Eastbury", "postcode": "NF2 2AA"},
        {"ref": "5", **person, "address": "19 Tagore Walk, Eastbury", "postcode": "NF2 9ZZ"},
    ]
    of = households([encode_rows(rows, source="housing")], namespace=NAMESPACE).of_record
    assert of[("housing", "1")] == of[("housing", "2")]
    # another number, another postcode: other households
    assert of[("housing", "4")] != of[("housing", "1")]
    assert of[("housing", "5")] != of[("housing", "1")]


def test_households_list_the_ways_their_address_was_written() -> None:
    """Each household's keyed household tokens (one per way of writing the address), which ingest
    remembers so that the household keeps its id however partners write it next quarter."""
    person = {"forename": "Kavita", "surname": "Patel", "dob": "2001-07-07", "sex": "F"}
    rows = [
        {"ref": "1", **person, "address": "19 Tagore Walk", "postcode": "NF2 2AA"},
        {"ref": "2", **person, "address": "19 Tagore Walk", "postcode": "NF2 2AA"},
        {"ref": "3", **person, "address": "19 Tagore Walk, Eastbury", "postcode": "NF2 2AA"},
        {"ref": "4", **person, "address": "21 Tagore Walk", "postcode": "NF2 2AA"},
    ]
    found = households([encode_rows(rows, source="x")], namespace=NAMESPACE)
    home, next_door = found.of_record[("x", "1")], found.of_record[("x", "4")]
    assert set(found.tokens) == {home, next_door}
    assert len(found.tokens[home]) == 2  # two ways of writing it
    assert len(found.tokens[next_door]) == 1
    assert found.tokens[home].isdisjoint(found.tokens[next_door])


def test_an_address_written_a_new_way_is_found_among_remembered_records() -> None:
    """The school wrote the flat last quarter; this quarter only the police write it, in their own
    way. Nothing shares its token, but a remembered record at the same postcode with the same
    numbers and a close address does; another street's number 10 at that postcode does not, nor
    does a record with no house numbers."""
    person = {"forename": "Kavita", "surname": "Patel", "dob": "2001-07-07", "sex": "F"}
    remembered = encode_rows(
        [
            {
                "ref": "S1",
                **person,
                "address": "Flat 10, Albany Mansions, 58 Gladstone Terrace",
                "postcode": "NF3 4CD",
            },
            {"ref": "S2", **person, "address": "10 Heath Street 58", "postcode": "NF3 4CD"},
            {"ref": "S3", **person, "address": "Rose Cottage", "postcode": "NF3 4CD"},
            {
                "ref": "S4",
                **person,
                "address": "Flat 10, Albany Mansions, 58 Gladstone Terrace",
                "postcode": "NF3 9ZZ",
            },
        ],
        source="schools",
    )
    now = encode_rows(
        [
            {
                "ref": "P1",
                **person,
                "address": "10 ALBANY MANSIONS, 58 GLADSTONE TERR",
                "postcode": "NF3 4CD",
            },
            {"ref": "P2", **person, "address": "Rose Cottage Lane", "postcode": "NF3 4CD"},
            {
                "ref": "P3",
                **person,
                "address": "Flat 10, 59 Gladstone Terrace",
                "postcode": "NF3 4CD",
            },
        ],
        source="police",
    )
    school = households([remembered], namespace=NAMESPACE)
    flat = school.tokens[school.of_record[("schools", "S1")]]
    near = near_remembered(
        [now], [("police", "P1"), ("police", "P2"), ("police", "P3")], remembered
    )
    assert near == {("police", "P1"): flat}
    # only the records asked about are looked up
    assert near_remembered([now], [("police", "P2")], remembered) == {}


def test_households_list_their_persons() -> None:
    index, persons = _quarter_one()
    tables = [encode_rows(POLICE, source="police"), encode_rows(SCHOOLS, source="schools")]
    found = households(tables, namespace=NAMESPACE, persons=persons)
    l1 = found.of_record[("police", "L1")]
    assert found.persons[l1] == {persons[("police", "L1")]}
    assert len(index) == 6


def test_a_person_whose_records_split_keeps_its_id_and_is_not_retired() -> None:
    # Remembered rows 0-3: person X has three records, Z one. This quarter's clustering puts
    # two of X's records in one group (X survives there) and X's third record with Z's (one
    # each: Z's smaller id wins the tie there): X is split, not merged away.
    import numpy as np

    from kinfold.linkage._persons import _name, _Workspace

    x, z = "PXXXXXXXXXXXXX", "PAAAAAAAAAAAAA"
    work = _Workspace(
        table=None,
        encoded_from=0,
        remembered=4,
        sources=np.array(["police", "police", "schools", "schools", "health"]),
        record_ids=np.array(["1", "2", "3", "4", "5"]),
        old_persons=np.array([x, x, x, z, ""]),
        old_quarters=np.array(["2015Q2"] * 4 + [""]),
    )
    labels = np.array([0, 0, 1, 1, 1])  # group 1: X's third record, Z's record, a new one
    persons, new, merged = _name(work, PersonIndex.new(NAMESPACE), labels, "2015Q3")
    assert persons[:2] == [x, x]
    assert persons[2:] == [z, z, z]
    assert new == []
    assert merged == {}, "X keeps its id in group 0, so it must not also be recorded as retired"


def test_a_record_the_caller_leaves_unlinked_is_a_person_of_its_own() -> None:
    index, q1 = _quarter_one()
    again = [dict(LEFT_PEOPLE[0], ref="H1"), dict(LEFT_PEOPLE[1], ref="H2")]
    q2 = resolve_persons(
        [encode_rows(again, source="housing")],
        PersonIndex.from_bytes(index.to_bytes()),
        quarter="2015Q3",
        unlinked=[("housing", "H1")],
    )
    assert q2.person_of("housing", "H2") == q1[("police", "L2")]
    assert q2.person_of("housing", "H1") not in q1.values()
    assert q2.new_persons == [q2.person_of("housing", "H1")]
