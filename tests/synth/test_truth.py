"""The reference rules (problems, eligibility, sustained improvement, relapse), and that the truth
files the generator writes follow them."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kinfold.quarters import Quarter
from kinfold.synth import truth
from kinfold.synth.truth import FamilyQuarter, FamilyTracker, assess_family, problem_of
from tests.synth.conftest import Built

START = Quarter(2015, 2)


@dataclass
class Q:
    """One quarter of a made-up family, written compactly."""

    problems: set[int] = field(default_factory=set)
    attendance: dict[int, float] = field(default_factory=dict)
    education: set[int] = field(default_factory=set)
    out_of_work: set[int] = field(default_factory=set)
    into_work: set[int] = field(default_factory=set)


def history(*quarters: Q) -> list[FamilyQuarter]:
    return [
        FamilyQuarter(
            START + i,
            frozenset(q.problems),
            frozenset(q.education),
            q.attendance,
            frozenset(q.out_of_work),
            frozenset(q.into_work),
        )
        for i, q in enumerate(quarters)
    ]


@pytest.mark.parametrize(
    ("code", "value", "problem"),
    [
        ("police.offence", None, 1),
        ("school.attendance", 89.9, 2),
        ("school.attendance", 90.0, None),
        ("school.attendance", None, None),
        ("csc.looked_after", None, 3),
        ("dwp.out_of_work_benefit", None, 4),
        ("dwp.into_work", None, None),
        ("das.marac_referral", None, 5),
        ("substance.treatment", None, 6),
        ("library.fine", None, None),
    ],
)
def test_problem_of(code: str, value: float | None, problem: int | None) -> None:
    assert problem_of(code, value) == problem


EDU = Q({1, 2}, {7: 80.0}, {7})
CLEAR = Q()
GOOD = Q(attendance={7: 96.0})

CASES = [
    # (description, quarters, eligible index, improved index, route, relapsed index)
    ("one problem is not enough", [Q({1}), Q({1}), Q({1})], None, None, "", None),
    ("two problems in one quarter", [Q(), Q({1, 4})], 1, None, "", None),
    ("two problems three quarters apart", [Q({1}), CLEAR, CLEAR, Q({4})], 3, None, "", None),
    ("two problems four quarters apart", [Q({1}), CLEAR, CLEAR, CLEAR, Q({4})], None, None, "", None),
    ("clear for two quarters after", [Q({1, 4}), CLEAR, CLEAR], 0, 2, truth.PROBLEMS_CLEARED, None),
    ("clearing must start after eligibility", [Q({1, 4}), Q({5}), CLEAR], 0, 2,
     truth.PROBLEMS_CLEARED, None),
    ("a problem back too soon", [Q({1, 4}), CLEAR, Q({4}), CLEAR], 0, None, "", None),
    ("another problem is not one of its problems", [Q({1, 4}), Q({6}), Q({6})], 0, 2,
     truth.PROBLEMS_CLEARED, None),
    ("education needs three quarters of good attendance", [EDU, GOOD, GOOD, GOOD], 0, 3,
     truth.PROBLEMS_CLEARED, None),
    ("poor attendance in the third quarter", [EDU, GOOD, GOOD, Q(attendance={7: 85.0}), GOOD, GOOD, GOOD],
     0, 6, truth.PROBLEMS_CLEARED, None),
    ("a child off roll is not held against the family", [EDU, CLEAR, CLEAR, CLEAR], 0, 3,
     truth.PROBLEMS_CLEARED, None),
    ("into work and off benefit for 26 weeks", [Q({4, 6}, out_of_work={1}), Q({4, 6}, into_work={1},
     out_of_work={1}), Q({6}), Q({6})], 0, 3, truth.INTO_WORK_ROUTE, None),
    ("back on benefit within 26 weeks", [Q({4, 6}, out_of_work={1}), Q({4}, into_work={1}),
     Q({4, 6}, out_of_work={1}), Q({6})], 0, None, "", None),
    ("the story ends before the improvement shows", [Q({1, 4}), CLEAR], 0, None, "", None),
    ("relapse after improving", [Q({1, 4}), CLEAR, CLEAR, Q({3}), Q({5})], 0, 2,
     truth.PROBLEMS_CLEARED, 4),
    ("problems from before the improvement do not count for relapse", [Q({1, 4}), CLEAR, CLEAR, Q({3})],
     0, 2, truth.PROBLEMS_CLEARED, None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("description", "quarters", "eligible", "improved", "route", "relapsed"), CASES
)
def test_assess_family(
    description: str,
    quarters: list[Q],
    eligible: int | None,
    improved: int | None,
    route: str,
    relapsed: int | None,
) -> None:
    outcome = assess_family(1, history(*quarters))

    def at(index: int | None) -> Quarter | None:
        return None if index is None else START + index

    assert outcome.eligible == at(eligible), description
    assert outcome.improved == at(improved), description
    assert outcome.route == route, description
    assert outcome.relapsed == at(relapsed), description


def test_the_problems_of_the_eligibility_window_are_recorded() -> None:
    outcome = assess_family(3, history(Q({6}), CLEAR, CLEAR, Q({1, 4})))
    assert outcome.problems == frozenset({1, 4, 6})


def test_a_history_with_a_gap_is_refused() -> None:
    quarters = history(Q({1}), Q({4}))
    with pytest.raises(ValueError, match="jumps"):
        assess_family(1, [quarters[0], FamilyQuarter(START + 5)])


def _consistent(q: Q) -> Q:
    """A child with the education problem means the family has it that quarter."""
    if q.education:
        q.problems.add(truth.EDUCATION)
    return q


quarter_strategy = st.builds(
    Q,
    problems=st.sets(st.integers(1, 6), max_size=3),
    attendance=st.dictionaries(st.integers(1, 2), st.sampled_from([70.0, 89.0, 95.0]), max_size=2),
    education=st.sets(st.integers(1, 2), max_size=1),
    out_of_work=st.sets(st.integers(3, 4), max_size=1),
    into_work=st.sets(st.integers(3, 4), max_size=1),
).map(_consistent)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 6), st.lists(quarter_strategy, min_size=1, max_size=10)),
        min_size=1,
        max_size=6,
    )
)
def test_the_streaming_tracker_agrees_with_the_reference(
    families: list[tuple[int, list[Q]]],
) -> None:
    """The generator's quarter-by-quarter tracker keeps little, yet decides as assess_family does."""
    stories = {
        family: [
            FamilyQuarter(
                START + first + i,
                frozenset(q.problems),
                frozenset(q.education),
                q.attendance,
                frozenset(q.out_of_work),
                frozenset(q.into_work),
            )
            for i, q in enumerate(quarters)
        ]
        for family, (first, quarters) in enumerate(families)
    }
    tracker = FamilyTracker()
    for step in range(20):
        quarter = START + step
        existing = {f for f, s in stories.items() if s[0].quarter <= quarter <= s[-1].quarter}
        observed = {
            f: fq
            for f, story in stories.items()
            for fq in story
            if fq.quarter == quarter and (fq.problems or f in tracker.tracked)
        }
        tracker.update(quarter, observed, existing)
    found = tracker.outcomes()
    for family, story in stories.items():
        expected = assess_family(family, story)
        assert found.get(family, truth.FamilyOutcome(family)) == expected


def _quarters(first: str, last: str) -> list[Quarter]:
    a, b = Quarter.parse(first), Quarter.parse(last)
    return [a + i for i in range(b.index - a.index + 1)]


def rebuild(built: Built) -> tuple[dict[int, truth.FamilyOutcome], set[tuple[str, int, int]]]:
    """Families' outcomes worked out again from events.csv and membership.csv alone."""
    members: dict[tuple[str, str], set[int]] = defaultdict(set)  # (quarter, person) → families
    for spell in built.truth("membership.csv"):
        for quarter in _quarters(spell["from_quarter"], spell["to_quarter"]):
            for column in ("family_id", "parent_elsewhere_of"):
                if spell[column]:
                    members[str(quarter), spell["person_id"]].add(int(spell[column]))
    seen: dict[tuple[int, str], Q] = defaultdict(Q)
    for event in built.truth("events.csv"):
        value = float(event["value"]) if event["value"] else None
        person = int(event["person_id"])
        for family in members[event["quarter"], event["person_id"]]:
            q = seen[family, event["quarter"]]
            problem = problem_of(event["code"], value)
            if problem:
                q.problems.add(problem)
                if problem == truth.EDUCATION:
                    q.education.add(person)
            if event["code"] == truth.ATTENDANCE and value is not None:
                q.attendance[person] = value
            if event["code"] == truth.OUT_OF_WORK:
                q.out_of_work.add(person)
            if event["code"] == truth.INTO_WORK:
                q.into_work.add(person)
    outcomes = {}
    for row in built.truth("families.csv"):
        family = int(row["family_id"])
        quarters = _quarters(row["first_quarter"], row["last_quarter"])
        story = [_at(q, seen.get((family, str(q)), Q())) for q in quarters]
        outcomes[family] = assess_family(family, story)
    problems = {(quarter, family, p) for (family, quarter), q in seen.items() for p in q.problems}
    return outcomes, problems


def _at(quarter: Quarter, q: Q) -> FamilyQuarter:
    return FamilyQuarter(quarter, frozenset(q.problems), frozenset(q.education), q.attendance,
                         frozenset(q.out_of_work), frozenset(q.into_work))  # fmt: skip


def _text(quarter: Quarter | None) -> str:
    return "" if quarter is None else str(quarter)


def test_the_truth_files_follow_the_reference_rules(borough: Built) -> None:
    """families.csv, written by the streaming tracker, matches the rules applied afresh to the
    true events and who belonged to which family."""
    rebuilt, _ = rebuild(borough)
    rows = borough.truth("families.csv")
    assert len(rows) == len(rebuilt) > 100
    for row in rows:
        outcome = rebuilt[int(row["family_id"])]
        assert row["eligible_quarter"] == _text(outcome.eligible), row
        assert row["eligible_problems"] == ";".join(str(p) for p in sorted(outcome.problems)), row
        assert row["improved_quarter"] == _text(outcome.improved), row
        assert row["improved_route"] == outcome.route, row
        assert row["relapsed_quarter"] == _text(outcome.relapsed), row
    assert sum(1 for r in rows if r["eligible_quarter"]) == borough.result.eligible_families


def test_problems_csv_holds_each_familys_problems_each_quarter(borough: Built) -> None:
    _, expected = rebuild(borough)
    written = {
        (r["quarter"], int(r["family_id"]), int(r["problem"]))
        for r in borough.truth("problems.csv")
    }
    assert written == expected
    assert {p for _, _, p in written} == set(truth.PROBLEMS)
