"""Formatting for display, so templates hold no logic."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

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
    """The sentence shown under personal data: why this person can see it, or why not."""
    if decision.allowed:
        basis = decision.basis
        under = f", under {decision.agreement}" if decision.agreement else ""
        if basis.startswith("consent:"):
            return (
                f"You can see this because {decision.reason.lower()} "
                f"(consent {basis[8:16]}{under})."
            )
        if basis.startswith("override:"):
            return (
                f"You can see this because an approved override covers it "
                f"(override {basis[9:17]}{under})."
            )
        return f"You can see this because {decision.reason}."
    return f"Withheld: {decision.reason}."


def override_named(decision: Decision) -> str:
    """The short id of the override a decision relied on, or ''."""
    return (
        decision.basis[9:17] if decision.allowed and decision.basis.startswith("override:") else ""
    )


@dataclass(frozen=True)
class FlagRow:
    person: str
    what: str
    when: date


@dataclass(frozen=True)
class PersonDetailRows:
    """One person's details in one source: the fields shown, or one line saying why not."""

    person: str
    shown: bool
    why: str
    override: str  # short id of the override it was shown under, if any
    records: list[tuple[str, list[tuple[str, str]]]]  # quarter, (field, value)


@dataclass(frozen=True)
class SourcePanel:
    heading: str
    provider: str
    flags_why: str
    flags: list[FlagRow]
    detail_why: str
    detail_rows: list[tuple[str, str, list[tuple[str, str]]]]  # person, quarter, (field, value)
    people: list[PersonDetailRows]


def person_label(view: FamilyView, pid: str) -> str:
    """A member's name when the viewer may see it, otherwise their pseudonym."""
    for member in view.members:
        if member.pid == pid and member.identity:
            return f"{member.identity.get('given_name', '')} {member.identity.get('surname', '')}".strip()
    return pid


def _fields(values: dict[str, str]) -> list[tuple[str, str]]:
    return [(k.replace("_", " ").capitalize(), v) for k, v in sorted(values.items())]


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
            (person_label(view, d.pid), d.quarter, _fields(d.values)) for d in source.details
        ],
        people=[
            PersonDetailRows(
                person=person_label(view, p.pid),
                shown=p.shown,
                why=why(p.decision),
                override=override_named(p.decision),
                records=[(d.quarter, _fields(d.values)) for d in p.details],
            )
            for p in source.people
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


def form_errors(form: Any) -> list[tuple[str, str]]:
    """(anchor, message) pairs for the GOV.UK error summary, field errors first."""
    if not form.is_bound or not form.errors:
        return []
    found = []
    for name, errors in form.errors.items():
        anchor = f"#id_{name}" if name != "__all__" else "#main-content"
        if name in form.fields and _is_choice_list(form.fields[name]):
            anchor = f"#id_{name}_0"
        found += [(anchor, str(e)) for e in errors]
    return found


def _is_choice_list(field: Any) -> bool:
    widget = type(getattr(field, "widget", None)).__name__
    return widget in ("RadioSelect", "CheckboxSelectMultiple")


@dataclass(frozen=True)
class ReferralItemRows:
    person: str
    born: str
    category: str
    shown: bool
    why: str
    flags: list[tuple[str, date]]


def referral_item(item: Any) -> ReferralItemRows:
    """One item of a referral as the partner (or the key worker) sees it."""
    return ReferralItemRows(
        person=item.pid,
        born=str(item.year_of_birth or ""),
        category=item.category,
        shown=item.decision.allowed,
        why=why(item.decision),
        flags=[(indicator_label(f.code, f.value), f.when) for f in item.flags],
    )


@dataclass(frozen=True)
class ConsentGroup:
    """Consents given together for one person, category and recipient, over several partners."""

    person: str
    category: str
    recipient: str
    providers: list[str]
    state: str
    state_label: str
    given_at: datetime
    valid_until: datetime | None
    receipt_id: str
    record_id: str  # one of them: withdrawing it withdraws the group
    can_withdraw: bool


def consent_groups(rows: list[Any], names: dict[str, str]) -> list[ConsentGroup]:
    grouped: dict[tuple[str, str, str, str, str], list[Any]] = {}
    for row in rows:
        key = (row.receipt_id, row.pid, row.category, row.recipient, row.state)
        grouped.setdefault(key, []).append(row)
    return [
        ConsentGroup(
            person=names.get(first.pid, first.pid),
            category=first.category,
            recipient=first.recipient,
            providers=sorted({r.provider for r in group}),
            state=first.state,
            state_label=first.state_label,
            given_at=first.given_at,
            valid_until=first.valid_until,
            receipt_id=first.receipt_id,
            record_id=first.record_id,
            can_withdraw=first.can_withdraw,
        )
        for group in grouped.values()
        for first in group[:1]
    ]
