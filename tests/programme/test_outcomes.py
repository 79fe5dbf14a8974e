"""Outcome assessment: the national framework file reproduces the synthetic borough's reference
rules (`kinfold.synth.truth.assess_family`) on any history, and table-driven cases say why."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kinfold.programme.frameworks import Framework, load_framework
from kinfold.programme.outcomes import PROBLEMS_CLEARED, QuarterStatus, assess
from kinfold.quarters import Quarter
from kinfold.synth import truth

NATIONAL = Path(__file__).resolve().parents[2] / "config" / "frameworks" / "national-2015.toml"
PROBLEM_IDS = {
    1: "crime",
    2: "education",
    3: "children-need-help",
    4: "worklessness",
    5: "domestic-abuse",
    6: "health",
}
ROUTES = {PROBLEMS_CLEARED: truth.PROBLEMS_CLEARED, "continuous-employment": truth.INTO_WORK_ROUTE}
START = Quarter(2015, 2)


@pytest.fixture(scope="module")
def national() -> Framework:
    return load_framework(NATIONAL)


def status_of(fq: truth.FamilyQuarter) -> QuarterStatus:
    """The same quarter as identification stores it (persons by id as text)."""
    return QuarterStatus(
        quarter=fq.quarter,
        present=frozenset(PROBLEM_IDS[p] for p in fq.problems),
        values={"school.attendance": {str(p): v for p, v in fq.attendance.items()}},
        started={"continuous-employment": frozenset(str(p) for p in fq.into_work)},
        flagged={"dwp.out_of_work_benefit": frozenset(str(p) for p in fq.out_of_work)},
    )


def ours(framework: Framework, history: list[truth.FamilyQuarter]) -> tuple[str, str, str]:
    """(eligible quarter, improved quarter, route) as kinfold computes them."""
    for index in range(len(history)):
        problems = truth.window_problems(history, index)
        if len(problems) >= framework.problems_at_least:
            children: set[int] = set()
            for i in range(max(0, index - 3), index + 1):
                children |= history[i].education_children
            members = {"education": frozenset(str(c) for c in children)}
            result = assess(
                framework,
                history[index].quarter,
                [PROBLEM_IDS[p] for p in sorted(problems)],
                members,
                [status_of(fq) for fq in history],
            )
            return (
                str(history[index].quarter),
                str(result.sustained or ""),
                ROUTES.get(result.route, result.route),
            )
    return "", "", ""


def theirs(history: list[truth.FamilyQuarter]) -> tuple[str, str, str]:
    outcome = truth.assess_family(1, history)
    return str(outcome.eligible or ""), str(outcome.improved or ""), outcome.route


PERSONS = st.sampled_from([1, 2, 3])


@st.composite
def histories(draw: st.DrawFn) -> list[truth.FamilyQuarter]:
    length = draw(st.integers(min_value=1, max_value=12))
    found = []
    for i in range(length):
        problems = draw(st.frozensets(st.integers(1, 6), max_size=3))
        found.append(
            truth.FamilyQuarter(
                quarter=START + i,
                problems=problems,
                education_children=draw(st.frozensets(PERSONS, max_size=2))
                if 2 in problems
                else frozenset(),
                attendance=draw(
                    st.dictionaries(PERSONS, st.sampled_from([70.0, 89.9, 90.0, 97.0]), max_size=3)
                ),
                out_of_work=draw(st.frozensets(PERSONS, max_size=2)),
                into_work=draw(st.frozensets(PERSONS, max_size=1)),
            )
        )
    return found


@settings(max_examples=400, deadline=None)
@given(histories())
def test_national_framework_reproduces_the_reference_rules(
    history: list[truth.FamilyQuarter],
) -> None:
    framework = load_framework(NATIONAL)
    assert ours(framework, history) == theirs(history)


def q(i: int, problems: set[int] = frozenset(), **kw: object) -> truth.FamilyQuarter:  # type: ignore[assignment]
    return truth.FamilyQuarter(START + i, frozenset(problems), **kw)  # type: ignore[arg-type]


CASES = [
    ("never eligible", [q(0, {1}), q(1), q(2, {1})], ("", "", "")),
    (
        "two problems, then two clear quarters",
        [q(0, {1}), q(1, {6}), q(2), q(3)],
        ("2015Q3", "2016Q1", truth.PROBLEMS_CLEARED),
    ),
    (
        "a problem returns before six months",
        [q(0, {1, 6}), q(1), q(2, {1}), q(3), q(4)],
        ("2015Q2", "2016Q2", truth.PROBLEMS_CLEARED),
    ),
    (
        "education needs three terms at 90% or more",
        [
            q(0, {1, 2}, education_children=frozenset({7})),
            q(1, attendance={7: 91.0}),
            q(2, attendance={7: 93.0}),
            q(3, attendance={7: 88.0}),
            q(4, attendance={7: 95.0}),
            q(5, attendance={7: 96.0}),
            q(6, attendance={7: 90.0}),
        ],
        ("2015Q2", "2016Q4", truth.PROBLEMS_CLEARED),
    ),
    (
        "continuous employment: into work, no benefit for two quarters",
        [q(0, {4, 6}), q(1, {4, 6}, into_work=frozenset({5})), q(2, {6}), q(3, {6})],
        ("2015Q2", "2016Q1", truth.INTO_WORK_ROUTE),
    ),
    (
        "back on benefit within six months is not continuous employment",
        [
            q(0, {4, 6}),
            q(1, {4, 6}, into_work=frozenset({5})),
            q(2, {4, 6}, out_of_work=frozenset({5})),
            q(3, {6}),
        ],
        ("2015Q2", "", ""),
    ),
    ("the family ends before success lasts", [q(0, {1, 3}), q(1)], ("2015Q2", "", "")),
]


@pytest.mark.parametrize(("description", "history", "expected"), CASES, ids=[c[0] for c in CASES])
def test_outcome_cases(
    national: Framework,
    description: str,
    history: list[truth.FamilyQuarter],
    expected: tuple[str, str, str],
) -> None:
    assert ours(national, history) == expected
    assert theirs(history) == expected


def test_an_outcome_under_way_says_when_it_will_be_sustained(national: Framework) -> None:
    history = [status_of(fq) for fq in [q(0, {1, 6}), q(1)]]
    result = assess(national, START, ["crime", "health"], {}, history)
    assert result.sustained is None
    assert result.status == "achieved"
    assert str(result.under_way) == "2015Q3"
    assert str(result.sustain_until) == "2015Q4"
