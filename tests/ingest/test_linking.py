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
            # the names written the wrong way round: the same name
            {
                "id": "N5",
                "first": "Kaur",
                "last": "Ananya",
                "address": "4 Ash Row",
                "postcode": "NF3 1AB",
            },
        ],
    )
    tables = [named, own]
    homes = households(tables, namespace=b"n" * 32).of_record
    assert homes[("police", "N2")] == homes[("schools~related", "Q/P1/0")]
    pairs = {(a[1], b[1]) for a, b in linking.contacts_apart(tables, homes)}
    assert pairs == {("Q/P1/0", "N1"), ("Q/P1/0", "N5")}
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


def test_a_remembered_record_with_only_a_name_is_not_linked_where_namesakes_are_known() -> None:
    """A support case with a name and a phone number (not compared), kept apart last quarter, is
    remembered by the index as a person of its own; this quarter a school names a contact of
    that name, and another of that name lives elsewhere: the case still cannot be told whose it
    is, so it is not linked now either. A contact remembered so is not a partner's own record."""
    meena = {"first": "Meena", "last": "Shah"}
    remembered = table(
        "",
        [
            {"id": "DA1", **meena},
            {"id": "2016Q3/S9/0", **meena},
            {
                "id": "H1",
                **meena,
                "dob": "1984-10-07",
                "address": "40 Church Way",
                "postcode": "NF3 3AQ",
            },
        ],
    )
    sources = ["das", "schools~related", "health"]
    contact = table(
        "schools~related",
        [{"id": "2016Q4/S1/0", **meena, "address": "13 Mandela Lodge", "postcode": "NF6 5AW"}],
    )
    assert linking.too_thin_to_link([contact], remembered, sources) == [("das", "DA1")]
    # without the remembered rows' sources, only this quarter's records are judged
    assert linking.too_thin_to_link([contact], remembered) == []


def test_a_name_alone_does_not_tie_a_record_to_the_past_where_namesakes_are_known() -> None:
    """A school names Chiamaka Okafor with her address; the index remembers a police record of a
    Chiamaka Okafor with a date of birth and no address, and another born in 1978: the two
    records share only the name, so that tie is not made. The same police record with the
    contact's address, or a name one person has, still links as the evidence says."""
    chiamaka = {"first": "Chiamaka", "last": "Okafor"}
    contact = table(
        "schools~related",
        [{"id": "2019Q1/S1/0", **chiamaka, "address": "15 School Close", "postcode": "NF4 4AU"}],
    )
    remembered = table(
        "",
        [
            {"id": "NF/18/1", **chiamaka, "dob": "1991-04-06"},
            {
                "id": "NF/17/2",
                **chiamaka,
                "dob": "1978-09-20",
                "address": "12 Aspen Crescent",
                "postcode": "NF6 8AB",
            },
            {"id": "NF/17/3", **chiamaka, "address": "15 School Close", "postcode": "NF4 4AU"},
        ],
    )
    sources = ["police", "police", "police"]
    pairs = linking.names_alone_with_past([contact], remembered, sources)
    assert pairs == [(("schools~related", "2019Q1/S1/0"), ("police", "NF/18/1"))]
    one_birth = remembered.take([0, 2])
    assert linking.names_alone_with_past([contact], one_birth, sources[:2]) == []
    assert linking.names_alone_with_past([contact], None, []) == []


@pytest.mark.parametrize(
    ("description", "chosen", "history", "expected"),
    [
        (
            "records give the address they left: they stay where they moved to",
            {"PA": "HOLD"},
            {"PA": [("2015Q4", "HOLD"), ("2016Q1", "HNEW")]},
            {"PA": "HNEW"},
        ),
        (
            "back to a household left two quarters ago, through a third",
            {"PA": "HFIRST"},
            {"PA": [("2015Q3", "HFIRST"), ("2015Q4", "HSECOND"), ("2016Q1", "HTHIRD")]},
            {"PA": "HTHIRD"},
        ),
        (
            "a household never lived in: a move",
            {"PA": "HNEWER"},
            {"PA": [("2015Q4", "HOLD"), ("2016Q1", "HNEW")]},
            {"PA": "HNEWER"},
        ),
        (
            "still where they were",
            {"PA": "HNEW"},
            {"PA": [("2015Q4", "HOLD"), ("2016Q1", "HNEW")]},
            {"PA": "HNEW"},
        ),
        ("no history: a new person", {"PA": "HOLD"}, {}, {"PA": "HOLD"}),
        (
            "first met after a move: records give the home the people she lives with left",
            {"PMOTHER": "HOLD", "PCHILD": "HNEW"},
            {
                "PMOTHER": [("2016Q1", "HNEW")],
                "PCHILD": [("2015Q4", "HOLD"), ("2016Q1", "HNEW")],
            },
            {"PMOTHER": "HNEW", "PCHILD": "HNEW"},
        ),
        (
            "the people she lived with have moved on again: her records decide",
            {"PMOTHER": "HOLD", "PCHILD": "HNEWER"},
            {
                "PMOTHER": [("2016Q1", "HNEW")],
                "PCHILD": [("2015Q4", "HOLD"), ("2016Q1", "HNEW")],
            },
            {"PMOTHER": "HOLD", "PCHILD": "HNEWER"},
        ),
        (
            "a household none of the people she lived with lived in: a move",
            {"PMOTHER": "HNEWER", "PCHILD": "HNEW"},
            {
                "PMOTHER": [("2016Q1", "HNEW")],
                "PCHILD": [("2015Q4", "HOLD"), ("2016Q1", "HNEW")],
            },
            {"PMOTHER": "HNEWER", "PCHILD": "HNEW"},
        ),
    ],
)
def test_a_person_whose_records_give_an_address_they_left_stays_where_they_moved_to(
    description: str,
    chosen: dict[str, str],
    history: dict[str, list[tuple[str, str]]],
    expected: dict[str, str],
) -> None:
    assert linking.stay_after_moving(chosen, history) == expected, description


FAMILY_AT_OLD = {
    person: [("2015Q4", "HOLD")] for person in ("PMOTHER", "PFATHER", "PCHILD", "PBABY")
}
CHILDREN = {"PCHILD", "PBABY"}


@pytest.mark.parametrize(
    ("description", "chosen", "expected"),
    [
        (
            "the adults moved on together: a child left behind goes with them",
            {"PMOTHER": "HNEW", "PFATHER": "HNEW", "PBABY": "HNEW", "PCHILD": "HOLD"},
            {"PCHILD": "HNEW"},
        ),
        (
            "the adults moved on together, both children's records behind: both go with them",
            {"PMOTHER": "HNEW", "PFATHER": "HNEW", "PBABY": "HOLD", "PCHILD": "HOLD"},
            {"PCHILD": "HNEW", "PBABY": "HNEW"},
        ),
        (
            "one adult stayed (a separation): nobody is moved",
            {"PMOTHER": "HNEW", "PFATHER": "HOLD", "PBABY": "HNEW", "PCHILD": "HOLD"},
            {},
        ),
        (
            "the adults moved to two places: nobody is moved",
            {"PMOTHER": "HNEW", "PFATHER": "HOTHER", "PBABY": "HNEW", "PCHILD": "HOLD"},
            {},
        ),
        (
            "an adult left behind is not moved: they may truly have stayed",
            {"PMOTHER": "HOLD", "PFATHER": "HNEW", "PBABY": "HNEW", "PCHILD": "HNEW"},
            {},
        ),
        (
            "no adult placed this quarter: the other children lead",
            {"PBABY": "HNEW", "PCHILD": "HOLD"},
            {"PCHILD": "HNEW"},
        ),
        ("nobody else placed this quarter: nobody is moved", {"PCHILD": "HOLD"}, {}),
        (
            "the child is placed elsewhere already: their records decide",
            {"PMOTHER": "HNEW", "PFATHER": "HNEW", "PBABY": "HNEW", "PCHILD": "HTHIRD"},
            {},
        ),
    ],
)
def test_who_is_left_where_their_household_used_to_live(
    description: str, chosen: dict[str, str], expected: dict[str, str]
) -> None:
    assert linking.left_behind(chosen, FAMILY_AT_OLD, CHILDREN, set(chosen)) == expected, (
        description
    )


def test_a_parent_known_only_as_a_contact_does_not_take_the_children_with_her() -> None:
    """A school writes the mother's new address apart from the pupil's on the pupil's own row: she
    has left (a separation); the children's address is not stale. Only persons placed by their own
    records this quarter lead the children."""
    chosen = {"PMOTHER": "HNEW", "PBABY": "HOLD", "PCHILD": "HOLD"}
    assert linking.left_behind(chosen, FAMILY_AT_OLD, CHILDREN, {"PBABY", "PCHILD"}) == {}
    # the same move seen in the mother's own records is the household's
    assert linking.left_behind(chosen, FAMILY_AT_OLD, CHILDREN, set(chosen)) == {
        "PBABY": "HNEW",
        "PCHILD": "HNEW",
    }
    # a brother whose own records moved with her: the household moved; the stale child follows
    chosen = {"PMOTHER": "HNEW", "PBABY": "HNEW", "PCHILD": "HOLD"}
    assert linking.left_behind(chosen, FAMILY_AT_OLD, CHILDREN, {"PBABY", "PCHILD"}) == {
        "PCHILD": "HNEW"
    }


def test_a_contact_who_stays_holds_the_children_when_the_father_moves_out() -> None:
    """The father's own records move on, the mother (a school's contact) stays at the children's
    address: a separation, and the children stay."""
    chosen = {"PMOTHER": "HOLD", "PFATHER": "HNEW", "PBABY": "HOLD", "PCHILD": "HOLD"}
    assert linking.left_behind(chosen, FAMILY_AT_OLD, CHILDREN, {"PFATHER", "PBABY"}) == {}


@pytest.mark.parametrize(
    ("description", "chosen", "history", "gone"),
    [
        (
            "a family moved in together: the flat-sharer whose claim still gives the flat left",
            {"PMUM": "HFLAT", "PKID": "HFLAT", "PSHARER": "HFLAT"},
            {
                "PMUM": [("2015Q4", "HPREV")],
                "PKID": [("2015Q4", "HPREV")],
                "PSHARER": [("2015Q4", "HFLAT")],
            },
            {"PSHARER"},
        ),
        (
            "the family moved in last quarter and she was not placed with them then",
            {"PMUM": "HFLAT", "PKID": "HFLAT", "PSHARER": "HFLAT"},
            {
                "PMUM": [("2015Q3", "HPREV"), ("2015Q4", "HFLAT")],
                "PKID": [("2015Q3", "HPREV"), ("2015Q4", "HFLAT")],
                "PSHARER": [("2015Q3", "HFLAT")],
            },
            {"PSHARER"},
        ),
        (
            "placed with the family after they moved in: she lives with them",
            {"PMUM": "HFLAT", "PKID": "HFLAT", "PPARTNER": "HFLAT"},
            {
                "PMUM": [("2015Q3", "HPREV"), ("2015Q4", "HFLAT")],
                "PKID": [("2015Q3", "HPREV"), ("2015Q4", "HFLAT")],
                "PPARTNER": [("2015Q3", "HFLAT"), ("2015Q4", "HFLAT")],
            },
            set(),
        ),
        (
            "a child alone came to the other parent: he lives there",
            {"PKID": "HDAD", "PSIS": "HDAD", "PDAD": "HDAD"},
            {
                "PKID": [("2015Q4", "HMUM")],
                "PSIS": [("2015Q4", "HDAD")],
                "PDAD": [("2015Q4", "HDAD")],
            },
            set(),
        ),
        (
            "two who came from different homes are no family moving in",
            {"PMUM": "HFLAT", "PKID": "HFLAT", "PSHARER": "HFLAT"},
            {
                "PMUM": [("2015Q4", "HPREV")],
                "PKID": [("2015Q4", "HOTHER")],
                "PSHARER": [("2015Q4", "HFLAT")],
            },
            set(),
        ),
    ],
)
def test_adults_placed_where_a_family_moved_in_together_have_left(
    description: str,
    chosen: dict[str, str],
    history: dict[str, list[tuple[str, str]]],
    gone: set[str],
) -> None:
    children = {"PKID", "PSIS"}
    assert linking.left_before_a_family_moved_in(chosen, history, children) == gone, description


def test_left_behind_reads_each_persons_latest_household() -> None:
    """Co-residents are those of the child's most recent household, not of an earlier one,
    whatever else is known of them since."""
    history = {
        "PCHILD": [("2015Q3", "HEARLIER"), ("2015Q4", "HOLD")],
        "PMOTHER": [("2015Q4", "HOLD")],
        "PLODGER": [("2015Q3", "HEARLIER")],  # lived with the child before, not now
    }
    chosen = {"PCHILD": "HOLD", "PMOTHER": "HNEW", "PLODGER": "HELSEWHERE"}
    assert linking.left_behind(chosen, history, {"PCHILD"}, set(chosen)) == {"PCHILD": "HNEW"}
    # the mother placed again since (the child not seen last quarter) still lived with them then
    history["PMOTHER"].append(("2016Q1", "HNEW"))
    assert linking.left_behind(chosen, history, {"PCHILD"}, set(chosen)) == {"PCHILD": "HNEW"}


def test_a_parent_named_again_in_the_same_place_by_the_same_name_is_one_person() -> None:
    """A school names a pupil's mother each quarter; the family moves, so this quarter's row gives
    her a new address and nothing else to link by. Named on the same pupil's row in the same place
    by exactly the same name, she is the mother the index remembers from that row."""
    julia = {"first": "Julia", "last": "Lewandowska"}
    remembered = table(
        "",
        [
            {"id": "2015Q3/P1/0", **julia, "address": "20 Mill Street", "postcode": "NF8 8AF"},
            {"id": "2015Q4/P1/0", **julia, "address": "20 Mill Street", "postcode": "NF8 8AF"},
            {"id": "2015Q4/P2/0", "first": "Bartosz", "last": "Nowak"},
            {"id": "2015Q4/P3/0", **julia},
            {"id": "P1", **julia},  # a partner's own record with the same id: not a named parent
        ],
    )
    sources = ["schools~related"] * 4 + ["schools"]
    now = table(
        "schools~related",
        [
            {
                "id": "2016Q1/P1/0",
                **julia,
                "address": "Flat 15, Poplar Lodge",
                "postcode": "NF9 4AY",
            },
            # the school now names someone else on this pupil's row: left to linkage
            {"id": "2016Q1/P2/0", "first": "Hanna", "last": "Nowak"},
            # the same name on another pupil's row in another place: left to linkage
            {"id": "2016Q1/P3/1", **julia},
        ],
    )
    assert linking.named_again([now], remembered, sources) == [
        (("schools~related", "2016Q1/P1/0"), ("schools~related", "2015Q4/P1/0"))
    ]
    assert linking.named_again([now], None, []) == []
    # another partner's rows are another place
    police = table("police~related", [{"id": "2016Q1/P1/0", **julia}])
    assert linking.named_again([police], remembered, sources) == []


def test_a_contact_named_again_and_an_own_record_where_that_person_lived_are_a_move() -> None:
    """Stephen Walker lived at HOLD, then HNEW, where the school named him last quarter; this
    quarter the school names him at HNEW again and his police record still gives HOLD.
    contacts_apart keeps that contact and that record apart; moved_from picks out the pair.
    Not picked: his record at a household he never lived in, or a contact named again as a man
    who did not live where the school named him (a namesake taken for him once)."""
    contact, other_contact = ("schools~related", "2020Q1/S1/0"), ("schools~related", "2020Q1/S2/0")
    pairs = [
        (contact, ("police", "N1")),
        (contact, ("police", "N2")),
        (other_contact, ("police", "N3")),
    ]
    continues = [
        (contact, ("schools~related", "2019Q4/S1/0")),
        (other_contact, ("schools~related", "2019Q4/S2/0")),
    ]
    homes = {("police", "N1"): "HOLD", ("police", "N2"): "HELSEWHERE", ("police", "N3"): "HOWN"}
    before = {
        ("schools~related", "2019Q4/S1/0"): ("PA", "HNEW"),
        ("schools~related", "2019Q4/S2/0"): ("PB", "HCHILD"),
    }
    history = {
        "PA": [("2019Q2", "HOLD"), ("2019Q3", "HNEW"), ("2019Q4", "HNEW")],
        "PB": [("2019Q3", "HOWN"), ("2019Q4", "HOWN")],
    }
    moved = linking.moved_from(pairs, continues, homes, before, history)
    assert moved == [(contact, ("police", "N1"))]
    assert linking.moved_from(pairs, [], homes, before, history) == []
    # had he not lived where the school named him, nothing would be picked
    history["PA"] = [("2019Q2", "HOLD")]
    assert linking.moved_from(pairs, continues, homes, before, history) == []


@pytest.mark.parametrize(
    ("description", "of_record", "latest", "expected"),
    [
        (
            "most records decide",
            {("police", "N1"): "HNEW", ("dwp", "D1"): "HNEW", ("health", "A1"): "HOLD"},
            {"PA": "HOLD"},
            "HNEW",
        ),
        (
            "a tie: the person's own records rather than a contact's address",
            {("dwp", "D1"): "HNEW", ("schools~related", "Q/S1/0"): "HOLD"},
            {"PA": "HOLD"},
            "HNEW",
        ),
        (
            "a tie of their own records: the new address rather than the one they lived at",
            {("dwp", "D1"): "HA", ("police", "N1"): "HB"},
            {"PA": "HA"},
            "HB",
        ),
        (
            "a tie and nowhere before: the smaller id",
            {("dwp", "D1"): "HB", ("police", "N1"): "HA"},
            {},
            "HA",
        ),
        (
            "a tie and nowhere before: where fewer others are (a family has moved into the other)",
            {("dwp", "D1"): "HB", ("police", "N1"): "HA", ("schools", "S1"): "HA"},
            {},
            "HB",
        ),
        (
            "fewer others comes after the new address rather than the old",
            {("dwp", "D1"): "HB", ("police", "N1"): "HA", ("schools", "S1"): "HB"},
            {"PA": "HA"},
            "HB",
        ),
    ],
)
def test_a_persons_household_when_their_records_disagree(
    description: str,
    of_record: dict[tuple[str, str], str],
    latest: dict[str, str],
    expected: str,
) -> None:
    # PA's records are the dwp and police ones; the school's pupil is someone else (PB)
    persons = {record: "PB" if record[0] == "schools" else "PA" for record in of_record}
    chosen = linking.choose_households(persons, of_record, latest)
    assert chosen["PA"] == expected, description


def _fresh(name: str, n: int) -> str:
    return f"{name}-{n}"


def test_a_household_keeps_the_id_its_address_tokens_had_before() -> None:
    """Linkage named this quarter's households by postcode and numbers; two addresses sharing
    those swap names with who wrote more. Each keeps the id most of its tokens were found in."""
    before = {1: "HASPEN", 2: "HASPEN", 3: "HHEATH", 9: "HGONE"}
    found = {"HHEATH": {1, 2}, "HASPEN-TOKEN": {3, 4}}  # names swapped this quarter
    taken = {"HASPEN", "HHEATH", "HGONE"}
    assert linking.carry_household_ids(found, before, taken, _fresh) == {
        "HHEATH": "HASPEN",
        "HASPEN-TOKEN": "HHEATH",
    }


def test_one_id_goes_to_one_household_and_a_new_address_does_not_take_another_s() -> None:
    """An address split in two this quarter: the part with more of the tokens keeps the id, the
    other is named afresh. A new address whose own name is another address's id (it shares
    that address's postcode and numbers) is named afresh too; one never seen keeps its name."""
    before = {1: "HOLD", 2: "HOLD", 3: "HOLD"}
    found = {"HA": {1, 2}, "HB": {3}, "HOLD": {7}, "HNEW": {8}}
    kept = linking.carry_household_ids(found, before, {"HOLD"}, _fresh)
    assert kept == {"HA": "HOLD", "HB": "HB", "HOLD": "HOLD-1", "HNEW": "HNEW"}
    assert len(set(kept.values())) == len(kept)


def test_an_address_seen_only_written_a_new_way_keeps_the_id_of_the_one_close_to_it() -> None:
    """None of a household's tokens was seen before, but its address is written close to one
    remembered address (``nearby``): it takes that id — unless a household with known tokens
    kept it, when it is named afresh as before."""
    before = {1: "HFLAT", 2: "HOTHER"}
    found = {"HPOLICE": {5}, "HBOTH": {6}, "HOTHER-NOW": {2}}
    nearby = {"HPOLICE": "HFLAT", "HBOTH": "HOTHER"}
    kept = linking.carry_household_ids(found, before, {"HFLAT", "HOTHER"}, _fresh, nearby)
    assert kept == {"HPOLICE": "HFLAT", "HBOTH": "HBOTH", "HOTHER-NOW": "HOTHER"}


def test_a_parent_named_on_a_childs_row_is_born_twelve_years_before_the_child() -> None:
    """``parents_born``: each record's year; for a parent named on a row, the latest year of birth
    the child's allows, unless the row's own years contradict each other; likewise for known
    persons and their youngest child."""
    pupil, contact = ("schools", "P1"), ("schools~related", "2016Q1/P1/0")
    carer = ("csc", "C1~/0")
    births = linking.parents_born(
        own={pupil: 2010, ("health", "H1"): 2014},
        named={
            contact: (None, 2010),
            carer: (1979, 2012),  # a children's services row gives the carer's date of birth
            ("csc~related", "C2/0"): (2015, 2012),  # contradicts the child's: not checked
            ("das~related", "D1/0"): (1990, None),  # not named as a parent: no latest year
        },
        own_latest={},
        known={"PMOTHER": 1985, "PODD": 2014},
        children={"PMOTHER": 2010, "PODD": 2010, "PNOYEAR": 2009},
    )
    assert births.years == {
        pupil: 2010, ("health", "H1"): 2014, carer: 1979, ("csc~related", "C2/0"): 2015,
        ("das~related", "D1/0"): 1990,
    }  # fmt: skip
    assert births.latest == {contact: 1998, carer: 2000}
    assert births.known_years == {"PMOTHER": 1985, "PODD": 2014}
    assert births.known_latest == {"PMOTHER": 1998, "PNOYEAR": 1997}
    assert births.spread == linking.YEARS_APART == 10


def test_a_record_of_what_only_someone_older_can_have_allows_no_later_year_of_birth() -> None:
    """``parents_born`` with ``own_latest`` (from ``ages.latest_year_of_birth``): a record's
    latest possible year of birth stands, unless the record's own date of birth is later — a
    contradiction the record carries itself, where nothing is checked."""
    offence, claim, odd = ("police", "N1"), ("dwp", "D1"), ("police", "N2")
    births = linking.parents_born(
        own={claim: 1980, odd: 2012},
        named={},
        own_latest={offence: 2007, claim: 2001, odd: 2007},
        known={},
        children={},
    )
    assert births.latest == {offence: 2007, claim: 2001}
    assert births.years == {claim: 1980, odd: 2012}


def test_the_latest_year_of_birth_a_record_allows_is_its_youngest_indicators() -> None:
    from datetime import date

    from kinfold.ingest.ages import latest_year_of_birth

    assert latest_year_of_birth([("police.offence", date(2017, 3, 1))]) == 2007
    assert (
        latest_year_of_birth(
            [("police.offence", date(2017, 3, 1)), ("probation.supervision", date(2016, 1, 5))]
        )
        == 1998
    )
    assert latest_year_of_birth([("health.mental_health", date(2017, 3, 1))]) is None
    assert latest_year_of_birth([("csc.child_in_need", date(2017, 3, 1))]) is None
    assert latest_year_of_birth([]) is None
