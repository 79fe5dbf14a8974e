"""Formatting programme data for display, so templates hold no logic.

Small numbers: on anything that may be shared (the dashboard, its charts and tables), a count
from 1 to 4 is shown as "<5", money is withheld where fewer than 5 claims make it up, and
running totals are rounded to the nearest 5 so that differences between quarters cannot undo the
suppression.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from django.utils.safestring import SafeString, mark_safe

from kinfold.access.programme import ProgrammeFamily
from kinfold.programme import charts
from kinfold.programme.dashboard import Dashboard
from kinfold.programme.journey import allowed, transition_to
from kinfold.programme.models import Claim, Journey, State
from kinfold.programme.outcomes import PROBLEMS_CLEARED
from kinfold.programme.progress import Progress
from kinfold.programme.services import JourneyPage, JourneyRow
from kinfold.staff.models import User

SMALL = 5

#: Plain-English names of indicator codes (docs/contracts.md).
INDICATOR_LABELS = {
    "police.offence": "Offence recorded by police",
    "police.asb_incident": "Antisocial behaviour incident",
    "police.domestic_incident": "Domestic incident attended by police",
    "yos.youth_offence": "Youth offending service involvement",
    "probation.supervision": "Under probation supervision",
    "housing.asb_case": "Housing antisocial behaviour case",
    "housing.rent_arrears": "Rent arrears",
    "housing.eviction_notice": "Notice of eviction",
    "school.attendance": "School attendance below the threshold",
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

STATE_TAGS = {
    State.IDENTIFIED: "govuk-tag--blue",
    State.ALLOCATED: "govuk-tag--light-blue",
    State.CONTACTED: "govuk-tag--turquoise",
    State.ENGAGED: "govuk-tag--turquoise",
    State.PLAN_AGREED: "govuk-tag--purple",
    State.IN_PROGRESS: "govuk-tag--purple",
    State.ACHIEVED: "govuk-tag--green",
    State.SUSTAINED: "govuk-tag--green",
    State.CLAIMED: "govuk-tag--grey",
    State.CLOSED: "govuk-tag--grey",
    State.DECLINED: "govuk-tag--yellow",
    State.STEPPED_UP: "govuk-tag--orange",
    State.MOVED_AWAY: "govuk-tag--yellow",
    State.NOT_SUITABLE: "govuk-tag--yellow",
}


def small(n: int) -> str:
    """A count as it may be shared: 1 to 4 become "<5"."""
    return "<5" if 0 < n < SMALL else f"{n:,}"


def suppressed(n: int) -> int | None:
    """For charts: None where the count is a small number."""
    return None if 0 < n < SMALL else n


def rounded(n: int, base: int = SMALL) -> int:
    return int(base * round(n / base))


def money(amount: int, claims: int) -> str:
    if 0 < claims < SMALL:
        return "withheld (fewer than 5 claims)"
    return f"£{amount:,}"


def indicator(code: str) -> str:
    return INDICATOR_LABELS.get(code, code)


def state_tag(state: str) -> str:
    return STATE_TAGS.get(State(state), "")


# ---------------------------------------------------------------------------- the dashboard


@dataclass(frozen=True)
class DashboardRow:
    quarter: str
    identified: str
    attached: str
    in_progress: str
    achieved: str
    claimed: str
    money: str
    cumulative: str
    target: str


def dashboard_context(figures: Dashboard) -> dict[str, Any]:
    labels = [r.quarter for r in figures.quarters]
    bars = charts.bar_chart(
        "families-by-quarter",
        "Families by quarter",
        "Families identified, attached, whose progress was sustained, and claimed, in each "
        "quarter. Numbers from 1 to 4 are not drawn and are shown as less than 5. The same "
        "figures are in the table below.",
        labels,
        [
            charts.Series("Identified", [suppressed(r.identified) for r in figures.quarters]),
            charts.Series("Attached", [suppressed(r.attached) for r in figures.quarters]),
            charts.Series("Achieved", [suppressed(r.achieved) for r in figures.quarters]),
            charts.Series("Claimed", [suppressed(r.claimed) for r in figures.quarters]),
        ],
    )
    lines = charts.line_chart(
        "attached-against-target",
        "Families attached so far, against the target",
        f"Running total of families attached (rounded to the nearest 5) against the council's "
        f"target of {figures.target:,} families over {figures.target_quarters // 4} years. The "
        "same figures are in the table below.",
        labels,
        [
            charts.Series(
                "Attached so far", [rounded(r.cumulative_attached) for r in figures.quarters]
            ),
            charts.Series("Target", [r.target for r in figures.quarters]),
        ],
    )
    rows = [
        DashboardRow(
            quarter=r.quarter,
            identified=small(r.identified),
            attached=small(r.attached),
            in_progress=small(r.in_progress),
            achieved=small(r.achieved),
            claimed=small(r.claimed),
            money=money(r.money, r.paid_claims),
            cumulative=f"{rounded(r.cumulative_attached):,}",
            target=f"{r.target:,}",
        )
        for r in figures.quarters
    ]
    share = rounded(figures.total_attached) * 100 // figures.target if figures.target else 0
    return {
        "rows": rows,
        "bar_chart": mark_safe(bars),  # noqa: S308 - built by charts.py, every text escaped
        "line_chart": mark_safe(lines),  # noqa: S308 - built by charts.py, every text escaped
        "totals": {
            "identified": f"{rounded(figures.total_identified):,}",
            "attached": f"{rounded(figures.total_attached):,}",
            "achieved": f"{rounded(figures.total_achieved):,}",
            "claimed": f"{rounded(figures.total_claimed):,}",
            "money": f"£{rounded(figures.total_money, 5000):,}",
            "target": f"{figures.target:,}",
            "share": share,
        },
    }


# ---------------------------------------------------------------------------- a family's journey


def journey_rows(rows: list[JourneyRow]) -> list[dict[str, Any]]:
    return [{**asdict(r), "state_tag": state_tag(r.state)} for r in rows]


@dataclass
class Action:
    target: str
    label: str
    blocked: str = ""  # why it cannot be done yet


@dataclass
class ProblemView:
    problem: str
    name: str
    measure: str
    flags: list[dict[str, str]] = field(default_factory=list)
    withheld: list[str] = field(default_factory=list)
    cells: list[dict[str, Any]] = field(default_factory=list)


def _flag(f: dict[str, str], view: ProgrammeFamily) -> tuple[dict[str, str] | None, str]:
    organisation, category = f.get("organisation", ""), f.get("category", "")
    if view.may_show(organisation, category):
        return {
            "person": f.get("pid", ""),
            "what": indicator(f["code"]),
            "from": f.get("organisation_name", organisation),
            "date": f.get("date", ""),
        }, ""
    return None, view.withheld_reason(organisation, category) or "not shared with you"


def actions(journey: Journey, user: User) -> list[Action]:
    found = []
    for transition in allowed(journey, user.role):
        blocked = transition.guard(journey) if transition.guard else ""
        if transition.target == State.CLAIMED:
            blocked = "the results claim is prepared on the claims page, which moves the journey"
        found.append(Action(transition.target.value, transition.action, blocked))
    return found


def outcome_text(progress: Progress | None) -> str:
    if progress is None:
        return "Progress cannot be computed: the identification run is not on record."
    a = progress.assessment
    route = progress.route_name or "progress against every problem"
    if a.sustained:
        return f"Significant and sustained progress ({route}), recognised in {a.sustained}."
    if a.under_way:
        return (
            f"Outcomes achieved since {a.under_way} ({route}): sustained if they hold to "
            f"{a.sustain_until}."
        )
    if not progress.quarters:
        return "No quarter after identification has been assessed yet."
    return f"Not achieved yet, as of {progress.quarters[-1]}."


def journey_context(page: JourneyPage, view: ProgrammeFamily, user: User) -> dict[str, Any]:
    journey = page.journey
    problems: dict[str, ProblemView] = {}
    names = {
        p.problem: (p.name, p.measure) for p in (page.progress.problems if page.progress else [])
    }
    for problem_id in journey.problems:
        name, measure = names.get(problem_id, (problem_id, ""))
        problems[problem_id] = ProblemView(problem_id, name, measure)
    for e in page.evidence:
        shown, reason = _flag(e, view)
        target = problems.get(e["problem"])
        if target is None:
            continue
        if shown:
            target.flags.append(shown)
        elif reason not in target.withheld:
            target.withheld.append(reason)
    if page.progress:
        for p in page.progress.problems:
            for cell in p.cells:
                shown_flags = [s for s, _ in (_flag(f, view) for f in cell.flags) if s]
                problems[p.problem].cells.append(
                    {
                        "quarter": cell.quarter,
                        "present": cell.present,
                        "values": ", ".join(f"{v:.0f}%" for v in cell.values.values()),
                        "values_met": cell.values_met,
                        "flags": shown_flags,
                    }
                )
    return {
        "journey": journey,
        "fid": journey.family.fid,
        "state_label": State(journey.state).label,
        "state_tag": state_tag(journey.state),
        "members": view.members,
        "problems": list(problems.values()),
        "quarters": page.progress.quarters if page.progress else [],
        "outcome": outcome_text(page.progress),
        "route_cleared": bool(page.progress and page.progress.assessment.route == PROBLEMS_CLEARED),
        "plan": page.plan,
        "reviews": page.reviews,
        "steps": [
            {
                "from": State(s.from_state).label if s.from_state else "",
                "to": State(s.to_state).label,
                "by": s.by.display_name if s.by else s.actor,
                "role": s.role.replace("_", " "),
                "at": s.at,
                "quarter": s.quarter,
                "note": s.note,
            }
            for s in page.steps
        ],
        "claims": page.claims,
        "actions": actions(journey, user),
        "key_worker": page.key_worker,
        "decision_reason": view.decision.reason,
    }


def action_label(target: str) -> str:
    return transition_to(target).action


# ---------------------------------------------------------------------------- claims


def pack_sections(claim: Claim) -> list[tuple[str, SafeString | str]]:
    """The evidence pack as headed, readable sections (the JSON is offered too)."""
    pack = claim.evidence
    sections: list[tuple[str, Any]] = []
    eligibility = pack.get("eligibility", {})
    sections.append(
        (
            "Eligibility",
            [
                (
                    p["problem"],
                    [
                        f"{indicator(f['code'])}, {f['organisation']}, {f['date']} ({f['person']})"
                        for f in p["flags"]
                    ],
                )
                for p in eligibility.get("problems", [])
            ],
        )
    )
    sections.append(
        ("Plan", [(i["name"], [i["measure"]]) for i in pack.get("plan", {}).get("items", [])])
    )
    outcome = pack.get("outcome")
    if outcome:
        period = outcome.get("sustained_period", {})
        sections.append(
            (
                "Outcome",
                [
                    ("Route", [outcome.get("route_name") or outcome.get("route", "")]),
                    ("Sustained period", [f"{period.get('from', '')} to {period.get('to', '')}"]),
                ]
                + [
                    (
                        q["quarter"],
                        [
                            f"{problem}: {'present' if s['present'] else 'clear'}"
                            + (
                                " (attendance "
                                + ", ".join(f"{v:.0f}%" for v in s["values"].values())
                                + ")"
                                if s.get("values")
                                else ""
                            )
                            for problem, s in q["problems"].items()
                        ],
                    )
                    for q in outcome.get("quarters", [])
                ],
            )
        )
    return sections
