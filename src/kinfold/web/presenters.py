"""Formatting for display, so templates hold no logic."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.http import QueryDict

from kinfold.access.policy import Decision
from kinfold.access.services import FamilyView, SourceView
from kinfold.audit.models import AuditEntry

#: Plain-English names of indicator codes (docs/contracts.md). Unknown codes show as themselves.
INDICATOR_LABELS = {
    "police.offence": "Offence recorded by police",
    "police.asb_incident": "Antisocial behaviour incident",
    "police.domestic_incident": "Domestic incident attended by police",
    "yos.youth_offence": "Youth offending service involvement",
    "probation.supervision": "Under probation supervision",
    "housing.asb_case": "Housing antisocial behaviour case",
    "housing.rent_arrears": "Rent arrears",
    "housing.eviction_notice": "Notice of eviction",
    "school.attendance": "School attendance",
    "school.exclusion_fixed": "Fixed-period exclusion",
    "school.exclusion_permanent": "Permanent exclusion",
    "school.alternative_provision": "In alternative provision",
    "csc.child_in_need": "Child in need",
    "csc.child_protection_plan": "Child protection plan",
    "csc.looked_after": "Looked after by the council",
    "csc.early_help": "Early help",
    "dwp.out_of_work_benefit": "Claiming an out-of-work benefit",
    "dwp.into_work": "Started work",
    "das.marac_referral": "Referred to MARAC",
    "das.support_case": "Supported by the domestic abuse service",
    "health.mental_health": "Mental health service contact",
    "health.ae_injury": "A&E attendance with injury",
    "substance.treatment": "In substance-misuse treatment",
}


def indicator_label(code: str, value: float | None = None) -> str:
    label = INDICATOR_LABELS.get(code, code)
    if value is not None and code == "school.attendance":
        return f"{label}: {value:.0f}%"
    return label


def why(decision: Decision) -> str:
    """The sentence shown under personal data: why this person can see it."""
    if decision.allowed:
        basis = decision.basis
        if basis.startswith("consent:"):
            return f"You can see this because {decision.reason.lower()} (consent {basis[8:16]})."
        return f"You can see this because {decision.reason}."
    return f"Withheld: {decision.reason}."


@dataclass(frozen=True)
class FlagRow:
    person: str
    what: str
    when: date


@dataclass(frozen=True)
class SourcePanel:
    heading: str
    provider: str
    flags_why: str
    flags: list[FlagRow]
    detail_why: str
    detail_rows: list[tuple[str, str, list[tuple[str, str]]]]  # person, quarter, (field, value)


def person_label(view: FamilyView, pid: str) -> str:
    """A member's name when the viewer may see it, otherwise their pseudonym."""
    for member in view.members:
        if member.pid == pid and member.identity:
            return f"{member.identity.get('given_name', '')} {member.identity.get('surname', '')}".strip()
    return pid


def source_panel(view: FamilyView, source: SourceView) -> SourcePanel:
    details_decision = source.details_decision
    return SourcePanel(
        heading=source.category.name,
        provider=source.provider.name,
        flags_why=why(source.flags_decision),
        flags=[
            FlagRow(person_label(view, f.pid), indicator_label(f.code, f.value), f.date)
            for f in source.flags
        ],
        detail_why=why(details_decision) if details_decision is not None else "",
        detail_rows=[
            (
                person_label(view, d.pid),
                d.quarter,
                [(k.replace("_", " ").capitalize(), v) for k, v in sorted(d.values.items())],
            )
            for d in source.details
        ],
    )


@dataclass(frozen=True)
class AuditRow:
    seq: int
    at: datetime
    actor: str
    role: str
    organisation: str
    event: str
    purpose: str
    resource: str
    subjects: list[str]
    decision: str
    reason: str
    basis: str


def audit_row(entry: AuditEntry) -> AuditRow:
    actor = (
        entry.actor_id
        if entry.actor_kind != "system"
        else f"{entry.actor_id} (run {entry.actor_run_id})"
    )
    return AuditRow(
        seq=int(entry.seq),
        at=entry.recorded_at,
        actor=actor,
        role=entry.actor_role.replace("_", " "),
        organisation=entry.actor_organisation,
        event=entry.event,
        purpose=entry.purpose,
        resource=entry.resource,
        subjects=entry.subjects.split(),
        decision=entry.decision,
        reason=entry.reason,
        basis=entry.basis,
    )


def query_with(query: QueryDict, **changes: object) -> str:
    """The current query string with some parameters changed (for paging links)."""
    updated = query.copy()
    for key, value in changes.items():
        updated[key] = str(value)
    return updated.urlencode()
