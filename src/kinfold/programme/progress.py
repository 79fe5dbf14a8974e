"""Plans and progress: the plan lists each problem the family was identified with and its outcome
measure; progress each quarter is computed from the quarters' flags (`FamilyQuarter`), never
typed in, under the whole-family rule (a problem counts whoever in the family has it)."""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from kinfold.errors import KinfoldError
from kinfold.programme import journey as journeys
from kinfold.programme.frameworks import Framework, parse_framework
from kinfold.programme.models import (
    FamilyQuarter,
    IdentificationRun,
    Journey,
    PlanItem,
    ProgressReview,
    RunStatus,
    State,
)
from kinfold.programme.outcomes import PROBLEMS_CLEARED, Assessment, QuarterStatus, assess
from kinfold.quarters import Quarter
from kinfold.staff.models import User


@lru_cache(maxsize=16)
def _parse(path: str, text: str) -> Framework:
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return parse_framework(Path(path), tomllib.loads(text), text, sha)


def framework_of(journey: Journey) -> Framework:
    """The framework the family was identified under, as the identifying run kept it."""
    run = (
        IdentificationRun.objects.filter(
            framework_id=journey.framework_id,
            quarter=journey.identified_quarter,
            status__in=(RunStatus.DONE, RunStatus.SUPERSEDED),
        )
        .order_by("status", "-created_at")
        .values_list("framework_path", "framework_text")
        .first()
    )
    if run is None:
        raise KinfoldError(f"no identification run of {journey.identified_quarter} is on record")
    return _parse(run[0], run[1])


@dataclass(frozen=True)
class Cell:
    """One problem in one quarter: present or clear, the flags behind it, the values read."""

    quarter: str
    present: bool
    flags: list[dict[str, str]] = field(default_factory=list)
    values: dict[str, float] = field(default_factory=dict)
    values_met: bool = True


@dataclass(frozen=True)
class ProblemProgress:
    problem: str
    name: str
    measure: str
    cells: list[Cell]

    @property
    def clear_now(self) -> bool:
        return bool(self.cells) and not self.cells[-1].present and self.cells[-1].values_met


@dataclass(frozen=True)
class Progress:
    """A family's progress against its plan, quarter by quarter since identification."""

    framework: str
    identified: str
    quarters: list[str]
    problems: list[ProblemProgress]
    assessment: Assessment
    route_name: str
    starts: list[tuple[str, str, list[str]]]  # quarter, alternative name, who

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["assessment"] = {
            "status": self.assessment.status,
            "achieved": str(self.assessment.achieved or ""),
            "sustained": str(self.assessment.sustained or ""),
            "under_way": str(self.assessment.under_way or ""),
            "sustain_until": str(self.assessment.sustain_until or ""),
            "route": self.assessment.route or self.assessment.under_way_route,
        }
        return data


def history(journey: Journey) -> list[QuarterStatus]:
    rows = FamilyQuarter.objects.filter(
        family_id=journey.family_id, framework_id=journey.framework_id
    ).values_list("quarter", "status")
    return sorted((QuarterStatus.from_json(q, s) for q, s in rows), key=lambda s: s.quarter.index)


def progress_of(journey: Journey, framework: Framework | None = None) -> Progress:
    """Progress computed from the quarters after identification (see the module doc)."""
    framework = framework or framework_of(journey)
    identified = Quarter.parse(journey.identified_quarter)
    statuses = [s for s in history(journey) if s.quarter > identified]
    members = {p: frozenset(m) for p, m in journey.problem_members.items()}
    problems = []
    for problem_id in journey.problems:
        try:
            problem = framework.problem(problem_id)
        except KeyError:
            continue
        cells = []
        for status in statuses:
            values: dict[str, float] = {}
            met = True
            for condition in problem.outcome.values:
                seen = status.values.get(condition.code, {})
                for person in sorted(members.get(problem_id, frozenset())):
                    if person in seen:
                        values[person] = seen[person]
                        met &= condition.met(seen[person])
            cells.append(
                Cell(
                    quarter=str(status.quarter),
                    present=problem_id in status.present,
                    flags=[dict(f) for f in status.evidence.get(problem_id, [])],
                    values=values,
                    values_met=met,
                )
            )
        problems.append(
            ProblemProgress(problem_id, problem.name, problem.outcome.description, cells)
        )
    assessment = assess(framework, identified, list(journey.problems), members, statuses)
    route = assessment.route or assessment.under_way_route
    names = {a.id: a.name for a in framework.alternatives}
    starts = [
        (str(s.quarter), names.get(a, a), sorted(p))
        for s in statuses
        for a, p in sorted(s.started.items())
        if p
    ]
    return Progress(
        framework=framework.label,
        identified=journey.identified_quarter,
        quarters=[str(s.quarter) for s in statuses],
        problems=problems,
        assessment=assessment,
        route_name="progress against every problem"
        if route == PROBLEMS_CLEARED
        else names.get(route, ""),
        starts=starts,
    )


def agree_plan(key_worker: User, journey: Journey) -> list[PlanItem]:
    """Agree the family plan: one item per problem the family was identified with, each with its
    outcome measure from the framework. Moves the journey to *plan agreed*."""
    framework = framework_of(journey)
    items: list[PlanItem] = []

    def write_plan() -> None:
        for problem_id in journey.problems:
            problem = framework.problem(problem_id)
            items.append(
                PlanItem.objects.create(
                    journey=journey,
                    problem=problem_id,
                    name=problem.name,
                    measure=problem.outcome.description,
                    agreed_by=key_worker,
                )
            )

    journeys.move(key_worker, journey, State.PLAN_AGREED, also=write_plan)
    return items


def review_progress(key_worker: User, journey: Journey) -> ProgressReview:
    """Record the key worker's review of the latest quarter; what it shows is computed."""
    summary = progress_of(journey).to_json()
    reviews: list[ProgressReview] = []

    def write_review() -> None:
        reviews.append(
            ProgressReview.objects.create(
                journey=journey,
                quarter=journey.assessed_quarter,
                reviewed_by=key_worker,
                summary=summary,
            )
        )

    journeys.move(
        key_worker,
        journey,
        State.IN_PROGRESS,
        quarter=journey.assessed_quarter,
        also=write_review,
    )
    return reviews[0]
