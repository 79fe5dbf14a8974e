"""A framework's rules applied to arrays of household members and flags. No Django, no database.

Identification runs on a 250,000-resident borough, so everything here is set-based (numpy over
whole quarters), never a loop over persons. `kinfold.programme.identification` loads the arrays
from the database and writes the results; this module only computes, so it can be tested (and
checked with Hypothesis) without a database.

Vocabulary: a *group* is one quarter's family as formed from household data (a household with its
dependent children, plus parents living elsewhere); a *family* is what a group becomes in the
database once identified, keeping its id from quarter to quarter while it continues.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
from numpy.typing import NDArray

from kinfold.programme.frameworks import FamilyRule, Framework, IndicatorRule
from kinfold.quarters import Quarter

I64 = NDArray[np.int64]
I8 = NDArray[np.int8]
F64 = NDArray[np.float64]
Mask = NDArray[np.bool_]

ADULT, CHILD, PARENT_ELSEWHERE = 0, 1, 2
ROLE_NAMES = ("adult", "child", "parent_elsewhere")
_EMPTY = np.zeros(0, np.int64)


def age_at(quarter: Quarter, year_of_birth: I64, month_of_birth: I64 | None = None) -> I64:
    """Age at the end of `quarter`: exact where the month of birth is known (1-12: a birthday
    in the quarter's last month or before has passed by its last day), else the best estimate
    from the year alone — someone born in year Y is Y-years old by the end of a quarter if their
    birthday has passed: more likely than not by the end of Q3, less likely by the end of Q2.
    An unknown year (0) reads as an adult."""
    before_birthday = np.full(len(year_of_birth), 1 if quarter.number <= 2 else 0, np.int64)
    if month_of_birth is not None:
        known = (month_of_birth >= 1) & (month_of_birth <= 12)
        before_birthday = np.where(known, month_of_birth > quarter.number * 3, before_birthday)
    age = quarter.year - year_of_birth - before_birthday
    return np.where(year_of_birth > 0, age, 200).astype(np.int64)


@dataclass(frozen=True)
class Residents:
    """Who lived in which household in one quarter (one row per person)."""

    quarter: Quarter
    person: I64
    household: I64
    seen: Mask | None = None  # partners sent something about the person this quarter (None: all)

    def seen_mask(self) -> Mask:
        return np.ones(len(self.person), bool) if self.seen is None else self.seen


#: Ages (by year of birth) at which a child is on a school's roll every quarter wherever in the
#: borough they live (from a year past the reception year to the last year of compulsory school).
SCHOOL_ROLL_AGES: Final = (7, 15)
#: Quarters running a child younger than that is unseen before they are taken to have left: they
#: are on the health visiting caseload or starting school, and a few are missed in a quarter.
YOUNG_UNSEEN_QUARTERS: Final = 2
#: Past the school roll and under this age (by year of birth), someone unseen is not presumed at a
#: home where people first seen there since are (see `_moved_out`).
YOUNG_PRESUMED_AGE: Final = 20


def residents_at(
    quarter: Quarter, table: I64, stay: int, persons: Persons | None = None
) -> Residents:
    """Who lived where in `quarter`, from rows of (quarter index, person, household): each
    person's household in that quarter, or else the last one they were seen in during the
    `stay` quarters before (a quarter without records is not a move) — unless others have moved
    in there since (see `_moved_out`; `persons`, years of birth, tell school-age newcomers)."""
    upto = (table[:, 0] <= quarter.index) & (table[:, 0] >= quarter.index - stay)
    rows = table[upto]
    if len(rows) == 0:
        return Residents(quarter, _EMPTY, _EMPTY, np.zeros(0, bool))
    order = np.lexsort((rows[:, 0], rows[:, 1]))
    rows = rows[order]
    last = np.concatenate([rows[1:, 1] != rows[:-1, 1], [True]])
    when, person, household = rows[last, 0], rows[last, 1], rows[last, 2]
    stays = _stays(rows, persons, since=quarter.index - stay)
    young = np.zeros(len(person), bool)
    if persons is not None:
        born = persons.years(person)
        age = _age(born, quarter.index)
        young = (born > 0) & (age > SCHOOL_ROLL_AGES[1]) & (age < YOUNG_PRESUMED_AGE)
    kept = ~_moved_out(stays, when, household, quarter.index, young)
    if persons is not None:
        kept &= ~_left_with_pupils(stays, when, person, household, quarter.index, persons)
    return Residents(
        quarter, person[kept].copy(), household[kept].copy(), (when == quarter.index)[kept]
    )


def _moved_out(stays: Stays, when: I64, household: I64, now: int, young: Mask) -> Mask:
    """For each person (last seen in household `household` in quarter `when`), whether others
    have since taken their place there: people have been seen in that household after `when`,
    none of whom had been seen there by `when`, and one of whom moved in (`stays`, see
    `_stays`) — had been seen living somewhere else first, or is a child of school age
    (`SCHOOL_ROLL_AGES`) seen for the first time in the quarters looked at: schools send every pupil every
    quarter, so a pupil new to the data has come from outside the borough. A home whose
    occupants changed is not presumed to still hold the person who left it; an adult merely not
    heard of before (a parent with no records until now) is no sign of a change. (Without the
    school-age rule, a family that left the borough and whose home a family from outside moved
    into was presumed at home for a year with no problems, and counted improved.)

    For someone `young` — past the school roll and under `YOUNG_PRESUMED_AGE`, by year of birth
    — anyone seen there since who had not been by `when` is sign enough. Unseen while only people
    nobody saw there before are, a young person of 16 to 19 has most often gone: on the
    250,000-resident synthetic borough over 20 quarters, of those whose place the truth knows,
    1,407 had left and 29 were still there. Presumed at home, an 18-year-old whose family had
    left the borough made, with the couple who moved into the flat, an eligible family nobody
    lived in. (Children under 7 are left as they were: beside an adult first seen there, 11 of
    43 were still there, and beside a baby, 67 of 191 — the family's own baby.)"""
    presumed = when < now
    if not presumed.any():
        return np.zeros(len(when), bool)
    pair_hh, pair_first, pair_last, moved_in = stays
    # Pairs by household then last quarter; within each household, over the pairs from each
    # position on: the earliest first sighting there, and whether any moved in (suffix min and
    # max, made segment-wise by offsets that keep each household's values apart from those of
    # the households after it).
    by = np.lexsort((pair_last, pair_hh))
    pair_hh, pair_first, pair_last, moved_in = (
        pair_hh[by],
        pair_first[by],
        pair_last[by],
        moved_in[by],
    )
    _, segment = np.unique(pair_hh, return_inverse=True)
    offset = segment.astype(np.int64) * (int(pair_first.max() - pair_first.min()) + 1)
    earliest = np.minimum.accumulate((pair_first + offset)[::-1])[::-1] - offset
    offset = segment.astype(np.int64) * -2
    any_moved = np.maximum.accumulate((moved_in + offset)[::-1])[::-1] - offset
    # For each presumed person: the first pair of their household last seen after they were.
    candidates = np.flatnonzero(presumed)
    key_hh, key_when = household[candidates], when[candidates]
    pos = np.searchsorted(
        pair_hh * (now + 1) + pair_last, key_hh * (now + 1) + key_when, side="right"
    )
    inside = pos < len(pair_hh)
    pos = np.minimum(pos, len(pair_hh) - 1)
    later = inside & (pair_hh[pos] == key_hh)
    replaced = later & (earliest[pos] > key_when) & ((any_moved[pos] > 0) | young[candidates])
    found = np.zeros(len(when), bool)
    found[candidates[replaced]] = True
    return found


def _left_with_pupils(
    stays: Stays, when: I64, person: I64, household: I64, now: int, persons: Persons
) -> Mask:
    """For each person (last seen in household `household` in quarter `when`), whether they have
    most likely left the borough with a child: schools send every pupil on their roll every
    quarter, so a child of school age (`SCHOOL_ROLL_AGES`, by year of birth) unseen this quarter
    is no longer at a school of the borough, and is not presumed at home; nor is a younger child
    unseen for `YOUNG_UNSEEN_QUARTERS` quarters running (the health visiting caseload misses a
    few children in a quarter, hardly any two quarters running). Nor is anyone unseen who was
    last seen in that household no later than the child, unless somebody who lived there with
    the child is seen there this quarter (then the household is still there, and the child alone
    has gone, to a parent elsewhere, say); people who moved in since do not count. (Without
    this, a family that left the borough was presumed at home for a year; a couple from outside
    who moved in, whose records gave no earlier home to tell that they had moved, made with the
    family's children an eligible family nobody lived in.)"""
    presumed = when < now
    born = persons.years(person)
    pupil = _of_school_age(born, now)
    age = _age(born, now)
    young = (born > 0) & (age >= 0) & (age < SCHOOL_ROLL_AGES[0])
    unseen = now - when
    gone = presumed & ((pupil & (unseen >= 1)) | (young & (unseen >= YOUNG_UNSEEN_QUARTERS)))
    if not gone.any():
        return gone
    # Each household a child left: the latest quarter a child who left was seen there.
    homes, at = household[gone], when[gone]
    by = np.lexsort((at, homes))
    homes, at = homes[by], at[by]
    last = np.concatenate([homes[1:] != homes[:-1], [True]])
    homes, at = homes[last], at[last]
    # Households somebody is seen in this quarter who was there by the time the child was.
    pair_hh, pair_first, pair_last, _ = stays
    stayed = pair_last == now
    pair_hh, pair_first = pair_hh[stayed], pair_first[stayed]
    pos = np.minimum(np.searchsorted(homes, pair_hh), len(homes) - 1)
    there = (homes[pos] == pair_hh) & (pair_first <= at[pos])
    occupied = np.zeros(len(homes), bool)
    occupied[pos[there]] = True
    homes, at = homes[~occupied], at[~occupied]
    if len(homes) == 0:
        return gone
    pos = np.minimum(np.searchsorted(homes, household), len(homes) - 1)
    with_them: Mask = presumed & (homes[pos] == household) & (when <= at[pos])
    return gone | with_them


#: Each (household, person) pair's household, first and last quarter there, and 1 if they moved in.
Stays = tuple[I64, I64, I64, I64]


def _age(born: I64, quarter_index: I64 | int) -> I64:
    """Age by the end of the quarter's year of someone born in year `born` (Quarter.index is
    year * 4 + n - 1)."""
    age: I64 = np.asarray(quarter_index) // 4 - born
    return age


def _of_school_age(born: I64, quarter_index: I64 | int) -> Mask:
    """Whether someone born in year `born` (0: unknown) is of `SCHOOL_ROLL_AGES` in the quarter."""
    age = _age(born, quarter_index)
    low, high = SCHOOL_ROLL_AGES
    pupil: Mask = (born > 0) & (age >= low) & (age <= high)
    return pupil


def _stays(rows: I64, persons: Persons | None = None, since: int = 0) -> Stays:
    """Each (household, person) pair of rows (quarter, person, household): the household, the
    first and last quarter the person was seen there, and 1 if they moved in — had been seen in
    another household before, or (with `persons`) are a child of school age first seen there
    after quarter index `since` — (0 if not)."""
    order = np.lexsort((rows[:, 0], rows[:, 1], rows[:, 2]))
    hh, who, at = rows[order, 2], rows[order, 1], rows[order, 0]
    start = np.concatenate([[True], (hh[1:] != hh[:-1]) | (who[1:] != who[:-1])])
    end = np.concatenate([start[1:], [True]])
    # Each person's first quarter seen anywhere.
    by_person = np.lexsort((rows[:, 0], rows[:, 1]))
    people, first_row = np.unique(rows[by_person, 1], return_index=True)
    first_anywhere = rows[by_person, 0][first_row]
    seen_first = first_anywhere[np.searchsorted(people, who[start])]
    moved_in = at[start] > seen_first
    if persons is not None:
        pupil = _of_school_age(persons.years(who[start]), at[start])
        moved_in |= pupil & (at[start] == seen_first) & (at[start] > since)
    return hh[start], at[start], at[end], moved_in.astype(np.int64)


@dataclass(frozen=True)
class Persons:
    """Years (and months, where known) of birth by person id, for ages (sorted by id)."""

    ids: I64
    year_of_birth: I64
    month_of_birth: I64 | None = None  # 1-12, 0 where not known

    @classmethod
    def of(
        cls,
        ids: Sequence[int] | I64,
        years: Sequence[int] | I64,
        months: Sequence[int] | I64 | None = None,
    ) -> Persons:
        ids_array = np.asarray(ids, np.int64)
        order = np.argsort(ids_array, kind="stable")
        return cls(
            ids_array[order],
            np.asarray(years, np.int64)[order],
            None if months is None else np.asarray(months, np.int64)[order],
        )

    def years(self, person: I64) -> I64:
        return self._lookup(self.year_of_birth, person)

    def months(self, person: I64) -> I64:
        """Months of birth (1-12), 0 where not known."""
        if self.month_of_birth is None:
            return np.zeros(len(person), np.int64)
        return self._lookup(self.month_of_birth, person)

    def ages(self, quarter: Quarter, person: I64) -> I64:
        """Each person's age at the end of `quarter` (see `age_at`)."""
        return age_at(quarter, self.years(person), self.months(person))

    def _lookup(self, values: I64, person: I64) -> I64:
        if len(self.ids) == 0:
            return np.zeros(len(person), np.int64)
        pos = np.clip(np.searchsorted(self.ids, person), 0, len(self.ids) - 1)
        found = self.ids[pos] == person
        return np.where(found, values[pos], 0)


@dataclass(frozen=True)
class Flags:
    """Indicator flags: one row per flag, with the quarter index each falls in."""

    person: I64
    code: I64  # index into `codes`
    quarter: I64  # Quarter.index
    value: F64  # NaN where the flag has no value
    organisation: I64
    category: I64
    day: I64  # date.toordinal()
    row: I64  # the Indicator's primary key
    codes: tuple[str, ...]

    @classmethod
    def empty(cls, codes: tuple[str, ...] = ()) -> Flags:
        return cls(_EMPTY, _EMPTY, _EMPTY, np.zeros(0), _EMPTY, _EMPTY, _EMPTY, _EMPTY, codes)

    def __len__(self) -> int:
        return len(self.person)

    def code_index(self, code: str) -> int:
        return self.codes.index(code) if code in self.codes else -1

    def take(self, keep: Mask) -> Flags:
        """The flags where `keep` is true."""
        return Flags(
            self.person[keep],
            self.code[keep],
            self.quarter[keep],
            self.value[keep],
            self.organisation[keep],
            self.category[keep],
            self.day[keep],
            self.row[keep],
            self.codes,
        )


def within_ages(
    flags: Flags, persons: Persons, limits: Mapping[str, tuple[int | None, int | None]]
) -> Mask:
    """Which flags could be about their person when raised: for each code with `limits` (youngest,
    oldest; `ages.AGE_LIMITS`), whether the person's age at the flag's date — known to a year from
    the year of birth, and given the benefit of that year — lies between them. A police offence on a
    four-year-old is a partner's record linked to the wrong person (a namesake parent's record
    with no date of birth), not a problem the child's family has. Unknown years of birth pass."""
    born = persons.years(flags.person)
    oldest_possible = flags.quarter // 4 - born  # by the end of the flag's year
    keep = np.ones(len(flags), bool)
    for code, (youngest, oldest) in limits.items():
        index = flags.code_index(code)
        if index < 0:
            continue
        rows = (flags.code == index) & (born > 0)
        if youngest is not None:
            keep &= ~(rows & (oldest_possible < youngest))
        if oldest is not None:
            keep &= ~(rows & (oldest_possible - 1 > oldest))
    return keep


@dataclass(frozen=True)
class ParentLinks:
    """Partner data naming a child's parent or carer: child, parent, and the quarter (index)."""

    child: I64
    parent: I64
    quarter: I64

    @classmethod
    def empty(cls) -> ParentLinks:
        return cls(_EMPTY, _EMPTY, _EMPTY)

    def as_of(self, quarter: Quarter) -> tuple[I64, I64]:
        """(child, parent) pairs as partners last named them by `quarter`: for each child, the
        parents named in the latest quarter up to then in which any were named."""
        upto = self.quarter <= quarter.index
        child, parent, when = self.child[upto], self.parent[upto], self.quarter[upto]
        if len(child) == 0:
            return _EMPTY, _EMPTY
        order = np.lexsort((when, child))
        child, parent, when = child[order], parent[order], when[order]
        last = np.concatenate([child[1:] != child[:-1], [True]])
        latest = np.repeat(when[last], np.diff(np.concatenate([[0], np.flatnonzero(last) + 1])))
        keep = when == latest
        return child[keep], parent[keep]


@dataclass(frozen=True)
class Groups:
    """One quarter's families as formed from household data: member pairs by group."""

    quarter: Quarter
    keys: I64  # each group's household id, sorted
    person: I64  # member pairs: person, group index, role
    group: I64
    role: I8

    def __len__(self) -> int:
        return len(self.keys)

    def core(self) -> tuple[I64, I64, I8]:
        """Pairs of household members (not parents living elsewhere), sorted by person."""
        keep = self.role != PARENT_ELSEWHERE
        order = np.argsort(self.person[keep], kind="stable")
        return self.person[keep][order], self.group[keep][order], self.role[keep][order]

    def members(self, index: int) -> list[tuple[int, int]]:
        """(person, role) of one group, sorted."""
        rows = np.flatnonzero(self.group == index)
        return sorted(zip(self.person[rows].tolist(), self.role[rows].tolist(), strict=True))


def dependent(
    rule: FamilyRule, quarter: Quarter, person: I64, persons: Persons, in_education: I64
) -> Mask:
    """Dependent children: under `child_under`, or under `in_education_under` and in education."""
    age = persons.ages(quarter, person)
    educated = np.isin(person, in_education)
    return (age < rule.child_under) | ((age < rule.in_education_under) & educated)


def form_groups(
    residents: Residents,
    persons: Persons,
    in_education: I64,
    parent_links: ParentLinks,
    rule: FamilyRule,
) -> Groups:
    """A quarter's families: each household with a dependent child is one, with all its members;
    a parent whom partner data names as a child's parent and who lives in another household in
    the borough joins the child's family (one family only: the one with the lowest household id).
    A household is a family in a quarter only if partners sent something about one of its
    members that quarter (people last seen there still count as living there, but a household
    nobody has heard of since it left is not a family).
    """
    quarter = residents.quarter
    is_child = dependent(rule, quarter, residents.person, persons, in_education)
    heard_of = np.unique(residents.household[residents.seen_mask()])
    keys = np.intersect1d(np.unique(residents.household[is_child]), heard_of)
    in_family = np.isin(residents.household, keys)
    person = residents.person[in_family]
    group = np.searchsorted(keys, residents.household[in_family]).astype(np.int64)
    role = np.where(is_child[in_family], CHILD, ADULT).astype(np.int8)
    away_person, away_group = _parents_elsewhere(
        residents, is_child, persons, keys, (person, group, role), parent_links.as_of(quarter)
    )
    return Groups(
        quarter=quarter,
        keys=keys,
        person=np.concatenate([person, away_person]),
        group=np.concatenate([group, away_group]),
        role=np.concatenate([role, np.full(len(away_person), PARENT_ELSEWHERE, np.int8)]),
    )


#: A parent or carer is at least this much older than the child (names alone can match a sibling).
PARENT_AGE_GAP = 12


def _parents_elsewhere(
    residents: Residents,
    is_child: Mask,
    persons: Persons,
    keys: I64,
    members: tuple[I64, I64, I8],
    links: tuple[I64, I64],
) -> tuple[I64, I64]:
    """Parents named by partner data who live in another household: adults, old enough to be the
    child's parent or carer (a link to a dependent child or a near-contemporary is taken to be a
    mistaken link of a same-named sibling, and left out)."""
    person, group, role = members
    child, parent = links
    if len(child) == 0 or len(person) == 0:
        return _EMPTY, _EMPTY
    child_year, parent_year = persons.years(child), persons.years(parent)
    plausible = (
        (child_year == 0) | (parent_year == 0) | (parent_year <= child_year - PARENT_AGE_GAP)
    )
    # The child's family (children only), and where the parent lives this quarter.
    kids = role == CHILD
    kid_order = np.argsort(person[kids], kind="stable")
    kid_person, kid_group = person[kids][kid_order], group[kids][kid_order]
    pos = np.clip(np.searchsorted(kid_person, child), 0, max(len(kid_person) - 1, 0))
    has_family = (len(kid_person) > 0) & (kid_person[pos] == child)
    child_group = np.where(has_family, kid_group[pos], -1)
    res_order = np.argsort(residents.person, kind="stable")
    res_person, res_household = residents.person[res_order], residents.household[res_order]
    res_adult = ~is_child[res_order]
    ppos = np.clip(np.searchsorted(res_person, parent), 0, max(len(res_person) - 1, 0))
    resident = (len(res_person) > 0) & (res_person[ppos] == parent) & res_adult[ppos]
    parent_household = np.where(resident, res_household[ppos], -1)
    apart = has_family & resident & plausible
    apart &= parent_household != keys[np.maximum(child_group, 0)]
    if not apart.any():
        return _EMPTY, _EMPTY
    # A parent named by children of two families joins one: the family of the youngest of those
    # children (by year of birth), then the lowest group (household key order).
    years = np.where(child_year == 0, np.iinfo(np.int64).min, child_year)[apart]
    who, where = parent[apart], child_group[apart]
    order = np.lexsort((where, -years, who))
    who, where = who[order], where[order]
    first = np.concatenate([[True], who[1:] != who[:-1]])
    return who[first].astype(np.int64), where[first].astype(np.int64)


def match_groups(previous: Groups, current: Groups) -> I64:
    """For each current group, the previous quarter's group it continues, or -1.

    A group continues an earlier one when they share at least one person who was an adult in
    the earlier one, or share anyone and still live at the same address (the same household), or
    share anyone when no adult of the earlier one is known to any partner; where several could,
    the pairs sharing most household members are matched first, one to one (ties: lower
    household ids first). A whole household moving house keeps its family, and so do the
    children when a parent moves out; a child moving to the other parent's home starts a new one.
    """
    cur_person, cur_group, _ = current.core()
    prev_person, prev_group, prev_role = previous.core()
    found = np.full(len(current), -1, np.int64)
    if len(cur_person) == 0 or len(prev_person) == 0:
        return found
    pos = np.clip(np.searchsorted(prev_person, cur_person), 0, len(prev_person) - 1)
    shared = prev_person[pos] == cur_person
    if not shared.any():
        return found
    pair_cur, pair_prev = cur_group[shared], prev_group[pos][shared]
    was_adult = (prev_role[pos][shared] == ADULT).astype(np.int64)
    key = pair_cur * (len(previous) + 1) + pair_prev
    unique, inverse = np.unique(key, return_inverse=True)
    count = np.bincount(inverse)
    adults = np.bincount(inverse, weights=was_adult)
    cur_of, prev_of = unique // (len(previous) + 1), unique % (len(previous) + 1)
    prev_has_adults = np.bincount(prev_group[prev_role == ADULT], minlength=len(previous)) > 0
    same_home = previous.keys[prev_of] == current.keys[cur_of]
    eligible = (adults > 0) | same_home | ~prev_has_adults[prev_of]
    order = np.lexsort(
        (current.keys[cur_of[eligible]], previous.keys[prev_of[eligible]], -count[eligible])
    )
    taken_prev: set[int] = set()
    for c, p in zip(
        cur_of[eligible][order].tolist(), prev_of[eligible][order].tolist(), strict=True
    ):
        if found[c] < 0 and p not in taken_prev:
            found[c] = p
            taken_prev.add(p)
    return found


# ---------------------------------------------------------------------------- problems


@dataclass(frozen=True)
class Hits:
    """Qualifying flags in one quarter: which group, which problem, which flag, whose."""

    group: I64
    problem: I64
    flag: I64  # index into Flags
    person: I64

    @classmethod
    def empty(cls) -> Hits:
        return cls(_EMPTY, _EMPTY, _EMPTY, _EMPTY)


def _expand(groups: Groups, flag_rows: I64, flags: Flags) -> tuple[I64, I64, I8]:
    """Join flags to member pairs on person: (flag row, group, role) for each membership."""
    order = np.argsort(groups.person, kind="stable")
    pair_person, pair_group, pair_role = (
        groups.person[order],
        groups.group[order],
        groups.role[order],
    )
    who = flags.person[flag_rows]
    left = np.searchsorted(pair_person, who, side="left")
    right = np.searchsorted(pair_person, who, side="right")
    counts = right - left
    if not counts.any():
        return _EMPTY, _EMPTY, np.zeros(0, np.int8)
    rows = np.repeat(flag_rows, counts)
    starts = np.repeat(left, counts)
    offsets = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
    at = starts + offsets
    return rows, pair_group[at], pair_role[at]


def _means(flags: Flags, code: int, quarters: int) -> F64:
    """Each flag's value replaced by the mean of its person's values of that code over
    `quarters` quarters ending with the flag's own (one value per person and quarter)."""
    rows = np.flatnonzero((flags.code == code) & ~np.isnan(flags.value))
    result = np.full(len(flags.person), np.nan)
    by_person: dict[int, dict[int, list[float]]] = {}
    for r in rows.tolist():
        by_person.setdefault(int(flags.person[r]), {}).setdefault(int(flags.quarter[r]), []).append(
            float(flags.value[r])
        )
    for r in rows.tolist():
        seen = by_person[int(flags.person[r])]
        q = int(flags.quarter[r])
        values = [np.mean(seen[k]) for k in range(q - quarters + 1, q + 1) if k in seen]
        result[r] = float(np.mean(values))
    return result


def _rule_mask(rule: IndicatorRule, flags: Flags, organisations: dict[str, int]) -> Mask:
    code = flags.code_index(rule.code)
    mask = flags.code == code
    if rule.organisation:
        mask &= flags.organisation == organisations.get(rule.organisation, -1)
    if rule.has_threshold:
        values = _means(flags, code, rule.mean_quarters) if rule.mean_quarters > 1 else flags.value
        with np.errstate(invalid="ignore"):
            ok = ~np.isnan(values)
            if rule.below is not None:
                ok &= values < rule.below
            if rule.at_least is not None:
                ok &= values >= rule.at_least
        mask &= ok
    return np.asarray(mask, dtype=bool)


@dataclass
class Evaluator:
    """A framework's indicator rules, ready to apply quarter by quarter to the same flags."""

    framework: Framework
    flags: Flags
    persons: Persons
    organisations: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._masks = [
            [_rule_mask(r, self.flags, self.organisations) for r in p.indicators]
            for p in self.framework.problems
        ]

    def hits(self, groups: Groups) -> Hits:
        """Every flag in the groups' quarter that evidences a problem for a group it is in."""
        in_quarter = np.flatnonzero(self.flags.quarter == groups.quarter.index)
        any_rule = np.zeros(len(self.flags.person), bool)
        for masks in self._masks:
            for mask in masks:
                any_rule |= mask
        rows, group, role = _expand(groups, in_quarter[any_rule[in_quarter]], self.flags)
        if len(rows) == 0:
            return Hits.empty()
        age = self.persons.ages(groups.quarter, self.flags.person[rows])
        found: list[tuple[I64, I64, I64]] = []
        for p, problem in enumerate(self.framework.problems):
            take = np.zeros(len(rows), bool)
            for rule, mask in zip(problem.indicators, self._masks[p], strict=True):
                ok = mask[rows].copy()
                if rule.who == "child":
                    ok &= role == CHILD
                elif rule.who == "adult":
                    ok &= role != CHILD
                if rule.age_under is not None:
                    ok &= age < rule.age_under
                if rule.age_from is not None:
                    ok &= age >= rule.age_from
                take |= ok
            found.append((group[take], np.full(int(take.sum()), p, np.int64), rows[take]))
        group_all = np.concatenate([f[0] for f in found])
        problem_all = np.concatenate([f[1] for f in found])
        flag_all = np.concatenate([f[2] for f in found])
        return Hits(group_all, problem_all, flag_all, self.flags.person[flag_all])


def ancestry(links: Sequence[I64], size: int) -> list[I64]:
    """For each group of the latest quarter, its group k quarters earlier (or -1), k = 0, 1, …

    `links[k]` maps groups of quarter Q-k to the groups of Q-k-1 they continue.
    """
    chain = [np.arange(size, dtype=np.int64)]
    for link in links:
        previous = chain[-1]
        alive = previous >= 0
        step = np.full(len(previous), -1, np.int64)
        step[alive] = link[previous[alive]]
        chain.append(step)
    return chain


@dataclass(frozen=True)
class Eligibility:
    """Groups of the run's quarter meeting the framework, with the flags behind each problem."""

    groups: I64  # eligible group indexes at the quarter
    problems: dict[int, tuple[int, ...]]  # group → problem indexes met
    evidence: dict[int, list[tuple[int, int, int]]]  # group → (problem, flag row, quarters ago)


def eligibility(
    framework: Framework, hits_by_age: Sequence[Hits], chain: Sequence[I64]
) -> Eligibility:
    """Count distinct problems over the look-back window along each group's ancestry.

    `hits_by_age[k]` are the hits of quarter Q-k, for the groups of that quarter; `chain[k]` maps
    each group at Q to its ancestor at Q-k. A problem counts in a quarter only for the family as it
    was then (the members at that quarter), and only over quarters the family existed.
    """
    size = len(chain[0])
    g_all, p_all, f_all, k_all = [], [], [], []
    for k in range(min(framework.lookback_quarters, len(hits_by_age), len(chain))):
        hits = hits_by_age[k]
        if len(hits.group) == 0:
            continue
        inverse = np.full(int(max(hits.group.max(), chain[k].max(initial=-1))) + 1, -1, np.int64)
        alive = chain[k] >= 0
        inverse[chain[k][alive]] = np.flatnonzero(alive)
        at_q = inverse[hits.group]
        keep = at_q >= 0
        g_all.append(at_q[keep])
        p_all.append(hits.problem[keep])
        f_all.append(hits.flag[keep])
        k_all.append(np.full(int(keep.sum()), k, np.int64))
    if not g_all:
        return Eligibility(_EMPTY, {}, {})
    group = np.concatenate(g_all)
    problem = np.concatenate(p_all)
    pairs = np.unique(group * len(framework.problems) + problem)
    counts = np.bincount(pairs // len(framework.problems), minlength=size)
    eligible = np.flatnonzero(counts >= framework.problems_at_least)
    met: dict[int, tuple[int, ...]] = {int(g): () for g in eligible.tolist()}
    for pair in pairs.tolist():
        g = pair // len(framework.problems)
        if g in met:
            met[g] = (*met[g], pair % len(framework.problems))
    chosen = np.isin(group, eligible)
    evidence: dict[int, list[tuple[int, int, int]]] = {g: [] for g in met}
    flag, ago = np.concatenate(f_all), np.concatenate(k_all)
    for g, p, f, k in zip(
        group[chosen].tolist(),
        problem[chosen].tolist(),
        flag[chosen].tolist(),
        ago[chosen].tolist(),
        strict=True,
    ):
        evidence[g].append((p, f, k))
    return Eligibility(eligible, met, evidence)
