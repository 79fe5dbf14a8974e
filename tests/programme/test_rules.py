"""The array rules on small, hand-checked cases (no database)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kinfold.programme import rules
from kinfold.programme.frameworks import FamilyRule
from kinfold.quarters import Quarter

Q = Quarter(2016, 1)


def arr(*values: int) -> rules.I64:
    return np.array(values, dtype=np.int64)


def test_parents_as_partners_last_named_them() -> None:
    links = rules.ParentLinks(
        child=arr(1, 1, 1, 2),
        parent=arr(10, 11, 12, 20),
        quarter=arr(Q.index - 2, Q.index - 1, Q.index + 1, Q.index - 3),
    )
    child, parent = links.as_of(Q)
    assert sorted(zip(child.tolist(), parent.tolist(), strict=True)) == [(1, 11), (2, 20)]


@given(st.lists(st.tuples(st.integers(1, 4), st.integers(10, 14), st.integers(-3, 2)), max_size=20))
def test_each_child_keeps_only_its_latest_named_parents(rows: list[tuple[int, int, int]]) -> None:
    links = rules.ParentLinks(
        arr(*[r[0] for r in rows]), arr(*[r[1] for r in rows]), arr(*[Q.index + r[2] for r in rows])
    )
    child, parent = links.as_of(Q)
    expected = set()
    for c in {r[0] for r in rows}:
        named = [r for r in rows if r[0] == c and r[2] <= 0]
        if named:
            latest = max(r[2] for r in named)
            expected |= {(c, r[1]) for r in named if r[2] == latest}
    assert set(zip(child.tolist(), parent.tolist(), strict=True)) == expected


def test_people_without_records_stay_where_they_were_last_seen() -> None:
    table = np.array(
        [
            (Q.index - 3, 1, 100),
            (Q.index - 1, 1, 101),  # moved, then unseen
            (Q.index - 5, 2, 200),  # unseen too long
            (Q.index, 3, 300),  # seen this quarter
            (Q.index - 1, 3, 301),
        ],
        dtype=np.int64,
    )
    found = rules.residents_at(Q, table, stay=4)
    assert dict(zip(found.person.tolist(), found.household.tolist(), strict=True)) == {
        1: 101,
        3: 300,
    }
    assert dict(zip(found.person.tolist(), found.seen_mask().tolist(), strict=True)) == {
        1: False,
        3: True,
    }


@pytest.mark.parametrize(
    ("description", "later", "presumed_home"),
    [
        (
            "someone who lived elsewhere moved in after the child was last seen: the child left",
            [(Q.index - 2, 5, 900), (Q.index, 5, 100)],
            None,
        ),
        (
            "a newcomer moved in, and the child's mother was seen there since: the child stayed",
            [(Q.index - 2, 5, 900), (Q.index, 5, 100), (Q.index, 2, 100)],
            100,
        ),
        (
            "someone first heard of this quarter (no home known before) is no sign of a move",
            [(Q.index, 5, 100)],
            100,
        ),
        ("nobody else seen there since: presumed at home", [], 100),
        (
            "the newcomer arrived before the child was last seen: they lived together",
            [(Q.index - 3, 5, 900), (Q.index - 2, 5, 100), (Q.index, 5, 100)],
            100,
        ),
    ],
)
def test_someone_unseen_is_not_presumed_at_a_home_others_have_moved_into(
    description: str, later: list[tuple[int, int, int]], presumed_home: int | None
) -> None:
    # The child (1) and their mother (2) were last seen at home (100) two quarters ago.
    table = np.array(
        [(Q.index - 1, 1, 100), (Q.index - 1, 2, 100), (Q.index - 4, 1, 100), *later],
        dtype=np.int64,
    )
    found = rules.residents_at(Q, table, stay=4)
    homes = dict(zip(found.person.tolist(), found.household.tolist(), strict=True))
    assert homes.get(1) == presumed_home, description


@pytest.mark.parametrize(
    ("description", "born", "presumed_home"),
    [
        (
            "a pupil of 10 never seen before: schools list every pupil, so a family moved in",
            2006,
            None,
        ),
        ("a baby never seen before: may be the family's own new baby", 2016, 100),
        ("a 5-year-old may just have started school", 2011, 100),
        ("an adult never seen before: may be a parent with no records until now", 1980, 100),
    ],
)
def test_a_pupil_new_to_the_data_is_a_sign_that_a_family_moved_in(
    description: str, born: int, presumed_home: int | None
) -> None:
    """The child (1, a toddler, not yet at school) and their mother (2) were last seen at home
    (100) last quarter; this quarter someone nobody had seen anywhere before is seen there (5)."""
    table = np.array(
        [(Q.index - 4, 1, 100), (Q.index - 1, 1, 100), (Q.index - 1, 2, 100), (Q.index, 5, 100)],
        dtype=np.int64,
    )
    persons = rules.Persons.of([1, 2, 5], [2013, 1982, born])
    found = rules.residents_at(Q, table, stay=4, persons=persons)
    homes = dict(zip(found.person.tolist(), found.household.tolist(), strict=True))
    assert homes.get(1) == presumed_home, description
    assert homes.get(5) == 100


@pytest.mark.parametrize(
    ("description", "born", "later", "presumed"),
    [
        (
            "a pupil unseen has left, their family with them; newcomers with no records moved in",
            2006,
            [(Q.index, 5, 100), (Q.index, 6, 100)],
            {5: 100, 6: 100},
        ),
        (
            "a pupil unseen, nobody seen there since: the family left with the pupil",
            2006,
            [],
            {},
        ),
        (
            "a toddler unseen one quarter may have missed the health visitor's contacts",
            2013,
            [(Q.index - 1, 1, 100), (Q.index, 5, 100)],
            {1: 100, 2: 100, 3: 100, 5: 100},
        ),
        (
            "a toddler unseen two quarters running has left, their family with them",
            2013,
            [(Q.index, 5, 100)],
            {5: 100},
        ),
        (
            "the pupil's father is seen there this quarter: the pupil alone has gone",
            2006,
            [(Q.index, 3, 100)],
            {2: 100, 3: 100},
        ),
        (
            "the mother was seen there after the pupil was last seen: she did not leave with them",
            2006,
            [(Q.index - 1, 2, 100)],
            {2: 100},
        ),
    ],
)
def test_a_pupil_unseen_this_quarter_is_not_presumed_at_home(
    description: str, born: int, later: list[tuple[int, int, int]], presumed: dict[int, int]
) -> None:
    """The child (1), their mother (2) and father (3) were last seen at home (100) two quarters
    ago; schools send every pupil every quarter."""
    table = np.array(
        [(Q.index - 2, 1, 100), (Q.index - 2, 2, 100), (Q.index - 2, 3, 100), *later],
        dtype=np.int64,
    )
    persons = rules.Persons.of([1, 2, 3, 5, 6], [born, 1982, 1980, 1990, 1991])
    found = rules.residents_at(Q, table, stay=4, persons=persons)
    homes = dict(zip(found.person.tolist(), found.household.tolist(), strict=True))
    assert homes == presumed, description


@pytest.mark.parametrize(
    ("description", "newcomer_born", "presumed"),
    [
        (
            "an adult first seen there: the young person has gone, their mother is presumed home",
            1990,
            {2: 100, 5: 100},
        ),
        ("a baby first seen there: most often a new family's too", 2016, {2: 100, 5: 100}),
    ],
)
def test_a_young_person_past_school_age_is_not_presumed_at_a_home_newcomers_are_seen_in(
    description: str, newcomer_born: int, presumed: dict[int, int]
) -> None:
    """A young person of 18 (1) and their mother (2) were last seen at home (100) last quarter;
    this quarter someone nobody had seen anywhere before (5) is seen there."""
    table = np.array(
        [(Q.index - 1, 1, 100), (Q.index - 1, 2, 100), (Q.index, 5, 100)], dtype=np.int64
    )
    persons = rules.Persons.of([1, 2, 5], [Q.year - 18, 1975, newcomer_born])
    found = rules.residents_at(Q, table, stay=4, persons=persons)
    homes = dict(zip(found.person.tolist(), found.household.tolist(), strict=True))
    assert homes == presumed, description


@given(
    st.dictionaries(
        st.tuples(st.integers(-4, 0), st.integers(1, 6)),
        st.integers(100, 103),
        min_size=1,
        max_size=25,
    )
)
def test_moving_out_matches_its_definition(placed: dict[tuple[int, int], int]) -> None:
    """The array form of the moved-out rule against its plain definition (one household per
    person and quarter, as ingest writes them)."""
    rows = [(k, p, h) for (k, p), h in placed.items()]
    table = np.array([(Q.index + k, p, h) for k, p, h in rows], dtype=np.int64)
    found = rules.residents_at(Q, table, stay=4)
    homes = dict(zip(found.person.tolist(), found.household.tolist(), strict=True))
    last = {}
    for k, p, h in sorted(rows):
        last[p] = (k, h)
    for person, (when, home) in last.items():
        moved_out = False
        if when < 0:
            later = {p for k, p, h in rows if h == home and k > when}
            before = {p for k, p, h in rows if h == home and k <= when}
            moved_in = any(
                min(k for k, q, h in rows if q == p and h == home)
                > min(k for k, q, _ in rows if q == p)
                for p in later
            )
            moved_out = bool(later) and not (later & before) and moved_in
        assert homes.get(person) == (None if moved_out else home)


# At the end of 2016Q1 a birthday is taken as not yet passed: born 1998 reads as 17.
@pytest.mark.parametrize(
    ("born", "educated", "dependent"),
    [
        (2000, False, True),
        (1998, False, True),
        (1997, False, False),
        (1997, True, True),
        (1995, True, False),
        (0, False, False),  # year unknown: an adult
    ],
)
def test_dependent_children(born: int, educated: bool, dependent: bool) -> None:
    persons = rules.Persons.of([1], [born])
    result = rules.dependent(FamilyRule(), Q, arr(1), persons, arr(1) if educated else arr())
    assert bool(result[0]) is dependent


# With the month known, the age at the end of 2016Q1 (31 March) is exact.
@pytest.mark.parametrize(
    ("born", "month", "educated", "dependent"),
    [
        (1998, 3, False, False),  # 18 on or before 31 March
        (1998, 4, False, True),  # still 17
        (1996, 2, True, False),  # 20: past the age in education counts to
        (1996, 11, True, True),  # 19 at college
        (1998, 0, False, True),  # month unknown: the estimate from the year, 17
    ],
)
def test_dependent_children_by_month_of_birth(
    born: int, month: int, educated: bool, dependent: bool
) -> None:
    persons = rules.Persons.of([1], [born], [month])
    result = rules.dependent(FamilyRule(), Q, arr(1), persons, arr(1) if educated else arr())
    assert bool(result[0]) is dependent


def test_age_at_a_quarter_s_end_counts_a_birthday_in_its_last_month() -> None:
    """A birthday on any day of the quarter's last month has passed by its last day; one in the
    month after has not."""
    ages = rules.age_at(Quarter(2019, 2), arr(1999, 1999, 1999, 1999), arr(6, 7, 1, 0))
    assert ages.tolist() == [20, 19, 20, 19]


def test_a_household_nobody_heard_of_this_quarter_is_not_a_family() -> None:
    residents = rules.Residents(
        Q, arr(1, 2, 3, 4), arr(10, 10, 20, 20), np.array([False, False, True, False])
    )
    persons = rules.Persons.of([1, 2, 3, 4], [1980, 2008, 1980, 2008])
    groups = rules.form_groups(residents, persons, arr(), rules.ParentLinks.empty(), FamilyRule())
    assert groups.keys.tolist() == [20]


def test_a_child_moving_to_the_other_parents_home_starts_a_new_family() -> None:
    persons = rules.Persons.of([1, 2, 3], [1980, 2008, 1978])
    before = rules.form_groups(
        rules.Residents(Q - 1, arr(1, 2, 3), arr(10, 10, 30)),
        persons,
        arr(),
        rules.ParentLinks.empty(),
        FamilyRule(),
    )
    after = rules.form_groups(
        rules.Residents(Q, arr(1, 2, 3), arr(10, 30, 30)),
        persons,
        arr(),
        rules.ParentLinks.empty(),
        FamilyRule(),
    )
    assert after.keys.tolist() == [30]
    assert rules.match_groups(before, after).tolist() == [-1]


def test_a_household_moving_house_keeps_its_family() -> None:
    persons = rules.Persons.of([1, 2], [1980, 2008])
    before = rules.form_groups(
        rules.Residents(Q - 1, arr(1, 2), arr(10, 10)),
        persons,
        arr(),
        rules.ParentLinks.empty(),
        FamilyRule(),
    )
    after = rules.form_groups(
        rules.Residents(Q, arr(1, 2), arr(40, 40)),
        persons,
        arr(),
        rules.ParentLinks.empty(),
        FamilyRule(),
    )
    assert rules.match_groups(before, after).tolist() == [0]


def _flags_of(rows: list[tuple[int, str, int]], codes: tuple[str, ...]) -> rules.Flags:
    """Flags from (person, code, quarter index) rows."""
    n = len(rows)
    return rules.Flags(
        person=arr(*(r[0] for r in rows)),
        code=arr(*(codes.index(r[1]) for r in rows)),
        quarter=arr(*(r[2] for r in rows)),
        value=np.full(n, np.nan),
        organisation=np.zeros(n, np.int64),
        category=np.zeros(n, np.int64),
        day=np.zeros(n, np.int64),
        row=np.arange(n, dtype=np.int64),
        codes=codes,
    )


def test_flags_a_person_is_too_young_or_too_old_for_are_left_out() -> None:
    """A police offence on a child born in 2013, raised in 2017, is a namesake parent's record
    linked to the child; the same on a ten-year-old (by the end of the year) stands. Children's
    social care on someone born in 1990 is wrong the other way. Ages get the benefit of the year:
    someone born in 2007 may be ten by the end of 2017. Unknown years of birth and codes without
    limits pass."""
    codes = ("csc.child_in_need", "health.ae_injury", "police.offence")
    persons = rules.Persons.of([1, 2, 3, 4], [2013, 2007, 1990, 0])
    q2017 = Quarter(2017, 2).index
    flags = _flags_of(
        [
            (1, "police.offence", q2017),  # four: out
            (2, "police.offence", q2017),  # ten by December: kept
            (2, "police.offence", Quarter(2016, 4).index),  # nine at most: out
            (1, "health.ae_injury", q2017),  # no limits
            (3, "csc.child_in_need", q2017),  # 26 at least: out
            (2, "csc.child_in_need", q2017),  # kept
            (4, "police.offence", q2017),  # year unknown: kept
        ],
        codes,
    )
    limits = {"police.offence": (10, None), "csc.child_in_need": (None, 17)}
    keep = rules.within_ages(flags, persons, limits)
    assert keep.tolist() == [False, True, False, True, False, True, True]
    assert flags.take(keep).row.tolist() == [1, 3, 5, 6]


def test_the_contract_s_age_limits_cover_only_known_codes_and_are_ordered() -> None:
    from kinfold.programme.codes import AGE_LIMITS, CONTRACT_CODES

    assert set(AGE_LIMITS) <= set(CONTRACT_CODES)
    for youngest, oldest in AGE_LIMITS.values():
        assert youngest is None or oldest is None or youngest <= oldest
