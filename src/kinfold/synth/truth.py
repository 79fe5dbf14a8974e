"""Reference definitions of the six headline problems, eligibility and sustained improvement.

These are the rules the synthetic borough's ground truth is written by; identification and
payment-by-results code (and their tests) can import them to check they find the same families.
docs/synth.md states them in words.

- Problem p is present for a family in quarter Q if a member (at Q) had a qualifying event for p
  in Q. Every indicator code of docs/contracts.md qualifies for its problem except
  ``dwp.into_work`` (good news); ``school.attendance`` qualifies when its value is below 90.
- A family is eligible at Q if at least two distinct problems were present over Q-3..Q.
- A family improved (and stayed improved) if, after the quarter E it first became eligible, either
  (a) from some quarter R > E none of the problems it had over E-3..E is present in R and R+1, and,
  if school attendance was one of them, every child who had that problem attended at least 90% in
  each of R, R+1, R+2 (a child with no attendance that quarter is not held against the family);
  the improvement is dated R+1, or R+2 when attendance counts; or
  (b) an adult member had ``dwp.into_work`` in a quarter W > E and no out-of-work benefit in W+1
  and W+2 (26 weeks); dated W+2.
  The earliest such date counts. The quarters needed must be quarters the family existed.
- A family relapsed if, after improving at quarter I, at least two distinct problems are present
  within some four-quarter window lying wholly after I.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from kinfold.quarters import Quarter

PROBLEMS: Final[Mapping[int, str]] = {
    1: "crime and antisocial behaviour",
    2: "school attendance",
    3: "children who need help",
    4: "worklessness and financial exclusion",
    5: "domestic violence and abuse",
    6: "health",
}
#: Indicator code → the headline problem it evidences (docs/contracts.md).
PROBLEM_OF_CODE: Final[Mapping[str, int]] = {
    "police.offence": 1,
    "police.asb_incident": 1,
    "yos.youth_offence": 1,
    "probation.supervision": 1,
    "housing.asb_case": 1,
    "school.attendance": 2,
    "school.exclusion_fixed": 2,
    "school.exclusion_permanent": 2,
    "school.alternative_provision": 2,
    "csc.child_in_need": 3,
    "csc.child_protection_plan": 3,
    "csc.looked_after": 3,
    "csc.early_help": 3,
    "dwp.out_of_work_benefit": 4,
    "dwp.into_work": 4,
    "housing.rent_arrears": 4,
    "housing.eviction_notice": 4,
    "police.domestic_incident": 5,
    "das.marac_referral": 5,
    "das.support_case": 5,
    "health.mental_health": 6,
    "health.ae_injury": 6,
    "substance.treatment": 6,
}
ATTENDANCE: Final = "school.attendance"
INTO_WORK: Final = "dwp.into_work"
OUT_OF_WORK: Final = "dwp.out_of_work_benefit"
EDUCATION: Final = 2
#: Attendance below this (% of sessions in the quarter) is the education problem.
ATTENDANCE_THRESHOLD: Final = 90.0
#: Eligibility: this many distinct problems within this many quarters.
ELIGIBILITY_PROBLEMS: Final = 2
ELIGIBILITY_WINDOW: Final = 4
#: Improvement: quarters clear of the family's problems, quarters of good attendance, quarters off
#: out-of-work benefit after a job start.
CLEAR_QUARTERS: Final = 2
ATTENDANCE_QUARTERS: Final = 3
WORK_QUARTERS: Final = 2

PROBLEMS_CLEARED: Final = "problems_cleared"
INTO_WORK_ROUTE: Final = "into_work"


def problem_of(code: str, value: float | None = None) -> int | None:
    """The headline problem an indicator event evidences, or None if it evidences none.

    ``dwp.into_work`` evidences none; ``school.attendance`` only below 90 (a missing value counts as
    no evidence).
    """
    if code == INTO_WORK:
        return None
    if code == ATTENDANCE:
        return EDUCATION if value is not None and value < ATTENDANCE_THRESHOLD else None
    return PROBLEM_OF_CODE.get(code)


@dataclass(frozen=True)
class FamilyQuarter:
    """What the rules need to know about one family in one quarter it existed.

    Person ids are the truth's person ids. `attendance` holds the quarter's attendance of child
    members on a school roll; `education_children` the members with a problem-2 event (so when it
    is not empty, `problems` holds 2).
    """

    quarter: Quarter
    problems: frozenset[int] = frozenset()
    education_children: frozenset[int] = frozenset()
    attendance: Mapping[int, float] = field(default_factory=dict)
    out_of_work: frozenset[int] = frozenset()
    into_work: frozenset[int] = frozenset()


@dataclass(frozen=True)
class FamilyOutcome:
    """A family's truth for identification and payment by results."""

    family_id: int
    eligible: Quarter | None = None
    problems: frozenset[int] = frozenset()
    improved: Quarter | None = None
    route: str = ""
    relapsed: Quarter | None = None


def _window(history: Sequence[FamilyQuarter], index: int, after: int = -1) -> tuple[int, ...]:
    """Indexes of the quarters in the four-quarter window ending at `index` (and after `after`)."""
    last = history[index].quarter.index
    return tuple(
        i
        for i in range(max(0, index - ELIGIBILITY_WINDOW + 1, after + 1), index + 1)
        if last - history[i].quarter.index < ELIGIBILITY_WINDOW
    )


def window_problems(
    history: Sequence[FamilyQuarter], index: int, after: int = -1
) -> frozenset[int]:
    """Problems present over the window ending at `history[index]` (quarters after `after` only)."""
    found: set[int] = set()
    for i in _window(history, index, after):
        found |= history[i].problems
    return frozenset(found)


def _check(history: Sequence[FamilyQuarter]) -> None:
    for before, after in itertools.pairwise(history):
        if after.quarter.index != before.quarter.index + 1:
            raise ValueError(f"history jumps from {before.quarter} to {after.quarter}")


def assess_family(family_id: int, history: Sequence[FamilyQuarter]) -> FamilyOutcome:
    """Eligibility, improvement and relapse for one family from its quarters, in order.

    `history` has one entry per consecutive quarter the family existed (empty ones included).
    """
    _check(history)
    for index in range(len(history)):
        problems = window_problems(history, index)
        if len(problems) >= ELIGIBILITY_PROBLEMS:
            return _after_eligible(family_id, history, index, problems)
    return FamilyOutcome(family_id)


def _after_eligible(
    family_id: int, history: Sequence[FamilyQuarter], eligible: int, problems: frozenset[int]
) -> FamilyOutcome:
    children: set[int] = set()
    for i in _window(history, eligible):
        children |= history[i].education_children
    found = [
        found
        for r in range(eligible + 1, len(history))
        for found in (
            _cleared(history, r, problems, frozenset(children)),
            _into_work(history, r),
        )
        if found is not None
    ]
    if not found:
        return FamilyOutcome(family_id, history[eligible].quarter, problems)
    improved = min(found)
    route = _route(history, eligible, problems, frozenset(children), improved)
    relapsed = None
    for index in range(improved + 1, len(history)):
        if len(window_problems(history, index, after=improved)) >= ELIGIBILITY_PROBLEMS:
            relapsed = history[index].quarter
            break
    return FamilyOutcome(
        family_id, history[eligible].quarter, problems, history[improved].quarter, route, relapsed
    )


def _route(
    history: Sequence[FamilyQuarter],
    eligible: int,
    problems: frozenset[int],
    children: frozenset[int],
    improved: int,
) -> str:
    for r in range(eligible + 1, improved + 1):
        if _cleared(history, r, problems, children) == improved:
            return PROBLEMS_CLEARED
    return INTO_WORK_ROUTE


def _cleared(
    history: Sequence[FamilyQuarter], r: int, problems: frozenset[int], children: frozenset[int]
) -> int | None:
    """Route (a) starting at quarter index r: the index the improvement is dated, or None."""
    needed = ATTENDANCE_QUARTERS if EDUCATION in problems else CLEAR_QUARTERS
    if r + needed - 1 >= len(history):
        return None
    if any(history[k].problems & problems for k in range(r, r + CLEAR_QUARTERS)):
        return None
    if EDUCATION in problems:
        for k in range(r, r + ATTENDANCE_QUARTERS):
            attendance = history[k].attendance
            if any(attendance.get(child, 100.0) < ATTENDANCE_THRESHOLD for child in children):
                return None
    return r + needed - 1


def _into_work(history: Sequence[FamilyQuarter], w: int) -> int | None:
    """Route (b) with a job start in quarter index w: the index the improvement is dated, or None."""
    if w + WORK_QUARTERS >= len(history):
        return None
    for adult in history[w].into_work:
        if all(adult not in history[k].out_of_work for k in range(w + 1, w + WORK_QUARTERS + 1)):
            return w + WORK_QUARTERS
    return None


class FamilyTracker:
    """Applies the rules quarter by quarter, keeping little: recent quarters for most families and
    the whole story only for families that have become eligible.

    Each quarter, `update` needs a FamilyQuarter for every family with a problem that quarter and
    for every family in `tracked` that still exists, and the ids of all families that exist.
    """

    def __init__(self) -> None:
        self._recent: dict[int, list[FamilyQuarter]] = {}
        self._stories: dict[int, list[FamilyQuarter]] = {}
        self._ended: set[int] = set()

    @property
    def tracked(self) -> Collection[int]:
        """Families that became eligible and still exist: their every quarter is needed."""
        return self._stories.keys() - self._ended

    def update(
        self, quarter: Quarter, observed: Mapping[int, FamilyQuarter], existing: Collection[int]
    ) -> None:
        """Take in one quarter."""
        for family in list(self._stories):
            if family in self._ended:
                continue
            if family not in existing:
                self._ended.add(family)
                continue
            self._stories[family].append(observed.get(family, FamilyQuarter(quarter)))
        oldest = quarter.index - ELIGIBILITY_WINDOW + 1
        for family, seen in observed.items():
            if family in self._stories:
                continue
            recent = [fq for fq in self._recent.get(family, []) if fq.quarter.index >= oldest]
            recent.append(seen)
            history = _filled(recent, quarter)
            if len(window_problems(history, len(history) - 1)) >= ELIGIBILITY_PROBLEMS:
                self._stories[family] = history
                self._recent.pop(family, None)
            else:
                self._recent[family] = recent
        stale = [f for f, r in self._recent.items() if r[-1].quarter.index < oldest]
        for family in stale:
            del self._recent[family]

    def outcomes(self) -> dict[int, FamilyOutcome]:
        """Outcomes of every family that became eligible, by family id."""
        return {family: assess_family(family, story) for family, story in self._stories.items()}


def _filled(quarters: list[FamilyQuarter], last: Quarter) -> list[FamilyQuarter]:
    """The last four quarters up to `last`, with empty entries where nothing was seen."""
    by_index = {fq.quarter.index: fq for fq in quarters}
    first = last.index - (ELIGIBILITY_WINDOW - 1)
    return [
        by_index.get(i) or FamilyQuarter(Quarter.from_index(i))
        for i in range(first, first + ELIGIBILITY_WINDOW)
    ]
