"""The hub's constraints on linkage, on encodings only: who can never be one person."""

from __future__ import annotations

import pytest

from kinfold.ingest import linking
from kinfold.linkage import ColumnMap, EncodedTable, encode, households, new_secret

SECRET = new_secret()
MAP = ColumnMap.parse(
    "given_name=first,surname=last,address=address,postcode=postcode,dob=dob,id=id"
)


def table(source: str, rows: list[dict[str, str]]) -> EncodedTable:
    full = [{"first": "", "last": "", "address": "", "postcode": "", "dob": "", **r} for r in rows]
    return encode(full, MAP, SECRET, source=source)


def test_a_row_and_the_person_it_names_are_kept_apart() -> None:
    named = table(
        "schools~related",
        [{"id": "2016Q1/P1/0", "first": "Ann"}, {"id": "2016Q1/P2/0", "first": "Bo"}],
    )
    pairs = linking.named_apart([table("schools", [{"id": "P1"}]), named])
    assert pairs == [
        (("schools", "P1"), ("schools~related", "2016Q1/P1/0")),
        (("schools", "P2"), ("schools~related", "2016Q1/P2/0")),
    ]


def test_namesakes_named_at_different_addresses_are_kept_apart_and_at_one_address_not() -> None:
    maryam = {"first": "Maryam", "last": "Khatun"}
    named = table(
        "schools~related",
        [
            {"id": "Q/A/0", **maryam, "address": "12 Highfield Lane", "postcode": "NF1 4AH"},
            {"id": "Q/B/0", **maryam, "address": "12 Highfield Lane", "postcode": "NF1 4AH"},
            {"id": "Q/C/0", **maryam, "address": "Flat 22, Mandela Court", "postcode": "NF3 5AB"},
            {
                "id": "Q/D/0",
                "first": "Maryam",
                "last": "Khan",
                "address": "1 Oak Road",
                "postcode": "NF2 1AA",
            },
            {"id": "Q/E/0", **maryam},  # no address: links as the evidence says
        ],
    )
    pairs = {(a[1], b[1]) for a, b in linking.namesakes_apart([named])}
    assert pairs == {("Q/A/0", "Q/C/0"), ("Q/B/0", "Q/C/0")}


def test_a_contact_and_an_own_record_of_one_name_in_other_households_are_kept_apart() -> None:
    ananya = {"first": "Ananya", "last": "Kaur"}
    home = {"address": "Flat 3, Jinnah Point, 1 Rowan Grove", "postcode": "NF8 0AA"}
    named = table("schools~related", [{"id": "Q/P1/0", **ananya, **home}])
    own = table(
        "police",
        [
            {"id": "N1", **ananya, "address": "27 Clifton Close", "postcode": "NF9 0AD"},
            # the same address written another way: one household, not kept apart
            {
                "id": "N2",
                **ananya,
                "address": "FLAT 3 JINNAH POINT 1 ROWAN GROVE",
                "postcode": "NF8 0AA",
            },
            {"id": "N3", **ananya, "dob": "1987-03-27"},  # no address: the evidence decides
            {
                "id": "N4",
                "first": "Ananya",
                "last": "Patel",
                "address": "9 Elm Road",
                "postcode": "NF2 2AB",
            },
        ],
    )
    tables = [named, own]
    homes = households(tables, namespace=b"n" * 32).of_record
    assert homes[("police", "N2")] == homes[("schools~related", "Q/P1/0")]
    pairs = {(a[1], b[1]) for a, b in linking.contacts_apart(tables, homes)}
    assert pairs == {("Q/P1/0", "N1")}
    assert (("schools~related", "Q/P1/0"), ("police", "N1")) in linking.kept_apart(tables, homes)
    assert (("schools~related", "Q/P1/0"), ("police", "N1")) not in linking.kept_apart(tables)


def test_a_carer_named_by_name_alone_is_not_linked() -> None:
    named = table(
        "csc~related",
        [
            {"id": "Q/1/0", "first": "Sam", "last": "Example"},
            {"id": "Q/2/0", "first": "Sam", "last": "Example", "dob": "1980-01-02"},
            {"id": "Q/3/0", "first": "Sam", "last": "Example", "postcode": "NF1 1AA"},
        ],
    )
    tables, left_out = linking.tables_to_link([], [named])
    assert left_out == 1
    assert tables[0].record_ids.tolist() == ["Q/2/0", "Q/3/0"]


def test_a_name_only_tie_is_not_made_where_namesakes_live() -> None:
    records = table(
        "health",
        [
            {
                "id": "H1",
                "first": "Lily",
                "last": "Miller",
                "dob": "1957-12-26",
                "postcode": "NF1 1AA",
                "address": "1 Oak Road",
            },
            {
                "id": "H2",
                "first": "Lily",
                "last": "Miller",
                "dob": "1984-03-02",
                "postcode": "NF2 2BB",
                "address": "9 Elm Way",
            },
        ],
    )
    carers = table(
        "csc~related", [{"id": "Q/C1/0", "first": "Lily", "last": "Miller", "dob": "1957-12-26"}]
    )
    contacts = table(
        "schools~related",
        [
            {
                "id": "Q/S1/0",
                "first": "Lily",
                "last": "Miller",
                "address": "9 Elm Way",
                "postcode": "NF2 2BB",
            }
        ],
    )
    pairs = {(a[1], b[1]) for a, b in linking.ambiguous_names_apart([records, carers, contacts])}
    # the carer (a date of birth, no address) and the contact (an address, no date of birth) share
    # nothing but a name two people have: they are kept apart; everything comparable is left to
    # linkage
    assert pairs == {("Q/C1/0", "Q/S1/0")}


def test_a_name_only_one_person_has_joins_as_the_evidence_says() -> None:
    records = table(
        "health", [{"id": "H1", "first": "Zebedee", "last": "Quill", "dob": "1957-12-26"}]
    )
    contacts = table(
        "schools~related",
        [
            {
                "id": "Q/S1/0",
                "first": "Zebedee",
                "last": "Quill",
                "address": "9 Elm Way",
                "postcode": "NF2 2BB",
            }
        ],
    )
    assert linking.ambiguous_names_apart([records, contacts]) == []


@pytest.mark.parametrize(
    ("description", "named_at", "child_home", "parent_home", "doubtful"),
    [
        ("named at the child's home, lives there", "H1", "H1", "H1", False),
        ("named at the child's home, linked to someone living elsewhere", "H1", "H1", "H2", True),
        ("named at the child's home, linked to someone placed nowhere", "H1", "H1", None, True),
        (
            "named at another address, lives there: a parent living elsewhere",
            "H2",
            "H1",
            "H2",
            False,
        ),
        (
            "named at another address, lives at a third: not what this rule judges",
            "H2",
            "H1",
            "H3",
            False,
        ),
        ("named with no address (a carer's name and date of birth)", None, "H1", "H2", False),
        ("the child placed nowhere", "H1", None, "H2", False),
    ],
)
def test_a_parent_named_at_the_childs_home_but_linked_to_someone_elsewhere_is_not_linked(
    description: str,
    named_at: str | None,
    child_home: str | None,
    parent_home: str | None,
    doubtful: bool,
) -> None:
    found = linking.lives_elsewhere_than_named(
        named_at=named_at, child_home=child_home, parent_home=parent_home
    )
    assert found is doubtful, description


@pytest.mark.parametrize(
    ("description", "homes", "expected"),
    [
        (
            "two households in one quarter: two people",
            {"PA": {"2016Q1": 1, "2016Q2": 1}, "PB": {"2016Q2": 2}},
            [("PA", "PB")],
        ),
        ("one household in a quarter they share", {"PA": {"2016Q1": 1}, "PB": {"2016Q1": 1}}, []),
        (
            "different households but never in the same quarter (a move)",
            {"PA": {"2016Q1": 1}, "PB": {"2016Q2": 2}},
            [],
        ),
        ("one never placed anywhere", {"PA": {"2016Q1": 1}}, []),
    ],
)
def test_known_persons_placed_in_two_households_at_once_are_not_merged(
    description: str, homes: dict[str, dict[str, int]], expected: list[tuple[str, str]]
) -> None:
    assert linking.placed_apart([["PA", "PB"]], homes) == expected, description


def test_each_pair_of_a_group_is_judged() -> None:
    homes = {"PA": {"2016Q1": 1}, "PB": {"2016Q1": 1}, "PC": {"2016Q1": 3}}
    assert linking.placed_apart([["PA", "PB", "PC"]], homes) == [("PA", "PC"), ("PB", "PC")]


def test_a_record_with_only_a_name_is_not_linked_where_the_index_knows_namesakes() -> None:
    """A police record naming Prakash Shah with no date of birth or address, and a school's
    Prakash Shah born in 2006: on this quarter alone the name is one boy's, but the person index
    remembers a Prakash Shah born in 1966 too, so whose the police record is cannot be told."""
    prakash = {"first": "Prakash", "last": "Shah"}
    police = table(
        "police", [{"id": "N1", **prakash}, {"id": "N2", "first": "Ngozi", "last": "Eze"}]
    )
    schools = table(
        "schools",
        [
            {
                "id": "S1",
                **prakash,
                "dob": "2006-08-31",
                "address": "4 Elm Row",
                "postcode": "NF1 1AA",
            }
        ],
    )
    remembered = table("", [{"id": "D1", **prakash, "dob": "1966-08-26"}])
    assert linking.too_thin_to_link([police, schools], remembered) == [("police", "N1")]
    assert linking.too_thin_to_link([police, schools]) == []  # one date of birth: one boy's name
    with_dob = table("police", [{"id": "N1", **prakash, "dob": "1966-08-26"}])
    assert linking.too_thin_to_link([with_dob, schools], remembered) == []
