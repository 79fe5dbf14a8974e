"""Who belongs to which family in a quarter, and what the families' problems were.

A family is a household's members when the household has a dependent child, plus a parent living
elsewhere in the borough whom a child's school or social-care records name.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from kinfold.quarters import Quarter
from kinfold.synth._borough import Borough
from kinfold.synth._events import CODES
from kinfold.synth.truth import (
    ATTENDANCE,
    EDUCATION,
    INTO_WORK,
    OUT_OF_WORK,
    FamilyQuarter,
    problem_of,
)

I64 = NDArray[np.int64]

ROLES = ("adult", "child", "parent", "step_parent", "grandparent")
ADULT, CHILD, PARENT, STEP_PARENT, GRANDPARENT = range(5)

_ATTENDANCE = CODES.index(ATTENDANCE)
_INTO_WORK = CODES.index(INTO_WORK)
_OUT_OF_WORK = CODES.index(OUT_OF_WORK)
# Problem of each code regardless of value; attendance is decided by its value below.
_CODE_PROBLEM = np.array([problem_of(code, 0.0) or 0 for code in CODES], dtype=np.int8)


@dataclass
class Membership:
    """A quarter's families: each person's role, resident family and the family they are a parent
    elsewhere of; and (person position, family id) pairs covering both."""

    role: NDArray[np.int8]
    family: I64
    elsewhere: I64
    pair_person: I64
    pair_family: I64


def membership(borough: Borough, age: NDArray[np.int16]) -> Membership:
    """Roles and family membership of everyone in the borough this quarter."""
    people = borough.people
    hh_pos = borough.household_positions()
    family = borough.households["family"][hh_pos]
    dependent = borough.dependent(age)
    role = np.where(dependent, CHILD, ADULT).astype(np.int8)
    parent = np.zeros(len(age), dtype=bool)
    for column in ("mother", "father"):
        pos = people.positions(people[column][dependent])
        home = (pos >= 0) & (people["hh"][np.maximum(pos, 0)] == people["hh"][dependent])
        parent[pos[home]] = True
    grand = np.zeros(len(age), dtype=bool)
    for column in ("mother", "father"):
        pos = people.positions(people[column][parent])
        home = (pos >= 0) & (people["hh"][np.maximum(pos, 0)] == people["hh"][parent])
        grand[pos[home]] = True
    partner = people.positions(people["partner"][parent])
    step = partner[(partner >= 0)]
    role[step] = STEP_PARENT
    role[grand & ~dependent] = GRANDPARENT
    role[parent & ~dependent] = PARENT
    elsewhere = _parents_elsewhere(borough, family, dependent)
    resident = np.flatnonzero(family >= 0)
    away = np.flatnonzero(elsewhere >= 0)
    return Membership(
        role=role,
        family=family,
        elsewhere=elsewhere,
        pair_person=np.concatenate([resident, away]).astype(np.int64),
        pair_family=np.concatenate([family[resident], elsewhere[away]]).astype(np.int64),
    )


def _parents_elsewhere(borough: Borough, family: I64, dependent: NDArray[np.bool_]) -> I64:
    """For each person, the family of a child whose records name them while they live apart."""
    people = borough.people
    children = np.flatnonzero(dependent & (family >= 0))
    named = people.positions(people["contact"][children])
    apart = (named >= 0) & (people["hh"][np.maximum(named, 0)] != people["hh"][children])
    elsewhere = np.full(len(family), -1, np.int64)
    # Where one parent is named by children of two families, the family of the youngest of those
    # children (by year of birth, as the hub knows ages; then the lower family id) is kept: the
    # later assignment wins, so order by year of birth, then family id descending.
    kids = children[apart]
    born = people["birth_year"][kids].astype(np.int64)
    order = np.lexsort((-family[kids], born))
    elsewhere[named[apart][order]] = family[kids][order]
    return elsewhere


@dataclass
class QuarterEvents:
    """A quarter's true events across partners: person position, code index, value."""

    person: I64
    code: NDArray[np.int16]
    value: NDArray[np.float64]


def family_quarters(
    quarter: Quarter,
    events: QuarterEvents,
    members: Membership,
    pids: I64,
    tracked: set[int],
) -> tuple[dict[int, FamilyQuarter], list[tuple[int, int]]]:
    """FamilyQuarters for families with a problem or tracked, and the (family, problem) pairs."""
    order = np.argsort(members.pair_person, kind="stable")
    pair_person = members.pair_person[order]
    pair_family = members.pair_family[order]
    # Join events to the families their person belongs to (a person may be in two).
    left = np.searchsorted(pair_person, events.person, side="left")
    counts = np.searchsorted(pair_person, events.person, side="right") - left
    event_index = np.repeat(np.arange(len(events.person)), counts)
    within = np.arange(len(event_index)) - np.repeat(np.cumsum(counts) - counts, counts)
    fam = pair_family[np.repeat(left, counts) + within]
    code = events.code[event_index]
    value = events.value[event_index]
    person = pids[events.person[event_index]]
    problem = _CODE_PROBLEM[code].astype(np.int64)
    problem = np.where(code == _ATTENDANCE, np.where(value < 90.0, EDUCATION, 0), problem)
    problem = np.where(code == _INTO_WORK, 0, problem)
    pairs = np.unique(fam[problem > 0] * 8 + problem[problem > 0])
    problem_pairs = [(int(p // 8), int(p % 8)) for p in pairs.tolist()]
    wanted = {int(p // 8) for p in pairs.tolist()} | tracked
    keep = np.isin(fam, np.fromiter(wanted, np.int64, len(wanted)))
    found: dict[int, _Collecting] = {f: _Collecting() for f in wanted}
    rows = zip(
        fam[keep].tolist(),
        code[keep].tolist(),
        value[keep].tolist(),
        person[keep].tolist(),
        problem[keep].tolist(),
        strict=True,
    )
    for f, c, v, p, pr in rows:
        found[f].add(c, v, p, pr)
    return {f: entry.family_quarter(quarter) for f, entry in found.items()}, problem_pairs


@dataclass
class _Collecting:
    problems: set[int] = field(default_factory=set)
    education: set[int] = field(default_factory=set)
    attendance: dict[int, float] = field(default_factory=dict)
    out_of_work: set[int] = field(default_factory=set)
    into_work: set[int] = field(default_factory=set)

    def add(self, code: int, value: float, person: int, problem: int) -> None:
        if problem:
            self.problems.add(problem)
            if problem == EDUCATION:
                self.education.add(person)
        if code == _ATTENDANCE:
            self.attendance[person] = value
        elif code == _OUT_OF_WORK:
            self.out_of_work.add(person)
        elif code == _INTO_WORK:
            self.into_work.add(person)

    def family_quarter(self, quarter: Quarter) -> FamilyQuarter:
        return FamilyQuarter(
            quarter,
            frozenset(self.problems),
            frozenset(self.education),
            self.attendance,
            frozenset(self.out_of_work),
            frozenset(self.into_work),
        )
