"""What the programme's pages and commands call: reads of journeys, evidence, runs and claims,
returned as plain data. Pages decide access first (`kinfold.access.programme`) and show flags only
from the sources that decision allowed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kinfold.programme import journey as journeys
from kinfold.programme.identification import available_frameworks
from kinfold.programme.models import (
    AuditSample,
    Claim,
    EligibleFamily,
    IdentificationRun,
    Journey,
    RunStatus,
    State,
)
from kinfold.programme.progress import Progress, progress_of
from kinfold.staff.models import Assignment, User

Source = tuple[str, str]


def journey_of(fid: str) -> Journey | None:
    """The family's most recent journey, if it has one."""
    return (
        Journey.objects.filter(family__fid=fid)
        .select_related("family")
        .order_by("-identified_quarter", "-pk")
        .first()
    )


@dataclass(frozen=True)
class JourneyRow:
    fid: str
    identified: str
    problems: list[str]
    state: str
    state_label: str
    key_worker: str
    sustained: str


def journey_rows(user: User, state: str = "") -> list[JourneyRow]:
    """Journeys for the list page: a key worker's own families; every journey for others."""
    rows = Journey.objects.select_related("family").order_by("identified_quarter", "family__fid")
    current = {
        a.family_id: a.key_worker for a in Assignment.objects.current().select_related("key_worker")
    }
    if user.role == journeys.KEY_WORKER:
        rows = rows.filter(family_id__in=[f for f, kw in current.items() if kw.pk == user.pk])
    if state:
        rows = rows.filter(state=state)
    return [
        JourneyRow(
            fid=j.family.fid,
            identified=j.identified_quarter,
            problems=list(j.problems),
            state=j.state,
            state_label=State(j.state).label,
            key_worker=current[j.family_id].display_name if j.family_id in current else "",
            sustained=j.sustained_quarter,
        )
        for j in rows[:2000]
    ]


def identification_evidence(journey: Journey) -> list[dict[str, str]]:
    """The flags behind each problem the family was identified with (no partner detail)."""
    row = (
        EligibleFamily.objects.filter(
            family_id=journey.family_id,
            quarter=journey.identified_quarter,
            run__framework_id=journey.framework_id,
            run__status=RunStatus.DONE,
        )
        .order_by("-run__created_at")
        .first()
    )
    if row is None:
        return []
    return [
        {
            "problem": e.problem,
            "pid": e.person.pid,
            "code": e.code,
            "organisation": e.organisation.slug,
            "organisation_name": e.organisation.name,
            "category": e.category.slug,
            "date": e.date.isoformat(),
            "quarter": e.quarter,
        }
        for e in row.evidence.select_related("person", "organisation", "category").order_by(
            "problem", "date", "code"
        )
    ]


def sources_of(evidence: list[dict[str, str]], progress: Progress | None) -> set[Source]:
    """Every (provider, category) whose flags a journey page would show."""
    found = {(e["organisation"], e["category"]) for e in evidence}
    if progress is not None:
        for problem in progress.problems:
            for cell in problem.cells:
                found |= {(f["organisation"], f.get("category", "")) for f in cell.flags}
    return found


@dataclass
class JourneyPage:
    journey: Journey
    evidence: list[dict[str, str]]
    progress: Progress | None
    steps: list[Any]
    plan: list[Any]
    reviews: list[Any]
    claims: list[Claim]
    key_worker: str


def journey_page(journey: Journey) -> JourneyPage:
    try:
        progress: Progress | None = progress_of(journey)
    except Exception:  # a journey whose run is gone still shows its steps
        progress = None
    assignment = (
        Assignment.objects.current()
        .filter(family_id=journey.family_id)
        .select_related("key_worker")
        .first()
    )
    return JourneyPage(
        journey=journey,
        evidence=identification_evidence(journey),
        progress=progress,
        steps=list(journey.steps.select_related("by").order_by("at", "id")),
        plan=list(journey.plan.select_related("agreed_by").order_by("id")),
        reviews=list(journey.reviews.select_related("reviewed_by").order_by("quarter")),
        claims=list(journey.claims.order_by("quarter", "kind")),
        key_worker=assignment.key_worker.display_name if assignment else "",
    )


def runs(limit: int = 30) -> list[IdentificationRun]:
    return list(IdentificationRun.objects.select_related("started_by")[:limit])


def run(run_id: str) -> IdentificationRun | None:
    return IdentificationRun.objects.filter(run_id=run_id).select_related("started_by").first()


def framework_choices() -> list[tuple[str, str]]:
    return [(str(f.path), f"{f.name} ({f.label})") for f in available_frameworks()]


def claims_for(quarter: str) -> list[Claim]:
    return list(
        Claim.objects.filter(quarter=quarter)
        .select_related("family", "prepared_by", "signed_off_by", "journey")
        .order_by("kind", "claim_id")
    )


def claim(claim_id: str) -> Claim | None:
    return (
        Claim.objects.filter(claim_id=claim_id)
        .select_related("family", "prepared_by", "signed_off_by", "journey")
        .first()
    )


def sample(quarter: str) -> AuditSample | None:
    return AuditSample.objects.filter(quarter=quarter).select_related("drawn_by").first()


def samples() -> list[AuditSample]:
    return list(AuditSample.objects.select_related("drawn_by").order_by("-quarter"))


def contact_released(family: Any) -> bool:
    """Whether the family's contact details are released to its key worker: its journey has
    reached *contacted* and has not ended. `kinfold.access.facts` reads this for VIEW_CONTACT."""
    return journeys.contact_released(family)
